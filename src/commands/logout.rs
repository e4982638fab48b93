//! `codex logout`: revokes the refresh token (best effort), then removes the credentials from
//! every store it can reach (auth.json and the OS keyring, whatever `cli_auth_credentials_store`
//! says) and names a store it could not reach. A file it cannot read (unparseable, over the size
//! cap, a device, a FIFO) is left in place and named, and logout fails: it may still hold
//! credentials that the reference CLI reads. A file that is not a credentials document (a link to
//! someone's `package.json`) is left in place with a note: we only delete what we wrote.
//!
//! With saved accounts: the active account goes and nothing is active afterwards (a person
//! logging out of a shared machine expects to be logged out); the others stay saved and are
//! named, with the way back (`codex login switch NAME`); `--account NAME` removes one saved
//! account, `--all` every one.
//!
//! Logout (but for `--account NAME`) also removes the tokens providers' `auth` commands printed,
//! which `codex exec` caches across runs (`credential/command/cache.rs`).

use std::process::ExitCode;
use std::sync::Arc;

use crate::Error;
use crate::accounts::{AccountError, AccountName, Accounts};
use crate::auth::AuthDotJson;
use crate::cli::LogoutArgs;
use crate::config::{Config, StoreMode};
use crate::report::Reporter;
use crate::store::keyring::KeyringError;
use crate::store::{self, FileRemoval, Seen, StoreError};

/// What to sign out of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The active credentials (and their saved account).
    Active,
    Account(AccountName),
    All,
}

pub fn run(config: &Config, args: LogoutArgs) -> Result<ExitCode, Error> {
    let target = match (args.account, args.all) {
        (_, true) => Target::All,
        (Some(name), false) => Target::Account(name),
        (None, false) => Target::Active,
    };
    let out = Reporter::text();
    // The host owns a workload identity: there is nothing of ours to remove, and removing the
    // stored credentials instead would surprise (the reference refuses too).
    if crate::credential::workload::selected() {
        out.line(crate::credential::workload::LOGOUT_REFUSED);
        return Ok(ExitCode::FAILURE);
    }
    let store = store::open(config, Arc::new(out));
    let accounts = Accounts::over(&store);
    let done = match &target {
        Target::Active => log_out_active(config, &accounts, &out),
        Target::Account(name) => log_out_account(config, &accounts, name, &out),
        Target::All => log_out_all(config, &accounts, &out),
    };
    match target {
        // A saved account has no provider tokens of its own.
        Target::Account(_) => {}
        Target::Active | Target::All => forget_provider_tokens(config, &out),
    }
    Ok(done?)
}

/// The tokens providers' `auth` commands printed are credentials too: a person logging out of
/// a shared machine expects no copy of them left in CODEX_HOME or the keyring (the next request
/// runs the command again). The reference keeps them in memory only, so it has none to remove.
fn forget_provider_tokens(config: &Config, out: &Reporter) {
    match crate::credential::command::forget_all(config, out) {
        0 => {}
        1 => out.line("Also removed the cached token of a provider's auth command."),
        n => out.line(&format!(
            "Also removed {n} cached tokens of providers' auth commands."
        )),
    }
}

fn log_out_active(
    config: &Config,
    accounts: &Accounts,
    out: &Reporter,
) -> Result<ExitCode, AccountError> {
    let store = accounts.active();
    // No CODEX_HOME yet: only a keyring entry can exist; the directory is made only to remove it.
    if !config.codex_home.exists() && store.load_for_logout().is_none() {
        out.line("Not logged in");
        return Ok(ExitCode::SUCCESS);
    }
    let lock = accounts.active().lock()?;
    let FileState { unread, not_ours } = file_state(accounts)?;
    let doc = store.load_for_logout();
    // A broken index must not stop a logout; it is left as it is.
    let mut index = match accounts.index() {
        Ok(index) => Some(index),
        Err(err) => {
            out.line(&format!(
                "note: {err}; the saved accounts were left as they are"
            ));
            None
        }
    };
    if let Some(doc) = &doc {
        revoke_best_effort(config, doc, None, out);
    }
    let file = match unread {
        Some(_) => FileRemoval::Keep,
        None => FileRemoval::Remove,
    };
    let removal = store.remove_everywhere(&lock, file)?;
    if let Some(problem) = unread {
        if removal.removed {
            out.line(&format!(
                "Removed the credentials from {}.",
                store.keyring().describe()
            ));
        }
        out.line(&left_in_place(&problem, accounts));
        return Ok(ExitCode::FAILURE);
    }
    let mut unreachable = removal.keyring_unreachable;
    if let Some(index) = index.as_mut() {
        let before = index.clone();
        if let Some(name) = doc.as_ref().and_then(|d| index.owner(d)) {
            let gone = accounts.forget(&lock, index, &name)?;
            unreachable = unreachable.or(gone.keyring_unreachable);
        }
        if *index != before {
            accounts.save_index(&lock, index)?;
        }
    }
    drop(lock);
    out.line(if removal.removed {
        "Successfully logged out"
    } else {
        "Not logged in"
    });
    if let Some(problem) = not_ours {
        out.line(&format!("note: {problem}; it was left in place"));
    }
    let others = index.map(|i| i.names()).unwrap_or_default();
    if removal.removed && !others.is_empty() {
        out.line(&format!(
            "No account is active now. Still saved: {}. Use one again with `codex login switch NAME`; `codex logout --all` removes them too",
            others.join(", ")
        ));
    }
    Ok(report_keyring(accounts, config, unreachable, out))
}

