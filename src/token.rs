//! Token lifecycle: when a ChatGPT access token is due for refresh, refreshing it safely across
//! processes, and revoking the refresh token at logout.
//!
//! Several processes share one store holding a one-time (rotating) refresh token. A refresh
//! therefore happens only under the store lock, after re-reading the store: if another process
//! rotated the tokens meanwhile, those are adopted without a network call. Presenting a used
//! refresh token would make the issuer revoke the whole grant and log everyone out.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::Deserialize;
use thiserror::Error;

use crate::auth::{AuthDotJson, AuthMode, TokenData};
use crate::config::{AuthSettings, Config, Protocol};
use crate::login::oauth::{self, Endpoints, TokenHttpError};
use crate::secret::Secret;
use crate::store::{CredentialStore, StoreError, StoreLock};

/// Refresh when the access token expires within this margin, or within half its lifetime when
/// that is shorter: a token that lives 5 minutes or less (Keycloak's default) would otherwise be
/// due the moment it arrives, and every command would spend a refresh.
const EXPIRY_MARGIN_SECS: i64 = 5 * 60;
/// Without an `exp` claim, refresh this long after `last_refresh`.
const REFRESH_AFTER_SECS: i64 = 8 * 24 * 3600;
/// Attempts of one refresh when the failure is transient (5xx, timeout, reset).
const REFRESH_ATTEMPTS: u32 = 3;
const REVOKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Error codes after which the refresh token can never work again.
const PERMANENT_CODES: &[&str] = &[
    "refresh_token_expired",
    "refresh_token_reused",
    "refresh_token_invalidated",
    "invalid_grant",
];

/// Set once this process has refreshed: a second refresh in the same command would only burn a
/// refresh token (an issuer minting short-lived tokens must not make us refresh in a loop).
static REFRESHED_IN_THIS_RUN: AtomicBool = AtomicBool::new(false);

/// Why a refresh happens (sent as `refresh_reason` by the "openai" protocol).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshReason {
    ProactiveExpiry,
    UnauthorizedRecovery,
}

impl RefreshReason {
    fn as_str(self) -> &'static str {
        match self {
            RefreshReason::ProactiveExpiry => "proactive_expiry",
            RefreshReason::UnauthorizedRecovery => "unauthorized_recovery",
        }
    }
}

#[derive(Debug, Error)]
pub enum TokenError {
    #[error("Not logged in. Run `codex login` to sign in.")]
    NotLoggedIn,
    #[error(
        "Not logged in: `{location}` holds no usable credentials ({reason}). Run `codex login` to sign in."
    )]
    Unusable { location: String, reason: String },
    #[error(
        "your ChatGPT sign-in can no longer be refreshed ({code}): it expired or was revoked. Run `codex logout` and then `codex login`"
    )]
    Permanent { code: String },
    /// `detail` may hold the issuer's text, made printable (`output::printable`).
    #[error("refreshing the ChatGPT access token at `{url}` failed: {detail}")]
    Failed { url: String, detail: String },
    #[error("the stored ChatGPT sign-in has no refresh token; run `codex login` again")]
    NoRefreshToken,
    /// The stored credential holds a line break, NUL or other control character: no header can
    /// carry it, and sent without it a request would go out unauthenticated.
    #[error(
        "the {what} stored in `{location}` contains a control character (a line break, NUL or similar), so it cannot be sent; {}",
        if *what == "API key" { "sign in again: printenv OPENAI_API_KEY | codex login --api-key -" } else { "sign in again: codex login" }
    )]
    Unsendable {
        what: &'static str,
        location: String,
    },
    #[error(transparent)]
    OAuth(#[from] oauth::OAuthError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Http(#[from] crate::http::HttpError),
}

