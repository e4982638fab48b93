//! Issue 8: `codex exec` against the fake Responses API: streaming, --json, retries, stream
//! failures, credential precedence, provider settings, Azure and local servers. Every text and
//! exit code is pinned; every request is checked as the fake received it.

mod common;

use std::process::{Command, Stdio};

use common::{
    Env, Peer, Run, expire_access_token, free_port, jwt, now_secs, run_cmd, run_within,
    sign_in_with_oidc,
};
use serde_json::{Value, json};

const KEY: &str = "sk-proj-canary-exec-0123456789";
const HELLO: &str = "Hello from fake\n";
const API_KEY_INVALID: &str = "API key invalid: key expired, deleted, or scoped to wrong project; regenerate it at platform.openai.com/api-keys and run codex login --api-key\n";

/// An Env whose built-in OpenAI provider points at the fake, plus extra config lines.
fn env_for(fake: &Peer, extra: &str) -> Env {
    let env = Env::new();
    env.write_config(&format!(
        "openai_base_url = \"{}/v1\"\nchatgpt_base_url = \"{}/backend-api/\"\n{extra}",
        fake.url, fake.url
    ));
    env
}

fn exec(env: &Env, args: &[&str], vars: &[(&str, &str)]) -> Run {
    let mut all = vec!["exec"];
    all.extend_from_slice(args);
    let mut cmd = env.cmd(&all);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    run_cmd(cmd, None)
}

fn with_key(env: &Env, args: &[&str]) -> Run {
    exec(env, args, &[("CODEX_API_KEY", KEY)])
}

fn header(req: &Value, name: &str) -> Option<String> {
    req["headers"][name].as_str().map(str::to_string)
}

#[test]
fn deltas_are_streamed_to_stdout() {
    let fake = Peer::responses(&[]);
    let env = env_for(&fake, "");
    with_key(&env, &["say hello"]).assert(0, HELLO, "");
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!(r["method"], "POST");
    assert_eq!(r["path"], "/v1/responses");
    assert_eq!(
        header(r, "authorization").as_deref(),
        Some(&*format!("Bearer {KEY}"))
    );
    assert_eq!(
        header(r, "content-type").as_deref(),
        Some("application/json")
    );
    assert_eq!(header(r, "accept").as_deref(), Some("text/event-stream"));
    assert_eq!(
        r["parsed"],
        json!({"model": "gpt-5.5", "stream": true, "input": [{"type": "message", "role": "user",
            "content": [{"type": "input_text", "text": "say hello"}]}]})
    );
}

#[test]
fn output_is_written_before_the_stream_ends() {
    // One delta, then silence: the delta is on stdout although the response never completes.
    let fake = Peer::responses_with_script(
        json!([{"path": "/responses", "action": "events", "events": [
            {"type": "response.output_text.delta", "item_id": "m", "output_index": 0,
             "content_index": 0, "delta": "partial answer"}], "then": "stall"}]),
        &[],
    );
    let env = env_for(
        &fake,
        "[model_providers.openai]\nstream_idle_timeout_ms = 400\n",
    );
    with_key(&env, &["x"]).assert(
        1,
        "partial answer\n",
        "OpenAI sent nothing for 400 ms (stream_idle_timeout_ms), after part of the answer was printed; the answer above is incomplete. Run the command again.\n",
    );
    assert_eq!(fake.requests().len(), 1, "no retry once output was printed");
}

#[test]
fn json_prints_one_object_per_event() {
    let fake = Peer::responses(&["--text", "one two"]);
    let env = env_for(&fake, "");
    let run = with_key(&env, &["--json", "x"]);
    assert_eq!((run.code, run.stderr.as_str()), (0, ""), "{run:?}");
    assert!(run.stdout.ends_with('\n'));
    let events: Vec<Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is one JSON object"))
        .collect();
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.completed"
        ]
    );
    assert_eq!(events[4]["delta"], "one");
    assert_eq!(events[5]["delta"], " two");
    assert_eq!(events[9]["response"]["usage"]["total_tokens"], 14);
}

#[test]
fn model_comes_from_the_flag_then_config_and_prompt_from_stdin() {
    let fake = Peer::responses(&[]);
    let env = env_for(&fake, "model = \"o-config\"\n");
    with_key(&env, &["x"]).assert(0, HELLO, "");
    with_key(&env, &["-m", "o-flag", "x"]).assert(0, HELLO, "");
    let mut cmd = env.cmd(&["exec", "-"]);
    cmd.env("CODEX_API_KEY", KEY);
    run_cmd(cmd, Some(b"from stdin\n")).assert(0, HELLO, "");
    let reqs = fake.requests();
    assert_eq!(reqs[0]["parsed"]["model"], "o-config");
    assert_eq!(reqs[1]["parsed"]["model"], "o-flag");
    assert_eq!(
        reqs[2]["parsed"]["input"][0]["content"][0]["text"],
        "from stdin\n"
    );
    let mut cmd = env.cmd(&["exec", "-"]);
    cmd.env("CODEX_API_KEY", KEY);
    run_cmd(cmd, Some(b"  \n")).assert(1, "", "the prompt is empty\n");
}

