//! Refresh (RFC 6749 section 6) and revoke (RFC 7009) at the issuer, in its protocol: the
//! "openai" protocol sends JSON bodies (a refresh carries `refresh_reason`), standard issuers get
//! form bodies. One request each; when to refresh, retries and the lock are `token.rs`'s.

use oauth2::TokenResponse;

use super::{AuthSettings, Endpoints, Protocol, TokenFailure};
use crate::secret::Secret;

/// Why a refresh happens (sent as `refresh_reason` by the "openai" protocol).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshReason {
    ProactiveExpiry,
    UnauthorizedRecovery,
}

impl RefreshReason {
    pub fn as_str(self) -> &'static str {
        match self {
            RefreshReason::ProactiveExpiry => "proactive_expiry",
            RefreshReason::UnauthorizedRecovery => "unauthorized_recovery",
        }
    }
}

/// What a refresh answer carries: every token is optional (an issuer may keep the refresh token,
/// and the OpenAI issuer may omit the ID token).
#[derive(Debug, Default, serde::Deserialize)]
pub struct Refreshed {
    #[serde(default)]
    pub id_token: Option<Secret<String>>,
    #[serde(default)]
    pub access_token: Option<Secret<String>>,
    #[serde(default)]
    pub refresh_token: Option<Secret<String>>,
}

/// One refresh request to `endpoints.token`.
pub async fn refresh(
    http: &reqwest::Client,
    settings: &AuthSettings,
    endpoints: &Endpoints,
    refresh_token: &Secret<String>,
    reason: RefreshReason,
) -> Result<Refreshed, TokenFailure> {
    match settings.protocol {
        Protocol::OpenAi => refresh_openai(http, settings, endpoints, refresh_token, reason).await,
        Protocol::Oidc => refresh_oidc(http, settings, endpoints, refresh_token).await,
    }
}

/// The "openai" protocol: a JSON body with `refresh_reason`.
async fn refresh_openai(
    http: &reqwest::Client,
    settings: &AuthSettings,
    endpoints: &Endpoints,
    refresh_token: &Secret<String>,
    reason: RefreshReason,
) -> Result<Refreshed, TokenFailure> {
    let body = serde_json::json!({
        "client_id": settings.client_id,
        "grant_type": "refresh_token",
        "refresh_reason": reason.as_str(),
        "refresh_token": refresh_token.expose(),
    });
    let transport = |e: reqwest::Error| TokenFailure::Transport(crate::http::describe(&e));
    let response = http
        .post(&endpoints.token)
        .json(&body)
        .send()
        .await
        .map_err(transport)?;
    let status = response.status().as_u16();
    let bytes = super::read_token_body(response).await?;
    read_openai_answer(status, &bytes)
}

/// The "openai" protocol's answer to a refresh: the new tokens, or why there are none.
pub fn read_openai_answer(status: u16, bytes: &[u8]) -> Result<Refreshed, TokenFailure> {
    if !(200..300).contains(&status) {
        return Err(match super::error_code(bytes) {
            Some(code) => TokenFailure::Refused {
                status: Some(status),
                code,
                description: None,
            },
            None => TokenFailure::Status(status),
        });
    }
    serde_json::from_slice(bytes)
        .map_err(|e| TokenFailure::BadResponse(crate::secret::json_error(&e)))
}

/// Standard issuers: form-encoded, through the `oauth2` crate.
async fn refresh_oidc(
    http: &reqwest::Client,
    settings: &AuthSettings,
    endpoints: &Endpoints,
    refresh_token: &Secret<String>,
) -> Result<Refreshed, TokenFailure> {
    let client =
        super::client(settings, endpoints).map_err(|e| TokenFailure::BadResponse(e.to_string()))?;
    let token = oauth2::RefreshToken::new(refresh_token.expose().clone());
    let response = client
        .exchange_refresh_token(&token)
        .request_async(&|request| super::send(http, request))
        .await
        .map_err(TokenFailure::from_oauth2)?;
    Ok(Refreshed {
        id_token: response.extra_fields().id_token.clone().map(Secret::new),
        access_token: Some(Secret::new(response.access_token().secret().clone())),
        refresh_token: response
            .refresh_token()
            .map(|t| Secret::new(t.secret().clone())),
    })
}

impl Refreshed {
    /// The claims of the new ID token, decoded once, if one came.
    pub fn claims(&self) -> Option<crate::jwt::IdClaims> {
        self.id_token
            .as_ref()
            .map(|t| crate::jwt::id_claims(t.expose()))
    }
}

/// Revokes `refresh_token` at the issuer's revocation endpoint. `Err` says why it was not.
pub async fn revoke(
    http: &reqwest::Client,
    settings: &AuthSettings,
    endpoints: &Endpoints,
    refresh_token: &Secret<String>,
) -> Result<(), String> {
    let Some(url) = &endpoints.revocation else {
        return Err(format!("`{}` has no revocation endpoint", settings.issuer));
    };
    let token = refresh_token.expose().as_str();
    let request = match settings.protocol {
        Protocol::OpenAi => http.post(url).json(&serde_json::json!({
            "token": token,
            "token_type_hint": "refresh_token",
            "client_id": settings.client_id,
        })),
        Protocol::Oidc => http.post(url).form(&[
            ("token", token),
            ("token_type_hint", "refresh_token"),
            ("client_id", settings.client_id.as_str()),
        ]),
    };
    let response = request
        .send()
        .await
        .map_err(|e| crate::http::describe(&e))?;
    let status = response.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("`{url}` answered HTTP {status}"))
    }
}
