//! Where an MCP server's authorization server is and what it offers: the server's 401 names its
//! protected-resource metadata (RFC 9728, `WWW-Authenticate: Bearer resource_metadata=...`, else
//! the well-known URL), which names the authorization server, whose metadata comes from RFC 8414
//! (`/.well-known/oauth-authorization-server`), else OpenID discovery. Every request is bounded
//! (`DISCOVERY_TIMEOUT`), follows redirects only within its origin, and an answer is refused
//! when it names another resource or issuer than the one it was fetched for.

use serde::Deserialize;
use url::Url;

use super::{DISCOVERY_TIMEOUT, McpError};
use crate::untrusted::printable;

/// RFC 9728 protected-resource metadata (the fields we use).
#[derive(Debug, Deserialize)]
struct ResourceMetadata {
    #[serde(default)]
    resource: Option<String>,
    #[serde(default)]
    authorization_servers: Vec<String>,
    #[serde(default)]
    scopes_supported: Vec<String>,
}

/// RFC 8414 / OpenID authorization-server metadata (the fields we use).
#[derive(Debug, Clone, Deserialize)]
pub struct AuthServer {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    #[serde(default)]
    pub registration_endpoint: Option<String>,
    #[serde(default)]
    pub revocation_endpoint: Option<String>,
    #[serde(default)]
    pub device_authorization_endpoint: Option<String>,
    #[serde(default)]
    pub scopes_supported: Vec<String>,
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
}

/// What discovery found for one MCP server.
#[derive(Debug, Clone)]
pub struct Discovered {
    /// The resource the metadata names (RFC 9728), if any.
    pub resource: Option<String>,
    /// The scopes the resource metadata lists.
    pub scopes_supported: Vec<String>,
    pub auth_server: AuthServer,
}

fn failed(detail: String) -> McpError {
    McpError::Discovery(detail)
}

/// One bounded GET; `Ok(None)` on 404 (the next candidate may answer).
async fn get_json<T: serde::de::DeserializeOwned>(
    http: &reqwest::Client,
    url: &Url,
) -> Result<Option<T>, McpError> {
    let response = http
        .get(url.clone())
        .header(reqwest::header::ACCEPT, "application/json")
        .timeout(DISCOVERY_TIMEOUT)
        .send()
        .await
        .map_err(|e| {
            failed(format!(
                "cannot read `{url}`: {}",
                crate::http::describe(&e)
            ))
        })?;
    let status = response.status();
    if status.is_redirection() {
        let to = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .map(crate::secret::shown_url)
            .unwrap_or_default();
        return Err(failed(format!(
            "`{url}` redirects to another origin ({to}); discovery follows redirects only within the origin it asked"
        )));
    }
    if status == reqwest::StatusCode::NOT_FOUND {
        return Ok(None);
    }
    if !status.is_success() {
        return Err(failed(format!("`{url}` answered HTTP {status}")));
    }
    let bytes = crate::http::read_body(response)
        .await
        .map_err(|e| failed(format!("cannot read `{url}`: {}", super::unread(&e))))?;
    super::parse_answer(&bytes, "metadata")
        .map(Some)
        .map_err(|e| failed(format!("`{url}` is {e}")))
}

/// `origin/.well-known/<name><path>` (RFC 8414 section 3.1 / RFC 9728 section 3.1).
fn well_known(base: &Url, name: &str) -> Url {
    let mut url = base.clone();
    let path = base.path().trim_end_matches('/');
    url.set_path(&format!("/.well-known/{name}{path}"));
    url.set_query(None);
    url.set_fragment(None);
    url
}

