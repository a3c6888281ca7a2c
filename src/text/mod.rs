//! Small text helpers every layer may use (ARCHITECTURE.md §2: nothing
//! below `ui` imports it, so shared wording lives here).

pub mod file_url;
pub mod json_depth;
pub mod markup;
pub mod sanitize;

use chrono::{Local, TimeZone};
use unicode_width::UnicodeWidthChar;
use unicode_width::UnicodeWidthStr;

/// Local date and time of a millisecond timestamp, e.g. `2026-11-24 16:40`.
pub fn format_time(ms: i64) -> String {
    Local
        .timestamp_millis_opt(ms)
        .single()
        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|| "?".into())
}

/// Truncates to `width` terminal columns, ending with `…` when cut (wide
/// characters count two: CJK titles are cut by columns, not chars).
pub fn truncate(s: &str, width: usize) -> String {
    if UnicodeWidthStr::width(s) <= width {
        return s.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut w = 0;
    for c in s.chars() {
        let cw = c.width().unwrap_or(0);
        if w + cw > width - 1 {
            break;
        }
        out.push(c);
        w += cw;
    }
    out.push('…');
    out
}

/// "1 session", "3 sessions": counts in words, never "1 sessions" or
/// "session(s)". `one` is the singular; the plural adds an "s".
pub fn plural(n: impl Into<u64>, one: &str) -> String {
    match n.into() {
        1 => format!("1 {one}"),
        n => format!("{n} {one}s"),
    }
}

/// Keeps the first `max` bytes of paragraph text across `groups` (a
/// document's sections, a file's pages), cutting the paragraph that
/// crosses the limit at a character boundary and dropping the rest.
/// Groups left empty stay, for the caller to drop.
pub fn cap_paragraphs<'a>(groups: impl Iterator<Item = &'a mut Vec<String>>, max: usize) {
    let mut left = max;
    for paragraphs in groups {
        let mut keep = 0;
        for p in paragraphs.iter_mut() {
            if left == 0 {
                break;
            }
            if p.len() > left {
                let mut cut = left;
                while !p.is_char_boundary(cut) {
                    cut -= 1;
                }
                p.truncate(cut);
            }
            left -= p.len();
            keep += 1;
        }
        paragraphs.truncate(keep);
    }
}

/// The five XML/HTML named entities as characters (`&amp;` last, so
/// `&amp;lt;` stays `&lt;`).
pub fn unescape_entities(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::{plural, truncate};

    #[test]
    fn truncates_by_columns() {
        assert_eq!(truncate("hello", 5), "hello");
        assert_eq!(truncate("hello", 4), "hel…");
        assert_eq!(truncate("日本語です", 5), "日本…");
        assert_eq!(truncate("x", 0), "");
    }

    /// The layers below the UI never reach up into it (ARCHITECTURE.md §2).
    #[test]
    fn nothing_below_the_ui_imports_it() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
        // Spelled in two parts so this file does not match itself.
        let needle = ["crate", "::ui"].concat();
        let mut offenders = Vec::new();
        for dir in [
            "agent",
            "store",
            "conversation",
            "commands",
            "domain",
            "text",
            "library",
        ] {
            let mut stack = vec![std::path::PathBuf::from(root).join(dir)];
            while let Some(p) = stack.pop() {
                let Ok(entries) = std::fs::read_dir(&p) else {
                    continue;
                };
                for e in entries.flatten() {
                    let path = e.path();
                    if path.is_dir() {
                        stack.push(path);
                    } else if path.extension().is_some_and(|x| x == "rs")
                        && std::fs::read_to_string(&path)
                            .unwrap_or_default()
                            .contains(&needle)
                    {
                        offenders.push(path.display().to_string());
                    }
                }
            }
        }
        assert!(offenders.is_empty(), "import the ui: {offenders:?}");
    }

    #[test]
    fn counts_read_as_words() {
        assert_eq!(plural(1u32, "session"), "1 session");
        assert_eq!(plural(0u32, "session"), "0 sessions");
        assert_eq!(plural(12u64, "document"), "12 documents");
    }
}
