//! Issue 4: device-code sign-in, against oidc-provider's RFC 8628 device flow and a faithful
//! fake of OpenAI's own device API.

mod common;

use common::{Background, Env, Peer, agent_ok, assert_alice_signed_in_at, http_get};
use serde_json::Value;

const OLD_AUTH: &str =
    "{\n  \"auth_mode\": \"apikey\",\n  \"OPENAI_API_KEY\": \"sk-old-credentials-123456\"\n}";

fn device_login(env: &Env, issuer: &str, protocol: &str, client_id: &str) -> Background {
    let mut cmd = env.cmd(&["login", "--device-auth", "--json"]);
    cmd.env("CODEX_AUTH_ISSUER", issuer)
        .env("CODEX_AUTH_PROTOCOL", protocol)
        .env("CODEX_AUTH_CLIENT_ID", client_id);
    Background::spawn(cmd)
}

fn approve(issuer: &str, user_code: &str, deny: bool) {
    let mut args = vec!["device", issuer, user_code];
    if deny {
        args.push("--deny");
    }
    agent_ok(&args);
}

/// Times (ms) of the device-code polls at oidc-provider's token endpoint.
fn oidc_polls(peer: &Peer) -> Vec<i64> {
    peer.requests()
        .iter()
        .filter(|r| r["grant_type"] == "urn:ietf:params:oauth:grant-type:device_code")
        .map(|r| r["t"].as_i64().unwrap())
        .collect()
}

#[test]
fn oidc_device_flow_approved() {
    let env = Env::new();
    env.write_auth(OLD_AUTH);
    let oidc = Peer::oidc(env.dir.path(), &[("DEVICE_INTERVAL", "1")]);
    let login = device_login(&env, &oidc.url, "oidc", "codex-test-client");
    let event = login.next_event();
    assert_eq!(event["event"], "device_code");
    assert_eq!(event["verification_uri"], format!("{}/device", oidc.url));
    let code = event["user_code"].as_str().unwrap();
    assert_eq!(
        event["verification_uri_complete"],
        format!("{}/device?user_code={code}", oidc.url)
    );
    assert_eq!(event["expires_in"], 600);
    approve(&oidc.url, code, false);
    let doc = assert_alice_signed_in_at(&env, &login.finish(30), &oidc);
    assert_eq!(doc["OPENAI_API_KEY"], Value::Null);
    let polls = oidc_polls(&oidc);
    assert!(
        polls.windows(2).all(|w| w[1] - w[0] >= 950),
        "polled faster than the interval: {polls:?}"
    );
}

#[test]
fn oidc_device_flow_denied_keeps_old_credentials() {
    let env = Env::new();
    env.write_auth(OLD_AUTH);
    let oidc = Peer::oidc(env.dir.path(), &[("DEVICE_INTERVAL", "1")]);
    let login = device_login(&env, &oidc.url, "oidc", "codex-test-client");
    let code = login.next_event()["user_code"]
        .as_str()
        .unwrap()
        .to_string();
    approve(&oidc.url, &code, true);
    let run = login.finish(30);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.ends_with("the sign-in was refused: the code was declined on the device page (access_denied). Your previous credentials were kept\n"),
        "{run:?}"
    );
    assert_eq!(env.read_auth(), OLD_AUTH);
}

#[test]
fn oidc_device_code_expires() {
    let env = Env::new();
    env.write_auth(OLD_AUTH);
    let oidc = Peer::oidc(
        env.dir.path(),
        &[("DEVICE_INTERVAL", "1"), ("DEVICE_TTL", "3")],
    );
    let login = device_login(&env, &oidc.url, "oidc", "codex-test-client");
    assert_eq!(login.next_event()["expires_in"], 3);
    let run = login.finish(30);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.ends_with("the device code expired before it was approved. Your previous credentials were kept. Run `codex login --device-auth` again\n"),
        "{run:?}"
    );
    assert_eq!(env.read_auth(), OLD_AUTH);
}

#[test]
fn slow_down_grows_the_interval() {
    let env = Env::new();
    let oidc = Peer::oidc(
        env.dir.path(),
        &[("DEVICE_INTERVAL", "1"), ("SLOW_DOWN", "1")],
    );
    let login = device_login(&env, &oidc.url, "oidc", "codex-test-client");
    let code = login.next_event()["user_code"]
        .as_str()
        .unwrap()
        .to_string();
    approve(&oidc.url, &code, false);
    let run = login.finish(40);
    assert_eq!(run.code, 0, "{run:?}");
    let polls = oidc_polls(&oidc);
    assert!(polls.len() >= 2, "{polls:?}");
    // After the slow_down answer the interval is 1 + 5 s.
    assert!(
        polls[1] - polls[0] >= 5_950,
        "next poll too early after slow_down: {polls:?}"
    );
}

