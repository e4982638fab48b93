//! `codex mcp login|logout|list|token` against real peers: oidc-provider as the MCP
//! authorization server (dynamic registration, resource indicators, JWT access tokens whose
//! audience is the MCP server) and an MCP server on the official SDK that accepts only tokens
//! meant for itself. A token is proven by an MCP `initialize` + `tools/list` + tool call through
//! the SDK client, not by a status code.

mod common;

use common::keyring::Session;
use common::mcp::{self, credentials, logged_in, prove, store_key};
use common::transcript::Transcript;
use common::{Background, Env, agent_ok, field_names, http_get, mode_of};

/// The peers, stopped before their folder (with their logs) is removed.
struct Peers {
    oidc: common::Peer,
    server: common::Peer,
    _dir: tempfile::TempDir,
}

fn peers(oidc_env: &[(&str, &str)], quirk: Option<&str>) -> Peers {
    let env: Vec<(&str, &str)> = quirk.map(|q| ("QUIRK", q)).into_iter().collect();
    peers_with(oidc_env, &env)
}

/// `peers`, the MCP server with `server_env` (tests/peers/mcp/README.md).
fn peers_with(oidc_env: &[(&str, &str)], server_env: &[(&str, &str)]) -> Peers {
    let dir = tempfile::tempdir().unwrap();
    let oidc = mcp::auth_server(dir.path(), oidc_env);
    let server = mcp::server_with(dir.path(), &oidc, server_env, 0);
    Peers {
        oidc,
        server,
        _dir: dir,
    }
}

/// config.toml with the file store and server `docs` at `p`'s MCP server.
fn docs_in_file_mode(env: &Env, p: &Peers) {
    mcp::config(
        env,
        "mcp_oauth_credentials_store = \"file\"",
        &[("docs", &p.server.url)],
    );
}

fn token(env: &Env, name: &str) -> String {
    let run = env.run(&["mcp", "token", name]);
    assert_eq!(run.code, 0, "{run:?}");
    run.stdout.trim_end().to_string()
}

#[test]
fn login_in_file_mode_writes_the_reference_file_and_the_token_works() {
    let env = Env::new();
    let p = peers(&[], None);
    docs_in_file_mode(&env, &p);
    let url = logged_in(&env, None, "docs");
    assert!(url.contains("resource="), "{url}");
    assert!(url.contains("code_challenge_method=S256"), "{url}");
    assert!(url.contains("%2Fcallback%2F"), "{url}");

    let path = env.home.join(".credentials.json");
    assert_eq!(mode_of(&path), 0o600);
    let doc = credentials(&env);
    let key = store_key("docs", &p.server.url);
    assert_eq!(field_names(&doc), std::slice::from_ref(&key));
    let entry = &doc[&key];
    assert_eq!(
        field_names(entry),
        [
            "server_name",
            "server_url",
            "issuer",
            "client_id",
            "access_token",
            "expires_at",
            "refresh_token",
            "scopes"
        ]
    );
    assert_eq!(entry["server_name"], "docs");
    assert_eq!(entry["server_url"], p.server.url.as_str());
    assert_eq!(entry["issuer"], p.oidc.url.as_str());
    assert!(entry["refresh_token"].is_string(), "{entry}");
    assert!(
        entry["scopes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == "mcp:tools")
    );
    // The client registered itself as the reference does.
    let registered = p
        .oidc
        .requests()
        .into_iter()
        .any(|r| r["path"] == "/reg" && r["status"] == 201);
    assert!(registered, "{:?}", p.oidc.requests());
    // Compact JSON, as the reference writes it.
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains('\n') && !text.contains(": "), "{text}");

    let access = token(&env, "docs");
    assert_eq!(access, entry["access_token"].as_str().unwrap());
    let answer = prove(&p.server.url, &access).expect("the MCP server accepts the token");
    assert_eq!(answer["tools"], serde_json::json!(["whoami"]));
    assert_eq!(answer["whoami"]["sub"], "alice");

    let list = env.run(&["mcp", "list"]);
    assert_eq!(list.code, 0, "{list:?}");
    assert!(list.stdout.contains("OAuth (expires in"), "{list:?}");
    // Nothing else in CODEX_HOME was touched.
    assert!(!env.auth_path().exists());
}

/// `secret-tool lookup` of the reference's MCP entry `key`.
fn keyring_entry(session: &Session, key: &str) -> common::Run {
    let query = [
        "lookup",
        "service",
        "Codex MCP Credentials",
        "username",
        key,
    ];
    session.secret_tool(&query, None)
}

/// Peers, and a sign-in to their server `docs` in keyring mode on `session`.
fn signed_in_to_the_keyring(env: &Env, session: &Session) -> Peers {
    let p = peers(&[], None);
    mcp::config(
        env,
        "mcp_oauth_credentials_store = \"keyring\"",
        &[("docs", &p.server.url)],
    );
    logged_in(env, Some(session), "docs");
    p
}

