//! Sign-in paths, one file each. They share one ending: `persist`, which stores the new
//! credentials without ever destroying an unparseable file the user may still need.

pub mod api_key;

use thiserror::Error;

use crate::auth::AuthDotJson;
use crate::config::Config;
use crate::store::{self, CredentialStore, StoreError, StoreLock};

#[derive(Debug, Error)]
pub enum LoginError {
    #[error("API key login is disabled. Use ChatGPT login instead.")]
    ApiKeyDisabled,
    #[error("No API key provided via stdin.")]
    EmptyStdin,
    #[error(
        "the API key given with --api-key is empty; pass the key, or `-` to read it from standard input"
    )]
    EmptyArgument,
    #[error(
        "standard input is a terminal, but the API key is read from standard input. Pipe it in: printenv OPENAI_API_KEY | codex login --api-key -"
    )]
    StdinIsTerminal,
    #[error("cannot read the API key from standard input: {0}")]
    StdinRead(std::io::Error),
    #[error("the API key read from standard input is not valid UTF-8 text; check what is piped in")]
    StdinNotUtf8,
    #[error(
        "the API key contains whitespace or control characters inside it; pass exactly one key"
    )]
    KeyNotOneToken,
    #[error(
        "browser sign-in is not available in this build yet; sign in with an API key: printenv OPENAI_API_KEY | codex login --api-key -"
    )]
    BrowserNotAvailable,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Saves freshly obtained credentials. The old ones stay in place until this point. An existing
/// auth.json that cannot be parsed is moved to `auth.json.bak` first, and the user is told.
pub fn persist(
    config: &Config,
    auth: &AuthDotJson,
) -> Result<Box<dyn CredentialStore>, LoginError> {
    let store = store::open(config)?;
    let lock = StoreLock::acquire(&config.codex_home)?;
    keep_unparseable(store.as_ref(), config, &lock)?;
    store.save(&lock, auth)?;
    Ok(store)
}

fn keep_unparseable(
    store: &dyn CredentialStore,
    config: &Config,
    lock: &StoreLock,
) -> Result<(), LoginError> {
    match store.load() {
        Ok(_) => Ok(()),
        Err(err @ StoreError::Malformed { .. }) => {
            let file = store::file::FileStore::new(config);
            let backup = file.back_up_unparseable(lock)?;
            eprintln!(
                "warning: {err}; it was kept as `{}` and replaced by the new credentials",
                backup.display()
            );
            Ok(())
        }
        Err(err @ StoreError::KeyringMalformed { .. }) => {
            eprintln!("warning: {err}; they are replaced by the new credentials");
            Ok(())
        }
        Err(other) => Err(other.into()),
    }
}
