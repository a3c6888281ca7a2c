//! Web search through a configured SearXNG instance (`format=json`).

use serde_json::Value;

use super::{Ctx, get_api, interleave, parse_url, strip_tags};
use crate::agent::research::{Passage, SourceKind};

async fn search(ctx: &Ctx, query: &str) -> Result<Vec<Passage>, String> {
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
                    let title = strip_tags(r["title"].as_str().unwrap_or(&url));
                    let content = strip_tags(r["content"].as_str().unwrap_or(""));
                    Some(Passage {
                        kind: SourceKind::Searxng,
                        title,
                        url: Some(url),
                        text: content,
                    })
                })
                .filter(|p| !p.text.trim().is_empty())
                .take(ctx.cap)
                .collect()
        })
        .unwrap_or_default())
}

pub async fn fetch(ctx: &Ctx, queries: &[String]) -> Result<Vec<Passage>, String> {
    let lists = super::each_query(queries, |q| async move { search(ctx, &q).await }).await?;
    Ok(interleave(lists, ctx.cap, |p| p.url.clone()))
}