#[test]
fn a_stored_api_key_that_answers_401_gets_the_guides_message() {
    let fake = Peer::responses(&["--accept-bearer", "sk-the-right-one"]);
    let env = env_for(&fake, "");
    env.run_stdin(&["login", "--api-key", "-"], KEY.as_bytes());
    exec(&env, &["x"], &[]).assert(1, "", API_KEY_INVALID);
    assert_eq!(fake.requests().len(), 1, "a 401 is not retried");
    assert_eq!(
        header(&fake.requests()[0], "authorization").as_deref(),
        Some(&*format!("Bearer {KEY}"))
    );
}

#[test]
fn codex_api_key_that_answers_401_names_the_variable() {
    let fake = Peer::responses(&["--accept-bearer", "sk-the-right-one"]);
    let env = env_for(&fake, "");
    with_key(&env, &["x"]).assert(
        1,
        "",
        "API key invalid: the key in CODEX_API_KEY expired, was deleted, or is scoped to the wrong project; regenerate it at platform.openai.com/api-keys and update CODEX_API_KEY\n",
    );
}

#[test]
fn codex_api_key_wins_over_the_stored_key() {
    let fake = Peer::responses(&["--accept-bearer", KEY]);
    let env = env_for(&fake, "");
    env.run_stdin(&["login", "--api-key", "-"], b"sk-stored-key-000000000");
    with_key(&env, &["x"]).assert(0, HELLO, "");
    // Without CODEX_API_KEY the stored key is used (and refused here).
    exec(&env, &["x"], &[]).assert(1, "", API_KEY_INVALID);
    let reqs = fake.requests();
    assert_eq!(
        header(&reqs[0], "authorization").as_deref(),
        Some(&*format!("Bearer {KEY}"))
    );
    assert_eq!(
        header(&reqs[1], "authorization").as_deref(),
        Some("Bearer sk-stored-key-000000000")
    );
}

#[test]
fn openai_api_key_in_the_environment_is_not_a_credential() {
    let fake = Peer::responses(&[]);
    let env = env_for(&fake, "");
    exec(&env, &["x"], &[("OPENAI_API_KEY", KEY)]).assert(
        1,
        "",
        "not signed in: run `codex login` (or `printenv OPENAI_API_KEY | codex login --api-key -`), or set CODEX_API_KEY for this run. OPENAI_API_KEY is set but is not read by `codex exec`: store it with `printenv OPENAI_API_KEY | codex login --api-key -`, or pass it as CODEX_API_KEY\n",
    );
    exec(&env, &["x"], &[]).assert(
        1,
        "",
        "not signed in: run `codex login` (or `printenv OPENAI_API_KEY | codex login --api-key -`), or set CODEX_API_KEY for this run\n",
    );
    assert!(fake.requests().is_empty());
}

#[test]
fn rate_limits_honour_retry_after() {
    let fake = Peer::responses(&["--scenario", "429:1", "--retry-after", "1"]);
    let env = env_for(&fake, "");
    with_key(&env, &["x"]).assert(
        0,
        HELLO,
        "note: OpenAI answered 429 Too Many Requests; retrying in 1 s as it asks (1/4)\n",
    );
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 2);
    let waited = reqs[1]["t"].as_i64().unwrap() - reqs[0]["t"].as_i64().unwrap();
    assert!(waited >= 1000, "the retry came {waited} ms after the 429");
}

#[test]
fn a_retry_after_beyond_a_minute_fails_at_once() {
    let fake = Peer::responses(&["--scenario", "429", "--retry-after", "3600"]);
    let env = env_for(&fake, "");
    with_key(&env, &["x"]).assert(
        1,
        "",
        "OpenAI answered 429 Too Many Requests: Rate limit reached for gpt-5 in organization org-fake on tokens per min (TPM): Limit 30000, Used 30000, Requested 100. Please try again in 1s; it asks to wait 3600 s before retrying, so try again later\n",
    );
    assert_eq!(fake.requests().len(), 1);
}

