//! Account names: what a user types after `--account` and `login switch`, and the file name of a
//! saved copy, so they are checked once here (no path separators, no control characters, short),
//! and the names derived from a sign-in when none is given.

use std::fmt;

use thiserror::Error;

/// Longest accepted name, in characters (all ASCII, so also bytes).
pub const MAX_LEN: usize = 64;

/// A checked account name: ASCII letters, digits and `. _ - @ +`, starting with a letter or digit,
/// at most `MAX_LEN` characters. Safe as a file name on every OS and in a keyring entry name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AccountName(String);

#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum NameError {
    #[error("an account name cannot be empty")]
    Empty,
    #[error("{shown} is not a valid account name: it is longer than {MAX_LEN} characters")]
    TooLong { shown: String },
    #[error(
        "{shown} is not a valid account name: use letters, digits and . _ - @ + only, starting with a letter or digit (up to {MAX_LEN} characters)"
    )]
    Invalid { shown: String },
}

impl AccountName {
    pub fn parse(text: &str) -> Result<AccountName, NameError> {
        // Quoted with escapes, so a control character in a rejected name shows as `\n`, `\u{1b}`.
        let shown = || format!("`{}`", crate::untrusted::printable(text));
        if text.is_empty() {
            return Err(NameError::Empty);
        }
        let allowed =
            |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@' | '+');
        let first_ok = text
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric());
        if !first_ok || !text.chars().all(allowed) {
            return Err(NameError::Invalid { shown: shown() });
        }
        if text.len() > MAX_LEN {
            return Err(NameError::TooLong { shown: shown() });
        }
        Ok(AccountName(text.to_string()))
    }

    /// For clap: the message alone (clap adds the flag).
    pub fn parse_arg(text: &str) -> Result<AccountName, String> {
        AccountName::parse(text).map_err(|e| e.to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A readable name from what a sign-in is (an email, `apikey-56789`): characters a name
    /// cannot hold become `_`, and it is cut to length. `None` when nothing usable is left.
    pub fn derive(raw: &str) -> Option<AccountName> {
        let cleaned: String = raw
            .trim()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@' | '+') {
                    c
                } else {
                    '_'
                }
            })
            .skip_while(|c| !c.is_ascii_alphanumeric())
            .take(MAX_LEN)
            .collect();
        AccountName::parse(&cleaned).ok()
    }

    /// `name-2`, `name-3`, ...: the `n`th variant of a taken name, still within `MAX_LEN`.
    pub fn numbered(&self, n: u32) -> AccountName {
        let suffix = format!("-{n}");
        let keep = MAX_LEN - suffix.len();
        let base: String = self.0.chars().take(keep).collect();
        AccountName(format!("{base}{suffix}"))
    }
}

impl fmt::Display for AccountName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_emails_and_simple_names() {
        for ok in ["work", "alice@example.com", "ci_key-2", "a+b", "X1"] {
            assert_eq!(AccountName::parse(ok).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn rejects_paths_controls_and_long_names() {
        for bad in [
            "a/b",
            "..",
            ".hidden",
            "-flag",
            "a\\b",
            "a b",
            "tab\there",
            "nul\0",
            "é",
            "c:d",
        ] {
            assert!(
                matches!(AccountName::parse(bad), Err(NameError::Invalid { .. })),
                "{bad:?}"
            );
        }
        assert_eq!(AccountName::parse(""), Err(NameError::Empty));
        assert!(matches!(
            AccountName::parse(&"a".repeat(MAX_LEN + 1)),
            Err(NameError::TooLong { .. })
        ));
        assert!(AccountName::parse(&"a".repeat(MAX_LEN)).is_ok());
        let err = AccountName::parse("esc\u{1b}[2J").unwrap_err().to_string();
        assert!(err.starts_with("`esc\\u{1b}[2J` is not"), "{err}");
    }

    #[test]
    fn derived_names_are_valid() {
        assert_eq!(
            AccountName::derive("Ann O'Neil@example.com")
                .unwrap()
                .as_str(),
            "Ann_O_Neil@example.com"
        );
        assert_eq!(AccountName::derive("  ").map(|n| n.0), None);
        let long = AccountName::derive(&"x".repeat(200)).unwrap();
        assert_eq!(long.as_str().len(), MAX_LEN);
        assert_eq!(long.numbered(12).as_str().len(), MAX_LEN);
        assert!(long.numbered(12).as_str().ends_with("x-12"));
    }
}
