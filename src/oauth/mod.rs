//! The issuer protocol, once: where the issuer's endpoints are (fixed paths or discovery), the
//! code exchange (through the `oauth2` crate), the best-effort API-key token exchange of the
//! "openai" protocol, the device endpoints (`device.rs`), refresh and revoke (`refresh.rs`), and
//! one mapping of a failed token request to a message. Sign-in paths (`login/`) and the token
//! lifecycle (`token.rs`) build on it; it knows nothing of where credentials are stored.

pub mod device;
pub mod jwt_bearer;
pub mod refresh;
mod settings;
pub mod whoami;

pub use settings::*;

use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, EndpointNotSet, EndpointSet, ErrorResponseType,
    ExtraTokenFields, PkceCodeVerifier, RedirectUrl, RequestTokenError, StandardErrorResponse,
    StandardRevocableToken, StandardTokenResponse, TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::jwt::{self, IdClaims};
use crate::secret::Secret;

/// The endpoints of one issuer.
#[derive(Debug, Clone)]
pub struct Endpoints {
    pub authorize: String,
    pub token: String,
    pub device_authorization: Option<String>,
    pub revocation: Option<String>,
}

#[derive(Debug, Error)]
pub enum OAuthError {
    #[error(
        "cannot read the OpenID Connect discovery document of `{issuer}`: {detail}. Check the issuer URL ([auth] issuer, CODEX_AUTH_ISSUER or --issuer)"
    )]
    Discovery { issuer: String, detail: String },
    #[error("`{url}` refused the sign-in: {detail}. Run `codex login` again")]
    Refused { url: String, detail: String },
    #[error("{detail}. The sign-in was not completed; run `codex login` again")]
    Transport { detail: String },
    #[error(
        "`{url}` answered with something that is not a token response ({detail}). The sign-in was not completed"
    )]
    BadResponse { url: String, detail: String },
    #[error("Login is restricted to workspace id {expected}.")]
    WorkspaceMismatch { expected: String },
    #[error("the issuer's endpoint `{0}` is not a valid URL")]
    BadEndpoint(String),
}

/// An OpenID Connect discovery document (the fields we use).
#[derive(Debug, Deserialize)]
pub struct Discovery {
    authorization_endpoint: String,
    token_endpoint: String,
    #[serde(default)]
    device_authorization_endpoint: Option<String>,
    #[serde(default)]
    revocation_endpoint: Option<String>,
}

impl Endpoints {
    /// The "openai" protocol's fixed paths, or the "oidc" protocol's discovery document.
    pub async fn resolve(
        http: &reqwest::Client,
        settings: &AuthSettings,
    ) -> Result<Endpoints, OAuthError> {
        let issuer = &settings.issuer;
        match settings.protocol {
            Protocol::OpenAi => Ok(Endpoints {
                authorize: format!("{issuer}/oauth/authorize"),
                token: format!("{issuer}/oauth/token"),
                device_authorization: Some(format!("{issuer}/api/accounts/deviceauth/usercode")),
                revocation: Some(format!("{issuer}/oauth/revoke")),
            }),
            Protocol::Oidc => {
                let url = format!("{issuer}/.well-known/openid-configuration");
                let failed = |detail: String| OAuthError::Discovery {
                    issuer: issuer.clone(),
                    detail,
                };
                let response = http
                    .get(&url)
                    .send()
                    .await
                    .map_err(|e| failed(crate::http::describe(&e)))?;
                let status = response.status();
                if !status.is_success() {
                    return Err(failed(format!("`{url}` answered HTTP {status}")));
                }
                let bytes = crate::http::read_body(response)
                    .await
                    .map_err(|e| failed(format!("`{url}` is not a discovery document: {e}")))?;
                let doc: Discovery = serde_json::from_slice(&bytes).map_err(|e| {
                    failed(format!(
                        "`{url}` is not a discovery document: {}",
                        crate::secret::json_error(&e)
                    ))
                })?;
                tracing::debug!(?doc, "discovered endpoints");
                Ok(Endpoints {
                    authorize: doc.authorization_endpoint,
                    token: doc.token_endpoint,
                    device_authorization: doc.device_authorization_endpoint,
                    revocation: doc.revocation_endpoint,
                })
            }
        }
    }
}

