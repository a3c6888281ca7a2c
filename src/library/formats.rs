//! One reader per format, each keeping the structure a citation names:
//! PDF pages, Markdown/Org headings, EPUB chapters, DOCX heading styles.
//! These run inside the extractor child (`child.rs`): a file is untrusted
//! input, and what a parser does with a crafted one is bounded there.

use std::io::Read;
use std::path::Path;

use super::{Extracted, Unit};

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

/// Bytes a member of an EPUB or DOCX zip may inflate to (a zip bomb stops
/// here with a reason instead of filling memory).
const MAX_MEMBER: u64 = 64 * 1024 * 1024;
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
    std::fs::File::open(path)
        .and_then(|f| f.take(limit).read_to_end(&mut bytes))
        .map_err(|e| format!("cannot read: {e}"))?;
    let mut out = match format {
        Format::Pdf => pdf(&bytes)?,
        Format::Epub => epub(&bytes)?,
        Format::Docx => docx(&bytes)?,
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
fn paragraphs(text: &str) -> Vec<String> {
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
struct Sections {
    path: Vec<(usize, String)>,
    units: Vec<Unit>,
}

impl Sections {
    fn new() -> Self {
        Self {
            path: Vec::new(),
            units: vec![Unit::default()],
        }
    }
    fn heading(&mut self, level: usize, name: &str) {
        self.path.retain(|(l, _)| *l < level);
        self.path.push((level, name.trim().to_string()));
        let label: Vec<&str> = self.path.iter().map(|(_, n)| n.as_str()).collect();
        self.units.push(Unit {
            section: Some(label.join(" › ")),
            ..Unit::default()
        });
    }
    fn para(&mut self, text: &str) {
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

/// PDF: the text layer page by page (pdf-extract; README says why), and
/// title/author from the document information dictionary.
fn pdf(bytes: &[u8]) -> Result<Extracted, String> {
    let mut doc = pdf_extract::Document::load_mem(bytes)
        .map_err(|e| format!("not a readable PDF (damaged or cut short?): {e}"))?;
    if doc.is_encrypted() && doc.decrypt("").is_err() {
        return Err("encrypted with a password (sleuth does not read protected PDFs)".into());
    }
    let info = |key: &[u8]| -> Option<String> {
        let id = doc.trailer.get(b"Info").ok()?.as_reference().ok()?;
        let dict = doc.get_dictionary(id).ok()?;
        let v = dict.get(key).ok()?;
        let s = pdf_extract::decode_text_string(v).ok()?;
        let s = s.trim().to_string();
        (!s.is_empty()).then_some(s)
    };
    let xmp = xmp_packet(&doc);
    let title = info(b"Title").or_else(|| xmp.as_deref().and_then(|x| element_text(x, "dc:title")));
    let author =
        info(b"Author").or_else(|| xmp.as_deref().and_then(|x| element_text(x, "dc:creator")));
    // Producers put the DOI in a `doi` key, the subject or keywords
    // (hyperref, journals), or XMP's `prism:doi` / `dc:identifier`.
    let meta_doi = [&b"doi"[..], b"DOI", b"Subject", b"Keywords"]
        .iter()
        .filter_map(|k| info(k))
        .chain(xmp)
        .find_map(|t| find_doi(&t));
    let pages = pdf_extract::extract_text_from_mem_by_pages(bytes)
        .map_err(|e| format!("PDF text could not be read: {e}"))?;
    let units: Vec<Unit> = pages
        .iter()
        .enumerate()
        .map(|(i, text)| Unit {
            page: Some(i as u32 + 1),
            section: None,
            paragraphs: paragraphs(&without_page_number(text, i as u32 + 1)),
        })
        .collect();
    let first_page = units.first().and_then(|u| u.paragraphs.first().cloned());
    let doi = meta_doi.or_else(|| pages.iter().take(2).find_map(|p| find_doi(p)));
    Ok(Extracted {
        title: title.or(first_page.map(|t| crate::text::truncate(&t, 120))),
        author,
        doi,
        pages: Some(pages.len() as u32),
        units,
    })
}

/// A page's text without its printed page number (a line holding only
/// the number, in the footer or the header), which would otherwise end
/// the page's last paragraph as a stray "… survival. 2".
fn without_page_number(text: &str, page: u32) -> String {
    let n = page.to_string();
    let lines: Vec<&str> = text.lines().collect();
    let is_number = |l: &&str| l.trim() == n;
    let first = lines.iter().position(|l| !l.trim().is_empty());
    let last = lines.iter().rposition(|l| !l.trim().is_empty());
    lines
        .iter()
        .enumerate()
        .filter(|(i, l)| !((Some(*i) == first || Some(*i) == last) && is_number(l)))
        .map(|(_, l)| *l)
        .collect::<Vec<_>>()
        .join("\n")
}

/// The document's XMP packet (the catalog's `/Metadata` stream), capped.
fn xmp_packet(doc: &pdf_extract::Document) -> Option<String> {
    let id = doc
        .catalog()
        .ok()?
        .get(b"Metadata")
        .ok()?
        .as_reference()
        .ok()?;
    let stream = doc.get_object(id).ok()?.as_stream().ok()?;
    let bytes = stream
        .decompressed_content()
        .unwrap_or_else(|_| stream.content.clone());
    let bytes = &bytes[..bytes.len().min(256 * 1024)];
    Some(String::from_utf8_lossy(bytes).into_owned())
}

/// The text of a chapter's first `<h1>`–`<h3>`.
fn first_heading(xhtml: &str) -> Option<String> {
    let lower = xhtml.to_ascii_lowercase();
    let at = ["<h1", "<h2", "<h3"]
        .iter()
        .filter_map(|t| lower.find(t).map(|i| (i, &t[1..])))
        .min()?;
    element_text(&xhtml[at.0..], at.1)
}

/// The text of an XML element (XMP's `dc:title` holds an `rdf:Alt` of `rdf:li`):
/// the first non-empty text inside it, tags dropped.
fn element_text(xmp: &str, tag: &str) -> Option<String> {
    let start = xmp.find(&format!("<{tag}"))?;
    let rest = &xmp[start..];
    let end = rest.find(&format!("</{tag}>"))?;
    let inner = &rest[..end];
    let mut text = String::new();
    let mut in_tag = false;
    for c in inner.chars() {
        match c {
            '<' => {
                in_tag = true;
                text.push(' ');
            }
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    let t = text.split_whitespace().collect::<Vec<_>>().join(" ");
    (!t.is_empty()).then(|| crate::text::truncate(&html_unescape(&t), 300))
}

fn html_unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// A DOI ("10.1234/abc.5") written on a page.
fn find_doi(text: &str) -> Option<String> {
    let i = text.find("10.")?;
    let rest = &text[i..];
    let end = rest
        .find(|c: char| c.is_whitespace() || c == '"' || c == '>' || c == ',')
        .unwrap_or(rest.len());
    let doi = rest[..end].trim_end_matches(['.', ')', ';']);
    let (prefix, suffix) = doi.split_once('/')?;
    (prefix.len() >= 7
        && prefix[3..].chars().all(|c| c.is_ascii_digit() || c == '.')
        && !suffix.is_empty())
    .then(|| doi.to_string())
}

/// One member of a zip, inflated to at most [`MAX_MEMBER`] bytes.
fn member(zip: &mut zip::ZipArchive<std::io::Cursor<&[u8]>>, name: &str) -> Result<String, String> {
    let f = zip
        .by_name(name)
        .map_err(|e| format!("{name} missing: {e}"))?;
    let mut buf = Vec::new();
    f.take(MAX_MEMBER + 1)
        .read_to_end(&mut buf)
        .map_err(|e| format!("{name}: {e}"))?;
    if buf.len() as u64 > MAX_MEMBER {
        return Err(format!(
            "{name} inflates past {} MB (a zip bomb?)",
            MAX_MEMBER / (1024 * 1024)
        ));
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

fn open_zip(bytes: &[u8]) -> Result<zip::ZipArchive<std::io::Cursor<&[u8]>>, String> {
    zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| format!("not a readable zip: {e}"))
}

/// An attribute's value on an XML start tag.
fn attr(e: &quick_xml::events::BytesStart<'_>, name: &[u8]) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.as_ref() == name || a.key.local_name().as_ref() == name)
        .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
}

/// EPUB: the spine's chapters in order, each a section named by its title
/// (or first heading); paragraphs from the chapter's readable text.
fn epub(bytes: &[u8]) -> Result<Extracted, String> {
    use quick_xml::events::Event;
    let mut zip = open_zip(bytes)?;
    let container = member(&mut zip, "META-INF/container.xml")?;
    let mut reader = quick_xml::Reader::from_str(&container);
    let mut opf_path = None;
    while let Ok(ev) = reader.read_event() {
        match ev {
            Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == b"rootfile" => {
                opf_path = attr(&e, b"full-path");
                break;
            }
            Event::Eof => break,
            _ => {}
        }
    }
    let opf_path = opf_path.ok_or("no rootfile in container.xml")?;
    let opf = member(&mut zip, &opf_path)?;
    let base = opf_path.rsplit_once('/').map_or("", |(b, _)| b);
    let (mut items, mut spine, mut title, mut author) = (Vec::new(), Vec::new(), None, None);
    let mut reader = quick_xml::Reader::from_str(&opf);
    let mut field: Option<&str> = None;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) => match e.local_name().as_ref() {
                b"item" => {
                    if let (Some(id), Some(href)) = (attr(&e, b"id"), attr(&e, b"href")) {
                        items.push((id, href));
                    }
                }
                b"itemref" => spine.extend(attr(&e, b"idref")),
                b"title" => field = Some("title"),
                b"creator" => field = Some("creator"),
                _ => {}
            },
            Ok(Event::Text(t)) => {
                let t = t.decode().map(|c| c.trim().to_string()).unwrap_or_default();
                match field.take() {
                    Some("title") if title.is_none() && !t.is_empty() => title = Some(t),
                    Some("creator") if author.is_none() && !t.is_empty() => author = Some(t),
                    _ => {}
                }
            }
            Ok(Event::Eof) | Err(_) => break,
            _ => {}
        }
    }
    let mut units = Vec::new();
    let mut total = 0usize;
    for idref in spine.iter().take(2000) {
        let Some((_, href)) = items.iter().find(|(id, _)| id == idref) else {
            continue;
        };
        let path = if base.is_empty() {
            href.clone()
        } else {
            format!("{base}/{href}")
        };
        let Ok(xhtml) = member(&mut zip, &path) else {
            continue;
        };
        total += xhtml.len();
        if total as u64 > 4 * MAX_MEMBER {
            return Err("chapters inflate past 256 MB (a zip bomb?)".into());
        }
        let (ch_title, text) = crate::agent::research::sources::web::readable(&xhtml, "file:///");
        let paragraphs: Vec<String> = text.lines().map(str::to_string).collect();
        // The chapter's own heading names it; a <title> is often only the
        // file's name (pandoc writes "ch002.xhtml").
        let file_like = ch_title.ends_with(".xhtml") || ch_title.ends_with(".html");
        let section = first_heading(&xhtml)
            .or_else(|| (!ch_title.is_empty() && !file_like).then_some(ch_title))
            .or_else(|| paragraphs.first().map(|p| crate::text::truncate(p, 80)));
        units.push(Unit {
            page: None,
            section,
            paragraphs,
        });
    }
    Ok(Extracted {
        title,
        author,
        units,
        ..Extracted::default()
    })
}

/// DOCX: `word/document.xml` paragraphs; a paragraph styled `Heading N`
/// (or `Title`) opens a section.
fn docx(bytes: &[u8]) -> Result<Extracted, String> {
    use quick_xml::events::Event;
    let mut zip = open_zip(bytes)?;
    let xml = member(&mut zip, "word/document.xml")?;
    let mut reader = quick_xml::Reader::from_str(&xml);
    let mut secs = Sections::new();
    let (mut buf, mut style, mut in_text) = (String::new(), None::<String>, false);
    let mut title = None;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) => match e.local_name().as_ref() {
                b"pStyle" => style = attr(&e, b"val"),
                b"t" => in_text = true,
                b"tab" => buf.push(' '),
                _ => {}
            },
            Ok(Event::Text(t)) if in_text => {
                if let Ok(s) = t.decode() {
                    buf.push_str(&s);
                }
            }
            Ok(Event::GeneralRef(r)) if in_text => {
                if let Ok(Some(c)) = r.resolve_char_ref() {
                    buf.push(c);
                } else {
                    let name = r.decode().unwrap_or_default();
                    buf.push_str(match name.as_ref() {
                        "amp" => "&",
                        "lt" => "<",
                        "gt" => ">",
                        "quot" => "\"",
                        "apos" => "'",
                        _ => "",
                    });
                }
            }
            Ok(Event::End(e)) => match e.local_name().as_ref() {
                b"t" => in_text = false,
                b"p" => {
                    let text = std::mem::take(&mut buf);
                    let level = style.take().and_then(|s| heading_level(&s));
                    match level {
                        Some(0) => {
                            title.get_or_insert_with(|| text.trim().to_string());
                        }
                        Some(l) if !text.trim().is_empty() => secs.heading(l, &text),
                        _ => secs.para(&text),
                    }
                }
                _ => {}
            },
            Ok(Event::Eof) => break,
            Err(e) => return Err(format!("word/document.xml: {e}")),
            _ => {}
        }
    }
    // The document's own properties name it better than its first line.
    let core = member(&mut zip, "docProps/core.xml").ok();
    let prop = |tag: &str| core.as_deref().and_then(|x| element_text(x, tag));
    Ok(Extracted {
        title: prop("dc:title").or(title.filter(|t| !t.is_empty())),
        author: prop("dc:creator"),
        units: secs.units,
        ..Extracted::default()
    })
}

/// `Heading2` / `heading 2` → 2; `Title` → 0.
fn heading_level(style: &str) -> Option<usize> {
    let s = style.to_ascii_lowercase().replace(' ', "");
    if s == "title" {
        return Some(0);
    }
    s.strip_prefix("heading")?
        .parse()
        .ok()
        .filter(|&l| (1..=9).contains(&l))
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

    #[test]
    fn a_printed_page_number_leaves_the_page_text() {
        assert_eq!(without_page_number("Text.\n\n2\n", 2), "Text.\n");
        assert_eq!(without_page_number("7\nText 7\n", 7), "Text 7");
        // Only at the page's edge, and only the page's own number.
        assert_eq!(without_page_number("a\n2\nb", 2), "a\n2\nb");
        assert_eq!(without_page_number("Text.\n3", 2), "Text.\n3");
    }

    #[test]
    fn dois_and_heading_styles() {
        assert_eq!(
            find_doi("see doi:10.1145/3290605.3300233."),
            Some("10.1145/3290605.3300233".into())
        );
        assert_eq!(find_doi("version 10.5 of it"), None);
        assert_eq!(heading_level("Heading2"), Some(2));
        assert_eq!(heading_level("heading 1"), Some(1));
        assert_eq!(heading_level("Title"), Some(0));
        assert_eq!(heading_level("Normal"), None);
    }
}
