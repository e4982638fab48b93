//! Token lifecycle: when a ChatGPT access token is due for refresh, refreshing it safely across
//! processes, and revoking the refresh token at logout.
//!
//! Several processes share one store holding a one-time (rotating) refresh token. A refresh
//! therefore happens only under the store lock, after re-reading the store: if another process
//! rotated the tokens meanwhile, those are adopted without a network call. Presenting a used
//! refresh token would make the issuer revoke the whole grant and log everyone out.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use thiserror::Error;

use crate::auth::{AuthDotJson, TokenData};
use crate::config::Config;
use crate::oauth::refresh::{RefreshReason, Refreshed};
use crate::oauth::{self, AuthSettings, Endpoints, TokenFailure};
use crate::secret::Secret;
use crate::store::{Store, StoreError, StoreLock};

/// Refresh when the access token expires within this margin, or within half its lifetime when
/// that is shorter: a token that lives 5 minutes or less (Keycloak's default) would otherwise be
/// due the moment it arrives, and every command would spend a refresh.
pub(crate) const EXPIRY_MARGIN_SECS: i64 = 5 * 60;
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

#[derive(Debug, Error)]
pub enum TokenError {
    #[error("Not logged in. Run `codex login` to sign in.")]
    NotLoggedIn,
    #[error(
        "Not logged in: `{location}` holds no usable credentials ({reason}). Run `codex login` to sign in."
    )]
    Unusable { location: String, reason: String },
    #[error("{}", permanent_text(code, account.as_deref()))]
    Permanent {
        code: String,
        /// The saved account it happened to, when one was named (`--account`).
        account: Option<String>,
    },
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

