//! The file store: `$CODEX_HOME/auth.json`, 0600, written atomically (temp file in the same
//! directory, fsync, rename, fsync of the directory) while holding the lock. A symlinked
//! auth.json is followed: the file at the end of the link is the store, so a save updates it and
//! a delete removes it (the reference leaves the target holding the key).

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{StoreError, StoreLock};
use crate::auth::AuthDotJson;
use crate::config::Config;

const TEMP_PREFIX: &str = ".auth.json.tmp.";

pub struct FileStore {
    codex_home: PathBuf,
    path: PathBuf,
    /// The folder kept private (0700) on save: CODEX_HOME, or the saved accounts' folder.
    private_dir: PathBuf,
}

impl FileStore {
    pub fn new(config: &Config) -> FileStore {
        FileStore {
            codex_home: config.codex_home.clone(),
            path: config.auth_file(),
            private_dir: config.codex_home.clone(),
        }
    }

    /// A credentials file of CODEX_HOME other than auth.json (a saved account's copy), in
    /// `dir`, which is kept private like CODEX_HOME.
    pub fn at(codex_home: &Path, dir: &Path, path: PathBuf) -> FileStore {
        FileStore {
            codex_home: codex_home.to_path_buf(),
            path,
            private_dir: dir.to_path_buf(),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn codex_home(&self) -> &Path {
        &self.codex_home
    }

    /// The real file behind `auth.json`, following symlinks (also dangling ones).
    fn target(&self) -> Result<PathBuf, StoreError> {
        let mut current = self.path.clone();
        for _ in 0..40 {
            match std::fs::symlink_metadata(&current) {
                Ok(meta) if meta.file_type().is_symlink() => {
                    let link = std::fs::read_link(&current)
                        .map_err(|e| StoreError::io("read the link", &current, e))?;
                    current = match current.parent() {
                        Some(parent) => parent.join(link),
                        None => link,
                    };
                }
                _ => return Ok(current),
            }
        }
        Err(StoreError::io(
            "follow the links of",
            &self.path,
            std::io::Error::other("too many levels of symbolic links"),
        ))
    }

    /// Moves an unparseable auth.json aside to `auth.json.bak` (0600) so that a new sign-in does
    /// not destroy what may be the user's only copy. Returns the backup's path.
    pub fn back_up_unparseable(&self, _lock: &StoreLock) -> Result<PathBuf, StoreError> {
        let target = self.target()?;
        // An earlier backup is never overwritten: the next free `.bak`, `.bak.1`, `.bak.2`, ...
        let backup = (0..)
            .map(|n| match n {
                0 => PathBuf::from(format!("{}.bak", target.display())),
                n => PathBuf::from(format!("{}.bak.{n}", target.display())),
            })
            .find(|p| std::fs::symlink_metadata(p).is_err())
            .expect("some backup name is free");
        std::fs::rename(&target, &backup).map_err(|e| StoreError::io("move aside", &target, e))?;
        set_private(&backup)?;
        Ok(backup)
    }

    /// Removes temp files left by a writer that died mid-write: they may hold a secret. Only
    /// called under the lock, when no other writer can be mid-write.
    fn remove_stale_temp_files(dir: &Path) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
                tracing::debug!(path = %entry.path().display(), "removing a stale temp file");
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

impl FileStore {
    pub fn location(&self) -> String {
        self.path.display().to_string()
    }

    pub fn load(&self) -> Result<Option<AuthDotJson>, StoreError> {
        let bytes = match std::fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(StoreError::io("read", &self.path, e)),
        };
        tracing::trace!(path = %self.path.display(), bytes = bytes.len(), "read credentials");
        parse(&self.path, &bytes).map(Some)
    }

    pub fn save(&self, _lock: &StoreLock, auth: &AuthDotJson) -> Result<(), StoreError> {
        let target = self.target()?;
        let dir = target
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| self.codex_home.clone());
        super::lock::ensure_private_dir(&self.private_dir)?;
        Self::remove_stale_temp_files(&dir);
        replace_atomically(&dir, &target, auth.to_pretty_json().as_bytes())?;
        tracing::debug!(path = %target.display(), "saved credentials");
        Ok(())
    }

    pub fn delete(&self, _lock: &StoreLock) -> Result<bool, StoreError> {
        let target = self.target()?;
        let mut removed = false;
        for path in [&target, &self.path] {
            match std::fs::remove_file(path) {
                Ok(()) => removed = true,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(StoreError::io("remove", path, e)),
            }
        }
        if let Some(dir) = target.parent() {
            Self::remove_stale_temp_files(dir);
            // Nothing removed: nothing to make durable (and the folder may not exist).
            if removed {
                sync_dir(dir)?;
            }
        }
        Ok(removed)
    }
}

/// Parses auth.json bytes; a failure names the file, line and column.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<AuthDotJson, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Malformed {
        path: path.to_path_buf(),
        line: e.line(),
        column: e.column(),
        message: crate::secret::json_error_message(&e),
    })
}

/// Replaces `target` (in `dir`) by `bytes`: a 0600 temp file, fsync, rename, fsync of `dir`. The
/// caller holds the lock; a crash leaves the old or the new content, never a mix.
pub fn replace_atomically(dir: &Path, target: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let temp = dir.join(format!(
        "{TEMP_PREFIX}{}.{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0)
    ));
    let result = write_synced(&temp, bytes).and_then(|()| {
        std::fs::rename(&temp, target).map_err(|e| StoreError::io("replace", target, e))
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result?;
    sync_dir(dir)
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .map_err(|e| StoreError::io("create", path, e))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| StoreError::io("write", path, e))?;
    set_private(path)
}

fn set_private(path: &Path) -> Result<(), StoreError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| StoreError::io("set permissions 0600 on", path, e))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    #[cfg(unix)]
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| StoreError::io("sync the directory", dir, e))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_error_has_line_and_column() {
        let err = parse(Path::new("/x/auth.json"), b"{\n  \"a\": 1,,\n}").unwrap_err();
        match err {
            StoreError::Malformed { line, column, .. } => {
                assert_eq!(line, 2);
                assert!(column > 1);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