/// The same issuer (RFC 8414 compares them exactly; a trailing slash is forgiven).
pub fn same(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

/// The `resource_metadata` parameter of a `WWW-Authenticate: Bearer ...` header.
pub fn resource_metadata(header: &str) -> Option<String> {
    let at = header.to_ascii_lowercase().find("resource_metadata=")?;
    let rest = &header[at + "resource_metadata=".len()..];
    let value = match rest.strip_prefix('"') {
        Some(quoted) => quoted.split('"').next()?,
        None => rest.split([',', ' ']).next()?,
    };
    Some(value.to_string())
}

/// Discovers the authorization server of the MCP server at `server_url`.
pub async fn discover(http: &reqwest::Client, server_url: &str) -> Result<Discovered, McpError> {
    let server = Url::parse(server_url).map_err(|_| {
        failed(format!(
            "{} is not a URL",
            crate::secret::shown_url(server_url)
        ))
    })?;
    let metadata = resource_metadata_of(http, &server).await?;
    let (resource, scopes, issuer) = match metadata {
        Some((url, meta)) => {
            if let Some(resource) = &meta.resource {
                // The metadata must be about this server (RFC 9728 section 3.3): its resource
                // is the server's URL or a prefix of it on the same origin.
                let ok = Url::parse(resource).is_ok_and(|r| {
                    r.origin() == server.origin()
                        && server.path().starts_with(r.path().trim_end_matches('/'))
                });
                if !ok {
                    return Err(failed(format!(
                        "`{url}` describes resource `{}`, not `{server}`; refusing it",
                        printable(resource)
                    )));
                }
            }
            let issuer = meta
                .authorization_servers
                .first()
                .cloned()
                .ok_or_else(|| failed(format!("`{url}` names no authorization server")))?;
            (meta.resource, meta.scopes_supported, issuer)
        }
        // Servers without RFC 9728 metadata are their own authorization server (MCP 2025-03-26).
        None => (None, Vec::new(), server.origin().ascii_serialization()),
    };
    let auth_server = authorization_server(http, &issuer).await?;
    Ok(Discovered {
        resource,
        scopes_supported: scopes,
        auth_server,
    })
}

/// The protected-resource metadata and where it was found: the URL the 401 names (on the
/// server's origin), else the well-known URLs.
async fn resource_metadata_of(
    http: &reqwest::Client,
    server: &Url,
) -> Result<Option<(Url, ResourceMetadata)>, McpError> {
    let probe = http
        .get(server.clone())
        .header(
            reqwest::header::ACCEPT,
            "application/json, text/event-stream",
        )
        .timeout(DISCOVERY_TIMEOUT)
        .send()
        .await
        .map_err(|e| {
            failed(format!(
                "cannot reach `{server}`: {}",
                crate::http::describe(&e)
            ))
        })?;
    let named = probe
        .headers()
        .get_all(reqwest::header::WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(resource_metadata);
    tracing::debug!(status = %probe.status(), named = ?named, "probed the MCP server");
    let mut candidates = Vec::new();
    if let Some(named) = named {
        let url = server.join(&named).map_err(|_| {
            failed(format!(
                "`{server}` names resource metadata at `{}`, which is not a URL",
                printable(&named)
            ))
        })?;
        if url.origin() != server.origin() {
            return Err(failed(format!(
                "`{server}` names resource metadata on another origin ({}); refusing it",
                crate::secret::shown_url(url.as_str())
            )));
        }
        candidates.push(url);
    }
    candidates.push(well_known(server, "oauth-protected-resource"));
    let mut root = server.clone();
    root.set_path("/");
    candidates.push(well_known(&root, "oauth-protected-resource"));
    candidates.dedup();
    for url in candidates {
        if let Some(meta) = get_json::<ResourceMetadata>(http, &url).await? {
            return Ok(Some((url, meta)));
        }
    }
    Ok(None)
}

/// The metadata of the authorization server `issuer`: RFC 8414, else OpenID discovery (with
/// the path inserted, then appended). Refused when its `issuer` is not `issuer`.
pub async fn authorization_server(
    http: &reqwest::Client,
    issuer: &str,
) -> Result<AuthServer, McpError> {
    let base = Url::parse(issuer)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .ok_or_else(|| {
            failed(format!(
                "the authorization server {} is not an http(s) URL",
                crate::secret::shown_url(issuer)
            ))
        })?;
    let mut candidates = vec![
        well_known(&base, "oauth-authorization-server"),
        well_known(&base, "openid-configuration"),
    ];
    if !base.path().trim_end_matches('/').is_empty() {
        let mut appended = base.clone();
        appended.set_path(&format!(
            "{}/.well-known/openid-configuration",
            base.path().trim_end_matches('/')
        ));
        candidates.push(appended);
    }
    for url in &candidates {
        let Some(meta) = get_json::<AuthServer>(http, url).await? else {
            continue;
        };
        if !same(&meta.issuer, issuer) {
            return Err(failed(format!(
                "`{url}` names issuer `{}`, not `{}`; refusing metadata that is not about the server it was fetched from (RFC 8414 section 3.3)",
                printable(&meta.issuer),
                printable(issuer)
            )));
        }
        for endpoint in [&meta.authorization_endpoint, &meta.token_endpoint] {
            if crate::http::http_url(endpoint).is_none() {
                return Err(failed(format!(
                    "`{url}` names an endpoint that is not an http(s) URL ({})",
                    crate::secret::shown_url(endpoint)
                )));
            }
        }
        tracing::debug!(%url, "found the authorization server's metadata");
        return Ok(meta);
    }
    Err(failed(format!(
        "the authorization server `{}` publishes no metadata (tried {})",
        printable(issuer),
        candidates
            .iter()
            .map(|u| format!("`{u}`"))
            .collect::<Vec<_>>()
            .join(", ")
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_resource_metadata_from_the_header() {
        let header = r#"Bearer error="invalid_token", error_description="Missing Authorization header", resource_metadata="http://127.0.0.1:1/.well-known/oauth-protected-resource/mcp""#;
        assert_eq!(
            resource_metadata(header).as_deref(),
            Some("http://127.0.0.1:1/.well-known/oauth-protected-resource/mcp")
        );
        assert_eq!(resource_metadata("Bearer realm=x"), None);
    }

    #[test]
    fn well_known_inserts_the_path() {
        let u = Url::parse("http://h:1/tenant/mcp").unwrap();
        assert_eq!(
            well_known(&u, "oauth-protected-resource").as_str(),
            "http://h:1/.well-known/oauth-protected-resource/tenant/mcp"
        );
        let root = Url::parse("http://h:1").unwrap();
        assert_eq!(
            well_known(&root, "openid-configuration").as_str(),
            "http://h:1/.well-known/openid-configuration"
        );
    }
}
