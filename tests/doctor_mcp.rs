//! Issue 22: `codex doctor`'s MCP section against real peers: oidc-provider as the MCP
//! authorization server and the MCP server on the official SDK (tests/common/mcp.rs), signed in
//! with `codex mcp login` as a user would. Each case's section (text and `--json`) is pinned by
//! an insta snapshot, with ports, paths, store keys, times and durations masked.

mod common;

use std::process::{Command, Stdio};

use common::keyring::Session;
use common::masks::normalized;
use common::mcp::{self, credentials, logged_in, store_key};
use common::{Env, Peer, Run, free_port, run_cmd, run_within};
use serde_json::Value;

const KEY: &str = "sk-proj-doctor-mcp-CANARY-0123456789";

/// The peers of one test, stopped before their folder (with their logs) is removed.
struct Peers {
    api: Peer,
    oidc: Peer,
    server: Peer,
    dir: tempfile::TempDir,
}

/// The MCP peers (`quirk` as tests/peers/mcp/README.md lists) and the fake Responses API, which
/// the rest of the report checks instead of api.openai.com.
fn peers(oidc_env: &[(&str, &str)], quirk: Option<&str>) -> Peers {
    let dir = tempfile::tempdir().unwrap();
    let oidc = mcp::auth_server(dir.path(), oidc_env);
    let server = mcp::server(dir.path(), &oidc, quirk);
    let api = Peer::responses(&["--accept-bearer", KEY]);
    Peers {
        api,
        oidc,
        server,
        dir,
    }
}

/// config.toml: the model API and issuer at the fake, an API key stored, the MCP credentials
/// in `store` mode, then `servers` (TOML text).
fn configure(env: &Env, p: &Peers, store: &str, servers: &str) {
    env.write_config(&format!(
        "openai_base_url = \"{api}/v1\"\ncli_auth_credentials_store = \"file\"\nmcp_oauth_credentials_store = \"{store}\"\n\n[auth]\nissuer = \"{api}\"\n\n{servers}",
        api = p.api.url
    ));
    env.write_auth(&format!(
        "{{\n  \"auth_mode\": \"apikey\",\n  \"OPENAI_API_KEY\": \"{KEY}\"\n}}"
    ));
}

/// The port of `http://127.0.0.1:PORT/path`.
fn port_of(url: &str) -> u16 {
    let authority = url.split("://").nth(1).unwrap().split('/').next().unwrap();
    authority.rsplit(':').next().unwrap().parse().unwrap()
}

fn server_table(name: &str, url: &str) -> String {
    format!("[mcp_servers.{name}]\nurl = \"{url}\"\n\n")
}

fn doctor_cmd(env: &Env, session: Option<&Session>, args: &[&str]) -> Command {
    let mut all = vec!["doctor"];
    all.extend_from_slice(args);
    match session {
        Some(session) => session.codex(env, &all),
        None => env.cmd(&all),
    }
}

fn doctor(env: &Env, session: Option<&Session>, args: &[&str]) -> Run {
    run_cmd(doctor_cmd(env, session, args), None)
}

/// The MCP section of a text report (empty when there is none).
fn section(text: &str) -> String {
    let Some(start) = text.find("\nMCP servers\n") else {
        return String::new();
    };
    let rest = &text[start + 1..];
    let end = rest.find("\n\n").map_or(rest.len(), |i| i + 1);
    rest[..end].to_string()
}

/// The MCP rows of a `--json` report.
fn json_rows(stdout: &str) -> Vec<Value> {
    let report: Value = serde_json::from_str(stdout).expect("one JSON object");
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["group"] == "mcp")
        .cloned()
        .collect()
}

/// The status of row `check` in `rows`.
fn status<'a>(rows: &'a [Value], check: &str) -> &'a str {
    rows.iter()
        .find(|r| r["check"] == check)
        .unwrap_or_else(|| panic!("no row `{check}` in {rows:#?}"))["status"]
        .as_str()
        .unwrap()
}

