//! One secret beside the credentials (a provider's cached token), kept where
//! `cli_auth_credentials_store` says: a keyring entry of its own (`keyring`), a 0600 file under
//! `$CODEX_HOME/<folder>/` written atomically (`file`), or the keyring while it answers and the
//! file otherwise (`auto`), under the one policy (`policy.rs`, which reads only the configured
//! store, as for MCP tokens). Never in auth.json. Its own lock file sits in the same folder, so a
//! slow writer of this secret never holds up a sign-in. It is a cache: what cannot be read counts
//! as absent, and nothing is said about it (its notices are silent).

use std::path::PathBuf;
use std::sync::Arc;

use super::keyring::KeyringStore;
use super::policy::{FileRemoval, Other, Place, Policy};
use super::{StoreError, StoreLock};
use crate::config::{Config, StoreMode};
use crate::fsutil::{self, Cap, ReadError};
use crate::notice::{Notify, Silent};
use crate::secret::Secret;

/// A cached token is a few KiB; a larger file there is not ours.
const ENTRY_CAP: Cap = Cap::new(256 << 10, "a cached token");

pub struct Entry {
    policy: Policy,
    place: EntryPlace,
}

/// `$CODEX_HOME/<folder>/<name>.json` and the keyring account `<folder>|...|<name>`.
struct EntryPlace {
    dir: PathBuf,
    name: String,
    keyring: KeyringStore,
}

impl EntryPlace {
    fn file(&self) -> PathBuf {
        self.dir.join(format!("{}.json", self.name))
    }
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
            policy: Policy::new(config.store_mode, &config.codex_home, Arc::new(Silent)),
            place: EntryPlace {
                dir: config.codex_home.join(folder),
                name: name.to_string(),
                keyring: KeyringStore::with_account(&config.codex_home, account),
            },
        }
    }

    /// Where it is kept, for people.
    pub fn location(&self) -> String {
        let keyring = self.place.keyring.describe();
        let file = self.place.file();
        match self.policy.mode() {
            StoreMode::File => format!("`{}`", file.display()),
            StoreMode::Keyring => keyring,
            StoreMode::Auto => format!("{keyring} (or `{}`)", file.display()),
        }
    }

    /// Held while the secret is made and written; other processes wait for it and then read
    /// what it wrote.
    pub fn lock(&self, waiting_for: &str, notify: &dyn Notify) -> Result<StoreLock, StoreError> {
        StoreLock::acquire_file(
            &self.place.dir,
            &format!("{}.lock", self.place.name),
            waiting_for,
            notify,
        )
    }

    /// The secret, `None` when there is none (or it cannot be read: it is a cache).
    pub fn read(&self) -> Option<Secret<String>> {
        match self.policy.load(&self.place) {
            Ok(found) => found.map(|(secret, _)| secret),
            Err(err) => {
                tracing::debug!(%err, "the cached token cannot be read");
                None
            }
        }
    }

    /// Saves the secret where the mode says (`auto`: the file when the keyring fails).
    pub fn write(&self, lock: &StoreLock, secret: Secret<String>) -> Result<(), StoreError> {
        self.policy.save(&self.place, lock, &secret).map(|_| ())
    }

    /// Removes the secret from where it may be (best effort: it is a cache); whether there was
    /// one to remove.
    pub fn remove(&self, lock: &StoreLock) -> bool {
        match self.policy.remove(&self.place, lock, FileRemoval::Remove) {
            Ok(removal) => {
                if let Some(err) = removal.keyring_unreachable {
                    tracing::debug!(%err, "the cached token cannot be removed from the keyring");
                }
                removal.removed
            }
            Err(err) => {
                tracing::debug!(%err, "the cached token cannot be removed");
                false
            }
        }
    }

    /// The names of the entries that have a file in `$CODEX_HOME/<folder>/` (regular files
    /// named `<name>.json` only: what `new` would write), for forgetting entries whose name is
    /// no longer known. A folder that cannot be listed has none.
    pub fn names_on_disk(config: &Config, folder: &str) -> Vec<String> {
        let Ok(dir) = std::fs::read_dir(config.codex_home.join(folder)) else {
            return Vec::new();
        };
        dir.filter_map(Result::ok)
            .filter(|item| item.file_type().is_ok_and(|t| t.is_file()))
            .filter_map(|item| {
                let name = item.file_name().into_string().ok()?;
                let stem = name.strip_suffix(".json")?;
                let valid =
                    !stem.is_empty() && stem.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
                valid.then(|| stem.to_string())
            })
            .collect()
    }
}

impl Place for EntryPlace {
    type Doc = Secret<String>;
    type Error = StoreError;
    type Held = StoreLock;
    const SETTING: &'static str = super::AUTH_SETTING;
    const WHAT: &'static str = "cached tokens";
    const OTHER: Other = Other::Ignored;

    fn keyring(&self) -> &KeyringStore {
        &self.keyring
    }

    fn to_keyring(secret: &Secret<String>) -> Secret<String> {
        secret.clone()
    }

    fn parse_keyring(&self, text: &str) -> Result<Secret<String>, StoreError> {
        Ok(Secret::new(text.to_string()))
    }

    fn keyring_malformed(&self, message: String) -> StoreError {
        StoreError::KeyringMalformed {
            entry: self.keyring.describe(),
            message,
        }
    }

    fn warned_file(&self) -> PathBuf {
        self.file()
    }

    fn load_file(&self) -> Result<Option<Secret<String>>, StoreError> {
        match fsutil::read(&self.file(), ENTRY_CAP) {
            Ok((bytes, _)) => Ok(String::from_utf8(bytes).ok().map(Secret::new)),
            Err(ReadError::NotFound) => Ok(None),
            Err(err) => {
                tracing::debug!(%err, path = %self.file().display(), "the cached token cannot be read");
                Ok(None)
            }
        }
    }

    fn not_ours(err: &StoreError) -> bool {
        matches!(err, StoreError::NotOurs { .. })
    }

    fn save_file(
        &self,
        _lock: &StoreLock,
        secret: &Secret<String>,
        _notify: &dyn Notify,
    ) -> Result<(), StoreError> {
        super::file::replace_atomically(&self.dir, &self.file(), secret.expose().as_bytes())
    }

    /// Only a regular file of ours is removed, never what a link points to.
    fn remove_file(&self, _lock: &StoreLock, _notify: &dyn Notify) -> Result<bool, StoreError> {
        let path = self.file();
        match std::fs::symlink_metadata(&path) {
            Ok(meta) if meta.is_file() => match std::fs::remove_file(&path) {
                Ok(()) => Ok(true),
                Err(err) => {
                    tracing::debug!(%err, "the cached token file cannot be removed");
                    Ok(false)
                }
            },
            Ok(_) | Err(_) => Ok(false),
        }
    }

    fn drop_plain_copy(&self, lock: &StoreLock, notify: &dyn Notify) -> Result<(), StoreError> {
        self.remove_file(lock, notify).map(|_| ())
    }
}
