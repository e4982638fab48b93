//! `codex exec`: one authenticated, streamed request to the configured model provider
//! (`POST {base_url}/responses`). Text deltas go to stdout as they arrive, or every event as one
//! JSON line with `--json`; notes and errors go to stderr.

mod failure;
mod output;
mod send;
pub mod sse;

use std::io::IsTerminal;

use bytes::Bytes;
use serde_json::json;
use thiserror::Error;

use crate::config::Config;
use crate::credential::{self, CredentialError};
use crate::http::{self, HttpError};
use crate::provider::{self, Kind, OutgoingRequest, ProviderError};
use crate::report::Reporter;
use failure::Failure;
/// The key check of `codex doctor` reads a refusal as `codex exec` does.
pub(crate) use failure::{server_message, status_text};
use output::{Output, StreamEnd};
use send::send;

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
    Credential(#[from] CredentialError),
    #[error(transparent)]
    Http(#[from] HttpError),
    /// The request or the stream failed; the text says how and what to do.
    #[error("{0}")]
    Failed(String),
    #[error("cannot write to standard output: {0}")]
    Stdout(std::io::Error),
}

pub fn run(config: &Config, options: ExecOptions, out: &Reporter) -> Result<(), ExecError> {
    let prompt = read_prompt(options.prompt.as_deref())?;
    http::runtime().block_on(run_async(
        config,
        options.json,
        options.model,
        options.oss,
        prompt,
        out,
    ))
}

/// The most a prompt read from standard input may be (`< /dev/zero` must not fill the memory).
const PROMPT_CAP: crate::fsutil::Cap = crate::fsutil::Cap::new(16 << 20, "a prompt");

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
    notes: &Reporter,
) -> Result<(), ExecError> {
    let provider = provider::select(config, oss)?;
    let http = http::Lazy::new(&config.network);
    let notify: std::sync::Arc<dyn crate::notice::Notify> = std::sync::Arc::new(*notes);
    let mut endpoint = credential::resolve(config, provider, &http, &notify).await?;
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
    if endpoint.credential.is_chatgpt() {
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
        let response = match send(client, &endpoint, &request, notes).await {
            Ok(response) => response,
            Err(failure @ Failure::Status { .. }) if failure.is_unauthorized() && !refreshed => {
                tracing::debug!("401: asking the credential's source once for a better one");
                refreshed = true;
                match credential::after_unauthorized(config, client, &endpoint.credential, &notify)
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
                if failure.is_unauthorized() {
                    credential::refused(config, &endpoint.credential, &notify).await;
                }
                return Err(ExecError::Failed(
                    failure.explain(&endpoint, &model, refreshed),
                ));
            }
        };
        match output::read_stream(response, &mut out, &endpoint).await {
            Ok(()) => return Ok(()),
            Err(StreamEnd::Interrupted(why))
                if !out.wrote && stream_retries < endpoint.provider.stream_max_retries =>
            {
                stream_retries += 1;
                notes.note(&format!(
                    "note: {why}; retrying ({stream_retries}/{})",
                    endpoint.provider.stream_max_retries
                ));
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
