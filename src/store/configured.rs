//! The store `cli_auth_credentials_store` asks for: `Store`, the one type over the file and the
//! keyring. Reading looks in the configured store, then the other, so switching modes keeps the
//! user signed in (when both hold credentials, auth.json is the newer: see `newest`); the next save moves the credentials to the configured store and removes the old
//! copy. `auto` uses the keyring while it answers and falls back to the file with one warning.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use super::file::FileStore;
use super::keyring::{KeyringError, KeyringStore};
use super::{StoreError, StoreKind, StoreLock};
use crate::auth::AuthDotJson;
use crate::config::{Config, StoreMode};
use crate::notice::{Notice, Notify};
use crate::secret::Secret;
use std::sync::Arc;

pub struct Store {
    mode: StoreMode,
    file: FileStore,
    keyring: KeyringStore,
    /// Where the last `load` found credentials.
    found: Cell<Option<StoreKind>>,
    /// Why the keyring is unusable, once a call has failed (`auto` then uses the file). Shared
    /// with `sibling` stores, so a hung keyring costs one wait and one warning per process.
    keyring_down: Rc<RefCell<Option<KeyringError>>>,
    warned: Rc<Cell<bool>>,
    notify: Arc<dyn Notify>,
}

/// What `remove_everywhere` did.
#[derive(Debug)]
pub struct Removal {
    /// Credentials were removed from at least one store.
    pub removed: bool,
    /// The keyring could not be checked, and why.
    pub keyring_unreachable: Option<KeyringError>,
}

impl Store {
    pub fn new(config: &Config, notify: Arc<dyn Notify>) -> Store {
        Store {
            mode: config.store_mode,
            file: FileStore::new(config),
            keyring: KeyringStore::new(&config.codex_home),
            found: Cell::new(None),
            keyring_down: Rc::new(RefCell::new(None)),
            warned: Rc::new(Cell::new(false)),
            notify,
        }
    }

    /// The same policy over another file and keyring entry of this CODEX_HOME (a saved
    /// account's copy), sharing what this store has learned about the keyring.
    pub fn sibling(&self, file: FileStore, keyring: KeyringStore) -> Store {
        Store {
            mode: self.mode,
            file,
            keyring,
            found: Cell::new(None),
            keyring_down: Rc::clone(&self.keyring_down),
            warned: Rc::clone(&self.warned),
            notify: self.notify.clone(),
        }
    }

    /// Takes the cross-process lock of this CODEX_HOME (see `lock.rs`).
    pub fn lock(&self) -> Result<StoreLock, StoreError> {
        StoreLock::acquire(self.file.codex_home(), self.notify.as_ref())
    }

    /// Where this store's notices go (for work done on another thread).
    pub fn notifier(&self) -> Arc<dyn Notify> {
        self.notify.clone()
    }

    pub fn mode(&self) -> StoreMode {
        self.mode
    }

    pub fn keyring(&self) -> &KeyringStore {
        &self.keyring
    }

    pub fn file(&self) -> &FileStore {
        &self.file
    }

    /// Why the keyring could not be checked, when a locked, hung or failing keyring (not an
    /// absent one) may hold credentials that were therefore not seen.
    pub fn keyring_problem(&self) -> Option<KeyringError> {
        self.keyring_down
            .borrow()
            .clone()
            .filter(|cause| !cause.is_absent())
    }

    /// When the auth.json last read can be read or changed by other users, the warning naming
    /// the fix (`chmod 600`), for the read-only commands to show; nothing is chmodded.
    pub fn loose_permissions(&self) -> Option<Notice> {
        match self.found.get() {
            Some(StoreKind::File) => self.file.loose_permissions(),
            Some(StoreKind::Keyring) | None => None,
        }
    }

    /// Why the keyring could not be used, once a call to it has failed (absent keyrings too).
    pub fn keyring_state(&self) -> Option<KeyringError> {
        self.keyring_down.borrow().clone()
    }

    /// True once the plain-text warning of `auto` mode has been printed.
    pub fn warned(&self) -> bool {
        self.warned.get()
    }

    /// The store new credentials go to.
    fn target(&self) -> StoreKind {
        match self.mode {
            StoreMode::File => StoreKind::File,
            StoreMode::Keyring => StoreKind::Keyring,
            StoreMode::Auto if self.keyring_down.borrow().is_some() => StoreKind::File,
            StoreMode::Auto => StoreKind::Keyring,
        }
    }

