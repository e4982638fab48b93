//! The one storage policy, generic over what is stored: which of a document's two places (its
//! file slot and its keyring entry, described by a `Place`) is read and written under
//! `auto` / `file` / `keyring`. A read looks in the configured store (and in the other, as the
//! place allows); `auto` uses the keyring while it answers and falls back to the file with one
//! warning, remembering a dead keyring for the rest of the process; a keyring save removes the
//! plain-text copy; a file slot that does not parse is never overwritten (its reader refuses it
//! before any write). auth.json (`configured.rs`) and the MCP tokens (`mcp/`) are its places.

use std::cell::{Cell, RefCell};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

use super::keyring::{KeyringError, KeyringStore};
use super::{StoreError, StoreKind};
use crate::config::StoreMode;
use crate::notice::{Notice, Notify};
use crate::secret::Secret;

/// Whether a read also looks in the store the mode does not name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Other {
    /// Yes (auth.json): switching modes keeps the user signed in, and a file beside a keyring
    /// copy is the newer one (every keyring save removes the file).
    Read,
    /// Only `auto` reads the file after the keyring (the MCP tokens, as the reference reads them).
    Ignored,
}

/// One document's two places: how it is read from and written to its file slot and its keyring
/// entry, and the errors it reports.
pub trait Place {
    type Doc;
    type Error: From<StoreError> + std::fmt::Display;
    /// What a caller holds while the file slot changes (the lock it took, or nothing when the
    /// place takes its own).
    type Held;
    /// The config.toml key that picks the store.
    const SETTING: &'static str;
    /// What the plain-text warning calls the document.
    const WHAT: &'static str;
    const OTHER: Other;

    fn keyring(&self) -> &KeyringStore;
    fn to_keyring(doc: &Self::Doc) -> Secret<String>;
    fn parse_keyring(&self, text: &str) -> Result<Self::Doc, Self::Error>;
    /// The keyring entry cannot be read as the document (`message` says why).
    fn keyring_malformed(&self, message: String) -> Self::Error;

    /// The file the plain-text warning names.
    fn warned_file(&self) -> PathBuf;
    fn load_file(&self) -> Result<Option<Self::Doc>, Self::Error>;
    /// A file slot that is not ours (a link to /dev/null, say) is how a file is disabled: with
    /// `Other::Read`, keyring mode then reads nothing there rather than failing.
    fn not_ours(err: &Self::Error) -> bool;
    fn save_file(
        &self,
        held: &Self::Held,
        doc: &Self::Doc,
        notify: &dyn Notify,
    ) -> Result<(), Self::Error>;
    /// Removes the document from the file slot; whether there was one.
    fn remove_file(&self, held: &Self::Held, notify: &dyn Notify) -> Result<bool, Self::Error>;
    /// After a keyring save: no plain-text copy may linger.
    fn drop_plain_copy(&self, held: &Self::Held, notify: &dyn Notify) -> Result<(), Self::Error>;
}

/// The mode of a store and what it has learned about the keyring. Shared (cloned) by stores of
/// the same document in one process, so a hung keyring costs one wait and one warning.
#[derive(Clone)]
pub struct Policy {
    mode: StoreMode,
    codex_home: PathBuf,
    /// Why the keyring is unusable, once a call has failed (`auto` then uses the file).
    keyring_down: Rc<RefCell<Option<KeyringError>>>,
    warned: Rc<Cell<bool>>,
    notify: Arc<dyn Notify>,
}

/// What `remove` did.
#[derive(Debug)]
pub struct Removal {
    /// The document was removed from at least one store.
    pub removed: bool,
    /// The keyring could not be checked, and why.
    pub keyring_unreachable: Option<KeyringError>,
}

/// Whether a removal takes the file slot too (logout keeps an auth.json it cannot parse, and
/// names it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileRemoval {
    Remove,
    Keep,
}

