//! Issue 2: API-key sign-in, `login status`, `logout`, config errors and the file store, checked
//! on the built binary: every text, exit code, byte of auth.json and permission bit.

mod common;

use common::runner::{runner, windows};
use common::{Env, READING, SAVED, api_key_json, bare_cmd, mode_of, run_cmd, set_mode, shown};

const NOTE: &str = "note: a key given on the command line is visible in shell history and to `ps`; prefer `--api-key -` and pipe it in (printenv OPENAI_API_KEY | codex login --api-key -)\n";
const KEY: &str = "sk-proj-canary-0123456789";
/// A sign-in over another one keeps the other as a saved account (issue 13).
const KEPT_OLD: &str = "The previous sign-in was saved as account `apikey-00000` (back to it: codex login switch apikey-00000).\n";

#[test]
fn api_key_on_the_command_line_is_saved_with_a_note() {
    let env = Env::new();
    env.run(&["login", "--api-key", KEY])
        .assert(0, "", &format!("{NOTE}{SAVED}"));
    assert_eq!(env.read_auth(), api_key_json(KEY));
    assert_eq!(mode_of(&env.auth_path()), 0o600);
    assert_eq!(mode_of(&env.home), 0o700);
}

#[test]
fn api_key_from_stdin_is_trimmed() {
    for args in [
        &["login", "--api-key", "-"][..],
        &["login", "--with-api-key"][..],
    ] {
        let env = Env::new();
        env.run_stdin(args, format!("  {KEY}\n\n").as_bytes())
            .assert(0, "", &format!("{READING}{SAVED}"));
        assert_eq!(env.read_auth(), api_key_json(KEY));
    }
}

/// The texts are pinned in tests/snapshots/texts__api_key_sign_in.snap.
#[test]
fn empty_or_bad_stdin_is_refused_and_nothing_is_written() {
    let env = Env::new();
    for stdin in [&b""[..], b" \n\t\n", b"sk-\xff\xfe", b"sk-one\nsk-two\n"] {
        let run = env.run_stdin(&["login", "--api-key", "-"], stdin);
        assert_eq!(run.code, 1, "{run:?}");
    }
    assert_eq!(env.run(&["login", "--api-key", ""]).code, 1);
    assert!(!env.auth_path().exists());
}

#[test]
fn a_terminal_on_stdin_is_refused() {
    // `script` gives the child a pseudo-terminal as stdin.
    let env = Env::new();
    let inner = format!(
        "CODEX_HOME={} {} login --with-api-key",
        env.home.display(),
        common::BIN
    );
    let mut script = std::process::Command::new("script");
    script.args(["-qec", &inner, "/dev/null"]);
    let run = run_cmd(script, None);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout.contains("standard input is a terminal, but the API key is read from standard input. Pipe it in: printenv OPENAI_API_KEY | codex login --api-key -"),
        "{run:?}"
    );
    assert!(!env.auth_path().exists());
}

#[test]
fn forced_chatgpt_login_refuses_api_keys() {
    let env = Env::new();
    env.write_config("forced_login_method = \"chatgpt\"\n");
    env.run_stdin(&["login", "--with-api-key"], KEY.as_bytes())
        .assert(
            1,
            "",
            "API key login is disabled. Use ChatGPT login instead.\n",
        );
    assert!(!env.auth_path().exists());
}

#[test]
fn loose_permissions_are_tightened_on_save() {
    let env = Env::new();
    set_mode(&env.home, 0o755);
    env.write_auth(&api_key_json("sk-old-key-0000000000"));
    set_mode(&env.auth_path(), 0o644);
    env.run_stdin(&["login", "--api-key", "-"], KEY.as_bytes())
        .assert(0, "", &format!("{READING}{KEPT_OLD}{SAVED}"));
    assert_eq!(mode_of(&env.auth_path()), 0o600);
    // A directory we did not create keeps its mode (issue 12).
    assert_eq!(mode_of(&env.home), 0o755);
    assert_eq!(mode_of(&env.home.join("accounts")), 0o700);
    assert_eq!(mode_of(&env.home.join("accounts/apikey-00000.json")), 0o600);
}

