//! The cross-process lock: an OS advisory lock (`flock`) on `$CODEX_HOME/auth.lock`. The kernel
//! drops it when the holder exits, so a crashed process never blocks the next one. The lock file
//! is opened under the file rules (`fsutil::open_lock_file`): never through a link, without
//! blocking, and only if it is a regular file. CODEX_HOME is created 0700 when it does not
//! exist; an existing directory keeps its mode (we only change the modes of what we create).

use std::fs::File;
use std::path::Path;

use super::StoreError;
use crate::notice::{Notice, Notify};

/// A refresh holds the lock for at most about 2 minutes (3 bounded attempts and backoff); past
/// that the holder is stuck (a suspended process, say) and waiting longer helps nobody.
const LOCK_PATIENCE: std::time::Duration = std::time::Duration::from_secs(150);
const LOCK_NOTICE_AFTER: std::time::Duration = std::time::Duration::from_secs(2);

/// Held while a process reads, changes and writes the credentials. Dropping it unlocks.
#[derive(Debug)]
pub struct StoreLock {
    _file: File,
}

impl StoreLock {
    /// Blocks until this process holds the lock. Creates CODEX_HOME (0700) when needed.
    pub fn acquire(codex_home: &Path, notify: &dyn Notify) -> Result<StoreLock, StoreError> {
        StoreLock::acquire_file(
            codex_home,
            "auth.lock",
            "another `codex` process that is updating the credentials",
            notify,
        )
    }

    /// The same lock on another file of ours (`dir/name`, `dir` created 0700 when needed), for
    /// another secret beside the credentials; `waiting_for` says whom a long wait is for.
    pub fn acquire_file(
        dir: &Path,
        name: &str,
        waiting_for: &str,
        notify: &dyn Notify,
    ) -> Result<StoreLock, StoreError> {
        // A directory open to others is warned about when credentials are saved into it.
        ensure_dir(dir)?;
        let path = dir.join(name);
        let file = crate::fsutil::open_lock_file(&path).map_err(|e| match e {
            crate::fsutil::ReadError::Io(e) => StoreError::io("open the lock file", &path, e),
            other => StoreError::NotOurs {
                problem: format!("`{}` {other}", path.display()),
                remedy: format!(
                    "it is the lock file of the credentials: remove it ({}) and codex makes a new one",
                    crate::fsutil::remove_command(&path)
                ),
                seen: super::Seen::Unread,
            },
        })?;
        tracing::trace!(path = %path.display(), "waiting for the credentials lock");
        let start = std::time::Instant::now();
        let mut told = false;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(std::fs::TryLockError::WouldBlock) => {}
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(StoreError::io("lock", &path, e));
                }
            }
            let waited = start.elapsed();
            if waited >= LOCK_PATIENCE {
                return Err(StoreError::LockTimeout {
                    path,
                    secs: LOCK_PATIENCE.as_secs(),
                });
            }
            if !told && waited >= LOCK_NOTICE_AFTER {
                notify.notify(Notice::note(format!(
                    "waiting for {waiting_for} (it holds `{}`)...",
                    path.display()
                )));
                told = true;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        tracing::trace!("holding the credentials lock");
        Ok(StoreLock { _file: file })
    }
}

/// Creates `dir` (0700) when it does not exist. An existing directory keeps its mode, whatever
/// it is: we only change the modes of what we create. Returns a warning when other users can
/// add or replace files in it.
pub fn ensure_dir(dir: &Path) -> Result<Option<String>, StoreError> {
    match std::fs::metadata(dir) {
        Ok(meta) => Ok(open_to_others(dir, &meta)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut builder = std::fs::DirBuilder::new();
            builder.recursive(true);
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
            builder
                .create(dir)
                .map_err(|e| StoreError::io("create the directory", dir, e))?;
            // Ours now: 0700 whatever the umask.
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                    .map_err(|e| StoreError::io("set permissions 0700 on", dir, e))?;
            }
            Ok(None)
        }
        Err(e) => Err(StoreError::io("inspect the directory", dir, e)),
    }
}

fn open_to_others(dir: &Path, meta: &std::fs::Metadata) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o7777;
        (mode & 0o022 != 0).then(|| {
            format!(
                "warning: other users can add or replace files in `{}` (mode {mode:04o}); your credentials file in it is private (0600), but keep CODEX_HOME in a directory only you can write to",
                dir.display()
            )
        })
    }
    #[cfg(not(unix))]
    {
        let _ = (dir, meta);
        None
    }
}
