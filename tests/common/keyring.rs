//! A private D-Bus session for keyring tests: a `dbus-daemon` of its own and, where a test needs
//! one, an unlocked `gnome-keyring-daemon` (a real Secret Service); `secret-tool` looks at what
//! the binary stored. Dropping the session stops both.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};

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

/// A private D-Bus session, with or without a Secret Service on it. Dropping it stops both.
pub struct Session {
    dir: tempfile::TempDir,
    address: String,
    bus: Child,
    keyring: Option<Child>,
}

impl Session {
    /// A bus and nothing on it.
    pub fn bus_only() -> Session {
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
            address,
            bus,
            keyring: None,
        }
    }

    /// A bus with an unlocked gnome-keyring (a `login` collection as the default).
    pub fn with_keyring() -> Session {
        Session::with_gnome_keyring(true)
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
            .env("DBUS_SESSION_BUS_ADDRESS", &session.address)
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
        session.keyring = Some(daemon);
        session.wait_for_secret_service();
        session
    }

    /// Waits until gnome-keyring owns its bus name (readiness, not a timing check).
    pub fn wait_for_secret_service(&self) {
        for _ in 0..400 {
            let out = Command::new("dbus-send")
                .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
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
        cmd.env("DBUS_SESSION_BUS_ADDRESS", &self.address);
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
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address);
        run_cmd(cmd, stdin)
    }

    /// The secret stored under the reference's attributes, as `secret-tool lookup` prints it.
    pub fn lookup(&self, account: &str) -> Option<String> {
        let run = self.secret_tool(
            &["lookup", "service", "Codex Auth", "username", account],
            None,
        );
        (run.code == 0).then_some(run.stdout)
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
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
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
        let pid = self.keyring.as_ref().unwrap().id();
        assert!(signal("STOP", pid), "could not stop gnome-keyring-daemon");
    }

    /// Lets a frozen keyring daemon run again.
    pub fn thaw(&self) {
        let pid = self.keyring.as_ref().unwrap().id();
        assert!(
            signal("CONT", pid),
            "could not continue gnome-keyring-daemon"
        );
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Some(daemon) = &mut self.keyring {
            signal("CONT", daemon.id());
            let _ = daemon.kill();
            let _ = daemon.wait();
        }
        let _ = self.bus.kill();
        let _ = self.bus.wait();
    }
}

/// Sends a signal to a process this test started (the shell's `kill`: no procps needed).
pub fn signal(name: &str, pid: u32) -> bool {
    Command::new("sh")
        .args(["-c", &format!("kill -{name} {pid}")])
        .status()
        .is_ok_and(|s| s.success())
}

/// The reference's account for this CODEX_HOME, computed with coreutils' `sha256sum`.
pub fn account(env: &Env) -> String {
    let canonical = std::fs::canonicalize(&env.home).unwrap();
    let out = Command::new("sh")
        .args(["-c", "printf %s \"$1\" | sha256sum", "sh"])
        .arg(&canonical)
        .output()
        .unwrap();
    format!("cli|{}", &String::from_utf8(out.stdout).unwrap()[..16])
}
