//! Running a provider's auth command once, bounded: no shell, stdin closed, its own process
//! group (so a timeout kills its children too), stdout capped at 64 KiB and read as the token
//! (UTF-8, trimmed, no control character inside), stderr kept only to explain a failure. Neither
//! the arguments nor the output ever reach a log or an error.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use thiserror::Error;

use crate::provider::AuthCommand;
use crate::secret::Secret;
use crate::untrusted::printable;

/// The most a token may be: Entra ID tokens are 2-3 KiB.
pub const STDOUT_CAP: usize = 64 << 10;
/// What is kept of stderr (the rest is read and dropped, so the program never blocks on it).
const STDERR_KEPT: usize = 8 << 10;
/// Lines and characters of stderr an error quotes.
const STDERR_LINES: usize = 3;
const STDERR_CHARS: usize = 300;
const POLL: Duration = Duration::from_millis(5);

/// Why the command gave no token. The texts are the reference CLI's where it has one.
#[derive(Debug, Error)]
pub enum RunError {
    #[error("provider auth command `{command}` failed to start: {why}")]
    Start { command: String, why: String },
    #[error("provider auth command `{command}` timed out after {ms} ms")]
    TimedOut { command: String, ms: u128 },
    #[error("provider auth command `{command}` exited with status {status}{stderr}")]
    Exited {
        command: String,
        status: String,
        /// `: <first lines, escaped>` or ` (nothing on stderr)`.
        stderr: String,
    },
    #[error("provider auth command `{command}` wrote non-UTF-8 data to stdout")]
    NotUtf8 { command: String },
    #[error("provider auth command `{command}` produced an empty token")]
    Empty { command: String },
    #[error("provider auth command `{command}` wrote more than 64 KiB to stdout")]
    TooLarge { command: String },
    #[error(
        "provider auth command `{command}` wrote a control character (a line break, NUL or similar) inside the token"
    )]
    Control { command: String },
}

impl RunError {
    /// What the user can do about it.
    pub fn fix(&self) -> &'static str {
        match self {
            RunError::Start { .. } => {
                "check that the program is installed and executable, and on PATH (or give its absolute path)"
            }
            RunError::TimedOut { .. } => {
                "run the command yourself to see why it is slow, or raise timeout_ms"
            }
            RunError::Exited { .. } => {
                "run the command yourself to see the whole message (a sign-in of its own may have expired)"
            }
            RunError::NotUtf8 { .. }
            | RunError::Empty { .. }
            | RunError::TooLarge { .. }
            | RunError::Control { .. } => {
                "make the command print the token alone on stdout (for `az`: --query accessToken -o tsv)"
            }
        }
    }
}

/// Runs the command and returns the token it printed.
pub fn token(auth: &AuthCommand) -> Result<Secret<String>, RunError> {
    let command = printable(&auth.command).into_owned();
    let mut child = spawn(auth).map_err(|e| RunError::Start {
        command: command.clone(),
        why: start_error(&e),
    })?;
    tracing::debug!(command = %command, "running the provider auth command");
    let (stdout, too_large) = reader(child.stdout.take(), STDOUT_CAP);
    let (stderr, _) = reader(child.stderr.take(), STDERR_KEPT);
    let deadline = Instant::now() + auth.timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) => {}
            Err(_) => break None,
        }
        if Instant::now() >= deadline || too_large.try_recv().is_ok() {
            break None;
        }
        std::thread::sleep(POLL);
    };
    // Children the command left behind may hold its stdout open: they get until the deadline.
    let out = stdout.recv_timeout(deadline.saturating_duration_since(Instant::now()));
    let status = match (status, &out) {
        (Some(status), Ok(Ok(_))) => status,
        (_, Ok(Err(Overflow))) => {
            kill(&mut child);
            return Err(RunError::TooLarge { command });
        }
        (Some(_), Err(_)) | (None, _) => {
            kill(&mut child);
            return Err(RunError::TimedOut {
                command,
                ms: auth.timeout.as_millis(),
            });
        }
    };
    let bytes = out.ok().and_then(Result::ok).unwrap_or_default();
    if !status.success() {
        let text = stderr
            .recv_timeout(Duration::from_millis(100))
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        return Err(RunError::Exited {
            command,
            status: describe_status(status),
            stderr: stderr_excerpt(&text),
        });
    }
    let text = String::from_utf8(bytes).map_err(|_| RunError::NotUtf8 {
        command: command.clone(),
    })?;
    let token = text.trim();
    if token.is_empty() {
        return Err(RunError::Empty { command });
    }
    if crate::secret::has_control(token) {
        return Err(RunError::Control { command });
    }
    Ok(Secret::new(token.to_string()))
}

