//! Helpers for black-box tests of the built `codex` binary: a private CODEX_HOME per test and a
//! clean environment, so nothing from the developer's machine leaks into a run.
#![allow(dead_code)]

pub mod keyring;
pub mod masks;
pub mod mcp;
pub mod proxy;
pub mod runner;
pub mod screen;
pub mod tls;
pub mod transcript;
pub mod workload;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The binary cargo built for this machine. The tests run `runner::runner()`'s, which is this
/// one unless `CODEX_TEST_RUNNER` says otherwise.
pub const BIN: &str = env!("CARGO_BIN_EXE_codex");

/// What an API-key sign-in from standard input says first, and last when it worked (for the
/// tests' usual key, `sk-proj-canary-0123456789`, saved as account `apikey-56789`).
pub const READING: &str = "Reading API key from stdin...\n";
pub const SAVED: &str =
    "API key saved as account `apikey-56789`. Authentication is checked when you send a request.\n";

/// The last line of an API-key sign-in saved as account `name`.
pub fn saved(name: &str) -> String {
    format!(
        "API key saved as account `{name}`. Authentication is checked when you send a request.\n"
    )
}

/// auth.json as an API-key sign-in writes it (the reference's pretty form).
pub fn api_key_json(key: &str) -> String {
    format!("{{\n  \"auth_mode\": \"apikey\",\n  \"OPENAI_API_KEY\": \"{key}\"\n}}")
}

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
    "DISPLAY",
    "WAYLAND_DISPLAY",
    "BROWSER",
    "SSH_CONNECTION",
    "SSH_TTY",
    "CODEX_OSS_BASE_URL",
    "CODEX_OSS_PORT",
    "AZURE_OPENAI_API_KEY",
    "AWS_BEARER_TOKEN_BEDROCK",
    "AWS_PROFILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_CA_BUNDLE",
    "OPENAI_FEDERATION_RULE_ID",
    "OPENAI_IDENTITY_TOKEN_FILE",
    "OPENAI_WORKLOAD_IDENTITY_CONTEXT",
    "ACTIONS_ID_TOKEN_REQUEST_URL",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    "CODEX_IDENTITY_TOKEN_AUDIENCE",
    "CODEX_ACCESS_TOKEN",
    "CODEX_AUTHAPI_BASE_URL",
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

    /// config.toml with only `cli_auth_credentials_store = "<mode>"`.
    pub fn use_store(&self, mode: &str) {
        self.write_config(&format!("cli_auth_credentials_store = \"{mode}\"\n"));
    }

    /// A `codex` command with a clean environment and this CODEX_HOME.
    pub fn cmd(&self, args: &[&str]) -> Command {
        self.cmd_with(runner::runner(), args)
    }

    /// The same with a given runner: `&Runner::Native` is the Linux binary whatever the switch.
    pub fn cmd_with(&self, runner: &runner::Runner, args: &[&str]) -> Command {
        let mut cmd = bare_cmd_with(runner, args);
        cmd.env("CODEX_HOME", runner.path(&self.home));
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

/// A path as the binary under test names it (in arguments, and in what it prints).
pub fn shown(path: &Path) -> String {
    runner::runner().path(path)
}

pub fn bare_cmd(args: &[&str]) -> Command {
    bare_cmd_with(runner::runner(), args)
}

fn bare_cmd_with(runner: &runner::Runner, args: &[&str]) -> Command {
    let mut cmd = runner.command();
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

/// Runs `cmd` and fails the test if it is still running after `secs`: a hang guard, so pick a
/// bound far above any run's normal time (its failure means "it hung", never "it was slow").
pub fn run_within(mut cmd: Command, stdin: Option<&[u8]>, stdout: Stdio, secs: u64) -> Run {
    use std::io::Read;
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(stdout)
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn codex");
    if let Some(input) = stdin {
        let _ = child.stdin.take().unwrap().write_all(input);
    }
    let reader = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut text);
            }
            String::from_utf8_lossy(&text).into_owned()
        })
    };
    let out = reader(child.stdout.take().map(|p| Box::new(p) as _));
    let err = reader(child.stderr.take().map(|p| Box::new(p) as _));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "`{:?}` hung: still running after {secs} s; stderr: {}",
                cmd.get_args().collect::<Vec<_>>(),
                err.join().unwrap()
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    Run {
        code: status.code().unwrap_or(-1),
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

/// A file's Unix permission bits. The tests run on Unix, also when the binary under test is the
/// Windows one (then the bits are Wine's, not a Windows ACL: see `runner::windows`).
#[cfg(unix)]
pub fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[cfg(not(unix))]
pub fn mode_of(path: &Path) -> u32 {
    panic!(
        "{}: Unix permission bits are checked on Unix only (scripts/test, or scripts/test-wine for the Windows binary)",
        path.display()
    )
}

#[cfg(unix)]
pub fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Elsewhere a test's files keep the ACL they inherit.
#[cfg(not(unix))]
pub fn set_mode(_path: &Path, _mode: u32) {}

pub const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// A peer server started for one test (oidc-provider or a fake), stopped when dropped. It prints
/// `READY <url>` on stdout once it listens.
pub struct Peer {
    child: std::process::Child,
    pub url: String,
    pub log: PathBuf,
    /// Temp dirs the peer's files live in, when it made its own.
    _dirs: Vec<tempfile::TempDir>,
}

impl Peer {
    pub fn start(mut cmd: Command, log: PathBuf) -> Peer {
        use std::io::BufRead;
        cmd.stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .stdin(Stdio::null());
        let mut child = cmd.spawn().expect("start peer");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = std::io::BufReader::new(stdout).lines();
            for line in lines.by_ref() {
                let Ok(line) = line else { break };
                if let Some(url) = line.strip_prefix("READY ") {
                    let _ = tx.send(url.trim().to_string());
                    break;
                }
            }
            for _ in lines {}
        });
        let url = rx
            .recv_timeout(std::time::Duration::from_secs(30))
            .expect("peer did not print READY within 30 s");
        Peer {
            child,
            url,
            log,
            _dirs: Vec::new(),
        }
    }

    /// oidc-provider (tests/peers/oidc) with extra environment.
    pub fn oidc(dir: &Path, env: &[(&str, &str)]) -> Peer {
        let log = dir.join(format!("oidc-{}.log", unique()));
        let mut cmd = Command::new("node");
        cmd.arg("server.js")
            .current_dir(format!("{ROOT}/tests/peers/oidc"))
            .env("PORT", "0")
            .env("LOG_FILE", &log);
        for (k, v) in env {
            cmd.env(k, v);
        }
        Peer::start(cmd, log)
    }

    /// The fake of OpenAI's issuer (tests/peers/fakes/fake_chatgpt_issuer.py).
    pub fn fake_issuer(dir: &Path, args: &[&str]) -> Peer {
        Peer::python_fake("fake_chatgpt_issuer.py", dir, args)
    }

    /// The fake OpenAI issuer knowing the refresh token `seed`, answering the first refresh
    /// only after `delay_ms` (rotating the token as usual): a slow issuer.
    pub fn slow_refresh_issuer(dir: &Path, seed: &str, delay_ms: u64) -> Peer {
        let script = dir.join(format!("slow-refresh-{}.json", unique()));
        std::fs::write(
            &script,
            serde_json::json!([{"path": "/oauth/token",
                "match": {"grant_type": "refresh_token"}, "delay_ms": delay_ms}])
            .to_string(),
        )
        .unwrap();
        let script = script.to_str().unwrap();
        Peer::fake_issuer(dir, &["--seed-refresh-token", seed, "--script", script])
    }

    /// The fake Responses API (tests/peers/fakes/fake_responses_api.py).
    pub fn fake_responses(dir: &Path, args: &[&str]) -> Peer {
        Peer::python_fake("fake_responses_api.py", dir, args)
    }

    fn python_fake(script: &str, dir: &Path, args: &[&str]) -> Peer {
        let log = dir.join(format!("{script}-{}.log", unique()));
        let mut cmd = Command::new("python3");
        cmd.arg(format!("{ROOT}/tests/peers/fakes/{script}"))
            .arg("--log")
            .arg(&log)
            .args(args);
        Peer::start(cmd, log)
    }

    /// The fake Responses API in a temp dir of its own, with short hangs so stalls end.
    pub fn responses(args: &[&str]) -> Peer {
        let dir = tempfile::tempdir().unwrap();
        let mut all = vec!["--hang-seconds", "5"];
        all.extend_from_slice(args);
        let mut peer = Peer::fake_responses(dir.path(), &all);
        peer._dirs.push(dir);
        peer
    }

    /// The fake Responses API answering from a script (see tests/peers/fakes/README.md).
    pub fn responses_with_script(script: serde_json::Value, args: &[&str]) -> Peer {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("script.json");
        std::fs::write(&path, script.to_string()).unwrap();
        let mut all = vec!["--script", path.to_str().unwrap()];
        all.extend_from_slice(args);
        let mut peer = Peer::responses(&all);
        peer._dirs.push(dir);
        peer
    }

    /// The botocore SigV4 verifier (tests/peers/sigv4); needs the venv `bash scripts/test` makes.
    pub fn sigv4(args: &[&str]) -> Peer {
        let python = PathBuf::from(format!("{ROOT}/tests/peers/sigv4/.venv/bin/python"));
        assert!(
            python.exists(),
            "{} is missing: run `bash scripts/test` once to install botocore (tests/peers/sigv4/requirements.txt)",
            python.display()
        );
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("sigv4.log");
        let mut cmd = Command::new(python);
        cmd.arg(format!("{ROOT}/tests/peers/sigv4/sigv4_server.py"))
            .args(args)
            .arg("--log")
            .arg(&log);
        let mut peer = Peer::start(cmd, log);
        peer._dirs.push(dir);
        peer
    }

    pub fn port(&self) -> u16 {
        self.url.rsplit(':').next().unwrap().parse().unwrap()
    }

    /// The request log, one JSON object per line.
    pub fn requests(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port nothing listens on (bound, then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn unique() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A minimal HTTP/1.1 GET without redirects: (status, Location header, body).
pub fn http_get(url: &str) -> (u16, Option<String>, String) {
    http_get_with(url, &[])
}

/// The same with extra request headers (`("Authorization", "Bearer ...")`).
pub fn http_get_with(url: &str, headers: &[(&str, &str)]) -> (u16, Option<String>, String) {
    use std::io::Read;
    let rest = url.strip_prefix("http://").expect("http URL");
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let mut stream = std::net::TcpStream::connect(authority).expect("connect");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(60)))
        .unwrap();
    let extra: String = headers
        .iter()
        .map(|(name, value)| format!("{name}: {value}\r\n"))
        .collect();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\n{extra}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let (status, head, body) = split_response(&raw);
    let location = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case("location")
            .then(|| v.trim().to_string())
    });
    (status, location, body)
}