/// Without CODEX_HOME: `~/.codex` on Linux, the profile folder's `.codex` on Windows.
#[test]
fn default_codex_home_is_created_private() {
    let env = Env::new();
    let home = runner().profile(env.dir.path()).join(".codex");
    // The Wine prefix's profile folder is shared: this test's runs start from nothing.
    let _ = std::fs::remove_dir_all(&home);
    let default = |args: &[&str]| {
        let mut cmd = env.cmd(args);
        cmd.env_remove("CODEX_HOME");
        cmd
    };
    run_cmd(default(&["login", "--api-key", "-"]), Some(KEY.as_bytes())).assert(
        0,
        "",
        &format!("{READING}{SAVED}"),
    );
    if !windows() {
        assert_eq!(mode_of(&home), 0o700);
    }
    assert_eq!(
        std::fs::read_to_string(home.join("auth.json")).unwrap(),
        api_key_json(KEY)
    );
    run_cmd(default(&["login", "token"]), None).assert(0, &format!("{KEY}\n"), "");
    run_cmd(default(&["logout"]), None).assert(0, "", "Successfully logged out\n");
    assert!(!home.join("auth.json").exists());
    if windows() {
        std::fs::remove_dir_all(&home).unwrap();
    }
}

#[test]
fn logout_over_malformed_auth_json_keeps_it_and_says_so() {
    let env = Env::new();
    let path = shown(&env.auth_path());
    let broken = "{\"OPENAI_API_KEY\": \"sk-precious\"";
    env.write_auth(broken);
    // The advice names the shell's own command: `rm` is not one of cmd.exe's.
    let remove = if windows() {
        format!("del \"{path}\"")
    } else {
        format!("rm {path}")
    };
    env.run(&["logout"]).assert(
        1,
        "",
        &format!("cannot parse `{path}` (line 1, column 32: EOF while parsing an object). It was left in place because it may still hold credentials: fix it, or remove it yourself ({remove}).\n"),
    );
    assert_eq!(env.read_auth(), broken);
}

#[test]
fn login_over_malformed_auth_json_keeps_a_backup() {
    let env = Env::new();
    let path = shown(&env.auth_path());
    let broken = "{\"OPENAI_API_KEY\": \"sk-precious\"";
    env.write_auth(broken);
    env.run_stdin(&["login", "--api-key", "-"], KEY.as_bytes()).assert(
        0,
        "",
        &format!("{READING}warning: cannot parse `{path}` (line 1, column 32: EOF while parsing an object); it was kept as `{path}.bak` and replaced by the new credentials\n{SAVED}"),
    );
    assert_eq!(env.read_auth(), api_key_json(KEY));
    let backup = env.home.join("auth.json.bak");
    assert_eq!(std::fs::read_to_string(&backup).unwrap(), broken);
    if !windows() {
        assert_eq!(mode_of(&backup), 0o600);
    }
}

#[test]
fn logout_removes_credentials_then_says_not_logged_in() {
    let env = Env::new();
    env.write_auth(&api_key_json(KEY));
    env.run(&["logout"])
        .assert(0, "", "Successfully logged out\n");
    assert!(!env.auth_path().exists());
    env.run(&["logout"]).assert(0, "", "Not logged in\n");
    env.run(&["login", "status"])
        .assert(1, "", "Not logged in\n");
}

#[test]
fn logout_with_missing_default_home_does_not_create_it() {
    let env = Env::new();
    let mut cmd = env.cmd(&["logout"]);
    cmd.env_remove("CODEX_HOME");
    run_cmd(cmd, None).assert(0, "", "Not logged in\n");
    assert!(!env.dir.path().join(".codex").exists());
}

