//! `codex mcp login NAME`: discovery, the client id, then authorization code + PKCE S256 with
//! `resource` (RFC 8707) on a loopback callback at `/callback/<id>` (`id` from the server's URL,
//! as the reference does, so a code meant for another server's sign-in is not taken: mix-up),
//! the state and the RFC 9207 `iss` checked, the code exchanged, the tokens saved. Nothing that
//! was stored is touched until the new tokens are saved.

use std::time::Duration;

use base64::Engine as _;
use http::StatusCode;
use oauth2::{CsrfToken, PkceCodeChallenge};
use sha2::{Digest, Sha256};

use super::discovery::{self, Discovered};
use super::{McpError, Server};
use crate::login::callback::{CallbackServer, Expect, Finish};
use crate::oauth::device::{self, DeviceError};
use crate::report::Reporter;
use crate::secret::Secret;
use crate::store::StoreKind;
use crate::store::mcp::{McpStore, McpTokens};

/// What the callback page says (the reference's words).
const SUCCESS: &str = "Authentication complete. You may close this window.";
const INVALID: &str = "Invalid OAuth callback";

#[derive(Debug, Clone)]
pub struct LoginOptions {
    /// `--scopes`, before the config's and the discovered ones.
    pub scopes: Option<Vec<String>>,
    pub open_browser: bool,
    /// The longest wait for the browser, or for the device code to be entered.
    pub timeout: Duration,
}

/// The callback id of a server URL: base64url (no padding) of the first 9 bytes of the SHA-256
/// of the URL without its fragment (12 characters).
pub fn callback_id(url: &str) -> String {
    let without_fragment = url.split('#').next().unwrap_or(url);
    let digest = Sha256::digest(without_fragment.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..9])
}

/// Where the browser comes back: `mcp_oauth_callback_url` exactly when set, else
/// `http://127.0.0.1:<port>/callback/<id>`. Returns the port to listen on (`0`: any) and the
/// path; the URI itself is known once the listener has its port.
struct Callback {
    port: u16,
    path: String,
    fixed_uri: Option<String>,
}

fn callback(config: &crate::config::Config, server: &Server) -> Result<Callback, McpError> {
    if let Some(raw) = &config.mcp.callback_url {
        let url = url::Url::parse(raw).map_err(|_| {
            McpError::Discovery(format!(
                "mcp_oauth_callback_url {} is not a URL",
                crate::secret::shown_url(raw)
            ))
        })?;
        // The listener is local; the URL may name another host (a tunnel to this one).
        return Ok(Callback {
            port: url.port_or_known_default().unwrap_or(0),
            path: url.path().to_string(),
            fixed_uri: Some(raw.clone()),
        });
    }
    let port = server
        .table
        .oauth
        .as_ref()
        .and_then(|o| o.callback_port)
        .or(config.mcp.callback_port)
        .unwrap_or(0);
    Ok(Callback {
        port,
        path: format!("/callback/{}", callback_id(&server.url)),
        fixed_uri: None,
    })
}

/// The scopes to ask for: `--scopes`, then the config's, then the discovered ones (plus
/// `offline_access` when the authorization server offers it, for a refresh token).
fn scopes(opts: &LoginOptions, server: &Server, found: &Discovered) -> Vec<String> {
    if let Some(scopes) = opts.scopes.clone().or_else(|| server.table.scopes.clone()) {
        return scopes;
    }
    let mut scopes = found.scopes_supported.clone();
    if scopes.is_empty() {
        return scopes;
    }
    let offline = "offline_access";
    if found
        .auth_server
        .scopes_supported
        .iter()
        .any(|s| s == offline)
        && !scopes.iter().any(|s| s == offline)
    {
        scopes.push(offline.to_string());
    }
    scopes
}

/// What the server's metadata says (fetched with redirects kept on each origin), and the
/// client for the requests that follow.
async fn discover(
    config: &crate::config::Config,
    server: &Server,
) -> Result<(Discovered, reqwest::Client), McpError> {
    let discovery_client =
        crate::http::client_with(&config.network, crate::http::Redirects::SameOrigin)?;
    let found = discovery::discover(&discovery_client, &server.url).await?;
    Ok((found, crate::http::client(&config.network)?))
}