/// The program as the reference finds it: a bare name on PATH, an absolute path as it is, a
/// relative path with a directory in it joined to `cwd` (else the current directory).
fn program(auth: &AuthCommand) -> PathBuf {
    let path = Path::new(&auth.command);
    if path.is_absolute() || path.components().count() < 2 {
        return path.to_path_buf();
    }
    match &auth.cwd {
        Some(cwd) => cwd.join(path),
        None => std::env::current_dir()
            .map(|dir| dir.join(path))
            .unwrap_or_else(|_| path.to_path_buf()),
    }
}

fn spawn(auth: &AuthCommand) -> std::io::Result<Child> {
    let mut command = Command::new(program(auth));
    command
        .args(auth.args.expose())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(cwd) = &auth.cwd {
        command.current_dir(cwd);
    }
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    command.spawn()
}

fn start_error(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "not found".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied (is it executable?)".to_string(),
        _ => printable(&e.to_string()).into_owned(),
    }
}

/// The stream went past its cap.
struct Overflow;

/// Reads a pipe on a thread: the bytes, or `Overflow` past `cap` (then a message on the second
/// channel at once, so the command is stopped without waiting for its end). Past the cap of
/// stderr (`STDERR_KEPT`) the rest is read and dropped instead.
fn reader(
    pipe: Option<impl Read + Send + 'static>,
    cap: usize,
) -> (
    mpsc::Receiver<Result<Vec<u8>, Overflow>>,
    mpsc::Receiver<()>,
) {
    let (done, result) = mpsc::channel();
    let (overflow, too_large) = mpsc::channel();
    let strict = cap == STDOUT_CAP;
    std::thread::spawn(move || {
        let Some(mut pipe) = pipe else {
            let _ = done.send(Ok(Vec::new()));
            return;
        };
        let mut kept = Vec::new();
        let mut chunk = [0u8; 8192];
        loop {
            match pipe.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let room = cap.saturating_sub(kept.len());
                    if n > room && strict {
                        let _ = overflow.send(());
                        let _ = done.send(Err(Overflow));
                        return;
                    }
                    kept.extend_from_slice(&chunk[..n.min(room)]);
                }
            }
        }
        let _ = done.send(Ok(kept));
    });
    (result, too_large)
}

fn kill(child: &mut Child) {
    kill_group(child);
    let _ = child.kill();
    let _ = child.wait();
}

/// Ends every process of the command's group (Unix; on Windows `kill` ends the command).
fn kill_group(child: &Child) {
    #[cfg(unix)]
    if let Ok(pid) = i32::try_from(child.id()) {
        // SAFETY: kill(2) with a negative pid signals the process group the child leads (it was
        // spawned with process_group(0)); it touches no memory.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
    #[cfg(not(unix))]
    let _ = child;
}

fn describe_status(status: ExitStatus) -> String {
    if let Some(code) = status.code() {
        return code.to_string();
    }
    #[cfg(unix)]
    if let Some(signal) = std::os::unix::process::ExitStatusExt::signal(&status) {
        return format!("signal {signal}");
    }
    status.to_string()
}

/// `: <first lines>` of stderr, each escaped, at most `STDERR_CHARS` in all.
fn stderr_excerpt(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .take(STDERR_LINES)
        .collect();
    if lines.is_empty() {
        return " (nothing on stderr)".to_string();
    }
    let joined = printable(&lines.join(" | ")).into_owned();
    match joined.char_indices().nth(STDERR_CHARS) {
        Some((at, _)) => format!(": {}...", &joined[..at]),
        None => format!(": {joined}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stderr_is_cut_to_its_first_lines() {
        assert_eq!(stderr_excerpt(b""), " (nothing on stderr)");
        assert_eq!(
            stderr_excerpt(b"ERROR: a\n\nb\x1b[31m\nc\nd\n"),
            ": ERROR: a | b\\u{1b}[31m | c"
        );
    }
}
