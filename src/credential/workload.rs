//! Workload identity federation (PROTOCOL.md): a CI job or a pod proves who it is with its
//! platform's OIDC token (a file the platform rotates, or on GitHub Actions the job's ID-token
//! endpoint), and the issuer trades it for a short-lived ChatGPT access token that lives in
//! memory only. Selected by the environment alone; a partial setup is an error, never a fall
//! back to auth.json. After a 401: one new exchange, accepted only for the same principal.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use thiserror::Error;
use url::Url;

use super::Credential;
use crate::config::{Config, ForcedLoginMethod};
use crate::fsutil::{self, Cap, ReadError};
use crate::oauth::TokenFailure;
use crate::oauth::jwt_bearer::{self, Principal, WorkloadToken};
use crate::secret::Secret;

pub const RULE_ENV: &str = "OPENAI_FEDERATION_RULE_ID";
pub const FILE_ENV: &str = "OPENAI_IDENTITY_TOKEN_FILE";
pub const CONTEXT_ENV: &str = "OPENAI_WORKLOAD_IDENTITY_CONTEXT";
pub const ACTIONS_URL_ENV: &str = "ACTIONS_ID_TOKEN_REQUEST_URL";
pub const ACTIONS_TOKEN_ENV: &str = "ACTIONS_ID_TOKEN_REQUEST_TOKEN";
/// Ours: the audience asked of GitHub Actions (default: the issuer's URL).
pub const AUDIENCE_ENV: &str = "CODEX_IDENTITY_TOKEN_AUDIENCE";

/// The reference's reason for refusing `codex logout`.
pub const LOGOUT_REFUSED: &str =
    "workload identity auth is managed by the host and cannot be logged out";

/// The most an assertion may be (PROTOCOL.md); platforms' tokens are 1-2 KiB.
pub const ASSERTION_CAP: Cap = Cap::new(16 << 10, "a workload identity assertion");

/// Retries of a transient exchange failure (no answer, 408, 429, 5xx), after 250 ms, 500 ms.
const RETRIES: u32 = 2;
const RETRY_BASE: Duration = Duration::from_millis(250);

/// Where the assertion comes from.
#[derive(Debug, Clone)]
pub enum Assertion {
    /// `OPENAI_IDENTITY_TOKEN_FILE`: re-read at every exchange (the platform rotates it).
    File(PathBuf),
    /// Ours: GitHub Actions' ID-token endpoint, when the job may ask for one.
    GitHubActions {
        request_url: String,
        request_token: Secret<String>,
        audience: String,
    },
}

/// Workload identity as the environment selects it.
#[derive(Debug, Clone)]
pub struct Settings {
    pub rule_id: String,
    pub assertion: Assertion,
    /// `OPENAI_WORKLOAD_IDENTITY_CONTEXT`, sent unchanged.
    pub context: Option<String>,
}

#[derive(Debug, Error)]
pub enum WorkloadError {
    #[error(
        "workload identity requires {RULE_ENV}: {FILE_ENV} is set, and no other credential is used while it is. Set {RULE_ENV} to the federation rule's id, or unset {FILE_ENV}"
    )]
    MissingRule,
    #[error(
        "workload identity requires {FILE_ENV}: {RULE_ENV} is set, and no other credential is used while it is. Set {FILE_ENV} to the absolute path of the platform's OIDC token (on GitHub Actions, give the job `permissions: id-token: write` instead), or unset {RULE_ENV}"
    )]
    MissingFile,
    #[error("workload identity variable {0} is invalid: {1}")]
    Invalid(&'static str, &'static str),
    #[error("{FILE_ENV} must be an absolute path; it is {0}")]
    RelativeFile(String),
    #[error(
        "workload identity requires a login policy that permits ChatGPT authentication, but config.toml has forced_login_method = \"api\"; unset {RULE_ENV} and {FILE_ENV}, or change the policy"
    )]
    PolicyForbids,
    #[error("could not read workload identity assertion file `{path}` ({FILE_ENV}): it {problem}")]
    FileUnreadable { path: String, problem: ReadError },
    #[error("could not read workload identity assertion file `{path}` ({FILE_ENV}): it {problem}")]
    FileInvalid { path: String, problem: &'static str },
    #[error("could not get the job's OIDC token from {ACTIONS_URL_ENV} (`{url}`): {detail}")]
    Actions { url: String, detail: String },
    #[error(
        "workload identity: {0} is neither HTTPS nor a loopback address, so the assertion was not sent there; check the issuer ([auth] issuer or CODEX_AUTH_ISSUER)"
    )]
    Insecure(String),
    #[error("workload identity: the token exchange at `{url}` failed: {failure}{}", hint(.failure))]
    Exchange { url: String, failure: TokenFailure },
    #[error(
        "workload identity: the token exchange at `{url}` answered for account `{now_account}`, user `{now_user}`, but this run's token was for account `{was_account}`, user `{was_user}`; the new token was refused"
    )]
    PrincipalChanged {
        url: String,
        was_account: String,
        was_user: String,
        now_account: String,
        now_user: String,
    },
    #[error(transparent)]
    OAuth(#[from] crate::oauth::OAuthError),
    #[error(transparent)]
    Http(#[from] crate::http::HttpError),
}

/// What to do about a failed exchange.
fn hint(failure: &TokenFailure) -> &'static str {
    if transient(failure) {
        return ". Try again later";
    }
    match failure {
        TokenFailure::Refused { .. } | TokenFailure::Status(_) => {
            ". Check OPENAI_FEDERATION_RULE_ID, and that the federation rule trusts this token (its issuer, audience and subject)"
        }
        TokenFailure::Transport(_) | TokenFailure::BadResponse(_) | TokenFailure::Other(_) => "",
    }
}

