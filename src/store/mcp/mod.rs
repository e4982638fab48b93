//! Where MCP servers' OAuth tokens live: the second document of the store, on the same backends
//! as auth.json (atomic 0600 writes of `file.rs`, the bounded keyring of `keyring/`, the flock of
//! `lock.rs`), in the reference CLI's places: keyring service `Codex MCP Credentials` with one
//! entry per server, or `$CODEX_HOME/.credentials.json` (`mcp_oauth_credentials_store`, default
//! `auto`: the keyring while it answers, else the file with one warning). Locks in
//! `$CODEX_HOME/mcp-oauth-locks/`: `file-store.lock` around every change of the file, and one per
//! server around a refresh. One server's entry never touches another's, nor auth.json.

pub mod document;

use std::cell::{Cell, RefCell};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use thiserror::Error;

use super::file::{parse_json, replace_atomically_named};
use super::keyring::{KeyringError, KeyringStore, MCP_SERVICE};
use super::{StoreError, StoreKind, StoreLock};
use crate::config::StoreMode;
use crate::fsutil::{self, ReadError};
use crate::notice::{Notice, Notify};
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

/// The MCP token store of one CODEX_HOME, as `mcp_oauth_credentials_store` asks.
pub struct McpStore {
    mode: StoreMode,
    codex_home: PathBuf,
    /// Why the keyring is unusable, once a call failed (`auto` then uses the file).
    keyring_down: RefCell<Option<KeyringError>>,
    warned: Cell<bool>,
    notify: Arc<dyn Notify>,
}

/// What `delete` did.
#[derive(Debug)]
pub struct McpRemoval {
    pub removed: bool,
    /// The keyring could not be checked, and why.
    pub keyring_unreachable: Option<KeyringError>,
}

impl McpStore {
    pub fn new(codex_home: &Path, mode: StoreMode, notify: Arc<dyn Notify>) -> McpStore {
        McpStore {
            mode,
            codex_home: codex_home.to_path_buf(),
            keyring_down: RefCell::new(None),
            warned: Cell::new(false),
            notify,
        }
    }

