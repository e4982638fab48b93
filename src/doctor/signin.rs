//! Sign-in prerequisites: the browser sign-in's callback ports (free, or held by which program,
//! where the OS tells) and whether a browser can be opened here, so that the right way to sign
//! in is suggested.

use std::net::{Ipv4Addr, TcpListener};
#[cfg(target_os = "linux")]
use std::path::Path;

use crate::login::browser::{DEFAULT_PORTS, browser_unavailable_reason};

use super::{Group, Row};

/// Blocking: binds each port for an instant, and reads /proc to name a holder.
pub fn check() -> Vec<Row> {
    let busy: Vec<(u16, Option<Holder>)> = DEFAULT_PORTS
        .iter()
        .filter(|port| TcpListener::bind((Ipv4Addr::LOCALHOST, **port)).is_err())
        .map(|port| (*port, holder(*port)))
        .collect();
    vec![ports_row(&busy), browser_row()]
}

/// The process listening on a port, as the OS tells.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Holder {
    pid: u32,
    name: String,
}

impl Holder {
    fn describe(&self) -> String {
        if self.name == "codex" {
            format!(
                "another `codex login` waiting for its browser (pid {})",
                self.pid
            )
        } else {
            format!("`{}` (pid {})", self.name, self.pid)
        }
    }
}

fn ports_row(busy: &[(u16, Option<Holder>)]) -> Row {
    let [first, second] = DEFAULT_PORTS;
    let by = |holder: &Option<Holder>| match holder {
        Some(h) => format!("in use by {}", h.describe()),
        None => "in use by another program (the OS does not say which)".to_string(),
    };
    let name = "callback ports";
    let stale_login = busy
        .iter()
        .any(|(_, h)| h.as_ref().is_some_and(|h| h.name == "codex"));
    match busy {
        [] => Row::ok(
            Group::SignIn,
            name,
            format!("{first} is free for `codex login` ({second} too)"),
        ),
        [(port, holder)] if *port == first => Row::warn(
            Group::SignIn,
            name,
            format!(
                "{first} is {}; `codex login` {} and uses {second}",
                by(holder),
                if stale_login {
                    "asks it to stop first"
                } else {
                    "cannot use it"
                }
            ),
        )
        .fix(format!(
            "free port {first}, or sign in without a callback: codex login --device-auth"
        )),
        [(port, holder)] => Row::ok(
            Group::SignIn,
            name,
            format!(
                "{first} is free for `codex login` ({port} is {})",
                by(holder)
            ),
        ),
        _ => {
            let each: Vec<String> = busy
                .iter()
                .map(|(p, h)| format!("{p} is {}", by(h)))
                .collect();
            let row = Row::fail(Group::SignIn, name, each.join("; "));
            if stale_login {
                row.fix("a new `codex login` asks a waiting one to stop; otherwise free a port, use codex login --port 0, or codex login --device-auth")
            } else {
                row.fix("free one of them, use codex login --port 0, or sign in without a callback: codex login --device-auth")
            }
        }
    }
}

fn browser_row() -> Row {
    match browser_unavailable_reason() {
        None => Row::ok(Group::SignIn, "browser", "`codex login` can open one here"),
        Some(reason) => Row::warn(
            Group::SignIn,
            "browser",
            format!("none can be opened: {reason}; `codex login` prints the sign-in URL instead"),
        )
        .fix("codex login --device-auth (sign in on another device with a one-time code)"),
    }
}

/// A socket table of a busy host runs to some MiB; a process name is 16 bytes.
#[cfg(target_os = "linux")]
const PROC_TABLE_CAP: crate::fsutil::Cap = crate::fsutil::Cap::new(64 << 20, "a socket table");
#[cfg(target_os = "linux")]
const PROC_NAME_CAP: crate::fsutil::Cap = crate::fsutil::Cap::new(4 << 10, "a process name");

/// A kernel file's text, read as every file is (regular files only, capped).
#[cfg(target_os = "linux")]
fn proc_text(path: &Path, cap: crate::fsutil::Cap) -> Option<String> {
    let (bytes, _) = crate::fsutil::read(path, cap).ok()?;
    String::from_utf8(bytes).ok()
}

/// On Linux: the LISTEN socket on 127.0.0.1/0.0.0.0 (or ::) `port`, then the process that has it
/// open. Processes of other users cannot be looked into: then `None`.
#[cfg(target_os = "linux")]
fn holder(port: u16) -> Option<Holder> {
    let inodes: Vec<String> = ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|table| proc_text(Path::new(table), PROC_TABLE_CAP))
        .flat_map(|text| listeners(&text, port))
        .collect();
    if inodes.is_empty() {
        return None;
    }
    let wanted: Vec<String> = inodes.iter().map(|i| format!("socket:[{i}]")).collect();
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        let owns = fds.flatten().any(|fd| {
            std::fs::read_link(fd.path())
                .is_ok_and(|target| wanted.iter().any(|w| target.as_os_str() == w.as_str()))
        });
        if owns {
            let name = proc_text(&entry.path().join("comm"), PROC_NAME_CAP)
                .map(|n| crate::untrusted::printable(n.trim()).into_owned())
                .unwrap_or_else(|| "?".to_string());
            return Some(Holder { pid, name });
        }
    }
    None
}

#[cfg(not(target_os = "linux"))]
fn holder(_port: u16) -> Option<Holder> {
    None
}

/// The socket inodes listening on `port` in one /proc/net/tcp table.
#[cfg(target_os = "linux")]
fn listeners(table: &str, port: u16) -> Vec<String> {
    const LISTEN: &str = "0A";
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let local = fields.get(1)?;
            let (_, hex_port) = local.rsplit_once(':')?;
            let listening = fields.get(3) == Some(&LISTEN);
            (listening && u16::from_str_radix(hex_port, 16).ok()? == port)
                .then(|| fields.get(9).map(|s| s.to_string()))
                .flatten()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    #[test]
    fn listeners_are_found_by_port_and_state() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   \
            0: 0100007F:05AF 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0\n   \
            1: 0100007F:05AF 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 4343 1 0\n   \
            2: 00000000:05B1 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4444 1 0\n";
        assert_eq!(listeners(table, 1455), vec!["4242".to_string()]);
        assert_eq!(listeners(table, 1457), vec!["4444".to_string()]);
        assert!(listeners(table, 80).is_empty());
    }

    #[test]
    fn one_busy_port_suggests_the_device_sign_in() {
        let holder = Some(Holder {
            pid: 42,
            name: "python3".to_string(),
        });
        let row = ports_row(&[(1455, holder)]);
        assert_eq!(
            row.found,
            "1455 is in use by `python3` (pid 42); `codex login` cannot use it and uses 1457"
        );
        assert!(row.fix.unwrap().ends_with("codex login --device-auth"));
    }
}
