//! The provider's `env_key`: an API key read from the environment variable it names, sent as
//! Bearer (Azure: in the `api-key` header). A 401 has no recovery: the variable says the same.

use super::{Credential, CredentialError, KeySource};
use crate::provider::{Kind, Provider, env_value};
use crate::secret::Secret;

/// `None` when the provider has no `env_key`; an error when its variable is unset.
pub fn credential(provider: &Provider) -> Result<Option<Credential>, CredentialError> {
    let Some(var) = &provider.env_key else {
        return Ok(None);
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
