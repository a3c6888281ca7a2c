//! BibTeX (with biblatex's `url`/`urldate`, which BibTeX styles ignore
//! and biber reads). Values are braced with TeX's specials escaped; keys
//! are ASCII.

use super::{Kind, Reference};
use crate::text::sanitize::one_line;

/// A field value for between braces: TeX's special characters escaped,
/// so the braces stay balanced and nothing is read as a command.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in one_line(s).chars() {
        match c {
            '\\' => out.push_str("\\textbackslash{}"),
            '{' | '}' | '%' | '&' | '#' | '$' | '_' => {
                out.push('\\');
                out.push(c);
            }
            '^' => out.push_str("\\^{}"),
            '~' => out.push_str("\\~{}"),
            _ => out.push(c),
        }
    }
    out
}

/// A URL as written in `url = {…}` (verbatim there): only braces, which
/// would end the value, are percent-encoded.
fn url(s: &str) -> String {
    one_line(s).replace('{', "%7B").replace('}', "%7D")
}

pub fn entry(r: &Reference) -> String {
    let mut fields: Vec<(&str, String)> = vec![("title", format!("{{{}}}", escape(&r.title)))];
    if !r.authors.is_empty() {
        // "Family, Given" each, so BibTeX splits no name wrongly.
        let names: Vec<String> = r
            .authors
            .iter()
            .map(|a| match super::split_name(a) {
                (f, g) if g.is_empty() => format!("{{{}}}", escape(&f)),
                (f, g) => format!("{}, {}", escape(&f), escape(&g)),
            })
            .collect();
        fields.push(("author", names.join(" and ")));
    }
    if let Some(d) = &r.issued {
        fields.push(("date", escape(d)));
        fields.push(("year", escape(&r.year())));
    }
    if let Some(doi) = &r.doi {
        fields.push(("doi", escape(doi)));
    }
    match r.kind {
        Kind::Preprint => {
            if let Some(id) = &r.arxiv {
                fields.push(("eprint", escape(id)));
                fields.push(("archiveprefix", "arXiv".into()));
                if let Some(c) = &r.category {
                    fields.push(("primaryclass", escape(c)));
                }
            }
        }
        _ => {
            if let Some(c) = &r.container {
                fields.push(("howpublished", escape(c)));
            }
        }
    }
    if let Some(u) = &r.url {
        fields.push(("url", url(u)));
    }
    fields.push(("urldate", r.accessed_date().format("%Y-%m-%d").to_string()));
    if let Some(p) = &r.path {
        fields.push(("file", escape(p)));
    }
    let mut notes = Vec::new();
    if let Some(item) = &r.item {
        notes.push(format!("Hacker News item {item}"));
    }
    if let Some(rev) = r.revision {
        notes.push(format!("Revision {rev}"));
    }
    if !r.sections.is_empty() {
        notes.push(format!("Cited: {}", r.sections.join("; ")));
    }
    if !notes.is_empty() {
        fields.push(("note", escape(&notes.join(". "))));
    }
    let body: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("  {k} = {{{v}}}"))
        .collect();
    format!("@misc{{{},\n{}\n}}\n", r.key, body.join(",\n"))
}

pub fn write(refs: &[Reference]) -> String {
    refs.iter().map(entry).collect::<Vec<_>>().join("\n")
}
