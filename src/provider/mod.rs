//! Model providers: the built-ins, `[model_providers.<id>]` from config.toml merged over them,
//! and their endpoints (base URL, query parameters, headers). The one place that decides where
//! `codex exec` sends its request; which credential goes with it is `credential/`'s decision.

pub mod azure;
pub mod bedrock;
pub mod oss;
pub mod schema;

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use thiserror::Error;

use crate::config::Config;
use crate::secret::Secret;
use schema::{AwsToml, OssProvider, ProviderToml, WireApi};

pub const DEFAULT_REQUEST_MAX_RETRIES: u64 = 4;
pub const DEFAULT_STREAM_MAX_RETRIES: u64 = 5;
pub const DEFAULT_STREAM_IDLE_TIMEOUT_MS: u64 = 300_000;
/// `[model_providers.<id>.auth]` defaults (the reference's).
pub const DEFAULT_AUTH_TIMEOUT_MS: u64 = 5_000;
pub const DEFAULT_AUTH_REFRESH_INTERVAL_MS: u64 = 300_000;
/// Retry counts above this are taken as this (the reference CLI's cap).
const MAX_RETRIES: u64 = 100;
/// The model used with the built-in OpenAI provider when neither `-m` nor `model` names one.
pub const DEFAULT_OPENAI_MODEL: &str = "gpt-5.5";

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
    /// `experimental_bearer_token`: a static token from config.toml.
    pub bearer_token: Option<Secret<String>>,
    /// `[model_providers.<id>.auth]`: a command that prints the token.
    pub auth: Option<AuthCommand>,
    pub aws: AwsToml,
}

/// `[model_providers.<id>.auth]`, checked when config.toml was read: what to run for the
/// bearer token, and for how long a token may be reused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthCommand {
    /// Not empty; a bare name is looked up on PATH.
    pub command: String,
    /// May carry a secret (a vault path, a client id): never shown.
    pub args: Secret<Vec<String>>,
    /// Not zero.
    pub timeout: Duration,
    /// `None`: reuse the token until the provider refuses it (`refresh_interval_ms = 0`).
    pub refresh_interval: Option<Duration>,
    /// Absolute; `None`: the current directory.
    pub cwd: Option<std::path::PathBuf>,
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
    /// As `Unknown`, for a provider named on the command line (`login token --provider`).
    #[error(
        "--provider {id} is neither a built-in provider ({builtins}) nor defined in config.toml; name one of those, or add a [model_providers.{id}] table with a base_url"
    )]
    UnknownFlag { id: String, builtins: String },
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
        "the {what} `{name}` of [model_providers.{id}] is not a valid HTTP header{detail}; fix it in config.toml"
    )]
    BadHeader {
        what: &'static str,
        name: String,
        id: String,
        detail: &'static str,
    },
    #[error(transparent)]
    Oss(#[from] oss::OssError),
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
    by_id(config, &id)
}

/// The provider `id` (a built-in, or a `[model_providers.<id>]` table), as `select` makes it.
pub fn by_id(config: &Config, id: &str) -> Result<Provider, ProviderError> {
    let id = id.to_string();
    let user = config.models.providers.get(&id);
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
        bearer_token: table
            .experimental_bearer_token
            .clone()
            .filter(|t| !t.expose().trim().is_empty()),
        auth: table.auth.as_ref().map(|auth| AuthCommand {
            command: auth.command.clone(),
            args: auth.args.clone().unwrap_or_default(),
            timeout: Duration::from_millis(
                auth.timeout_ms.unwrap_or(DEFAULT_AUTH_TIMEOUT_MS).max(1),
            ),
            refresh_interval: match auth
                .refresh_interval_ms
                .unwrap_or(DEFAULT_AUTH_REFRESH_INTERVAL_MS)
            {
                0 => None,
                ms => Some(Duration::from_millis(ms)),
            },
            cwd: auth.cwd.as_ref().map(std::path::PathBuf::from),
        }),
        aws: table.aws.clone().unwrap_or_default(),
        id,
    })
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

/// A non-blank environment variable.
pub(crate) fn env_value(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn checked_url(raw: &str, key: &str) -> Result<String, ProviderError> {
    crate::http::http_url(raw).ok_or_else(|| ProviderError::BadUrl {
        key: key.to_string(),
        value: crate::secret::shown_url(raw),
    })
}

impl Provider {
    /// `{base_url}/responses` plus `query_params`, each name and value percent-encoded
    /// (RFC 3986 unreserved characters stay as they are).
    pub fn responses_url(&self, base_url: &str) -> Result<url::Url, ProviderError> {
        let mut text = format!("{base_url}/responses");
        let query: Vec<String> = self
            .query_params
            .iter()
            .map(|(k, v)| format!("{}={}", encode_component(k), encode_component(v)))
            .collect();
        if !query.is_empty() {
            text.push(if text.contains('?') { '&' } else { '?' });
            text.push_str(&query.join("&"));
        }
        url::Url::parse(&text).map_err(|_| ProviderError::BadUrl {
            key: format!("base_url of [model_providers.{}]", self.id),
            value: crate::secret::shown_url(base_url),
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
            id: self.id.clone(),
            detail,
        };
        for (name, value) in &self.http_headers {
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
        for (name, var) in &self.env_http_headers {
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
