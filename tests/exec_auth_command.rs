//! Issue 20: provider credentials from a command (`[model_providers.<id>.auth]`), against a
//! local HTTPS provider (the fake Responses API behind a private CA) that accepts only the
//! current token, with a real `az`-like program the tests write: the token is sent, cached
//! across runs in the configured store, shared by concurrent runs, re-run once after a 401;
//! every bad command and bad config is a clear error (snapshots); the token and the arguments
//! never reach a log (canaries at RUST_LOG=trace).

mod common;

use std::path::PathBuf;

use common::tls::Ca;
use common::transcript::Transcript;
use common::{Background, Env, Peer, Run, jwt, now_secs, run_cmd};
use serde_json::{Value, json};

/// An argument that must never be shown (a vault path, a client id...).
const ARG_CANARY: &str = "canary-arg-5f1e2d3c";
const AZ_ARGS: &str = r#"["account", "get-access-token", "--resource", "https://cognitiveservices.azure.com", "--query", "accessToken", "-o", "tsv", "--subscription", "canary-arg-5f1e2d3c"]"#;

/// A CODEX_HOME, the HTTPS provider, and a bin folder with the `az`-like program.
struct Setup {
    env: Env,
    fake: Peer,
    bin: PathBuf,
    /// The script's folder: `token` (what it prints), `runs` (one line per run).
    dir: PathBuf,
    ca: PathBuf,
}

/// The `az`-like program: checks its arguments as az would, counts its runs, prints the token
/// in `token`; with a `gate` file it first waits for `go`.
const AZ: &str = r#"#!/bin/sh
d="$(dirname "$0")/../state"
echo run >> "$d/runs"
if [ "$1 $2 $3 $4" != "account get-access-token --resource https://cognitiveservices.azure.com" ]; then
  echo "ERROR: unrecognized arguments" >&2
  exit 2
fi
if [ -f "$d/gate" ]; then
  while [ ! -f "$d/go" ]; do sleep 0.05; done
fi
cat "$d/token"
"#;

impl Setup {
    fn new(token: &str) -> Setup {
        let env = Env::new();
        let root = env.dir.path().to_path_buf();
        let dir = root.join("state");
        let bin = root.join("bin");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::create_dir_all(&bin).unwrap();
        let ca = Ca::new("codex test CA");
        let ca_path = root.join("ca.pem");
        std::fs::write(&ca_path, &ca.pem).unwrap();
        let (cert, key) = ca.server(&root, "provider", &["127.0.0.1", "localhost"], false);
        std::fs::write(root.join("server-token"), token).unwrap();
        let fake = Peer::fake_responses(
            &root,
            &[
                "--tls-cert",
                cert.to_str().unwrap(),
                "--tls-key",
                key.to_str().unwrap(),
                "--accept-bearer-file",
                root.join("server-token").to_str().unwrap(),
                "--hang-seconds",
                "5",
            ],
        );
        assert!(fake.url.starts_with("https://"), "{}", fake.url);
        let setup = Setup {
            env,
            fake,
            bin,
            dir,
            ca: ca_path,
        };
        setup.script("az", AZ);
        setup.set_token(token);
        setup.config("");
        setup
    }

    /// Writes an executable script into the bin folder.
    fn script(&self, name: &str, text: &str) -> PathBuf {
        let path = self.bin.join(name);
        std::fs::write(&path, text).unwrap();
        common::set_mode(&path, 0o755);
        path
    }

    /// What the `az` script prints from now on.
    fn set_token(&self, token: &str) {
        std::fs::write(self.dir.join("token"), token).unwrap();
    }

    /// The token the server accepts from now on.
    fn rotate_server(&self, token: &str) {
        std::fs::write(self.env.dir.path().join("server-token"), token).unwrap();
    }

    /// config.toml: the Azure provider at the fake, its auth table plus `auth_extra` lines.
    fn config(&self, auth_extra: &str) {
        self.config_with(
            "azure",
            "",
            &format!("command = \"az\"\nargs = {AZ_ARGS}\n{auth_extra}"),
        );
    }

    fn config_with(&self, id: &str, provider_extra: &str, auth: &str) {
        self.env.write_config(&format!(
            "model_provider = \"{id}\"\nmodel = \"gpt-5\"\n\n[model_providers.{id}]\nname = \"Azure OpenAI\"\nbase_url = \"{}/openai/v1\"\n{provider_extra}\n[model_providers.{id}.auth]\n{auth}",
            self.fake.url
        ));
    }

