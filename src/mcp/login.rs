//! `codex mcp login NAME`: discovery, the client id, then authorization code + PKCE S256 with
//! `resource` (RFC 8707) on a loopback callback at `/callback/<id>` (`id` from the server's URL,
//! as the reference does, so a code meant for another server's sign-in is not taken: mix-up),
//! the state and the RFC 9207 `iss` checked, the code exchanged, the tokens saved. Nothing that
//! was stored is touched until the new tokens are saved. Advertised scopes the authorization
//! server refuses are dropped once; scopes the user chose never are.

use std::time::Duration;

use base64::Engine as _;
use http::StatusCode;
use oauth2::{CsrfToken, PkceCodeChallenge};
use sha2::{Digest, Sha256};

use super::discovery::{self, AuthServer, Discovered};
use super::{McpError, Server, register};
use crate::login::callback::{CallbackServer, Expect, Finish};
use crate::oauth::device::{self, DeviceError};
use crate::report::Reporter;
use crate::secret::Secret;
use crate::store::StoreKind;
use crate::store::mcp::{McpStore, McpTokens};
use crate::untrusted::printable;

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

/// Where the scopes of a sign-in came from. Only a discovered set is dropped when the
/// authorization server refuses it: scopes the user chose are theirs to change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ScopesFrom {
    Flag,
    Config,
    Discovered,
}

/// The scopes to ask for, and where they came from.
struct Scopes {
    list: Vec<String>,
    from: ScopesFrom,
}

impl Scopes {
    /// `--scopes`, then the config's, then the discovered ones (plus `offline_access` when the
    /// authorization server offers it, for a refresh token).
    fn of(opts: &LoginOptions, server: &Server, found: &Discovered) -> Scopes {
        if let Some(list) = opts.scopes.clone() {
            return Scopes {
                list,
                from: ScopesFrom::Flag,
            };
        }
        if let Some(list) = server.table.scopes.clone() {
            return Scopes {
                list,
                from: ScopesFrom::Config,
            };
        }
        let mut list = found.scopes_supported.clone();
        let offline = "offline_access";
        if !list.is_empty()
            && found
                .auth_server
                .scopes_supported
                .iter()
                .any(|s| s == offline)
            && !list.iter().any(|s| s == offline)
        {
            list.push(offline.to_string());
        }
        Scopes {
            list,
            from: ScopesFrom::Discovered,
        }
    }

    /// The authorization server refused these scopes (`invalid_scope`): a discovered set is
    /// dropped, once, and the user told so in one line (the caller asks again without scopes);
    /// a set the user chose, or none at all, is an error that says which and where from.
    fn refused(
        &mut self,
        server: &Server,
        auth_server: &AuthServer,
        description: &str,
        out: &Reporter,
    ) -> Result<(), McpError> {
        let name = printable(&server.name).into_owned();
        let issuer = printable(&auth_server.issuer).into_owned();
        let scopes = printable(&self.list.join(" ")).into_owned();
        let detail = printable(description).into_owned();
        // Nothing was asked for: there is nothing to drop, nor to name.
        if self.list.is_empty() {
            return Err(McpError::Denied { name, detail });
        }
        let (from, fix) = match self.from {
            ScopesFrom::Discovered => {
                out.note(&format!(
                    "note: `{issuer}` refused the scopes advertised for '{name}' ({scopes}); the sign-in continues without scopes"
                ));
                self.list.clear();
                return Ok(());
            }
            ScopesFrom::Flag => (
                "given with --scopes".to_string(),
                format!("run `codex mcp login {name}` with other --scopes, or without them"),
            ),
            ScopesFrom::Config => (
                format!("set by `scopes` in [mcp_servers.{name}] of config.toml"),
                "change or remove that `scopes` line".to_string(),
            ),
        };
        Err(McpError::ScopesRefused {
            issuer,
            scopes,
            from,
            detail,
            fix,
        })
    }
}

/// What both sign-ins start with: what discovery found, the client for the requests that
/// follow, who we are to the authorization server (the configured client id, else one
/// registered for the grant) and the resource the tokens are for.
struct Start {
    found: Discovered,
    http: reqwest::Client,
    client_id: String,
    resource: String,
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

impl Start {
    async fn client(
        found: Discovered,
        http: reqwest::Client,
        server: &Server,
        grant: register::Grant<'_>,
    ) -> Result<Start, McpError> {
        let configured = server
            .table
            .oauth
            .as_ref()
            .and_then(|o| o.client_id.as_deref());
        let client_id =
            register::client_id(&http, &server.name, configured, &found.auth_server, grant).await?;
        let resource = server.resource(found.resource.as_deref());
        Ok(Start {
            found,
            http,
            client_id,
            resource,
        })
    }
}

/// One authorization request: its URL and the PKCE verifier that goes with it.
struct Attempt {
    url: String,
    verifier: Secret<String>,
}

impl Attempt {
    fn new(start: &Start, redirect_uri: &str, scopes: &[String], state: &str) -> Attempt {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256_len(64);
        Attempt {
            url: authorize_url(
                &start.found.auth_server.authorization_endpoint,
                &start.client_id,
                redirect_uri,
                scopes,
                state,
                challenge.as_str(),
                &start.resource,
            ),
            verifier: Secret::new(verifier.into_secret()),
        }
    }
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
    let grant = register::Grant::Code {
        redirect_uri: &redirect_uri,
    };
    let start = Start::client(found, http, server, grant).await?;
    let auth_server = &start.found.auth_server;
    let mut scopes = Scopes::of(opts, server, &start.found);
    let first = Attempt::new(&start, &redirect_uri, &scopes.list, state.secret());
    let opened = opts.open_browser && open::that_detached(&first.url).is_ok();
    out.mcp_authorize_url(&server.name, &first.url, listener.port, opened);

