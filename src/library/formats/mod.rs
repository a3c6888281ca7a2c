//! One reader per format, each keeping the structure a citation names:
//! PDF pages, Markdown/Org headings, EPUB chapters, DOCX heading styles.
//! These run inside the extractor child (`child.rs`): a file is untrusted
//! input, and what a parser does with a crafted one is bounded there.

use std::io::Read;
use std::path::Path;

use super::{Extracted, Unit};

mod pdf;
mod xml;
mod zipped;

/// The formats the library reads, by file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Pdf,
    Markdown,
    Org,
    Text,
    Html,
    Epub,
    Docx,
}

impl Format {
    pub fn of(path: &Path) -> Option<Self> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match ext.as_str() {
            "pdf" => Format::Pdf,
            "md" | "markdown" | "mdown" => Format::Markdown,
            "org" => Format::Org,
            "txt" | "text" => Format::Text,
            "html" | "htm" | "xhtml" => Format::Html,
            "epub" => Format::Epub,
            "docx" => Format::Docx,
            _ => return None,
        })
    }
}

/// Text kept from one file (a 2,000-page book is ~5 MB of text); it also
/// bounds what the indexer holds per file in memory.
pub const MAX_TEXT: usize = 8 * 1024 * 1024;
/// Bytes of a text format read (markup and blank lines are not kept).
const READ_TEXT: u64 = 3 * MAX_TEXT as u64;

/// Reads `path` as `format`. Errors are reasons a user can act on.
pub fn extract(path: &Path, format: Format) -> Result<Extracted, String> {
    // A text file past what is kept is not read past it: a 150 MB log
    // costs the child 24 MB, not 150. PDF and zip formats need the whole.
    let limit = match format {
        Format::Pdf | Format::Epub | Format::Docx => u64::MAX,
        _ => READ_TEXT,
    };
    let mut bytes = Vec::new();
    let read_all = std::fs::File::open(path)
        .and_then(|f| f.take(limit).read_to_end(&mut bytes))
        .map_err(|e| format!("cannot read: {e}"))?
        < limit as usize;
    let mut out = match format {
        Format::Pdf => pdf::pdf(&bytes)?,
        Format::Epub => zipped::epub(&bytes)?,
        Format::Docx => zipped::docx(&bytes)?,
        _ => {
            let text = utf8_text(&bytes)?;
            match format {
                Format::Markdown => markdown(&text),
                Format::Org => org(&text),
                Format::Html => html(&text),
                _ => plain(&text),
            }
        }
    };
    out.units.retain(|u| !u.paragraphs.is_empty());
    if out.units.is_empty() {
        return Err(match format {
            Format::Pdf => "no text layer; OCR is not supported".into(),
            _ => "no text".into(),
        });
    }
    drop_title_heading(&mut out);
    out.truncated = !read_all || out.chars() > MAX_TEXT;
    cap(&mut out, MAX_TEXT);
    Ok(out)
}

/// A document whose top heading is its title ("# Notes" → "Notes ›
/// Method") names its sections without it: the title is already the
/// citation's first word, and `§ Method` is what a reader looks for.
fn drop_title_heading(doc: &mut Extracted) {
    let Some(title) = doc.title.clone() else {
        return;
    };
    let prefix = format!("{title} › ");
    for u in &mut doc.units {
        match u.section.as_deref() {
            Some(s) if s == title => u.section = None,
            Some(s) if s.starts_with(&prefix) => u.section = Some(s[prefix.len()..].to_string()),
            _ => {}
        }
    }
}

/// Text files: UTF-8 with invalid bytes replaced; a file that is mostly
/// binary (NUL bytes, a `.md` that is really an image) is refused.
fn utf8_text(bytes: &[u8]) -> Result<String, String> {
    let sample = &bytes[..bytes.len().min(8192)];
    let nul = sample.iter().filter(|&&b| b == 0).count();
    if nul > 0 && nul * 100 >= sample.len().max(1) {
        return Err("binary file, not text".into());
    }
    let text = String::from_utf8_lossy(bytes);
    let bad = text.chars().filter(|&c| c == '\u{FFFD}').count();
    if bad > 64 && bad * 10 > text.chars().count() {
        return Err("binary file, not text".into());
    }
    Ok(text.into_owned())
}

