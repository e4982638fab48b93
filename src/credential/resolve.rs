//! The resolver: which source answers for this provider and config, and the base URL that goes
//! with its credential (the ChatGPT backend for a sign-in, Bedrock's regional endpoint, ...).
//! After a 401, the same dispatch hands the refused credential back to its own source.

use std::sync::Arc;

use super::{Credential, CredentialError, Endpoint, access_token, aws, env_key, stored, workload};
use crate::config::Config;
use crate::notice::Notify;
use crate::provider::{self, DEFAULT_OPENAI_MODEL, Kind, Provider, ProviderError, oss};

/// The base URL and the credential of `provider`. Sources, in order (PROTOCOL.md): Bedrock's
/// own for Amazon Bedrock; else `CODEX_API_KEY`, then the stored sign-in (both only for
/// providers that use OpenAI auth: the built-in `openai` or `requires_openai_auth = true`), then
/// the provider's `env_key`. `OPENAI_API_KEY` in the environment is never a credential of the
/// built-in provider.
pub async fn resolve(
    config: &Config,
    provider: Provider,
    http: &crate::http::Lazy<'_>,
    notify: &Arc<dyn Notify>,
) -> Result<Endpoint, CredentialError> {
    match provider.kind {
        Kind::AmazonBedrock => {
            let (base_url, credential) = aws::credential(&provider, http.get()?).await?;
            Ok(Endpoint {
                provider,
                base_url,
                credential,
                default_model: None,
            })
        }
        Kind::Oss(which) => {
            let base_url = oss::base_url(which, provider.base_url.as_deref(), &config.models)
                .map_err(ProviderError::from)?;
            let credential = env_key::credential(&provider)?.unwrap_or(Credential::None);
            Ok(Endpoint {
                provider,
                base_url,
                credential,
                default_model: Some(oss::default_model(which)),
            })
        }
        Kind::OpenAi | Kind::Azure | Kind::Custom => {
            let openai = if provider.requires_openai_auth {
                openai_auth(config, http, notify).await?
            } else {
                None
            };
            let credential = match openai {
                Some(c) => c,
                None => match env_key::credential(&provider)? {
                    Some(c) => c,
                    None if provider.kind == Kind::OpenAi || provider.requires_openai_auth => {
                        return Err(CredentialError::NotSignedIn(stored::not_signed_in_text()));
                    }
                    None => Credential::None,
                },
            };
            let chatgpt = credential.is_chatgpt();
            let base_url = provider::base_url(config, &provider, chatgpt)?;
            Ok(Endpoint {
                default_model: match provider.kind {
                    Kind::OpenAi => Some(DEFAULT_OPENAI_MODEL),
                    Kind::Azure | Kind::Custom | Kind::AmazonBedrock | Kind::Oss(_) => None,
                },
                provider,
                base_url,
                credential,
            })
        }
    }
}

/// OpenAI auth, in order (PROTOCOL.md): workload identity (when the environment selects it,
/// nothing else is asked: a partial setup is an error), `CODEX_API_KEY`, `CODEX_ACCESS_TOKEN`,
/// then the stored sign-in.
async fn openai_auth(
    config: &Config,
    http: &crate::http::Lazy<'_>,
    notify: &Arc<dyn Notify>,
) -> Result<Option<Credential>, CredentialError> {
    if let Some(credential) = workload::credential(config, http).await? {
        return Ok(Some(credential));
    }
    if provider::env_value(super::CODEX_API_KEY_ENV).is_none()
        && let Some(credential) = access_token::from_env(config).await?
    {
        return Ok(Some(credential));
    }
    stored::credential(config, http, notify).await
}

/// After a 401: the refused credential's own source tries once to do better (a ChatGPT sign-in
/// adopts or refreshes its tokens). `Some`: retry once with it; `None`: the 401 stands.
pub async fn after_unauthorized(
    config: &Config,
    client: &reqwest::Client,
    refused: &Credential,
    notify: &Arc<dyn Notify>,
) -> Result<Option<Credential>, CredentialError> {
    match refused {
        Credential::ChatGpt { signed_in, .. } => {
            stored::after_unauthorized(config, client, signed_in, notify).await
        }
        Credential::Workload { session, .. } => Ok(workload::after_unauthorized(session).await?),
        // A personal access token has no refresh: the 401 text says how to replace it.
        Credential::PersonalAccessToken(_) => Ok(None),
        // A key from a variable or the store, and AWS credentials, are what they are: reading
        // them again would give the same.
        Credential::None
        | Credential::ApiKey { .. }
        | Credential::AzureKey { .. }
        | Credential::BedrockToken(_)
        | Credential::SigV4(_) => Ok(None),
    }
}
