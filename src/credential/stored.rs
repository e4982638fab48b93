//! OpenAI auth: `CODEX_API_KEY` for one run, else the stored sign-in (an API key, or ChatGPT
//! tokens refreshed first when they are about to expire), read through the accounts' `Session`
//! so a refresh also reaches the saved account's copy. After a 401 a ChatGPT sign-in
//! adopts tokens another process stored meanwhile, or refreshes once.

use std::sync::Arc;

use super::{CODEX_API_KEY_ENV, Credential, CredentialError, KeySource, env_key};
use crate::auth::{AuthDotJson, Usability};
use crate::config::Config;
use crate::notice::Notify;
use crate::provider::env_value;
use crate::secret::Secret;

/// `CODEX_API_KEY`, then the stored sign-in. `None` when neither is there.
pub async fn credential(
    config: &Config,
    http: &crate::http::Lazy<'_>,
    notify: &Arc<dyn Notify>,
) -> Result<Option<Credential>, CredentialError> {
    if let Some(key) = env_value(CODEX_API_KEY_ENV) {
        return Ok(Some(Credential::ApiKey {
            key: env_key::sendable(CODEX_API_KEY_ENV, &key)?,
            source: KeySource::CodexApiKeyEnv,
        }));
    }
    let session = crate::accounts::open(config, notify.clone())?;
    let Some(doc) = session.load()? else {
        return Ok(None);
    };
    match doc.usability() {
        Usability::ApiKey { .. } => {
            let key = doc.api_key().unwrap_or_default();
            // Sent without the key, the request would go out unauthenticated: refused here.
            if crate::secret::has_control(key) {
                return Err(crate::token::TokenError::Unsendable {
                    what: "API key",
                    location: session.location(),
                }
                .into());
            }
            Ok(Some(Credential::ApiKey {
                key: Secret::new(key.trim().to_string()),
                source: KeySource::Stored,
            }))
        }
        Usability::ChatGpt => {
            let doc = crate::token::fresh(config, &session, http).await?;
            let unsendable = doc
                .tokens
                .as_ref()
                .is_some_and(|t| crate::secret::has_control(t.access_token.expose()));
            if unsendable {
                return Err(crate::token::TokenError::Unsendable {
                    what: "access token",
                    location: session.location(),
                }
                .into());
            }
            Ok(Some(chatgpt(doc)))
        }
        Usability::PersonalAccessToken => {
            let token = doc.personal_access_token().unwrap_or_default();
            Ok(Some(
                super::access_token::from_store(config, token, session.location()).await?,
            ))
        }
        Usability::AgentIdentity => Err(CredentialError::AgentIdentity),
        Usability::Unusable { reason } => Err(CredentialError::Unusable {
            location: session.location(),
            reason,
        }),
    }
}

/// After a 401 with a ChatGPT sign-in: adopt tokens another process stored meanwhile, or
/// refresh once (under the store lock, see `token`); the caller then retries once.
pub async fn after_unauthorized(
    config: &Config,
    client: &reqwest::Client,
    signed_in: &AuthDotJson,
    notify: &Arc<dyn Notify>,
) -> Result<Option<Credential>, CredentialError> {
    let session = crate::accounts::open(config, notify.clone())?;
    let doc = crate::token::recover_from_unauthorized(config, &session, client, signed_in).await?;
    match doc.usability() {
        Usability::ChatGpt => Ok(Some(chatgpt(doc))),
        Usability::ApiKey { .. }
        | Usability::AgentIdentity
        | Usability::PersonalAccessToken
        | Usability::Unusable { .. } => Ok(None),
    }
}

fn chatgpt(doc: AuthDotJson) -> Credential {
    let tokens = doc.tokens.clone().unwrap_or_default();
    let account_id = tokens
        .account_id
        .clone()
        .filter(|a| !a.trim().is_empty())
        .or_else(|| crate::jwt::id_claims(tokens.id_token.expose()).account_id);
    Credential::ChatGpt {
        access_token: tokens.access_token,
        account_id,
        signed_in: Box::new(doc),
    }
}

/// What `codex exec` says when a provider needs OpenAI auth and none is there.
pub(super) fn not_signed_in_text() -> String {
    let mut text = "not signed in: run `codex login` (or `printenv OPENAI_API_KEY | codex login --api-key -`), or set CODEX_API_KEY for this run".to_string();
    if env_value("OPENAI_API_KEY").is_some() {
        text.push_str(". OPENAI_API_KEY is set but is not read by `codex exec`: store it with `printenv OPENAI_API_KEY | codex login --api-key -`, or pass it as CODEX_API_KEY");
    }
    text
}
