//! Sign-in paths, one file each. They share one ending: `persist`, which stores the new
//! credentials without ever destroying an unparseable file the user may still need.

pub mod api_key;
pub mod browser;
pub mod oauth;

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
    #[error("ChatGPT login is disabled. Use API key login instead.")]
    ChatGptDisabled,
    #[error(
        "cannot listen for the sign-in callback: ports 1455 and 1457 on 127.0.0.1 are both in use by other programs. Free one of them, or sign in without a callback: codex login --device-auth"
    )]
    PortsBusy,
    #[error(
        "cannot listen for the sign-in callback on 127.0.0.1:{port}: {source}. Pick another --port (0 = any free port)"
    )]
    PortUnavailable { port: u16, source: std::io::Error },
    #[error("cannot listen for the sign-in callback: {0}")]
    Listen(std::io::Error),
    #[error(
        "timed out after {0} s waiting for the sign-in to finish in the browser. Your previous credentials were kept. Run `codex login` again (or `codex login --device-auth` on a machine without a browser)"
    )]
    TimedOut(u64),
    #[error("Login cancelled. Your previous credentials were kept.")]
    Interrupted,
    #[error(
        "Login cancelled: another `codex login` took over the callback port. Your previous credentials were kept."
    )]
    CancelledByAnotherLogin,
    #[error(
        "the sign-in was refused: {description} ({error}). Your previous credentials were kept"
    )]
    Denied { error: String, description: String },
    #[error(
        "the sign-in returned to the callback without an authorization code. Run `codex login` again"
    )]
    MissingCode,
    #[error(transparent)]
    OAuth(#[from] oauth::OAuthError),
    #[error(transparent)]
    Http(#[from] crate::http::HttpError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a sign-in tells the user: text on stderr, or with `--json` one JSON object per line on
/// stdout for programs that drive a login (editors, wrappers).
#[derive(Debug, Clone, Copy)]
pub struct Reporter {
    pub json: bool,
}

impl Reporter {
    fn emit(&self, value: serde_json::Value) {
        use std::io::Write;
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "{value}");
        let _ = stdout.flush();
    }

    pub fn authorize_url(&self, url: &str, port: u16, opened: bool, timeout: std::time::Duration) {
        if self.json {
            self.emit(serde_json::json!({"event": "authorize_url", "url": url, "port": port}));
            return;
        }
        let lead = if opened {
            "If your browser did not open, navigate to this URL to authenticate:"
        } else {
            "Open this URL in a browser to authenticate:"
        };
        eprintln!(
            "Starting local login server on http://127.0.0.1:{port}.\n{lead}\n\n{url}\n\n\
             On a remote or headless machine? Use `codex login --device-auth` instead.\n\
             Waiting up to {} for the sign-in (Ctrl-C to cancel)...",
            human_duration(timeout)
        );
    }

    pub fn logged_in(&self, tokens: &oauth::IssuedTokens, store: &dyn CredentialStore) {
        let claims = crate::jwt::id_claims(tokens.id_token.expose());
        if self.json {
            self.emit(serde_json::json!({
                "event": "logged_in",
                "mode": "chatgpt",
                "email": claims.email,
                "plan": claims.plan,
                "account_id": claims.account_id,
                "store": store.kind().as_str(),
                "location": store.location(),
            }));
            return;
        }
        match (&claims.email, &claims.plan) {
            (Some(email), Some(plan)) => {
                eprintln!("Successfully logged in as {email} (ChatGPT {plan} plan)")
            }
            (Some(email), None) => eprintln!("Successfully logged in as {email}"),
            (None, _) => eprintln!("Successfully logged in"),
        }
    }

    /// With `--json`, a failure is also an event on stdout (the message still goes to stderr).
    pub fn failed(&self, message: &str) {
        if self.json {
            self.emit(serde_json::json!({"event": "error", "message": message}));
        }
    }
}

fn human_duration(d: std::time::Duration) -> String {
    let secs = d.as_secs();
    if secs >= 60 && secs.is_multiple_of(60) {
        format!("{} min", secs / 60)
    } else {
        format!("{secs} s")
    }
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
        Err(other) => Err(other.into()),
    }
}