    fn runs(&self) -> usize {
        std::fs::read_to_string(self.dir.join("runs"))
            .unwrap_or_default()
            .lines()
            .count()
    }

    fn cmd(&self, args: &[&str]) -> std::process::Command {
        let mut cmd = self.env.cmd(args);
        cmd.env("PATH", format!("{}:/usr/bin:/bin", self.bin.display()))
            .env("CODEX_CA_CERTIFICATE", &self.ca);
        cmd
    }

    fn run(&self, args: &[&str]) -> Run {
        run_cmd(self.cmd(args), None)
    }

    /// `cli_auth_credentials_store = "keyring"` on top of the config.
    fn keyring_mode(&self) {
        let config = std::fs::read_to_string(self.env.home.join("config.toml")).unwrap();
        self.env.write_config(&format!(
            "cli_auth_credentials_store = \"keyring\"\n{config}"
        ));
    }

    /// `codex` inside `session`'s keyring, with the `az` program and the provider's CA.
    fn run_in(&self, session: &common::keyring::Session, args: &[&str]) -> Run {
        let mut cmd = session.codex(&self.env, args);
        cmd.env("PATH", format!("{}:/usr/bin:/bin", self.bin.display()))
            .env("CODEX_CA_CERTIFICATE", &self.ca);
        run_cmd(cmd, None)
    }

    fn exec(&self) -> Run {
        self.run(&["exec", "say hello"])
    }

    /// `codex exec` with extra variables; it must print the fake's answer.
    fn exec_ok_with(&self, vars: &[(&str, &str)]) -> Run {
        let mut cmd = self.cmd(&["exec", "say hello"]);
        for (name, value) in vars {
            cmd.env(name, value);
        }
        answered(run_cmd(cmd, None))
    }

    /// The files of the token cache.
    fn cached_files(&self) -> Vec<PathBuf> {
        match std::fs::read_dir(self.env.home.join("provider-tokens")) {
            Ok(dir) => dir
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == "json"))
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    fn transcript(&self) -> Transcript {
        let mut t = Transcript::of(&self.env);
        t.redact(self.fake.url.clone(), "[PROVIDER]");
        t
    }

    fn bearers(&self) -> Vec<Option<String>> {
        self.fake
            .requests()
            .iter()
            .filter(|r| r["path"] == "/openai/v1/responses")
            .map(|r| r["headers"]["authorization"].as_str().map(str::to_string))
            .collect()
    }
}

fn token(tag: &str, lifetime: i64) -> String {
    let now = now_secs();
    jwt(
        json!({"aud": "https://cognitiveservices.azure.com", "iat": now, "exp": now + lifetime, "tag": tag}),
    )
}

const HELLO: &str = "Hello from fake\n";

/// The run printed the fake's answer.
#[track_caller]
fn answered(run: Run) -> Run {
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (0, HELLO),
        "{}",
        run.stderr
    );
    run
}

#[test]
fn the_command_token_is_sent_and_cached_across_runs_never_logged() {
    let t1 = token("t1", 3600);
    let s = Setup::new(&t1);
    for _ in 0..2 {
        let run = s.exec_ok_with(&[("RUST_LOG", "trace")]);
        for canary in [t1.as_str(), ARG_CANARY] {
            assert!(
                !run.stderr.contains(canary),
                "leaked at trace: {}",
                run.stderr
            );
        }
    }
    assert_eq!(s.runs(), 1, "the second run uses the cached token");
    let bearer = format!("Bearer {t1}");
    assert_eq!(s.bearers(), vec![Some(bearer.clone()), Some(bearer)]);
    let request = &s.fake.requests()[0];
    assert!(request["headers"].get("chatgpt-account-id").is_none());
    // Cached in a 0600 file of its own, never in auth.json.
    let files = s.cached_files();
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(common::mode_of(&files[0]) & 0o777, 0o600);
    assert!(std::fs::read_to_string(&files[0]).unwrap().contains(&t1));
    assert!(!s.env.auth_path().exists());

    // `login token --provider` prints the same token, from the cache.
    let run = s.run(&["login", "token", "--provider", "azure"]);
    run.assert(0, &format!("{t1}\n"), "");
    assert_eq!(s.runs(), 1);
}

