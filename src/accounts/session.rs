//! The credentials `codex exec`, `codex login token` and the doctor's refresh read and refresh: the
//! active store, plus what saved accounts add on top of it. A save (a refresh) also reaches the
//! right account's copy, and the account whose copy is active is always read from the active
//! store. The store below knows nothing of this: it reads and writes exactly its own place.

use std::cell::Cell;

use super::{AccountName, Accounts};
use crate::auth::AuthDotJson;
use crate::notice::{Notice, Notify};
use crate::store::{Store, StoreError, StoreKind, StoreLock};

pub struct Session {
    active: Store,
    serves: Serves,
}

/// Which credentials a session serves.
enum Serves {
    /// The active credentials, with no bookkeeping for saved accounts.
    Active,
    /// The active credentials; a save is mirrored into the copy of the account they belong to.
    Mirrored,
    /// One saved account, used without switching to it (`--account NAME`, `CODEX_ACCOUNT`). While
    /// it is the active account (a `login switch` may make it so at any time) its credentials are
    /// the active ones: every read and save checks, under the lock when the caller holds it.
    Selected {
        name: AccountName,
        copy: Box<Store>,
        /// Where the last read found the credentials, when it was the copy.
        from_copy: Cell<Option<(StoreKind, String)>>,
    },
}

impl Session {
    /// The active store alone: reads and saves touch nothing else.
    pub fn active(store: Store) -> Session {
        Session {
            active: store,
            serves: Serves::Active,
        }
    }

    /// The active credentials; saves also reach their account's copy.
    pub(super) fn mirrored(store: Store) -> Session {
        Session {
            active: store,
            serves: Serves::Mirrored,
        }
    }

    /// Account `name`, read from its copy unless it is the active account.
    pub(super) fn selected(store: Store, name: AccountName) -> Session {
        let copy = Box::new(Accounts::over(&store).copy(&name));
        Session {
            active: store,
            serves: Serves::Selected {
                name,
                copy,
                from_copy: Cell::new(None),
            },
        }
    }

    pub fn notifier(&self) -> std::sync::Arc<dyn Notify> {
        self.active.notifier()
    }

    /// See `Store::loose_permissions`: about the active store's file.
    pub fn loose_permissions(&self) -> Option<Notice> {
        self.active.loose_permissions()
    }

    /// The credentials this session serves.
    pub fn load(&self) -> Result<Option<AuthDotJson>, StoreError> {
        let Serves::Selected {
            copy, from_copy, ..
        } = &self.serves
        else {
            return self.active.load();
        };
        if let Some(doc) = self.active_if_selected()? {
            from_copy.replace(None);
            return Ok(Some(doc));
        }
        let doc = copy.load()?;
        from_copy.replace(Some((copy.kind(), copy.location())));
        Ok(doc)
    }

    /// Saves `doc` where it belongs: the active store, the account's copy, or both.
    pub fn save(&self, lock: &StoreLock, doc: &AuthDotJson) -> Result<(), StoreError> {
        let accounts = Accounts::over(&self.active);
        match &self.serves {
            Serves::Active => self.active.save(lock, doc),
            Serves::Mirrored => {
                self.active.save(lock, doc)?;
                // Best effort: for the active account the active store is the one that counts,
                // and it is synced into the account again before any switch.
                if let Err(err) = accounts.mirror(lock, doc) {
                    tracing::debug!(%err, "could not update the account's copy");
                }
                Ok(())
            }
            Serves::Selected { name, .. } => {
                if self.active_if_selected()?.is_some() {
                    self.active.save(lock, doc)?;
                }
                let mut index = accounts.index()?;
                let before = index.clone();
                accounts.save_copy(lock, &mut index, name, doc)?;
                if index != before {
                    accounts.save_index(lock, &index)?;
                }
                Ok(())
            }
        }
    }

    /// Where the credentials were found, else where they would be saved.
    pub fn location(&self) -> String {
        match self.found_in_copy() {
            Some((_, location)) => location,
            None => self.active.location(),
        }
    }

    /// The issuer refused the refresh token of `doc` for good (`code`): recorded for `login
    /// status`, best effort. Returns the saved account the sign-in belongs to, if any, so the
    /// advice can name it.
    pub fn refresh_refused(
        &self,
        lock: &StoreLock,
        doc: &AuthDotJson,
        code: &str,
    ) -> Option<String> {
        let named = match &self.serves {
            Serves::Active => return None,
            Serves::Mirrored => None,
            Serves::Selected { name, .. } => Some(name),
        };
        let recorded = Accounts::over(&self.active).mark_refused(lock, named, doc, code);
        if let Err(err) = &recorded {
            tracing::debug!(%err, "could not record the refused refresh");
        }
        match named {
            // The named account, even when the record could not be written.
            Some(name) => Some(name.to_string()),
            None => recorded.ok().flatten().map(|n| n.to_string()),
        }
    }

    /// Where the last `load` found the selected account's credentials, when in its copy.
    fn found_in_copy(&self) -> Option<(StoreKind, String)> {
        match &self.serves {
            Serves::Active | Serves::Mirrored => None,
            Serves::Selected { from_copy, .. } => {
                let found = from_copy.take();
                from_copy.set(found.clone());
                found
            }
        }
    }

    /// The active credentials, when they are the selected account's.
    fn active_if_selected(&self) -> Result<Option<AuthDotJson>, StoreError> {
        let Serves::Selected { name, .. } = &self.serves else {
            return Ok(None);
        };
        let index = Accounts::over(&self.active).index()?;
        let Some(entry) = index.get(name) else {
            return Ok(None);
        };
        // An active store that cannot be read holds nobody's credentials for this purpose.
        let active = self.active.load().ok().flatten();
        Ok(active.filter(|doc| super::identity::of(doc).as_deref() == Some(&entry.identity)))
    }
}
