//! The store `cli_auth_credentials_store` asks for: `Store`, auth.json's place under the one
//! policy (`policy.rs`): its file (`file.rs`) and its keyring entry. Reading looks in the
//! configured store, then the other, so switching modes keeps the user signed in (when both hold
//! credentials, auth.json is the newer); the next save moves the credentials to the configured
//! store and removes the old copy. `auto` uses the keyring while it answers and falls back to the
//! file with one warning. It reads and writes exactly its own place: saved accounts sit on top of
//! it (`accounts::Session`).

use std::cell::Cell;
use std::path::PathBuf;

use super::file::FileStore;
use super::keyring::{KeyringError, KeyringStore};
use super::policy::{FileRemoval, Other, Place, Policy, Removal};
use super::{StoreError, StoreKind, StoreLock};
use crate::auth::AuthDotJson;
use crate::config::{Config, StoreMode};
use crate::notice::{Notice, Notify};
use crate::secret::Secret;
use std::sync::Arc;

pub struct Store {
    policy: Policy,
    place: AuthPlace,
    /// Where the last `load` found credentials.
    found: Cell<Option<StoreKind>>,
}

/// auth.json (or a saved account's copy) and its keyring entry.
struct AuthPlace {
    file: FileStore,
    keyring: KeyringStore,
}

impl Place for AuthPlace {
    type Doc = AuthDotJson;
    type Error = StoreError;
    type Held = StoreLock;
    const SETTING: &'static str = super::AUTH_SETTING;
    const WHAT: &'static str = "credentials";
    const OTHER: Other = Other::Read;

    fn keyring(&self) -> &KeyringStore {
        &self.keyring
    }

    fn to_keyring(doc: &AuthDotJson) -> Secret<String> {
        Secret::new(doc.to_compact_json())
    }

    fn parse_keyring(&self, text: &str) -> Result<AuthDotJson, StoreError> {
        serde_json::from_str(text)
            .map_err(|e| self.keyring_malformed(crate::secret::json_error(&e)))
    }

    fn keyring_malformed(&self, message: String) -> StoreError {
        StoreError::KeyringMalformed {
            entry: self.keyring.describe(),
            message,
        }
    }

    /// auth.json, also when a saved account's copy is the first file written.
    fn warned_file(&self) -> PathBuf {
        self.file.codex_home().join("auth.json")
    }

    fn load_file(&self) -> Result<Option<AuthDotJson>, StoreError> {
        self.file.load()
    }

    fn not_ours(err: &StoreError) -> bool {
        matches!(err, StoreError::NotOurs { .. })
    }

    fn save_file(
        &self,
        lock: &StoreLock,
        doc: &AuthDotJson,
        notify: &dyn Notify,
    ) -> Result<(), StoreError> {
        let saved = self.file.save(lock, doc);
        for notice in self.file.take_notices() {
            notify.notify(notice);
        }
        saved
    }

    fn remove_file(&self, lock: &StoreLock, _notify: &dyn Notify) -> Result<bool, StoreError> {
        self.file.delete(lock)
    }

    fn drop_plain_copy(&self, lock: &StoreLock, _notify: &dyn Notify) -> Result<(), StoreError> {
        self.file.delete(lock).map(|_| ())
    }
}

impl Store {
    pub fn new(config: &Config, notify: Arc<dyn Notify>) -> Store {
        Store {
            policy: Policy::new(config.store_mode, &config.codex_home, notify),
            place: AuthPlace {
                file: FileStore::new(config),
                keyring: KeyringStore::new(&config.codex_home),
            },
            found: Cell::new(None),
        }
    }

    /// The same policy over another file and keyring entry of this CODEX_HOME (a saved
    /// account's copy), sharing what this store has learned about the keyring.
    pub fn sibling(&self, file: FileStore, keyring: KeyringStore) -> Store {
        Store {
            policy: self.policy.clone(),
            place: AuthPlace { file, keyring },
            found: Cell::new(None),
        }
    }

    /// Takes the cross-process lock of this CODEX_HOME (see `lock.rs`).
    pub fn lock(&self) -> Result<StoreLock, StoreError> {
        StoreLock::acquire(self.place.file.codex_home(), self.policy.notify().as_ref())
    }

