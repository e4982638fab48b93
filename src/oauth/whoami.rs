//! Who a personal access token (`at-...`) belongs to: `GET {authapi}/v1/user-auth-credential/whoami`
//! with the token as Bearer, answered with the account, user, plan and whether the account is
//! FedRAMP. One request per run (the token has no refresh); its texts are the reference's.

use serde::Deserialize;
use thiserror::Error;
use url::Url;

use crate::secret::Secret;

pub const WHOAMI_PATH: &str = "/v1/user-auth-credential/whoami";

/// The prefix of a personal access token; any other access token is an agent identity token.
pub const PAT_PREFIX: &str = "at-";

/// What kind of access token a string is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    PersonalAccessToken,
    /// An agent identity JWT (Ed25519-signed request assertions): not supported here.
    AgentIdentity,
}

pub fn kind_of(token: &str) -> TokenKind {
    if token.starts_with(PAT_PREFIX) {
        TokenKind::PersonalAccessToken
    } else {
        TokenKind::AgentIdentity
    }
}

/// The owner of a personal access token, as the issuer describes it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TokenOwner {
    #[serde(default)]
    pub email: Option<String>,
    pub chatgpt_user_id: String,
    pub chatgpt_account_id: String,
    pub chatgpt_plan_type: String,
    pub chatgpt_account_is_fedramp: bool,
}

impl TokenOwner {
    /// `alice@example.com (ChatGPT enterprise plan, account acct_1)`: the issuer's text, escaped.
    pub fn describe(&self) -> String {
        use crate::untrusted::printable;
        let who = self
            .email
            .as_deref()
            .filter(|e| !e.trim().is_empty())
            .map(|e| printable(e).into_owned())
            .unwrap_or_else(|| format!("user {}", printable(&self.chatgpt_user_id)));
        format!(
            "{who} (ChatGPT {} plan, account {})",
            printable(&self.chatgpt_plan_type),
            printable(&self.chatgpt_account_id)
        )
    }
}

/// Why the lookup failed: the reference's sentences, then the URL asked.
#[derive(Debug, Error)]
pub enum WhoamiError {
    #[error("failed to request personal access token metadata: {detail} (GET {url})")]
    Request { url: String, detail: String },
    #[error("personal access token metadata request failed with status {status} (GET {url})")]
    Status { url: String, status: String },
    #[error("failed to decode personal access token metadata: {detail} (GET {url})")]
    Decode { url: String, detail: String },
    #[error(
        "the personal access token lookup would go to `{url}`, which is neither HTTPS nor a loopback address, so the token was not sent; fix CODEX_AUTHAPI_BASE_URL (or the issuer)"
    )]
    Insecure { url: String },
    #[error(transparent)]
    Http(#[from] crate::http::HttpError),
}

/// The lookup as every command makes it: at `settings`' authapi, over HTTPS (or to loopback),
/// with a client that follows no redirect.
pub async fn lookup(
    net: &crate::http::NetworkSettings,
    settings: &super::AuthSettings,
    token: &Secret<String>,
) -> Result<TokenOwner, WhoamiError> {
    let base = settings.authapi_base();
    let url = match url(&base) {
        Ok(url) if crate::http::credential_safe(&url) => url,
        Ok(_) | Err(_) => {
            return Err(WhoamiError::Insecure {
                url: crate::secret::masked_url(&base).unwrap_or(base),
            });
        }
    };
    let http = crate::http::client_with(net, crate::http::Redirects::Never)?;
    whoami(&http, &url, token).await
}

/// The whoami URL under an authapi base URL (without its trailing slash).
pub fn url(authapi_base: &str) -> Result<Url, url::ParseError> {
    Url::parse(&format!(
        "{}{WHOAMI_PATH}",
        authapi_base.trim_end_matches('/')
    ))
}

/// One lookup. `http` must be built with `http::Redirects::Never`, and the caller has checked
/// `url` with `http::credential_safe`: the token goes there and nowhere else.
pub async fn whoami(
    http: &reqwest::Client,
    url: &Url,
    token: &Secret<String>,
) -> Result<TokenOwner, WhoamiError> {
    let shown = url.to_string();
    let response = http
        .get(url.clone())
        .bearer_auth(token.expose())
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| WhoamiError::Request {
            url: shown.clone(),
            detail: crate::http::describe(&e),
        })?;
    let status = response.status();
    tracing::debug!(%status, "personal access token lookup answered");
    if !status.is_success() {
        return Err(WhoamiError::Status {
            url: shown,
            status: status.to_string(),
        });
    }
    let bytes = crate::http::read_body(response)
        .await
        .map_err(|e| WhoamiError::Request {
            url: shown.clone(),
            detail: e.to_string(),
        })?;
    read_owner(&bytes).map_err(|detail| WhoamiError::Decode { url: shown, detail })
}

/// The answer, checked: the ids must be there and not blank.
pub fn read_owner(bytes: &[u8]) -> Result<TokenOwner, String> {
    let owner: TokenOwner =
        serde_json::from_slice(bytes).map_err(|e| crate::secret::json_error(&e))?;
    for (name, value) in [
        ("chatgpt_user_id", &owner.chatgpt_user_id),
        ("chatgpt_account_id", &owner.chatgpt_account_id),
    ] {
        if value.trim().is_empty() {
            return Err(format!("`{name}` is empty"));
        }
    }
    Ok(owner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_owner_without_email_is_read() {
        let owner = read_owner(br#"{"email":null,"chatgpt_user_id":"u","chatgpt_account_id":"a","chatgpt_plan_type":"enterprise","chatgpt_account_is_fedramp":true}"#).unwrap();
        assert_eq!(owner.email, None);
        assert!(owner.chatgpt_account_is_fedramp);
    }

    #[test]
    fn garbage_and_blank_ids_are_refused() {
        assert!(read_owner(b"<html>").is_err());
        assert!(read_owner(br#"{"chatgpt_user_id":"u"}"#).is_err());
        assert_eq!(
            read_owner(br#"{"chatgpt_user_id":"u","chatgpt_account_id":" ","chatgpt_plan_type":"p","chatgpt_account_is_fedramp":false}"#),
            Err("`chatgpt_account_id` is empty".to_string())
        );
    }

    #[test]
    fn the_url_is_under_the_base() {
        assert_eq!(
            url("https://auth.openai.com/api/accounts/")
                .unwrap()
                .as_str(),
            "https://auth.openai.com/api/accounts/v1/user-auth-credential/whoami"
        );
    }
}
