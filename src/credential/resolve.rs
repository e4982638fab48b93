//! The resolver: which source answers for this provider and config, and the base URL that goes
//! with its credential (the ChatGPT backend for a sign-in, Bedrock's regional endpoint, ...).
//! After a 401, the same dispatch hands the refused credential back to its own source.

use std::sync::Arc;

use super::{
    Credential, CredentialError, Endpoint, access_token, aws, command, env_key, stored, workload,
};
use crate::config::Config;
use crate::notice::Notify;
use crate::provider::{self, DEFAULT_OPENAI_MODEL, Kind, Provider, ProviderError, bedrock, oss};

/// The base URL and the credential of `provider`. Sources, in order (PROTOCOL.md): the
/// provider's `auth` command, on any provider (on Bedrock it wins over the AWS sources, as in
/// the reference); Bedrock's own for Amazon Bedrock; else workload identity, `CODEX_API_KEY`,
/// `CODEX_ACCESS_TOKEN`, then the stored
/// sign-in (all of them only for providers that use OpenAI auth: the built-in `openai` or
/// `requires_openai_auth = true`; see `openai_auth`), then the provider's `env_key`, then its
/// `experimental_bearer_token`. A custom provider with none of them sends no credential (never
/// the ChatGPT token); `OPENAI_API_KEY` in the environment is never a credential of the built-in
/// provider.
pub async fn resolve(
    config: &Config,
    provider: Provider,
    http: &crate::http::Lazy<'_>,
    notify: &Arc<dyn Notify>,
) -> Result<Endpoint, CredentialError> {
    let mut bedrock_base = None;
    let credential = match (&provider.auth, provider.kind) {
        (Some(auth), _) => command::credential(config, &provider, auth, notify).await?,
        (None, Kind::AmazonBedrock) => {
            let (base_url, credential) = aws::credential(&provider, http.get()?).await?;
            bedrock_base = Some(base_url);
            credential
        }
        (None, Kind::Oss(_)) => env_key::credential(&provider)?.unwrap_or(Credential::None),
        (None, Kind::OpenAi | Kind::Azure | Kind::Custom) => {
            let openai = if provider.requires_openai_auth {
                openai_auth(config, http, notify).await?
            } else {
                None
            };
            match openai {
                Some(c) => c,
                None => match env_key::credential(&provider)? {
                    Some(c) => c,
                    None if provider.kind == Kind::OpenAi || provider.requires_openai_auth => {
                        return Err(CredentialError::NotSignedIn(stored::not_signed_in_text()));
                    }
                    None => Credential::None,
                },
            }
        }
    };
    let base_url = match (bedrock_base, provider.kind) {
        (Some(base_url), _) => base_url,
        (None, Kind::AmazonBedrock) => bedrock::region_base_url(&provider)?,
        (None, Kind::Oss(which)) => {
            oss::base_url(which, provider.base_url.as_deref(), &config.models)
                .map_err(ProviderError::from)?
        }
        (None, Kind::OpenAi | Kind::Azure | Kind::Custom) => {
            provider::base_url(config, &provider, credential.is_chatgpt())?
        }
    };
    Ok(Endpoint {
        default_model: match provider.kind {
            Kind::OpenAi => Some(DEFAULT_OPENAI_MODEL),
            Kind::Oss(which) => Some(oss::default_model(which)),
            Kind::Azure | Kind::Custom | Kind::AmazonBedrock => None,
        },
        provider,
        base_url,
        credential,
    })
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
/// adopts or refreshes its tokens; a command runs again). `Some`: retry once with it; `None`:
/// the 401 stands.
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
        Credential::Command {
            token,
            provider,
            auth,
        } => command::after_unauthorized(config, provider, auth, token, notify).await,
        // A key from a variable, the config or the store, and AWS credentials, are what they
        // are: reading them again would give the same.
        Credential::None
        | Credential::ApiKey { .. }
        | Credential::AzureKey { .. }
        | Credential::BedrockToken(_)
        | Credential::SigV4(_) => Ok(None),
    }
}

/// The 401 stands, even after `after_unauthorized`: what a source cached of this credential is
/// dropped, so the next run does not start with it.
pub async fn refused(config: &Config, credential: &Credential, notify: &Arc<dyn Notify>) {
    match credential {
        Credential::Command {
            token,
            provider,
            auth,
        } => command::forget(config, provider, auth, token, notify).await,
        // Nothing of these is cached by us (a refused ChatGPT sign-in stays stored: `codex login`
        // replaces it, and `login status` still names it; a workload identity token lives in
        // this run's memory only; a personal access token is the user's to replace).
        Credential::None
        | Credential::ApiKey { .. }
        | Credential::AzureKey { .. }
        | Credential::ChatGpt { .. }
        | Credential::Workload { .. }
        | Credential::PersonalAccessToken(_)
        | Credential::BedrockToken(_)
        | Credential::SigV4(_) => {}
    }
}

/// Which source answers for a provider, told without running or reading anything (for
/// `codex login status`).
pub enum Source {
    /// `[model_providers.<id>.auth]`: the command, as written.
    Command(String),
    /// Bedrock's own: `AWS_BEARER_TOKEN_BEDROCK` or the AWS profile chain.
    Aws,
    /// OpenAI auth: workload identity, `CODEX_API_KEY`, `CODEX_ACCESS_TOKEN` or the stored
    /// sign-in.
    OpenAiAuth,
    /// The variable `env_key` names.
    EnvKey(String),
    /// `experimental_bearer_token`.
    ConfigToken,
    None,
}

pub fn source(provider: &Provider) -> Source {
    match (&provider.auth, provider.kind) {
        (Some(auth), _) => Source::Command(auth.command.clone()),
        (None, Kind::AmazonBedrock) => Source::Aws,
        (None, Kind::OpenAi | Kind::Azure | Kind::Custom) if provider.requires_openai_auth => {
            Source::OpenAiAuth
        }
        (None, Kind::OpenAi | Kind::Azure | Kind::Custom | Kind::Oss(_)) => {
            match (&provider.env_key, &provider.bearer_token) {
                (Some(var), _) => Source::EnvKey(var.clone()),
                (None, Some(_)) => Source::ConfigToken,
                (None, None) => Source::None,
            }
        }
    }
}
