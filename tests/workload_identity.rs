//! Workload identity federation, black box: the workload's OIDC tokens are signed by the real
//! OAuth server (tests/peers/oidc), the fake ChatGPT issuer's jwt-bearer grant verifies them
//! against that server's JWKS and maps the federation rule to an account, and `codex exec` sends
//! the exchanged token to the fake Responses API. Texts are pinned in
//! tests/snapshots/workload_identity__*.snap.

mod common;

use common::transcript::Transcript;
use common::workload::{ACTIONS_REQUEST_TOKEN, JWT_BEARER, RULE, Wif, oidc};
use serde_json::json;

fn vars(wif: &Wif) -> Vec<(&'static str, String)> {
    wif.file_vars()
}

fn run(wif: &Wif, args: &[&str], extra: &[(&str, &str)]) -> common::Run {
    let vars = vars(wif);
    let mut all: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    all.extend_from_slice(extra);
    wif.run(args, &all)
}

/// A transcript with this test's peers and paths redacted.
fn transcript(wif: &Wif) -> Transcript {
    let mut t = Transcript::of(&wif.env);
    t.redact(&wif.issuer.url, "[ISSUER]");
    t.redact(&wif.api.url, "[API]");
    t.redact(&oidc().url, "[OIDC]");
    t
}

fn record(t: &mut Transcript, title: &str, run: &common::Run) {
    t.push_titled(title, run);
}

#[test]
fn exec_with_a_token_file_sends_the_exchanged_token_and_writes_nothing() {
    let wif = Wif::start(&[], serde_json::Value::Null);
    let assertion = wif.write_token();
    let run = run(&wif, &["exec", "hi"], &[]);
    run.assert(0, "Hello from fake\n", "");

    let exchanges = wif.exchanges();
    assert_eq!(exchanges.len(), 1);
    assert_eq!(
        exchanges[0],
        json!({"grant_type": JWT_BEARER, "assertion": assertion, "federation_rule_id": RULE}),
        "exactly the three fields, the file's contents trimmed"
    );
    let requests = wif.api_requests();
    assert_eq!(requests.len(), 1);
    let (authorization, account, _) = &requests[0];
    let token = authorization
        .strip_prefix("Bearer ")
        .expect("a Bearer token");
    let claims = common::jwt_payload(token);
    assert_eq!(
        claims["https://api.openai.com/auth"]["chatgpt_account_id"],
        "acct_fake_1"
    );
    assert_eq!(account, "acct_fake_1");
    assert!(
        !wif.env.auth_path().exists(),
        "the token lives in memory only"
    );
    assert_eq!(
        std::fs::read_dir(&wif.env.home).unwrap().count(),
        1,
        "only config.toml"
    );
}

#[test]
fn the_context_is_sent_unchanged_when_set() {
    let wif = Wif::start(&[], serde_json::Value::Null);
    wif.write_token();
    let context = r#"{"job": "build #7", "repo": "org/app"}"#;
    let run = run(
        &wif,
        &["exec", "hi"],
        &[("OPENAI_WORKLOAD_IDENTITY_CONTEXT", context)],
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(wif.exchanges()[0]["workload_identity_context"], context);
}

#[test]
fn github_actions_needs_no_file() {
    let wif = Wif::start(&[], serde_json::Value::Null);
    let request_url = format!("{}/_actions/idtoken?api-version=2.0", oidc().url);
    let actions = [
        ("OPENAI_FEDERATION_RULE_ID", RULE),
        ("ACTIONS_ID_TOKEN_REQUEST_URL", request_url.as_str()),
        ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", ACTIONS_REQUEST_TOKEN),
    ];
    let run = wif.run(&["exec", "hi"], &actions);
    run.assert(0, "Hello from fake\n", "");
    // The default audience is the issuer's URL, which the fake issuer expects.
    let asked: Vec<_> = oidc()
        .requests()
        .into_iter()
        .filter(|r| r["path"] == "/_actions/idtoken" && r["audience"] == wif.issuer.url.as_str())
        .collect();
    assert!(
        !asked.is_empty(),
        "the job's token was asked for the issuer's audience"
    );
    assert_eq!(wif.exchanges().len(), 1);

    // Another audience, where the issuer expects one.
    let custom = Wif::start(
        &["--wif-audience", "api://codex-ci"],
        serde_json::Value::Null,
    );
    let mut with_audience = actions.to_vec();
    with_audience.push(("CODEX_IDENTITY_TOKEN_AUDIENCE", "api://codex-ci"));
    custom
        .run(&["exec", "hi"], &with_audience)
        .assert(0, "Hello from fake\n", "");
    let refused = custom.run(&["exec", "hi"], &actions);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(
        refused.stderr.contains("invalid_grant"),
        "{}",
        refused.stderr
    );

    // The request token is a credential: not sent over plain HTTP to another host.
    let insecure = [
        ("OPENAI_FEDERATION_RULE_ID", RULE),
        (
            "ACTIONS_ID_TOKEN_REQUEST_URL",
            "http://actions.example.invalid/idtoken?api-version=2.0",
        ),
        ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", ACTIONS_REQUEST_TOKEN),
    ];
    let run = wif.run(&["exec", "hi"], &insecure);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains("ACTIONS_ID_TOKEN_REQUEST_URL"),
        "{}",
        run.stderr
    );
}