/// Whether the access token should be refreshed before use.
pub fn refresh_due(doc: &AuthDotJson, now: i64) -> bool {
    let Some(tokens) = &doc.tokens else {
        return false;
    };
    let access = tokens.access_token.expose();
    if let Some(exp) = crate::jwt::expires_at(access) {
        let margin = match crate::jwt::issued_at(access) {
            Some(iat) if iat < exp => EXPIRY_MARGIN_SECS.min(exp.saturating_sub(iat) / 2),
            Some(_) | None => EXPIRY_MARGIN_SECS,
        };
        return exp.saturating_sub(now) < margin;
    }
    match doc
        .last_refresh
        .as_deref()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
    {
        Some(last) => now.saturating_sub(last.timestamp()) >= REFRESH_AFTER_SECS,
        None => true,
    }
}

fn is_chatgpt(doc: &AuthDotJson) -> bool {
    matches!(
        doc.mode(),
        Ok(AuthMode::ChatGpt | AuthMode::ChatGptExternalTokens)
    ) && doc.tokens.is_some()
}

/// The stored credentials, with a ChatGPT access token refreshed first if it is due.
pub async fn fresh(
    config: &Config,
    store: &dyn CredentialStore,
    http: &crate::http::Lazy<'_>,
) -> Result<AuthDotJson, TokenError> {
    let doc = load_usable(store)?;
    if !is_chatgpt(&doc) || !refresh_due(&doc, chrono::Utc::now().timestamp()) {
        return Ok(doc);
    }
    refresh_under_lock(
        config,
        store,
        http.get()?,
        &doc,
        RefreshReason::ProactiveExpiry,
    )
    .await
}

/// After the model API answered 401 to `used`: adopt tokens another process stored since, or
/// refresh once.
pub async fn recover_from_unauthorized(
    config: &Config,
    store: &dyn CredentialStore,
    http: &reqwest::Client,
    used: &AuthDotJson,
) -> Result<AuthDotJson, TokenError> {
    refresh_under_lock(
        config,
        store,
        http,
        used,
        RefreshReason::UnauthorizedRecovery,
    )
    .await
}

fn load_usable(store: &dyn CredentialStore) -> Result<AuthDotJson, TokenError> {
    let doc = store.load()?.ok_or(TokenError::NotLoggedIn)?;
    match doc.usability() {
        crate::auth::Usability::Unusable { reason } => Err(TokenError::Unusable {
            location: store.location(),
            reason,
        }),
        crate::auth::Usability::ApiKey { .. }
        | crate::auth::Usability::ChatGpt
        | crate::auth::Usability::AgentIdentity => Ok(doc),
    }
}

async fn refresh_under_lock(
    config: &Config,
    store: &dyn CredentialStore,
    http: &reqwest::Client,
    seen: &AuthDotJson,
    reason: RefreshReason,
) -> Result<AuthDotJson, TokenError> {
    let home = config.codex_home.clone();
    let lock = tokio::task::spawn_blocking(move || StoreLock::acquire(&home))
        .await
        .expect("the lock task does not panic")?;
    let current = load_usable(store)?;
    if !is_chatgpt(&current) {
        return Ok(current);
    }
    let token_of = |d: &AuthDotJson| {
        d.tokens.as_ref().map(|t| {
            (
                t.access_token.expose().clone(),
                t.refresh_token.expose().clone(),
            )
        })
    };
    if token_of(&current) != token_of(seen) {
        tracing::debug!("another process refreshed the tokens; using them");
        return Ok(current);
    }
    let still_fresh = reason == RefreshReason::ProactiveExpiry
        && !refresh_due(&current, chrono::Utc::now().timestamp());
    // At most one refresh per command: a token minted in this run is used as it is.
    if still_fresh || REFRESHED_IN_THIS_RUN.load(Ordering::Relaxed) {
        return Ok(current);
    }
    let tokens = current.tokens.as_ref().expect("checked by is_chatgpt");
    if tokens.refresh_token.expose().is_empty() {
        return Err(TokenError::NoRefreshToken);
    }
    let settings = issuer_of(config, tokens);
    let refreshed = refresh_with_retries(http, &settings, &tokens.refresh_token, reason).await?;
    let updated = merge(current, refreshed);
    store.save(&lock, &updated)?;
    REFRESHED_IN_THIS_RUN.store(true, Ordering::Relaxed);
    tracing::debug!(reason = reason.as_str(), "refreshed and saved the tokens");
    Ok(updated)
}