/// Whether the environment selects workload identity (either variable set, even partly).
pub fn selected() -> bool {
    std::env::var_os(RULE_ENV).is_some() || std::env::var_os(FILE_ENV).is_some()
}

impl Settings {
    /// The workload identity the environment selects: `Ok(None)` when neither of its two
    /// variables is set; an error when one is set and the setup is incomplete (fail closed).
    pub fn from_env(config: &Config) -> Result<Option<Settings>, WorkloadError> {
        if !selected() {
            return Ok(None);
        }
        let rule = std::env::var_os(RULE_ENV);
        let file = std::env::var_os(FILE_ENV);
        if config.forced_login_method == Some(ForcedLoginMethod::Api) {
            return Err(WorkloadError::PolicyForbids);
        }
        let Some(rule) = rule else {
            return Err(WorkloadError::MissingRule);
        };
        let rule_id = rule
            .into_string()
            .map_err(|_| WorkloadError::Invalid(RULE_ENV, "it is not valid UTF-8"))?
            .trim()
            .to_string();
        if rule_id.is_empty() {
            return Err(WorkloadError::Invalid(RULE_ENV, "it is empty"));
        }
        let assertion = match file {
            Some(path) if path.is_empty() => {
                return Err(WorkloadError::Invalid(FILE_ENV, "it is empty"));
            }
            Some(path) => {
                let path = PathBuf::from(path);
                if !path.is_absolute() {
                    return Err(WorkloadError::RelativeFile(crate::secret::shown_value(
                        &path.to_string_lossy(),
                        '`',
                    )));
                }
                Assertion::File(path)
            }
            None => match (
                crate::provider::env_value(ACTIONS_URL_ENV),
                crate::provider::env_value(ACTIONS_TOKEN_ENV),
            ) {
                (Some(request_url), Some(token)) => Assertion::GitHubActions {
                    request_url: request_url.trim().to_string(),
                    request_token: Secret::new(token.trim().to_string()),
                    audience: crate::provider::env_value(AUDIENCE_ENV)
                        .map(|a| a.trim().to_string())
                        .unwrap_or_else(|| config.auth.issuer.clone()),
                },
                (Some(_) | None, _) => return Err(WorkloadError::MissingFile),
            },
        };
        let context = std::env::var(CONTEXT_ENV).ok().filter(|c| !c.is_empty());
        Ok(Some(Settings {
            rule_id,
            assertion,
            context,
        }))
    }

    /// `file `/path`` or `GitHub Actions ID token (audience `...`)`, for status and doctor.
    pub fn describe_assertion(&self) -> String {
        match &self.assertion {
            Assertion::File(path) => format!("file `{}` ({FILE_ENV})", path.display()),
            Assertion::GitHubActions { audience, .. } => format!(
                "the GitHub Actions job's ID token ({ACTIONS_URL_ENV}, audience `{}`)",
                crate::untrusted::printable(audience)
            ),
        }
    }
}

/// Reads the assertion in the file: a regular file of at most 16 KiB, UTF-8, trimmed, a JWT.
pub fn read_file(path: &Path) -> Result<Secret<String>, WorkloadError> {
    let shown = path.display().to_string();
    let (bytes, _) =
        fsutil::read(path, ASSERTION_CAP).map_err(|problem| WorkloadError::FileUnreadable {
            path: shown.clone(),
            problem,
        })?;
    let invalid = |problem| WorkloadError::FileInvalid {
        path: shown.clone(),
        problem,
    };
    let text = String::from_utf8(bytes).map_err(|_| invalid("is not UTF-8 text"))?;
    let text = text.trim();
    if text.is_empty() {
        return Err(invalid("is empty"));
    }
    if !is_jwt(text) {
        return Err(invalid(
            "does not hold a JWT (header.payload.signature); point it at the platform's OIDC token",
        ));
    }
    Ok(Secret::new(text.to_string()))
}

