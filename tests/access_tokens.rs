//! Personal access tokens, black box: `codex login --with-access-token` stores exactly what the
//! reference stores, `CODEX_ACCESS_TOKEN` works for one run without writing anything, each run
//! looks the token up once at the fake issuer's whoami, and requests carry Bearer `at-...` with
//! `ChatGPT-Account-ID`. Texts are pinned in tests/snapshots/access_tokens__*.snap.

mod common;

use common::transcript::Transcript;
use common::workload::{PAT, Wif};
use serde_json::json;

/// auth.json byte for byte as the reference writes it for a personal access token.
fn reference_pat_json(token: &str) -> String {
    format!("{{\n  \"OPENAI_API_KEY\": null,\n  \"personal_access_token\": \"{token}\"\n}}")
}

fn transcript(wif: &Wif) -> Transcript {
    let mut t = Transcript::of(&wif.env);
    t.redact(&wif.issuer.url, "[ISSUER]");
    t.redact(&wif.api.url, "[API]");
    t
}

#[test]
fn login_stores_the_references_shape_and_exec_uses_it() {
    let wif = Wif::start(&[], serde_json::Value::Null);
    let mut t = transcript(&wif);
    let login = wif.run_stdin(
        &["login", "--with-access-token"],
        &[],
        format!("{PAT}\n").as_bytes(),
    );
    assert_eq!(login.code, 0, "{login:?}");
    t.push_titled(
        "printenv CODEX_ACCESS_TOKEN | codex login --with-access-token",
        &login,
    );
    assert_eq!(wif.env.read_auth(), reference_pat_json(PAT));
    assert_eq!(common::mode_of(&wif.env.auth_path()), 0o600);
    assert_eq!(wif.whoamis(), 1, "looked up once before saving");

    let status = wif.run(&["login", "status"], &[]);
    assert_eq!(status.code, 0, "{status:?}");
    assert!(
        status
            .stderr
            .starts_with("Logged in using personal access token\n"),
        "{}",
        status.stderr
    );
    t.push_titled("codex login status", &status);
    let json = wif.run(&["login", "status", "--json"], &[]);
    let object: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(object["mode"], "personalAccessToken");
    assert_eq!(object["account_id"], "acct_fake_1");
    t.push_titled("codex login status --json", &json);

    wif.run(&["exec", "hi"], &[])
        .assert(0, "Hello from fake\n", "");
    assert_eq!(
        wif.api_requests(),
        [(
            format!("Bearer {PAT}"),
            "acct_fake_1".to_string(),
            String::new()
        )]
    );
    let token = wif.run(&["login", "token"], &[]);
    token.assert(0, &format!("{PAT}\n"), "");
    let from_env = wif.run(&["login", "status"], &[("CODEX_ACCESS_TOKEN", PAT)]);
    assert_eq!(from_env.code, 0, "{from_env:?}");
    t.push_titled("CODEX_ACCESS_TOKEN=... codex login status", &from_env);
    let logout = wif.run(&["logout"], &[]);
    assert_eq!(logout.code, 0, "{logout:?}");
    assert!(!wif.env.auth_path().exists());
    insta::assert_snapshot!("login_status_logout", t.finish());
}

#[test]
fn the_references_file_reads_back_and_fedramp_is_sent() {
    let wif = Wif::start(&["--fedramp"], serde_json::Value::Null);
    wif.env.write_auth(&reference_pat_json(PAT));
    wif.run(&["exec", "hi"], &[])
        .assert(0, "Hello from fake\n", "");
    assert_eq!(
        wif.api_requests(),
        [(
            format!("Bearer {PAT}"),
            "acct_fake_1".to_string(),
            "true".to_string()
        )]
    );
    assert_eq!(
        wif.env.read_auth(),
        reference_pat_json(PAT),
        "read, not rewritten"
    );
}