    pub fn mode(&self) -> StoreMode {
        self.mode
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
            self.notify.as_ref(),
        )
    }

    fn lock_file(&self) -> Result<StoreLock, StoreError> {
        StoreLock::acquire_file(
            &self.lock_dir(),
            FILE_LOCK,
            "another `codex` process that is updating the MCP credentials",
            self.notify.as_ref(),
        )
    }

    fn keyring(&self, key: &str) -> KeyringStore {
        KeyringStore::entry(MCP_SERVICE, &self.codex_home, key.to_string())
    }

    fn unavailable(&self, cause: KeyringError) -> McpStoreError {
        McpStoreError::Store(StoreError::KeyringUnavailable {
            cause,
            config: self.codex_home.join("config.toml"),
            setting: super::MCP_SETTING,
        })
    }

    fn fall_back(&self, cause: KeyringError) {
        tracing::debug!(%cause, "the keyring is not usable for MCP credentials; using the file");
        self.keyring_down.replace(Some(cause));
    }

    /// `auto` uses the file for want of a keyring: said once, when tokens are found or saved
    /// there (a list of servers nobody signed in to is not worth a warning).
    fn warn_plain_text(&self) {
        if self.mode != StoreMode::Auto || self.warned.replace(true) {
            return;
        }
        if let Some(cause) = self.keyring_down.borrow().as_ref() {
            self.notify.notify(Notice::warning(format!(
                "warning: the OS keyring is not available ({cause}), so MCP credentials are stored in plain text in {}",
                self.file_path().display()
            )));
        }
    }

    /// The tokens of `server_name` at `url`, and where they were found.
    pub fn load(
        &self,
        server_name: &str,
        url: &str,
    ) -> Result<Option<(McpTokens, StoreKind)>, McpStoreError> {
        let key = store_key(server_name, url);
        let from_file = || -> Result<Option<(McpTokens, StoreKind)>, McpStoreError> {
            let _lock = self.lock_file()?;
            Ok(self
                .file_entry(&key, server_name)?
                .map(|t| (t, StoreKind::File)))
        };
        match self.mode {
            StoreMode::File => from_file(),
            StoreMode::Keyring => match self.keyring_entry(&key, server_name) {
                Ok(found) => Ok(found.map(|t| (t, StoreKind::Keyring))),
                Err(Ok(cause)) => Err(self.unavailable(cause)),
                Err(Err(err)) => Err(err),
            },
            StoreMode::Auto => match self.keyring_entry(&key, server_name) {
                Ok(Some(tokens)) => Ok(Some((tokens, StoreKind::Keyring))),
                Ok(None) => from_file(),
                Err(Ok(cause)) => {
                    self.fall_back(cause);
                    let found = from_file()?;
                    if found.is_some() {
                        self.warn_plain_text();
                    }
                    Ok(found)
                }
                Err(Err(err)) => Err(err),
            },
        }
    }

    /// Saves `tokens` by the mode's policy; returns where they went. A keyring save removes the
    /// server's entry from the file, so no plain-text copy lingers.
    pub fn save(&self, tokens: &McpTokens) -> Result<StoreKind, McpStoreError> {
        let key = tokens.key();
        let to_keyring = match self.mode {
            StoreMode::File => false,
            StoreMode::Keyring => true,
            StoreMode::Auto => self.keyring_down.borrow().is_none(),
        };
        if to_keyring {
            match self.keyring(&key).write(tokens.to_keyring_json()) {
                Ok(()) => {
                    // The tokens are saved: a plain-text copy that cannot be removed (a file
                    // that does not parse, say) is worth a warning, not a failed sign-in.
                    let removed = self.lock_file().and_then(|_lock| {
                        self.change_file(|entries| entries.remove(&key).is_some())
                    });
                    if let Err(err) = removed {
                        self.notify.notify(Notice::warning(format!(
                            "warning: the tokens are in the OS keyring, but an older copy in {} may remain: {err}",
                            self.file_path().display()
                        )));
                    }
                    tracing::debug!(key, "saved MCP credentials in the keyring");
                    return Ok(StoreKind::Keyring);
                }
                Err(cause) => match self.mode {
                    StoreMode::Auto => self.fall_back(cause),
                    StoreMode::File | StoreMode::Keyring => return Err(self.unavailable(cause)),
                },
            }
        }
        self.warn_plain_text();
        let _lock = self.lock_file()?;
        self.change_file(|entries| {
            let entry = tokens.to_file_entry(entries.get(&key));
            entries.insert(key.clone(), entry);
            true
        })?;
        tracing::debug!(key, "saved MCP credentials in the file");
        Ok(StoreKind::File)
    }

    /// Removes the server's tokens from the keyring and the file, whatever the mode. A keyring
    /// that cannot be reached is reported, not an error.
    pub fn delete(&self, server_name: &str, url: &str) -> Result<McpRemoval, McpStoreError> {
        let key = store_key(server_name, url);
        let known_down = self.keyring_down.borrow().clone();
        let (mut removed, keyring_unreachable) =
            match known_down.map_or_else(|| self.keyring(&key).remove(), Err) {
                Ok(gone) => (gone, None),
                Err(cause) => (false, Some(cause)),
            };
        let _lock = self.lock_file()?;
        removed |= self.change_file(|entries| entries.remove(&key).is_some())?;
        Ok(McpRemoval {
            removed,
            keyring_unreachable,
        })
    }

    /// `Err(Ok(cause))`: the keyring cannot be used.
    fn keyring_entry(
        &self,
        key: &str,
        server_name: &str,
    ) -> Result<Option<McpTokens>, Result<KeyringError, McpStoreError>> {
        if let Some(cause) = self.keyring_down.borrow().clone() {
            return Err(Ok(cause));
        }
        let keyring = self.keyring(key);
        let malformed = |message: String| McpStoreError::Malformed {
            entry: keyring.describe(),
            message,
            server: crate::untrusted::printable(server_name).into_owned(),
        };
        let secret = match keyring.read() {
            Ok(secret) => secret,
            Err(KeyringError::BadEntry(message)) => return Err(Err(malformed(message))),
            Err(cause) => return Err(Ok(cause)),
        };
        let Some(secret) = secret else {
            return Ok(None);
        };
        McpTokens::from_keyring_json(secret.expose())
            .map(Some)
            .map_err(|e| Err(malformed(crate::secret::json_error(&e))))
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
                        "MCP credentials are kept only in a regular file: remove it (rm {}) and sign in again, or set mcp_oauth_credentials_store = \"keyring\"",
                        path.display()
                    ),
                    // A device, a FIFO or a file over the cap: never read, so it may hold tokens.
                    seen: super::Seen::Unread,
                });
            }
        };
        parse_json(&path, &bytes).map(Some)
    }

    fn file_entry(&self, key: &str, server_name: &str) -> Result<Option<McpTokens>, McpStoreError> {
        let Some(entries) = self.read_file()? else {
            return Ok(None);
        };
        let Some(entry) = entries.get(key) else {
            return Ok(None);
        };
        McpTokens::from_file_entry(entry)
            .map(Some)
            .map_err(|e| McpStoreError::Malformed {
                entry: format!(
                    "`{}` (entry `{}`)",
                    self.file_path().display(),
                    crate::untrusted::printable(key)
                ),
                message: crate::secret::json_error(&e),
                server: crate::untrusted::printable(server_name).into_owned(),
            })
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
            self.notify.notify(Notice::warning(warning));
        }
        replace_atomically_named(&self.codex_home, &self.file_path(), &bytes, TEMP_PREFIX)?;
        Ok(true)
    }
}
