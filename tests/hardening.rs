//! Issue 12: hostile files, broken output and hostile servers, checked on the built binary.
//! Every run that could hang or eat memory on a regression runs with a deadline and an
//! address-space limit, so a regression fails the test instead of hanging the suite.

mod common;

use std::io::{Read, Write};
#[cfg(unix)] // the hostile files of these tests are Unix files
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{
    BIN, Env, Peer, Run, jwt, mode_of, now_secs, run_within, set_mode, sign_in_with_oidc,
};
use serde_json::json;

const KEY: &str = "sk-proj-hardening-0123456789";

fn api_key_json(key: &str) -> String {
    format!("{{\n  \"auth_mode\": \"apikey\",\n  \"OPENAI_API_KEY\": \"{key}\"\n}}")
}

/// `cmd` under `prlimit` (2 GiB of address space), so an unbounded read ends in an allocation
/// failure instead of the machine's OOM killer.
fn limited(cmd: &Command) -> Command {
    let mut wrapped = Command::new("prlimit");
    wrapped
        .arg(format!("--as={}", 2u64 << 30))
        .arg("--")
        .arg(cmd.get_program())
        .args(cmd.get_args());
    for (key, value) in cmd.get_envs() {
        match value {
            Some(value) => wrapped.env(key, value),
            None => wrapped.env_remove(key),
        };
    }
    wrapped
}

/// Runs `cmd` (memory-limited) and fails the test if it is still running after `secs`.
fn bounded(cmd: &Command, stdin: Option<&[u8]>, secs: u64) -> Run {
    run_within(limited(cmd), stdin, Stdio::piped(), secs)
}

#[track_caller]
fn assert_no_panic(run: &Run) {
    assert!(
        !run.stderr.contains("panicked") && !run.stderr.contains("overflow") && run.code != 134,
        "{run:?}"
    );
}

/// A character device of our own that behaves like /dev/null (made with mknod as root): the
/// test never points the binary at the machine's real /dev/null, which a regression would
/// rename. Without mknod (not root), /dev/null itself is safe: its directory is not writable.
#[cfg(unix)]
fn null_device(dir: &Path) -> PathBuf {
    let path = dir.join("null-device");
    let made = Command::new("mknod")
        .arg(&path)
        .args(["c", "1", "3"])
        .status()
        .is_ok_and(|s| s.success());
    if made {
        return path;
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    assert!(
        !root,
        "running as root without mknod: refusing to point the binary at the real /dev/null"
    );
    PathBuf::from("/dev/null")
}

#[cfg(unix)]
fn is_char_device(path: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::metadata(path).is_ok_and(|m| m.file_type().is_char_device())
}

#[cfg(unix)]
fn mkfifo(path: &Path) {
    let ok = Command::new("mkfifo").arg(path).status().unwrap().success();
    assert!(ok, "mkfifo {}", path.display());
}

#[cfg(unix)]
fn is_fifo(path: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_fifo())
}

/// A sparse file of `size` bytes (no disk space used).
fn sparse_file(path: &std::path::Path, size: u64) {
    std::fs::File::create(path).unwrap().set_len(size).unwrap();
}

#[cfg(unix)]
fn full_mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

#[cfg(unix)]
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

// ------------------------------------------------------------------ item 2: logout

#[test]
#[cfg(unix)] // links, devices, FIFOs and modes are Unix files
fn logout_leaves_a_linked_file_that_holds_no_credentials() {
    let env = Env::new();
    let package = env.dir.path().join("package.json");
    let original = "{\n  \"name\": \"demo\",\n  \"version\": \"1.0.0\"\n}\n";
    std::fs::write(&package, original).unwrap();
    std::os::unix::fs::symlink(&package, env.auth_path()).unwrap();
    let auth = env.auth_path().display().to_string();
    let target = package.display().to_string();

    let status = env.run(&["login", "status"]);
    assert_eq!(status.code, 1, "{status:?}");
    assert!(
        status.stderr.contains(&format!(
            "`{auth}` is a link to `{target}`, which is not a credentials file"
        )),
        "{status:?}"
    );

    env.run(&["logout"]).assert(
        0,
        "",
        &format!(
            "Not logged in\nnote: `{auth}` is a link to `{target}`, which is not a credentials file (it has none of `auth_mode`, `OPENAI_API_KEY`, `tokens`); it was left in place\n"
        ),
    );
    assert_eq!(std::fs::read_to_string(&package).unwrap(), original);
    assert!(std::fs::symlink_metadata(env.auth_path()).is_ok());

    // Nor does a sign-in overwrite it.
    let login = env.run_stdin(&["login", "--api-key", "-"], KEY.as_bytes());
    assert_eq!(login.code, 1, "{login:?}");
    assert!(
        login.stderr.contains(&format!(
            "`{auth}` is a link to `{target}`, which is not a credentials file (it has none of `auth_mode`, `OPENAI_API_KEY`, `tokens`); codex neither reads nor overwrites it"
        )) && login.stderr.contains(&format!("rm {auth}")),
        "{login:?}"
    );
    assert_eq!(std::fs::read_to_string(&package).unwrap(), original);
    assert_eq!(entries(env.dir.path()).len(), 2, "no backup or temp file");
}