#[test]
fn the_environment_token_is_used_once_per_run_and_never_written() {
    let wif = Wif::start(&[], serde_json::Value::Null);
    wif.env
        .write_auth(&common::api_key_json("sk-stored-key-0123456789"));
    let before = wif.env.read_auth();
    let vars = [("CODEX_ACCESS_TOKEN", PAT)];
    wif.run(&["exec", "hi"], &vars)
        .assert(0, "Hello from fake\n", "");
    assert_eq!(
        wif.api_requests()[0].0,
        format!("Bearer {PAT}"),
        "it wins over auth.json"
    );
    assert_eq!(wif.whoamis(), 1);
    let status = wif.run(&["login", "status"], &vars);
    assert_eq!(status.code, 0, "{status:?}");
    assert!(
        status
            .stderr
            .starts_with("Logged in using personal access token\n"),
        "{}",
        status.stderr
    );
    assert_eq!(wif.env.read_auth(), before);
    let token = wif.run(&["login", "token"], &vars);
    token.assert(0, &format!("{PAT}\n"), "");
    // CODEX_API_KEY comes first for exec.
    wif.run(
        &["exec", "hi"],
        &[("CODEX_ACCESS_TOKEN", PAT), ("CODEX_API_KEY", "sk-env-key")],
    );
    assert_eq!(wif.api_requests()[1].0, "Bearer sk-env-key");
}

#[test]
fn refusals_before_anything_is_saved() {
    let wif = Wif::start(&[], serde_json::Value::Null);
    let mut t = transcript(&wif);
    let agent_jwt = common::jwt(json!({"agent_runtime_id": "rt-1", "account_id": "acct_fake_1"}));
    let cases: Vec<(&str, Vec<&str>, String)> = vec![
        (
            "both sources",
            vec!["login", "--with-api-key", "--with-access-token"],
            format!("{PAT}\n"),
        ),
        (
            "an agent identity token",
            vec!["login", "--with-access-token"],
            format!("{agent_jwt}\n"),
        ),
        (
            "nothing piped in",
            vec!["login", "--with-access-token"],
            "\n".to_string(),
        ),
        (
            "two words",
            vec!["login", "--with-access-token"],
            format!("{PAT} extra\n"),
        ),
        (
            "a token whoami does not know",
            vec!["login", "--with-access-token"],
            "at-unknown-token\n".to_string(),
        ),
        (
            "forced_login_method = \"api\"",
            vec![
                "-c",
                "forced_login_method=\"api\"",
                "login",
                "--with-access-token",
            ],
            format!("{PAT}\n"),
        ),
        (
            "another workspace",
            vec![
                "-c",
                "forced_chatgpt_workspace_id=\"ws_other\"",
                "login",
                "--with-access-token",
            ],
            format!("{PAT}\n"),
        ),
    ];
    for (what, args, input) in cases {
        let run = wif.run_stdin(&args, &[], input.as_bytes());
        let code = if what == "both sources" { 2 } else { 1 };
        assert_eq!(run.code, code, "{what}: {run:?}");
        assert!(!wif.env.auth_path().exists(), "{what}: nothing written");
        t.note(&format!("# {what}"));
        let shown = input
            .replace(PAT, "$CODEX_ACCESS_TOKEN")
            .replace(&agent_jwt, "[AGENT JWT]");
        t.push_titled(
            &common::transcript::title(&[], &args, Some(shown.as_bytes())),
            &run,
        );
    }
    let env_agent = wif.run(&["exec", "hi"], &[("CODEX_ACCESS_TOKEN", &agent_jwt)]);
    assert_eq!(env_agent.code, 1, "{env_agent:?}");
    t.note("# CODEX_ACCESS_TOKEN holds an agent identity token");
    t.push_titled("CODEX_ACCESS_TOKEN='[AGENT JWT]' codex exec hi", &env_agent);
    assert!(wif.api_requests().is_empty(), "never sent as a Bearer");
    insta::assert_snapshot!("refusals", t.finish());
}

