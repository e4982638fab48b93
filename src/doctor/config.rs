//! Config rows: CODEX_HOME, config.toml (path:line:col when it does not parse), the active
//! provider and where each of its settings came from (config.toml, `-c`, environment, default).

use crate::config::Config;
use crate::oauth::DEFAULT_ISSUER;
use crate::provider::{self, Kind, Provider};

use super::{Group, Row};

/// Where settings were written: config.toml as a TOML table, and the keys of `-c` overrides.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    file: Option<toml::Table>,
    overrides: Vec<Vec<String>>,
    /// The `[mcp_servers.*]` names in the order config.toml has them (the parsed tables are
    /// sorted maps).
    mcp_order: Vec<String>,
}

impl Sources {
    fn read(config: &Config, overrides: &[String]) -> Sources {
        // Config::load has parsed it already; a file that changed since simply shows less.
        // Under the file rules (`fsutil`), as `Config::load` read it.
        let path = config.codex_home.join("config.toml");
        let text = crate::fsutil::read(&path, crate::fsutil::CONFIG_TOML_CAP)
            .ok()
            .and_then(|(bytes, _)| String::from_utf8(bytes).ok());
        let file = text.as_deref().and_then(|t| t.parse::<toml::Table>().ok());
        let mcp_order = text.as_deref().map(mcp_order).unwrap_or_default();
        let overrides = overrides
            .iter()
            .filter_map(|raw| raw.split_once('='))
            .map(|(key, _)| key.split('.').map(|p| p.trim().to_string()).collect())
            .collect();
        Sources {
            file,
            overrides,
            mcp_order,
        }
    }

    /// `names` in config.toml's order; names only `-c` set follow, sorted.
    pub fn in_mcp_order<'a>(&self, names: impl Iterator<Item = &'a String>) -> Vec<&'a String> {
        let mut names: Vec<&String> = names.collect();
        names.sort_by_key(|n| {
            self.mcp_order
                .iter()
                .position(|o| o == *n)
                .unwrap_or(usize::MAX)
        });
        names
    }

    /// `-c` or `config.toml` when the key at `path` was set there (`-c` wins, as in `load`).
    pub fn of(&self, path: &[&str]) -> Option<&'static str> {
        let by_override = self
            .overrides
            .iter()
            .any(|key| key.len() <= path.len() && key.iter().zip(path).all(|(a, b)| a == b));
        if by_override {
            return Some("-c");
        }
        let mut table = self.file.as_ref()?;
        let (last, parents) = path.split_last()?;
        for part in parents {
            table = table.get(*part)?.as_table()?;
        }
        table.contains_key(*last).then_some("config.toml")
    }

    /// `in config.toml`, `from -c`, or `by default`.
    pub fn said(&self, path: &[&str]) -> &'static str {
        match self.of(path) {
            Some("-c") => "from -c",
            Some(_) => "in config.toml",
            None => "by default",
        }
    }

    /// `(config.toml)`, `(-c)`, or `(default)`.
    pub fn shown(&self, path: &[&str]) -> String {
        format!("({})", self.of(path).unwrap_or("default"))
    }
}

/// The `[mcp_servers.*]` names of config.toml's text, in the order they first appear.
fn mcp_order(text: &str) -> Vec<String> {
    let Ok(document) = toml::de::DeTable::parse(text) else {
        return Vec::new();
    };
    let servers = document
        .get_ref()
        .iter()
        .find(|(key, _)| key.get_ref() == "mcp_servers")
        .and_then(|(_, value)| value.get_ref().as_table());
    let mut names: Vec<(usize, String)> = servers
        .into_iter()
        .flatten()
        .map(|(key, _)| (key.span().start, key.get_ref().to_string()))
        .collect();
    names.sort();
    names.into_iter().map(|(_, name)| name).collect()
}

pub struct Loaded {
    pub config: Config,
    pub sources: Sources,
}

/// Loads the configuration as every command does; rows say what was read, or what is wrong.
pub fn check(overrides: &[String], rows: &mut Vec<Row>) -> Option<Loaded> {
    let config = match Config::load(overrides) {
        Ok(config) => config,
        Err(err) => {
            rows.push(
                Row::fail(Group::Config, "configuration", err.to_string())
                    .fix("fix the file or setting named above; every command stops on it"),
            );
            return None;
        }
    };
    let sources = Sources::read(&config, overrides);
    let home = config.codex_home.display().to_string();
    rows.push(
        match (config.codex_home_is_default, config.codex_home.is_dir()) {
            (false, _) => Row::ok(
                Group::Config,
                "CODEX_HOME",
                format!("{home} (from CODEX_HOME)"),
            ),
            (true, true) => Row::ok(Group::Config, "CODEX_HOME", format!("{home} (default)")),
            (true, false) => Row::ok(
                Group::Config,
                "CODEX_HOME",
                format!("{home} (default; does not exist yet: the first sign-in creates it)"),
            ),
        },
    );
    let path = config.codex_home.join("config.toml");
    let mut found = if path.exists() {
        format!("{} parses", path.display())
    } else {
        format!("{} does not exist: defaults apply", path.display())
    };
    let keys: Vec<String> = sources.overrides.iter().map(|k| k.join(".")).collect();
    if !keys.is_empty() {
        found.push_str(&format!("; overridden with -c {}", keys.join(", -c ")));
    }
    rows.push(Row::ok(Group::Config, "config.toml", found));
    for warning in &config.warnings {
        let text = warning.strip_prefix("warning: ").unwrap_or(warning);
        rows.push(
            Row::warn(Group::Config, "unknown key", text)
                .fix("fix the key's spelling, or remove it"),
        );
    }
    rows.push(provider_row(&config, &sources));
    if let Ok(provider) = provider::select(&config, false)
        && provider.requires_openai_auth
        && config.forced_login_method != Some(crate::config::ForcedLoginMethod::Api)
    {
        rows.push(issuer_row(&config, &sources));
    }
    Some(Loaded { config, sources })
}

