//! Wikipedia: Action API search, then each hit's whole article as plain
//! text (TextExtracts, one title per request since full extracts are not
//! batched), sections kept. The REST summary is the fallback when the
//! article body fails, and the search snippet when both do.

use serde_json::Value;

use super::{Ctx, get_api, get_api_capped, interleave, parse_url, strip_tags};
use crate::agent::research::SourceKind;
use crate::agent::research::document::Document;

/// A whole-article reply larger than this is refused (the summary is read
/// instead); the longest real articles are well under 1 MB of text, and
/// what is kept of any article is capped at `MAX_DOC_CHARS`.
const MAX_ARTICLE_BODY: usize = 8 * 1024 * 1024;

struct Hit {
    title: String,
    snippet: String,
}

async fn search(ctx: &Ctx, query: &str) -> Result<Vec<Hit>, String> {
    let mut url = parse_url(&ctx.base_url, "/w/api.php")?;
    url.query_pairs_mut()
        .append_pair("action", "query")
        .append_pair("list", "search")
        .append_pair("srsearch", query)
        .append_pair("srlimit", &ctx.cap.to_string())
        .append_pair("format", "json")
        .append_pair("utf8", "1");
    let body = get_api(ctx, url).await?;
    let v: Value = serde_json::from_slice(&body).map_err(|_| "not JSON".to_string())?;
    if let Some(e) = v["error"]["info"].as_str() {
        return Err(e.to_string());
    }
    Ok(v["query"]["search"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|h| {
                    Some(Hit {
                        title: h["title"].as_str()?.to_string(),
                        snippet: strip_tags(h["snippet"].as_str().unwrap_or("")),
                    })
                })
                .collect()
        })
        .unwrap_or_default())
}

/// `{base}/wiki/Title_with_underscores`, percent-encoded.
fn page_url(ctx: &Ctx, title: &str) -> Option<String> {
    let mut url = parse_url(&ctx.base_url, "/wiki/").ok()?;
    url.path_segments_mut()
        .ok()?
        .pop_if_empty()
        .push(&title.replace(' ', "_"));
    Some(url.to_string())
}

/// The one page of a `prop=…&titles=…` reply, in either formatversion.
fn first_page(v: &Value) -> Option<&Value> {
    match &v["query"]["pages"] {
        // formatversion=2: a list of pages.
        Value::Array(a) => a.first(),
        // formatversion=1: pages keyed by id ("-1" for a missing one).
        Value::Object(o) => o.values().next(),
        _ => None,
    }
}

/// The plain-text extract of one page from a TextExtracts reply, in either
/// formatversion: `(title, extract)`; None for a missing page or an empty
/// extract.
pub fn parse_extract(v: &Value) -> Option<(String, String)> {
    let page = first_page(v)?;
    if page.get("missing").is_some() || page.get("invalid").is_some() {
        return None;
    }
    let extract = page["extract"].as_str()?.trim();
    if extract.is_empty() {
        return None;
    }
    Some((page["title"].as_str()?.to_string(), extract.to_string()))
}

/// The revision a TextExtracts reply with `prop=extracts|info` read (the
/// page's `lastrevid`), in either formatversion.
pub fn revision(v: &Value) -> Option<u64> {
    first_page(v)?["lastrevid"].as_u64().filter(|r| *r > 0)
}

/// The whole article; None when the page is missing or empty.
async fn article(ctx: &Ctx, title: &str) -> Result<Option<Document>, String> {
    let mut url = parse_url(&ctx.base_url, "/w/api.php")?;
    url.query_pairs_mut()
        .append_pair("action", "query")
        // `info` adds the revision read, so a citation names that version.
        .append_pair("prop", "extracts|info")
        .append_pair("explaintext", "1")
        .append_pair("titles", title)
        .append_pair("format", "json")
        .append_pair("formatversion", "2");
    let body = get_api_capped(ctx, url, MAX_ARTICLE_BODY).await?;
    let v: Value = serde_json::from_slice(&body).map_err(|_| "not JSON".to_string())?;
    if let Some(e) = v["error"]["info"].as_str() {
        return Err(e.to_string());
    }
    let rev = revision(&v);
    Ok(parse_extract(&v).map(|(t, text)| {
        let url = page_url(ctx, &t);
        let mut doc = Document::wiki_extract(&t, url, &text);
        doc.meta.revision = rev;
        doc.meta.site = Some("Wikipedia".into());
        doc
    }))
}

