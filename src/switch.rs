//! `codex login switch NAME`: makes a saved account the active one. Local only: no network call,
//! nothing revoked; the account switched away from is synced into its copy first.

use std::process::ExitCode;

use crate::accounts::{AccountError, AccountName, Accounts};
use crate::config::Config;
use crate::store::StoreLock;

pub fn run(config: &Config, name: &AccountName) -> Result<ExitCode, AccountError> {
    let accounts = Accounts::new(config);
    let lock = StoreLock::acquire(&config.codex_home)?;
    let switched = accounts.switch(&lock, name)?;
    drop(lock);
    for notice in &switched.notices {
        eprintln!("{notice}");
    }
    let summary = switched.entry.summary();
    if switched.already {
        eprintln!("Account `{name}` is already the active one: {summary}");
    } else {
        eprintln!("Switched to account `{name}`: {summary}");
    }
    if let Some(refused) = &switched.entry.refresh_refused {
        eprintln!(
            "note: its refresh token no longer works ({}): sign in to it again with `codex login --account {name}`",
            refused.code
        );
    }
    Ok(ExitCode::SUCCESS)
}
