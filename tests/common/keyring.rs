//! The OS keyring of the binary under test. On Linux: a private D-Bus session, with a
//! `dbus-daemon` of its own and, where a test needs one, an unlocked `gnome-keyring-daemon` (a
//! real Secret Service); `secret-tool` looks at what the binary stored. Under Wine
//! (`runner::windows`): the Credential Manager of the Wine prefix, looked at with `credtool.exe`
//! (tests/peers/wine). Dropping the session stops what it started.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};

use super::runner::{Runner, runner, windows};
use super::{Env, Run, run_cmd};

/// A session bus with no service files (nothing is auto-started on it), private to one test.
const BUS_CONFIG: &str = r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=SOCKET</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#;

/// A private D-Bus session, with or without a Secret Service on it (dropping it stops both); or,
/// for the Windows binary, the Wine prefix's Credential Manager.
pub struct Session {
    dir: tempfile::TempDir,
    bus: Option<Bus>,
}

struct Bus {
    address: String,
    daemon: Child,
    keyring: Option<Child>,
}

impl Session {
    /// A bus and nothing on it.
    pub fn bus_only() -> Session {
        assert!(!windows(), "a D-Bus session is for the Linux binary");
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("bus.conf");
        let socket = dir.path().join("bus");
        std::fs::write(
            &config,
            BUS_CONFIG.replace("SOCKET", &socket.display().to_string()),
        )
        .unwrap();
        let mut bus = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", config.display()))
            .args(["--nofork", "--print-address=1"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start dbus-daemon (Debian package `dbus`)");
        // The address is printed once the bus listens.
        let mut address = String::new();
        BufReader::new(bus.stdout.take().unwrap())
            .read_line(&mut address)
            .unwrap();
        let address = address.trim().to_string();
        assert!(address.starts_with("unix:"), "dbus-daemon said {address:?}");
        Session {
            dir,
            bus: Some(Bus {
                address,
                daemon: bus,
                keyring: None,
            }),
        }
    }

    /// A working keyring: a bus with an unlocked gnome-keyring (a `login` collection as the
    /// default), or under Wine the prefix's Credential Manager.
    pub fn with_keyring() -> Session {
        if windows() {
            return Session {
                dir: tempfile::tempdir().unwrap(),
                bus: None,
            };
        }
        Session::with_gnome_keyring(true)
    }

    fn bus(&self) -> &Bus {
        self.bus
            .as_ref()
            .expect("the Secret Service is Linux's: this test cannot run under Wine")
    }

    /// `unlock`: start it with `--unlock` (creates and unlocks the `login` collection); else it
    /// has no collection at all, as a fresh daemon started without a password.
    pub fn with_gnome_keyring(unlock: bool) -> Session {
        let mut session = Session::bus_only();
        let run_dir = session.dir.path().join("run");
        std::fs::create_dir(&run_dir).unwrap();
        super::set_mode(&run_dir, 0o700);
        let mut daemon = Command::new("gnome-keyring-daemon")
            .args(["--foreground", "--components=secrets"])
            .args(if unlock { &["--unlock"][..] } else { &[][..] })
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("DBUS_SESSION_BUS_ADDRESS", &session.bus().address)
            .env("HOME", session.dir.path())
            .env("XDG_DATA_HOME", session.dir.path().join("data"))
            .env("XDG_RUNTIME_DIR", &run_dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start gnome-keyring-daemon (Debian package `gnome-keyring`)");
        let mut stdin = daemon.stdin.take().unwrap();
        if unlock {
            stdin.write_all(b"test-keyring-password").unwrap();
        }
        drop(stdin);
        session.bus.as_mut().unwrap().keyring = Some(daemon);
        session.wait_for_secret_service();
        session
    }

    /// Waits until gnome-keyring owns its bus name (readiness, not a timing check).
    pub fn wait_for_secret_service(&self) {
        for _ in 0..400 {
            let out = Command::new("dbus-send")
                .env("DBUS_SESSION_BUS_ADDRESS", &self.bus().address)
                .args([
                    "--session",
                    "--print-reply",
                    "--dest=org.freedesktop.DBus",
                    "/org/freedesktop/DBus",
                    "org.freedesktop.DBus.NameHasOwner",
                    "string:org.freedesktop.secrets",
                ])
                .output()
                .expect("run dbus-send (Debian package `dbus`)");
            if String::from_utf8_lossy(&out.stdout).contains("boolean true") {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        panic!("gnome-keyring-daemon never appeared on the bus");
    }

    /// `codex` in this session.
    pub fn codex(&self, env: &Env, args: &[&str]) -> Command {
        let mut cmd = env.cmd(args);
        if let Some(bus) = &self.bus {
            cmd.env("DBUS_SESSION_BUS_ADDRESS", &bus.address);
        }
        cmd
    }

    pub fn run(&self, env: &Env, args: &[&str]) -> Run {
        run_cmd(self.codex(env, args), None)
    }

    pub fn run_stdin(&self, env: &Env, args: &[&str], stdin: &[u8]) -> Run {
        run_cmd(self.codex(env, args), Some(stdin))
    }

    pub fn secret_tool(&self, args: &[&str], stdin: Option<&[u8]>) -> Run {
        let mut cmd = Command::new("secret-tool");
        cmd.args(args)
            .env("DBUS_SESSION_BUS_ADDRESS", &self.bus().address);
        run_cmd(cmd, stdin)
    }

    /// `credtool.exe` (beside codex.exe) in the Wine prefix: what secret-tool is on Linux. On a
    /// loaded machine a Wine process now and then stalls while it starts, before it runs any of
    /// its code; credtool only reads, so a run that has not ended within 20 s is killed and run
    /// again (three times at most).
    fn credtool(&self, args: &[&str]) -> Run {
        let Runner::Wine { exe, .. } = runner() else {
            panic!("credtool is for the Windows binary");
        };
        for _ in 0..3 {
            let mut child = Command::new("wine")
                .arg(exe.with_file_name("credtool.exe"))
                .args(args)
                .env("WINEDEBUG", "-all")
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start wine credtool.exe");
            let drain = |pipe: Option<Box<dyn std::io::Read + Send>>| {
                std::thread::spawn(move || {
                    let mut text = String::new();
                    if let Some(mut pipe) = pipe {
                        let _ = pipe.read_to_string(&mut text);
                    }
                    text
                })
            };
            let stdout = drain(child.stdout.take().map(|p| Box::new(p) as _));
            let stderr = drain(child.stderr.take().map(|p| Box::new(p) as _));
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
            let status = loop {
                if let Some(status) = child.try_wait().unwrap() {
                    break Some(status);
                }
                if std::time::Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    break None;
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            };
            let (stdout, stderr) = (stdout.join().unwrap(), stderr.join().unwrap());
            if let Some(status) = status {
                return Run {
                    code: status.code().unwrap_or(-1),
                    stdout,
                    stderr,
                };
            }
        }
        panic!("wine credtool.exe {args:?} did not end within 20 s, three times");
    }

    /// The secret stored under the reference's entry for `account`, as a reader other than
    /// codex finds it: `secret-tool lookup` on Linux. On Windows a secret over the Credential
    /// Manager's 2,560 bytes is a header in that entry and chunks beside it, put together here
    /// by the format's rules (src/store/keyring/chunked.rs), checking each part.
    pub fn lookup(&self, account: &str) -> Option<String> {
        if self.bus.is_some() {
            let run = self.secret_tool(
                &["lookup", "service", "Codex Auth", "username", account],
                None,
            );
            return (run.code == 0).then_some(run.stdout);
        }
        let first = self.credential(account)?;
        let Some(header) = first.strip_prefix("codex-chunked-v1 ") else {
            return Some(first);
        };
        let (count, digest) = header.split_once(' ').expect("`count digest`");
        let chunks: Vec<String> = (0..count.parse::<usize>().unwrap())
            .map(|i| {
                let chunk = self
                    .credential(&format!("{account}#{digest}.{i}"))
                    .unwrap_or_else(|| panic!("chunk {i} of {account} is missing"));
                let units = chunk.encode_utf16().count();
                assert!(units <= 1280, "chunk {i}: {units} UTF-16 units");
                chunk
            })
            .collect();
        Some(chunks.concat())
    }

    /// The Credential Manager's text under `account` of service "Codex Auth".
    fn credential(&self, account: &str) -> Option<String> {
        if !self.entries().iter().any(|a| a == account) {
            return None;
        }
        let run = self.credtool(&["read", &format!("{account}.Codex Auth")]);
        assert_eq!(run.code, 0, "{run:?}");
        Some(run.stdout)
    }

    /// The accounts of service "Codex Auth", sorted: `secret-tool search` on Linux; on Windows
    /// the credentials whose target is `<account>.Codex Auth`, each checked to be as the keyring
    /// crate (3.6) writes it for the reference (user name the account, its version as comment).
    pub fn entries(&self) -> Vec<String> {
        let mut accounts: Vec<String> = if self.bus.is_some() {
            let run = self.secret_tool(&["search", "--all", "service", "Codex Auth"], None);
            run.stderr
                .lines()
                .filter_map(|l| l.strip_prefix("attribute.username = "))
                .map(str::to_string)
                .collect()
        } else {
            let run = self.credtool(&["list"]);
            assert_eq!(run.code, 0, "{run:?}");
            run.stdout
                .lines()
                .filter(|line| line.split('\t').next().unwrap().ends_with(".Codex Auth"))
                .map(|line| {
                    let fields: Vec<&str> = line.split('\t').collect();
                    let [target, user, comment] = fields[..] else {
                        panic!("credtool list: {line:?}");
                    };
                    assert_eq!(target, format!("{user}.Codex Auth"), "{line:?}");
                    assert_eq!(comment, "keyring v3.6.3", "{line:?}");
                    user.to_string()
                })
                .collect()
        };
        accounts.sort();
        accounts
    }

    /// Stores an entry the way the reference CLI (keyring crate 3.6) does.
    pub fn store_as_reference(&self, account: &str, secret: &str) {
        let label = format!("{account}@Codex Auth:default (keyring v3.6.3)");
        let run = self.secret_tool(
            &[
                "store",
                &format!("--label={label}"),
                "service",
                "Codex Auth",
                "username",
                account,
                "target",
                "default",
                "application",
                "rust-keyring",
            ],
            Some(secret.as_bytes()),
        );
        assert_eq!(run.code, 0, "{run:?}");
    }

    /// Locks the default collection, as a screen lock or `secret-tool lock` would.
    pub fn lock(&self) {
        let out = Command::new("dbus-send")
            .env("DBUS_SESSION_BUS_ADDRESS", &self.bus().address)
            .args([
                "--session",
                "--print-reply",
                "--dest=org.freedesktop.secrets",
                "/org/freedesktop/secrets",
                "org.freedesktop.Secret.Service.Lock",
                "array:objpath:/org/freedesktop/secrets/collection/login",
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
    }

    /// Stops the keyring daemon without removing it from the bus: calls to it hang.
    pub fn freeze(&self) {
        let pid = self.bus().keyring.as_ref().unwrap().id();
        assert!(signal("STOP", pid), "could not stop gnome-keyring-daemon");
    }

    /// Lets a frozen keyring daemon run again.
    pub fn thaw(&self) {
        let pid = self.bus().keyring.as_ref().unwrap().id();
        assert!(
            signal("CONT", pid),
            "could not continue gnome-keyring-daemon"
        );
    }
}

impl Drop for Bus {
    fn drop(&mut self) {
        if let Some(daemon) = &mut self.keyring {
            signal("CONT", daemon.id());
            let _ = daemon.kill();
            let _ = daemon.wait();
        }
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}

/// Sends a signal to a process this test started (the shell's `kill`: no procps needed).
pub fn signal(name: &str, pid: u32) -> bool {
    Command::new("sh")
        .args(["-c", &format!("kill -{name} {pid}")])
        .status()
        .is_ok_and(|s| s.success())
}

/// The reference's account for this CODEX_HOME, computed with coreutils' `sha256sum`. The
/// canonical path is the one Rust's `canonicalize` gives, which on Windows is in the verbatim
/// form (`\\?\Z:\...`).
pub fn account(env: &Env) -> String {
    let canonical = std::fs::canonicalize(&env.home).unwrap();
    let canonical = match runner() {
        Runner::Native => canonical.display().to_string(),
        wine @ Runner::Wine { .. } => format!("\\\\?\\{}", wine.path(&canonical)),
    };
    let out = Command::new("sh")
        .args(["-c", "printf %s \"$1\" | sha256sum", "sh"])
        .arg(&canonical)
        .output()
        .unwrap();
    format!("cli|{}", &String::from_utf8(out.stdout).unwrap()[..16])
}
