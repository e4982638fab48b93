//! Peers for the `codex exec` tests: the fake Responses API (tests/peers/fakes) and the SigV4
//! verifier (tests/peers/sigv4, botocore), each a child process on 127.0.0.1 that prints
//! `READY <url>` and is killed when dropped.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

pub struct Peer {
    child: Child,
    pub url: String,
    log: PathBuf,
    _dirs: Vec<tempfile::TempDir>,
}

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

impl Peer {
    /// `fake_responses_api.py` with these extra flags (short hangs so stalls end).
    pub fn fake(args: &[&str]) -> Peer {
        let mut cmd = Command::new("python3");
        cmd.arg(repo("tests/peers/fakes/fake_responses_api.py"))
            .args(["--hang-seconds", "5"]);
        cmd.args(args);
        Peer::start(cmd)
    }

    /// The fake with a script file (see tests/peers/fakes/README.md).
    pub fn fake_with_script(script: Value, args: &[&str]) -> Peer {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("script.json");
        std::fs::write(&path, script.to_string()).unwrap();
        let mut all = vec!["--script", path.to_str().unwrap()];
        all.extend_from_slice(args);
        let mut cmd = Command::new("python3");
        cmd.arg(repo("tests/peers/fakes/fake_responses_api.py"))
            .args(["--hang-seconds", "5"])
            .args(&all);
        let mut peer = Peer::start(cmd);
        peer._dirs.push(dir);
        peer
    }

    /// The botocore SigV4 verifier; needs the venv `bash scripts/test` creates.
    pub fn sigv4(args: &[&str]) -> Peer {
        let python = repo("tests/peers/sigv4/.venv/bin/python");
        assert!(
            python.exists(),
            "{} is missing: run `bash scripts/test` once to install botocore (tests/peers/sigv4/requirements.txt)",
            python.display()
        );
        let mut cmd = Command::new(python);
        cmd.arg(repo("tests/peers/sigv4/sigv4_server.py"))
            .args(args);
        Peer::start(cmd)
    }

    fn start(mut cmd: Command) -> Peer {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("requests.jsonl");
        cmd.arg("--log").arg(&log);
        cmd.stdout(Stdio::piped()).stderr(Stdio::inherit());
        let mut child = cmd.spawn().expect("start a test peer");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .strip_prefix("READY ")
            .unwrap_or_else(|| panic!("peer did not start: {line:?}"))
            .trim()
            .to_string();
        Peer {
            child,
            url,
            log,
            _dirs: vec![dir],
        }
    }

    pub fn port(&self) -> u16 {
        self.url.rsplit(':').next().unwrap().parse().unwrap()
    }

    /// Every logged request, in arrival order.
    pub fn requests(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
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
