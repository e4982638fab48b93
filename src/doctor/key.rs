//! Key validity: one cheap authenticated request (`GET {base_url}/models`, the model list) with
//! the credential `codex exec` would send, to tell the guide's "API key invalid" from an
//! unreachable server and from a provider's own 401 (Azure: which `env_key` to check). And, with
//! `--refresh` only, the one refresh that tests a ChatGPT refresh token.

use std::sync::{Arc, Mutex};

use crate::accounts::Session;
use crate::auth::AuthDotJson;
use crate::config::Config;
use crate::credential::{Credential, Endpoint, KeySource};
use crate::notice::{Notice, Notify};
use crate::provider::{Kind, OutgoingRequest};
use crate::secret::mask_api_key;
use crate::store::Store;

use super::clock::ServerDate;
use super::{Group, Row};

const NAME: &str = "model API";

/// The credential, for people: where it comes from and its masked form (never more).
fn describe(credential: &Credential) -> String {
    match credential {
        Credential::ApiKey {
            key,
            source: KeySource::Stored,
        } => format!("the stored API key {}", mask_api_key(key.expose())),
        Credential::ApiKey {
            key,
            source: KeySource::CodexApiKeyEnv,
        } => format!("the key in CODEX_API_KEY ({})", mask_api_key(key.expose())),
        Credential::ApiKey {
            key,
            source: KeySource::EnvKey(var),
        } => format!("the key in {var} ({})", mask_api_key(key.expose())),
        Credential::ApiKey {
            source: KeySource::ConfigToken,
            ..
        } => "the experimental_bearer_token in config.toml".to_string(),
        Credential::AzureKey { key, env_key } => {
            format!("the key in {env_key} ({})", mask_api_key(key.expose()))
        }
        Credential::Command { auth, .. } => format!(
            "the token printed by `{}`",
            crate::untrusted::printable(&auth.command)
        ),
        Credential::ChatGpt { .. } => "the ChatGPT access token".to_string(),
        Credential::Workload { .. } => "the workload identity token".to_string(),
        Credential::PersonalAccessToken(pat) => {
            format!("the personal access token ({})", pat.source)
        }
        Credential::BedrockToken(_) => "AWS_BEARER_TOKEN_BEDROCK".to_string(),
        Credential::SigV4(_) | Credential::None => "no credential".to_string(),
    }
}

/// What the key check found.
pub struct Checked {
    pub row: Row,
    pub date: Option<ServerDate>,
    /// No answer came (the network rows say why).
    pub unanswered: bool,
}

impl Checked {
    /// A row decided without asking the server.
    pub fn unasked(row: Row) -> Checked {
        Checked {
            row,
            date: None,
            unanswered: false,
        }
    }

    fn answered(row: Row, date: Option<ServerDate>) -> Checked {
        Checked {
            row,
            date,
            unanswered: false,
        }
    }
}

