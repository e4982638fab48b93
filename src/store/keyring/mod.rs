//! The keyring store: the OS credential store (Secret Service on Linux, Keychain on macOS,
//! Credential Manager on Windows) through the `keyring` crate, in the reference CLI's entries:
//! service `Codex Auth`, account `cli|<first 16 hex of sha256(canonical CODEX_HOME)>`, secret =
//! the compact JSON of auth.json; and one entry per MCP server under service
//! `Codex MCP Credentials` (see `store/mcp.rs`). Every call runs on a helper thread with a bounded wait, so a
//! hung or locked keyring cannot hang the CLI; failures are sorted into causes a user can act on.

use std::path::{Path, PathBuf};
use std::sync::{OnceLock, mpsc};
use std::time::Duration;

pub mod chunked;
mod error;

use crate::secret::Secret;
use chunked::Slots;
pub use error::KeyringError;

pub const SERVICE: &str = "Codex Auth";
/// The reference's service of MCP servers' OAuth tokens, one entry per server.
pub const MCP_SERVICE: &str = "Codex MCP Credentials";

/// How long one keyring operation may take before the CLI gives up on it. A Secret Service or
/// Credential Manager answers in milliseconds or not at all; the macOS Keychain may first show an
/// allow/deny or unlock dialog, which a person needs time to answer.
#[cfg(not(target_os = "macos"))]
pub const TIMEOUT: Duration = Duration::from_secs(3);
#[cfg(target_os = "macos")]
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// One keyring entry: by default the auth.json entry of one CODEX_HOME.
#[derive(Debug, Clone)]
pub struct KeyringStore {
    service: &'static str,
    codex_home: PathBuf,
    /// Computed on first use: the plain file mode never needs it.
    account: OnceLock<String>,
}

impl KeyringStore {
    pub fn new(codex_home: &Path) -> KeyringStore {
        KeyringStore {
            service: SERVICE,
            codex_home: codex_home.to_path_buf(),
            account: OnceLock::new(),
        }
    }

    /// Another entry of the same service (a saved account's copy), under `account`.
    pub fn with_account(codex_home: &Path, account: String) -> KeyringStore {
        KeyringStore {
            service: SERVICE,
            codex_home: codex_home.to_path_buf(),
            account: OnceLock::from(account),
        }
    }

    /// The entry `account` of another service (an MCP server's tokens).
    pub fn entry(service: &'static str, codex_home: &Path, account: String) -> KeyringStore {
        KeyringStore {
            service,
            codex_home: codex_home.to_path_buf(),
            account: OnceLock::from(account),
        }
    }

    pub fn account(&self) -> &str {
        self.account.get_or_init(|| account_for(&self.codex_home))
    }

    /// For people: which entry this is.
    pub fn describe(&self) -> String {
        format!(
            "the OS keyring (service \"{}\", account \"{}\")",
            self.service,
            self.account()
        )
    }

    /// The stored secret text, `Ok(None)` when there is no entry.
    pub fn read(&self) -> Result<Option<Secret<String>>, KeyringError> {
        let account = self.account().to_string();
        tracing::trace!(account, "reading the keyring entry");
        let slots = OsSlots(self.service);
        let result = session_bus_check().and_then(|()| {
            bounded(move || chunked::read(&slots, &account).map(|s| s.map(Secret::new)))
        });
        match &result {
            Ok(found) => tracing::trace!(
                bytes = found.as_ref().map(|s| s.expose().len()),
                "read the keyring entry"
            ),
            Err(err) => tracing::debug!(%err, "cannot read the keyring entry"),
        }
        result
    }

    pub fn write(&self, secret: Secret<String>) -> Result<(), KeyringError> {
        let account = self.account().to_string();
        tracing::trace!(
            account,
            bytes = secret.expose().len(),
            "writing the keyring entry"
        );
        session_bus_check()?;
        let slots = OsSlots(self.service);
        bounded(move || chunked::write(&slots, &account, secret.expose(), MAX_UNITS))
    }

    /// Whether a save would be accepted now, without writing anything. On Linux the default
    /// collection must exist and be unlocked: a locked one answers a read of a missing entry
    /// as "nothing stored", and refuses the save that follows.
    pub fn check_writable(&self) -> Result<(), KeyringError> {
        session_bus_check()?;
        bounded(default_collection_unlocked)
    }

    /// `Ok(false)` when there was no entry.
    pub fn remove(&self) -> Result<bool, KeyringError> {
        let account = self.account().to_string();
        tracing::trace!(account, "removing the keyring entry");
        session_bus_check()?;
        let slots = OsSlots(self.service);
        bounded(move || chunked::remove(&slots, &account))
    }
}

