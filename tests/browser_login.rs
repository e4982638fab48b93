//! Issue 3: ChatGPT sign-in in the browser, against a real OpenID Connect server
//! (oidc-provider) and a faithful fake of OpenAI's issuer. The tests play the browser over HTTP.

mod common;

use common::{Background, Env, Peer, agent_ok, assert_alice_signed_in_at, field_names, http_get};
use serde_json::Value;

const OLD_AUTH: &str =
    "{\n  \"auth_mode\": \"apikey\",\n  \"OPENAI_API_KEY\": \"sk-old-credentials-123456\"\n}";

/// `codex login --json --no-browser --port 0` against `issuer`.
fn start_login(
    env: &Env,
    issuer: &str,
    protocol: &str,
    client_id: &str,
    extra: &[&str],
) -> Background {
    let mut args = vec!["login", "--json", "--no-browser", "--port", "0"];
    args.extend_from_slice(extra);
    let mut cmd = env.cmd(&args);
    cmd.env("CODEX_AUTH_ISSUER", issuer)
        .env("CODEX_AUTH_PROTOCOL", protocol)
        .env("CODEX_AUTH_CLIENT_ID", client_id);
    Background::spawn(cmd)
}

/// `codex login` against the fake of OpenAI's issuer, with the built-in client id.
fn openai_login(env: &Env, fake: &Peer) -> Background {
    start_login(
        env,
        &fake.url,
        "openai",
        "app_EMoamEEZ73f0CkXaXp7hrann",
        &[],
    )
}

fn authorize_url(login: &Background) -> String {
    let event = login.next_event();
    assert_eq!(event["event"], "authorize_url", "{event}");
    event["url"].as_str().unwrap().to_string()
}

fn query(url: &str) -> std::collections::HashMap<String, String> {
    let q = url.split_once('?').map(|(_, q)| q).unwrap_or("");
    url::form_urlencoded::parse(q.as_bytes())
        .into_owned()
        .collect()
}

/// The fake issuer answers the authorize URL with a redirect to our callback.
fn callback_from_fake(authorize: &str) -> String {
    let (status, location, body) = http_get(authorize);
    assert_eq!(status, 302, "authorize refused: {body}");
    location.expect("redirect")
}

#[test]
fn oidc_provider_sign_in_end_to_end() {
    let env = Env::new();
    let oidc = Peer::oidc(env.dir.path(), &[]);
    let login = start_login(&env, &oidc.url, "oidc", "codex-test-client", &[]);
    let url = authorize_url(&login);
    let q = query(&url);
    assert_eq!(q["scope"], "openid profile email offline_access");
    assert_eq!(q["code_challenge_method"], "S256");
    assert!(
        !q.contains_key("originator"),
        "no OpenAI-only parameters for oidc: {url}"
    );
    let out = agent_ok(&["authorize", &url]);
    let body = String::from_utf8_lossy(&out.stdout);
    assert!(body.contains("Signed in, you may close this tab"), "{body}");
    assert!(
        !body.contains("id_token") && !body.contains("eyJ"),
        "{body}"
    );

    let run = login.finish(30);
    assert_eq!(run.code, 0, "{run:?}");
    let event: Value = serde_json::from_str(run.stdout.lines().last().unwrap()).unwrap();
    assert_eq!(event["event"], "logged_in");
    assert_eq!(event["email"], "alice@example.com");
    assert_eq!(event["plan"], "plus");
    assert_eq!(event["account_id"], "acct-test-123");
    assert_eq!(event["store"], "file");

    let doc: Value = serde_json::from_str(&env.read_auth()).unwrap();
    assert_eq!(doc["auth_mode"], "chatgpt");
    assert_eq!(doc["OPENAI_API_KEY"], Value::Null);
    assert_eq!(
        doc["tokens"]["oauth_provenance"]["issuer"],
        oidc.url.as_str()
    );
    assert_eq!(
        doc["tokens"]["oauth_provenance"]["client_id"],
        "codex-test-client"
    );
    assert_eq!(doc["tokens"]["account_id"], "acct-test-123");
    assert!(!doc["tokens"]["refresh_token"].as_str().unwrap().is_empty());
    assert!(doc["last_refresh"].as_str().unwrap().ends_with('Z'));
    let status = env.run(&["login", "status"]);
    assert_eq!(status.code, 0);
    let lines: Vec<&str> = status.stderr.lines().collect();
    assert_eq!(
        lines[..2],
        [
            "Logged in using ChatGPT",
            "  Account: alice@example.com (ChatGPT plus plan)"
        ]
    );
    assert!(
        lines[2].starts_with("  Access token expires: 20"),
        "{lines:?}"
    );
    assert!(
        lines[2].ends_with("(in 59 min)") || lines[2].ends_with("(in 60 min)"),
        "{lines:?}"
    );
    assert_eq!(
        lines[3],
        format!(
            "  Last refreshed: {}",
            doc["last_refresh"].as_str().unwrap()
        )
    );
    assert_eq!(
        lines[4],
        "Your ChatGPT plan unlocks cloud tasks, fast mode and day-one access to the newest models."
    );
    assert_eq!(lines.len(), 5);

    // The code exchange went to the discovered token endpoint as a form.
    let exchanges: Vec<Value> = oidc
        .requests()
        .into_iter()
        .filter(|r| r["grant_type"] == "authorization_code")
        .collect();
    assert_eq!(exchanges.len(), 1, "{exchanges:?}");
}

