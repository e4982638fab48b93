//! The file store: `$CODEX_HOME/auth.json`, 0600, written atomically (temp file in the same
//! directory, fsync, rename, fsync of the directory) while holding the lock. A symlinked
//! auth.json is followed: the file at the end of the link is the store, so a save updates it and
//! a delete removes it (the reference leaves the target holding the key).
//!
//! What this store touches (the file rules of `fsutil`, applied to a credentials file):
//! - It reads auth.json only through `fsutil::read`: a regular file, opened without blocking, at
//!   most 8 MiB. A link to a device (`/dev/null`), a FIFO or a huge file is named and refused.
//! - It only deletes or replaces a credentials document. Through a link, that means a file that
//!   parses and has one of `auth_mode`, `OPENAI_API_KEY`, `tokens`; anything else there (a
//!   `package.json`, an unparseable file) is neither overwritten, moved nor removed, and the
//!   error says why. An unparseable auth.json in CODEX_HOME itself is moved aside to a backup.
//! - It only changes the modes of what it creates: its temp file and backups (0600) and a
//!   CODEX_HOME it creates (0700). A credentials file or directory others can reach gets a
//!   warning (returned as a notice, see `take_notices`), never a silent chmod.

use std::cell::RefCell;
use std::fs::Metadata;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::{Seen, StoreError, StoreLock};
use crate::auth::AuthDotJson;
use crate::config::Config;
use crate::fsutil::{self, ReadError};
use crate::notice::Notice;

const TEMP_PREFIX: &str = ".auth.json.tmp.";
/// How many `.bak` names a backup tries before it gives up.
const MAX_BACKUPS: u32 = 1000;
/// The keys of which a credentials document has at least one.
const CREDENTIAL_KEYS: [&str; 3] = ["auth_mode", "OPENAI_API_KEY", "tokens"];

pub struct FileStore {
    codex_home: PathBuf,
    path: PathBuf,
    /// The folder it writes into: CODEX_HOME, or the saved accounts' folder (created 0700).
    private_dir: PathBuf,
    /// The file last read, when other users can read or change it (until a save replaces it).
    loose: RefCell<Option<(PathBuf, u32)>>,
    /// Warnings of the last save (a directory others can write to), for the store to pass on.
    notices: RefCell<Vec<Notice>>,
}

/// What auth.json holds, when it can be used.
struct Read {
    doc: AuthDotJson,
    meta: Metadata,
    target: PathBuf,
}

impl FileStore {
    pub fn new(config: &Config) -> FileStore {
        FileStore {
            codex_home: config.codex_home.clone(),
            path: config.auth_file(),
            private_dir: config.codex_home.clone(),
            loose: RefCell::new(None),
            notices: RefCell::new(Vec::new()),
        }
    }

