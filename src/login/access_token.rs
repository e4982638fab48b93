//! Access-token sign-in: `printenv CODEX_ACCESS_TOKEN | codex login --with-access-token`. A
//! personal access token (`at-...`) is looked up once (`whoami`) to learn its account, checked
//! against the workspace rules, then stored as the reference stores it
//! (`{"personal_access_token": "at-..."}`, no `auth_mode`). Any other token is an agent identity
//! token, which this version refuses rather than storing something it cannot use.

use super::LoginError;
use super::stdin::{self, Piped};
use crate::auth::AuthDotJson;
use crate::config::{Config, ForcedLoginMethod};
use crate::oauth::whoami::{self, TokenKind, TokenOwner};
use crate::report::Reporter;
use crate::store::{Store, StoreError};

pub fn run(config: &Config, store: &Store, out: &Reporter) -> Result<(), LoginError> {
    match config.forced_login_method {
        Some(ForcedLoginMethod::Api) => return Err(LoginError::AccessTokenDisabled),
        Some(ForcedLoginMethod::Chatgpt) | None => {}
    }
    let token = stdin::read(Piped::AccessToken, out)?;
    match whoami::kind_of(token.expose()) {
        TokenKind::PersonalAccessToken => {}
        TokenKind::AgentIdentity => return Err(LoginError::AgentIdentityNotSupported),
    }
    // A store that cannot take the token fails before the lookup, as other sign-ins do.
    match store.load() {
        Ok(_) | Err(StoreError::Malformed { .. } | StoreError::KeyringMalformed { .. }) => {}
        Err(other) => return Err(other.into()),
    }
    let owner =
        crate::http::runtime().block_on(whoami::lookup(&config.network, &config.auth, &token))?;
    check_workspace(config.forced_chatgpt_workspace_id.as_deref(), &owner)?;
    let account = super::persist(
        config,
        store,
        &AuthDotJson::for_personal_access_token(token),
        out,
    )?;
    out.note(&format!(
        "Successfully logged in with a personal access token: {}, saved as account `{account}`.",
        owner.describe()
    ));
    Ok(())
}

/// `forced_chatgpt_workspace_id`: the token's account must be that workspace.
pub fn check_workspace(expected: Option<&str>, owner: &TokenOwner) -> Result<(), LoginError> {
    match expected {
        Some(expected) if owner.chatgpt_account_id != expected => {
            Err(crate::oauth::OAuthError::WorkspaceMismatch {
                expected: expected.to_string(),
            }
            .into())
        }
        Some(_) | None => Ok(()),
    }
}
