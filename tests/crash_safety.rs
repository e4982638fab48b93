//! A writer killed at any moment leaves every file it writes (auth.json, the saved accounts'
//! copies, `accounts/.index.json`) either as it was or as the finished write leaves it, never
//! torn, and the next writer lands its writes and removes the temp files (which may hold a key)
//! the dead one left behind.
//!
//! "Any moment" is exhaustive, not sampled: files change only in system calls, so the writer
//! runs under strace, which kills it (SIGKILL, on entry, before the call does anything) at each
//! of its system calls that can change a file in turn. Every state a crash can leave on disk is
//! checked, so a write that is not atomic fails this test on every run (an in-place write of
//! auth.json leaves it empty when killed on its `write`).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Stdio};

use common::{Env, Run, api_key_json, run_within};

/// The system calls that can change a file or a directory: the writer is killed on entering
/// each in turn. `?`: names this architecture lacks (it has only the `*at` forms) are skipped.
const CHANGES_FILES: &str = "openat,openat2,?open,?creat,write,writev,pwrite64,pwritev,pwritev2,\
ftruncate,?truncate,fallocate,fsync,fdatasync,sync_file_range,renameat,renameat2,?rename,\
unlinkat,?unlink,?rmdir,linkat,?link,symlinkat,?symlink,fchmod,fchmodat,?chmod,mkdirat,?mkdir,\
copy_file_range,sendfile";

/// The files of CODEX_HOME and CODEX_HOME/accounts by relative path, lock files aside (they
/// hold nothing and may stay).
type Files = BTreeMap<String, Vec<u8>>;

fn files(env: &Env) -> Files {
    let mut found = Files::new();
    for sub in ["", "accounts"] {
        let Ok(entries) = std::fs::read_dir(env.home.join(sub)) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = Path::new(sub).join(entry.file_name());
            let name = name.to_string_lossy().into_owned();
            if entry.file_type().unwrap().is_file() && !name.ends_with(".lock") {
                found.insert(name, std::fs::read(entry.path()).unwrap());
            }
        }
    }
    found
}

fn is_temp(name: &str) -> bool {
    name.rsplit('/').next().unwrap().contains(".tmp")
}

/// A fresh CODEX_HOME holding exactly `state`.
fn home_with(state: &Files) -> Env {
    let env = Env::new();
    std::fs::create_dir(env.home.join("accounts")).unwrap();
    common::set_mode(&env.home.join("accounts"), 0o700);
    for (name, bytes) in state {
        let path = env.home.join(name);
        std::fs::write(&path, bytes).unwrap();
        common::set_mode(&path, 0o600);
    }
    env
}

/// `codex ARGS` in `env`, run by strace with `options`.
fn strace(env: &Env, args: &[&str], options: &[&str]) -> Command {
    let mut cmd = Command::new("strace");
    cmd.args(["-f", "-qq"])
        .args(options)
        .arg("--")
        .arg(common::BIN)
        .args(args);
    for (key, value) in env.cmd(&[]).get_envs() {
        match value {
            Some(value) => cmd.env(key, value),
            None => cmd.env_remove(key),
        };
    }
    cmd
}

/// One command that writes credentials, the state it starts from and what it must leave.
struct Writer {
    what: &'static str,
    args: &'static [&'static str],
    stdin: Option<&'static str>,
    before: Files,
    after: Files,
}

impl Writer {
    /// Runs the writer in `env`; `kill`: under strace, killed on entering its n-th call of that
    /// system call.
    fn run(&self, env: &Env, kill: Option<(&str, usize)>) -> Run {
        let cmd = match kill {
            None => env.cmd(self.args),
            Some((call, n)) => strace(
                env,
                self.args,
                &[
                    "-o",
                    "/dev/null",
                    &format!("--trace={call}"),
                    &format!("--inject={call}:signal=KILL:when={n}"),
                ],
            ),
        };
        run_within(cmd, self.stdin.map(str::as_bytes), Stdio::piped(), 120)
    }

