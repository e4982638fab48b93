//! Local model servers (`--oss`, `oss_provider`): Ollama and LM Studio. No credentials; the base
//! URL can be moved with `CODEX_OSS_BASE_URL` / `CODEX_OSS_PORT`, and when nothing listens the
//! user is told which server to start.

use thiserror::Error;

use super::schema::OssProvider;
use crate::config::ModelSettings;

#[derive(Debug, Error)]
pub enum OssError {
    #[error("CODEX_OSS_PORT is `{0}`, which is not a port number (1-65535)")]
    BadPort(String),
    /// Shown as `secret::shown_url` shows it: a URL may hold a pasted secret.
    #[error(
        "CODEX_OSS_BASE_URL is {0}, which is not an http(s) URL; expected for example http://localhost:11434/v1"
    )]
    BadBaseUrl(String),
}

pub fn default_port(which: OssProvider) -> u16 {
    match which {
        OssProvider::Ollama => 11434,
        OssProvider::LmStudio => 1234,
    }
}

/// The model asked for when neither `-m` nor `model` names one (the reference's defaults).
pub fn default_model(which: OssProvider) -> &'static str {
    match which {
        OssProvider::Ollama => "gpt-oss:20b",
        OssProvider::LmStudio => "openai/gpt-oss-20b",
    }
}

/// `CODEX_OSS_BASE_URL`, else `http://localhost:$CODEX_OSS_PORT/v1`, else the `base_url` of
/// `[model_providers.<id>]`, else the built-in `http://localhost:<default port>/v1`.
pub fn base_url(
    which: OssProvider,
    configured: Option<&str>,
    settings: &ModelSettings,
) -> Result<String, OssError> {
    if let Some(raw) = &settings.oss_base_url_env {
        return crate::http::http_url(raw)
            .ok_or_else(|| OssError::BadBaseUrl(crate::secret::shown_url(raw)));
    }
    if let Some(raw) = &settings.oss_port_env {
        let port: u16 = raw
            .trim()
            .parse()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| OssError::BadPort(crate::untrusted::printable(raw).into_owned()))?;
        return Ok(format!("http://localhost:{port}/v1"));
    }
    if let Some(url) = configured {
        return Ok(url.trim().trim_end_matches('/').to_string());
    }
    Ok(format!("http://localhost:{}/v1", default_port(which)))
}

/// Said instead of "connection refused": which server to start, and how to point elsewhere.
pub fn not_running(which: OssProvider, base_url: &str, model: &str) -> String {
    match which {
        OssProvider::Ollama => format!(
            "nothing is listening at {base_url}: start Ollama with `ollama serve` (and fetch the model with `ollama pull {model}`), or point CODEX_OSS_BASE_URL / CODEX_OSS_PORT at the server you run; for LM Studio set oss_provider = \"lmstudio\""
        ),
        OssProvider::LmStudio => format!(
            "nothing is listening at {base_url}: start LM Studio's local server (`lms server start`, or Developer > Start Server in the app) and load the model `{model}`, or point CODEX_OSS_BASE_URL / CODEX_OSS_PORT at the server you run"
        ),
    }
}