/// The reference's account name: `cli|` + the first 16 hex characters of the SHA-256 of the
/// canonical CODEX_HOME path (the path as given when it cannot be canonicalized).
pub fn account_for(codex_home: &Path) -> String {
    let canonical = std::fs::canonicalize(codex_home).unwrap_or_else(|_| codex_home.to_path_buf());
    format!("cli|{}", chunked::digest16(&canonical.to_string_lossy()))
}

/// Windows Credential Manager needs chunks for large secrets; elsewhere one entry holds any size,
/// exactly as the reference CLI writes it.
#[cfg(windows)]
const MAX_UNITS: usize = chunked::WINDOWS_MAX_UNITS;
#[cfg(not(windows))]
const MAX_UNITS: usize = usize::MAX;

/// Runs a keyring operation on a helper thread and waits at most `TIMEOUT`. A thread that does
/// not come back is left behind; it ends with the process.
fn bounded<T: Send + 'static>(
    op: impl FnOnce() -> Result<T, KeyringError> + Send + 'static,
) -> Result<T, KeyringError> {
    bounded_within(TIMEOUT, op)
}

fn bounded_within<T: Send + 'static>(
    timeout: Duration,
    op: impl FnOnce() -> Result<T, KeyringError> + Send + 'static,
) -> Result<T, KeyringError> {
    let (tx, rx) = mpsc::sync_channel(1);
    std::thread::Builder::new()
        .name("keyring".to_string())
        .spawn(move || {
            let _ = tx.send(op());
        })
        .map_err(|e| KeyringError::Failed(format!("cannot start the keyring thread: {e}")))?;
    match rx.recv_timeout(timeout) {
        Ok(result) => result,
        Err(mpsc::RecvTimeoutError::Timeout) => Err(KeyringError::TimedOut(timeout.as_secs())),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(KeyringError::Failed(
            "the keyring call ended without an answer".to_string(),
        )),
    }
}

/// The platform's keyring through the `keyring` crate, one entry per account of a service.
struct OsSlots(&'static str);

impl OsSlots {
    fn entry(&self, account: &str) -> Result<keyring::Entry, KeyringError> {
        keyring::Entry::new(self.0, account).map_err(|e| classify(e, self.0))
    }
}

impl Slots for OsSlots {
    fn get(&self, account: &str) -> Result<Option<String>, KeyringError> {
        match self.entry(account)?.get_password() {
            Ok(text) => Ok(Some(text)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(err) if is_missing_collection(&err) => Ok(None),
            Err(err) => Err(classify(err, self.0)),
        }
    }

    fn set(&self, account: &str, value: &str) -> Result<(), KeyringError> {
        self.entry(account)?
            .set_password(value)
            .map_err(|e| classify(e, self.0))
    }

    fn delete(&self, account: &str) -> Result<bool, KeyringError> {
        match self.entry(account)?.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring::Error::NoEntry) => Ok(false),
            Err(err) if is_missing_collection(&err) => Ok(false),
            Err(err) => Err(classify(err, self.0)),
        }
    }
}

