//! Where a request's credential comes from: one resolver (`resolve`) that picks the source from
//! the provider and the config, one file per source, and the `Credential` a request carries.
//! `provider/` only says where a request goes; this folder says with what.
//!
//! The sources, in the order the resolver asks them:
//! - `command`: the provider's `[model_providers.<id>.auth]` command (it wins over all others);
//! - `aws`: Amazon Bedrock's own (`AWS_BEARER_TOKEN_BEDROCK`, or SigV4 from the profile chain);
//! - `workload`: workload identity federation, selected by the environment (OpenAI auth only;
//!   when selected, nothing else is asked);
//! - `stored`'s `CODEX_API_KEY`, then `access_token`'s `CODEX_ACCESS_TOKEN`, then `stored`: the
//!   stored sign-in (an API key, ChatGPT tokens or a personal access token, read through the
//!   accounts' `Session`);
//! - `env_key`: the provider's `env_key` variable, then its `experimental_bearer_token`.
//!
//! How to add a source:
//! 1. a file here with a function that returns `Option<Credential>` (`None`: not configured, let
//!    the next source answer) and, when the source can do better after a 401 (re-run, refresh,
//!    re-read), an `after_unauthorized` that returns the new `Credential` or `None`;
//! 2. a `Credential` variant (or a `KeySource`) that remembers which source answered, then let
//!    the compiler lead: `apply`, `described`, `secrets` here, the 401 texts in
//!    `exec/failure.rs` and `doctor/key.rs`, the key row in `doctor/`;
//! 3. one line in `resolve.rs` where the source is asked, and one arm in its
//!    `after_unauthorized` and `refused` dispatches (what it cached is dropped when a 401
//!    stands);
//! 4. its errors as variants of `CredentialError`, each naming the source and the fix.

pub mod access_token;
pub mod aws;
pub mod command;
pub mod env_key;
mod resolve;
pub mod stored;
pub mod workload;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use thiserror::Error;

use crate::auth::AuthDotJson;
use crate::provider::bedrock::{self, BedrockError};
use crate::provider::{AuthCommand, OutgoingRequest, Provider, ProviderError};
use crate::secret::Secret;
use crate::store::StoreError;

pub use resolve::{Source, after_unauthorized, refused, resolve, source};

/// Only `codex exec` reads it (PROTOCOL.md): an API key for one run.
pub const CODEX_API_KEY_ENV: &str = "CODEX_API_KEY";

/// Where an API key came from: it decides what a 401 tells the user to fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    CodexApiKeyEnv,
    Stored,
    /// The provider's `env_key` variable.
    EnvKey(String),
    /// The provider's `experimental_bearer_token` in config.toml.
    ConfigToken,
}

/// What authenticates the request.
#[derive(Debug, Clone)]
pub enum Credential {
    /// Local servers and providers that need no key.
    None,
    /// `Authorization: Bearer <key>`.
    ApiKey {
        key: Secret<String>,
        source: KeySource,
    },
    /// Azure: `api-key: <key>`, from the provider's `env_key`.
    AzureKey {
        key: Secret<String>,
        env_key: String,
    },
    /// ChatGPT sign-in: the access token plus `ChatGPT-Account-ID`; `signed_in` is the stored
    /// document they came from (a 401 hands it to the token lifecycle).
    ChatGpt {
        access_token: Secret<String>,
        account_id: Option<String>,
        signed_in: Box<AuthDotJson>,
    },
    /// Workload identity: the exchanged token (in memory only) plus `ChatGPT-Account-ID`; the
    /// session makes a new exchange after a 401.
    Workload {
        access_token: Secret<String>,
        account_id: String,
        session: std::sync::Arc<workload::Session>,
    },
    /// A personal access token (`CODEX_ACCESS_TOKEN` or stored), with whom it belongs to.
    PersonalAccessToken(Box<access_token::Checked>),
    /// `AWS_BEARER_TOKEN_BEDROCK`, sent as Bearer.
    BedrockToken(Secret<String>),
    /// AWS credentials from the profile chain; each attempt is signed anew.
    SigV4(bedrock::SigV4),
    /// The token the provider's `auth` command printed, sent as Bearer; `auth` is kept to run
    /// it again after a 401.
    Command {
        token: Secret<String>,
        provider: String,
        auth: Box<AuthCommand>,
    },
}

