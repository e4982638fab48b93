//! A real terminal for tests of what a person sees: the binary runs in a detached tmux session of
//! a fixed size, and the test reads the screen as tmux rendered it (`capture-pane`), with every
//! cursor movement and redraw of the spinner already applied.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use super::{BIN, Env};

pub const COLUMNS: u16 = 100;
pub const ROWS: u16 = 45;

/// One tmux server (a private socket) running one `codex` command; stopped when dropped.
pub struct Screen {
    socket: PathBuf,
    _dir: tempfile::TempDir,
}

impl Screen {
    /// Runs `codex args` in `env` plus `vars` (and nothing else of the test's environment) on a
    /// 100x45 terminal. When it exits the pane shows `[exit N]` and stays.
    pub fn start(env: &Env, args: &[&str], vars: &[(&str, &str)]) -> Screen {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("tmux.sock");
        let home = env.home.display().to_string();
        let user_home = env.dir.path().display().to_string();
        let mut command: Vec<String> = vec![
            "env".into(),
            "-i".into(),
            format!("PATH={}", std::env::var("PATH").unwrap_or_default()),
            "TERM=screen".into(),
            "LANG=C.UTF-8".into(),
            format!("HOME={user_home}"),
            format!("CODEX_HOME={home}"),
        ];
        command.extend(vars.iter().map(|(k, v)| format!("{k}={v}")));
        command.push(BIN.into());
        command.extend(args.iter().map(|a| a.to_string()));
        // sh keeps the pane open after the exit, with the code on screen; its trap lets it
        // outlive a Ctrl-C meant for `codex` (the child still gets the default SIGINT).
        let script = r#"trap true INT; "$@"; echo "[exit $?]"; exec sleep 600"#;
        let status = Command::new("tmux")
            .arg("-S")
            .arg(&socket)
            .args(["-f", "/dev/null", "new-session", "-d"])
            .args(["-x", &COLUMNS.to_string(), "-y", &ROWS.to_string()])
            .args(["sh", "-c", script, "sh"])
            .args(&command)
            .env_remove("TMUX")
            .status()
            .expect("run tmux (Debian package `tmux`)");
        assert!(status.success(), "tmux new-session failed");
        Screen { socket, _dir: dir }
    }

    fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("run tmux");
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The visible screen, one line per row (a line wrapped by the terminal joined into one),
    /// trailing blanks and blank rows at the end removed.
    pub fn text(&self) -> String {
        let raw = self.tmux(&["capture-pane", "-p", "-J"]);
        let lines: Vec<&str> = raw.lines().map(str::trim_end).collect();
        let end = lines
            .iter()
            .rposition(|l| !l.is_empty())
            .map_or(0, |i| i + 1);
        lines[..end].iter().map(|l| format!("{l}\n")).collect()
    }

    /// Waits (up to 30 s) until the screen shows `needle`; returns the screen.
    pub fn wait_for(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let text = self.text();
            if text.contains(needle) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "the screen never showed {needle:?}:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Types keys, in tmux's names (`C-c` is Ctrl-C).
    pub fn keys(&self, keys: &str) {
        self.tmux(&["send-keys", keys]);
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .arg("kill-server")
            .status();
    }
}
