//! Issue 14: `codex doctor` against real peers: an HTTPS server with a private CA (rcgen),
//! tinyproxy requiring a login, the fake Responses API (401, a clock 10 minutes off, silence),
//! a callback port held by another process, a locked gnome-keyring. Every report is pinned by
//! an insta snapshot, after the parts that change from run to run (temp paths, ports, pids,
//! timings) are replaced by placeholders.

mod common;

use std::process::{Command, Stdio};
use std::sync::{RwLock, RwLockReadGuard};
use std::time::{Duration, Instant};

use common::keyring::{self, Session};
use common::masks::normalized;
use common::proxy::ProxyServer;
use common::tls::Ca;
use common::{Env, Peer, Run, jwt, now_secs, run_cmd, run_within};
use serde_json::{Value, json};

/// Every report shows whether the callback ports are free: the one test that holds 1455 runs
/// alone (write lock), the others together (read locks).
static CALLBACK_PORTS: RwLock<()> = RwLock::new(());

fn shared_ports() -> RwLockReadGuard<'static, ()> {
    CALLBACK_PORTS.read().unwrap_or_else(|e| e.into_inner())
}

/// Other tools' CA variables, which the doctor searches for the CA a server's chain names; the
/// machine sets some of them, so each test says what they hold.
const OTHER_CA_VARIABLES: &[&str] = &[
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "NODE_EXTRA_CA_CERTS",
    "GIT_SSL_CAINFO",
    "PIP_CERT",
];

const KEY: &str = "sk-proj-doctor-CANARY-key-0123456789";
const MASKED_KEY: &str = "sk-proj-***56789";

fn doctor_cmd(env: &Env, args: &[&str], vars: &[(&str, &str)]) -> Command {
    let mut all = vec!["doctor"];
    all.extend_from_slice(args);
    let mut cmd = env.cmd(&all);
    for var in OTHER_CA_VARIABLES {
        cmd.env_remove(var);
    }
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd
}

fn doctor(env: &Env, args: &[&str], vars: &[(&str, &str)]) -> Run {
    run_cmd(doctor_cmd(env, args, vars), None)
}

fn store_key(env: &Env, key: &str) {
    env.write_auth(&format!(
        "{{\n  \"auth_mode\": \"apikey\",\n  \"OPENAI_API_KEY\": \"{key}\"\n}}"
    ));
}

fn port_of(url: &str) -> String {
    url.rsplit(':').next().unwrap().to_string()
}

/// A peer's `:port`, as placeholder pairs for `normalized`.
fn ports(pairs: &[(&str, u16)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(name, port)| (format!(":{port}"), format!(":[{name}]")))
        .collect()
}

/// What stands for the test's folder ([TMP]) and for these ports (`:[NAME]`) in snapshots.
fn placeholders(env: &Env, named_ports: &[(&str, u16)]) -> Vec<(String, String)> {
    let tmp = env.dir.path().display().to_string();
    [vec![(tmp, "[TMP]".to_string())], ports(named_ports)].concat()
}

fn pairs(owned: &[(String, String)]) -> Vec<(&str, &str)> {
    owned
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect()
}

/// An HTTPS fake Responses API with a certificate of `ca` for 127.0.0.1, accepting `KEY`.
fn https_api(env: &Env, ca: &Ca, extra: &[&str]) -> Peer {
    let (cert, key) = ca.server(env.dir.path(), "api", &["127.0.0.1", "localhost"], false);
    let mut args = vec![
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
        "--accept-bearer",
        KEY,
    ];
    args.extend_from_slice(extra);
    Peer::responses(&args)
}

/// The model API at `api`, and the issuer `codex login` would sign in at there too: doctor
/// checks it whatever is stored, and the default (auth.openai.com) is not reachable here.
fn api_config(env: &Env, api: &Peer) {
    env.write_config(&format!(
        "openai_base_url = \"{}/v1\"\n\n[auth]\nissuer = \"{}\"\n",
        api.url, api.url
    ));
}

/// `env` set up for the fake Responses API `api`, with `KEY` stored.
fn use_api_with_key(env: &Env, api: &Peer) {
    api_config(env, api);
    store_key(env, KEY);
}

/// A new CA named `name`, its certificate (PEM) written to `file` in the test's folder.
fn ca_in_file(env: &Env, name: &str, file: &str) -> (Ca, std::path::PathBuf) {
    let ca = Ca::new(name);
    let path = env.dir.path().join(file);
    std::fs::write(&path, &ca.pem).unwrap();
    (ca, path)
}

