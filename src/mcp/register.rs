//! Who we are to an MCP server's authorization server: the configured
//! `[mcp_servers.NAME.oauth] client_id`, else a client registered on the spot (RFC 7591) as the
//! reference does: `client_name "Codex"`, a public native client (`token_endpoint_auth_method
//! "none"`) with the loopback redirect URI of this sign-in.

use serde::Deserialize;

use super::McpError;
use super::discovery::AuthServer;
use crate::untrusted::printable;

#[derive(Deserialize)]
struct Registered {
    client_id: String,
}

/// How the client signs in, which decides what it registers.
pub enum Grant<'a> {
    /// Authorization code, back to this redirect URI.
    Code { redirect_uri: &'a str },
    /// Device code (RFC 8628): no redirect.
    Device,
}

/// The client id to sign in with.
pub async fn client_id(
    http: &reqwest::Client,
    server_name: &str,
    configured: Option<&str>,
    auth_server: &AuthServer,
    grant: Grant<'_>,
) -> Result<String, McpError> {
    if let Some(id) = configured.filter(|id| !id.trim().is_empty()) {
        return Ok(id.to_string());
    }
    let Some(url) = &auth_server.registration_endpoint else {
        return Err(McpError::NoRegistration {
            issuer: printable(&auth_server.issuer).into_owned(),
            name: printable(server_name).into_owned(),
            client: match grant {
                Grant::Code { redirect_uri } => format!("redirect URI {redirect_uri}"),
                Grant::Device => "the device code grant".to_string(),
            },
        });
    };
    let failed = |detail: String| McpError::Registration {
        url: crate::secret::shown_url(url),
        detail,
    };
    let body = match grant {
        Grant::Code { redirect_uri } => serde_json::json!({
            "client_name": "Codex",
            "redirect_uris": [redirect_uri],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
            "application_type": "native",
        }),
        Grant::Device => serde_json::json!({
            "client_name": "Codex",
            "grant_types": ["urn:ietf:params:oauth:grant-type:device_code", "refresh_token"],
            "response_types": [],
            "token_endpoint_auth_method": "none",
            "application_type": "native",
        }),
    };
    let response = http
        .post(url)
        .json(&body)
        .send()
        .await
        .map_err(|e| failed(crate::http::describe(&e)))?;
    let status = response.status();
    let bytes = crate::http::read_body(response)
        .await
        .map_err(|e| failed(super::unread(&e)))?;
    if !status.is_success() {
        let reason = serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .and_then(|v| {
                let text = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
                text("error").map(|e| match text("error_description") {
                    Some(d) => format!("{} ({})", printable(&e), printable(&d)),
                    None => printable(&e).into_owned(),
                })
            });
        return Err(failed(match reason {
            Some(reason) => format!("it answered HTTP {status}: {reason}"),
            None => format!("it answered HTTP {status}"),
        }));
    }
    let registered: Registered = super::parse_answer(&bytes, "a registration")
        .map_err(|e| failed(format!("the answer is {e}")))?;
    tracing::debug!("registered a client");
    Ok(registered.client_id)
}