/// What stands for the peers, the folder and each server's store key in snapshots.
fn masks(env: &Env, p: &Peers, servers: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut pairs = vec![
        (env.dir.path().display().to_string(), "[TMP]".to_string()),
        (p.server.url.clone(), "[MCP]".to_string()),
        (p.oidc.url.clone(), "[ISSUER]".to_string()),
        (p.api.url.clone(), "[API]".to_string()),
        (
            format!(":{}", port_of(&p.server.url)),
            ":[MCP_PORT]".to_string(),
        ),
    ];
    for (name, url) in servers {
        pairs.push((store_key(name, url), format!("{name}|[KEY]")));
    }
    pairs
}

fn masked(text: &str, pairs: &[(String, String)]) -> String {
    let pairs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    normalized(text, &pairs)
}

/// The text section and the JSON rows, masked, as one snapshot.
fn snapshot_of(env: &Env, session: Option<&Session>, pairs: &[(String, String)]) -> String {
    let text = doctor(env, session, &[]);
    let json = doctor(env, session, &["--json"]);
    let rows = serde_json::to_string_pretty(&json_rows(&json.stdout)).unwrap();
    format!(
        "{}\n--- --json (group mcp)\n{}\n",
        masked(&section(&text.stdout), pairs),
        masked(&rows, pairs)
    )
}

