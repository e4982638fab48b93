//! `codex exec`: one authenticated, streamed request to the configured model provider
//! (`POST {base_url}/responses`). Text deltas go to stdout as they arrive, or every event as one
//! JSON line with `--json`; notes and errors go to stderr.

pub mod sse;

use std::io::{IsTerminal, Write};
use std::time::Duration;

use bytes::Bytes;
use serde_json::{Value, json};
use thiserror::Error;

use crate::config::Config;
use crate::http::{self, HttpError};
use crate::provider::{
    self, Credential, Endpoint, KeySource, Kind, OutgoingRequest, ProviderError,
};

/// A streamed answer may take long; silence is bounded by `stream_idle_timeout_ms` instead.
const STREAM_TOTAL_TIMEOUT: Duration = Duration::from_secs(24 * 3600);
/// The longest `Retry-After` honoured; a longer one fails at once and says how long.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
const BACKOFF_BASE: Duration = Duration::from_millis(200);
const BACKOFF_CAP: Duration = Duration::from_secs(10);
/// All the waiting one command's retries may do, together: without it `request_max_retries =
/// 100` would mean a quarter of an hour of backoff. A retry that would wait past it is not made.
const RETRY_WAIT_BUDGET: Duration = Duration::from_secs(60);
/// The most a prompt read from standard input may be (`< /dev/zero` must not fill the memory).
const PROMPT_CAP: crate::fsutil::Cap = crate::fsutil::Cap::new(16 << 20, "a prompt");
/// The most one event of the stream may hold; events are a few kilobytes.
const EVENT_CAP: usize = 16 << 20;

pub struct ExecOptions {
    pub json: bool,
    pub model: Option<String>,
    pub oss: bool,
    /// `None` or `-`: standard input.
    pub prompt: Option<String>,
}