    /// A credentials file of CODEX_HOME other than auth.json (a saved account's copy), in
    /// `dir`, which is created like CODEX_HOME.
    pub fn at(codex_home: &Path, dir: &Path, path: PathBuf) -> FileStore {
        FileStore {
            codex_home: codex_home.to_path_buf(),
            path,
            private_dir: dir.to_path_buf(),
            loose: RefCell::new(None),
            notices: RefCell::new(Vec::new()),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn codex_home(&self) -> &Path {
        &self.codex_home
    }

    /// The warnings of the last save, emptied.
    pub fn take_notices(&self) -> Vec<Notice> {
        std::mem::take(&mut *self.notices.borrow_mut())
    }

    /// When the file last read can be read or changed by other users: the warning that says
    /// so and names the fix. Read-only commands show it; none of them chmods the file.
    pub fn loose_permissions(&self) -> Option<Notice> {
        let (path, mode) = self.loose.borrow().clone()?;
        let who = if mode & 0o044 != 0 {
            "can be read by other users"
        } else {
            "can be changed by other users"
        };
        Some(Notice::warning(format!(
            "warning: `{}` {who} (mode {mode:04o}); make it private: chmod 600 {}",
            path.display(),
            path.display()
        )))
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

    /// "`auth.json` is ..." or, through a link, "`auth.json` is a link to `x`, which is ...".
    fn describe(&self, target: &Path, clause: &str) -> String {
        if target == self.path {
            format!("`{}` {clause}", self.path.display())
        } else {
            format!(
                "`{}` is a link to `{}`, which {clause}",
                self.path.display(),
                target.display()
            )
        }
    }

    fn not_ours(&self, target: &Path, clause: &str, remedy: String, seen: Seen) -> StoreError {
        StoreError::NotOurs {
            problem: self.describe(target, clause),
            remedy,
            seen,
        }
    }

    fn keep_it_or_remove_it(&self) -> String {
        format!(
            "credentials are kept only in a regular file: remove it ({}) and sign in again, or keep it and set cli_auth_credentials_store = \"keyring\"",
            crate::fsutil::remove_command(&self.path)
        )
    }

    /// Reads auth.json (following links) under the file rules. `Ok(None)`: there is none.
    fn read(&self) -> Result<Option<Read>, StoreError> {
        let target = self.target()?;
        let (bytes, meta) = match fsutil::read(&self.path, fsutil::AUTH_JSON_CAP) {
            Ok(read) => read,
            Err(ReadError::NotFound) => return Ok(None),
            Err(ReadError::Io(e)) => return Err(StoreError::io("read", &self.path, e)),
            Err(e @ (ReadError::NotRegular(_) | ReadError::TooLarge(_))) => {
                return Err(self.not_ours(
                    &target,
                    &e.to_string(),
                    self.keep_it_or_remove_it(),
                    Seen::Unread,
                ));
            }
        };
        tracing::trace!(path = %self.path.display(), bytes = bytes.len(), "read credentials");
        let doc = parse(&self.path, &bytes)?;
        if target != self.path && !is_credentials_document(&bytes) {
            return Err(self.foreign(&target));
        }
        Ok(Some(Read { doc, meta, target }))
    }

    /// Whether auth.json (after its links) may be replaced or removed: `Ok(None)` when there is
    /// none, `Ok(Some(target))` when it is ours, an error saying why not otherwise. Ours is a
    /// regular file within the cap; behind a link, only a credentials document. (A file in
    /// CODEX_HOME is not parsed here: an unparseable one is the caller's to back up.)
    fn ours(&self) -> Result<Option<PathBuf>, StoreError> {
        let target = self.target()?;
        let refused = |e: ReadError| {
            self.not_ours(
                &target,
                &e.to_string(),
                self.keep_it_or_remove_it(),
                Seen::Unread,
            )
        };
        let (file, meta) = match fsutil::open_regular(&self.path) {
            Ok(opened) => opened,
            Err(ReadError::NotFound) => return Ok(None),
            Err(ReadError::Io(e)) => return Err(StoreError::io("read", &self.path, e)),
            Err(e) => return Err(refused(e)),
        };
        if meta.len() > fsutil::AUTH_JSON_CAP.bytes {
            return Err(refused(ReadError::TooLarge(fsutil::AUTH_JSON_CAP)));
        }
        if target == self.path {
            return Ok(Some(target));
        }
        let bytes = match fsutil::read_capped(file, fsutil::AUTH_JSON_CAP) {
            Ok(bytes) => bytes,
            Err(ReadError::Io(e)) => return Err(StoreError::io("read", &self.path, e)),
            Err(e) => return Err(refused(e)),
        };
        if parse(&self.path, &bytes).is_err() {
            return Err(self.not_ours(
                &target,
                "cannot be parsed",
                format!(
                    "codex does not overwrite a file behind a link: fix it, point the link elsewhere, or remove the link ({}) and sign in again",
                    crate::fsutil::remove_command(&self.path)
                ),
                Seen::Unread,
            ));
        }
        if !is_credentials_document(&bytes) {
            return Err(self.foreign(&target));
        }
        Ok(Some(target))
    }

    fn foreign(&self, target: &Path) -> StoreError {
        self.not_ours(
            target,
            "is not a credentials file (it has none of `auth_mode`, `OPENAI_API_KEY`, `tokens`)",
            format!(
                "codex neither reads nor overwrites it: point the link at your credentials file, or remove the link ({}) and sign in again",
                crate::fsutil::remove_command(&self.path)
            ),
            Seen::NoCredentials,
        )
    }

    /// Moves an unparseable auth.json aside to `auth.json.bak` (0600) so that a new sign-in does
    /// not destroy what may be the user's only copy. Returns the backup's path. Only a regular
    /// file in CODEX_HOME is moved: the file behind a link is not ours to rename.
    pub fn back_up_unparseable(&self, _lock: &StoreLock) -> Result<PathBuf, StoreError> {
        let target = self.target()?;
        if target != self.path {
            return Err(self.not_ours(
                &target,
                "cannot be parsed",
                format!(
                    "codex does not move or overwrite a file behind a link: fix it, point the link elsewhere, or remove the link ({}) and sign in again",
                    crate::fsutil::remove_command(&self.path)
                ),
                Seen::Unread,
            ));
        }
        // An earlier backup is never overwritten: the next free `.bak`, `.bak.1`, `.bak.2`, ...
        // A name is free only when it does not exist (one that cannot be looked at may be
        // taken: it is skipped), and the rename itself refuses to replace, so a backup made
        // meanwhile by another program survives too.
        let mut unchecked = None;
        for n in 0..MAX_BACKUPS {
            let backup = match n {
                0 => PathBuf::from(format!("{}.bak", target.display())),
                n => PathBuf::from(format!("{}.bak.{n}", target.display())),
            };
            match std::fs::symlink_metadata(&backup) {
                Ok(_) => continue,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    tracing::debug!(path = %backup.display(), %e, "cannot check a backup name; skipped");
                    unchecked = Some((backup, e));
                    continue;
                }
            }
            match rename_no_replace(&target, &backup) {
                Ok(()) => {
                    set_private(&backup)?;
                    return Ok(backup);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(StoreError::io("move aside", &target, e)),
            }
        }
        Err(match unchecked {
            Some((backup, e)) => StoreError::io("check the backup name", backup, e),
            None => StoreError::io(
                "move aside",
                &target,
                std::io::Error::other(format!(
                    "{MAX_BACKUPS} backups of it exist already; remove the old `.bak` files"
                )),
            ),
        })
    }

    /// Removes temp files left by a writer that died mid-write: they may hold a secret. Only
    /// called under the lock, when no other writer can be mid-write; only regular files with
    /// our prefix, which only we write.
    fn remove_stale_temp_files(dir: &Path) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let ours = entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX)
                && entry.file_type().is_ok_and(|t| t.is_file());
            if ours {
                tracing::debug!(path = %entry.path().display(), "removing a stale temp file");
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

/// Whether auth.json text is a credentials document (not, say, a `package.json` behind a link).
fn is_credentials_document(bytes: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(bytes)
        .is_ok_and(|map| CREDENTIAL_KEYS.iter().any(|k| map.contains_key(*k)))
}

impl FileStore {
    pub fn location(&self) -> String {
        self.path.display().to_string()
    }

    pub fn load(&self) -> Result<Option<AuthDotJson>, StoreError> {
        let Some(read) = self.read()? else {
            return Ok(None);
        };
        *self.loose.borrow_mut() = fsutil::loose_mode(&read.meta).map(|mode| (read.target, mode));
        Ok(Some(read.doc))
    }

    pub fn save(&self, _lock: &StoreLock, auth: &AuthDotJson) -> Result<(), StoreError> {
        // Only what is ours is replaced; anything else is refused here, whoever calls.
        self.ours()?;
        let target = self.target()?;
        let dir = target
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| self.codex_home.clone());
        if let Some(warning) = super::lock::ensure_dir(&self.private_dir)? {
            self.notices.borrow_mut().push(Notice::warning(warning));
        }
        Self::remove_stale_temp_files(&dir);
        replace_atomically(&dir, &target, auth.to_pretty_json().as_bytes())?;
        // The file others could read is gone: ours replaced it, 0600.
        self.loose.replace(None);
        tracing::debug!(path = %target.display(), "saved credentials");
        Ok(())
    }

    /// Removes auth.json when it holds credentials (through a link: the file behind it, then
    /// the link). Anything else is left in place: `Ok(false)`. The caller that must say why
    /// (logout) reads the file first.
    pub fn delete(&self, _lock: &StoreLock) -> Result<bool, StoreError> {
        let target = match self.ours() {
            Ok(Some(target)) => target,
            Ok(None) | Err(StoreError::NotOurs { .. }) => return Ok(false),
            Err(other) => return Err(other),
        };
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
    parse_json(path, bytes)
}

/// Parses the bytes of a JSON credentials file (auth.json, `.credentials.json`); a failure
/// names the file, line and column, never a value.
pub fn parse_json<D: serde::de::DeserializeOwned>(
    path: &Path,
    bytes: &[u8],
) -> Result<D, StoreError> {
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
    replace_atomically_named(dir, target, bytes, TEMP_PREFIX)
}

/// `replace_atomically` with temp files named `{prefix}...`: another document's writer (the MCP
/// token store, under its own lock) must not have its temp file taken for a stale one of ours.
pub fn replace_atomically_named(
    dir: &Path,
    target: &Path,
    bytes: &[u8],
    prefix: &str,
) -> Result<(), StoreError> {
    let temp = dir.join(format!(
        "{prefix}{}.{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0)
    ));
    let result = write_synced(&temp, bytes).and_then(|()| {
        rename_over(&temp, target).map_err(|e| StoreError::io("replace", target, e))
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result?;
    sync_dir(dir)
}

/// Renames `temp` over `target`. Windows refuses to replace a file that another process has
/// open without delete sharing (a reader of the same document, under Wine too): that refusal is
/// brief, so the rename is tried again for up to 2 s before the error stands.
fn rename_over(temp: &Path, target: &Path) -> std::io::Result<()> {
    #[cfg(windows)]
    {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        loop {
            match std::fs::rename(temp, target) {
                Err(e)
                    if e.kind() == std::io::ErrorKind::PermissionDenied
                        && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                other => return other,
            }
        }
    }
    #[cfg(not(windows))]
    std::fs::rename(temp, target)
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

/// Renames `from` to `to` unless `to` exists (then `AlreadyExists`, and nothing changed): one
/// atomic `renameat2(RENAME_NOREPLACE)` on Linux; elsewhere, and on filesystems without that
/// flag, a hard link (which never replaces) and the removal of the old name.
fn rename_no_replace(from: &Path, to: &Path) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::ffi::OsStrExt;
        let c_path = |p: &Path| {
            std::ffi::CString::new(p.as_os_str().as_bytes())
                .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))
        };
        let (old, new) = (c_path(from)?, c_path(to)?);
        // SAFETY: two NUL-terminated paths that live through the call.
        let done = unsafe {
            libc::renameat2(
                libc::AT_FDCWD,
                old.as_ptr(),
                libc::AT_FDCWD,
                new.as_ptr(),
                libc::RENAME_NOREPLACE,
            )
        };
        if done == 0 {
            return Ok(());
        }
        let err = std::io::Error::last_os_error();
        match err.raw_os_error() {
            // The filesystem (or a kernel before 3.15) does not know the flag.
            Some(libc::EINVAL | libc::ENOSYS | libc::EOPNOTSUPP) => {}
            _ => return Err(err),
        }
    }
    std::fs::hard_link(from, to)?;
    std::fs::remove_file(from)
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
