//! Issue 13: several saved accounts. Sign-ins under names, `login switch`, `exec` and `login
//! token` with `--account` / `CODEX_ACCOUNT`, status, logout; against oidc-provider with
//! refresh-token rotation and reuse detection on (a stale copy of any account would be refused,
//! and would take the whole grant down with it), the fake Responses API, and gnome-keyring.

mod common;

use std::process::{Command, Stdio};

use common::keyring::{Session, account as keyring_account};
use common::{
    Background, Env, OIDC_CLIENT, Peer, Run, agent_ok, api_key_json, field_names, mode_of,
    oidc_browser_json_args, run_cmd, sign_in_by_browser,
};
use serde_json::{Value, json};

/// One CODEX_HOME, in the plain file mode or on a private Secret Service.
struct Home {
    env: Env,
    session: Option<Session>,
}

impl Home {
    fn file() -> Home {
        Home {
            env: Env::new(),
            session: None,
        }
    }

    fn keyring() -> Home {
        Home {
            env: Env::new(),
            session: Some(Session::with_keyring()),
        }
    }

    /// config.toml: the store mode, and the fake Responses API as the ChatGPT backend.
    fn configure(&self, responses: Option<&Peer>) {
        let mut text = String::new();
        if self.session.is_some() {
            text.push_str("cli_auth_credentials_store = \"keyring\"\n");
        }
        if let Some(fake) = responses {
            text.push_str(&format!(
                "chatgpt_base_url = \"{}/backend-api/\"\nopenai_base_url = \"{}/v1\"\n",
                fake.url, fake.url
            ));
        }
        self.env.write_config(&text);
    }

    fn cmd(&self, args: &[&str]) -> Command {
        match &self.session {
            Some(session) => session.codex(&self.env, args),
            None => self.env.cmd(args),
        }
    }

    fn run(&self, args: &[&str]) -> Run {
        run_cmd(self.cmd(args), None)
    }

    fn run_with(&self, args: &[&str], vars: &[(&str, &str)]) -> Run {
        let mut cmd = self.cmd(args);
        for (k, v) in vars {
            cmd.env(k, v);
        }
        run_cmd(cmd, None)
    }

    fn run_stdin(&self, args: &[&str], stdin: &str) -> Run {
        run_cmd(self.cmd(args), Some(stdin.as_bytes()))
    }

    /// Signs in with the browser flow as `user` at the issuer (the agent plays the person).
    fn sign_in(&self, oidc: &Peer, user: &str, account: Option<&str>) -> Run {
        let mut args = oidc_browser_json_args(oidc);
        if let Some(name) = account {
            args.extend(["--account", name]);
        }
        sign_in_by_browser(self.cmd(&args), &["--login", user])
    }

    /// The active credentials as the reference reads them: auth.json, or the shared keyring
    /// entry (then auth.json must not exist).
    fn active(&self) -> Value {
        serde_json::from_str(&self.active_text()).unwrap()
    }

    fn active_text(&self) -> String {
        match &self.session {
            None => self.env.read_auth(),
            Some(session) => {
                assert!(!self.env.auth_path().exists(), "no plain-text copy");
                session
                    .lookup(&keyring_account(&self.env))
                    .expect("the shared keyring entry")
            }
        }
    }

    /// The saved copy of account `name`.
    fn copy(&self, name: &str) -> Value {
        let text = match &self.session {
            None => std::fs::read_to_string(self.env.home.join(format!("accounts/{name}.json")))
                .expect("the account's file"),
            Some(session) => session
                .lookup(&format!("{}|account:{name}", keyring_account(&self.env)))
                .expect("the account's keyring entry"),
        };
        serde_json::from_str(&text).unwrap()
    }

    fn token(&self, args: &[&str]) -> String {
        let mut all = vec!["login", "token"];
        all.extend_from_slice(args);
        let run = self.run(&all);
        assert_eq!(run.code, 0, "{all:?}: {run:?}");
        assert_eq!(run.stderr, "", "{all:?}");
        run.stdout.trim().to_string()
    }

    fn switch(&self, name: &str, summary: &str) {
        self.run(&["login", "switch", name]).assert(
            0,
            "",
            &format!("Switched to account `{name}`: {summary}\n"),
        );
    }
}

