//! Issue 7: corporate networks. `codex login` against the fake ChatGPT issuer served over HTTPS
//! with a private CA made here, and through real proxies (Debian's tinyproxy and microsocks).

mod common;

use std::path::{Path, PathBuf};

use common::proxy::ProxyServer;
use common::tls::Ca;
use common::{Background, Env, Peer, Run, free_port, http_get};

/// A private CA (`ca.pem`), an unrelated one (`other-ca.pem`) and the fake issuer serving a
/// certificate of the first for 127.0.0.1 and localhost.
struct TlsIssuer {
    ca: PathBuf,
    other_ca: PathBuf,
    peer: Peer,
}

impl TlsIssuer {
    fn start(env: &Env) -> TlsIssuer {
        TlsIssuer::start_with(env, &["127.0.0.1", "localhost"], false)
    }

    fn start_with(env: &Env, names: &[&str], expired: bool) -> TlsIssuer {
        let dir = env.dir.path();
        let ca = Ca::new("codex test CA");
        std::fs::write(dir.join("ca.pem"), &ca.pem).unwrap();
        std::fs::write(dir.join("other-ca.pem"), Ca::new("another CA").pem).unwrap();
        let (cert, key) = ca.server(dir, "server", names, expired);
        let peer = Peer::fake_issuer(
            dir,
            &[
                "--tls-cert",
                cert.to_str().unwrap(),
                "--tls-key",
                key.to_str().unwrap(),
            ],
        );
        assert!(peer.url.starts_with("https://"), "{}", peer.url);
        TlsIssuer {
            ca: dir.join("ca.pem"),
            other_ca: dir.join("other-ca.pem"),
            peer,
        }
    }

    fn port(&self) -> u16 {
        self.peer.url.rsplit(':').next().unwrap().parse().unwrap()
    }

    fn token_requests(&self) -> usize {
        self.peer
            .requests()
            .iter()
            .filter(|r| r["path"] == "/oauth/token")
            .count()
    }
}

/// The browser's part: GET the authorize URL over HTTPS, return the redirect. The browser is
/// not under test: it accepts any certificate.
fn browser_get(url: &str) -> String {
    let client = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let response = client.get(url).send().await.expect("authorize URL");
        assert_eq!(response.status().as_u16(), 302, "authorize refused");
        response.headers()["location"].to_str().unwrap().to_string()
    })
}

// ---------------------------------------------------------------------------------- driving

