//! Device-code sign-in for SSH and headless machines (`codex login --device-auth`): the user
//! opens a URL on any device and types a one-time code, while this process polls.
//!
//! "openai" protocol: OpenAI's own device API (not RFC 8628; the server makes the PKCE pair and
//! hands back an authorization code). "oidc" protocol: RFC 8628 through the `oauth2` crate.
//! Where device sign-in is unavailable, the browser sign-in takes over, as the guide promises.

use std::time::{Duration, Instant};

use oauth2::{DeviceAuthorizationUrl, Scope, StandardDeviceAuthorizationResponse};
use serde::Deserialize;

use super::oauth::{self, Endpoints, IssuedTokens};
use super::{LoginError, Reporter};
use crate::config::{Config, Protocol};
use crate::secret::Secret;

/// OpenAI's device codes live 15 minutes.
const OPENAI_CODE_LIFETIME: Duration = Duration::from_secs(15 * 60);

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

/// What the user is shown.
#[derive(Debug, Clone)]
pub struct DeviceCode {
    pub verification_uri: String,
    pub verification_uri_complete: Option<String>,
    pub user_code: String,
    pub expires_in: Duration,
}

pub fn run(config: &Config, opts: DeviceOptions, out: &Reporter) -> Result<Outcome, LoginError> {
    super::run_chatgpt_sign_in(config, sign_in(config, opts, out))
}

async fn sign_in(
    config: &Config,
    opts: DeviceOptions,
    out: &Reporter,
) -> Result<Outcome, LoginError> {
    let http = crate::http::client(config)?;
    let settings = &config.auth;
    let endpoints = Endpoints::resolve(&http, settings).await?;
    let tokens = match settings.protocol {
        Protocol::OpenAi => openai_flow(&http, config, &endpoints, opts, out).await?,
        Protocol::Oidc => oidc_flow(&http, config, &endpoints, opts, out).await?,
    };
    let Some(tokens) = tokens else {
        return Ok(Outcome::UseBrowser);
    };
    let store = super::complete(config, tokens.clone(), None)?;
    out.logged_in(&tokens, store.as_ref());
    Ok(Outcome::SignedIn)
}

#[derive(Deserialize)]
struct UserCodeResponse {
    device_auth_id: String,
    #[serde(alias = "usercode")]
    user_code: String,
    #[serde(default, deserialize_with = "number_or_string")]
    interval: Option<u64>,
}

/// `interval` arrives as a string ("5") in the wild, or as a number.
fn number_or_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        N(u64),
        S(String),
    }
    match Option::<Raw>::deserialize(d)? {
        None => Ok(None),
        Some(Raw::N(n)) => Ok(Some(n)),
        Some(Raw::S(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| serde::de::Error::custom(format!("interval {s:?} is not a number"))),
    }
}

#[derive(Deserialize)]
struct CodeGrant {
    authorization_code: Secret<String>,
    code_verifier: Secret<String>,
}

/// OpenAI's device API: usercode, then polling (403/404 = pending) for an authorization code.
async fn openai_flow(
    http: &reqwest::Client,
    config: &Config,
    endpoints: &Endpoints,
    opts: DeviceOptions,
    out: &Reporter,
) -> Result<Option<IssuedTokens>, LoginError> {
    let issuer = &config.auth.issuer;
    let usercode_url = endpoints
        .device_authorization
        .clone()
        .unwrap_or_else(|| format!("{issuer}/api/accounts/deviceauth/usercode"));
    let response = http
        .post(&usercode_url)
        .json(&serde_json::json!({ "client_id": config.auth.client_id }))
        .send()
        .await
        .map_err(|e| LoginError::Device(crate::http::describe(&e)))?;
    match response.status().as_u16() {
        404 => {
            out.note("Device code login is not enabled for this account or server. To use it, enable device code login in your ChatGPT security settings. Continuing with the browser sign-in.");
            return Ok(None);
        }
        s if !(200..300).contains(&s) => {
            return Err(LoginError::Device(format!(
                "`{usercode_url}` answered HTTP {}",
                response.status()
            )));
        }
        _ => {}
    }
    let grant: UserCodeResponse = json_body(response).await.map_err(|e| {
        LoginError::Device(format!(
            "`{usercode_url}` did not answer with a device code: {e}"
        ))
    })?;
    let code = DeviceCode {
        verification_uri: format!("{issuer}/codex/device"),
        verification_uri_complete: None,
        user_code: grant.user_code.clone(),
        expires_in: OPENAI_CODE_LIFETIME,
    };
    let interval = Duration::from_secs(grant.interval.unwrap_or(5).max(1));
    let progress = out.device_code(&code, opts.show_qr);
    let poll_url = format!("{issuer}/api/accounts/deviceauth/token");
    let deadline = Instant::now() + OPENAI_CODE_LIFETIME;
    let body =
        serde_json::json!({"device_auth_id": grant.device_auth_id, "user_code": grant.user_code});
    let code_grant = loop {
        progress.tick(deadline);
        let response = http
            .post(&poll_url)
            .json(&body)
            .send()
            .await
            .map_err(|e| LoginError::Device(crate::http::describe(&e)))?;
        match response.status().as_u16() {
            200..=299 => {
                break json_body::<CodeGrant>(response).await.map_err(|e| {
                    LoginError::Device(format!(
                        "`{poll_url}` did not answer with an authorization code: {e}"
                    ))
                })?;
            }
            403 | 404 => {}
            _ => {
                return Err(LoginError::Device(format!(
                    "`{poll_url}` answered HTTP {}",
                    response.status()
                )));
            }
        }
        if Instant::now() + interval > deadline {
            return Err(LoginError::DeviceCodeExpired);
        }
        tokio::time::sleep(interval).await;
    };
    progress.finish();
    let tokens = oauth::exchange_code(
        http,
        &config.auth,
        endpoints,
        code_grant.authorization_code,
        &format!("{issuer}/deviceauth/callback"),
        code_grant.code_verifier,
    )
    .await?;
    Ok(Some(tokens))
}

