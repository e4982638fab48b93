//! `[model_providers.<id>.auth]`: the bearer token a command prints (`az account
//! get-access-token ...`, a vault CLI, a gateway's helper). The command runs directly, bounded
//! (`run.rs`); its token is cached across runs in the configured store (`cache.rs`) and shared:
//! a process that finds another one running the command waits for it and takes its token. After
//! a 401 the cached token is dropped and the command runs again, once.

mod cache;
pub mod run;

use std::sync::Arc;

use super::{Credential, CredentialError};
use crate::config::Config;
use crate::notice::Notify;
use crate::provider::{AuthCommand, Provider};
use crate::secret::Secret;
pub use cache::forget_all;
use cache::{Cache, now_ms};

/// The provider's token: cached, or printed by the command now.
pub async fn credential(
    config: &Config,
    provider: &Provider,
    auth: &AuthCommand,
    notify: &Arc<dyn Notify>,
) -> Result<Credential, CredentialError> {
    obtain_off_thread(config, &provider.id, auth, notify, None).await
}

/// After a 401: the refused token is dropped and the command runs again (unless another
/// process has cached a newer token meanwhile).
pub async fn after_unauthorized(
    config: &Config,
    provider: &str,
    auth: &AuthCommand,
    refused: &Secret<String>,
    notify: &Arc<dyn Notify>,
) -> Result<Option<Credential>, CredentialError> {
    obtain_off_thread(config, provider, auth, notify, Some(refused.clone()))
        .await
        .map(Some)
}

/// The provider refused `token` even after a re-run: it is dropped from the cache (when it is
/// still the cached one), so the next run starts with a new run of the command.
pub async fn forget(
    config: &Config,
    provider: &str,
    auth: &AuthCommand,
    token: &Secret<String>,
    notify: &Arc<dyn Notify>,
) {
    if config.read_only {
        return;
    }
    let (config, provider, auth, token, notify) = (
        config.clone(),
        provider.to_string(),
        auth.clone(),
        token.clone(),
        notify.clone(),
    );
    let _ = tokio::task::spawn_blocking(move || {
        let cache = Cache::new(&config, &provider, &auth);
        let Ok(lock) = cache.lock(notify.as_ref()) else {
            return;
        };
        if cache
            .fresh(&auth, now_ms())
            .is_some_and(|cached| cached.expose() == token.expose())
        {
            cache.forget(&lock);
        }
    })
    .await;
}

/// Where the token is cached, for people (`login status`, `doctor`).
pub fn cache_location(config: &Config, provider: &Provider, auth: &AuthCommand) -> String {
    Cache::new(config, &provider.id, auth).location()
}

/// The run (up to `timeout_ms`) and the lock wait are blocking: they go to a thread of their
/// own, so `codex doctor`'s other checks go on meanwhile.
async fn obtain_off_thread(
    config: &Config,
    provider: &str,
    auth: &AuthCommand,
    notify: &Arc<dyn Notify>,
    refused: Option<Secret<String>>,
) -> Result<Credential, CredentialError> {
    let (config, provider, auth, notify) = (
        config.clone(),
        provider.to_string(),
        auth.clone(),
        notify.clone(),
    );
    tokio::task::spawn_blocking(move || {
        let token = obtain(&config, &provider, &auth, notify.as_ref(), refused.as_ref())?;
        Ok(Credential::Command {
            token,
            provider,
            auth: Box::new(auth),
        })
    })
    .await
    .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
}

fn obtain(
    config: &Config,
    provider: &str,
    auth: &AuthCommand,
    notify: &dyn Notify,
    refused: Option<&Secret<String>>,
) -> Result<Secret<String>, CredentialError> {
    let run = || {
        run::token(auth).map_err(|error| CredentialError::Command {
            provider: provider.to_string(),
            error,
        })
    };
    // `codex doctor` writes nothing and checks the command itself: it runs it once.
    if config.read_only {
        return run();
    }
    let cache = Cache::new(config, provider, auth);
    if refused.is_none()
        && let Some(token) = cache.fresh(auth, now_ms())
    {
        tracing::debug!("using the cached provider token");
        return Ok(token);
    }
    let lock = match cache.lock(notify) {
        Ok(lock) => Some(lock),
        Err(err) => {
            tracing::debug!(%err, "the provider token cache cannot be locked; running the command uncached");
            None
        }
    };
    // Another process may have run the command while this one waited for the lock.
    if let Some(token) = cache.fresh(auth, now_ms())
        && refused.is_none_or(|r| r.expose() != token.expose())
    {
        tracing::debug!("using the provider token another process cached");
        return Ok(token);
    }
    if let (Some(lock), Some(_)) = (&lock, refused) {
        cache.forget(lock);
    }
    let token = run()?;
    if let Some(lock) = &lock {
        cache.save(lock, &token, now_ms());
    }
    Ok(token)
}
