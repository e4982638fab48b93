//! Token lifecycle: when a ChatGPT access token is due for refresh, refreshing it safely across
//! processes, and revoking the refresh token at logout.
//!
//! Several processes share one store holding a one-time (rotating) refresh token. A refresh
//! therefore happens only under the store lock, after re-reading the store: if another process
//! rotated the tokens meanwhile, those are adopted without a network call. Presenting a used
//! refresh token would make the issuer revoke the whole grant and log everyone out.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use thiserror::Error;

use crate::accounts::Session;
use crate::auth::{AuthDotJson, TokenData};
use crate::config::Config;
use crate::oauth::refresh::{RefreshReason, Refreshed};
use crate::oauth::{self, AuthSettings, Endpoints, TokenFailure};
use crate::secret::Secret;
use crate::shield::Shield;
use crate::store::{StoreError, StoreLock};

/// Refresh when the access token expires within this margin, or within half its lifetime when
/// that is shorter: a token that lives 5 minutes or less (Keycloak's default) would otherwise be
/// due the moment it arrives, and every command would spend a refresh.
const EXPIRY_MARGIN_MS: i64 = 5 * 60 * 1000;
/// The margin is never shorter than this: half the lifetime of a token that lives a second or
/// two is next to nothing, and a token handed out a moment before its `exp` is refused by the
/// time it is sent.
const MIN_MARGIN_MS: i64 = 5 * 1000;
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
        /// The saved account the sign-in belongs to, when there is one.
        account: Option<String>,
    },
    #[error("refreshing the ChatGPT access token at `{url}` failed: {detail}")]
    Failed { url: String, detail: String },
    #[error(
        "the ChatGPT access token is expired even after a refresh (it expired at {exp}; this computer's clock says {now}): check this computer's clock (`codex doctor` compares it with a server's), then try again"
    )]
    ExpiredAfterRefresh { exp: String, now: String },
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

/// Whether the access token should be refreshed before use. Compared in milliseconds: at `exp`
/// a token is expired (RFC 7519), not a second later.
pub fn refresh_due(doc: &AuthDotJson, now: DateTime<Utc>) -> bool {
    let Some(tokens) = &doc.tokens else {
        return false;
    };
    if let Some(soon) = expires_soon(tokens.access_token.expose(), now.timestamp_millis()) {
        return soon;
    }
    match doc
        .last_refresh
        .as_deref()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
    {
        Some(last) => now.timestamp().saturating_sub(last.timestamp()) >= REFRESH_AFTER_SECS,
        None => true,
    }
}

/// Whether a JWT access token expires within the refresh margin at `now_ms` (milliseconds):
/// within 5 minutes, or half its lifetime when that is shorter, but never less than 5 s. `None`
/// when it has no `exp`. Shared by every token this program caches.
pub fn expires_soon(token: &str, now_ms: i64) -> Option<bool> {
    let exp = crate::jwt::expires_at_ms(token)?;
    let margin = match crate::jwt::issued_at_ms(token) {
        Some(iat) if iat < exp => EXPIRY_MARGIN_MS.min(exp.saturating_sub(iat) / 2),
        Some(_) | None => EXPIRY_MARGIN_MS,
    };
    Some(exp.saturating_sub(now_ms) < margin.max(MIN_MARGIN_MS))
}

/// When the access token of `doc` has expired (its `exp` is now or past): that `exp`, in ms.
fn expired(doc: &AuthDotJson, now: DateTime<Utc>) -> Option<i64> {
    let exp = crate::jwt::expires_at_ms(doc.tokens.as_ref()?.access_token.expose())?;
    (exp <= now.timestamp_millis()).then_some(exp)
}

/// The stored credentials, with a ChatGPT access token refreshed first if it is due.
pub async fn fresh(
    config: &Config,
    session: &Session,
    http: &crate::http::Lazy<'_>,
) -> Result<AuthDotJson, TokenError> {
    let doc = load_usable(session)?;
    // A read-only run (`codex doctor`) uses the tokens as they are: it never starts a refresh
    // here, where its deadline could cut one short (its one `--refresh` goes its own way).
    if config.read_only || !doc.is_chatgpt() || !refresh_due(&doc, Utc::now()) {
        return Ok(doc);
    }
    let doc = refresh_under_lock(
        config,
        session,
        http.get()?,
        &doc,
        RefreshReason::ProactiveExpiry,
    )
    .await?;
    // What a refresh left expired (the issuer's clock or ours is off, or this run refreshed
    // already) is never handed out: the server would only refuse it.
    let now = Utc::now();
    match expired(&doc, now) {
        Some(exp) if doc.is_chatgpt() => Err(TokenError::ExpiredAfterRefresh {
            exp: crate::jwt::rfc3339(exp.div_euclid(1000)),
            now: now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        }),
        Some(_) | None => Ok(doc),
    }
}

/// After the model API answered 401 to `used`: adopt tokens another process stored since, or
/// refresh once.
pub async fn recover_from_unauthorized(
    config: &Config,
    session: &Session,
    http: &reqwest::Client,
    used: &AuthDotJson,
) -> Result<AuthDotJson, TokenError> {
    refresh_under_lock(
        config,
        session,
        http,
        used,
        RefreshReason::UnauthorizedRecovery,
    )
    .await
}

