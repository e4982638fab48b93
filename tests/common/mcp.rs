//! The MCP peers: oidc-provider as an MCP authorization server (tests/peers/oidc with `MCP=1`)
//! and an OAuth-protected MCP server on the official SDK (tests/peers/mcp), plus the SDK client
//! that proves a token with `initialize`, `tools/list` and a tool call.

use std::path::Path;
use std::process::Command;

use super::keyring::Session;
use super::{Background, Env, Peer, ROOT, Run, agent_ok};

/// oidc-provider with dynamic registration and MCP resources, plus `extra` environment.
pub fn auth_server(dir: &Path, extra: &[(&str, &str)]) -> Peer {
    let mut env = vec![("MCP", "1")];
    env.extend_from_slice(extra);
    Peer::oidc(dir, &env)
}

/// The MCP server whose tokens `issuer` issues; `quirk` as tests/peers/mcp/README.md lists.
pub fn server(dir: &Path, issuer: &Peer, quirk: Option<&str>) -> Peer {
    let env: Vec<(&str, &str)> = quirk.map(|q| ("QUIRK", q)).into_iter().collect();
    server_with(dir, issuer, &env, 0)
}

/// The same with `extra` environment (tests/peers/mcp/README.md), on `port` (`0`: any free one).
pub fn server_with(dir: &Path, issuer: &Peer, extra: &[(&str, &str)], port: u16) -> Peer {
    let log = dir.join(format!("mcp-{}.log", super::unique()));
    let mut cmd = Command::new("node");
    cmd.arg("server.js")
        .current_dir(format!("{ROOT}/tests/peers/mcp"))
        .env("PORT", port.to_string())
        .env("ISSUER", &issuer.url)
        .env("LOG_FILE", &log)
        .envs(extra.iter().copied());
    Peer::start(cmd, log)
}

/// config.toml naming `servers` (name, URL) plus `extra` top-level lines.
pub fn config(env: &Env, extra: &str, servers: &[(&str, &str)]) {
    let mut text = format!("{extra}\n");
    for (name, url) in servers {
        text.push_str(&format!("\n[mcp_servers.{name}]\nurl = \"{url}\"\n"));
    }
    env.write_config(&text);
}

/// `codex mcp login NAME --no-browser --json` (on `session` when given), the test playing the
/// user at the authorize URL; returns the run and the URL.
pub fn login(env: &Env, session: Option<&Session>, name: &str) -> (Run, String) {
    let args = ["mcp", "login", name, "--no-browser", "--json"];
    let cmd = match session {
        Some(session) => session.codex(env, &args),
        None => env.cmd(&args),
    };
    let login = Background::spawn(cmd);
    let event = login.next_event();
    assert_eq!(event["event"], "authorize_url", "{event}");
    let url = event["url"].as_str().unwrap().to_string();
    agent_ok(&["authorize", &url]);
    (login.finish(30), url)
}

/// `login`, which must succeed.
pub fn logged_in(env: &Env, session: Option<&Session>, name: &str) -> String {
    let (run, url) = login(env, session, name);
    assert_eq!(run.code, 0, "{run:?}");
    url
}

/// Calls the MCP server at `url` with `token` through the SDK client: `Ok` with what the
/// server said (`{"tools": [...], "whoami": {...}}`), `Err` with the client's error.
pub fn prove(url: &str, token: &str) -> Result<serde_json::Value, String> {
    let out = Command::new("node")
        .arg("client.js")
        .arg(url)
        .arg(token)
        .current_dir(format!("{ROOT}/tests/peers/mcp"))
        .output()
        .expect("run client.js");
    if out.status.success() {
        Ok(serde_json::from_slice(&out.stdout).expect("client.js prints JSON"))
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// `$CODEX_HOME/.credentials.json`, parsed.
pub fn credentials(env: &Env) -> serde_json::Value {
    let text =
        std::fs::read_to_string(env.home.join(".credentials.json")).expect(".credentials.json");
    serde_json::from_str(&text).unwrap()
}

/// The reference's store key of a server, computed with coreutils' `sha256sum`.
pub fn store_key(name: &str, url: &str) -> String {
    let payload = format!("{{\"type\":\"http\",\"url\":\"{url}\",\"headers\":{{}}}}");
    let out = Command::new("sh")
        .args(["-c", "printf %s \"$1\" | sha256sum", "sh", &payload])
        .output()
        .unwrap();
    format!("{name}|{}", &String::from_utf8(out.stdout).unwrap()[..16])
}