fn cap(doc: &mut Extracted, max: usize) {
    crate::text::cap_paragraphs(doc.units.iter_mut().map(|u| &mut u.paragraphs), max);
    doc.units.retain(|u| !u.paragraphs.is_empty());
}

/// Paragraphs of a plain text: blank lines separate them; lines within one
/// are joined (hard-wrapped notes read as one paragraph).
pub(super) fn paragraphs(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        join_line(&mut cur, line);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Appends a line to a paragraph, undoing a line-end hyphen between two
/// lowercase letters ("compu-" + "tation" → "computation").
fn join_line(cur: &mut String, line: &str) {
    let squashed: String = line.split_whitespace().collect::<Vec<_>>().join(" ");
    if cur.is_empty() {
        cur.push_str(&squashed);
        return;
    }
    let hyphenated = cur.ends_with('-')
        && cur[..cur.len() - 1]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_lowercase())
        && squashed.chars().next().is_some_and(|c| c.is_lowercase());
    if hyphenated {
        cur.pop();
    } else {
        cur.push(' ');
    }
    cur.push_str(&squashed);
}

fn plain(text: &str) -> Extracted {
    Extracted {
        units: vec![Unit {
            paragraphs: paragraphs(text),
            ..Unit::default()
        }],
        ..Extracted::default()
    }
}

/// Headings open sections named by their path ("Results › Ablations").
pub(super) struct Sections {
    path: Vec<(usize, String)>,
    pub(super) units: Vec<Unit>,
}

impl Sections {
    pub(super) fn new() -> Self {
        Self {
            path: Vec::new(),
            units: vec![Unit::default()],
        }
    }
    pub(super) fn heading(&mut self, level: usize, name: &str) {
        self.path.retain(|(l, _)| *l < level);
        self.path.push((level, name.trim().to_string()));
        let label: Vec<&str> = self.path.iter().map(|(_, n)| n.as_str()).collect();
        self.units.push(Unit {
            section: Some(label.join(" › ")),
            ..Unit::default()
        });
    }
    pub(super) fn para(&mut self, text: &str) {
        let t = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if !t.is_empty()
            && let Some(u) = self.units.last_mut()
        {
            u.paragraphs.push(t);
        }
    }
}

/// YAML front matter's `title:`, and the text after it.
fn front_matter(text: &str) -> (Option<String>, &str) {
    let Some(rest) = text
        .strip_prefix("---\n")
        .or_else(|| text.strip_prefix("---\r\n"))
    else {
        return (None, text);
    };
    let Some(end) = rest.find("\n---") else {
        return (None, text);
    };
    let title = rest[..end].lines().find_map(|l| {
        let v = l.strip_prefix("title:")?.trim();
        let v = v.trim_matches(|c| c == '"' || c == '\'').trim();
        (!v.is_empty()).then(|| v.to_string())
    });
    let after = &rest[end + 4..];
    (title, after.split_once('\n').map_or("", |(_, b)| b))
}

pub fn markdown(text: &str) -> Extracted {
    use pulldown_cmark::{Event, Parser, Tag, TagEnd};
    let (fm_title, body) = front_matter(text);
    let mut secs = Sections::new();
    let mut buf = String::new();
    let mut in_heading: Option<usize> = None;
    let mut first_h1 = None;
    for ev in Parser::new(body) {
        match ev {
            Event::Start(Tag::Heading { level, .. }) => {
                secs.para(&std::mem::take(&mut buf));
                in_heading = Some(level as usize);
            }
            Event::End(TagEnd::Heading(_)) => {
                let level = in_heading.take().unwrap_or(1);
                let name = std::mem::take(&mut buf);
                if level == 1 && first_h1.is_none() {
                    first_h1 = Some(name.trim().to_string());
                }
                secs.heading(level, &name);
            }
            Event::End(TagEnd::Paragraph | TagEnd::Item | TagEnd::CodeBlock | TagEnd::TableRow) => {
                secs.para(&std::mem::take(&mut buf));
            }
            Event::Text(t) | Event::Code(t) => buf.push_str(&t),
            Event::SoftBreak | Event::HardBreak => buf.push(' '),
            Event::End(TagEnd::TableCell) => buf.push_str(" | "),
            _ => {}
        }
    }
    secs.para(&buf);
    Extracted {
        title: fm_title.or(first_h1),
        units: secs.units,
        ..Extracted::default()
    }
}

