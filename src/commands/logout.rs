//! `codex logout`: revokes the refresh token (best effort), then removes the credentials from
//! every store it can reach (auth.json and the OS keyring, whatever `cli_auth_credentials_store`
//! says) and names a store it could not reach. A file it cannot parse is left in place and named,
//! never deleted unseen; so is anything that is not a credentials file (a link to `/dev/null` or
//! to someone's `package.json`, a FIFO): we only delete what we wrote.

use std::process::ExitCode;
use std::sync::Arc;

use crate::config::{Config, StoreMode};
use crate::report::Reporter;
use crate::store::{self, FileRemoval, StoreError};

pub fn run(config: &Config) -> Result<ExitCode, StoreError> {
    let out = Reporter::text();
    let store = store::open(config, Arc::new(out));
    // No CODEX_HOME yet: only a keyring entry can exist; the directory is made only to remove it.
    if !config.codex_home.exists() && store.load_for_logout().is_none() {
        out.line("Not logged in");
        return Ok(ExitCode::SUCCESS);
    }
    let lock = store.lock()?;
    // What is not ours (a link to /dev/null or to someone's package.json, a FIFO) holds no
    // credentials of ours: it is left in place, said once, and is no failure.
    let mut not_ours = None;
    let unparseable = match store.file().load() {
        Ok(_) => None,
        Err(err @ StoreError::Malformed { .. }) => Some(err),
        Err(StoreError::NotOurs { problem, .. }) => {
            not_ours = Some(problem);
            None
        }
        Err(other) => return Err(other),
    };
    if let Some(doc) = store.load_for_logout() {
        revoke_best_effort(config, &doc, &out);
    }
    let file = match unparseable {
        Some(_) => FileRemoval::Keep,
        None => FileRemoval::Remove,
    };
    let removal = store.remove_everywhere(&lock, file)?;
    if let Some(err) = unparseable {
        if removal.removed {
            out.line(&format!(
                "Removed the credentials from {}.",
                store.keyring().describe()
            ));
        }
        out.line(&format!(
            "{err}. It was left in place because it may still hold credentials: fix it, or remove it yourself (rm {}).",
            store.file().location()
        ));
        return Ok(ExitCode::FAILURE);
    }
    out.line(if removal.removed {
        "Successfully logged out"
    } else {
        "Not logged in"
    });
    if let Some(problem) = not_ours {
        out.line(&format!("note: {problem}; it was left in place"));
    }
    let Some(cause) = removal.keyring_unreachable else {
        return Ok(ExitCode::SUCCESS);
    };
    // No keyring running at all: nothing can be in it from this session, so this succeeds. A
    // locked or failing keyring may still hold credentials: that is a failure.
    if cause.is_absent() {
        match store.mode() {
            // Containers and CI use the file mode and have no keyring: nothing worth saying.
            StoreMode::File => {}
            StoreMode::Keyring | StoreMode::Auto => out.line(&format!(
                "note: the OS keyring was not checked for credentials: {cause}"
            )),
        }
        Ok(ExitCode::SUCCESS)
    } else {
        out.line(&format!(
            "could not check {} for credentials: {cause}; {}, then run `codex logout` again",
            store.keyring().describe(),
            cause.remedy()
        ));
        Ok(ExitCode::FAILURE)
    }
}

/// Revokes the refresh token at its issuer before the local copy goes. Best effort: a failure
/// is a warning and the local credentials are removed anyway.
fn revoke_best_effort(config: &Config, doc: &crate::auth::AuthDotJson, out: &Reporter) {
    if doc
        .tokens
        .as_ref()
        .is_none_or(|t| t.refresh_token.expose().is_empty())
    {
        return;
    }
    let result = crate::http::client(&config.network)
        .map_err(|e| e.to_string())
        .and_then(|http| crate::http::runtime().block_on(crate::token::revoke(config, &http, doc)));
    match result {
        Ok(_) => tracing::debug!("revoked the refresh token"),
        Err(detail) => out.line(&format!(
            "warning: could not revoke the sign-in at the issuer ({detail}); the local credentials are removed anyway"
        )),
    }
}