fn log_out_account(
    config: &Config,
    accounts: &Accounts,
    name: &AccountName,
    out: &Reporter,
) -> Result<ExitCode, AccountError> {
    let lock = accounts.active().lock()?;
    let mut index = accounts.index()?;
    let Some(entry) = index.get(name).cloned() else {
        return Err(accounts.unknown(&index, name));
    };
    let active = accounts.active().load().ok().flatten();
    if active
        .is_some_and(|doc| crate::accounts::identity::of(&doc).as_deref() == Some(&entry.identity))
    {
        drop(lock);
        return log_out_active(config, accounts, out);
    }
    if let Some(doc) = accounts.copy(name).load_for_logout() {
        revoke_best_effort(config, &doc, Some(name), out);
    }
    let removal = accounts.forget(&lock, &mut index, name)?;
    accounts.save_index(&lock, &index)?;
    drop(lock);
    out.line(&format!("Logged out of account `{name}`"));
    Ok(report_keyring(
        accounts,
        config,
        removal.keyring_unreachable,
        out,
    ))
}

fn log_out_all(
    config: &Config,
    accounts: &Accounts,
    out: &Reporter,
) -> Result<ExitCode, AccountError> {
    let lock = accounts.active().lock()?;
    let FileState { unread, not_ours } = file_state(accounts)?;
    // A broken index is left alone, and so are the accounts it would list.
    let (mut index, broken_index) = match accounts.index() {
        Ok(index) => (Some(index), None),
        Err(err) => (None, Some(err)),
    };
    let names: Vec<AccountName> = index
        .as_ref()
        .map(|i| {
            i.names()
                .iter()
                .filter_map(|n| AccountName::parse(n).ok())
                .collect()
        })
        .unwrap_or_default();
    let mut docs: Vec<(Option<AccountName>, AuthDotJson)> = Vec::new();
    if let Some(doc) = accounts.active().load_for_logout() {
        docs.push((None, doc));
    }
    for name in &names {
        if let Some(doc) = accounts.copy(name).load_for_logout() {
            docs.push((Some(name.clone()), doc));
        }
    }
    revoke_all(config, docs, out);
    let mut unreachable: Option<KeyringError> = None;
    if let Some(index) = index.as_mut() {
        for name in &names {
            let gone = accounts.forget(&lock, index, name)?;
            unreachable = unreachable.or(gone.keyring_unreachable);
        }
        accounts.save_index(&lock, index)?;
    }
    let file = match unread {
        Some(_) => FileRemoval::Keep,
        None => FileRemoval::Remove,
    };
    let removal = accounts.active().remove_everywhere(&lock, file)?;
    drop(lock);
    unreachable = removal.keyring_unreachable.or(unreachable);
    let list = names
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    match (unread.is_some(), removal.removed, names.is_empty()) {
        // Said below: auth.json is still there.
        (true, _, true) => {}
        (true, _, false) => out.line(&format!("Logged out of every saved account ({list})")),
        (false, false, true) => out.line("Not logged in"),
        (false, true, true) => out.line("Successfully logged out"),
        (false, _, false) => out.line(&format!(
            "Successfully logged out of every account ({list})"
        )),
    }
    if let Some(problem) = not_ours {
        out.line(&format!("note: {problem}; it was left in place"));
    }
    let mut failed = false;
    if let Some(problem) = unread {
        out.line(&left_in_place(&problem, accounts));
        failed = true;
    }
    if let Some(err) = broken_index {
        out.line(&format!(
            "{err}. The saved accounts it lists were not removed: fix or remove it, then run `codex logout --all` again."
        ));
        failed = true;
    }
    let code = report_keyring(accounts, config, unreachable, out);
    Ok(if failed { ExitCode::FAILURE } else { code })
}

/// What auth.json is to a logout, besides credentials or nothing.
#[derive(Default)]
struct FileState {
    /// It could not be read (it does not parse, is over the size cap, is a device or a FIFO):
    /// it may still hold credentials, so logout leaves it where it is, names it, and fails.
    unread: Option<String>,
    /// It was read and is no credentials document (a link to someone's `package.json`): left
    /// alone, and said.
    not_ours: Option<String>,
}

