//! Writing for people and programs without ever panicking, and without letting text from
//! elsewhere drive the terminal.
//!
//! - **No panic reaches the user.** `println!`/`eprintln!` panic when the stream fails (a full
//!   disk, a closed pipe); nothing here does. A closed stdout (`codex login token | head -c0`)
//!   ends the output quietly, as `exec` does; any other write error is returned, and `main`
//!   reports it and exits 1. Stderr failures are ignored: there is nowhere left to say them.
//! - **Untrusted text is made printable.** Token claims, servers' error messages, proxy and TLS
//!   details may carry ESC, CR and other control characters (or bidi overrides) that would
//!   rewrite the terminal; `printable` shows them as escapes (`\u{1b}`) instead.

use std::borrow::Cow;
use std::io::Write;

/// Writes `text` to stdout and flushes. A reader that went away is not an error.
pub fn print(text: &[u8]) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(text).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// Writes a line to stderr, ignoring failures. Control characters other than line breaks are
/// escaped here too, a last guard for untrusted text that reached a message unescaped.
pub fn say(args: std::fmt::Arguments<'_>) {
    let text = args.to_string();
    let shown = escape(&text, |c| c != '\n');
    let mut stderr = std::io::stderr().lock();
    let _ = stderr
        .write_all(shown.as_bytes())
        .and_then(|()| stderr.write_all(b"\n"));
}

/// `eprintln!` that never panics (see `say`).
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::output::say(format_args!($($arg)*))
    };
}

/// Untrusted text (a claim, a server's message) made safe to show on one line: control
/// characters, line breaks included, and invisible direction overrides become escapes.
pub fn printable(text: &str) -> Cow<'_, str> {
    escape(text, |_| true)
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
        assert_eq!(escape("line\nnext\r", |c| c != '\n'), "line\nnext\\r");
    }
}