/// Where to send the request and with what: the resolver's answer.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub provider: Provider,
    /// Without a trailing slash.
    pub base_url: String,
    pub credential: Credential,
    pub default_model: Option<&'static str>,
}

#[derive(Debug, Error)]
pub enum CredentialError {
    #[error(
        "{var} contains a control character (a line break, NUL or similar), so it cannot be sent; set it to the key alone"
    )]
    KeyUnsendable { var: String },
    #[error(
        "the {what} holds a character an HTTP header cannot carry, so the request was not sent; {fix}"
    )]
    HeaderUnsendable {
        what: &'static str,
        fix: &'static str,
    },
    #[error(
        "the environment variable `{var}` is not set or is empty; [model_providers.{id}] reads its API key from it (env_key). {instructions}"
    )]
    EnvKeyMissing {
        var: String,
        id: String,
        instructions: String,
    },
    #[error("{0}")]
    NotSignedIn(String),
    #[error(
        "`{location}` holds no usable credentials ({reason}); run `codex login` to sign in, or set CODEX_API_KEY for this run"
    )]
    Unusable { location: String, reason: String },
    #[error(
        "the stored sign-in is an agent identity, which `codex exec` cannot use; sign in with `codex login`, or set CODEX_API_KEY for this run"
    )]
    AgentIdentity,
    /// The provider's auth command gave no token: the reference's text, then the fix.
    #[error("model_providers.{provider}: {error}; {fix}", fix = error.fix())]
    Command {
        provider: String,
        error: command::run::RunError,
    },
    /// `codex login token --provider`: the credential is not a token that can be printed.
    #[error("provider `{provider}` has no bearer token to print: {why}")]
    NoBearer { provider: String, why: &'static str },
    #[error(transparent)]
    Provider(#[from] ProviderError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Bedrock(#[from] BedrockError),
    #[error(transparent)]
    Token(#[from] crate::token::TokenError),
    #[error(transparent)]
    Account(#[from] crate::accounts::AccountError),
    #[error(transparent)]
    Http(#[from] crate::http::HttpError),
    /// Boxed, as the next one: they are large, and every command's error carries this type.
    #[error(transparent)]
    Workload(Box<workload::WorkloadError>),
    #[error(transparent)]
    AccessToken(Box<access_token::AccessTokenError>),
}

impl From<workload::WorkloadError> for CredentialError {
    fn from(e: workload::WorkloadError) -> CredentialError {
        CredentialError::Workload(Box::new(e))
    }
}

impl From<access_token::AccessTokenError> for CredentialError {
    fn from(e: access_token::AccessTokenError) -> CredentialError {
        CredentialError::AccessToken(Box::new(e))
    }
}

impl Endpoint {
    /// `{base_url}/responses` plus the provider's `query_params`.
    pub fn responses_url(&self) -> Result<url::Url, ProviderError> {
        self.provider.responses_url(&self.base_url)
    }

    /// The headers every attempt carries, before the credential.
    pub fn base_headers(&self) -> Result<HeaderMap, ProviderError> {
        self.provider.base_headers()
    }
}

/// The headers of a ChatGPT backend request: `Authorization: Bearer`, `ChatGPT-Account-ID` and,
/// for a FedRAMP account, `X-OpenAI-Fedramp: true`.
fn chatgpt_headers(
    put: &mut impl FnMut(HeaderName, &str) -> Result<(), CredentialError>,
    token: &Secret<String>,
    account_id: Option<&str>,
    fedramp: bool,
) -> Result<(), CredentialError> {
    put(
        reqwest::header::AUTHORIZATION,
        &format!("Bearer {}", token.expose()),
    )?;
    if let Some(id) = account_id {
        put(HeaderName::from_static("chatgpt-account-id"), id)?;
    }
    if fedramp {
        put(HeaderName::from_static("x-openai-fedramp"), "true")?;
    }
    Ok(())
}

impl Credential {
    /// Adds the credential to a request (SigV4: signs it, so it must come last). A value no
    /// header can carry is an error: the request never goes out without its credential.
    pub fn apply(&self, request: &mut OutgoingRequest) -> Result<(), CredentialError> {
        let (what, fix) = self.described();
        let mut put = |name: HeaderName, value: &str| {
            let mut v = HeaderValue::try_from(value)
                .map_err(|_| CredentialError::HeaderUnsendable { what, fix })?;
            v.set_sensitive(true);
            request.headers.insert(name, v);
            Ok::<(), CredentialError>(())
        };
        match self {
            Credential::None => {}
            Credential::ApiKey { key, .. } => put(
                reqwest::header::AUTHORIZATION,
                &format!("Bearer {}", key.expose()),
            )?,
            Credential::BedrockToken(token) | Credential::Command { token, .. } => put(
                reqwest::header::AUTHORIZATION,
                &format!("Bearer {}", token.expose()),
            )?,
            Credential::AzureKey { key, .. } => {
                put(HeaderName::from_static("api-key"), key.expose())?
            }
            // ChatGPT tokens of every source: Bearer, the account, and FedRAMP when it is one.
            Credential::ChatGpt {
                access_token,
                account_id,
                ..
            } => chatgpt_headers(&mut put, access_token, account_id.as_deref(), false)?,
            Credential::Workload {
                access_token,
                account_id,
                ..
            } => chatgpt_headers(&mut put, access_token, Some(account_id), false)?,
            Credential::PersonalAccessToken(pat) => chatgpt_headers(
                &mut put,
                &pat.token,
                Some(&pat.owner.chatgpt_account_id),
                pat.owner.chatgpt_account_is_fedramp,
            )?,
            Credential::SigV4(signer) => signer.sign(request)?,
        }
        Ok(())
    }

    /// What the credential is and how to fix it, for the rare value no header can carry.
    fn described(&self) -> (&'static str, &'static str) {
        match self {
            Credential::None | Credential::SigV4(_) => ("credential", "check the settings"),
            Credential::ApiKey { source, .. } => match source {
                KeySource::CodexApiKeyEnv => ("key in CODEX_API_KEY", "set it to the key alone"),
                KeySource::Stored => (
                    "stored API key",
                    "sign in again: printenv OPENAI_API_KEY | codex login --api-key -",
                ),
                KeySource::EnvKey(_) => {
                    ("key in the provider's env_key", "set it to the key alone")
                }
                KeySource::ConfigToken => (
                    "provider's experimental_bearer_token",
                    "set it to the token alone in config.toml",
                ),
            },
            Credential::Command { .. } => (
                "token the provider's auth command printed",
                "make the command print the token alone",
            ),
            Credential::AzureKey { .. } => {
                ("key in the provider's env_key", "set it to the key alone")
            }
            Credential::BedrockToken(_) => {
                ("key in AWS_BEARER_TOKEN_BEDROCK", "set it to the key alone")
            }
            Credential::ChatGpt { .. } => ("stored ChatGPT sign-in", "sign in again: codex login"),
            Credential::Workload { .. } => (
                "workload identity token or its account id",
                "check the issuer's answer (codex doctor)",
            ),
            Credential::PersonalAccessToken(pat) => match pat.source {
                access_token::TokenSource::Env => (
                    "personal access token's account id",
                    "check CODEX_ACCESS_TOKEN",
                ),
                access_token::TokenSource::Stored(_) => (
                    "personal access token's account id",
                    "sign in again: printenv CODEX_ACCESS_TOKEN | codex login --with-access-token",
                ),
            },
        }
    }

    /// Whether the request goes to the ChatGPT backend (`chatgpt_base_url`) rather than the
    /// platform API: ChatGPT tokens of any source.
    pub fn is_chatgpt(&self) -> bool {
        match self {
            Credential::ChatGpt { .. }
            | Credential::Workload { .. }
            | Credential::PersonalAccessToken(_) => true,
            Credential::None
            | Credential::ApiKey { .. }
            | Credential::AzureKey { .. }
            | Credential::BedrockToken(_)
            | Credential::Command { .. }
            | Credential::SigV4(_) => false,
        }
    }

    /// Secrets this credential holds, to scrub from any text a server sends back.
    pub fn secrets(&self) -> Vec<String> {
        match self {
            Credential::None | Credential::SigV4(_) => vec![],
            Credential::ApiKey { key, .. } | Credential::AzureKey { key, .. } => {
                vec![key.expose().clone()]
            }
            Credential::BedrockToken(token) | Credential::Command { token, .. } => {
                vec![token.expose().clone()]
            }
            Credential::ChatGpt { access_token, .. }
            | Credential::Workload { access_token, .. } => {
                vec![access_token.expose().clone()]
            }
            Credential::PersonalAccessToken(pat) => vec![pat.token.expose().clone()],
        }
    }
}
