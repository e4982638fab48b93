//! An MCP server's tokens after the sign-in: the token requests (code exchange and refresh, with
//! `resource`, RFC 8707), a valid access token for `codex mcp token` (refreshed when it expires
//! within 30 s, under the server's cross-process lock, after reading the store again, so two
//! processes never both spend a rotating refresh token, and only at the authorization server the
//! MCP server names today, which must be the one that issued it), and the revoke of
//! `codex mcp logout`.

use std::time::Duration;

use oauth2::{AuthorizationCode, PkceCodeVerifier, RedirectUrl, RefreshToken, TokenResponse};

use super::discovery::{self, AuthServer};
use super::{McpError, REFRESH_SKEW_MS, Server};
use crate::oauth::{self, TokenFailure};
use crate::secret::Secret;
use crate::store::mcp::{McpStore, McpTokens, now_millis};

/// A token endpoint's answer, read once.
pub struct Issued {
    pub access_token: Secret<String>,
    pub refresh_token: Option<Secret<String>>,
    pub expires_in: Option<Duration>,
    pub scopes: Option<Vec<String>>,
}

impl Issued {
    pub fn from_response(response: &oauth::TokenResponseWithId) -> Issued {
        Issued {
            access_token: Secret::new(response.access_token().secret().clone()),
            refresh_token: response
                .refresh_token()
                .map(|t| Secret::new(t.secret().clone())),
            expires_in: response.expires_in(),
            scopes: response
                .scopes()
                .map(|s| s.iter().map(|s| String::clone(s)).collect()),
        }
    }

    /// The stored document for these tokens; what the answer leaves out is kept from `before`.
    pub fn into_tokens(self, before: McpTokens) -> McpTokens {
        McpTokens {
            expires_at: self
                .expires_in
                .map(|d| now_millis().saturating_add(d.as_millis() as u64)),
            access_token: self.access_token,
            refresh_token: self.refresh_token.or(before.refresh_token),
            scopes: self.scopes.unwrap_or(before.scopes),
            ..before
        }
    }
}

/// A failed token request: refused by the server, or answered with something that is not
/// tokens (or not at all), which is told apart.
fn token_error(url: &str, failure: TokenFailure) -> McpError {
    let url = crate::secret::shown_url(url);
    let detail = failure.to_string();
    match failure {
        TokenFailure::Refused { .. } | TokenFailure::Status(_) => McpError::Token { url, detail },
        TokenFailure::Transport(_) | TokenFailure::BadResponse(_) | TokenFailure::Other(_) => {
            McpError::TokenAnswer { url, detail }
        }
    }
}

/// Exchanges the authorization code (with the PKCE verifier and `resource`).
pub async fn exchange_code(
    http: &reqwest::Client,
    auth_server: &AuthServer,
    client_id: &str,
    code: Secret<String>,
    redirect_uri: &str,
    verifier: Secret<String>,
    resource: &str,
) -> Result<Issued, McpError> {
    let url = &auth_server.token_endpoint;
    let redirect = RedirectUrl::new(redirect_uri.to_string())
        .map_err(|_| McpError::Discovery(format!("`{redirect_uri}` is not a redirect URI")))?;
    let client =
        oauth::client_for(client_id, url).map_err(|e| McpError::Discovery(e.to_string()))?;
    let response = client
        .set_redirect_uri(redirect)
        .exchange_code(AuthorizationCode::new(code.into_inner()))
        .set_pkce_verifier(PkceCodeVerifier::new(verifier.into_inner()))
        .add_extra_param("resource", resource)
        .request_async(&|request| oauth::send(http, request))
        .await
        .map_err(|e| token_error(url, TokenFailure::from_oauth2(e)))?;
    Ok(Issued::from_response(&response))
}

async fn refresh(
    http: &reqwest::Client,
    auth_server: &AuthServer,
    client_id: &str,
    refresh_token: &Secret<String>,
    resource: &str,
) -> Result<Issued, TokenFailure> {
    let client = oauth::client_for(client_id, &auth_server.token_endpoint)
        .map_err(|e| TokenFailure::BadResponse(e.to_string()))?;
    let token = RefreshToken::new(refresh_token.expose().clone());
    let response = client
        .exchange_refresh_token(&token)
        .add_extra_param("resource", resource)
        .request_async(&|request| oauth::send(http, request))
        .await
        .map_err(TokenFailure::from_oauth2)?;
    Ok(Issued::from_response(&response))
}