#[test]
fn text_output_names_the_url_and_the_account() {
    let env = Env::new();
    let oidc = Peer::oidc(env.dir.path(), &[]);
    let mut cmd = env.cmd(&[
        "login",
        "--port",
        "0",
        "--issuer",
        &oidc.url,
        "--client-id",
        "codex-test-client",
    ]);
    cmd.env("DISPLAY", ""); // no display: the browser is not started
    let login = Background::spawn(cmd);
    let text = login.wait_stderr("(Ctrl-C to cancel)...");
    let url = text
        .lines()
        .find(|l| l.starts_with(&oidc.url))
        .expect("URL line")
        .to_string();
    let port = query(&url)["redirect_uri"]
        .trim_start_matches("http://127.0.0.1:")
        .trim_end_matches("/auth/callback")
        .to_string();
    assert_eq!(
        text,
        format!(
            "Starting local login server on http://127.0.0.1:{port}.\nOpen this URL in a browser to authenticate:\n\n{url}\n\nOn a remote or headless machine? Use `codex login --device-auth` instead.\nWaiting up to 10 min for the sign-in (Ctrl-C to cancel)...\n"
        )
    );
    agent_ok(&["authorize", &url]);
    let run = login.finish(30);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr
            .ends_with("Successfully logged in as alice@example.com (ChatGPT plus plan); saved as account `alice@example.com`\n"),
        "{run:?}"
    );
    assert_eq!(run.stdout, "");
}

#[test]
fn oidc_user_denies_consent_and_old_credentials_stay() {
    let env = Env::new();
    env.write_auth(OLD_AUTH);
    let oidc = Peer::oidc(env.dir.path(), &[]);
    let login = start_login(&env, &oidc.url, "oidc", "codex-test-client", &[]);
    let url = authorize_url(&login);
    agent_ok(&["authorize", &url, "--deny"]);
    let run = login.finish(30);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.starts_with("the sign-in was refused: "),
        "{run:?}"
    );
    assert!(
        run.stderr
            .contains("(access_denied). Your previous credentials were kept\n"),
        "{run:?}"
    );
    let last: Value = serde_json::from_str(run.stdout.lines().last().unwrap()).unwrap();
    assert_eq!(last["event"], "error");
    assert_eq!(env.read_auth(), OLD_AUTH);
}

