//! The one place that prints for people and programs (besides `main`, which prints the final
//! error). Text goes to stderr; machine output (`--json` objects and events, the bearer of
//! `codex login token`, completion scripts, the QR code) goes to stdout.
//!
//! Output errors never panic: a closed stdout (`| head`) ends the output quietly, another write
//! error is returned to the command, which fails with a message. Errors writing to stderr are
//! ignored, since there is nowhere left to say anything.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;

use crate::jwt::IdClaims;
use crate::notice::{Level, Notice, Notify};
use crate::oauth::device::DeviceCode;

/// Writes `text` and a newline to stdout. A closed pipe is not an error: the reader has all it
/// wanted (as `exec` does with `| head`).
pub fn stdout_line(text: &str) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    let written = writeln!(stdout, "{text}").and_then(|()| stdout.flush());
    match written {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// Writes a block of text (already ending in a newline or not) to stdout, as `stdout_line`.
pub fn stdout_text(text: &str) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    let written = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush());
    match written {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// One line on stderr. Control characters other than its line breaks are escaped: the last
/// guard for untrusted text that reached a message unescaped (see `untrusted`).
pub fn stderr_line(text: &str) {
    let text = crate::untrusted::terminal_safe(text);
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

/// What a command tells the user: text on stderr, or with `--json` one JSON object per line on
/// stdout for programs that drive a login (editors, wrappers).
#[derive(Debug, Clone, Copy)]
pub struct Reporter {
    json: bool,
}

impl Reporter {
    pub fn text() -> Reporter {
        Reporter { json: false }
    }

    pub fn new(json: bool) -> Reporter {
        Reporter { json }
    }

    pub fn is_json(&self) -> bool {
        self.json
    }

    fn emit(&self, value: serde_json::Value) {
        // A reader that went away cannot be told anything more; the command goes on.
        let _ = stdout_line(&value.to_string());
    }

    /// A line for people: stderr in text mode, nothing in `--json` mode.
    pub fn line(&self, text: &str) {
        if !self.json {
            stderr_line(text);
        }
    }

    /// A line of information (text mode) or a `note` event.
    pub fn note(&self, text: &str) {
        if self.json {
            self.emit(json!({"event": "note", "message": text}));
        } else {
            stderr_line(text);
        }
    }

    pub fn authorize_url(&self, url: &str, port: u16, opened: bool, timeout: Duration) {
        if self.json {
            self.emit(json!({"event": "authorize_url", "url": url, "port": port}));
            return;
        }
        let lead = if opened {
            "If your browser did not open, navigate to this URL to authenticate:"
        } else {
            "Open this URL in a browser to authenticate:"
        };
        stderr_line(&format!(
            "Starting local login server on http://127.0.0.1:{port}.\n{lead}\n\n{url}\n\n\
             On a remote or headless machine? Use `codex login --device-auth` instead.\n\
             Waiting up to {} for the sign-in (Ctrl-C to cancel)...",
            human_duration(timeout)
        ));
    }

    /// The end of a ChatGPT sign-in: who is signed in, where the credentials went, and the
    /// account they were saved as.
    pub fn logged_in(&self, claims: &IdClaims, store_kind: &str, location: &str, account: &str) {
        if self.json {
            self.emit(json!({
                "event": "logged_in",
                "mode": "chatgpt",
                "email": claims.email,
                "plan": claims.plan,
                "account_id": claims.account_id,
                "store": store_kind,
                "location": location,
                "account": account,
            }));
            return;
        }
        let saved_as = format!("; saved as account `{account}`");
        // Claims are the issuer's text: shown with control characters escaped.
        let email = claims.email.as_deref().map(crate::untrusted::printable);
        let plan = claims.plan.as_deref().map(crate::untrusted::printable);
        match (email, plan) {
            (Some(email), Some(plan)) => stderr_line(&format!(
                "Successfully logged in as {email} (ChatGPT {plan} plan){saved_as}"
            )),
            (Some(email), None) => {
                stderr_line(&format!("Successfully logged in as {email}{saved_as}"))
            }
            (None, _) => stderr_line(&format!("Successfully logged in{saved_as}")),
        }
    }

    /// Shows the device code prominently (and a QR code when it fits), then returns the
    /// progress display that runs while polling.
    /// `issuer` is how the issuer is named: "ChatGPT", or another provider's host.
    pub fn device_code(&self, code: &DeviceCode, issuer: &str, show_qr: bool) -> Progress {
        if self.json {
            self.emit(json!({
                "event": "device_code",
                "user_code": code.user_code,
                "verification_uri": code.verification_uri,
                "verification_uri_complete": code.verification_uri_complete,
                "expires_in": code.expires_in.as_secs(),
            }));
            return Progress::hidden();
        }
        let heading = match issuer {
            "ChatGPT" => "sign in with ChatGPT".to_string(),
            host => format!("sign in at {host}"),
        };
        stderr_line(&format!(
            "Follow these steps to {heading} using device code authorization:\n\n\
             1. Open this link in your browser and sign in to your account\n   {}\n\n\
             2. Enter this one-time code (expires in {})\n   {}\n\n\
             Device codes are a common phishing target. Never share this code.\n\
             Continue only if you started this login in Codex. If a website or another person gave you this code, cancel.\n",
            crate::untrusted::printable(&code.verification_uri),
            human_duration(code.expires_in),
            crate::untrusted::printable(&code.user_code)
        ));
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
            self.emit(json!({"event": "error", "message": message}));
        }
    }

    /// One JSON object on stdout (`login status --json`).
    pub fn object(&self, value: &serde_json::Value) -> std::io::Result<()> {
        stdout_line(&value.to_string())
    }
}

impl Notify for Reporter {
    fn notify(&self, notice: Notice) {
        match notice.level {
            Level::Note => self.note(&notice.text),
            Level::Warning if self.json => {
                self.emit(json!({"event": "warning", "message": notice.text}))
            }
            Level::Warning => stderr_line(&notice.text),
        }
    }
}

pub fn human_duration(d: Duration) -> String {
    let secs = d.as_secs();
    if secs >= 60 && secs.is_multiple_of(60) {
        format!("{} min", secs / 60)
    } else {
        format!("{secs} s")
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
            let _ = stdout_text(&format!("{art}\n\n"));
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
        let stderr = console::Term::stderr();
        if !stderr.is_term() {
            return Progress::hidden();
        }
        // A spinner and the message (the time left); without a style indicatif draws an empty
        // progress bar and never shows the message.
        let style = indicatif::ProgressStyle::with_template("{spinner} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner());
        let target =
            indicatif::ProgressDrawTarget::term_like_with_hz(Box::new(EchoRoom(stderr)), 20);
        let bar = indicatif::ProgressBar::with_draw_target(None, target).with_style(style);
        bar.enable_steady_tick(Duration::from_millis(120));
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

/// The terminal on stderr as the spinner sees it: two columns narrower than it is. indicatif pads
/// each line to the full width and leaves the cursor in the last column, so the `^C` a terminal
/// echoes at Ctrl-C would wrap onto a line of its own, and clearing the spinner would clear that
/// line and leave the spinner's last frame above "Login cancelled". With room for the echo, it
/// stays on the spinner's line and goes with it.
#[derive(Debug)]
struct EchoRoom(console::Term);

impl indicatif::TermLike for EchoRoom {
    fn width(&self) -> u16 {
        self.0.size().1.saturating_sub(2).max(1)
    }

    fn height(&self) -> u16 {
        self.0.size().0
    }

    fn move_cursor_up(&self, n: usize) -> std::io::Result<()> {
        self.0.move_cursor_up(n)
    }

    fn move_cursor_down(&self, n: usize) -> std::io::Result<()> {
        self.0.move_cursor_down(n)
    }

    fn move_cursor_right(&self, n: usize) -> std::io::Result<()> {
        self.0.move_cursor_right(n)
    }

    fn move_cursor_left(&self, n: usize) -> std::io::Result<()> {
        self.0.move_cursor_left(n)
    }

    fn write_line(&self, s: &str) -> std::io::Result<()> {
        self.0.write_line(s)
    }

    fn write_str(&self, s: &str) -> std::io::Result<()> {
        self.0.write_str(s)
    }

    fn clear_line(&self) -> std::io::Result<()> {
        self.0.clear_line()
    }

    fn flush(&self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// `codex doctor`'s spinner on stderr, naming the checks still running; nothing at all when
/// stderr is not a terminal.
#[derive(Clone)]
pub struct Checking {
    bar: Option<indicatif::ProgressBar>,
    pending: Arc<Mutex<Vec<String>>>,
}

/// A check in progress; dropping it takes it off the spinner.
pub struct Pending {
    checking: Checking,
    what: String,
}

impl Checking {
    pub fn start() -> Checking {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::with_draw_target(
                None,
                indicatif::ProgressDrawTarget::stderr(),
            );
            if let Ok(style) = indicatif::ProgressStyle::with_template("{spinner} {msg} {elapsed}")
            {
                bar.set_style(style);
            }
            bar.set_message("Checking...");
            bar.enable_steady_tick(std::time::Duration::from_millis(100));
            bar
        });
        Checking {
            bar,
            pending: Arc::new(Mutex::new(Vec::new())),
        }
    }

    pub fn begin(&self, what: &str) -> Pending {
        self.with_pending(|p| p.push(what.to_string()));
        Pending {
            checking: self.clone(),
            what: what.to_string(),
        }
    }

    fn with_pending(&self, change: impl FnOnce(&mut Vec<String>)) {
        let Ok(mut pending) = self.pending.lock() else {
            return;
        };
        change(&mut pending);
        if let Some(bar) = &self.bar {
            bar.set_message(if pending.is_empty() {
                "Checking...".to_string()
            } else {
                format!("Checking {}...", pending.join(", "))
            });
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        let what = std::mem::take(&mut self.what);
        self.checking.with_pending(|p| {
            if let Some(i) = p.iter().position(|w| *w == what) {
                p.remove(i);
            }
        });
    }
}
