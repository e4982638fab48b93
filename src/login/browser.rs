//! ChatGPT sign-in in the browser: authorization code + PKCE (RFC 7636) with a loopback
//! callback server (RFC 8252). The old credentials stay untouched until new ones are saved, so
//! a failed, cancelled or timed-out sign-in never logs the user out.

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use oauth2::{CsrfToken, PkceCodeChallenge};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::LoginError;
use crate::config::Config;
use crate::oauth::{self, AuthSettings, Endpoints, Protocol, TokenSet};
use crate::report::Reporter;
use crate::secret::Secret;
use crate::store::Store;

/// The ports registered for the ChatGPT client, in order of preference.
pub const DEFAULT_PORTS: [u16; 2] = [1455, 1457];
const OPENAI_SCOPES: &str =
    "openid profile email offline_access api.connectors.read api.connectors.invoke";

#[derive(Debug, Clone)]
pub struct BrowserOptions {
    pub open_browser: bool,
    /// `None`: 1455, then 1457. `Some(0)`: any free port.
    pub port: Option<u16>,
    pub timeout: Duration,
}

pub fn run(
    config: &Config,
    store: &Store,
    opts: &BrowserOptions,
    out: &Reporter,
) -> Result<(), LoginError> {
    super::run_chatgpt_sign_in(config, store, sign_in(config, store, opts, out))
}

async fn sign_in(
    config: &Config,
    store: &Store,
    opts: &BrowserOptions,
    out: &Reporter,
) -> Result<(), LoginError> {
    let http = crate::http::client(&config.network)?;
    let settings = &config.auth;
    let endpoints = Endpoints::resolve(&http, settings).await?;
    let server = CallbackServer::bind(opts.port).await?;
    let redirect_uri = format!("http://127.0.0.1:{}/auth/callback", server.port);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256_len(64);
    let state = CsrfToken::new_random_len(32);
    let url = authorize_url(
        settings,
        &endpoints,
        &redirect_uri,
        challenge.as_str(),
        state.secret(),
        config.forced_chatgpt_workspace_id.as_deref(),
    );
    let opened = opts.open_browser && open::that_detached(&url).is_ok();
    out.authorize_url(&url, server.port, opened, opts.timeout);

    let code = tokio::time::timeout(opts.timeout, server.wait_for_code(state.secret()))
        .await
        .map_err(|_| LoginError::TimedOut(opts.timeout.as_secs()))?;
    let (code, mut browser) = code?;
    let grant = Grant {
        code,
        redirect_uri: &redirect_uri,
        verifier: Secret::new(verifier.into_secret()),
    };
    let result = finish(config, store, &http, &endpoints, grant, out).await;
    match &result {
        Ok(()) => respond(&mut browser, 200, &page::success()).await,
        Err(e) => respond(&mut browser, 500, &page::error(&e.to_string())).await,
    }
    result
}

/// What the browser handed back, with what proves this process asked for it.
struct Grant<'a> {
    code: Secret<String>,
    redirect_uri: &'a str,
    verifier: Secret<String>,
}

/// Everything after the browser handed over a code: exchange, checks, persistence.
async fn finish(
    config: &Config,
    store: &Store,
    http: &reqwest::Client,
    endpoints: &Endpoints,
    grant: Grant<'_>,
    out: &Reporter,
) -> Result<(), LoginError> {
    let settings = &config.auth;
    let tokens: TokenSet = oauth::exchange_code(
        http,
        settings,
        endpoints,
        grant.code,
        grant.redirect_uri,
        grant.verifier,
    )
    .await?;
    // Before the API-key exchange: no key is minted for a workspace that is refused.
    super::check_workspace(config.forced_chatgpt_workspace_id.as_deref(), &tokens)?;
    let api_key = match settings.protocol {
        Protocol::OpenAi => {
            oauth::exchange_for_api_key(http, settings, endpoints, &tokens.id_token).await
        }
        Protocol::Oidc => None,
    };
    super::complete(config, store, tokens, api_key, out)
}