#[test]
fn the_command_runs_again_after_refresh_interval_and_near_expiry() {
    // refresh_interval_ms = 1: the cached token is too old by the next run.
    let s = Setup::new(&token("t1", 3600));
    s.config("refresh_interval_ms = 1\n");
    s.exec().assert(0, HELLO, "");
    s.exec().assert(0, HELLO, "");
    assert_eq!(s.runs(), 2);

    // A JWT that expires within the refresh window (an hour-long token in its last minute) is
    // not reused, whatever the interval.
    let now = now_secs();
    let near = jwt(json!({"iat": now - 3540, "exp": now + 60}));
    let s = Setup::new(&near);
    s.exec().assert(0, HELLO, "");
    s.exec().assert(0, HELLO, "");
    assert_eq!(s.runs(), 2);

    // A relative path with a directory in it is taken from `cwd`.
    let s = Setup::new(&token("t1", 3600));
    s.config_with(
        "azure",
        "",
        &format!(
            "command = \"bin/az\"\nargs = {AZ_ARGS}\ncwd = \"{}\"\n",
            s.env.dir.path().display()
        ),
    );
    s.exec().assert(0, HELLO, "");
    assert_eq!(s.runs(), 1);

    // refresh_interval_ms = 0: reused until a 401, even when it is no JWT.
    let s = Setup::new("opaque-token-0123456789");
    s.config("refresh_interval_ms = 0\n");
    s.exec().assert(0, HELLO, "");
    s.exec().assert(0, HELLO, "");
    assert_eq!(s.runs(), 1);
}

#[test]
fn a_token_rotated_on_the_server_gets_one_rerun_and_success() {
    let (t1, t2) = (token("t1", 3600), token("t2", 3600));
    let s = Setup::new(&t1);
    s.exec().assert(0, HELLO, "");
    s.rotate_server(&t2);
    s.set_token(&t2);
    s.exec().assert(0, HELLO, "");
    assert_eq!(s.runs(), 2, "one re-run after the 401");
    assert_eq!(
        s.bearers(),
        vec![
            Some(format!("Bearer {t1}")),
            Some(format!("Bearer {t1}")),
            Some(format!("Bearer {t2}")),
        ]
    );
    // The new token is the cached one now.
    s.exec().assert(0, HELLO, "");
    assert_eq!(s.runs(), 2);
}

#[test]
fn a_401_after_the_rerun_stands() {
    let s = Setup::new(&token("t1", 3600));
    s.rotate_server("a-token-nobody-has");
    let run = s.exec();
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(s.runs(), 2, "ran once, then once again after the 401");
    assert!(s.cached_files().is_empty(), "the refused token is not kept");
    let mut t = s.transcript();
    t.push(&["exec", "say hello"], &run);
    insta::assert_snapshot!("auth_command_401_stands", t.finish());
}

#[test]
fn two_concurrent_runs_share_one_command_run() {
    let s = Setup::new(&token("t1", 3600));
    std::fs::write(s.dir.join("gate"), "").unwrap();
    let first = Background::spawn(s.cmd(&["exec", "say hello"]));
    for _ in 0..300 {
        if s.runs() == 1 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(s.runs(), 1, "the first run started the command");
    let second = Background::spawn(s.cmd(&["exec", "say hello"]));
    // The second waits for the first's command instead of running its own.
    second.wait_stderr(
        "waiting for another `codex` process that is running the provider auth command",
    );
    std::fs::write(s.dir.join("go"), "").unwrap();
    let (a, b) = (first.finish(60), second.finish(60));
    assert_eq!((a.code, a.stdout.as_str()), (0, HELLO), "{}", a.stderr);
    assert_eq!((b.code, b.stdout.as_str()), (0, HELLO), "{}", b.stderr);
    assert_eq!(s.runs(), 1, "one command run for both");
}

/// Whether the process is gone (or a zombie nobody reaped yet).
fn gone(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
        Err(_) => true,
    }
}

