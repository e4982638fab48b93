//! The cross-process lock: an OS advisory lock (`flock`) on `$CODEX_HOME/auth.lock`. The kernel
//! drops it when the holder exits, so a crashed process never blocks the next one.

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
        ensure_private_dir(codex_home)?;
        let path = codex_home.join("auth.lock");
        let mut options = std::fs::OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options
            .open(&path)
            .map_err(|e| StoreError::io("open the lock file", &path, e))?;
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
                    "waiting for another `codex` process that is updating the credentials (it holds `{}`)...",
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

/// Creates `dir` if needed and makes it private to the user (0700), also when it existed with
/// looser bits.
pub fn ensure_private_dir(dir: &Path) -> Result<(), StoreError> {
    std::fs::create_dir_all(dir).map_err(|e| StoreError::io("create the directory", dir, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta =
            std::fs::metadata(dir).map_err(|e| StoreError::io("inspect the directory", dir, e))?;
        if meta.permissions().mode() & 0o777 != 0o700 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                .map_err(|e| StoreError::io("set permissions 0700 on", dir, e))?;
        }
    }
    Ok(())
}
