//! An answer's claims: its sentences and list items (table rows, each one
//! claim), Markdown stripped, each with the citation marks it carries.
//! Marks are counted in the order the transcript renders them (`[n]` for
//! n in 1..=sources, outside code blocks), so the k-th highlighted mark
//! on screen is the k-th mark here.

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

/// One claim as written.
#[derive(Debug, Clone, PartialEq)]
pub struct Written {
    /// Its text without the marks.
    pub text: String,
    /// The passages it cites, in order, each once.
    pub cites: Vec<i64>,
    /// Which marks of the answer are its own (render order).
    pub marks: Vec<usize>,
    /// A note or a title (all emphasis), not something asserted.
    pub aside: bool,
}

/// The claims of `answer`, whose valid citations are `[1]..=[max]`; also
/// how many marks point past the sources (dangling).
pub fn split(answer: &str, max: usize) -> (Vec<Written>, usize) {
    let mut blocks = Blocks::default();
    let opts = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    for ev in Parser::new_ext(answer, opts) {
        blocks.event(ev);
    }
    blocks.end();
    let mut out = Vec::new();
    let mut dangling = 0;
    let mut mark = 0usize;
    // Under a "References" (or "Sources", "Bibliography") heading the list
    // names the sources; it asserts nothing. Its marks still count.
    let mut in_references = false;
    for b in blocks.done {
        if b.heading {
            let h = b.text.trim().trim_matches('#').trim().to_lowercase();
            in_references = matches!(
                h.as_str(),
                "references" | "sources" | "bibliography" | "works cited" | "cited sources"
            );
        }
        let parts = marks_in(&b.text, max);
        dangling += parts.dangling;
        for mut s in sentences(&parts) {
            // Tables are drawn as text, their marks not highlighted.
            if b.table {
                s.marks.clear();
            }
            s.marks = (mark..mark + s.marks.len()).collect();
            mark += s.marks.len();
            s.aside = b.aside;
            // A heading's marks are drawn (and counted) but claim nothing.
            if !b.heading && !in_references && !s.text.is_empty() {
                out.push(s);
            }
        }
    }
    (out, dangling)
}

/// Text blocks: paragraphs, list items, table rows, headings.
#[derive(Default)]
struct Blocks {
    cur: Option<Block>,
    done: Vec<Block>,
    in_code: bool,
    emphasis: usize,
    in_heading: bool,
    in_table: bool,
}

#[derive(Default)]
struct Block {
    text: String,
    heading: bool,
    table: bool,
    /// Only emphasised text so far (a note, a bold title line).
    aside: bool,
}

impl Blocks {
    fn event(&mut self, ev: Event<'_>) {
        match ev {
            Event::Start(Tag::CodeBlock(_)) => {
                self.end();
                self.in_code = true;
            }
            Event::End(TagEnd::CodeBlock) => self.in_code = false,
            Event::Start(Tag::Heading { .. }) => {
                self.end();
                self.in_heading = true;
            }
            Event::End(TagEnd::Heading(_)) => {
                self.end();
                self.in_heading = false;
            }
            Event::Start(Tag::Paragraph | Tag::Item | Tag::TableRow | Tag::TableHead)
            | Event::End(TagEnd::Paragraph | TagEnd::Item | TagEnd::TableRow | TagEnd::TableHead) => {
                self.end()
            }
            Event::Start(Tag::List(_)) => self.end(),
            Event::Start(Tag::Table(_)) => {
                self.end();
                self.in_table = true;
            }
            Event::End(TagEnd::Table) => {
                self.end();
                self.in_table = false;
            }
            Event::End(TagEnd::TableCell) => self.push("; ", false),
            Event::Start(Tag::Emphasis | Tag::Strong) => self.emphasis += 1,
            Event::End(TagEnd::Emphasis | TagEnd::Strong) => {
                self.emphasis = self.emphasis.saturating_sub(1)
            }
            Event::Text(t) | Event::Code(t) if !self.in_code => {
                let plain = self.emphasis == 0 && !t.trim().is_empty();
                self.push(&t, plain);
            }
            Event::SoftBreak | Event::HardBreak => self.push(" ", false),
            _ => {}
        }
    }

    fn push(&mut self, t: &str, plain: bool) {
        let (heading, table) = (self.in_heading, self.in_table);
        let b = self.cur.get_or_insert_with(|| Block {
            heading,
            table,
            aside: true,
            ..Block::default()
        });
        b.text.push_str(t);
        if plain {
            b.aside = false;
        }
    }