/// `id_token` beside the standard fields of a token response.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdTokenField {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

impl ExtraTokenFields for IdTokenField {}

pub type TokenResponseWithId = StandardTokenResponse<IdTokenField, BasicTokenType>;

/// An `oauth2` client for our public (secret-less) client id.
pub type Client<HasAuth = EndpointNotSet, HasDevice = EndpointNotSet> = oauth2::Client<
    BasicErrorResponse,
    TokenResponseWithId,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    HasAuth,
    HasDevice,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

pub fn client(settings: &AuthSettings, endpoints: &Endpoints) -> Result<Client, OAuthError> {
    client_for(&settings.client_id, &endpoints.token)
}

/// An `oauth2` client for the public client `client_id` at the token endpoint `token`.
pub fn client_for(client_id: &str, token: &str) -> Result<Client, OAuthError> {
    Ok(
        oauth2::Client::new(ClientId::new(client_id.to_string())).set_token_uri(
            TokenUrl::new(token.to_string())
                .map_err(|_| OAuthError::BadEndpoint(token.to_string()))?,
        ),
    )
}

pub fn auth_url(endpoints: &Endpoints) -> Result<AuthUrl, OAuthError> {
    AuthUrl::new(endpoints.authorize.clone())
        .map_err(|_| OAuthError::BadEndpoint(endpoints.authorize.clone()))
}

/// Tokens as the issuer handed them out, with the ID token's claims decoded once, here.
#[derive(Debug, Clone)]
pub struct TokenSet {
    pub id_token: Secret<String>,
    pub access_token: Secret<String>,
    pub refresh_token: Option<Secret<String>>,
    pub claims: IdClaims,
}

impl TokenSet {
    pub fn new(
        id_token: Secret<String>,
        access_token: Secret<String>,
        refresh_token: Option<Secret<String>>,
    ) -> TokenSet {
        let claims = jwt::id_claims(id_token.expose());
        TokenSet {
            id_token,
            access_token,
            refresh_token,
            claims,
        }
    }
}

/// Exchanges an authorization code (RFC 6749 4.1.3 with the PKCE verifier): a form POST of
/// `grant_type`, `code`, `code_verifier`, `redirect_uri` and `client_id`.
pub async fn exchange_code(
    http: &reqwest::Client,
    settings: &AuthSettings,
    endpoints: &Endpoints,
    code: Secret<String>,
    redirect_uri: &str,
    verifier: Secret<String>,
) -> Result<TokenSet, OAuthError> {
    let redirect = RedirectUrl::new(redirect_uri.to_string())
        .map_err(|_| OAuthError::BadEndpoint(redirect_uri.to_string()))?;
    let response = client(settings, endpoints)?
        .set_redirect_uri(redirect)
        .exchange_code(AuthorizationCode::new(code.into_inner()))
        .set_pkce_verifier(PkceCodeVerifier::new(verifier.into_inner()))
        .request_async(&|request| send(http, request))
        .await
        .map_err(|e| token_error(&endpoints.token, TokenFailure::from_oauth2(e)))?;
    issued(&endpoints.token, response)
}

pub fn issued(url: &str, response: TokenResponseWithId) -> Result<TokenSet, OAuthError> {
    let id_token =
        response
            .extra_fields()
            .id_token
            .clone()
            .ok_or_else(|| OAuthError::BadResponse {
                url: url.to_string(),
                detail: "it has no `id_token`; is `openid` among the scopes?".to_string(),
            })?;
    Ok(TokenSet::new(
        Secret::new(id_token),
        Secret::new(response.access_token().secret().clone()),
        response
            .refresh_token()
            .map(|t| Secret::new(t.secret().clone())),
    ))
}

/// A token-endpoint call that failed before `oauth2` could read an OAuth answer.
#[derive(Debug, Error)]
pub enum TokenHttpError {
    #[error("{}", crate::http::describe(.0))]
    Transport(#[from] reqwest::Error),
    #[error(transparent)]
    Body(#[from] crate::http::BodyError),
    /// A non-2xx answer whose body is not an RFC 6749 error (for example OpenAI's
    /// `{"error": {"code": ...}}`); `code` is the error code found in it, if any (the issuer's
    /// text: shown with control characters escaped).
    #[error(
        "HTTP {status}{}",
        code.as_ref().map(|c| format!(" ({})", crate::untrusted::printable(c))).unwrap_or_default()
    )]
    Status { status: u16, code: Option<String> },
    #[error("cannot build the request: {0}")]
    Build(String),
}