fn provider_row(config: &Config, sources: &Sources) -> Row {
    let provider = match provider::select(config, false) {
        Ok(provider) => provider,
        Err(err) => return Row::fail(Group::Config, "provider", err.to_string()),
    };
    let id = provider.id.as_str();
    let table = |field: &str| sources.shown(&["model_providers", id, field]);
    let mut parts = vec![format!(
        "`{id}` ({}; {})",
        describe_kind(&provider),
        match sources.of(&["model_provider"]) {
            Some(source) => format!("model_provider in {source}"),
            None if config.models.model_provider.is_some() => {
                format!("model_provider in config.toml, inside [model_providers.{id}]")
            }
            None => "the default provider".to_string(),
        }
    )];
    match provider.kind {
        Kind::OpenAi => {
            let bases = [
                ("openai_base_url", &config.models.openai_base_url),
                ("chatgpt_base_url", &config.models.chatgpt_base_url),
            ];
            for (key, value) in bases {
                if let Some(source) = sources.of(&[key]) {
                    parts.push(format!("{key} {} ({source})", shown(value)));
                }
            }
        }
        Kind::Azure | Kind::Custom | Kind::AmazonBedrock | Kind::Oss(_) => {
            if let Some(url) = &provider.base_url {
                parts.push(format!("base_url {} {}", shown(url), table("base_url")));
            }
        }
    }
    if let Some(var) = &provider.env_key {
        parts.push(format!(
            "key from ${var} (env_key {})",
            sources.said(&["model_providers", id, "env_key"])
        ));
    }
    if provider.kind == Kind::AmazonBedrock {
        let aws = &provider.aws;
        parts.push(format!(
            "AWS profile {}, region {}",
            aws.profile
                .as_deref()
                .unwrap_or("from AWS_PROFILE / default"),
            aws.region
                .as_deref()
                .unwrap_or("from the profile / AWS_REGION")
        ));
    }
    let model = match (&config.models.model, default_model(&provider)) {
        (Some(model), _) => {
            let source = sources
                .of(&["model"])
                .map(str::to_string)
                .unwrap_or_else(|| format!("config.toml, inside [model_providers.{id}]"));
            Some(format!("model `{model}` ({source})"))
        }
        (None, Some(default)) => Some(format!("model `{default}` (default)")),
        (None, None) => None,
    };
    let found = parts
        .into_iter()
        .chain(model.clone())
        .collect::<Vec<_>>()
        .join("; ");
    match model {
        Some(_) => Row::ok(Group::Config, "provider", found),
        None => Row::warn(
            Group::Config,
            "provider",
            format!("{found}; no model is set"),
        )
        .fix("set model = \"...\" in config.toml (or pass -m MODEL to codex exec)"),
    }
}

fn describe_kind(provider: &Provider) -> String {
    match provider.kind {
        Kind::OpenAi => "built-in, OpenAI".to_string(),
        Kind::AmazonBedrock => "built-in, Amazon Bedrock".to_string(),
        Kind::Oss(_) => format!("built-in, local server {}", provider.name),
        Kind::Azure => format!(
            "\"{}\", Azure OpenAI: the key goes in the `api-key` header",
            provider.name
        ),
        Kind::Custom => format!("\"{}\", [model_providers.{}]", provider.name, provider.id),
    }
}

fn default_model(provider: &Provider) -> Option<&'static str> {
    match provider.kind {
        Kind::OpenAi => Some(provider::DEFAULT_OPENAI_MODEL),
        Kind::Oss(which) => Some(provider::oss::default_model(which)),
        Kind::Azure | Kind::Custom | Kind::AmazonBedrock => None,
    }
}

fn issuer_row(config: &Config, sources: &Sources) -> Row {
    let auth = &config.auth;
    let env = |name: &str| crate::provider::env_value(name).is_some();
    let source = if env("CODEX_AUTH_ISSUER") {
        "from CODEX_AUTH_ISSUER".to_string()
    } else if let Some(source) = sources.of(&["auth", "issuer"]) {
        format!("[auth] issuer, {source}")
    } else if auth.issuer == DEFAULT_ISSUER {
        "default".to_string()
    } else {
        "configured".to_string()
    };
    Row::ok(
        Group::Config,
        "issuer for new sign-ins",
        format!(
            "{} ({source}; protocol {}, client {})",
            shown(&auth.issuer),
            auth.protocol.as_str(),
            auth.client_id
        ),
    )
}

/// A URL as the report shows it: user name, password and query masked (they may hold a key).
fn shown(url: &str) -> String {
    crate::secret::masked_url(url).unwrap_or_else(|| crate::secret::shown_url(url))
}
