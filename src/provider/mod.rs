//! Model providers: the built-ins, `[model_providers.<id>]` from config.toml merged over them,
//! and the credential each request carries. The one place that decides where `codex exec` sends
//! its request and which key goes with it.

pub mod azure;
pub mod bedrock;
pub mod oss;
pub mod schema;

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use thiserror::Error;

use crate::auth::{AuthDotJson, Usability};
use std::sync::Arc;

use crate::config::Config;
use crate::notice::Notify;
use crate::secret::Secret;
use crate::store::StoreError;
use schema::{AwsToml, OssProvider, ProviderToml, WireApi};

pub const DEFAULT_REQUEST_MAX_RETRIES: u64 = 4;
pub const DEFAULT_STREAM_MAX_RETRIES: u64 = 5;
pub const DEFAULT_STREAM_IDLE_TIMEOUT_MS: u64 = 300_000;
/// Retry counts above this are taken as this (the reference CLI's cap).
const MAX_RETRIES: u64 = 100;
/// The model used with the built-in OpenAI provider when neither `-m` nor `model` names one.
pub const DEFAULT_OPENAI_MODEL: &str = "gpt-5.5";
/// Only `codex exec` reads it (PROTOCOL.md): an API key for one run.
pub const CODEX_API_KEY_ENV: &str = "CODEX_API_KEY";

/// What kind of backend a provider is; it decides the credential and the error texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The built-in `openai`: platform API with an API key, ChatGPT backend with a sign-in.
    OpenAi,
    /// Azure OpenAI (see `azure::is_azure`): the key goes in the `api-key` header.
    Azure,
    AmazonBedrock,
    Oss(OssProvider),
    /// Any other `[model_providers.<id>]`.
    Custom,
}

/// A provider with every setting resolved (built-in defaults, then config.toml).
#[derive(Debug, Clone)]
pub struct Provider {
    pub id: String,
    pub name: String,
    pub kind: Kind,
    /// As configured; `None` where the built-in computes it (OpenAI, Bedrock, local servers).
    pub base_url: Option<String>,
    pub env_key: Option<String>,
    pub env_key_instructions: Option<String>,
    pub query_params: BTreeMap<String, String>,
    pub http_headers: BTreeMap<String, String>,
    pub env_http_headers: BTreeMap<String, String>,
    pub request_max_retries: u64,
    pub stream_max_retries: u64,
    pub stream_idle_timeout: Duration,
    pub requires_openai_auth: bool,
    pub aws: AwsToml,
}

/// Where an API key came from: it decides what a 401 tells the user to fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    CodexApiKeyEnv,
    Stored,
    /// The provider's `env_key` variable.
    EnvKey(String),
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
    /// `AWS_BEARER_TOKEN_BEDROCK`, sent as Bearer.
    BedrockToken(Secret<String>),
    /// AWS credentials from the profile chain; each attempt is signed anew.
    SigV4(bedrock::SigV4),
}

/// Where to send the request and with what.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub provider: Provider,
    /// Without a trailing slash.
    pub base_url: String,
    pub credential: Credential,
    pub default_model: Option<&'static str>,
}

/// A request ready to go out, before the credential is applied (SigV4 signs all of it).
#[derive(Debug, Clone)]
pub struct OutgoingRequest {
    pub url: url::Url,
    pub headers: HeaderMap,
    pub body: bytes::Bytes,
}

