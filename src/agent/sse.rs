//! A byte-level Server-Sent Events parser (the WHATWG event-stream format).
//!
//! Lines are split on bytes before any UTF-8 decoding, so a chunk that ends
//! mid-character or between `\r` and `\n` is handled; `:` comments are
//! skipped; multi-line `data:` fields are joined with `\n`; an event is
//! dispatched on a blank line after `\n`, `\r` or `\r\n` line endings.
//! Written here rather than taken from a crate because the crates either
//! reconnect on their own (wrong for a chat POST) or decode per chunk.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field; empty means the default `message`.
    pub event: String,
    pub data: String,
}

#[derive(Debug, Default)]
pub struct SseParser {
    /// Bytes of the current, incomplete line.
    line: Vec<u8>,
    /// The last byte seen was `\r`: a following `\n` belongs to it.
    after_cr: bool,
    event: String,
    data: String,
    has_data: bool,
    /// Guard against a peer that never ends a line or an event.
    max_event_bytes: usize,
}

/// Bigger than any sane single event (a 10 MB chunk is allowed through).
const DEFAULT_MAX_EVENT: usize = 32 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an event-stream event exceeded {0} bytes")]
pub struct TooLarge(pub usize);

impl SseParser {
    pub fn new() -> Self {
        Self {
            max_event_bytes: DEFAULT_MAX_EVENT,
            ..Default::default()
        }
    }

    pub fn with_limit(max_event_bytes: usize) -> Self {
        Self {
            max_event_bytes,
            ..Default::default()
        }
    }

    /// Feeds bytes; returns the events completed by them.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Vec<SseEvent>, TooLarge> {
        let mut out = Vec::new();
        let mut start = 0;
        for (i, &b) in bytes.iter().enumerate() {
            match b {
                b'\n' if self.after_cr => {
                    // Second half of a CRLF whose CR ended the line already.
                    self.after_cr = false;
                    start = i + 1;
                }
                b'\n' | b'\r' => {
                    self.line.extend_from_slice(&bytes[start..i]);
                    self.end_line(&mut out);
                    self.after_cr = b == b'\r';
                    start = i + 1;
                }
                _ => self.after_cr = false,
            }
        }
        self.line.extend_from_slice(&bytes[start..]);
        if self.line.len() + self.data.len() > self.max_event_bytes {
            return Err(TooLarge(self.max_event_bytes));
        }
        Ok(out)
    }

    /// True when the stream ended in the middle of an event (bytes of an
    /// unterminated line or an undispatched `data:` are pending).
    pub fn has_partial(&self) -> bool {
        !self.line.is_empty() || self.has_data
    }

    fn end_line(&mut self, out: &mut Vec<SseEvent>) {
        let line = std::mem::take(&mut self.line);
        if line.is_empty() {
            if self.has_data {
                out.push(SseEvent {
                    event: std::mem::take(&mut self.event),
                    data: std::mem::take(&mut self.data),
                });
            }
            self.event.clear();
            self.data.clear();
            self.has_data = false;
            return;
        }
        if line[0] == b':' {
            return;
        }
        let (field, value) = match line.iter().position(|&c| c == b':') {
            Some(p) => {
                let v = &line[p + 1..];
                (&line[..p], v.strip_prefix(b" ").unwrap_or(v))
            }
            None => (&line[..], &b""[..]),
        };
        let value = String::from_utf8_lossy(value);
        match field {
            b"data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(&value);
                self.has_data = true;
            }
            b"event" => self.event = value.into_owned(),
            // id and retry only matter for reconnecting, which a chat
            // request must never do.
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(input: &[u8]) -> Vec<SseEvent> {
        let mut p = SseParser::new();
        p.push(input).unwrap()
    }

    fn ev(event: &str, data: &str) -> SseEvent {
        SseEvent {
            event: event.into(),
            data: data.into(),
        }
    }

    #[test]
    fn parses_fields_comments_and_multiline_data() {
        let input = b": keep-alive\nevent: delta\ndata: one\ndata:two\n\ndata: [DONE]\n\n";
        assert_eq!(all(input), vec![ev("delta", "one\ntwo"), ev("", "[DONE]")]);
    }

    #[test]
    fn every_line_ending_dispatches() {
        for input in [
            &b"data: a\r\n\r\ndata: b\r\n\r\n"[..],
            b"data: a\r\rdata: b\r\r",
            b"data: a\n\ndata: b\n\n",
        ] {
            assert_eq!(all(input), vec![ev("", "a"), ev("", "b")], "{input:?}");
        }
    }

    #[test]
    fn any_split_of_the_bytes_gives_the_same_events() {
        let input = "event: x\r\ndata: héllo 你好\r\n: c\r\n\r\ndata: 👍\n\ndata: z\r\r".as_bytes();
        let whole = all(input);
        assert_eq!(whole.len(), 3);
        for i in 0..=input.len() {
            for j in i..=input.len() {
                let mut p = SseParser::new();
                let mut got = p.push(&input[..i]).unwrap();
                got.extend(p.push(&input[i..j]).unwrap());
                got.extend(p.push(&input[j..]).unwrap());
                assert_eq!(got, whole, "split at {i},{j}");
            }
        }
    }

    #[test]
    fn byte_by_byte_replay_of_a_real_capture_matches() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/fixtures/llamacpp_chat_stream.sse"
        );
        let bytes = std::fs::read(path).unwrap();
        let whole = all(&bytes);
        let mut p = SseParser::new();
        let mut got = Vec::new();
        for b in &bytes {
            got.extend(p.push(std::slice::from_ref(b)).unwrap());
        }
        assert_eq!(got, whole);
        assert_eq!(whole.last().unwrap().data, "[DONE]");
        assert!(!p.has_partial());
    }

    #[test]
    fn partial_events_are_visible_and_oversize_is_an_error() {
        let mut p = SseParser::new();
        assert!(p.push(b"data: half").unwrap().is_empty());
        assert!(p.has_partial());
        let mut p = SseParser::with_limit(16);
        assert!(p.push(&[b'x'; 32]).is_err());
    }

    #[test]
    fn random_bytes_never_panic() {
        let mut seed = 7u64;
        for _ in 0..2000 {
            let mut p = SseParser::new();
            let n = (seed % 64) as usize;
            let bytes: Vec<u8> = (0..n)
                .map(|_| {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    [b'\r', b'\n', b':', b'd', b'a', b't', b' ', 0xff, 0xe4]
                        [(seed >> 33) as usize % 9]
                })
                .collect();
            let _ = p.push(&bytes);
        }
    }
}
