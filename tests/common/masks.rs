//! What changes from run to run in a `codex doctor` report, masked for snapshots: timings and
//! durations with their units, RFC 3339 times, and the caller's own placeholders.

/// The report with what changes between runs replaced: `(from, to)` pairs first, then
/// timings and durations with their units (`in 12 ms`, `in 1.2 s`, `within 9 s`, `(in 59 min)`,
/// `expired 60 s ago`: `[DURATION]`), and RFC 3339 times.
pub fn normalized(text: &str, replacements: &[(&str, &str)]) -> String {
    let mut out = text.to_string();
    for (from, to) in replacements {
        out = out.replace(from, to);
    }
    let mut result = String::new();
    let mut rest = out.as_str();
    while !rest.is_empty() {
        if let Some(len) = ["in ", "within "].iter().find_map(|w| {
            rest.strip_prefix(w)
                .and_then(|r| timing_len(r).map(|l| l + w.len()))
        }) {
            let word = if rest.starts_with("in ") {
                "in"
            } else {
                "within"
            };
            // The unit too: a loaded machine turns `850 ms` into `1.2 s`.
            result.push_str(&format!("{word} [DURATION]"));
            rest = &rest[len..];
        } else if let Some(len) =
            timing_len(rest).filter(|&len| rest[len..].starts_with(" ago") && result.ends_with(' '))
        {
            result.push_str("[DURATION]");
            rest = &rest[len..];
        } else if let Some(len) = rfc3339_len(rest) {
            result.push_str("[TIME]");
            rest = &rest[len..];
        } else {
            let c = rest.chars().next().unwrap();
            result.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    result
}

/// `12 ms`, `1.2 s`, `59 min` at the start of `text`: its length.
fn timing_len(text: &str) -> Option<usize> {
    let digits = text
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_digit() || *c == '.'))
        .map(|(i, _)| i)?;
    if digits == 0 {
        return None;
    }
    ["ms", "s", "min", "h", "days"].iter().find_map(|unit| {
        let after = &text[digits..];
        let tail = after.strip_prefix(' ')?.strip_prefix(unit)?;
        tail.chars()
            .next()
            .is_none_or(|c| !c.is_alphanumeric())
            .then_some(digits + 1 + unit.len())
    })
}

/// `2026-12-02T08:41:40Z` or `2026-12-02T08:41:40.228Z` at the start of `text`: its length.
fn rfc3339_len(text: &str) -> Option<usize> {
    let b = text.as_bytes();
    let digit = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    let shape = (0..4).all(digit) && b.get(4) == Some(&b'-') && b.get(10) == Some(&b'T');
    let fraction = match b.get(19) {
        Some(b'.') => (20..).take_while(|&i| digit(i)).count() + 1,
        _ => 0,
    };
    (shape && b.get(19 + fraction) == Some(&b'Z')).then_some(20 + fraction)
}
