//! The provider keys of config.toml as written: `[model_providers.<id>]` tables, `oss_provider`
//! and `wire_api`. Turned into a `Provider` by `provider::select`.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::choice::{Choice, choice};
use crate::secret::Secret;

/// `oss_provider`: the local model server `--oss` talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OssProvider {
    Ollama,
    LmStudio,
}

impl OssProvider {
    /// The built-in provider id (`[model_providers.<id>]`, `model_provider = "<id>"`).
    pub fn id(self) -> &'static str {
        match self {
            OssProvider::Ollama => "ollama",
            OssProvider::LmStudio => "lmstudio",
        }
    }
}

/// `wire_api`: the only protocol spoken is the Responses API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireApi {
    Responses,
}

/// One `[model_providers.<id>]` table as written. A field left out is `None`, so a table for a
/// built-in id (`[model_providers.amazon-bedrock.aws]`) overrides only what it names.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ProviderToml {
    pub name: Option<String>,
    pub base_url: Option<String>,
    pub env_key: Option<String>,
    pub env_key_instructions: Option<String>,
    pub query_params: Option<BTreeMap<String, String>>,
    #[serde(default, deserialize_with = "choice")]
    pub wire_api: Option<WireApi>,
    pub http_headers: Option<BTreeMap<String, String>>,
    /// Header name -> name of the environment variable holding its value.
    pub env_http_headers: Option<BTreeMap<String, String>>,
    pub request_max_retries: Option<u64>,
    pub stream_max_retries: Option<u64>,
    pub stream_idle_timeout_ms: Option<u64>,
    pub requires_openai_auth: Option<bool>,
    /// A static bearer token written in config.toml (`env_key` wins over it).
    pub experimental_bearer_token: Option<Secret<String>>,
    /// `[model_providers.<id>.auth]`: a command that prints the bearer token.
    pub auth: Option<AuthCommandToml>,
    pub aws: Option<AwsToml>,
    /// The guide's Azure example writes `model_provider` and `model` after its table, which
    /// TOML puts inside the table; read there, they count as top-level keys (see `load`).
    pub model_provider: Option<String>,
    pub model: Option<String>,
}

/// `[model_providers.<id>.auth]` as written (checked in `config`: `command` not empty,
/// `timeout_ms` not 0, `cwd` absolute, and no other credential key beside it).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct AuthCommandToml {
    pub command: String,
    /// May carry a secret (a vault path, a client id): never shown.
    pub args: Option<Secret<Vec<String>>>,
    pub timeout_ms: Option<u64>,
    pub refresh_interval_ms: Option<u64>,
    pub cwd: Option<String>,
}

/// The keys of a `[model_providers.<id>]` table: ours, and those the reference CLI reads that
/// do nothing here. Any other key gets a warning (the file is shared, so never an error).
pub const PROVIDER_KEYS: &[&str] = &[
    "name",
    "base_url",
    "env_key",
    "env_key_instructions",
    "experimental_bearer_token",
    "auth",
    "aws",
    "wire_api",
    "query_params",
    "http_headers",
    "env_http_headers",
    "request_max_retries",
    "stream_max_retries",
    "stream_idle_timeout_ms",
    "requires_openai_auth",
    "model_provider",
    "model",
    "websocket_connect_timeout_ms",
    "supports_websockets",
];

/// The keys of `[model_providers.<id>.auth]`.
pub const AUTH_KEYS: &[&str] = &[
    "command",
    "args",
    "timeout_ms",
    "refresh_interval_ms",
    "cwd",
];

/// `[model_providers.<id>.aws]`: where Amazon Bedrock credentials come from.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct AwsToml {
    pub profile: Option<String>,
    pub region: Option<String>,
}

impl Choice for OssProvider {
    const CHOICES: &'static [(&'static str, Self)] = &[
        ("ollama", OssProvider::Ollama),
        ("lmstudio", OssProvider::LmStudio),
    ];
}

impl Choice for WireApi {
    const CHOICES: &'static [(&'static str, Self)] = &[("responses", WireApi::Responses)];
}