/// Sends one `oauth2` request through our HTTP client. A failure status with a standard OAuth
/// error body is passed on for `oauth2` to read; any other failure status becomes
/// `TokenHttpError::Status` with the error code found in the body.
pub async fn send(
    http: &reqwest::Client,
    request: oauth2::HttpRequest,
) -> Result<oauth2::HttpResponse, TokenHttpError> {
    let (parts, body) = request.into_parts();
    let request = http
        .request(parts.method, parts.uri.to_string())
        .headers(parts.headers)
        .body(body)
        .build()?;
    let response = http.execute(request).await?;
    let status = response.status();
    let headers = response.headers().clone();
    let body = crate::http::read_body(response).await?;
    read_answer(status, headers, body)
}

/// The issuer's answer to an `oauth2` request, as `oauth2` gets it to read: a standard OAuth
/// error or a success is passed on; any other failure becomes `TokenHttpError::Status`.
pub fn read_answer(
    status: http::StatusCode,
    headers: http::HeaderMap,
    body: Vec<u8>,
) -> Result<oauth2::HttpResponse, TokenHttpError> {
    if !status.is_success() && serde_json::from_slice::<BasicErrorResponse>(&body).is_err() {
        return Err(TokenHttpError::Status {
            status: status.as_u16(),
            code: error_code(&body),
        });
    }
    let mut builder = oauth2::http::Response::builder().status(status);
    if let Some(h) = builder.headers_mut() {
        *h = headers;
    }
    builder
        .body(body)
        .map_err(|e| TokenHttpError::Build(e.to_string()))
}

/// The error code of an error body: `error.code`, `error` (a string) or `code`.
pub fn error_code(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let text = |v: &serde_json::Value| v.as_str().map(str::to_string);
    value
        .get("error")
        .and_then(|e| e.get("code").and_then(text).or_else(|| text(e)))
        .or_else(|| value.get("code").and_then(text))
}

/// A failed token-endpoint request, read once from whatever `oauth2` reports. Never holds the
/// response body (it may hold tokens): only codes, statuses and descriptions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenFailure {
    /// An OAuth error answer (RFC 6749 5.2), or an error code found in another error body.
    Refused {
        status: Option<u16>,
        code: String,
        description: Option<String>,
    },
    /// A failure status whose body names no error code.
    Status(u16),
    /// No answer: connection, TLS, proxy or timeout, already described for people.
    Transport(String),
    /// An answer that is not a token response.
    BadResponse(String),
    /// Anything else `oauth2` reports (for example a device code that ran out).
    Other(String),
}

impl TokenFailure {
    /// The issuer's error code, if it gave one.
    pub fn code(&self) -> Option<&str> {
        match self {
            TokenFailure::Refused { code, .. } => Some(code),
            TokenFailure::Status(_)
            | TokenFailure::Transport(_)
            | TokenFailure::BadResponse(_)
            | TokenFailure::Other(_) => None,
        }
    }

    /// Worth trying again: no answer, a server error or rate limiting.
    pub fn is_transient(&self) -> bool {
        match self {
            TokenFailure::Transport(_) => true,
            TokenFailure::Status(s)
            | TokenFailure::Refused {
                status: Some(s), ..
            } => *s >= 500 || *s == 429,
            TokenFailure::Refused { status: None, .. }
            | TokenFailure::BadResponse(_)
            | TokenFailure::Other(_) => false,
        }
    }

    /// Reads an `oauth2` error, whatever its error-code type.
    pub fn from_oauth2<T>(err: RequestTokenError<TokenHttpError, StandardErrorResponse<T>>) -> Self
    where
        T: ErrorResponseType + AsRef<str> + std::fmt::Display,
    {
        match err {
            RequestTokenError::ServerResponse(e) => TokenFailure::Refused {
                status: None,
                code: e.error().as_ref().to_string(),
                description: e.error_description().cloned(),
            },
            RequestTokenError::Request(TokenHttpError::Status {
                status,
                code: Some(code),
            }) => TokenFailure::Refused {
                status: Some(status),
                code,
                description: None,
            },
            RequestTokenError::Request(TokenHttpError::Status { status, code: None }) => {
                TokenFailure::Status(status)
            }
            RequestTokenError::Request(e) => TokenFailure::Transport(e.to_string()),
            // The path is `.` for the answer as a whole (a required field missing): not worth
            // saying.
            RequestTokenError::Parse(e, body) => TokenFailure::BadResponse(if body.is_empty() {
                "an empty body".to_string()
            } else if e.path().to_string() == "." {
                e.inner().to_string()
            } else {
                format!("{}, at {}", e.inner(), e.path())
            }),
            RequestTokenError::Other(text) => TokenFailure::Other(text),
        }
    }
}