#[test]
fn server_errors_are_retried_with_backoff_then_succeed() {
    let fake = Peer::responses(&["--scenario", "500:1,502:1"]);
    let env = env_for(&fake, "");
    with_key(&env, &["x"]).assert(
        0,
        HELLO,
        "note: OpenAI answered 500 Internal Server Error; retrying (1/4)\nnote: OpenAI answered 502 Bad Gateway; retrying (2/4)\n",
    );
    assert_eq!(fake.requests().len(), 3);
}

#[test]
fn server_errors_give_up_after_request_max_retries() {
    let fake = Peer::responses(&["--scenario", "503"]);
    let env = env_for(&fake, "[model_providers.openai]\nrequest_max_retries = 1\n");
    with_key(&env, &["x"]).assert(
        1,
        "",
        "note: OpenAI answered 503 Service Unavailable; retrying (1/1)\nOpenAI answered 503 Service Unavailable: The server is overloaded or not ready yet (after 1 retry)\n",
    );
    assert_eq!(fake.requests().len(), 2);
}

#[test]
fn response_failed_and_error_events_end_with_the_providers_message() {
    let fake = Peer::responses(&["--scenario", "failed:1,error:1"]);
    let env = env_for(&fake, "");
    with_key(&env, &["x"]).assert(
        1,
        "",
        "OpenAI reported that the response failed: The model failed to generate a response. (code `server_error`)\n",
    );
    with_key(&env, &["x"]).assert(
        1,
        "",
        "OpenAI sent an error: An error occurred while processing your request. (code `server_error`)\n",
    );
    assert_eq!(
        fake.requests().len(),
        2,
        "failures reported by the model are not retried"
    );
}

#[test]
fn a_disconnect_before_any_output_is_retried() {
    let fake = Peer::responses_with_script(
        json!([{"path": "/responses", "action": "events", "events": [], "then": "close"}]),
        &[],
    );
    let env = env_for(&fake, "");
    with_key(&env, &["x"]).assert(
        0,
        HELLO,
        "note: the stream from OpenAI broke off (unexpected EOF during chunk size line); retrying (1/5)\n",
    );
    assert_eq!(fake.requests().len(), 2);
}

#[test]
fn a_disconnect_after_output_is_a_clear_error() {
    let fake = Peer::responses(&["--scenario", "disconnect:1"]);
    let env = env_for(&fake, "");
    let run = with_key(&env, &["x"]);
    assert_eq!((run.code, run.stdout.as_str()), (1, "Hello\n"), "{run:?}");
    assert_eq!(
        run.stderr,
        "the stream from OpenAI broke off (unexpected EOF during chunk size line), after part of the answer was printed; the answer above is incomplete. Run the command again.\n"
    );
    assert_eq!(fake.requests().len(), 1);
}

#[test]
fn an_idle_stream_is_retried_then_given_up() {
    let fake = Peer::responses(&["--scenario", "stall:1"]);
    let env = env_for(
        &fake,
        "[model_providers.openai]\nstream_idle_timeout_ms = 300\n",
    );
    with_key(&env, &["x"]).assert(
        0,
        HELLO,
        "note: OpenAI sent nothing for 300 ms (stream_idle_timeout_ms); retrying (1/5)\n",
    );
    let fake = Peer::responses(&["--scenario", "stall"]);
    let env = env_for(
        &fake,
        "[model_providers.openai]\nstream_idle_timeout_ms = 300\nstream_max_retries = 1\n",
    );
    with_key(&env, &["x"]).assert(
        1,
        "",
        "note: OpenAI sent nothing for 300 ms (stream_idle_timeout_ms); retrying (1/1)\nOpenAI sent nothing for 300 ms (stream_idle_timeout_ms); gave up after 1 retry (stream_max_retries). Run the command again, or raise stream_idle_timeout_ms / stream_max_retries in [model_providers.openai].\n",
    );
    assert_eq!(fake.requests().len(), 2);
}

#[test]
fn a_server_that_never_answers_is_bounded_by_the_idle_timeout() {
    let fake = Peer::responses(&["--scenario", "hang"]);
    let env = env_for(
        &fake,
        "[model_providers.openai]\nstream_idle_timeout_ms = 300\nrequest_max_retries = 1\n",
    );
    with_key(&env, &["x"]).assert(
        1,
        "",
        &format!(
            "note: no response from OpenAI within 300 ms (stream_idle_timeout_ms); retrying (1/1)\nno response from OpenAI at {}/v1 within 300 ms (after 1 retry); check the network, or raise stream_idle_timeout_ms in [model_providers.openai]\n",
            fake.url
        ),
    );
}

#[test]
fn a_malformed_event_stops_the_stream() {
    let fake = Peer::responses(&["--scenario", "malformed"]);
    let env = env_for(&fake, "");
    with_key(&env, &["x"]).assert(
        1,
        "",
        "OpenAI sent an event that is not valid JSON (`{\"type\": \"response.outp`); the stream cannot be read\n",
    );
}