/// A JSON answer, read whole up to `http::BODY_CAP`.
async fn json_body<T: serde::de::DeserializeOwned>(
    response: reqwest::Response,
) -> Result<T, String> {
    let bytes = crate::http::read_body(response)
        .await
        .map_err(|e| e.to_string())?;
    serde_json::from_slice(&bytes).map_err(|e| crate::secret::redact_values(&e.to_string()))
}

/// RFC 8628 with the endpoint from discovery; `oauth2` handles `authorization_pending` and
/// `slow_down` (+5 s each time).
async fn oidc_flow(
    http: &reqwest::Client,
    config: &Config,
    endpoints: &Endpoints,
    opts: DeviceOptions,
    out: &Reporter,
) -> Result<Option<IssuedTokens>, LoginError> {
    let Some(device_url) = &endpoints.device_authorization else {
        out.note(&format!(
            "`{}` offers no device sign-in (no device_authorization_endpoint). Continuing with the browser sign-in.",
            config.auth.issuer
        ));
        return Ok(None);
    };
    let client = oauth::client(&config.auth, endpoints)?.set_device_authorization_url(
        DeviceAuthorizationUrl::new(device_url.clone())
            .map_err(|_| oauth::OAuthError::BadEndpoint(device_url.clone()))?,
    );
    let scopes: Vec<String> = match &config.auth.scopes {
        Some(s) => s.clone(),
        None => crate::config::OIDC_SCOPES
            .iter()
            .map(|s| s.to_string())
            .collect(),
    };
    let details: StandardDeviceAuthorizationResponse = client
        .exchange_device_code()
        .add_scopes(scopes.into_iter().map(Scope::new))
        .request_async(&|r| oauth::send(http, r))
        .await
        .map_err(|e| match e {
            oauth2::RequestTokenError::Request(e) => LoginError::Device(e.to_string()),
            other => LoginError::Device(format!(
                "`{device_url}` refused the device code request: {}",
                crate::output::printable(&other.to_string())
            )),
        })?;
    let code = DeviceCode {
        verification_uri: details.verification_uri().to_string(),
        verification_uri_complete: details
            .verification_uri_complete()
            .map(|u| u.secret().to_string()),
        user_code: details.user_code().secret().clone(),
        expires_in: details.expires_in(),
    };
    let progress = out.device_code(&code, opts.show_qr);
    let deadline = Instant::now() + details.expires_in();
    let ticker = progress.clone();
    let sleep = move |d: Duration| {
        ticker.tick(deadline);
        tokio::time::sleep(d)
    };
    let result = client
        .exchange_device_access_token(&details)
        .request_async(&|r| oauth::send(http, r), sleep, None)
        .await;
    progress.finish();
    let response = result.map_err(|e| match e {
        oauth2::RequestTokenError::ServerResponse(err) => match err.error() {
            oauth2::DeviceCodeErrorResponseType::AccessDenied => LoginError::Denied {
                error: "access_denied".to_string(),
                description: "the code was declined on the device page".to_string(),
            },
            oauth2::DeviceCodeErrorResponseType::ExpiredToken => LoginError::DeviceCodeExpired,
            other => LoginError::Device(format!(
                "`{}` refused the sign-in: {}",
                endpoints.token,
                crate::output::printable(other.as_ref())
            )),
        },
        oauth2::RequestTokenError::Request(e) => LoginError::Device(e.to_string()),
        oauth2::RequestTokenError::Parse(e, _) => LoginError::Device(format!(
            "`{}` did not answer with a token response ({})",
            endpoints.token,
            e.inner()
        )),
        oauth2::RequestTokenError::Other(text)
            if text.contains("timeout") || text.contains("expired") =>
        {
            LoginError::DeviceCodeExpired
        }
        oauth2::RequestTokenError::Other(text) => LoginError::Device(text),
    })?;
    Ok(Some(oauth::issued(&endpoints.token, response)?))
}
