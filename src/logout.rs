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
        Ok(Some(doc)) => revoke_best_effort(config, &doc),
        Ok(None) => {}
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

/// Revokes the refresh token at its issuer before the local copy goes. Best effort: a failure
/// is a warning and the local credentials are removed anyway.
fn revoke_best_effort(config: &Config, doc: &crate::auth::AuthDotJson) {
    if doc
        .tokens
        .as_ref()
        .is_none_or(|t| t.refresh_token.expose().is_empty())
    {
        return;
    }
    let result = crate::http::client(config)
        .map_err(|e| e.to_string())
        .and_then(|http| crate::http::runtime().block_on(crate::token::revoke(config, &http, doc)));
    match result {
        Ok(_) => tracing::debug!("revoked the refresh token"),
        Err(detail) => eprintln!(
            "warning: could not revoke the sign-in at the issuer ({detail}); the local credentials are removed anyway"
        ),
    }
}