#[test]
fn chatgpt_sign_in_goes_to_the_chatgpt_backend_with_the_account_id() {
    let fake = Peer::responses(&["--accept-bearer", "access-token-canary"]);
    let env = env_for(&fake, "");
    // account_id null: it comes from the id_token's auth claim.
    let claims =
        base64url(r#"{"https://api.openai.com/auth":{"chatgpt_account_id":"acct_from_claim"}}"#);
    env.write_auth(&format!(
        r#"{{"auth_mode":"chatgpt","OPENAI_API_KEY":null,"tokens":{{"id_token":"h.{claims}.s","access_token":"access-token-canary","refresh_token":"rt","account_id":null}},"last_refresh":"{}"}}"#,
        chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    ));
    exec(&env, &["x"], &[]).assert(0, HELLO, "");
    let r = &fake.requests()[0];
    assert_eq!(r["path"], "/backend-api/codex/responses");
    assert_eq!(
        header(r, "authorization").as_deref(),
        Some("Bearer access-token-canary")
    );
    assert_eq!(
        header(r, "chatgpt-account-id").as_deref(),
        Some("acct_from_claim")
    );
    assert_eq!(header(r, "originator").as_deref(), Some("codex_cli_rs"));
    assert_eq!(r["parsed"]["store"], false);
}

fn refresh_grants(issuer: &common::Peer) -> usize {
    issuer
        .requests()
        .iter()
        .filter(|r| {
            r["grant_type"] == "refresh_token" || r["parsed"]["grant_type"] == "refresh_token"
        })
        .count()
}

fn stored_access_token(env: &Env) -> String {
    let doc: Value = serde_json::from_str(&env.read_auth()).unwrap();
    doc["tokens"]["access_token"].as_str().unwrap().to_string()
}

#[test]
fn chatgpt_401_refreshes_once_at_the_issuer_and_retries() {
    let fake = Peer::responses(&["--scenario", "401:1"]);
    let env = env_for(&fake, "");
    let oidc = common::Peer::oidc(env.dir.path(), &[("ROTATE_REFRESH", "1")]);
    sign_in_with_oidc(&env, &oidc);
    let before = stored_access_token(&env);
    exec(&env, &["x"], &[]).assert(0, HELLO, "");
    let after = stored_access_token(&env);
    assert_ne!(after, before, "the refreshed tokens are stored");
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(
        header(&reqs[0], "authorization"),
        Some(format!("Bearer {before}"))
    );
    assert_eq!(
        header(&reqs[1], "authorization"),
        Some(format!("Bearer {after}"))
    );
    assert_eq!(refresh_grants(&oidc), 1);
}

#[test]
fn chatgpt_401_after_the_refresh_says_to_sign_in_again() {
    let fake = Peer::responses_with_script(
        json!([{"path": "/responses", "status": 401, "repeat": -1, "json": {"error": {
            "message": "Your authentication token is not valid.", "code": "invalid_token"}}}]),
        &[],
    );
    let env = env_for(&fake, "");
    let oidc = common::Peer::oidc(env.dir.path(), &[]);
    sign_in_with_oidc(&env, &oidc);
    exec(&env, &["x"], &[]).assert(
        1,
        "",
        "the ChatGPT sign-in was rejected (401 Unauthorized) even after a refresh (Your authentication token is not valid). Run `codex login` to sign in again.\n",
    );
    assert_eq!(
        fake.requests().len(),
        2,
        "one retry, not the reference's twelve"
    );
    assert_eq!(refresh_grants(&oidc), 1);
}

#[test]
fn chatgpt_token_about_to_expire_is_refreshed_before_the_request() {
    let fake = Peer::responses(&[]);
    let env = env_for(&fake, "");
    let oidc = common::Peer::oidc(env.dir.path(), &[]);
    sign_in_with_oidc(&env, &oidc);
    let expired = expire_access_token(&env);
    exec(&env, &["x"], &[]).assert(0, HELLO, "");
    let fresh = stored_access_token(&env);
    assert_ne!(fresh, expired);
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(
        header(&reqs[0], "authorization"),
        Some(format!("Bearer {fresh}"))
    );
    assert_eq!(refresh_grants(&oidc), 1);
}

#[test]
fn chatgpt_refresh_that_can_never_work_stops_with_its_reason() {
    let fake = Peer::responses(&["--scenario", "401"]);
    let env = env_for(&fake, "");
    let issuer = common::Peer::fake_issuer(
        env.dir.path(),
        &[
            "--seed-refresh-token",
            "rt-seeded",
            "--scenario",
            "refresh-invalidated",
        ],
    );
    let access = jwt(json!({"exp": now_secs() + 3600, "sub": "alice"}));
    env.write_auth(&format!(
        r#"{{"auth_mode":"chatgpt","OPENAI_API_KEY":null,"tokens":{{"id_token":"x","access_token":"{access}","refresh_token":"rt-seeded","oauth_provenance":{{"issuer":"{}","client_id":"app_EMoamEEZ73f0CkXaXp7hrann","protocol":"openai"}},"account_id":"acct_1"}}}}"#,
        issuer.url
    ));
    exec(&env, &["x"], &[]).assert(
        1,
        "",
        "your ChatGPT sign-in can no longer be refreshed (refresh_token_invalidated): it expired or was revoked. Run `codex logout` and then `codex login`\n",
    );
    assert_eq!(fake.requests().len(), 1);
    assert_eq!(refresh_grants(&issuer), 1);
}

fn base64url(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

fn custom(fake: &Peer, body: &str) -> Env {
    let env = Env::new();
    env.write_config(&format!(
        "model_provider = \"gateway\"\nmodel = \"m1\"\n[model_providers.gateway]\nname = \"Gateway\"\nbase_url = \"{}/api/v1\"\n{body}",
        fake.url
    ));
    env
}

#[test]
fn env_key_provides_the_key_and_its_absence_is_explained() {
    let fake = Peer::responses(&["--accept-bearer", "gw-key-1234"]);
    let env = custom(
        &fake,
        "env_key = \"GATEWAY_KEY\"\nenv_key_instructions = \"Create a key at https://gateway.example/keys.\"\n",
    );
    exec(&env, &["x"], &[("GATEWAY_KEY", "gw-key-1234")]).assert(0, HELLO, "");
    exec(&env, &["x"], &[("CODEX_API_KEY", KEY)]).assert(
        1,
        "",
        "the environment variable `GATEWAY_KEY` is not set or is empty; [model_providers.gateway] reads its API key from it (env_key). Create a key at https://gateway.example/keys.\n",
    );
    exec(&env, &["x"], &[("GATEWAY_KEY", "wrong-key")]).assert(
        1,
        "",
        &format!(
            "Gateway refused the key in GATEWAY_KEY (401 Unauthorized) (Incorrect API key provided: wro**-key. You can find your API key at https://platform.openai.com/account/api-keys); check that GATEWAY_KEY holds a valid key for {}/api/v1\n",
            fake.url
        ),
    );
    let reqs = fake.requests();
    assert_eq!(reqs[0]["path"], "/api/v1/responses");
    assert_eq!(
        header(&reqs[0], "authorization").as_deref(),
        Some("Bearer gw-key-1234")
    );
    assert_eq!(
        reqs.len(),
        2,
        "the OpenAI key is never sent to another provider"
    );
}

#[test]
fn query_params_are_url_encoded() {
    let fake = Peer::responses(&["--scenario", "ok"]);
    let env = custom(
        &fake,
        "query_params = { api-version = \"2025-04-01-preview\", \"x y\" = \"a&b=c/d é+\" }\n",
    );
    exec(&env, &["x"], &[]).assert(0, HELLO, "");
    let r = &fake.requests()[0];
    assert_eq!(
        r["query"],
        json!({"api-version": "2025-04-01-preview", "x y": "a&b=c/d é+"})
    );
}

#[test]
fn http_headers_and_env_http_headers_are_sent() {
    let fake = Peer::responses(&["--scenario", "ok"]);
    let env = custom(
        &fake,
        "http_headers = { \"X-Team\" = \"core\" }\nenv_http_headers = { \"X-Tenant\" = \"TENANT_ID\", \"X-Missing\" = \"UNSET_VAR\" }\n",
    );
    exec(&env, &["x"], &[("TENANT_ID", "t-42")]).assert(0, HELLO, "");
    let r = &fake.requests()[0];
    assert_eq!(header(r, "x-team").as_deref(), Some("core"));
    assert_eq!(header(r, "x-tenant").as_deref(), Some("t-42"));
    assert_eq!(header(r, "x-missing"), None);
    assert_eq!(
        header(r, "authorization"),
        None,
        "no env_key, no OpenAI auth: no key"
    );
}

#[test]
fn provider_settings_with_wrong_types_name_line_and_column() {
    let env = Env::new();
    env.write_config(
        "[model_providers.gateway]\nbase_url = \"http://x\"\nrequest_max_retries = \"four\"\n",
    );
    let path = env.home.join("config.toml");
    exec(&env, &["x"], &[]).assert(
        1,
        "",
        &format!(
            "Error loading configuration: {}:3:23: invalid type: a string, expected u64\n",
            path.display()
        ),
    );
    env.write_config("oss_provider = \"vllm\"\n");
    exec(&env, &["x"], &[]).assert(
        1,
        "",
        &format!(
            "Error loading configuration: {}:1:16: unknown value \"vllm\"; expected one of \"ollama\", \"lmstudio\"\n",
            path.display()
        ),
    );
}

#[test]
fn unknown_provider_and_missing_model_are_explained() {
    let env = Env::new();
    env.write_config("model_provider = \"nowhere\"\n");
    exec(&env, &["x"], &[]).assert(
        1,
        "",
        "model_provider = \"nowhere\" is neither a built-in provider (openai, ollama, lmstudio, amazon-bedrock) nor defined in config.toml; add a [model_providers.nowhere] table with a base_url\n",
    );
    env.write_config(
        "model_provider = \"gw\"\n[model_providers.gw]\nbase_url = \"http://127.0.0.1:9/v1\"\n",
    );
    exec(&env, &["x"], &[]).assert(
        1,
        "",
        "no model is configured for provider `gw`: pass -m MODEL, or set model = \"...\" in config.toml\n",
    );
}

// ---------------------------------------------------------------------------------- Azure

fn azure(fake: &Peer) -> Env {
    // The guide's config, as written, with the fake's address.
    let env = Env::new();
    env.write_config(&format!(
        r#"[model_providers.azure]
name = "Azure"
base_url = "{}/openai"
env_key = "AZURE_OPENAI_API_KEY"
query_params = {{ api-version = "2025-04-01-preview" }}
wire_api = "responses"
request_max_retries = 4
stream_max_retries = 10
stream_idle_timeout_ms = 300000

model_provider = "azure"
model = "gpt-5.5"
"#,
        fake.url
    ));
    env
}

#[test]
fn azure_sends_the_key_in_the_api_key_header() {
    let fake = Peer::responses(&["--azure", "--accept-api-key", "azure-key-canary"]);
    let env = azure(&fake);
    exec(
        &env,
        &["x"],
        &[("AZURE_OPENAI_API_KEY", "azure-key-canary")],
    )
    .assert(0, HELLO, "");
    let r = &fake.requests()[0];
    assert_eq!(r["path"], "/openai/responses");
    assert_eq!(r["query"], json!({"api-version": "2025-04-01-preview"}));
    assert_eq!(header(r, "api-key").as_deref(), Some("azure-key-canary"));
    assert_eq!(header(r, "authorization"), None);
}

#[test]
fn azure_401_names_the_variable() {
    let fake = Peer::responses(&["--azure", "--accept-api-key", "azure-key-canary"]);
    let env = azure(&fake);
    exec(&env, &["x"], &[("AZURE_OPENAI_API_KEY", "not-the-azure-key")]).assert(
        1,
        "",
        "Azure OpenAI refused the key (401 Unauthorized) (Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource). Check AZURE_OPENAI_API_KEY: it must hold a key of this Azure resource, and AZURE_OPENAI_API_KEY must be the env_key of [model_providers.azure] in config.toml.\n",
    );
    exec(&env, &["x"], &[]).assert(
        1,
        "",
        "the environment variable `AZURE_OPENAI_API_KEY` is not set or is empty; [model_providers.azure] reads its API key from it (env_key). Set it to your API key: export AZURE_OPENAI_API_KEY=...\n",
    );
}

// ---------------------------------------------------------------------------------- OSS

#[test]
fn oss_uses_ollama_on_codex_oss_port_without_credentials() {
    // `ok` answers without asking for a key, like a local server.
    let fake = Peer::responses(&["--scenario", "ok"]);
    let env = Env::new();
    let port = fake.port().to_string();
    exec(
        &env,
        &["--oss", "x"],
        &[("CODEX_OSS_PORT", &port), ("CODEX_API_KEY", KEY)],
    )
    .assert(0, HELLO, "");
    let r = &fake.requests()[0];
    assert_eq!(r["path"], "/v1/responses");
    assert_eq!(r["parsed"]["model"], "gpt-oss:20b");
    assert_eq!(
        header(r, "authorization"),
        None,
        "no key goes to a local server"
    );
}

#[test]
fn oss_provider_lmstudio_and_codex_oss_base_url() {
    let fake = Peer::responses(&["--scenario", "ok"]);
    let env = Env::new();
    env.write_config("oss_provider = \"lmstudio\"\n");
    let base = format!("{}/lm/v1", fake.url);
    exec(&env, &["--oss", "x"], &[("CODEX_OSS_BASE_URL", &base)]).assert(0, HELLO, "");
    let r = &fake.requests()[0];
    assert_eq!(r["path"], "/lm/v1/responses");
    assert_eq!(r["parsed"]["model"], "openai/gpt-oss-20b");
}

#[test]
fn oss_with_nothing_listening_says_which_server_to_start() {
    let env = Env::new();
    let port = free_port().to_string();
    exec(&env, &["--oss", "x"], &[("CODEX_OSS_PORT", &port)]).assert(
        1,
        "",
        &format!(
            "nothing is listening at http://localhost:{port}/v1: start Ollama with `ollama serve` (and fetch the model with `ollama pull gpt-oss:20b`), or point CODEX_OSS_BASE_URL / CODEX_OSS_PORT at the server you run; for LM Studio set oss_provider = \"lmstudio\"\n"
        ),
    );
    env.write_config("oss_provider = \"lmstudio\"\n");
    exec(&env, &["--oss", "x"], &[("CODEX_OSS_PORT", &port)]).assert(
        1,
        "",
        &format!(
            "nothing is listening at http://localhost:{port}/v1: start LM Studio's local server (`lms server start`, or Developer > Start Server in the app) and load the model `openai/gpt-oss-20b`, or point CODEX_OSS_BASE_URL / CODEX_OSS_PORT at the server you run\n"
        ),
    );
    exec(&env, &["--oss", "x"], &[("CODEX_OSS_PORT", "eleven")]).assert(
        1,
        "",
        "CODEX_OSS_PORT is `eleven`, which is not a port number (1-65535)\n",
    );
}

// ---------------------------------------------------------------------------------- secrets

#[test]
fn no_secret_reaches_stderr_at_trace_level() {
    let fake = Peer::responses(&["--scenario", "500:1"]);
    let env = custom(
        &fake,
        "env_key = \"GATEWAY_KEY\"\nhttp_headers = { \"X-Secret\" = \"hdr-canary-5150\" }\nenv_http_headers = { \"X-Env\" = \"ENV_HDR\" }\n",
    );
    let run = exec(
        &env,
        &["x"],
        &[
            ("RUST_LOG", "trace"),
            ("GATEWAY_KEY", "gw-canary-7777"),
            ("ENV_HDR", "envhdr-canary-4242"),
        ],
    );
    assert_eq!((run.code, run.stdout.as_str()), (0, HELLO), "{run:?}");
    assert!(
        run.stderr.contains("TRACE") || run.stderr.contains("DEBUG"),
        "logging is on"
    );
    for canary in ["gw-canary-7777", "hdr-canary-5150", "envhdr-canary-4242"] {
        assert!(
            !run.stderr.contains(canary),
            "{canary} leaked:\n{}",
            run.stderr
        );
    }
    let fake = Peer::responses(&["--accept-bearer", "nope"]);
    let env = env_for(&fake, "");
    let run = exec(
        &env,
        &["x"],
        &[("RUST_LOG", "trace"), ("CODEX_API_KEY", KEY)],
    );
    assert_eq!(run.code, 1);
    assert!(!run.stderr.contains(KEY), "{}", run.stderr);
}

#[test]
fn a_proactive_refresh_then_a_401_does_not_refresh_twice() {
    let fake = Peer::responses_with_script(
        json!([{"path": "/responses", "status": 401, "repeat": -1, "json": {"error": {
            "message": "Your authentication token is not valid.", "code": "invalid_token"}}}]),
        &[],
    );
    let env = env_for(&fake, "");
    let oidc = common::Peer::oidc(env.dir.path(), &[]);
    sign_in_with_oidc(&env, &oidc);
    expire_access_token(&env);
    let run = exec(&env, &["x"], &[]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("even after a refresh"), "{run:?}");
    assert_eq!(refresh_grants(&oidc), 1, "at most one refresh per command");
    assert_eq!(fake.requests().len(), 2, "one retry");
}

// ------------------------------------------------------------------ README's claims, end to end

/// README: the stored sign-in and `CODEX_API_KEY` go only to providers that use OpenAI sign-in;
/// `requires_openai_auth = true` makes a custom provider one of them.
#[test]
fn requires_openai_auth_decides_whether_a_custom_provider_gets_the_sign_in() {
    let stored = "sk-proj-stored-canary-0000054321";
    let fake = Peer::responses(&[]);
    let with = custom(&fake, "requires_openai_auth = true\n");
    let without = custom(&fake, "");
    for env in [&with, &without] {
        let run = env.run_stdin(&["login", "--api-key", "-"], stored.as_bytes());
        assert_eq!(run.code, 0, "{run:?}");
    }

    exec(&with, &["x"], &[]).assert(0, HELLO, "");
    exec(&with, &["x"], &[("CODEX_API_KEY", KEY)]).assert(0, HELLO, "");
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0]["path"], "/api/v1/responses");
    assert_eq!(
        header(&reqs[0], "authorization").as_deref(),
        Some(&*format!("Bearer {stored}")),
        "the stored sign-in reaches a provider that requires OpenAI auth"
    );
    assert_eq!(
        header(&reqs[1], "authorization").as_deref(),
        Some(&*format!("Bearer {KEY}")),
        "CODEX_API_KEY comes first"
    );

    // Without the flag (and without an env_key) the request goes out with no credential at
    // all: neither the stored key nor CODEX_API_KEY appears anywhere in it, and the provider's
    // 401 is answered with what to set.
    let asks = format!(
        "Gateway at {}/api/v1 asks for a key (401 Unauthorized) (You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're accessing the API from your browser and are prompted for a username. You can obtain an API key ...); set env_key in [model_providers.gateway] to the variable that holds it\n",
        fake.url
    );
    exec(&without, &["x"], &[]).assert(1, "", &asks);
    exec(&without, &["x"], &[("CODEX_API_KEY", KEY)]).assert(1, "", &asks);
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 4);
    for r in &reqs[2..] {
        assert_eq!(r["path"], "/api/v1/responses");
        assert_eq!(header(r, "authorization"), None, "{r}");
        let seen = r.to_string();
        assert!(!seen.contains(stored) && !seen.contains(KEY), "{seen}");
    }
}