/// A token endpoint's whole answer (capped, see `http::read_body`), or why it could not be read.
pub async fn read_token_body(response: reqwest::Response) -> Result<Vec<u8>, TokenFailure> {
    crate::http::read_body(response).await.map_err(|e| match e {
        crate::http::BodyError::Transport(e) => TokenFailure::Transport(crate::http::describe(&e)),
        too_large @ crate::http::BodyError::TooLarge { .. } => {
            TokenFailure::BadResponse(too_large.to_string())
        }
    })
}

/// Codes and descriptions are the issuer's text: shown with control characters escaped.
impl std::fmt::Display for TokenFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::untrusted::printable;
        match self {
            TokenFailure::Refused {
                status,
                code,
                description,
            } => {
                let code = printable(code);
                let description = description.as_deref().map(printable);
                match status {
                    Some(s) => write!(f, "it answered HTTP {s} ({code})")?,
                    None => write!(f, "{code}")?,
                }
                match description {
                    Some(d) => write!(f, " ({d})"),
                    None => Ok(()),
                }
            }
            TokenFailure::Status(s) => write!(f, "it answered HTTP {s}"),
            TokenFailure::Transport(detail) | TokenFailure::Other(detail) => f.write_str(detail),
            TokenFailure::BadResponse(detail) => {
                write!(f, "the answer is not a token response ({detail})")
            }
        }
    }
}

/// A failed sign-in token request (code exchange, device token) as the sign-in's error.
pub fn token_error(url: &str, failure: TokenFailure) -> OAuthError {
    match failure {
        TokenFailure::Transport(detail) => OAuthError::Transport { detail },
        TokenFailure::BadResponse(detail) => OAuthError::BadResponse {
            url: url.to_string(),
            detail,
        },
        refused @ (TokenFailure::Refused { .. }
        | TokenFailure::Status(_)
        | TokenFailure::Other(_)) => OAuthError::Refused {
            url: url.to_string(),
            detail: refused.to_string(),
        },
    }
}

/// The API-key exchange is optional: it must not hold up a sign-in that already succeeded.
const API_KEY_EXCHANGE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The answer to the API-key token exchange.
#[derive(Deserialize)]
pub struct ExchangedKey {
    access_token: String,
}

/// The "openai" protocol's extra step: trade the ID token for an API key. Best effort: any
/// failure leaves the sign-in without a key, as the reference does.
pub async fn exchange_for_api_key(
    http: &reqwest::Client,
    settings: &AuthSettings,
    endpoints: &Endpoints,
    id_token: &Secret<String>,
) -> Option<Secret<String>> {
    let form = [
        (
            "grant_type",
            "urn:ietf:params:oauth:grant-type:token-exchange",
        ),
        ("client_id", settings.client_id.as_str()),
        ("requested_token", "openai-api-key"),
        ("subject_token", id_token.expose().as_str()),
        (
            "subject_token_type",
            "urn:ietf:params:oauth:token-type:id_token",
        ),
    ];
    let result = async {
        let response = http
            .post(&endpoints.token)
            .form(&form)
            .timeout(API_KEY_EXCHANGE_TIMEOUT)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| crate::http::describe(&e))?;
        let bytes = crate::http::read_body(response)
            .await
            .map_err(|e| e.to_string())?;
        serde_json::from_slice::<ExchangedKey>(&bytes).map_err(|e| crate::secret::json_error(&e))
    }
    .await;
    match result {
        Ok(key) => Some(Secret::new(key.access_token)),
        Err(error) => {
            tracing::debug!(%error, "API-key token exchange failed; continuing without a key");
            None
        }
    }
}

pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