// ------------------------------------------------------------------ item 3: devices

#[test]
#[cfg(unix)] // links, devices, FIFOs and modes are Unix files
fn a_link_to_a_device_is_never_replaced() {
    let env = Env::new();
    let device = null_device(env.dir.path());
    let before = std::fs::metadata(&device).unwrap();
    std::os::unix::fs::symlink(&device, env.auth_path()).unwrap();
    let auth = env.auth_path().display().to_string();
    let shown = device.display().to_string();

    let login = bounded(
        &env.cmd(&["login", "--api-key", "-"]),
        Some(KEY.as_bytes()),
        60,
    );
    assert_eq!(login.code, 1, "{login:?}");
    assert!(
        login.stderr.contains(&format!(
            "`{auth}` is a link to `{shown}`, which is a character device, not a regular file"
        )) && login.stderr.contains(&format!("rm {auth}"))
            && login
                .stderr
                .contains("cli_auth_credentials_store = \"keyring\""),
        "{login:?}"
    );
    let after = std::fs::metadata(&device).unwrap();
    assert!(is_char_device(&device), "the device was replaced");
    {
        use std::os::unix::fs::MetadataExt;
        assert_eq!((after.ino(), after.mode()), (before.ino(), before.mode()));
    }
    let parent = device.parent().unwrap();
    assert!(
        !entries(parent)
            .iter()
            .any(|n| n.contains(".bak") || n.contains(".tmp")),
        "{:?}",
        entries(parent)
    );

    let status = bounded(&env.cmd(&["login", "status"]), None, 60);
    assert_eq!(status.code, 1, "{status:?}");
    assert!(
        status.stderr.starts_with(&format!(
            "Not logged in: `{auth}` is a link to `{shown}`, which is a character device"
        )),
        "{status:?}"
    );
    // Logout cannot tell what is behind it: it fails, and names the file and the fix.
    let logout = bounded(&env.cmd(&["logout"]), None, 60);
    assert_eq!(
        (logout.code, logout.stderr.as_str()),
        (
            1,
            &*format!(
                "`{auth}` is a link to `{shown}`, which is a character device, not a regular file. It was left in place because it may still hold credentials: fix it, or remove it yourself (rm {auth}).\n"
            )
        )
    );
    assert!(is_char_device(&device) && env.auth_path().is_symlink());
}

// ------------------------------------------------------------------ item 4: directory modes

#[test]
#[cfg(unix)] // links, devices, FIFOs and modes are Unix files
fn directories_we_did_not_create_keep_their_modes() {
    // A shared directory such as /tmp (1777): used, warned about, never chmodded.
    let env = Env::new();
    let shared = env.dir.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    set_mode(&shared, 0o1777);
    let mut cmd = env.cmd(&["login", "--api-key", "-"]);
    cmd.env("CODEX_HOME", &shared);
    let run = bounded(&cmd, Some(KEY.as_bytes()), 60);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(full_mode(&shared), 0o1777);
    assert_eq!(mode_of(&shared.join("auth.json")), 0o600);
    assert!(
        run.stderr.contains(&format!(
            "warning: other users can add or replace files in `{}` (mode 1777)",
            shared.display()
        )),
        "{run:?}"
    );

    // A read-only directory (0500) stays read-only.
    let locked = env.dir.path().join("locked");
    std::fs::create_dir(&locked).unwrap();
    set_mode(&locked, 0o500);
    let mut cmd = env.cmd(&["login", "--api-key", "-"]);
    cmd.env("CODEX_HOME", &locked);
    let run = bounded(&cmd, Some(KEY.as_bytes()), 60);
    assert_eq!(full_mode(&locked), 0o500, "{run:?}");
    assert!(!run.stderr.contains("warning"), "{run:?}");
    set_mode(&locked, 0o700);

    // The default ~/.codex is ours: created 0700.
    let mut cmd = env.cmd(&["login", "--api-key", "-"]);
    cmd.env_remove("CODEX_HOME");
    let run = bounded(&cmd, Some(KEY.as_bytes()), 60);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(mode_of(&env.dir.path().join(".codex")), 0o700);
}