    fn unavailable(&self, cause: KeyringError) -> StoreError {
        StoreError::KeyringUnavailable {
            cause,
            // CODEX_HOME's config.toml, also when a saved account's copy (in accounts/) failed first.
            config: self.file.codex_home().join("config.toml"),
            setting: super::AUTH_SETTING,
        }
    }

    /// `auto` without a usable keyring: remember why, and say once that the file is used.
    fn fall_back(&self, cause: KeyringError) {
        tracing::debug!(%cause, "the keyring is not usable; using the file store");
        self.keyring_down.replace(Some(cause));
    }

    fn warn_plain_text(&self) {
        if self.warned.replace(true) {
            return;
        }
        if let Some(cause) = self.keyring_down.borrow().as_ref() {
            self.notify.notify(Notice::warning(format!(
                "warning: the OS keyring is not available ({cause}), so credentials are stored in plain text in {}",
                // auth.json, also when a saved account's copy is the first file written.
                self.file.codex_home().join("auth.json").display()
            )));
        }
    }

    /// The keyring holds `in_keyring`; an auth.json beside it is newer, since every keyring save
    /// removes auth.json: it was written while the keyring was unusable (`auto`), or in `file`
    /// mode after the keyring copy. An unparseable auth.json does not shadow the keyring.
    fn newest(&self, in_keyring: AuthDotJson) -> Option<AuthDotJson> {
        match self.file.load() {
            Ok(Some(newer)) => self.note_found(Some(newer), StoreKind::File),
            Ok(None) | Err(_) => self.note_found(Some(in_keyring), StoreKind::Keyring),
        }
    }

    /// Reads the keyring entry. `Err(Ok(cause))`: the keyring cannot be used.
    fn load_keyring(&self) -> Result<Option<AuthDotJson>, Result<KeyringError, StoreError>> {
        if let Some(cause) = self.keyring_down.borrow().clone() {
            return Err(Ok(cause));
        }
        let secret = match self.keyring.read() {
            Ok(secret) => secret,
            Err(KeyringError::BadEntry(message)) => {
                return Err(Err(StoreError::KeyringMalformed {
                    entry: self.keyring.describe(),
                    message,
                }));
            }
            Err(cause) => return Err(Ok(cause)),
        };
        let Some(secret) = secret else {
            return Ok(None);
        };
        serde_json::from_str(secret.expose())
            .map(Some)
            .map_err(|e| {
                Err(StoreError::KeyringMalformed {
                    entry: self.keyring.describe(),
                    message: crate::secret::json_error(&e),
                })
            })
    }

    fn note_found(&self, doc: Option<AuthDotJson>, kind: StoreKind) -> Option<AuthDotJson> {
        if doc.is_some() {
            self.found.set(Some(kind));
        }
        doc
    }

    /// The credentials logout is about to remove (to revoke them first), looked for like `load`
    /// does but quietly: any store that cannot be read counts as empty here.
    pub fn load_for_logout(&self) -> Option<AuthDotJson> {
        let from_keyring = || match self.load_keyring() {
            Ok(doc) => doc,
            Err(Ok(cause)) => {
                self.keyring_down.replace(Some(cause));
                None
            }
            Err(Err(_)) => None,
        };
        let from_file = || self.file.load().ok().flatten();
        match self.mode {
            StoreMode::File => from_file().or_else(from_keyring),
            StoreMode::Keyring | StoreMode::Auto => from_keyring().or_else(from_file),
        }
    }

    /// Removes the credentials from both stores, whatever the mode. The file is always handled;
    /// a keyring that cannot be reached is reported, not an error (one that already failed in
    /// this process is not asked again, so a hung keyring costs one wait, not two).
    pub fn remove_everywhere(
        &self,
        lock: &StoreLock,
        file: FileRemoval,
    ) -> Result<Removal, StoreError> {
        let mut removed = match file {
            FileRemoval::Remove => self.file.delete(lock)?,
            FileRemoval::Keep => false,
        };
        let known_down = self.keyring_down.borrow().clone();
        let keyring_unreachable = match known_down.map_or_else(|| self.keyring.remove(), Err) {
            Ok(gone) => {
                removed |= gone;
                None
            }
            Err(cause) => Some(cause),
        };
        self.found.set(None);
        Ok(Removal {
            removed,
            keyring_unreachable,
        })
    }
}

/// Whether logout removes auth.json too (not when it cannot be parsed: it stays, and is named).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileRemoval {
    Remove,
    Keep,
}

