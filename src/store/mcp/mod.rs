//! Where MCP servers' OAuth tokens live: the second document of the store, under the same policy
//! (`policy.rs`) and on the same backends as auth.json (atomic 0600 writes of `file.rs`, the
//! bounded keyring of `keyring/`, the flock of `lock.rs`), in the reference CLI's places: keyring service `Codex MCP Credentials` with one
//! entry per server, or `$CODEX_HOME/.credentials.json` (`mcp_oauth_credentials_store`, default
//! `auto`: the keyring while it answers, else the file with one warning). Locks in
//! `$CODEX_HOME/mcp-oauth-locks/`: `file-store.lock` around every change of the file, and one per
//! server around a refresh. One server's entry never touches another's, nor auth.json.

pub mod document;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use thiserror::Error;

use super::file::{parse_json, replace_atomically_named};
use super::keyring::{KeyringStore, MCP_SERVICE};
use super::policy::{FileRemoval, Other, Place, Policy, Removal};
use super::{StoreError, StoreKind, StoreLock};
use crate::config::StoreMode;
use crate::fsutil::{self, ReadError};
use crate::notice::{Notice, Notify};
use crate::secret::Secret;
pub use document::{McpTokens, lock_name, now_millis, store_key};

pub const FILE_NAME: &str = ".credentials.json";
pub const LOCK_DIR: &str = "mcp-oauth-locks";
const FILE_LOCK: &str = "file-store.lock";
const TEMP_PREFIX: &str = ".credentials.json.tmp.";

#[derive(Debug, Error)]
pub enum McpStoreError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "cannot parse the MCP credentials in {entry} ({message}); sign in again with `codex mcp login {server}`"
    )]
    Malformed {
        entry: String,
        message: String,
        server: String,
    },
}

/// The MCP token store of one CODEX_HOME, as `mcp_oauth_credentials_store` asks: the policy of
/// `policy.rs` over one server's places at a time (`ServerPlace`).
pub struct McpStore {
    policy: Policy,
    codex_home: PathBuf,
}

/// What `delete` did.
pub type McpRemoval = Removal;

/// One server's places: its entry in `.credentials.json` (read-modify-written under
/// `file-store.lock`, which the place takes itself) and its own keyring entry.
struct ServerPlace<'s> {
    store: &'s McpStore,
    key: String,
    /// For the remedy of a malformed entry (`codex mcp login NAME`).
    server_name: &'s str,
    keyring: KeyringStore,
}

impl McpStore {
    pub fn new(codex_home: &Path, mode: StoreMode, notify: Arc<dyn Notify>) -> McpStore {
        McpStore {
            policy: Policy::new(mode, codex_home, notify),
            codex_home: codex_home.to_path_buf(),
        }
    }

    pub fn mode(&self) -> StoreMode {
        self.policy.mode()
    }

    pub fn file_path(&self) -> PathBuf {
        self.codex_home.join(FILE_NAME)
    }

    fn lock_dir(&self) -> PathBuf {
        self.codex_home.join(LOCK_DIR)
    }

    /// The lock of one server's refresh (held across load, refresh and save).
    pub fn lock_server(&self, key: &str) -> Result<StoreLock, StoreError> {
        StoreLock::acquire_file(
            &self.lock_dir(),
            &lock_name(key),
            "another `codex` process that is refreshing this MCP server's tokens",
            self.policy.notify().as_ref(),
        )
    }

    fn lock_file(&self) -> Result<StoreLock, StoreError> {
        StoreLock::acquire_file(
            &self.lock_dir(),
            FILE_LOCK,
            "another `codex` process that is updating the MCP credentials",
            self.policy.notify().as_ref(),
        )
    }

    fn place<'s>(&'s self, key: String, server_name: &'s str) -> ServerPlace<'s> {
        ServerPlace {
            store: self,
            keyring: KeyringStore::entry(MCP_SERVICE, &self.codex_home, key.clone()),
            key,
            server_name,
        }
    }

    /// The tokens of `server_name` at `url`, and where they were found.
    pub fn load(
        &self,
        server_name: &str,
        url: &str,
    ) -> Result<Option<(McpTokens, StoreKind)>, McpStoreError> {
        self.policy
            .load(&self.place(store_key(server_name, url), server_name))
    }

    /// Saves `tokens` by the mode's policy; returns where they went. A keyring save removes the
    /// server's entry from the file, so no plain-text copy lingers.
    pub fn save(&self, tokens: &McpTokens) -> Result<StoreKind, McpStoreError> {
        let place = self.place(tokens.key(), &tokens.server_name);
        let kind = self.policy.save(&place, &(), tokens)?;
        tracing::debug!(
            key = place.key,
            store = kind.as_str(),
            "saved MCP credentials"
        );
        Ok(kind)
    }

    /// Removes the server's tokens from the file and the keyring, whatever the mode. A keyring
    /// that cannot be reached is reported, not an error.
    pub fn delete(&self, server_name: &str, url: &str) -> Result<McpRemoval, McpStoreError> {
        let place = self.place(store_key(server_name, url), server_name);
        self.policy.remove(&place, &(), FileRemoval::Remove)
    }