    /// Where this store's notices go (for work done on another thread).
    pub fn notifier(&self) -> Arc<dyn Notify> {
        self.policy.notify().clone()
    }

    pub fn mode(&self) -> StoreMode {
        self.policy.mode()
    }

    pub fn keyring(&self) -> &KeyringStore {
        &self.place.keyring
    }

    pub fn file(&self) -> &FileStore {
        &self.place.file
    }

    /// Why the keyring could not be checked, when a locked, hung or failing keyring (not an
    /// absent one) may hold credentials that were therefore not seen.
    pub fn keyring_problem(&self) -> Option<KeyringError> {
        self.keyring_state().filter(|cause| !cause.is_absent())
    }

    /// Why the keyring could not be used, once a call to it has failed (absent keyrings too).
    pub fn keyring_state(&self) -> Option<KeyringError> {
        self.policy.keyring_state()
    }

    /// True once the plain-text warning of `auto` mode has been printed.
    pub fn warned(&self) -> bool {
        self.policy.warned()
    }

    /// When the auth.json last read can be read or changed by other users, the warning naming
    /// the fix (`chmod 600`), for the read-only commands to show; nothing is chmodded.
    pub fn loose_permissions(&self) -> Option<Notice> {
        match self.found.get() {
            Some(StoreKind::File) => self.place.file.loose_permissions(),
            Some(StoreKind::Keyring) | None => None,
        }
    }

    /// Where the credentials were found, else where they would be saved.
    pub fn kind(&self) -> StoreKind {
        self.found.get().unwrap_or_else(|| self.policy.target())
    }

    pub fn location(&self) -> String {
        match self.kind() {
            StoreKind::File => self.place.file.location(),
            StoreKind::Keyring => self.place.keyring.describe(),
        }
    }

    /// Reads this store's place (its file and keyring entry, by the mode's policy).
    pub fn load(&self) -> Result<Option<AuthDotJson>, StoreError> {
        self.found.set(None);
        let found = self.policy.load(&self.place)?;
        Ok(found.map(|(doc, kind)| {
            self.found.set(Some(kind));
            doc
        }))
    }

    /// Writes this store's place, by the mode's policy.
    pub fn save(&self, lock: &StoreLock, auth: &AuthDotJson) -> Result<(), StoreError> {
        let kind = self.policy.save(&self.place, lock, auth)?;
        let before = self.found.replace(Some(kind));
        if (before, kind) == (Some(StoreKind::Keyring), StoreKind::File) {
            // Moving from the keyring to the file: the old copy must not linger.
            if let Err(cause) = self.place.keyring.remove() {
                self.policy.notify().notify(Notice::warning(format!(
                    "warning: could not remove the old copy of the credentials from {}: {cause}",
                    self.place.keyring.describe()
                )));
            }
        }
        Ok(())
    }

    /// The credentials logout is about to remove (to revoke them first), looked for like `load`
    /// does but quietly: any store that cannot be read counts as empty here.
    pub fn load_for_logout(&self) -> Option<AuthDotJson> {
        let from_keyring = || match self.policy.read_keyring(&self.place) {
            Ok(doc) => doc,
            Err(Ok(cause)) => {
                self.policy.keyring_failed(cause);
                None
            }
            Err(Err(_)) => None,
        };
        let from_file = || self.place.file.load().ok().flatten();
        match self.mode() {
            StoreMode::File => from_file().or_else(from_keyring),
            StoreMode::Keyring | StoreMode::Auto => from_keyring().or_else(from_file),
        }
    }

    /// Removes the credentials from both stores, whatever the mode (see `Policy::remove`).
    pub fn remove_everywhere(
        &self,
        lock: &StoreLock,
        file: FileRemoval,
    ) -> Result<Removal, StoreError> {
        let removal = self.policy.remove(&self.place, lock, file)?;
        self.found.set(None);
        Ok(removal)
    }

    pub fn delete(&self, lock: &StoreLock) -> Result<bool, StoreError> {
        let removal = self.remove_everywhere(lock, FileRemoval::Remove)?;
        match (removal.keyring_unreachable, self.mode()) {
            (Some(cause), StoreMode::Keyring) => Err(self.policy.unavailable::<AuthPlace>(cause)),
            (Some(_), StoreMode::File | StoreMode::Auto) | (None, _) => Ok(removal.removed),
        }
    }
}
