//! The rules of `[model_providers.<id>]` tables that their types cannot say: an `auth` command
//! is not empty, has a timeout and an absolute `cwd`, and is the provider's only credential key
//! (PROTOCOL.md, "Provider auth command"). Each error is located (path:line:column, or the `-c`
//! override). Keys this program does not know get a warning naming the key, the table and the
//! line: the file is shared with the reference CLI, so an unknown key never stops a command.

use std::collections::BTreeMap;
use std::path::Path;

use toml::de::{DeTable, DeValue};

use super::ConfigError;
use super::toml_file::line_col;
use crate::provider::schema::{AUTH_KEYS, PROVIDER_KEYS, ProviderToml};
use crate::untrusted::printable;

/// Where keys are in config.toml's text, for errors and warnings.
pub(super) struct Located<'a> {
    path: &'a Path,
    text: &'a str,
    doc: Option<DeTable<'a>>,
}

impl<'a> Located<'a> {
    pub(super) fn new(path: &'a Path, text: Option<&'a str>) -> Located<'a> {
        let text = text.unwrap_or("");
        Located {
            path,
            text,
            doc: DeTable::parse(text).ok().map(|t| t.into_inner()),
        }
    }

    /// The line and column of the key at `keys` in the file; `None` when the file does not
    /// have it (it came from a `-c` override).
    fn find(&self, keys: &[&str]) -> Option<(usize, usize)> {
        let mut table = self.doc.as_ref()?;
        let (last, parents) = keys.split_last()?;
        for key in parents {
            let (_, value) = table.iter().find(|(k, _)| k.get_ref() == key)?;
            match value.get_ref() {
                DeValue::Table(inner) => table = inner,
                _ => return None,
            }
        }
        let (key, _) = table.iter().find(|(k, _)| k.get_ref() == last)?;
        Some(line_col(self.text, key.span().start))
    }

    fn error(&self, keys: &[&str], message: String) -> ConfigError {
        match self.find(keys) {
            Some((line, column)) => ConfigError::Invalid {
                path: self.path.display().to_string(),
                line,
                column,
                message,
            },
            None => ConfigError::BadOverride {
                override_text: printable(&keys.join(".")).into_owned(),
                message,
            },
        }
    }

    /// `path:line` of a key, or the `-c` override it came from.
    fn place(&self, keys: &[&str]) -> String {
        match self.find(keys) {
            Some((line, _)) => format!("{}:{line}", self.path.display()),
            None => format!("-c `{}`", printable(&keys.join("."))),
        }
    }
}

/// Checks every provider table; returns the warnings about keys this program does not know.
pub(super) fn check(
    located: &Located<'_>,
    table: &toml::Table,
    providers: &BTreeMap<String, ProviderToml>,
) -> Result<Vec<String>, ConfigError> {
    for (id, provider) in providers {
        check_auth(located, id, provider)?;
    }
    Ok(unknown_keys(located, table))
}

fn check_auth(located: &Located<'_>, id: &str, provider: &ProviderToml) -> Result<(), ConfigError> {
    let Some(auth) = &provider.auth else {
        return Ok(());
    };
    let shown = printable(id);
    let at = |key: &'static str| ["model_providers", id, "auth", key];
    if auth.command.trim().is_empty() {
        return Err(located.error(
            &at("command"),
            format!("model_providers.{shown}: provider auth.command must not be empty"),
        ));
    }
    let mut beside = Vec::new();
    if provider.env_key.is_some() {
        beside.push("env_key");
    }
    if provider.experimental_bearer_token.is_some() {
        beside.push("experimental_bearer_token");
    }
    if provider.requires_openai_auth == Some(true) {
        beside.push("requires_openai_auth");
    }
    if !beside.is_empty() {
        return Err(located.error(
            &["model_providers", id, "auth"],
            format!(
                "model_providers.{shown}: provider auth cannot be combined with {}",
                beside.join(", ")
            ),
        ));
    }
    if auth.timeout_ms == Some(0) {
        return Err(located.error(
            &at("timeout_ms"),
            format!(
                "model_providers.{shown}: provider auth.timeout_ms must be greater than 0; leave it out for the default of 5000"
            ),
        ));
    }
    if let Some(cwd) = &auth.cwd
        && !Path::new(cwd).is_absolute()
    {
        return Err(located.error(
            &at("cwd"),
            format!(
                "model_providers.{shown}: provider auth.cwd must be an absolute path, such as /home/me/project"
            ),
        ));
    }
    Ok(())
}

/// A warning for each key of a provider table or its `auth` table that is not read here.
fn unknown_keys(located: &Located<'_>, table: &toml::Table) -> Vec<String> {
    let mut warnings = Vec::new();
    let Some(toml::Value::Table(providers)) = table.get("model_providers") else {
        return warnings;
    };
    let mut warn = |keys: &[&str], table_name: String| {
        warnings.push(format!(
            "warning: {}: `{}` is not a key of [{table_name}], so it is ignored; check its spelling",
            located.place(keys),
            printable(keys[keys.len() - 1]),
        ));
    };
    for (id, provider) in providers {
        let toml::Value::Table(provider) = provider else {
            continue;
        };
        let shown = printable(id);
        for (key, value) in provider {
            if !PROVIDER_KEYS.contains(&key.as_str()) {
                warn(
                    &["model_providers", id, key],
                    format!("model_providers.{shown}"),
                );
            } else if key == "auth"
                && let toml::Value::Table(auth) = value
            {
                for key in auth.keys().filter(|k| !AUTH_KEYS.contains(&k.as_str())) {
                    warn(
                        &["model_providers", id, "auth", key],
                        format!("model_providers.{shown}.auth"),
                    );
                }
            }
        }
    }
    warnings
}