/// Three dot-separated parts whose payload is a JSON object; nothing else is sent.
pub fn is_jwt(text: &str) -> bool {
    text.split('.').count() == 3
        && !text.chars().any(|c| c.is_whitespace() || c.is_control())
        && crate::jwt::payload(text).is_some_and(|p| p.is_object())
}

/// The session of one run: the exchange's endpoint and client, the current token (in memory
/// only) and the principal it was for.
pub struct Session {
    pub settings: Settings,
    pub token_url: Url,
    http: reqwest::Client,
    state: tokio::sync::Mutex<State>,
}

#[derive(Default)]
struct State {
    current: Option<(WorkloadToken, Instant)>,
    principal: Option<Principal>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("rule_id", &self.settings.rule_id)
            .field("token_url", &self.token_url.as_str())
            .finish_non_exhaustive()
    }
}

impl Session {
    /// The session for the selected workload identity; `Ok(None)` when none is selected. The
    /// token endpoint is the configured issuer's (fixed path, or discovery for an OIDC issuer).
    pub async fn open(
        config: &Config,
        lazy: &crate::http::Lazy<'_>,
    ) -> Result<Option<Arc<Session>>, WorkloadError> {
        let Some(settings) = Settings::from_env(config)? else {
            return Ok(None);
        };
        let endpoints = crate::oauth::Endpoints::resolve(lazy.get()?, &config.auth).await?;
        let token_url = match Url::parse(&endpoints.token) {
            Ok(url) if crate::http::credential_safe(&url) => url,
            Ok(_) | Err(_) => {
                return Err(WorkloadError::Insecure(crate::secret::shown_url(
                    &endpoints.token,
                )));
            }
        };
        let http = crate::http::client_with(&config.network, crate::http::Redirects::Never)?;
        Ok(Some(Arc::new(Session {
            settings,
            token_url,
            http,
            state: Default::default(),
        })))
    }

    /// The current token, exchanged anew when none is held or it is near its end: at expiry
    /// minus min(120 s, half its lifetime).
    pub async fn token(&self) -> Result<WorkloadToken, WorkloadError> {
        let mut state = self.state.lock().await;
        if let Some((token, obtained)) = &state.current
            && !renewal_due(obtained.elapsed(), token.expires_in)
        {
            return Ok(token.clone());
        }
        self.exchange(&mut state).await
    }

    /// After a 401: one new exchange, whatever the current token's age.
    pub async fn renew(&self) -> Result<WorkloadToken, WorkloadError> {
        let mut state = self.state.lock().await;
        self.exchange(&mut state).await
    }

    async fn exchange(&self, state: &mut State) -> Result<WorkloadToken, WorkloadError> {
        state.current = None;
        let assertion = self.assertion().await?;
        let request = jwt_bearer::Exchange {
            token_url: &self.token_url,
            assertion: &assertion,
            rule_id: &self.settings.rule_id,
            context: self.settings.context.as_deref(),
        };
        let mut attempt = 0;
        let token = loop {
            match jwt_bearer::exchange(&self.http, &request).await {
                Ok(token) => break token,
                Err(failure) if attempt < RETRIES && transient(&failure) => {
                    attempt += 1;
                    tracing::debug!(%failure, attempt, "workload identity exchange: retrying");
                    tokio::time::sleep(RETRY_BASE * 2u32.pow(attempt - 1)).await;
                }
                Err(failure) => {
                    return Err(WorkloadError::Exchange {
                        url: self.token_url.to_string(),
                        failure,
                    });
                }
            }
        };
        match &state.principal {
            Some(was) if *was != token.principal => {
                return Err(WorkloadError::PrincipalChanged {
                    url: self.token_url.to_string(),
                    was_account: was.account_id.clone(),
                    was_user: was.user_id.clone(),
                    now_account: token.principal.account_id.clone(),
                    now_user: token.principal.user_id.clone(),
                });
            }
            Some(_) => {}
            None => state.principal = Some(token.principal.clone()),
        }
        tracing::debug!(expires_in = token.expires_in, account = %token.principal.account_id, "workload identity token obtained");
        state.current = Some((token.clone(), Instant::now()));
        Ok(token)
    }

    async fn assertion(&self) -> Result<Secret<String>, WorkloadError> {
        match &self.settings.assertion {
            Assertion::File(path) => read_file(path),
            Assertion::GitHubActions {
                request_url,
                request_token,
                audience,
            } => actions_token(&self.http, request_url, request_token, audience).await,
        }
    }
}