#[test]
fn signed_in_in_file_mode_every_row_is_green_and_the_token_is_tried() {
    let env = Env::new();
    let p = peers(&[], None);
    configure(&env, &p, "file", &server_table("docs", &p.server.url));
    logged_in(&env, None, "docs");
    let before = std::fs::read(env.home.join(".credentials.json")).unwrap();

    let run = doctor(&env, None, &["--json"]);
    let rows = json_rows(&run.stdout);
    for check in [
        "token store",
        "docs transport",
        "docs server",
        "docs metadata",
        "docs client",
        "docs sign-in",
        "docs access token",
        "docs refresh token",
    ] {
        assert_eq!(status(&rows, check), "ok", "{check}: {rows:#?}");
    }
    // The access token was tried with an MCP `initialize`, and the server took it (the server
    // logs a request once its answer is sent: the line may come a moment after doctor ends).
    let initialize = |r: &Value| r["method"] == "POST" && r["auth"] == true && r["status"] == 200;
    let logged = (0..100).any(|_| {
        let found = p.server.requests().iter().any(initialize);
        if !found {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        found
    });
    assert!(logged, "{:?}", p.server.requests());
    // Read-only: nothing refreshed, nothing rewritten.
    assert!(
        !p.oidc
            .requests()
            .iter()
            .any(|r| r["grant_type"] == "refresh_token")
    );
    assert_eq!(
        std::fs::read(env.home.join(".credentials.json")).unwrap(),
        before
    );

    let pairs = masks(&env, &p, &[("docs", &p.server.url)]);
    insta::assert_snapshot!("signed_in_file", snapshot_of(&env, None, &pairs));
}

#[test]
fn signed_in_in_keyring_mode_names_the_keyring_entry() {
    let env = Env::new();
    let session = Session::with_keyring();
    let p = peers(&[], None);
    configure(&env, &p, "keyring", &server_table("docs", &p.server.url));
    logged_in(&env, Some(&session), "docs");
    let run = doctor(&env, Some(&session), &[]);
    let key = store_key("docs", &p.server.url);
    assert!(
        run.stdout.contains(&format!(
            "✓ docs sign-in: stored in the OS keyring (service \"Codex MCP Credentials\", account \"{key}\"); issued by `{}`, the server's authorization server\n",
            p.oidc.url
        )),
        "{}",
        run.stdout
    );
    let pairs = masks(&env, &p, &[("docs", &p.server.url)]);
    insta::assert_snapshot!(
        "signed_in_keyring",
        snapshot_of(&env, Some(&session), &pairs)
    );
}

/// Rewrites the stored entry of `name` at `url` with `change`.
fn edit_entry(env: &Env, name: &str, url: &str, change: impl FnOnce(&mut Value)) {
    let mut doc = credentials(env);
    change(&mut doc[store_key(name, url)]);
    std::fs::write(env.home.join(".credentials.json"), doc.to_string()).unwrap();
}

fn now_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

#[test]
fn expired_tokens_with_and_without_a_refresh_token_and_a_changed_issuer() {
    let env = Env::new();
    let p = peers(&[], None);
    let url = p.server.url.clone();
    configure(&env, &p, "file", &server_table("docs", &url));
    logged_in(&env, None, "docs");
    let pairs = masks(&env, &p, &[("docs", &url)]);
    let mut text = String::new();
    let access = credentials(&env)[store_key("docs", &url)]["access_token"].clone();

    edit_entry(&env, "docs", &url, |e| {
        e["expires_at"] = (now_millis() - 600_000).into();
    });
    let run = doctor(&env, None, &["--json"]);
    let rows = json_rows(&run.stdout);
    assert_eq!(status(&rows, "docs access token"), "warn", "{rows:#?}");
    assert_eq!(status(&rows, "docs refresh token"), "ok", "{rows:#?}");
    // An expired token is not sent (it would need a refresh first).
    let tried = p
        .server
        .requests()
        .into_iter()
        .any(|r| r["method"] == "POST" && r["auth"] == true);
    assert!(!tried, "{:?}", p.server.requests());
    text.push_str("# expired, with a refresh token\n");
    text.push_str(&masked(&section(&doctor(&env, None, &[]).stdout), &pairs));

    edit_entry(&env, "docs", &url, |e| e["refresh_token"] = Value::Null);
    let run = doctor(&env, None, &["--json"]);
    assert_eq!(run.code, 1, "{run:?}");
    let rows = json_rows(&run.stdout);
    assert_eq!(status(&rows, "docs access token"), "fail", "{rows:#?}");
    assert_eq!(status(&rows, "docs refresh token"), "warn", "{rows:#?}");
    text.push_str("\n# expired, without a refresh token\n");
    text.push_str(&masked(&section(&doctor(&env, None, &[]).stdout), &pairs));

    // Valid by its expiry, but not a token the server takes.
    edit_entry(&env, "docs", &url, |e| {
        e["expires_at"] = (now_millis() + 3_600_000).into();
        e["access_token"] = "revoked-CANARY-token".into();
    });
    let run = doctor(&env, None, &["--json"]);
    let rows = json_rows(&run.stdout);
    assert_eq!(status(&rows, "docs access token"), "fail", "{rows:#?}");
    assert!(!run.stdout.contains("CANARY"), "{run:?}");
    text.push_str("\n# refused by the server\n");
    text.push_str(&masked(&section(&doctor(&env, None, &[]).stdout), &pairs));

    // Valid again, but issued by another authorization server than the server names now.
    edit_entry(&env, "docs", &url, |e| {
        e["access_token"] = access;
        e["issuer"] = "https://old-issuer.example".into();
    });
    let run = doctor(&env, None, &["--json"]);
    let rows = json_rows(&run.stdout);
    assert_eq!(status(&rows, "docs sign-in"), "fail", "{rows:#?}");
    text.push_str("\n# issued by another authorization server\n");
    text.push_str(&masked(&section(&doctor(&env, None, &[]).stdout), &pairs));
    insta::assert_snapshot!("expired_and_changed_issuer", text);
}

#[test]
fn every_kind_of_server_in_one_report_in_config_order() {
    let env = Env::new();
    let p = peers(&[], None);
    let mismatch = mcp::server(p.dir.path(), &p.oidc, Some("issuer-mismatch"));
    let down_port = free_port();
    let down = format!("http://127.0.0.1:{down_port}/mcp");
    // `wiki` (signed in) comes before `docs` in config.toml: the report keeps that order.
    let servers = [
        server_table("wiki", &p.server.url),
        server_table("docs", &p.server.url),
        server_table("mismatch", &mismatch.url),
        server_table("down", &down),
        format!(
            "[mcp_servers.viaenv]\nurl = \"{}\"\nbearer_token_env_var = \"DOCS_MCP_TOKEN\"\n\n",
            p.server.url
        ),
        format!(
            "[mcp_servers.unset]\nurl = \"{}\"\nbearer_token_env_var = \"UNSET_MCP_TOKEN\"\n\n",
            p.server.url
        ),
        format!(
            "[mcp_servers.refused]\nurl = \"{}\"\nbearer_token_env_var = \"REFUSED_MCP_TOKEN\"\n\n",
            p.server.url
        ),
        format!(
            "[mcp_servers.header]\nurl = \"{}\"\nhttp_headers = {{ Authorization = \"Bearer x\" }}\n\n",
            p.server.url
        ),
        "[mcp_servers.local]\ncommand = \"npx\"\nargs = [\"-y\", \"some-mcp-server\"]\n\n".to_string(),
        "[mcp_servers.off]\ncommand = \"npx\"\nenabled = false\n\n".to_string(),
    ]
    .concat();
    configure(&env, &p, "file", &servers);
    logged_in(&env, None, "wiki");
    let access = credentials(&env)[store_key("wiki", &p.server.url)]["access_token"]
        .as_str()
        .unwrap()
        .to_string();

    let mut cmd = doctor_cmd(&env, None, &["--json"]);
    cmd.env("DOCS_MCP_TOKEN", &access)
        .env("REFUSED_MCP_TOKEN", "not-a-token-CANARY");
    let run = run_cmd(cmd, None);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(!run.stdout.contains("CANARY"), "{run:?}");
    assert!(!run.stdout.contains(&access), "{run:?}");
    let rows = json_rows(&run.stdout);
    for (check, expected) in [
        ("wiki sign-in", "ok"),
        ("wiki access token", "ok"),
        ("docs sign-in", "warn"),
        ("mismatch metadata", "fail"),
        ("down server", "fail"),
        ("down metadata", "skip"),
        ("viaenv transport", "ok"),
        ("viaenv token", "ok"),
        ("unset transport", "fail"),
        ("refused token", "fail"),
        ("header transport", "ok"),
        ("local transport", "skip"),
        ("off transport", "skip"),
    ] {
        assert_eq!(status(&rows, check), expected, "{check}: {rows:#?}");
    }
    let order: Vec<&str> = rows
        .iter()
        .filter_map(|r| r["check"].as_str()?.strip_suffix(" transport"))
        .collect();
    assert_eq!(
        order,
        [
            "wiki", "docs", "mismatch", "down", "viaenv", "unset", "refused", "header", "local",
            "off"
        ]
    );

    let mut pairs = masks(
        &env,
        &p,
        &[("wiki", &p.server.url), ("docs", &p.server.url)],
    );
    pairs.push((mismatch.url.clone(), "[MISMATCH]".to_string()));
    pairs.push((
        format!(":{}", port_of(&mismatch.url)),
        ":[MISMATCH_PORT]".to_string(),
    ));
    pairs.push((down.clone(), "[DOWN]".to_string()));
    pairs.push((format!(":{down_port}"), ":[DOWN_PORT]".to_string()));
    let mut cmd = doctor_cmd(&env, None, &[]);
    cmd.env("DOCS_MCP_TOKEN", &access)
        .env("REFUSED_MCP_TOKEN", "not-a-token-CANARY");
    let text = run_cmd(cmd, None);
    insta::assert_snapshot!("every_kind", masked(&section(&text.stdout), &pairs));
    let mut cmd = doctor_cmd(&env, None, &["--offline"]);
    cmd.env("DOCS_MCP_TOKEN", &access)
        .env("REFUSED_MCP_TOKEN", "not-a-token-CANARY");
    let offline = run_cmd(cmd, None);
    insta::assert_snapshot!(
        "every_kind_offline",
        masked(&section(&offline.stdout), &pairs)
    );
}

#[test]
fn no_mcp_servers_means_no_section() {
    let env = Env::new();
    env.write_config("");
    let run = doctor(&env, None, &["--offline"]);
    assert!(run.stdout.contains("\nSign-in prerequisites\n"), "{run:?}");
    assert!(!run.stdout.contains("MCP"), "{run:?}");
}

#[test]
fn a_server_without_registration_gets_the_client_id_advice() {
    let env = Env::new();
    let p = peers(&[("REGISTRATION", "0")], None);
    configure(&env, &p, "file", &server_table("docs", &p.server.url));
    let run = doctor(&env, None, &["--json"]);
    let rows = json_rows(&run.stdout);
    assert_eq!(status(&rows, "docs client"), "fail", "{rows:#?}");
    let pairs = masks(&env, &p, &[]);
    let text = doctor(&env, None, &[]);
    let text = regex_lite::Regex::new(r"/callback/[A-Za-z0-9_-]{12}")
        .unwrap()
        .replace_all(&section(&text.stdout), "/callback/[ID]")
        .into_owned();
    insta::assert_snapshot!("no_registration", masked(&text, &pairs));
}

#[test]
fn a_hung_keyring_does_not_hang_the_mcp_rows() {
    let env = Env::new();
    let session = Session::with_keyring();
    let p = peers(&[], None);
    // Two servers: the keyring that failed for the first is not waited for again.
    let servers = [
        server_table("docs", &p.server.url),
        server_table("wiki", &p.server.url),
    ]
    .concat();
    configure(&env, &p, "keyring", &servers);
    session.freeze();
    // The bound is a hang guard, not a figure (bench/ has those).
    let run = run_within(
        doctor_cmd(&env, Some(&session), &["--json"]),
        None,
        Stdio::piped(),
        60,
    );
    session.thaw();
    let rows = json_rows(&run.stdout);
    for check in ["docs sign-in", "wiki sign-in"] {
        let row = rows
            .iter()
            .find(|r| r["check"] == check)
            .unwrap_or_else(|| panic!("{rows:#?}"));
        // The keyring's own bound answers first, with the way out.
        assert_eq!(row["status"], "fail", "{rows:#?}");
        let found = row["found"].as_str().unwrap();
        assert!(
            found.contains("the keyring did not answer within")
                && found.contains("set mcp_oauth_credentials_store = \"file\""),
            "{row}"
        );
    }
    // The network rows did not wait for the keyring.
    assert_eq!(status(&rows, "docs server"), "ok", "{rows:#?}");
}

#[test]
fn no_secret_in_the_report_or_the_trace_log() {
    let env = Env::new();
    let p = peers(&[], None);
    let servers = [
        server_table("docs", &p.server.url),
        format!(
            "[mcp_servers.viaenv]\nurl = \"{}\"\nbearer_token_env_var = \"DOCS_MCP_TOKEN\"\n",
            p.server.url
        ),
    ]
    .concat();
    configure(&env, &p, "file", &servers);
    logged_in(&env, None, "docs");
    let entry = credentials(&env)[store_key("docs", &p.server.url)].clone();
    let access = entry["access_token"].as_str().unwrap();
    let refresh = entry["refresh_token"].as_str().unwrap();
    let mut cmd = doctor_cmd(&env, None, &[]);
    cmd.env("RUST_LOG", "trace").env("DOCS_MCP_TOKEN", access);
    let run = run_cmd(cmd, None);
    assert!(run.stdout.contains("viaenv token"), "{run:?}");
    assert!(
        run.stderr.contains("TRACE") || run.stderr.contains("DEBUG"),
        "no log at all: {}",
        run.stderr
    );
    for secret in [access, refresh] {
        let all = format!("{}{}", run.stdout, run.stderr);
        assert!(!all.contains(secret), "a secret in the output: {all}");
    }
}

#[test]
fn hostile_server_names_are_escaped() {
    let env = Env::new();
    env.write_config("[mcp_servers.\"evil\\u001b[2J\"]\ncommand = \"x\\u001b]0;t\\u0007\"\n");
    let run = doctor(&env, None, &["--offline"]);
    assert!(!run.stdout.contains('\u{1b}'), "{run:?}");
    assert!(!run.stdout.contains('\u{7}'), "{run:?}");
    insta::assert_snapshot!("hostile_names", section(&run.stdout));
}

#[test]
fn a_bearer_401_through_a_proxy_is_the_servers_not_the_proxys() {
    let env = Env::new();
    let p = peers(&[], None);
    configure(&env, &p, "file", &server_table("docs", &p.server.url));
    let proxy = common::proxy::ProxyServer::tinyproxy(env.dir.path(), 1, None);
    let mut cmd = doctor_cmd(&env, None, &["--json"]);
    cmd.env("HTTP_PROXY", format!("http://127.0.0.1:{}", proxy.port));
    let run = run_cmd(cmd, None);
    let rows = json_rows(&run.stdout);
    let row = rows.iter().find(|r| r["check"] == "docs server").unwrap();
    assert_eq!(row["status"], "ok", "{rows:#?}");
    let found = row["found"].as_str().unwrap();
    assert!(
        found.contains(&format!(
            "through the proxy http://127.0.0.1:{} (from HTTP_PROXY)",
            proxy.port
        )) && found.contains("it asks for a token and names its resource metadata"),
        "{row}"
    );
    // Discovery goes through the proxy too, several requests to one host: tinyproxy closes a
    // kept-alive client connection after a plain-HTTP request, and a client that reused it
    // failed one of them now and then (3 runs in 9), so a few runs are checked.
    for _ in 0..6 {
        let mut cmd = doctor_cmd(&env, None, &["--json"]);
        cmd.env("HTTP_PROXY", format!("http://127.0.0.1:{}", proxy.port));
        let rows = json_rows(&run_cmd(cmd, None).stdout);
        assert_eq!(status(&rows, "docs metadata"), "ok", "{rows:#?}");
    }
}

#[test]
fn nothing_is_created_when_nobody_signed_in() {
    let env = Env::new();
    let p = peers(&[], None);
    for mode in ["file", "auto"] {
        configure(&env, &p, mode, &server_table("docs", &p.server.url));
        let before: Vec<_> = std::fs::read_dir(&env.home)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        // No keyring here (no session bus): `auto` says where its tokens would go.
        let run = doctor(&env, None, &["--json"]);
        let rows = json_rows(&run.stdout);
        assert_eq!(status(&rows, "docs sign-in"), "warn", "{rows:#?}");
        let after: Vec<_> = std::fs::read_dir(&env.home)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(before, after, "{mode}");
        let store = rows.iter().find(|r| r["check"] == "token store").unwrap();
        match mode {
            "file" => assert_eq!(store["status"], "ok", "{store}"),
            _ => {
                assert_eq!(store["status"], "warn", "{store}");
                let found = store["found"].as_str().unwrap();
                assert!(
                    found.contains("so `auto` keeps MCP tokens in plain text in"),
                    "{store}"
                );
            }
        }
    }
}

#[test]
fn the_tokens_are_found_under_the_url_as_config_toml_writes_it() {
    let env = Env::new();
    let p = peers(&[], None);
    // A trailing slash is part of the store key (as the reference computes it).
    let url = format!("{}/", p.server.url);
    configure(&env, &p, "file", &server_table("docs", &url));
    logged_in(&env, None, "docs");
    assert!(credentials(&env).get(store_key("docs", &url)).is_some());
    let run = doctor(&env, None, &["--json"]);
    let rows = json_rows(&run.stdout);
    assert_eq!(status(&rows, "docs sign-in"), "ok", "{rows:#?}");
}

#[test]
fn a_silent_mcp_server_is_given_up_on_within_the_runs_bound() {
    let env = Env::new();
    let p = peers(&[], None);
    // Connections complete (the kernel accepts them), and no answer ever comes.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://127.0.0.1:{}/mcp",
        silent.local_addr().unwrap().port()
    );
    configure(&env, &p, "file", &server_table("docs", &url));
    // The bound is a hang guard, not a figure (bench/ has those).
    let run = run_within(
        doctor_cmd(&env, None, &["--json"]),
        None,
        Stdio::piped(),
        60,
    );
    let rows = json_rows(&run.stdout);
    let row = rows.iter().find(|r| r["check"] == "docs server").unwrap();
    assert_eq!(row["status"], "fail", "{rows:#?}");
    assert!(
        row["found"]
            .as_str()
            .unwrap()
            .contains("the connection is open but no answer came within"),
        "{row}"
    );
    assert_eq!(status(&rows, "docs metadata"), "skip", "{rows:#?}");
    drop(silent);
}
