//! Access tokens (PROTOCOL.md): a personal access token (`at-...`) from `CODEX_ACCESS_TOKEN`
//! (any command, never written) or stored by `codex login --with-access-token`. It is looked up
//! once per run (`whoami`: account, plan, FedRAMP) and sent as Bearer with `ChatGPT-Account-ID`.
//! Any other token is an agent identity token, refused rather than sent. A PAT has no refresh:
//! after a 401 the refusal stands, and its text says how to replace the token.

use std::fmt;

use thiserror::Error;

use super::Credential;
use crate::config::{Config, ForcedLoginMethod};
use crate::oauth::whoami::{self, TokenKind, TokenOwner, WhoamiError};
use crate::secret::Secret;

pub const ENV: &str = "CODEX_ACCESS_TOKEN";

/// Where the token came from: it words the errors and the 401 text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    Env,
    /// The store, at this location.
    Stored(String),
}

impl fmt::Display for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenSource::Env => f.write_str(ENV),
            TokenSource::Stored(location) => {
                write!(f, "the personal access token stored in {location}")
            }
        }
    }
}

#[derive(Debug, Error)]
pub enum AccessTokenError {
    #[error(
        "{0} holds an access token that does not start with `at-`: an agent identity token, which is not supported. Use a personal access token (at-...)"
    )]
    AgentIdentity(TokenSource),
    #[error(
        "{0} is a ChatGPT credential, but config.toml has forced_login_method = \"api\", which allows only API keys"
    )]
    PolicyForbids(TokenSource),
    #[error("{0} holds a control character (a line break, NUL or similar), so it cannot be sent")]
    Unsendable(TokenSource),
    #[error("{error}{}", check_hint(error, from))]
    Lookup {
        from: TokenSource,
        error: WhoamiError,
    },
    #[error("Login is restricted to workspace id {expected}; {from} belongs to account {actual}.")]
    Workspace {
        from: TokenSource,
        expected: String,
        actual: String,
    },
}

/// Which token to check, when the lookup's answer says the token is at fault.
fn check_hint(error: &WhoamiError, from: &TokenSource) -> String {
    match error {
        WhoamiError::Status { .. } | WhoamiError::Decode { .. } => format!(". Check {from}"),
        WhoamiError::Request { .. } | WhoamiError::Insecure { .. } | WhoamiError::Http(_) => {
            String::new()
        }
    }
}

/// A personal access token that was looked up: whose it is.
#[derive(Debug, Clone)]
pub struct Checked {
    pub token: Secret<String>,
    pub owner: TokenOwner,
    pub source: TokenSource,
}

/// `CODEX_ACCESS_TOKEN`, trimmed; `Ok(None)` when unset or blank.
pub async fn from_env(config: &Config) -> Result<Option<Credential>, AccessTokenError> {
    let Some(token) = crate::provider::env_value(ENV) else {
        return Ok(None);
    };
    let token = Secret::new(token.trim().to_string());
    let checked = check(config, token, TokenSource::Env).await?;
    Ok(Some(Credential::PersonalAccessToken(Box::new(checked))))
}

/// A stored personal access token (`location`: where the store keeps it).
pub async fn from_store(
    config: &Config,
    token: &str,
    location: String,
) -> Result<Credential, AccessTokenError> {
    let token = Secret::new(token.trim().to_string());
    let checked = check(config, token, TokenSource::Stored(location)).await?;
    Ok(Credential::PersonalAccessToken(Box::new(checked)))
}

/// The token, looked up (once: a run keeps what it learnt) and checked against the login
/// policy and the workspace rules.
pub async fn check(
    config: &Config,
    token: Secret<String>,
    source: TokenSource,
) -> Result<Checked, AccessTokenError> {
    match whoami::kind_of(token.expose()) {
        TokenKind::PersonalAccessToken => {}
        TokenKind::AgentIdentity => return Err(AccessTokenError::AgentIdentity(source)),
    }
    if config.forced_login_method == Some(ForcedLoginMethod::Api) {
        return Err(AccessTokenError::PolicyForbids(source));
    }
    if crate::secret::has_control(token.expose()) {
        return Err(AccessTokenError::Unsendable(source));
    }
    let owner = whoami::lookup(&config.network, &config.auth, &token)
        .await
        .map_err(|error| AccessTokenError::Lookup {
            from: source.clone(),
            error,
        })?;
    if let Some(expected) = config.forced_chatgpt_workspace_id.as_deref()
        && owner.chatgpt_account_id != expected
    {
        return Err(AccessTokenError::Workspace {
            from: source,
            expected: expected.to_string(),
            actual: owner.chatgpt_account_id.clone(),
        });
    }
    Ok(Checked {
        token,
        owner,
        source,
    })
}
