//! The provider's `env_key`: an API key read from the environment variable it names, sent as
//! Bearer (Azure: in the `api-key` header); without one, its `experimental_bearer_token`, a static
//! token written in config.toml, sent as Bearer. A 401 has no recovery: both say the same again.

use super::{Credential, CredentialError, KeySource};
use crate::provider::{Kind, Provider, env_value};
use crate::secret::Secret;

/// The `env_key` (an error when its variable is unset), else the `experimental_bearer_token`;
/// `None` when the provider has neither.
pub fn credential(provider: &Provider) -> Result<Option<Credential>, CredentialError> {
    let Some(var) = &provider.env_key else {
        return Ok(provider
            .bearer_token
            .as_ref()
            .map(|token| Credential::ApiKey {
                key: Secret::new(crate::secret::clean_key(token.expose()).to_string()),
                source: KeySource::ConfigToken,
            }));
    };
    let Some(value) = env_value(var) else {
        return Err(CredentialError::EnvKeyMissing {
            var: var.clone(),
            id: provider.id.clone(),
            instructions: provider
                .env_key_instructions
                .clone()
                .filter(|i| !i.trim().is_empty())
                .unwrap_or_else(|| format!("Set it to your API key: export {var}=...")),
        });
    };
    let key = sendable(var, &value)?;
    Ok(Some(match provider.kind {
        Kind::Azure => Credential::AzureKey {
            key,
            env_key: var.clone(),
        },
        Kind::OpenAi | Kind::AmazonBedrock | Kind::Oss(_) | Kind::Custom => Credential::ApiKey {
            key,
            source: KeySource::EnvKey(var.clone()),
        },
    }))
}

/// A key from an environment variable, without surrounding whitespace or a byte-order mark;
/// refused when a control character inside it would keep it out of the request's header.
pub(crate) fn sendable(var: &str, value: &str) -> Result<Secret<String>, CredentialError> {
    let key = crate::secret::clean_key(value);
    if crate::secret::has_control(key) {
        return Err(CredentialError::KeyUnsendable {
            var: var.to_string(),
        });
    }
    Ok(Secret::new(key.to_string()))
}