    /// Reads `.credentials.json` under the file rules: `Ok(None)` when there is none.
    fn read_file(&self) -> Result<Option<serde_json::Map<String, serde_json::Value>>, StoreError> {
        let path = self.file_path();
        let bytes = match fsutil::read(&path, fsutil::AUTH_JSON_CAP) {
            Ok((bytes, _)) => bytes,
            Err(ReadError::NotFound) => return Ok(None),
            Err(ReadError::Io(e)) => return Err(StoreError::io("read", &path, e)),
            Err(e @ (ReadError::NotRegular(_) | ReadError::TooLarge(_))) => {
                return Err(StoreError::NotOurs {
                    problem: format!("`{}` {e}", path.display()),
                    remedy: format!(
                        "MCP credentials are kept only in a regular file: remove it ({}) and sign in again, or set mcp_oauth_credentials_store = \"keyring\"",
                        crate::fsutil::remove_command(&path)
                    ),
                    // A device, a FIFO or a file over the cap: never read, so it may hold tokens.
                    seen: super::Seen::Unread,
                });
            }
        };
        parse_json(&path, &bytes).map(Some)
    }

    /// Read-modify-write of the file, under `file-store.lock` (the caller holds it). `change`
    /// returns whether it changed anything; nothing is written otherwise. A file that does not
    /// parse is never overwritten: the error names it.
    fn change_file(
        &self,
        change: impl FnOnce(&mut serde_json::Map<String, serde_json::Value>) -> bool,
    ) -> Result<bool, StoreError> {
        let mut entries = self.read_file()?.unwrap_or_default();
        if !change(&mut entries) {
            return Ok(false);
        }
        // The reference writes the map with its keys sorted.
        entries.sort_keys();
        let bytes = serde_json::to_vec(&entries).expect("a JSON map serializes");
        if let Some(warning) = super::lock::ensure_dir(&self.codex_home)? {
            self.policy.notify().notify(Notice::warning(warning));
        }
        replace_atomically_named(&self.codex_home, &self.file_path(), &bytes, TEMP_PREFIX)?;
        Ok(true)
    }
}

impl ServerPlace<'_> {
    fn malformed(&self, entry: String, message: String) -> McpStoreError {
        McpStoreError::Malformed {
            entry,
            message,
            server: crate::untrusted::printable(self.server_name).into_owned(),
        }
    }
}

impl Place for ServerPlace<'_> {
    type Doc = McpTokens;
    type Error = McpStoreError;
    /// The place takes `file-store.lock` itself around every change of the file.
    type Held = ();
    const SETTING: &'static str = super::MCP_SETTING;
    const WHAT: &'static str = "MCP credentials";
    const OTHER: Other = Other::Ignored;

    fn keyring(&self) -> &KeyringStore {
        &self.keyring
    }

    fn to_keyring(tokens: &McpTokens) -> Secret<String> {
        tokens.to_keyring_json()
    }

    fn parse_keyring(&self, text: &str) -> Result<McpTokens, McpStoreError> {
        McpTokens::from_keyring_json(text)
            .map_err(|e| self.keyring_malformed(crate::secret::json_error(&e)))
    }

    fn keyring_malformed(&self, message: String) -> McpStoreError {
        self.malformed(self.keyring.describe(), message)
    }

    fn warned_file(&self) -> PathBuf {
        self.store.file_path()
    }

    fn load_file(&self) -> Result<Option<McpTokens>, McpStoreError> {
        let _lock = self.store.lock_file()?;
        let Some(entries) = self.store.read_file()? else {
            return Ok(None);
        };
        let Some(entry) = entries.get(&self.key) else {
            return Ok(None);
        };
        McpTokens::from_file_entry(entry).map(Some).map_err(|e| {
            let entry = format!(
                "`{}` (entry `{}`)",
                self.store.file_path().display(),
                crate::untrusted::printable(&self.key)
            );
            self.malformed(entry, crate::secret::json_error(&e))
        })
    }

    fn not_ours(err: &McpStoreError) -> bool {
        matches!(err, McpStoreError::Store(StoreError::NotOurs { .. }))
    }

    fn save_file(&self, _: &(), tokens: &McpTokens, _: &dyn Notify) -> Result<(), McpStoreError> {
        let _lock = self.store.lock_file()?;
        self.store.change_file(|entries| {
            let entry = tokens.to_file_entry(entries.get(&self.key));
            entries.insert(self.key.clone(), entry);
            true
        })?;
        Ok(())
    }

    fn remove_file(&self, _: &(), _: &dyn Notify) -> Result<bool, McpStoreError> {
        let _lock = self.store.lock_file()?;
        Ok(self
            .store
            .change_file(|entries| entries.remove(&self.key).is_some())?)
    }

    /// The tokens are saved: a plain-text copy that cannot be removed (a file that does not
    /// parse, say) is worth a warning, not a failed sign-in.
    fn drop_plain_copy(&self, held: &(), notify: &dyn Notify) -> Result<(), McpStoreError> {
        if let Err(err) = self.remove_file(held, notify) {
            notify.notify(Notice::warning(format!(
                "warning: the tokens are in the OS keyring, but an older copy in {} may remain: {err}",
                self.store.file_path().display()
            )));
        }
        Ok(())
    }
}