#[test]
fn openai_protocol_sends_every_parameter_and_exchanges_an_api_key() {
    let env = Env::new();
    let fake = Peer::fake_issuer(
        env.dir.path(),
        &["--workspace", "ws-42", "--account-id", "ws-42"],
    );
    env.write_config("forced_chatgpt_workspace_id = \"ws-42\"\n");
    let login = openai_login(&env, &fake);
    let url = authorize_url(&login);
    assert!(
        url.starts_with(&format!("{}/oauth/authorize?", fake.url)),
        "{url}"
    );
    let keys: Vec<String> = url::form_urlencoded::parse(url.split_once('?').unwrap().1.as_bytes())
        .map(|(k, _)| k.into_owned())
        .collect();
    assert_eq!(
        keys,
        [
            "response_type",
            "client_id",
            "redirect_uri",
            "scope",
            "code_challenge",
            "code_challenge_method",
            "id_token_add_organizations",
            "codex_cli_simplified_flow",
            "state",
            "originator",
            "allowed_workspace_id"
        ]
    );
    let q = query(&url);
    assert_eq!(q["state"].len(), 43, "32 random bytes, base64url");
    let callback = callback_from_fake(&url);
    let (status, _, body) = http_get(&callback);
    assert_eq!(status, 200, "{body}");
    let run = login.finish(30);
    assert_eq!(run.code, 0, "{run:?}");

    let requests = fake.requests();
    let token_calls: Vec<&Value> = requests
        .iter()
        .filter(|r| r["path"] == "/oauth/token")
        .collect();
    assert_eq!(token_calls.len(), 2, "{token_calls:?}");
    let exchange = &token_calls[0];
    assert_eq!(exchange["body_type"], "form");
    let mut fields = field_names(&exchange["parsed"]);
    fields.sort();
    assert_eq!(
        fields,
        [
            "client_id",
            "code",
            "code_verifier",
            "grant_type",
            "redirect_uri"
        ]
    );
    assert_eq!(exchange["parsed"]["grant_type"], "authorization_code");
    assert_eq!(
        exchange["parsed"]["code_verifier"].as_str().unwrap().len(),
        86,
        "64 random bytes"
    );
    let token_exchange = &token_calls[1]["parsed"];
    assert_eq!(
        token_exchange["grant_type"],
        "urn:ietf:params:oauth:grant-type:token-exchange"
    );
    assert_eq!(token_exchange["requested_token"], "openai-api-key");
    assert_eq!(
        token_exchange["subject_token_type"],
        "urn:ietf:params:oauth:token-type:id_token"
    );

    let doc: Value = serde_json::from_str(&env.read_auth()).unwrap();
    assert_eq!(doc["auth_mode"], "chatgpt");
    assert!(
        doc["OPENAI_API_KEY"]
            .as_str()
            .unwrap()
            .starts_with("sk-exchanged-")
    );
    assert_eq!(doc["tokens"]["account_id"], "ws-42");
}

#[test]
fn a_wrong_workspace_is_refused_and_old_credentials_stay() {
    let env = Env::new();
    env.write_auth(OLD_AUTH);
    let fake = Peer::fake_issuer(
        env.dir.path(),
        &["--workspace", "ws-42", "--account-id", "personal"],
    );
    env.write_config("forced_chatgpt_workspace_id = \"ws-42\"\n");
    let login = openai_login(&env, &fake);
    let callback = callback_from_fake(&authorize_url(&login));
    let (status, _, body) = http_get(&callback);
    assert_eq!(status, 500);
    assert!(
        body.contains("Login is restricted to workspace id ws-42."),
        "{body}"
    );
    let run = login.finish(30);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .ends_with("Login is restricted to workspace id ws-42.\n"),
        "{run:?}"
    );
    assert_eq!(env.read_auth(), OLD_AUTH);
}

#[test]
fn wrong_state_gets_400_and_the_login_keeps_waiting() {
    let env = Env::new();
    let fake = Peer::fake_issuer(env.dir.path(), &[]);
    let login = openai_login(&env, &fake);
    let callback = callback_from_fake(&authorize_url(&login));
    let state = query(&callback)["state"].clone();
    let forged = callback.replace(&format!("state={state}"), "state=forged");
    let (status, _, body) = http_get(&forged);
    assert_eq!(status, 400);
    assert!(body.contains("State mismatch"), "{body}");
    let (status, _, _) = http_get(&callback);
    assert_eq!(status, 200);
    assert_eq!(login.finish(30).code, 0);
}