fn fake_polls(fake: &Peer) -> Vec<i64> {
    fake.requests()
        .iter()
        .filter(|r| r["path"] == "/api/accounts/deviceauth/token")
        .map(|r| r["t"].as_i64().unwrap())
        .collect()
}

#[test]
fn openai_device_api_string_and_number_intervals() {
    for interval_args in [
        &["--interval", "1"][..],
        &["--interval", "1", "--interval-number"][..],
    ] {
        let env = Env::new();
        let mut args = vec!["--device-sequence", "403,404,200"];
        args.extend_from_slice(interval_args);
        let fake = Peer::fake_issuer(env.dir.path(), &args);
        let login = device_login(&env, &fake.url, "openai", "app_EMoamEEZ73f0CkXaXp7hrann");
        let event = login.next_event();
        assert_eq!(
            event["verification_uri"],
            format!("{}/codex/device", fake.url)
        );
        assert_eq!(event["verification_uri_complete"], Value::Null);
        assert_eq!(event["expires_in"], 900);
        let run = login.finish(30);
        assert_eq!(run.code, 0, "{interval_args:?}: {run:?}");
        let polls = fake_polls(&fake);
        assert_eq!(polls.len(), 3, "403 and 404 mean pending");
        assert!(polls.windows(2).all(|w| w[1] - w[0] >= 950), "{polls:?}");
        let requests = fake.requests();
        let exchange = requests
            .iter()
            .find(|r| r["parsed"]["grant_type"] == "authorization_code")
            .expect("code exchange");
        assert_eq!(
            exchange["parsed"]["redirect_uri"],
            format!("{}/deviceauth/callback", fake.url)
        );
        assert!(
            !requests
                .iter()
                .any(|r| r["parsed"]["grant_type"]
                    == "urn:ietf:params:oauth:grant-type:token-exchange"),
            "a device sign-in makes no API-key exchange"
        );
        let doc: Value = serde_json::from_str(&env.read_auth()).unwrap();
        assert_eq!(doc["OPENAI_API_KEY"], Value::Null);
        assert_eq!(doc["auth_mode"], "chatgpt");
    }
}

#[test]
fn device_code_not_enabled_falls_back_to_the_browser() {
    let env = Env::new();
    let fake = Peer::fake_issuer(env.dir.path(), &["--device-disabled"]);
    let mut cmd = env.cmd(&["login", "--device-auth", "--json"]);
    cmd.env("CODEX_AUTH_ISSUER", &fake.url)
        .env("CODEX_AUTH_PROTOCOL", "openai");
    // The fallback listens on the default port 1455: the only test of this file that does.
    let login = Background::spawn(cmd);
    let note = login.next_event();
    assert_eq!(note["event"], "note");
    assert_eq!(
        note["message"],
        "Device code login is not enabled for this account or server. To use it, enable device code login in your ChatGPT security settings. Continuing with the browser sign-in."
    );
    let event = login.next_event();
    assert_eq!(event["event"], "authorize_url");
    let (status, location, _) = http_get(event["url"].as_str().unwrap());
    assert_eq!(status, 302);
    assert_eq!(http_get(&location.unwrap()).0, 200);
    let run = login.finish(30);
    assert_eq!(run.code, 0, "{run:?}");
}

#[test]
fn a_silent_device_server_times_out() {
    let env = Env::new();
    env.write_auth(OLD_AUTH);
    let fake = Peer::fake_issuer(env.dir.path(), &["--scenario", "usercode-hang"]);
    let run = device_login(&env, &fake.url, "openai", "app_EMoamEEZ73f0CkXaXp7hrann").finish(60);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.ends_with(&format!(
            "device sign-in failed: request to {}/api/accounts/deviceauth/usercode failed: timed out. Your previous credentials were kept\n",
            fake.url
        )),
        "{run:?}"
    );
    assert_eq!(env.read_auth(), OLD_AUTH);
}