/// Asks for the model list with the endpoint's credential.
pub async fn check(endpoint: &Endpoint, client: &reqwest::Client) -> Checked {
    match &endpoint.credential {
        Credential::None => {
            return Checked::unasked(Row::skip(
                Group::Key,
                NAME,
                format!("{} takes no key", endpoint.provider.name),
            ));
        }
        Credential::SigV4(_) => {
            return Checked::unasked(Row::skip(
                Group::Key,
                NAME,
                "AWS credentials were found in the profile chain; they are first sent with a request to the model",
            ));
        }
        Credential::ApiKey { .. }
        | Credential::AzureKey { .. }
        | Credential::ChatGpt { .. }
        | Credential::Workload { .. }
        | Credential::PersonalAccessToken(_)
        | Credential::BedrockToken(_)
        | Credential::Command { .. } => {}
    }
    let what = describe(&endpoint.credential);
    let mut request = match models_request(endpoint) {
        Ok(request) => request,
        Err(e) => return Checked::unasked(Row::fail(Group::Key, NAME, e.to_string())),
    };
    if let Err(e) = endpoint.credential.apply(&mut request) {
        return Checked::unasked(Row::fail(Group::Key, NAME, e.to_string()));
    }
    let path = request.url.path().to_string();
    let response = match client
        .get(request.url.clone())
        .headers(request.headers)
        .send()
        .await
    {
        Ok(response) => response,
        Err(e) => {
            return Checked {
                row: Row::warn(
                    Group::Key,
                    NAME,
                    format!("{what} could not be checked: {}", crate::http::describe(&e)),
                ),
                date: None,
                unanswered: true,
            };
        }
    };
    let received = chrono::Utc::now();
    let status = response.status();
    let date = response
        .headers()
        .get(reqwest::header::DATE)
        .and_then(|v| v.to_str().ok())
        .and_then(|d| {
            let server = request
                .url
                .host_str()
                .map(|h| match request.url.port() {
                    Some(p) => format!("{h}:{p}"),
                    None => h.to_string(),
                })
                .unwrap_or_default();
            ServerDate::from_header(&server, d, received)
        });
    let body = crate::http::read_body(response)
        .await
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default();
    let message = crate::exec::server_message(&body, &endpoint.credential.secrets());
    let said = |text: &str| {
        if message.is_empty() {
            text.to_string()
        } else {
            format!("{text}: {message}")
        }
    };
    let status_text = crate::exec::status_text(status);
    let row = match status.as_u16() {
        200..=299 => Row::ok(
            Group::Key,
            NAME,
            format!("{what} works: GET {path} answered {status_text}"),
        ),
        401 => unauthorized(endpoint, &what, &said("401 Unauthorized")),
        403 => Row::fail(
            Group::Key,
            NAME,
            format!("{what} was refused ({})", said("403 Forbidden")),
        )
        .fix("the key has no access to this API: check its project and permissions"),
        404 => Row::warn(
            Group::Key,
            NAME,
            format!("{what} could not be checked: GET {path} is not served here (404)"),
        ),
        429 => {
            let quota = body.contains("insufficient_quota");
            Row::warn(
                Group::Key,
                NAME,
                format!("{what} is accepted, but {}", said("429 Too Many Requests")),
            )
            .fix(if quota {
                "the account is out of credit: add some at platform.openai.com/settings/organization/billing"
            } else {
                "the key is rate-limited now; try again in a minute"
            })
        }
        _ => Row::warn(
            Group::Key,
            NAME,
            format!(
                "{what} could not be checked: GET {path} answered {}",
                said(&status_text)
            ),
        ),
    };
    Checked::answered(row, date)
}

/// `GET {base_url}/models` with the provider's query parameters and headers.
fn models_request(endpoint: &Endpoint) -> Result<OutgoingRequest, crate::provider::ProviderError> {
    let mut url = endpoint.responses_url()?;
    if let Ok(mut segments) = url.path_segments_mut() {
        segments.pop().push("models");
    }
    let mut headers = endpoint.base_headers()?;
    headers.remove(reqwest::header::CONTENT_TYPE);
    headers.insert(
        reqwest::header::ACCEPT,
        reqwest::header::HeaderValue::from_static("application/json"),
    );
    Ok(OutgoingRequest {
        url,
        headers,
        body: bytes::Bytes::new(),
    })
}

/// The guide's rows: "API key invalid" for OpenAI keys, "Azure 401" naming the `env_key`.
fn unauthorized(endpoint: &Endpoint, what: &str, said: &str) -> Row {
    let provider = &endpoint.provider;
    let row = |found: String| Row::fail(Group::Key, NAME, found);
    match &endpoint.credential {
        Credential::ApiKey {
            source: KeySource::Stored,
            ..
        } => row(format!(
            "API key invalid: key expired, deleted, or scoped to wrong project ({what} was refused: {said})"
        ))
        .fix("regenerate it at platform.openai.com/api-keys, then: printenv OPENAI_API_KEY | codex login --api-key -"),
        Credential::ApiKey {
            source: KeySource::CodexApiKeyEnv,
            ..
        } => row(format!(
            "API key invalid: key expired, deleted, or scoped to wrong project ({what} was refused: {said})"
        ))
        .fix("regenerate it at platform.openai.com/api-keys and update CODEX_API_KEY"),
        Credential::ApiKey {
            source: KeySource::EnvKey(var),
            ..
        } => row(format!("{} refused {what} ({said})", provider.name)).fix(format!(
            "check that {var} holds a valid key for {}",
            endpoint.base_url
        )),
        Credential::ApiKey {
            source: KeySource::ConfigToken,
            ..
        } => row(format!("{} refused {what} ({said})", provider.name)).fix(format!(
            "replace experimental_bearer_token in [model_providers.{}] with a valid token",
            provider.id
        )),
        Credential::Command { .. } => row(format!("{} refused {what} ({said})", provider.name))
            .fix(match provider.kind {
                Kind::Azure => "check that the command prints an Entra ID token for the resource https://cognitiveservices.azure.com".to_string(),
                Kind::OpenAi | Kind::AmazonBedrock | Kind::Oss(_) | Kind::Custom => format!(
                    "check that the command prints a token for {}",
                    endpoint.base_url
                ),
            }),
        Credential::AzureKey { env_key, .. } => row(format!(
            "Azure OpenAI refused {what} ({said})"
        ))
        .fix(format!(
            "export {env_key}=<a key of this Azure resource>; {env_key} must be the env_key of [model_providers.{}] in config.toml",
            provider.id
        )),
        Credential::ChatGpt { .. } => row(format!("the ChatGPT sign-in was refused ({said})"))
            .fix("codex login"),
        Credential::Workload { .. } => row(format!("the workload identity token was refused ({said})"))
            .fix("check that the federation rule maps to an account that may use Codex"),
        Credential::PersonalAccessToken(pat) => row(format!("{what} was refused ({said})")).fix(
            match pat.source {
                crate::credential::access_token::TokenSource::Env => {
                    "create a new personal access token and update CODEX_ACCESS_TOKEN"
                }
                crate::credential::access_token::TokenSource::Stored(_) => {
                    "create a new personal access token, then: printenv CODEX_ACCESS_TOKEN | codex login --with-access-token"
                }
            },
        ),
        Credential::BedrockToken(_) => row(format!(
            "Amazon Bedrock refused AWS_BEARER_TOKEN_BEDROCK ({said})"
        ))
        .fix("create a new Bedrock API key, or unset the variable to use your AWS profile"),
        Credential::None if provider.kind == Kind::Azure => row(format!(
            "Azure OpenAI asks for a key ({said})"
        ))
        .fix(format!(
            "add env_key = \"AZURE_OPENAI_API_KEY\" to [model_providers.{}] and export that variable",
            provider.id
        )),
        Credential::None | Credential::SigV4(_) => row(format!("{} asks for a key ({said})", provider.name))
            .fix(format!("set env_key in [model_providers.{}] to the variable that holds it", provider.id)),
    }
}

