//! The two credential stores `codex exec` and `codex login token` run on. Both are the usual
//! store underneath; what they add is that a save (a refresh) also reaches the right account's
//! copy, and that the account whose copy is active is always read from the active store.

use std::cell::RefCell;

use super::{AccountName, Accounts};
use crate::auth::AuthDotJson;
use crate::store::{ConfiguredStore, CredentialStore, StoreError, StoreKind, StoreLock};

/// The active credentials (auth.json or the shared keyring entry), as without accounts; a save
/// is mirrored into the copy of the account they belong to.
pub struct ActiveStore {
    accounts: Accounts,
    /// The account the last sign-in was saved as, when this store comes from one.
    name: Option<AccountName>,
}

impl ActiveStore {
    pub fn new(accounts: Accounts) -> ActiveStore {
        ActiveStore {
            accounts,
            name: None,
        }
    }

    /// The store a sign-in just saved account `name` into.
    pub fn signed_in(accounts: Accounts, name: AccountName) -> ActiveStore {
        ActiveStore {
            accounts,
            name: Some(name),
        }
    }
}

impl CredentialStore for ActiveStore {
    fn kind(&self) -> StoreKind {
        self.accounts.active().kind()
    }

    fn location(&self) -> String {
        self.accounts.active().location()
    }

    fn load(&self) -> Result<Option<AuthDotJson>, StoreError> {
        self.accounts.active().load()
    }

    fn save(&self, lock: &StoreLock, auth: &AuthDotJson) -> Result<(), StoreError> {
        self.accounts.active().save(lock, auth)?;
        // Best effort: the active copy is the one that counts for the active account, and it
        // is synced into the account again before any switch.
        if let Err(err) = self.accounts.mirror(lock, auth) {
            tracing::debug!(%err, "could not update the account's copy");
        }
        Ok(())
    }

    fn delete(&self, lock: &StoreLock) -> Result<bool, StoreError> {
        self.accounts.active().delete(lock)
    }

    fn account(&self) -> Option<String> {
        self.name.as_ref().map(ToString::to_string)
    }

    fn refresh_refused(&self, lock: &StoreLock, doc: &AuthDotJson, code: &str) {
        if let Err(err) = self.accounts.mark_refused(lock, None, doc, code) {
            tracing::debug!(%err, "could not record the refused refresh");
        }
    }
}

/// One saved account, used without switching to it (`--account NAME`, `CODEX_ACCOUNT`). While
/// it is the active account (a `login switch` may make it so at any time) its credentials are
/// the active ones: every read and save checks, under the lock when the caller holds it.
pub struct AccountStore {
    accounts: Accounts,
    name: AccountName,
    copy: ConfiguredStore,
    /// Which store the last read came from, for `kind` and `location`.
    served: RefCell<Served>,
}

#[derive(Clone, Copy)]
enum Served {
    Copy,
    Active,
}

impl AccountStore {
    pub fn new(accounts: Accounts, name: AccountName) -> AccountStore {
        let copy = accounts.copy(&name);
        AccountStore {
            accounts,
            name,
            copy,
            served: RefCell::new(Served::Copy),
        }
    }

    /// The active credentials, when they are this account's.
    fn active_if_mine(&self) -> Result<Option<AuthDotJson>, StoreError> {
        let index = self.accounts.index()?;
        let Some(entry) = index.get(&self.name) else {
            return Ok(None);
        };
        // An active store that cannot be read holds nobody's credentials for this purpose.
        let active = self.accounts.active().load().ok().flatten();
        Ok(active.filter(|doc| super::identity::of(doc).as_deref() == Some(&entry.identity)))
    }

    fn served(&self) -> &dyn CredentialStore {
        match *self.served.borrow() {
            Served::Copy => &self.copy,
            Served::Active => self.accounts.active(),
        }
    }
}

impl CredentialStore for AccountStore {
    fn kind(&self) -> StoreKind {
        self.served().kind()
    }

    fn location(&self) -> String {
        self.served().location()
    }

    fn load(&self) -> Result<Option<AuthDotJson>, StoreError> {
        if let Some(doc) = self.active_if_mine()? {
            self.served.replace(Served::Active);
            return Ok(Some(doc));
        }
        self.served.replace(Served::Copy);
        self.copy.load()
    }

    fn save(&self, lock: &StoreLock, auth: &AuthDotJson) -> Result<(), StoreError> {
        if self.active_if_mine()?.is_some() {
            self.accounts.active().save(lock, auth)?;
        }
        let mut index = self.accounts.index()?;
        let before = index.clone();
        self.accounts
            .save_copy(lock, &mut index, &self.name, auth)?;
        if index != before {
            self.accounts.save_index(lock, &index)?;
        }
        Ok(())
    }

    fn delete(&self, lock: &StoreLock) -> Result<bool, StoreError> {
        self.copy.delete(lock)
    }

    fn account(&self) -> Option<String> {
        Some(self.name.to_string())
    }

    fn refresh_refused(&self, lock: &StoreLock, doc: &AuthDotJson, code: &str) {
        if let Err(err) = self
            .accounts
            .mark_refused(lock, Some(&self.name), doc, code)
        {
            tracing::debug!(%err, "could not record the refused refresh");
        }
    }
}