#[test]
#[cfg(unix)] // a link needs no privilege on Unix only
fn symlinked_auth_json_is_updated_and_removed_at_its_target() {
    let env = Env::new();
    let target = env.dir.path().join("elsewhere.json");
    std::fs::write(&target, api_key_json("sk-old-key-0000000000")).unwrap();
    std::os::unix::fs::symlink(&target, env.auth_path()).unwrap();

    env.run_stdin(&["login", "--api-key", "-"], KEY.as_bytes())
        .assert(0, "", &format!("{READING}{KEPT_OLD}{SAVED}"));
    assert!(
        std::fs::symlink_metadata(env.auth_path())
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(std::fs::read_to_string(&target).unwrap(), api_key_json(KEY));
    assert_eq!(mode_of(&target), 0o600);

    env.run(&["logout"]).assert(
        0,
        "",
        "Successfully logged out\nNo account is active now. Still saved: apikey-00000. Use one again with `codex login switch NAME`; `codex logout --all` removes them too\n",
    );
    assert!(
        !target.exists(),
        "the key must not survive in the link's target"
    );
    // The link went with it; the account kept from before stays saved, and nothing is active.
    assert!(std::fs::symlink_metadata(env.auth_path()).is_err());
    env.run(&["login", "switch", "apikey-00000"]);
    let meta = std::fs::symlink_metadata(env.auth_path()).unwrap();
    assert!(meta.file_type().is_file());
    assert_eq!(env.read_auth(), api_key_json("sk-old-key-0000000000"));
}

#[test]
fn unknown_config_keys_are_fine_and_overrides_apply() {
    let env = Env::new();
    env.write_config("model = \"gpt-5.5\"\n[model_providers.azure]\nname = \"Azure\"\n");
    env.run(&["login", "status"])
        .assert(1, "", "Not logged in\n");
    env.run_stdin(
        &[
            "-c",
            "forced_login_method=\"chatgpt\"",
            "login",
            "--with-api-key",
        ],
        KEY.as_bytes(),
    )
    .assert(
        1,
        "",
        "API key login is disabled. Use ChatGPT login instead.\n",
    );
    // The texts of bad overrides are pinned in tests/snapshots/texts__configuration_errors.snap.
    assert_eq!(
        env.run(&["login", "status", "-c", "forced_login_method=sometimes"])
            .code,
        1
    );
    assert_eq!(env.run(&["-c", "novalue", "login", "status"]).code, 1);
}

/// Runs the binary as `nobody` so that file permissions apply (the tests run as root).
#[test]
#[cfg(unix)]
fn unwritable_codex_home_is_an_error_naming_it() {
    if unsafe_euid() != 0 {
        return; // As a normal user the chmod below is enough, but the copy trick needs root.
    }
    let env = Env::new();
    common::set_mode(env.dir.path(), 0o755);
    let bin = env.dir.path().join("codex");
    std::fs::copy(common::BIN, &bin).unwrap();
    // Owned by root and 0755: `nobody` can neither write to it nor change its mode.
    set_mode(&env.home, 0o755);
    let mut cmd = std::process::Command::new("setpriv");
    cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(&bin)
        .args(["login", "--api-key", "-"])
        .env_clear()
        .env("CODEX_HOME", &env.home);
    let run = run_cmd(cmd, Some(KEY.as_bytes()));
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        run.stderr,
        format!(
            "{READING}cannot open the lock file `{}`: Permission denied (os error 13)\n",
            env.home.join("auth.lock").display()
        )
    );
}

#[cfg(unix)]
fn unsafe_euid() -> u32 {
    use std::os::unix::fs::MetadataExt;
    // The owner of a file we just created is our effective uid.
    let f = tempfile::NamedTempFile::new().unwrap();
    f.as_file().metadata().unwrap().uid()
}

#[test]
fn trace_logs_never_contain_the_key() {
    let env = Env::new();
    let canary = "sk-CANARY-d8c1f0e2a9b74c55";
    let runs = [
        {
            let mut c = env.cmd(&["login", "--api-key", "-"]);
            c.env("RUST_LOG", "trace");
            run_cmd(c, Some(canary.as_bytes()))
        },
        {
            let mut c = env.cmd(&["login", "status", "--json"]);
            c.env("RUST_LOG", "trace");
            run_cmd(c, None)
        },
        {
            let mut c = env.cmd(&["logout"]);
            c.env("RUST_LOG", "trace");
            run_cmd(c, None)
        },
    ];
    let mut traced = false;
    for run in &runs {
        assert_eq!(run.code, 0, "{run:?}");
        assert!(
            !run.stdout.contains(canary) && !run.stderr.contains(canary),
            "{run:?}"
        );
        assert!(!run.stderr.contains("d8c1f0e2"), "{run:?}");
        traced |= run.stderr.contains("TRACE");
    }
    assert!(traced, "RUST_LOG=trace produced no trace output: {runs:?}");
}

#[test]
fn completion_scripts_are_generated() {
    for shell in ["bash", "zsh", "fish"] {
        let run = common::run_cmd(bare_cmd(&["completion", shell]), None);
        assert_eq!(run.code, 0);
        assert!(run.stdout.contains("logout"), "{shell}: {}", run.stdout);
    }
}

