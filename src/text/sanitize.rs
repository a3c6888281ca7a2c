//! Makes untrusted text (model output, web pages, stored history) inert
//! before it reaches a terminal, stdout, an export or a log.
//!
//! Escape sequences (CSI, OSC — including OSC 52 clipboard writes and OSC 8
//! links — DCS, SOS/PM/APC, and single-character escapes) are removed whole;
//! other C0/C1 controls are dropped except newline and tab (tab becomes
//! spaces so widths stay predictable); bidi overrides and isolates, which can
//! make text read differently than it is, are dropped too.

use std::borrow::Cow;

const TAB: &str = "    ";

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

fn needs_work(s: &str) -> bool {
    s.chars()
        .any(|c| (c.is_control() && c != '\n') || is_bidi_control(c))
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    Text,
    /// After ESC.
    Esc,
    /// Inside CSI: parameters until a final byte 0x40..=0x7E.
    Csi,
    /// Inside a string sequence (OSC, DCS, SOS, PM, APC) until BEL or ST.
    Str,
    /// Inside a string sequence, just saw ESC (maybe ST = ESC \).
    StrEsc,
}

/// Returns `s` unchanged (borrowed) when it is already safe.
pub fn sanitize(s: &str) -> Cow<'_, str> {
    if !needs_work(s) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    Sanitizer::default().push_into(s, &mut out);
    Cow::Owned(out)
}

/// A sanitizer for text that arrives in pieces (a streamed answer): an
/// escape sequence split across two pieces is still removed whole.
#[derive(Debug, Clone, Copy)]
pub struct Sanitizer {
    state: State,
}

impl Default for Sanitizer {
    fn default() -> Self {
        Self { state: State::Text }
    }
}

impl Sanitizer {
    pub fn push(&mut self, s: &str) -> String {
        let mut out = String::with_capacity(s.len());
        self.push_into(s, &mut out);
        out
    }

    fn push_into(&mut self, s: &str, out: &mut String) {
        let mut state = self.state;
        for c in s.chars() {
            state = step(state, c, out);
        }
        self.state = state;
    }
}

fn step(state: State, c: char, out: &mut String) -> State {
    match state {
        State::Text => match c {
            '\u{1b}' => State::Esc,
            '\u{9b}' => State::Csi,
            '\u{90}' | '\u{9d}' | '\u{98}' | '\u{9e}' | '\u{9f}' => State::Str,
            '\n' => {
                out.push('\n');
                State::Text
            }
            '\t' => {
                out.push_str(TAB);
                State::Text
            }
            c if c.is_control() || is_bidi_control(c) => State::Text,
            c => {
                out.push(c);
                State::Text
            }
        },
        State::Esc => match c {
            '[' => State::Csi,
            ']' | 'P' | 'X' | '^' | '_' => State::Str,
            // Other escapes are two characters long.
            _ => State::Text,
        },
        State::Csi => {
            if ('\u{40}'..='\u{7e}').contains(&c) {
                State::Text
            } else if c == '\u{1b}' {
                State::Esc
            } else {
                State::Csi
            }
        }
        State::Str => match c {
            '\u{7}' | '\u{9c}' => State::Text,
            '\u{1b}' => State::StrEsc,
            _ => State::Str,
        },
        State::StrEsc => match c {
            '\\' => State::Text,
            '\u{1b}' => State::StrEsc,
            _ => State::Str,
        },
    }
}

/// Sanitizes and folds to one line (newlines become spaces): titles, status.
pub fn one_line(s: &str) -> String {
    sanitize(s).replace('\n', " ")
}

/// Serialized JSON with C1 controls, bidi controls and the Unicode line
/// separators written as `\uXXXX` escapes: serde escapes only C0, and a
/// JSON document printed to a terminal (or read by a careless tool) must
/// not carry them raw. Such characters only occur inside JSON strings, so
/// escaping them keeps the document equal.
pub fn json_safe(json: String) -> String {
    let unsafe_char =
        |c: char| matches!(c, '\u{80}'..='\u{9f}' | '\u{2028}' | '\u{2029}') || is_bidi_control(c);
    if !json.chars().any(unsafe_char) {
        return json;
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if unsafe_char(c) {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// `serde_json::to_string_pretty`, then [`json_safe`].
pub fn to_json_pretty<T: serde::Serialize + ?Sized>(v: &T) -> serde_json::Result<String> {
    serde_json::to_string_pretty(v).map(json_safe)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_output_escapes_c1_and_bidi() {
        let v = serde_json::json!({"t": "a\u{9b}31m b\u{202e}c\u{2028}d\u{1b}e"});
        let s = to_json_pretty(&v).unwrap();
        assert!(
            !s.contains('\u{9b}') && !s.contains('\u{202e}') && !s.contains('\u{1b}'),
            "{s}"
        );
        assert!(s.contains("\\u009b") && s.contains("\\u202e"), "{s}");
        // Still the same document.
        let back: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn plain_text_is_borrowed_untouched() {
        let s = "hello — wörld 你好 👍\nline two";
        assert!(matches!(sanitize(s), Cow::Borrowed(_)));
    }

    #[test]
    fn removes_escape_sequences_whole() {
        let cases = [
            ("a\x1b[31mred\x1b[0mb", "aredb"),
            ("x\x1b]52;c;aGVsbG8=\x07y", "xy"),
            ("x\x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\y", "xlinky"),
            ("a\x1bP1$r0m\x1b\\b", "ab"),
            ("a\u{9b}2Jb", "ab"),
            ("clear\x1b[2J\x1b[Hme", "clearme"),
            ("a\x1b7b\x1b8c", "abc"),
            ("bell\x07 back\x08space\r", "bell backspace"),
        ];
        for (input, want) in cases {
            assert_eq!(sanitize(input), want, "input {input:?}");
        }
    }

    #[test]
    fn unterminated_sequences_swallow_to_end_without_panic() {
        assert_eq!(sanitize("ok\x1b]52;c;AAAA"), "ok");
        assert_eq!(sanitize("ok\x1b["), "ok");
        assert_eq!(sanitize("ok\x1b"), "ok");
    }

    #[test]
    fn drops_bidi_overrides_and_expands_tabs() {
        assert_eq!(sanitize("abc\u{202E}fed\u{2066}x"), "abcfedx");
        assert_eq!(sanitize("a\tb"), "a    b");
    }

    #[test]
    fn streamed_pieces_are_sanitized_across_boundaries() {
        let input = "a\x1b]52;c;QUJD\x07b\x1b[31mc";
        for split in 0..input.len() {
            if !input.is_char_boundary(split) {
                continue;
            }
            let mut s = Sanitizer::default();
            let out = s.push(&input[..split]) + &s.push(&input[split..]);
            assert_eq!(out, "abc", "split at {split}");
        }
    }

    #[test]
    fn one_line_folds_newlines() {
        assert_eq!(one_line("a\nb\x1b[1m"), "a b");
    }
}