/// Checked before any keyring call. Without a session bus address libdbus would try to autolaunch a bus (spawning
/// `dbus-launch` when an X display is set) only to find no keyring in it. Say so at once.
#[cfg(target_os = "linux")]
fn session_bus_check() -> Result<(), KeyringError> {
    let address = std::env::var_os("DBUS_SESSION_BUS_ADDRESS").filter(|a| !a.is_empty());
    let user_bus = std::env::var_os("XDG_RUNTIME_DIR")
        .filter(|d| !d.is_empty())
        .map(|d| Path::new(&d).join("bus"))
        .is_some_and(|p| p.exists());
    if address.is_none() && !user_bus {
        return Err(KeyringError::NoSessionBus(
            "DBUS_SESSION_BUS_ADDRESS is not set".to_string(),
        ));
    }
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn session_bus_check() -> Result<(), KeyringError> {
    Ok(())
}

#[cfg(target_os = "linux")]
fn default_collection_unlocked() -> Result<(), KeyringError> {
    use dbus_secret_service::{EncryptionType, SecretService};
    let platform = |e: dbus_secret_service::Error| classify_platform(Box::new(e));
    let service = SecretService::connect(EncryptionType::Plain).map_err(platform)?;
    let collection = service.get_default_collection().map_err(platform)?;
    match collection.is_locked().map_err(platform)? {
        true => Err(KeyringError::Locked),
        false => Ok(()),
    }
}

#[cfg(not(target_os = "linux"))]
fn default_collection_unlocked() -> Result<(), KeyringError> {
    Ok(())
}

/// A Secret Service without a default collection holds nothing (reading it is not an error).
#[cfg(target_os = "linux")]
fn is_missing_collection(err: &keyring::Error) -> bool {
    match err {
        keyring::Error::NoStorageAccess(inner) => matches!(
            inner.downcast_ref::<dbus_secret_service::Error>(),
            Some(dbus_secret_service::Error::NoResult)
        ),
        _ => false,
    }
}

#[cfg(not(target_os = "linux"))]
fn is_missing_collection(_err: &keyring::Error) -> bool {
    false
}

/// Sorts a `keyring` crate error into a cause the user can act on.
fn classify(err: keyring::Error, service: &str) -> KeyringError {
    match err {
        keyring::Error::PlatformFailure(inner) | keyring::Error::NoStorageAccess(inner) => {
            classify_platform(inner)
        }
        keyring::Error::BadEncoding(_) => {
            KeyringError::BadEntry("the entry is not UTF-8 text".to_string())
        }
        keyring::Error::Ambiguous(found) => KeyringError::Failed(format!(
            "the keyring holds {} entries for service \"{service}\" and this account; remove the extra ones",
            found.len()
        )),
        other => KeyringError::Failed(other.to_string()),
    }
}

#[cfg(target_os = "linux")]
fn classify_platform(inner: Box<dyn std::error::Error + Send + Sync>) -> KeyringError {
    use dbus_secret_service::Error as Ss;
    let Some(ss) = inner.downcast_ref::<Ss>() else {
        return KeyringError::Failed(inner.to_string());
    };
    match ss {
        Ss::Locked | Ss::Prompt => KeyringError::Locked,
        Ss::Unavailable => KeyringError::NoSecretService,
        Ss::NoResult => KeyringError::NoCollection,
        Ss::Dbus(dbus) => {
            let name = dbus.name().unwrap_or("");
            let message = dbus.message().unwrap_or("").to_string();
            match name {
                "org.freedesktop.DBus.Error.ServiceUnknown"
                | "org.freedesktop.DBus.Error.NameHasNoOwner" => KeyringError::NoSecretService,
                _ if name.starts_with("org.freedesktop.DBus.Error.Spawn.") => {
                    KeyringError::NoSecretService
                }
                // dbus-secret-service waits 2 seconds for each D-Bus reply.
                "org.freedesktop.DBus.Error.NoReply"
                | "org.freedesktop.DBus.Error.Timeout"
                | "org.freedesktop.DBus.Error.TimedOut" => KeyringError::TimedOut(2),
                "org.freedesktop.DBus.Error.NoServer"
                | "org.freedesktop.DBus.Error.FileNotFound"
                | "org.freedesktop.DBus.Error.NotSupported"
                | "org.freedesktop.DBus.Error.BadAddress"
                | "org.freedesktop.DBus.Error.Disconnected"
                | "org.freedesktop.DBus.Error.AuthFailed"
                | "org.freedesktop.DBus.Error.NoNetwork" => KeyringError::NoSessionBus(message),
                "org.gnome.keyring.Error.IsLocked" | "org.freedesktop.Secret.Error.IsLocked" => {
                    KeyringError::Locked
                }
                _ => KeyringError::Failed(format!("Secret Service error {name}: {message}")),
            }
        }
        other => KeyringError::Failed(other.to_string()),
    }
}

#[cfg(not(target_os = "linux"))]
fn classify_platform(inner: Box<dyn std::error::Error + Send + Sync>) -> KeyringError {
    KeyringError::Failed(inner.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_matches_the_reference() {
        // `printf %s /nonexistent/codex-home | sha256sum` = b5d85b424b15c4d9a6fe…
        assert_eq!(
            account_for(Path::new("/nonexistent/codex-home")),
            "cli|b5d85b424b15c4d9"
        );
    }

    #[test]
    fn bounded_gives_up_on_a_hung_call() {
        let result: Result<(), KeyringError> = bounded_within(Duration::from_millis(50), || {
            std::thread::sleep(Duration::from_secs(2));
            Ok(())
        });
        assert_eq!(result, Err(KeyringError::TimedOut(0)));
        let result = bounded_within(Duration::from_secs(5), || Ok(7));
        assert_eq!(result, Ok(7));
    }
}