/// README: exit code 0 "also when stdout is closed early, e.g. `codex exec ... | head`": the
/// pipe closes while the answer is still streaming (a delta every 100 ms), and neither SIGPIPE
/// nor EPIPE turns that into a failure or a message.
#[test]
fn exec_piped_into_head_exits_0() {
    let text = "one two three four five six seven eight nine ten eleven twelve";
    let fake = Peer::responses(&["--text", text, "--delta-delay-ms", "100"]);
    let env = env_for(&fake, "");
    let errors = env.dir.path().join("codex-stderr");
    let mut cmd = Command::new("bash");
    cmd.args([
        "-c",
        "set -o pipefail; \"$0\" exec hello 2>\"$1\" | head -c 3",
        common::BIN,
        errors.to_str().unwrap(),
    ]);
    for (key, value) in env.cmd(&[]).get_envs() {
        match value {
            Some(value) => cmd.env(key, value),
            None => cmd.env_remove(key),
        };
    }
    cmd.env("CODEX_API_KEY", KEY);
    let run = run_within(cmd, None, Stdio::piped(), 60);
    let stderr = std::fs::read_to_string(&errors).unwrap();
    assert_eq!(
        (run.code, run.stdout.as_str(), stderr.as_str()),
        (0, "one", ""),
        "codex exec's exit status through `set -o pipefail`, head's output, codex's stderr"
    );
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 1, "a closed stdout is not a reason to retry");
}

