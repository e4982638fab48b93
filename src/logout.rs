//! `codex logout`: removes the credentials from every store it can reach. A file it cannot parse
//! is left in place and named, never deleted unseen.

use std::process::ExitCode;

use crate::config::Config;
use crate::store::{self, StoreError, StoreLock};

pub fn run(config: &Config) -> Result<ExitCode, StoreError> {
    let store = store::open(config)?;
    if !config.codex_home.exists() {
        eprintln!("Not logged in");
        return Ok(ExitCode::SUCCESS);
    }
    let lock = StoreLock::acquire(&config.codex_home)?;
    match store.load() {
        Ok(_) => {}
        Err(err @ StoreError::Malformed { .. }) => {
            eprintln!(
                "{err}. It was left in place because it may still hold credentials: fix it, or remove it yourself (rm {}).",
                store.location()
            );
            return Ok(ExitCode::FAILURE);
        }
        Err(other) => return Err(other),
    }
    if store.delete(&lock)? {
        eprintln!("Successfully logged out");
    } else {
        eprintln!("Not logged in");
    }
    Ok(ExitCode::SUCCESS)
}
