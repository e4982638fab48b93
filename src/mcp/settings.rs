//! The MCP keys of config.toml as the reference CLI writes them: `[mcp_servers.NAME]` tables
//! (`url` for streamable HTTP, `command` for stdio, `bearer_token_env_var`, `http_headers`,
//! `scopes`, `oauth_resource`, `[mcp_servers.NAME.oauth]` with `client_id` and `callback_port`)
//! and the top-level `mcp_oauth_*` keys. Keys we do not use are left alone.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};

/// One `[mcp_servers.NAME]` table.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct McpServerToml {
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub command: Option<String>,
    #[serde(default)]
    pub bearer_token_env_var: Option<String>,
    #[serde(default)]
    pub http_headers: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub env_http_headers: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    #[serde(default)]
    pub oauth_resource: Option<String>,
    #[serde(default)]
    pub oauth: Option<McpOAuthToml>,
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// `[mcp_servers.NAME.oauth]`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct McpOAuthToml {
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default, deserialize_with = "port")]
    pub callback_port: Option<u16>,
}

/// How a configured server is reached and signed in to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    /// Streamable HTTP at this URL.
    Http(String),
    /// A local process (stdio): no sign-in.
    Stdio(String),
    /// Neither `url` nor `command`.
    Unknown,
}

/// Where a server's credential comes from, when not from an OAuth sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StaticAuth {
    /// `bearer_token_env_var = "NAME"`.
    EnvVar(String),
    /// An `Authorization` header in `http_headers` or `env_http_headers`.
    Header,
}

impl McpServerToml {
    pub fn transport(&self) -> Transport {
        match (&self.url, &self.command) {
            (Some(url), _) => Transport::Http(url.clone()),
            (None, Some(command)) => Transport::Stdio(command.clone()),
            (None, None) => Transport::Unknown,
        }
    }

    /// A credential configured without sign-in, if any.
    pub fn static_auth(&self) -> Option<StaticAuth> {
        if let Some(var) = self
            .bearer_token_env_var
            .as_ref()
            .filter(|v| !v.trim().is_empty())
        {
            return Some(StaticAuth::EnvVar(var.clone()));
        }
        let has_authorization = |headers: &Option<BTreeMap<String, String>>| {
            headers
                .as_ref()
                .is_some_and(|h| h.keys().any(|k| k.eq_ignore_ascii_case("authorization")))
        };
        (has_authorization(&self.http_headers) || has_authorization(&self.env_http_headers))
            .then_some(StaticAuth::Header)
    }

    pub fn enabled(&self) -> bool {
        self.enabled.unwrap_or(true)
    }
}

/// A callback port: 1 to 65535 (0 would be "any port", which a registered redirect cannot be).
pub fn port<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u16>, D::Error> {
    let value = i64::deserialize(d)?;
    match u16::try_from(value) {
        Ok(port) if port > 0 => Ok(Some(port)),
        Ok(_) | Err(_) => Err(serde::de::Error::custom(format!(
            "{value} is not a callback port; expected a number from 1 to 65535"
        ))),
    }
}
