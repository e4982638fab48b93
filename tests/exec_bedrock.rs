//! Issue 8, Amazon Bedrock: requests signed by us (SigV4, service `bedrock-mantle`) are verified
//! by botocore in tests/peers/sigv4 (an independent implementation that knows the secret), with
//! credentials from a temporary AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE: static keys and
//! `credential_process`. Plus the bearer-token path, regions and the error texts.

mod common;

use std::path::PathBuf;

use common::{Env, Peer, Run, run_cmd, set_mode};

const AKID: &str = "AKIDCODEXTEST0001";
const SECRET: &str = "secret-canary-wJalrXUtnFEMI-K7MDENG";
const SESSION: &str = "session-canary-FwoGZXIvYXdzEJr";

struct Aws {
    env: Env,
    config: PathBuf,
    credentials: PathBuf,
}

impl Aws {
    /// A CODEX_HOME selecting Bedrock (`[model_providers.amazon-bedrock]` lines as given) and
    /// empty AWS files.
    fn new(provider_lines: &str) -> Aws {
        let env = Env::new();
        env.write_config(&format!(
            "model_provider = \"amazon-bedrock\"\nmodel = \"openai.gpt-oss-120b\"\n{provider_lines}"
        ));
        let config = env.dir.path().join("aws-config");
        let credentials = env.dir.path().join("aws-credentials");
        std::fs::write(&config, "").unwrap();
        std::fs::write(&credentials, "").unwrap();
        Aws {
            env,
            config,
            credentials,
        }
    }

    fn exec(&self, vars: &[(&str, &str)]) -> Run {
        let mut cmd = self.env.cmd(&["exec", "hello bedrock"]);
        cmd.env("AWS_CONFIG_FILE", &self.config)
            .env("AWS_SHARED_CREDENTIALS_FILE", &self.credentials)
            .env("AWS_EC2_METADATA_DISABLED", "true");
        for (k, v) in vars {
            cmd.env(k, v);
        }
        run_cmd(cmd, None)
    }
}

fn verifier(extra: &[&str]) -> Peer {
    let mut args = vec![
        "--access-key",
        AKID,
        "--secret-key",
        SECRET,
        "--region",
        "us-east-1",
    ];
    args.extend_from_slice(extra);
    Peer::sigv4(&args)
}

fn signed_to(peer: &Peer) -> String {
    format!(
        "[model_providers.amazon-bedrock]\nbase_url = \"{}/v1\"\n[model_providers.amazon-bedrock.aws]\nprofile = \"codex\"\n",
        peer.url
    )
}

#[test]
fn static_keys_from_the_profile_sign_a_request_botocore_accepts() {
    let peer = verifier(&[]);
    let aws = Aws::new(&signed_to(&peer));
    std::fs::write(&aws.config, "[profile codex]\nregion = us-east-1\n").unwrap();
    std::fs::write(
        &aws.credentials,
        format!("[codex]\naws_access_key_id = {AKID}\naws_secret_access_key = {SECRET}\n"),
    )
    .unwrap();
    aws.exec(&[]).assert(0, "signature verified\n", "");
    let reqs = peer.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0]["verdict"], "verified", "{:?}", reqs[0]);
    assert_eq!(reqs[0]["path"], "/v1/responses");
    assert_eq!(
        reqs[0]["signed_headers"],
        serde_json::json!(["accept", "content-type", "host", "x-amz-date"])
    );
    assert_eq!(reqs[0]["has_security_token"], false);
}

#[test]
fn credential_process_session_credentials_are_signed_with_their_token() {
    let peer = verifier(&["--session-token", SESSION]);
    let aws = Aws::new(&signed_to(&peer));
    let script = aws.env.dir.path().join("creds.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nprintf '%s' '{{\"Version\":1,\"AccessKeyId\":\"{AKID}\",\"SecretAccessKey\":\"{SECRET}\",\"SessionToken\":\"{SESSION}\",\"Expiration\":\"2099-01-01T00:00:00Z\"}}'\n"
        ),
    )
    .unwrap();
    set_mode(&script, 0o700);
    std::fs::write(
        &aws.config,
        format!(
            "[profile codex]\nregion = us-east-1\ncredential_process = {}\n",
            script.display()
        ),
    )
    .unwrap();
    let run = aws.exec(&[("RUST_LOG", "trace")]);
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (0, "signature verified\n"),
        "{run:?}"
    );
    for canary in [SECRET, SESSION] {
        assert!(
            !run.stderr.contains(canary),
            "{canary} leaked:\n{}",
            run.stderr
        );
    }
    let reqs = peer.requests();
    assert_eq!(reqs[0]["verdict"], "verified", "{:?}", reqs[0]);
    assert_eq!(reqs[0]["has_security_token"], true);
    assert_eq!(
        reqs[0]["signed_headers"],
        serde_json::json!([
            "accept",
            "content-type",
            "host",
            "x-amz-date",
            "x-amz-security-token"
        ])
    );
}

