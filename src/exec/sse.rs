//! A Server-Sent Events parser (the WHATWG event-stream format): bytes in, in any chunking,
//! events out. Lines end in LF, CRLF or CR; `data:` lines join with LF; `:` lines are comments;
//! a blank line ends an event.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The `event:` field; "message" when absent.
    pub name: String,
    pub data: String,
}

#[derive(Debug, Default)]
pub struct Parser {
    /// Bytes of an unfinished line.
    line: Vec<u8>,
    /// The last byte seen was CR: an LF right after it belongs to the same line end.
    after_cr: bool,
    name: Option<String>,
    data: Option<String>,
}

impl Parser {
    pub fn new() -> Parser {
        Parser::default()
    }

    /// Feeds a chunk; returns the events it completed.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<Event> {
        let mut events = Vec::new();
        for &b in chunk {
            if self.after_cr {
                self.after_cr = false;
                if b == b'\n' {
                    continue;
                }
            }
            match b {
                b'\n' => self.end_line(&mut events),
                b'\r' => {
                    self.after_cr = true;
                    self.end_line(&mut events);
                }
                _ => self.line.push(b),
            }
        }
        events
    }

    /// Bytes held for the event being read (its unfinished line and data so far): the caller
    /// bounds it, so a stream that never ends a line or an event cannot fill the memory.
    pub fn pending(&self) -> usize {
        self.line.len() + self.data.as_ref().map_or(0, String::len)
    }

    /// At the end of the stream: an event without its closing blank line is dropped, as the
    /// format says (it may be cut short).
    pub fn finish(&mut self) {
        self.line.clear();
        self.name = None;
        self.data = None;
    }

    fn end_line(&mut self, events: &mut Vec<Event>) {
        let line = String::from_utf8_lossy(&self.line).into_owned();
        self.line.clear();
        if line.is_empty() {
            if let Some(data) = self.data.take() {
                events.push(Event {
                    name: self.name.take().unwrap_or_else(|| "message".to_string()),
                    data,
                });
            }
            self.name = None;
            return;
        }
        if line.starts_with(':') {
            return;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line.as_str(), ""),
        };
        match field {
            "event" => self.name = Some(value.to_string()),
            "data" => match &mut self.data {
                Some(data) => {
                    data.push('\n');
                    data.push_str(value);
                }
                None => self.data = Some(value.to_string()),
            },
            // `id` and `retry` steer browser reconnection, which a single request does not do.
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(name: &str, data: &str) -> Event {
        Event {
            name: name.to_string(),
            data: data.to_string(),
        }
    }

    #[test]
    fn events_survive_any_chunking() {
        let text = "event: a\ndata: {\"x\":1}\n\n: keepalive\n\ndata: one\r\ndata: two\r\n\r\nevent: b\rdata: é\r\r";
        let whole = Parser::new().push(text.as_bytes());
        assert_eq!(
            whole,
            vec![
                ev("a", "{\"x\":1}"),
                ev("message", "one\ntwo"),
                ev("b", "é")
            ]
        );
        for size in 1..text.len() {
            let mut p = Parser::new();
            let mut got = Vec::new();
            for chunk in text.as_bytes().chunks(size) {
                got.extend(p.push(chunk));
            }
            assert_eq!(got, whole, "chunk size {size}");
        }
    }

    #[test]
    fn an_unterminated_event_is_not_dispatched() {
        let mut p = Parser::new();
        assert!(p.push(b"event: a\ndata: x\n").is_empty());
        p.finish();
        assert!(p.push(b"\n").is_empty());
    }

    #[test]
    fn field_without_colon_and_without_space() {
        assert_eq!(Parser::new().push(b"data\n\n"), vec![ev("message", "")]);
        assert_eq!(Parser::new().push(b"data:x\n\n"), vec![ev("message", "x")]);
    }
}