/// Refresh and revoke go to the issuer that minted the tokens (`oauth_provenance`).
fn issuer_of(config: &Config, tokens: &TokenData) -> AuthSettings {
    match &tokens.oauth_provenance {
        Some(p) => {
            let mut settings = config.auth.for_issuer(&p.issuer, &p.client_id);
            match p.protocol.as_deref() {
                Some("openai") => settings.protocol = Protocol::OpenAi,
                Some("oidc") => settings.protocol = Protocol::Oidc,
                Some(_) | None => {}
            }
            settings
        }
        None => config.auth.clone(),
    }
}

/// What a refresh response carries; every field is optional.
#[derive(Debug, Default, Deserialize)]
struct Refreshed {
    #[serde(default)]
    id_token: Option<Secret<String>>,
    #[serde(default)]
    access_token: Option<Secret<String>>,
    #[serde(default)]
    refresh_token: Option<Secret<String>>,
}

fn merge(mut doc: AuthDotJson, new: Refreshed) -> AuthDotJson {
    if let Some(tokens) = doc.tokens.as_mut() {
        if let Some(id) = new.id_token {
            if let Some(account) = crate::jwt::id_claims(id.expose()).account_id {
                tokens.account_id = Some(account);
            }
            tokens.id_token = id;
        }
        if let Some(access) = new.access_token {
            tokens.access_token = access;
        }
        if let Some(refresh) = new.refresh_token {
            tokens.refresh_token = refresh;
        }
    }
    doc.last_refresh = Some(oauth::now_rfc3339());
    doc
}

enum Failure {
    Permanent(String),
    Transient(String),
    Final(String),
}

