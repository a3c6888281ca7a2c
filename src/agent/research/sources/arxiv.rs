//! arXiv through its Atom API: title, authors, abstract, abs link.

use quick_xml::Reader;
use quick_xml::events::Event;

use super::{Ctx, get_api, interleave, parse_url};
use crate::agent::research::SourceKind;
use crate::agent::research::document::Document;

#[derive(Default, Debug)]
struct Entry {
    id: String,
    title: String,
    summary: String,
    authors: Vec<String>,
    published: String,
    doi: String,
    category: Option<String>,
}

fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Parses the entries of an Atom feed. arXiv reports a bad query as an
/// entry titled "Error", which becomes an `Err`.
pub fn parse_feed(xml: &[u8]) -> Result<Vec<Document>, String> {
    let mut reader = Reader::from_reader(xml);
    let mut buf = Vec::new();
    let mut entries = Vec::new();
    let mut cur: Option<Entry> = None;
    let mut path: Vec<String> = Vec::new();
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(Event::Start(e)) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).to_string();
                if name == "entry" {
                    cur = Some(Entry::default());
                }
                path.push(name);
            }
            Ok(Event::End(e)) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).to_string();
                path.pop();
                if name == "entry"
                    && let Some(en) = cur.take()
                {
                    entries.push(en);
                }
            }
            Ok(Event::Text(t)) => {
                let Some(en) = cur.as_mut() else { continue };
                let text = t.decode().map(|c| c.into_owned()).unwrap_or_default();
                let text = quick_xml::escape::unescape(&text)
                    .map(|c| c.into_owned())
                    .unwrap_or(text);
                match path.last().map(String::as_str) {
                    Some("id") if path.len() == 3 => en.id.push_str(&text),
                    Some("title") => en.title.push_str(&text),
                    Some("summary") => en.summary.push_str(&text),
                    Some("name") if path.iter().any(|p| p == "author") => en.authors.push(text),
                    Some("published") if path.len() == 3 => en.published.push_str(&text),
                    Some("doi") if path.len() == 3 => en.doi.push_str(&text),
                    _ => {}
                }
            }
            Ok(Event::Empty(e)) if e.local_name().as_ref() == b"primary_category" => {
                if let Some(en) = cur.as_mut()
                    && let Some(term) = e
                        .attributes()
                        .flatten()
                        .find(|a| a.key.local_name().as_ref() == b"term")
                {
                    en.category = Some(String::from_utf8_lossy(&term.value).into_owned());
                }
            }
            Ok(Event::GeneralRef(r)) => {
                // Entity references inside text (&amp; …) arrive separately.
                if let Some(en) = cur.as_mut() {
                    let ch = match &*r {
                        b"amp" => "&",
                        b"lt" => "<",
                        b"gt" => ">",
                        b"quot" => "\"",
                        b"apos" => "'",
                        _ => "",
                    };
                    match path.last().map(String::as_str) {
                        Some("title") => en.title.push_str(ch),
                        Some("summary") => en.summary.push_str(ch),
                        _ => {}
                    }
                }
            }
            Ok(Event::Eof) => break,
            Err(e) => return Err(format!("unreadable feed: {e}")),
            _ => {}
        }
        buf.clear();
    }
    if let Some(err) = entries.iter().find(|e| squash(&e.title) == "Error") {
        return Err(format!("arXiv: {}", squash(&err.summary)));
    }
    Ok(entries
        .into_iter()
        .map(|e| {
            let authors = match e.authors.len() {
                0 => String::new(),
                1..=3 => format!(" ({})", e.authors.join(", ")),
                _ => format!(" ({} et al.)", e.authors[0]),
            };
            let mut doc = Document::plain(
                SourceKind::Arxiv,
                &format!("{}{authors}", squash(&e.title)),
                Some(squash(&e.id).replace("http://arxiv.org", "https://arxiv.org")),
                &squash(&e.summary),
            );
            let published = squash(&e.published);
            doc.meta = crate::domain::SourceMeta {
                title: Some(squash(&e.title)),
                authors: e.authors.iter().map(|a| squash(a)).collect(),
                // "2003-07-18T12:00:00Z" → the date.
                published: published.get(..10).map(str::to_string),
                doi: Some(squash(&e.doi)).filter(|d| !d.is_empty()),
                category: e.category,
                ..Default::default()
            };
            doc
        })
        .collect())
}

async fn search(ctx: &Ctx, query: &str) -> Result<Vec<Document>, String> {
    let mut url = parse_url(&ctx.base_url, "/api/query")?;
    url.query_pairs_mut()
        .append_pair("search_query", &format!("all:{query}"))
        .append_pair("start", "0")
        .append_pair("max_results", &ctx.cap.to_string());
    parse_feed(&get_api(ctx, url).await?)
}

pub async fn fetch(ctx: &Ctx, queries: &[String]) -> Result<Vec<Document>, String> {
    let lists = super::each_query(queries, |q| async move { search(ctx, &q).await }).await?;
    let lists = lists
        .into_iter()
        .map(|l| {
            l.into_iter()
                .filter(|d| !d.url.as_deref().is_some_and(|u| ctx.seen(u)))
                .collect()
        })
        .collect();
    Ok(interleave(lists, ctx.cap, |p| p.url.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!(
            "{}/../shared/fixtures/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    #[test]
    fn parses_the_documented_feed() {
        let p = parse_feed(&fixture("arxiv_query.atom")).unwrap();
        assert_eq!(p.len(), 1);
        assert!(
            p[0].title.starts_with(
                "Multi-Electron Production at High Transverse Momenta in ep Collisions at HERA"
            ),
            "{}",
            p[0].title
        );
        assert!(
            p[0].title.contains("et al.") || p[0].title.contains('('),
            "{}",
            p[0].title
        );
        assert_eq!(
            p[0].url.as_deref(),
            Some("https://arxiv.org/abs/hep-ex/0307015")
        );
        assert!(p[0].sections[0].paragraphs[0].starts_with("Multi-electron production is studied"));
    }

    #[test]
    fn a_reference_gets_authors_date_and_category() {
        let p = parse_feed(&fixture("arxiv_query.atom")).unwrap();
        let m = &p[0].meta;
        assert_eq!(
            m.title.as_deref(),
            Some("Multi-Electron Production at High Transverse Momenta in ep Collisions at HERA")
        );
        assert_eq!(m.authors, ["H1 Collaboration"], "{m:?}");
        assert_eq!(m.published.as_deref(), Some("2003-07-07"));
        assert_eq!(m.category.as_deref(), Some("hep-ex"));
    }

    #[test]
    fn error_feed_is_an_error() {
        let e = parse_feed(&fixture("arxiv_error.atom")).unwrap_err();
        assert!(e.starts_with("arXiv: "), "{e}");
    }

    #[test]
    fn garbage_is_an_error_or_empty_not_a_panic() {
        assert!(
            parse_feed(b"<feed><entry><title>x</title></feed>")
                .map(|v| v.len() <= 1)
                .unwrap_or(true)
        );
        assert!(
            parse_feed(b"\xff\xfe not xml <<<")
                .map(|v| v.is_empty())
                .unwrap_or(true)
        );
    }
}
