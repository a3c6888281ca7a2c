//! Web search through a configured SearXNG instance (`format=json`), then
//! the top result pages read through the guarded client; a page that
//! cannot be read is kept as its result snippet.

use serde_json::Value;

use super::{Ctx, get_api, interleave, parse_url, strip_tags};
use crate::agent::research::SourceKind;
use crate::agent::research::document::Document;

#[derive(Debug, Clone)]
struct Hit {
    url: String,
    title: String,
    snippet: String,
}

async fn search(ctx: &Ctx, query: &str) -> Result<Vec<Hit>, String> {
    let mut url = parse_url(&ctx.base_url, "/search")?;
    url.query_pairs_mut()
        .append_pair("q", query)
        .append_pair("format", "json");
    let body = match get_api(ctx, url).await {
        Err(e) if e == "HTTP 403" => {
            return Err("SearXNG refused format=json — enable JSON output (search.formats: [html, json]) in its settings.yml".into());
        }
        other => other?,
    };
    let v: Value = serde_json::from_slice(&body).map_err(|_| "not JSON".to_string())?;
    Ok(v["results"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|r| {
                    let url = r["url"].as_str()?.to_string();
                    Some(Hit {
                        title: strip_tags(r["title"].as_str().unwrap_or(&url)),
                        snippet: strip_tags(r["content"].as_str().unwrap_or("")),
                        url,
                    })
                })
                .take(ctx.cap)
                .collect()
        })
        .unwrap_or_default())
}

async fn read(ctx: &Ctx, hit: &Hit) -> Option<Document> {
    let page = async {
        if !ctx.follow_links {
            return Err("links are not followed".to_string());
        }
        super::web::page(ctx, &hit.url, SourceKind::Searxng).await
    };
    match ctx.in_time(page).await {
        Some(Ok(mut d)) if !d.is_empty() => {
            if !hit.title.trim().is_empty() {
                d.title = hit.title.clone();
            }
            Some(d)
        }
        other => {
            if let Some(Err(e)) = other {
                tracing::info!(url = %hit.url, error = %e, "result page not read; snippet instead");
            }
            (!hit.snippet.trim().is_empty()).then(|| {
                Document::plain(
                    SourceKind::Searxng,
                    &hit.title,
                    Some(hit.url.clone()),
                    &hit.snippet,
                )
            })
        }
    }
}

pub async fn fetch(ctx: &Ctx, queries: &[String]) -> Result<Vec<Document>, String> {
    let lists = super::each_query(queries, |q| async move { search(ctx, &q).await }).await?;
    let lists = lists
        .into_iter()
        .map(|l| l.into_iter().filter(|h| !ctx.seen(&h.url)).collect())
        .collect();
    let hits = interleave(lists, ctx.cap, |h| h.url.clone());
    let mut set = tokio::task::JoinSet::new();
    for (i, h) in hits.into_iter().enumerate() {
        let ctx = ctx.clone();
        set.spawn(async move { (i, read(&ctx, &h).await) });
    }
    let mut got = Vec::new();
    while let Some(r) = set.join_next().await {
        if let Ok((i, Some(d))) = r {
            got.push((i, d));
        }
    }
    got.sort_by_key(|(i, _)| *i);
    Ok(got.into_iter().map(|(_, d)| d).collect())
}
