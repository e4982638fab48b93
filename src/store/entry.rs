//! One secret beside the credentials (a provider's cached token), kept where
//! `cli_auth_credentials_store` says: a keyring entry of its own (`keyring`), a 0600 file under
//! `$CODEX_HOME/<folder>/` written atomically (`file`), or the keyring while it answers and the
//! file otherwise (`auto`). Never in auth.json. Its own lock file sits in the same folder, so a
//! slow writer of this secret never holds up a sign-in.

use std::path::PathBuf;

use super::keyring::KeyringStore;
use super::{StoreError, StoreLock};
use crate::config::{Config, StoreMode};
use crate::fsutil::{self, Cap, ReadError};
use crate::notice::Notify;
use crate::secret::Secret;

/// A cached token is a few KiB; a larger file there is not ours.
const ENTRY_CAP: Cap = Cap::new(256 << 10, "a cached token");

pub struct Entry {
    mode: StoreMode,
    dir: PathBuf,
    name: String,
    keyring: KeyringStore,
}

impl Entry {
    /// The entry `name` (letters, digits, `-` only) in `$CODEX_HOME/<folder>/` or the keyring
    /// account `<folder>|<name>`.
    pub fn new(config: &Config, folder: &str, name: &str) -> Entry {
        let account = format!(
            "{folder}|{}|{name}",
            super::keyring::account_for(&config.codex_home).trim_start_matches("cli|")
        );
        Entry {
            mode: config.store_mode,
            dir: config.codex_home.join(folder),
            name: name.to_string(),
            keyring: KeyringStore::with_account(&config.codex_home, account),
        }
    }

    fn file(&self) -> PathBuf {
        self.dir.join(format!("{}.json", self.name))
    }

    /// Where it is kept, for people.
    pub fn location(&self) -> String {
        match self.mode {
            StoreMode::File => format!("`{}`", self.file().display()),
            StoreMode::Keyring => self.keyring.describe(),
            StoreMode::Auto => format!(
                "{} (or `{}`)",
                self.keyring.describe(),
                self.file().display()
            ),
        }
    }

    /// Held while the secret is made and written; other processes wait for it and then read
    /// what it wrote.
    pub fn lock(&self, waiting_for: &str, notify: &dyn Notify) -> Result<StoreLock, StoreError> {
        StoreLock::acquire_file(
            &self.dir,
            &format!("{}.lock", self.name),
            waiting_for,
            notify,
        )
    }

    /// The secret, `None` when there is none (or it cannot be read: it is a cache).
    pub fn read(&self) -> Option<Secret<String>> {
        let from_keyring = || match self.keyring.read() {
            Ok(found) => found,
            Err(err) => {
                tracing::debug!(%err, "the cached token cannot be read from the keyring");
                None
            }
        };
        match self.mode {
            StoreMode::File => self.read_file(),
            StoreMode::Keyring => from_keyring(),
            StoreMode::Auto => from_keyring().or_else(|| self.read_file()),
        }
    }

    fn read_file(&self) -> Option<Secret<String>> {
        match fsutil::read(&self.file(), ENTRY_CAP) {
            Ok((bytes, _)) => String::from_utf8(bytes).ok().map(Secret::new),
            Err(ReadError::NotFound) => None,
            Err(err) => {
                tracing::debug!(%err, path = %self.file().display(), "the cached token cannot be read");
                None
            }
        }
    }

    /// Saves the secret where the mode says (`auto`: the file when the keyring fails).
    pub fn write(&self, _lock: &StoreLock, secret: Secret<String>) -> Result<(), StoreError> {
        let to_file = |secret: &Secret<String>| {
            super::file::replace_atomically(&self.dir, &self.file(), secret.expose().as_bytes())
        };
        match self.mode {
            StoreMode::File => to_file(&secret),
            StoreMode::Keyring => {
                self.keyring
                    .write(secret)
                    .map_err(|cause| StoreError::KeyringUnavailable {
                        cause,
                        config: self.dir.join("..").join("config.toml"),
                    })
            }
            StoreMode::Auto => match self.keyring.write(secret.clone()) {
                Ok(()) => {
                    self.remove_file();
                    Ok(())
                }
                Err(err) => {
                    tracing::debug!(%err, "keyring unusable: caching the token in a file");
                    to_file(&secret)
                }
            },
        }
    }

    /// Removes the secret from where it may be (best effort: it is a cache).
    pub fn remove(&self, _lock: &StoreLock) {
        match self.mode {
            StoreMode::File => {}
            StoreMode::Keyring | StoreMode::Auto => {
                if let Err(err) = self.keyring.remove() {
                    tracing::debug!(%err, "the cached token cannot be removed from the keyring");
                }
            }
        }
        self.remove_file();
    }

    fn remove_file(&self) {
        let path = self.file();
        // Only a regular file of ours is removed, never what a link points to.
        match std::fs::symlink_metadata(&path) {
            Ok(meta) if meta.is_file() => {
                if let Err(err) = std::fs::remove_file(&path) {
                    tracing::debug!(%err, "the cached token file cannot be removed");
                }
            }
            Ok(_) | Err(_) => {}
        }
    }
}
