//! The credentials document: `auth.json` in the reference CLI's exact schema (key names, order,
//! value shapes), and what it means. Unknown fields are kept so a read-modify-write loses nothing.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::oauth::StoredProtocol;
use crate::secret::Secret;

/// The wire form of `auth.json` (and of the keyring secret). Field order is the file's key order.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct AuthDotJson {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_mode: Option<AuthMode>,
    /// Always written, `null` when absent: the reference expects the key.
    #[serde(rename = "OPENAI_API_KEY", default)]
    pub openai_api_key: Option<Secret<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<TokenData>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_refresh: Option<String>,
    /// An admin-issued personal access token (`at-...`), stored by `codex login
    /// --with-access-token`; the reference writes it without `auth_mode`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub personal_access_token: Option<Secret<String>>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct TokenData {
    #[serde(default)]
    pub id_token: Secret<String>,
    #[serde(default)]
    pub access_token: Secret<String>,
    #[serde(default)]
    pub refresh_token: Secret<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth_provenance: Option<OauthProvenance>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_owner_id: Option<String>,
    #[serde(default)]
    pub account_id: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Which issuer and client minted the tokens: refresh and revoke go back there.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct OauthProvenance {
    pub issuer: String,
    pub client_id: String,
    /// Ours: "openai" or "oidc". Absent in files the reference wrote, which only speaks the
    /// OpenAI protocol.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<StoredProtocol>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// How the document says the user signed in (`auth_mode`), read once at load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthMode {
    ApiKey,
    ChatGpt,
    /// Tokens handed to the reference CLI by a host application (`chatgptAuthTokens`).
    ChatGptExternalTokens,
    /// The reference's agent identity mode: read, reported, never written by us.
    AgentIdentity,
    /// A personal access token (`personal_access_token`). Written by neither tool (the mode
    /// follows from the field, so older builds still read the file), but read when present.
    PersonalAccessToken,
    /// A value this version does not know (a newer reference CLI's): kept as written.
    Unknown(String),
}

impl AuthMode {
    const KNOWN: [(&'static str, AuthMode); 5] = [
        ("apikey", AuthMode::ApiKey),
        ("chatgpt", AuthMode::ChatGpt),
        ("chatgptAuthTokens", AuthMode::ChatGptExternalTokens),
        ("agentIdentity", AuthMode::AgentIdentity),
        ("personalAccessToken", AuthMode::PersonalAccessToken),
    ];

    pub fn as_str(&self) -> &str {
        match self {
            AuthMode::ApiKey => "apikey",
            AuthMode::ChatGpt => "chatgpt",
            AuthMode::ChatGptExternalTokens => "chatgptAuthTokens",
            AuthMode::AgentIdentity => "agentIdentity",
            AuthMode::PersonalAccessToken => "personalAccessToken",
            AuthMode::Unknown(text) => text,
        }
    }
}

impl Serialize for AuthMode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for AuthMode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Ok(AuthMode::KNOWN
            .into_iter()
            .find(|(name, _)| *name == text)
            .map(|(_, mode)| mode)
            .unwrap_or(AuthMode::Unknown(text)))
    }
}

/// The guide's table of what an API key gives up, and what a ChatGPT plan unlocks.
pub const API_KEY_GIVES_UP: &str = "Cloud tasks, fast mode and day-one access to the newest models need a ChatGPT plan: codex logout, then codex login.";
pub const CHATGPT_UNLOCKS: &str =
    "Your ChatGPT plan unlocks cloud tasks, fast mode and day-one access to the newest models.";
/// A ChatGPT sign-in whose ID token names no plan: nothing is claimed about what it unlocks.
pub const CHATGPT_PLAN_UNKNOWN: &str = "The sign-in names no ChatGPT plan (its ID token has none), so what it unlocks is not known: cloud tasks, fast mode and day-one access to the newest models depend on the plan.";