    let page = crate::login::callback::page::message;
    let name = || printable(&server.name).into_owned();
    let (code, iss, browser, attempt) = tokio::time::timeout(opts.timeout, async {
        let mut attempt = first;
        loop {
            let (finish, reply) = listener.wait_for_finish().await?;
            match finish {
                Finish::Code { code, iss } => return Ok((code, iss, reply, attempt)),
                Finish::Denied { error, description } if error == "invalid_scope" => {
                    let detail = match description == error {
                        true => error,
                        false => format!("{error} ({description})"),
                    };
                    if let Err(e) = scopes.refused(server, auth_server, &detail, out) {
                        reply
                            .send(StatusCode::BAD_REQUEST, page(INVALID, INVALID))
                            .await;
                        return Err(e);
                    }
                    // The browser goes straight on to the request without scopes; the URL is
                    // shown again for one that is not on this machine.
                    attempt = Attempt::new(&start, &redirect_uri, &scopes.list, state.secret());
                    reply.redirect(&attempt.url).await;
                    out.mcp_authorize_url(&server.name, &attempt.url, listener.port, false);
                }
                Finish::Denied { description, .. } => {
                    reply
                        .send(StatusCode::BAD_REQUEST, page(INVALID, INVALID))
                        .await;
                    return Err(McpError::Denied {
                        name: name(),
                        detail: printable(&description).into_owned(),
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
        name: name(),
        secs: opts.timeout.as_secs(),
    })??;

    // RFC 9207: an issuer that sends `iss` must send its own; one that says it always does must.
    let wrong_iss = match &iss {
        Some(got) => !discovery::same(got, &auth_server.issuer),
        None => auth_server.authorization_response_iss_parameter_supported,
    };
    if wrong_iss {
        browser
            .send(StatusCode::BAD_REQUEST, page(INVALID, INVALID))
            .await;
        return Err(McpError::WrongIssuer {
            name: name(),
            expected: printable(&auth_server.issuer).into_owned(),
            got: printable(iss.as_deref().unwrap_or("(none)")).into_owned(),
        });
    }
    let result = async {
        let issued = super::token::exchange_code(
            &start.http,
            auth_server,
            &start.client_id,
            code,
            &redirect_uri,
            attempt.verifier,
            &start.resource,
        )
        .await?;
        let tokens = signed_in(server, &start, &scopes.list, issued);
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
    start: &Start,
    scopes: &[String],
    issued: super::token::Issued,
) -> McpTokens {
    issued.into_tokens(McpTokens {
        server_name: server.name.clone(),
        url: server.url.clone(),
        issuer: Some(start.found.auth_server.issuer.clone()),
        client_id: start.client_id.clone(),
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
    let name = printable(&server.name).into_owned();
    let (found, http) = discover(config, server).await?;
    let Some(device_url) = found.auth_server.device_authorization_endpoint.clone() else {
        return Err(McpError::NoDeviceSignIn {
            issuer: printable(&found.auth_server.issuer).into_owned(),
            name,
        });
    };
    let start = Start::client(found, http, server, register::Grant::Device).await?;
    let auth_server = &start.found.auth_server;
    let mut scopes = Scopes::of(opts, server, &start.found);
    let device = |scopes: &Scopes| device::Rfc8628 {
        client_id: &start.client_id,
        device_url: &device_url,
        token_url: &auth_server.token_endpoint,
        scopes: scopes.list.clone(),
        resource: Some(&start.resource),
    };
    let failed = |e: DeviceError| match e {
        DeviceError::Failed(detail) => McpError::Device {
            name: name.clone(),
            detail,
        },
        DeviceError::Refused {
            device_url,
            failure,
        } => McpError::Device {
            name: name.clone(),
            detail: DeviceError::refused_text(&device_url, &failure),
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
    // The refusal of the scopes comes with the device authorization request.
    let code = match device::rfc8628_start(&start.http, &device(&scopes)).await {
        Err(DeviceError::Refused { failure, .. }) if failure.code() == Some("invalid_scope") => {
            scopes.refused(server, auth_server, &failure.to_string(), out)?;
            device::rfc8628_start(&start.http, &device(&scopes)).await
        }
        other => other,
    }
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
    let polled = device(&scopes);
    let result = tokio::time::timeout(
        wait,
        device::rfc8628_wait(&start.http, &polled, &code, sleep),
    )
    .await
    .unwrap_or(Err(DeviceError::Expired));
    progress.finish();
    let response = result.map_err(failed)?;
    let issued = super::token::Issued::from_response(&response);
    let tokens = signed_in(server, &start, &scopes.list, issued);
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
