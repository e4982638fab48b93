//! ChatGPT sign-in in the browser: authorization code + PKCE (RFC 7636) with a loopback
//! callback server (RFC 8252). The old credentials stay untouched until new ones are saved, so
//! a failed, cancelled or timed-out sign-in never logs the user out.

use std::time::Duration;

use http::StatusCode;
use oauth2::{CsrfToken, PkceCodeChallenge};

use super::LoginError;
use super::callback::{CallbackServer, page};
use crate::config::Config;
use crate::oauth::{self, AuthSettings, Endpoints, Protocol, TokenSet};
use crate::report::Reporter;
use crate::secret::Secret;
use crate::store::Store;

pub use super::callback::DEFAULT_PORTS;
const OPENAI_SCOPES: &str =
    "openid profile email offline_access api.connectors.read api.connectors.invoke";

#[derive(Debug, Clone)]
pub struct BrowserOptions {
    pub open_browser: bool,
    /// `None`: 1455, then 1457. `Some(0)`: any free port.
    pub port: Option<u16>,
    pub timeout: Duration,
}

/// How a browser sign-in ended when it did not fail.
#[derive(Debug)]
pub enum Outcome {
    SignedIn,
    /// Both default callback ports are taken by other programs, and the issuer offers the
    /// device-code sign-in, which needs no callback: the caller runs it instead.
    UseDevice,
}

/// The line that says why a sign-in continues with a device code.
pub const PORTS_BUSY_USE_DEVICE: &str = "Ports 1455 and 1457 on 127.0.0.1 are both in use by other programs, so the browser cannot return here; continuing with the device code sign-in.";

pub fn run(
    config: &Config,
    store: &Store,
    opts: &BrowserOptions,
    out: &Reporter,
) -> Result<Outcome, LoginError> {
    super::run_chatgpt_sign_in(config, store, sign_in(config, store, opts, out))
}

async fn sign_in(
    config: &Config,
    store: &Store,
    opts: &BrowserOptions,
    out: &Reporter,
) -> Result<Outcome, LoginError> {
    let http = crate::http::client(&config.network)?;
    let settings = &config.auth;
    let endpoints = Endpoints::resolve(&http, settings).await?;
    let state = CsrfToken::new_random_len(32);
    let mut server = match CallbackServer::start(opts.port, state.secret()).await {
        Ok(server) => server,
        Err(LoginError::PortsBusy) if offers_device_sign_in(settings, &endpoints) => {
            return Ok(Outcome::UseDevice);
        }
        Err(e) => return Err(e),
    };
    let redirect_uri = format!("http://127.0.0.1:{}/auth/callback", server.port);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256_len(64);
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

    let code = tokio::time::timeout(opts.timeout, server.wait_for_code())
        .await
        .map_err(|_| LoginError::TimedOut(opts.timeout.as_secs()))?;
    let (code, browser) = code?;
    let grant = Grant {
        code,
        redirect_uri: &redirect_uri,
        verifier: Secret::new(verifier.into_secret()),
    };
    let result = finish(config, store, &http, &endpoints, grant, out).await;
    match &result {
        Ok(()) => browser.send(StatusCode::OK, page::success()).await,
        Err(e) => {
            let html = page::error(&e.to_string());
            browser.send(StatusCode::INTERNAL_SERVER_ERROR, html).await
        }
    }
    result.map(|()| Outcome::SignedIn)
}

/// Whether the device-code sign-in can stand in: OpenAI's issuer always has it; an OpenID
/// Connect issuer when its discovery document names a device authorization endpoint.
fn offers_device_sign_in(settings: &AuthSettings, endpoints: &Endpoints) -> bool {
    match settings.protocol {
        Protocol::OpenAi => true,
        Protocol::Oidc => endpoints.device_authorization.is_some(),
    }
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