/// README: "a 429 `insufficient_quota` is not retried", with retries enabled: a retry would get
/// the stream that follows in the script and succeed.
#[test]
fn a_429_insufficient_quota_is_not_retried() {
    let fake = Peer::responses_with_script(
        json!([
            {"path": "/responses", "status": 429, "headers": {"Retry-After": "1"},
             "json": {"error": {"message": "You exceeded your current quota, please check your plan and billing details.",
                                "type": "insufficient_quota", "param": null, "code": "insufficient_quota"}}},
            {"path": "/responses", "action": "stream", "repeat": -1}
        ]),
        &[],
    );
    let env = env_for(&fake, "[model_providers.openai]\nrequest_max_retries = 4\n");
    with_key(&env, &["x"]).assert(
        1,
        "",
        "OpenAI answered 429 Too Many Requests: You exceeded your current quota, please check your plan and billing details\n",
    );
    assert_eq!(fake.requests().len(), 1, "the 429 was retried");
    // The same script position answered by a plain 429 is retried: retries are on.
    let fake = Peer::responses_with_script(
        json!([
            {"path": "/responses", "status": 429, "headers": {"Retry-After": "1"},
             "json": {"error": {"message": "Rate limit reached.", "type": "requests", "param": null, "code": "rate_limit_exceeded"}}},
            {"path": "/responses", "action": "stream", "repeat": -1}
        ]),
        &[],
    );
    let env = env_for(&fake, "[model_providers.openai]\nrequest_max_retries = 4\n");
    let run = with_key(&env, &["x"]);
    assert_eq!((run.code, run.stdout.as_str()), (0, HELLO), "{run:?}");
    assert_eq!(fake.requests().len(), 2);
}