/// The authorization server that issued `tokens`; a missing issuer means a new sign-in.
fn stored_issuer<'t>(server: &Server, tokens: &'t McpTokens) -> Result<&'t str, McpError> {
    tokens
        .issuer
        .as_deref()
        .ok_or_else(|| McpError::SignInAgain {
            name: crate::untrusted::printable(&server.name).into_owned(),
            why: "do not say which authorization server issued them".to_string(),
        })
}

/// A valid access token of `server`: the stored one, or a refreshed one when it expires within
/// 30 s. The refresh happens under the server's lock, after reading the store again: a token
/// another process refreshed meanwhile is taken as it is.
pub async fn current(
    http: &crate::http::Lazy<'_>,
    store: &McpStore,
    server: &Server,
) -> Result<Secret<String>, McpError> {
    let name = crate::untrusted::printable(&server.name).into_owned();
    let not_logged_in = || McpError::NotLoggedIn(name.clone());
    let (tokens, _) = store
        .load(&server.name, &server.url)?
        .ok_or_else(not_logged_in)?;
    if !tokens.expires_within(REFRESH_SKEW_MS) {
        return Ok(tokens.access_token);
    }
    let _lock = store.lock_server(&tokens.key())?;
    let (tokens, _) = store
        .load(&server.name, &server.url)?
        .ok_or_else(not_logged_in)?;
    if !tokens.expires_within(REFRESH_SKEW_MS) {
        tracing::debug!("another process refreshed the MCP token meanwhile");
        return Ok(tokens.access_token);
    }
    let Some(refresh_token) = tokens.refresh_token.clone() else {
        return Err(McpError::SignInAgain {
            name,
            why: "have expired and hold no refresh token".to_string(),
        });
    };
    let stored = stored_issuer(server, &tokens)?;
    // The server may have moved to another authorization server since the sign-in: its
    // refresh token is the old one's, and is never sent to another.
    let discovery_client =
        crate::http::client_with(http.network(), crate::http::Redirects::SameOrigin)?;
    let found = discovery::discover(&discovery_client, &server.url).await?;
    let auth_server = found.auth_server;
    if !discovery::same(&auth_server.issuer, stored) {
        return Err(McpError::IssuerChanged {
            name,
            stored: crate::untrusted::printable(stored).into_owned(),
            current: crate::untrusted::printable(&auth_server.issuer).into_owned(),
        });
    }
    let http = http.get()?;
    let resource = server.resource(found.resource.as_deref());
    let issued = refresh(
        http,
        &auth_server,
        &tokens.client_id,
        &refresh_token,
        &resource,
    )
    .await
    .map_err(|failure| {
        // The grant is gone (a spent or revoked refresh token): only a new sign-in helps.
        if failure.code() == Some("invalid_grant") {
            McpError::SignInAgain {
                name: name.clone(),
                why: format!(
                    "were refused by `{}` ({failure})",
                    crate::untrusted::printable(&auth_server.issuer)
                ),
            }
        } else {
            token_error(&auth_server.token_endpoint, failure)
        }
    })?;
    let refreshed = issued.into_tokens(tokens);
    store.save(&refreshed)?;
    tracing::debug!("refreshed the MCP token");
    Ok(refreshed.access_token)
}

/// Revokes the refresh token (else the access token) at the issuer's revocation endpoint
/// (RFC 7009). `Err` says why it was not.
pub async fn revoke(
    http: &reqwest::Client,
    server: &Server,
    tokens: &McpTokens,
) -> Result<(), String> {
    let issuer = stored_issuer(server, tokens).map_err(|e| e.to_string())?;
    let auth_server = discovery::authorization_server(http, issuer)
        .await
        .map_err(|e| e.to_string())?;
    let Some(url) = &auth_server.revocation_endpoint else {
        return Err(format!(
            "`{}` has no revocation endpoint",
            crate::untrusted::printable(&auth_server.issuer)
        ));
    };
    let (token, hint) = match &tokens.refresh_token {
        Some(refresh) => (refresh, "refresh_token"),
        None => (&tokens.access_token, "access_token"),
    };
    let revoke = oauth::refresh::revoke_form(http, url, &tokens.client_id, token, hint);
    tokio::time::timeout(Duration::from_secs(10), revoke)
        .await
        .unwrap_or_else(|_| Err(format!("`{url}` did not answer within 10 s")))
}
