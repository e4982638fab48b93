//! `accounts/.index.json`: the saved accounts' names and what they are (kind, email, plan,
//! masked key, identity, a refused refresh), never a credential. It lists the accounts in every
//! store mode (the keyring cannot be searched), and lets `login status` describe them without
//! reading a secret. Written atomically under `auth.lock`, like the credentials.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::identity;
use super::name::AccountName;
use crate::auth::{AuthDotJson, AuthMode, Usability};
use crate::store::StoreError;

pub const FILE_NAME: &str = ".index.json";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Index {
    #[serde(default = "version_one")]
    pub version: u32,
    /// By name; sorted, which is also the order status lists them in.
    #[serde(default)]
    pub accounts: BTreeMap<String, Entry>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn version_one() -> u32 {
    1
}

impl Default for Index {
    fn default() -> Index {
        Index {
            version: version_one(),
            accounts: BTreeMap::new(),
            extra: Map::new(),
        }
    }
}

/// What one saved account is, for people and for matching.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub identity: String,
    /// The `auth_mode` it signs in with: "chatgpt", "apikey", ...
    pub mode: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
    /// Masked the way `login status` shows keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_refused: Option<Refused>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The issuer refused this account's refresh token for good.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Refused {
    /// The error code (`invalid_grant`, `refresh_token_reused`, ...).
    pub code: String,
    /// Digest of the refused refresh token: new tokens (a new sign-in) clear the mark.
    pub token: String,
    pub at: String,
}

impl Entry {
    /// The entry for credentials `doc` (whose identity is `identity`).
    pub fn describe(doc: &AuthDotJson, identity: String) -> Entry {
        let mode = doc.mode().as_str().to_string();
        let (mut email, mut plan, mut api_key) = (None, None, None);
        match doc.usability() {
            Usability::ApiKey { masked } => api_key = Some(masked),
            Usability::ChatGpt => {
                if let Some(tokens) = &doc.tokens {
                    let claims = crate::jwt::id_claims(tokens.id_token.expose());
                    email = claims.email;
                    plan = claims.plan;
                }
            }
            Usability::AgentIdentity
            | Usability::PersonalAccessToken
            | Usability::Unusable { .. } => {}
        }
        Entry {
            identity,
            mode,
            email,
            plan,
            api_key,
            refresh_refused: None,
            extra: Map::new(),
        }
    }

    /// For people: `ChatGPT alice@example.com (plus plan)`, `API key sk-proj-***56789`.
    pub fn summary(&self) -> String {
        match self.mode.as_str() {
            "apikey" => format!("API key {}", self.api_key.as_deref().unwrap_or("***")),
            "chatgpt" | "chatgptAuthTokens" => {
                let mut text = "ChatGPT".to_string();
                if let Some(email) = &self.email {
                    text.push(' ');
                    text.push_str(email);
                }
                if let Some(plan) = &self.plan {
                    text.push_str(&format!(" ({plan} plan)"));
                }
                text
            }
            "agentIdentity" => "agent identity".to_string(),
            other => other.to_string(),
        }
    }
}

impl Index {
    /// The index in `dir`; an empty one when there is none yet.
    pub fn load(dir: &Path) -> Result<Index, StoreError> {
        let path = dir.join(FILE_NAME);
        // Under the file rules (`fsutil`): a regular file, read without blocking, capped.
        let bytes = match crate::fsutil::read(&path, crate::fsutil::ACCOUNTS_INDEX_CAP) {
            Ok((bytes, _)) => bytes,
            Err(crate::fsutil::ReadError::NotFound) => return Ok(Index::default()),
            Err(crate::fsutil::ReadError::Io(e))
                if e.kind() == std::io::ErrorKind::NotADirectory =>
            {
                return Ok(Index::default());
            }
            Err(crate::fsutil::ReadError::Io(e)) => return Err(StoreError::io("read", &path, e)),
            Err(problem) => {
                return Err(StoreError::NotOurs {
                    problem: format!("`{}` {problem}", path.display()),
                    remedy: format!(
                        "it should be the index of the saved accounts: move it aside (mv {} {}.old)",
                        path.display(),
                        path.display()
                    ),
                    seen: crate::store::Seen::Unread,
                });
            }
        };
        let malformed = |line, column, message: String| StoreError::Malformed {
            path: path.clone(),
            line,
            column,
            message,
        };
        let index: Index = serde_json::from_slice(&bytes)
            .map_err(|e| malformed(e.line(), e.column(), crate::secret::json_error_message(&e)))?;
        if let Some(bad) = index
            .accounts
            .keys()
            .find(|name| AccountName::parse(name).is_err())
        {
            return Err(malformed(
                1,
                1,
                format!(
                    "`{}` is not a valid account name",
                    crate::untrusted::printable(bad)
                ),
            ));
        }
        Ok(index)
    }

