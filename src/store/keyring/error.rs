//! Why the keyring could not be used, and what the user can do about it.

use thiserror::Error;

/// Why the keyring could not be used, or why its entry could not be read.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum KeyringError {
    #[error("no D-Bus session bus: {0}")]
    NoSessionBus(String),
    #[error(
        "no Secret Service on the D-Bus session bus (nothing provides org.freedesktop.secrets)"
    )]
    NoSecretService,
    #[error("the keyring is locked and no unlock prompt can be shown")]
    Locked,
    #[error("the Secret Service has no default keyring, and none can be created without a prompt")]
    NoCollection,
    #[error("the keyring did not answer within {0} seconds")]
    TimedOut(u64),
    #[error("{0}")]
    Failed(String),
    /// The entry is there but its content is broken (not text, or chunks missing).
    #[error("{0}")]
    BadEntry(String),
}

impl KeyringError {
    /// True when no keyring is running at all in this session (as opposed to one that is
    /// locked, hung or failing): nothing can have been stored in it from this session.
    pub fn is_absent(&self) -> bool {
        match self {
            KeyringError::NoSessionBus(_)
            | KeyringError::NoSecretService
            | KeyringError::NoCollection => true,
            KeyringError::Locked
            | KeyringError::TimedOut(_)
            | KeyringError::Failed(_)
            | KeyringError::BadEntry(_) => false,
        }
    }

    /// What the user can do about it, short of switching to the file store.
    pub fn remedy(&self) -> &'static str {
        match self {
            KeyringError::NoSessionBus(_) | KeyringError::NoSecretService => {
                "start a keyring daemon in a D-Bus session (for example gnome-keyring-daemon --unlock --components=secrets)"
            }
            KeyringError::Locked => "unlock the keyring (for example by signing in to the desktop)",
            KeyringError::NoCollection => {
                "create a default keyring and unlock it (for example with gnome-keyring-daemon --unlock, or Seahorse on a desktop)"
            }
            KeyringError::TimedOut(_) => "check that the keyring daemon is responsive",
            KeyringError::Failed(_) | KeyringError::BadEntry(_) => "check the OS keyring",
        }
    }
}
