//! Where credentials live, every kind of them: one backend per file or folder (`file.rs`: atomic
//! 0600 writes; `keyring/`: the OS keyring, bounded; `lock.rs`: the cross-process locks) and one
//! policy over them (`policy.rs`: `auto` / `file` / `keyring`), generic over the document.
//! - ChatGPT tokens, API keys, personal access tokens: `auth.json` in CODEX_HOME or the keyring
//!   entry `Codex Auth` / `cli|<hash of CODEX_HOME>`, as `cli_auth_credentials_store` says
//!   (`configured.rs`: `Store`, also each saved account's copy, which `accounts/` opens);
//! - MCP servers' OAuth tokens: one entry per server in `.credentials.json` or the keyring entry
//!   `Codex MCP Credentials` / `<server>|<hash of its URL>`, as `mcp_oauth_credentials_store`
//!   says (`mcp/`: `McpStore`);
//! - a provider command's cached token: a file or keyring entry of its own (`entry.rs`).
//!
//! Every read-modify-write holds a lock (`auth.lock` in CODEX_HOME, the same file the reference
//! CLI locks; `mcp-oauth-locks/` for MCP tokens). Nothing here prints: what the user should hear
//! goes to the `Notify` the store was opened with. Nothing here knows of saved accounts either:
//! `accounts/` sits on top of `Store`.

pub mod configured;
pub mod entry;
pub mod file;
pub mod keyring;
pub mod lock;
pub mod mcp;
pub mod policy;

use std::path::PathBuf;

use thiserror::Error;

use crate::config::Config;
use crate::notice::Notify;
pub use configured::Store;
use keyring::KeyringError;
pub use lock::StoreLock;
pub use policy::{FileRemoval, Removal};

/// The config.toml keys that pick a store: auth.json's and the MCP tokens'.
pub const AUTH_SETTING: &str = "cli_auth_credentials_store";
pub const MCP_SETTING: &str = "mcp_oauth_credentials_store";

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
    #[error(
        "gave up after {secs} s waiting for `{path}`: another `codex` process holds it and has not finished. Stop or resume that process (is one suspended with Ctrl-Z?), then try again"
    )]
    LockTimeout { path: PathBuf, secs: u64 },
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
    /// One line: what is missing, and the two ways out (`setting` names the store's key:
    /// `cli_auth_credentials_store`, or `mcp_oauth_credentials_store` for MCP tokens).
    #[error(
        "cannot use the OS keyring{of}: {cause}; {remedy}, or set {setting} = \"file\" in {config}",
        of = if *setting == MCP_SETTING { " for MCP credentials" } else { "" },
        remedy = cause.remedy(),
        config = config.display()
    )]
    KeyringUnavailable {
        cause: KeyringError,
        config: PathBuf,
        setting: &'static str,
    },
    #[error("cannot parse the credentials in {entry} ({message})")]
    KeyringMalformed { entry: String, message: String },
    /// auth.json (or the file behind its link, or auth.lock) is not a file of ours: a device, a
    /// FIFO, a file too large to hold credentials, someone else's document. It is neither read
    /// nor replaced nor removed; `problem` says what it is, `remedy` what to do.
    #[error("{problem}; {remedy}")]
    NotOurs {
        problem: String,
        remedy: String,
        seen: Seen,
    },
}

/// What is known of the content of a file that is not ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// It was read and holds no credentials (someone's `package.json` behind a link).
    NoCredentials,
    /// It was not read (a device, a FIFO, over the cap, unparseable behind a link): it may
    /// hold credentials that another tool reads.
    Unread,
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

/// The store `cli_auth_credentials_store` asks for. Opening touches nothing: the keyring is
/// first contacted when the credentials are read or written.
pub fn open(config: &Config, notify: std::sync::Arc<dyn Notify>) -> Store {
    Store::new(config, notify)
}
