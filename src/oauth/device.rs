//! The device endpoints: OpenAI's own device API (not RFC 8628: the server makes the PKCE pair
//! and hands back an authorization code) and RFC 8628 through the `oauth2` crate. What the user
//! is shown and how long the flow waits is `login/device.rs`'s.

use std::future::Future;
use std::time::Duration;

use oauth2::{DeviceAuthorizationUrl, Scope, StandardDeviceAuthorizationResponse};
use serde::Deserialize;

use super::{AuthSettings, Endpoints, OAuthError, TokenFailure, TokenSet};
use crate::secret::Secret;

/// OpenAI's device codes live 15 minutes.
pub const OPENAI_CODE_LIFETIME: Duration = Duration::from_secs(15 * 60);
/// The longest wait for a code to be entered, whatever `expires_in` an issuer sends.
pub const MAX_CODE_LIFETIME: Duration = Duration::from_secs(30 * 60);

/// What the user is shown.
#[derive(Debug, Clone)]
pub struct DeviceCode {
    pub verification_uri: String,
    pub verification_uri_complete: Option<String>,
    pub user_code: String,
    pub expires_in: Duration,
}

/// Why a device sign-in ended without tokens.
#[derive(Debug)]
pub enum DeviceError {
    /// The request failed or the answer was not understood; the text says which and where.
    Failed(String),
    /// The device authorization request was refused: the issuer's answer, read (its error code
    /// decides what a caller can do about it, `invalid_scope` say).
    Refused {
        device_url: String,
        failure: TokenFailure,
    },
    Expired,
    Denied,
    OAuth(OAuthError),
}

impl DeviceError {
    /// What a refused device authorization request is told as.
    pub fn refused_text(device_url: &str, failure: &TokenFailure) -> String {
        format!("`{device_url}` refused the device code request: {failure}")
    }
}

impl From<OAuthError> for DeviceError {
    fn from(e: OAuthError) -> DeviceError {
        DeviceError::OAuth(e)
    }
}

/// OpenAI's device API: the answer with a user code.
#[derive(Deserialize)]
pub struct UserCodeResponse {
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
            .map_err(|_| serde::de::Error::custom("`interval` is not a number")),
    }
}

/// OpenAI's device API: the answer once the code is approved.
#[derive(Deserialize)]
pub struct CodeGrant {
    authorization_code: Secret<String>,
    code_verifier: Secret<String>,
}

/// A device code handed out by OpenAI's device API, to poll for.
pub struct OpenAiGrant {
    pub code: DeviceCode,
    pub interval: Duration,
    device_auth_id: String,
}

/// Asks OpenAI's device API for a user code. `Ok(None)`: device sign-in is not enabled (404).
pub async fn openai_start(
    http: &reqwest::Client,
    settings: &AuthSettings,
    endpoints: &Endpoints,
) -> Result<Option<OpenAiGrant>, DeviceError> {
    let issuer = &settings.issuer;
    let usercode_url = endpoints
        .device_authorization
        .clone()
        .unwrap_or_else(|| format!("{issuer}/api/accounts/deviceauth/usercode"));
    let response = http
        .post(&usercode_url)
        .json(&serde_json::json!({ "client_id": settings.client_id }))
        .send()
        .await
        .map_err(|e| DeviceError::Failed(crate::http::describe(&e)))?;
    match response.status().as_u16() {
        404 => return Ok(None),
        s if !(200..300).contains(&s) => {
            return Err(DeviceError::Failed(format!(
                "`{usercode_url}` answered HTTP {}",
                response.status()
            )));
        }
        _ => {}
    }
    let grant: UserCodeResponse = json_body(response).await.map_err(|e| {
        DeviceError::Failed(format!(
            "`{usercode_url}` did not answer with a device code: {e}"
        ))
    })?;
    Ok(Some(OpenAiGrant {
        code: DeviceCode {
            verification_uri: format!("{issuer}/codex/device"),
            verification_uri_complete: None,
            user_code: grant.user_code,
            expires_in: OPENAI_CODE_LIFETIME,
        },
        interval: Duration::from_secs(grant.interval.unwrap_or(5).max(1)),
        device_auth_id: grant.device_auth_id,
    }))
}

/// A JSON answer, read whole up to `http::BODY_CAP`.
async fn json_body<T: serde::de::DeserializeOwned>(
    response: reqwest::Response,
) -> Result<T, String> {
    let bytes = crate::http::read_body(response)
        .await
        .map_err(|e| e.to_string())?;
    serde_json::from_slice(&bytes).map_err(|e| crate::secret::json_error(&e))
}

/// Polls once. `Ok(None)`: not approved yet (403/404).
pub async fn openai_poll(
    http: &reqwest::Client,
    settings: &AuthSettings,
    endpoints: &Endpoints,
    grant: &OpenAiGrant,
) -> Result<Option<TokenSet>, DeviceError> {
    let issuer = &settings.issuer;
    let poll_url = format!("{issuer}/api/accounts/deviceauth/token");
    let body = serde_json::json!({
        "device_auth_id": grant.device_auth_id,
        "user_code": grant.code.user_code,
    });
    let response = http
        .post(&poll_url)
        .json(&body)
        .send()
        .await
        .map_err(|e| DeviceError::Failed(crate::http::describe(&e)))?;
    let code_grant = match response.status().as_u16() {
        200..=299 => json_body::<CodeGrant>(response).await.map_err(|e| {
            DeviceError::Failed(format!(
                "`{poll_url}` did not answer with an authorization code: {e}"
            ))
        })?,
        403 | 404 => return Ok(None),
        _ => {
            return Err(DeviceError::Failed(format!(
                "`{poll_url}` answered HTTP {}",
                response.status()
            )));
        }
    };
    let tokens = super::exchange_code(
        http,
        settings,
        endpoints,
        code_grant.authorization_code,
        &format!("{issuer}/deviceauth/callback"),
        code_grant.code_verifier,
    )
    .await?;
    Ok(Some(tokens))
}

