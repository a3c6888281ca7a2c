//! Documents → passages: paragraph-sized pieces (about 60–200 words) that
//! never cross a section and are cut mid-sentence only when one sentence
//! alone is too long. Each passage keeps its document's title, its section
//! and the section's URL, so a citation resolves to the words it cites.

use super::document::Document;
use super::{Passage, SourceKind};

/// Passages shorter than this are merged with the next paragraph.
pub const MIN_WORDS: usize = 60;
/// Passages longer than this are split at sentence ends.
pub const MAX_WORDS: usize = 200;
/// Bytes a passage may hold: 200 long words, or a "word" with no space
/// in it (a page of one URL or of NUL bytes) cut at this size.
pub const MAX_BYTES: usize = 2400;
/// Where a run of text without word boundaries is cut.
const HARD_BYTES: usize = 1200;
/// Passages kept per document (the first ones, in reading order).
pub const MAX_PER_DOC: usize = 150;

/// Word count where CJK characters count one each (they are written
/// without spaces, so whitespace alone would call a page one word).
pub fn words(text: &str) -> usize {
    text.split_whitespace()
        .map(|w| {
            let cjk = w.chars().filter(|&c| is_cjk(c)).count();
            if cjk == 0 {
                1
            } else {
                cjk + usize::from(cjk < w.chars().count())
            }
        })
        .sum()
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF      // kana
        | 0x3400..=0x4DBF    // CJK ext A
        | 0x4E00..=0x9FFF    // CJK unified
        | 0xAC00..=0xD7AF    // hangul
        | 0xF900..=0xFAFF)
}

/// Splits text into sentences: after `.`, `!` or `?` followed by a space
/// (not after an initial or a common abbreviation), and after CJK full
/// stops.
pub fn sentences(text: &str) -> Vec<&str> {
    spans(text)
        .into_iter()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}