#[test]
fn parse_errors_never_echo_the_values_they_reject() {
    let env = Env::new();
    let canary = "eyJCANARY-refresh-0123456789";
    env.write_auth(&format!(r#"{{"OPENAI_API_KEY":null,"tokens":"{canary}"}}"#));
    for args in [
        &["login", "status"][..],
        &["login", "status", "--json"][..],
        &["logout"][..],
    ] {
        let run = env.run(args);
        assert_eq!(run.code, 1, "{run:?}");
        assert!(
            run.stderr
                .contains("invalid type: a string, expected struct TokenData")
                || run.stdout.contains("invalid type: a string"),
            "{run:?}"
        );
        assert!(
            !run.stderr.contains("CANARY") && !run.stdout.contains("CANARY"),
            "{run:?}"
        );
    }

    let path = env.home.join("config.toml").display().to_string();
    env.write_auth("{}");
    env.write_config(
        "[model_providers.gw]\nname = \"gw\"\nhttp_headers = \"Bearer sk-CANARY-config\"\n",
    );
    env.run(&["login", "status"]).assert(
        1,
        "",
        &format!(
            "Error loading configuration: {path}:3:16: invalid type: a string, expected a map\n"
        ),
    );
    env.write_config("");
    env.run(&[
        "-c",
        "model_providers.gw.http_headers.Authorization=\"Bearer sk-CANARY-override\"",
        "-c",
        "forced_login_method=5",
        "login",
        "status",
    ])
    .assert(
        1,
        "",
        "Error loading configuration: -c `forced_login_method`: invalid type: integer `5`, expected a string\n",
    );
}

#[test]
fn a_second_unparseable_file_does_not_overwrite_the_first_backup() {
    let env = Env::new();
    let path = env.auth_path().display().to_string();
    env.write_auth("{ first broken");
    env.run_stdin(&["login", "--api-key", "-"], KEY.as_bytes());
    env.write_auth("{ second broken");
    let run = env.run_stdin(&["login", "--api-key", "-"], KEY.as_bytes());
    assert!(
        run.stderr
            .contains(&format!("it was kept as `{path}.bak.1`")),
        "{run:?}"
    );
    assert_eq!(
        std::fs::read_to_string(format!("{path}.bak")).unwrap(),
        "{ first broken"
    );
    assert_eq!(
        std::fs::read_to_string(format!("{path}.bak.1")).unwrap(),
        "{ second broken"
    );
}

#[test]
fn with_api_key_followed_by_a_key_takes_it_without_echoing_it() {
    let env = Env::new();
    env.run(&["login", "--with-api-key", KEY])
        .assert(0, "", &format!("{NOTE}{SAVED}"));
    assert_eq!(env.read_auth(), api_key_json(KEY));
    env.run(&["login", "--with-api-key", "status"]).assert(
        1,
        "",
        "`status` is a subcommand, not an API key: run `codex login status` without --with-api-key\n",
    );
}

#[test]
fn bad_command_lines_exit_2() {
    let env = Env::new();
    let run = env.run(&["login", "--bogus-flag"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr
            .starts_with("error: unexpected argument '--bogus-flag' found"),
        "{run:?}"
    );
    let run = env.run(&["exec", "--model"]);
    assert_eq!(run.code, 2, "{run:?}");
}

/// A ChatGPT sign-in whose ID token names no plan (`chatgpt_plan_type: null`): status says what
/// is known and claims nothing about what the plan unlocks.
#[test]
fn status_claims_nothing_for_an_unknown_plan() {
    let env = Env::new();
    let id = common::jwt(serde_json::json!({
        "email": "nobody@example.com",
        "https://api.openai.com/auth": {"chatgpt_plan_type": null}
    }));
    env.write_auth(
        &serde_json::json!({"auth_mode": "chatgpt", "OPENAI_API_KEY": null, "tokens": {
            "id_token": id, "access_token": "at", "refresh_token": "rt", "account_id": null}})
        .to_string(),
    );
    env.run(&["login", "status"]).assert(
        0,
        "",
        "Logged in using ChatGPT\n  Account: nobody@example.com\nThe sign-in names no ChatGPT plan (its ID token has none), so what it unlocks is not known: cloud tasks, fast mode and day-one access to the newest models depend on the plan.\n",
    );
}
