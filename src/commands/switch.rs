//! `codex login switch NAME`: makes a saved account the active one. Local only: no network call,
//! nothing revoked; the account switched away from is synced into its copy first.

use std::process::ExitCode;
use std::sync::Arc;

use crate::Error;
use crate::accounts::{AccountName, Accounts};
use crate::config::Config;
use crate::report::Reporter;
use crate::store;

pub fn run(config: &Config, name: &AccountName) -> Result<ExitCode, Error> {
    let out = Reporter::text();
    let store = store::open(config, Arc::new(out));
    let accounts = Accounts::over(&store);
    let lock = store.lock()?;
    let switched = accounts.switch(&lock, name)?;
    drop(lock);
    let summary = switched.entry.summary();
    if switched.already {
        out.line(&format!(
            "Account `{name}` is already the active one: {summary}"
        ));
    } else {
        out.line(&format!("Switched to account `{name}`: {summary}"));
    }
    if let Some(refused) = &switched.entry.refresh_refused {
        out.line(&format!(
            "note: its refresh token no longer works ({}): sign in to it again with `codex login --account {name}`",
            refused.code
        ));
    }
    Ok(ExitCode::SUCCESS)
}
