//! What the store of `codex exec` and `codex login token` adds for saved accounts (the store's
//! `Linked`): a save (a refresh) also reaches the right account's copy, and the account whose
//! copy is active is always read from the active store.

use std::cell::Cell;

use super::{AccountName, Accounts};
use crate::auth::AuthDotJson;
use crate::store::{Linked, Store, StoreError, StoreKind, StoreLock};

/// The active credentials, as without accounts; a save is mirrored into the copy of the account
/// they belong to.
pub struct Mirror;

impl Linked for Mirror {
    fn load(&self, own: &Store) -> Result<Option<AuthDotJson>, StoreError> {
        own.load_own()
    }

    fn save(&self, own: &Store, lock: &StoreLock, doc: &AuthDotJson) -> Result<(), StoreError> {
        own.save_own(lock, doc)?;
        // Best effort: for the active account the active store is the one that counts, and it
        // is synced into the account again before any switch.
        if let Err(err) = Accounts::over(own).mirror(lock, doc) {
            tracing::debug!(%err, "could not update the account's copy");
        }
        Ok(())
    }

    fn elsewhere(&self) -> Option<(StoreKind, String)> {
        None
    }

    fn refresh_refused(
        &self,
        own: &Store,
        lock: &StoreLock,
        doc: &AuthDotJson,
        code: &str,
    ) -> Option<String> {
        match Accounts::over(own).mark_refused(lock, None, doc, code) {
            Ok(name) => name.map(|n| n.to_string()),
            Err(err) => {
                tracing::debug!(%err, "could not record the refused refresh");
                None
            }
        }
    }
}

/// One saved account, used without switching to it (`--account NAME`, `CODEX_ACCOUNT`), on the
/// active store. While it is the active account (a `login switch` may make it so at any time)
/// its credentials are the active ones: every read and save checks, under the lock when the
/// caller holds it.
pub struct Selected {
    name: AccountName,
    copy: Store,
    /// Where the last read found the credentials, when it was the copy.
    from_copy: Cell<Option<(StoreKind, String)>>,
}

impl Selected {
    pub fn new(accounts: &Accounts, name: AccountName) -> Selected {
        Selected {
            copy: accounts.copy(&name),
            name,
            from_copy: Cell::new(None),
        }
    }

    /// The active credentials, when they are this account's.
    fn active_if_mine(&self, own: &Store) -> Result<Option<AuthDotJson>, StoreError> {
        let index = Accounts::over(own).index()?;
        let Some(entry) = index.get(&self.name) else {
            return Ok(None);
        };
        // An active store that cannot be read holds nobody's credentials for this purpose.
        let active = own.load_own().ok().flatten();
        Ok(active.filter(|doc| super::identity::of(doc).as_deref() == Some(&entry.identity)))
    }
}

impl Linked for Selected {
    fn load(&self, own: &Store) -> Result<Option<AuthDotJson>, StoreError> {
        if let Some(doc) = self.active_if_mine(own)? {
            self.from_copy.replace(None);
            return Ok(Some(doc));
        }
        let doc = self.copy.load_own()?;
        self.from_copy
            .replace(Some((self.copy.own_kind(), self.copy.own_location())));
        Ok(doc)
    }

    fn save(&self, own: &Store, lock: &StoreLock, doc: &AuthDotJson) -> Result<(), StoreError> {
        if self.active_if_mine(own)?.is_some() {
            own.save_own(lock, doc)?;
        }
        let accounts = Accounts::over(own);
        let mut index = accounts.index()?;
        let before = index.clone();
        accounts.save_copy(lock, &mut index, &self.name, doc)?;
        if index != before {
            accounts.save_index(lock, &index)?;
        }
        Ok(())
    }

    fn elsewhere(&self) -> Option<(StoreKind, String)> {
        let found = self.from_copy.take();
        self.from_copy.set(found.clone());
        found
    }

    fn refresh_refused(
        &self,
        own: &Store,
        lock: &StoreLock,
        doc: &AuthDotJson,
        code: &str,
    ) -> Option<String> {
        if let Err(err) = Accounts::over(own).mark_refused(lock, Some(&self.name), doc, code) {
            tracing::debug!(%err, "could not record the refused refresh");
        }
        Some(self.name.to_string())
    }
}
