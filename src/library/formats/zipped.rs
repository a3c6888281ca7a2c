//! EPUB and DOCX: zips of XML, each member inflated to a cap (a zip
//! bomb stops with a reason instead of filling memory).

use std::io::Read;

use super::super::{Extracted, Unit};
use super::Sections;
use super::xml::{element_text, first_heading};

/// Bytes a member of an EPUB or DOCX zip may inflate to (a zip bomb stops
/// here with a reason instead of filling memory).
const MAX_MEMBER: u64 = 64 * 1024 * 1024;

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
pub(super) fn epub(bytes: &[u8]) -> Result<Extracted, String> {
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
pub(super) fn docx(bytes: &[u8]) -> Result<Extracted, String> {
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
    fn heading_styles() {
        assert_eq!(heading_level("Heading2"), Some(2));
        assert_eq!(heading_level("heading 1"), Some(1));
        assert_eq!(heading_level("Title"), Some(0));
        assert_eq!(heading_level("Normal"), None);
    }
}