#[test]
fn the_file_is_read_again_at_every_run() {
    let wif = Wif::start(&[], serde_json::Value::Null);
    let first = wif.write_token();
    assert_eq!(run(&wif, &["exec", "hi"], &[]).code, 0);
    let second = wif.write_token();
    assert_ne!(first, second);
    assert_eq!(run(&wif, &["exec", "hi"], &[]).code, 0);
    let sent: Vec<_> = wif
        .exchanges()
        .iter()
        .map(|e| e["assertion"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(sent, [first, second]);
}

#[test]
fn a_401_leads_to_one_new_exchange_and_one_retry() {
    let wif = Wif::start(
        &[],
        json!([{"path": "/responses", "status": 401, "json": {"error": {
            "message": "token revoked", "code": "invalid_token"}}}]),
    );
    wif.write_token();
    run(&wif, &["exec", "hi"], &[]).assert(0, "Hello from fake\n", "");
    assert_eq!(wif.exchanges().len(), 2);
    let tokens: Vec<_> = wif.api_requests().into_iter().map(|r| r.0).collect();
    assert_eq!(tokens.len(), 2);
    assert_ne!(tokens[0], tokens[1], "the retry carries the new token");

    // A 401 that repeats: one new exchange, then the refusal stands.
    let wif = Wif::start(
        &[],
        json!([{"path": "/responses", "status": 401, "repeat": -1}]),
    );
    wif.write_token();
    let run = run(&wif, &["exec", "hi"], &[]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(wif.exchanges().len(), 2);
    assert_eq!(wif.api_requests().len(), 2);
}

#[test]
fn a_new_token_for_another_principal_is_refused() {
    for variant in ["wif_other_account", "wif_other_user"] {
        let wif = Wif::start(
            &[
                "--script",
                &script_file(json!([
                    {"path": "/oauth/token", "match": {"grant_type": JWT_BEARER}, "action": "default"},
                    {"path": "/oauth/token", "match": {"grant_type": JWT_BEARER}, "action": variant},
                ])),
            ],
            json!([{"path": "/responses", "status": 401}]),
        );
        wif.write_token();
        let run = run(&wif, &["exec", "hi"], &[]);
        assert_eq!(run.code, 1, "{variant}: {run:?}");
        assert!(run.stderr.contains("was refused"), "{}", run.stderr);
        assert_eq!(wif.api_requests().len(), 1, "{variant}: no retry with it");
    }
}

/// A script for the fake issuer in a file that lives as long as the test process.
fn script_file(script: serde_json::Value) -> String {
    let dir: &'static tempfile::TempDir = Box::leak(Box::new(tempfile::tempdir().unwrap()));
    let path = dir.path().join("script.json");
    std::fs::write(&path, script.to_string()).unwrap();
    path.display().to_string()
}

#[test]
fn partial_setups_fail_closed() {
    let wif = Wif::start(&[], serde_json::Value::Null);
    // A stored API key that must not be used instead.
    wif.env
        .write_auth(&common::api_key_json("sk-stored-key-0123456789"));
    let mut t = transcript(&wif);
    let file = wif.token_file.display().to_string();
    for setup in [
        vec![("OPENAI_FEDERATION_RULE_ID", RULE)],
        vec![("OPENAI_IDENTITY_TOKEN_FILE", file.as_str())],
        vec![
            ("OPENAI_FEDERATION_RULE_ID", ""),
            ("OPENAI_IDENTITY_TOKEN_FILE", file.as_str()),
        ],
        vec![
            ("OPENAI_FEDERATION_RULE_ID", RULE),
            ("OPENAI_IDENTITY_TOKEN_FILE", "relative/token"),
        ],
        vec![
            ("OPENAI_FEDERATION_RULE_ID", RULE),
            (
                "ACTIONS_ID_TOKEN_REQUEST_URL",
                "https://example.com/idtoken",
            ),
        ],
    ] {
        let mut cmd = wif.cmd(&["exec", "hi"], &setup);
        cmd.env_remove("CODEX_API_KEY");
        let run = common::run_cmd(cmd, None);
        assert_eq!(run.code, 1, "{setup:?}: {run:?}");
        record(
            &mut t,
            &common::transcript::title(&setup, &["exec", "hi"], None),
            &run,
        );
    }
    let forced = [
        ("OPENAI_FEDERATION_RULE_ID", RULE),
        ("OPENAI_IDENTITY_TOKEN_FILE", file.as_str()),
    ];
    let run = wif.run(
        &["-c", "forced_login_method=\"api\"", "exec", "hi"],
        &forced,
    );
    assert_eq!(run.code, 1, "{run:?}");
    record(
        &mut t,
        "OPENAI_FEDERATION_RULE_ID=fr_ci OPENAI_IDENTITY_TOKEN_FILE=[TMP]/identity-token codex -c 'forced_login_method=\"api\"' exec hi",
        &run,
    );
    assert!(
        wif.api_requests().is_empty(),
        "no request with the stored key"
    );
    assert!(wif.exchanges().is_empty());
    insta::assert_snapshot!("partial_setups", t.finish());
}

#[test]
#[cfg(unix)] // a link to a device and a FIFO are among the bad files
fn bad_token_files_are_named_and_nothing_is_sent() {
    let wif = Wif::start(&[], serde_json::Value::Null);
    let mut t = transcript(&wif);
    let path = &wif.token_file;
    let attempt = |t: &mut Transcript, what: &str| {
        let run = run(&wif, &["exec", "hi"], &[]);
        assert_eq!(run.code, 1, "{what}: {run:?}");
        assert!(
            run.stderr.contains("OPENAI_IDENTITY_TOKEN_FILE"),
            "{what}: {}",
            run.stderr
        );
        t.note(&format!("# {what}"));
        record(t, "codex exec hi", &run);
    };
    attempt(&mut t, "missing");
    std::fs::write(path, " \n").unwrap();
    attempt(&mut t, "empty");
    std::fs::write(path, "x".repeat(17 * 1024)).unwrap();
    attempt(&mut t, "17 KiB");
    std::fs::write(path, "this is not a token\n").unwrap();
    attempt(&mut t, "not a JWT");
    std::fs::write(path, [0xff, 0xfe, 0x00]).unwrap();
    attempt(&mut t, "not UTF-8");
    std::fs::remove_file(path).unwrap();
    std::os::unix::fs::symlink("/dev/zero", path).unwrap();
    attempt(&mut t, "a symlink to /dev/zero");
    std::fs::remove_file(path).unwrap();
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
    attempt(&mut t, "a FIFO nobody writes to");
    std::fs::remove_file(path).unwrap();
    std::fs::create_dir(path).unwrap();
    attempt(&mut t, "a directory");
    assert!(wif.exchanges().is_empty(), "no assertion left the machine");
    assert!(wif.api_requests().is_empty());
    insta::assert_snapshot!("bad_token_files", t.finish());
}

#[test]
fn exchange_failures_are_clear_and_leave_nothing_behind() {
    let mut t = Transcript::new();
    let cases: [(&str, &[&str]); 11] = [
        (
            "a token for another audience (the issuer verifies it: 400)",
            &["--wif-audience", "api://other"],
        ),
        ("401", &["--scenario", "wif-401"]),
        ("403", &["--scenario", "wif-403"]),
        ("429 three times (two retries)", &["--scenario", "wif-429"]),
        ("500 three times (two retries)", &["--scenario", "wif-500"]),
        ("an HTML page", &["--scenario", "wif-html"]),
        (
            "a lifetime over one hour",
            &["--scenario", "wif-long-lifetime"],
        ),
        ("no user_id", &["--scenario", "wif-missing-user"]),
        ("a redirect, not followed", &["--scenario", "wif-redirect"]),
        (
            "an unknown federation rule",
            &["--federation-rule", "fr_other"],
        ),
        (
            "a rule for another subject",
            &["--federation-rule", "fr_pinned,sub=someone-else"],
        ),
    ];
    for (what, args) in cases {
        let wif = Wif::start(args, serde_json::Value::Null);
        wif.write_token();
        let rule = if what.contains("unknown") || what.contains("subject") {
            if what.contains("unknown") {
                "fr_nope"
            } else {
                "fr_pinned"
            }
        } else {
            RULE
        };
        let run = run(
            &wif,
            &["exec", "hi"],
            &[("OPENAI_FEDERATION_RULE_ID", rule)],
        );
        assert_eq!(run.code, 1, "{what}: {run:?}");
        assert!(
            run.stderr
                .contains(&format!("{}/oauth/token", wif.issuer.url)),
            "{what}: names the endpoint: {}",
            run.stderr
        );
        assert!(wif.api_requests().is_empty(), "{what}");
        assert!(!wif.env.auth_path().exists(), "{what}");
        if what.contains("redirect") {
            assert!(
                !wif.issuer.requests().iter().any(|r| r["path"] == "/leak"),
                "the redirect was followed"
            );
        }
        let retries = if what.contains("two retries") { 3 } else { 1 };
        assert_eq!(wif.exchanges().len(), retries, "{what}");
        let mut redacted = Transcript::new();
        redacted.redact(&wif.issuer.url, "[ISSUER]");
        redacted.note(&format!("# {what}"));
        record(&mut redacted, "codex exec hi", &run);
        t.note(&redacted.finish());
    }
    insta::assert_snapshot!("exchange_failures", t.finish());
}

#[test]
fn transient_failures_are_retried_twice() {
    let wif = Wif::start(
        &["--scenario", "wif-500:1,wif-429:1"],
        serde_json::Value::Null,
    );
    wif.write_token();
    run(&wif, &["exec", "hi"], &[]).assert(0, "Hello from fake\n", "");
    assert_eq!(wif.exchanges().len(), 3);
}

#[test]
fn plain_http_goes_to_loopback_only() {
    let wif = Wif::start(&[], serde_json::Value::Null);
    wif.write_token();
    let run = run(
        &wif,
        &["exec", "hi"],
        &[("CODEX_AUTH_ISSUER", "http://auth.example.invalid")],
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains("neither HTTPS nor a loopback address"),
        "{}",
        run.stderr
    );
}

#[test]
fn status_token_logout_and_doctor() {
    let wif = Wif::start(&[], serde_json::Value::Null);
    let mut t = transcript(&wif);
    wif.write_token();
    wif.env
        .write_auth(&common::api_key_json("sk-stored-key-0123456789"));
    let before = wif.env.read_auth();
    let title = |args: &str| {
        format!(
            "OPENAI_FEDERATION_RULE_ID=fr_ci OPENAI_IDENTITY_TOKEN_FILE=[TMP]/identity-token codex {args}"
        )
    };

    let status = run(&wif, &["login", "status"], &[]);
    assert_eq!(status.code, 0, "{status:?}");
    assert!(
        status
            .stderr
            .starts_with("Logged in using workload identity\n"),
        "{}",
        status.stderr
    );
    record(&mut t, &title("login status"), &status);
    let json = run(&wif, &["login", "status", "--json"], &[]);
    assert_eq!(json.code, 0, "{json:?}");
    let object: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(object["mode"], "workloadIdentity");
    assert_eq!(object["account_id"], "acct_fake_1");
    record(&mut t, &title("login status --json"), &json);

    let token = run(&wif, &["login", "token"], &[]);
    assert_eq!(token.code, 0, "{token:?}");
    let claims = common::jwt_payload(token.stdout.trim());
    assert_eq!(
        claims["https://api.openai.com/auth"]["chatgpt_account_id"],
        "acct_fake_1"
    );

    let logout = run(&wif, &["logout"], &[]);
    logout.assert(
        1,
        "",
        "workload identity auth is managed by the host and cannot be logged out\n",
    );
    record(&mut t, &title("logout"), &logout);
    assert_eq!(wif.env.read_auth(), before, "logout touched nothing");

    let doctor = run(&wif, &["doctor"], &[]);
    let assertion = std::fs::read_to_string(&wif.token_file).unwrap();
    assert!(!doctor.stdout.contains(assertion.trim()));
    // The rows about the workload identity (the others depend on the machine).
    let rows: Vec<&str> = doctor
        .stdout
        .lines()
        .filter(|l| l.contains("workload identity") || l.contains("identity token file"))
        .collect();
    assert_eq!(rows.len(), 4, "{}", doctor.stdout);
    let size = regex_lite::Regex::new(r"of \d+ bytes").unwrap();
    t.note(&format!(
        "$ {} (the rows about workload identity)\n{}",
        title("doctor"),
        size.replace_all(&rows.join("\n"), "of [N] bytes")
    ));

    // The exchange fails: status says so and exits 1.
    let failing = Wif::start(&["--scenario", "wif-403"], serde_json::Value::Null);
    failing.write_token();
    let mut f = transcript(&failing);
    let status = run(&failing, &["login", "status"], &[]);
    assert_eq!(status.code, 1, "{status:?}");
    record(&mut f, &title("login status"), &status);
    t.note(&f.finish());
    insta::assert_snapshot!("status_token_logout_doctor", t.finish());
}

#[test]
fn no_secret_reaches_a_log_at_trace() {
    let canary_access = "canary-workload-access-token-5f1e";
    let wif = Wif::start(
        &[
            "--script",
            &script_file(json!([
                {"path": "/oauth/token", "match": {"grant_type": JWT_BEARER}, "repeat": -1, "json": {
                    "access_token": canary_access, "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
                    "token_type": "Bearer", "expires_in": 600, "scope": "model.request",
                    "chatgpt_account_id": "acct_fake_1", "chatgpt_account_user_id": "user-fake-1__acct_fake_1",
                    "user_id": "user-fake-1", "chatgpt_plan_type": "pro"}}
            ])),
        ],
        serde_json::Value::Null,
    );
    let assertion = wif.write_token();
    let mut cmd = wif.cmd(&["exec", "hi"], &[]);
    for (k, v) in wif.file_vars() {
        cmd.env(k, v);
    }
    cmd.env("RUST_LOG", "trace");
    let run = common::run_cmd(cmd, None);
    // The fake API takes any JWT or the PAT; this opaque canary is refused with a 401 that
    // quotes it (masked by the API), after one new exchange.
    assert_eq!(wif.exchanges().len(), 2, "{run:?}");
    for secret in [assertion.as_str(), canary_access] {
        assert!(!run.stderr.contains(secret), "a secret in the log");
        assert!(!run.stdout.contains(secret));
    }
    // The GitHub Actions request token too.
    let request_url = format!("{}/_actions/idtoken?api-version=2.0", oidc().url);
    let mut cmd = wif.cmd(
        &["exec", "hi"],
        &[
            ("OPENAI_FEDERATION_RULE_ID", RULE),
            ("ACTIONS_ID_TOKEN_REQUEST_URL", request_url.as_str()),
            ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", ACTIONS_REQUEST_TOKEN),
        ],
    );
    cmd.env("RUST_LOG", "trace");
    let run = common::run_cmd(cmd, None);
    assert!(
        run.stderr.contains("workload"),
        "the run did log: {}",
        run.stderr.len()
    );
    assert!(!run.stderr.contains(ACTIONS_REQUEST_TOKEN));
    assert!(!run.stderr.contains(canary_access));
}

#[test]
fn more_texts() {
    let mut t = Transcript::new();
    let mut section = |wif: &Wif, what: &str, title: &str, run: &common::Run| {
        let mut one = transcript(wif);
        one.note(&format!("# {what}"));
        one.push_titled(title, run);
        t.note(&one.finish());
    };
    let file_title = |args: &str| {
        format!(
            "OPENAI_FEDERATION_RULE_ID=fr_ci OPENAI_IDENTITY_TOKEN_FILE=[TMP]/identity-token codex {args}"
        )
    };

    // A 401 that repeats after the new exchange.
    let wif = Wif::start(
        &[],
        json!([{"path": "/responses", "status": 401, "repeat": -1}]),
    );
    wif.write_token();
    let out = run(&wif, &["exec", "hi"], &[]);
    assert_eq!(out.code, 1, "{out:?}");
    section(
        &wif,
        "the API refuses the token, and the new one too",
        &file_title("exec hi"),
        &out,
    );

    // The new exchange answers for another account.
    let wif = Wif::start(
        &[
            "--script",
            &script_file(json!([
                {"path": "/oauth/token", "match": {"grant_type": JWT_BEARER}, "action": "default"},
                {"path": "/oauth/token", "match": {"grant_type": JWT_BEARER}, "action": "wif_other_account"},
            ])),
        ],
        json!([{"path": "/responses", "status": 401}]),
    );
    wif.write_token();
    let out = run(&wif, &["exec", "hi"], &[]);
    assert_eq!(out.code, 1, "{out:?}");
    section(
        &wif,
        "after a 401, the new token is for another account",
        &file_title("exec hi"),
        &out,
    );

    // GitHub Actions: a wrong request token, and a URL that is not HTTPS.
    let wif = Wif::start(&[], serde_json::Value::Null);
    let request_url = format!("{}/_actions/idtoken?api-version=2.0", oidc().url);
    let wrong = [
        ("OPENAI_FEDERATION_RULE_ID", RULE),
        ("ACTIONS_ID_TOKEN_REQUEST_URL", request_url.as_str()),
        ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "not-the-request-token"),
    ];
    let out = wif.run(&["exec", "hi"], &wrong);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(!out.stderr.contains("not-the-request-token"));
    section(
        &wif,
        "GitHub Actions refuses the request token",
        "OPENAI_FEDERATION_RULE_ID=fr_ci ACTIONS_ID_TOKEN_REQUEST_URL='[OIDC]/_actions/idtoken?api-version=2.0' ACTIONS_ID_TOKEN_REQUEST_TOKEN=... codex exec hi",
        &out,
    );
    let insecure = [
        ("OPENAI_FEDERATION_RULE_ID", RULE),
        (
            "ACTIONS_ID_TOKEN_REQUEST_URL",
            "http://actions.example.invalid/idtoken?api-version=2.0",
        ),
        ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", ACTIONS_REQUEST_TOKEN),
    ];
    let out = wif.run(&["exec", "hi"], &insecure);
    section(
        &wif,
        "an ACTIONS_ID_TOKEN_REQUEST_URL over plain HTTP to another host",
        "OPENAI_FEDERATION_RULE_ID=fr_ci ACTIONS_ID_TOKEN_REQUEST_URL=http://actions.example.invalid/idtoken?api-version=2.0 ACTIONS_ID_TOKEN_REQUEST_TOKEN=... codex exec hi",
        &out,
    );
    let out = wif.run(
        &["login", "status"],
        &[
            ("OPENAI_FEDERATION_RULE_ID", RULE),
            ("ACTIONS_ID_TOKEN_REQUEST_URL", request_url.as_str()),
            ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", ACTIONS_REQUEST_TOKEN),
        ],
    );
    assert_eq!(out.code, 0, "{out:?}");
    section(
        &wif,
        "status on GitHub Actions",
        "OPENAI_FEDERATION_RULE_ID=fr_ci ACTIONS_ID_TOKEN_REQUEST_URL='[OIDC]/_actions/idtoken?api-version=2.0' ACTIONS_ID_TOKEN_REQUEST_TOKEN=... codex login status",
        &out,
    );

    // An issuer that is neither HTTPS nor loopback.
    let out = run_insecure_issuer(&wif);
    section(
        &wif,
        "an issuer over plain HTTP to another host",
        &format!(
            "CODEX_AUTH_ISSUER=http://auth.example.invalid {}",
            file_title("exec hi")
        ),
        &out,
    );

    // doctor with a partial setup, and with an expired token in the file.
    let out = wif.run(
        &["doctor", "--offline"],
        &[("OPENAI_FEDERATION_RULE_ID", RULE)],
    );
    let rows: Vec<&str> = out
        .stdout
        .lines()
        .skip_while(|l| !l.contains("workload identity"))
        .take(2)
        .collect();
    t.note(&format!(
        "# doctor, partial setup\n$ OPENAI_FEDERATION_RULE_ID=fr_ci codex doctor --offline (the workload identity row)\n{}",
        rows.join("\n")
    ));
    let expired = common::jwt(
        json!({"iss": "https://token.example", "aud": "https://auth.openai.com",
        "sub": "system:serviceaccount:ci:runner", "exp": 1_700_000_000}),
    );
    std::fs::write(&wif.token_file, &expired).unwrap();
    let out = run(&wif, &["doctor", "--offline"], &[]);
    let rows: Vec<&str> = out
        .stdout
        .lines()
        .skip_while(|l| !l.contains("identity token file"))
        .take(2)
        .collect();
    t.note(&format!(
        "# doctor, an expired token in the file\n$ {} (the token file row)\n{}",
        file_title("doctor --offline"),
        Transcript::of(&wif.env).note(&rows.join("\n")).finish()
    ));
    insta::assert_snapshot!("more_texts", t.finish());
}

fn run_insecure_issuer(wif: &Wif) -> common::Run {
    wif.write_token();
    run(
        wif,
        &["exec", "hi"],
        &[("CODEX_AUTH_ISSUER", "http://auth.example.invalid")],
    )
}