/// What a stored document is good for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Usability {
    ApiKey {
        masked: String,
    },
    ChatGpt,
    AgentIdentity,
    PersonalAccessToken,
    /// The document holds no credential we can use; the reason says what is missing.
    Unusable {
        reason: String,
    },
}

impl AuthDotJson {
    /// The document an API-key sign-in writes.
    pub fn for_api_key(key: Secret<String>) -> AuthDotJson {
        AuthDotJson {
            auth_mode: Some(AuthMode::ApiKey),
            openai_api_key: Some(key),
            ..AuthDotJson::default()
        }
    }

    /// The document `codex login --with-access-token` writes, byte for byte the reference's:
    /// no `auth_mode` (older builds would not know the value), `OPENAI_API_KEY` null.
    pub fn for_personal_access_token(token: Secret<String>) -> AuthDotJson {
        AuthDotJson {
            personal_access_token: Some(token),
            ..AuthDotJson::default()
        }
    }

    /// The sign-in mode; without `auth_mode`, as the reference decides: an API key if there is
    /// one, else a personal access token if there is one, else ChatGPT.
    pub fn mode(&self) -> AuthMode {
        match &self.auth_mode {
            Some(mode) => mode.clone(),
            None if self.api_key().is_some() => AuthMode::ApiKey,
            None if self.personal_access_token.is_some() => AuthMode::PersonalAccessToken,
            None => AuthMode::ChatGpt,
        }
    }

    /// The stored personal access token, if it is a non-blank string.
    pub fn personal_access_token(&self) -> Option<&str> {
        self.personal_access_token
            .as_ref()
            .map(|t| t.expose().as_str())
            .filter(|t| !t.trim().is_empty())
    }

    /// A ChatGPT sign-in with tokens (refreshable, revocable).
    pub fn is_chatgpt(&self) -> bool {
        matches!(
            self.mode(),
            AuthMode::ChatGpt | AuthMode::ChatGptExternalTokens
        ) && self.tokens.is_some()
    }

    /// The stored API key, if it is a non-blank string.
    pub fn api_key(&self) -> Option<&str> {
        self.openai_api_key
            .as_ref()
            .map(|k| k.expose().as_str())
            .filter(|k| !k.trim().is_empty())
    }

    pub fn usability(&self) -> Usability {
        match self.mode() {
            AuthMode::ApiKey => match self.api_key() {
                Some(key) => Usability::ApiKey {
                    masked: crate::secret::mask_api_key(key),
                },
                None => Usability::Unusable {
                    reason: "`auth_mode` is \"apikey\" but `OPENAI_API_KEY` is empty or missing"
                        .to_string(),
                },
            },
            AuthMode::ChatGpt | AuthMode::ChatGptExternalTokens => match &self.tokens {
                Some(t) if !t.access_token.expose().is_empty() => Usability::ChatGpt,
                Some(_) => Usability::Unusable {
                    reason: "`tokens.access_token` is empty".to_string(),
                },
                None => Usability::Unusable {
                    reason: "it has neither `OPENAI_API_KEY` nor ChatGPT `tokens`".to_string(),
                },
            },
            AuthMode::AgentIdentity => Usability::AgentIdentity,
            AuthMode::PersonalAccessToken => match self.personal_access_token() {
                Some(_) => Usability::PersonalAccessToken,
                None => Usability::Unusable {
                    reason: "`personal_access_token` is empty or missing".to_string(),
                },
            },
            // Quoted when short (a typo shows), masked when long: a pasted secret may have
            // landed in the wrong field.
            AuthMode::Unknown(text) => Usability::Unusable {
                reason: format!(
                    "`auth_mode` has a value this version does not know: {}",
                    crate::secret::shown_value(&text, '"')
                ),
            },
        }
    }

