//! Hacker News through the Algolia API: search for stories, then read each
//! story's discussion (`/api/v1/items/{id}`: a tree of comments) and, for a
//! link story, the linked page through the guarded client. Fields may be
//! null or missing (`url` on Ask HN posts, deleted comments' author and
//! text); a story whose discussion cannot be read still counts by its
//! title and text.

use serde_json::Value;

use super::{Ctx, get_api, html_text, interleave, parse_url};
use crate::agent::research::SourceKind;
use crate::agent::research::document::{Document, MAX_DOC_CHARS, Section};

/// Comments read per discussion, top-level threads first in page order.
pub const MAX_COMMENTS: usize = 300;
/// Replies deeper than this are left out.
const MAX_DEPTH: usize = 6;

#[derive(Debug, Clone)]
struct Story {
    id: String,
    title: String,
    /// The linked page, for link stories.
    link: Option<String>,
    text: String,
    author: String,
    points: i64,
    comments: i64,
    /// "2014-10-15T13:00:00.000Z", as Algolia gives it.
    created: Option<String>,
}

fn item_url(id: &str) -> String {
    format!("https://news.ycombinator.com/item?id={id}")
}

fn parse_hits(v: &Value) -> Vec<Story> {
    let hits = v["hits"].as_array().cloned().unwrap_or_default();
    hits.iter()
        .filter_map(|h| {
            let id = h["objectID"]
                .as_str()
                .map(String::from)
                .or_else(|| h["story_id"].as_i64().map(|i| i.to_string()))?;
            let title = h["title"]
                .as_str()
                .or_else(|| h["story_title"].as_str())?
                .to_string();
            Some(Story {
                id,
                title,
                link: h["url"]
                    .as_str()
                    .filter(|u| u.starts_with("http"))
                    .map(String::from),
                text: h["story_text"].as_str().map(html_text).unwrap_or_default(),
                author: h["author"].as_str().unwrap_or("someone").to_string(),
                points: h["points"].as_i64().unwrap_or(0),
                comments: h["num_comments"].as_i64().unwrap_or(0),
                created: h["created_at"].as_str().map(String::from),
            })
        })
        .collect()
}

async fn search(ctx: &Ctx, query: &str) -> Result<Vec<Story>, String> {
    let mut url = parse_url(&ctx.base_url, "/api/v1/search")?;
    url.query_pairs_mut()
        .append_pair("query", query)
        .append_pair("tags", "story")
        .append_pair("hitsPerPage", &ctx.cap.to_string());
    let body = get_api(ctx, url).await?;
    let v: Value = serde_json::from_slice(&body).map_err(|_| "not JSON".to_string())?;
    Ok(parse_hits(&v))
}

/// One comment as a paragraph: "author: text"; None when deleted or empty.
fn comment(c: &Value) -> Option<String> {
    let text = html_text(c["text"].as_str()?);
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.is_empty() {
        return None;
    }
    let author = c["author"].as_str().unwrap_or("[deleted]");
    Some(format!("{author}: {text}"))
}

