//! Every text a person sees from the built binary, pinned by a snapshot (tests/snapshots/), so a
//! change of wording is a reviewable diff: help pages, what each sign-in path and logout say,
//! each error a user can reach, `login status` in each store mode and every `--json` shape, and
//! the screens of the device and browser sign-ins in a real terminal (tmux, 100x45).
//!
//! Only what differs from run to run is redacted (`[TMP]`, `[PORT]`, `[TIME]`, ...; see
//! tests/common/transcript.rs). After a deliberate change of wording: `cargo insta review`, or
//! `INSTA_UPDATE=always cargo test --test texts` and read the diff of the .snap files.

mod common;

use common::keyring::Session;
use common::screen::Screen;
use common::transcript::{Transcript, normalize};
use common::{Env, OIDC_CLIENT, Peer, agent_ok, api_key_json, jwt, now_secs, oidc_browser_args};
use serde_json::json;

/// The text of a screen with what varies redacted: the one-time code, the spinner's frame and the
/// time left, and the QR code (random with the code) as one line.
fn screen_snapshot(screen: &str, redactions: &[(String, String)]) -> String {
    let mut lines: Vec<String> = Vec::new();
    for line in screen.lines() {
        let qr = !line.trim().is_empty() && line.chars().all(|c| " █▀▄".contains(c));
        if qr {
            if lines.last().map(String::as_str) != Some("[QR code]") {
                lines.push("[QR code]".to_string());
            }
            continue;
        }
        lines.push(line.to_string());
    }
    let text = lines.join("\n") + "\n";
    let spinner =
        regex_lite::Regex::new(r"(?m)^\S (Waiting for the code to be entered\.\.\.) \d+:\d\d left")
            .unwrap();
    let text = spinner.replace_all(&text, "[SPINNER] $1 [M:SS] left");
    normalize(&text, redactions)
}

/// The line under `heading` on the screen, trimmed (the one-time code, the authorize URL).
fn line_after(screen: &str, heading: &str) -> String {
    let mut lines = screen.lines().skip_while(|l| !l.contains(heading));
    lines.next();
    lines
        .find(|l| !l.trim().is_empty())
        .unwrap_or_else(|| panic!("nothing under {heading:?}:\n{screen}"))
        .trim()
        .to_string()
}

#[test]
fn device_sign_in_at_an_openid_provider_on_a_terminal() {
    let env = Env::new();
    let oidc = oidc();
    let screen = Screen::start(
        &env,
        &["login", "--device-auth"],
        &[
            ("CODEX_AUTH_ISSUER", &oidc.url),
            ("CODEX_AUTH_CLIENT_ID", OIDC_CLIENT),
        ],
    );
    let waiting = screen.wait_for("left (Ctrl-C to cancel)");
    assert!(
        !waiting.contains('░') && !waiting.contains("0/0"),
        "a progress bar instead of the spinner:\n{waiting}"
    );
    assert!(
        waiting.contains(
            "Follow these steps to sign in at 127.0.0.1 using device code authorization:"
        ),
        "{waiting}"
    );
    let code = line_after(&waiting, "2. Enter this one-time code");
    agent_ok(&["device", &oidc.url, &code]);
    let done = screen.wait_for("[exit ");
    assert!(
        !done.contains("left (Ctrl-C to cancel)"),
        "the spinner is cleared at the end:\n{done}"
    );
    let redactions = [(code, "[USER_CODE]".to_string())];
    insta::assert_snapshot!(
        "device_oidc_waiting",
        screen_snapshot(&waiting, &redactions)
    );
    insta::assert_snapshot!("device_oidc_done", screen_snapshot(&done, &redactions));
}

#[test]
fn device_sign_in_with_chatgpt_on_a_terminal_and_ctrl_c() {
    let env = Env::new();
    env.write_auth(&api_key_json("sk-old-credentials-123456"));
    let fake = Peer::fake_issuer(
        env.dir.path(),
        &["--interval", "1", "--device-sequence", "403"],
    );
    let screen = Screen::start(
        &env,
        &["login", "--device-auth"],
        &[
            ("CODEX_AUTH_ISSUER", &fake.url),
            ("CODEX_AUTH_PROTOCOL", "openai"),
        ],
    );
    let waiting = screen.wait_for("left (Ctrl-C to cancel)");
    assert!(
        !waiting.contains('░') && !waiting.contains("0/0"),
        "a progress bar instead of the spinner:\n{waiting}"
    );
    let code = line_after(&waiting, "2. Enter this one-time code");
    screen.keys("C-c");
    let done = screen.wait_for("[exit ");
    assert!(
        !done.contains("Waiting for the code to be entered"),
        "the spinner's last frame stayed above the message:\n{done}"
    );
    let mut redactions = vec![(code, "[USER_CODE]".to_string())];
    redactions.push((fake.url.clone(), "[ISSUER]".to_string()));
    insta::assert_snapshot!(
        "device_chatgpt_waiting",
        screen_snapshot(&waiting, &redactions)
    );
    insta::assert_snapshot!(
        "device_chatgpt_cancelled",
        screen_snapshot(&done, &redactions)
    );
    assert_eq!(env.read_auth(), api_key_json("sk-old-credentials-123456"));
}