fn file_state(accounts: &Accounts) -> Result<FileState, StoreError> {
    match accounts.active().file().load() {
        Ok(_) => Ok(FileState::default()),
        Err(err @ StoreError::Malformed { .. }) => Ok(FileState {
            unread: Some(err.to_string()),
            not_ours: None,
        }),
        Err(StoreError::NotOurs {
            problem,
            seen: Seen::Unread,
            ..
        }) => Ok(FileState {
            unread: Some(problem),
            not_ours: None,
        }),
        Err(StoreError::NotOurs {
            problem,
            seen: Seen::NoCredentials,
            ..
        }) => Ok(FileState {
            unread: None,
            not_ours: Some(problem),
        }),
        Err(other) => Err(other),
    }
}

/// Why logout failed over an auth.json it could not read, and what to do.
fn left_in_place(problem: &str, accounts: &Accounts) -> String {
    format!(
        "{problem}. It was left in place because it may still hold credentials: fix it, or remove it yourself ({}).",
        crate::fsutil::remove_command(accounts.active().file().path())
    )
}

/// The exit code, after saying what could not be checked in the keyring. No keyring running at
/// all: nothing can be in it from this session, so this succeeds. A locked or failing keyring
/// may still hold credentials: that is a failure.
fn report_keyring(
    accounts: &Accounts,
    config: &Config,
    unreachable: Option<KeyringError>,
    out: &Reporter,
) -> ExitCode {
    let Some(cause) = unreachable else {
        return ExitCode::SUCCESS;
    };
    if cause.is_absent() {
        match config.store_mode {
            // Containers and CI use the file mode and have no keyring: nothing worth saying.
            StoreMode::File => {}
            StoreMode::Keyring | StoreMode::Auto => out.line(&format!(
                "note: the OS keyring was not checked for credentials: {cause}"
            )),
        }
        ExitCode::SUCCESS
    } else {
        out.line(&format!(
            "could not check {} for credentials: {cause}; {}, then run `codex logout` again",
            accounts.active().keyring().describe(),
            cause.remedy()
        ));
        ExitCode::FAILURE
    }
}

fn has_refresh_token(doc: &AuthDotJson) -> bool {
    doc.tokens
        .as_ref()
        .is_some_and(|t| !t.refresh_token.expose().is_empty())
}

fn revoke_warning(account: Option<&AccountName>, detail: &str, out: &Reporter) {
    let whose = account
        .map(|name| format!(" of account `{name}`"))
        .unwrap_or_default();
    out.line(&format!(
        "warning: could not revoke the sign-in{whose} at the issuer ({detail}); the local credentials are removed anyway"
    ));
}

/// Revokes the refresh token at its issuer before the local copy goes. Best effort: a failure
/// is a warning and the local credentials are removed anyway.
fn revoke_best_effort(
    config: &Config,
    doc: &AuthDotJson,
    account: Option<&AccountName>,
    out: &Reporter,
) {
    if !has_refresh_token(doc) {
        return;
    }
    let result = crate::http::client(&config.network)
        .map_err(|e| e.to_string())
        .and_then(|http| crate::http::runtime().block_on(crate::token::revoke(config, &http, doc)));
    match result {
        Ok(_) => tracing::debug!("revoked the refresh token"),
        Err(detail) => revoke_warning(account, &detail, out),
    }
}

/// Revokes every distinct refresh token at once, so `--all` waits for the slowest issuer only.
fn revoke_all(config: &Config, docs: Vec<(Option<AccountName>, AuthDotJson)>, out: &Reporter) {
    let mut seen = std::collections::HashSet::new();
    let docs: Vec<_> = docs
        .into_iter()
        .filter(|(_, doc)| has_refresh_token(doc))
        .filter(|(_, doc)| {
            let token = doc
                .tokens
                .as_ref()
                .map(|t| t.refresh_token.expose().clone());
            seen.insert(token)
        })
        .collect();
    if docs.is_empty() {
        return;
    }
    let http = match crate::http::client(&config.network) {
        Ok(http) => http,
        Err(err) => {
            revoke_warning(None, &err.to_string(), out);
            return;
        }
    };
    let failures = crate::http::runtime().block_on(async {
        let mut tasks = tokio::task::JoinSet::new();
        for (account, doc) in docs {
            let (config, http) = (config.clone(), http.clone());
            tasks.spawn(async move {
                let result = crate::token::revoke(&config, &http, &doc).await;
                (account, result)
            });
        }
        let mut failures = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok((account, Err(detail))) => failures.push((account, detail)),
                Ok((_, Ok(_))) => {}
                Err(err) => failures.push((None, err.to_string())),
            }
        }
        failures
    });
    for (account, detail) in failures {
        revoke_warning(account.as_ref(), &detail, out);
    }
}
