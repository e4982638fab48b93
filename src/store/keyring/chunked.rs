//! One secret over several keyring entries, for stores with a small size limit: Windows
//! Credential Manager holds at most 2560 bytes (1280 UTF-16 units) per credential, and a ChatGPT
//! token bundle is larger. A secret that fits is written as one entry, exactly as the reference CLI
//! writes it; a larger one becomes chunk entries plus a small header entry under the usual account.
//!
//! Chunk accounts carry the secret's digest (`cli|…#<digest>.<i>`), so a save writes the new
//! chunks first, then switches the header to them, then removes the old ones: a crash at any point
//! leaves the old or the new secret readable, never a mix.

use sha2::{Digest, Sha256};

use super::error::KeyringError;

/// The Windows Credential Manager limit, in UTF-16 code units (2560 bytes).
pub const WINDOWS_MAX_UNITS: usize = 1280;

const HEADER_PREFIX: &str = "codex-chunked-v1 ";

/// Named secret slots of one service: the few operations the chunking needs from a keyring.
pub trait Slots {
    fn get(&self, account: &str) -> Result<Option<String>, KeyringError>;
    fn set(&self, account: &str, value: &str) -> Result<(), KeyringError>;
    /// `Ok(false)` when there was nothing to remove.
    fn delete(&self, account: &str) -> Result<bool, KeyringError>;
}

/// The header entry's content: how many chunks, and the digest of the whole secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub count: usize,
    pub digest: String,
}

impl Header {
    pub fn parse(text: &str) -> Option<Header> {
        let rest = text.strip_prefix(HEADER_PREFIX)?;
        let (count, digest) = rest.split_once(' ')?;
        let count: usize = count.parse().ok()?;
        let hex = digest.len() == 16 && digest.bytes().all(|b| b.is_ascii_hexdigit());
        (count > 0 && hex).then(|| Header {
            count,
            digest: digest.to_string(),
        })
    }

    pub fn render(&self) -> String {
        format!("{HEADER_PREFIX}{} {}", self.count, self.digest)
    }

    pub fn chunk_account(&self, account: &str, index: usize) -> String {
        format!("{account}#{}.{index}", self.digest)
    }
}

/// First 16 hex characters of the SHA-256 of `text`.
pub fn digest16(text: &str) -> String {
    let hash = Sha256::digest(text.as_bytes());
    hash.iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect::<String>()
}

/// Splits `secret` into pieces of at most `max_units` UTF-16 code units each, never inside a
/// character. A secret that fits is one piece.
pub fn split(secret: &str, max_units: usize) -> Vec<&str> {
    let max_units = max_units.max(2);
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut units = 0;
    for (i, c) in secret.char_indices() {
        if units + c.len_utf16() > max_units {
            pieces.push(&secret[start..i]);
            start = i;
            units = 0;
        }
        units += c.len_utf16();
    }
    if start < secret.len() || pieces.is_empty() {
        pieces.push(&secret[start..]);
    }
    pieces
}

/// Reads the secret under `account`, following a header to its chunks.
pub fn read(slots: &dyn Slots, account: &str) -> Result<Option<String>, KeyringError> {
    let Some(first) = slots.get(account)? else {
        return Ok(None);
    };
    let Some(header) = Header::parse(&first) else {
        return Ok(Some(first));
    };
    let mut secret = String::new();
    for index in 0..header.count {
        let chunk = header.chunk_account(account, index);
        match slots.get(&chunk)? {
            Some(part) => secret.push_str(&part),
            None => {
                return Err(KeyringError::BadEntry(format!(
                    "chunk {} of {} (`{chunk}`) is missing",
                    index + 1,
                    header.count
                )));
            }
        }
    }
    if digest16(&secret) != header.digest {
        return Err(KeyringError::BadEntry(
            "its chunks do not add up to the secret they were written for".to_string(),
        ));
    }
    Ok(Some(secret))
}

/// Writes `secret` under `account`: one entry when it fits in `max_units`, else chunks and a
/// header. Chunks of the previous secret are removed afterwards.
pub fn write(
    slots: &dyn Slots,
    account: &str,
    secret: &str,
    max_units: usize,
) -> Result<(), KeyringError> {
    let old = slots
        .get(account)
        .ok()
        .flatten()
        .and_then(|t| Header::parse(&t));
    let pieces = split(secret, max_units);
    let new = if pieces.len() == 1 {
        slots.set(account, secret)?;
        None
    } else {
        let header = Header {
            count: pieces.len(),
            digest: digest16(secret),
        };
        for (index, piece) in pieces.iter().enumerate() {
            slots.set(&header.chunk_account(account, index), piece)?;
        }
        slots.set(account, &header.render())?;
        Some(header)
    };
    if let Some(old) = old.filter(|old| Some(old) != new.as_ref()) {
        remove_chunks(slots, account, &old);
    }
    Ok(())
}