#[derive(Debug, Error)]
pub enum ExecError {
    #[error(
        "no prompt given: pass it as an argument (codex exec \"summarize this repo\"), or `-` and pipe it in"
    )]
    NoPrompt,
    #[error("the prompt is empty")]
    EmptyPrompt,
    #[error("cannot read the prompt from standard input: {0}")]
    Stdin(std::io::Error),
    #[error("the prompt read from standard input is not valid UTF-8 text")]
    StdinNotUtf8,
    #[error("the prompt read from standard input is longer than {0}, the most a prompt may be")]
    StdinTooLong(crate::fsutil::Cap),
    #[error(
        "no model is configured for provider `{0}`: pass -m MODEL, or set model = \"...\" in config.toml"
    )]
    NoModel(String),
    #[error(transparent)]
    Provider(#[from] ProviderError),
    #[error(transparent)]
    Http(#[from] HttpError),
    /// The request or the stream failed; the text says how and what to do.
    #[error("{0}")]
    Failed(String),
    #[error("cannot write to standard output: {0}")]
    Stdout(std::io::Error),
}

pub fn run(config: &Config, options: ExecOptions) -> Result<(), ExecError> {
    let prompt = read_prompt(options.prompt.as_deref())?;
    http::runtime().block_on(run_async(
        config,
        options.json,
        options.model,
        options.oss,
        prompt,
    ))
}

fn read_prompt(arg: Option<&str>) -> Result<String, ExecError> {
    let text = match arg {
        Some(text) if text != "-" => text.to_string(),
        Some(_) | None => {
            let stdin = std::io::stdin();
            if arg.is_none() && stdin.is_terminal() {
                return Err(ExecError::NoPrompt);
            }
            let bytes = match crate::fsutil::read_capped(stdin.lock(), PROMPT_CAP) {
                Ok(bytes) => bytes,
                Err(crate::fsutil::ReadError::TooLarge(cap)) => {
                    return Err(ExecError::StdinTooLong(cap));
                }
                Err(crate::fsutil::ReadError::Io(e)) => return Err(ExecError::Stdin(e)),
                Err(other) => {
                    return Err(ExecError::Stdin(std::io::Error::other(other.to_string())));
                }
            };
            String::from_utf8(bytes).map_err(|_| ExecError::StdinNotUtf8)?
        }
    };
    if text.trim().is_empty() {
        return Err(ExecError::EmptyPrompt);
    }
    Ok(text)
}

async fn run_async(
    config: &Config,
    json_output: bool,
    model: Option<String>,
    oss: bool,
    prompt: String,
) -> Result<(), ExecError> {
    let provider = provider::select(config, oss)?;
    let http = http::Lazy::new(config);
    let mut endpoint = provider::endpoint(config, provider, &http).await?;
    let client = http.get()?;
    let model = model
        .filter(|m| !m.trim().is_empty())
        .or_else(|| config.models.model.clone())
        .or_else(|| endpoint.default_model.map(str::to_string))
        .ok_or_else(|| ExecError::NoModel(endpoint.provider.id.clone()))?;
    let url = endpoint.responses_url()?;
    let mut headers = endpoint.base_headers()?;
    if endpoint.provider.kind == Kind::OpenAi {
        headers.insert(
            "originator",
            reqwest::header::HeaderValue::from_static("codex_cli_rs"),
        );
    }
    let mut body = json!({
        "model": model,
        "input": [{
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": prompt}],
        }],
        "stream": true,
    });
    if matches!(endpoint.credential, Credential::ChatGpt { .. }) {
        // The ChatGPT backend keeps nothing: it refuses `store: true`.
        body["store"] = json!(false);
    }
    let request = OutgoingRequest {
        url,
        headers,
        body: Bytes::from(body.to_string()),
    };
    tracing::debug!(provider = %endpoint.provider.id, base_url = %endpoint.base_url, %model, "exec request");

    let mut out = Output::new(json_output);
    let mut stream_retries = 0;
    let mut refreshed = false;
    loop {
        let response = match send(client, &endpoint, &request).await {
            Ok(response) => response,
            Err(failure @ Failure::Status { .. })
                if failure.is_unauthorized()
                    && !refreshed
                    && matches!(endpoint.credential, Credential::ChatGpt { .. }) =>
            {
                tracing::debug!("401 with a ChatGPT sign-in: recovering once");
                refreshed = true;
                match provider::recover_chatgpt_after_unauthorized(
                    config,
                    client,
                    &endpoint.credential,
                )
                .await?
                {
                    Some(credential) => endpoint.credential = credential,
                    None => {
                        return Err(ExecError::Failed(failure.explain(&endpoint, &model, false)));
                    }
                }
                continue;
            }
            Err(failure) => {
                return Err(ExecError::Failed(
                    failure.explain(&endpoint, &model, refreshed),
                ));
            }
        };
        match read_stream(response, &mut out, &endpoint).await {
            Ok(()) => return Ok(()),
            Err(StreamEnd::Interrupted(why))
                if !out.wrote && stream_retries < endpoint.provider.stream_max_retries =>
            {
                stream_retries += 1;
                crate::say!(
                    "note: {why}; retrying ({stream_retries}/{})",
                    endpoint.provider.stream_max_retries
                );
            }
            Err(StreamEnd::Interrupted(why)) => {
                out.end_line();
                let text = if out.wrote {
                    format!(
                        "{why}, after part of the answer was printed; the answer above is incomplete. Run the command again."
                    )
                } else {
                    format!(
                        "{why}; gave up after {stream_retries} {} (stream_max_retries). Run the command again, or raise stream_idle_timeout_ms / stream_max_retries in [model_providers.{}].",
                        if stream_retries == 1 {
                            "retry"
                        } else {
                            "retries"
                        },
                        endpoint.provider.id
                    )
                };
                return Err(ExecError::Failed(text));
            }
            Err(StreamEnd::Failed(text)) => {
                out.end_line();
                return Err(ExecError::Failed(text));
            }
            // The reader went away (`codex exec ... | head`): stop quietly, as ripgrep does.
            Err(StreamEnd::Stdout(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                return Ok(());
            }
            Err(StreamEnd::Stdout(e)) => return Err(ExecError::Stdout(e)),
        }
    }
}

/// Why no usable response came back.
enum Failure {
    Status {
        status: reqwest::StatusCode,
        text: String,
        retries: u64,
        retry_after: Option<Duration>,
        /// Retrying stopped because the retries had waited `RETRY_WAIT_BUDGET`.
        out_of_budget: bool,
    },
    Transport {
        err: reqwest::Error,
        retries: u64,
        out_of_budget: bool,
    },
    /// No response headers within the idle timeout.
    Silent {
        retries: u64,
        out_of_budget: bool,
    },
    Provider(ProviderError),
}

/// Sends the request, retrying (`request_max_retries`) on 5xx, 429 (after `Retry-After`),
/// timeouts and transport errors, with exponential backoff.
async fn send(
    client: &reqwest::Client,
    endpoint: &Endpoint,
    request: &OutgoingRequest,
) -> Result<reqwest::Response, Failure> {
    let max = endpoint.provider.request_max_retries;
    let idle = endpoint.provider.stream_idle_timeout;
    let mut retries = 0;
    let mut waited = Duration::ZERO;
    loop {
        let mut attempt = request.clone();
        endpoint
            .credential
            .apply(&mut attempt)
            .map_err(Failure::Provider)?;
        let sent = client
            .post(attempt.url)
            .headers(attempt.headers)
            .body(attempt.body)
            .timeout(STREAM_TOTAL_TIMEOUT)
            .send();
        let (reason, wait) = match tokio::time::timeout(idle, sent).await {
            Ok(Ok(response)) if response.status().is_success() => return Ok(response),
            Ok(Ok(response)) => {
                let status = response.status();
                let retry_after = retry_after(response.headers());
                let text = match tokio::time::timeout(idle, http::read_body(response)).await {
                    Ok(Ok(bytes)) => String::from_utf8_lossy(&bytes).into_owned(),
                    Ok(Err(_)) | Err(_) => String::new(),
                };
                let transient = status.is_server_error()
                    || (status == reqwest::StatusCode::TOO_MANY_REQUESTS
                        && !text.contains("insufficient_quota"));
                let wait = match retry_after {
                    Some(asked) if status == reqwest::StatusCode::TOO_MANY_REQUESTS => asked,
                    Some(_) | None => backoff(retries),
                };
                let over_budget = waited + wait > RETRY_WAIT_BUDGET;
                if !transient || retries >= max || wait > MAX_RETRY_AFTER || over_budget {
                    return Err(Failure::Status {
                        status,
                        text,
                        retries,
                        retry_after,
                        out_of_budget: transient && retries < max && over_budget,
                    });
                }
                let reason = match retry_after {
                    Some(asked) if status == reqwest::StatusCode::TOO_MANY_REQUESTS => format!(
                        "{} answered {}; retrying in {} as it asks",
                        endpoint.provider.name,
                        status_text(status),
                        seconds(asked)
                    ),
                    Some(_) | None => format!(
                        "{} answered {}; retrying",
                        endpoint.provider.name,
                        status_text(status)
                    ),
                };
                (reason, wait)
            }
            Ok(Err(err)) => {
                let local_refused =
                    matches!(endpoint.provider.kind, Kind::Oss(_)) && err.is_connect();
                let over_budget = waited + backoff(retries) > RETRY_WAIT_BUDGET;
                if local_refused || retries >= max || over_budget {
                    return Err(Failure::Transport {
                        err,
                        retries,
                        out_of_budget: !local_refused && retries < max,
                    });
                }
                (
                    format!("{}; retrying", http::describe(&err)),
                    backoff(retries),
                )
            }
            Err(_) => {
                let over_budget = waited + backoff(retries) > RETRY_WAIT_BUDGET;
                if retries >= max || over_budget {
                    return Err(Failure::Silent {
                        retries,
                        out_of_budget: retries < max,
                    });
                }
                (
                    format!(
                        "no response from {} within {} ms (stream_idle_timeout_ms); retrying",
                        endpoint.provider.name,
                        idle.as_millis()
                    ),
                    backoff(retries),
                )
            }
        };
        retries += 1;
        crate::say!("note: {reason} ({retries}/{max})");
        waited += wait;
        tokio::time::sleep(wait).await;
    }
}

impl Failure {
    fn is_unauthorized(&self) -> bool {
        match self {
            Failure::Status { status, .. } => *status == reqwest::StatusCode::UNAUTHORIZED,
            Failure::Transport { .. } | Failure::Silent { .. } | Failure::Provider(_) => false,
        }
    }

    /// The final message: what happened, where, and what to do.
    fn explain(&self, endpoint: &Endpoint, model: &str, refreshed: bool) -> String {
        let name = &endpoint.provider.name;
        let after = |retries: u64, out_of_budget: bool| {
            let count = match retries {
                1 => "1 retry".to_string(),
                n => format!("{n} retries"),
            };
            match (retries, out_of_budget) {
                (0, false) => String::new(),
                (_, false) => format!(" (after {count})"),
                (_, true) => format!(
                    " (after {count}; the retries of one command wait at most {} s in all)",
                    RETRY_WAIT_BUDGET.as_secs()
                ),
            }
        };
        let base_url = shown_base_url(endpoint);
        match self {
            Failure::Provider(err) => err.to_string(),
            Failure::Silent {
                retries,
                out_of_budget,
            } => format!(
                "no response from {name} at {base_url} within {} ms{}; check the network, or raise stream_idle_timeout_ms in [model_providers.{}]",
                endpoint.provider.stream_idle_timeout.as_millis(),
                after(*retries, *out_of_budget),
                endpoint.provider.id
            ),
            Failure::Transport {
                err,
                retries,
                out_of_budget,
            } => match endpoint.provider.kind {
                Kind::Oss(which) if err.is_connect() => {
                    provider::oss::not_running(which, &base_url, model)
                }
                Kind::Oss(_) | Kind::OpenAi | Kind::Azure | Kind::AmazonBedrock | Kind::Custom => {
                    format!(
                        "cannot reach {name}: {}{}",
                        http::describe(err),
                        after(*retries, *out_of_budget)
                    )
                }
            },
            Failure::Status {
                status,
                text,
                retries,
                retry_after,
                out_of_budget,
            } => {
                let message = server_message(text, &endpoint.credential.secrets());
                let detail = if message.is_empty() {
                    String::new()
                } else {
                    format!(": {message}")
                };
                if *status == reqwest::StatusCode::UNAUTHORIZED {
                    return unauthorized(endpoint, &message, refreshed);
                }
                match (*status, retry_after) {
                    (reqwest::StatusCode::TOO_MANY_REQUESTS, Some(asked))
                        if *asked > MAX_RETRY_AFTER =>
                    {
                        format!(
                            "{name} answered {}{detail}; it asks to wait {} before retrying, so try again later",
                            status_text(*status),
                            seconds(*asked)
                        )
                    }
                    (reqwest::StatusCode::NOT_FOUND, _) => format!(
                        "{name} answered {}{detail}; check base_url ({base_url}) and the model name (`{model}`)",
                        status_text(*status),
                    ),
                    (reqwest::StatusCode::FORBIDDEN, _)
                        if matches!(endpoint.credential, Credential::SigV4(_)) =>
                    {
                        format!(
                            "AWS refused the signed request ({}){detail}; check that the AWS identity may call bedrock-mantle in this region",
                            status_text(*status)
                        )
                    }
                    _ => format!(
                        "{name} answered {}{detail}{}",
                        status_text(*status),
                        after(*retries, *out_of_budget)
                    ),
                }
            }
        }
    }
}

/// The base URL for a message: a user name, password or query in it (a key may hide there)
/// masked.
fn shown_base_url(endpoint: &Endpoint) -> String {
    crate::secret::masked_url(&endpoint.base_url)
        .unwrap_or_else(|| crate::output::printable(&endpoint.base_url).into_owned())
}

/// The 401 texts: the guide's "API key invalid" row, its Azure row, and what fixes each source.
fn unauthorized(endpoint: &Endpoint, message: &str, refreshed: bool) -> String {
    let provider = &endpoint.provider;
    let base_url = shown_base_url(endpoint);
    let detail = if message.is_empty() {
        String::new()
    } else {
        format!(" ({message})")
    };
    match &endpoint.credential {
        Credential::ApiKey {
            source: KeySource::Stored,
            ..
        } => "API key invalid: key expired, deleted, or scoped to wrong project; regenerate it at platform.openai.com/api-keys and run codex login --api-key".to_string(),
        Credential::ApiKey {
            source: KeySource::CodexApiKeyEnv,
            ..
        } => "API key invalid: the key in CODEX_API_KEY expired, was deleted, or is scoped to the wrong project; regenerate it at platform.openai.com/api-keys and update CODEX_API_KEY".to_string(),
        Credential::ApiKey {
            source: KeySource::EnvKey(var),
            ..
        } => format!(
            "{} refused the key in {var} (401 Unauthorized){detail}; check that {var} holds a valid key for {base_url}",
            provider.name
        ),
        Credential::AzureKey { env_key, .. } => {
            provider::azure::unauthorized(&provider.id, Some(env_key), message)
        }
        Credential::None if provider.kind == Kind::Azure => {
            provider::azure::unauthorized(&provider.id, None, message)
        }
        Credential::None => format!(
            "{} at {base_url} asks for a key (401 Unauthorized){detail}; set env_key in [model_providers.{}] to the variable that holds it",
            provider.name, provider.id
        ),
        Credential::ChatGpt { .. } if refreshed => format!(
            "the ChatGPT sign-in was rejected (401 Unauthorized) even after a refresh{detail}. Run `codex login` to sign in again."
        ),
        Credential::ChatGpt { .. } => format!(
            "the ChatGPT sign-in was rejected (401 Unauthorized){detail}. Run `codex login` to sign in again."
        ),
        Credential::BedrockToken(_) => format!(
            "Amazon Bedrock refused AWS_BEARER_TOKEN_BEDROCK (401 Unauthorized){detail}; the Bedrock API key may have expired: create a new one, or unset the variable to use your AWS profile"
        ),
        Credential::SigV4(_) => format!(
            "AWS refused the signed request (401 Unauthorized){detail}; refresh your AWS credentials (aws login / aws sso login)"
        ),
    }
}

/// Why a stream stopped short of `response.completed`.
enum StreamEnd {
    /// Cut off, stalled or ended early: can be retried while nothing was printed.
    Interrupted(String),
    /// The provider said the response failed.
    Failed(String),
    Stdout(std::io::Error),
}

async fn read_stream(
    mut response: reqwest::Response,
    out: &mut Output,
    endpoint: &Endpoint,
) -> Result<(), StreamEnd> {
    let idle = endpoint.provider.stream_idle_timeout;
    let mut parser = sse::Parser::new();
    loop {
        let chunk = match tokio::time::timeout(idle, response.chunk()).await {
            Err(_) => {
                return Err(StreamEnd::Interrupted(format!(
                    "{} sent nothing for {} ms (stream_idle_timeout_ms)",
                    endpoint.provider.name,
                    idle.as_millis()
                )));
            }
            Ok(Err(err)) => {
                return Err(StreamEnd::Interrupted(format!(
                    "the stream from {} broke off ({})",
                    endpoint.provider.name,
                    crate::http::innermost(&err)
                )));
            }
            Ok(Ok(None)) => {
                parser.finish();
                return Err(StreamEnd::Interrupted(format!(
                    "the stream from {} ended before the response was complete",
                    endpoint.provider.name
                )));
            }
            Ok(Ok(Some(chunk))) => chunk,
        };
        for event in parser.push(&chunk) {
            match out.handle(&event, &endpoint.provider.name)? {
                Flow::Continue => {}
                Flow::Done => return Ok(()),
            }
        }
        if parser.pending() > EVENT_CAP {
            return Err(StreamEnd::Failed(format!(
                "{} sent an event larger than 16 MiB; the stream cannot be read",
                endpoint.provider.name
            )));
        }
    }
}

enum Flow {
    Continue,
    Done,
}

/// What goes to stdout, and whether anything has (a stream can be retried only before).
struct Output {
    json: bool,
    wrote: bool,
    at_line_start: bool,
    stdout: std::io::Stdout,
}

impl Output {
    fn new(json: bool) -> Output {
        Output {
            json,
            wrote: false,
            at_line_start: true,
            stdout: std::io::stdout(),
        }
    }

    fn write(&mut self, text: &str) -> Result<(), StreamEnd> {
        if text.is_empty() {
            return Ok(());
        }
        let mut lock = self.stdout.lock();
        lock.write_all(text.as_bytes())
            .and_then(|_| lock.flush())
            .map_err(StreamEnd::Stdout)?;
        self.wrote = true;
        self.at_line_start = text.ends_with('\n');
        Ok(())
    }

    /// Ends a partly written line of answer text, so what follows starts on its own line.
    fn end_line(&mut self) {
        if !self.json && !self.at_line_start {
            let _ = self.write("\n");
        }
    }

    fn handle(&mut self, event: &sse::Event, provider: &str) -> Result<Flow, StreamEnd> {
        if event.data.trim() == "[DONE]" {
            return Ok(Flow::Continue);
        }
        let value: Value = serde_json::from_str(&event.data).map_err(|_| {
            StreamEnd::Failed(format!(
                "{provider} sent an event that is not valid JSON (`{}`); the stream cannot be read",
                crate::output::printable(&excerpt(&event.data, 80))
            ))
        })?;
        let kind = value
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or(event.name.as_str())
            .to_string();
        if self.json {
            self.write(&format!("{value}\n"))?;
        }
        match kind.as_str() {
            "response.output_text.delta" => {
                if !self.json {
                    let delta = value.get("delta").and_then(Value::as_str).unwrap_or("");
                    self.write(delta)?;
                }
                Ok(Flow::Continue)
            }
            "response.completed" => {
                self.end_line();
                Ok(Flow::Done)
            }
            "response.failed" => {
                let error = value.pointer("/response/error").unwrap_or(&Value::Null);
                Err(StreamEnd::Failed(format!(
                    "{provider} reported that the response failed: {}",
                    error_text(error)
                )))
            }
            "response.incomplete" => {
                let reason = value
                    .pointer("/response/incomplete_details/reason")
                    .and_then(Value::as_str)
                    .unwrap_or("no reason given");
                Err(StreamEnd::Failed(format!(
                    "{provider} stopped the response before it was complete ({})",
                    crate::output::printable(reason)
                )))
            }
            "error" => Err(StreamEnd::Failed(format!(
                "{provider} sent an error: {}",
                error_text(value.get("error").unwrap_or(&value))
            ))),
            _ => Ok(Flow::Continue),
        }
    }
}

/// `message (code `x`)` from an error object, with control characters escaped (it is the
/// provider's text).
fn error_text(error: &Value) -> String {
    let message = error
        .get("message")
        .and_then(Value::as_str)
        .filter(|m| !m.is_empty())
        .unwrap_or("no message given");
    let message = crate::output::printable(message);
    match error.get("code").and_then(Value::as_str) {
        Some(code) if !code.is_empty() => {
            format!("{message} (code `{}`)", crate::output::printable(code))
        }
        Some(_) | None => message.into_owned(),
    }
}

/// The human part of an error body (`error.message`, AWS `message`, or short plain text),
/// one line, without any secret of ours in it and with control characters escaped.
fn server_message(body: &str, secrets: &[String]) -> String {
    let text = match serde_json::from_str::<Value>(body) {
        Ok(v) => v
            .pointer("/error/message")
            .or_else(|| v.get("message"))
            .or_else(|| v.get("Message"))
            .or_else(|| v.get("error").filter(|e| e.is_string()))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        Err(_) if body.trim_start().starts_with('<') => String::new(),
        Err(_) => body.lines().next().unwrap_or("").to_string(),
    };
    let mut text = excerpt(text.trim().trim_end_matches('.'), 300);
    for secret in secrets.iter().filter(|s| s.len() >= 8) {
        text = text.replace(secret.as_str(), "****");
    }
    crate::output::printable(&text).into_owned()
}

fn excerpt(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text.to_string(),
    }
}

fn status_text(status: reqwest::StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("{} {reason}", status.as_u16()),
        None => status.as_u16().to_string(),
    }
}