// ------------------------------------------------------------------ item 5: FIFOs

#[test]
#[cfg(unix)] // links, devices, FIFOs and modes are Unix files
fn a_fifo_never_blocks_a_command() {
    let env = Env::new();
    mkfifo(&env.auth_path());
    let auth = env.auth_path().display().to_string();
    let named = format!("`{auth}` is a FIFO (named pipe), not a regular file");
    for args in [
        &["login", "status"][..],
        &["login", "token"][..],
        &["exec", "hello"][..],
        &["login", "--api-key", "-"][..],
    ] {
        let run = bounded(&env.cmd(args), Some(KEY.as_bytes()), 60);
        assert_eq!(run.code, 1, "{args:?}: {run:?}");
        assert!(run.stderr.contains(&named), "{args:?}: {run:?}");
    }
    let logout = bounded(&env.cmd(&["logout"]), None, 60);
    assert_eq!(
        (logout.code, logout.stderr.as_str()),
        (
            1,
            &*format!(
                "{named}. It was left in place because it may still hold credentials: fix it, or remove it yourself (rm {auth}).\n"
            )
        )
    );
    assert!(is_fifo(&env.auth_path()));

    // config.toml
    std::fs::remove_file(env.auth_path()).unwrap();
    let config = env.home.join("config.toml");
    mkfifo(&config);
    let run = bounded(&env.cmd(&["login", "status"]), None, 60);
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (
            1,
            &*format!(
                "Error loading configuration: {}: it is a FIFO (named pipe), not a regular file\n",
                config.display()
            )
        )
    );
    std::fs::remove_file(&config).unwrap();

    // auth.lock
    let lock = env.home.join("auth.lock");
    let _ = std::fs::remove_file(&lock);
    mkfifo(&lock);
    let run = bounded(
        &env.cmd(&["login", "--api-key", "-"]),
        Some(KEY.as_bytes()),
        60,
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .contains(&format!("`{}` is a FIFO (named pipe)", lock.display())),
        "{run:?}"
    );
    assert!(is_fifo(&lock));
}

#[test]
#[cfg(unix)] // links, devices, FIFOs and modes are Unix files
fn a_fifo_as_a_ca_bundle_or_in_a_certificate_directory_never_blocks() {
    let fake = Peer::responses(&[]);
    let env = Env::new();
    env.write_config(&format!("openai_base_url = \"{}/v1\"\n", fake.url));
    let fifo = env.dir.path().join("ca.pem");
    mkfifo(&fifo);
    for variable in ["CODEX_CA_CERTIFICATE", "SSL_CERT_FILE"] {
        let mut cmd = env.cmd(&["exec", "hello"]);
        cmd.env("CODEX_API_KEY", KEY).env(variable, &fifo);
        let run = bounded(&cmd, None, 60);
        assert_eq!(
            (run.code, run.stderr.as_str()),
            (
                1,
                &*format!(
                    "{variable} points to `{}`, which is a FIFO (named pipe), not a regular file. Point it at your CA's certificate in PEM format, or unset it.\n",
                    fifo.display()
                )
            )
        );
    }
    // A FIFO among the files of SSL_CERT_DIR is skipped like anything else unreadable.
    let dir = env.dir.path().join("certs");
    std::fs::create_dir(&dir).unwrap();
    mkfifo(&dir.join("0001.0"));
    let mut cmd = env.cmd(&["exec", "hello"]);
    cmd.env("CODEX_API_KEY", KEY).env("SSL_CERT_DIR", &dir);
    let run = bounded(&cmd, None, 60);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(fake.requests().len() == 1);
}

// ------------------------------------------------------------------ item 6: bounded reads

