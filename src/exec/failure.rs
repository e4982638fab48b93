//! Why a request of `codex exec` failed, and what it then says: per failure and per credential,
//! what happened, where, and what to do (the guide's "API key invalid" and Azure rows among them).

use std::time::Duration;

use serde_json::Value;

use crate::credential::{Credential, CredentialError, Endpoint, KeySource};
use crate::provider::{self, Kind};

/// The longest `Retry-After` honoured; a longer one fails at once and says how long.
pub(super) const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
/// All the waiting one command's retries may do, together: without it `request_max_retries =
/// 100` would mean a quarter of an hour of backoff. A retry that would wait past it is not made.
pub(super) const RETRY_WAIT_BUDGET: Duration = Duration::from_secs(60);

/// Why no usable response came back.
pub(super) enum Failure {
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
        /// `http::describe` of `err`, made when it happened (describing may ask a proxy).
        text: String,
        retries: u64,
        out_of_budget: bool,
    },
    /// No response headers within the idle timeout.
    Silent {
        retries: u64,
        out_of_budget: bool,
    },
    Credential(CredentialError),
}

impl Failure {
    pub(super) fn is_unauthorized(&self) -> bool {
        match self {
            Failure::Status { status, .. } => *status == reqwest::StatusCode::UNAUTHORIZED,
            Failure::Transport { .. } | Failure::Silent { .. } | Failure::Credential(_) => false,
        }
    }
}

impl Failure {
    /// The final message: what happened, where, and what to do.
    pub(super) fn explain(&self, endpoint: &Endpoint, model: &str, refreshed: bool) -> String {
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
            Failure::Credential(err) => err.to_string(),
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
                text,
                retries,
                out_of_budget,
            } => match endpoint.provider.kind {
                Kind::Oss(which) if err.is_connect() => {
                    provider::oss::not_running(which, &base_url, model)
                }
                Kind::Oss(_) | Kind::OpenAi | Kind::Azure | Kind::AmazonBedrock | Kind::Custom => {
                    format!(
                        "cannot reach {name}: {text}{}",
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
        .unwrap_or_else(|| crate::untrusted::printable(&endpoint.base_url).into_owned())
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
        Credential::ApiKey {
            source: KeySource::ConfigToken,
            ..
        } => format!(
            "{} refused the experimental_bearer_token of [model_providers.{}] (401 Unauthorized){detail}; replace it in config.toml with a valid token for {base_url}",
            provider.name, provider.id
        ),
        Credential::Command { auth, .. } => format!(
            "{} refused the token printed by `{}` ([model_providers.{}.auth]){} (401 Unauthorized){detail}; check that the command prints a token for {base_url}{}",
            provider.name,
            crate::untrusted::printable(&auth.command),
            provider.id,
            if refreshed { " even after running it again" } else { "" },
            match provider.kind {
                Kind::Azure => " (Azure OpenAI takes an Entra ID token for the resource https://cognitiveservices.azure.com, of an identity with the role Cognitive Services OpenAI User)",
                Kind::OpenAi | Kind::AmazonBedrock | Kind::Oss(_) | Kind::Custom => "",
            }
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
        Credential::Workload { session, .. } if refreshed => format!(
            "the workload identity token was rejected (401 Unauthorized) even after a new exchange at `{}`{detail}. Check that the federation rule maps to an account that may use Codex.",
            session.token_url
        ),
        Credential::Workload { session, .. } => format!(
            "the workload identity token was rejected (401 Unauthorized){detail}; a new exchange at `{}` was not possible. Run `codex doctor` to check the workload identity.",
            session.token_url
        ),
        Credential::PersonalAccessToken(pat) => match &pat.source {
            crate::credential::access_token::TokenSource::Env => format!(
                "the personal access token in CODEX_ACCESS_TOKEN was rejected (401 Unauthorized){detail}; it may have been revoked or have expired: create a new one and update CODEX_ACCESS_TOKEN"
            ),
            crate::credential::access_token::TokenSource::Stored(location) => format!(
                "the personal access token stored in {location} was rejected (401 Unauthorized){detail}; it may have been revoked or have expired: create a new one and run `printenv CODEX_ACCESS_TOKEN | codex login --with-access-token`"
            ),
        },
        Credential::BedrockToken(_) => format!(
            "Amazon Bedrock refused AWS_BEARER_TOKEN_BEDROCK (401 Unauthorized){detail}; the Bedrock API key may have expired: create a new one, or unset the variable to use your AWS profile"
        ),
        Credential::SigV4(_) => format!(
            "AWS refused the signed request (401 Unauthorized){detail}; refresh your AWS credentials (aws login / aws sso login)"
        ),
    }
}

/// `message (code `x`)` from an error object, with control characters escaped (it is the
/// provider's text).
pub(super) fn error_text(error: &Value) -> String {
    let message = error
        .get("message")
        .and_then(Value::as_str)
        .filter(|m| !m.is_empty())
        .unwrap_or("no message given");
    let message = crate::untrusted::printable(message);
    match error.get("code").and_then(Value::as_str) {
        Some(code) if !code.is_empty() => {
            format!("{message} (code `{}`)", crate::untrusted::printable(code))
        }
        Some(_) | None => message.into_owned(),
    }
}

/// The human part of an error body (`error.message`, AWS `message`, or short plain text),
/// one line, without any secret of ours in it and with control characters escaped.
pub(crate) fn server_message(body: &str, secrets: &[String]) -> String {
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
    crate::untrusted::printable(&text).into_owned()
}

pub(super) fn excerpt(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text.to_string(),
    }
}

pub(crate) fn status_text(status: reqwest::StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("{} {reason}", status.as_u16()),
        None => status.as_u16().to_string(),
    }
}

pub(super) fn seconds(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