#[test]
fn a_wrong_secret_is_caught_by_the_verifier() {
    let peer = verifier(&[]);
    let aws = Aws::new(&signed_to(&peer));
    std::fs::write(&aws.config, "[profile codex]\nregion = us-east-1\n").unwrap();
    std::fs::write(
        &aws.credentials,
        format!("[codex]\naws_access_key_id = {AKID}\naws_secret_access_key = not-the-secret\n"),
    )
    .unwrap();
    aws.exec(&[]).assert(
        1,
        "",
        "AWS refused the signed request (403 Forbidden): The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details; check that the AWS identity may call bedrock-mantle in this region\n",
    );
    assert_eq!(peer.requests()[0]["verdict"], "mismatch");
}

#[test]
fn the_region_from_config_toml_wins_over_the_profile() {
    let peer = verifier(&[]);
    let aws = Aws::new(&format!("{}region = \"us-east-1\"\n", signed_to(&peer)));
    std::fs::write(&aws.config, "[profile codex]\nregion = eu-west-1\n").unwrap();
    std::fs::write(
        &aws.credentials,
        format!("[codex]\naws_access_key_id = {AKID}\naws_secret_access_key = {SECRET}\n"),
    )
    .unwrap();
    aws.exec(&[]).assert(0, "signature verified\n", "");
}

#[test]
fn bearer_token_is_sent_as_bearer_without_signing() {
    let fake = Peer::responses(&["--accept-bearer", "bedrock-api-key-canary"]);
    let aws = Aws::new(&format!(
        "[model_providers.amazon-bedrock]\nbase_url = \"{}/v1\"\n[model_providers.amazon-bedrock.aws]\nregion = \"us-east-1\"\n",
        fake.url
    ));
    aws.exec(&[("AWS_BEARER_TOKEN_BEDROCK", "bedrock-api-key-canary")])
        .assert(0, "Hello from fake\n", "");
    let r = &fake.requests()[0];
    assert_eq!(r["path"], "/v1/responses");
    assert_eq!(
        r["headers"]["authorization"],
        "Bearer bedrock-api-key-canary"
    );
    assert!(r["headers"].get("x-amz-date").is_none());
    assert_eq!(r["parsed"]["model"], "openai.gpt-oss-120b");
}

#[test]
fn bearer_token_needs_a_region() {
    let aws = Aws::new("");
    aws.exec(&[("AWS_BEARER_TOKEN_BEDROCK", "ABSK-long-term-key")]).assert(
        1,
        "",
        "AWS_BEARER_TOKEN_BEDROCK is set, but no AWS region is known: set region in [model_providers.amazon-bedrock.aws] (for example region = \"us-east-1\"), or AWS_REGION\n",
    );
}

#[test]
fn an_unsupported_region_lists_the_supported_ones() {
    let aws = Aws::new("[model_providers.amazon-bedrock.aws]\nregion = \"us-west-1\"\n");
    aws.exec(&[("AWS_BEARER_TOKEN_BEDROCK", "ABSK-long-term-key")]).assert(
        1,
        "",
        "Amazon Bedrock's OpenAI-compatible endpoint (bedrock-mantle) is not available in region `us-west-1`; supported regions: us-east-2, us-east-1, us-west-2, ap-southeast-3, ap-south-1, ap-northeast-1, eu-central-1, eu-west-1, eu-west-2, eu-south-1, eu-north-1, sa-east-1. Set region in [model_providers.amazon-bedrock.aws], or base_url for a VPC endpoint\n",
    );
}

#[test]
fn missing_credentials_and_profiles_are_explained() {
    let aws = Aws::new("[model_providers.amazon-bedrock.aws]\nprofile = \"codex\"\n");
    std::fs::write(&aws.config, "[profile codex]\nregion = us-east-1\n").unwrap();
    aws.exec(&[]).assert(
        1,
        "",
        "cannot get AWS credentials from AWS profile `codex`: none were found (no access keys, credential_process, SSO or `aws login` session in the profile or the environment). Sign in with `aws login --profile codex` or `aws sso login --profile codex`, check the profile in ~/.aws/config, or set AWS_BEARER_TOKEN_BEDROCK\n",
    );
    let aws = Aws::new(
        "[model_providers.amazon-bedrock.aws]\nprofile = \"nosuch\"\nregion = \"us-east-1\"\n",
    );
    std::fs::write(&aws.config, "[profile codex]\nregion = us-east-1\n").unwrap();
    aws.exec(&[]).assert(
        1,
        "",
        "cannot get AWS credentials from AWS profile `nosuch`: the credentials provider was not properly configured: ProfileFile provider could not be built: profile `nosuch` was not defined: could not find source profile nosuch referenced from the root profile. Sign in with `aws login --profile nosuch` or `aws sso login --profile nosuch`, check the profile in ~/.aws/config, or set AWS_BEARER_TOKEN_BEDROCK\n",
    );
    let aws = Aws::new("[model_providers.amazon-bedrock.aws]\nprofile = \"codex\"\n");
    std::fs::write(&aws.config, "[profile codex]\n").unwrap();
    aws.exec(&[]).assert(
        1,
        "",
        "no AWS region is configured for AWS profile `codex`: set region in [model_providers.amazon-bedrock.aws] (for example region = \"us-east-1\"), in the AWS profile, or in AWS_REGION\n",
    );
}