/// `codex login --json --no-browser` against the HTTPS fake issuer with `vars` set (a value of
/// `None` removes the variable).
fn login(env: &Env, issuer: &TlsIssuer, vars: &[(&str, Option<&str>)]) -> Background {
    let mut cmd = env.cmd(&["login", "--json", "--no-browser", "--port", "0"]);
    cmd.env("CODEX_AUTH_ISSUER", &issuer.peer.url)
        .env("CODEX_AUTH_PROTOCOL", "openai");
    for (k, v) in vars {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    Background::spawn(cmd)
}

/// A whole sign-in: the test plays the browser, then the login exchanges the code over HTTPS.
fn sign_in(env: &Env, issuer: &TlsIssuer, vars: &[(&str, Option<&str>)]) -> Run {
    let login = login(env, issuer, vars);
    let event = login.next_event();
    assert_eq!(event["event"], "authorize_url", "{event}");
    let callback = browser_get(event["url"].as_str().unwrap());
    let (status, _, body) = http_get(&callback);
    let run = login.finish(60);
    match run.code {
        0 => assert_eq!(status, 200, "{body}"),
        _ => assert_eq!(status, 500, "{body}"),
    }
    run
}

/// A sign-in that failed after the browser step: the message on stderr and as a JSON event.
#[track_caller]
fn assert_failed(run: &Run, message: &str) {
    let message = format!("{message}. The sign-in was not completed; run `codex login` again");
    let event = serde_json::json!({"event": "error", "message": message});
    run.assert(1, &format!("{event}\n"), &format!("{message}\n"));
}

#[track_caller]
fn assert_signed_in(env: &Env, run: &Run) {
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.lines().last().unwrap().contains("\"logged_in\""),
        "{run:?}"
    );
    assert!(env.read_auth().contains("\"auth_mode\": \"chatgpt\""));
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

// ------------------------------------------------------------------------------- CA bundles

#[test]
fn without_the_ca_login_fails_with_the_fix() {
    let env = Env::new();
    let issuer = TlsIssuer::start(&env);
    let expected = format!(
        "request to {}/oauth/token failed: the TLS certificate of `127.0.0.1:{}` is signed by an unknown certificate authority; if your network inspects TLS with a corporate CA, or the server uses a private one, trust that CA: `export CODEX_CA_CERTIFICATE=/path/to/ca.pem`",
        issuer.peer.url,
        issuer.port()
    );
    assert_failed(&sign_in(&env, &issuer, &[]), &expected);
    assert!(!env.auth_path().exists());
    // An empty variable counts as unset: the same failure, not "cannot read ``".
    let run = sign_in(
        &env,
        &issuer,
        &[
            ("CODEX_CA_CERTIFICATE", Some("")),
            ("SSL_CERT_FILE", Some("")),
        ],
    );
    assert_failed(&run, &expected);
    assert_eq!(
        issuer.token_requests(),
        0,
        "the handshake failed before any request"
    );
}

#[test]
fn codex_ca_certificate_or_ssl_cert_file_is_trusted() {
    let env = Env::new();
    let issuer = TlsIssuer::start(&env);
    let ca = path(&issuer.ca);
    assert_signed_in(
        &env,
        &sign_in(&env, &issuer, &[("CODEX_CA_CERTIFICATE", Some(ca))]),
    );
    assert_signed_in(
        &env,
        &sign_in(&env, &issuer, &[("SSL_CERT_FILE", Some(ca))]),
    );
    // An empty CODEX_CA_CERTIFICATE is unset: SSL_CERT_FILE applies.
    assert_signed_in(
        &env,
        &sign_in(
            &env,
            &issuer,
            &[
                ("CODEX_CA_CERTIFICATE", Some("")),
                ("SSL_CERT_FILE", Some(ca)),
            ],
        ),
    );
    assert_eq!(
        issuer.token_requests(),
        6,
        "code + API-key exchange per sign-in"
    );
}

#[test]
fn codex_ca_certificate_wins_over_ssl_cert_file() {
    let env = Env::new();
    let issuer = TlsIssuer::start(&env);
    let ca = path(&issuer.ca);
    let other = path(&issuer.other_ca);
    assert_signed_in(
        &env,
        &sign_in(
            &env,
            &issuer,
            &[
                ("CODEX_CA_CERTIFICATE", Some(ca)),
                ("SSL_CERT_FILE", Some(other)),
            ],
        ),
    );
    let run = sign_in(
        &env,
        &issuer,
        &[
            ("CODEX_CA_CERTIFICATE", Some(other)),
            ("SSL_CERT_FILE", Some(ca)),
        ],
    );
    assert_failed(
        &run,
        &format!(
            "request to {}/oauth/token failed: the TLS certificate of `127.0.0.1:{}` is signed by an unknown certificate authority; `{other}` (CODEX_CA_CERTIFICATE) does not hold the CA that signed it; point CODEX_CA_CERTIFICATE at that CA's certificate",
            issuer.peer.url,
            issuer.port()
        ),
    );
}

#[test]
fn bad_bundles_and_proxy_urls_are_clear_errors_before_any_request() {
    let env = Env::new();
    let issuer = TlsIssuer::start(&env);
    let dir = env.dir.path();
    let broken = dir.join("broken.pem");
    std::fs::write(
        &broken,
        "-----BEGIN CERTIFICATE-----\nnot*base64\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let key_only = dir.join("server.key");
    let missing = dir.join("missing.pem");
    let cases = [
        (
            "CODEX_CA_CERTIFICATE",
            &broken,
            format!(
                "CODEX_CA_CERTIFICATE points to `{}`, which is not a valid PEM file: a block is not valid base64. Export the CA's certificate again in PEM format.\n",
                broken.display()
            ),
        ),
        (
            "SSL_CERT_FILE",
            &key_only,
            format!(
                "SSL_CERT_FILE points to `{}`, which holds no certificate (no `-----BEGIN CERTIFICATE-----` block). Point it at your CA's certificate in PEM format.\n",
                key_only.display()
            ),
        ),
        (
            "CODEX_CA_CERTIFICATE",
            &missing,
            format!(
                "CODEX_CA_CERTIFICATE points to `{}`, which does not exist. Point it at your CA's certificate in PEM format, or unset it.\n",
                missing.display()
            ),
        ),
    ];
    for (variable, file, expected) in cases {
        let mut cmd = env.cmd(&["login", "--no-browser", "--port", "0"]);
        cmd.env("CODEX_AUTH_ISSUER", &issuer.peer.url)
            .env(variable, file);
        common::run_cmd(cmd, None).assert(1, "", &expected);
    }
    let mut cmd = env.cmd(&["login", "--no-browser", "--port", "0"]);
    cmd.env("CODEX_AUTH_ISSUER", &issuer.peer.url)
        .env("https_proxy", "ftp://dave:bad-url-canary@proxy.example.com");
    common::run_cmd(cmd, None).assert(
        1,
        "",
        "https_proxy is not a usable proxy URL: the scheme `ftp` is not supported (use http, https, socks5 or socks5h). Expected a URL such as http://proxy.example.com:3128 or socks5://proxy.example.com:1080.\n",
    );
    assert!(issuer.peer.requests().is_empty());
    // Commands without requests never look at these settings.
    let mut cmd = env.cmd(&["login", "status"]);
    cmd.env("CODEX_CA_CERTIFICATE", &missing)
        .env("HTTPS_PROXY", "ftp://x");
    common::run_cmd(cmd, None).assert(1, "", "Not logged in\n");
}

#[test]
fn expired_and_wrong_host_certificates_are_named() {
    let env = Env::new();
    let expired = TlsIssuer::start_with(&env, &["127.0.0.1"], true);
    let run = sign_in(
        &env,
        &expired,
        &[("CODEX_CA_CERTIFICATE", Some(path(&expired.ca)))],
    );
    assert_failed(
        &run,
        &format!(
            "request to {}/oauth/token failed: the TLS certificate of `127.0.0.1:{}` has expired (if it should not have, check this computer's clock)",
            expired.peer.url,
            expired.port()
        ),
    );
    let env = Env::new();
    let wrong = TlsIssuer::start_with(&env, &["auth.example.com", "localhost"], false);
    let run = sign_in(
        &env,
        &wrong,
        &[("CODEX_CA_CERTIFICATE", Some(path(&wrong.ca)))],
    );
    assert_failed(
        &run,
        &format!(
            "request to {}/oauth/token failed: the TLS certificate of `127.0.0.1:{}` is not valid for that name; it is for `auth.example.com`, `localhost` (the server, or a proxy in between, presents another host's certificate)",
            wrong.peer.url,
            wrong.port()
        ),
    );
}

// ---------------------------------------------------------------------------------- proxies

/// The sign-in fails with `message`, and the same run at `RUST_LOG=trace` never shows `canary`.
#[track_caller]
fn assert_fails_without_leaking(
    env: &Env,
    issuer: &TlsIssuer,
    vars: [(&str, Option<&str>); 2],
    message: &str,
    canary: &str,
) {
    assert_failed(&sign_in(env, issuer, &vars), message);
    let traced = sign_in(
        env,
        issuer,
        &[vars[0], vars[1], ("RUST_LOG", Some("trace"))],
    );
    assert_eq!(traced.code, 1);
    assert_no_canary(&traced, canary);
}

#[track_caller]
fn assert_no_canary(run: &Run, canary: &str) {
    assert!(
        !run.stdout.contains(canary) && !run.stderr.contains(canary),
        "the proxy password leaked: {run:?}"
    );
}

#[test]
fn traffic_goes_through_the_proxy_unless_no_proxy_says_otherwise() {
    let env = Env::new();
    let issuer = TlsIssuer::start(&env);
    let proxy = ProxyServer::tinyproxy(env.dir.path(), issuer.port(), None);
    let proxy_url = format!("http://127.0.0.1:{}", proxy.port);
    let ca = path(&issuer.ca);
    let run = sign_in(
        &env,
        &issuer,
        &[
            ("CODEX_CA_CERTIFICATE", Some(ca)),
            ("https_proxy", Some(&proxy_url)),
        ],
    );
    assert_signed_in(&env, &run);
    let through = proxy.connects_to(issuer.port());
    assert!(through >= 1, "no CONNECT in the proxy's log");

    for no_proxy in [
        ("NO_PROXY", "example.com,127.0.0.1"),
        ("no_proxy", "localhost, 127.0.0.0/8"),
    ] {
        let run = sign_in(
            &env,
            &issuer,
            &[
                ("CODEX_CA_CERTIFICATE", Some(ca)),
                ("HTTPS_PROXY", Some(&proxy_url)),
                (no_proxy.0, Some(no_proxy.1)),
            ],
        );
        assert_signed_in(&env, &run);
        assert_eq!(proxy.connects_to(issuer.port()), through, "{no_proxy:?}");
    }
}

#[test]
fn proxy_credentials_come_from_the_url_and_never_show() {
    const PASSWORD: &str = "proxy-canary-Pw7";
    let env = Env::new();
    let issuer = TlsIssuer::start(&env);
    let proxy = ProxyServer::tinyproxy(env.dir.path(), issuer.port(), Some(("alice", PASSWORD)));
    let ca = path(&issuer.ca);
    let with = |password: &str| format!("http://alice:{password}@127.0.0.1:{}", proxy.port);
    let run = sign_in(
        &env,
        &issuer,
        &[
            ("CODEX_CA_CERTIFICATE", Some(ca)),
            ("HTTPS_PROXY", Some(&with(PASSWORD))),
            ("RUST_LOG", Some("trace")),
        ],
    );
    assert_signed_in(&env, &run);
    assert_no_canary(&run, PASSWORD);
    assert!(proxy.connects_to(issuer.port()) >= 1);

    let bare = format!("http://127.0.0.1:{}", proxy.port);
    let run = sign_in(
        &env,
        &issuer,
        &[
            ("CODEX_CA_CERTIFICATE", Some(ca)),
            ("HTTPS_PROXY", Some(&bare)),
        ],
    );
    assert_failed(
        &run,
        &format!(
            "request to {}/oauth/token failed: the proxy {bare} (from HTTPS_PROXY) requires a user name and password (407 Proxy Authentication Required); put them in the URL: HTTPS_PROXY=http://USER:PASSWORD@127.0.0.1:{}, or add `127.0.0.1` to NO_PROXY to connect directly",
            issuer.peer.url, proxy.port
        ),
    );

    let wrong = "wrong-canary-Pw8";
    let vars = [
        ("CODEX_CA_CERTIFICATE", Some(ca)),
        ("HTTPS_PROXY", Some(&*with(wrong))),
    ];
    assert_fails_without_leaking(
        &env,
        &issuer,
        vars,
        &format!(
            "request to {}/oauth/token failed: the proxy {bare} (from HTTPS_PROXY) refused the user name and password in HTTPS_PROXY (401 Unauthorized); check them (percent-encode special characters: `@` is `%40`), or add `127.0.0.1` to NO_PROXY to connect directly",
            issuer.peer.url
        ),
        wrong,
    );
}

#[test]
fn an_unreachable_proxy_is_named_without_its_password() {
    const PASSWORD: &str = "unreachable-canary-Pw9";
    let env = Env::new();
    let issuer = TlsIssuer::start(&env);
    let closed = free_port();
    let proxy_url = format!("http://bob:{PASSWORD}@127.0.0.1:{closed}");
    let vars = [
        ("CODEX_CA_CERTIFICATE", Some(path(&issuer.ca))),
        ("HTTPS_PROXY", Some(&*proxy_url)),
    ];
    assert_fails_without_leaking(
        &env,
        &issuer,
        vars,
        &format!(
            "request to {}/oauth/token failed: could not connect to the proxy http://127.0.0.1:{closed} (from HTTPS_PROXY): Connection refused (os error 111); check HTTPS_PROXY, or add `127.0.0.1` to NO_PROXY to connect directly",
            issuer.peer.url
        ),
        PASSWORD,
    );
}

#[test]
fn all_proxy_can_be_socks5_with_credentials() {
    const PASSWORD: &str = "socks-canary-Pw10";
    let env = Env::new();
    let issuer = TlsIssuer::start(&env);
    let socks = ProxyServer::microsocks(env.dir.path(), "carol", PASSWORD);
    let ca = path(&issuer.ca);
    let url = |password: &str| format!("socks5://carol:{password}@127.0.0.1:{}", socks.port);
    let run = sign_in(
        &env,
        &issuer,
        &[
            ("CODEX_CA_CERTIFICATE", Some(ca)),
            ("ALL_PROXY", Some(&url(PASSWORD))),
            ("RUST_LOG", Some("trace")),
        ],
    );
    assert_signed_in(&env, &run);
    assert_no_canary(&run, PASSWORD);
    // The same with a wrong password fails: the traffic did go through the SOCKS server.
    let wrong = "wrong-socks-canary";
    let run = sign_in(
        &env,
        &issuer,
        &[
            ("CODEX_CA_CERTIFICATE", Some(ca)),
            ("ALL_PROXY", Some(&url(wrong))),
        ],
    );
    assert_no_canary(&run, wrong);
    assert_failed(
        &run,
        &format!(
            "request to {}/oauth/token failed: could not connect through the proxy socks5://127.0.0.1:{} (from ALL_PROXY): SOCKS error: credentials not accepted",
            issuer.peer.url, socks.port
        ),
    );
}

/// A private CA in `dir/ca.pem` and a certificate of it for 127.0.0.1 and localhost: the
/// arguments that make a fake serve HTTPS with it.
fn serve_with_a_private_ca(dir: &Path) -> Vec<String> {
    let ca = Ca::new("codex test CA");
    std::fs::write(dir.join("ca.pem"), &ca.pem).unwrap();
    let (cert, key) = ca.server(dir, "server", &["127.0.0.1", "localhost"], false);
    vec![
        "--tls-cert".into(),
        cert.display().to_string(),
        "--tls-key".into(),
        key.display().to_string(),
    ]
}

/// Refresh, revoke and exec use the same client as sign-in: the CA bundle and the proxy apply to
/// every request of the program, not only to the login.
#[test]
fn refresh_exec_and_revoke_use_the_ca_bundle_and_the_proxy_too() {
    let env = Env::new();
    let dir = env.dir.path();
    let tls = serve_with_a_private_ca(dir);
    let tls: Vec<&str> = tls.iter().map(String::as_str).collect();
    let mut issuer_args = tls.to_vec();
    issuer_args.extend(["--seed-refresh-token", "rt-net-1"]);
    let issuer = Peer::fake_issuer(dir, &issuer_args);
    let model = Peer::fake_responses(dir, &tls);
    let proxy = ProxyServer::tinyproxy_to(dir, &[issuer.port(), model.port()], None);
    let proxy_url = format!("http://127.0.0.1:{}", proxy.port);
    env.write_config(&format!("openai_base_url = \"{}/v1\"\n", model.url));
    env.write_auth(
        &serde_json::json!({
            "auth_mode": "chatgpt",
            "OPENAI_API_KEY": null,
            "tokens": {
                "id_token": common::jwt(serde_json::json!({"email": "net@example.com"})),
                "access_token": common::jwt(serde_json::json!({"exp": common::now_secs() - 60})),
                "refresh_token": "rt-net-1",
                "oauth_provenance": {"issuer": issuer.url, "client_id": "app_EMoamEEZ73f0CkXaXp7hrann", "protocol": "openai"},
                "account_id": null
            }
        })
        .to_string(),
    );
    let with_network = |args: &[&str], ca_bundle: bool| {
        let mut cmd = env.cmd(args);
        cmd.env("HTTPS_PROXY", &proxy_url)
            .env("CODEX_API_KEY", "sk-net-test-0000000000");
        if ca_bundle {
            cmd.env("CODEX_CA_CERTIFICATE", dir.join("ca.pem"));
        }
        common::run_cmd(cmd, None)
    };

    // Without the bundle the refresh fails with the guide's fix.
    let run = with_network(&["login", "token"], false);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains("CODEX_CA_CERTIFICATE=/path/to/ca.pem"),
        "{run:?}"
    );

    let run = with_network(&["login", "token"], true);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        proxy.connects_to(issuer.port()) >= 2,
        "the refresh went through the proxy"
    );

    let run = with_network(&["exec", "hello"], true);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(model.requests().len(), 1);
    assert!(
        proxy.connects_to(model.port()) >= 1,
        "exec went through the proxy"
    );

    let before = proxy.connects_to(issuer.port());
    let run = with_network(&["logout"], true);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stderr, "Successfully logged out\n");
    assert!(
        issuer
            .requests()
            .iter()
            .any(|r| r["path"] == "/oauth/revoke")
    );
    assert!(
        proxy.connects_to(issuer.port()) > before,
        "the revoke went through the proxy"
    );
}

