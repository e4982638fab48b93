//! Real proxy servers for the network tests: Debian's tinyproxy (HTTP CONNECT, optionally with
//! Basic authentication) and microsocks (SOCKS5), on free loopback ports.

use std::path::{Path, PathBuf};

use super::free_port;

/// A proxy server process (tinyproxy or microsocks) on a free loopback port, stopped on drop.
pub struct ProxyServer {
    child: std::process::Child,
    pub port: u16,
    log: PathBuf,
}

impl ProxyServer {
    pub fn start(mut cmd: std::process::Command, port: u16, log: PathBuf) -> ProxyServer {
        cmd.stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        let mut child = cmd
            .spawn()
            .expect("start the proxy (is it installed? see scripts/test)");
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return ProxyServer { child, port, log };
            }
            if let Some(status) = child.try_wait().unwrap() {
                panic!("the proxy exited: {status}");
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("the proxy did not listen on {port} within 10 s");
    }

    /// Debian's tinyproxy, allowing CONNECT to `target_port` only, with `BasicAuth` if given.
    pub fn tinyproxy(
        dir: &Path,
        target_port: u16,
        basic_auth: Option<(&str, &str)>,
    ) -> ProxyServer {
        ProxyServer::tinyproxy_to(dir, &[target_port], basic_auth)
    }

    /// tinyproxy allowing CONNECT to each of `target_ports`.
    pub fn tinyproxy_to(
        dir: &Path,
        target_ports: &[u16],
        basic_auth: Option<(&str, &str)>,
    ) -> ProxyServer {
        let port = free_port();
        let log = dir.join(format!("tinyproxy-{port}.log"));
        let conf = dir.join(format!("tinyproxy-{port}.conf"));
        let mut text = format!(
            "Port {port}\nListen 127.0.0.1\nTimeout 30\nLogFile \"{}\"\nLogLevel Connect\n\
             MaxClients 20\nAllow 127.0.0.1\n",
            log.display()
        );
        for target in target_ports {
            text.push_str(&format!("ConnectPort {target}\n"));
        }
        if let Some((user, password)) = basic_auth {
            text.push_str(&format!("BasicAuth {user} {password}\n"));
        }
        std::fs::write(&conf, text).unwrap();
        let mut cmd = std::process::Command::new("tinyproxy");
        cmd.arg("-d").arg("-c").arg(&conf);
        ProxyServer::start(cmd, port, log)
    }

    /// Debian's microsocks, a SOCKS5 server, requiring this user name and password.
    pub fn microsocks(dir: &Path, user: &str, password: &str) -> ProxyServer {
        let port = free_port();
        let mut cmd = std::process::Command::new("microsocks");
        cmd.args([
            "-i",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-u",
            user,
            "-P",
            password,
        ]);
        ProxyServer::start(cmd, port, dir.join("no-log"))
    }

    pub fn connects_to(&self, port: u16) -> usize {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .matches(&format!("CONNECT 127.0.0.1:{port} "))
            .count()
    }
}

impl Drop for ProxyServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