/// Runs the sign-in; returns where the tokens were saved.
pub async fn run(
    config: &crate::config::Config,
    store: &McpStore,
    server: &Server,
    opts: &LoginOptions,
    out: &Reporter,
) -> Result<StoreKind, McpError> {
    let (found, http) = discover(config, server).await?;
    let auth_server = &found.auth_server;
    let target = callback(config, server)?;
    let state = CsrfToken::new_random_len(32);
    let expect = Expect {
        path: target.path.clone(),
        state: state.secret().clone(),
        mismatch_page: crate::login::callback::page::message(INVALID, INVALID),
    };
    let choice = Some(target.port);
    let mut listener = CallbackServer::start_at(choice, expect).await?;
    let redirect_uri = target
        .fixed_uri
        .clone()
        .unwrap_or_else(|| format!("http://127.0.0.1:{}{}", listener.port, target.path));
    let configured = server
        .table
        .oauth
        .as_ref()
        .and_then(|o| o.client_id.as_deref());
    let grant = super::register::Grant::Code {
        redirect_uri: &redirect_uri,
    };
    let client_id =
        super::register::client_id(&http, &server.name, configured, auth_server, grant).await?;
    let resource = server.resource(found.resource.as_deref());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256_len(64);
    let scopes = scopes(opts, server, &found);
    let url = authorize_url(
        &auth_server.authorization_endpoint,
        &client_id,
        &redirect_uri,
        &scopes,
        state.secret(),
        challenge.as_str(),
        &resource,
    );
    let opened = opts.open_browser && open::that_detached(&url).is_ok();
    out.mcp_authorize_url(&server.name, &url, listener.port, opened);

    let (code, iss, browser) = tokio::time::timeout(opts.timeout, async {
        loop {
            let (finish, reply) = listener.wait_for_finish().await?;
            let page = crate::login::callback::page::message;
            match finish {
                Finish::Code { code, iss } => return Ok((code, iss, reply)),
                Finish::Denied { description, .. } => {
                    reply
                        .send(StatusCode::BAD_REQUEST, page(INVALID, INVALID))
                        .await;
                    return Err(McpError::Denied {
                        name: crate::untrusted::printable(&server.name).into_owned(),
                        detail: crate::untrusted::printable(&description).into_owned(),
                    });
                }
                Finish::MissingCode => {
                    reply
                        .send(StatusCode::BAD_REQUEST, page(INVALID, INVALID))
                        .await;
                }
                Finish::Cancel => {
                    reply
                        .send(
                            StatusCode::OK,
                            page("Cancelled", "Another sign-in took over."),
                        )
                        .await;
                    return Err(McpError::Login(
                        crate::login::LoginError::CancelledByAnotherLogin,
                    ));
                }
            }
        }
    })
    .await
    .map_err(|_| McpError::TimedOut {
        name: crate::untrusted::printable(&server.name).into_owned(),
        secs: opts.timeout.as_secs(),
    })??;

    // RFC 9207: an issuer that sends `iss` must send its own; one that says it always does must.
    let page = crate::login::callback::page::message;
    let wrong_iss = match &iss {
        Some(got) => !got
            .trim_end_matches('/')
            .eq(auth_server.issuer.trim_end_matches('/')),
        None => auth_server.authorization_response_iss_parameter_supported,
    };
    if wrong_iss {
        browser
            .send(StatusCode::BAD_REQUEST, page(INVALID, INVALID))
            .await;
        return Err(McpError::WrongIssuer {
            name: crate::untrusted::printable(&server.name).into_owned(),
            expected: crate::untrusted::printable(&auth_server.issuer).into_owned(),
            got: crate::untrusted::printable(iss.as_deref().unwrap_or("(none)")).into_owned(),
        });
    }
    let result = async {
        let issued = super::token::exchange_code(
            &http,
            auth_server,
            &client_id,
            code,
            &redirect_uri,
            Secret::new(verifier.into_secret()),
            &resource,
        )
        .await?;
        let tokens = signed_in(server, &auth_server.issuer, &client_id, &scopes, issued);
        Ok::<_, McpError>(store.save(&tokens)?)
    }
    .await;
    match &result {
        Ok(_) => {
            browser
                .send(StatusCode::OK, page("Signed in", SUCCESS))
                .await
        }
        Err(_) => {
            browser
                .send(StatusCode::BAD_REQUEST, page(INVALID, INVALID))
                .await
        }
    }
    result
}