/// Org: `* Heading` lines (stars = level), `#+TITLE:`, paragraphs between.
pub fn org(text: &str) -> Extracted {
    let mut secs = Sections::new();
    let (mut title, mut author) = (None, None);
    let mut cur = String::new();
    for line in text.lines() {
        let stars = line.chars().take_while(|&c| c == '*').count();
        if stars > 0 && line[stars..].starts_with(' ') {
            secs.para(&std::mem::take(&mut cur));
            secs.heading(stars, &line[stars..]);
            continue;
        }
        if let Some((key, value)) = org_keyword(line) {
            match key.as_str() {
                "title" => title = Some(value.to_string()),
                "author" => author = Some(value.to_string()),
                _ => {}
            }
            secs.para(&std::mem::take(&mut cur));
            continue;
        }
        if line.starts_with("#+") || line.trim().is_empty() {
            secs.para(&std::mem::take(&mut cur));
            continue;
        }
        join_line(&mut cur, line.trim());
    }
    secs.para(&cur);
    Extracted {
        title: title.filter(|t: &String| !t.is_empty()),
        author: author.filter(|a: &String| !a.is_empty()),
        units: secs.units,
        ..Extracted::default()
    }
}

/// `#+KEY: value` (any case) → ("key", "value").
fn org_keyword(line: &str) -> Option<(String, &str)> {
    let (key, value) = line.strip_prefix("#+")?.split_once(':')?;
    (!key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .then(|| (key.to_ascii_lowercase(), value.trim()))
}

/// HTML: the readable text, as the web client reads pages.
pub fn html(text: &str) -> Extracted {
    let (title, body) = crate::agent::research::sources::web::readable(text, "file:///");
    Extracted {
        title: (!title.is_empty()).then_some(title),
        units: vec![Unit {
            paragraphs: body.lines().map(str::to_string).collect(),
            ..Unit::default()
        }],
        ..Extracted::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_headings_become_sections_and_front_matter_titles() {
        let md = "---\ntitle: \"My notes\"\ntags: [a]\n---\n# Intro\nSome *text*\nwrapped.\n\n## Method\n- one item\n- two\n\n# Results\nDone.\n";
        let x = markdown(md);
        assert_eq!(x.title.as_deref(), Some("My notes"));
        let secs: Vec<_> = x
            .units
            .iter()
            .filter(|u| !u.paragraphs.is_empty())
            .map(|u| (u.section.clone().unwrap_or_default(), u.paragraphs.clone()))
            .collect();
        assert_eq!(
            secs,
            vec![
                ("Intro".to_string(), vec!["Some text wrapped.".to_string()]),
                (
                    "Intro › Method".to_string(),
                    vec!["one item".to_string(), "two".to_string()]
                ),
                ("Results".to_string(), vec!["Done.".to_string()]),
            ]
        );
    }

    #[test]
    fn org_and_plain_text_keep_paragraphs_and_undo_line_end_hyphens() {
        let x = org("#+TITLE: Org file\n* Top\nA para-\ngraph here.\n** Deeper\nNext.\n");
        assert_eq!(x.title.as_deref(), Some("Org file"));
        assert_eq!(x.units[1].section.as_deref(), Some("Top"));
        assert_eq!(x.units[1].paragraphs, vec!["A paragraph here."]);
        assert_eq!(x.units[2].section.as_deref(), Some("Top › Deeper"));
        let p = plain("Roman-\nGaulish people\n\nsecond");
        assert_eq!(
            p.units[0].paragraphs,
            vec!["Roman- Gaulish people", "second"]
        );
    }

    #[test]
    fn binary_named_text_is_refused_and_invalid_utf8_is_replaced() {
        assert!(utf8_text(&[0u8; 4096]).is_err());
        assert_eq!(utf8_text(b"caf\xe9 ok").unwrap(), "caf\u{FFFD} ok");
    }
}