/// A story's discussion: the story text first, then one section per
/// top-level comment with its replies in reading order (depth-first, to
/// [`MAX_DEPTH`]), at most [`MAX_COMMENTS`] comments in all.
pub fn discussion(item: &Value, title: &str, id: &str) -> Document {
    let mut sections = Vec::new();
    if let Some(t) = item["text"].as_str() {
        sections.push(Section {
            heading: None,
            url: Some(item_url(id)),
            paragraphs: crate::agent::research::document::paragraphs(&html_text(t)),
            vector: None,
        });
    }
    let mut taken = 0;
    let top = item["children"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    for thread in top {
        if taken >= MAX_COMMENTS {
            break;
        }
        let mut paragraphs = Vec::new();
        // Depth-first without recursion: a hostile tree cannot blow the stack.
        let mut stack: Vec<(&Value, usize)> = vec![(thread, 0)];
        while let Some((c, depth)) = stack.pop() {
            if taken >= MAX_COMMENTS {
                break;
            }
            if let Some(p) = comment(c) {
                paragraphs.push(p);
                taken += 1;
            }
            if depth < MAX_DEPTH
                && let Some(kids) = c["children"].as_array()
            {
                stack.extend(kids.iter().rev().map(|k| (k, depth + 1)));
            }
        }
        if paragraphs.is_empty() {
            continue;
        }
        let cid = thread["id"]
            .as_i64()
            .map(|i| i.to_string())
            .unwrap_or_else(|| id.to_string());
        let by = thread["author"].as_str().unwrap_or("[deleted]");
        sections.push(Section {
            heading: Some(format!(
                "comments · {}",
                crate::text::sanitize::one_line(by)
            )),
            url: Some(item_url(&cid)),
            paragraphs,
            vector: None,
        });
    }
    let mut doc = Document {
        kind: SourceKind::Hackernews,
        title: title.to_string(),
        url: Some(item_url(id)),
        sections,
        meta: Default::default(),
    };
    doc.cap(MAX_DOC_CHARS);
    doc
}

/// What the search hit alone says of a story.
fn from_hit(s: &Story) -> Document {
    let text = if s.text.trim().is_empty() {
        format!(
            "{} — a Hacker News story by {} ({} points, {} comments).",
            s.title, s.author, s.points, s.comments
        )
    } else {
        format!("{}\n{}", s.title, s.text)
    };
    Document::plain(
        SourceKind::Hackernews,
        &s.title,
        Some(item_url(&s.id)),
        &text,
    )
}

/// Brackets of JSON kept when an item is parsed: comments deeper than
/// [`MAX_DEPTH`] are never read, and serde_json refuses (the whole reply)
/// past 128 — a discussion nested 64 comments deep was dropped whole.
const MAX_JSON_DEPTH: usize = 40;

/// An item reply, with everything nested past [`MAX_JSON_DEPTH`] emptied.
fn parse_item(body: &[u8]) -> Option<Value> {
    serde_json::from_slice(&crate::text::json_depth::emptied_past(body, MAX_JSON_DEPTH)).ok()
}

/// The discussion (or the hit itself) and, for a link story, the page.
async fn read(ctx: &Ctx, s: Story) -> Vec<Document> {
    let thread = async {
        let url = parse_url(&ctx.base_url, &format!("/api/v1/items/{}", s.id)).ok()?;
        let body = get_api(ctx, url).await.ok()?;
        let v = parse_item(&body)?;
        Some(discussion(&v, &s.title, &s.id))
    };
    let linked = async {
        let link = s.link.as_deref().filter(|_| ctx.follow_links)?;
        super::web::page(ctx, link, SourceKind::Hackernews)
            .await
            .map_err(|e| tracing::info!(url = link, error = %e, "linked page not read"))
            .ok()
    };
    let (thread, linked) = tokio::join!(ctx.in_time(thread), ctx.in_time(linked));
    let mut docs = Vec::new();
    let mut story = match thread.flatten() {
        Some(d) if !d.is_empty() => d,
        _ => from_hit(&s),
    };
    // The story's author and date, for a reference to it (a linked page
    // has its own).
    story.meta = crate::domain::SourceMeta {
        authors: vec![s.author.clone()]
            .into_iter()
            .filter(|a| a != "someone")
            .collect(),
        published: s
            .created
            .as_deref()
            .and_then(|c| c.get(..10))
            .map(str::to_string),
        site: Some("Hacker News".into()),
        ..Default::default()
    };
    docs.push(story);
    docs.extend(linked.flatten().filter(|d| !d.is_empty()));
    docs
}

pub async fn fetch(ctx: &Ctx, queries: &[String]) -> Result<Vec<Document>, String> {
    let lists = super::each_query(queries, |q| async move { search(ctx, &q).await }).await?;
    let lists = lists
        .into_iter()
        .map(|l| {
            l.into_iter()
                .filter(|s| !ctx.seen(&item_url(&s.id)))
                .collect()
        })
        .collect();
    let stories = interleave(lists, ctx.cap, |s| s.id.clone());
    let mut set = tokio::task::JoinSet::new();
    for (i, s) in stories.into_iter().enumerate() {
        let ctx = ctx.clone();
        set.spawn(async move { (i, read(&ctx, s).await) });
    }
    let mut got = Vec::new();
    while let Some(r) = set.join_next().await {
        if let Ok(x) = r {
            got.push(x);
        }
    }
    got.sort_by_key(|(i, _)| *i);
    Ok(got.into_iter().flat_map(|(_, d)| d).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_story_keeps_its_author_and_date_for_a_reference() {
        let v: Value = serde_json::from_str(
            &std::fs::read_to_string(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../shared/fixtures/hn_algolia_search.json"
            ))
            .unwrap(),
        )
        .unwrap();
        let s = &parse_hits(&v)[0];
        assert_eq!(s.author, "anigbrowl");
        assert_eq!(s.created.as_deref(), Some("2016-12-08T19:39:07Z"));
    }

    #[test]
    fn a_tree_with_deleted_and_null_comments() {
        let item = json!({
            "id": 1, "type": "story", "author": "pg", "title": "T", "url": null,
            "text": "<p>Ask: what do you think?</p>", "points": 10, "children": [
                {"id": 2, "author": "a", "text": "First &amp; <i>best</i><p>second para", "points": null,
                 "children": [
                    {"id": 3, "author": null, "text": null, "children": [
                        {"id": 4, "author": "c", "text": "reply under a deleted one", "children": []}
                    ]}
                 ]},
                {"id": 5, "author": null, "text": null, "children": null},
                {"id": 6, "author": "d", "text": "Another thread"}
            ]
        });
        let d = discussion(&item, "T", "1");
        assert_eq!(d.sections.len(), 3);
        assert_eq!(d.sections[0].paragraphs, vec!["Ask: what do you think?"]);
        assert_eq!(
            d.sections[1].paragraphs,
            vec![
                "a: First & best second para",
                "c: reply under a deleted one"
            ]
        );
        assert_eq!(
            d.sections[1].url.as_deref(),
            Some("https://news.ycombinator.com/item?id=2")
        );
        assert_eq!(d.sections[2].heading.as_deref(), Some("comments · d"));
    }

    #[test]
    fn a_discussion_nested_past_the_parsers_limit_keeps_its_top() {
        // 5,000 replies each under the one before: 10,000 brackets deep.
        let mut body = String::from(r#"{"id":1,"children":["#);
        for i in 0..5000 {
            body.push_str(&format!(
                r#"{{"id":{},"author":"u{i}","text":"reply number {i}","children":["#,
                i + 2
            ));
        }
        body.push_str(&"]}".repeat(5000));
        body.push_str("]}");
        let v = parse_item(body.as_bytes()).expect("parsed");
        let d = discussion(&v, "T", "1");
        let all: Vec<&str> = d
            .sections
            .iter()
            .flat_map(|s| s.paragraphs.iter().map(String::as_str))
            .collect();
        assert!(all.iter().any(|p| p.contains("reply number 0")), "{all:?}");
        assert!(all.iter().any(|p| p.contains("reply number 5")), "{all:?}");
    }

    #[test]
    fn a_huge_thread_is_capped() {
        let kids: Vec<Value> = (0..3000)
            .map(|i| json!({"id": i + 10, "author": "u", "text": format!("comment {i} ").repeat(20)}))
            .collect();
        let item = json!({"id": 1, "children": kids});
        let d = discussion(&item, "T", "1");
        let n: usize = d.sections.iter().map(|s| s.paragraphs.len()).sum();
        assert!(n <= MAX_COMMENTS, "{n}");
        assert!(d.chars() <= MAX_DOC_CHARS);
    }

    #[test]
    fn both_search_formats_parse() {
        for name in ["hn_algolia_search.json", "hn_algolia_search_legacy.json"] {
            let raw = std::fs::read(format!(
                "{}/../shared/fixtures/{name}",
                env!("CARGO_MANIFEST_DIR")
            ))
            .unwrap();
            let v: Value = serde_json::from_slice(&raw).unwrap();
            let s = parse_hits(&v);
            assert!(!s.is_empty(), "{name}");
            assert!(s.iter().all(|s| !s.title.is_empty() && !s.id.is_empty()));
        }
    }
}