/// Refresh grants the issuer answered, as (status, refresh token presented).
fn refreshes(oidc: &Peer) -> Vec<(u64, String)> {
    oidc.requests()
        .iter()
        .filter(|r| r["grant_type"] == "refresh_token")
        .map(|r| {
            (
                r["status"].as_u64().unwrap_or(0),
                r["body"]["refresh_token"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
            )
        })
        .collect()
}

fn revoked(oidc: &Peer) -> Vec<String> {
    oidc.requests()
        .iter()
        .filter(|r| r["endpoint"] == "revocation")
        .map(|r| r["body"]["token"].as_str().unwrap_or("").to_string())
        .collect()
}

fn refresh_token(doc: &Value) -> String {
    doc["tokens"]["refresh_token"].as_str().unwrap().to_string()
}

fn access_token(doc: &Value) -> String {
    doc["tokens"]["access_token"].as_str().unwrap().to_string()
}

/// Every refresh grant so far succeeded: no process ever presented a rotated-away token.
#[track_caller]
fn no_refresh_refused(oidc: &Peer) {
    let refused: Vec<_> = refreshes(oidc)
        .into_iter()
        .filter(|(status, _)| *status != 200)
        .collect();
    assert!(refused.is_empty(), "refused refreshes: {refused:?}");
}

const ALICE: &str = "ChatGPT alice@example.com (plus plan)";
const BOB: &str = "ChatGPT bob@example.com (plus plan)";

/// oidc-provider minting access tokens that are always due: 60 s left of a 660 s lifetime (`iat`
/// 600 s back), within the 5-minute margin (a token that only lives 60 s would be due in the
/// second half of its life only): every command that needs a token refreshes once, so every step
/// below rotates a refresh token. A minute of life is room for a loaded machine: a token that is
/// expired by the time it is saved is never handed out.
fn rotating_issuer(env: &Env) -> Peer {
    Peer::oidc(
        env.dir.path(),
        &[
            ("ROTATE_REFRESH", "1"),
            ("ACCESS_TTL", "60"),
            ("ACCESS_IAT_OFFSET", "-600"),
        ],
    )
}

/// Two users as two accounts, each refreshed several times through switches in both directions
/// with `exec --account` and `CODEX_ACCOUNT` in between; both still refresh at the end.
fn two_accounts_stay_fresh_through_switches(home: &Home) -> Peer {
    let fake = Peer::responses(&[]);
    home.configure(Some(&fake));
    let oidc = rotating_issuer(&home.env);

    let event =
        |run: &Run| -> Value { serde_json::from_str(run.stdout.lines().last().unwrap()).unwrap() };
    let run = home.sign_in(&oidc, "alice", Some("work"));
    assert_eq!(event(&run)["account"], "work");
    // Without --account the name comes from the sign-in, and is printed.
    let run = home.sign_in(&oidc, "bob", None);
    assert_eq!(event(&run)["account"], "bob@example.com");
    let bob = "bob@example.com";
    let mut expected_refreshes = 0;
    for _round in 0..3 {
        // bob is active: refreshed through the active store, mirrored into his copy.
        let token = home.token(&[]);
        expected_refreshes += 1;
        assert_eq!(token, access_token(&home.active()));
        assert_eq!(
            home.copy(bob),
            home.active(),
            "the refresh reached bob's copy"
        );

        // work, used without switching: its copy is refreshed, the active one is untouched.
        let active_before = home.active_text();
        let requests = fake.requests().len();
        home.run(&["exec", "--account", "work", "hello"])
            .assert(0, "Hello from fake\n", "");
        expected_refreshes += 1;
        assert_eq!(
            home.active_text(),
            active_before,
            "exec --account does not switch"
        );
        let sent = &fake.requests()[requests];
        assert_eq!(
            sent["headers"]["authorization"],
            format!("Bearer {}", access_token(&home.copy("work")))
        );
        assert_eq!(sent["headers"]["chatgpt-account-id"], "acct-test-123");
        let run = home.run_with(&["login", "token"], &[("CODEX_ACCOUNT", "work")]);
        assert_eq!(run.code, 0, "{run:?}");
        expected_refreshes += 1;
        assert_eq!(run.stdout.trim(), access_token(&home.copy("work")));
        assert_eq!(home.active_text(), active_before);

        home.switch("work", ALICE);
        assert_eq!(home.active(), home.copy("work"));
        home.token(&[]);
        expected_refreshes += 1;

        let requests = fake.requests().len();
        home.run(&["exec", "--account", bob, "hello"])
            .assert(0, "Hello from fake\n", "");
        expected_refreshes += 1;
        assert_eq!(
            fake.requests()[requests]["headers"]["chatgpt-account-id"],
            "acct-bob"
        );
        home.token(&["--account", bob]);
        expected_refreshes += 1;

        home.switch(bob, BOB);
        assert_eq!(home.active(), home.copy(bob));
    }
    // Both accounts still refresh: neither ever presented a refresh token rotated away.
    home.token(&["--account", "work"]);
    home.token(&["--account", bob]);
    expected_refreshes += 2;
    no_refresh_refused(&oidc);
    assert_eq!(refreshes(&oidc).len(), expected_refreshes);
    assert!(revoked(&oidc).is_empty(), "a switch revokes nothing");

    let status = home.run(&["login", "status"]);
    assert_eq!(status.code, 0);
    assert!(
        status.stderr.starts_with(&format!(
            "Logged in using ChatGPT\n  Account: {bob} (ChatGPT plus plan)\n"
        )),
        "{status:?}"
    );
    assert!(
        status.stderr.ends_with(&format!(
            "Active account: {bob}\nOther accounts (codex login switch NAME):\n  work  {ALICE}\n"
        )),
        "{status:?}"
    );
    let status = home.run(&["login", "status", "--json"]);
    let accounts = &serde_json::from_str::<Value>(&status.stdout).unwrap()["accounts"];
    assert_eq!(
        accounts,
        &json!([
            {"name": bob, "active": true, "mode": "chatgpt", "email": bob, "plan": "plus",
             "api_key": null, "refresh_refused": null},
            {"name": "work", "active": false, "mode": "chatgpt", "email": "alice@example.com",
             "plan": "plus", "api_key": null, "refresh_refused": null},
        ])
    );
    oidc
}

#[test]
fn two_accounts_stay_fresh_through_switches_in_file_mode() {
    let home = Home::file();
    two_accounts_stay_fresh_through_switches(&home);
    assert_eq!(mode_of(&home.env.home.join("accounts")), 0o700);
    for name in ["work", "bob@example.com", ".index.json"] {
        let file = if name.starts_with('.') {
            name.to_string()
        } else {
            format!("{name}.json")
        };
        assert_eq!(mode_of(&home.env.home.join("accounts").join(file)), 0o600);
    }
    let index = std::fs::read_to_string(home.env.home.join("accounts/.index.json")).unwrap();
    let active = home.env.read_auth();
    assert!(
        !index.contains(&refresh_token(&home.active())) && !active.contains("\"work\""),
        "the index holds no secret, auth.json no account data"
    );
}

#[test]
fn two_accounts_stay_fresh_through_switches_in_keyring_mode() {
    let home = Home::keyring();
    let oidc = two_accounts_stay_fresh_through_switches(&home);
    let tokens = [
        refresh_token(&home.copy("work")),
        refresh_token(&home.active()),
    ];
    // One entry per account beside the shared one, no plain-text copy of any of them.
    let files: Vec<String> = std::fs::read_dir(home.env.home.join("accounts"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(files, [".index.json"]);
    let session = home.session.as_ref().unwrap();
    home.run(&["logout", "--all"]).assert(
        0,
        "",
        "Successfully logged out of every account (bob@example.com, work)\n",
    );
    let account = keyring_account(&home.env);
    for entry in [
        account.clone(),
        format!("{account}|account:work"),
        format!("{account}|account:bob@example.com"),
    ] {
        assert_eq!(session.lookup(&entry), None, "{entry} is removed");
    }
    assert!(!home.env.home.join("accounts").exists());
    let mut revoked = revoked(&oidc);
    revoked.sort();
    let mut expected = tokens.to_vec();
    expected.sort();
    assert_eq!(revoked, expected, "both accounts were revoked");
}

/// Sixteen processes at once, three times over: switches both ways, `login token --account`
/// for both accounts and plain `login token` (each of those refreshes, the tokens being always
/// due). Every process succeeds, the issuer never sees a reused refresh token, and both
/// accounts still work afterwards, through switches too.
#[test]
fn sixteen_processes_switching_and_refreshing_leave_every_account_usable() {
    let home = Home::file();
    home.configure(None);
    let oidc = rotating_issuer(&home.env);
    home.sign_in(&oidc, "alice", Some("a"));
    home.sign_in(&oidc, "bob", Some("b"));
    for wave in 0..3 {
        let children: Vec<_> = (0..16)
            .map(|i| {
                let args: &[&str] = match i % 4 {
                    0 if (i / 4 + wave) % 2 == 0 => &["login", "switch", "a"],
                    0 => &["login", "switch", "b"],
                    1 => &["login", "token", "--account", "a"],
                    2 => &["login", "token", "--account", "b"],
                    _ => &["login", "token"],
                };
                let child = home
                    .cmd(args)
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap();
                (args, child)
            })
            .collect();
        for (args, child) in children {
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "wave {wave}: {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    no_refresh_refused(&oidc);
    for name in ["a", "b"] {
        home.token(&["--account", name]);
    }
    for name in ["a", "b", "a"] {
        let run = home.run(&["login", "switch", name]);
        assert_eq!(run.code, 0, "{run:?}");
        assert_eq!(home.active(), home.copy(name));
        home.token(&[]);
    }
    home.token(&["--account", "b"]);
    no_refresh_refused(&oidc);
    assert!(refreshes(&oidc).len() >= 6, "the waves did refresh");
}

/// Another writer (the reference CLI, which knows nothing of saved accounts) refreshes the active
/// sign-in in auth.json; the issuer rotates its refresh token, so the account's saved copy now
/// holds a spent one. `login switch` must save the active credentials into the outgoing
/// account's copy before replacing them: else, switched back, that account presents the spent
/// token and oidc-provider's reuse detection signs it out. No command of ours runs between the
/// outside refresh and the switch, so no other path can sync the copy first.
#[test]
fn a_switch_keeps_what_another_writer_refreshed_in_the_outgoing_copy() {
    let home = Home::file();
    let oidc = rotating_issuer(&home.env);
    home.sign_in(&oidc, "alice", Some("work"));
    home.sign_in(&oidc, "bob", None);
    let bob = "bob@example.com";
    home.switch("work", ALICE);
    let saved = refresh_token(&home.copy("work"));
    assert_eq!(refresh_token(&home.active()), saved);

    // The other writer: a CODEX_HOME holding nothing but a copy of auth.json, refreshed there
    // (the issuer's tokens are always due), written back over auth.json as a whole file.
    let other = Env::new();
    other.write_auth(&home.env.read_auth());
    let run = other.run(&["login", "token"]);
    assert_eq!(run.code, 0, "{run:?}");
    let refreshed: Value = serde_json::from_str(&other.read_auth()).unwrap();
    let live = refresh_token(&refreshed);
    assert_ne!(live, saved, "the issuer rotated the refresh token");
    home.env.write_auth(&other.read_auth());

    home.switch(bob, BOB);
    assert_eq!(
        refresh_token(&home.copy("work")),
        live,
        "the switch saved the refreshed sign-in into work's copy"
    );
    assert_eq!(home.copy("work"), refreshed);
    home.switch("work", ALICE);
    assert_eq!(home.active(), refreshed);
    // And the account still works at the issuer: the next refresh presents the live token.
    home.token(&[]);
    let last = refreshes(&oidc).pop().unwrap();
    assert_eq!(last, (200, live));
    no_refresh_refused(&oidc);
}

/// What a switch writes for the reference is byte for byte what the account's sign-in wrote.
#[test]
fn after_a_switch_auth_json_is_what_a_plain_sign_in_wrote() {
    let home = Home::file();
    let oidc = Peer::oidc(home.env.dir.path(), &[]);
    home.sign_in(&oidc, "alice", None);
    let alice = home.env.read_auth();
    home.run_stdin(&["login", "--api-key", "-"], "sk-proj-work-key-0000012345");
    let key = home.env.read_auth();
    assert_eq!(
        key,
        "{\n  \"auth_mode\": \"apikey\",\n  \"OPENAI_API_KEY\": \"sk-proj-work-key-0000012345\"\n}"
    );
    home.sign_in(&oidc, "bob", None);
    let bob = home.env.read_auth();

    home.switch("alice@example.com", ALICE);
    assert_eq!(home.env.read_auth(), alice);
    assert_eq!(
        field_names(&home.active()["tokens"]),
        [
            "id_token",
            "access_token",
            "refresh_token",
            "oauth_provenance",
            "account_id"
        ]
    );
    home.switch("apikey-12345", "API key sk-proj-***12345");
    assert_eq!(home.env.read_auth(), key);
    home.switch("bob@example.com", BOB);
    assert_eq!(home.env.read_auth(), bob);
    if !common::runner::windows() {
        assert_eq!(mode_of(&home.env.auth_path()), 0o600);
    }
    // The plain file mode keeps the reference's text for the active account.
    let status = home.run(&["login", "status"]);
    assert!(
        status.stderr.starts_with(
            "Logged in using ChatGPT\n  Account: bob@example.com (ChatGPT plus plan)\n"
        ),
        "{status:?}"
    );
    assert!(
        status.stderr.ends_with(
            "Active account: bob@example.com\nOther accounts (codex login switch NAME):\n  alice@example.com  ChatGPT alice@example.com (plus plan)\n  apikey-12345       API key sk-proj-***12345\n"
        ),
        "{status:?}"
    );
    // Switching is local: nothing reached the issuer.
    let seen = oidc.requests().len();
    home.switch("alice@example.com", ALICE);
    home.run(&["login", "switch", "alice@example.com"]).assert(
        0,
        "",
        &format!("Account `alice@example.com` is already the active one: {ALICE}\n"),
    );
    assert_eq!(oidc.requests().len(), seen);
}

#[test]
fn after_a_switch_the_shared_keyring_entry_is_what_a_plain_sign_in_wrote() {
    let home = Home::keyring();
    home.configure(None);
    let oidc = Peer::oidc(home.env.dir.path(), &[]);
    home.sign_in(&oidc, "alice", None);
    let alice = home.active_text();
    home.run_stdin(&["login", "--api-key", "-"], "sk-proj-work-key-0000012345");
    let key = home.active_text();
    assert_eq!(
        key,
        r#"{"auth_mode":"apikey","OPENAI_API_KEY":"sk-proj-work-key-0000012345"}"#
    );
    home.sign_in(&oidc, "bob", None);
    let bob = home.active_text();
    home.switch("alice@example.com", ALICE);
    assert_eq!(home.active_text(), alice);
    home.switch("apikey-12345", "API key sk-proj-***12345");
    assert_eq!(home.active_text(), key);
    home.switch("bob@example.com", BOB);
    assert_eq!(home.active_text(), bob);
}

/// A refresh token the issuer rotated, as the reference CLI would: POST the refresh grant and
/// write the answer into auth.json.
fn refresh_as_the_reference(env: &Env, oidc: &Peer) {
    let mut doc: Value = serde_json::from_str(&env.read_auth()).unwrap();
    let out = Command::new("curl")
        .args(["-sS", "--fail", "--max-time", "20", "-X", "POST"])
        .arg(format!("{}/token", oidc.url))
        .args(["-d", "grant_type=refresh_token", "-d"])
        .arg(format!("client_id={OIDC_CLIENT}"))
        .arg("--data-urlencode")
        .arg(format!("refresh_token={}", refresh_token(&doc)))
        .output()
        .expect("curl");
    assert!(out.status.success(), "{out:?}");
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    for field in ["id_token", "access_token", "refresh_token"] {
        doc["tokens"][field] = answer[field].clone();
    }
    env.write_auth(&serde_json::to_string_pretty(&doc).unwrap());
}

#[test]
fn the_references_refresh_and_sign_in_over_the_active_account_are_noticed() {
    let home = Home::file();
    let oidc = Peer::oidc(home.env.dir.path(), &[("ROTATE_REFRESH", "1")]);
    home.sign_in(&oidc, "alice", Some("work"));
    let first = refresh_token(&home.copy("work"));

    // The reference refreshes the active account: our next run brings it into the copy.
    refresh_as_the_reference(&home.env, &oidc);
    let rotated = refresh_token(&home.active());
    assert_ne!(rotated, first);
    home.token(&[]);
    assert_eq!(refresh_token(&home.copy("work")), rotated);

    // The reference signs bob in over it (its sign-in writes auth.json; here: bob's from
    // another CODEX_HOME, byte for byte).
    let elsewhere = Home::file();
    elsewhere.sign_in(&oidc, "bob", None);
    let bob_bytes = elsewhere.env.read_auth();
    home.env.write_auth(&bob_bytes);
    let status = home.run(&["login", "status"]);
    assert!(
        status.stderr.ends_with(&format!(
            "Active account: none of the saved ones (signed in outside this tool; it is saved as an account the next time it is used)\nSaved accounts (codex login switch NAME):\n  work  {ALICE}\n"
        )),
        "{status:?}"
    );
    assert_eq!(home.env.read_auth(), bob_bytes, "status changes nothing");

    // Our next run notices: the new sign-in becomes an account, the old one keeps its copy.
    home.run(&["login", "switch", "work"]).assert(
        0,
        "",
        &format!("The previous sign-in was saved as account `bob@example.com` (back to it: codex login switch bob@example.com).\nSwitched to account `work`: {ALICE}\n"),
    );
    assert_eq!(refresh_token(&home.active()), rotated);
    // That copy is the newest: it still refreshes (a stale one would be refused as reused).
    common::expire_access_token(&home.env);
    home.token(&[]);
    no_refresh_refused(&oidc);
    home.switch("bob@example.com", BOB);
    assert_eq!(home.env.read_auth(), bob_bytes);
}

/// A sign-in from before accounts existed becomes the first account the first time one is
/// needed, and auth.json is not touched by that.
#[test]
fn an_existing_sign_in_becomes_the_first_account_without_touching_auth_json() {
    let home = Home::file();
    // As the reference writes it, with a field this tool does not know.
    let before = "{\n  \"auth_mode\": \"apikey\",\n  \"OPENAI_API_KEY\": \"sk-proj-reference-0000012345\",\n  \"future\": {\n    \"kept\": true\n  }\n}";
    home.env.write_auth(before);
    let status = "API key configured - sk-proj-***12345\nCloud tasks, fast mode and day-one access to the newest models need a ChatGPT plan: codex logout, then codex login.\n";
    home.run(&["login", "status"]).assert(0, "", status);
    assert!(
        !home.env.home.join("accounts").exists(),
        "status writes nothing"
    );

    home.run(&["login", "switch", "nope"]).assert(
        1,
        "",
        "The previous sign-in was saved as account `apikey-12345` (back to it: codex login switch apikey-12345).\nthere is no account named `nope`. Saved accounts: apikey-12345. Add a new one with `codex login --account NAME`\n",
    );
    assert_eq!(home.env.read_auth(), before);
    assert_eq!(mode_of(&home.env.home.join("accounts")), 0o700);
    let copy = home.env.home.join("accounts/apikey-12345.json");
    assert_eq!(mode_of(&copy), 0o600);
    assert_eq!(
        serde_json::from_str::<Value>(&std::fs::read_to_string(copy).unwrap()).unwrap(),
        serde_json::from_str::<Value>(before).unwrap()
    );
    let index = std::fs::read_to_string(home.env.home.join("accounts/.index.json")).unwrap();
    assert!(
        !index.contains("reference-00000"),
        "no key in the index: {index}"
    );
    home.run(&["login", "switch", "apikey-12345"]).assert(
        0,
        "",
        "Account `apikey-12345` is already the active one: API key sk-proj-***12345\n",
    );
    assert_eq!(home.env.read_auth(), before);
    home.run(&["login", "status"]).assert(0, "", status);

    // A later sign-in keeps it as what it is now: an account.
    home.run_stdin(&["login", "--api-key", "-", "--account", "ci"], "sk-proj-ci-key-000067890")
        .assert(
            0,
            "",
            "Reading API key from stdin...\nAPI key saved as account `ci`. Authentication is checked when you send a request.\n",
        );
    home.switch("apikey-12345", "API key sk-proj-***12345");
    assert_eq!(
        serde_json::from_str::<Value>(&home.env.read_auth()).unwrap(),
        serde_json::from_str::<Value>(before).unwrap()
    );
}

/// The same for a sign-in `exec --account` / `login token --account` names before any switch.
#[test]
fn naming_the_only_sign_in_saves_it_as_an_account() {
    let home = Home::file();
    home.env
        .write_auth(&api_key_json("sk-proj-only-one-000054321"));
    assert_eq!(
        home.token(&["--account", "apikey-54321"]),
        "sk-proj-only-one-000054321"
    );
    home.run(&["login", "token", "--account", "other"]).assert(
        1,
        "",
        "there is no account named `other`. Saved accounts: apikey-54321. Add a new one with `codex login --account NAME`\n",
    );
}

/// `--account` and `CODEX_ACCOUNT` pick the credentials of one run; nothing is switched.
#[test]
fn account_flag_and_environment_pick_the_credentials_of_one_run() {
    let fake = Peer::responses(&[]);
    let home = Home::file();
    home.configure(Some(&fake));
    home.run_stdin(
        &["login", "--api-key", "-", "--account", "one"],
        "sk-proj-first-key-0000011111",
    );
    home.run_stdin(
        &["login", "--api-key", "-", "--account", "two"],
        "sk-proj-second-key-000022222",
    );
    let active = home.env.read_auth();
    let bearer = |i: usize| fake.requests()[i]["headers"]["authorization"].clone();

    home.run(&["exec", "--account", "one", "x"])
        .assert(0, "Hello from fake\n", "");
    assert_eq!(bearer(0), "Bearer sk-proj-first-key-0000011111");
    home.run_with(&["exec", "x"], &[("CODEX_ACCOUNT", "one")])
        .assert(0, "Hello from fake\n", "");
    assert_eq!(bearer(1), "Bearer sk-proj-first-key-0000011111");
    // The flag wins over the environment.
    home.run_with(
        &["exec", "--account", "two", "x"],
        &[("CODEX_ACCOUNT", "one")],
    )
    .assert(0, "Hello from fake\n", "");
    assert_eq!(bearer(2), "Bearer sk-proj-second-key-000022222");
    home.run(&["exec", "x"]).assert(0, "Hello from fake\n", "");
    assert_eq!(bearer(3), "Bearer sk-proj-second-key-000022222");
    assert_eq!(
        home.token(&["--account", "one"]),
        "sk-proj-first-key-0000011111"
    );
    assert_eq!(home.env.read_auth(), active, "nothing was switched");

    // Status says which account CODEX_ACCOUNT makes exec and token use.
    let status = home.run_with(&["login", "status"], &[("CODEX_ACCOUNT", "one")]);
    assert!(
        status.stderr.ends_with(
            "Active account: two\nOther accounts (codex login switch NAME):\n  one  API key sk-proj-***11111\nnote: CODEX_ACCOUNT is set: `codex exec` and `codex login token` use account `one`\n"
        ),
        "{status:?}"
    );
    home.run_with(&["login", "token"], &[("CODEX_ACCOUNT", "three")]).assert(
        1,
        "",
        "there is no account named `three`. Saved accounts: one, two. Add a new one with `codex login --account NAME`\n",
    );
    home.run_with(&["exec", "x"], &[("CODEX_ACCOUNT", "../two")]).assert(
        1,
        "",
        "CODEX_ACCOUNT: `../two` is not a valid account name: use letters, digits and . _ - @ + only, starting with a letter or digit (up to 64 characters)\n",
    );
}

#[test]
fn account_names_are_checked_before_anything_happens() {
    let home = Home::file();
    home.run_stdin(
        &["login", "--api-key", "-", "--account", "work"],
        "sk-proj-work-key-0000011111",
    );
    let before = home.env.read_auth();
    let long = "a".repeat(65);
    for (args, shown) in [
        (
            vec!["login", "--account", "../etc/passwd", "--api-key", "-"],
            "`../etc/passwd` is not a valid account name: use letters, digits and . _ - @ + only, starting with a letter or digit (up to 64 characters)",
        ),
        (
            vec!["login", "switch", "a/b"],
            "`a/b` is not a valid account name: use letters, digits and . _ - @ + only, starting with a letter or digit (up to 64 characters)",
        ),
        (
            vec!["login", "token", "--account", "bell\u{7}"],
            "`bell\\u{7}` is not a valid account name: use letters, digits and . _ - @ + only, starting with a letter or digit (up to 64 characters)",
        ),
        (
            vec!["logout", "--account", ".hidden"],
            "`.hidden` is not a valid account name: use letters, digits and . _ - @ + only, starting with a letter or digit (up to 64 characters)",
        ),
        (
            vec!["exec", "--account", &long, "x"],
            &format!("`{long}` is not a valid account name: it is longer than 64 characters"),
        ),
    ] {
        let run = home.run_stdin(&args, "sk-proj-never-used-000099999");
        assert_eq!(run.code, 2, "{args:?}: {run:?}");
        assert!(run.stderr.contains(shown), "{args:?}: {run:?}");
    }
    // Names that differ only in case would share a file on macOS and Windows.
    home.run_stdin(&["login", "--api-key", "-", "--account", "Work"], "sk-proj-never-used-000099999")
        .assert(
            1,
            "",
            "an account named `work` exists already, and names that differ only in letter case would share one file on some systems. Use `work`, or another name\n",
        );
    assert_eq!(home.env.read_auth(), before);
    let files: Vec<String> = std::fs::read_dir(home.env.home.join("accounts"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(files.len(), 2, "{files:?}");
}

/// An account whose refresh token the issuer refuses says so, and names the fix; the others are
/// not touched; signing in to it again clears it.
#[test]
fn an_account_that_no_longer_refreshes_says_so_and_names_the_fix() {
    let home = Home::file();
    let oidc = rotating_issuer(&home.env);
    home.sign_in(&oidc, "alice", Some("work"));
    home.sign_in(&oidc, "bob", Some("personal"));
    // A stale copy of work's credentials (what a lost update would leave).
    let path = home.env.home.join("accounts/work.json");
    let stale = std::fs::read_to_string(&path).unwrap();
    home.token(&["--account", "work"]);
    std::fs::write(&path, stale).unwrap();

    home.run(&["login", "token", "--account", "work"]).assert(
        1,
        "",
        "the ChatGPT sign-in of account `work` can no longer be refreshed (invalid_grant): it expired or was revoked. Sign in to it again with `codex login --account work`\n",
    );
    let status = home.run(&["login", "status"]);
    assert_eq!(status.code, 0);
    assert!(
        status.stderr.ends_with(&format!(
            "Active account: personal\nOther accounts (codex login switch NAME):\n  work  {ALICE} - its refresh token no longer works (invalid_grant): run `codex login --account work`\n"
        )),
        "{status:?}"
    );
    let json: Value =
        serde_json::from_str(&home.run(&["login", "status", "--json"]).stdout).unwrap();
    assert_eq!(json["accounts"][1]["name"], "work");
    assert_eq!(json["accounts"][1]["refresh_refused"], "invalid_grant");
    assert_eq!(json["accounts"][0]["refresh_refused"], Value::Null);
    // The other account is fine.
    home.token(&[]);
    home.token(&["--account", "personal"]);
    // Switching to it warns; signing in to it again fixes it.
    home.run(&["login", "switch", "work"]).assert(
        0,
        "",
        &format!("Switched to account `work`: {ALICE}\nnote: its refresh token no longer works (invalid_grant): sign in to it again with `codex login --account work`\n"),
    );
    home.sign_in(&oidc, "alice", Some("work"));
    home.token(&["--account", "work"]);
    let status = home.run(&["login", "status"]);
    assert!(!status.stderr.contains("no longer works"), "{status:?}");
}

#[test]
fn logout_of_the_active_one_of_another_and_of_all() {
    let home = Home::file();
    let oidc = Peer::oidc(home.env.dir.path(), &[]);
    home.sign_in(&oidc, "alice", Some("work"));
    let work_token = refresh_token(&home.active());
    home.sign_in(&oidc, "bob", Some("personal"));
    let personal_token = refresh_token(&home.active());

    // Another account: revoked and removed; the active one stays.
    home.run(&["logout", "--account", "work"])
        .assert(0, "", "Logged out of account `work`\n");
    assert_eq!(revoked(&oidc), std::slice::from_ref(&work_token));
    assert!(!home.env.home.join("accounts/work.json").exists());
    assert_eq!(refresh_token(&home.active()), personal_token);
    home.run(&["logout", "--account", "work"]).assert(
        1,
        "",
        "there is no account named `work`. Saved accounts: personal. Add a new one with `codex login --account NAME`\n",
    );

    // The active account: revoked and removed, and nothing is active afterwards (a person
    // logging out of a shared machine is logged out); the others stay saved and are named.
    home.sign_in(&oidc, "alice", Some("work"));
    let work_token = refresh_token(&home.active());
    let logged_out = "Successfully logged out\nNo account is active now. Still saved: personal. Use one again with `codex login switch NAME`; `codex logout --all` removes them too\n";
    home.run(&["logout"]).assert(0, "", logged_out);
    assert_eq!(revoked(&oidc).last(), Some(&work_token));
    assert!(!home.env.auth_path().exists());
    assert!(!home.env.home.join("accounts/work.json").exists());
    let status = home.run(&["login", "status"]);
    assert_eq!(
        (status.code, status.stderr.as_str()),
        (
            1,
            &*format!(
                "Not logged in\nSaved accounts (codex login switch NAME):\n  personal  {BOB}\n"
            )
        )
    );
    let not_logged_in = "Not logged in. Run `codex login` to sign in.\n";
    home.run(&["login", "token"]).assert(1, "", not_logged_in);
    let exec = home.run(&["exec", "hello"]);
    assert_eq!(exec.code, 1, "{exec:?}");
    assert!(
        !exec.stderr.is_empty() && exec.stdout.is_empty(),
        "{exec:?}"
    );
    // The way back.
    home.switch("personal", BOB);
    assert_eq!(refresh_token(&home.active()), personal_token);
    // `--account NAME` of the active one is the same as a plain logout.
    home.run_stdin(
        &["login", "--api-key", "-", "--account", "ci"],
        "sk-proj-ci-key-000067890",
    );
    home.run(&["logout", "--account", "ci"])
        .assert(0, "", logged_out);
    assert!(!home.env.auth_path().exists());
    home.switch("personal", BOB);

    // All of them.
    home.run_stdin(
        &["login", "--api-key", "-", "--account", "ci"],
        "sk-proj-ci-key-000067890",
    );
    home.run(&["logout", "--all"]).assert(
        0,
        "",
        "Successfully logged out of every account (ci, personal)\n",
    );
    assert_eq!(revoked(&oidc).last(), Some(&personal_token));
    assert!(!home.env.auth_path().exists());
    assert!(!home.env.home.join("accounts").exists());
    home.run(&["logout", "--all"])
        .assert(0, "", "Not logged in\n");
    home.run(&["login", "status"])
        .assert(1, "", "Not logged in\n");
}

/// `auto` without a Secret Service: every account falls back to a file, with one warning per
/// command.
#[test]
fn auto_mode_without_a_keyring_keeps_accounts_in_files_and_warns_once() {
    let session = Session::bus_only();
    let home = Home {
        env: Env::new(),
        session: Some(session),
    };
    home.env
        .write_config("cli_auth_credentials_store = \"auto\"\n");
    for (name, key) in [
        ("one", "sk-proj-first-key-0000011111"),
        ("two", "sk-proj-second-key-000022222"),
    ] {
        let run = home.run_stdin(&["login", "--api-key", "-", "--account", name], key);
        assert_eq!(run.code, 0, "{run:?}");
        assert_eq!(run.stderr.matches("warning:").count(), 1, "{run:?}");
    }
    let run = home.run(&["login", "switch", "one"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stderr.matches("warning:").count(), 1, "{run:?}");
    assert_eq!(
        home.env.read_auth(),
        api_key_json("sk-proj-first-key-0000011111")
    );
    for name in ["one", "two"] {
        assert_eq!(
            mode_of(&home.env.home.join(format!("accounts/{name}.json"))),
            0o600
        );
    }
}

/// Every sign-in path takes `--account`: the device flow too.
#[test]
fn a_device_sign_in_is_saved_under_its_account_name() {
    let home = Home::file();
    let oidc = Peer::oidc(home.env.dir.path(), &[("DEVICE_INTERVAL", "1")]);
    home.run_stdin(
        &["login", "--api-key", "-", "--account", "ci"],
        "sk-proj-ci-key-000067890",
    );
    let login = Background::spawn(home.cmd(&[
        "login",
        "--device-auth",
        "--json",
        "--issuer",
        &oidc.url,
        "--client-id",
        OIDC_CLIENT,
        "--account",
        "laptop",
    ]));
    let event = login.next_event();
    let code = event["user_code"].as_str().unwrap().to_string();
    agent_ok(&["device", &oidc.url, &code, "--login", "bob"]);
    let run = login.finish(30);
    assert_eq!(run.code, 0, "{run:?}");
    let done: Value = serde_json::from_str(run.stdout.lines().last().unwrap()).unwrap();
    assert_eq!(done["account"], "laptop");
    assert_eq!(home.copy("laptop"), home.active());
    home.switch("ci", "API key sk-proj-***67890");
    home.switch("laptop", BOB);
}

/// A switch never replaces active credentials it cannot read (they may be the only copy).
#[test]
fn a_switch_refuses_to_replace_an_unparseable_auth_json() {
    let home = Home::file();
    home.run_stdin(
        &["login", "--api-key", "-", "--account", "ci"],
        "sk-proj-ci-key-000067890",
    );
    home.env.write_auth("{\"OPENAI_API_KEY\": \"sk-precious");
    let path = home.env.auth_path().display().to_string();
    home.run(&["login", "switch", "ci"]).assert(
        1,
        "",
        &format!("cannot switch accounts: cannot parse `{path}` (line 1, column 31: EOF while parsing a string). Switching would replace credentials that may not be saved anywhere else: fix or move them aside first\n"),
    );
    assert_eq!(home.env.read_auth(), "{\"OPENAI_API_KEY\": \"sk-precious");
}
