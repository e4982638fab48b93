//! The one place that reads `CODEX_HOME`, `config.toml` and `-c key=value` overrides and turns
//! them into typed settings. `config.toml` is shared with the full Codex CLI: unknown keys are
//! ignored, but a key we use with the wrong type is an error that names file, line and column.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use thiserror::Error;

use crate::secret::Secret;

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

/// How the issuer behaves: OpenAI's ChatGPT issuer, or any standards-compliant OpenID Connect
/// provider (endpoints from discovery, no OpenAI-only parameters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    OpenAi,
    Oidc,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::OpenAi => "openai",
            Protocol::Oidc => "oidc",
        }
    }
}

pub const DEFAULT_ISSUER: &str = "https://auth.openai.com";
pub const DEFAULT_CLIENT_ID: &str = "app_EMoamEEZ73f0CkXaXp7hrann";
/// Scopes asked of a standard OpenID Connect provider unless `[auth] scopes` says otherwise.
pub const OIDC_SCOPES: &[&str] = &["openid", "profile", "email", "offline_access"];

/// Who issues ChatGPT sign-in tokens: `[auth]` in config.toml, `CODEX_AUTH_*` variables, or
/// `codex login --issuer/--client-id`, in rising order of precedence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthSettings {
    /// Without a trailing slash.
    pub issuer: String,
    pub client_id: String,
    pub protocol: Protocol,
    /// `None`: the protocol's default scopes.
    pub scopes: Option<Vec<String>>,
    /// True when no setting named the protocol, so it follows the issuer.
    pub protocol_was_defaulted: bool,
}

impl AuthSettings {
    /// Settings for tokens minted by a known issuer (from `tokens.oauth_provenance`), keeping
    /// the configured protocol when the issuer is the configured one.
    pub fn for_issuer(&self, issuer: &str, client_id: &str) -> AuthSettings {
        let issuer = issuer.trim_end_matches('/').to_string();
        let protocol = if issuer == self.issuer {
            self.protocol
        } else {
            default_protocol(&issuer)
        };
        AuthSettings {
            issuer,
            client_id: client_id.to_string(),
            protocol,
            scopes: self.scopes.clone(),
            protocol_was_defaulted: false,
        }
    }

    /// Applies `--issuer` / `--client-id` from the command line.
    pub fn override_with(
        &mut self,
        issuer: Option<&str>,
        client_id: Option<&str>,
    ) -> Result<(), ConfigError> {
        if let Some(raw) = issuer {
            let issuer = checked_issuer(raw, "--issuer")?;
            if self.protocol_was_defaulted {
                self.protocol = default_protocol(&issuer);
            }
            self.issuer = issuer;
        }
        if let Some(id) = client_id {
            self.client_id = id.to_string();
        }
        Ok(())
    }
}

fn default_protocol(issuer: &str) -> Protocol {
    if issuer == DEFAULT_ISSUER {
        Protocol::OpenAi
    } else {
        Protocol::Oidc
    }
}

fn checked_issuer(raw: &str, source: &str) -> Result<String, ConfigError> {
    crate::http::http_url(raw).ok_or_else(|| ConfigError::BadIssuer {
        source_name: source.to_string(),
        value: crate::secret::shown_url(raw),
    })
}

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

pub const DEFAULT_CHATGPT_BASE_URL: &str = "https://chatgpt.com/backend-api/";
pub const DEFAULT_OPENAI_BASE_URL: &str = "https://api.openai.com/v1";

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

impl Choice for Protocol {
    const CHOICES: &'static [(&'static str, Self)] =
        &[("openai", Protocol::OpenAi), ("oidc", Protocol::Oidc)];
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
                "unknown value {}; expected one of {}",
                crate::secret::shown_value(&text),
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
    #[serde(default)]
    forced_chatgpt_workspace_id: Option<String>,
    #[serde(default)]
    auth: AuthToml,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    model_provider: Option<String>,
    #[serde(default, deserialize_with = "choice")]
    oss_provider: Option<OssProvider>,
    #[serde(default)]
    chatgpt_base_url: Option<String>,
    #[serde(default)]
    openai_base_url: Option<String>,
    #[serde(default)]
    model_providers: BTreeMap<String, ProviderToml>,
}

/// `[auth]`: the issuer override, for enterprises and tests.
#[derive(Debug, Default, Deserialize)]
struct AuthToml {
    #[serde(default)]
    issuer: Option<String>,
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default, deserialize_with = "choice")]
    protocol: Option<Protocol>,
    #[serde(default)]
    scopes: Option<Vec<String>>,
}

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