#[test]
fn bad_commands_are_clear_errors_and_nothing_is_cached() {
    let s = Setup::new(&token("t1", 3600));
    let mut t = s.transcript();
    let mut case = |title: &str, auth: &str| {
        s.config_with("azure", "", auth);
        let run = s.exec();
        assert_eq!(run.code, 1, "{title}: {}", run.stderr);
        t.note(&format!("# {title}"));
        t.push(&["exec", "say hello"], &run);
        run
    };
    case("not found", "command = \"no-such-az\"\n");
    let plain = s.bin.join("not-executable");
    std::fs::write(&plain, "#!/bin/sh\necho token\n").unwrap();
    common::set_mode(&plain, 0o644);
    case("not executable", "command = \"not-executable\"\n");
    s.script(
        "az-logged-out",
        "#!/bin/sh\nprintf 'ERROR: Please run \\033[31maz login\\033[0m to setup account.\\nsecond line\\n' >&2\nexit 1\n",
    );
    case("exits non-zero", "command = \"az-logged-out\"\n");
    s.script(
        "az-hangs",
        &format!(
            "#!/bin/sh\nsleep 30 &\necho $! > {}/child\nsleep 30\n",
            s.dir.display()
        ),
    );
    case(
        "runs past timeout_ms",
        "command = \"az-hangs\"\ntimeout_ms = 500\n",
    );
    let child = std::fs::read_to_string(s.dir.join("child")).unwrap();
    let child = child.trim();
    let mut killed = false;
    for _ in 0..100 {
        if gone(child) {
            killed = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(killed, "the command's child {child} outlived the timeout");
    s.script("az-silent", "#!/bin/sh\nexit 0\n");
    case("prints nothing", "command = \"az-silent\"\n");
    s.script(
        "az-flood",
        "#!/bin/sh\nhead -c 70000 /dev/zero | tr '\\000' a\n",
    );
    case("prints more than 64 KiB", "command = \"az-flood\"\n");
    s.script("az-binary", "#!/bin/sh\nprintf 'tok\\377en'\n");
    case("prints non-UTF-8", "command = \"az-binary\"\n");
    s.script("az-control", "#!/bin/sh\nprintf 'tok\\001en'\n");
    case(
        "a control character inside the token",
        "command = \"az-control\"\n",
    );
    assert!(s.cached_files().is_empty(), "{:?}", s.cached_files());
    assert!(s.fake.requests().is_empty(), "no request went out");
    insta::assert_snapshot!("auth_command_failures", t.finish());
}

#[test]
fn bad_config_is_an_error_with_line_and_column_and_unknown_keys_a_warning() {
    let s = Setup::new(&token("t1", 3600));
    let mut t = s.transcript();
    let mut case = |title: &str, provider: &str, auth: &str, code: i32| {
        s.config_with("azure", provider, auth);
        let run = s.exec();
        assert_eq!(run.code, code, "{title}: {}", run.stderr);
        t.note(&format!("# {title}"));
        t.push(&["exec", "say hello"], &run);
    };
    case(
        "relative cwd",
        "",
        "command = \"az\"\ncwd = \"relative/dir\"\n",
        1,
    );
    case(
        "timeout_ms = 0",
        "",
        "command = \"az\"\ntimeout_ms = 0\n",
        1,
    );
    case("empty command", "", "command = \"\"\n", 1);
    case(
        "combined with env_key and experimental_bearer_token",
        "env_key = \"AZURE_OPENAI_API_KEY\"\nexperimental_bearer_token = \"canary-static-token\"\n",
        "command = \"az\"\n",
        1,
    );
    case(
        "unknown keys",
        "api_versoin = \"2025-04-01-preview\"\n",
        &format!("command = \"az\"\nargs = {AZ_ARGS}\ntimeout = 5\n"),
        0,
    );
    let snapshot = t.finish();
    assert!(!snapshot.contains("canary-static-token"));
    insta::assert_snapshot!("auth_command_config_errors", snapshot);
}

#[test]
fn login_status_names_the_providers_credential_source() {
    let s = Setup::new(&token("t1", 3600));
    let mut t = s.transcript();
    t.run(&s.env, &["login", "status"]);
    let run = s.run(&["login", "status", "--json"]);
    let status: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        status["provider"],
        json!({"id": "azure", "credential": "command", "command": "az"})
    );
    // `login token --provider` for a provider without a token, and for an unknown id.
    let config = std::fs::read_to_string(s.env.home.join("config.toml")).unwrap();
    s.env.write_config(&format!(
        "{config}\n[model_providers.local]\nname = \"Local\"\nbase_url = \"http://127.0.0.1:9/v1\"\n"
    ));
    t.run(&s.env, &["login", "token", "--provider", "local"]);
    t.run(&s.env, &["login", "token", "--provider", "nope"]);
    // The other sources `login status` names, and an unknown key given with -c.
    let config = std::fs::read_to_string(s.env.home.join("config.toml")).unwrap();
    s.env.write_config(&format!(
        "{config}\n[model_providers.gw]\nbase_url = \"http://127.0.0.1:9/v1\"\nenv_key = \"GW_KEY\"\n\n[model_providers.tok]\nbase_url = \"http://127.0.0.1:9/v1\"\nexperimental_bearer_token = \"canary-static-token\"\n"
    ));
    for id in ["local", "gw", "tok", "amazon-bedrock"] {
        let choice = format!("model_provider=\"{id}\"");
        t.run(&s.env, &["-c", &choice, "login", "status"]);
    }
    t.run(
        &s.env,
        &[
            "-c",
            "model_providers.azure.auth.retries=2",
            "login",
            "status",
        ],
    );
    insta::assert_snapshot!("auth_command_status", t.finish());
}

#[test]
fn bedrock_with_auth_sends_the_bearer_and_no_sigv4() {
    let t1 = token("t1", 3600);
    let s = Setup::new(&t1);
    s.config_with(
        "amazon-bedrock",
        "[model_providers.amazon-bedrock.aws]\nregion = \"us-east-1\"\n",
        &format!("command = \"az\"\nargs = {AZ_ARGS}\n"),
    );
    s.exec_ok_with(&[
        ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
        (
            "AWS_SECRET_ACCESS_KEY",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        ),
        ("AWS_BEARER_TOKEN_BEDROCK", "bedrock-api-key-canary"),
    ]);
    let requests = s.fake.requests();
    let headers = &requests[0]["headers"];
    assert_eq!(headers["authorization"], format!("Bearer {t1}"));
    assert!(headers.get("x-amz-date").is_none(), "{headers}");
    assert!(headers.get("x-amz-security-token").is_none(), "{headers}");
}

#[test]
fn experimental_bearer_token_is_sent_and_env_key_wins_over_it() {
    let s = Setup::new("static-token-0123456789");
    let write = |extra: &str| {
        s.env.write_config(&format!(
            "model_provider = \"gw\"\nmodel = \"gpt-5\"\n[model_providers.gw]\nname = \"Gateway\"\nbase_url = \"{}/openai/v1\"\nexperimental_bearer_token = \"static-token-0123456789\"\n{extra}",
            s.fake.url
        ));
    };
    write("");
    s.exec().assert(0, HELLO, "");
    write("env_key = \"GW_KEY\"\n");
    let mut cmd = s.cmd(&["exec", "say hello"]);
    cmd.env("GW_KEY", "key-from-env-0123456789");
    let run = run_cmd(cmd, None);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        s.bearers(),
        vec![
            Some("Bearer static-token-0123456789".to_string()),
            Some("Bearer key-from-env-0123456789".to_string()),
        ]
    );
    assert!(s.cached_files().is_empty());
}

