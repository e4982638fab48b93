//! `CODEX_HOME`: where credentials and config.toml live. When set, it must be an existing
//! directory (canonicalized, so the keyring account derived from it is stable); else `~/.codex`.

use std::path::PathBuf;

use super::ConfigError;

/// The directory and whether it is the default `~/.codex`.
pub(super) fn resolve_codex_home() -> Result<(PathBuf, bool), ConfigError> {
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