/// The document of a new sign-in; what the token answer leaves out is what was asked for.
fn signed_in(
    server: &Server,
    issuer: &str,
    client_id: &str,
    scopes: &[String],
    issued: super::token::Issued,
) -> McpTokens {
    issued.into_tokens(McpTokens {
        server_name: server.name.clone(),
        url: server.url.clone(),
        issuer: Some(issuer.to_string()),
        client_id: client_id.to_string(),
        access_token: Secret::new(String::new()),
        refresh_token: None,
        expires_at: None,
        scopes: scopes.to_vec(),
    })
}

/// `--device-auth`: the device code sign-in (RFC 8628) for machines without a browser (SSH):
/// discovery and registration as above, then a code the user enters on any device, with
/// `resource` on the device and token requests. Beyond the reference, which has none.
pub async fn run_device(
    config: &crate::config::Config,
    store: &McpStore,
    server: &Server,
    opts: &LoginOptions,
    out: &Reporter,
) -> Result<StoreKind, McpError> {
    let name = crate::untrusted::printable(&server.name).into_owned();
    let (found, http) = discover(config, server).await?;
    let auth_server = &found.auth_server;
    let Some(device_url) = &auth_server.device_authorization_endpoint else {
        return Err(McpError::NoDeviceSignIn {
            issuer: crate::untrusted::printable(&auth_server.issuer).into_owned(),
            name,
        });
    };
    let configured = server
        .table
        .oauth
        .as_ref()
        .and_then(|o| o.client_id.as_deref());
    let grant = super::register::Grant::Device;
    let client_id =
        super::register::client_id(&http, &server.name, configured, auth_server, grant).await?;
    let resource = server.resource(found.resource.as_deref());
    let scopes = scopes(opts, server, &found);
    let device = device::Rfc8628 {
        client_id: &client_id,
        device_url,
        token_url: &auth_server.token_endpoint,
        scopes: scopes.clone(),
        resource: Some(&resource),
    };
    let failed = |e: DeviceError| match e {
        DeviceError::Failed(detail) => McpError::Device {
            name: name.clone(),
            detail,
        },
        DeviceError::Expired => McpError::Device {
            name: name.clone(),
            detail: "the code expired before it was entered".to_string(),
        },
        DeviceError::Denied => McpError::Device {
            name: name.clone(),
            detail: "the code was declined on the device page".to_string(),
        },
        DeviceError::OAuth(e) => McpError::Discovery(e.to_string()),
    };
    let code = device::rfc8628_start(&http, &device)
        .await
        .map_err(failed)?;
    let host = url::Url::parse(&auth_server.issuer)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_else(|| auth_server.issuer.clone());
    // Bounded by the code's own lifetime (at most 30 min) and `--timeout`, whichever ends first;
    // the user is told the shorter.
    let wait = code.code.expires_in.min(opts.timeout);
    let shown = device::DeviceCode {
        expires_in: wait,
        ..code.code.clone()
    };
    let progress = out.device_code(&shown, &host, false);
    let deadline = std::time::Instant::now() + wait;
    let ticker = progress.clone();
    let sleep = move |d: Duration| {
        ticker.tick(deadline);
        tokio::time::sleep(d)
    };
    let result = tokio::time::timeout(wait, device::rfc8628_wait(&http, &device, &code, sleep))
        .await
        .unwrap_or(Err(DeviceError::Expired));
    progress.finish();
    let response = result.map_err(failed)?;
    let issued = super::token::Issued::from_response(&response);
    let tokens = signed_in(server, &auth_server.issuer, &client_id, &scopes, issued);
    Ok(store.save(&tokens)?)
}

fn authorize_url(
    endpoint: &str,
    client_id: &str,
    redirect_uri: &str,
    scopes: &[String],
    state: &str,
    challenge: &str,
    resource: &str,
) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect_uri);
    if !scopes.is_empty() {
        query.append_pair("scope", &scopes.join(" "));
    }
    query
        .append_pair("state", state)
        .append_pair("code_challenge", challenge)
        .append_pair("code_challenge_method", "S256")
        .append_pair("resource", resource);
    let separator = if endpoint.contains('?') { '&' } else { '?' };
    format!("{endpoint}{separator}{}", query.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callback_id_is_twelve_characters_of_the_url_digest() {
        let id = callback_id("http://127.0.0.1:43251/mcp#frag");
        assert_eq!(id.len(), 12);
        assert_eq!(id, callback_id("http://127.0.0.1:43251/mcp"));
    }
}
