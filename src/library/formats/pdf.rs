//! PDF: the text layer page by page (pdf-extract; the README says why it
//! was chosen), and title, author and DOI from the document information
//! dictionary or XMP, failing that from the first pages.

use super::super::{Extracted, Unit};
use super::paragraphs;
use super::xml::element_text;

/// PDF: the text layer page by page (pdf-extract; README says why), and
/// title/author from the document information dictionary.
pub(super) fn pdf(bytes: &[u8]) -> Result<Extracted, String> {
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
        truncated: false,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_printed_page_number_leaves_the_page_text() {
        assert_eq!(without_page_number("Text.\n\n2\n", 2), "Text.\n");
        assert_eq!(without_page_number("7\nText 7\n", 7), "Text 7");
        // Only at the page's edge, and only the page's own number.
        assert_eq!(without_page_number("a\n2\nb", 2), "a\n2\nb");
        assert_eq!(without_page_number("Text.\n3", 2), "Text.\n3");
    }

    #[test]
    fn dois_on_a_page() {
        assert_eq!(
            find_doi("see doi:10.1145/3290605.3300233."),
            Some("10.1145/3290605.3300233".into())
        );
        assert_eq!(find_doi("version 10.5 of it"), None);
    }
}