#[test]
fn browser_sign_in_on_a_terminal() {
    let env = Env::new();
    let oidc = oidc();
    let screen = Screen::start(&env, &oidc_browser_args(oidc), &[]);
    let waiting = screen.wait_for("(Ctrl-C to cancel)...");
    let url = line_after(&waiting, "Open this URL in a browser to authenticate:");
    agent_ok(&["authorize", &url]);
    let done = screen.wait_for("[exit ");
    let redactions = [(oidc.url.clone(), "[ISSUER]".to_string())];
    insta::assert_snapshot!("browser_done", screen_snapshot(&done, &redactions));
}

// ------------------------------------------------------------------------------ help and usage

/// `codex ARGS` with a clean environment and a fixed width for clap's wrapping.
fn bare(t: &mut Transcript, args: &[&str]) {
    let mut cmd = common::bare_cmd(args);
    cmd.env("COLUMNS", "100");
    let run = common::run_cmd(cmd, None);
    t.push(args, &run);
}

#[test]
fn help_pages() {
    let mut t = Transcript::new();
    for args in [
        &["--help"][..],
        &["login", "--help"],
        &["login", "status", "--help"],
        &["login", "token", "--help"],
        &["login", "switch", "--help"],
        &["logout", "--help"],
        &["exec", "--help"],
        &["doctor", "--help"],
        &["completion", "--help"],
        &["-h"],
        &["--version"],
    ] {
        bare(&mut t, args);
    }
    insta::assert_snapshot!(t.finish());
}

#[test]
fn usage_errors_exit_2() {
    let mut t = Transcript::new();
    for args in [
        &[][..],
        &["login", "--bogus-flag"],
        &["logot"],
        &["exec", "--model"],
        &["doctor", "--offline", "--refresh"],
        &["login", "--api-key", "-", "--device-auth"],
        &["login", "--no-qr"],
        &["login", "--timeout", "0"],
        &["login", "--port", "http"],
        &["completion", "tcsh"],
        &["login", "switch"],
        &["login", "switch", "../work"],
        &["login", "--account", "a b", "--api-key", "-"],
        &["login", "token", "--account", "-x"],
        &["logout", "--all", "--account", "work"],
    ] {
        bare(&mut t, args);
    }
    // A refused value is quoted escaped (the title says what the shell passed).
    let mut cmd = common::bare_cmd(&["login", "--account", "bad\u{1b}[31mred"]);
    cmd.env("COLUMNS", "100");
    t.push_titled(
        "codex login --account $'bad\\e[31mred'",
        &common::run_cmd(cmd, None),
    );
    insta::assert_snapshot!(t.finish());
}

// ------------------------------------------------------------------------------ API-key sign-in

const KEY: &str = "sk-proj-canary-0123456789";

#[test]
fn api_key_sign_in() {
    let env = Env::new();
    let mut t = Transcript::of(&env);
    t.run_stdin(&env, &["login", "--api-key", "-"], KEY.as_bytes());
    t.run_stdin(&env, &["login", "--with-api-key"], KEY.as_bytes());
    t.run(&env, &["login", "--api-key", KEY]);
    t.run(&env, &["login", "--with-api-key", KEY]);
    t.run(&env, &["login", "--with-api-key", "status"]);
    t.run_stdin(&env, &["login", "--with-api-key"], b"");
    t.run_stdin(&env, &["login", "--api-key", "-"], b" \n\t\n");
    t.run_stdin(&env, &["login", "--api-key", "-"], b"sk-\xff\xfe");
    t.run_stdin(&env, &["login", "--api-key", "-"], b"sk-one\nsk-two\n");
    t.run(&env, &["login", "--api-key", ""]);
    env.write_config("forced_login_method = \"chatgpt\"\n");
    t.run_stdin(&env, &["login", "--with-api-key"], KEY.as_bytes());
    insta::assert_snapshot!(t.finish());
}

#[test]
fn chatgpt_sign_in_refused_by_forced_login_method() {
    let env = Env::new();
    env.write_config("forced_login_method = \"api\"\n");
    let mut t = Transcript::of(&env);
    t.run(&env, &["login"]);
    t.run(&env, &["login", "--device-auth"]);
    t.run(&env, &["login", "--json"]);
    insta::assert_snapshot!(t.finish());
}

// ------------------------------------------------------------------------------ login status