/// A proxy that refuses the login (tinyproxy answers 407 without credentials and 401 for wrong
/// ones, in HTTP/1.0) answers the same every time: `codex exec` does not retry it, and says at
/// once what to set. The proxy sees one tunnel request for the model request, and one more by
/// which `codex` learns the status (hyper-util does not report an HTTP/1.0 answer's status).
#[test]
fn exec_does_not_retry_a_proxy_that_refuses_the_login() {
    let env = Env::new();
    let dir = env.dir.path();
    let tls = serve_with_a_private_ca(dir);
    let model = Peer::fake_responses(dir, &tls.iter().map(String::as_str).collect::<Vec<_>>());
    let proxy = ProxyServer::tinyproxy(dir, model.port(), Some(("alice", "proxy-canary-Pw10")));
    env.write_config(&format!("openai_base_url = \"{}/v1\"\n", model.url));
    let bare = format!("http://127.0.0.1:{}", proxy.port);
    let wrong = format!("http://alice:wrong-canary-Pw11@127.0.0.1:{}", proxy.port);
    let mut seen = 0;
    for (proxy_url, refusal) in [
        (
            &bare,
            format!(
                "the proxy {bare} (from HTTPS_PROXY) requires a user name and password (407 Proxy Authentication Required); put them in the URL: HTTPS_PROXY=http://USER:PASSWORD@127.0.0.1:{}, or add `127.0.0.1` to NO_PROXY to connect directly",
                proxy.port
            ),
        ),
        (
            &wrong,
            format!(
                "the proxy {bare} (from HTTPS_PROXY) refused the user name and password in HTTPS_PROXY (401 Unauthorized); check them (percent-encode special characters: `@` is `%40`), or add `127.0.0.1` to NO_PROXY to connect directly"
            ),
        ),
    ] {
        let mut cmd = env.cmd(&["exec", "hello"]);
        cmd.env("HTTPS_PROXY", proxy_url)
            .env("CODEX_API_KEY", "sk-net-test-0000000000")
            .env("CODEX_CA_CERTIFICATE", dir.join("ca.pem"));
        let run = common::run_cmd(cmd, None);
        assert_eq!(run.code, 1, "{run:?}");
        assert!(run.stderr.contains(&refusal), "{run:?}");
        assert!(!run.stderr.contains("retr"), "retried: {run:?}");
        assert_no_canary(&run, "wrong-canary-Pw11");
        let now = proxy.connects_to(model.port());
        assert_eq!(now - seen, 2, "tunnel requests the proxy saw: {run:?}");
        seen = now;
    }
    assert!(model.requests().is_empty());
}