fn seconds(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

/// `Retry-After` (seconds or an HTTP date) or OpenAI's `retry-after-ms`.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(ms) = get("retry-after-ms")
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|ms| ms.is_finite() && *ms >= 0.0)
    {
        return Some(Duration::from_millis(ms as u64));
    }
    let value = get("retry-after")?;
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate(value)?;
    Some(
        when.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the form `Retry-After` dates take.
fn httpdate(text: &str) -> Option<std::time::SystemTime> {
    let parts: Vec<&str> = text.split_whitespace().collect();
    let [_, day, month, year, time, "GMT"] = parts.as_slice() else {
        return None;
    };
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|m| m == month)? as i64
        + 1;
    let (day, year): (i64, i64) = (day.parse().ok()?, year.parse().ok()?);
    let hms: Vec<i64> = time.split(':').filter_map(|p| p.parse().ok()).collect();
    let [h, m, s] = hms.as_slice() else {
        return None;
    };
    // Days from civil (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + h * 3600 + m * 60 + s;
    u64::try_from(secs)
        .ok()
        .map(|s| std::time::UNIX_EPOCH + Duration::from_secs(s))
}

/// 200 ms, 400 ms, 800 ms, ... up to 10 s, each +-10% so parallel runs spread out.
fn backoff(retries: u64) -> Duration {
    let exp = BACKOFF_BASE.saturating_mul(1u32 << retries.min(16) as u32);
    let capped = exp.min(BACKOFF_CAP);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let jitter = 0.9 + f64::from(nanos % 1000) / 5000.0;
    capped.mul_f64(jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_dates_and_seconds() {
        assert_eq!(
            httpdate("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(std::time::UNIX_EPOCH + Duration::from_secs(784_111_777))
        );
        assert_eq!(httpdate("tomorrow"), None);
        let mut h = reqwest::header::HeaderMap::new();
        h.insert("retry-after", "2".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(2)));
        h.insert("retry-after-ms", "150".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_millis(150)));
    }

    #[test]
    fn server_messages_are_short_and_scrubbed() {
        let body = r#"{"error":{"message":"bad key sk-secret-123 here","code":"x"}}"#;
        assert_eq!(
            server_message(body, &["sk-secret-123".to_string()]),
            "bad key **** here"
        );
        assert_eq!(server_message("<html>502</html>", &[]), "");
        assert_eq!(server_message(r#"{"message":"denied"}"#, &[]), "denied");
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert!(
            backoff(0) >= Duration::from_millis(180) && backoff(0) <= Duration::from_millis(220)
        );
        assert!(backoff(40) <= Duration::from_secs(11));
    }
}
