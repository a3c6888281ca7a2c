//! Small readers of XML text shared by the PDF (XMP), EPUB and DOCX
//! readers: an element's text, a chapter's first heading.

/// The text of a chapter's first `<h1>`–`<h3>`.
pub(super) fn first_heading(xhtml: &str) -> Option<String> {
    let lower = xhtml.to_ascii_lowercase();
    let at = ["<h1", "<h2", "<h3"]
        .iter()
        .filter_map(|t| lower.find(t).map(|i| (i, &t[1..])))
        .min()?;
    element_text(&xhtml[at.0..], at.1)
}

/// The text of an XML element (XMP's `dc:title` holds an `rdf:Alt` of `rdf:li`):
/// the first non-empty text inside it, tags dropped.
pub(super) fn element_text(xmp: &str, tag: &str) -> Option<String> {
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
    (!t.is_empty()).then(|| crate::text::truncate(&crate::text::unescape_entities(&t), 300))
}
