//! Device-code sign-in for SSH and headless machines (`codex login --device-auth`): the user
//! opens a URL on any device and types a one-time code, while this process polls. The endpoints
//! are `oauth::device`'s; this file shows the code, waits, and falls back to the browser sign-in
//! where device sign-in is unavailable, as the guide promises.

use std::time::{Duration, Instant};

use super::LoginError;
use crate::config::Config;
use crate::oauth::device::{self, DeviceError};
use crate::oauth::{Endpoints, Protocol, TokenSet};
use crate::report::Reporter;
use crate::store::Store;

/// Time for a poll under way at the deadline to come back.
const POLL_GRACE: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Copy)]
pub struct DeviceOptions {
    pub show_qr: bool,
}

/// How a device sign-in ended when it did not fail.
#[derive(Debug)]
pub enum Outcome {
    SignedIn,
    /// The issuer offers no device sign-in: the caller runs the browser sign-in instead.
    UseBrowser,
}

pub fn run(
    config: &Config,
    store: &Store,
    opts: DeviceOptions,
    out: &Reporter,
) -> Result<Outcome, LoginError> {
    super::run_chatgpt_sign_in(config, store, sign_in(config, store, opts, out))
}

async fn sign_in(
    config: &Config,
    store: &Store,
    opts: DeviceOptions,
    out: &Reporter,
) -> Result<Outcome, LoginError> {
    let http = crate::http::client(&config.network)?;
    let endpoints = Endpoints::resolve(&http, &config.auth).await?;
    let tokens = match config.auth.protocol {
        Protocol::OpenAi => openai_flow(&http, config, &endpoints, opts, out).await,
        Protocol::Oidc => oidc_flow(&http, config, &endpoints, opts, out).await,
    }
    .map_err(|e| match e {
        DeviceError::Failed(detail) => LoginError::Device(detail),
        DeviceError::Refused {
            device_url,
            failure,
        } => LoginError::Device(DeviceError::refused_text(&device_url, &failure)),
        DeviceError::Expired => LoginError::DeviceCodeExpired,
        DeviceError::Denied => LoginError::Denied {
            error: "access_denied".to_string(),
            description: "the code was declined on the device page".to_string(),
        },
        DeviceError::OAuth(e) => LoginError::OAuth(e),
    })?;
    let Some(tokens) = tokens else {
        return Ok(Outcome::UseBrowser);
    };
    super::check_workspace(config.forced_chatgpt_workspace_id.as_deref(), &tokens)?;
    super::complete(config, store, tokens, None, out)?;
    Ok(Outcome::SignedIn)
}

/// OpenAI's device API: a user code, then polling (403/404 = pending) for an authorization code.
async fn openai_flow(
    http: &reqwest::Client,
    config: &Config,
    endpoints: &Endpoints,
    opts: DeviceOptions,
    out: &Reporter,
) -> Result<Option<TokenSet>, DeviceError> {
    let Some(grant) = device::openai_start(http, &config.auth, endpoints).await? else {
        out.note("Device code login is not enabled for this account or server. To use it, enable device code login in your ChatGPT security settings. Continuing with the browser sign-in.");
        return Ok(None);
    };
    let progress = out.device_code(&grant.code, &config.auth.display_name(), opts.show_qr);
    let deadline = Instant::now() + grant.code.expires_in;
    let result = loop {
        progress.tick(deadline);
        match device::openai_poll(http, &config.auth, endpoints, &grant).await {
            Ok(Some(tokens)) => break Ok(tokens),
            Ok(None) => {}
            Err(e) => break Err(e),
        }
        if Instant::now() + grant.interval > deadline {
            break Err(DeviceError::Expired);
        }
        tokio::time::sleep(grant.interval).await;
    };
    progress.finish();
    result.map(Some)
}

/// RFC 8628 with the endpoint from discovery.
async fn oidc_flow(
    http: &reqwest::Client,
    config: &Config,
    endpoints: &Endpoints,
    opts: DeviceOptions,
    out: &Reporter,
) -> Result<Option<TokenSet>, DeviceError> {
    let Some(grant) = device::oidc_start(http, &config.auth, endpoints).await? else {
        out.note(&format!(
            "`{}` offers no device sign-in (no device_authorization_endpoint). Continuing with the browser sign-in.",
            config.auth.issuer
        ));
        return Ok(None);
    };
    let progress = out.device_code(&grant.code, &config.auth.display_name(), opts.show_qr);
    let deadline = Instant::now() + grant.code.expires_in;
    progress.tick(deadline);
    let ticker = progress.clone();
    let sleep = move |d: Duration| {
        ticker.tick(deadline);
        tokio::time::sleep(d)
    };
    // oauth2 polls until the issuer's own `expires_in` and retries failed polls meanwhile: our
    // deadline (capped at MAX_CODE_LIFETIME) bounds the whole wait.
    let wait = device::oidc_wait(http, &config.auth, endpoints, &grant, sleep);
    let result = tokio::time::timeout_at((deadline + POLL_GRACE).into(), wait)
        .await
        .unwrap_or(Err(DeviceError::Expired));
    progress.finish();
    result.map(Some)
}