impl Policy {
    pub fn new(mode: StoreMode, codex_home: &Path, notify: Arc<dyn Notify>) -> Policy {
        Policy {
            mode,
            codex_home: codex_home.to_path_buf(),
            keyring_down: Rc::new(RefCell::new(None)),
            warned: Rc::new(Cell::new(false)),
            notify,
        }
    }

    pub fn mode(&self) -> StoreMode {
        self.mode
    }

    pub fn notify(&self) -> &Arc<dyn Notify> {
        &self.notify
    }

    /// Why the keyring could not be used, once a call to it has failed (absent keyrings too).
    pub fn keyring_state(&self) -> Option<KeyringError> {
        self.keyring_down.borrow().clone()
    }

    /// True once the plain-text warning of `auto` mode has been given.
    pub fn warned(&self) -> bool {
        self.warned.get()
    }

    /// The store new documents go to.
    pub fn target(&self) -> StoreKind {
        match self.mode {
            StoreMode::File => StoreKind::File,
            StoreMode::Keyring => StoreKind::Keyring,
            StoreMode::Auto if self.keyring_down.borrow().is_some() => StoreKind::File,
            StoreMode::Auto => StoreKind::Keyring,
        }
    }

    pub fn unavailable<P: Place>(&self, cause: KeyringError) -> StoreError {
        StoreError::KeyringUnavailable {
            cause,
            config: self.codex_home.join("config.toml"),
            setting: P::SETTING,
        }
    }

    /// A keyring call failed: later calls of this process go to the file (`auto`) or fail
    /// without waiting for it again.
    pub fn keyring_failed(&self, cause: KeyringError) {
        tracing::debug!(%cause, "the keyring is not usable; using the file store");
        self.keyring_down.replace(Some(cause));
    }

    /// `auto` uses the file for want of a keyring: said once, when a document is found or saved
    /// there (an empty store is not worth a warning).
    fn warn_plain_text<P: Place>(&self, place: &P) {
        if self.mode != StoreMode::Auto || self.warned.replace(true) {
            return;
        }
        if let Some(cause) = self.keyring_down.borrow().as_ref() {
            self.notify.notify(Notice::warning(format!(
                "warning: the OS keyring is not available ({cause}), so {} are stored in plain text in {}",
                P::WHAT,
                place.warned_file().display()
            )));
        }
    }

    /// Reads the keyring entry. `Err(Ok(cause))`: the keyring cannot be used (or failed before).
    pub fn read_keyring<P: Place>(
        &self,
        place: &P,
    ) -> Result<Option<P::Doc>, Result<KeyringError, P::Error>> {
        if let Some(cause) = self.keyring_down.borrow().clone() {
            return Err(Ok(cause));
        }
        match place.keyring().read() {
            Ok(Some(secret)) => place.parse_keyring(secret.expose()).map(Some).map_err(Err),
            Ok(None) => Ok(None),
            Err(KeyringError::BadEntry(message)) => Err(Err(place.keyring_malformed(message))),
            Err(cause) => Err(Ok(cause)),
        }
    }