    /// 2-space pretty JSON, the reference's on-disk form.
    pub fn to_pretty_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("auth.json always serializes")
    }

    /// Compact JSON, the reference's keyring secret form.
    pub fn to_compact_json(&self) -> String {
        serde_json::to_string(self).expect("auth.json always serializes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_key_document_is_byte_compatible() {
        let doc = AuthDotJson::for_api_key(Secret::new("sk-test".to_string()));
        assert_eq!(
            doc.to_pretty_json(),
            "{\n  \"auth_mode\": \"apikey\",\n  \"OPENAI_API_KEY\": \"sk-test\"\n}"
        );
        assert_eq!(
            doc.to_compact_json(),
            r#"{"auth_mode":"apikey","OPENAI_API_KEY":"sk-test"}"#
        );
    }

    #[test]
    fn personal_access_token_document_is_byte_compatible() {
        let doc = AuthDotJson::for_personal_access_token(Secret::new("at-test".to_string()));
        assert_eq!(
            doc.to_pretty_json(),
            "{\n  \"OPENAI_API_KEY\": null,\n  \"personal_access_token\": \"at-test\"\n}"
        );
        assert_eq!(doc.mode(), AuthMode::PersonalAccessToken);
        assert_eq!(doc.usability(), Usability::PersonalAccessToken);
        // As the reference writes it, and with the mode it may one day write.
        for text in [
            r#"{"OPENAI_API_KEY":null,"personal_access_token":"at-x"}"#,
            r#"{"auth_mode":"personalAccessToken","OPENAI_API_KEY":null,"personal_access_token":"at-x"}"#,
        ] {
            let doc: AuthDotJson = serde_json::from_str(text).unwrap();
            assert_eq!(doc.usability(), Usability::PersonalAccessToken, "{text}");
            assert_eq!(doc.to_compact_json(), text);
        }
    }

    #[test]
    fn unknown_fields_survive_in_order() {
        let text = r#"{"zeta":1,"OPENAI_API_KEY":null,"tokens":{"id_token":"i","access_token":"a","refresh_token":"r","account_id":null,"future":true},"last_refresh":"2026-01-01T00:00:00Z","alpha":[1]}"#;
        let doc: AuthDotJson = serde_json::from_str(text).unwrap();
        let back = doc.to_compact_json();
        assert_eq!(
            back,
            r#"{"OPENAI_API_KEY":null,"tokens":{"id_token":"i","access_token":"a","refresh_token":"r","account_id":null,"future":true},"last_refresh":"2026-01-01T00:00:00Z","zeta":1,"alpha":[1]}"#
        );
    }

    /// Found by fuzzing (fuzz/corpus/auth_json): serde_json's fast float parser can be off by
    /// one unit in the last place, so rewriting a document changed a number it does not own.
    #[test]
    fn unknown_numbers_survive_a_rewrite() {
        for number in [
            "8888888800000000000000065543987",
            "0.30000000000000004",
            "1e300",
        ] {
            let text = format!(r#"{{"OPENAI_API_KEY":null,"x":{number}}}"#);
            let doc: AuthDotJson = serde_json::from_str(&text).unwrap();
            let again: AuthDotJson = serde_json::from_str(&doc.to_pretty_json()).unwrap();
            assert_eq!(again, doc, "{number}");
        }
    }

    #[test]
    fn empty_document_is_not_a_login() {
        let doc: AuthDotJson = serde_json::from_str("{}").unwrap();
        assert!(matches!(doc.usability(), Usability::Unusable { .. }));
        let doc: AuthDotJson =
            serde_json::from_str(r#"{"auth_mode":"apikey","OPENAI_API_KEY":""}"#).unwrap();
        assert!(matches!(doc.usability(), Usability::Unusable { .. }));
    }

    #[test]
    fn mode_defaults_follow_the_reference() {
        let doc: AuthDotJson = serde_json::from_str(r#"{"OPENAI_API_KEY":"sk-x"}"#).unwrap();
        assert_eq!(doc.mode(), AuthMode::ApiKey);
        let doc: AuthDotJson = serde_json::from_str(r#"{"OPENAI_API_KEY":null}"#).unwrap();
        assert_eq!(doc.mode(), AuthMode::ChatGpt);
    }
}
