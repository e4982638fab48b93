//! The one place that reads `CODEX_HOME`, `config.toml` and `-c key=value` overrides and turns
//! them into typed settings. `config.toml` is shared with the full Codex CLI: unknown keys are
//! ignored, but a key we use with the wrong type is an error that names file, line and column.

mod home;
mod providers;
pub(crate) mod toml_file;

use std::collections::BTreeMap;
use std::path::PathBuf;

use thiserror::Error;

use crate::http::NetworkSettings;
use crate::oauth::{
    AuthSettings, BadIssuer, DEFAULT_CLIENT_ID, DEFAULT_ISSUER, Protocol, checked_issuer,
    default_protocol,
};
use crate::provider::schema::{OssProvider, ProviderToml};

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

pub const DEFAULT_CHATGPT_BASE_URL: &str = "https://chatgpt.com/backend-api/";
pub const DEFAULT_OPENAI_BASE_URL: &str = "https://api.openai.com/v1";

#[derive(Debug, Clone)]
pub struct Config {
    pub codex_home: PathBuf,
    /// True when `CODEX_HOME` was not set and the default `~/.codex` is used.
    pub codex_home_is_default: bool,
    pub store_mode: StoreMode,
    pub forced_login_method: Option<ForcedLoginMethod>,
    pub forced_chatgpt_workspace_id: Option<String>,
    pub auth: AuthSettings,
    pub network: NetworkSettings,
    /// Model providers and what `codex exec` sends (see `provider/`).
    pub models: ModelSettings,
    /// The saved account `codex exec` and `codex login token` use for this run: their
    /// `--account`, else `CODEX_ACCOUNT` (checked where it is used, see `accounts::open`); for a
    /// sign-in, the name it is saved as.
    pub account: Option<String>,
    /// Set by `codex doctor` (without `--refresh`): reading the credentials must not write, so
    /// an outside sign-in is not saved as an account on the way.
    pub read_only: bool,
    /// What config.toml has that this program does not read (an unknown key in a provider
    /// table), one line each, for the commands that use providers to show.
    pub warnings: Vec<String>,
}

/// The model and provider keys of config.toml, plus the variables that move a local server.
#[derive(Debug, Clone)]
pub struct ModelSettings {
    pub model: Option<String>,
    pub model_provider: Option<String>,
    pub oss_provider: Option<OssProvider>,
    pub chatgpt_base_url: String,
    pub openai_base_url: String,
    pub providers: BTreeMap<String, ProviderToml>,
    /// `CODEX_OSS_BASE_URL`, as set (validated where it is used).
    pub oss_base_url_env: Option<String>,
    /// `CODEX_OSS_PORT`, as set.
    pub oss_port_env: Option<String>,
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
    #[error("Error loading configuration: {path}: it {problem}")]
    NotAFile {
        path: String,
        problem: crate::fsutil::ReadError,
    },
    #[error("Error loading configuration: {path}:{line}:{column}: {message}")]
    Invalid {
        path: String,
        line: usize,
        column: usize,
        message: String,
    },
    /// `value` is shown masked (`secret::shown_url`): a pasted secret must not be echoed.
    #[error(
        "{source_name} is {value}, which is not an http(s) URL; expected an issuer such as https://auth.example.com"
    )]
    BadIssuer { source_name: String, value: String },
    #[error("{name} is {value}; expected \"openai\" or \"oidc\"")]
    BadProtocol { name: &'static str, value: String },
    #[error("Error loading configuration: -c `{override_text}`: {message}")]
    BadOverride {
        override_text: String,
        message: String,
    },
}

impl From<BadIssuer> for ConfigError {
    fn from(bad: BadIssuer) -> ConfigError {
        ConfigError::BadIssuer {
            source_name: bad.source,
            value: bad.value,
        }
    }
}

