//! MCP server sign-in (`codex mcp login|logout|list|token`): where a server's authorization
//! server is (`discovery.rs`: RFC 9728, then RFC 8414, then OpenID discovery), who we are to it
//! (`register.rs`: a configured client id, else RFC 7591 registration), the sign-in itself
//! (`login.rs`: authorization code + PKCE S256 + `resource` on a loopback callback), and the
//! token's life after it (`token.rs`: refresh under a lock, revoke). The tokens are kept by
//! `store::mcp`, in the reference CLI's places. Built on `oauth/` and the `oauth2` crate rather
//! than the `rmcp` SDK, whose OAuth client would bring a second HTTP and OAuth stack.

pub mod discovery;
pub mod edit;
pub mod login;
pub mod register;
pub mod settings;
pub mod token;

use thiserror::Error;

use crate::store::mcp::McpStoreError;
use settings::{McpServerToml, StaticAuth, Transport};

/// How long one discovery request may take.
pub const DISCOVERY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
/// A token is refreshed when it expires within this (as the reference does).
pub const REFRESH_SKEW_MS: u64 = 30_000;

#[derive(Debug, Error)]
pub enum McpError {
    #[error(
        "No MCP server named '{0}' found in config.toml (`codex mcp list` shows the configured ones)"
    )]
    UnknownServer(String),
    #[error("OAuth login is only supported for streamable HTTP servers.")]
    NotHttp,
    #[error("MCP server '{name}' needs no sign-in: {how}")]
    StaticAuth { name: String, how: String },
    #[error("{url} in [mcp_servers.{name}] is not an http(s) URL")]
    BadUrl { name: String, url: String },
    #[error("{0}")]
    Discovery(String),
    #[error(
        "the authorization server `{issuer}` does not offer dynamic client registration, and no client id is configured for '{name}'. Register a client there ({client}) and set its id in config.toml:\n\n[mcp_servers.{name}.oauth]\nclient_id = \"...\""
    )]
    NoRegistration {
        issuer: String,
        name: String,
        client: String,
    },
    #[error(
        "the authorization server `{issuer}` offers no device sign-in (no device_authorization_endpoint); sign in in a browser instead: codex mcp login {name}"
    )]
    NoDeviceSignIn { issuer: String, name: String },
    #[error("the device sign-in to MCP server '{name}' failed: {detail}")]
    Device { name: String, detail: String },
    #[error("client registration at {url} failed: {detail}")]
    Registration { url: String, detail: String },
    #[error("the sign-in to MCP server '{name}' failed: {detail}")]
    Denied { name: String, detail: String },
    #[error(
        "the authorization server `{issuer}` refused the scopes `{scopes}` {from}: {detail}; {fix}"
    )]
    ScopesRefused {
        issuer: String,
        scopes: String,
        from: String,
        detail: String,
        fix: String,
    },
    #[error(
        "the callback came from issuer `{got}`, not `{expected}` (RFC 9207); the sign-in was refused. Run `codex mcp login {name}` again"
    )]
    WrongIssuer {
        name: String,
        expected: String,
        got: String,
    },
    #[error(
        "timed out waiting for OAuth callback after {secs} s; run `codex mcp login {name}` again (--timeout SECS waits longer)"
    )]
    TimedOut { name: String, secs: u64 },
    #[error("{url} refused the token request: {detail}")]
    Token { url: String, detail: String },
    #[error("the token request to {url} failed: {detail}")]
    TokenAnswer { url: String, detail: String },
    #[error("Not logged in to MCP server '{0}'. Run `codex mcp login {0}`")]
    NotLoggedIn(String),
    #[error(
        "the stored tokens of MCP server '{name}' {why}; run `codex mcp login {name}` to sign in again"
    )]
    SignInAgain { name: String, why: String },
    #[error(
        "MCP server '{name}' now names the authorization server `{current}`, not `{stored}`, which issued its tokens; they were not refreshed (a refresh token is only ever sent to its issuer). Run `codex mcp login {name}` to sign in at `{current}`"
    )]
    IssuerChanged {
        name: String,
        stored: String,
        current: String,
    },
    #[error(
        "could not check the OS keyring for tokens of '{name}': {cause}; nothing was removed. Run `codex mcp logout {name}` again once the keyring answers"
    )]
    KeyringUnchecked { name: String, cause: String },
    #[error(transparent)]
    Store(#[from] McpStoreError),
    #[error(transparent)]
    Http(#[from] crate::http::HttpError),
    #[error(transparent)]
    Login(#[from] crate::login::LoginError),
    #[error(transparent)]
    Edit(#[from] edit::EditError),
}

/// An answer read as `T`; `Err` says what it is not: JSON at all (a proxy's error page, say),
/// or `expected` (wrong types, a required field missing), with the place in it.
pub fn parse_answer<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    expected: &str,
) -> Result<T, String> {
    serde_json::from_slice(bytes).map_err(|e| {
        let what = match serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
            Ok(_) => expected,
            Err(_) => "JSON",
        };
        format!("not {what}: {}", crate::secret::json_error(&e))
    })
}

/// Why an answer could not be read, for a message that already names its URL.
pub fn unread(e: &crate::http::BodyError) -> String {
    match e {
        crate::http::BodyError::Transport(e) => crate::http::describe(e),
        crate::http::BodyError::TooLarge { .. } => {
            "the answer is larger than 1 MiB, far more than it should be".to_string()
        }
    }
}

impl From<crate::store::StoreError> for McpError {
    fn from(err: crate::store::StoreError) -> McpError {
        McpError::Store(McpStoreError::Store(err))
    }
}

/// A configured server that can sign in: its name, URL and table.
#[derive(Debug, Clone)]
pub struct Server {
    pub name: String,
    pub url: String,
    pub table: McpServerToml,
}

impl Server {
    /// The server `name` of config.toml, checked to be one an OAuth sign-in is for.
    pub fn find(config: &crate::config::Config, name: &str) -> Result<Server, McpError> {
        let shown = crate::untrusted::printable(name).into_owned();
        let table = config
            .mcp
            .servers
            .get(name)
            .ok_or_else(|| McpError::UnknownServer(shown.clone()))?;
        let url = match table.transport() {
            Transport::Http(url) => url,
            Transport::Stdio(_) | Transport::Unknown => return Err(McpError::NotHttp),
        };
        if let Some(auth) = table.static_auth() {
            let how = match auth {
                StaticAuth::EnvVar(var) => format!(
                    "it sends the bearer token in ${}. To sign in with OAuth instead, remove `bearer_token_env_var` from [mcp_servers.{shown}]",
                    crate::untrusted::printable(&var)
                ),
                StaticAuth::Header => format!(
                    "it sends an Authorization header of its own. To sign in with OAuth instead, remove that header from [mcp_servers.{shown}]"
                ),
            };
            return Err(McpError::StaticAuth { name: shown, how });
        }
        if crate::http::http_url(&url).is_none() {
            return Err(McpError::BadUrl {
                name: shown,
                url: crate::secret::shown_url(&url),
            });
        }
        Ok(Server {
            name: name.to_string(),
            url,
            table: table.clone(),
        })
    }

    /// The `resource` (RFC 8707) to ask tokens for: `oauth_resource`, else what discovery
    /// found, else the server's URL.
    pub fn resource(&self, discovered: Option<&str>) -> String {
        self.table
            .oauth_resource
            .clone()
            .filter(|r| !r.trim().is_empty())
            .or_else(|| discovered.map(str::to_string))
            .unwrap_or_else(|| self.url.clone())
    }
}
