//! Who a set of credentials belongs to, as a key that survives refreshes and does not depend on
//! which tool wrote the file: accounts are matched to the active credentials by it, never by name.

use crate::auth::{AuthDotJson, AuthMode};
use crate::store::keyring::chunked::digest16;

/// The identity key of `doc`, `None` when it holds no usable credentials (nothing to keep).
///
/// - ChatGPT: the user (`chatgpt_user_id`, else `sub`, else the email) and the ChatGPT account
///   (`tokens.account_id`, else the claim): one person in two workspaces is two accounts.
/// - API key: a digest of the key (the key itself never leaves the credential stores).
/// - Anything else we can read but not refresh (agent identity): a digest of the document.
pub fn of(doc: &AuthDotJson) -> Option<String> {
    // By mode rather than `usability`, which masks the key: keys can be large, and this runs
    // several times per command.
    match doc.mode() {
        AuthMode::ApiKey => doc.api_key().map(|key| format!("apikey:{}", digest16(key))),
        AuthMode::ChatGpt | AuthMode::ChatGptExternalTokens => {
            let tokens = doc
                .tokens
                .as_ref()
                .filter(|t| !t.access_token.expose().is_empty())?;
            let claims = crate::jwt::id_claims(tokens.id_token.expose());
            let user = claims.user_id.or(claims.email).unwrap_or_default();
            let account = tokens
                .account_id
                .clone()
                .filter(|a| !a.trim().is_empty())
                .or(claims.account_id)
                .unwrap_or_default();
            if user.is_empty() && account.is_empty() {
                // No claim says who this is: the grant itself is the only stable handle.
                return Some(format!(
                    "chatgpt-grant:{}",
                    digest16(tokens.id_token.expose())
                ));
            }
            Some(format!("chatgpt:{user}:{account}"))
        }
        AuthMode::AgentIdentity => Some(format!("doc:{}", digest16(&doc.to_compact_json()))),
        // The token is the credential and never changes (no refresh): it is the identity.
        AuthMode::PersonalAccessToken => doc
            .personal_access_token()
            .map(|t| format!("pat:{}", digest16(t))),
        AuthMode::Unknown(_) => None,
    }
}

/// A digest of the refresh token, to tell whether a refusal recorded for an account still
/// applies to the tokens it holds now.
pub fn refresh_digest(doc: &AuthDotJson) -> Option<String> {
    doc.tokens
        .as_ref()
        .map(|t| t.refresh_token.expose())
        .filter(|t| !t.is_empty())
        .map(|t| digest16(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> AuthDotJson {
        serde_json::from_str(text).unwrap()
    }

    fn id_token(claims: &str) -> String {
        use base64::Engine;
        let enc = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        format!("{}.{}.s", enc("{}"), enc(claims))
    }

    #[test]
    fn chatgpt_identity_ignores_tokens_and_provenance() {
        let id = id_token(
            r#"{"sub":"s1","email":"a@x","https://api.openai.com/auth":{"chatgpt_user_id":"user-a","chatgpt_account_id":"acct-1"}}"#,
        );
        let ours = doc(&format!(
            r#"{{"auth_mode":"chatgpt","OPENAI_API_KEY":null,"tokens":{{"id_token":"{id}","access_token":"a1","refresh_token":"r1","oauth_provenance":{{"issuer":"https://i","client_id":"c"}},"account_id":"acct-1"}}}}"#
        ));
        let reference = doc(&format!(
            r#"{{"OPENAI_API_KEY":null,"tokens":{{"id_token":"{id}","access_token":"a2","refresh_token":"r2","account_id":null}},"last_refresh":"2026-01-01T00:00:00Z"}}"#
        ));
        assert_eq!(of(&ours), Some("chatgpt:user-a:acct-1".to_string()));
        assert_eq!(of(&ours), of(&reference));
    }

    #[test]
    fn same_user_in_another_workspace_is_another_identity() {
        let token = |acct: &str| {
            id_token(&format!(
                r#"{{"sub":"s1","https://api.openai.com/auth":{{"chatgpt_account_id":"{acct}"}}}}"#
            ))
        };
        let with = |acct: &str| {
            doc(&format!(
                r#"{{"tokens":{{"id_token":"{}","access_token":"a","refresh_token":"r","account_id":null}}}}"#,
                token(acct)
            ))
        };
        assert_ne!(of(&with("personal")), of(&with("team")));
    }

    #[test]
    fn api_keys_are_told_apart_by_digest_only() {
        let a = of(&AuthDotJson::for_api_key(
            "sk-proj-aaaaaaaaaaaaaaaa1".to_string().into(),
        ));
        let b = of(&AuthDotJson::for_api_key(
            "sk-proj-aaaaaaaaaaaaaaaa2".to_string().into(),
        ));
        assert_ne!(a, b);
        assert!(
            !a.unwrap().contains("aaaa"),
            "the key is not in its identity"
        );
        assert_eq!(of(&doc("{}")), None);
    }
}