#[test]
fn a_custom_provider_without_credentials_sends_none_not_the_chatgpt_token() {
    let s = Setup::new("whatever-0123456789");
    s.env
        .write_auth(&common::api_key_json("sk-proj-canary-stored-0123456789"));
    s.env.write_config(&format!(
        "model_provider = \"local\"\nmodel = \"gpt-5\"\n[model_providers.local]\nname = \"Local\"\nbase_url = \"{}/openai/v1\"\n",
        s.fake.url
    ));
    let run = s.exec();
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(s.bearers(), vec![None]);
}

#[test]
fn with_the_keyring_store_the_token_is_cached_in_its_own_entry_and_no_file() {
    let session = common::keyring::Session::with_keyring();
    let t1 = token("t1", 3600);
    let s = Setup::new(&t1);
    s.keyring_mode();
    for _ in 0..2 {
        answered(s.run_in(&session, &["exec", "say hello"]));
    }
    assert_eq!(
        s.runs(),
        1,
        "the second run uses the token cached in the keyring"
    );
    assert!(s.cached_files().is_empty(), "{:?}", s.cached_files());
    assert!(!s.env.auth_path().exists());
    let found = session.secret_tool(&["search", "--all", "service", "Codex Auth"], None);
    assert!(found.stdout.contains("provider-tokens|"), "{found:?}");
    assert!(found.stdout.contains(&t1), "{found:?}");
}