#[derive(Debug, Error)]
pub enum ProviderError {
    #[error(
        "model_provider = \"{id}\" is neither a built-in provider ({builtins}) nor defined in config.toml; add a [model_providers.{id}] table with a base_url"
    )]
    Unknown { id: String, builtins: String },
    #[error(
        "[model_providers.{id}] has no base_url; add one, for example base_url = \"https://example.com/v1\""
    )]
    MissingBaseUrl { id: String },
    /// `value` is shown masked (`secret::shown_url`): the setting may hold a pasted secret.
    #[error(
        "{key} is {value}, which is not an http(s) URL; expected for example https://api.example.com/v1"
    )]
    BadUrl { key: String, value: String },
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
    #[error(
        "the {what} `{name}` of [model_providers.{id}] is not a valid HTTP header{detail}; fix it in config.toml"
    )]
    BadHeader {
        what: &'static str,
        name: String,
        id: String,
        detail: &'static str,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Bedrock(#[from] bedrock::BedrockError),
    #[error(transparent)]
    Oss(#[from] oss::OssError),
    #[error(transparent)]
    Token(#[from] crate::token::TokenError),
    #[error(transparent)]
    Account(#[from] crate::accounts::AccountError),
    #[error(transparent)]
    Http(#[from] crate::http::HttpError),
}

const BUILTINS: &[&str] = &["openai", "ollama", "lmstudio", bedrock::PROVIDER_ID];

/// The provider this run uses: `--oss` (then `oss_provider`, default Ollama), else
/// `model_provider`, else the built-in `openai`.
pub fn select(config: &Config, oss: bool) -> Result<Provider, ProviderError> {
    let models = &config.models;
    let id = if oss {
        models
            .oss_provider
            .unwrap_or(OssProvider::Ollama)
            .id()
            .to_string()
    } else {
        models
            .model_provider
            .clone()
            .unwrap_or_else(|| "openai".to_string())
    };
    let user = models.providers.get(&id);
    let builtin_kind = match id.as_str() {
        "openai" => Some(Kind::OpenAi),
        "ollama" => Some(Kind::Oss(OssProvider::Ollama)),
        "lmstudio" => Some(Kind::Oss(OssProvider::LmStudio)),
        bedrock::PROVIDER_ID => Some(Kind::AmazonBedrock),
        _ => None,
    };
    let kind = match (builtin_kind, user) {
        (Some(kind), _) => kind,
        (None, Some(table)) => {
            if azure::is_azure(&id, table.name.as_deref(), table.base_url.as_deref()) {
                Kind::Azure
            } else {
                Kind::Custom
            }
        }
        (None, None) => {
            return Err(ProviderError::Unknown {
                id,
                builtins: BUILTINS.join(", "),
            });
        }
    };
    let empty = ProviderToml::default();
    let table = user.unwrap_or(&empty);
    let default_name = match kind {
        Kind::OpenAi => "OpenAI",
        Kind::Oss(OssProvider::Ollama) => "Ollama",
        Kind::Oss(OssProvider::LmStudio) => "LM Studio",
        Kind::AmazonBedrock => "Amazon Bedrock",
        Kind::Azure | Kind::Custom => id.as_str(),
    };
    match table.wire_api {
        Some(WireApi::Responses) | None => {}
    }
    Ok(Provider {
        name: table
            .name
            .clone()
            .unwrap_or_else(|| default_name.to_string()),
        kind,
        base_url: table
            .base_url
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(str::to_string),
        env_key: table
            .env_key
            .as_deref()
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(str::to_string),
        env_key_instructions: table.env_key_instructions.clone(),
        query_params: table.query_params.clone().unwrap_or_default(),
        http_headers: table.http_headers.clone().unwrap_or_default(),
        env_http_headers: table.env_http_headers.clone().unwrap_or_default(),
        request_max_retries: table
            .request_max_retries
            .unwrap_or(DEFAULT_REQUEST_MAX_RETRIES)
            .min(MAX_RETRIES),
        stream_max_retries: table
            .stream_max_retries
            .unwrap_or(DEFAULT_STREAM_MAX_RETRIES)
            .min(MAX_RETRIES),
        stream_idle_timeout: Duration::from_millis(
            table
                .stream_idle_timeout_ms
                .unwrap_or(DEFAULT_STREAM_IDLE_TIMEOUT_MS)
                .max(1),
        ),
        requires_openai_auth: table.requires_openai_auth.unwrap_or(kind == Kind::OpenAi),
        aws: table.aws.clone().unwrap_or_default(),
        id,
    })
}

/// Resolves the base URL and the credential. Credentials, in order (PROTOCOL.md):
/// `CODEX_API_KEY`, then the stored sign-in (both only for providers that use OpenAI auth: the
/// built-in `openai` or `requires_openai_auth = true`), then the provider's `env_key`.
/// `OPENAI_API_KEY` in the environment is never a credential of the built-in provider.
pub async fn endpoint(
    config: &Config,
    provider: Provider,
    http: &crate::http::Lazy<'_>,
    notify: &Arc<dyn Notify>,
) -> Result<Endpoint, ProviderError> {
    match provider.kind {
        Kind::AmazonBedrock => {
            let (base_url, credential) = bedrock::resolve(&provider, http.get()?).await?;
            Ok(Endpoint {
                provider,
                base_url,
                credential,
                default_model: None,
            })
        }
        Kind::Oss(which) => {
            let base_url = oss::base_url(which, provider.base_url.as_deref(), &config.models)?;
            let credential = key_credential(&provider)?.unwrap_or(Credential::None);
            Ok(Endpoint {
                provider,
                base_url,
                credential,
                default_model: Some(oss::default_model(which)),
            })
        }
        Kind::OpenAi | Kind::Azure | Kind::Custom => {
            let openai = if provider.requires_openai_auth {
                openai_credential(config, http, notify).await?
            } else {
                None
            };
            let credential = match openai {
                Some(c) => c,
                None => match key_credential(&provider)? {
                    Some(c) => c,
                    None if provider.kind == Kind::OpenAi || provider.requires_openai_auth => {
                        return Err(ProviderError::NotSignedIn(not_signed_in_text()));
                    }
                    None => Credential::None,
                },
            };
            let chatgpt = matches!(credential, Credential::ChatGpt { .. });
            let base_url = base_url(config, &provider, chatgpt)?;
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

/// The base URL of an OpenAI-style provider (built-in `openai`, Azure, custom), for a ChatGPT
/// sign-in (`chatgpt`) or a key. Bedrock and local servers compute theirs in `endpoint`.
pub fn base_url(
    config: &Config,
    provider: &Provider,
    chatgpt: bool,
) -> Result<String, ProviderError> {
    match (&provider.kind, chatgpt, &provider.base_url) {
        (_, _, Some(url)) => checked_url(
            url,
            &format!("base_url of [model_providers.{}]", provider.id),
        ),
        (Kind::OpenAi, true, None) => {
            let base = checked_url(&config.models.chatgpt_base_url, "chatgpt_base_url")?;
            Ok(format!("{base}/codex"))
        }
        (Kind::OpenAi, false, None) => {
            checked_url(&config.models.openai_base_url, "openai_base_url")
        }
        (Kind::Azure | Kind::Custom | Kind::AmazonBedrock | Kind::Oss(_), _, None) => {
            Err(ProviderError::MissingBaseUrl {
                id: provider.id.clone(),
            })
        }
    }
}

fn not_signed_in_text() -> String {
    let mut text = "not signed in: run `codex login` (or `printenv OPENAI_API_KEY | codex login --api-key -`), or set CODEX_API_KEY for this run".to_string();
    if env_value("OPENAI_API_KEY").is_some() {
        text.push_str(". OPENAI_API_KEY is set but is not read by `codex exec`: store it with `printenv OPENAI_API_KEY | codex login --api-key -`, or pass it as CODEX_API_KEY");
    }
    text
}

/// A non-blank environment variable.
pub(crate) fn env_value(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// `CODEX_API_KEY`, then the stored sign-in (a ChatGPT access token refreshed first when it is
/// about to expire). `None` when neither is there.
async fn openai_credential(
    config: &Config,
    http: &crate::http::Lazy<'_>,
    notify: &Arc<dyn Notify>,
) -> Result<Option<Credential>, ProviderError> {
    if let Some(key) = env_value(CODEX_API_KEY_ENV) {
        return Ok(Some(Credential::ApiKey {
            key: sendable_env_key(CODEX_API_KEY_ENV, &key)?,
            source: KeySource::CodexApiKeyEnv,
        }));
    }
    let store = crate::accounts::open(config, notify.clone())?;
    let Some(doc) = store.load()? else {
        return Ok(None);
    };
    match doc.usability() {
        Usability::ApiKey { .. } => {
            let key = doc.api_key().unwrap_or_default();
            // Sent without the key, the request would go out unauthenticated: refused here.
            if crate::secret::has_control(key) {
                return Err(crate::token::TokenError::Unsendable {
                    what: "API key",
                    location: store.location(),
                }
                .into());
            }
            Ok(Some(Credential::ApiKey {
                key: Secret::new(key.trim().to_string()),
                source: KeySource::Stored,
            }))
        }
        Usability::ChatGpt => {
            let doc = crate::token::fresh(config, &store, http).await?;
            let unsendable = doc
                .tokens
                .as_ref()
                .is_some_and(|t| crate::secret::has_control(t.access_token.expose()));
            if unsendable {
                return Err(crate::token::TokenError::Unsendable {
                    what: "access token",
                    location: store.location(),
                }
                .into());
            }
            Ok(Some(chatgpt_credential(doc)))
        }
        Usability::AgentIdentity | Usability::PersonalAccessToken => {
            Err(ProviderError::AgentIdentity)
        }
        Usability::Unusable { reason } => Err(ProviderError::Unusable {
            location: store.location(),
            reason,
        }),
    }
}

fn chatgpt_credential(doc: AuthDotJson) -> Credential {
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

/// The provider's `env_key`: `None` when it has none; an error when its variable is unset.
fn key_credential(provider: &Provider) -> Result<Option<Credential>, ProviderError> {
    let Some(var) = &provider.env_key else {
        return Ok(None);
    };
    let Some(value) = env_value(var) else {
        return Err(ProviderError::EnvKeyMissing {
            var: var.clone(),
            id: provider.id.clone(),
            instructions: provider
                .env_key_instructions
                .clone()
                .filter(|i| !i.trim().is_empty())
                .unwrap_or_else(|| format!("Set it to your API key: export {var}=...")),
        });
    };
    let key = sendable_env_key(var, &value)?;
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
pub(crate) fn sendable_env_key(var: &str, value: &str) -> Result<Secret<String>, ProviderError> {
    let key = crate::secret::clean_key(value);
    if crate::secret::has_control(key) {
        return Err(ProviderError::KeyUnsendable {
            var: var.to_string(),
        });
    }
    Ok(Secret::new(key.to_string()))
}

fn checked_url(raw: &str, key: &str) -> Result<String, ProviderError> {
    crate::http::http_url(raw).ok_or_else(|| ProviderError::BadUrl {
        key: key.to_string(),
        value: crate::secret::shown_url(raw),
    })
}

impl Endpoint {
    /// `{base_url}/responses` plus `query_params`, each name and value percent-encoded
    /// (RFC 3986 unreserved characters stay as they are).
    pub fn responses_url(&self) -> Result<url::Url, ProviderError> {
        let mut text = format!("{}/responses", self.base_url);
        let query: Vec<String> = self
            .provider
            .query_params
            .iter()
            .map(|(k, v)| format!("{}={}", encode_component(k), encode_component(v)))
            .collect();
        if !query.is_empty() {
            text.push(if text.contains('?') { '&' } else { '?' });
            text.push_str(&query.join("&"));
        }
        url::Url::parse(&text).map_err(|_| ProviderError::BadUrl {
            key: format!("base_url of [model_providers.{}]", self.provider.id),
            value: crate::secret::shown_url(&self.base_url),
        })
    }

    /// The headers every attempt carries, before the credential: content type, `http_headers`,
    /// and `env_http_headers` whose variable is set.
    pub fn base_headers(&self) -> Result<HeaderMap, ProviderError> {
        let mut headers = HeaderMap::new();
        headers.insert(
            reqwest::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert(
            reqwest::header::ACCEPT,
            HeaderValue::from_static("text/event-stream"),
        );
        let bad = |what, name: &str, detail| ProviderError::BadHeader {
            what,
            name: name.to_string(),
            id: self.provider.id.clone(),
            detail,
        };
        for (name, value) in &self.provider.http_headers {
            let header = HeaderName::try_from(name.as_str())
                .map_err(|_| bad("http_headers entry", name, ""))?;
            let mut value = HeaderValue::try_from(value.as_str()).map_err(|_| {
                bad(
                    "http_headers entry",
                    name,
                    " (its value has characters a header cannot carry)",
                )
            })?;
            value.set_sensitive(true);
            headers.insert(header, value);
        }
        for (name, var) in &self.provider.env_http_headers {
            let header = HeaderName::try_from(name.as_str())
                .map_err(|_| bad("env_http_headers entry", name, ""))?;
            match env_value(var) {
                Some(raw) => {
                    let mut value = HeaderValue::try_from(raw.trim()).map_err(|_| {
                        bad(
                            "env_http_headers entry",
                            name,
                            " (the value of its variable has characters a header cannot carry)",
                        )
                    })?;
                    value.set_sensitive(true);
                    headers.insert(header, value);
                }
                None => {
                    tracing::debug!(header = %name, variable = %var, "env_http_headers variable not set; header left out")
                }
            }
        }
        Ok(headers)
    }
}

impl Credential {
    /// Adds the credential to a request (SigV4: signs it, so it must come last). A value no
    /// header can carry is an error: the request never goes out without its credential.
    pub fn apply(&self, request: &mut OutgoingRequest) -> Result<(), ProviderError> {
        let (what, fix) = self.described();
        let mut put = |name: HeaderName, value: &str| {
            let mut v = HeaderValue::try_from(value)
                .map_err(|_| ProviderError::HeaderUnsendable { what, fix })?;
            v.set_sensitive(true);
            request.headers.insert(name, v);
            Ok::<(), ProviderError>(())
        };
        match self {
            Credential::None => {}
            Credential::ApiKey { key, .. } => put(
                reqwest::header::AUTHORIZATION,
                &format!("Bearer {}", key.expose()),
            )?,
            Credential::BedrockToken(token) => put(
                reqwest::header::AUTHORIZATION,
                &format!("Bearer {}", token.expose()),
            )?,
            Credential::AzureKey { key, .. } => {
                put(HeaderName::from_static("api-key"), key.expose())?
            }
            Credential::ChatGpt {
                access_token,
                account_id,
                ..
            } => {
                put(
                    reqwest::header::AUTHORIZATION,
                    &format!("Bearer {}", access_token.expose()),
                )?;
                if let Some(id) = account_id {
                    put(HeaderName::from_static("chatgpt-account-id"), id)?;
                }
            }
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
            },
            Credential::AzureKey { .. } => {
                ("key in the provider's env_key", "set it to the key alone")
            }
            Credential::BedrockToken(_) => {
                ("key in AWS_BEARER_TOKEN_BEDROCK", "set it to the key alone")
            }
            Credential::ChatGpt { .. } => ("stored ChatGPT sign-in", "sign in again: codex login"),
        }
    }

    /// Secrets this credential holds, to scrub from any text a server sends back.
    pub fn secrets(&self) -> Vec<String> {
        match self {
            Credential::None | Credential::SigV4(_) => vec![],
            Credential::ApiKey { key, .. } | Credential::AzureKey { key, .. } => {
                vec![key.expose().clone()]
            }
            Credential::BedrockToken(token) => vec![token.expose().clone()],
            Credential::ChatGpt { access_token, .. } => vec![access_token.expose().clone()],
        }
    }
}

/// After a 401 with a ChatGPT sign-in: adopt tokens another process stored meanwhile, or
/// refresh once (under the store lock, see `token`); the caller then retries once.
pub async fn recover_chatgpt_after_unauthorized(
    config: &Config,
    client: &reqwest::Client,
    refused: &Credential,
    notify: &Arc<dyn Notify>,
) -> Result<Option<Credential>, ProviderError> {
    let signed_in = match refused {
        Credential::ChatGpt { signed_in, .. } => signed_in,
        Credential::None
        | Credential::ApiKey { .. }
        | Credential::AzureKey { .. }
        | Credential::BedrockToken(_)
        | Credential::SigV4(_) => return Ok(None),
    };
    let store = crate::accounts::open(config, notify.clone())?;
    let doc = crate::token::recover_from_unauthorized(config, &store, client, signed_in).await?;
    match doc.usability() {
        Usability::ChatGpt => Ok(Some(chatgpt_credential(doc))),
        Usability::ApiKey { .. }
        | Usability::AgentIdentity
        | Usability::PersonalAccessToken
        | Usability::Unusable { .. } => Ok(None),
    }
}

/// Everything but RFC 3986 unreserved characters is percent-encoded in `query_params`.
const QUERY_COMPONENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

fn encode_component(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, QUERY_COMPONENT).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_are_percent_encoded() {
        assert_eq!(encode_component("2025-04-01-preview"), "2025-04-01-preview");
        assert_eq!(encode_component("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
    }
}