    fn end(&mut self) {
        if let Some(b) = self.cur.take()
            && !b.text.trim().is_empty()
        {
            self.done.push(b);
        }
    }
}

/// A block's text cut at its marks.
struct Marked {
    /// Text and the marks right after it.
    pieces: Vec<(String, Vec<i64>)>,
    dangling: usize,
}

/// Finds `[n]` (a mark) and `[n, m]` (cites, no mark) as the renderer does.
fn marks_in(text: &str, max: usize) -> Marked {
    let mut pieces: Vec<(String, Vec<i64>)> = vec![(String::new(), Vec::new())];
    let mut dangling = 0;
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        let after = &rest[open + 1..];
        let nums = after.find(']').and_then(|c| {
            let inner = &after[..c];
            let ns: Option<Vec<usize>> = inner
                .split(',')
                .map(|p| p.trim().parse::<usize>().ok())
                .collect();
            ns.filter(|v| !v.is_empty()).map(|v| (c, v))
        });
        let Some((close, ns)) = nums else {
            push_text(&mut pieces, &rest[..open + 1]);
            rest = after;
            continue;
        };
        push_text(&mut pieces, &rest[..open]);
        let valid: Vec<i64> = ns
            .iter()
            .filter(|n| (1..=max).contains(*n))
            .map(|&n| n as i64)
            .collect();
        dangling += ns.len() - valid.len();
        if let Some(last) = pieces.last_mut() {
            // Only a single in-range `[n]` is highlighted (a mark); a list
            // cites without one.
            if ns.len() == 1 && valid.len() == 1 {
                last.1.push(valid[0]);
            } else {
                last.1.extend(valid.iter().map(|n| -n));
            }
        }
        rest = &after[close + 1..];
    }
    push_text(&mut pieces, rest);
    Marked { pieces, dangling }
}

fn push_text(pieces: &mut Vec<(String, Vec<i64>)>, t: &str) {
    if t.is_empty() {
        return;
    }
    match pieces.last_mut() {
        Some((s, m)) if m.is_empty() => s.push_str(t),
        _ => pieces.push((t.to_string(), Vec::new())),
    }
}

/// One space between words and none before punctuation (a mark taken
/// out of "Normandy [1]." leaves "Normandy .").
fn tidy(t: &str) -> String {
    let mut s = t.split_whitespace().collect::<Vec<_>>().join(" ");
    for p in [" .", " ,", " ;", " :", " ?", " !"] {
        s = s.replace(p, &p[1..]);
    }
    s
}

/// Words before a full stop that do not end a sentence.
const ABBREVIATIONS: &[&str] = &[
    "e.g", "i.e", "etc", "vs", "mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "no", "fig",
    "al", "ca", "approx", "inc", "ltd", "co", "u.s", "u.k", "jan", "feb", "mar", "apr", "jun",
    "jul", "aug", "sep", "sept", "oct", "nov", "dec", "vol", "pp", "p",
];

/// Sentences of a marked block; marks after a sentence's full stop
/// ("… in 1989. [2]") belong to it.
fn sentences(m: &Marked) -> Vec<Written> {
    let mut out: Vec<Written> = Vec::new();
    let mut cur = Written {
        text: String::new(),
        cites: Vec::new(),
        marks: Vec::new(),
        aside: false,
    };
    let flush = |cur: &mut Written, out: &mut Vec<Written>| {
        let text = tidy(&cur.text);
        let done = std::mem::replace(
            cur,
            Written {
                text: String::new(),
                cites: Vec::new(),
                marks: Vec::new(),
                aside: false,
            },
        );
        if text.chars().any(char::is_alphanumeric) {
            out.push(Written { text, ..done });
        } else if let Some(prev) = out.last_mut() {
            // Marks alone after a full stop: the sentence before's.
            for c in done.cites {
                if !prev.cites.contains(&c) {
                    prev.cites.push(c);
                }
            }
            prev.marks.extend(done.marks);
        }
    };
    for (text, marks) in &m.pieces {
        let mut start = 0;
        for end in sentence_ends(text) {
            cur.text.push_str(&text[start..end]);
            start = end;
            flush(&mut cur, &mut out);
        }
        cur.text.push_str(&text[start..]);
        for &n in marks {
            let c = n.abs();
            if !cur.cites.contains(&c) {
                cur.cites.push(c);
            }
            if n > 0 {
                cur.marks.push(0);
            }
        }
        // A sentence that ended right before its marks takes them.
        if text.trim_end().ends_with(['.', '!', '?']) && !marks.is_empty() {
            let moved = std::mem::take(&mut cur.cites);
            let moved_marks = std::mem::take(&mut cur.marks);
            if cur.text.trim().is_empty() {
                if let Some(prev) = out.last_mut() {
                    for c in moved {
                        if !prev.cites.contains(&c) {
                            prev.cites.push(c);
                        }
                    }
                    prev.marks.extend(moved_marks);
                }
            } else {
                cur.cites = moved;
                cur.marks = moved_marks;
                flush(&mut cur, &mut out);
            }
        }
    }
    flush(&mut cur, &mut out);
    out
}