/// A device authorization of a standard issuer (RFC 8628), to wait on.
pub struct OidcGrant {
    pub code: DeviceCode,
    details: StandardDeviceAuthorizationResponse,
    device_url: String,
}

/// Asks a standard issuer for a device code. `Ok(None)`: it has no device endpoint.
pub async fn oidc_start(
    http: &reqwest::Client,
    settings: &AuthSettings,
    endpoints: &Endpoints,
) -> Result<Option<OidcGrant>, DeviceError> {
    let Some(device_url) = &endpoints.device_authorization else {
        return Ok(None);
    };
    let device = Rfc8628 {
        client_id: &settings.client_id,
        device_url,
        token_url: &endpoints.token,
        scopes: settings.oidc_scopes(),
        resource: None,
    };
    rfc8628_start(http, &device).await.map(Some)
}

/// An RFC 8628 device authorization for a public client, at any issuer: the ChatGPT sign-in's
/// (`oidc_start`) or an MCP server's, whose tokens are for one `resource` (RFC 8707).
pub struct Rfc8628<'a> {
    pub client_id: &'a str,
    pub device_url: &'a str,
    pub token_url: &'a str,
    pub scopes: Vec<String>,
    pub resource: Option<&'a str>,
}

/// Asks `device.device_url` for a device code.
pub async fn rfc8628_start(
    http: &reqwest::Client,
    device: &Rfc8628<'_>,
) -> Result<OidcGrant, DeviceError> {
    let device_url = device.device_url;
    let client = rfc8628_client(device)?;
    let mut request = client
        .exchange_device_code()
        .add_scopes(device.scopes.iter().cloned().map(Scope::new));
    if let Some(resource) = device.resource {
        request = request.add_extra_param("resource", resource);
    }
    let details: StandardDeviceAuthorizationResponse = request
        .request_async(&|r| super::send(http, r))
        .await
        .map_err(|e| match TokenFailure::from_oauth2(e) {
            TokenFailure::Transport(detail) => DeviceError::Failed(detail),
            failure => DeviceError::Refused {
                device_url: device_url.to_string(),
                failure,
            },
        })?;
    Ok(OidcGrant {
        code: DeviceCode {
            verification_uri: details.verification_uri().to_string(),
            verification_uri_complete: details
                .verification_uri_complete()
                .map(|u| u.secret().to_string()),
            user_code: details.user_code().secret().clone(),
            expires_in: details.expires_in().min(MAX_CODE_LIFETIME),
        },
        details,
        device_url: device_url.to_string(),
    })
}

fn rfc8628_client(
    device: &Rfc8628<'_>,
) -> Result<super::Client<oauth2::EndpointNotSet, oauth2::EndpointSet>, DeviceError> {
    Ok(
        super::client_for(device.client_id, device.token_url)?.set_device_authorization_url(
            DeviceAuthorizationUrl::new(device.device_url.to_string())
                .map_err(|_| OAuthError::BadEndpoint(device.device_url.to_string()))?,
        ),
    )
}

/// Polls until the code is approved, declined or expired; `oauth2` handles
/// `authorization_pending` and `slow_down` (+5 s each time). `sleep` is called between polls.
pub async fn oidc_wait<S, F>(
    http: &reqwest::Client,
    settings: &AuthSettings,
    endpoints: &Endpoints,
    grant: &OidcGrant,
    sleep: S,
) -> Result<TokenSet, DeviceError>
where
    S: Fn(Duration) -> F,
    F: Future<Output = ()>,
{
    let device = Rfc8628 {
        client_id: &settings.client_id,
        device_url: &grant.device_url,
        token_url: &endpoints.token,
        scopes: Vec::new(),
        resource: None,
    };
    let response = rfc8628_wait(http, &device, grant, sleep).await?;
    Ok(super::issued(&endpoints.token, response)?)
}

/// Polls `device.token_url` until the code is approved, declined or expired; the token
/// endpoint's answer as it came.
pub async fn rfc8628_wait<S, F>(
    http: &reqwest::Client,
    device: &Rfc8628<'_>,
    grant: &OidcGrant,
    sleep: S,
) -> Result<super::TokenResponseWithId, DeviceError>
where
    S: Fn(Duration) -> F,
    F: Future<Output = ()>,
{
    let token_url = device.token_url;
    let client = rfc8628_client(device)?;
    let mut request = client.exchange_device_access_token(&grant.details);
    if let Some(resource) = device.resource {
        request = request.add_extra_param("resource", resource);
    }
    request
        .request_async(&|r| super::send(http, r), sleep, None)
        .await
        .map_err(|e| match TokenFailure::from_oauth2(e) {
            TokenFailure::Refused { code, .. } if code == "access_denied" => DeviceError::Denied,
            TokenFailure::Refused { code, .. } if code == "expired_token" => DeviceError::Expired,
            TokenFailure::Other(text) if text.contains("timeout") || text.contains("expired") => {
                DeviceError::Expired
            }
            TokenFailure::Transport(detail) => DeviceError::Failed(detail),
            TokenFailure::BadResponse(detail) => DeviceError::Failed(format!(
                "`{token_url}` did not answer with a token response ({detail})"
            )),
            other => DeviceError::Failed(format!("`{token_url}` refused the sign-in: {other}")),
        })
}