#[test]
fn whoami_failures_are_clear() {
    let mut t = Transcript::new();
    for (what, args) in [
        ("HTTP 500", &["--scenario", "whoami-500"][..]),
        ("an HTML page", &["--scenario", "whoami-garbage"][..]),
        ("an unknown token (401)", &[][..]),
    ] {
        let wif = Wif::start(args, serde_json::Value::Null);
        let token = if what.contains("unknown") {
            "at-revoked-token"
        } else {
            PAT
        };
        let run = wif.run(&["exec", "hi"], &[("CODEX_ACCESS_TOKEN", token)]);
        assert_eq!(run.code, 1, "{what}: {run:?}");
        assert!(
            run.stderr.contains("CODEX_ACCESS_TOKEN"),
            "{what}: {}",
            run.stderr
        );
        assert!(wif.api_requests().is_empty());
        let mut one = transcript(&wif);
        one.note(&format!("# whoami answers {what}"));
        one.push_titled("CODEX_ACCESS_TOKEN=... codex exec hi", &run);
        t.note(&one.finish());
    }
    // The token is not sent over plain HTTP to another host.
    let wif = Wif::start(&[], serde_json::Value::Null);
    let run = wif.run(
        &["exec", "hi"],
        &[
            ("CODEX_ACCESS_TOKEN", PAT),
            (
                "CODEX_AUTHAPI_BASE_URL",
                "http://auth.example.invalid/api/accounts",
            ),
        ],
    );
    assert_eq!(run.code, 1, "{run:?}");
    t.push_titled("CODEX_ACCESS_TOKEN=... CODEX_AUTHAPI_BASE_URL=http://auth.example.invalid/api/accounts codex exec hi", &run);
    insta::assert_snapshot!("whoami_failures", t.finish());
}

#[test]
fn a_refused_token_says_how_to_replace_it() {
    let wif = Wif::start(
        &[],
        json!([{"path": "/responses", "status": 401, "repeat": -1, "json": {"error": {
            "message": "Your access token was revoked.", "code": "token_revoked"}}}]),
    );
    let mut t = transcript(&wif);
    let env_run = wif.run(&["exec", "hi"], &[("CODEX_ACCESS_TOKEN", PAT)]);
    assert_eq!(env_run.code, 1, "{env_run:?}");
    t.push_titled("CODEX_ACCESS_TOKEN=... codex exec hi", &env_run);
    wif.env.write_auth(&reference_pat_json(PAT));
    let stored = wif.run(&["exec", "hi"], &[]);
    assert_eq!(stored.code, 1, "{stored:?}");
    t.push_titled("codex exec hi", &stored);
    assert_eq!(
        wif.api_requests().len(),
        2,
        "no retry: a PAT has no refresh"
    );
    insta::assert_snapshot!("refused_token", t.finish());
}

#[test]
fn no_secret_reaches_a_log_at_trace() {
    let wif = Wif::start(&[], serde_json::Value::Null);
    let mut cmd = wif.cmd(&["exec", "hi"], &[("CODEX_ACCESS_TOKEN", PAT)]);
    cmd.env("RUST_LOG", "trace");
    let run = common::run_cmd(cmd, None);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr.contains("personal access token"),
        "the run logged"
    );
    assert!(!run.stderr.contains(PAT));
    let mut cmd = wif.cmd(&["login", "--with-access-token"], &[]);
    cmd.env("RUST_LOG", "trace");
    let run = common::run_cmd(cmd, Some(format!("{PAT}\n").as_bytes()));
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!run.stderr.contains(PAT));
}

#[test]
fn the_keyring_holds_the_references_compact_form() {
    let session = common::keyring::Session::with_keyring();
    let wif = Wif::start(&[], serde_json::Value::Null);
    let config = std::fs::read_to_string(wif.env.home.join("config.toml")).unwrap();
    wif.env.write_config(&format!(
        "{config}cli_auth_credentials_store = \"keyring\"\n"
    ));
    let codex = |args: &[&str]| {
        let mut cmd = session.codex(&wif.env, args);
        cmd.env("CODEX_AUTH_ISSUER", &wif.issuer.url)
            .env("CODEX_AUTH_PROTOCOL", "openai");
        cmd
    };
    let login = common::run_cmd(
        codex(&["login", "--with-access-token"]),
        Some(format!("{PAT}\n").as_bytes()),
    );
    assert_eq!(login.code, 0, "{login:?}");
    assert!(!wif.env.auth_path().exists(), "no plain-text copy");
    assert_eq!(
        session.lookup(&common::keyring::account(&wif.env)),
        Some(format!(
            r#"{{"OPENAI_API_KEY":null,"personal_access_token":"{PAT}"}}"#
        ))
    );
    common::run_cmd(codex(&["exec", "hi"]), None).assert(0, "Hello from fake\n", "");
    assert_eq!(wif.api_requests()[0].0, format!("Bearer {PAT}"));
}