/// Byte offsets just after each sentence end in `text` (a `.`, `!` or `?`
/// followed by a space and not after an abbreviation or an initial).
pub(crate) fn sentence_ends(text: &str) -> Vec<usize> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    // Inside a “quotation” a full stop ends no claim: the quote is one.
    let mut quoted = false;
    for (i, &c) in b.iter().enumerate() {
        if b[i..].starts_with("“".as_bytes()) {
            quoted = true;
        } else if b[i..].starts_with("”".as_bytes()) {
            quoted = false;
        }
        if quoted || !matches!(c, b'.' | b'!' | b'?') {
            continue;
        }
        let next = b.get(i + 1).copied();
        // Closing quotes or brackets after the stop stay with the sentence.
        let mut j = i + 1;
        while j < b.len() && matches!(b[j], b'"' | b'\'' | b')') {
            j += 1;
        }
        let followed = match next {
            Some(n) if n.is_ascii_whitespace() => true,
            Some(b'"' | b'\'' | b')') => b.get(j).is_some_and(u8::is_ascii_whitespace),
            _ => false,
        };
        if !followed {
            continue;
        }
        if c == b'.' {
            let word = text[..i]
                .rsplit(|ch: char| ch.is_whitespace() || ch == '(')
                .next()
                .unwrap_or("");
            let lower = word.to_lowercase();
            let initial = word.chars().count() == 1 && word.chars().all(char::is_uppercase);
            if initial || ABBREVIATIONS.contains(&lower.as_str()) {
                continue;
            }
        }
        out.push(j);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(answer: &str) -> Vec<(String, Vec<i64>, Vec<usize>)> {
        split(answer, 5)
            .0
            .into_iter()
            .map(|c| (c.text, c.cites, c.marks))
            .collect()
    }

    #[test]
    fn sentences_carry_their_marks_wherever_the_stop_is() {
        let t = texts(
            "The Normans came from Normandy [1]. They spoke French [2][3]. \
             Rollo signed a treaty in 911. [4] Dr. Smith agreed, e.g. in 1990 [1].",
        );
        assert_eq!(
            t[0],
            ("The Normans came from Normandy.".into(), vec![1], vec![0])
        );
        assert_eq!(t[1], ("They spoke French.".into(), vec![2, 3], vec![1, 2]));
        assert_eq!(
            t[2],
            ("Rollo signed a treaty in 911.".into(), vec![4], vec![3])
        );
        assert_eq!(t[3].0, "Dr. Smith agreed, e.g. in 1990.");
        assert_eq!(t.len(), 4);
    }

    #[test]
    fn lists_tables_and_notes() {
        let (c, dangling) = split(
            "*No model answered (down), so these are the sentences.*\n\n\
             **Normans**\n\
             - “They came from Normandy.” (History) [1]\n\
             - Founded in 911 [2, 3]\n\n\
             | year | event |\n|---|---|\n| 911 | treaty [2] |\n\n\
             ```\ncode [1]\n```\n\n## Heading [1]\n\nSee [9].\n",
            3,
        );
        let asides: Vec<bool> = c.iter().map(|c| c.aside).collect();
        assert_eq!(asides, [true, true, false, false, false, false, false]);
        assert_eq!(c[2].cites, [1]);
        assert_eq!(c[3].cites, [2, 3]);
        assert!(c[3].marks.is_empty(), "a cite list is not highlighted");
        assert_eq!(c[5].text, "911; treaty;");
        assert_eq!(c[5].cites, [2]);
        assert!(c[5].marks.is_empty(), "tables are drawn without highlights");
        assert_eq!(c[6].text, "See.");
        assert_eq!(dangling, 1);
    }
}