#[test]
fn terminal_output_has_the_code_the_warning_and_a_qr_code() {
    let env = Env::new();
    let fake = Peer::fake_issuer(
        env.dir.path(),
        &["--interval", "1", "--device-sequence", "200"],
    );
    let inner = format!(
        "stty cols 120 rows 60; CODEX_HOME={} CODEX_AUTH_ISSUER={} CODEX_AUTH_PROTOCOL=openai {} login --device-auth",
        env.home.display(),
        fake.url,
        common::BIN
    );
    let mut script = std::process::Command::new("script");
    script.args(["-qec", &inner, "/dev/null"]);
    let run = common::run_cmd(script, None);
    assert_eq!(run.code, 0, "{run:?}");
    let code = fake
        .requests()
        .iter()
        .find(|r| r["path"] == "/api/accounts/deviceauth/token")
        .map(|r| r["parsed"]["user_code"].as_str().unwrap().to_string())
        .unwrap();
    let text = run.stdout.replace('\r', "");
    assert!(text.contains(&format!(
        "1. Open this link in your browser and sign in to your account\n   {}/codex/device\n\n2. Enter this one-time code (expires in 15 min)\n   {code}\n\nDevice codes are a common phishing target. Never share this code.\nContinue only if you started this login in Codex. If a website or another person gave you this code, cancel.\n",
        fake.url
    )), "{text}");
    assert!(
        text.contains('▀') || text.contains('▄'),
        "no QR code drawn: {text}"
    );
    assert!(
        text.contains("Successfully logged in as user@example.com (ChatGPT pro plan)"),
        "{text}"
    );

    // --no-qr hides it.
    let inner = inner.replace("--device-auth", "--device-auth --no-qr");
    let mut script = std::process::Command::new("script");
    script.args(["-qec", &inner, "/dev/null"]);
    let run = common::run_cmd(script, None);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!run.stdout.contains('▀'), "{}", run.stdout);
}

#[test]
fn ctrl_c_cancels_a_device_login_and_keeps_old_credentials() {
    let env = Env::new();
    env.write_auth(OLD_AUTH);
    let fake = Peer::fake_issuer(
        env.dir.path(),
        &["--interval", "1", "--device-sequence", "403"],
    );
    let login = device_login(&env, &fake.url, "openai", "app_EMoamEEZ73f0CkXaXp7hrann");
    assert_eq!(login.next_event()["event"], "device_code");
    common::interrupt(login.pid());
    let run = login.finish(10);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .ends_with("Login cancelled. Your previous credentials were kept.\n"),
        "{run:?}"
    );
    assert_eq!(env.read_auth(), OLD_AUTH);
}

#[test]
fn no_device_secret_reaches_the_trace_log() {
    let env = Env::new();
    let fake = Peer::fake_issuer(
        env.dir.path(),
        &["--interval", "1", "--device-sequence", "200"],
    );
    let mut cmd = env.cmd(&["login", "--device-auth", "--json"]);
    cmd.env("CODEX_AUTH_ISSUER", &fake.url)
        .env("CODEX_AUTH_PROTOCOL", "openai")
        .env("RUST_LOG", "trace");
    let run = Background::spawn(cmd).finish(30);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("TRACE"), "no trace output");
    let requests = fake.requests();
    let exchange = requests
        .iter()
        .find(|r| r["parsed"]["grant_type"] == "authorization_code")
        .unwrap();
    let doc: Value = serde_json::from_str(&env.read_auth()).unwrap();
    for secret in [
        exchange["parsed"]["code"].as_str().unwrap(),
        exchange["parsed"]["code_verifier"].as_str().unwrap(),
        doc["tokens"]["access_token"].as_str().unwrap(),
        doc["tokens"]["refresh_token"].as_str().unwrap(),
        doc["tokens"]["id_token"].as_str().unwrap(),
    ] {
        assert!(secret.len() > 10);
        assert!(
            !run.stderr.contains(secret) && !run.stdout.contains(secret),
            "a secret reached the output"
        );
    }
}

#[test]
fn an_oidc_issuer_without_a_device_endpoint_falls_back_to_the_browser() {
    let env = Env::new();
    let oidc = Peer::oidc(env.dir.path(), &[("DEVICE_FLOW", "0")]);
    let mut cmd = env.cmd(&["login", "--device-auth", "--json", "--timeout", "30"]);
    cmd.env("CODEX_AUTH_ISSUER", &oidc.url)
        .env("CODEX_AUTH_CLIENT_ID", "codex-test-client");
    let login = Background::spawn(cmd);
    let note = login.next_event();
    assert_eq!(
        note["message"],
        format!(
            "`{}` offers no device sign-in (no device_authorization_endpoint). Continuing with the browser sign-in.",
            oidc.url
        )
    );
    let event = login.next_event();
    assert_eq!(event["event"], "authorize_url");
    agent_ok(&["authorize", event["url"].as_str().unwrap()]);
    assert_eq!(login.finish(30).code, 0);
}
