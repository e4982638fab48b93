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

/// A key as typed or piped: without surrounding whitespace and without the byte-order mark a
/// Windows editor puts at the start of a saved file.
pub fn clean_key(raw: &str) -> &str {
    raw.trim().trim_start_matches('\u{feff}').trim()
}

/// True when a credential holds a character no HTTP header can carry (a line break, NUL, DEL
/// or another control character): sent, it would be dropped or end the header early.
pub fn has_control(credential: &str) -> bool {
    credential.chars().any(char::is_control)
}

/// A value from a file or the environment, for an error message: between `quote`s when it is
/// short (so a typo shows), otherwise masked (`sk-p*** (36 characters, masked)`), since a long
/// value in the wrong place is often a pasted secret.
pub fn shown_value(value: &str, quote: char) -> String {
    const SHORT: usize = 24;
    let count = value.chars().count();
    if count <= SHORT && !value.trim_start().starts_with("sk-") {
        return format!("{quote}{}{quote}", crate::untrusted::printable(value));
    }
    let head: String = value.chars().take(4).collect();
    format!(
        "{}*** ({count} characters, masked)",
        crate::untrusted::printable(&head)
    )
}

/// A URL from a file or the environment, for an error message: user name, password and query
/// (where keys and tokens hide) are masked, the rest shown so the user can see what to fix.
/// Text that is not a URL with a host is shown as `shown_value` shows it.
pub fn shown_url(raw: &str) -> String {
    match masked_url(raw) {
        Some(url) => format!("`{url}`"),
        None => shown_value(raw.trim(), '`'),
    }
}

/// A URL with its user name, password and query masked (`https://***@host/v1?***`), as it is
/// otherwise; `None` when the text is not a URL with a host.
pub fn masked_url(raw: &str) -> Option<String> {
    let raw = raw.trim();
    let mut url = url::Url::parse(raw).ok()?;
    if url.cannot_be_a_base() || url.host_str().is_none_or(str::is_empty) {
        return None;
    }
    let had_userinfo = !url.username().is_empty() || url.password().is_some();
    let had_query = url.query().is_some();
    if !had_userinfo && !had_query && url.fragment().is_none() {
        return Some(crate::untrusted::printable(raw).into_owned());
    }
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.set_query(None);
    url.set_fragment(None);
    let mut text = url.to_string();
    if had_userinfo && let Some(i) = text.find("://") {
        text.insert_str(i + 3, "***@");
    }
    if had_query {
        text.push_str("?***");
    }
    Some(crate::untrusted::printable(&text).into_owned())
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
    fn keys_lose_their_bom_and_values_their_secrets() {
        assert_eq!(clean_key("\u{feff}sk-a\r\n"), "sk-a");
        assert_eq!(clean_key("  sk-b "), "sk-b");
        assert!(has_control("sk-a\r\nX: 1") && has_control("a\0b") && !has_control("sk-é"));
        assert_eq!(shown_value("chatgtp", '"'), "\"chatgtp\"");
        assert_eq!(
            shown_value("sk-proj-PASTEDSECRET0123456789abcdef", '"'),
            "sk-p*** (36 characters, masked)"
        );
        assert_eq!(
            shown_url("ftp://al:SECRET@gw.example.com/v1?key=SECRET#f"),
            "`ftp://***@gw.example.com/v1?***`"
        );
        assert_eq!(shown_url("gw.example.com/v1"), "`gw.example.com/v1`");
        assert_eq!(
            masked_url("http://127.0.0.1:9/v1").as_deref(),
            Some("http://127.0.0.1:9/v1")
        );
        assert_eq!(
            shown_url("sk-proj:SECRETSECRETSECRETSECRET"),
            "sk-p*** (32 characters, masked)"
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
