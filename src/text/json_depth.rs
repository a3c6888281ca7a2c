//! JSON nested deeper than a parser should go, emptied instead of refused:
//! one linear pass (strings and escapes respected) that writes every
//! array or object opened past `max` levels as `[]` or `{}`. serde_json
//! refuses a whole document past 128 levels (and its values drop
//! recursively); a reply whose deep part is never read keeps the rest.

use std::borrow::Cow;

/// `json` with what is nested past `max` levels emptied; borrowed when
/// nothing is that deep. Not a validator: malformed JSON stays malformed.
pub fn emptied_past(json: &[u8], max: usize) -> Cow<'_, [u8]> {
    if depth_at_most(json, max) {
        return Cow::Borrowed(json);
    }
    let mut out = Vec::with_capacity(json.len().min(1 << 20));
    let (mut depth, mut in_str, mut escaped) = (0usize, false, false);
    // The depth at which the bracket being emptied was opened.
    let mut skipping: Option<usize> = None;
    for &c in json {
        if in_str {
            if escaped {
                escaped = false;
            } else if c == b'\\' {
                escaped = true;
            } else if c == b'"' {
                in_str = false;
            }
            if skipping.is_none() {
                out.push(c);
            }
            continue;
        }
        match c {
            b'"' => in_str = true,
            b'[' | b'{' => {
                depth += 1;
                if skipping.is_none() && depth > max {
                    skipping = Some(depth);
                    out.push(c);
                    continue;
                }
            }
            b']' | b'}' => {
                if skipping == Some(depth) {
                    skipping = None;
                    out.push(c);
                    depth = depth.saturating_sub(1);
                    continue;
                }
                depth = depth.saturating_sub(1);
            }
            _ => {}
        }
        if skipping.is_none() {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn depth_at_most(json: &[u8], max: usize) -> bool {
    let (mut depth, mut in_str, mut escaped) = (0usize, false, false);
    for &c in json {
        if in_str {
            if escaped {
                escaped = false;
            } else if c == b'\\' {
                escaped = true;
            } else if c == b'"' {
                in_str = false;
            }
            continue;
        }
        match c {
            b'"' => in_str = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return false;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
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
