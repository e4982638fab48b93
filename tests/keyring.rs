//! Issue 6: credentials in the OS keyring (`cli_auth_credentials_store = "keyring"` and
//! `"auto"`) on a real Secret Service. Each test starts its own D-Bus session bus (`dbus-daemon`)
//! and, where it needs one, an unlocked `gnome-keyring-daemon`; the built binary runs against
//! them, and `secret-tool` checks the entry is the reference CLI's, byte for byte.

mod common;

use std::path::PathBuf;

use common::keyring::{Session, account};
use common::{Env, Peer, READING, SAVED, api_key_json, jwt_signed, now_secs, run_cmd, saved};

const KEY: &str = "sk-proj-canary-0123456789";
const NO_BUS: &str = "no D-Bus session bus: DBUS_SESSION_BUS_ADDRESS is not set";
const NO_SERVICE: &str =
    "no Secret Service on the D-Bus session bus (nothing provides org.freedesktop.secrets)";
const START_DAEMON: &str = "start a keyring daemon in a D-Bus session (for example gnome-keyring-daemon --unlock --components=secrets)";
const LOCKED: &str = "the keyring is locked and no unlock prompt can be shown";
const UNLOCK: &str = "unlock the keyring (for example by signing in to the desktop)";

fn config_path(env: &Env) -> PathBuf {
    std::fs::canonicalize(&env.home)
        .unwrap()
        .join("config.toml")
}

fn auth_path(env: &Env) -> String {
    std::fs::canonicalize(&env.home)
        .unwrap()
        .join("auth.json")
        .display()
        .to_string()
}