impl Config {
    /// Loads the configuration for a command: `CODEX_HOME` from the environment, then
    /// `$CODEX_HOME/config.toml` (if present), then the `-c` overrides in order.
    pub fn load(overrides: &[String]) -> Result<Config, ConfigError> {
        let (codex_home, codex_home_is_default) = home::resolve_codex_home()?;
        let path = codex_home.join("config.toml");
        // config.toml is read under the file rules (see `fsutil`): a FIFO, a device or a
        // huge file is named and refused instead of hanging or filling the memory.
        let text = match crate::fsutil::read(&path, crate::fsutil::CONFIG_TOML_CAP) {
            Ok((bytes, _)) => Some(String::from_utf8(bytes).map_err(|e| {
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
            Err(crate::fsutil::ReadError::NotFound) => None,
            Err(crate::fsutil::ReadError::Io(e))
                if e.kind() == std::io::ErrorKind::NotADirectory =>
            {
                None
            }
            Err(crate::fsutil::ReadError::Io(source)) => {
                return Err(ConfigError::Unreadable {
                    path: path.display().to_string(),
                    source,
                });
            }
            Err(problem) => {
                return Err(ConfigError::NotAFile {
                    path: path.display().to_string(),
                    problem,
                });
            }
        };
        Config::parse(
            codex_home,
            codex_home_is_default,
            text.as_deref(),
            overrides,
        )
    }

    /// The settings from `config.toml`'s text (`None`: no file) and the `-c` overrides; the
    /// environment's settings join them. Reads no file.
    pub fn parse(
        codex_home: PathBuf,
        codex_home_is_default: bool,
        text: Option<&str>,
        overrides: &[String],
    ) -> Result<Config, ConfigError> {
        let path = codex_home.join("config.toml");
        let mut table = match text {
            Some(text) => toml_file::parse_file(&path, text)?,
            None => toml::Table::new(),
        };
        // Each override is checked as it is applied, so an error names that one alone.
        for raw in overrides {
            toml_file::apply_override(&mut table, raw)?;
            toml::Value::Table(table.clone())
                .try_into::<toml_file::ConfigToml>()
                .map_err(|e| ConfigError::BadOverride {
                    override_text: toml_file::override_key(raw),
                    message: crate::secret::redact_values(e.message()),
                })?;
        }
        let merged = table.clone();
        let typed: toml_file::ConfigToml =
            toml::Value::Table(table)
                .try_into()
                .map_err(|e: toml::de::Error| ConfigError::Invalid {
                    path: path.display().to_string(),
                    line: 1,
                    column: 1,
                    message: crate::secret::redact_values(e.message()),
                })?;
        let located = providers::Located::new(&path, text);
        let warnings = providers::check(&located, &merged, &typed.model_providers)?;
        let auth = resolve_auth(typed.auth)?;
        Ok(Config {
            codex_home,
            codex_home_is_default,
            store_mode: typed.cli_auth_credentials_store.unwrap_or_default(),
            forced_login_method: typed.forced_login_method,
            forced_chatgpt_workspace_id: typed
                .forced_chatgpt_workspace_id
                .filter(|w| !w.trim().is_empty()),
            auth,
            network: NetworkSettings::from_env(),
            models: ModelSettings {
                model: typed
                    .model
                    .or_else(|| nested_key(&typed.model_providers, |p| p.model.as_ref()))
                    .filter(|m| !m.trim().is_empty()),
                model_provider: typed
                    .model_provider
                    .or_else(|| nested_key(&typed.model_providers, |p| p.model_provider.as_ref()))
                    .filter(|p| !p.trim().is_empty()),
                oss_provider: typed.oss_provider,
                chatgpt_base_url: typed
                    .chatgpt_base_url
                    .filter(|u| !u.trim().is_empty())
                    .unwrap_or_else(|| DEFAULT_CHATGPT_BASE_URL.to_string()),
                openai_base_url: typed
                    .openai_base_url
                    .filter(|u| !u.trim().is_empty())
                    .unwrap_or_else(|| DEFAULT_OPENAI_BASE_URL.to_string()),
                providers: typed.model_providers,
                oss_base_url_env: env_text("CODEX_OSS_BASE_URL"),
                oss_port_env: env_text("CODEX_OSS_PORT"),
            },
            account: env_text("CODEX_ACCOUNT").map(|a| a.trim().to_string()),
            read_only: false,
            warnings,
        })
    }

    pub fn auth_file(&self) -> PathBuf {
        self.codex_home.join("auth.json")
    }
}

/// A top-level key that landed inside a `[model_providers.<id>]` table because it was written
/// below the table (the guide's Azure example does this): used when exactly one table has it.
fn nested_key(
    providers: &BTreeMap<String, ProviderToml>,
    get: impl Fn(&ProviderToml) -> Option<&String>,
) -> Option<String> {
    let mut found = providers.values().filter_map(get);
    match (found.next(), found.next()) {
        (Some(one), None) => Some(one.clone()),
        (Some(_), Some(_)) | (None, _) => None,
    }
}

fn env_text(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn resolve_auth(file: toml_file::AuthToml) -> Result<AuthSettings, ConfigError> {
    let issuer = match env_text("CODEX_AUTH_ISSUER") {
        Some(raw) => checked_issuer(&raw, "CODEX_AUTH_ISSUER").map_err(ConfigError::from)?,
        None => match file.issuer {
            Some(raw) => {
                checked_issuer(&raw, "[auth] issuer in config.toml").map_err(ConfigError::from)?
            }
            None => DEFAULT_ISSUER.to_string(),
        },
    };
    let client_id = env_text("CODEX_AUTH_CLIENT_ID")
        .or(file.client_id)
        .unwrap_or_else(|| DEFAULT_CLIENT_ID.to_string());
    let explicit = match env_text("CODEX_AUTH_PROTOCOL") {
        Some(raw) => Some(
            Protocol::parse(&raw).ok_or_else(|| ConfigError::BadProtocol {
                name: "CODEX_AUTH_PROTOCOL",
                value: crate::secret::shown_value(&raw, '`'),
            })?,
        ),
        None => file.protocol,
    };
    let authapi = env_text("CODEX_AUTHAPI_BASE_URL")
        .map(|raw| checked_issuer(&raw, "CODEX_AUTHAPI_BASE_URL"))
        .transpose()
        .map_err(ConfigError::from)?;
    Ok(AuthSettings {
        authapi,
        protocol: explicit.unwrap_or_else(|| default_protocol(&issuer)),
        protocol_was_defaulted: explicit.is_none(),
        issuer,
        client_id,
        scopes: file.scopes,
    })
}