fn load_usable(session: &Session) -> Result<AuthDotJson, TokenError> {
    let doc = session.load()?.ok_or(TokenError::NotLoggedIn)?;
    match doc.usability() {
        crate::auth::Usability::Unusable { reason } => Err(TokenError::Unusable {
            location: session.location(),
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
    session: &Session,
    http: &reqwest::Client,
    seen: &AuthDotJson,
    reason: RefreshReason,
) -> Result<AuthDotJson, TokenError> {
    let home = config.codex_home.clone();
    let notify = session.notifier();
    let lock = tokio::task::spawn_blocking(move || StoreLock::acquire(&home, notify.as_ref()))
        .await
        .map_err(|e| {
            StoreError::io(
                "wait for the lock in",
                &config.codex_home,
                std::io::Error::other(e),
            )
        })??;
    let current = load_usable(session)?;
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
    let still_fresh =
        reason == RefreshReason::ProactiveExpiry && !refresh_due(&current, Utc::now());
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
    let endpoints = Endpoints::resolve(http, &settings).await?;
    // From the first request on, the issuer may rotate the refresh token: Ctrl-C and other
    // signals wait until what it returns is saved (see `shield`). Callers await this to the end
    // (no deadline or `select!` around it); its own waits are bounded: `REFRESH_ATTEMPTS`
    // requests, each within the HTTP client's request timeout, and the store's save.
    let shield = Shield::hold();
    let refreshed = match refresh_with_retries(
        http,
        &settings,
        &endpoints,
        &tokens.refresh_token,
        reason,
    )
    .await
    {
        // Advice names the saved account the sign-in belongs to (named for this run, or the
        // active one): `codex logout` would drop it from the saved accounts.
        Err(TokenError::Permanent { code, .. }) => {
            let account = session.refresh_refused(&lock, &current, &code);
            return Err(TokenError::Permanent { code, account });
        }
        other => other?,
    };
    let updated = merge(current, refreshed);
    session.save(&lock, &updated)?;
    drop(shield);
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
    endpoints: &Endpoints,
    refresh_token: &Secret<String>,
    reason: RefreshReason,
) -> Result<Refreshed, TokenError> {
    let mut delay = Duration::from_millis(500);
    let mut attempt = 1;
    loop {
        let failure =
            match oauth::refresh::refresh(http, settings, endpoints, refresh_token, reason).await {
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

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).unwrap()
    }

    #[test]
    fn at_exp_a_token_is_due_and_short_lives_get_a_floor() {
        let exp = 1_000_000;
        let one_second = doc_with(&jwt_iat_exp(exp - 1, exp), None);
        let just_after = DateTime::from_timestamp(exp, 300_000_000).unwrap();
        assert!(refresh_due(&one_second, just_after));
        assert_eq!(expired(&one_second, just_after), Some(exp * 1000));
        assert_eq!(expired(&one_second, at(exp - 1)), None);
        // Half of 6 s is 3 s, less than the floor: due with 5 s left.
        let six_seconds = doc_with(&jwt_iat_exp(exp - 6, exp), None);
        assert!(refresh_due(&six_seconds, at(exp - 4)));
        assert!(!refresh_due(&six_seconds, at(exp - 6)));
    }

    #[test]
    fn short_lived_tokens_are_due_in_the_second_half_of_their_life() {
        let now = 1_000_000;
        // 2 minutes: due with less than 1 minute left.
        assert!(!refresh_due(
            &doc_with(&jwt_iat_exp(now, now + 120), None),
            at(now)
        ));
        assert!(!refresh_due(
            &doc_with(&jwt_iat_exp(now - 59, now + 61), None),
            at(now)
        ));
        assert!(refresh_due(
            &doc_with(&jwt_iat_exp(now - 61, now + 59), None),
            at(now)
        ));
        // An hour: due with less than 5 minutes left, as before.
        assert!(!refresh_due(
            &doc_with(&jwt_iat_exp(now - 3000, now + 301), None),
            at(now)
        ));
        assert!(refresh_due(
            &doc_with(&jwt_iat_exp(now - 3000, now + 299), None),
            at(now)
        ));
        // A nonsense iat falls back to 5 minutes.
        assert!(refresh_due(
            &doc_with(&jwt_iat_exp(now + 500, now + 200), None),
            at(now)
        ));
    }

    #[test]
    fn due_within_five_minutes_of_exp() {
        let now = 1_000_000;
        assert!(refresh_due(&doc_with(&jwt_exp(now + 299), None), at(now)));
        assert!(!refresh_due(&doc_with(&jwt_exp(now + 301), None), at(now)));
        assert!(refresh_due(&doc_with(&jwt_exp(now - 10), None), at(now)));
    }

    #[test]
    fn without_exp_due_eight_days_after_last_refresh() {
        let last = "2026-01-01T00:00:00Z";
        let t = chrono::DateTime::parse_from_rfc3339(last)
            .unwrap()
            .timestamp();
        assert!(!refresh_due(
            &doc_with("opaque", Some(last)),
            at(t + 8 * 86_400 - 1)
        ));
        assert!(refresh_due(
            &doc_with("opaque", Some(last)),
            at(t + 8 * 86_400)
        ));
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
