//! Helpers for black-box tests of the built `codex` binary: a private CODEX_HOME per test and a
//! clean environment, so nothing from the developer's machine leaks into a run.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_codex");

/// Environment variables of the machine that would change what the binary does.
const SCRUBBED: &[&str] = &[
    "CODEX_HOME",
    "CODEX_API_KEY",
    "OPENAI_API_KEY",
    "RUST_LOG",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "CODEX_CA_CERTIFICATE",
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
    "CODEX_AUTH_ISSUER",
    "CODEX_AUTH_CLIENT_ID",
    "CODEX_AUTH_PROTOCOL",
    "DBUS_SESSION_BUS_ADDRESS",
    "XDG_RUNTIME_DIR",
];

pub struct Env {
    pub dir: tempfile::TempDir,
    pub home: PathBuf,
}

impl Env {
    /// A fresh CODEX_HOME (0700) inside a temp dir.
    pub fn new() -> Env {
        let dir = tempfile::tempdir().expect("temp dir");
        let home = dir.path().join("codex-home");
        std::fs::create_dir(&home).unwrap();
        set_mode(&home, 0o700);
        Env { dir, home }
    }

    pub fn auth_path(&self) -> PathBuf {
        self.home.join("auth.json")
    }

    pub fn write_auth(&self, text: &str) {
        std::fs::write(self.auth_path(), text).unwrap();
        set_mode(&self.auth_path(), 0o600);
    }

    pub fn read_auth(&self) -> String {
        std::fs::read_to_string(self.auth_path()).expect("auth.json exists")
    }

    pub fn write_config(&self, text: &str) {
        std::fs::write(self.home.join("config.toml"), text).unwrap();
    }

    /// A `codex` command with a clean environment and this CODEX_HOME.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = bare_cmd(args);
        cmd.env("CODEX_HOME", &self.home);
        cmd.env("HOME", self.dir.path());
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Run {
        run_cmd(self.cmd(args), None)
    }

    pub fn run_stdin(&self, args: &[&str], stdin: &[u8]) -> Run {
        run_cmd(self.cmd(args), Some(stdin))
    }
}

pub fn bare_cmd(args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args);
    for var in SCRUBBED {
        cmd.env_remove(var);
    }
    cmd
}

/// The outcome of one run, with stdout and stderr as text.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    #[track_caller]
    pub fn assert(&self, code: i32, stdout: &str, stderr: &str) {
        assert_eq!(
            (self.code, self.stdout.as_str(), self.stderr.as_str()),
            (code, stdout, stderr),
            "unexpected result (code, stdout, stderr)"
        );
    }
}

pub fn run_cmd(mut cmd: Command, stdin: Option<&[u8]>) -> Run {
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn codex");
    if let Some(input) = stdin {
        // The program may exit before reading (e.g. a refused login): a broken pipe is fine.
        let _ = child.stdin.take().unwrap().write_all(input);
    }
    let out: Output = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

pub fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

pub fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}