impl Config {
    /// Loads the configuration for a command: `CODEX_HOME` from the environment, then
    /// `$CODEX_HOME/config.toml` (if present), then the `-c` overrides in order.
    pub fn load(overrides: &[String]) -> Result<Config, ConfigError> {
        let (codex_home, codex_home_is_default) = resolve_codex_home()?;
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
        let mut table = match &text {
            Some(text) => parse_file(&path, text)?,
            None => toml::Table::new(),
        };
        // Each override is checked as it is applied, so an error names that one alone.
        for raw in overrides {
            apply_override(&mut table, raw)?;
            toml::Value::Table(table.clone())
                .try_into::<ConfigToml>()
                .map_err(|e| ConfigError::BadOverride {
                    override_text: override_key(raw),
                    message: crate::secret::redact_values(e.message()),
                })?;
        }
        let typed: ConfigToml =
            toml::Value::Table(table)
                .try_into()
                .map_err(|e: toml::de::Error| ConfigError::Invalid {
                    path: path.display().to_string(),
                    line: 1,
                    column: 1,
                    message: crate::secret::redact_values(e.message()),
                })?;
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

fn resolve_auth(file: AuthToml) -> Result<AuthSettings, ConfigError> {
    let issuer = match env_text("CODEX_AUTH_ISSUER") {
        Some(raw) => checked_issuer(&raw, "CODEX_AUTH_ISSUER")?,
        None => match file.issuer {
            Some(raw) => checked_issuer(&raw, "[auth] issuer in config.toml")?,
            None => DEFAULT_ISSUER.to_string(),
        },
    };
    let client_id = env_text("CODEX_AUTH_CLIENT_ID")
        .or(file.client_id)
        .unwrap_or_else(|| DEFAULT_CLIENT_ID.to_string());
    let explicit = match env_text("CODEX_AUTH_PROTOCOL") {
        Some(raw) => Some(
            Protocol::CHOICES
                .iter()
                .find(|(name, _)| *name == raw.trim())
                .map(|(_, p)| *p)
                .ok_or_else(|| ConfigError::BadProtocol {
                    name: "CODEX_AUTH_PROTOCOL",
                    value: crate::secret::shown_value(&raw),
                })?,
        ),
        None => file.protocol,
    };
    Ok(AuthSettings {
        protocol: explicit.unwrap_or_else(|| default_protocol(&issuer)),
        protocol_was_defaulted: explicit.is_none(),
        issuer,
        client_id,
        scopes: file.scopes,
    })
}

/// A setting read from an environment variable, with the variable's name for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FromEnv<T> {
    pub variable: &'static str,
    pub value: T,
}

/// What the environment says about the network. Only read here; checked (files opened, URLs
/// parsed) by `http::client`, so commands that make no request never fail on them.
#[derive(Debug, Clone, Default)]
pub struct NetworkSettings {
    /// `CODEX_CA_CERTIFICATE`, else `SSL_CERT_FILE`: a PEM bundle added to the system roots.
    pub ca_bundle: Option<FromEnv<PathBuf>>,
    /// `SSL_CERT_DIR`: directories of PEM certificates, also added to the system roots.
    pub cert_dirs: Vec<PathBuf>,
    /// Proxy URLs may carry a password, so they stay secret until `http` takes them apart.
    pub http_proxy: Option<FromEnv<Secret<String>>>,
    pub https_proxy: Option<FromEnv<Secret<String>>>,
    pub all_proxy: Option<FromEnv<Secret<String>>>,
    pub no_proxy: Option<FromEnv<String>>,
}

impl NetworkSettings {
    /// Reads the variables. An empty value counts as unset; for the proxy variables the
    /// upper-case name is looked at first, then the lower-case one.
    pub fn from_env() -> NetworkSettings {
        let path = |variable: &'static str| {
            std::env::var_os(variable)
                .filter(|v| !v.is_empty())
                .map(|v| FromEnv {
                    variable,
                    value: PathBuf::from(v),
                })
        };
        let text = |names: [&'static str; 2]| {
            names.into_iter().find_map(|variable| {
                env_text(variable).map(|value| FromEnv {
                    variable,
                    value: value.trim().to_string(),
                })
            })
        };
        let secret = |names: [&'static str; 2]| {
            text(names).map(|FromEnv { variable, value }| FromEnv {
                variable,
                value: Secret::new(value),
            })
        };
        NetworkSettings {
            ca_bundle: path("CODEX_CA_CERTIFICATE").or_else(|| path("SSL_CERT_FILE")),
            cert_dirs: std::env::var_os("SSL_CERT_DIR")
                .map(|dirs| {
                    std::env::split_paths(&dirs)
                        .filter(|d| !d.as_os_str().is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            http_proxy: secret(["HTTP_PROXY", "http_proxy"]),
            https_proxy: secret(["HTTPS_PROXY", "https_proxy"]),
            all_proxy: secret(["ALL_PROXY", "all_proxy"]),
            no_proxy: text(["NO_PROXY", "no_proxy"]),
        }
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
fn override_key(raw: &str) -> String {
    let key = match raw.split_once('=') {
        Some((key, _)) if !key.trim().is_empty() => key.trim(),
        Some(_) => return "=...".to_string(),
        None => raw,
    };
    let shown = crate::output::printable(key);
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
fn apply_override(table: &mut toml::Table, raw: &str) -> Result<(), ConfigError> {
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