#[test]
#[cfg(unix)] // links, devices, FIFOs and modes are Unix files
fn reads_are_capped_and_devices_refused() {
    let env = Env::new();
    let auth = env.auth_path().display().to_string();

    // A credentials file is a few kilobytes; a huge one is refused at once.
    sparse_file(&env.auth_path(), 64 << 20);
    let run = bounded(&env.cmd(&["login", "status"]), None, 60);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .contains(&format!("`{auth}` is larger than 8 MiB, the most")),
        "{run:?}"
    );
    std::fs::remove_file(env.auth_path()).unwrap();

    for device in ["/dev/zero", "/dev/urandom"] {
        std::os::unix::fs::symlink(device, env.auth_path()).unwrap();
        for args in [&["login", "status"][..], &["login", "token"][..]] {
            let run = bounded(&env.cmd(args), None, 60);
            assert_eq!(run.code, 1, "{run:?}");
            assert!(
                run.stderr.contains(&format!(
                    "`{auth}` is a link to `{device}`, which is a character device, not a regular file"
                )),
                "{run:?}"
            );
        }
        std::fs::remove_file(env.auth_path()).unwrap();
    }

    let config = env.home.join("config.toml");
    sparse_file(&config, 64 << 20);
    let run = bounded(&env.cmd(&["login", "status"]), None, 60);
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (
            1,
            &*format!(
                "Error loading configuration: {}: it is larger than 4 MiB, the most a configuration file may hold\n",
                config.display()
            )
        )
    );
    std::fs::remove_file(&config).unwrap();

    let big = env.dir.path().join("big.pem");
    sparse_file(&big, 64 << 20);
    for (variable, path) in [
        ("CODEX_CA_CERTIFICATE", Path::new("/dev/zero")),
        ("SSL_CERT_FILE", Path::new("/dev/urandom")),
        ("CODEX_CA_CERTIFICATE", big.as_path()),
    ] {
        let mut cmd = env.cmd(&["exec", "hello"]);
        cmd.env("CODEX_API_KEY", KEY).env(variable, path);
        let run = bounded(&cmd, None, 60);
        assert_eq!(run.code, 1, "{run:?}");
        let expected = if path == big {
            format!(
                "{variable} points to `{}`, which is larger than 16 MiB, the most a CA bundle may hold.",
                path.display()
            )
        } else {
            format!(
                "{variable} points to `{}`, which is a character device, not a regular file.",
                path.display()
            )
        };
        assert!(run.stderr.starts_with(&expected), "{run:?}");
    }

    // Standard input is bounded too.
    let run = bounded(
        &env.cmd(&["login", "--api-key", "-"]),
        Some(&vec![b'k'; 5 << 20]),
        60,
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("longer than 4 MiB"), "{run:?}");
}

// ------------------------------------------------------------------ item 7: output errors

fn dev_full() -> Stdio {
    Stdio::from(
        std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap(),
    )
}

/// A pipe whose reading end is already closed.
fn closed_pipe() -> Stdio {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    Stdio::from(writer)
}

#[test]
fn output_errors_never_panic() {
    let env = Env::new();
    env.write_auth(&api_key_json(KEY));
    let no_space = "cannot write to standard output: No space left on device (os error 28)\n";
    for args in [
        &["login", "token"][..],
        &["completion", "bash"][..],
        &["--help"][..],
    ] {
        let run = run_within(limited(&env.cmd(args)), None, dev_full(), 60);
        assert_no_panic(&run);
        assert_eq!((run.code, run.stderr.as_str()), (1, no_space), "{args:?}");

        let run = run_within(limited(&env.cmd(args)), None, closed_pipe(), 60);
        assert_no_panic(&run);
        assert_eq!((run.code, run.stderr.as_str()), (0, ""), "{args:?}");
    }
    let run = run_within(
        limited(&env.cmd(&["login", "status", "--json"])),
        None,
        closed_pipe(),
        60,
    );
    assert_no_panic(&run);
    assert_eq!((run.code, run.stderr.as_str()), (0, ""));
    let run = run_within(
        limited(&env.cmd(&["login", "status", "--json"])),
        None,
        dev_full(),
        60,
    );
    assert_eq!((run.code, run.stderr.as_str()), (1, no_space));

    // A full stderr: nothing can be said, but nothing panics either.
    let mut cmd = limited(&env.cmd(&["login", "status"]));
    cmd.stderr(dev_full())
        .stdout(Stdio::null())
        .stdin(Stdio::null());
    let status = cmd.status().unwrap();
    assert_eq!(status.code(), Some(0));
    let mut cmd = limited(&env.cmd(&["logout"]));
    cmd.stderr(closed_pipe())
        .stdout(Stdio::null())
        .stdin(Stdio::null());
    assert_eq!(cmd.status().unwrap().code(), Some(0));
}

