//! Several saved accounts beside the one the reference CLI reads. The active account is always
//! what auth.json (or the shared keyring entry) holds, exactly as a sign-in writes it; every
//! account also has its own copy in the configured store (`accounts/NAME.json`, or a keyring
//! entry of its own), listed in `accounts/.index.json`. Copies are matched to the active
//! credentials by who signed in (`identity`), never by name, so a refresh or a sign-in made by the
//! reference CLI is attributed to the right account the next time it matters. Every change
//! happens under `auth.lock`, the lock a refresh holds. Nothing here prints: what the user should
//! hear goes to the store's `Notify`.

pub mod identity;
pub mod index;
pub mod name;
pub mod session;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use thiserror::Error;

use crate::auth::AuthDotJson;
use crate::config::Config;
use crate::notice::{Notice, Notify};
use crate::store::file::FileStore;
use crate::store::keyring::KeyringStore;
use crate::store::{FileRemoval, Removal, Store, StoreError, StoreLock};
pub use index::{Entry, Index};
pub use name::{AccountName, NameError};
pub use session::Session;

/// The folder of CODEX_HOME the saved accounts live in.
pub const DIR_NAME: &str = "accounts";

#[derive(Debug, Error)]
pub enum AccountError {
    #[error("CODEX_ACCOUNT: {0}")]
    BadEnvName(NameError),
    #[error("there is no account named `{name}`. {}", known_text(known))]
    Unknown { name: String, known: Vec<String> },
    #[error(
        "account `{name}` has no saved credentials (in {location}). Sign in to it again with `codex login --account {name}`"
    )]
    Empty { name: String, location: String },
    #[error(
        "an account named `{existing}` exists already, and names that differ only in letter case would share one file on some systems. Use `{existing}`, or another name"
    )]
    CaseClash { existing: String },
    #[error(
        "cannot switch accounts: {0}. Switching would replace credentials that may not be saved anywhere else: fix or move them aside first"
    )]
    ActiveUnreadable(StoreError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn known_text(known: &[String]) -> String {
    if known.is_empty() {
        "No account is saved yet: sign in with `codex login --account NAME`".to_string()
    } else {
        format!(
            "Saved accounts: {}. Add a new one with `codex login --account NAME`",
            known.join(", ")
        )
    }
}

/// Credentials no account held yet (an older sign-in, or one made by the reference CLI) were
/// saved as account `name` before being replaced.
fn kept(name: &AccountName) -> Notice {
    Notice::note(format!(
        "The previous sign-in was saved as account `{name}` (back to it: codex login switch {name})."
    ))
}

/// What `switch` did.
#[derive(Debug)]
pub struct Switched {
    pub entry: Entry,
    /// It was the active account already: nothing changed.
    pub already: bool,
}

/// The accounts of one CODEX_HOME, beside its active credentials (the store the reference
/// reads: auth.json or the shared keyring entry), in the same store mode.
pub struct Accounts<'s> {
    active: &'s Store,
    dir: PathBuf,
}

