//! Sign-in paths, one file each. They share one ending: `persist`, which stores the new
//! credentials without ever destroying an unparseable file the user may still need.

pub mod api_key;
pub mod browser;
pub mod device;
pub mod oauth;

use thiserror::Error;

use crate::auth::AuthDotJson;
use crate::config::Config;
use crate::output::printable;
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
        "the text read from standard input is longer than {0}, the most an API key may be; pipe in the key alone"
    )]
    StdinTooLong(crate::fsutil::Cap),
    #[error(
        "the API key contains whitespace or control characters inside it; pass exactly one key"
    )]
    KeyNotOneToken,
    #[error("`{0}` is a subcommand, not an API key: run `codex login {0}` without --with-api-key")]
    SubcommandAfterFlag(String),
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
    /// Both come from the issuer (through the browser): shown with control characters escaped.
    #[error(
        "the sign-in was refused: {} ({}). Your previous credentials were kept",
        crate::output::printable(description),
        crate::output::printable(error)
    )]
    Denied { error: String, description: String },
    #[error(
        "the sign-in returned to the callback without an authorization code. Run `codex login` again"
    )]
    MissingCode,
    #[error("device sign-in failed: {0}. Your previous credentials were kept")]
    Device(String),
    #[error(
        "the device code expired before it was approved. Your previous credentials were kept. Run `codex login --device-auth` again"
    )]
    DeviceCodeExpired,
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
        crate::say!(
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
        // Claims are the issuer's text: shown with control characters escaped.
        let email = claims.email.as_deref().map(printable);
        let plan = claims.plan.as_deref().map(printable);
        match (email, plan) {
            (Some(email), Some(plan)) => {
                crate::say!("Successfully logged in as {email} (ChatGPT {plan} plan)")
            }
            (Some(email), None) => crate::say!("Successfully logged in as {email}"),
            (None, _) => crate::say!("Successfully logged in"),
        }
    }

    /// A line of information (text mode) or a `note` event.
    pub fn note(&self, text: &str) {
        if self.json {
            self.emit(serde_json::json!({"event": "note", "message": text}));
        } else {
            crate::say!("{text}");
        }
    }

    /// Shows the device code prominently (and a QR code when it fits), then returns the
    /// progress display that runs while polling.
    pub fn device_code(&self, code: &device::DeviceCode, show_qr: bool) -> Progress {
        if self.json {
            self.emit(serde_json::json!({
                "event": "device_code",
                "user_code": code.user_code,
                "verification_uri": code.verification_uri,
                "verification_uri_complete": code.verification_uri_complete,
                "expires_in": code.expires_in.as_secs(),
            }));
            return Progress::hidden();
        }
        crate::say!(
            "Follow these steps to sign in with ChatGPT using device code authorization:\n\n\
             1. Open this link in your browser and sign in to your account\n   {}\n\n\
             2. Enter this one-time code (expires in {})\n   {}\n\n\
             Device codes are a common phishing target. Never share this code.\n\
             Continue only if you started this login in Codex. If a website or another person gave you this code, cancel.\n",
            printable(&code.verification_uri),
            human_duration(code.expires_in),
            printable(&code.user_code)
        );
        if show_qr {
            let target = code
                .verification_uri_complete
                .as_deref()
                .unwrap_or(&code.verification_uri);
            print_qr(target);
        }
        Progress::spinner()
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

/// The common start of every ChatGPT sign-in: refused under `forced_login_method = "api"`;
/// then the sign-in runs to its end, or until Ctrl-C.
pub fn run_chatgpt_sign_in<T>(
    config: &Config,
    sign_in: impl std::future::Future<Output = Result<T, LoginError>>,
) -> Result<T, LoginError> {
    match config.forced_login_method {
        Some(crate::config::ForcedLoginMethod::Api) => return Err(LoginError::ChatGptDisabled),
        Some(crate::config::ForcedLoginMethod::Chatgpt) | None => {}
    }
    // A store that cannot take the new credentials (no keyring, say) fails now, not after the
    // user has signed in for nothing. An unparseable file is fine: it is kept as a .bak.
    match store::open(config)?.load() {
        Ok(_) | Err(StoreError::Malformed { .. } | StoreError::KeyringMalformed { .. }) => {}
        Err(other) => return Err(other.into()),
    }
    crate::http::runtime().block_on(async {
        tokio::select! {
            result = sign_in => result,
            _ = tokio::signal::ctrl_c() => Err(LoginError::Interrupted),
        }
    })
}

/// The common end of every ChatGPT sign-in: the workspace check, the auth.json document and
/// its persistence. Returns the store the credentials went to.
pub fn complete(
    config: &Config,
    tokens: oauth::IssuedTokens,
    api_key: Option<crate::secret::Secret<String>>,
) -> Result<Box<dyn CredentialStore>, LoginError> {
    oauth::check_workspace(
        config.forced_chatgpt_workspace_id.as_deref(),
        &tokens.id_token,
    )?;
    let doc = oauth::chatgpt_document(&config.auth, tokens, api_key);
    persist(config, &doc)
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
    for notice in store.take_notices() {
        crate::say!("{notice}");
    }
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
            crate::say!(
                "warning: {err}; it was kept as `{}` and replaced by the new credentials",
                backup.display()
            );
            Ok(())
        }
        Err(err @ StoreError::KeyringMalformed { .. }) => {
            crate::say!("warning: {err}; they are replaced by the new credentials");
            Ok(())
        }
        Err(other) => Err(other.into()),
    }
}

/// The QR code of `url` on stdout, only when stdout is a terminal wide and tall enough.
fn print_qr(url: &str) {
    let term = console::Term::stdout();
    if !term.is_term() {
        return;
    }
    let Ok(code) = qrcode::QrCode::new(url.as_bytes()) else {
        return;
    };
    let art = code
        .render::<qrcode::render::unicode::Dense1x2>()
        .quiet_zone(true)
        .build();
    let width = art.lines().map(|l| l.chars().count()).max().unwrap_or(0);
    let height = art.lines().count();
    match term.size_checked() {
        Some((rows, cols)) if usize::from(cols) >= width && usize::from(rows) > height => {
            // A QR code that cannot be written changes nothing: the link is printed above.
            let _ = crate::output::print(format!("{art}\n\n").as_bytes());
        }
        Some(_) | None => {}
    }
}

/// A spinner with the time left, on stderr; draws nothing when stderr is not a terminal.
#[derive(Clone)]
pub struct Progress(indicatif::ProgressBar);

impl Progress {
    fn hidden() -> Progress {
        Progress(indicatif::ProgressBar::hidden())
    }

    fn spinner() -> Progress {
        let bar =
            indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        Progress(bar)
    }

    pub fn tick(&self, deadline: std::time::Instant) {
        let left = deadline
            .saturating_duration_since(std::time::Instant::now())
            .as_secs();
        self.0.set_message(format!(
            "Waiting for the code to be entered... {}:{:02} left (Ctrl-C to cancel)",
            left / 60,
            left % 60
        ));
    }

    pub fn finish(&self) {
        self.0.finish_and_clear();
    }
}
