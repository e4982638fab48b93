//! The workload identity exchange (RFC 7523 section 2.1, with OpenAI's federation rule): a
//! platform's OIDC token, the assertion, traded at the issuer's token endpoint for a short-lived
//! ChatGPT access token. One request and its answer, checked field by field; when to exchange,
//! where the assertion comes from and what the token is for is `credential::workload`'s.

use serde::Deserialize;
use url::Url;

use super::TokenFailure;
use crate::secret::Secret;

pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
/// The longest lifetime an answer may claim (the reference refuses more, and so do we: a token
/// that outlives the platform's rotation of the assertion defeats the point).
pub const MAX_LIFETIME_SECS: u64 = 3600;

/// What one exchange sends. The assertion is a credential (other relying parties may accept
/// it): the caller has checked `token_url` with `http::credential_safe`, and the client it
/// passes follows no redirect.
pub struct Exchange<'a> {
    pub token_url: &'a Url,
    pub assertion: &'a Secret<String>,
    pub rule_id: &'a str,
    pub context: Option<&'a str>,
}

/// Whom a token was issued for; a later token for anyone else is refused (subject pinning).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub account_id: String,
    pub account_user_id: String,
    pub user_id: String,
}

/// A checked answer.
#[derive(Debug, Clone)]
pub struct WorkloadToken {
    pub access_token: Secret<String>,
    /// In (0, `MAX_LIFETIME_SECS`].
    pub expires_in: u64,
    pub principal: Principal,
    pub plan: Option<String>,
    pub scope: String,
}

/// The answer as it comes: every field optional here, so that a missing one is named.
#[derive(Deserialize)]
struct Answer {
    access_token: Option<Secret<String>>,
    issued_token_type: Option<String>,
    token_type: Option<String>,
    expires_in: Option<serde_json::Number>,
    scope: Option<String>,
    chatgpt_account_id: Option<String>,
    chatgpt_account_user_id: Option<String>,
    user_id: Option<String>,
    chatgpt_plan_type: Option<String>,
}

/// One exchange. `http` must be built with `http::Redirects::Never`.
pub async fn exchange(
    http: &reqwest::Client,
    request: &Exchange<'_>,
) -> Result<WorkloadToken, TokenFailure> {
    let mut form = vec![
        ("grant_type", GRANT_TYPE),
        ("assertion", request.assertion.expose().as_str()),
        ("federation_rule_id", request.rule_id),
    ];
    if let Some(context) = request.context {
        form.push(("workload_identity_context", context));
    }
    let transport = |e: reqwest::Error| TokenFailure::Transport(crate::http::describe(&e));
    let response = http
        .post(request.token_url.clone())
        .header(reqwest::header::ACCEPT, "application/json")
        .form(&form)
        .send()
        .await
        .map_err(transport)?;
    let status = response.status();
    if status.is_redirection() {
        return Err(TokenFailure::Other(format!(
            "it answered with a redirect (HTTP {}), which is not followed: the assertion goes to the token endpoint only",
            status.as_u16()
        )));
    }
    let bytes = super::read_token_body(response).await?;
    if !status.is_success() {
        return Err(refusal(status.as_u16(), &bytes, request.assertion));
    }
    read_answer(&bytes)
}

/// A failure status: the OAuth error code and description when the body has them. The
/// description is the issuer's text; one that quotes the assertion back is not repeated.
fn refusal(status: u16, bytes: &[u8], assertion: &Secret<String>) -> TokenFailure {
    let Some(code) = super::error_code(bytes) else {
        return TokenFailure::Status(status);
    };
    let description = serde_json::from_slice::<serde_json::Value>(bytes)
        .ok()
        .and_then(|v| v.get("error_description")?.as_str().map(str::to_string))
        .filter(|d| !d.contains(assertion.expose().as_str()));
    TokenFailure::Refused {
        status: Some(status),
        code,
        description,
    }
}