/// An HTTP/1.1 answer as read off the wire: (status, head, body). Status 0: no status line.
pub fn split_response(raw: &[u8]) -> (u16, String, String) {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head.to_string(), body.to_string())
}

/// A `codex` process running in the background (a login waiting for its browser).
pub struct Background {
    child: std::process::Child,
    stdout_lines: std::sync::mpsc::Receiver<String>,
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Background {
    pub fn spawn(mut cmd: Command) -> Background {
        use std::io::BufRead;
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn codex");
        let (tx, rx) = std::sync::mpsc::channel();
        let out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let sink = stderr.clone();
        let mut err = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            loop {
                match std::io::Read::read(&mut err, &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => sink
                        .lock()
                        .unwrap()
                        .push_str(&String::from_utf8_lossy(&buf[..n])),
                }
            }
        });
        Background {
            child,
            stdout_lines: rx,
            stderr,
        }
    }

    /// The next JSON line on stdout (waits up to 30 s).
    pub fn next_event(&self) -> serde_json::Value {
        let line = self.next_line();
        serde_json::from_str(&line).unwrap_or_else(|_| panic!("not JSON: {line}"))
    }

    /// The next line on stdout, as printed (waits up to 30 s).
    pub fn next_line(&self) -> String {
        self.stdout_lines
            .recv_timeout(std::time::Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("no line on stdout; stderr: {}", self.stderr()))
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits for the text on stderr (up to 30 s).
    pub fn wait_stderr(&self, needle: &str) -> String {
        for _ in 0..300 {
            let text = self.stderr();
            if text.contains(needle) {
                return text;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("stderr never contained {needle:?}: {}", self.stderr());
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the exit (up to `secs`), then returns the exit code, remaining stdout and stderr.
    pub fn finish(mut self, secs: u64) -> Run {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if std::time::Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "codex did not exit within {secs} s; stderr: {}",
                    self.stderr()
                );
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        std::thread::sleep(std::time::Duration::from_millis(50));
        let stdout: Vec<String> = self.stdout_lines.try_iter().collect();
        Run {
            code: status.code().unwrap_or(-1),
            stdout: stdout.iter().map(|l| format!("{l}\n")).collect(),
            stderr: self.stderr(),
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The test's "user with a browser" (tests/peers/oidc/agent.js).
pub fn agent(args: &[&str]) -> std::process::Output {
    Command::new("node")
        .arg("agent.js")
        .args(args)
        .current_dir(format!("{ROOT}/tests/peers/oidc"))
        .output()
        .expect("run agent.js")
}

/// agent.js with `args`, which must succeed (it fails when the page did not answer as the
/// user expected); returns what it printed.
pub fn agent_ok(args: &[&str]) -> std::process::Output {
    let out = agent(args);
    assert!(
        out.status.success(),
        "agent.js {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The client tests/peers/oidc registers for the tests.
pub const OIDC_CLIENT: &str = "codex-test-client";

/// `codex login` with the browser flow at oidc-provider, on a free port, printing the URL
/// instead of opening a browser.
pub fn oidc_browser_args(oidc: &Peer) -> Vec<&str> {
    vec![
        "login",
        "--no-browser",
        "--port",
        "0",
        "--issuer",
        &oidc.url,
        "--client-id",
        OIDC_CLIENT,
    ]
}

/// The same with `--json`: events on standard output.
pub fn oidc_browser_json_args(oidc: &Peer) -> Vec<&str> {
    let mut args = oidc_browser_args(oidc);
    args.push("--json");
    args
}

/// Starts `cmd`, a `codex login --json` with the browser flow; returns the login and its first
/// event, the authorize URL.
pub fn start_browser_login(cmd: Command) -> (Background, serde_json::Value) {
    let login = Background::spawn(cmd);
    let event = login.next_event();
    assert_eq!(event["event"], "authorize_url", "{event}");
    (login, event)
}

/// Runs `cmd`, a `codex login --json` with the browser flow at oidc-provider, the test playing
/// the user (`agent_args` after the URL, e.g. `--login bob`); returns the sign-in, which must
/// have worked.
pub fn sign_in_by_browser(cmd: Command, agent_args: &[&str]) -> Run {
    let (login, event) = start_browser_login(cmd);
    let mut args = vec!["authorize", event["url"].as_str().unwrap()];
    args.extend_from_slice(agent_args);
    agent_ok(&args);
    let run = login.finish(30);
    assert_eq!(run.code, 0, "sign-in failed: {run:?}");
    run
}

/// Signs `env` in with the browser flow against oidc-provider, the test playing the user.
pub fn sign_in_with_oidc(env: &Env, oidc: &Peer) {
    sign_in_by_browser(env.cmd(&oidc_browser_json_args(oidc)), &[]);
}

/// Checks that `run`, a `codex login --json` at oidc-provider `oidc`, signed alice in and that
/// auth.json records where from; returns auth.json.
pub fn assert_alice_signed_in_at(env: &Env, run: &Run, oidc: &Peer) -> serde_json::Value {
    assert_eq!(run.code, 0, "{run:?}");
    let done: serde_json::Value = serde_json::from_str(run.stdout.lines().last().unwrap()).unwrap();
    assert_eq!(done["event"], "logged_in");
    assert_eq!(done["email"], "alice@example.com");
    let doc: serde_json::Value = serde_json::from_str(&env.read_auth()).unwrap();
    assert_eq!(
        doc["tokens"]["oauth_provenance"]["issuer"],
        oidc.url.as_str()
    );
    doc
}

/// The names of a JSON object's fields, in their order.
pub fn field_names(object: &serde_json::Value) -> Vec<String> {
    object
        .as_object()
        .expect("a JSON object")
        .keys()
        .cloned()
        .collect()
}

/// An unsigned JWT with these claims (our client never checks signatures).
pub fn jwt(claims: serde_json::Value) -> String {
    jwt_signed(&claims.to_string(), "c2ln")
}

/// A JWT with these claims (JSON text) and this signature part: a long one makes a token as
/// large as real ones.
pub fn jwt_signed(claims: &str, signature: &str) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    format!(
        "{}.{}.{signature}",
        b64.encode(r#"{"alg":"RS256","typ":"JWT","kid":"k1"}"#),
        b64.encode(claims)
    )
}

/// The payload of a JWT (unverified), or panics.
pub fn jwt_payload(token: &str) -> serde_json::Value {
    use base64::Engine;
    let part = token.split('.').nth(1).expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("a JSON payload")
}

pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Replaces the stored access token by one that expired a minute ago; returns it.
pub fn expire_access_token(env: &Env) -> String {
    let mut doc: serde_json::Value = serde_json::from_str(&env.read_auth()).unwrap();
    let expired = jwt(serde_json::json!({"exp": now_secs() - 60, "sub": "alice"}));
    doc["tokens"]["access_token"] = serde_json::Value::String(expired.clone());
    env.write_auth(&serde_json::to_string_pretty(&doc).unwrap());
    expired
}

/// Sends SIGINT (what Ctrl-C sends) to a process the test started.
pub fn interrupt(pid: u32) {
    let status = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill -INT {pid}");
}