    /// How many times a complete run makes each file-changing system call, counted by strace.
    fn calls(&self) -> BTreeMap<String, usize> {
        let env = home_with(&self.before);
        let log = env.dir.path().join("strace.log");
        let cmd = strace(
            &env,
            self.args,
            &[
                "-o",
                log.to_str().unwrap(),
                &format!("--trace={CHANGES_FILES}"),
            ],
        );
        let run = run_within(cmd, self.stdin.map(str::as_bytes), Stdio::piped(), 120);
        assert_eq!(run.code, 0, "{}: {run:?}", self.what);
        let mut calls = BTreeMap::new();
        for line in std::fs::read_to_string(&log).unwrap().lines() {
            // `1234  openat(AT_FDCWD, ...) = 3`
            let call = line
                .split_whitespace()
                .nth(1)
                .and_then(|rest| rest.split_once('('))
                .map(|(name, _)| name.to_string());
            if let Some(call) =
                call.filter(|c| c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_'))
            {
                *calls.entry(call).or_default() += 1;
            }
        }
        calls
    }

    /// Runs the writer from `before` to the end, and checks that it lands `after` exactly.
    fn lands(&self, env: &Env, context: &str) {
        let run = self.run(env, None);
        assert_eq!(run.code, 0, "{}, {context}: {run:?}", self.what);
        let now = files(env);
        let temps: Vec<_> = now.keys().filter(|n| is_temp(n)).collect();
        assert!(
            temps.is_empty(),
            "{}, {context}: temp files left behind: {temps:?}",
            self.what
        );
        assert_eq!(
            shown(&now),
            shown(&self.after),
            "{}, {context}: the writes did not land",
            self.what
        );
    }

    /// Kills the writer at each of its file-changing system calls in turn (strace counts each
    /// system call on its own, so each is taken in turn); returns how many points were checked.
    fn kill_everywhere(&self) -> usize {
        let calls = self.calls();
        for (call, &count) in &calls {
            for n in 1..=count {
                let env = home_with(&self.before);
                let run = self.run(&env, Some((call, n)));
                let now = files(&env);
                let point = format!("killed on entering {call} #{n}");
                self.never_torn(&now, &point);
                assert_eq!(run.code, -1, "{}: {point}: not killed: {run:?}", self.what);
                // The next writer (here the same command again) repairs what the crash left.
                self.lands(&env, &format!("after being {point}"));
            }
        }
        calls.values().sum()
    }

    /// Every file is as it was or as the finished write leaves it; anything else is a temp
    /// file of the dead writer.
    fn never_torn(&self, now: &Files, point: &str) {
        let names: BTreeSet<&String> = self
            .before
            .keys()
            .chain(self.after.keys())
            .chain(now.keys())
            .collect();
        for name in names {
            if is_temp(name) && !self.after.contains_key(name) {
                continue;
            }
            let (was, will, is) = (self.before.get(name), self.after.get(name), now.get(name));
            assert!(
                is == was || is == will,
                "{}: {point}: `{name}` is torn: {:?} is neither the old {:?} nor the new {:?}",
                self.what,
                is.map(|b| String::from_utf8_lossy(b).into_owned()),
                was.map(|b| String::from_utf8_lossy(b).into_owned()),
                will.map(|b| String::from_utf8_lossy(b).into_owned()),
            );
        }
    }
}

fn shown(files: &Files) -> BTreeMap<&String, String> {
    files
        .iter()
        .map(|(k, v)| (k, String::from_utf8_lossy(v).into_owned()))
        .collect()
}

const OLD: &str = "sk-proj-crash-old-0000011111";
const OUTSIDE: &str = "sk-proj-crash-outside-0000022222";
const NEW: &str = "sk-proj-crash-new-0000033333";

/// A saved account `apikey-11111`, and in auth.json a key another tool wrote, not yet saved as
/// an account: a sign-in then writes the outgoing key's copy, the new key's copy, the index
/// and auth.json; a switch writes the outgoing copy, the index and auth.json.
fn start() -> Files {
    let env = Env::new();
    let run = env.run_stdin(&["login", "--api-key", "-"], OLD.as_bytes());
    assert_eq!(run.code, 0, "{run:?}");
    env.write_auth(&api_key_json(OUTSIDE));
    files(&env)
}

/// `state` after a complete run of `writer` from it.
fn finished(state: &Files, args: &[&str], stdin: Option<&str>) -> Files {
    let env = home_with(state);
    let run = run_cmd_stdin(&env, args, stdin);
    assert_eq!(run.code, 0, "{run:?}");
    files(&env)
}

fn run_cmd_stdin(env: &Env, args: &[&str], stdin: Option<&str>) -> Run {
    common::run_cmd(env.cmd(args), stdin.map(str::as_bytes))
}

fn check(what: &'static str, args: &'static [&'static str], stdin: Option<&'static str>) {
    let before = start();
    let after = finished(&before, args, stdin);
    let writer = Writer {
        what,
        args,
        stdin,
        before,
        after,
    };
    // The writes this test guards: a run that writes nothing would pass it trivially.
    let changed: Vec<&String> = writer
        .after
        .iter()
        .filter(|(name, bytes)| writer.before.get(*name) != Some(*bytes))
        .map(|(name, _)| name)
        .collect();
    assert!(!changed.is_empty(), "{what} changed nothing");
    let points = writer.kill_everywhere();
    assert!(points > 10, "{what}: only {points} crash points");
}

#[test]
fn a_sign_in_killed_anywhere_tears_nothing() {
    let before = start();
    let after = finished(&before, &["login", "--api-key", "-"], Some(NEW));
    // What lands: the new key is active and saved, the outside key saved as an account.
    assert_eq!(
        String::from_utf8_lossy(&after["auth.json"]),
        api_key_json(NEW)
    );
    assert_eq!(
        String::from_utf8_lossy(&after["accounts/apikey-33333.json"]),
        api_key_json(NEW)
    );
    assert_eq!(
        String::from_utf8_lossy(&after["accounts/apikey-22222.json"]),
        api_key_json(OUTSIDE)
    );
    let index: serde_json::Value = serde_json::from_slice(&after["accounts/.index.json"]).unwrap();
    let names: Vec<&String> = index["accounts"].as_object().unwrap().keys().collect();
    assert_eq!(names, ["apikey-11111", "apikey-22222", "apikey-33333"]);
    check("login --api-key", &["login", "--api-key", "-"], Some(NEW));
}

#[test]
fn a_switch_killed_anywhere_tears_nothing() {
    let before = start();
    let after = finished(&before, &["login", "switch", "apikey-11111"], None);
    assert_eq!(
        String::from_utf8_lossy(&after["auth.json"]),
        api_key_json(OLD)
    );
    assert_eq!(
        String::from_utf8_lossy(&after["accounts/apikey-22222.json"]),
        api_key_json(OUTSIDE)
    );
    check("login switch", &["login", "switch", "apikey-11111"], None);
}
