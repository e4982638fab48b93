//! The one place that reads `CODEX_HOME`, `config.toml` and `-c key=value` overrides and turns
//! them into typed settings. `config.toml` is shared with the full Codex CLI: unknown keys are
//! ignored, but a key we use with the wrong type is an error that names file, line and column.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use thiserror::Error;

/// Where credentials are kept (`cli_auth_credentials_store`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StoreMode {
    #[default]
    File,
    Keyring,
    Auto,
}

impl StoreMode {
    pub fn as_str(self) -> &'static str {
        match self {
            StoreMode::File => "file",
            StoreMode::Keyring => "keyring",
            StoreMode::Auto => "auto",
        }
    }
}

/// `forced_login_method`: an administrator can allow only one way of signing in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForcedLoginMethod {
    Chatgpt,
    Api,
}

/// A closed set of string values, named in errors as they are spelled in config.toml.
trait Choice: Sized + Copy + 'static {
    const CHOICES: &'static [(&'static str, Self)];
}

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

/// Deserializes a `Choice` from a string, with an error listing what is allowed.
fn choice<'de, D: serde::Deserializer<'de>, T: Choice>(d: D) -> Result<Option<T>, D::Error> {
    let text = String::deserialize(d)?;
    T::CHOICES
        .iter()
        .find(|(name, _)| *name == text)
        .map(|(_, value)| Some(*value))
        .ok_or_else(|| {
            let allowed: Vec<String> = T::CHOICES.iter().map(|(n, _)| format!("\"{n}\"")).collect();
            serde::de::Error::custom(format!(
                "unknown value \"{text}\"; expected one of {}",
                allowed.join(", ")
            ))
        })
}

/// The keys of `config.toml` this program reads. Everything else in the file is left alone.
#[derive(Debug, Default, Deserialize)]
struct ConfigToml {
    #[serde(default, deserialize_with = "choice")]
    cli_auth_credentials_store: Option<StoreMode>,
    #[serde(default, deserialize_with = "choice")]
    forced_login_method: Option<ForcedLoginMethod>,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub codex_home: PathBuf,
    /// True when `CODEX_HOME` was not set and the default `~/.codex` is used.
    pub codex_home_is_default: bool,
    pub store_mode: StoreMode,
    pub forced_login_method: Option<ForcedLoginMethod>,
}

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error(
        "CODEX_HOME points to `{path}`, which does not exist. Create it (mkdir -p {path}) or unset CODEX_HOME."
    )]
    HomeMissing { path: String },
    #[error(
        "CODEX_HOME points to `{path}`, which is not a directory. Point CODEX_HOME at a directory."
    )]
    HomeNotDir { path: String },
    #[error("cannot read CODEX_HOME `{path}`: {source}")]
    HomeUnreadable {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot find your home directory to place `.codex` in; set CODEX_HOME to a directory")]
    NoHome,
    #[error("Error loading configuration: {path}: {source}")]
    Unreadable {
        path: String,
        source: std::io::Error,
    },
    #[error("Error loading configuration: {path}:{line}:{column}: {message}")]
    Invalid {
        path: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("Error loading configuration: -c `{override_text}`: {message}")]
    BadOverride {
        override_text: String,
        message: String,
    },
}

impl Config {
    /// Loads the configuration for a command: `CODEX_HOME` from the environment, then
    /// `$CODEX_HOME/config.toml` (if present), then the `-c` overrides in order.
    pub fn load(overrides: &[String]) -> Result<Config, ConfigError> {
        let (codex_home, codex_home_is_default) = resolve_codex_home()?;
        let path = codex_home.join("config.toml");
        let text = match std::fs::read(&path) {
            Ok(bytes) => Some(String::from_utf8(bytes).map_err(|e| {
                ConfigError::Invalid {
                    path: path.display().to_string(),
                    line: 1 + e.as_bytes()[..e.utf8_error().valid_up_to()]
                        .iter()
                        .filter(|b| **b == b'\n')
                        .count(),
                    column: 1,
                    message: "the file is not valid UTF-8".to_string(),
                }
            })?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => None,
            Err(source) => {
                return Err(ConfigError::Unreadable {
                    path: path.display().to_string(),
                    source,
                });
            }
        };
        let mut table = match &text {
            Some(text) => parse_file(&path, text)?,
            None => toml::Table::new(),
        };
        for raw in overrides {
            apply_override(&mut table, raw)?;
        }
        let typed: ConfigToml = if overrides.is_empty() {
            toml::Value::Table(table)
                .try_into()
                .map_err(|e: toml::de::Error| ConfigError::Invalid {
                    path: path.display().to_string(),
                    line: 1,
                    column: 1,
                    message: e.message().to_string(),
                })?
        } else {
            toml::Value::Table(table)
                .try_into()
                .map_err(|e: toml::de::Error| ConfigError::BadOverride {
                    override_text: overrides.join(" "),
                    message: e.message().to_string(),
                })?
        };
        Ok(Config {
            codex_home,
            codex_home_is_default,
            store_mode: typed.cli_auth_credentials_store.unwrap_or_default(),
            forced_login_method: typed.forced_login_method,
        })
    }

    pub fn auth_file(&self) -> PathBuf {
        self.codex_home.join("auth.json")
    }
}

fn resolve_codex_home() -> Result<(PathBuf, bool), ConfigError> {
    match std::env::var_os("CODEX_HOME").filter(|v| !v.is_empty()) {
        Some(raw) => {
            let path = PathBuf::from(raw);
            let shown = path.display().to_string();
            match std::fs::metadata(&path) {
                Ok(meta) if meta.is_dir() => Ok((
                    std::fs::canonicalize(&path).map_err(|source| ConfigError::HomeUnreadable {
                        path: shown.clone(),
                        source,
                    })?,
                    false,
                )),
                Ok(_) => Err(ConfigError::HomeNotDir { path: shown }),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    Err(ConfigError::HomeMissing { path: shown })
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => {
                    Err(ConfigError::HomeNotDir { path: shown })
                }
                Err(source) => Err(ConfigError::HomeUnreadable {
                    path: shown,
                    source,
                }),
            }
        }
        None => {
            let home = dirs::home_dir().ok_or(ConfigError::NoHome)?;
            Ok((home.join(".codex"), true))
        }
    }
}

/// Parses `config.toml`, then checks the keys we use against their types, so both kinds of
/// mistake are reported with the line and column they are at.
fn parse_file(path: &Path, text: &str) -> Result<toml::Table, ConfigError> {
    let located = |e: toml::de::Error| {
        let (line, column) = e
            .span()
            .map(|span| line_col(text, span.start))
            .unwrap_or((1, 1));
        ConfigError::Invalid {
            path: path.display().to_string(),
            line,
            column,
            message: e.message().trim_end().to_string(),
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

/// Applies one `-c key=value` override. The value is TOML (`-c model="o3"`, `-c x=[1,2]`); a
/// value that is not valid TOML is taken as a plain string, as the reference CLI does.
fn apply_override(table: &mut toml::Table, raw: &str) -> Result<(), ConfigError> {
    let bad = |message: &str| ConfigError::BadOverride {
        override_text: raw.to_string(),
        message: message.to_string(),
    };
    let (key, value) = raw.split_once('=').ok_or_else(|| {
        bad("expected key=value, for example -c cli_auth_credentials_store=\"file\"")
    })?;
    let key = key.trim();
    if key.is_empty() || key.split('.').any(|part| part.trim().is_empty()) {
        return Err(bad("the key is empty; expected key=value"));
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
