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
                    plain(std::fs::canonicalize(&path).map_err(|source| {
                        ConfigError::HomeUnreadable {
                            path: shown.clone(),
                            source,
                        }
                    })?),
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

/// Windows' `canonicalize` gives the verbatim form (`\\?\C:\Users\me\.codex`), which people do
/// not type and would then see in every message. The plain form names the same directory when it
/// is a drive path short enough for the classic file API, with no name that API reinterprets
/// (`CON`, a trailing dot or space). The keyring account is derived from the canonical form
/// again (`store::keyring::account_for`), so it stays the reference's.
#[cfg(windows)]
fn plain(path: PathBuf) -> PathBuf {
    let Some(rest) = path.to_str().and_then(|t| t.strip_prefix(r"\\?\")) else {
        return path;
    };
    let bytes = rest.as_bytes();
    let drive = bytes.len() > 3 && bytes[0].is_ascii_alphabetic() && &bytes[1..3] == b":\\";
    let reinterpreted = |name: &str| {
        let stem = name.split('.').next().unwrap_or("").to_ascii_uppercase();
        let numbered = stem.len() == 4
            && (stem.starts_with("COM") || stem.starts_with("LPT"))
            && stem.as_bytes()[3].is_ascii_digit();
        name.is_empty()
            || name.ends_with('.')
            || name.ends_with(' ')
            || numbered
            || matches!(stem.as_str(), "CON" | "PRN" | "AUX" | "NUL")
    };
    if drive && rest.len() < 260 && !rest[3..].split('\\').any(reinterpreted) {
        PathBuf::from(rest)
    } else {
        path
    }
}

#[cfg(not(windows))]
fn plain(path: PathBuf) -> PathBuf {
    path
}