// ------------------------------------------------------------------ item 8: deep -c keys

#[test]
fn a_deep_dotted_key_is_refused_cleanly() {
    let env = Env::new();
    let key = format!("{}b=1", "a.".repeat(20_000));
    let run = bounded(&env.cmd(&["-c", &key, "login", "status"]), None, 60);
    assert_no_panic(&run);
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (
            1,
            "Error loading configuration: -c `a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a...`: the key has 20001 parts; at most 80 are allowed\n"
        )
    );
    // 80 parts are fine.
    let key = format!("{}b=1", "a.".repeat(79));
    let run = bounded(&env.cmd(&["-c", &key, "login", "status"]), None, 60);
    assert_eq!(run.code, 1, "not logged in, and no error: {run:?}");
    assert_eq!(run.stderr, "Not logged in\n");
}

// ------------------------------------------------------------------ item 9: key characters

#[test]
fn a_bom_is_stripped_and_control_characters_are_refused() {
    let env = Env::new();
    env.run_stdin(
        &["login", "--api-key", "-"],
        format!("\u{feff}{KEY}\r\n").as_bytes(),
    );
    assert_eq!(env.read_auth(), api_key_json(KEY));
    let run = env.run(&["login", "--api-key", &format!("\u{feff}{KEY}")]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(env.read_auth(), api_key_json(KEY));
    let run = env.run_stdin(&["login", "--api-key", "-"], b"sk-proj-a\0b\n");
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(env.read_auth(), api_key_json(KEY));
}

#[test]
fn a_key_with_control_characters_is_never_sent() {
    let fake = Peer::responses(&[]);
    let env = Env::new();
    env.write_config(&format!(
        "openai_base_url = \"{}/v1\"\n[model_providers.gw]\nname = \"gw\"\nbase_url = \"{}/v1\"\nenv_key = \"GW_KEY\"\n",
        fake.url, fake.url
    ));
    let auth = env.auth_path().display().to_string();
    env.write_auth(r#"{"auth_mode":"apikey","OPENAI_API_KEY":"sk-proj-a\r\nX-Injected: 1"}"#);
    let stored = format!(
        "the API key stored in `{auth}` contains a control character (a line break, NUL or similar), so it cannot be sent; sign in again: printenv OPENAI_API_KEY | codex login --api-key -\n"
    );
    env.run(&["exec", "hello"]).assert(1, "", &stored);
    env.run(&["login", "token"]).assert(1, "", &stored);

    let mut cmd = env.cmd(&["exec", "hello"]);
    cmd.env("CODEX_API_KEY", "sk-proj-a\nb");
    common::run_cmd(cmd, None).assert(
        1,
        "",
        "CODEX_API_KEY contains a control character (a line break, NUL or similar), so it cannot be sent; set it to the key alone\n",
    );
    let mut cmd = env.cmd(&["-c", "model_provider=\"gw\"", "exec", "hello"]);
    cmd.env("GW_KEY", "k-1\u{7f}2");
    common::run_cmd(cmd, None).assert(
        1,
        "",
        "GW_KEY contains a control character (a line break, NUL or similar), so it cannot be sent; set it to the key alone\n",
    );
    assert!(fake.requests().is_empty(), "{:?}", fake.requests());
}

// ------------------------------------------------------------------ item 10: refresh window

fn refresh_grants(peer: &Peer) -> usize {
    peer.requests()
        .iter()
        .filter(|r| r["grant_type"] == "refresh_token")
        .count()
}

#[test]
fn two_minute_tokens_are_not_refreshed_by_every_command() {
    let env = Env::new();
    let oidc = Peer::oidc(env.dir.path(), &[("ACCESS_TTL", "120")]);
    sign_in_with_oidc(&env, &oidc);
    for _ in 0..5 {
        let run = env.run(&["login", "token"]);
        assert_eq!(run.code, 0, "{run:?}");
    }
    assert!(
        refresh_grants(&oidc) <= 1,
        "{} refresh grants for 5 commands",
        refresh_grants(&oidc)
    );
}

// ------------------------------------------------------------------ also wrong

#[test]
fn control_characters_from_tokens_and_servers_never_reach_the_terminal() {
    let env = Env::new();
    let id = jwt(json!({
        "email": "mallory\u{1b}[2J\r@example.com",
        "https://api.openai.com/auth": {"chatgpt_plan_type": "pro\u{1b}]0;owned\u{7}"}
    }));
    let doc = json!({"auth_mode": "chatgpt", "OPENAI_API_KEY": null, "tokens": {
        "id_token": id, "access_token": jwt(json!({"exp": now_secs() + 3600})),
        "refresh_token": "rt", "account_id": null}});
    env.write_auth(&doc.to_string());
    let run = env.run(&["login", "status"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr.contains(
            "Account: mallory\\u{1b}[2J\\r@example.com (ChatGPT pro\\u{1b}]0;owned\\u{7} plan)"
        ),
        "{run:?}"
    );

    // A provider's error message.
    let fake = Peer::responses_with_script(
        json!([{"path": "/responses", "status": 400, "json": {"error": {
            "message": "bad \u{1b}[31mthing\r\u{9b}2J", "code": "x\u{1b}"}}}]),
        &[],
    );
    let env = Env::new();
    env.write_config(&format!("openai_base_url = \"{}/v1\"\n", fake.url));
    let mut cmd = env.cmd(&["exec", "hello"]);
    cmd.env("CODEX_API_KEY", KEY);
    common::run_cmd(cmd, None).assert(
        1,
        "",
        "OpenAI answered 400 Bad Request: bad \\u{1b}[31mthing\\r\\u{9b}2J\n",
    );

    // An issuer's error code at refresh.
    let issuer = Peer::fake_issuer(env.dir.path(), &["--seed-refresh-token", "rt-1"]);
    let script = json!([{"path": "/oauth/token", "status": 400,
        "json": {"error": {"code": "nope\u{1b}[5m"}}, "repeat": -1}]);
    let request = format!("{}/_fake/script", issuer.url);
    post_json(&request, &script.to_string());
    let doc = json!({"auth_mode": "chatgpt", "OPENAI_API_KEY": null, "tokens": {
        "id_token": jwt(json!({"email": "a@b.c"})),
        "access_token": jwt(json!({"exp": now_secs() - 60})),
        "refresh_token": "rt-1", "account_id": null,
        "oauth_provenance": {"issuer": issuer.url, "client_id": "app_EMoamEEZ73f0CkXaXp7hrann", "protocol": "openai"}}});
    env.write_auth(&doc.to_string());
    let run = env.run(&["login", "token"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(!run.stderr.contains('\u{1b}'), "{run:?}");
    assert!(run.stderr.contains("nope\\u{1b}[5m"), "{run:?}");
}

/// POST a JSON body (the fakes' control path).
fn post_json(url: &str, body: &str) {
    let rest = url.strip_prefix("http://").unwrap();
    let (authority, path) = rest.split_at(rest.find('/').unwrap());
    let mut stream = std::net::TcpStream::connect(authority).unwrap();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert!(
        answer.starts_with("HTTP/1.1 200") || answer.starts_with("HTTP/1.0 200"),
        "{answer}"
    );
}

#[test]
fn retries_of_one_command_wait_a_bounded_time() {
    let fake = Peer::responses_with_script(
        json!([{"path": "/responses", "status": 429, "headers": {"Retry-After": "31"}, "repeat": -1}]),
        &[],
    );
    let env = Env::new();
    env.write_config(&format!(
        "openai_base_url = \"{}/v1\"\n[model_providers.openai]\nrequest_max_retries = 100\n",
        fake.url
    ));
    let mut cmd = env.cmd(&["exec", "hello"]);
    cmd.env("CODEX_API_KEY", KEY);
    // A second retry would wait 31 s more (62 s in all): the text and the request count say it
    // was not made. The bound is only a hang guard.
    let run = bounded(&cmd, None, 120);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .ends_with("(after 1 retry; the retries of one command wait at most 60 s in all)\n"),
        "{run:?}"
    );
    assert_eq!(fake.requests().len(), 2);
}

#[test]
fn possible_secrets_in_bad_settings_are_masked() {
    let env = Env::new();
    let secret = "sk-proj-PASTEDSECRET0123456789abcdef";
    env.write_auth(&format!(
        r#"{{"auth_mode":"{secret}","OPENAI_API_KEY":"{KEY}"}}"#
    ));
    let run = env.run(&["login", "status"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(!run.stderr.contains("PASTEDSECRET"), "{run:?}");
    assert!(
        run.stderr.contains(
            "`auth_mode` has a value this version does not know: sk-p*** (36 characters, masked)"
        ),
        "{run:?}"
    );
    env.write_auth(r#"{"auth_mode":"chatgtp","OPENAI_API_KEY":null}"#);
    let run = env.run(&["login", "status"]);
    assert!(
        run.stderr
            .contains("`auth_mode` has a value this version does not know: \"chatgtp\""),
        "{run:?}"
    );

    env.write_auth(&api_key_json(KEY));
    for (value, shown) in [
        (secret, "sk-p*** (36 characters, masked)"),
        (
            "ftp://alice:PASTEDSECRET@gw.example.com/v1?api-key=PASTEDSECRET#x",
            "`ftp://***@gw.example.com/v1?***`",
        ),
    ] {
        let mut cmd = env.cmd(&["-c", &format!("openai_base_url=\"{value}\""), "exec", "hi"]);
        cmd.env_remove("CODEX_API_KEY");
        let run = common::run_cmd(cmd, None);
        assert_eq!(run.code, 1, "{run:?}");
        assert!(!run.stderr.contains("PASTEDSECRET"), "{run:?}");
        assert!(
            run.stderr.starts_with(&format!(
                "openai_base_url is {shown}, which is not an http(s) URL"
            )),
            "{run:?}"
        );
    }
}

#[test]
fn a_credentials_file_others_can_read_is_warned_about_never_chmodded() {
    let env = Env::new();
    env.write_auth(&api_key_json(KEY));
    set_mode(&env.auth_path(), 0o644);
    let auth = env.auth_path().display().to_string();
    let warning = format!(
        "warning: `{auth}` can be read by other users (mode 0644); make it private: chmod 600 {auth}\n"
    );
    let run = env.run(&["login", "status"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stderr.starts_with(&warning), "{run:?}");
    let run = env.run(&["login", "token"]);
    assert_eq!((run.code, run.stdout.as_str()), (0, &*format!("{KEY}\n")));
    assert_eq!(run.stderr, warning);
    assert_eq!(mode_of(&env.auth_path()), 0o644);
    assert!(BIN.ends_with("codex"));
}

// ------------------------------------------------------------------ the rest of the class

/// A server on loopback that answers every request with `head` and then a body that never
/// ends: 64 KiB chunks of `filler`, until the client goes away.
fn endless_server(head: &'static str, filler: u8) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            std::thread::spawn(move || {
                let mut request = [0u8; 4096];
                let _ = stream.read(&mut request);
                let chunk = vec![filler; 64 << 10];
                let mut framed = format!("{:x}\r\n", chunk.len()).into_bytes();
                framed.extend_from_slice(&chunk);
                framed.extend_from_slice(b"\r\n");
                if stream.write_all(head.as_bytes()).is_err() {
                    return;
                }
                while stream.write_all(&framed).is_ok() {}
            });
        }
    });
    url
}

#[test]
fn endless_answers_are_cut_off() {
    // A token endpoint that never stops answering.
    let issuer = endless_server(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
        b' ',
    );
    let env = Env::new();
    let doc = json!({"auth_mode": "chatgpt", "OPENAI_API_KEY": null, "tokens": {
        "id_token": jwt(json!({"email": "a@b.c"})),
        "access_token": jwt(json!({"exp": now_secs() - 60})),
        "refresh_token": "rt-1", "account_id": null,
        "oauth_provenance": {"issuer": issuer, "client_id": "app_EMoamEEZ73f0CkXaXp7hrann", "protocol": "openai"}}});
    env.write_auth(&doc.to_string());
    let run = bounded(&env.cmd(&["login", "token"]), None, 60);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains(&format!(
            "the answer of `{issuer}/oauth/token` is larger than 1 MiB"
        )),
        "{run:?}"
    );

    // A model stream whose first line never ends.
    let api = endless_server(
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n",
        b'a',
    );
    let env = Env::new();
    env.write_config(&format!("openai_base_url = \"{api}/v1\"\n"));
    let mut cmd = env.cmd(&["exec", "hello"]);
    cmd.env("CODEX_API_KEY", KEY);
    let run = bounded(&cmd, None, 60);
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (
            1,
            "OpenAI sent an event larger than 16 MiB; the stream cannot be read\n"
        )
    );
}

#[test]
#[cfg(unix)] // links, devices, FIFOs and modes are Unix files
fn aws_files_that_would_block_are_refused() {
    let env = Env::new();
    env.write_config(
        "model_provider = \"amazon-bedrock\"\nmodel = \"openai.gpt-oss-120b\"\n[model_providers.amazon-bedrock.aws]\nregion = \"us-east-1\"\n",
    );
    let fifo = env.dir.path().join("aws-config");
    mkfifo(&fifo);
    for variable in ["AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"] {
        let mut cmd = env.cmd(&["exec", "hello"]);
        cmd.env(variable, &fifo);
        let run = bounded(&cmd, None, 60);
        assert_eq!(run.code, 1, "{run:?}");
        assert!(
            run.stderr.starts_with(&format!(
                "the AWS file `{}` is a FIFO (named pipe), not a regular file, so it cannot be read; point {variable} at",
                fifo.display()
            )),
            "{run:?}"
        );
    }
}

// ------------------------------------------------------------------ issue 19

/// What clap refuses is quoted in its error: every such value is shown escaped, whichever flag
/// or argument it came from.
#[test]
fn refused_command_line_values_are_shown_escaped() {
    let hostile = "bad\u{1b}[31mred\u{7}";
    let shown = "bad\\u{1b}[31mred\\u{7}";
    let unknown_flag = format!("--{hostile}");
    for args in [
        vec!["login", "--account", hostile],
        vec!["login", "token", "--account", hostile],
        vec!["exec", "--account", hostile, "hello"],
        vec!["logout", "--account", hostile],
        vec!["login", "switch", hostile],
        vec!["login", "--port", hostile],
        vec!["login", "--timeout", hostile],
        vec!["completion", hostile],
        vec!["login", &unknown_flag],
        vec![hostile],
    ] {
        let run = common::run_cmd(common::bare_cmd(&args), None);
        assert_eq!(run.code, 2, "{args:?}: {run:?}");
        assert!(
            !run.stderr.chars().any(|c| c.is_control() && c != '\n'),
            "{args:?}: a control character reached the terminal: {:?}",
            run.stderr
        );
        assert!(run.stderr.contains(shown), "{args:?}: {run:?}");
    }
}

/// An auth.json logout could not read (over the size cap here; devices and FIFOs above) may
/// hold credentials another tool reads: logout fails, names it and the fix, and leaves it.
#[test]
fn logout_fails_over_an_auth_json_it_cannot_read() {
    let env = Env::new();
    let auth = env.auth_path().display().to_string();
    sparse_file(&env.auth_path(), 9 << 20);
    let expected = format!(
        "`{auth}` is larger than 8 MiB, the most a credentials file may hold. It was left in place because it may still hold credentials: fix it, or remove it yourself (rm {auth}).\n"
    );
    for args in [&["logout"][..], &["logout", "--all"]] {
        let run = bounded(&env.cmd(args), None, 60);
        run.assert(1, "", &expected);
        assert_eq!(std::fs::metadata(env.auth_path()).unwrap().len(), 9 << 20);
    }
}

/// Moving an unparseable auth.json aside never replaces a file: a `.bak` name is free only when
/// it does not exist (here its `stat` is made to fail with EACCES, through strace), and the
/// rename refuses to replace.
#[test]
fn a_backup_never_replaces_a_file_it_could_not_look_at() {
    let env = Env::new();
    env.write_auth("{\"OPENAI_API_KEY\": \"sk-only-copy\"");
    let bak = env.home.join("auth.json.bak");
    std::fs::write(&bak, "an earlier backup").unwrap();
    let trace = env.dir.path().join("strace.log");
    let mut cmd = Command::new("strace");
    cmd.args(["-f", "-qq", "-o"])
        .arg(&trace)
        .arg("-P")
        .arg(&bak)
        .args([
            "-e",
            "trace=statx,newfstatat,lstat,stat",
            "-e",
            "inject=statx,newfstatat,lstat,stat:error=EACCES",
            BIN,
            "login",
            "--api-key",
            "-",
        ]);
    for (key, value) in env.cmd(&[]).get_envs() {
        match value {
            Some(value) => cmd.env(key, value),
            None => cmd.env_remove(key),
        };
    }
    let run = common::run_cmd(cmd, Some(KEY.as_bytes()));
    assert!(
        std::fs::read_to_string(&trace)
            .unwrap_or_default()
            .contains("(INJECTED)"),
        "strace did not make the check of {} fail",
        bak.display()
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(std::fs::read_to_string(&bak).unwrap(), "an earlier backup");
    assert_eq!(
        std::fs::read_to_string(env.home.join("auth.json.bak.1")).unwrap(),
        "{\"OPENAI_API_KEY\": \"sk-only-copy\""
    );
    assert!(run.stderr.contains("auth.json.bak.1"), "{run:?}");
}