impl Store {
    /// Where the credentials were found, else where they would be saved.
    pub fn kind(&self) -> StoreKind {
        self.found.get().unwrap_or_else(|| self.target())
    }

    pub fn location(&self) -> String {
        match self.kind() {
            StoreKind::File => self.file.location(),
            StoreKind::Keyring => self.keyring.describe(),
        }
    }

    /// Reads this store's place (its file and keyring entry, by the mode's policy).
    pub fn load(&self) -> Result<Option<AuthDotJson>, StoreError> {
        self.found.set(None);
        match self.mode {
            StoreMode::File => {
                if let Some(doc) = self.file.load()? {
                    return Ok(self.note_found(Some(doc), StoreKind::File));
                }
                match self.load_keyring() {
                    Ok(doc) => Ok(self.note_found(doc, StoreKind::Keyring)),
                    Err(Ok(cause)) => {
                        tracing::debug!(%cause, "the keyring was not checked for credentials");
                        self.keyring_down.replace(Some(cause));
                        Ok(None)
                    }
                    Err(Err(err)) => Err(err),
                }
            }
            StoreMode::Keyring => match self.load_keyring() {
                Ok(Some(doc)) => Ok(self.newest(doc)),
                // An auth.json that is not ours (a link to /dev/null, say) is how a file is
                // disabled; in keyring mode that is the point, not a problem.
                Ok(None) => match self.file.load() {
                    Ok(doc) => Ok(self.note_found(doc, StoreKind::File)),
                    Err(StoreError::NotOurs { problem, .. }) => {
                        tracing::debug!(%problem, "auth.json is not ours; not read");
                        Ok(None)
                    }
                    Err(other) => Err(other),
                },
                Err(Ok(cause)) => Err(self.unavailable(cause)),
                Err(Err(err)) => Err(err),
            },
            StoreMode::Auto => match self.load_keyring() {
                Ok(Some(doc)) => Ok(self.newest(doc)),
                Ok(None) => Ok(self.note_found(self.file.load()?, StoreKind::File)),
                Err(Ok(cause)) => {
                    self.fall_back(cause);
                    let doc = self.file.load()?;
                    if doc.is_some() {
                        self.warn_plain_text();
                    }
                    Ok(self.note_found(doc, StoreKind::File))
                }
                Err(Err(err)) => Err(err),
            },
        }
    }

    /// Writes this store's place, by the mode's policy.
    pub fn save(&self, lock: &StoreLock, auth: &AuthDotJson) -> Result<(), StoreError> {
        let to_keyring = match self.mode {
            StoreMode::File => false,
            StoreMode::Keyring => true,
            StoreMode::Auto => self.keyring_down.borrow().is_none(),
        };
        if to_keyring {
            match self.keyring.write(Secret::new(auth.to_compact_json())) {
                Ok(()) => {
                    // The reference removes auth.json after a keyring save: no plain-text copy.
                    self.file.delete(lock)?;
                    self.found.set(Some(StoreKind::Keyring));
                    tracing::debug!(account = self.keyring.account(), "saved credentials");
                    return Ok(());
                }
                Err(cause) => match self.mode {
                    StoreMode::Auto => self.fall_back(cause),
                    StoreMode::File | StoreMode::Keyring => return Err(self.unavailable(cause)),
                },
            }
        }
        if self.mode == StoreMode::Auto {
            self.warn_plain_text();
        }
        let saved = self.file.save(lock, auth);
        for notice in self.file.take_notices() {
            self.notify.notify(notice);
        }
        saved?;
        if self.found.replace(Some(StoreKind::File)) == Some(StoreKind::Keyring) {
            // Moving from the keyring to the file: the old copy must not linger.
            if let Err(cause) = self.keyring.remove() {
                self.notify.notify(Notice::warning(format!(
                    "warning: could not remove the old copy of the credentials from {}: {cause}",
                    self.keyring.describe()
                )));
            }
        }
        Ok(())
    }

    pub fn delete(&self, lock: &StoreLock) -> Result<bool, StoreError> {
        let removal = self.remove_everywhere(lock, FileRemoval::Remove)?;
        match (removal.keyring_unreachable, self.mode) {
            (Some(cause), StoreMode::Keyring) => Err(self.unavailable(cause)),
            (Some(_), StoreMode::File | StoreMode::Auto) | (None, _) => Ok(removal.removed),
        }
    }
}