#[test]
fn an_untrusted_ca_is_named_with_the_variable_that_fixes_it() {
    let _ports = shared_ports();
    let env = Env::new();
    let (ca, ca_file) = ca_in_file(&env, "Corp TLS Inspection CA", "corp-ca.pem");
    let api = https_api(&env, &ca, &[]);
    use_api_with_key(&env, &api);
    let port = port_of(&api.url).parse().unwrap();
    let placeholders = placeholders(&env, &[("API", port)]);

    let run = doctor(&env, &[], &[]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(run.stderr, "");
    assert!(
        run.stdout
            .contains("was issued by `CN=Corp TLS Inspection CA`"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("export CODEX_CA_CERTIFICATE="),
        "{}",
        run.stdout
    );
    // Issue 19: the issuer is checked with an API key stored too; it does not fail the run
    // (the key works without it), but a ChatGPT sign-in would.
    let issuer_row = run
        .stdout
        .lines()
        .find(|l| l.starts_with("  ⚠ issuer: "))
        .unwrap_or_else(|| panic!("no issuer row: {}", run.stdout));
    assert!(
        issuer_row.contains("was issued by `CN=Corp TLS Inspection CA`")
            && issuer_row.ends_with("a ChatGPT sign-in (codex login) does"),
        "{issuer_row}"
    );
    insta::assert_snapshot!(
        "untrusted_ca",
        normalized(&run.stdout, &pairs(&placeholders))
    );

    // Another tool's variable already names the CA: the fix names that file.
    let file = ca_file.to_str().unwrap();
    let run = doctor(&env, &[], &[("REQUESTS_CA_BUNDLE", file)]);
    assert!(
        run.stdout.contains(&format!(
            "→ export CODEX_CA_CERTIFICATE={file} (it holds `CN=Corp TLS Inspection CA`; REQUESTS_CA_BUNDLE names it)"
        )),
        "{}",
        run.stdout
    );

    // A bundle that lacks it is named as such.
    let other = env.dir.path().join("other-ca.pem");
    std::fs::write(&other, Ca::new("Some Other CA").pem).unwrap();
    let run = doctor(
        &env,
        &[],
        &[("CODEX_CA_CERTIFICATE", other.to_str().unwrap())],
    );
    assert!(
        run.stdout.contains(&format!(
            "→ `{}` (CODEX_CA_CERTIFICATE) does not hold `CN=Corp TLS Inspection CA`: add that CA's certificate (PEM) to it",
            other.display()
        )),
        "{}",
        run.stdout
    );

    // With the CA given, the endpoint and the key pass; warnings only: exit 0.
    let run = doctor(&env, &[], &[("CODEX_CA_CERTIFICATE", file)]);
    assert_eq!(run.code, 0, "{run:?}");
    insta::assert_snapshot!(
        "untrusted_ca_given",
        normalized(&run.stdout, &pairs(&placeholders))
    );
}

#[test]
fn a_proxy_asking_for_a_login_is_named_with_its_variable() {
    let _ports = shared_ports();
    let env = Env::new();
    let (ca, ca_file) = ca_in_file(&env, "codex doctor test CA", "ca.pem");
    let api = https_api(&env, &ca, &[]);
    use_api_with_key(&env, &api);
    let api_port: u16 = port_of(&api.url).parse().unwrap();
    const PASSWORD: &str = "pw-CANARY-proxy-77";
    let proxy = ProxyServer::tinyproxy(env.dir.path(), api_port, Some(("alice", PASSWORD)));
    let placeholders = placeholders(&env, &[("API", api_port), ("PROXY", proxy.port)]);
    let ca = ca_file.to_str().unwrap();
    let without = format!("http://127.0.0.1:{}", proxy.port);

    let run = doctor(
        &env,
        &[],
        &[("CODEX_CA_CERTIFICATE", ca), ("HTTPS_PROXY", &without)],
    );
    assert_eq!(run.code, 1, "{run:?}");
    insta::assert_snapshot!("proxy_407", normalized(&run.stdout, &pairs(&placeholders)));

    let wrong = format!("http://alice:wrong-CANARY-pw@127.0.0.1:{}", proxy.port);
    let run = doctor(
        &env,
        &[],
        &[("CODEX_CA_CERTIFICATE", ca), ("HTTPS_PROXY", &wrong)],
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        !run.stdout.contains("CANARY") && !run.stderr.contains("CANARY"),
        "{run:?}"
    );
    assert!(
        run.stdout.contains(&format!(
            "the proxy http://127.0.0.1:{} (from HTTPS_PROXY) refused the user name and password in HTTPS_PROXY",
            proxy.port
        )),
        "{}",
        run.stdout
    );

    let right = format!("http://alice:{PASSWORD}@127.0.0.1:{}", proxy.port);
    let run = doctor(
        &env,
        &[],
        &[("CODEX_CA_CERTIFICATE", ca), ("HTTPS_PROXY", &right)],
    );
    assert!(
        !run.stdout.contains("CANARY") && !run.stderr.contains("CANARY"),
        "{run:?}"
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains(&format!(
            "the proxy opened a tunnel to 127.0.0.1:{api_port}"
        )),
        "{}",
        run.stdout
    );
    assert!(
        proxy.connects_to(api_port) >= 2,
        "the key check goes through the proxy too"
    );
}

#[test]
fn a_refused_key_is_the_guides_api_key_invalid_row() {
    let _ports = shared_ports();
    let env = Env::new();
    let api = Peer::responses(&["--accept-bearer", "sk-proj-the-right-one-000000"]);
    use_api_with_key(&env, &api);
    let run = doctor(&env, &[], &[]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.contains(&format!(
        "✗ model API: API key invalid: key expired, deleted, or scoped to wrong project (the stored API key {MASKED_KEY} was refused: 401 Unauthorized: Incorrect API key provided"
    )), "{}", run.stdout);
    let placeholders = placeholders(&env, &[("API", port_of(&api.url).parse().unwrap())]);
    insta::assert_snapshot!(
        "api_key_invalid",
        normalized(&run.stdout, &pairs(&placeholders))
    );
    let models: Vec<Value> = api
        .requests()
        .into_iter()
        .filter(|r| r["path"] == "/v1/models")
        .collect();
    assert_eq!(models.len(), 1, "one cheap request");
    assert_eq!(models[0]["method"], "GET");
    assert_eq!(
        models[0]["headers"]["authorization"],
        json!(format!("Bearer {KEY}"))
    );
}

fn azure_config(env: &Env, api: &Peer) {
    env.write_config(&format!(
        r#"[model_providers.azure]
name = "Azure"
base_url = "{}/openai"
env_key = "AZURE_OPENAI_API_KEY"
query_params = {{ api-version = "2025-04-01-preview" }}
wire_api = "responses"

model_provider = "azure"
model = "gpt-5.5"
"#,
        api.url
    ));
}

#[test]
fn azure_names_its_env_key_when_unset_or_refused() {
    let _ports = shared_ports();
    let env = Env::new();
    let api = Peer::responses(&["--azure", "--accept-api-key", "azure-key-right-0000"]);
    azure_config(&env, &api);
    let placeholders = placeholders(&env, &[("API", port_of(&api.url).parse().unwrap())]);
    let run = doctor(&env, &[], &[]);
    assert_eq!(run.code, 1, "{run:?}");
    insta::assert_snapshot!(
        "azure_env_key_unset",
        normalized(&run.stdout, &pairs(&placeholders))
    );

    let run = doctor(
        &env,
        &[],
        &[("AZURE_OPENAI_API_KEY", "azure-key-CANARY-wrong-1234")],
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert!(!run.stdout.contains("CANARY"), "{}", run.stdout);
    assert!(run.stdout.contains("✗ model API: Azure OpenAI refused the key in AZURE_OPENAI_API_KEY (azure-ke***-1234) (401 Unauthorized: Access denied due to invalid subscription key"), "{}", run.stdout);
    assert!(run.stdout.contains("→ export AZURE_OPENAI_API_KEY=<a key of this Azure resource>; AZURE_OPENAI_API_KEY must be the env_key of [model_providers.azure] in config.toml"), "{}", run.stdout);

    let run = doctor(
        &env,
        &[],
        &[("AZURE_OPENAI_API_KEY", "azure-key-right-0000")],
    );
    assert!(run.stdout.contains("✓ model API: the key in AZURE_OPENAI_API_KEY (azure-ke***-0000) works: GET /openai/models answered 200 OK"), "{}", run.stdout);
    let models: Vec<Value> = api
        .requests()
        .into_iter()
        .filter(|r| r["path"] == "/openai/models")
        .collect();
    assert_eq!(
        models.last().unwrap()["query"]["api-version"],
        "2025-04-01-preview"
    );
    assert_eq!(
        models.last().unwrap()["headers"]["api-key"],
        "azure-key-right-0000"
    );
}

#[test]
fn a_server_clock_ten_minutes_off_is_reported() {
    let _ports = shared_ports();
    let env = Env::new();
    let api = Peer::responses(&["--accept-bearer", KEY, "--clock-offset", "-600"]);
    use_api_with_key(&env, &api);
    let run = doctor(&env, &[], &[]);
    assert_eq!(run.code, 1, "{run:?}");
    let placeholders = placeholders(&env, &[("API", port_of(&api.url).parse().unwrap())]);
    let text = normalized(&run.stdout, &pairs(&placeholders));
    assert!(
        text.contains("✗ clock: this computer's clock is about 10 min ahead of `127.0.0.1:[API]`"),
        "{text}"
    );
    insta::assert_snapshot!("clock_skew", text);

    // A server 90 s behind is a warning; one in step is fine.
    let api = Peer::responses(&["--accept-bearer", KEY, "--clock-offset", "90"]);
    api_config(&env, &api);
    let run = doctor(&env, &[], &[]);
    assert!(
        run.stdout
            .contains("⚠ clock: this computer's clock is 90 s behind"),
        "{}",
        run.stdout
    );
    let api = Peer::responses(&["--accept-bearer", KEY]);
    api_config(&env, &api);
    let run = doctor(&env, &[], &[]);
    assert!(
        run.stdout.contains("✓ clock: agrees with the `Date` of"),
        "{}",
        run.stdout
    );
}

/// The only test that holds port 1455.
#[test]
fn a_held_callback_port_is_reported_with_device_auth() {
    let _ports = CALLBACK_PORTS.write().unwrap_or_else(|e| e.into_inner());
    let env = Env::new();
    let mut holder = Command::new("python3")
        .args([
            "-c",
            "import socket,sys,time\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\ns.bind(('127.0.0.1',1455))\ns.listen()\nprint('READY',flush=True)\ntime.sleep(120)",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(holder.stdout.as_mut().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line.trim(), "READY", "the port holder could not bind 1455");
    let pid = holder.id().to_string();
    let name = std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .unwrap()
        .trim()
        .to_string();
    let run = doctor(&env, &["--offline"], &[]);
    let _ = holder.kill();
    let _ = holder.wait();
    assert!(
        run.stdout.contains(&format!("⚠ callback ports: 1455 is in use by `{name}` (pid {pid}); `codex login` cannot use it and uses 1457")),
        "{}",
        run.stdout
    );
    let tmp = env.dir.path().display().to_string();
    let text = normalized(
        &run.stdout,
        &[
            (&tmp, "[TMP]"),
            (&name, "[PROGRAM]"),
            (&format!("pid {pid}"), "pid [PID]"),
        ],
    );
    insta::assert_snapshot!("callback_port_held", text);
    // A warning, not a failure: nothing else is wrong offline except the missing sign-in.
    assert_eq!(run.code, 1, "{run:?}");
}

#[test]
fn a_locked_keyring_is_reported_with_the_way_out() {
    let _ports = shared_ports();
    let session = Session::with_keyring();
    let env = Env::new();
    env.write_config("cli_auth_credentials_store = \"keyring\"\n");
    let account = keyring::account(&env);
    let run = session.run(&env, &["doctor", "--offline"]);
    assert!(
        run.stdout.contains(&format!("✓ OS keyring: the OS keyring (service \"Codex Auth\", account \"{account}\") answers; it holds no credentials for this CODEX_HOME; `auto` would use it\n")),
        "{run:?}"
    );
    // Locked with nothing in it: a read finds nothing, but a sign-in could not save.
    session.lock();
    let run = session.run(&env, &["doctor", "--offline"]);
    assert_eq!(run.code, 1, "{run:?}");
    let tmp = env.dir.path().display().to_string();
    let text = normalized(&run.stdout, &[(&tmp, "[TMP]"), (&account, "cli|[ACCOUNT]")]);
    insta::assert_snapshot!("keyring_locked", text);

    // `auto` works without it, in plain text: a warning that says so.
    env.write_config("cli_auth_credentials_store = \"auto\"\n");
    let run = session.run(&env, &["doctor", "--offline"]);
    let text = normalized(&run.stdout, &[(&tmp, "[TMP]")]);
    assert!(text.contains("the keyring is locked and no unlock prompt can be shown; `auto` therefore keeps credentials in plain text in `[TMP]/codex-home/auth.json`"), "{text}");
}

#[test]
fn a_hung_keyring_is_given_up_on_within_the_bound() {
    let _ports = shared_ports();
    let session = Session::with_keyring();
    let env = Env::new();
    env.write_config("cli_auth_credentials_store = \"keyring\"\n");
    session.freeze();
    // The bound is a hang guard: how long the run takes is bench/doctor.sh's figure.
    let run = run_within(
        session.codex(&env, &["doctor", "--offline"]),
        None,
        Stdio::piped(),
        60,
    );
    session.thaw();
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout.contains("): the keyring did not answer within ")
            && run.stdout.contains(" seconds\n      → check that the keyring daemon is responsive, or set cli_auth_credentials_store = \"file\" in "),
        "{}",
        run.stdout
    );
}

/// A port that accepts connections (the kernel completes them) and never answers.
fn silent_server() -> (std::net::TcpListener, u16) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    (listener, port)
}

/// A stored ChatGPT sign-in minted by `issuer`, its access token valid for an hour; `secret`
/// is in each token as plain text (the signature part), so a leak would show it.
fn chatgpt_auth(issuer: &str, secret: &str) -> String {
    let signed = |token: String| {
        let (unsigned, _) = token.rsplit_once('.').unwrap();
        format!("{unsigned}.{secret}-signature")
    };
    let auth = json!({"chatgpt_plan_type": "plus", "chatgpt_account_id": "acct-doctor"});
    let id = signed(jwt(json!({"email": "doctor@example.com",
        "https://api.openai.com/auth": auth, "exp": now_secs() + 3600})));
    let access = signed(jwt(json!({"exp": now_secs() + 3600, "sub": "user"})));
    serde_json::to_string_pretty(&json!({
        "auth_mode": "chatgpt",
        "OPENAI_API_KEY": null,
        "tokens": {
            "id_token": id,
            "access_token": access,
            "refresh_token": format!("rt-{secret}"),
            "account_id": "acct-doctor",
            "oauth_provenance": {"issuer": issuer, "client_id": "app_EMoamEEZ73f0CkXaXp7hrann", "protocol": "openai"}
        },
        "last_refresh": "2026-01-01T00:00:00Z"
    }))
    .unwrap()
}

#[test]
fn silent_endpoints_still_end_the_run_within_its_bound() {
    let _ports = shared_ports();
    let env = Env::new();
    let (_issuer, issuer_port) = silent_server();
    let (_api, api_port) = silent_server();
    env.write_auth(&chatgpt_auth(
        &format!("http://127.0.0.1:{issuer_port}"),
        "quiet",
    ));
    env.write_config(&format!(
        "chatgpt_base_url = \"http://127.0.0.1:{api_port}/backend-api/\"\n"
    ));
    // A lower bound only (load can only lengthen a run): the checks wait for their deadline
    // instead of giving up at once. The upper one is a hang guard; the figure is
    // bench/doctor.sh's.
    let started = Instant::now();
    let run = run_within(doctor_cmd(&env, &[], &[]), None, Stdio::piped(), 60);
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(8),
        "the checks gave up too early: {took:?}"
    );
    assert_eq!(run.code, 1, "{run:?}");
    let placeholders = placeholders(&env, &[("ISSUER", issuer_port), ("API", api_port)]);
    insta::assert_snapshot!(
        "silent_endpoints",
        normalized(&run.stdout, &pairs(&placeholders))
    );
}

#[test]
fn nothing_is_written_unless_refresh_is_asked() {
    let _ports = shared_ports();
    let env = Env::new();
    let issuer = Peer::fake_issuer(env.dir.path(), &["--seed-refresh-token", "rt-seeded"]);
    let api = Peer::responses(&["--accept-jwt"]);
    let mut auth: Value = serde_json::from_str(&chatgpt_auth(&issuer.url, "x")).unwrap();
    auth["tokens"]["refresh_token"] = json!("rt-seeded");
    auth["tokens"]["access_token"] = json!(jwt(json!({"exp": now_secs() - 60, "sub": "user"})));
    let before = serde_json::to_string_pretty(&auth).unwrap();
    env.write_auth(&before);
    env.write_config(&format!(
        "chatgpt_base_url = \"{}/backend-api/\"\n",
        api.url
    ));
    let listing = |env: &Env| {
        let mut names: Vec<String> = std::fs::read_dir(&env.home)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let files_before = listing(&env);

    let run = doctor(&env, &[], &[]);
    assert_eq!(env.read_auth(), before, "a plain run changed auth.json");
    assert_eq!(listing(&env), files_before, "a plain run created files");
    let refreshes = |peer: &Peer| {
        peer.requests()
            .iter()
            .filter(|r| r["parsed"]["grant_type"] == "refresh_token")
            .count()
    };
    assert_eq!(refreshes(&issuer), 0, "a plain run refreshed");
    assert!(
        run.stdout.contains("- model API: not checked: the access token has expired, and using it would refresh it (which changes the stored credentials)\n      → codex doctor --refresh"),
        "{}",
        run.stdout
    );
    assert!(
        api.requests()
            .iter()
            .all(|r| r["path"] != "/backend-api/codex/models")
    );

    let run = doctor(&env, &["--refresh"], &[]);
    assert_eq!(refreshes(&issuer), 1, "{run:?}");
    assert_ne!(env.read_auth(), before);
    // Issue 19: every row describes the credentials as the refresh left them.
    let access_row = run
        .stdout
        .lines()
        .find(|l| l.contains(" access token: "))
        .unwrap_or_else(|| panic!("no access token row: {}", run.stdout));
    assert!(
        access_row.starts_with("  ✓ access token: expires ") && !access_row.contains("expired"),
        "{}",
        run.stdout
    );
    assert_refreshed_and_used(&run);
    let placeholders = placeholders(
        &env,
        &[
            ("ISSUER", issuer.port()),
            ("API", port_of(&api.url).parse().unwrap()),
        ],
    );
    insta::assert_snapshot!("refreshed", normalized(&run.stdout, &pairs(&placeholders)));

    // --offline: no request at all.
    let seen = api.requests().len() + issuer.requests().len();
    let run = doctor(&env, &["--offline"], &[]);
    assert_eq!(
        api.requests().len() + issuer.requests().len(),
        seen,
        "{run:?}"
    );
}

/// `--refresh` worked, and the model API took the new access token.
fn assert_refreshed_and_used(run: &Run) {
    for row in [
        "✓ refresh token: works: refreshed once and saved in ",
        "✓ model API: the ChatGPT access token works: GET /backend-api/codex/models answered 200 OK",
    ] {
        assert!(run.stdout.contains(row), "{}", run.stdout);
    }
}

#[test]
fn the_json_report_holds_no_secret() {
    let _ports = shared_ports();
    let env = Env::new();
    let issuer = Peer::fake_issuer(env.dir.path(), &[]);
    let api = Peer::responses(&["--accept-bearer", "sk-proj-the-right-one-000000"]);
    env.write_auth(&chatgpt_auth(&issuer.url, "CANARY-token"));
    env.write_config(&format!(
        "openai_base_url = \"{}/v1\"\nchatgpt_base_url = \"{}/backend-api/\"\n",
        api.url, api.url
    ));
    let closed = common::free_port();
    let proxy = format!("http://bob:CANARY-proxy-pw@127.0.0.1:{closed}");
    let vars: &[(&str, &str)] = &[
        ("CODEX_API_KEY", "sk-proj-CANARY-env-key-000-tail1"),
        ("OPENAI_API_KEY", "sk-proj-CANARY-openai-key-tail2"),
        ("HTTP_PROXY", &proxy),
        ("NO_PROXY", "localhost,127.0.0.1"),
    ];
    for args in [&["--json"][..], &[][..]] {
        let run = doctor(&env, args, vars);
        assert!(
            !run.stdout.contains("CANARY") && !run.stderr.contains("CANARY"),
            "a secret leaked: {run:?}"
        );
        assert_eq!(run.code, 1, "{run:?}");
    }
    let run = doctor(&env, &["--json"], vars);
    let report: Value = serde_json::from_str(&run.stdout).expect("one JSON object");
    assert_eq!(report["ok"], false);
    let checks = report["checks"].as_array().unwrap();
    let find = |group: &str, check: &str| {
        checks
            .iter()
            .find(|c| c["group"] == group && c["check"] == check)
            .unwrap_or_else(|| panic!("no {group}/{check} in {report}"))
    };
    assert_eq!(find("credentials", "CODEX_API_KEY")["status"], "ok");
    let key = find("key", "model API");
    assert_eq!(key["status"], "fail");
    assert!(
        key["found"].as_str().unwrap().contains("sk-proj-***tail1"),
        "{key}"
    );
    let network = find("network", "model API");
    assert_eq!(network["status"], "ok", "{network}");
    assert!(
        network["found"].as_str().unwrap().contains(&format!(
            "direct: NO_PROXY excludes `127.0.0.1` from the proxy http://127.0.0.1:{closed} (from HTTP_PROXY)"
        )),
        "{network}"
    );
    assert_eq!(
        report["summary"]["fail"].as_u64().unwrap(),
        checks.iter().filter(|c| c["status"] == "fail").count() as u64
    );
}

#[test]
fn progress_shows_on_a_terminal_only() {
    let _ports = shared_ports();
    let env = Env::new();
    store_key(&env, KEY);
    // Not a terminal: stderr stays empty (the other tests check the same).
    let run = doctor(&env, &["--offline"], &[]);
    assert_eq!(run.stderr, "");
    // A terminal (util-linux `script` gives the command a pseudo-terminal).
    let codex = doctor_cmd(&env, &["--offline"], &[]);
    let line = format!("{} doctor --offline", codex.get_program().to_string_lossy());
    let mut cmd = Command::new("script");
    cmd.args(["-qec", &line, "/dev/null"]);
    for (key, value) in codex.get_envs() {
        match value {
            Some(value) => cmd.env(key, value),
            None => cmd.env_remove(key),
        };
    }
    cmd.env("TERM", "xterm");
    let run = run_cmd(cmd, None);
    assert!(
        run.stdout.contains("Checking"),
        "no progress on a terminal: {run:?}"
    );
    assert!(run.stdout.contains("Sign-in prerequisites"), "{run:?}");
}

#[test]
fn a_broken_config_is_reported_and_the_local_checks_still_run() {
    let _ports = shared_ports();
    let env = Env::new();
    env.write_config("model_provider = \"azure\"\ncli_auth_credentials_store = 3\n");
    let run = doctor(&env, &[], &[]);
    assert_eq!(run.code, 1, "{run:?}");
    let tmp = env.dir.path().display().to_string();
    insta::assert_snapshot!("broken_config", normalized(&run.stdout, &[(&tmp, "[TMP]")]));
}

#[test]
fn expired_and_wrong_host_certificates_are_explained() {
    let _ports = shared_ports();
    let env = Env::new();
    let (ca, ca_file) = ca_in_file(&env, "codex doctor test CA", "ca.pem");
    store_key(&env, KEY);
    let ca_var = [("CODEX_CA_CERTIFICATE", ca_file.to_str().unwrap())];
    let network_row = |api: &Peer| {
        api_config(&env, api);
        let run = doctor(&env, &[], &ca_var);
        assert_eq!(run.code, 1, "{run:?}");
        let port = port_of(&api.url);
        let text = normalized(&run.stdout, &[(&format!(":{port}"), ":[API]")]);
        text.lines()
            .skip_while(|l| !l.starts_with("  ✗ model API"))
            .take(2)
            .collect::<Vec<_>>()
            .join("\n")
    };

    let (cert, key) = ca.server(env.dir.path(), "expired", &["127.0.0.1"], true);
    let api = Peer::responses(&[
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ]);
    assert_eq!(
        network_row(&api),
        "  ✗ model API: https://127.0.0.1:[API]/v1; direct (no proxy set); TCP connected to 127.0.0.1:[API]; the certificate of `127.0.0.1:[API]` expired on 2021-01-01 (by this computer's clock)\n      \
         → if this computer's date is right, the server (or a proxy in between) must renew its certificate; if it is wrong, fix the clock"
    );

    let (cert, key) = ca.server(env.dir.path(), "other", &["api.example.invalid"], false);
    let api = Peer::responses(&[
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ]);
    assert_eq!(
        network_row(&api),
        "  ✗ model API: https://127.0.0.1:[API]/v1; direct (no proxy set); TCP connected to 127.0.0.1:[API]; the certificate presented for `127.0.0.1:[API]` is for `api.example.invalid` (issued by `CN=codex doctor test CA`)\n      \
         → check the host in openai_base_url (config.toml); if it is right, something in between (a proxy, a captive portal) answers in its place"
    );

    // An https:// URL on a plain-HTTP server.
    let api = Peer::responses(&[]);
    let https = api.url.replace("http://", "https://");
    env.write_config(&format!("openai_base_url = \"{https}/v1\"\n"));
    let run = doctor(&env, &[], &ca_var);
    assert!(
        run.stdout.contains("→ check that openai_base_url (config.toml) names an HTTPS server (an https:// URL on a plain-HTTP port fails like this)"),
        "{}",
        run.stdout
    );
}

#[test]
fn file_modes_and_forced_login_method_are_checked() {
    let _ports = shared_ports();
    let env = Env::new();
    store_key(&env, KEY);
    common::set_mode(&env.auth_path(), 0o644);
    common::set_mode(&env.home, 0o755);
    env.write_config("forced_login_method = \"chatgpt\"\n");
    let run = doctor(&env, &["--offline"], &[]);
    assert_eq!(run.code, 1, "{run:?}");
    let tmp = env.dir.path().display().to_string();
    insta::assert_snapshot!(
        "modes_and_forced_login",
        normalized(&run.stdout, &[(&tmp, "[TMP]")])
    );
    assert_eq!(
        common::mode_of(&env.auth_path()),
        0o644,
        "the doctor changed nothing"
    );
}

#[test]
fn a_refresh_token_that_no_longer_works_is_tried_once() {
    let _ports = shared_ports();
    let env = Env::new();
    let issuer = Peer::fake_issuer(env.dir.path(), &["--scenario", "refresh-reused"]);
    let api = Peer::responses(&["--accept-jwt"]);
    let mut auth: Value = serde_json::from_str(&chatgpt_auth(&issuer.url, "x")).unwrap();
    auth["tokens"]["access_token"] = json!(jwt(json!({"exp": now_secs() - 60, "sub": "user"})));
    let before = serde_json::to_string_pretty(&auth).unwrap();
    env.write_auth(&before);
    env.write_config(&format!(
        "chatgpt_base_url = \"{}/backend-api/\"\n",
        api.url
    ));
    let run = doctor(&env, &["--refresh"], &[]);
    assert_eq!(run.code, 1, "{run:?}");
    let refreshes = issuer
        .requests()
        .iter()
        .filter(|r| r["parsed"]["grant_type"] == "refresh_token")
        .count();
    assert_eq!(refreshes, 1, "{run:?}");
    assert_eq!(env.read_auth(), before);
    assert!(
        run.stdout.contains("  ✗ refresh token: your ChatGPT sign-in can no longer be refreshed (refresh_token_reused): it expired or was revoked. Run `codex logout` and then `codex login`\n      → codex logout, then codex login\n"),
        "{}",
        run.stdout
    );
    // Issue 19: the access token row says what the refresh left, not "the next command refreshes it".
    let text = normalized(&run.stdout, &[]);
    assert!(
        text.contains("  ⚠ access token: [TIME] (expired [DURATION] ago); last refreshed [TIME]; the refresh did not renew it (see the refresh token)\n"),
        "{text}"
    );
    assert!(
        run.stdout.contains("  - model API: not checked: the access token has expired and the refresh failed (see Credentials)\n"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_sign_in_made_outside_is_not_saved_as_an_account_by_doctor() {
    // Accounts in use, then the active credentials replaced by another tool (as the reference CLI
    // signing in would): `codex exec` saves that sign-in as an account; doctor must not write.
    let env = Env::new();
    for (name, key) in [
        ("work", "sk-proj-work000000011111"),
        ("home", "sk-proj-home000000022222"),
    ] {
        let run = env.run_stdin(
            &["login", "--api-key", "-", "--account", name],
            key.as_bytes(),
        );
        assert_eq!(run.code, 0, "{run:?}");
    }
    env.write_auth(
        "{\n  \"auth_mode\": \"apikey\",\n  \"OPENAI_API_KEY\": \"sk-proj-outside00000033333\"\n}",
    );
    let snapshot = |env: &Env| {
        let dir = env.home.join("accounts");
        let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
            .collect();
        files.sort();
        files
    };
    let before = snapshot(&env);
    let run = doctor(&env, &[], &[]);
    assert!(
        run.stdout.contains("API key sk-proj-***33333"),
        "{}",
        run.stdout
    );
    assert_eq!(snapshot(&env), before, "doctor wrote to the saved accounts");
    // What a run that may write does with the same state, so the check above can fail.
    let run = env.run(&["login", "token"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_ne!(
        snapshot(&env),
        before,
        "login token saves an outside sign-in as an account"
    );
}

/// A loopback "proxy" that answers every request with `answer` and closes.
fn answering_proxy(answer: &'static str) -> u16 {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = stream.write_all(answer.as_bytes());
            });
        }
    });
    port
}

/// No control character in the report, and in `--json` none in any decoded text either.
fn assert_no_control(run: &Run) {
    for (name, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
        assert!(
            !text.chars().any(|c| c.is_control() && c != '\n'),
            "a control character reached {name}: {text:?}"
        );
    }
}

/// The same for a `--json` report, which must hold `escaped` (as JSON writes it) somewhere.
fn assert_escaped_in_json(run: &Run, escaped: &str) {
    assert_no_control(run);
    let report: Value = serde_json::from_str(&run.stdout).expect("one JSON object");
    for check in report["checks"].as_array().unwrap() {
        for field in ["check", "found", "fix"] {
            let text = check[field].as_str().unwrap_or_default();
            assert!(
                !text.chars().any(char::is_control),
                "a control character in {field}: {text:?}"
            );
        }
    }
    assert!(run.stdout.contains(escaped), "{}", run.stdout);
}

#[test]
fn a_hostile_proxy_answer_is_shown_escaped() {
    let _ports = shared_ports();
    let env = Env::new();
    store_key(&env, KEY);
    env.write_config(
        "openai_base_url = \"https://api.example.invalid/v1\"\n\n[auth]\nissuer = \"https://auth.example.invalid\"\n",
    );
    // A reason phrase that would clear the screen and retitle the terminal.
    let port = answering_proxy(
        "HTTP/1.1 407 Login\x1b[2J\x1b]0;pwned\x07 please\r\nProxy-Authenticate: Basic realm=\"\x1b[31mcorp\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    );
    let proxy = format!("http://127.0.0.1:{port}");
    let vars = [("HTTPS_PROXY", proxy.as_str())];

    let run = doctor(&env, &[], &vars);
    assert_eq!(run.code, 1, "{run:?}");
    assert_no_control(&run);
    assert!(
        run.stdout
            .contains("(407 Login\\u{1b}[2J\\u{1b}]0;pwned\\u{7} please)"),
        "{}",
        run.stdout
    );
    let placeholders = placeholders(&env, &[("PROXY", port)]);
    insta::assert_snapshot!(
        "hostile_proxy",
        normalized(&run.stdout, &pairs(&placeholders))
    );

    let run = doctor(&env, &["--json"], &vars);
    assert_escaped_in_json(&run, "407 Login\\\\u{1b}[2J");
}

#[test]
fn claims_of_the_id_token_are_shown_escaped() {
    let _ports = shared_ports();
    let env = Env::new();
    let mut auth: Value = serde_json::from_str(&chatgpt_auth("http://127.0.0.1:9", "x")).unwrap();
    let claims = json!({"email": "eve\u{1b}[2J@example.com",
        "https://api.openai.com/auth": {"chatgpt_plan_type": "plus\u{1b}]0;pwned\u{7}",
            "chatgpt_account_id": "acct-doctor"},
        "exp": now_secs() + 3600});
    auth["tokens"]["id_token"] = json!(jwt(claims));
    env.write_auth(&serde_json::to_string_pretty(&auth).unwrap());

    let run = doctor(&env, &["--offline"], &[]);
    assert_no_control(&run);
    let row = run
        .stdout
        .lines()
        .find(|l| l.contains(" sign-in: "))
        .unwrap_or_else(|| panic!("no sign-in row: {}", run.stdout));
    let tmp = env.dir.path().display().to_string();
    insta::assert_snapshot!("hostile_claims", normalized(row, &[(&tmp, "[TMP]")]));

    let run = doctor(&env, &["--offline", "--json"], &[]);
    assert_escaped_in_json(&run, "eve\\\\u{1b}[2J@example.com");
}

#[test]
fn a_refresh_answered_after_the_runs_bound_is_still_saved() {
    // The issuer rotates the refresh token but answers after doctor's ~10 s bound: the run
    // waits for that answer and saves it, or the user would be signed out.
    let _ports = shared_ports();
    let env = Env::new();
    let issuer = Peer::slow_refresh_issuer(env.dir.path(), "rt-seeded", 12_000);
    let api = Peer::responses(&["--accept-jwt"]);
    let mut auth: Value = serde_json::from_str(&chatgpt_auth(&issuer.url, "x")).unwrap();
    auth["tokens"]["refresh_token"] = json!("rt-seeded");
    auth["tokens"]["access_token"] = json!(jwt(json!({"exp": now_secs() - 60, "sub": "user"})));
    env.write_auth(&serde_json::to_string_pretty(&auth).unwrap());
    env.write_config(&format!(
        "chatgpt_base_url = \"{}/backend-api/\"\n",
        api.url
    ));

    let run = doctor(&env, &["--refresh"], &[]);
    let saved: Value = serde_json::from_str(&env.read_auth()).unwrap();
    let refresh = saved["tokens"]["refresh_token"].as_str().unwrap();
    assert!(
        refresh.starts_with("rt_"),
        "the rotated refresh token was not saved ({refresh}): {run:?}"
    );
    // The checks after the refresh still ran in their own time.
    assert_refreshed_and_used(&run);
}