#[test]
fn callback_errors_fail_the_login_and_keep_old_credentials() {
    for (suffix, page, message) in [
        (
            "error=access_denied&error_description=The+user+said+no",
            "Sign-in failed: The user said no",
            "the sign-in was refused: The user said no (access_denied). Your previous credentials were kept\n",
        ),
        (
            "",
            "did not return an authorization code",
            "the sign-in returned to the callback without an authorization code. Run `codex login` again\n",
        ),
    ] {
        let env = Env::new();
        env.write_auth(OLD_AUTH);
        let fake = Peer::fake_issuer(env.dir.path(), &[]);
        let login = openai_login(&env, &fake);
        let url = authorize_url(&login);
        let q = query(&url);
        let callback = format!("{}?state={}&{suffix}", q["redirect_uri"], q["state"]);
        let (status, _, body) = http_get(&callback);
        assert_eq!(status, 400);
        assert!(body.contains(page), "{body}");
        let run = login.finish(30);
        assert_eq!(run.code, 1);
        assert!(run.stderr.ends_with(message), "{run:?}");
        assert_eq!(env.read_auth(), OLD_AUTH);
    }
}

#[test]
fn token_endpoint_failures_are_reported_and_old_credentials_stay() {
    let cases: [(&str, &str); 3] = [
        ("code-500", "refused the sign-in: "),
        (
            "token-malformed",
            "answered with something that is not a token response",
        ),
        (
            "token-hang",
            "timed out. The sign-in was not completed; run `codex login` again",
        ),
    ];
    std::thread::scope(|s| {
        for (scenario, expected) in cases {
            s.spawn(move || {
                let env = Env::new();
                env.write_auth(OLD_AUTH);
                let fake = Peer::fake_issuer(env.dir.path(), &["--scenario", scenario]);
                let login = openai_login(&env, &fake);
                let callback = callback_from_fake(&authorize_url(&login));
                let (status, _, body) = http_get(&callback);
                assert_eq!(status, 500, "{scenario}: {body}");
                let run = login.finish(60);
                assert_eq!(run.code, 1, "{scenario}: {run:?}");
                assert!(run.stderr.contains(expected), "{scenario}: {run:?}");
                assert!(
                    !run.stderr.contains("eyJ"),
                    "{scenario}: a token leaked: {run:?}"
                );
                assert_eq!(env.read_auth(), OLD_AUTH, "{scenario}");
            });
        }
    });
}

#[test]
fn an_unreachable_issuer_is_named() {
    let env = Env::new();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let issuer = format!("http://127.0.0.1:{port}");
    let mut cmd = env.cmd(&["login", "--no-browser", "--port", "0"]);
    cmd.env("CODEX_AUTH_ISSUER", &issuer);
    let run = common::run_cmd(cmd, None);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.starts_with(&format!(
            "cannot read the OpenID Connect discovery document of `{issuer}`: request to {issuer}/.well-known/openid-configuration failed: could not connect: "
        )),
        "{run:?}"
    );
    assert!(
        run.stderr
            .ends_with("Check the issuer URL ([auth] issuer, CODEX_AUTH_ISSUER or --issuer)\n"),
        "{run:?}"
    );
}

#[test]
fn timeout_and_forced_api_login() {
    let env = Env::new();
    env.write_auth(OLD_AUTH);
    let fake = Peer::fake_issuer(env.dir.path(), &[]);
    let login = start_login(&env, &fake.url, "openai", "x", &["--timeout", "1"]);
    let run = login.finish(30);
    assert_eq!(run.code, 1);
    assert!(run.stderr.ends_with("timed out after 1 s waiting for the sign-in to finish in the browser. Your previous credentials were kept. Run `codex login` again (or `codex login --device-auth` on a machine without a browser)\n"), "{run:?}");
    assert_eq!(env.read_auth(), OLD_AUTH);

    env.write_config("forced_login_method = \"api\"\n");
    let run = start_login(&env, &fake.url, "openai", "x", &[]).finish(30);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        "ChatGPT login is disabled. Use API key login instead.\n"
    );
    assert_eq!(
        run.stdout,
        "{\"event\":\"error\",\"message\":\"ChatGPT login is disabled. Use API key login instead.\"}\n"
    );
}

