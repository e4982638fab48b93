//! config.toml and `-c key=value` overrides as text: parsed into a TOML table, then checked
//! against the keys this program reads, every error located (path:line:column) and never quoting
//! a value, which may be a secret.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::{ConfigError, ForcedLoginMethod, StoreMode};
use crate::choice::{Choice, choice};
use crate::mcp::settings::McpServerToml;
use crate::oauth::Protocol;
use crate::provider::schema::{OssProvider, ProviderToml};

impl Choice for StoreMode {
    const CHOICES: &'static [(&'static str, Self)] = &[
        ("file", StoreMode::File),
        ("keyring", StoreMode::Keyring),
        ("auto", StoreMode::Auto),
    ];
}

impl Choice for ForcedLoginMethod {
    const CHOICES: &'static [(&'static str, Self)] = &[
        ("chatgpt", ForcedLoginMethod::Chatgpt),
        ("api", ForcedLoginMethod::Api),
    ];
}

impl Choice for Protocol {
    const CHOICES: &'static [(&'static str, Self)] = Protocol::CHOICES;
}

/// The keys of `config.toml` this program reads. Everything else in the file is left alone.
#[derive(Debug, Default, Deserialize)]
pub(super) struct ConfigToml {
    #[serde(default, deserialize_with = "choice")]
    pub(super) cli_auth_credentials_store: Option<StoreMode>,
    #[serde(default, deserialize_with = "choice")]
    pub(super) forced_login_method: Option<ForcedLoginMethod>,
    #[serde(default)]
    pub(super) forced_chatgpt_workspace_id: Option<String>,
    #[serde(default)]
    pub(super) auth: AuthToml,
    #[serde(default)]
    pub(super) model: Option<String>,
    #[serde(default)]
    pub(super) model_provider: Option<String>,
    #[serde(default, deserialize_with = "choice")]
    pub(super) oss_provider: Option<OssProvider>,
    #[serde(default)]
    pub(super) chatgpt_base_url: Option<String>,
    #[serde(default)]
    pub(super) openai_base_url: Option<String>,
    #[serde(default)]
    pub(super) model_providers: BTreeMap<String, ProviderToml>,
    #[serde(default)]
    pub(super) mcp_servers: BTreeMap<String, McpServerToml>,
    #[serde(default, deserialize_with = "choice")]
    pub(super) mcp_oauth_credentials_store: Option<StoreMode>,
    #[serde(default, deserialize_with = "crate::mcp::settings::port")]
    pub(super) mcp_oauth_callback_port: Option<u16>,
    #[serde(default)]
    pub(super) mcp_oauth_callback_url: Option<String>,
}

/// `[auth]`: the issuer override, for enterprises and tests.
#[derive(Debug, Default, Deserialize)]
pub(super) struct AuthToml {
    #[serde(default)]
    pub(super) issuer: Option<String>,
    #[serde(default)]
    pub(super) client_id: Option<String>,
    #[serde(default, deserialize_with = "choice")]
    pub(super) protocol: Option<Protocol>,
    #[serde(default)]
    pub(super) scopes: Option<Vec<String>>,
}

/// Parses `config.toml`, then checks the keys we use against their types, so both kinds of
/// mistake are reported with the line and column they are at.
pub(super) fn parse_file(path: &Path, text: &str) -> Result<toml::Table, ConfigError> {
    let located = |e: toml::de::Error| {
        let (line, column) = e
            .span()
            .map(|span| line_col(text, span.start))
            .unwrap_or((1, 1));
        ConfigError::Invalid {
            path: path.display().to_string(),
            line,
            column,
            message: crate::secret::redact_values(e.message().trim_end()),
        }
    };
    let table: toml::Table = toml::from_str(text).map_err(located)?;
    toml::from_str::<ConfigToml>(text).map_err(located)?;
    Ok(table)
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..text.floor_char_boundary(offset)];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    (line, before[line_start..].chars().count() + 1)
}

/// How an override is named in errors: its key only, since its value may be a secret, and only
/// its first 39 characters when it is longer.
pub(super) fn override_key(raw: &str) -> String {
    let key = match raw.split_once('=') {
        Some((key, _)) if !key.trim().is_empty() => key.trim(),
        Some(_) => return "=...".to_string(),
        None => raw,
    };
    let shown = crate::untrusted::printable(key);
    match shown.char_indices().nth(39) {
        Some((at, _)) => format!("{}...", &shown[..at]),
        None => shown.into_owned(),
    }
}

/// The deepest dotted key `-c` takes: the limit the TOML parser puts on config.toml, so that
/// neither building nor reading the table can overflow the stack.
const MAX_KEY_PARTS: usize = 80;

/// Applies one `-c key=value` override. The value is TOML (`-c model="o3"`, `-c x=[1,2]`); a
/// value that is not valid TOML is taken as a plain string, as the reference CLI does.
pub(super) fn apply_override(table: &mut toml::Table, raw: &str) -> Result<(), ConfigError> {
    let bad = |message: &str| ConfigError::BadOverride {
        override_text: override_key(raw),
        message: message.to_string(),
    };
    let (key, value) = raw.split_once('=').ok_or_else(|| {
        bad("expected key=value, for example -c cli_auth_credentials_store=\"file\"")
    })?;
    let key = key.trim();
    if key.is_empty() || key.split('.').any(|part| part.trim().is_empty()) {
        return Err(bad("the key is empty; expected key=value"));
    }
    let parts = key.split('.').count();
    if parts > MAX_KEY_PARTS {
        return Err(bad(&format!(
            "the key has {parts} parts; at most {MAX_KEY_PARTS} are allowed"
        )));
    }
    let value_text = value.trim();
    let value = toml::from_str::<toml::Table>(&format!("v = {value_text}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(value_text.to_string()));
    let parts: Vec<&str> = key.split('.').map(str::trim).collect();
    let (last, parents) = parts.split_last().expect("key has at least one part");
    let mut current = table;
    for part in parents {
        let entry = current
            .entry(part.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        current = match entry {
            toml::Value::Table(t) => t,
            _ => return Err(bad(&format!("`{part}` is not a table"))),
        };
    }
    current.insert(last.to_string(), value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one() {
        assert_eq!(line_col("a = 1\nb = x", 10), (2, 5));
        assert_eq!(line_col("", 0), (1, 1));
    }

    #[test]
    fn override_parses_toml_or_falls_back_to_string() {
        let mut t = toml::Table::new();
        apply_override(&mut t, "a.b=\"x\"").unwrap();
        apply_override(&mut t, "n=3").unwrap();
        apply_override(&mut t, "s=keyring").unwrap();
        assert_eq!(t["a"]["b"].as_str(), Some("x"));
        assert_eq!(t["n"].as_integer(), Some(3));
        assert_eq!(t["s"].as_str(), Some("keyring"));
        assert!(apply_override(&mut t, "novalue").is_err());
        assert!(apply_override(&mut t, "n.x=1").is_err());
    }
}
