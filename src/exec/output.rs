//! The answer on stdout: text deltas as they arrive (or every event as a JSON line with
//! `--json`), read from the Server-Sent Events stream with a bound on silence.

use std::io::Write;

use serde_json::Value;

use super::failure::{error_text, excerpt};

/// The most one event of the stream may hold (its data and unfinished line); events are a few
/// kilobytes, and a stream that never ends one must not fill the memory.
const EVENT_CAP: usize = 16 << 20;
use super::sse;
use crate::credential::Endpoint;

/// Why a stream stopped short of `response.completed`.
pub(super) enum StreamEnd {
    /// Cut off, stalled or ended early: can be retried while nothing was printed.
    Interrupted(String),
    /// The provider said the response failed.
    Failed(String),
    Stdout(std::io::Error),
}

pub(super) async fn read_stream(
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
pub(super) struct Output {
    json: bool,
    pub(super) wrote: bool,
    at_line_start: bool,
    stdout: std::io::Stdout,
}

impl Output {
    pub(super) fn new(json: bool) -> Output {
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
    pub(super) fn end_line(&mut self) {
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
                crate::untrusted::printable(&excerpt(&event.data, 80))
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
                    crate::untrusted::printable(reason)
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