/// The tests of this file that use the fixed ports 1455 and 1457 take turns.
static FIXED_PORTS: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn fixed_ports() -> std::sync::MutexGuard<'static, ()> {
    FIXED_PORTS.lock().unwrap_or_else(|e| e.into_inner())
}

/// `codex login --json --no-browser` on the default ports, against `issuer`.
fn default_port_login(env: &Env, issuer: &str, protocol: &str, client_id: &str) -> Background {
    let mut cmd = env.cmd(&["login", "--json", "--no-browser"]);
    cmd.env("CODEX_AUTH_ISSUER", issuer)
        .env("CODEX_AUTH_PROTOCOL", protocol)
        .env("CODEX_AUTH_CLIENT_ID", client_id);
    Background::spawn(cmd)
}

#[test]
fn default_ports_stale_login_cancel_and_ctrl_c() {
    let _ports = fixed_ports();
    let env = Env::new();
    env.write_auth(OLD_AUTH);
    let fake = Peer::fake_issuer(env.dir.path(), &[]);
    let default_login =
        || default_port_login(&env, &fake.url, "openai", "app_EMoamEEZ73f0CkXaXp7hrann");
    // A second login takes the port over from a stale one.
    let first = default_login();
    assert_eq!(first.next_event()["port"], 1455);
    let second = default_login();
    assert_eq!(second.next_event()["port"], 1455);
    let run = first.finish(30);
    assert_eq!(run.code, 1);
    assert!(run.stderr.ends_with("Login cancelled: another `codex login` took over the callback port. Your previous credentials were kept.\n"), "{run:?}");

    // Ctrl-C cancels cleanly and frees the port.
    common::interrupt(second.pid());
    let run = second.finish(30);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .ends_with("Login cancelled. Your previous credentials were kept.\n"),
        "{run:?}"
    );
    assert_eq!(env.read_auth(), OLD_AUTH);
    std::net::TcpListener::bind("127.0.0.1:1455").expect("1455 free after Ctrl-C");
}

const PORTS_BUSY_NOTE: &str = "Ports 1455 and 1457 on 127.0.0.1 are both in use by other programs, so the browser cannot return here; continuing with the device code sign-in.";

/// 1455 taken by another program: 1457. Both taken: the device-code sign-in when the issuer
/// has one, else a clear error naming the ports and --device-auth.
#[test]
fn busy_default_ports_fall_back_to_1457_then_to_the_device_sign_in() {
    let _ports = fixed_ports();
    let a = std::net::TcpListener::bind("127.0.0.1:1455").expect("1455 free");
    {
        let env = Env::new();
        let fake = Peer::fake_issuer(env.dir.path(), &[]);
        let login = default_port_login(&env, &fake.url, "openai", "app_EMoamEEZ73f0CkXaXp7hrann");
        assert_eq!(login.next_event()["port"], 1457);
    }
    let b = std::net::TcpListener::bind("127.0.0.1:1457").expect("1457 free");
    std::thread::scope(|s| {
        s.spawn(|| {
            let env = Env::new();
            env.write_auth(OLD_AUTH);
            let oidc = Peer::oidc(env.dir.path(), &[("DEVICE_FLOW", "0")]);
            let run = default_port_login(&env, &oidc.url, "oidc", "codex-test-client").finish(60);
            assert_eq!(run.code, 1);
            assert!(run.stderr.ends_with("cannot listen for the sign-in callback: ports 1455 and 1457 on 127.0.0.1 are both in use by other programs. Free one of them, or sign in without a callback: codex login --device-auth\n"), "{run:?}");
            assert_eq!(env.read_auth(), OLD_AUTH);
        });
        s.spawn(|| {
            let env = Env::new();
            env.write_auth(OLD_AUTH);
            let oidc = Peer::oidc(env.dir.path(), &[("DEVICE_INTERVAL", "1")]);
            let login = default_port_login(&env, &oidc.url, "oidc", "codex-test-client");
            let note = login.next_event();
            assert_eq!(note["event"], "note", "{note}");
            assert_eq!(note["message"], PORTS_BUSY_NOTE);
            let code = login.next_event();
            assert_eq!(code["event"], "device_code", "{code}");
            agent_ok(&["device", &oidc.url, code["user_code"].as_str().unwrap()]);
            assert_alice_signed_in_at(&env, &login.finish(30), &oidc);
        });
        s.spawn(|| {
            let env = Env::new();
            let fake = Peer::fake_issuer(
                env.dir.path(),
                &["--device-sequence", "403,200", "--interval", "1"],
            );
            let mut cmd = env.cmd(&["login", "--no-browser"]);
            cmd.env("CODEX_AUTH_ISSUER", &fake.url)
                .env("CODEX_AUTH_PROTOCOL", "openai");
            let run = Background::spawn(cmd).finish(60);
            assert_eq!(run.code, 0, "{run:?}");
            assert!(
                run.stderr.starts_with(&format!(
                    "{PORTS_BUSY_NOTE}\nFollow these steps to sign in "
                )),
                "{run:?}"
            );
            let doc: Value = serde_json::from_str(&env.read_auth()).unwrap();
            assert_eq!(doc["auth_mode"], "chatgpt");
        });
    });
    drop((a, b));
}

