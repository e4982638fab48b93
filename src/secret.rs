//! A box for secrets (API keys, tokens, codes, verifiers). Its `Debug` and `Display` print `****`,
//! so a secret can only reach a log or an error text through an explicit `.expose()`.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    pub fn new(value: T) -> Self {
        Secret(value)
    }

    /// The one way out of the box: every call site is a place a secret leaves it.
    pub fn expose(&self) -> &T {
        &self.0
    }

    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("****")
    }
}

impl<T> fmt::Display for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("****")
    }
}

impl<T: Serialize> Serialize for Secret<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Secret<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize(deserializer).map(Secret)
    }
}

impl From<String> for Secret<String> {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

/// Masks an API key the way the reference CLI does in `login status`: the first 8 and last 5
/// characters around `***`; keys of 13 characters or fewer show only `***`.
pub fn mask_api_key(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() <= 13 {
        return "***".to_string();
    }
    let head: String = chars[..8].iter().collect();
    let tail: String = chars[chars.len() - 5..].iter().collect();
    format!("{head}***{tail}")
}

/// A JSON parse error for people: `line L, column C: what` (serde_json's own " at line L column C"
/// suffix dropped), with any quoted value removed.
pub fn json_error(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let message = match text.rfind(" at line ") {
        Some(i) => &text[..i],
        None => text.as_str(),
    };
    format!(
        "line {}, column {}: {}",
        e.line(),
        e.column(),
        redact_values(message)
    )
}

/// The message of a JSON parse error without its position (for errors that place it
/// themselves), with any quoted value removed.
pub fn json_error_message(e: &serde_json::Error) -> String {
    let text = e.to_string();
    redact_values(match text.rfind(" at line ") {
        Some(i) => &text[..i],
        None => text.as_str(),
    })
}

/// Removes quoted string values from a parser's message. serde-based parsers (serde_json, toml)
/// quote the offending value (`invalid type: string "sk-...", expected a map`), and in a
/// credentials or config file that value may be a key or a token.
pub fn redact_values(message: &str) -> String {
    const MARK: &str = "string \"";
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(start) = rest.find(MARK) {
        out.push_str(&rest[..start]);
        let after = &rest[start + MARK.len()..];
        let mut escaped = false;
        let end = after.char_indices().find_map(|(i, c)| match (escaped, c) {
            (true, _) => {
                escaped = false;
                None
            }
            (false, '\\') => {
                escaped = true;
                None
            }
            (false, '"') => Some(i),
            (false, _) => None,
        });
        match end {
            Some(i) => {
                out.push_str("a string");
                rest = &after[i + 1..];
            }
            None => {
                out.push_str("a string");
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_hide_the_value() {
        let s = Secret::new("sk-canary".to_string());
        assert_eq!(format!("{s:?}"), "****");
        assert_eq!(format!("{s}"), "****");
        assert_eq!(s.expose(), "sk-canary");
    }

    #[test]
    fn serde_is_transparent() {
        let s: Secret<String> = serde_json::from_str("\"abc\"").unwrap();
        assert_eq!(s.expose(), "abc");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"abc\"");
    }

    #[test]
    fn quoted_values_are_removed_from_parser_messages() {
        assert_eq!(
            redact_values(r#"invalid type: string "eyJ\"x", expected struct TokenData"#),
            "invalid type: a string, expected struct TokenData"
        );
        assert_eq!(redact_values("expected `\"`"), "expected `\"`");
        assert_eq!(
            redact_values("unknown value \"vault\""),
            "unknown value \"vault\""
        );
    }

    #[test]
    fn masking_matches_the_reference() {
        assert_eq!(mask_api_key("sk-proj-0123456789"), "sk-proj-***56789");
        assert_eq!(mask_api_key("sk-1234567890"), "***");
        assert_eq!(mask_api_key("sk-12345678901"), "sk-12345***78901");
        assert_eq!(mask_api_key(""), "***");
    }
}
