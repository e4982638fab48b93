//! Issue 23: what each platform does its own way, checked on the binary under test: the Linux
//! one (scripts/test), or the Windows one under Wine through the runner switch
//! (`CODEX_TEST_RUNNER=wine`, scripts/test-wine). Other tests of the Wine run are listed in
//! scripts/test-wine; these are the ones written for it.

mod common;

use std::path::Path;

use common::keyring::{Session, account};
use common::runner::{Runner, runner, windows};
use common::{Env, READING, api_key_json, jwt, now_secs, saved};

const KEY: &str = "sk-proj-canary-0123456789";

/// Every file the binary keeps in CODEX_HOME (but the lock), with its bytes.
fn files(env: &Env) -> Vec<(String, Vec<u8>)> {
    let mut found = Vec::new();
    for dir in [env.home.clone(), env.home.join("accounts")] {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.strip_prefix(&env.home).unwrap();
            if path.is_file() && name != Path::new("auth.lock") && name != Path::new("config.toml")
            {
                let name = name.to_str().unwrap().replace('\\', "/");
                found.push((name, std::fs::read(&path).unwrap()));
            }
        }
    }
    found.sort();
    found
}

/// A ChatGPT sign-in as the reference writes auth.json (pretty, its key order).
fn chatgpt_auth_json() -> String {
    let id_token = jwt(serde_json::json!({
        "email": "user@example.com",
        "https://api.openai.com/auth": {"chatgpt_plan_type": "plus", "chatgpt_account_id": "acc-123"}
    }));
    let access_token = jwt(serde_json::json!({"exp": now_secs() + 3600}));
    let doc = serde_json::json!({
        "auth_mode": "chatgpt",
        "OPENAI_API_KEY": null,
        "tokens": {
            "id_token": id_token,
            "access_token": access_token,
            "refresh_token": "rt-canary-0123456789",
            "account_id": "acc-123"
        },
        "last_refresh": "2026-04-25T12:34:56.789Z"
    });
    serde_json::to_string_pretty(&doc).unwrap()
}

/// The same steps with the binary under test and with the Linux binary leave the same bytes:
/// auth.json in the reference's form with `\n` line ends (no CRLF on Windows), the saved
/// accounts and their index.
#[test]
fn files_are_byte_for_byte_what_the_linux_binary_writes() {
    let chatgpt = chatgpt_auth_json();
    let steps = |runner: &Runner| {
        let env = Env::new();
        env.write_auth(&chatgpt);
        let sign_in = common::run_cmd(
            env.cmd_with(runner, &["login", "--api-key", "-"]),
            Some(KEY.as_bytes()),
        );
        assert_eq!(sign_in.code, 0, "{sign_in:?}");
        let switch = common::run_cmd(
            env.cmd_with(runner, &["login", "switch", "user@example.com"]),
            None,
        );
        assert_eq!(switch.code, 0, "{switch:?}");
        env
    };
    let ours = steps(runner());
    let linux = steps(&Runner::Native);
    let written = files(&ours);
    let names: Vec<&str> = written.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "accounts/.index.json",
            "accounts/apikey-56789.json",
            "accounts/user@example.com.json",
            "auth.json"
        ]
    );
    assert_eq!(written, files(&linux));
    assert_eq!(ours.read_auth(), chatgpt);
    assert_eq!(
        std::fs::read_to_string(ours.home.join("accounts/apikey-56789.json")).unwrap(),
        api_key_json(KEY)
    );
    assert!(written.iter().all(|(_, bytes)| !bytes.contains(&b'\r')));
}

/// A credential larger than the Windows Credential Manager holds (2,560 bytes, 1,280 UTF-16
/// units) is kept under the reference's entry, service "Codex Auth" and account
/// `cli|<hash of the canonical CODEX_HOME>`: that entry alone where the store has no limit; on
/// Windows a header there and chunks beside it (`<account>#<digest>.<i>`). Reading it back,
/// `login token`, `login status` and `logout` (which removes every part) all work.
#[test]
fn a_credential_over_the_credential_managers_limit_keeps_the_reference_entry() {
    let session = Session::with_keyring();
    let env = Env::new();
    env.use_store("keyring");
    let key = format!("sk-proj-{}", "A1b2C3d4".repeat(400));
    let compact = format!(r#"{{"auth_mode":"apikey","OPENAI_API_KEY":"{key}"}}"#);
    assert!(compact.len() > 2 * 1280);
    session
        .run_stdin(&env, &["login", "--api-key", "-"], key.as_bytes())
        .assert(0, "", &format!("{READING}{}", saved("apikey-2C3d4")));
    assert!(!env.auth_path().exists(), "no plain-text copy");

    let account = account(&env);
    // The shared entry and its chunks (the saved account's copy sits beside them, under
    // `<account>|account:<name>`).
    let ours = |session: &Session| -> Vec<String> {
        let chunk = format!("{account}#");
        session
            .entries()
            .into_iter()
            .filter(|a| *a == account || a.starts_with(&chunk))
            .collect()
    };
    let entries = ours(&session);
    if windows() {
        // 3,250 UTF-16 units: a header and three chunks named after the secret's digest.
        assert_eq!(entries.len(), 4, "{entries:?}");
        assert_eq!(entries[0], account);
        let digest = entries[1]
            .strip_prefix(&format!("{account}#"))
            .and_then(|rest| rest.strip_suffix(".0"))
            .unwrap_or_else(|| panic!("{entries:?}"));
        for (i, chunk) in entries[1..].iter().enumerate() {
            assert_eq!(chunk, &format!("{account}#{digest}.{i}"));
        }
    } else {
        assert_eq!(entries, std::slice::from_ref(&account));
    }
    assert_eq!(session.lookup(&account), Some(compact));

    session
        .run(&env, &["login", "token"])
        .assert(0, &format!("{key}\n"), "");
    let status = session.run(&env, &["login", "status"]);
    assert_eq!(status.code, 0, "{status:?}");
    assert!(
        status.stderr.ends_with(&format!(
            "Stored in the OS keyring (service \"Codex Auth\", account \"{account}\")\n"
        )),
        "{status:?}"
    );
    session
        .run(&env, &["logout"])
        .assert(0, "", "Successfully logged out\n");
    assert_eq!(ours(&session), Vec::<String>::new());
}

/// doctor's permission row says what it looked at: the modes on Unix; on Windows, where who may
/// read a file is an ACL it does not read, that it did not check, never a made-up 0600.
#[test]
fn doctor_does_not_claim_windows_permissions() {
    let env = Env::new();
    env.write_auth(&api_key_json(KEY));
    let run = env.run(&["doctor", "--offline"]);
    let text = format!("{}{}", run.stdout, run.stderr);
    let row = text
        .lines()
        .find(|l| l.contains("file permissions"))
        .unwrap_or_else(|| panic!("no permission row: {run:?}"))
        .trim();
    if windows() {
        assert!(row.contains("not checked on this system"), "{row}");
        assert!(!row.contains("0600"), "{row}");
    } else {
        assert_eq!(
            row,
            "✓ file permissions: auth.json is 0600 and CODEX_HOME 0700, both yours"
        );
    }
}
