//! RIS (Research Information Systems): the tagged format reference
//! managers (EndNote, Zotero, Mendeley) import. One `TAG  - value` per
//! line, each record closed by `ER  -`.

use super::{Kind, Reference};
use crate::text::sanitize::one_line;

pub fn record(r: &Reference) -> String {
    let ty = match r.kind {
        Kind::Encyclopedia => "ENCYC",
        Kind::Preprint => "UNPB",
        Kind::Post => "BLOG",
        Kind::Webpage => "ELEC",
        Kind::Document => "GEN",
    };
    let mut lines = vec![format!("TY  - {ty}"), format!("ID  - {}", r.key)];
    lines.push(format!("TI  - {}", one_line(&r.title)));
    for a in &r.authors {
        let (f, g) = super::split_name(a);
        lines.push(if g.is_empty() {
            format!("AU  - {}", one_line(&f))
        } else {
            format!("AU  - {}, {}", one_line(&f), one_line(&g))
        });
    }
    if let Some(d) = &r.issued {
        lines.push(format!("PY  - {}", r.year()));
        lines.push(format!("DA  - {}", d.replace('-', "/")));
    }
    if let Some(doi) = &r.doi {
        lines.push(format!("DO  - {}", one_line(doi)));
    }
    if let Some(c) = &r.container {
        lines.push(format!("T2  - {}", one_line(c)));
    }
    if let Some(u) = &r.url {
        lines.push(format!("UR  - {}", one_line(u)));
    }
    lines.push(format!("Y2  - {}", r.accessed_date().format("%Y/%m/%d")));
    if let Some(id) = &r.arxiv {
        lines.push(format!("M1  - arXiv:{}", one_line(id)));
    }
    if let Some(p) = &r.path {
        lines.push(format!("L1  - {}", one_line(p)));
    }
    if let Some(item) = &r.item {
        lines.push(format!("N1  - Hacker News item {}", one_line(item)));
    }
    if !r.sections.is_empty() {
        lines.push(format!("N1  - Cited: {}", one_line(&r.sections.join("; "))));
    }
    lines.push("ER  - ".into());
    lines.join("\r\n") + "\r\n"
}

pub fn write(refs: &[Reference]) -> String {
    refs.iter().map(record).collect::<Vec<_>>().join("\r\n")
}