#[test]
fn no_secret_reaches_the_trace_log() {
    let env = Env::new();
    let fake = Peer::fake_issuer(env.dir.path(), &[]);
    let mut cmd = env.cmd(&["login", "--json", "--no-browser", "--port", "0"]);
    cmd.env("CODEX_AUTH_ISSUER", &fake.url)
        .env("CODEX_AUTH_PROTOCOL", "openai")
        .env("RUST_LOG", "trace");
    let login = Background::spawn(cmd);
    let callback = callback_from_fake(&authorize_url(&login));
    assert_eq!(http_get(&callback).0, 200);
    let run = login.finish(30);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("TRACE"), "no trace output");
    let doc: Value = serde_json::from_str(&env.read_auth()).unwrap();
    let exchange = fake
        .requests()
        .into_iter()
        .find(|r| r["parsed"]["grant_type"] == "authorization_code")
        .unwrap();
    let secrets = [
        exchange["parsed"]["code"].as_str().unwrap().to_string(),
        exchange["parsed"]["code_verifier"]
            .as_str()
            .unwrap()
            .to_string(),
        doc["tokens"]["id_token"].as_str().unwrap().to_string(),
        doc["tokens"]["access_token"].as_str().unwrap().to_string(),
        doc["tokens"]["refresh_token"].as_str().unwrap().to_string(),
        doc["OPENAI_API_KEY"].as_str().unwrap().to_string(),
    ];
    for secret in secrets {
        assert!(secret.len() > 10);
        assert!(
            !run.stderr.contains(&secret),
            "a secret reached the log: {secret}"
        );
        assert!(!run.stdout.contains(&secret), "a secret reached stdout");
    }
}

#[test]
fn a_failed_api_key_exchange_still_signs_in_without_a_key() {
    let env = Env::new();
    let fake = Peer::fake_issuer(env.dir.path(), &["--scenario", "exchange-fail"]);
    let login = openai_login(&env, &fake);
    let callback = callback_from_fake(&authorize_url(&login));
    assert_eq!(http_get(&callback).0, 200);
    let run = login.finish(30);
    assert_eq!(run.code, 0, "{run:?}");
    let doc: Value = serde_json::from_str(&env.read_auth()).unwrap();
    assert_eq!(doc["auth_mode"], "chatgpt");
    assert_eq!(doc["OPENAI_API_KEY"], Value::Null);
}

