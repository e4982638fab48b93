//! Workload identity and access-token fixtures: the real OAuth server (tests/peers/oidc) that
//! signs the workloads' OIDC tokens and plays GitHub Actions' ID-token endpoint, the fake
//! ChatGPT issuer whose jwt-bearer grant verifies them against that server's keys (and whose
//! whoami knows the personal access tokens), and the fake Responses API behind the ChatGPT base
//! URL.

use std::path::PathBuf;
use std::process::Command;

use super::{Env, Peer, Run, run_cmd};

pub const RULE: &str = "fr_ci";
pub const ACTIONS_REQUEST_TOKEN: &str = "actions-request-token";
pub const PAT: &str = "at-canary-pat-0123456789abcdef";
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// One oidc-provider for every test of a file (a node process each would cost more than the
/// tests). Never dropped: it exits by itself when the test process does (EXIT_WITH_PARENT).
pub fn oidc() -> &'static Peer {
    static OIDC: std::sync::OnceLock<Peer> = std::sync::OnceLock::new();
    OIDC.get_or_init(|| {
        let dir: &'static tempfile::TempDir = Box::leak(Box::new(tempfile::tempdir().unwrap()));
        Peer::oidc(dir.path(), &[])
    })
}

/// A test's peers and its CODEX_HOME wired to them.
pub struct Wif {
    pub env: Env,
    pub issuer: Peer,
    pub api: Peer,
    /// Where the workload's OIDC token lives (written by `write_token`).
    pub token_file: PathBuf,
}

impl Wif {
    /// The fake issuer with `issuer_args` after the trust and rule flags, and the fake API with
    /// `api_script` (a JSON list, or null for none) accepting any unexpired JWT or the PAT.
    pub fn start(issuer_args: &[&str], api_script: serde_json::Value) -> Wif {
        let env = Env::new();
        let oidc = oidc();
        let mut args = vec![
            "--wif-issuer",
            oidc.url.as_str(),
            "--federation-rule",
            RULE,
            "--pat",
            PAT,
            "--hang-seconds",
            "5",
        ];
        args.extend_from_slice(issuer_args);
        let issuer = Peer::fake_issuer(env.dir.path(), &args);
        let api_args = [
            "--accept-jwt",
            "--accept-bearer",
            PAT,
            "--text",
            "Hello from fake",
        ];
        let api = if api_script.is_null() {
            Peer::responses(&api_args)
        } else {
            Peer::responses_with_script(api_script, &api_args)
        };
        env.write_config(&format!(
            "chatgpt_base_url = \"{}/backend-api/\"\nopenai_base_url = \"{}/v1\"\n",
            api.url, api.url
        ));
        let token_file = env.dir.path().join("identity-token");
        Wif {
            env,
            issuer,
            api,
            token_file,
        }
    }

    /// A `codex` command aimed at the fake issuer (and its whoami), with `vars`.
    pub fn cmd(&self, args: &[&str], vars: &[(&str, &str)]) -> Command {
        let mut cmd = self.env.cmd(args);
        cmd.env("CODEX_AUTH_ISSUER", &self.issuer.url)
            .env("CODEX_AUTH_PROTOCOL", "openai");
        for (k, v) in vars {
            cmd.env(k, v);
        }
        cmd
    }

    pub fn run(&self, args: &[&str], vars: &[(&str, &str)]) -> Run {
        run_cmd(self.cmd(args, vars), None)
    }

    pub fn run_stdin(&self, args: &[&str], vars: &[(&str, &str)], stdin: &[u8]) -> Run {
        run_cmd(self.cmd(args, vars), Some(stdin))
    }

    /// The two variables of a file-based workload identity.
    pub fn file_vars(&self) -> Vec<(&'static str, String)> {
        vec![
            ("OPENAI_FEDERATION_RULE_ID", RULE.to_string()),
            (
                "OPENAI_IDENTITY_TOKEN_FILE",
                self.token_file.display().to_string(),
            ),
        ]
    }

    /// Mints a fresh OIDC token for this issuer's audience and writes it to the token file.
    pub fn write_token(&self) -> String {
        let token = mint(&self.issuer.url);
        std::fs::write(&self.token_file, format!("{token}\n")).unwrap();
        token
    }

    /// The jwt-bearer requests the fake issuer received, as their parsed form bodies.
    pub fn exchanges(&self) -> Vec<serde_json::Value> {
        self.issuer
            .requests()
            .into_iter()
            .filter(|r| r["path"] == "/oauth/token" && r["parsed"]["grant_type"] == JWT_BEARER)
            .map(|r| r["parsed"].clone())
            .collect()
    }

    /// whoami requests the fake issuer received.
    pub fn whoamis(&self) -> usize {
        self.issuer
            .requests()
            .iter()
            .filter(|r| r["path"] == "/api/accounts/v1/user-auth-credential/whoami")
            .count()
    }

    /// The model requests the fake API received: (Authorization, ChatGPT-Account-ID,
    /// X-OpenAI-Fedramp) of each.
    pub fn api_requests(&self) -> Vec<(String, String, String)> {
        self.api
            .requests()
            .iter()
            .filter(|r| r["path"].as_str().unwrap_or("").ends_with("/responses"))
            .map(|r| {
                let h = |name: &str| r["headers"][name].as_str().unwrap_or("").to_string();
                (
                    h("authorization"),
                    h("chatgpt-account-id"),
                    h("x-openai-fedramp"),
                )
            })
            .collect()
    }
}

/// A workload OIDC token from the real OAuth server, for `audience`, through its GitHub
/// Actions ID-token endpoint.
pub fn mint(audience: &str) -> String {
    let url = format!(
        "{}/_actions/idtoken?api-version=2.0&audience={}",
        oidc().url,
        audience
    );
    let (status, body) = get_with_bearer(&url, ACTIONS_REQUEST_TOKEN);
    assert_eq!(status, 200, "minting a workload token: {body}");
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    answer["value"].as_str().unwrap().to_string()
}

/// A GET with a Bearer token: (status, body). Node answers with Content-Length (a chunked
/// answer would need decoding).
pub fn get_with_bearer(url: &str, token: &str) -> (u16, String) {
    let bearer = format!("Bearer {token}");
    let (status, _, body) = super::http_get_with(url, &[("Authorization", &bearer)]);
    (status, body)
}