    /// The document, and where it was found, by the mode's policy.
    pub fn load<P: Place>(&self, place: &P) -> Result<Option<(P::Doc, StoreKind)>, P::Error> {
        let in_file = |doc: Option<P::Doc>| doc.map(|d| (d, StoreKind::File));
        match self.mode {
            StoreMode::File => {
                if let Some(doc) = place.load_file()? {
                    return Ok(Some((doc, StoreKind::File)));
                }
                match P::OTHER {
                    Other::Read => {}
                    Other::Ignored => return Ok(None),
                }
                match self.read_keyring(place) {
                    Ok(doc) => Ok(doc.map(|d| (d, StoreKind::Keyring))),
                    Err(Ok(cause)) => {
                        tracing::debug!(%cause, "the keyring was not checked");
                        self.keyring_down.replace(Some(cause));
                        Ok(None)
                    }
                    Err(Err(err)) => Err(err),
                }
            }
            StoreMode::Keyring => match self.read_keyring(place) {
                Ok(Some(doc)) => Ok(Some(self.newest(place, doc))),
                Ok(None) => match P::OTHER {
                    Other::Ignored => Ok(None),
                    Other::Read => match place.load_file() {
                        Ok(doc) => Ok(in_file(doc)),
                        Err(err) if P::not_ours(&err) => {
                            tracing::debug!(%err, "the file slot is not ours; not read");
                            Ok(None)
                        }
                        Err(other) => Err(other),
                    },
                },
                Err(Ok(cause)) => Err(self.unavailable::<P>(cause).into()),
                Err(Err(err)) => Err(err),
            },
            StoreMode::Auto => match self.read_keyring(place) {
                Ok(Some(doc)) => Ok(Some(self.newest(place, doc))),
                Ok(None) => Ok(in_file(place.load_file()?)),
                Err(Ok(cause)) => {
                    self.keyring_failed(cause);
                    let found = place.load_file()?;
                    if found.is_some() {
                        self.warn_plain_text(place);
                    }
                    Ok(in_file(found))
                }
                Err(Err(err)) => Err(err),
            },
        }
    }

    /// The keyring holds `in_keyring`. With `Other::Read` a document in the file beside it is
    /// newer, since every keyring save removes the file copy: it was written while the keyring
    /// was unusable (`auto`), or in `file` mode after the keyring copy. A file slot that does
    /// not parse does not shadow the keyring.
    fn newest<P: Place>(&self, place: &P, in_keyring: P::Doc) -> (P::Doc, StoreKind) {
        match P::OTHER {
            Other::Ignored => (in_keyring, StoreKind::Keyring),
            Other::Read => match place.load_file() {
                Ok(Some(newer)) => (newer, StoreKind::File),
                Ok(None) | Err(_) => (in_keyring, StoreKind::Keyring),
            },
        }
    }

    /// Saves `doc` by the mode's policy; returns where it went.
    pub fn save<P: Place>(
        &self,
        place: &P,
        held: &P::Held,
        doc: &P::Doc,
    ) -> Result<StoreKind, P::Error> {
        let to_keyring = match self.mode {
            StoreMode::File => false,
            StoreMode::Keyring => true,
            StoreMode::Auto => self.keyring_down.borrow().is_none(),
        };
        if to_keyring {
            match place.keyring().write(P::to_keyring(doc)) {
                Ok(()) => {
                    // The reference removes the file copy after a keyring save: no plain text.
                    place.drop_plain_copy(held, self.notify.as_ref())?;
                    tracing::debug!(account = place.keyring().account(), "saved in the keyring");
                    return Ok(StoreKind::Keyring);
                }
                Err(cause) => match self.mode {
                    StoreMode::Auto => self.keyring_failed(cause),
                    StoreMode::File | StoreMode::Keyring => {
                        return Err(self.unavailable::<P>(cause).into());
                    }
                },
            }
        }
        self.warn_plain_text(place);
        place.save_file(held, doc, self.notify.as_ref())?;
        Ok(StoreKind::File)
    }

    /// Removes the document from both stores, whatever the mode. The file slot is handled as
    /// `file` says; a keyring that cannot be reached is reported, not an error (one that already
    /// failed in this process is not asked again, so a hung keyring costs one wait, not two).
    pub fn remove<P: Place>(
        &self,
        place: &P,
        held: &P::Held,
        file: FileRemoval,
    ) -> Result<Removal, P::Error> {
        let mut removed = match file {
            FileRemoval::Remove => place.remove_file(held, self.notify.as_ref())?,
            FileRemoval::Keep => false,
        };
        let known_down = self.keyring_down.borrow().clone();
        let keyring_unreachable = match known_down.map_or_else(|| place.keyring().remove(), Err) {
            Ok(gone) => {
                removed |= gone;
                None
            }
            Err(cause) => Some(cause),
        };
        Ok(Removal {
            removed,
            keyring_unreachable,
        })
    }
}
