//! The MCP token document, in the reference CLI's two shapes: the keyring value (one entry per
//! server: `{server_name, url, issuer?, client_id, token_response, expires_at}`) and an entry of
//! `$CODEX_HOME/.credentials.json` (`{server_name, server_url, issuer, client_id, access_token,
//! expires_at, refresh_token, scopes}`, in that key order). Both are read into one `McpTokens`
//! at the edge; fields we do not know survive a read-modify-write of the file.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::secret::Secret;

/// One MCP server's OAuth tokens.
#[derive(Debug, Clone)]
pub struct McpTokens {
    pub server_name: String,
    pub url: String,
    /// The authorization server that issued them (absent in what older reference CLIs wrote:
    /// such tokens need a new sign-in before they can be refreshed).
    pub issuer: Option<String>,
    pub client_id: String,
    pub access_token: Secret<String>,
    pub refresh_token: Option<Secret<String>>,
    /// Milliseconds since the epoch.
    pub expires_at: Option<u64>,
    pub scopes: Vec<String>,
}

/// The store key of a server: `<server_name>|<first 16 hex of SHA-256 of
/// {"type":"http","url":"<url>","headers":{}}>`, the reference's keyring account and file key.
pub fn store_key(server_name: &str, url: &str) -> String {
    let payload = format!(
        "{{\"type\":\"http\",\"url\":{},\"headers\":{{}}}}",
        serde_json::Value::String(url.to_string())
    );
    format!(
        "{server_name}|{}",
        &hex(&Sha256::digest(payload.as_bytes()))[..16]
    )
}

/// The lock file name of a server's refresh: the SHA-256 of its store key, in hex.
pub fn lock_name(key: &str) -> String {
    format!("{}.lock", hex(&Sha256::digest(key.as_bytes())))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The keyring value.
#[derive(Serialize, Deserialize)]
struct KeyringValue {
    server_name: String,
    url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    issuer: Option<String>,
    client_id: String,
    token_response: TokenResponse,
    #[serde(default)]
    expires_at: Option<u64>,
}

/// An OAuth token response as the reference (rmcp, through `oauth2`) serializes it.
#[derive(Serialize, Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default = "bearer")]
    token_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_in: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
}

fn bearer() -> String {
    "bearer".to_string()
}

/// An entry of `.credentials.json`.
#[derive(Serialize, Deserialize)]
struct FileEntry {
    server_name: String,
    server_url: String,
    #[serde(default)]
    issuer: Option<String>,
    client_id: String,
    access_token: String,
    #[serde(default)]
    expires_at: Option<u64>,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    scopes: Vec<String>,
}

pub fn now_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl McpTokens {
    pub fn key(&self) -> String {
        store_key(&self.server_name, &self.url)
    }

    /// The keyring value's text (compact JSON, the reference's key order).
    pub fn to_keyring_json(&self) -> Secret<String> {
        let value = KeyringValue {
            server_name: self.server_name.clone(),
            url: self.url.clone(),
            issuer: self.issuer.clone(),
            client_id: self.client_id.clone(),
            token_response: TokenResponse {
                access_token: self.access_token.expose().clone(),
                token_type: bearer(),
                expires_in: self
                    .expires_at
                    .map(|at| at.saturating_sub(now_millis()) / 1000),
                refresh_token: self.refresh_token.as_ref().map(|t| t.expose().clone()),
                scope: (!self.scopes.is_empty()).then(|| self.scopes.join(" ")),
            },
            expires_at: self.expires_at,
        };
        Secret::new(serde_json::to_string(&value).expect("the keyring value serializes"))
    }

    pub fn from_keyring_json(text: &str) -> Result<McpTokens, serde_json::Error> {
        let value: KeyringValue = serde_json::from_str(text)?;
        let response = value.token_response;
        Ok(McpTokens {
            server_name: value.server_name,
            url: value.url,
            issuer: value.issuer,
            client_id: value.client_id,
            access_token: Secret::new(response.access_token),
            refresh_token: response.refresh_token.map(Secret::new),
            expires_at: value.expires_at,
            scopes: response
                .scope
                .map(|s| s.split_whitespace().map(str::to_string).collect())
                .unwrap_or_default(),
        })
    }

    /// The file entry, in the reference's key order; the fields of `old` we do not know follow.
    pub fn to_file_entry(&self, old: Option<&serde_json::Value>) -> serde_json::Value {
        let entry = FileEntry {
            server_name: self.server_name.clone(),
            server_url: self.url.clone(),
            issuer: self.issuer.clone(),
            client_id: self.client_id.clone(),
            access_token: self.access_token.expose().clone(),
            expires_at: self.expires_at,
            refresh_token: self.refresh_token.as_ref().map(|t| t.expose().clone()),
            scopes: self.scopes.clone(),
        };
        let mut value = serde_json::to_value(entry).expect("the file entry serializes");
        if let (Some(object), Some(serde_json::Value::Object(old))) = (value.as_object_mut(), old) {
            for (name, field) in old {
                if !object.contains_key(name) {
                    object.insert(name.clone(), field.clone());
                }
            }
        }
        value
    }

    pub fn from_file_entry(value: &serde_json::Value) -> Result<McpTokens, serde_json::Error> {
        let entry = FileEntry::deserialize(value)?;
        Ok(McpTokens {
            server_name: entry.server_name,
            url: entry.server_url,
            issuer: entry.issuer,
            client_id: entry.client_id,
            access_token: Secret::new(entry.access_token),
            refresh_token: entry.refresh_token.map(Secret::new),
            expires_at: entry.expires_at,
            scopes: entry.scopes,
        })
    }

    /// Whether the access token is due: it expires within `skew_ms` (or has).
    pub fn expires_within(&self, skew_ms: u64) -> bool {
        self.expires_at
            .is_some_and(|at| now_millis().saturating_add(skew_ms) >= at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_key_matches_the_reference() {
        assert_eq!(
            store_key("harness", "http://127.0.0.1:43251/mcp"),
            "harness|f1191832d62aa405"
        );
    }

    #[test]
    fn file_entry_keeps_the_reference_key_order_and_unknown_fields() {
        let tokens = McpTokens {
            server_name: "a".into(),
            url: "http://x/mcp".into(),
            issuer: Some("http://i".into()),
            client_id: "c".into(),
            access_token: Secret::new("at".into()),
            refresh_token: None,
            expires_at: Some(5),
            scopes: vec!["s".into()],
        };
        let old = serde_json::json!({"future": 1, "access_token": "old"});
        let entry = tokens.to_file_entry(Some(&old));
        let names: Vec<&String> = entry.as_object().unwrap().keys().collect();
        assert_eq!(
            names,
            [
                "server_name",
                "server_url",
                "issuer",
                "client_id",
                "access_token",
                "expires_at",
                "refresh_token",
                "scopes",
                "future"
            ]
        );
        assert_eq!(entry["access_token"], "at");
    }
}
