//! The provider keys of config.toml as written: `[model_providers.<id>]` tables, `oss_provider`
//! and `wire_api`. Turned into a `Provider` by `provider::select`.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::choice::{Choice, choice};

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
    pub aws: Option<AwsToml>,
    /// The guide's Azure example writes `model_provider` and `model` after its table, which
    /// TOML puts inside the table; read there, they count as top-level keys (see `load`).
    pub model_provider: Option<String>,
    pub model: Option<String>,
}

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