fn compact(key: &str) -> String {
    format!(r#"{{"auth_mode":"apikey","OPENAI_API_KEY":"{key}"}}"#)
}

fn keyring_error(env: &Env, cause: &str, remedy: &str) -> String {
    format!(
        "cannot use the OS keyring: {cause}; {remedy}, or set cli_auth_credentials_store = \"file\" in {}\n",
        config_path(env).display()
    )
}

fn stored_in_keyring(env: &Env) -> String {
    format!(
        "Stored in the OS keyring (service \"Codex Auth\", account \"{}\")\n",
        account(env)
    )
}

fn plain_text_warning(env: &Env, cause: &str) -> String {
    format!(
        "warning: the OS keyring is not available ({cause}), so credentials are stored in plain text in {}\n",
        auth_path(env)
    )
}

const REFRESH_TOKEN: &str = "rt_canary_refresh_0123456789";

/// A ChatGPT sign-in minted by `issuer`, compact as the reference stores it in the keyring:
/// about 6 KB, as real bundles are, with a 2.5 KB field of a future version (kept on rewrite, so
/// a refreshed bundle stays large). `access_exp`: the access token's `exp` claim, if any.
fn chatgpt_bundle(issuer: &str, access_exp: Option<i64>) -> String {
    let claims = r#"{"email":"user@example.com","https://api.openai.com/auth":{"chatgpt_plan_type":"plus","chatgpt_user_id":"user-abc","chatgpt_account_id":"acc-123","organizations":[{"id":"org-1","role":"owner","title":"Personal"}]}}"#;
    let id_token = jwt_signed(claims, &"s".repeat(342));
    let access_claims = match access_exp {
        Some(exp) => format!(r#"{{"exp":{exp},"scp":{:?}}}"#, "openid ".repeat(400)),
        None => format!(r#"{{"scp":{:?}}}"#, "openid ".repeat(400)),
    };
    let access_token = jwt_signed(&access_claims, &"s".repeat(342));
    let doc = format!(
        r#"{{"auth_mode":"chatgpt","OPENAI_API_KEY":null,"tokens":{{"id_token":"{id_token}","access_token":"{access_token}","refresh_token":"{REFRESH_TOKEN}","oauth_provenance":{{"issuer":"{issuer}","client_id":"app_EMoamEEZ73f0CkXaXp7hrann","protocol":"openai"}},"account_id":"acc-123"}},"last_refresh":"2026-04-25T12:34:56.789Z","future_field":{{"kept":true,"notes":"{notes}"}}}}"#,
        notes = "n".repeat(2500)
    );
    assert!((4000..9000).contains(&doc.len()), "{}", doc.len());
    doc
}

fn chatgpt_status(stored: &str) -> String {
    format!(
        "Logged in using ChatGPT\n  Account: user@example.com (ChatGPT plus plan)\n  Last refreshed: 2026-04-25T12:34:56.789Z\nYour ChatGPT plan unlocks cloud tasks, fast mode and day-one access to the newest models.\n{stored}"
    )
}

#[test]
fn keyring_login_status_logout_use_the_reference_entry() {
    let session = Session::with_keyring();
    let env = Env::new();
    env.use_store("keyring");
    session
        .run_stdin(&env, &["login", "--api-key", "-"], KEY.as_bytes())
        .assert(0, "", &format!("{READING}{SAVED}"));
    assert!(!env.auth_path().exists(), "no plain-text copy");
    assert_eq!(session.lookup(&account(&env)), Some(compact(KEY)));

    // The item carries the reference's attributes and label (`secret-tool` prints them on stderr).
    let search = session.secret_tool(&["search", "--all", "service", "Codex Auth"], None);
    assert!(
        search.stdout.contains(&format!(
            "label = {}@Codex Auth:default (keyring v3.6.3)\n",
            account(&env)
        )),
        "{search:?}"
    );
    for attribute in [
        "attribute.application = rust-keyring\n".to_string(),
        "attribute.service = Codex Auth\n".to_string(),
        "attribute.target = default\n".to_string(),
        format!("attribute.username = {}\n", account(&env)),
    ] {
        assert!(
            search.stderr.contains(&attribute),
            "{attribute}: {search:?}"
        );
    }

    session.run(&env, &["login", "status"]).assert(
        0,
        "",
        &format!(
            "API key configured - sk-proj-***56789\nCloud tasks, fast mode and day-one access to the newest models need a ChatGPT plan: codex logout, then codex login.\n{}",
            stored_in_keyring(&env)
        ),
    );
    session.run(&env, &["login", "status", "--json"]).assert(
        0,
        &format!(
            "{{\"logged_in\":true,\"mode\":\"apikey\",\"api_key\":\"sk-proj-***56789\",\"store\":\"keyring\",\"path\":null,\"keyring_service\":\"Codex Auth\",\"keyring_account\":\"{}\",\"accounts\":[{{\"name\":\"apikey-56789\",\"active\":true,\"mode\":\"apikey\",\"email\":null,\"plan\":null,\"api_key\":\"sk-proj-***56789\",\"refresh_refused\":null}}]}}\n",
            account(&env)
        ),
        "",
    );

    session
        .run(&env, &["logout"])
        .assert(0, "", "Successfully logged out\n");
    assert_eq!(session.lookup(&account(&env)), None);
    session
        .run(&env, &["logout"])
        .assert(0, "", "Not logged in\n");
    session
        .run(&env, &["login", "status"])
        .assert(1, "", "Not logged in\n");
}

#[test]
fn an_entry_written_by_the_reference_is_read_and_removed() {
    let session = Session::with_keyring();
    let env = Env::new();
    env.use_store("keyring");
    let issuer = Peer::fake_issuer(env.dir.path(), &[]);
    session.store_as_reference(&account(&env), &chatgpt_bundle(&issuer.url, None));
    session.run(&env, &["login", "status"]).assert(
        0,
        "",
        &chatgpt_status(&stored_in_keyring(&env)),
    );
    // Another CODEX_HOME has another entry: it does not see this one.
    let other = Env::new();
    other.use_store("keyring");
    session
        .run(&other, &["login", "status"])
        .assert(1, "", "Not logged in\n");

    // Logout revokes the refresh token read from the keyring, then removes the entry.
    session
        .run(&env, &["logout"])
        .assert(0, "", "Successfully logged out\n");
    let revoked: Vec<_> = issuer
        .requests()
        .into_iter()
        .filter(|r| r["path"] == "/oauth/revoke")
        .map(|r| r["parsed"]["token"].clone())
        .collect();
    assert_eq!(revoked, vec![serde_json::json!(REFRESH_TOKEN)]);
    assert_eq!(session.lookup(&account(&env)), None);
}

#[test]
fn a_refresh_moves_a_large_bundle_into_the_keyring() {
    let session = Session::with_keyring();
    let env = Env::new();
    let issuer = Peer::fake_issuer(env.dir.path(), &["--seed-refresh-token", REFRESH_TOKEN]);
    // Signed in with the file store, then switched to the keyring: the refresh is the next save.
    let before: serde_json::Value =
        serde_json::from_str(&chatgpt_bundle(&issuer.url, Some(now_secs() - 60))).unwrap();
    env.write_auth(&serde_json::to_string_pretty(&before).unwrap());
    env.use_store("keyring");
    let run = session.run(&env, &["login", "token"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!env.auth_path().exists(), "the plain-text copy is removed");

    let secret = session.lookup(&account(&env)).expect("in the keyring");
    assert!(secret.len() > 4000, "{}", secret.len());
    let after: serde_json::Value = serde_json::from_str(&secret).unwrap();
    // Compact JSON, the reference's keyring form.
    assert_eq!(secret, serde_json::to_string(&after).unwrap());
    assert_eq!(
        format!("{}\n", after["tokens"]["access_token"].as_str().unwrap()),
        run.stdout
    );
    assert_ne!(after["tokens"]["refresh_token"], REFRESH_TOKEN);
    assert_eq!(after["future_field"], before["future_field"]);
    assert_ne!(after["last_refresh"], before["last_refresh"]);

    // The next command uses the keyring copy as is: no second refresh.
    let again = session.run(&env, &["login", "token"]);
    assert_eq!(again.stdout, run.stdout, "{again:?}");
    let refreshes = issuer
        .requests()
        .into_iter()
        .filter(|r| r["path"] == "/oauth/token")
        .count();
    assert_eq!(refreshes, 1);
}

#[test]
fn large_secrets_round_trip_through_the_keyring() {
    let session = Session::with_keyring();
    let env = Env::new();
    env.use_store("keyring");
    // An 8 KB key: larger than any token bundle and than Windows' 2560-byte limit.
    let key = format!("sk-proj-{}", "A1b2C3d4".repeat(1000));
    session
        .run_stdin(&env, &["login", "--api-key", "-"], key.as_bytes())
        .assert(0, "", &format!("{READING}{}", saved("apikey-2C3d4")));
    assert_eq!(session.lookup(&account(&env)), Some(compact(&key)));
    let masked = format!("sk-proj-***{}", &key[key.len() - 5..]);
    session.run(&env, &["login", "status"]).assert(
        0,
        "",
        &format!("API key configured - {masked}\nCloud tasks, fast mode and day-one access to the newest models need a ChatGPT plan: codex logout, then codex login.\n{}", stored_in_keyring(&env)),
    );
}

#[test]
fn auto_uses_the_keyring_when_there_is_one() {
    let session = Session::with_keyring();
    let env = Env::new();
    env.use_store("auto");
    session
        .run_stdin(&env, &["login", "--with-api-key"], KEY.as_bytes())
        .assert(0, "", &format!("{READING}{SAVED}"));
    assert!(!env.auth_path().exists());
    assert_eq!(session.lookup(&account(&env)), Some(compact(KEY)));
    session.run(&env, &["login", "status"]).assert(
        0,
        "",
        &format!(
            "API key configured - sk-proj-***56789\nCloud tasks, fast mode and day-one access to the newest models need a ChatGPT plan: codex logout, then codex login.\n{}",
            stored_in_keyring(&env)
        ),
    );
    session
        .run(&env, &["logout"])
        .assert(0, "", "Successfully logged out\n");
    assert_eq!(session.lookup(&account(&env)), None);
}

#[test]
fn auto_without_a_session_bus_uses_the_file_and_says_so() {
    let env = Env::new();
    env.use_store("auto");
    let warning = plain_text_warning(&env, NO_BUS);
    env.run_stdin(&["login", "--api-key", "-"], KEY.as_bytes())
        .assert(0, "", &format!("{READING}{warning}{SAVED}"));
    assert_eq!(env.read_auth(), api_key_json(KEY));
    assert_eq!(common::mode_of(&env.auth_path()), 0o600);
    env.run(&["login", "status"]).assert(
        0,
        "",
        &format!("{warning}API key configured - sk-proj-***56789\nCloud tasks, fast mode and day-one access to the newest models need a ChatGPT plan: codex logout, then codex login.\n"),
    );
    env.run(&["login", "status", "--json"]).assert(
        0,
        &format!(
            "{{\"logged_in\":true,\"mode\":\"apikey\",\"api_key\":\"sk-proj-***56789\",\"store\":\"file\",\"path\":{:?},\"accounts\":[{{\"name\":\"apikey-56789\",\"active\":true,\"mode\":\"apikey\",\"email\":null,\"plan\":null,\"api_key\":\"sk-proj-***56789\",\"refresh_refused\":null}}]}}\n",
            auth_path(&env)
        ),
        &warning,
    );
    // The reference fails here and leaves auth.json behind; ours removes it and says what it
    // could not check.
    env.run(&["logout"]).assert(
        0,
        "",
        &format!(
            "Successfully logged out\nnote: the OS keyring was not checked for credentials: {NO_BUS}\n"
        ),
    );
    assert!(!env.auth_path().exists());
    env.run(&["login", "status"])
        .assert(1, "", "Not logged in\n");
}

#[test]
fn auto_with_a_bus_but_no_secret_service_uses_the_file_and_says_so() {
    let session = Session::bus_only();
    let env = Env::new();
    env.use_store("auto");
    let warning = plain_text_warning(&env, NO_SERVICE);
    session
        .run_stdin(&env, &["login", "--api-key", "-"], KEY.as_bytes())
        .assert(0, "", &format!("{READING}{warning}{SAVED}"));
    assert_eq!(env.read_auth(), api_key_json(KEY));
    session.run(&env, &["logout"]).assert(
        0,
        "",
        &format!(
            "Successfully logged out\nnote: the OS keyring was not checked for credentials: {NO_SERVICE}\n"
        ),
    );
}

#[test]
fn keyring_mode_without_a_keyring_fails_with_one_line() {
    // No session bus at all.
    let env = Env::new();
    env.use_store("keyring");
    let error = keyring_error(&env, NO_BUS, START_DAEMON);
    env.run(&["login", "status"]).assert(1, "", &error);
    // --json still answers on stdout (the message goes to stderr too).
    let run = env.run(&["login", "status", "--json"]);
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (1, error.as_str()),
        "{run:?}"
    );
    let json: serde_json::Value = serde_json::from_str(&run.stdout).expect("one JSON object");
    assert_eq!(json["logged_in"], false);
    assert_eq!(json["store"], "keyring");
    assert_eq!(format!("{}\n", json["problem"].as_str().unwrap()), error);
    env.run_stdin(&["login", "--api-key", "-"], KEY.as_bytes())
        .assert(1, "", &format!("{READING}{error}"));
    assert!(!env.auth_path().exists(), "never falls back to plain text");
    // Nothing can be in a keyring that is not running: logout succeeds and says what it skipped.
    env.run(&["logout"]).assert(
        0,
        "",
        &format!("Not logged in\nnote: the OS keyring was not checked for credentials: {NO_BUS}\n"),
    );

    // A session bus, but no Secret Service on it.
    let session = Session::bus_only();
    let error = keyring_error(&env, NO_SERVICE, START_DAEMON);
    session
        .run(&env, &["login", "status"])
        .assert(1, "", &error);
    session
        .run_stdin(&env, &["login", "--api-key", "-"], KEY.as_bytes())
        .assert(1, "", &format!("{READING}{error}"));
    assert!(!env.auth_path().exists());

    // The way out the message gives works.
    env.run_stdin(
        &[
            "-c",
            "cli_auth_credentials_store=\"file\"",
            "login",
            "--api-key",
            "-",
        ],
        KEY.as_bytes(),
    )
    .assert(0, "", &format!("{READING}{SAVED}"));
    assert_eq!(env.read_auth(), api_key_json(KEY));
}

#[test]
fn a_locked_keyring_is_a_clear_error_never_a_hang() {
    let session = Session::with_keyring();
    let env = Env::new();
    env.use_store("keyring");
    session
        .run_stdin(&env, &["login", "--api-key", "-"], KEY.as_bytes())
        .assert(0, "", &format!("{READING}{SAVED}"));
    session.lock();

    let error = keyring_error(&env, LOCKED, UNLOCK);
    session
        .run(&env, &["login", "status"])
        .assert(1, "", &error);
    session
        .run_stdin(
            &env,
            &["login", "--api-key", "-"],
            b"sk-proj-other-key-00000",
        )
        .assert(1, "", &format!("{READING}{error}"));
    assert!(!env.auth_path().exists());
    // The credentials may be in there: logout fails and says what to do.
    session.run(&env, &["logout"]).assert(
        1,
        "",
        &format!(
            "Not logged in\ncould not check the OS keyring (service \"Codex Auth\", account \"{}\") for credentials: {LOCKED}; {UNLOCK}, then run `codex logout` again\n",
            account(&env)
        ),
    );
    // `auto` falls back to the file, and does not claim the keyring is empty.
    session
        .run(&env, &["-c", "cli_auth_credentials_store=\"auto\"", "login", "status"])
        .assert(
            1,
            "",
            &format!(
                "Not logged in\nnote: the OS keyring (service \"Codex Auth\", account \"{}\") was not checked for credentials: {LOCKED}; {UNLOCK}\n",
                account(&env)
            ),
        );
}

#[test]
fn a_keyring_without_a_collection_is_a_clear_error() {
    let session = Session::with_gnome_keyring(false);
    let env = Env::new();
    env.use_store("keyring");
    session
        .run(&env, &["login", "status"])
        .assert(1, "", "Not logged in\n");
    session
        .run_stdin(&env, &["login", "--api-key", "-"], KEY.as_bytes())
        .assert(
            1,
            "",
            &format!(
                "{READING}{}",
                keyring_error(
                    &env,
                    "the Secret Service has no default keyring, and none can be created without a prompt",
                    "create a default keyring and unlock it (for example with gnome-keyring-daemon --unlock, or Seahorse on a desktop)"
                )
            ),
        );
    assert!(!env.auth_path().exists());
    session
        .run(&env, &["logout"])
        .assert(0, "", "Not logged in\n");
}

#[test]
fn a_hung_secret_service_is_given_up_on() {
    let session = Session::with_keyring();
    let env = Env::new();
    env.use_store("keyring");
    session.freeze();
    session.run(&env, &["login", "status"]).assert(
        1,
        "",
        &keyring_error(
            &env,
            "the keyring did not answer within 2 seconds",
            "check that the keyring daemon is responsive",
        ),
    );
    // The file mode with credentials in auth.json never asks the keyring.
    env.write_auth(&api_key_json(KEY));
    session
        .run(
            &env,
            &[
                "-c",
                "cli_auth_credentials_store=\"file\"",
                "login",
                "status",
            ],
        )
        .assert(0, "", "API key configured - sk-proj-***56789\nCloud tasks, fast mode and day-one access to the newest models need a ChatGPT plan: codex logout, then codex login.\n");
}

#[test]
fn switching_file_keyring_file_keeps_the_user_signed_in() {
    let session = Session::with_keyring();
    let env = Env::new();
    let account = account(&env);

    env.use_store("file");
    session
        .run_stdin(&env, &["login", "--api-key", "-"], KEY.as_bytes())
        .assert(0, "", &format!("{READING}{SAVED}"));
    assert_eq!(env.read_auth(), api_key_json(KEY));
    assert_eq!(session.lookup(&account), None);

    // keyring: still signed in from the file; the next save moves the credentials.
    env.use_store("keyring");
    session.run(&env, &["login", "status"]).assert(
        0,
        "",
        &format!(
            "API key configured - sk-proj-***56789\nCloud tasks, fast mode and day-one access to the newest models need a ChatGPT plan: codex logout, then codex login.\nStored in {}\n",
            auth_path(&env)
        ),
    );
    let second = "sk-proj-second-key-98765";
    session
        .run_stdin(&env, &["login", "--api-key", "-"], second.as_bytes())
        .assert(0, "", &format!("{READING}{}", saved("apikey-98765")));
    assert!(!env.auth_path().exists(), "the old copy is removed");
    assert_eq!(session.lookup(&account), Some(compact(second)));

    // file again: still signed in from the keyring; the next save moves them back.
    env.use_store("file");
    session.run(&env, &["login", "status"]).assert(
        0,
        "",
        &format!(
            "API key configured - sk-proj-***98765\nCloud tasks, fast mode and day-one access to the newest models need a ChatGPT plan: codex logout, then codex login.\n{}Active account: apikey-98765\nOther accounts (codex login switch NAME):\n  apikey-56789  API key sk-proj-***56789\n",
            stored_in_keyring(&env)
        ),
    );
    session
        .run_stdin(&env, &["login", "--api-key", "-"], KEY.as_bytes())
        .assert(0, "", &format!("{READING}{SAVED}"));
    assert_eq!(env.read_auth(), api_key_json(KEY));
    assert_eq!(session.lookup(&account), None, "the old copy is removed");
    session.run(&env, &["login", "status"]).assert(
        0,
        "",
        "API key configured - sk-proj-***56789\nCloud tasks, fast mode and day-one access to the newest models need a ChatGPT plan: codex logout, then codex login.\nActive account: apikey-56789\nOther accounts (codex login switch NAME):\n  apikey-98765  API key sk-proj-***98765\n",
    );

    // Logout in file mode also clears a keyring copy; nothing is active afterwards, and the
    // other saved account (whose copy was saved in keyring mode) comes back with a switch, in
    // the file.
    session.store_as_reference(&account, &compact(second));
    session.run(&env, &["logout"]).assert(
        0,
        "",
        "Successfully logged out\nNo account is active now. Still saved: apikey-98765. Use one again with `codex login switch NAME`; `codex logout --all` removes them too\n",
    );
    assert!(!env.auth_path().exists());
    assert_eq!(session.lookup(&account), None);
    session
        .run(&env, &["login", "switch", "apikey-98765"])
        .assert(
            0,
            "",
            "Switched to account `apikey-98765`: API key sk-proj-***98765\n",
        );
    assert_eq!(env.read_auth(), api_key_json(second));
    assert_eq!(session.lookup(&account), None);
    session
        .run(&env, &["logout"])
        .assert(0, "", "Successfully logged out\n");
    assert!(!env.auth_path().exists());
    assert_eq!(session.lookup(&account), None);
    assert_eq!(
        session.lookup(&format!("{account}|account:apikey-98765")),
        None,
        "the account's own entry went with it"
    );
}

#[test]
fn a_broken_keyring_entry_is_reported_and_replaced_by_login() {
    let session = Session::with_keyring();
    let env = Env::new();
    env.use_store("keyring");
    session.store_as_reference(&account(&env), "not json");
    let entry = format!(
        "the OS keyring (service \"Codex Auth\", account \"{}\")",
        account(&env)
    );
    let problem =
        format!("cannot parse the credentials in {entry} (line 1, column 2: expected ident)");
    session.run(&env, &["login", "status"]).assert(
        1,
        "",
        &format!("Not logged in: {problem}. Run `codex login` to replace them.\n"),
    );
    session
        .run_stdin(&env, &["login", "--api-key", "-"], KEY.as_bytes())
        .assert(
            0,
            "",
            &format!(
                "{READING}warning: {problem}; they are replaced by the new credentials\n{SAVED}"
            ),
        );
    assert_eq!(session.lookup(&account(&env)), Some(compact(KEY)));
}

#[test]
fn no_secret_reaches_the_logs() {
    let session = Session::with_keyring();
    let env = Env::new();
    let issuer = Peer::fake_issuer(env.dir.path(), &[]);
    let bundle = chatgpt_bundle(&issuer.url, None);
    let runs = [
        {
            env.use_store("keyring");
            let mut cmd = session.codex(&env, &["login", "--api-key", "-"]);
            cmd.env("RUST_LOG", "trace");
            run_cmd(cmd, Some(KEY.as_bytes()))
        },
        {
            let mut cmd = session.codex(&env, &["login", "status", "--json"]);
            cmd.env("RUST_LOG", "trace");
            run_cmd(cmd, None)
        },
        {
            session.store_as_reference(&account(&env), &bundle);
            let mut cmd = session.codex(
                &env,
                &[
                    "-c",
                    "cli_auth_credentials_store=\"file\"",
                    "login",
                    "status",
                ],
            );
            cmd.env("RUST_LOG", "trace");
            run_cmd(cmd, None)
        },
        {
            let mut cmd = session.codex(&env, &["logout"]);
            cmd.env("RUST_LOG", "trace");
            run_cmd(cmd, None)
        },
    ];
    for run in &runs {
        assert_eq!(run.code, 0, "{run:?}");
        assert!(
            run.stderr.contains("TRACE") || run.stderr.contains("DEBUG"),
            "{run:?}"
        );
        for canary in [KEY, "rt_canary_refresh_0123456789", "sssssssss"] {
            assert!(!run.stderr.contains(canary), "{canary} leaked: {run:?}");
            assert!(!run.stdout.contains(canary), "{canary} leaked: {run:?}");
        }
    }
}

#[test]
fn logout_beside_an_unparseable_auth_json_still_clears_the_keyring() {
    let session = Session::with_keyring();
    let env = Env::new();
    env.use_store("keyring");
    session
        .run_stdin(&env, &["login", "--api-key", "-"], KEY.as_bytes())
        .assert(0, "", &format!("{READING}{SAVED}"));
    std::fs::write(env.auth_path(), "{ stray").unwrap();
    let run = session.run(&env, &["logout"]);
    assert_eq!(run.code, 1, "{run:?}");
    let path = env.auth_path().display().to_string();
    assert_eq!(
        run.stderr,
        format!(
            "Removed the credentials from the OS keyring (service \"Codex Auth\", account \"{}\").\ncannot parse `{path}` (line 1, column 3: key must be a string). It was left in place because it may still hold credentials: fix it, or remove it yourself (rm {path}).\n",
            account(&env)
        )
    );
    assert_eq!(
        session.lookup(&account(&env)),
        None,
        "the keyring entry is gone"
    );
    assert_eq!(std::fs::read_to_string(env.auth_path()).unwrap(), "{ stray");
}

#[test]
fn credentials_saved_while_the_keyring_hung_are_not_shadowed_by_the_older_entry() {
    let session = Session::with_keyring();
    let env = Env::new();
    env.use_store("auto");
    let old = "sk-proj-old-key-0000011111";
    let new = "sk-proj-new-key-2222233333";
    session
        .run_stdin(&env, &["login", "--api-key", "-"], old.as_bytes())
        .assert(0, "", &format!("{READING}{}", saved("apikey-11111")));
    assert_eq!(session.lookup(&account(&env)), Some(compact(old)));

    session.freeze();
    let run = session.run_stdin(&env, &["login", "--api-key", "-"], new.as_bytes());
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr
            .contains("so credentials are stored in plain text in"),
        "{run:?}"
    );
    session.thaw();

    // The keyring still holds the old key; the newer file copy wins, and the next save moves it.
    assert_eq!(session.lookup(&account(&env)), Some(compact(old)));
    session
        .run(&env, &["login", "token"])
        .assert(0, &format!("{new}\n"), "");
    session
        .run_stdin(&env, &["login", "--api-key", "-"], new.as_bytes())
        .assert(0, "", &format!("{READING}{}", saved("apikey-33333")));
    assert_eq!(session.lookup(&account(&env)), Some(compact(new)));
    assert!(!env.auth_path().exists(), "moved into the keyring");
}