async fn refresh_with_retries(
    http: &reqwest::Client,
    settings: &AuthSettings,
    refresh_token: &Secret<String>,
    reason: RefreshReason,
) -> Result<Refreshed, TokenError> {
    let endpoints = Endpoints::resolve(http, settings).await?;
    let mut delay = Duration::from_millis(500);
    for attempt in 1..=REFRESH_ATTEMPTS {
        let failure = match settings.protocol {
            Protocol::OpenAi => {
                refresh_openai(http, settings, &endpoints, refresh_token, reason).await
            }
            Protocol::Oidc => refresh_oidc(http, settings, &endpoints, refresh_token).await,
        };
        match failure {
            Ok(refreshed) => return Ok(refreshed),
            Err(Failure::Permanent(code)) => return Err(TokenError::Permanent { code }),
            Err(Failure::Final(detail)) => {
                return Err(TokenError::Failed {
                    url: endpoints.token.clone(),
                    detail,
                });
            }
            Err(Failure::Transient(detail)) if attempt == REFRESH_ATTEMPTS => {
                return Err(TokenError::Failed {
                    url: endpoints.token.clone(),
                    detail: format!("{detail} (after {REFRESH_ATTEMPTS} attempts)"),
                });
            }
            Err(Failure::Transient(detail)) => {
                tracing::debug!(attempt, %detail, "transient refresh failure; retrying");
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
        }
    }
    unreachable!("the loop returns on its last attempt")
}

fn classify(status: u16, code: Option<String>) -> Failure {
    // The code is the issuer's text: shown with control characters escaped.
    let code = code.map(|c| crate::output::printable(&c).into_owned());
    match code {
        Some(code) if PERMANENT_CODES.contains(&code.as_str()) => Failure::Permanent(code),
        code => {
            let text = match &code {
                Some(c) => format!("HTTP {status} ({c})"),
                None => format!("HTTP {status}"),
            };
            if status >= 500 || status == 429 {
                Failure::Transient(text)
            } else {
                Failure::Final(text)
            }
        }
    }
}

/// The "openai" protocol: a JSON body with `refresh_reason`.
async fn refresh_openai(
    http: &reqwest::Client,
    settings: &AuthSettings,
    endpoints: &Endpoints,
    refresh_token: &Secret<String>,
    reason: RefreshReason,
) -> Result<Refreshed, Failure> {
    let body = serde_json::json!({
        "client_id": settings.client_id,
        "grant_type": "refresh_token",
        "refresh_reason": reason.as_str(),
        "refresh_token": refresh_token.expose(),
    });
    let response = http
        .post(&endpoints.token)
        .json(&body)
        .send()
        .await
        .map_err(|e| Failure::Transient(crate::http::describe(&e)))?;
    let status = response.status().as_u16();
    let bytes = crate::http::read_body(response)
        .await
        .map_err(|e| match e {
            crate::http::BodyError::Transport(e) => Failure::Transient(crate::http::describe(&e)),
            too_large @ crate::http::BodyError::TooLarge { .. } => {
                Failure::Final(too_large.to_string())
            }
        })?;
    if !(200..300).contains(&status) {
        return Err(classify(status, oauth::error_code(&bytes)));
    }
    serde_json::from_slice(&bytes)
        .map_err(|e| Failure::Final(format!("the answer is not a token response ({e})")))
}

/// Standard issuers: RFC 6749 section 6, form-encoded, through the `oauth2` crate.
async fn refresh_oidc(
    http: &reqwest::Client,
    settings: &AuthSettings,
    endpoints: &Endpoints,
    refresh_token: &Secret<String>,
) -> Result<Refreshed, Failure> {
    let client = oauth::client(settings, endpoints).map_err(|e| Failure::Final(e.to_string()))?;
    let token = oauth2::RefreshToken::new(refresh_token.expose().clone());
    let result = client
        .exchange_refresh_token(&token)
        .request_async(&|request| oauth::send(http, request))
        .await;
    match result {
        Ok(response) => {
            use oauth2::TokenResponse;
            Ok(Refreshed {
                id_token: response.extra_fields().id_token.clone().map(Secret::new),
                access_token: Some(Secret::new(response.access_token().secret().clone())),
                refresh_token: response
                    .refresh_token()
                    .map(|t| Secret::new(t.secret().clone())),
            })
        }
        Err(oauth2::RequestTokenError::ServerResponse(e)) => {
            let code = e.error().to_string();
            Err(classify(400, Some(code)))
        }
        Err(oauth2::RequestTokenError::Request(TokenHttpError::Status { status, code })) => {
            Err(classify(status, code))
        }
        Err(oauth2::RequestTokenError::Request(e)) => Err(Failure::Transient(e.to_string())),
        Err(oauth2::RequestTokenError::Parse(e, _)) => Err(Failure::Final(format!(
            "the answer is not a token response ({})",
            e.inner()
        ))),
        Err(oauth2::RequestTokenError::Other(text)) => Err(Failure::Final(text)),
    }
}

/// Revokes the refresh token of `doc` at its issuer (best effort). `Ok(false)` when there was
/// nothing to revoke.
pub async fn revoke(
    config: &Config,
    http: &reqwest::Client,
    doc: &AuthDotJson,
) -> Result<bool, String> {
    tokio::time::timeout(REVOKE_TIMEOUT, revoke_now(config, http, doc))
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {} s", REVOKE_TIMEOUT.as_secs())))
}

async fn revoke_now(
    config: &Config,
    http: &reqwest::Client,
    doc: &AuthDotJson,
) -> Result<bool, String> {
    let Some(tokens) = doc
        .tokens
        .as_ref()
        .filter(|t| !t.refresh_token.expose().is_empty())
    else {
        return Ok(false);
    };
    let settings = issuer_of(config, tokens);
    let endpoints = Endpoints::resolve(http, &settings)
        .await
        .map_err(|e| e.to_string())?;
    let Some(url) = endpoints.revocation else {
        return Err(format!("`{}` has no revocation endpoint", settings.issuer));
    };
    let token = tokens.refresh_token.expose().as_str();
    let request = match settings.protocol {
        Protocol::OpenAi => http.post(&url).json(&serde_json::json!({
            "token": token,
            "token_type_hint": "refresh_token",
            "client_id": settings.client_id,
        })),
        Protocol::Oidc => http.post(&url).form(&[
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
        Ok(true)
    } else {
        Err(format!("`{url}` answered HTTP {status}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc_with(access: &str, last_refresh: Option<&str>) -> AuthDotJson {
        AuthDotJson {
            auth_mode: Some("chatgpt".into()),
            tokens: Some(TokenData {
                access_token: Secret::new(access.to_string()),
                ..TokenData::default()
            }),
            last_refresh: last_refresh.map(str::to_string),
            ..AuthDotJson::default()
        }
    }

    fn jwt_exp(exp: i64) -> String {
        use base64::Engine;
        let enc = |s: String| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        format!(
            "{}.{}.s",
            enc("{}".into()),
            enc(format!("{{\"exp\":{exp}}}"))
        )
    }

    fn jwt_iat_exp(iat: i64, exp: i64) -> String {
        use base64::Engine;
        let enc = |s: String| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        format!(
            "{}.{}.s",
            enc("{}".into()),
            enc(format!("{{\"iat\":{iat},\"exp\":{exp}}}"))
        )
    }

    #[test]
    fn short_lived_tokens_are_due_in_the_second_half_of_their_life() {
        let now = 1_000_000;
        // 2 minutes: due with less than 1 minute left.
        assert!(!refresh_due(
            &doc_with(&jwt_iat_exp(now, now + 120), None),
            now
        ));
        assert!(!refresh_due(
            &doc_with(&jwt_iat_exp(now - 59, now + 61), None),
            now
        ));
        assert!(refresh_due(
            &doc_with(&jwt_iat_exp(now - 61, now + 59), None),
            now
        ));
        // An hour: due with less than 5 minutes left, as before.
        assert!(!refresh_due(
            &doc_with(&jwt_iat_exp(now - 3000, now + 301), None),
            now
        ));
        assert!(refresh_due(
            &doc_with(&jwt_iat_exp(now - 3000, now + 299), None),
            now
        ));
        // A nonsense iat falls back to 5 minutes.
        assert!(refresh_due(
            &doc_with(&jwt_iat_exp(now + 500, now + 200), None),
            now
        ));
    }

    #[test]
    fn due_within_five_minutes_of_exp() {
        let now = 1_000_000;
        assert!(refresh_due(&doc_with(&jwt_exp(now + 299), None), now));
        assert!(!refresh_due(&doc_with(&jwt_exp(now + 301), None), now));
        assert!(refresh_due(&doc_with(&jwt_exp(now - 10), None), now));
    }

    #[test]
    fn without_exp_due_eight_days_after_last_refresh() {
        let last = "2026-01-01T00:00:00Z";
        let t = chrono::DateTime::parse_from_rfc3339(last)
            .unwrap()
            .timestamp();
        assert!(!refresh_due(
            &doc_with("opaque", Some(last)),
            t + 8 * 86_400 - 1
        ));
        assert!(refresh_due(&doc_with("opaque", Some(last)), t + 8 * 86_400));
    }

    #[test]
    fn permanent_codes_are_not_retried() {
        assert!(matches!(
            classify(401, Some("refresh_token_reused".into())),
            Failure::Permanent(_)
        ));
        assert!(matches!(
            classify(400, Some("invalid_grant".into())),
            Failure::Permanent(_)
        ));
        assert!(matches!(classify(503, None), Failure::Transient(_)));
        assert!(matches!(
            classify(400, Some("invalid_request".into())),
            Failure::Final(_)
        ));
    }
}