/// The page summary; None for disambiguation and missing pages.
async fn summary(ctx: &Ctx, title: &str) -> Result<Option<Document>, String> {
    let mut url = parse_url(&ctx.base_url, "/api/rest_v1/page/summary/")?;
    // Titles go in one path segment, spaces as underscores, percent-encoded.
    url.path_segments_mut()
        .map_err(|_| "bad base_url".to_string())?
        .pop_if_empty()
        .push(&title.replace(' ', "_"));
    let body = match get_api(ctx, url).await {
        Err(e) if e == "HTTP 404" => return Ok(None),
        other => other?,
    };
    let v: Value = serde_json::from_slice(&body).map_err(|_| "not JSON".to_string())?;
    if v["type"] == "disambiguation" {
        return Ok(None);
    }
    let Some(extract) = v["extract"].as_str().filter(|e| !e.trim().is_empty()) else {
        return Ok(None);
    };
    let url = v["content_urls"]["desktop"]["page"]
        .as_str()
        .map(String::from);
    let mut doc = Document::plain(
        SourceKind::Wikipedia,
        v["title"].as_str().unwrap_or(title),
        url,
        extract,
    );
    // The REST summary names its revision as a string.
    doc.meta.revision = v["revision"].as_str().and_then(|r| r.parse().ok());
    doc.meta.site = Some("Wikipedia".into());
    Ok(Some(doc))
}

/// The article, else its summary, else the search snippet.
async fn read(ctx: &Ctx, hit: &Hit) -> Option<Document> {
    match article(ctx, &hit.title).await {
        Ok(Some(d)) if !d.is_empty() => return Some(d),
        Ok(_) => {}
        Err(e) => {
            tracing::info!(title = %hit.title, error = %e, "article body failed; summary instead")
        }
    }
    match summary(ctx, &hit.title).await {
        Ok(d) => d,
        Err(_) if !hit.snippet.trim().is_empty() => Some(Document::plain(
            SourceKind::Wikipedia,
            &hit.title,
            page_url(ctx, &hit.title),
            &hit.snippet,
        )),
        Err(_) => None,
    }
}

pub async fn fetch(ctx: &Ctx, queries: &[String]) -> Result<Vec<Document>, String> {
    let lists = super::each_query(queries, |q| async move { search(ctx, &q).await }).await?;
    // A few spare hits replace missing and disambiguation pages.
    let lists = lists
        .into_iter()
        .map(|l| l.into_iter().filter(|h| !ctx.seen(&h.title)).collect())
        .collect();
    // They are read only when needed: fewer requests to the host, and no
    // turn waits on pages it will not use.
    let mut hits = interleave(lists, ctx.cap + 2, |h| h.title.clone());
    let spares = hits.split_off(hits.len().min(ctx.cap));
    let mut got = read_all(ctx, hits, 0).await;
    let missing = ctx.cap.saturating_sub(got.len());
    if missing > 0 && !spares.is_empty() {
        let more = spares.into_iter().take(missing).collect();
        got.extend(read_all(ctx, more, ctx.cap).await);
    }
    got.sort_by_key(|(i, _)| *i);
    Ok(got.into_iter().map(|(_, d)| d).take(ctx.cap).collect())
}

/// Reads hits concurrently: `(first + position, document)` of those read.
async fn read_all(ctx: &Ctx, hits: Vec<Hit>, first: usize) -> Vec<(usize, Document)> {
    let mut set = tokio::task::JoinSet::new();
    for (i, h) in hits.into_iter().enumerate() {
        let ctx = ctx.clone();
        set.spawn(async move { (first + i, read(&ctx, &h).await) });
    }
    let mut got = Vec::new();
    while let Some(r) = set.join_next().await {
        if let Ok((i, Some(d))) = r {
            got.push((i, d));
        }
    }
    got
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_revision_read_is_kept_in_both_formatversions() {
        let v2 = serde_json::json!({"query": {"pages": [{"title": "A", "extract": "x", "lastrevid": 42}]}});
        let v1 = serde_json::json!({"query": {"pages": {"7": {"title": "A", "extract": "x", "lastrevid": 43}}}});
        assert_eq!(revision(&v2), Some(42));
        assert_eq!(revision(&v1), Some(43));
        assert_eq!(
            revision(&serde_json::json!({"query": {"pages": [{"title": "A"}]}})),
            None
        );
    }

    #[test]
    fn extracts_parse_in_both_formatversions() {
        let text = "Lead.\n\n\n== History ==\nOld times.";
        let v2 = json!({"batchcomplete": true, "query": {"pages": [
            {"pageid": 1, "ns": 0, "title": "Normans", "extract": text}]}});
        let v1 = json!({"batchcomplete": "", "query": {"pages": {"1":
            {"pageid": 1, "ns": 0, "title": "Normans", "extract": text}}}});
        for v in [v2, v1] {
            assert_eq!(
                parse_extract(&v),
                Some(("Normans".to_string(), text.to_string()))
            );
        }
    }

    #[test]
    fn missing_and_empty_pages_are_none() {
        let v2 = json!({"query": {"pages": [{"ns": 0, "title": "Nope", "missing": true}]}});
        let v1 = json!({"query": {"pages": {"-1": {"ns": 0, "title": "Nope", "missing": ""}}}});
        let empty = json!({"query": {"pages": [{"pageid": 3, "title": "E", "extract": ""}]}});
        let invalid = json!({"query": {"pages": [{"title": "<", "invalid": true}]}});
        for v in [
            v2,
            v1,
            empty,
            invalid,
            json!({"batchcomplete": true}),
            json!([]),
        ] {
            assert_eq!(parse_extract(&v), None, "{v}");
        }
    }
}