/// Removes the secret under `account` and its chunks. `Ok(false)` when nothing was there.
pub fn remove(slots: &dyn Slots, account: &str) -> Result<bool, KeyringError> {
    if let Some(header) = slots.get(account)?.and_then(|t| Header::parse(&t)) {
        remove_chunks(slots, account, &header);
    }
    slots.delete(account)
}

/// Best effort: a chunk left behind holds part of a secret nobody points to any more, and the
/// next save or logout tries again only if a header still names it.
fn remove_chunks(slots: &dyn Slots, account: &str, header: &Header) {
    for index in 0..header.count {
        let chunk = header.chunk_account(account, index);
        if let Err(err) = slots.delete(&chunk) {
            tracing::debug!(account = %chunk, error = %err, "could not remove a keyring chunk");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::collections::BTreeMap;

    use super::*;

    /// An in-memory keyring that enforces a size limit like Windows Credential Manager.
    struct Limited {
        max_units: usize,
        entries: RefCell<BTreeMap<String, String>>,
        fail_set_on: Option<String>,
    }

    impl Limited {
        fn new(max_units: usize) -> Limited {
            Limited {
                max_units,
                entries: RefCell::new(BTreeMap::new()),
                fail_set_on: None,
            }
        }

        fn accounts(&self) -> Vec<String> {
            self.entries.borrow().keys().cloned().collect()
        }
    }

    impl Slots for Limited {
        fn get(&self, account: &str) -> Result<Option<String>, KeyringError> {
            Ok(self.entries.borrow().get(account).cloned())
        }

        fn set(&self, account: &str, value: &str) -> Result<(), KeyringError> {
            if value.encode_utf16().count() > self.max_units {
                return Err(KeyringError::Failed(format!("`{account}` is too long")));
            }
            if self.fail_set_on.as_deref() == Some(account) {
                return Err(KeyringError::Failed("injected failure".to_string()));
            }
            self.entries
                .borrow_mut()
                .insert(account.to_string(), value.to_string());
            Ok(())
        }

        fn delete(&self, account: &str) -> Result<bool, KeyringError> {
            Ok(self.entries.borrow_mut().remove(account).is_some())
        }
    }

    /// A ChatGPT-sized bundle (~6 KB) with some non-ASCII text in an unknown field.
    fn big_secret(tag: &str) -> String {
        let jwt = format!("eyJ{}", "abcDEF0123-_".repeat(220));
        format!(
            r#"{{"OPENAI_API_KEY":null,"tokens":{{"id_token":"{jwt}","access_token":"{jwt}{tag}","refresh_token":"rt_{tag}","account_id":"acc"}},"note":"grüße 👋 {tag}"}}"#
        )
    }

    #[test]
    fn split_respects_utf16_units_and_characters() {
        assert_eq!(split("abcdef", 4), vec!["abcd", "ef"]);
        assert_eq!(split("", 4), vec![""]);
        assert_eq!(split("abcd", 4), vec!["abcd"]);
        // 👋 is two UTF-16 units: it never straddles two pieces.
        assert_eq!(split("ab👋c", 3), vec!["ab", "👋c"]);
        assert_eq!(split("aé👋", 3), vec!["aé", "👋"]);
        let text = big_secret("x");
        let pieces = split(&text, WINDOWS_MAX_UNITS);
        assert!(pieces.len() > 1);
        assert!(
            pieces
                .iter()
                .all(|p| p.encode_utf16().count() <= WINDOWS_MAX_UNITS)
        );
        assert_eq!(pieces.concat(), text);
    }

    #[test]
    fn header_round_trips_and_rejects_json() {
        let h = Header {
            count: 5,
            digest: digest16("x"),
        };
        assert_eq!(Header::parse(&h.render()), Some(h.clone()));
        assert_eq!(
            h.chunk_account("cli|ab", 2),
            format!("cli|ab#{}.2", h.digest)
        );
        assert_eq!(Header::parse(r#"{"OPENAI_API_KEY":"sk"}"#), None);
        assert_eq!(Header::parse("codex-chunked-v1 0 0123456789abcdef"), None);
        assert_eq!(Header::parse("codex-chunked-v1 2 xyz"), None);
    }

    #[test]
    fn small_secret_is_one_reference_compatible_entry() {
        let slots = Limited::new(WINDOWS_MAX_UNITS);
        let secret = r#"{"auth_mode":"apikey","OPENAI_API_KEY":"sk-x"}"#;
        write(&slots, "cli|h", secret, WINDOWS_MAX_UNITS).unwrap();
        assert_eq!(slots.accounts(), vec!["cli|h"]);
        assert_eq!(slots.get("cli|h").unwrap().as_deref(), Some(secret));
        assert_eq!(read(&slots, "cli|h").unwrap().as_deref(), Some(secret));
    }

    #[test]
    fn large_secret_is_chunked_and_read_back() {
        let slots = Limited::new(WINDOWS_MAX_UNITS);
        let secret = big_secret("one");
        assert!(secret.len() > 4000);
        write(&slots, "cli|h", &secret, WINDOWS_MAX_UNITS).unwrap();
        let header = Header::parse(&slots.get("cli|h").unwrap().unwrap()).unwrap();
        assert_eq!(header.count, split(&secret, WINDOWS_MAX_UNITS).len());
        assert_eq!(slots.accounts().len(), header.count + 1);
        assert_eq!(read(&slots, "cli|h").unwrap(), Some(secret));
    }

    #[test]
    fn rewrites_remove_old_chunks() {
        let slots = Limited::new(WINDOWS_MAX_UNITS);
        write(&slots, "cli|h", &big_secret("one"), WINDOWS_MAX_UNITS).unwrap();
        let second = big_secret("two");
        write(&slots, "cli|h", &second, WINDOWS_MAX_UNITS).unwrap();
        let header = Header::parse(&slots.get("cli|h").unwrap().unwrap()).unwrap();
        assert_eq!(slots.accounts().len(), header.count + 1);
        assert_eq!(read(&slots, "cli|h").unwrap(), Some(second.clone()));
        // Saving the same secret again keeps it readable (same chunk names).
        write(&slots, "cli|h", &second, WINDOWS_MAX_UNITS).unwrap();
        assert_eq!(read(&slots, "cli|h").unwrap(), Some(second));
        // Back to a small secret: one entry, no chunks left.
        write(&slots, "cli|h", "{}", WINDOWS_MAX_UNITS).unwrap();
        assert_eq!(slots.accounts(), vec!["cli|h"]);
    }

    #[test]
    fn a_failed_write_leaves_the_old_secret_readable() {
        let mut slots = Limited::new(WINDOWS_MAX_UNITS);
        let first = big_secret("one");
        write(&slots, "cli|h", &first, WINDOWS_MAX_UNITS).unwrap();
        let second = big_secret("two");
        let doomed = Header {
            count: 1,
            digest: digest16(&second),
        }
        .chunk_account("cli|h", 2);
        slots.fail_set_on = Some(doomed);
        assert!(write(&slots, "cli|h", &second, WINDOWS_MAX_UNITS).is_err());
        assert_eq!(read(&slots, "cli|h").unwrap(), Some(first));
    }

    #[test]
    fn missing_or_altered_chunks_are_reported() {
        let slots = Limited::new(WINDOWS_MAX_UNITS);
        let secret = big_secret("one");
        write(&slots, "cli|h", &secret, WINDOWS_MAX_UNITS).unwrap();
        let header = Header::parse(&slots.get("cli|h").unwrap().unwrap()).unwrap();
        let chunk1 = header.chunk_account("cli|h", 1);
        slots.set(&chunk1, "tampered").unwrap();
        match read(&slots, "cli|h") {
            Err(KeyringError::BadEntry(m)) => {
                assert_eq!(
                    m,
                    "its chunks do not add up to the secret they were written for"
                )
            }
            other => panic!("unexpected {other:?}"),
        }
        slots.delete(&chunk1).unwrap();
        match read(&slots, "cli|h") {
            Err(KeyringError::BadEntry(m)) => assert_eq!(
                m,
                format!("chunk 2 of {} (`{chunk1}`) is missing", header.count)
            ),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn remove_takes_the_chunks_too() {
        let slots = Limited::new(WINDOWS_MAX_UNITS);
        write(&slots, "cli|h", &big_secret("one"), WINDOWS_MAX_UNITS).unwrap();
        write(&slots, "cli|other", "{}", WINDOWS_MAX_UNITS).unwrap();
        assert!(remove(&slots, "cli|h").unwrap());
        assert_eq!(slots.accounts(), vec!["cli|other"]);
        assert!(!remove(&slots, "cli|h").unwrap());
        assert_eq!(read(&slots, "cli|h").unwrap(), None);
    }

    #[test]
    fn unlimited_store_never_chunks() {
        let slots = Limited::new(usize::MAX);
        let secret = big_secret("one");
        write(&slots, "cli|h", &secret, usize::MAX).unwrap();
        assert_eq!(slots.accounts(), vec!["cli|h"]);
        assert_eq!(slots.get("cli|h").unwrap(), Some(secret));
    }
}