/// A 2xx answer, checked: every field PROTOCOL.md lists, the token type, the lifetime.
pub fn read_answer(bytes: &[u8]) -> Result<WorkloadToken, TokenFailure> {
    let bad = |detail: String| TokenFailure::BadResponse(detail);
    let answer: Answer =
        serde_json::from_slice(bytes).map_err(|e| bad(crate::secret::json_error(&e)))?;
    let required = |value: Option<String>, name: &str| {
        value
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| bad(format!("it has no `{name}`")))
    };
    let access_token = answer
        .access_token
        .filter(|t| !t.expose().trim().is_empty())
        .ok_or_else(|| bad("it has no `access_token`".to_string()))?;
    if crate::secret::has_control(access_token.expose()) {
        return Err(bad(
            "its `access_token` holds a control character, which no HTTP header can carry"
                .to_string(),
        ));
    }
    let issued = required(answer.issued_token_type, "issued_token_type")?;
    if issued != ACCESS_TOKEN_TYPE {
        return Err(bad(format!(
            "`issued_token_type` is {}, not `{ACCESS_TOKEN_TYPE}`",
            crate::secret::shown_value(&issued, '`')
        )));
    }
    let token_type = required(answer.token_type, "token_type")?;
    if !token_type.eq_ignore_ascii_case("bearer") {
        return Err(bad(format!(
            "`token_type` is {}, not `Bearer`",
            crate::secret::shown_value(&token_type, '`')
        )));
    }
    let expires_in = answer
        .expires_in
        .ok_or_else(|| bad("it has no `expires_in`".to_string()))?;
    let expires_in = expires_in
        .as_u64()
        .filter(|s| (1..=MAX_LIFETIME_SECS).contains(s))
        .ok_or_else(|| {
            bad(format!(
                "`expires_in` is {expires_in}, outside 1..={MAX_LIFETIME_SECS} seconds"
            ))
        })?;
    let scope = required(answer.scope, "scope")?;
    let principal = Principal {
        account_id: required(answer.chatgpt_account_id, "chatgpt_account_id")?,
        account_user_id: required(answer.chatgpt_account_user_id, "chatgpt_account_user_id")?,
        user_id: required(answer.user_id, "user_id")?,
    };
    // A JWT access token names its user too: it must be the one the answer names.
    let claims = crate::jwt::id_claims(access_token.expose());
    if let Some(account) = claims.account_id.as_deref()
        && account != principal.account_id
    {
        return Err(bad(
            "its `access_token` is for another account than `chatgpt_account_id`".to_string(),
        ));
    }
    Ok(WorkloadToken {
        access_token,
        expires_in,
        principal,
        plan: answer.chatgpt_plan_type.filter(|p| !p.trim().is_empty()),
        scope,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(change: impl FnOnce(&mut serde_json::Value)) -> Result<WorkloadToken, TokenFailure> {
        let mut v = serde_json::json!({
            "access_token": "tok", "issued_token_type": ACCESS_TOKEN_TYPE,
            "token_type": "bearer", "expires_in": 3600, "scope": "model.request",
            "chatgpt_account_id": "acct", "chatgpt_account_user_id": "user__acct",
            "user_id": "user", "chatgpt_plan_type": "enterprise"
        });
        change(&mut v);
        read_answer(v.to_string().as_bytes())
    }

    fn detail(r: Result<WorkloadToken, TokenFailure>) -> String {
        match r {
            Err(TokenFailure::BadResponse(d)) => d,
            other => panic!("expected a bad response, got {other:?}"),
        }
    }

    #[test]
    fn a_complete_answer_is_read() {
        let t = answer(|_| {}).unwrap();
        assert_eq!(t.expires_in, 3600);
        assert_eq!(t.principal.account_user_id, "user__acct");
        assert_eq!(t.plan.as_deref(), Some("enterprise"));
    }

    #[test]
    fn each_missing_field_is_named() {
        for field in [
            "access_token",
            "issued_token_type",
            "token_type",
            "expires_in",
            "scope",
            "chatgpt_account_id",
            "chatgpt_account_user_id",
            "user_id",
        ] {
            let d = detail(answer(|v| {
                v.as_object_mut().unwrap().remove(field);
            }));
            assert_eq!(d, format!("it has no `{field}`"));
        }
        assert!(
            answer(|v| {
                v.as_object_mut().unwrap().remove("chatgpt_plan_type");
            })
            .is_ok()
        );
    }

    #[test]
    fn lifetimes_outside_one_hour_are_refused() {
        for bad in [
            serde_json::json!(0),
            serde_json::json!(-5),
            serde_json::json!(3601),
            serde_json::json!(1.5),
        ] {
            let d = detail(answer(|v| v["expires_in"] = bad.clone()));
            assert!(d.starts_with("`expires_in` is "), "{d}");
        }
        assert_eq!(
            answer(|v| v["expires_in"] = 1.into()).unwrap().expires_in,
            1
        );
    }

    #[test]
    fn wrong_token_types_are_refused() {
        assert!(detail(answer(|v| v["token_type"] = "mac".into())).contains("`mac`"));
        assert!(detail(answer(|v| v["issued_token_type"] = "id_token".into())).contains("not"));
        assert_eq!(
            answer(|v| v["token_type"] = "BEARER".into()).unwrap().scope,
            "model.request"
        );
    }

    #[test]
    fn html_is_not_an_answer() {
        assert!(read_answer(b"<html>sign in</html>").is_err());
    }

    #[test]
    fn an_echoed_assertion_is_not_repeated() {
        let assertion = Secret::new("eyJ.assertion.sig".to_string());
        let body = br#"{"error":"invalid_grant","error_description":"bad eyJ.assertion.sig"}"#;
        match refusal(400, body, &assertion) {
            TokenFailure::Refused { description, .. } => assert_eq!(description, None),
            other => panic!("{other:?}"),
        }
        let body = br#"{"error":"invalid_grant","error_description":"expired"}"#;
        match refusal(400, body, &assertion) {
            TokenFailure::Refused { description, .. } => {
                assert_eq!(description.as_deref(), Some("expired"))
            }
            other => panic!("{other:?}"),
        }
    }
}
