//! Word wrapping by display width (wide CJK and emoji take two columns,
//! combining marks none), so heights are known exactly for scrolling.

use unicode_width::UnicodeWidthChar;
use unicode_width::UnicodeWidthStr;

fn char_width(c: char) -> usize {
    c.width().unwrap_or(0)
}

/// Wraps `text` to `width` columns. Newlines start new lines; words longer
/// than a line are split. Width 0 yields nothing.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut out = Vec::new();
    if width == 0 {
        return out;
    }
    for para in text.split('\n') {
        wrap_paragraph(para, width, &mut out);
    }
    out
}

fn wrap_paragraph(para: &str, width: usize, out: &mut Vec<String>) {
    let mut line = String::new();
    let mut line_w = 0;
    // Split keeping runs of spaces attached to the word after them, so
    // leading indentation survives and spaces at a break are dropped.
    for word in split_words(para) {
        let trimmed = word;
        let w = UnicodeWidthStr::width(trimmed);
        if line_w + w <= width {
            line.push_str(trimmed);
            line_w += w;
            continue;
        }
        // Does not fit: start a new line with the word minus its spaces.
        let bare = trimmed.trim_start_matches(' ');
        let bare_w = UnicodeWidthStr::width(bare);
        if !line.is_empty() {
            out.push(std::mem::take(&mut line));
            line_w = 0;
        }
        if bare_w <= width {
            line.push_str(bare);
            line_w = bare_w;
            continue;
        }
        // A word longer than the line: hard-split it by columns.
        for c in bare.chars() {
            let cw = char_width(c);
            if line_w + cw > width && !line.is_empty() {
                out.push(std::mem::take(&mut line));
                line_w = 0;
            }
            if cw > width {
                // A wide char in a 1-column line can never fit: skip it.
                continue;
            }
            line.push(c);
            line_w += cw;
        }
    }
    out.push(line);
}

/// Yields pieces like "word", " word", "   word" (spaces before a word).
fn split_words(s: &str) -> impl Iterator<Item = &str> {
    let mut rest = s;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let spaces = rest.len() - rest.trim_start_matches(' ').len();
        let after = &rest[spaces..];
        let word_len = after.find(' ').unwrap_or(after.len());
        let (piece, tail) = rest.split_at(spaces + word_len);
        rest = tail;
        Some(piece)
    })
}

pub use crate::text::truncate;

#[cfg(test)]
mod tests {
    use super::*;

    fn widths_ok(lines: &[String], width: usize) -> bool {
        lines
            .iter()
            .all(|l| UnicodeWidthStr::width(l.as_str()) <= width)
    }

    #[test]
    fn wraps_at_word_boundaries() {
        assert_eq!(
            wrap("the quick brown fox", 10),
            vec!["the quick", "brown fox"]
        );
        assert_eq!(wrap("a\n\nb", 10), vec!["a", "", "b"]);
        assert_eq!(wrap("", 10), vec![""]);
    }

    #[test]
    fn splits_long_words_and_keeps_indentation() {
        assert_eq!(wrap("abcdefghij", 4), vec!["abcd", "efgh", "ij"]);
        assert_eq!(wrap("  indented", 20), vec!["  indented"]);
    }

    #[test]
    fn wide_and_combining_characters_respect_width() {
        let text = "你好世界你好世界 e\u{301}te\u{301} 👍👍👍";
        for width in 1..12 {
            let lines = wrap(text, width);
            assert!(widths_ok(&lines, width), "width {width}: {lines:?}");
        }
        assert_eq!(wrap("你好世界", 4), vec!["你好", "世界"]);
    }

    #[test]
    fn zero_width_is_empty_and_truncate_marks_cuts() {
        assert!(wrap("abc", 0).is_empty());
        assert_eq!(truncate("hello world", 6), "hello…");
        assert_eq!(truncate("hi", 6), "hi");
        assert_eq!(truncate("你好世界", 5), "你好…");
    }
}
