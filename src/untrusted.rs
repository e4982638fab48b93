//! Text from elsewhere, made safe to show. Token claims, servers' error messages, proxy and TLS
//! details may carry ESC, CR and other control characters (or bidi overrides) that would rewrite
//! the terminal; they are shown as escapes (`\u{1b}`) instead. Every such string is passed
//! through `printable` where it enters a message; `report::stderr_line` escapes whatever control
//! character still reaches it (line breaks apart), a last guard.

use std::borrow::Cow;

/// Untrusted text made safe to show on one line: control characters, line breaks included, and
/// invisible direction overrides become escapes.
pub fn printable(text: &str) -> Cow<'_, str> {
    escape(text, |_| true)
}

/// A message for the terminal: like `printable`, but its own line breaks stay.
pub fn terminal_safe(text: &str) -> Cow<'_, str> {
    escape(text, |c| c != '\n')
}

fn escape(text: &str, applies: impl Fn(char) -> bool) -> Cow<'_, str> {
    let unsafe_char = |c: char| is_unsafe(c) && applies(c);
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// C0 and C1 controls, DEL, and the Unicode characters that reorder or hide text on a terminal
/// (bidi embeddings, overrides and isolates; the line and paragraph separators).
fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{2028}' | '\u{2029}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_become_escapes() {
        assert_eq!(printable("plain é text"), "plain é text");
        assert_eq!(
            printable("a\u{1b}[2J\rb\nc\u{9b}\u{7f}\u{202e}"),
            "a\\u{1b}[2J\\rb\\nc\\u{9b}\\u{7f}\\u{202e}"
        );
        assert_eq!(terminal_safe("line\nnext\r"), "line\nnext\\r");
    }
}