/// `--refresh`: the one refresh, under the store lock and saved as any command would save it.
/// Not under the run's deadline: once the request is sent the issuer may have rotated the
/// refresh token, and cutting the wait short would lose the new one (see `token`); the
/// refresh's own waits are bounded.
pub async fn refresh(config: &Config, doc: &AuthDotJson) -> Row {
    let name = "refresh token";
    let client = match crate::http::client(&config.network) {
        Ok(client) => client,
        Err(_) => {
            return Row::skip(
                Group::Credentials,
                name,
                "not tried: the network settings are unusable (see Network)",
            );
        }
    };
    let notices = Arc::new(Collected::default());
    let session = Session::active(Store::new(config, notices.clone()));
    let refreshed = crate::token::recover_from_unauthorized(config, &session, &client, doc).await;
    let said = notices.joined();
    match refreshed {
        Ok(fresh) => {
            let expires = fresh
                .tokens
                .as_ref()
                .and_then(|t| crate::jwt::expires_at(t.access_token.expose()))
                .map(|exp| {
                    format!(
                        "; the new access token expires {}",
                        crate::jwt::describe_time(exp)
                    )
                })
                .unwrap_or_default();
            Row::ok(
                Group::Credentials,
                name,
                format!(
                    "works: refreshed once and saved in {}{expires}{said}",
                    session.location()
                ),
            )
        }
        Err(e) => {
            use crate::token::TokenError as E;
            let fix = match &e {
                // Signing in again under its name keeps the saved account.
                E::Permanent {
                    account: Some(name),
                    ..
                } => Some(format!("codex login --account {name}")),
                E::Permanent { account: None, .. } | E::NoRefreshToken | E::Unsendable { .. } => {
                    Some("codex logout, then codex login".to_string())
                }
                E::Failed { .. } => Some("see the issuer's row under Network".to_string()),
                E::ExpiredAfterRefresh { .. } => {
                    Some("check this computer's clock (see the Clock row)".to_string())
                }
                E::NotLoggedIn | E::Unusable { .. } | E::OAuth(_) | E::Store(_) | E::Http(_) => {
                    None
                }
            };
            Row::fail(Group::Credentials, name, format!("{e}{said}")).fix_opt(fix)
        }
    }
}

/// The notices of the one refresh (waiting for the lock, a keyring copy left behind), kept for
/// its row instead of printed in the middle of the report.
#[derive(Default)]
struct Collected(Mutex<Vec<String>>);

impl Notify for Collected {
    fn notify(&self, notice: Notice) {
        if let Ok(mut all) = self.0.lock() {
            all.push(notice.text);
        }
    }
}

impl Collected {
    /// `` or ` (note: a; b)`.
    fn joined(&self) -> String {
        match self.0.lock().map(|all| all.join("; ")) {
            Ok(text) if !text.is_empty() => format!(" (note: {text})"),
            Ok(_) | Err(_) => String::new(),
        }
    }
}
