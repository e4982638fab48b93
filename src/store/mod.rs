//! Where credentials live. One trait, one backend per file; the backend is chosen in one place
//! (`open`) from `cli_auth_credentials_store`. Every read-modify-write holds the cross-process
//! lock (`auth.lock` in CODEX_HOME, the same file the reference CLI locks).

pub mod file;
pub mod lock;

use std::path::PathBuf;

use thiserror::Error;

use crate::auth::AuthDotJson;
use crate::config::{Config, StoreMode};
pub use lock::StoreLock;

/// Which backend holds (or would hold) the credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    File,
    Keyring,
}

impl StoreKind {
    pub fn as_str(self) -> &'static str {
        match self {
            StoreKind::File => "file",
            StoreKind::Keyring => "keyring",
        }
    }
}

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("cannot parse `{path}` (line {line}, column {column}: {message})")]
    Malformed {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("cannot {action} `{path}`: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "cli_auth_credentials_store = \"{0}\" is not supported yet; set cli_auth_credentials_store = \"file\" in config.toml"
    )]
    NotSupported(&'static str),
}

impl StoreError {
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        StoreError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

pub trait CredentialStore {
    fn kind(&self) -> StoreKind;
    /// Where the credentials are, for people: a path or a keyring entry.
    fn location(&self) -> String;
    /// `Ok(None)` when nothing is stored.
    fn load(&self) -> Result<Option<AuthDotJson>, StoreError>;
    /// Replaces the stored credentials. The lock proves the caller holds `auth.lock`.
    fn save(&self, lock: &StoreLock, auth: &AuthDotJson) -> Result<(), StoreError>;
    /// Removes the stored credentials; `Ok(false)` when there were none.
    fn delete(&self, lock: &StoreLock) -> Result<bool, StoreError>;
}

/// The backend `cli_auth_credentials_store` asks for.
pub fn open(config: &Config) -> Result<Box<dyn CredentialStore>, StoreError> {
    match config.store_mode {
        StoreMode::File => Ok(Box::new(file::FileStore::new(config))),
        StoreMode::Keyring => Err(StoreError::NotSupported("keyring")),
        StoreMode::Auto => Err(StoreError::NotSupported("auto")),
    }
}
