//! JSON nested deeper than a parser should go, emptied instead of refused:
//! one linear pass (strings and escapes respected) that writes every
//! array or object opened past `max` levels as `[]` or `{}`. serde_json
//! refuses a whole document past 128 levels (and its values drop
//! recursively); a reply whose deep part is never read keeps the rest.

use std::borrow::Cow;

/// What one byte of JSON is, outside strings: a bracket opening or
/// closing a level, or anything else (string bytes included).
enum Byte {
    Open,
    Close,
    Other,
}

/// Strings and their escapes, so brackets inside them are not levels.
#[derive(Default)]
struct Lexer {
    in_str: bool,
    escaped: bool,
}

impl Lexer {
    fn byte(&mut self, c: u8) -> Byte {
        if self.in_str {
            if self.escaped {
                self.escaped = false;
            } else if c == b'\\' {
                self.escaped = true;
            } else if c == b'"' {
                self.in_str = false;
            }
            return Byte::Other;
        }
        match c {
            b'"' => {
                self.in_str = true;
                Byte::Other
            }
            b'[' | b'{' => Byte::Open,
            b']' | b'}' => Byte::Close,
            _ => Byte::Other,
        }
    }
}

/// `json` with what is nested past `max` levels emptied; borrowed when
/// nothing is that deep. Not a validator: malformed JSON stays malformed.
pub fn emptied_past(json: &[u8], max: usize) -> Cow<'_, [u8]> {
    if depth_at_most(json, max) {
        return Cow::Borrowed(json);
    }
    let mut out = Vec::with_capacity(json.len().min(1 << 20));
    let (mut lexer, mut depth) = (Lexer::default(), 0usize);
    // The depth at which the bracket being emptied was opened.
    let mut skipping: Option<usize> = None;
    for &c in json {
        let keep = match lexer.byte(c) {
            Byte::Open => {
                depth += 1;
                if skipping.is_none() && depth > max {
                    skipping = Some(depth);
                    out.push(c);
                }
                skipping.is_none()
            }
            Byte::Close => {
                let closes_skip = skipping == Some(depth);
                depth = depth.saturating_sub(1);
                if closes_skip {
                    skipping = None;
                    out.push(c);
                    false
                } else {
                    skipping.is_none()
                }
            }
            Byte::Other => skipping.is_none(),
        };
        if keep {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn depth_at_most(json: &[u8], max: usize) -> bool {
    let (mut lexer, mut depth) = (Lexer::default(), 0usize);
    for &c in json {
        match lexer.byte(c) {
            Byte::Open => {
                depth += 1;
                if depth > max {
                    return false;
                }
            }
            Byte::Close => depth = depth.saturating_sub(1),
            Byte::Other => {}
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_parts_are_emptied_and_the_rest_kept() {
        let j = br#"{"a":[1,{"b":[2,[3,"]["]]}],"c":"x{"}"#;
        assert!(matches!(emptied_past(j, 8), Cow::Borrowed(_)));
        assert_eq!(
            emptied_past(j, 3).as_ref(),
            br#"{"a":[1,{"b":[]}],"c":"x{"}"#.as_slice()
        );
        assert_eq!(
            emptied_past(j, 1).as_ref(),
            br#"{"a":[],"c":"x{"}"#.as_slice()
        );
        // An escaped quote does not end the string; brackets inside do nothing.
        let s = br#"[["\"]]["]]"#;
        assert_eq!(emptied_past(s, 1).as_ref(), b"[[]]".as_slice());
        let deep = "[".repeat(100_000) + &"]".repeat(100_000);
        let v: serde_json::Value =
            serde_json::from_slice(&emptied_past(deep.as_bytes(), 100)).unwrap();
        assert!(v.is_array());
    }
}
