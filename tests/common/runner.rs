//! Which `codex` the tests run. By default the binary cargo built for this machine; with
//! `CODEX_TEST_RUNNER=wine`, the Windows build named by `CODEX_TEST_EXE` under Wine, in the
//! prefix `WINEPREFIX` (`scripts/test-wine` sets all three). The same tests then check the
//! Windows code: paths handed to the binary, and paths it prints, are Windows paths (`Z:\...`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

pub enum Runner {
    Native,
    Wine { exe: PathBuf, prefix: PathBuf },
}

/// The runner of this test process, read from the environment once.
pub fn runner() -> &'static Runner {
    static RUNNER: OnceLock<Runner> = OnceLock::new();
    RUNNER.get_or_init(|| match std::env::var("CODEX_TEST_RUNNER").as_deref() {
        Err(_) | Ok("") | Ok("native") => Runner::Native,
        Ok("wine") => Runner::wine(),
        Ok(other) => panic!("CODEX_TEST_RUNNER={other:?}: expected `wine`, or nothing"),
    })
}

/// Whether the binary under test is the Windows one.
pub fn windows() -> bool {
    match runner() {
        Runner::Native => false,
        Runner::Wine { .. } => true,
    }
}

impl Runner {
    fn wine() -> Runner {
        const HOW: &str = "run the Wine tests with scripts/test-wine";
        let exe = PathBuf::from(
            std::env::var_os("CODEX_TEST_EXE")
                .unwrap_or_else(|| panic!("CODEX_TEST_EXE is not set: {HOW}")),
        );
        assert!(
            exe.is_file(),
            "CODEX_TEST_EXE={}: no such file",
            exe.display()
        );
        let dll = exe.with_file_name("bcryptprimitives.dll");
        assert!(
            dll.is_file(),
            "{} is missing: Wine 8 cannot start Rust binaries without it; scripts/cross builds it",
            dll.display()
        );
        let prefix = PathBuf::from(
            std::env::var_os("WINEPREFIX")
                .unwrap_or_else(|| panic!("WINEPREFIX is not set: {HOW}")),
        );
        assert!(
            prefix.join("system.reg").is_file(),
            "WINEPREFIX={} is not a Wine prefix: {HOW}",
            prefix.display()
        );
        Runner::Wine { exe, prefix }
    }

    /// A command that runs the binary under test (no arguments yet).
    pub fn command(&self) -> Command {
        match self {
            Runner::Native => Command::new(super::BIN),
            Runner::Wine { exe, .. } => {
                let mut cmd = Command::new("wine");
                // Wine's own diagnostics would land on the binary's stderr.
                cmd.arg(exe).env("WINEDEBUG", "-all");
                cmd
            }
        }
    }

    /// A path of this machine as the binary names it: as is, or on Wine's drive `Z:`, which maps
    /// the Unix root.
    pub fn path(&self, path: &Path) -> String {
        match self {
            Runner::Native => path.display().to_string(),
            Runner::Wine { .. } => {
                let text = path.to_str().expect("a UTF-8 path");
                assert!(text.starts_with('/'), "an absolute path: {text}");
                format!("Z:{}", text.replace('/', "\\"))
            }
        }
    }

    /// The user's profile folder as the binary finds it without `CODEX_HOME`: `HOME` (which
    /// `Env` points into its temp dir), or the prefix's `C:\users\<name>`.
    pub fn profile(&self, home: &Path) -> PathBuf {
        match self {
            Runner::Native => home.to_path_buf(),
            Runner::Wine { prefix, .. } => {
                let users = prefix.join("drive_c/users");
                let name = std::fs::read_dir(&users)
                    .unwrap()
                    .map(|e| e.unwrap().file_name().into_string().unwrap())
                    .find(|n| n != "Public")
                    .unwrap_or_else(|| panic!("no user folder in {}", users.display()));
                users.join(name)
            }
        }
    }
}
