//! Wikipedia: Action API search, then the REST summary of each hit.

use serde_json::Value;

use super::{Ctx, get_api, interleave, parse_url, strip_tags};
use crate::agent::research::{Passage, SourceKind};

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

/// The page summary; None for disambiguation and missing pages.
async fn summary(ctx: &Ctx, title: &str) -> Result<Option<Passage>, String> {
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
    Ok(Some(Passage {
        kind: SourceKind::Wikipedia,
        title: v["title"].as_str().unwrap_or(title).to_string(),
        url: v["content_urls"]["desktop"]["page"]
            .as_str()
            .map(String::from),
        text: extract.to_string(),
    }))
}

pub async fn fetch(ctx: &Ctx, queries: &[String]) -> Result<Vec<Passage>, String> {
    let lists = super::each_query(queries, |q| async move { search(ctx, &q).await }).await?;
    // A few spare hits replace disambiguation pages.
    let hits = interleave(lists, ctx.cap + 2, |h| h.title.clone());
    let mut set = tokio::task::JoinSet::new();
    for (i, h) in hits.into_iter().enumerate() {
        let ctx = ctx.clone();
        set.spawn(async move { (i, summary(&ctx, &h.title).await, h) });
    }
    let mut got: Vec<(usize, Passage)> = Vec::new();
    while let Some(r) = set.join_next().await {
        let Ok((i, res, hit)) = r else { continue };
        match res {
            Ok(Some(p)) => got.push((i, p)),
            Ok(None) => {}
            // The search snippet still says something when the summary fails.
            Err(_) if !hit.snippet.is_empty() => got.push((
                i,
                Passage {
                    kind: SourceKind::Wikipedia,
                    url: None,
                    title: hit.title,
                    text: hit.snippet,
                },
            )),
            Err(_) => {}
        }
    }
    got.sort_by_key(|(i, _)| *i);
    Ok(got.into_iter().map(|(_, p)| p).take(ctx.cap).collect())
}