    /// Writes the index into `dir` (0700), or removes it when no account is left.
    pub fn save(&self, _lock: &crate::store::StoreLock, dir: &Path) -> Result<(), StoreError> {
        let path = dir.join(FILE_NAME);
        if self.accounts.is_empty() {
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(StoreError::io("remove", &path, e)),
            }
            // Only when nothing else is in it (a file we did not write stays, and so does it).
            let _ = std::fs::remove_dir(dir);
            return Ok(());
        }
        // Created 0700 when missing; an existing folder keeps its mode.
        crate::store::lock::ensure_dir(dir)?;
        let mut text = serde_json::to_string_pretty(self).expect("the index always serializes");
        text.push('\n');
        crate::store::file::replace_atomically(dir, &path, text.as_bytes())
    }

    pub fn names(&self) -> Vec<String> {
        self.accounts.keys().cloned().collect()
    }

    pub fn get(&self, name: &AccountName) -> Option<&Entry> {
        self.accounts.get(name.as_str())
    }

    /// The account holding `identity` (at most one does).
    pub fn find(&self, identity: &str) -> Option<AccountName> {
        self.accounts
            .iter()
            .find(|(_, e)| e.identity == identity)
            .and_then(|(name, _)| AccountName::parse(name).ok())
    }

    /// The account the credentials `doc` belong to.
    pub fn owner(&self, doc: &AuthDotJson) -> Option<AccountName> {
        identity::of(doc).and_then(|id| self.find(&id))
    }

    /// Another name that differs from `name` only in letter case (the same file on macOS and
    /// Windows).
    pub fn case_twin(&self, name: &AccountName) -> Option<String> {
        self.accounts
            .keys()
            .find(|k| k.as_str() != name.as_str() && k.eq_ignore_ascii_case(name.as_str()))
            .cloned()
    }

    /// A free name for credentials `doc`: the email of a ChatGPT sign-in, `apikey-` and the
    /// last 5 characters of a key; `-2`, `-3`, ... when taken.
    pub fn derive_name(&self, doc: &AuthDotJson) -> AccountName {
        let base = match doc.mode() {
            AuthMode::ChatGpt | AuthMode::ChatGptExternalTokens => doc
                .tokens
                .as_ref()
                .and_then(|t| crate::jwt::id_claims(t.id_token.expose()).email)
                .map(|e| e.to_ascii_lowercase())
                .and_then(|e| AccountName::derive(&e))
                .unwrap_or_else(|| AccountName::derive("chatgpt").expect("valid")),
            AuthMode::ApiKey => {
                let key = doc.api_key().unwrap_or_default();
                // The reference shows the last 5 characters of keys longer than 13.
                let tail: String = if key.chars().nth(13).is_some() {
                    let mut tail: Vec<char> = key.chars().rev().take(5).collect();
                    tail.reverse();
                    tail.into_iter()
                        .skip_while(|c| !c.is_ascii_alphanumeric())
                        .collect()
                } else {
                    String::new()
                };
                AccountName::derive(&format!("apikey-{tail}"))
                    .filter(|_| !tail.is_empty())
                    .unwrap_or_else(|| AccountName::derive("apikey").expect("valid"))
            }
            AuthMode::AgentIdentity | AuthMode::Unknown(_) => {
                AccountName::derive("agent").expect("valid")
            }
            AuthMode::PersonalAccessToken => AccountName::derive("access-token").expect("valid"),
        };
        let free = |n: &AccountName| {
            !self.accounts.contains_key(n.as_str()) && self.case_twin(n).is_none()
        };
        if free(&base) {
            return base;
        }
        (2..)
            .map(|n| base.numbered(n))
            .find(free)
            .expect("some number is free")
    }

    /// Records `doc` as the credentials of account `name`; a refusal recorded for older tokens
    /// no longer applies.
    pub fn record(&mut self, name: &AccountName, doc: &AuthDotJson, identity: String) {
        let refused = self
            .accounts
            .get(name.as_str())
            .filter(|e| e.identity == identity)
            .and_then(|e| e.refresh_refused.clone())
            .filter(|r| identity::refresh_digest(doc).as_deref() == Some(r.token.as_str()));
        let extra = self
            .accounts
            .get(name.as_str())
            .map(|e| e.extra.clone())
            .unwrap_or_default();
        let mut entry = Entry::describe(doc, identity);
        entry.refresh_refused = refused;
        entry.extra = extra;
        self.accounts.insert(name.to_string(), entry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_doc(key: &str) -> AuthDotJson {
        AuthDotJson::for_api_key(key.to_string().into())
    }

    #[test]
    fn derived_api_key_names_are_unique_and_readable() {
        let mut index = Index::default();
        let a = key_doc("sk-proj-canary-0123456789");
        let name = index.derive_name(&a);
        assert_eq!(name.as_str(), "apikey-56789");
        index.record(&name, &a, identity::of(&a).unwrap());
        let b = key_doc("sk-proj-other00-0123456789");
        assert_eq!(index.derive_name(&b).as_str(), "apikey-56789-2");
        assert_eq!(index.derive_name(&key_doc("sk-short")).as_str(), "apikey");
        assert_eq!(
            index
                .derive_name(&key_doc("sk-waited-for-the-lock-0001"))
                .as_str(),
            "apikey-0001"
        );
        assert_eq!(index.owner(&a), Some(name));
        assert_eq!(index.owner(&b), None);
    }

    #[test]
    fn unknown_fields_survive() {
        let text = r#"{"version":1,"accounts":{"w":{"identity":"i","mode":"apikey","api_key":"***","future":1}},"later":true}"#;
        let index: Index = serde_json::from_str(text).unwrap();
        let back = serde_json::to_string(&index).unwrap();
        assert_eq!(back, text);
    }
}