/// A ChatGPT sign-in as the reference stores it, minted by `issuer`, whose access token
/// expires in about two hours.
fn chatgpt_auth(issuer: &str) -> serde_json::Value {
    let id_token = jwt(json!({
        "email": "user@example.com",
        "https://api.openai.com/auth": {
            "chatgpt_plan_type": "pro",
            "chatgpt_account_id": "acct_fake_1",
            "chatgpt_user_id": "user-fake-1"
        }
    }));
    json!({
        "auth_mode": "chatgpt",
        "OPENAI_API_KEY": null,
        "tokens": {
            "id_token": id_token,
            "access_token": jwt(json!({"exp": now_secs() + 7200})),
            "refresh_token": "rt-1",
            "oauth_provenance": {"issuer": issuer, "client_id": "app_EMoamEEZ73f0CkXaXp7hrann", "protocol": "openai"},
            "account_id": "acct_fake_1"
        },
        "last_refresh": "2026-04-25T12:34:56.789Z"
    })
}

#[test]
fn login_status_in_file_mode() {
    let env = Env::new();
    let mut t = Transcript::of(&env);
    let both = |t: &mut Transcript| {
        t.run(&env, &["login", "status"]);
        t.run(&env, &["login", "status", "--json"]);
    };
    both(&mut t);
    env.write_auth(&api_key_json("sk-proj-0123456789"));
    both(&mut t);
    env.write_auth(&api_key_json("sk-short1234"));
    t.run(&env, &["login", "status"]);
    env.write_auth(&chatgpt_auth("https://auth.openai.com").to_string());
    both(&mut t);
    // The least a ChatGPT sign-in can hold: no claims, no expiry, no provenance.
    env.write_auth(r#"{"OPENAI_API_KEY":null,"tokens":{"id_token":"e30.e30.x","access_token":"at","refresh_token":"rt","account_id":null}}"#);
    both(&mut t);
    env.write_auth(r#"{"auth_mode":"agentIdentity","agent_identity":{"id":"agent-1"}}"#);
    both(&mut t);
    env.write_auth("{}");
    both(&mut t);
    env.write_auth(r#"{"auth_mode":"apikey","OPENAI_API_KEY":""}"#);
    t.run(&env, &["login", "status"]);
    env.write_auth(r#"{"auth_mode":"chatgpt","tokens":{"access_token":""}}"#);
    t.run(&env, &["login", "status"]);
    env.write_auth(r#"{"auth_mode":"sso","OPENAI_API_KEY":null}"#);
    t.run(&env, &["login", "status"]);
    env.write_auth("{\n  \"OPENAI_API_KEY\": \"sk-x\",,\n}");
    both(&mut t);
    env.write_auth(r#"{"OPENAI_API_KEY":null,"tokens":"eyJ-not-an-object"}"#);
    both(&mut t);
    insta::assert_snapshot!(t.finish());
}

#[test]
fn login_status_on_a_real_keyring() {
    let session = Session::with_keyring();
    let env = Env::new();
    env.use_store("keyring");
    let mut t = Transcript::of(&env);
    t.note("# cli_auth_credentials_store = \"keyring\", an unlocked gnome-keyring");
    t.run_on(&session, &env, &["login", "status"], None);
    t.run_on(&session, &env, &["login", "status", "--json"], None);
    t.run_on(
        &session,
        &env,
        &["login", "--api-key", "-"],
        Some(KEY.as_bytes()),
    );
    t.run_on(&session, &env, &["login", "status"], None);
    t.run_on(&session, &env, &["login", "status", "--json"], None);
    t.run_on(&session, &env, &["logout"], None);
    let account = common::keyring::account(&env);
    session.store_as_reference(
        &account,
        &chatgpt_auth("https://auth.openai.com").to_string(),
    );
    t.note("# a ChatGPT sign-in stored by the reference CLI");
    t.run_on(&session, &env, &["login", "status"], None);
    t.run_on(&session, &env, &["login", "status", "--json"], None);
    session.store_as_reference(&account, "not json");
    t.note("# an entry that is not JSON");
    t.run_on(&session, &env, &["login", "status"], None);
    t.run_on(&session, &env, &["login", "status", "--json"], None);
    t.run_on(
        &session,
        &env,
        &["login", "--api-key", "-"],
        Some(KEY.as_bytes()),
    );
    t.note("# back to the file store: the credentials are still found in the keyring");
    env.use_store("file");
    t.run_on(&session, &env, &["login", "status"], None);
    insta::assert_snapshot!(t.finish());
}

#[test]
fn auto_mode_falls_back_to_the_file_and_says_so() {
    let env = Env::new();
    env.use_store("auto");
    let mut t = Transcript::of(&env);
    t.note("# cli_auth_credentials_store = \"auto\", no D-Bus session bus");
    t.run(&env, &["login", "status"]);
    t.run_stdin(&env, &["login", "--api-key", "-"], KEY.as_bytes());
    t.run(&env, &["login", "status"]);
    t.run(&env, &["login", "status", "--json"]);
    t.run(&env, &["logout"]);

    let session = Session::with_keyring();
    t.note("# \"auto\" with an unlocked gnome-keyring");
    t.run_on(
        &session,
        &env,
        &["login", "--api-key", "-"],
        Some(KEY.as_bytes()),
    );
    t.run_on(&session, &env, &["login", "status"], None);
    t.run_on(&session, &env, &["login", "status", "--json"], None);
    session.lock();
    t.note("# \"auto\" with the keyring locked");
    t.run_on(&session, &env, &["login", "status"], None);
    t.run_on(&session, &env, &["login", "status", "--json"], None);
    insta::assert_snapshot!(t.finish());
}

#[test]
fn keyring_mode_without_a_usable_keyring() {
    let env = Env::new();
    env.use_store("keyring");
    let mut t = Transcript::of(&env);
    t.note("# cli_auth_credentials_store = \"keyring\", no D-Bus session bus");
    t.run(&env, &["login", "status"]);
    t.run(&env, &["login", "status", "--json"]);
    t.run_stdin(&env, &["login", "--api-key", "-"], KEY.as_bytes());
    t.run(&env, &["logout"]);

    let bus = Session::bus_only();
    t.note("# a session bus without a Secret Service");
    t.run_on(&bus, &env, &["login", "status"], None);
    t.run_on(&bus, &env, &["logout"], None);
    drop(bus);

    let empty = Session::with_gnome_keyring(false);
    t.note("# a gnome-keyring without any keyring (collection)");
    t.run_on(
        &empty,
        &env,
        &["login", "--api-key", "-"],
        Some(KEY.as_bytes()),
    );
    drop(empty);

    let locked = Session::with_keyring();
    t.note("# an unlocked gnome-keyring");
    t.run_on(
        &locked,
        &env,
        &["login", "--api-key", "-"],
        Some(KEY.as_bytes()),
    );
    locked.lock();
    t.note("# the keyring locked");
    t.run_on(&locked, &env, &["login", "status"], None);
    t.run_on(
        &locked,
        &env,
        &["login", "--api-key", "-"],
        Some(KEY.as_bytes()),
    );
    t.run_on(&locked, &env, &["logout"], None);
    insta::assert_snapshot!(t.finish());
}

// ------------------------------------------------------------------------------ logout

#[test]
fn logout_texts() {
    let env = Env::new();
    let mut t = Transcript::of(&env);
    env.write_auth(&api_key_json(KEY));
    t.run(&env, &["logout"]);
    t.run(&env, &["logout"]);
    let failing = Peer::fake_issuer(env.dir.path(), &["--scenario", "revoke-500"]);
    t.redact(&failing.url, "[ISSUER]");
    env.write_auth(&chatgpt_auth(&failing.url).to_string());
    t.run(&env, &["logout"]);
    env.write_auth("{\"OPENAI_API_KEY\": \"sk-precious\"");
    t.run(&env, &["logout"]);
    insta::assert_snapshot!(t.finish());
}

// ------------------------------------------------------------------------------ several accounts

#[test]
fn several_accounts_texts() {
    let env = Env::new();
    let mut t = Transcript::of(&env);
    t.run_stdin(
        &env,
        &["login", "--api-key", "-", "--account", "ci"],
        KEY.as_bytes(),
    );
    t.run_stdin(
        &env,
        &["login", "--api-key", "-"],
        b"sk-proj-second-key-000022222",
    );
    t.run_stdin(
        &env,
        &["login", "--api-key", "-", "--account", "CI"],
        KEY.as_bytes(),
    );
    t.run(&env, &["login", "status"]);
    t.run(&env, &["login", "status", "--json"]);
    t.run(&env, &["login", "switch", "ci"]);
    t.run(&env, &["login", "switch", "ci"]);
    t.run(&env, &["login", "switch", "work"]);
    t.run(&env, &["login", "token", "--account", "work"]);
    t.run_with(
        &env,
        &[("CODEX_ACCOUNT", "../ci")],
        &["login", "token"],
        None,
    );
    t.run_with(
        &env,
        &[("CODEX_ACCOUNT", "apikey-22222")],
        &["login", "status"],
        None,
    );
    // A ChatGPT sign-in whose refresh token the issuer no longer takes.
    let fake = Peer::fake_issuer(
        env.dir.path(),
        &[
            "--seed-refresh-token",
            "rt-1",
            "--scenario",
            "refresh-expired",
        ],
    );
    t.redact(&fake.url, "[ISSUER]");
    let mut doc = chatgpt_auth(&fake.url);
    doc["tokens"]["access_token"] = json!(jwt(json!({"exp": now_secs() - 60})));
    env.write_auth(&doc.to_string());
    t.note("# signed in with ChatGPT outside this tool; its refresh token is refused");
    t.run(&env, &["login", "status"]);
    t.run(&env, &["login", "token"]);
    t.run(&env, &["login", "status"]);
    t.run(&env, &["login", "switch", "ci"]);
    t.run(&env, &["login", "switch", "user@example.com"]);
    t.run(&env, &["logout", "--account", "apikey-22222"]);
    t.run(&env, &["logout"]);
    t.run_stdin(
        &env,
        &["login", "--api-key", "-"],
        b"sk-proj-second-key-000022222",
    );
    t.run(&env, &["logout", "--all"]);
    t.run(&env, &["logout", "--all"]);
    insta::assert_snapshot!(t.finish());
}

// ------------------------------------------------------------------------------ errors

#[test]
fn configuration_errors() {
    let env = Env::new();
    let mut t = Transcript::of(&env);
    for config in [
        "model = \"o3\"\nsomething_else = [1, 2\n",
        "unknown_key = 1\ncli_auth_credentials_store = 5\n[tables.are.fine]\nx = 1\n",
        "cli_auth_credentials_store = \"vault\"\n",
        "forced_login_method = \"sometimes\"\n",
        "[auth]\nissuer = \"auth.example.com\"\n",
        "[auth]\nprotocol = \"saml\"\n",
        "[model_providers.gw]\nname = \"gw\"\nhttp_headers = \"Bearer sk-CANARY-config\"\n",
    ] {
        env.write_config(config);
        t.note(&format!("# config.toml:\n{config}"));
        t.run(&env, &["login", "status"]);
    }
    env.write_config("");
    t.run(
        &env,
        &["-c", "forced_login_method=sometimes", "login", "status"],
    );
    t.run(&env, &["-c", "forced_login_method=5", "login", "status"]);
    t.run(&env, &["-c", "novalue", "login", "status"]);
    t.run(&env, &["login", "--issuer", "not a url"]);
    t.run_with(&env, &[("CODEX_AUTH_ISSUER", "ftp://x")], &["login"], None);
    t.run_with(&env, &[("CODEX_AUTH_PROTOCOL", "saml")], &["login"], None);
    insta::assert_snapshot!(t.finish());
}

#[test]
fn codex_home_errors() {
    let env = Env::new();
    let mut t = Transcript::of(&env);
    let missing = env.dir.path().join("nope");
    let file = env.dir.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    for (home, args) in [
        (&missing, &["login", "status"][..]),
        (&file, &["logout"][..]),
    ] {
        let mut cmd = common::bare_cmd(args);
        cmd.env("CODEX_HOME", home);
        let run = common::run_cmd(cmd, None);
        t.push_titled(
            &common::transcript::title(&[("CODEX_HOME", &home.display().to_string())], args, None),
            &run,
        );
    }
    insta::assert_snapshot!(t.finish());
}

#[test]
fn credential_file_errors() {
    let env = Env::new();
    let mut t = Transcript::of(&env);
    std::fs::create_dir(env.auth_path()).unwrap();
    t.run(&env, &["login", "status"]);
    std::fs::remove_dir(env.auth_path()).unwrap();
    std::fs::create_dir(env.home.join("auth.lock")).unwrap();
    t.run_stdin(&env, &["login", "--api-key", "-"], KEY.as_bytes());
    std::fs::remove_dir(env.home.join("auth.lock")).unwrap();
    env.write_auth("{ first broken");
    t.run_stdin(&env, &["login", "--api-key", "-"], KEY.as_bytes());
    env.write_auth("{ second broken");
    t.run_stdin(&env, &["login", "--api-key", "-"], KEY.as_bytes());
    insta::assert_snapshot!(t.finish());
}

#[test]
fn login_token_texts() {
    let env = Env::new();
    let mut t = Transcript::of(&env);
    t.run(&env, &["login", "token"]);
    env.write_auth("{}");
    t.run(&env, &["login", "token"]);
    env.write_auth(&api_key_json(KEY));
    t.run(&env, &["login", "token"]);
    for scenario in ["refresh-expired", "refresh-malformed"] {
        let fake = Peer::fake_issuer(
            env.dir.path(),
            &["--seed-refresh-token", "rt-1", "--scenario", scenario],
        );
        t.redact(&fake.url, "[ISSUER]");
        let mut doc = chatgpt_auth(&fake.url);
        doc["tokens"]["access_token"] = json!(jwt(json!({"exp": now_secs() - 60})));
        env.write_auth(&doc.to_string());
        t.note(&format!(
            "# the issuer answers the refresh with `{scenario}`"
        ));
        t.run(&env, &["login", "token"]);
    }
    insta::assert_snapshot!(t.finish());
}

// ------------------------------------------------------------------------------ ChatGPT sign-in

/// What a sign-in running in the background shows the user first (the URL, the one-time code)
/// and the first line of its output: with `--json` (`json`) the event's field `field` and the
/// event's line; else the line under `heading` once standard error shows `ready`, and nothing.
fn shown_first(
    login: &common::Background,
    json: bool,
    field: &str,
    ready: &str,
    heading: &str,
) -> (String, String) {
    if json {
        let line = login.next_line();
        let event: serde_json::Value = serde_json::from_str(&line).unwrap();
        (
            event[field].as_str().unwrap().to_string(),
            format!("{line}\n"),
        )
    } else {
        let text = login.wait_stderr(ready);
        (line_after(&text, heading), String::new())
    }
}

/// `codex login ARGS` against oidc-provider in the background, the test playing the user in the
/// browser (`agent_args` after the URL, e.g. `--deny`); records the whole run.
fn browser_sign_in(t: &mut Transcript, env: &Env, oidc: &Peer, args: &[&str], agent_args: &[&str]) {
    let mut all = oidc_browser_args(oidc);
    all.extend_from_slice(args);
    let login = common::Background::spawn(env.cmd(&all));
    let (url, first_line) = shown_first(
        &login,
        args.contains(&"--json"),
        "url",
        "(Ctrl-C to cancel)...",
        "Open this URL in a browser",
    );
    let mut agent_all = vec!["authorize", url.as_str()];
    agent_all.extend_from_slice(agent_args);
    agent_ok(&agent_all);
    let mut run = login.finish(30);
    run.stdout = first_line + &run.stdout;
    t.push(&all, &run);
}

/// One oidc-provider for every test of this file (a node process each would cost more than the
/// tests). Never dropped: it exits by itself when this test process does (EXIT_WITH_PARENT).
fn oidc() -> &'static Peer {
    static OIDC: std::sync::OnceLock<Peer> = std::sync::OnceLock::new();
    OIDC.get_or_init(|| {
        let dir: &'static tempfile::TempDir = Box::leak(Box::new(tempfile::tempdir().unwrap()));
        Peer::oidc(dir.path(), &[("DEVICE_INTERVAL", "1")])
    })
}

/// The shared oidc-provider and a transcript of sign-ins at it.
fn at_oidc(env: &Env) -> (&'static Peer, Transcript) {
    let oidc = oidc();
    let mut t = Transcript::of(env);
    t.redact(&oidc.url, "[ISSUER]");
    (oidc, t)
}

#[test]
fn browser_sign_in_texts() {
    let env = Env::new();
    let (oidc, mut t) = at_oidc(&env);
    browser_sign_in(&mut t, &env, oidc, &[], &[]);
    browser_sign_in(&mut t, &env, oidc, &["--json"], &[]);
    insta::assert_snapshot!(t.finish());
}

#[test]
fn browser_sign_in_declined() {
    let env = Env::new();
    let (oidc, mut t) = at_oidc(&env);
    t.note("# the user declines in the browser");
    browser_sign_in(&mut t, &env, oidc, &[], &["--deny"]);
    browser_sign_in(&mut t, &env, oidc, &["--json"], &["--deny"]);
    insta::assert_snapshot!(t.finish());
}

#[test]
fn browser_sign_in_failures() {
    let env = Env::new();
    let (oidc, mut t) = at_oidc(&env);
    env.write_config("forced_chatgpt_workspace_id = \"acct-other\"\n");
    t.note("# forced_chatgpt_workspace_id = \"acct-other\"");
    browser_sign_in(&mut t, &env, oidc, &[], &[]);
    env.write_config("");

    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port().to_string();
    t.redact(format!("--port {port}"), "--port [PORT]");
    let args = [
        "login",
        "--no-browser",
        "--port",
        &port,
        "--issuer",
        &oidc.url,
    ];
    t.run(&env, &args);
    let mut args = oidc_browser_args(oidc);
    args.extend(["--timeout", "1"]);
    t.run(&env, &args);
    insta::assert_snapshot!(t.finish());
}

/// `codex login --device-auth ARGS` with `vars`; reads the one-time code the user is shown,
/// then `approve(code)` plays the user.
fn device_sign_in(
    t: &mut Transcript,
    env: &Env,
    vars: &[(&str, &str)],
    args: &[&str],
    approve: impl FnOnce(&str),
) {
    let mut all = vec!["login", "--device-auth"];
    all.extend_from_slice(args);
    let mut cmd = env.cmd(&all);
    for (name, value) in vars {
        cmd.env(name, value);
    }
    let login = common::Background::spawn(cmd);
    let (code, first_line) = shown_first(
        &login,
        args.contains(&"--json"),
        "user_code",
        "cancel.\n",
        "2. Enter this one-time code",
    );
    approve(&code);
    let mut run = login.finish(30);
    run.stdout = first_line + &run.stdout;
    t.redact(code, "[USER_CODE]");
    t.push_titled(&common::transcript::title(vars, &all, None), &run);
}

/// The user at oidc-provider's device page, approving or declining `code`.
fn approve_at(oidc: &Peer, deny: bool) -> impl FnOnce(&str) + '_ {
    move |code: &str| {
        let mut args = vec!["device", oidc.url.as_str(), code];
        if deny {
            args.push("--deny");
        }
        agent_ok(&args);
    }
}

#[test]
fn device_sign_in_at_an_openid_provider() {
    let env = Env::new();
    let (oidc, mut t) = at_oidc(&env);
    let vars = [
        ("CODEX_AUTH_ISSUER", oidc.url.as_str()),
        ("CODEX_AUTH_CLIENT_ID", OIDC_CLIENT),
    ];
    device_sign_in(&mut t, &env, &vars, &[], approve_at(oidc, false));
    device_sign_in(&mut t, &env, &vars, &["--json"], approve_at(oidc, false));
    insta::assert_snapshot!(t.finish());
}

#[test]
fn device_sign_in_declined() {
    let env = Env::new();
    let (oidc, mut t) = at_oidc(&env);
    let vars = [
        ("CODEX_AUTH_ISSUER", oidc.url.as_str()),
        ("CODEX_AUTH_CLIENT_ID", OIDC_CLIENT),
    ];
    t.note("# the user declines on the device page");
    device_sign_in(&mut t, &env, &vars, &[], approve_at(oidc, true));
    device_sign_in(&mut t, &env, &vars, &["--json"], approve_at(oidc, true));
    insta::assert_snapshot!(t.finish());
}

#[test]
fn device_sign_in_with_chatgpt() {
    let env = Env::new();
    let fake = Peer::fake_issuer(
        env.dir.path(),
        &["--interval", "1", "--device-sequence", "200"],
    );
    let mut t = Transcript::of(&env);
    t.redact(&fake.url, "[ISSUER]");
    let vars = [
        ("CODEX_AUTH_ISSUER", fake.url.as_str()),
        ("CODEX_AUTH_PROTOCOL", "openai"),
    ];
    t.note("# OpenAI's device API (its fake), where the code is approved at once");
    device_sign_in(&mut t, &env, &vars, &[], |_| {});
    device_sign_in(&mut t, &env, &vars, &["--json"], |_| {});
    insta::assert_snapshot!(t.finish());
}

// ------------------------------------------------------------------------------ codex exec

#[test]
fn exec_error_texts() {
    let api = Peer::responses(&["--accept-bearer", "sk-the-right-one"]);
    let env = Env::new();
    let mut t = Transcript::of(&env);
    t.redact(&api.url, "[API]");
    let base = format!(
        "openai_base_url = \"{0}/v1\"\nchatgpt_base_url = \"{0}/backend-api/\"\n",
        api.url
    );
    env.write_config(&base);
    let exec = |t: &mut Transcript, vars: &[(&str, &str)], args: &[&str]| {
        let mut all = vec!["exec"];
        all.extend_from_slice(args);
        t.run_with(&env, vars, &all, None);
    };
    let wrong_key = [("CODEX_API_KEY", KEY)];

    t.note("# nothing stored");
    exec(&mut t, &[], &["x"]);
    exec(&mut t, &[("OPENAI_API_KEY", KEY)], &["x"]);
    t.run_with(&env, &wrong_key, &["exec", "-"], Some(b"  \n"));
    t.note("# keys the API refuses");
    exec(&mut t, &wrong_key, &["x"]);
    t.run_stdin(&env, &["login", "--api-key", "-"], KEY.as_bytes());
    exec(&mut t, &[], &["x"]);
    env.write_auth(r#"{"auth_mode":"agentIdentity","agent_identity":{"id":"agent-1"}}"#);
    exec(&mut t, &[], &["x"]);
    env.write_auth("{}");
    exec(&mut t, &[], &["x"]);
    std::fs::remove_file(env.auth_path()).unwrap();

    let issuer = Peer::fake_issuer(env.dir.path(), &["--seed-refresh-token", "rt-1"]);
    let refusing = Peer::responses_with_script(
        json!([{"path": "/responses", "status": 401, "repeat": -1, "json": {"error": {
            "message": "Your authentication token is not valid.", "code": "invalid_token"}}}]),
        &[],
    );
    t.redact(&issuer.url, "[ISSUER]");
    t.redact(&refusing.url, "[API]");
    env.write_config(&format!(
        "chatgpt_base_url = \"{}/backend-api/\"\n",
        refusing.url
    ));
    env.write_auth(&chatgpt_auth(&issuer.url).to_string());
    t.note("# a ChatGPT sign-in the API refuses, before and after one refresh");
    exec(&mut t, &[], &["x"]);
    std::fs::remove_file(env.auth_path()).unwrap();

    for (config, vars) in [
        ("model_provider = \"nowhere\"\n", &[][..]),
        (
            "model_provider = \"gw\"\n[model_providers.gw]\nbase_url = \"http://127.0.0.1:9/v1\"\n",
            &[],
        ),
        (
            "model_provider = \"gw\"\nmodel = \"m\"\n[model_providers.gw]\nname = \"Gateway\"\n",
            &[],
        ),
        (
            "model_provider = \"gw\"\nmodel = \"m\"\n[model_providers.gw]\nbase_url = \"gateway.example/v1\"\n",
            &[],
        ),
        (
            "model_provider = \"gw\"\nmodel = \"m\"\n[model_providers.gw]\nname = \"Gateway\"\nbase_url = \"{API}/v1\"\nenv_key = \"GATEWAY_KEY\"\nenv_key_instructions = \"Create a key at https://gateway.example/keys.\"\n",
            &[][..],
        ),
        (
            "model_provider = \"gw\"\nmodel = \"m\"\n[model_providers.gw]\nname = \"Gateway\"\nbase_url = \"{API}/v1\"\nenv_key = \"GATEWAY_KEY\"\n",
            &[("GATEWAY_KEY", "wrong-gateway-key")][..],
        ),
        (
            "model_provider = \"azure\"\nmodel = \"gpt-5.5\"\n[model_providers.azure]\nname = \"Azure\"\nbase_url = \"{API}/openai\"\nenv_key = \"AZURE_OPENAI_API_KEY\"\nquery_params = { api-version = \"2025-04-01-preview\" }\n",
            &[],
        ),
        (
            "model_provider = \"gw\"\nmodel = \"m\"\n[model_providers.gw]\nbase_url = \"http://127.0.0.1:9/v1\"\nhttp_headers = { \"Bad Header\" = \"x\" }\n",
            &[],
        ),
    ] {
        let config = config.replace("{API}", &api.url);
        env.write_config(&config);
        t.note(&format!("# config.toml:\n{config}"));
        exec(&mut t, vars, &["x"]);
    }

    env.write_config(&base);
    let nothing = common::free_port().to_string();
    t.redact(format!("CODEX_OSS_PORT={nothing}"), "CODEX_OSS_PORT=[PORT]");
    t.note("# local model servers");
    exec(&mut t, &[("CODEX_OSS_PORT", &nothing)], &["--oss", "x"]);
    env.write_config(&format!("{base}oss_provider = \"lmstudio\"\n"));
    exec(&mut t, &[("CODEX_OSS_PORT", &nothing)], &["--oss", "x"]);
    exec(&mut t, &[("CODEX_OSS_PORT", "eleven")], &["--oss", "x"]);
    exec(
        &mut t,
        &[("CODEX_OSS_BASE_URL", "localhost:11434")],
        &["--oss", "x"],
    );

    env.write_config(&base);
    let no_cert = env.dir.path().join("empty.pem");
    std::fs::write(&no_cert, "not a certificate\n").unwrap();
    let no_cert = no_cert.display().to_string();
    let missing = env.dir.path().join("missing.pem").display().to_string();
    t.note("# network settings");
    exec(
        &mut t,
        &[
            ("CODEX_API_KEY", "sk-the-right-one"),
            ("CODEX_CA_CERTIFICATE", &missing),
        ],
        &["x"],
    );
    exec(
        &mut t,
        &[
            ("CODEX_API_KEY", "sk-the-right-one"),
            ("SSL_CERT_FILE", &no_cert),
        ],
        &["x"],
    );
    exec(
        &mut t,
        &[
            ("CODEX_API_KEY", "sk-the-right-one"),
            ("HTTPS_PROXY", "http://[::1"),
        ],
        &["x"],
    );
    insta::assert_snapshot!(t.finish());
}

#[test]
fn exec_failures_reported_by_the_api() {
    let api = Peer::responses_with_script(
        json!([
            {"path": "/responses", "status": 404, "json": {"error": {"message": "The model `nope` does not exist.", "code": "model_not_found"}}},
            {"path": "/responses", "status": 429, "headers": {"Retry-After": "3600"}, "json": {"error": {"message": "Rate limit reached.", "code": "rate_limit_exceeded"}}},
            {"path": "/responses", "status": 429, "json": {"error": {"message": "You exceeded your current quota.", "code": "insufficient_quota"}}},
            {"path": "/responses", "status": 503},
            {"path": "/responses", "action": "failed"},
            {"path": "/responses", "action": "error"},
            {"path": "/responses", "action": "sse_malformed"},
            {"path": "/responses", "action": "disconnect"}
        ]),
        &[],
    );
    let env = Env::new();
    let mut t = Transcript::of(&env);
    t.redact(&api.url, "[API]");
    env.write_config(&format!(
        "openai_base_url = \"{}/v1\"\n[model_providers.openai]\nrequest_max_retries = 0\nstream_max_retries = 0\n",
        api.url
    ));
    for model in [
        "nope", "gpt-5.5", "gpt-5.5", "gpt-5.5", "gpt-5.5", "gpt-5.5", "gpt-5.5", "gpt-5.5",
    ] {
        t.run_with(
            &env,
            &[("CODEX_API_KEY", KEY)],
            &["exec", "-m", model, "x"],
            None,
        );
    }
    insta::assert_snapshot!(t.finish());
}