fn permanent_text(code: &str, account: Option<&str>) -> String {
    match account {
        None => format!(
            "your ChatGPT sign-in can no longer be refreshed ({code}): it expired or was revoked. Run `codex logout` and then `codex login`"
        ),
        Some(name) => format!(
            "the ChatGPT sign-in of account `{name}` can no longer be refreshed ({code}): it expired or was revoked. Sign in to it again with `codex login --account {name}`"
        ),
    }
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

/// The stored credentials, with a ChatGPT access token refreshed first if it is due.
pub async fn fresh(
    config: &Config,
    store: &Store,
    http: &crate::http::Lazy<'_>,
) -> Result<AuthDotJson, TokenError> {
    let doc = load_usable(store)?;
    if !doc.is_chatgpt() || !refresh_due(&doc, chrono::Utc::now().timestamp()) {
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
    store: &Store,
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

fn load_usable(store: &Store) -> Result<AuthDotJson, TokenError> {
    let doc = store.load()?.ok_or(TokenError::NotLoggedIn)?;
    match doc.usability() {
        crate::auth::Usability::Unusable { reason } => Err(TokenError::Unusable {
            location: store.location(),
            reason,
        }),
        crate::auth::Usability::ApiKey { .. }
        | crate::auth::Usability::ChatGpt
        | crate::auth::Usability::AgentIdentity
        | crate::auth::Usability::PersonalAccessToken => Ok(doc),
    }
}

async fn refresh_under_lock(
    config: &Config,
    store: &Store,
    http: &reqwest::Client,
    seen: &AuthDotJson,
    reason: RefreshReason,
) -> Result<AuthDotJson, TokenError> {
    let home = config.codex_home.clone();
    let notify = store.notifier();
    let lock = tokio::task::spawn_blocking(move || StoreLock::acquire(&home, notify.as_ref()))
        .await
        .map_err(|e| {
            StoreError::io(
                "wait for the lock in",
                &config.codex_home,
                std::io::Error::other(e),
            )
        })??;
    let current = load_usable(store)?;
    if !current.is_chatgpt() {
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
    let Some(tokens) = current.tokens.as_ref() else {
        return Ok(current);
    };
    if tokens.refresh_token.expose().is_empty() {
        return Err(TokenError::NoRefreshToken);
    }
    let settings = issuer_of(config, tokens);
    let refreshed = match refresh_with_retries(http, &settings, &tokens.refresh_token, reason).await
    {
        Err(TokenError::Permanent { code, .. }) => {
            store.refresh_refused(&lock, &current, &code);
            return Err(TokenError::Permanent {
                code,
                account: store.account(),
            });
        }
        other => other?,
    };
    let updated = merge(current, refreshed);
    store.save(&lock, &updated)?;
    REFRESHED_IN_THIS_RUN.store(true, Ordering::Relaxed);
    tracing::debug!(reason = reason.as_str(), "refreshed and saved the tokens");
    Ok(updated)
}

/// Refresh and revoke go to the issuer that minted the tokens (`oauth_provenance`).
pub(crate) fn issuer_of(config: &Config, tokens: &TokenData) -> AuthSettings {
    match &tokens.oauth_provenance {
        Some(p) => config
            .auth
            .for_issuer(&p.issuer, &p.client_id, p.protocol.as_ref()),
        None => config.auth.clone(),
    }
}

fn merge(mut doc: AuthDotJson, new: Refreshed) -> AuthDotJson {
    if let Some(tokens) = doc.tokens.as_mut() {
        if let Some(account) = new.claims().and_then(|c| c.account_id) {
            tokens.account_id = Some(account);
        }
        if let Some(id) = new.id_token {
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

/// How a failed refresh attempt is treated.
enum Failure {
    /// The refresh token can never work again.
    Permanent(String),
    /// Worth another attempt.
    Transient(String),
    /// Fails the command now.
    Final(String),
}

fn classify(failure: TokenFailure) -> Failure {
    match failure.code() {
        Some(code) if PERMANENT_CODES.contains(&code) => Failure::Permanent(code.to_string()),
        Some(_) | None if failure.is_transient() => Failure::Transient(failure.to_string()),
        Some(_) | None => Failure::Final(failure.to_string()),
    }
}

async fn refresh_with_retries(
    http: &reqwest::Client,
    settings: &AuthSettings,
    refresh_token: &Secret<String>,
    reason: RefreshReason,
) -> Result<Refreshed, TokenError> {
    let endpoints = Endpoints::resolve(http, settings).await?;
    let mut delay = Duration::from_millis(500);
    let mut attempt = 1;
    loop {
        let failure = match oauth::refresh::refresh(
            http,
            settings,
            &endpoints,
            refresh_token,
            reason,
        )
        .await
        {
            Ok(refreshed) => return Ok(refreshed),
            Err(failure) => classify(failure),
        };
        match failure {
            Failure::Permanent(code) => {
                return Err(TokenError::Permanent {
                    code,
                    account: None,
                });
            }
            Failure::Final(detail) => {
                return Err(TokenError::Failed {
                    url: endpoints.token.clone(),
                    detail,
                });
            }
            Failure::Transient(detail) if attempt == REFRESH_ATTEMPTS => {
                return Err(TokenError::Failed {
                    url: endpoints.token.clone(),
                    detail: format!("{detail} (after {REFRESH_ATTEMPTS} attempts)"),
                });
            }
            Failure::Transient(detail) => {
                tracing::debug!(attempt, %detail, "transient refresh failure; retrying");
                tokio::time::sleep(delay).await;
                delay *= 2;
                attempt += 1;
            }
        }
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
    oauth::refresh::revoke(http, &settings, &endpoints, &tokens.refresh_token).await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc_with(access: &str, last_refresh: Option<&str>) -> AuthDotJson {
        AuthDotJson {
            auth_mode: Some(crate::auth::AuthMode::ChatGpt),
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

    fn refused(status: Option<u16>, code: &str) -> TokenFailure {
        TokenFailure::Refused {
            status,
            code: code.to_string(),
            description: None,
        }
    }

    #[test]
    fn permanent_codes_are_not_retried() {
        assert!(matches!(
            classify(refused(Some(401), "refresh_token_reused")),
            Failure::Permanent(_)
        ));
        assert!(matches!(
            classify(refused(None, "invalid_grant")),
            Failure::Permanent(_)
        ));
        assert!(matches!(
            classify(TokenFailure::Status(503)),
            Failure::Transient(_)
        ));
        assert!(matches!(
            classify(refused(Some(400), "invalid_request")),
            Failure::Final(_)
        ));
    }
}