/// A token `age` old, valid `expires_in` seconds, is renewed at expiry minus min(120 s, half
/// its lifetime) (PROTOCOL.md).
fn renewal_due(age: Duration, expires_in: u64) -> bool {
    let lifetime = Duration::from_secs(expires_in);
    let margin = Duration::from_secs(120).min(lifetime / 2);
    age >= lifetime - margin
}

/// Worth another try: no answer, 408, 429 or a server error.
fn transient(failure: &TokenFailure) -> bool {
    failure.is_transient()
        || matches!(
            failure,
            TokenFailure::Status(408)
                | TokenFailure::Refused {
                    status: Some(408),
                    ..
                }
        )
}

/// GitHub Actions: `GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=AUD` with the request token as
/// Bearer answers `{"value": "<jwt>"}`. The request token is a credential: HTTPS (or loopback)
/// only, no redirect.
async fn actions_token(
    http: &reqwest::Client,
    request_url: &str,
    request_token: &Secret<String>,
    audience: &str,
) -> Result<Secret<String>, WorkloadError> {
    let shown = crate::secret::masked_url(request_url)
        .unwrap_or_else(|| crate::secret::shown_value(request_url, '`'));
    let failed = |detail: String| WorkloadError::Actions {
        url: shown.clone(),
        detail,
    };
    let mut url = Url::parse(request_url).map_err(|_| failed("it is not a URL".to_string()))?;
    if !crate::http::credential_safe(&url) {
        return Err(failed(
            "it is neither HTTPS nor a loopback address, so the request token was not sent"
                .to_string(),
        ));
    }
    url.query_pairs_mut().append_pair("audience", audience);
    let response = http
        .get(url)
        .bearer_auth(request_token.expose())
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| failed(crate::http::describe(&e)))?;
    let status = response.status();
    if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
        return Err(failed(format!(
            "it answered HTTP {status}. Give the job `permissions: id-token: write`"
        )));
    }
    if !status.is_success() {
        return Err(failed(format!("it answered HTTP {status}")));
    }
    let bytes = crate::http::read_body(response)
        .await
        .map_err(|e| failed(e.to_string()))?;
    #[derive(serde::Deserialize)]
    struct Answer {
        value: Option<Secret<String>>,
    }
    let answer: Answer = serde_json::from_slice(&bytes).map_err(|e| {
        failed(format!(
            "its answer is not JSON ({})",
            crate::secret::json_error(&e)
        ))
    })?;
    let value = answer
        .value
        .map(|v| v.expose().trim().to_string())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| failed("its answer has no `value`".to_string()))?;
    if value.len() as u64 > ASSERTION_CAP.bytes || !is_jwt(&value) {
        return Err(failed(
            "its `value` is not a JWT of at most 16 KiB".to_string(),
        ));
    }
    Ok(Secret::new(value))
}

/// The request's credential when workload identity is selected: the exchanged token, sent as
/// Bearer with `ChatGPT-Account-ID`.
pub async fn credential(
    config: &Config,
    lazy: &crate::http::Lazy<'_>,
) -> Result<Option<Credential>, WorkloadError> {
    let Some(session) = Session::open(config, lazy).await? else {
        return Ok(None);
    };
    let token = session.token().await?;
    Ok(Some(into_credential(token, session)))
}

/// After a 401: one new exchange (the platform may have rotated the assertion, the token may
/// have been revoked); the caller retries once with it.
pub async fn after_unauthorized(
    session: &Arc<Session>,
) -> Result<Option<Credential>, WorkloadError> {
    let token = session.renew().await?;
    Ok(Some(into_credential(token, session.clone())))
}

fn into_credential(token: WorkloadToken, session: Arc<Session>) -> Credential {
    Credential::Workload {
        access_token: token.access_token,
        account_id: token.principal.account_id,
        session,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_jwts_are_assertions() {
        assert!(is_jwt("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"));
        assert!(!is_jwt("not a jwt"));
        assert!(!is_jwt("a.b.c"));
        assert!(!is_jwt("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln\n.x"));
    }

    #[test]
    fn tokens_are_renewed_before_they_end() {
        let s = Duration::from_secs;
        assert!(!renewal_due(s(0), 3600));
        assert!(!renewal_due(s(3479), 3600));
        assert!(renewal_due(s(3480), 3600), "120 s before the end");
        assert!(!renewal_due(s(59), 120));
        assert!(renewal_due(s(60), 120), "half of a short lifetime");
        assert!(renewal_due(Duration::from_millis(500), 1));
    }

    #[test]
    fn transient_failures_are_retried() {
        assert!(transient(&TokenFailure::Status(408)));
        assert!(transient(&TokenFailure::Status(503)));
        assert!(transient(&TokenFailure::Transport("reset".into())));
        assert!(!transient(&TokenFailure::Status(403)));
        assert!(!transient(&TokenFailure::BadResponse("html".into())));
    }
}