/// The authorize URL with every parameter the protocol wants, in the reference's order.
fn authorize_url(
    settings: &AuthSettings,
    endpoints: &Endpoints,
    redirect_uri: &str,
    challenge: &str,
    state: &str,
    workspace: Option<&str>,
) -> String {
    let scopes = match (&settings.scopes, settings.protocol) {
        (Some(scopes), _) => scopes.join(" "),
        (None, Protocol::OpenAi) => OPENAI_SCOPES.to_string(),
        (None, Protocol::Oidc) => oauth::OIDC_SCOPES.join(" "),
    };
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query
        .append_pair("response_type", "code")
        .append_pair("client_id", &settings.client_id)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("scope", &scopes)
        .append_pair("code_challenge", challenge)
        .append_pair("code_challenge_method", "S256");
    match settings.protocol {
        Protocol::OpenAi => {
            query
                .append_pair("id_token_add_organizations", "true")
                .append_pair("codex_cli_simplified_flow", "true")
                .append_pair("state", state)
                .append_pair("originator", "codex_cli_rs");
            if let Some(id) = workspace {
                query.append_pair("allowed_workspace_id", id);
            }
        }
        Protocol::Oidc => {
            query.append_pair("state", state);
        }
    }
    let separator = if endpoints.authorize.contains('?') {
        '&'
    } else {
        '?'
    };
    format!("{}{separator}{}", endpoints.authorize, query.finish())
}

/// The loopback listener(s) the browser is sent back to.
struct CallbackServer {
    v4: TcpListener,
    v6: Option<TcpListener>,
    port: u16,
}

impl CallbackServer {
    async fn bind(choice: Option<u16>) -> Result<CallbackServer, LoginError> {
        let v4 = match choice {
            Some(port) => TcpListener::bind((Ipv4Addr::LOCALHOST, port))
                .await
                .map_err(|e| LoginError::PortUnavailable { port, source: e })?,
            None => Self::bind_default().await?,
        };
        let port = v4.local_addr().map_err(LoginError::Listen)?.port();
        let v6 = TcpListener::bind((Ipv6Addr::LOCALHOST, port)).await.ok();
        tracing::debug!(port, ipv6 = v6.is_some(), "callback server listening");
        Ok(CallbackServer { v4, v6, port })
    }

    /// 1455, else stop a stale login of ours there and retry for about 2 s, else 1457 alike.
    async fn bind_default() -> Result<TcpListener, LoginError> {
        for port in DEFAULT_PORTS {
            if let Ok(listener) = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await {
                return Ok(listener);
            }
            tracing::debug!(port, "port busy; asking a stale login to cancel");
            send_cancel(port).await;
            for _ in 0..20 {
                tokio::time::sleep(Duration::from_millis(100)).await;
                if let Ok(listener) = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await {
                    return Ok(listener);
                }
            }
        }
        Err(LoginError::PortsBusy)
    }

