//! Hacker News through the Algolia search API. Fields may be null or
//! missing (`url` on Ask HN posts, `story_text` on links).

use serde_json::Value;

use super::{Ctx, get_api, interleave, parse_url, strip_tags};
use crate::agent::research::{Passage, SourceKind};

async fn search(ctx: &Ctx, query: &str) -> Result<Vec<(String, Passage)>, String> {
    let mut url = parse_url(&ctx.base_url, "/api/v1/search")?;
    url.query_pairs_mut()
        .append_pair("query", query)
        .append_pair("tags", "story")
        .append_pair("hitsPerPage", &ctx.cap.to_string());
    let body = get_api(ctx, url).await?;
    let v: Value = serde_json::from_slice(&body).map_err(|_| "not JSON".to_string())?;
    let hits = v["hits"].as_array().cloned().unwrap_or_default();
    Ok(hits
        .iter()
        .filter_map(|h| {
            let id = h["objectID"].as_str().map(String::from).or_else(|| h["story_id"].as_i64().map(|i| i.to_string()))?;
            let title = h["title"].as_str().or_else(|| h["story_title"].as_str())?.to_string();
            let item = format!("https://news.ycombinator.com/item?id={id}");
            let url = h["url"].as_str().filter(|u| !u.is_empty()).map(String::from).unwrap_or(item);
            let story = h["story_text"].as_str().map(strip_tags).unwrap_or_default();
            let points = h["points"].as_i64().unwrap_or(0);
            let comments = h["num_comments"].as_i64().unwrap_or(0);
            let author = h["author"].as_str().unwrap_or("someone");
            let text = if story.trim().is_empty() {
                format!("{title} — a Hacker News story by {author} ({points} points, {comments} comments).")
            } else {
                format!("{title}. {story}")
            };
            Some((
                id,
                Passage {
                    kind: SourceKind::Hackernews,
                    title,
                    url: Some(url),
                    text,
                },
            ))
        })
        .collect())
}

pub async fn fetch(ctx: &Ctx, queries: &[String]) -> Result<Vec<Passage>, String> {
    let lists = super::each_query(queries, |q| async move { search(ctx, &q).await }).await?;
    Ok(interleave(lists, ctx.cap, |(id, _)| id.clone())
        .into_iter()
        .map(|(_, p)| p)
        .collect())
}
