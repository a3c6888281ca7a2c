//! CSL JSON (the citation style language's data format: Zotero imports
//! it, `pandoc --citeproc` reads it as a bibliography).

use serde_json::{Value, json};

use super::{Kind, Reference};
use crate::text::sanitize::one_line;

fn date_parts(d: chrono::NaiveDate) -> Value {
    use chrono::Datelike;
    json!({"date-parts": [[d.year(), d.month(), d.day()]]})
}

pub fn item(r: &Reference) -> Value {
    let kind = match r.kind {
        Kind::Encyclopedia => "entry-encyclopedia",
        // CSL 1.0.2: "article" is a preprint or other unpublished article.
        Kind::Preprint => "article",
        Kind::Post => "post",
        Kind::Webpage => "webpage",
        Kind::Document => "document",
    };
    let mut v = json!({
        "id": r.key,
        "type": kind,
        "title": one_line(&r.title),
        "accessed": date_parts(r.accessed_date()),
    });
    if let Some(c) = &r.container {
        v["container-title"] = one_line(c).into();
    }
    if !r.authors.is_empty() {
        let names: Vec<Value> = r
            .authors
            .iter()
            .map(|a| match super::split_name(a) {
                (f, g) if g.is_empty() => json!({"literal": one_line(&f)}),
                (f, g) => json!({"family": one_line(&f), "given": one_line(&g)}),
            })
            .collect();
        v["author"] = names.into();
    }
    if let Some(d) = &r.issued {
        let parts: Vec<i64> = d.split('-').filter_map(|p| p.parse().ok()).collect();
        if !parts.is_empty() {
            v["issued"] = json!({"date-parts": [parts]});
        }
    }
    if let Some(doi) = &r.doi {
        v["DOI"] = one_line(doi).into();
    }
    if let Some(u) = &r.url {
        v["URL"] = one_line(u).into();
    }
    if let Some(id) = &r.arxiv {
        v["number"] = format!("arXiv:{id}").into();
        v["publisher"] = "arXiv".into();
    }
    let mut notes = Vec::new();
    if let Some(item) = &r.item {
        notes.push(format!("Hacker News item {item}"));
    }
    if let Some(rev) = r.revision {
        notes.push(format!("Revision {rev}"));
    }
    if let Some(p) = &r.path {
        notes.push(format!("File: {}", one_line(p)));
    }
    if !r.sections.is_empty() {
        let s: Vec<String> = r.sections.iter().map(|s| one_line(s)).collect();
        notes.push(format!("Cited: {}", s.join("; ")));
    }
    if !notes.is_empty() {
        v["note"] = notes.join(". ").into();
    }
    v
}

/// The references as a CSL JSON array.
pub fn write(refs: &[Reference]) -> serde_json::Result<String> {
    let items: Vec<Value> = refs.iter().map(item).collect();
    crate::text::sanitize::to_json_pretty(&items)
}