    /// Serves the callback routes until a code arrives (or the sign-in fails). Returns the code
    /// and the browser's connection, still open, to answer once the code is exchanged.
    async fn wait_for_code(
        &self,
        expected_state: &str,
    ) -> Result<(Secret<String>, TcpStream), LoginError> {
        loop {
            let accepted = match &self.v6 {
                Some(v6) => tokio::select! {
                    a = self.v4.accept() => a,
                    a = v6.accept() => a,
                },
                None => self.v4.accept().await,
            };
            let (mut stream, peer): (TcpStream, SocketAddr) = match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    tracing::debug!(error = %e, "accept failed");
                    continue;
                }
            };
            let Some(target) = read_request_target(&mut stream).await else {
                continue;
            };
            let (path, query) = match target.split_once('?') {
                Some((p, q)) => (p.to_string(), q.to_string()),
                None => (target.clone(), String::new()),
            };
            tracing::debug!(%peer, path, "callback request");
            let params: HashMap<String, String> = url::form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect();
            match path.as_str() {
                "/auth/callback" => {
                    if params.get("state").map(String::as_str) != Some(expected_state) {
                        respond(&mut stream, 400, &page::error("State mismatch: this page does not belong to the sign-in that is waiting. Start over with `codex login`.")).await;
                        continue;
                    }
                    if let Some(error) = params.get("error") {
                        let description = params
                            .get("error_description")
                            .cloned()
                            .unwrap_or_else(|| error.clone());
                        respond(
                            &mut stream,
                            400,
                            &page::error(&format!("Sign-in failed: {description}")),
                        )
                        .await;
                        return Err(LoginError::Denied {
                            error: error.clone(),
                            description,
                        });
                    }
                    match params.get("code").filter(|c| !c.is_empty()) {
                        Some(code) => return Ok((Secret::new(code.clone()), stream)),
                        None => {
                            respond(
                                &mut stream,
                                400,
                                &page::error("The sign-in did not return an authorization code."),
                            )
                            .await;
                            return Err(LoginError::MissingCode);
                        }
                    }
                }
                "/success" => respond(&mut stream, 200, &page::success()).await,
                "/cancel" => {
                    respond(
                        &mut stream,
                        200,
                        &page::message("Login cancelled", "Another sign-in took over."),
                    )
                    .await;
                    return Err(LoginError::CancelledByAnotherLogin);
                }
                _ => {
                    respond(
                        &mut stream,
                        404,
                        &page::message("Not found", "Nothing here."),
                    )
                    .await
                }
            }
        }
    }
}

/// Asks whatever listens on `port` to stop, as a stale `codex login` would.
async fn send_cancel(port: u16) {
    let attempt = async {
        let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).await?;
        stream
            .write_all(b"GET /cancel HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            .await?;
        let mut sink = Vec::new();
        stream.read_to_end(&mut sink).await.map(|_| ())
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), attempt).await;
}

/// The request target of a `GET` (path and query), read with a bound on size and time.
async fn read_request_target(stream: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::with_capacity(1024);
    let read = async {
        let mut chunk = [0u8; 1024];
        while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 16 * 1024 {
            let n = stream.read(&mut chunk).await.ok()?;
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        Some(())
    };
    tokio::time::timeout(Duration::from_secs(5), read)
        .await
        .ok()??;
    let line = buf.split(|b| *b == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?.trim_end();
    let mut parts = line.split(' ');
    match (parts.next(), parts.next()) {
        (Some("GET"), Some(target)) => Some(target.to_string()),
        _ => None,
    }
}

async fn respond(stream: &mut TcpStream, status: u16, html: &str) {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        _ => "Internal Server Error",
    };
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n{html}",
        html.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// Self-contained pages (no external assets) for the browser tab.
mod page {
    pub fn success() -> String {
        message(
            "Signed in to Codex",
            "Signed in, you may close this tab and return to your terminal.",
        )
    }

    pub fn error(text: &str) -> String {
        message("Sign-in failed", text)
    }

    pub fn message(title: &str, text: &str) -> String {
        format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title>\
             <style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222}}\
             h1{{font-size:1.4rem}}</style></head><body><h1>{t}</h1><p>{x}</p></body></html>",
            t = escape(title),
            x = escape(text)
        )
    }

    fn escape(text: &str) -> String {
        text.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    }
}

/// Whether to start a browser: not when asked not to, over SSH, or without a display.
pub fn browser_available() -> bool {
    browser_unavailable_reason().is_none()
}

/// Why no browser is started here (an SSH session, no display), or `None` when one can be.
pub fn browser_unavailable_reason() -> Option<&'static str> {
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    if set("SSH_CONNECTION") || set("SSH_TTY") {
        return Some("this is an SSH session (SSH_CONNECTION or SSH_TTY is set)");
    }
    if cfg!(any(target_os = "macos", windows)) || set("DISPLAY") || set("WAYLAND_DISPLAY") {
        return None;
    }
    Some("there is no display (neither DISPLAY nor WAYLAND_DISPLAY is set)")
}
