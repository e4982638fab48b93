//! The cross-run cache of a command's token. A CLI makes one request per process, so the
//! reference's in-memory cache would run `az` (about a second) on every `codex exec`; here the
//! token is kept in the configured credential store (`store::entry`: a keyring entry or a 0600
//! file, never auth.json), keyed by provider and command, and reused while it is younger than
//! `refresh_interval_ms` and, when it is a JWT, while its `exp` is more than the usual refresh
//! window away. A 401 drops it; a failed run is never cached.

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::notice::Notify;
use crate::provider::AuthCommand;
use crate::secret::Secret;
use crate::store::entry::Entry;
use crate::store::{StoreError, StoreLock};

/// `$CODEX_HOME/provider-tokens/`, and the keyring accounts `provider-tokens|...`.
const FOLDER: &str = "provider-tokens";

/// One cached token, as stored.
#[derive(Serialize, Deserialize)]
struct Cached {
    token: Secret<String>,
    /// When the command printed it (Unix milliseconds).
    obtained_at_ms: i64,
}

pub struct Cache {
    entry: Entry,
    /// The entry's name: a digest of the provider and its command.
    name: String,
}

impl Cache {
    /// The cache of this provider's command (its program, arguments and directory).
    pub fn new(config: &Config, provider: &str, auth: &AuthCommand) -> Cache {
        let mut key = format!("{provider}\0{}\0", auth.command);
        for arg in auth.args.expose() {
            key.push_str(arg);
            key.push('\0');
        }
        if let Some(cwd) = &auth.cwd {
            key.push_str(&cwd.to_string_lossy());
        }
        let name = crate::store::keyring::chunked::digest16(&key);
        Cache {
            entry: Entry::new(config, FOLDER, &name),
            name,
        }
    }

    /// Where the token is kept, for people.
    pub fn location(&self) -> String {
        self.entry.location()
    }

    /// The cached token, while it may still be used.
    pub fn fresh(&self, auth: &AuthCommand, now_ms: i64) -> Option<Secret<String>> {
        let text = self.entry.read()?;
        let cached: Cached = serde_json::from_str(text.expose()).ok()?;
        usable(&cached, auth, now_ms).then_some(cached.token)
    }

    /// Held while the command runs, so concurrent runs share one run.
    pub fn lock(&self, notify: &dyn Notify) -> Result<StoreLock, StoreError> {
        self.entry.lock(
            "another `codex` process that is running the provider auth command",
            notify,
        )
    }

    pub fn save(&self, lock: &StoreLock, token: &Secret<String>, now_ms: i64) {
        let cached = Cached {
            token: token.clone(),
            obtained_at_ms: now_ms,
        };
        let text = match serde_json::to_string(&cached) {
            Ok(text) => text,
            Err(_) => return,
        };
        if let Err(err) = self.entry.write(lock, Secret::new(text)) {
            // A cache that cannot be written costs a run of the command next time, nothing more.
            tracing::debug!(%err, "the provider token is not cached");
        }
    }

    /// After a 401: the token is not used again.
    pub fn forget(&self, lock: &StoreLock) {
        self.entry.remove(lock);
    }
}

/// Removes every cached token of this CODEX_HOME (`codex logout`): those of the providers
/// config.toml defines with an `auth` command, from the file and the keyring, and every file
/// in `provider-tokens/` that a command since changed or removed left behind (its keyring entry
/// cannot be found without its name). Best effort: it is a cache. Returns how many were removed.
pub fn forget_all(config: &Config, notify: &dyn Notify) -> usize {
    let mut names = std::collections::BTreeSet::new();
    for id in config.models.providers.keys() {
        if let Ok(provider) = crate::provider::by_id(config, id)
            && let Some(auth) = &provider.auth
        {
            names.insert(Cache::new(config, id, auth).name);
        }
    }
    names.extend(
        Entry::names_on_disk(config, FOLDER)
            .into_iter()
            .filter(|name| is_digest(name)),
    );
    names
        .iter()
        .filter(|name| {
            let entry = Entry::new(config, FOLDER, name);
            match entry.lock(
                "another `codex` process that is using a cached provider token",
                notify,
            ) {
                Ok(lock) => entry.remove(&lock),
                Err(err) => {
                    tracing::debug!(%err, "a cached provider token is left: its lock is held");
                    false
                }
            }
        })
        .count()
}

/// Whether `name` is one `Cache::new` makes (16 lowercase hex digits).
fn is_digest(name: &str) -> bool {
    name.len() == 16 && name.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f'))
}

fn usable(cached: &Cached, auth: &AuthCommand, now_ms: i64) -> bool {
    let age_ms = now_ms - cached.obtained_at_ms;
    // From the future: a clock that was set back; not trusted.
    if age_ms < 0 {
        return false;
    }
    if let Some(interval) = auth.refresh_interval
        && u128::from(age_ms.unsigned_abs()) >= interval.as_millis()
    {
        return false;
    }
    // As for ChatGPT tokens: a token that lives less than twice the margin is kept for half
    // its life (not thrown away the moment it arrives), compared to the millisecond.
    crate::token::expires_soon(cached.token.expose(), now_ms).is_none_or(|soon| !soon)
}

/// Now, in Unix milliseconds.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