impl<'s> Accounts<'s> {
    pub fn over(active: &'s Store) -> Accounts<'s> {
        Accounts {
            active,
            dir: active.file().codex_home().join(DIR_NAME),
        }
    }

    /// The store the reference reads.
    pub fn active(&self) -> &'s Store {
        self.active
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn notify(&self, notice: Notice) {
        self.active.notifier().notify(notice);
    }

    /// Where account `name` keeps its copy: `accounts/NAME.json`, or the keyring entry
    /// `cli|…|account:NAME`, under the same store policy as the active credentials.
    pub fn copy(&self, name: &AccountName) -> Store {
        let home = self.active.file().codex_home();
        let file = FileStore::at(home, &self.dir, self.dir.join(format!("{name}.json")));
        let account = format!("{}|account:{name}", self.active.keyring().account());
        self.active
            .sibling(file, KeyringStore::with_account(home, account))
    }

    pub fn index(&self) -> Result<Index, StoreError> {
        Index::load(&self.dir)
    }

    pub fn save_index(&self, lock: &StoreLock, index: &Index) -> Result<(), StoreError> {
        index.save(lock, &self.dir)
    }

    pub fn unknown(&self, index: &Index, name: &AccountName) -> AccountError {
        AccountError::Unknown {
            name: name.to_string(),
            known: index.names(),
        }
    }

    /// Saves `doc` as account `name`'s copy and records it in `index` (saved by the caller).
    pub fn save_copy(
        &self,
        lock: &StoreLock,
        index: &mut Index,
        name: &AccountName,
        doc: &AuthDotJson,
    ) -> Result<(), StoreError> {
        match identity::of(doc) {
            Some(identity) => self.store_copy(lock, index, name, doc, identity),
            None => Ok(()),
        }
    }

    fn store_copy(
        &self,
        lock: &StoreLock,
        index: &mut Index,
        name: &AccountName,
        doc: &AuthDotJson,
        identity: String,
    ) -> Result<(), StoreError> {
        self.copy(name).save(lock, doc)?;
        index.record(name, doc, identity);
        Ok(())
    }

    /// Makes sure the active credentials `active` are saved as their account: the one with the
    /// same identity gets them as its copy (they are the newest: every refresh of the active
    /// account goes to the active store), and credentials no account holds yet (a sign-in from
    /// before accounts existed, or one the reference CLI made) become a new account. Returns its
    /// name and whether it is new. The active store itself is not touched.
    pub fn adopt(
        &self,
        lock: &StoreLock,
        index: &mut Index,
        active: &AuthDotJson,
    ) -> Result<Option<(AccountName, bool)>, StoreError> {
        match identity::of(active) {
            Some(identity) => self.adopt_as(lock, index, active, identity).map(Some),
            None => Ok(None),
        }
    }

    fn adopt_as(
        &self,
        lock: &StoreLock,
        index: &mut Index,
        active: &AuthDotJson,
        identity: String,
    ) -> Result<(AccountName, bool), StoreError> {
        if let Some(name) = index.find(&identity) {
            let copy = self.copy(&name).load().ok().flatten();
            if copy.as_ref() != Some(active) {
                tracing::debug!(account = %name, "syncing the active credentials into their account");
                self.store_copy(lock, index, &name, active, identity)?;
            }
            return Ok((name, false));
        }
        let name = index.derive_name(active);
        tracing::debug!(account = %name, "saving the active credentials as a new account");
        self.store_copy(lock, index, &name, active, identity)?;
        Ok((name, true))
    }

    /// `codex login switch NAME`: first syncs the outgoing credentials into their account, then
    /// copies NAME's into the active store. No network call, nothing revoked. Active credentials
    /// that cannot be read are not replaced (they may be the only copy).
    pub fn switch(&self, lock: &StoreLock, name: &AccountName) -> Result<Switched, AccountError> {
        let active = match self.active.load() {
            Ok(doc) => doc,
            Err(err @ (StoreError::Malformed { .. } | StoreError::KeyringMalformed { .. })) => {
                return Err(AccountError::ActiveUnreadable(err));
            }
            Err(other) => return Err(other.into()),
        };
        let mut index = self.index()?;
        let before = index.clone();
        let outgoing = match &active {
            Some(doc) => self.adopt(lock, &mut index, doc)?,
            None => None,
        };
        if let Some((name, true)) = &outgoing {
            self.notify(kept(name));
        }
        // Listed before anything replaces it: a crash in between must not leave the outgoing
        // account's copy out of the index, where no command could find it again.
        if index != before {
            self.save_index(lock, &index)?;
        }
        self.copy_in(lock, &index, name, outgoing.as_ref().map(|(n, _)| n))
    }

    fn copy_in(
        &self,
        lock: &StoreLock,
        index: &Index,
        name: &AccountName,
        outgoing: Option<&AccountName>,
    ) -> Result<Switched, AccountError> {
        let entry = index
            .get(name)
            .cloned()
            .ok_or_else(|| self.unknown(index, name))?;
        if outgoing == Some(name) {
            return Ok(Switched {
                entry,
                already: true,
            });
        }
        let copy = self.copy(name);
        let doc = copy.load()?.ok_or_else(|| AccountError::Empty {
            name: name.to_string(),
            location: copy.location(),
        })?;
        self.active.save(lock, &doc)?;
        Ok(Switched {
            entry,
            already: false,
        })
    }

    /// After a sign-in: the credentials that were active (`previous`, as the caller read them
    /// under the lock) are kept as their account, `doc` becomes the active credentials and is
    /// saved as account `requested` (else the account that already holds this sign-in, else a
    /// name derived from it). Returns the name.
    pub fn signed_in(
        &self,
        lock: &StoreLock,
        previous: Option<AuthDotJson>,
        doc: &AuthDotJson,
        requested: Option<&AccountName>,
    ) -> Result<AccountName, AccountError> {
        let mut index = self.index()?;
        let before = index.clone();
        if let Some(existing) = requested.and_then(|n| index.case_twin(n)) {
            return Err(AccountError::CaseClash { existing });
        }
        let identity = identity::of(doc);
        if let Some(previous) = &previous
            && let Some(kept_as) = identity::of(previous).filter(|p| Some(p) != identity.as_ref())
            && let (name, true) = self.adopt_as(lock, &mut index, previous, kept_as)?
        {
            self.notify(kept(&name));
        }
        let holder = identity.as_deref().and_then(|id| index.find(id));
        let name = match (requested, &holder) {
            (Some(requested), _) => requested.clone(),
            (None, Some(holder)) => holder.clone(),
            (None, None) => index.derive_name(doc),
        };
        // One account per sign-in: the name asked for replaces the one it had.
        if let Some(holder) = holder.filter(|h| *h != name) {
            self.forget(lock, &mut index, &holder)?;
            self.notify(Notice::note(format!(
                "Account `{holder}` holds the same sign-in and is now `{name}`."
            )));
        }
        if let Some(identity) = identity {
            self.store_copy(lock, &mut index, &name, doc, identity)?;
        }
        if index != before {
            self.save_index(lock, &index)?;
        }
        // The active credentials last: a crash before this leaves the previous sign-in active
        // and every account listed, the new one included; a crash after it, nothing to do.
        self.active.save(lock, doc)?;
        Ok(name)
    }

    /// After the active credentials were saved (a refresh): their account's copy gets them too.
    pub fn mirror(&self, lock: &StoreLock, doc: &AuthDotJson) -> Result<(), StoreError> {
        let mut index = self.index()?;
        let Some(name) = index.owner(doc) else {
            return Ok(());
        };
        let before = index.clone();
        self.save_copy(lock, &mut index, &name, doc)?;
        if index != before {
            self.save_index(lock, &index)?;
        }
        Ok(())
    }

    /// Records that the issuer refused the refresh token of `doc` (account `name`, or whichever
    /// account holds `doc`), for `login status`. Returns the account it was recorded for.
    pub fn mark_refused(
        &self,
        lock: &StoreLock,
        name: Option<&AccountName>,
        doc: &AuthDotJson,
        code: &str,
    ) -> Result<Option<AccountName>, StoreError> {
        let mut index = self.index()?;
        let Some(name) = name.cloned().or_else(|| index.owner(doc)) else {
            return Ok(None);
        };
        let Some(token) = identity::refresh_digest(doc) else {
            return Ok(None);
        };
        let Some(entry) = index.accounts.get_mut(name.as_str()) else {
            return Ok(None);
        };
        entry.refresh_refused = Some(index::Refused {
            code: code.to_string(),
            token,
            at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        });
        self.save_index(lock, &index)?;
        Ok(Some(name))
    }

    /// Removes account `name`'s copy from every store and from `index` (saved by the caller).
    pub fn forget(
        &self,
        lock: &StoreLock,
        index: &mut Index,
        name: &AccountName,
    ) -> Result<Removal, StoreError> {
        let removal = self
            .copy(name)
            .remove_everywhere(lock, FileRemoval::Remove)?;
        index.accounts.remove(name.as_str());
        Ok(removal)
    }

    /// Whether the active credentials are not what their account holds (read without the lock:
    /// a hint that `adopt` has something to do).
    fn active_changed(&self, index: &Index) -> bool {
        let Ok(Some(active)) = self.active.load() else {
            return false;
        };
        let Some(identity) = identity::of(&active) else {
            return false;
        };
        match index.find(&identity) {
            Some(name) => self.copy(&name).load().ok().flatten().as_ref() != Some(&active),
            None => true,
        }
    }

    /// Before a sign-in starts: `name` can be saved (no other account's name differs from it in
    /// letter case only), so nobody signs in for nothing.
    pub fn check_new_name(&self, name: &AccountName) -> Result<(), AccountError> {
        match self.index()?.case_twin(name) {
            Some(existing) => Err(AccountError::CaseClash { existing }),
            None => Ok(()),
        }
    }
}

/// The credentials `codex exec` and `codex login token` use: account `--account NAME` (or
/// `CODEX_ACCOUNT`) when one is named, else the active credentials. A refresh of either reaches
/// the account's copy; and while accounts are in use, active credentials that changed outside
/// this tool (a refresh or a sign-in by the reference CLI) reach their account here first.
pub fn open(config: &Config, notify: Arc<dyn Notify>) -> Result<Session, AccountError> {
    let store = crate::store::open(config, notify);
    let named = match &config.account {
        // `--account` was checked when the command line was parsed: a bad name is CODEX_ACCOUNT's.
        Some(raw) => Some(AccountName::parse(raw).map_err(AccountError::BadEnvName)?),
        None => None,
    };
    let accounts = Accounts::over(&store);
    let index = match (accounts.index(), &named) {
        (Ok(index), _) => index,
        (Err(err), Some(_)) => return Err(err.into()),
        // Without a name the saved accounts are not needed: a broken index must not stop a run.
        (Err(err), None) => {
            tracing::debug!(%err, "the accounts index cannot be read");
            return Ok(Session::mirrored(store));
        }
    };
    let unknown = named.as_ref().is_some_and(|n| index.get(n).is_none());
    // An unknown name may be that of the sign-in made before accounts existed: save it first.
    if unknown
        && config.read_only
        && let Some(name) = &named
    {
        return Err(accounts.unknown(&index, name));
    }
    if !config.read_only
        && (unknown || (!index.accounts.is_empty() && accounts.active_changed(&index)))
    {
        let lock = store.lock()?;
        let mut index = accounts.index()?;
        if let Ok(Some(active)) = store.load() {
            let before = index.clone();
            accounts.adopt(&lock, &mut index, &active)?;
            if index != before {
                accounts.save_index(&lock, &index)?;
            }
        }
        if let Some(name) = named.as_ref().filter(|n| index.get(n).is_none()) {
            return Err(accounts.unknown(&index, name));
        }
    }
    Ok(match named {
        Some(name) => Session::selected(store, name),
        None => Session::mirrored(store),
    })
}