#[test]
fn login_in_keyring_mode_writes_the_reference_entry() {
    let env = Env::new();
    let session = Session::with_keyring();
    let p = signed_in_to_the_keyring(&env, &session);
    assert!(!env.home.join(".credentials.json").exists());
    let key = store_key("docs", &p.server.url);
    let lookup = keyring_entry(&session, &key);
    assert_eq!(lookup.code, 0, "{lookup:?}");
    let value: serde_json::Value = serde_json::from_str(&lookup.stdout).unwrap();
    assert_eq!(
        field_names(&value),
        [
            "server_name",
            "url",
            "issuer",
            "client_id",
            "token_response",
            "expires_at"
        ]
    );
    assert_eq!(value["url"], p.server.url.as_str());
    let access = value["token_response"]["access_token"].as_str().unwrap();
    let printed = session.run(&env, &["mcp", "token", "docs"]);
    assert_eq!(printed.stdout.trim_end(), access, "{printed:?}");
    prove(&p.server.url, access).expect("the MCP server accepts the token");
    let list = session.run(&env, &["mcp", "list", "--json"]);
    let servers: serde_json::Value = serde_json::from_str(&list.stdout).unwrap();
    assert_eq!(servers[0]["auth"]["status"], "oauth", "{list:?}");
    assert_eq!(servers[0]["auth"]["store"], "keyring", "{list:?}");
}