/// The sentences of `text` with their trailing whitespace: concatenated,
/// they are the text again.
fn spans(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut iter = text.char_indices().peekable();
    while let Some((i, c)) = iter.next() {
        let cut = match c {
            '。' | '！' | '？' => true,
            '.' | '!' | '?' => {
                matches!(iter.peek(), Some((_, n)) if n.is_whitespace())
                    && !(c == '.' && abbreviation(&text[start..i]))
            }
            _ => false,
        };
        if cut {
            // Take the whitespace after the stop with this sentence.
            let mut end = i + c.len_utf8();
            while let Some((j, n)) = iter.peek().copied() {
                if !n.is_whitespace() {
                    break;
                }
                end = j + n.len_utf8();
                iter.next();
            }
            out.push(&text[start..end]);
            start = end;
        }
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

/// Whether the word before a period is an initial or an abbreviation.
fn abbreviation(before: &str) -> bool {
    let word = before.rsplit(char::is_whitespace).next().unwrap_or("");
    let word = word.trim_start_matches(|c: char| !c.is_alphanumeric());
    (word.chars().count() == 1 && word.chars().all(char::is_uppercase))
        || matches!(
            word,
            "Mr" | "Mrs"
                | "Ms"
                | "Dr"
                | "St"
                | "Jr"
                | "Sr"
                | "vs"
                | "etc"
                | "e.g"
                | "i.e"
                | "No"
                | "Fig"
                | "approx"
                | "U.S"
                | "U.K"
                | "Inc"
                | "Ltd"
                | "Co"
                | "Mt"
                | "ca"
                | "c"
        )
}

/// Cuts one over-long paragraph into pieces of balanced size at sentence
/// ends; a sentence longer than the limit is cut at word (or CJK char)
/// boundaries.
fn split_long(para: &str, out: &mut Vec<String>) {
    let total = words(para);
    let pieces = total.div_ceil(MAX_WORDS).max(1);
    let target = total.div_ceil(pieces);
    let mut cur = String::new();
    let mut cur_words = 0;
    let flush = |cur: &mut String, out: &mut Vec<String>| {
        let t = cur.trim();
        if !t.is_empty() {
            out.push(t.to_string());
        }
        cur.clear();
    };
    for s in spans(para) {
        let w = words(s);
        if w > MAX_WORDS || s.len() > MAX_BYTES {
            flush(&mut cur, out);
            cur_words = 0;
            hard_split(s, out);
            continue;
        }
        if cur_words > 0 && (cur_words + w > MAX_WORDS || cur.len() + s.len() > MAX_BYTES) {
            flush(&mut cur, out);
            cur_words = 0;
        }
        cur.push_str(s);
        cur_words += w;
        if cur_words >= target {
            flush(&mut cur, out);
            cur_words = 0;
        }
    }
    flush(&mut cur, out);
}

fn hard_split(s: &str, out: &mut Vec<String>) {
    let mut cur = String::new();
    let mut n = 0;
    for c in s.chars() {
        // A boundary: whitespace, or any CJK character.
        let boundary = c.is_whitespace() || is_cjk(c);
        if (boundary && n >= MAX_WORDS) || cur.len() + c.len_utf8() > HARD_BYTES {
            let piece = std::mem::take(&mut cur);
            if !piece.trim().is_empty() {
                out.push(piece.trim().to_string());
            }
            n = 0;
        }
        if c.is_whitespace() || is_cjk(c) {
            n += 1;
        }
        cur.push(c);
    }
    let rest = cur.trim();
    if !rest.is_empty() {
        out.push(rest.to_string());
    }
}

/// The passages of one section's paragraphs.
pub fn chunk(paragraphs: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut buf = String::new();
    let mut buf_words = 0;
    for p in paragraphs
        .iter()
        .map(|p| p.trim())
        .filter(|p| !p.is_empty())
    {
        let w = words(p);
        if w > MAX_WORDS || p.len() > MAX_BYTES {
            if !buf.is_empty() {
                out.push(std::mem::take(&mut buf));
                buf_words = 0;
            }
            split_long(p, &mut out);
            continue;
        }
        if buf_words > 0 && (buf_words + w > MAX_WORDS || buf.len() + p.len() >= MAX_BYTES) {
            out.push(std::mem::take(&mut buf));
            buf_words = 0;
        }
        if !buf.is_empty() {
            buf.push('\n');
        }
        buf.push_str(p);
        buf_words += w;
        if buf_words >= MIN_WORDS {
            out.push(std::mem::take(&mut buf));
            buf_words = 0;
        }
    }
    if !buf.is_empty() {
        // A short tail joins the previous passage when both fit.
        match out.last_mut() {
            Some(last)
                if words(last) + buf_words <= MAX_WORDS && last.len() + buf.len() < MAX_BYTES =>
            {
                last.push('\n');
                last.push_str(&buf);
            }
            _ => out.push(buf),
        }
    }
    out.retain(|p| !p.trim().is_empty());
    out
}

/// Every passage of `docs`, in document order; `doc` in each passage is the
/// document's index. At most [`MAX_PER_DOC`] per document and `max_total`
/// in all.
pub fn of_documents(docs: &[Document], max_total: usize) -> Vec<Passage> {
    let mut out = Vec::new();
    for (d, doc) in docs.iter().enumerate() {
        let mut n = 0;
        let meta = std::sync::Arc::new(doc.meta.clone());
        'doc: for s in &doc.sections {
            let texts = chunk(&s.paragraphs);
            // A stored vector is the whole section's: it stands for a
            // passage only when the section is one.
            let vector = s.vector.clone().filter(|_| texts.len() == 1);
            for text in texts {
                if n == MAX_PER_DOC || out.len() == max_total {
                    break 'doc;
                }
                out.push(Passage {
                    kind: doc.kind,
                    title: doc.title.clone(),
                    section: s.heading.clone(),
                    url: s.url.clone().or_else(|| doc.url.clone()),
                    text,
                    doc: d,
                    vector: vector.clone(),
                    meta: std::sync::Arc::clone(&meta),
                });
                n += 1;
            }
        }
    }
    out
}

/// A passage made from a short text (a search snippet) with no document.
pub fn single(kind: SourceKind, title: &str, url: Option<String>, text: &str) -> Passage {
    Passage {
        kind,
        title: title.to_string(),
        section: None,
        url,
        text: text.to_string(),
        doc: 0,
        vector: None,
        meta: Default::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn para(words: usize, tag: &str) -> String {
        (0..words)
            .map(|i| {
                if i % 12 == 11 {
                    format!("{tag}{i}.")
                } else {
                    format!("{tag}{i}")
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn paragraphs_of_normal_size_stay_whole() {
        let ps = vec![para(120, "a"), para(90, "b"), para(150, "c")];
        assert_eq!(chunk(&ps), ps);
    }

    #[test]
    fn short_paragraphs_merge_and_long_ones_split_at_sentences() {
        let ps = vec![para(20, "a"), para(25, "b"), para(30, "c"), para(500, "d")];
        let c = chunk(&ps);
        assert_eq!(c[0], format!("{}\n{}\n{}", ps[0], ps[1], ps[2]));
        let long: Vec<&String> = c[1..].iter().collect();
        assert_eq!(
            long.len(),
            3,
            "{:?}",
            long.iter().map(|p| words(p)).collect::<Vec<_>>()
        );
        for p in &long {
            let w = words(p);
            assert!((60..=MAX_WORDS).contains(&w), "{w}");
            assert!(
                p.ends_with('.') || p.ends_with("d499"),
                "ends mid-sentence: {p}"
            );
        }
        // Nothing lost.
        let joined: Vec<&str> = c.iter().flat_map(|p| p.split_whitespace()).collect();
        let want: Vec<&str> = ps.iter().flat_map(|p| p.split_whitespace()).collect();
        assert_eq!(joined, want);
    }

    #[test]
    fn a_short_tail_joins_the_previous_passage() {
        let ps = vec![para(100, "a"), para(10, "b")];
        assert_eq!(chunk(&ps), vec![format!("{}\n{}", ps[0], ps[1])]);
    }

    #[test]
    fn cjk_text_is_cut_into_bounded_passages() {
        let zh = "我们研究了长文本的检索方法。".repeat(120);
        let c = chunk(std::slice::from_ref(&zh));
        assert!(c.len() >= 5, "{}", c.len());
        assert!(c.iter().all(|p| words(p) <= MAX_WORDS && p.ends_with('。')));
        assert_eq!(c.concat(), zh);
        // No sentence end at all: cut at characters.
        let c = chunk(&["字".repeat(1000)]);
        assert!(c.len() >= 5 && c.iter().all(|p| words(p) <= MAX_WORDS + 1));
        // Nor any space: cut at a byte limit, on a char boundary.
        let c = chunk(&["\0é".repeat(200_000)]);
        assert!(c.len() > 100 && c.iter().all(|p| p.len() <= MAX_BYTES));
    }

    #[test]
    fn no_empty_passages_and_no_section_crossing() {
        assert!(chunk(&[]).is_empty());
        assert!(chunk(&["   ".into(), String::new()]).is_empty());
        let text = "Intro words here.\n== A ==\nalpha.\n== B ==\nbeta.\n";
        let d = Document::wiki_extract("T", Some("https://w.org/wiki/T".into()), text);
        let p = of_documents(&[d], 100);
        let got: Vec<(Option<&str>, &str)> = p
            .iter()
            .map(|p| (p.section.as_deref(), p.text.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (None, "Intro words here."),
                (Some("A"), "alpha."),
                (Some("B"), "beta.")
            ]
        );
        assert_eq!(p[2].url.as_deref(), Some("https://w.org/wiki/T#B"));
    }

    #[test]
    fn sentences_respect_initials_and_abbreviations() {
        assert_eq!(
            sentences("J. R. R. Tolkien wrote it. Dr. Who? Yes! U.S. troops left. End"),
            vec![
                "J. R. R. Tolkien wrote it.",
                "Dr. Who?",
                "Yes!",
                "U.S. troops left.",
                "End"
            ]
        );
        assert_eq!(sentences("一。二！三"), vec!["一。", "二！", "三"]);
        assert!(sentences("  ").is_empty());
    }

    #[test]
    fn passages_are_capped_per_document_and_in_all() {
        let body: Vec<String> = (0..400).map(|i| para(80, &format!("p{i}x"))).collect();
        let d = Document::plain(SourceKind::Web, "big", None, &body.join("\n"));
        assert_eq!(
            of_documents(std::slice::from_ref(&d), 10_000).len(),
            MAX_PER_DOC
        );
        assert_eq!(of_documents(&[d.clone(), d], 200).len(), 200);
    }
}