#[test]
fn issuer_settings_from_config_and_their_precedence() {
    let env = Env::new();
    let oidc = Peer::oidc(env.dir.path(), &[]);
    env.write_config(&format!(
        "[auth]\nissuer = \"{}\"\nclient_id = \"from-config\"\nprotocol = \"oidc\"\nscopes = [\"openid\", \"email\", \"offline_access\"]\n",
        oidc.url
    ));
    let url_of = |extra_env: &[(&str, &str)], args: &[&str]| {
        let mut all = vec![
            "login",
            "--json",
            "--no-browser",
            "--port",
            "0",
            "--timeout",
            "1",
        ];
        all.extend_from_slice(args);
        let mut cmd = env.cmd(&all);
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let login = Background::spawn(cmd);
        let url = authorize_url(&login);
        assert_eq!(login.finish(30).code, 1, "times out");
        url
    };
    let q = query(&url_of(&[], &[]));
    assert_eq!(q["client_id"], "from-config");
    assert_eq!(q["scope"], "openid email offline_access");
    let q = query(&url_of(&[("CODEX_AUTH_CLIENT_ID", "from-env")], &[]));
    assert_eq!(q["client_id"], "from-env");
    let q = query(&url_of(
        &[("CODEX_AUTH_CLIENT_ID", "from-env")],
        &["--client-id", "from-flag"],
    ));
    assert_eq!(q["client_id"], "from-flag");
    assert!(
        url_of(&[], &[]).starts_with(&format!("{}/auth?", oidc.url)),
        "discovered endpoint"
    );
}

#[test]
fn other_routes_are_404_and_pages_are_self_contained() {
    let env = Env::new();
    let fake = Peer::fake_issuer(env.dir.path(), &[]);
    let login = openai_login(&env, &fake);
    let callback = callback_from_fake(&authorize_url(&login));
    let base = callback.split("/auth/callback").next().unwrap().to_string();
    let (status, _, body) = http_get(&format!("{base}/favicon.ico"));
    assert_eq!(status, 404, "{body}");
    let (status, _, success) = http_get(&format!("{base}/success"));
    assert_eq!(status, 200);
    let (_, _, done) = http_get(&callback);
    assert_eq!(login.finish(30).code, 0);
    for page in [&body, &success, &done] {
        assert!(page.starts_with("<!doctype html>"), "{page}");
        for external in ["src=", "href=", "http://", "https://", "@import"] {
            assert!(
                !page.contains(external),
                "external asset `{external}` in {page}"
            );
        }
    }
}

/// A stand-in `xdg-open` (what the `open` crate runs on Linux) that records the URL it gets.
fn fake_browser(dir: &std::path::Path) -> (String, std::path::PathBuf) {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let record = dir.join("opened.txt");
    let script = bin.join("xdg-open");
    std::fs::write(
        &script,
        format!("#!/bin/sh\nprintf '%s' \"$1\" > {}\n", record.display()),
    )
    .unwrap();
    common::set_mode(&script, 0o755);
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    (path, record)
}

#[test]
fn the_browser_is_opened_with_a_display_and_not_over_ssh() {
    for ssh in [false, true] {
        let env = Env::new();
        let fake = Peer::fake_issuer(env.dir.path(), &[]);
        let (path, record) = fake_browser(env.dir.path());
        let mut cmd = env.cmd(&["login", "--port", "0", "--timeout", "1"]);
        cmd.env("CODEX_AUTH_ISSUER", &fake.url)
            .env("CODEX_AUTH_PROTOCOL", "openai")
            .env("DISPLAY", ":0")
            .env("PATH", path);
        if ssh {
            cmd.env("SSH_CONNECTION", "10.0.0.1 50000 10.0.0.2 22");
        }
        let run = Background::spawn(cmd).finish(30);
        assert_eq!(run.code, 1, "times out: {run:?}");
        let url = run
            .stderr
            .lines()
            .find(|l| l.starts_with(&fake.url))
            .expect("the URL is printed in any case");
        if ssh {
            assert!(
                run.stderr
                    .contains("\nOpen this URL in a browser to authenticate:\n"),
                "{run:?}"
            );
            assert!(!record.exists(), "no browser over SSH");
        } else {
            assert!(
                run.stderr.contains(
                    "\nIf your browser did not open, navigate to this URL to authenticate:\n"
                ),
                "{run:?}"
            );
            for _ in 0..50 {
                if record.exists() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            assert_eq!(std::fs::read_to_string(&record).unwrap(), url);
        }
    }
}