#[test]
fn token_refreshes_when_due_and_a_stale_refresh_token_asks_for_a_new_sign_in() {
    let env = Env::new();
    // Access tokens live 20 s: within the 30 s margin at once.
    let p = peers(&[("ACCESS_TTL", "20")], None);
    docs_in_file_mode(&env, &p);
    logged_in(&env, None, "docs");
    let key = store_key("docs", &p.server.url);
    let before = credentials(&env)[&key].clone();

    let fresh = token(&env, "docs");
    assert_ne!(fresh, before["access_token"].as_str().unwrap());
    let after = credentials(&env)[&key].clone();
    assert_eq!(after["access_token"].as_str(), Some(fresh.as_str()));
    assert_ne!(after["refresh_token"], before["refresh_token"], "rotated");
    let refresh = p
        .oidc
        .requests()
        .into_iter()
        .find(|r| r["grant_type"] == "refresh_token")
        .expect("a refresh request");
    assert_eq!(refresh["body"]["resource"], p.server.url.as_str());
    let answer = prove(&p.server.url, &fresh).expect("the refreshed token works");
    assert_eq!(answer["whoami"]["sub"], "alice");

    // Put the spent refresh token back: the issuer revokes the grant, and we say what to do.
    let mut doc = credentials(&env);
    doc[&key] = before;
    std::fs::write(env.home.join(".credentials.json"), doc.to_string()).unwrap();
    let run = env.run(&["mcp", "token", "docs"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.is_empty(), "{run:?}");
    assert!(run.stderr.contains("codex mcp login docs"), "{run:?}");
}

#[test]
fn two_servers_side_by_side_never_touch_each_other_and_logout_revokes() {
    let env = Env::new();
    let p = peers(&[], None);
    let (oidc, docs) = (&p.oidc, &p.server);
    let wiki = mcp::server(p._dir.path(), oidc, None);
    mcp::config(
        &env,
        "mcp_oauth_credentials_store = \"file\"",
        &[("docs", &docs.url), ("wiki", &wiki.url)],
    );
    // The ChatGPT credentials sit beside the MCP tokens; no MCP command touches them.
    env.write_auth(&common::api_key_json("sk-proj-untouched-00000"));
    let chatgpt = env.read_auth();
    logged_in(&env, None, "docs");
    let docs_entry = credentials(&env)[&store_key("docs", &docs.url)].clone();
    logged_in(&env, None, "wiki");
    assert_eq!(credentials(&env)[&store_key("docs", &docs.url)], docs_entry);
    let docs_token = token(&env, "docs");
    let wiki_token = token(&env, "wiki");
    // Each token is for its own server only.
    prove(&docs.url, &docs_token).expect("docs accepts its token");
    let refused = prove(&wiki.url, &docs_token).expect_err("wiki refuses the token of docs");
    assert!(refused.contains("invalid_token"), "{refused}");

    let run = env.run(&["mcp", "logout", "docs"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stderr, "Removed OAuth credentials for 'docs'.\n");
    let revoked = oidc
        .requests()
        .into_iter()
        .any(|r| r["endpoint"] == "revocation" && r["body"]["token_type_hint"] == "refresh_token");
    assert!(revoked, "{:?}", oidc.requests());
    let doc = credentials(&env);
    assert_eq!(field_names(&doc), [store_key("wiki", &wiki.url)]);
    assert_eq!(token(&env, "wiki"), wiki_token);

    let again = env.run(&["mcp", "logout", "docs"]);
    assert_eq!(again.stderr, "No OAuth credentials stored for 'docs'.\n");
    // One revocation, of docs' refresh token; the wiki's grant is left alone.
    let revoked: Vec<serde_json::Value> = oidc
        .requests()
        .into_iter()
        .filter(|r| r["endpoint"] == "revocation")
        .collect();
    assert_eq!(revoked.len(), 1, "{revoked:?}");
    assert_eq!(env.read_auth(), chatgpt);
}

#[test]
fn metadata_naming_another_issuer_is_refused() {
    let env = Env::new();
    let p = peers(&[], Some("issuer-mismatch"));
    mcp::config(&env, "", &[("docs", &p.server.url)]);
    let run = env.run(&["mcp", "login", "docs", "--no-browser", "--timeout", "5"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("names issuer"), "{run:?}");
    assert!(!env.home.join(".credentials.json").exists());
}

#[test]
fn a_redirect_off_the_origin_is_not_followed() {
    let env = Env::new();
    let p = peers(&[], Some("redirect-off-origin"));
    mcp::config(&env, "", &[("docs", &p.server.url)]);
    let run = env.run(&["mcp", "login", "docs", "--no-browser", "--timeout", "5"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains("redirects to another origin"),
        "{run:?}"
    );
    let followed = p.oidc.requests().into_iter().any(|r| {
        r["path"]
            .as_str()
            .is_some_and(|p| p.contains("oauth-protected-resource"))
    });
    assert!(!followed, "the redirect was followed");
}

#[test]
fn texts_of_mcp_commands() {
    let env = Env::new();
    env.write_config(
        "mcp_oauth_credentials_store = \"file\"\n\n\
         [mcp_servers.local]\ncommand = \"npx\"\n\n\
         [mcp_servers.keyed]\nurl = \"https://mcp.example.com/mcp\"\nbearer_token_env_var = \"MCP_TOKEN\"\n\n\
         [mcp_servers.remote]\nurl = \"https://mcp.example.com/mcp\"\n",
    );
    let mut t = Transcript::of(&env);
    t.run(&env, &["mcp", "list"]);
    t.run(&env, &["mcp", "list", "--json"]);
    t.run(&env, &["mcp", "login", "local"]);
    t.run(&env, &["mcp", "login", "keyed"]);
    t.run(&env, &["mcp", "login", "nope"]);
    t.run(&env, &["mcp", "token", "remote"]);
    t.run(&env, &["mcp", "logout", "remote"]);
    let keyring = "mcp_oauth_credentials_store=\"keyring\"";
    t.run(&env, &["-c", keyring, "mcp", "token", "remote"]);
    env.write_config("mcp_oauth_callback_port = 0\n");
    t.run(&env, &["mcp", "list"]);
    env.write_config("");
    t.run(&env, &["mcp", "list"]);
    insta::assert_snapshot!(t.finish());
}

/// Starts `codex mcp login docs --no-browser --json`; returns it and the authorize URL.
fn start_login(env: &Env) -> (Background, String) {
    let login = Background::spawn(env.cmd(&["mcp", "login", "docs", "--no-browser", "--json"]));
    let event = login.next_event();
    assert_eq!(event["event"], "authorize_url", "{event}");
    (login, event["url"].as_str().unwrap().to_string())
}

/// The callback URL the authorization server sends the browser to, not followed.
fn callback_url(authorize: &str) -> String {
    let out = agent_ok(&["authorize", authorize, "--print-callback"]);
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn with_param(url: &str, name: &str, value: &str) -> String {
    let re = regex_lite::Regex::new(&format!(r"([?&]{name}=)[^&]*")).unwrap();
    assert!(re.is_match(url), "no {name} in {url}");
    re.replace(url, format!("${{1}}{value}")).into_owned()
}

#[test]
fn a_callback_with_another_state_is_refused_and_the_sign_in_goes_on() {
    let env = Env::new();
    let p = peers(&[], None);
    docs_in_file_mode(&env, &p);
    let (login, url) = start_login(&env);
    let callback = callback_url(&url);
    assert!(callback.contains("/callback/"), "{callback}");
    let (status, _, body) = http_get(&with_param(&callback, "state", "forged"));
    assert_eq!(status, 400);
    assert!(body.contains("Invalid OAuth callback"), "{body}");
    let (status, _, body) = http_get(&callback);
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("Authentication complete. You may close this window."),
        "{body}"
    );
    let run = login.finish(30);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(env.home.join(".credentials.json").exists());
}

#[test]
fn a_callback_naming_another_issuer_is_refused() {
    let env = Env::new();
    let p = peers(&[], None);
    docs_in_file_mode(&env, &p);
    let (login, url) = start_login(&env);
    let callback = callback_url(&url);
    let forged = with_param(&callback, "iss", "https%3A%2F%2Fevil.example");
    let (status, _, body) = http_get(&forged);
    assert_eq!(status, 400);
    assert!(body.contains("Invalid OAuth callback"), "{body}");
    let run = login.finish(30);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("https://evil.example"), "{run:?}");
    assert!(!env.home.join(".credentials.json").exists());
    let exchanged = p
        .oidc
        .requests()
        .into_iter()
        .any(|r| r["endpoint"] == "token");
    assert!(!exchanged, "the code was exchanged");
}

#[test]
fn parallel_token_commands_refresh_one_at_a_time() {
    let env = Env::new();
    // Every token is due at once (20 s < the 30 s margin), and refresh tokens rotate: a refresh
    // token spent twice revokes the whole grant.
    let p = peers(&[("ACCESS_TTL", "20")], None);
    docs_in_file_mode(&env, &p);
    logged_in(&env, None, "docs");
    let runs: Vec<std::process::Child> = (0..4)
        .map(|_| {
            env.cmd(&["mcp", "token", "docs"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in runs {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let refreshes: Vec<serde_json::Value> = p
        .oidc
        .requests()
        .into_iter()
        .filter(|r| r["grant_type"] == "refresh_token")
        .collect();
    assert_eq!(refreshes.len(), 4);
    assert!(
        refreshes.iter().all(|r| r["status"] == 200),
        "{refreshes:?}"
    );
    prove(&p.server.url, &token(&env, "docs")).expect("the last token works");
}

#[test]
fn no_secret_in_the_trace_log() {
    let env = Env::new();
    let p = peers(&[("ACCESS_TTL", "20")], None);
    docs_in_file_mode(&env, &p);
    let mut cmd = env.cmd(&["mcp", "login", "docs", "--no-browser", "--json"]);
    cmd.env("RUST_LOG", "trace");
    let login = Background::spawn(cmd);
    let url = login.next_event()["url"].as_str().unwrap().to_string();
    let callback = callback_url(&url);
    let code = regex_lite::Regex::new(r"[?&]code=([^&]+)")
        .unwrap()
        .captures(&callback)
        .unwrap()[1]
        .to_string();
    let (status, _, _) = http_get(&callback);
    assert_eq!(status, 200);
    let run = login.finish(30);
    assert_eq!(run.code, 0, "{run:?}");
    let key = store_key("docs", &p.server.url);
    let first = credentials(&env)[&key].clone();
    let mut refresh = env.cmd(&["mcp", "token", "docs"]);
    refresh.env("RUST_LOG", "trace");
    let refreshed = common::run_cmd(refresh, None);
    assert_eq!(refreshed.code, 0, "{refreshed:?}");
    let second = credentials(&env)[&key].clone();
    let logs = format!("{}{}", run.stderr, refreshed.stderr);
    assert!(
        logs.contains("TRACE") || logs.contains("DEBUG"),
        "no log at all: {logs}"
    );
    for secret in [
        code.as_str(),
        first["access_token"].as_str().unwrap(),
        first["refresh_token"].as_str().unwrap(),
        second["access_token"].as_str().unwrap(),
        second["refresh_token"].as_str().unwrap(),
    ] {
        assert!(!logs.contains(secret), "a secret in the log: {logs}");
    }
}

#[test]
fn texts_of_an_mcp_sign_in_and_its_failures() {
    let env = Env::new();
    let p = peers(&[], None);
    docs_in_file_mode(&env, &p);
    let mut t = Transcript::of(&env);
    t.redact(p.oidc.url.clone(), "[ISSUER]");
    t.redact(p.server.url.clone(), "[MCP]");

    let login = Background::spawn(env.cmd(&["mcp", "login", "docs", "--no-browser"]));
    let shown = login.wait_stderr("&resource=");
    let url = shown
        .lines()
        .find(|l| l.starts_with("http"))
        .unwrap()
        .to_string();
    agent_ok(&["authorize", &url]);
    let run = login.finish(30);
    let key = store_key("docs", &p.server.url);
    let client_id = credentials(&env)[&key]["client_id"]
        .as_str()
        .unwrap()
        .to_string();
    t.redact(client_id, "[CLIENT]");
    t.push(&["mcp", "login", "docs", "--no-browser"], &run);
    let list = t.run(&env, &["mcp", "list"]);
    assert_eq!(list.code, 0);
    t.run(&env, &["mcp", "logout", "docs"]);
    t.run(
        &env,
        &["mcp", "login", "docs", "--no-browser", "--timeout", "1"],
    );

    for (quirk, oidc_env) in [
        ("issuer-mismatch", &[][..]),
        ("redirect-off-origin", &[][..]),
        ("bad-metadata", &[][..]),
        ("", &[("REGISTRATION", "0")][..]),
    ] {
        let q = peers(oidc_env, (!quirk.is_empty()).then_some(quirk));
        t.redact(q.oidc.url.clone(), "[ISSUER]");
        t.redact(q.server.url.clone(), "[MCP]");
        mcp::config(
            &env,
            "mcp_oauth_credentials_store = \"file\"",
            &[("docs", &q.server.url)],
        );
        t.note(&format!("# QUIRK={quirk} {oidc_env:?}"));
        let run = t.run(
            &env,
            &["mcp", "login", "docs", "--no-browser", "--timeout", "5"],
        );
        assert_eq!(run.code, 1, "{run:?}");
    }
    insta::assert_snapshot!(redacted(t.finish()));
}

#[test]
fn the_configured_callback_url_is_the_redirect_uri_exactly() {
    let env = Env::new();
    let p = peers(&[], None);
    let port = common::free_port();
    let redirect = format!("http://127.0.0.1:{port}/custom/cb");
    mcp::config(
        &env,
        &format!("mcp_oauth_credentials_store = \"file\"\nmcp_oauth_callback_url = \"{redirect}\""),
        &[("docs", &p.server.url)],
    );
    let (login, url) = start_login(&env);
    let expected: String = url::form_urlencoded::byte_serialize(redirect.as_bytes()).collect();
    assert!(url.contains(&format!("redirect_uri={expected}&")), "{url}");
    agent_ok(&["authorize", &url]);
    let run = login.finish(30);
    assert_eq!(run.code, 0, "{run:?}");
    let token = token(&env, "docs");
    prove(&p.server.url, &token).expect("the token works");
}

#[test]
fn add_and_remove_keep_the_rest_of_config_toml() {
    let env = Env::new();
    let original = "# my settings\nmodel = \"o3\" # the model\n\n\
                    [mcp_servers.docs] # docs server\nurl = \"https://docs.example.com/mcp\"\n\n\
                    [mcp_servers.docs.oauth]\nclient_id = \"abc\"\n\n\
                    # the wiki, kept\n[mcp_servers.wiki]\ncommand = \"wiki-mcp\"\n";
    env.write_config(original);
    let config = env.home.join("config.toml");
    common::set_mode(&config, 0o640);
    let mut t = Transcript::of(&env);
    t.run(
        &env,
        &[
            "mcp",
            "add",
            "tracker",
            "--url",
            "https://tracker.example.com/mcp",
        ],
    );
    let added = std::fs::read_to_string(&config).unwrap();
    assert_eq!(
        added,
        format!("{original}\n[mcp_servers.tracker]\nurl = \"https://tracker.example.com/mcp\"\n")
    );
    assert_eq!(mode_of(&config), 0o640);
    t.run(&env, &["mcp", "remove", "docs"]);
    let removed = std::fs::read_to_string(&config).unwrap();
    assert_eq!(
        removed,
        "# my settings\nmodel = \"o3\" # the model\n\n\
         # the wiki, kept\n[mcp_servers.wiki]\ncommand = \"wiki-mcp\"\n\n\
         [mcp_servers.tracker]\nurl = \"https://tracker.example.com/mcp\"\n"
    );
    t.run(
        &env,
        &[
            "mcp",
            "add",
            "wiki",
            "--url",
            "https://wiki.example.com/mcp",
        ],
    );
    t.run(
        &env,
        &[
            "mcp",
            "add",
            "bad name",
            "--url",
            "https://x.example.com/mcp",
        ],
    );
    t.run(&env, &["mcp", "add", "x", "--url", "ftp://x.example.com"]);
    t.run(&env, &["mcp", "remove", "nope"]);
    // A server written as an inline table cannot be spliced: nothing is written.
    let inline = "mcp_servers.inline = { url = \"https://i.example.com/mcp\" }\n";
    env.write_config(inline);
    t.run(&env, &["mcp", "remove", "inline"]);
    assert_eq!(std::fs::read_to_string(&config).unwrap(), inline);
    env.write_config("model = \n");
    t.run(
        &env,
        &["mcp", "add", "x", "--url", "https://x.example.com/mcp"],
    );
    insta::assert_snapshot!(t.finish());
}

#[test]
fn mcp_help_pages() {
    let mut t = Transcript::new();
    for args in [
        &["mcp", "--help"][..],
        &["mcp", "login", "--help"],
        &["mcp", "token", "--help"],
        &["mcp", "logout", "--help"],
        &["mcp", "list", "--help"],
        &["mcp", "add", "--help"],
        &["mcp", "remove", "--help"],
        &["mcp", "login"],
    ] {
        let mut cmd = common::bare_cmd(args);
        cmd.env("COLUMNS", "100");
        let run = common::run_cmd(cmd, None);
        t.push(args, &run);
    }
    insta::assert_snapshot!(t.finish());
}

#[test]
fn auto_mode_without_a_keyring_uses_the_file_and_says_so_once() {
    let env = Env::new();
    let p = peers(&[], None);
    mcp::config(&env, "", &[("docs", &p.server.url)]);
    let (run, _) = mcp::login(&env, None, "docs");
    assert_eq!(run.code, 0, "{run:?}");
    // With --json the warning is an event on stdout.
    let said = format!("{}{}", run.stdout, run.stderr);
    assert_eq!(
        said.matches("so MCP credentials are stored in plain text")
            .count(),
        1,
        "{run:?}"
    );
    assert!(env.home.join(".credentials.json").exists());
    prove(&p.server.url, &token(&env, "docs")).expect("the token works");
}

#[test]
fn a_credentials_file_that_does_not_parse_is_never_overwritten() {
    let env = Env::new();
    let p = peers(&[], None);
    docs_in_file_mode(&env, &p);
    let path = env.home.join(".credentials.json");
    let broken = "{\"other|0123456789abcdef\": {\"access_token\": \"keep-me\"},";
    std::fs::write(&path, broken).unwrap();
    common::set_mode(&path, 0o600);
    let (run, _) = mcp::login(&env, None, "docs");
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains(".credentials.json` (line 1, column"),
        "{run:?}"
    );
    assert!(!run.stderr.contains("keep-me"), "{run:?}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), broken);
    let logout = env.run(&["mcp", "logout", "docs"]);
    assert_eq!(logout.code, 1, "{logout:?}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), broken);
}

/// Plays the user of a `--device-auth --json` sign-in whose next event is the device code;
/// the sign-in must succeed.
fn enter_the_device_code(login: Background) {
    let event = login.next_event();
    assert_eq!(event["event"], "device_code", "{event}");
    agent_ok(&[
        "device",
        event["verification_uri"].as_str().unwrap(),
        event["user_code"].as_str().unwrap(),
    ]);
    let run = login.finish(60);
    assert_eq!(run.code, 0, "{run:?}");
}

#[test]
fn device_sign_in_gets_a_token_for_the_server() {
    let env = Env::new();
    let p = peers(&[], None);
    docs_in_file_mode(&env, &p);
    let login = Background::spawn(env.cmd(&["mcp", "login", "docs", "--device-auth", "--json"]));
    enter_the_device_code(login);
    let device_token = p
        .oidc
        .requests()
        .into_iter()
        .find(|r| r["endpoint"] == "device_authorization")
        .expect("a device authorization request");
    assert_eq!(device_token["body"]["resource"], p.server.url.as_str());
    let answer = prove(&p.server.url, &token(&env, "docs")).expect("the token works");
    assert_eq!(answer["whoami"]["sub"], "alice");
}

#[test]
fn texts_of_an_mcp_device_sign_in() {
    let env = Env::new();
    let p = peers(&[], None);
    docs_in_file_mode(&env, &p);
    let mut t = Transcript::of(&env);
    t.redact(p.oidc.url.clone(), "[ISSUER]");
    let login = Background::spawn(env.cmd(&["mcp", "login", "docs", "--device-auth"]));
    let shown = login.wait_stderr("Never share this code");
    let lines: Vec<&str> = shown.lines().map(str::trim).collect();
    let after = |heading: &str| {
        let at = lines.iter().position(|l| l.starts_with(heading)).unwrap();
        lines[at + 1].to_string()
    };
    let (uri, code) = (
        after("1. Open this link"),
        after("2. Enter this one-time code"),
    );
    agent_ok(&["device", &uri, &code]);
    let run = login.finish(60);
    t.redact(code, "[CODE]");
    t.push(&["mcp", "login", "docs", "--device-auth"], &run);

    let q = peers(&[("DEVICE_FLOW", "0")], None);
    t.redact(q.oidc.url.clone(), "[ISSUER]");
    mcp::config(&env, "", &[("docs", &q.server.url)]);
    t.run(&env, &["mcp", "login", "docs", "--device-auth"]);
    insta::assert_snapshot!(t.finish());
}

/// An MCP server that advertises `mcp:tools mcp:admin`, before an authorization server that
/// lets registered clients ask only for `openid offline_access mcp:tools` and gives a request
/// without scopes `mcp:tools` (RFC 6749 section 3.3's default).
fn scope_refusing_peers() -> Peers {
    peers_with(
        &[
            ("CLIENT_SCOPE", "openid offline_access mcp:tools"),
            ("DEFAULT_SCOPE", "mcp:tools"),
        ],
        &[("SCOPES", "mcp:tools mcp:admin")],
    )
}

#[test]
fn refused_advertised_scopes_are_asked_again_without_scopes() {
    let env = Env::new();
    let p = scope_refusing_peers();
    docs_in_file_mode(&env, &p);
    let (login, url) = start_login(&env);
    assert!(url.contains("scope=mcp%3Atools+mcp%3Aadmin"), "{url}");
    let callback = callback_url(&url);
    assert!(callback.contains("error=invalid_scope"), "{callback}");
    // The browser is sent straight on to the request without scopes.
    let (status, location, _) = http_get(&callback);
    assert_eq!(status, 303);
    let again = location.expect("a Location");
    assert!(!again.contains("scope="), "{again}");
    let note = login.next_event();
    assert_eq!(note["event"], "note", "{note}");
    assert!(
        note["message"].as_str().unwrap().contains(
            "refused the scopes advertised for 'docs' (mcp:tools mcp:admin offline_access)"
        ),
        "{note}"
    );
    let shown = login.next_event();
    assert_eq!(shown["event"], "authorize_url", "{shown}");
    assert_eq!(shown["url"].as_str(), Some(again.as_str()));
    agent_ok(&["authorize", &again]);
    let run = login.finish(30);
    assert_eq!(run.code, 0, "{run:?}");
    let entry = &credentials(&env)[&store_key("docs", &p.server.url)];
    // What the server granted by default.
    assert_eq!(entry["scopes"], serde_json::json!(["mcp:tools"]), "{entry}");
    let answer = prove(&p.server.url, &token(&env, "docs")).expect("the token works");
    assert_eq!(answer["whoami"]["sub"], "alice");
}

#[test]
fn device_sign_in_asks_again_without_refused_advertised_scopes() {
    let env = Env::new();
    let p = scope_refusing_peers();
    docs_in_file_mode(&env, &p);
    let login = Background::spawn(env.cmd(&["mcp", "login", "docs", "--device-auth", "--json"]));
    let note = login.next_event();
    assert_eq!(note["event"], "note", "{note}");
    enter_the_device_code(login);
    let asked: Vec<serde_json::Value> = p
        .oidc
        .requests()
        .into_iter()
        .filter(|r| r["endpoint"] == "device_authorization")
        .collect();
    assert_eq!(asked.len(), 2, "{asked:?}");
    assert_eq!(asked[0]["status"], 400);
    assert_eq!(
        asked[0]["body"]["scope"],
        "mcp:tools mcp:admin offline_access"
    );
    assert_eq!(asked[1]["status"], 200);
    assert!(asked[1]["body"].get("scope").is_none(), "{asked:?}");
    prove(&p.server.url, &token(&env, "docs")).expect("the token works");
}

/// `codex mcp login docs --no-browser` + `extra`, the test playing the user at each authorize
/// URL it shows (`urls` of them); returns the run.
fn login_by_hand(env: &Env, extra: &[&str], urls: usize) -> common::Run {
    let mut args = vec!["mcp", "login", "docs", "--no-browser", "--timeout", "30"];
    args.extend_from_slice(extra);
    let login = Background::spawn(env.cmd(&args));
    for n in 1..=urls {
        wait_for_lines(&login, "&resource=", n);
        let shown = login.stderr();
        let url = shown
            .lines()
            .filter(|l| l.starts_with("http"))
            .nth(n - 1)
            .unwrap()
            .to_string();
        agent_ok(&["authorize", &url]);
    }
    login.finish(30)
}

/// Waits until stderr holds `needle` `count` times.
fn wait_for_lines(login: &Background, needle: &str, count: usize) {
    for _ in 0..1500 {
        if login.stderr().matches(needle).count() >= count {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("not {count} times {needle}: {}", login.stderr());
}

#[test]
fn texts_of_refused_scopes() {
    let env = Env::new();
    let p = scope_refusing_peers();
    docs_in_file_mode(&env, &p);
    let mut t = Transcript::of(&env);
    t.redact(p.oidc.url.clone(), "[ISSUER]");
    t.redact(p.server.url.clone(), "[MCP]");

    let run = login_by_hand(&env, &[], 2);
    assert_eq!(run.code, 0, "{run:?}");
    t.push(&["mcp", "login", "docs", "--no-browser"], &run);
    t.run(&env, &["mcp", "logout", "docs"]);

    let run = login_by_hand(&env, &["--scopes", "mcp:tools,mcp:admin"], 1);
    assert_eq!(run.code, 1, "{run:?}");
    t.push(
        &[
            "mcp",
            "login",
            "docs",
            "--no-browser",
            "--scopes",
            "mcp:tools,mcp:admin",
        ],
        &run,
    );

    mcp::config(
        &env,
        "mcp_oauth_credentials_store = \"file\"",
        &[("docs", &p.server.url)],
    );
    let path = env.home.join("config.toml");
    let config = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, format!("{config}scopes = [\"mcp:admin\"]\n")).unwrap();
    let run = login_by_hand(&env, &[], 1);
    assert_eq!(run.code, 1, "{run:?}");
    t.note("# scopes = [\"mcp:admin\"] in [mcp_servers.docs]");
    t.push(&["mcp", "login", "docs", "--no-browser"], &run);
    assert!(field_names(&credentials(&env)).is_empty());
    insta::assert_snapshot!(redacted(t.finish()));
}

/// A transcript with what changes from run to run replaced.
fn redacted(mut text: String) -> String {
    for (pattern, with) in [
        (r"callback(/|%2F)[A-Za-z0-9_-]{12}", "callback$1[ID]"),
        (r"client_id=[A-Za-z0-9_-]+", "client_id=[CLIENT]"),
        (r"expires in \d+ (s|min)", "expires in [SPAN]"),
    ] {
        text = regex_lite::Regex::new(pattern)
            .unwrap()
            .replace_all(&text, with)
            .into_owned();
    }
    text
}

#[test]
fn a_server_that_names_another_authorization_server_forces_a_new_login() {
    let env = Env::new();
    let dir = tempfile::tempdir().unwrap();
    // Tokens due at once (20 s < the 30 s margin).
    let old = mcp::auth_server(dir.path(), &[("ACCESS_TTL", "20")]);
    let server = mcp::server(dir.path(), &old, None);
    let url = server.url.clone();
    mcp::config(
        &env,
        "mcp_oauth_credentials_store = \"file\"",
        &[("docs", &url)],
    );
    logged_in(&env, None, "docs");
    let stored = std::fs::read_to_string(env.home.join(".credentials.json")).unwrap();
    let mut t = Transcript::of(&env);
    t.redact(old.url.clone(), "[OLD ISSUER]");
    t.redact(url.clone(), "[MCP]");

    // The same server, restarted on its port, now trusts another authorization server.
    let port = url::Url::parse(&url).unwrap().port().unwrap();
    drop(server);
    let new = mcp::auth_server(dir.path(), &[]);
    let _moved = mcp::server_with(dir.path(), &new, &[], port);
    t.redact(new.url.clone(), "[NEW ISSUER]");
    let run = t.run(&env, &["mcp", "token", "docs"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.is_empty(), "{run:?}");
    assert!(
        run.stderr.contains(&new.url) && run.stderr.contains(&old.url),
        "{run:?}"
    );
    assert!(run.stderr.contains("codex mcp login docs"), "{run:?}");
    // The refresh token went nowhere: not to the new issuer, nor (needlessly) to the old.
    for issuer in [&old, &new] {
        let sent = issuer
            .requests()
            .into_iter()
            .any(|r| r["grant_type"] == "refresh_token");
        assert!(!sent, "{:?}", issuer.requests());
    }
    assert_eq!(
        std::fs::read_to_string(env.home.join(".credentials.json")).unwrap(),
        stored
    );

    // Tokens stored without their issuer cannot be refreshed anywhere.
    let key = store_key("docs", &url);
    let mut doc = credentials(&env);
    doc[&key].as_object_mut().unwrap().remove("issuer");
    std::fs::write(env.home.join(".credentials.json"), doc.to_string()).unwrap();
    let run = t.run(&env, &["mcp", "token", "docs"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        !new.requests()
            .into_iter()
            .any(|r| r["grant_type"] == "refresh_token"),
        "{:?}",
        new.requests()
    );
    insta::assert_snapshot!(t.finish());
}

/// The ways an answer comes out malformed (the peers' `MALFORMED` and `resource-metadata:`
/// quirks): not JSON (a proxy's error page), a field of the wrong type, a required field
/// missing, more than the 1 MiB any answer is read to.
const MALFORMED: [&str; 4] = ["not-json", "wrong-types", "missing", "oversized"];

/// What a failed sign-in must leave as it was: another server's tokens and the ChatGPT
/// credentials.
fn other_credentials(env: &Env) -> (String, String) {
    let entry = r#"{"wiki|0123456789abcdef":{"server_name":"wiki","server_url":"http://127.0.0.1:9/mcp","issuer":"http://127.0.0.1:9","client_id":"wiki-client","access_token":"wiki-access","expires_at":4102444800000,"refresh_token":"wiki-refresh","scopes":[]}}"#;
    let path = env.home.join(".credentials.json");
    std::fs::write(&path, entry).unwrap();
    common::set_mode(&path, 0o600);
    env.write_auth(&common::api_key_json("sk-proj-untouched-00000"));
    (entry.to_string(), env.read_auth())
}

/// Signs in to `docs` at peers with one malformed answer (`what` names it in the transcript);
/// the sign-in must fail naming `path`, and leave every store as it was.
fn malformed(env: &Env, t: &mut Transcript, what: &str, p: &Peers, path: &str, browser: bool) {
    t.redact(p.oidc.url.clone(), "[ISSUER]");
    t.redact(p.server.url.clone(), "[MCP]");
    let origin = p.server.url.trim_end_matches("/mcp").to_string();
    t.redact(origin, "[MCP ORIGIN]");
    mcp::config(
        env,
        "mcp_oauth_credentials_store = \"file\"",
        &[("docs", &p.server.url)],
    );
    let before = other_credentials(env);
    t.note(&format!("# {what}"));
    let run = match browser {
        true => {
            let run = login_by_hand(env, &[], 1);
            t.push(&["mcp", "login", "docs", "--no-browser"], &run);
            run
        }
        false => t.run(env, &["mcp", "login", "docs", "--no-browser"]),
    };
    assert_eq!(run.code, 1, "{what}: {run:?}");
    assert!(
        run.stderr.contains(path),
        "{what} does not name {path}: {run:?}"
    );
    assert!(!run.stderr.contains("panicked"), "{run:?}");
    let after = (
        std::fs::read_to_string(env.home.join(".credentials.json")).unwrap(),
        env.read_auth(),
    );
    assert_eq!(after, before, "{what} touched the stores");
}

#[test]
fn malformed_metadata_is_a_clear_error_that_touches_nothing() {
    let env = Env::new();
    let mut t = Transcript::of(&env);
    for kind in MALFORMED {
        let quirk = format!("resource-metadata:{kind}");
        let p = peers(&[], Some(&quirk));
        let what = format!("protected-resource metadata: {kind}");
        let path = "/.well-known/oauth-protected-resource/mcp";
        malformed(&env, &mut t, &what, &p, path, false);
    }
    for kind in MALFORMED {
        let p = peers(&[("MALFORMED", &format!("metadata:{kind}"))], None);
        let what = format!("authorization-server metadata: {kind}");
        let path = "/.well-known/oauth-authorization-server";
        malformed(&env, &mut t, &what, &p, path, false);
    }
    insta::assert_snapshot!(redacted(t.finish()));
}

#[test]
fn malformed_registration_and_token_answers_are_clear_errors_that_touch_nothing() {
    let env = Env::new();
    let mut t = Transcript::of(&env);
    for kind in MALFORMED {
        let p = peers(&[("MALFORMED", &format!("registration:{kind}"))], None);
        let what = format!("registration response: {kind}");
        malformed(&env, &mut t, &what, &p, "/reg", false);
    }
    for kind in MALFORMED {
        let p = peers(&[("MALFORMED", &format!("token:{kind}"))], None);
        let what = format!("token response: {kind}");
        malformed(&env, &mut t, &what, &p, "/token", true);
    }
    insta::assert_snapshot!(redacted(t.finish()));
}

/// `codex mcp ARGS` on `session`, which must end within 60 s whatever the keyring does.
fn bounded(session: &Session, env: &Env, args: &[&str]) -> common::Run {
    Background::spawn(session.codex(env, args)).finish(60)
}

#[test]
fn a_hung_or_locked_keyring_never_hangs_mcp_commands() {
    let env = Env::new();
    let session = Session::with_keyring();
    let p = signed_in_to_the_keyring(&env, &session);
    let mut t = Transcript::of(&env);
    t.redact(p.server.url.clone(), "[MCP]");
    let key = store_key("docs", &p.server.url);
    t.redact(key, "[KEY]");

    // A Secret Service that stopped answering: every command gives up on it, with one line.
    session.freeze();
    // `logout` cannot tell whether the keyring holds tokens: it says so, and fails.
    for args in [
        &["mcp", "token", "docs"][..],
        &["mcp", "list"],
        &["mcp", "logout", "docs"],
    ] {
        let run = bounded(&session, &env, args);
        let said = format!("{}{}", run.stdout, run.stderr);
        assert!(said.contains("did not answer within"), "{run:?}");
        t.push(args, &run);
    }
    // A sign-in gets as far as the save, which is given up on too; nothing is lost.
    let login =
        Background::spawn(session.codex(&env, &["mcp", "login", "docs", "--no-browser", "--json"]));
    let event = login.next_event();
    agent_ok(&["authorize", event["url"].as_str().unwrap()]);
    let run = login.finish(60);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("did not answer within"), "{run:?}");
    assert!(!env.home.join(".credentials.json").exists());
    session.thaw();
    let lookup = keyring_entry(&session, &store_key("docs", &p.server.url));
    assert_eq!(lookup.code, 0, "the tokens are still there: {lookup:?}");

    // A locked keyring: a clear error, never an unlock prompt that waits.
    session.lock();
    let run = bounded(&session, &env, &["mcp", "token", "docs"]);
    assert_eq!(run.code, 1, "{run:?}");
    t.push(&["mcp", "token", "docs"], &run);
    insta::assert_snapshot!(t.finish());
}