#[test]
fn logout_removes_cached_provider_tokens_and_only_those() {
    let t1 = token("t1", 3600);
    let s = Setup::new(&t1);
    s.exec_ok_with(&[]);
    // A command since changed: its token stays cached under the old command's name.
    s.config_with(
        "azure",
        "",
        &format!(
            "command = \"az\"\nargs = {}\n",
            AZ_ARGS.replace("tsv", "json")
        ),
    );
    s.exec_ok_with(&[]);
    assert_eq!((s.runs(), s.cached_files().len()), (2, 2));
    // Files in the folder that `codex` did not write are not its to remove.
    let folder = s.env.home.join("provider-tokens");
    std::fs::write(folder.join("notes.json"), "mine").unwrap();
    std::fs::write(folder.join("0123456789abcdef.txt"), "mine").unwrap();

    let run = s.run(&["logout"]);
    run.assert(
        0,
        "",
        "Not logged in\nAlso removed 2 cached tokens of providers' auth commands.\n",
    );
    assert!(s.cached_files().iter().all(|f| f.ends_with("notes.json")));
    assert!(folder.join("0123456789abcdef.txt").exists());
    // The next request runs the command again; a second logout has nothing more to remove.
    s.exec_ok_with(&[]);
    assert_eq!(s.runs(), 3);
    s.run(&["logout", "--account", "nobody"]);
    assert_eq!(s.cached_files().len(), 2, "--account NAME leaves them");
    s.run(&["logout"]).assert(
        0,
        "",
        "Not logged in\nAlso removed the cached token of a provider's auth command.\n",
    );
    s.run(&["logout"]).assert(0, "", "Not logged in\n");
}

#[test]
fn logout_removes_a_provider_token_cached_in_the_keyring() {
    let session = common::keyring::Session::with_keyring();
    let t1 = token("t1", 3600);
    let s = Setup::new(&t1);
    s.keyring_mode();
    let codex = |args: &[&str]| s.run_in(&session, args);
    answered(codex(&["exec", "say hello"]));
    let cached = || {
        session
            .secret_tool(&["search", "--all", "service", "Codex Auth"], None)
            .stdout
            .contains("provider-tokens|")
    };
    assert!(cached());
    codex(&["logout"]).assert(
        0,
        "",
        "Not logged in\nAlso removed the cached token of a provider's auth command.\n",
    );
    assert!(!cached(), "the keyring entry is gone");
}

#[test]
fn doctor_runs_the_command_once_and_checks_its_token_never_showing_it() {
    let t1 = token("t1", 3600);
    let s = Setup::new(&t1);
    let mut t = s.transcript();
    let run = s.run(&["doctor"]);
    assert!(!run.stdout.contains(&t1) && !run.stderr.contains(&t1));
    assert!(!run.stdout.contains(ARG_CANARY) && !run.stderr.contains(ARG_CANARY));
    assert_eq!(s.runs(), 1);
    assert!(s.cached_files().is_empty(), "doctor writes nothing");
    s.script(
        "az-logged-out",
        "#!/bin/sh\necho 'ERROR: Please run az login to setup account.' >&2\nexit 1\n",
    );
    s.config_with("azure", "", "command = \"az-logged-out\"\n");
    let failed = s.run(&["doctor"]);
    let rows = |run: &Run| {
        run.stdout
            .lines()
            .chain(run.stderr.lines())
            // The key row; the network row's timings vary from run to run.
            .filter(|l| l.contains("model API:") && !l.contains("TCP connected"))
            .map(str::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    };
    t.note(&format!("# works\n{}", rows(&run)));
    // An unknown key is a row of its own, with the line it is on.
    s.config_with(
        "azure",
        "api_versoin = \"2025-04-01-preview\"\n",
        &format!("command = \"az\"\nargs = {AZ_ARGS}\n"),
    );
    let warned = s.run(&["doctor", "--offline"]);
    let unknown: Vec<&str> = warned
        .stdout
        .lines()
        .chain(warned.stderr.lines())
        .filter(|l| l.contains("unknown key") || l.contains("remove it"))
        .collect();
    t.note(&format!("# an unknown key\n{}", unknown.join("\n")));
    t.note(&format!("# az is signed out\n{}", rows(&failed)));
    insta::assert_snapshot!("auth_command_doctor", t.finish());
}
