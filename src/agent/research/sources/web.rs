//! Web pages linked in the question: fetched with the guarded client,
//! size-capped, and reduced to their readable text (dom_smoothie, a port of
//! Mozilla's Readability), then cut into passages for ranking.

use super::Ctx;
use crate::agent::research::fetch::{check_url, read_capped, short_error};
use crate::agent::research::{Passage, SourceKind};

/// Bytes read from a page before it is cut (default 2 MB).
pub const MAX_PAGE: usize = 2 * 1024 * 1024;
/// Readable text kept per page.
const MAX_TEXT: usize = 40_000;
/// Target passage length for ranking.
const CHUNK: usize = 900;

/// Every http(s) URL in `text`, without trailing punctuation, deduplicated.
pub fn urls_in(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for word in text.split_whitespace() {
        let Some(start) = word.find("http://").or_else(|| word.find("https://")) else {
            continue;
        };
        let url = word[start..].trim_end_matches(|c: char| ".,;:!?)]}>'\"".contains(c));
        if reqwest::Url::parse(url).is_ok() && !out.iter().any(|u| u == url) {
            out.push(url.to_string());
        }
    }
    out
}

/// Cuts text into passages of about `CHUNK` characters at paragraph or
/// sentence ends.
pub fn chunks(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for para in text.split('\n').map(str::trim).filter(|p| !p.is_empty()) {
        for sentence in para.split_inclusive(". ") {
            if cur.len() + sentence.len() > CHUNK && cur.len() > CHUNK / 3 {
                out.push(std::mem::take(&mut cur).trim().to_string());
            }
            cur.push_str(sentence);
            while cur.len() > CHUNK * 2 {
                // One enormous sentence: cut at a char boundary.
                let mut cut = CHUNK * 2;
                while !cur.is_char_boundary(cut) {
                    cut -= 1;
                }
                let rest = cur.split_off(cut);
                out.push(std::mem::take(&mut cur).trim().to_string());
                cur = rest;
            }
        }
        cur.push(' ');
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    out
}

/// The readable title and text of an HTML page.
pub fn readable(html: &str, url: &str) -> (String, String) {
    let parsed = dom_smoothie::Readability::new(html, Some(url), None).and_then(|mut r| r.parse());
    let (title, text) = match parsed {
        Ok(a) if !a.text_content.trim().is_empty() => (a.title, a.text_content.to_string()),
        // Not an article: fall back to all the text of the page.
        _ => (String::new(), super::strip_tags(html)),
    };
    let mut text: String = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n");
    if text.len() > MAX_TEXT {
        let mut cut = MAX_TEXT;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        // End at the last sentence inside the limit.
        let end = text[..cut].rfind(". ").map(|i| i + 1).unwrap_or(cut);
        text.truncate(end);
    }
    (title.trim().to_string(), text)
}

async fn page(ctx: &Ctx, allow: &[String], url: &str) -> Result<Vec<Passage>, String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("bad URL: {e}"))?;
    check_url(&parsed, allow)?;
    let resp = ctx
        .client
        .get(parsed)
        .send()
        .await
        .map_err(|e| short_error(&e))?;
    let status = resp.status();
    if !status.is_success() {
        return Err(format!("HTTP {}", status.as_u16()));
    }
    let ctype = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("text/html")
        .to_ascii_lowercase();
    if !(ctype.starts_with("text/html")
        || ctype.starts_with("application/xhtml")
        || ctype.starts_with("text/plain"))
    {
        let kind = ctype.split(';').next().unwrap_or("").trim().to_string();
        return Err(format!("not a web page ({kind})"));
    }
    let (body, cut) = read_capped(resp, MAX_PAGE).await?;
    if cut {
        tracing::info!(url, "page cut at {} bytes", MAX_PAGE);
    }
    // Invalid UTF-8 is replaced, not fatal.
    let html = String::from_utf8_lossy(&body).into_owned();
    let url_owned = url.to_string();
    let plain = ctype.starts_with("text/plain");
    let (title, text) = tokio::task::spawn_blocking(move || {
        if plain {
            (String::new(), html)
        } else {
            readable(&html, &url_owned)
        }
    })
    .await
    .map_err(|_| "text extraction failed".to_string())?;
    if text.trim().is_empty() {
        return Err("no readable text".into());
    }
    let title = if title.is_empty() {
        url.to_string()
    } else {
        title
    };
    Ok(chunks(&text)
        .into_iter()
        .map(|t| Passage {
            kind: SourceKind::Web,
            title: title.clone(),
            url: Some(url.to_string()),
            text: t,
        })
        .collect())
}

/// Fetches every URL concurrently; fails only if all of them fail.
pub async fn fetch(ctx: &Ctx, allow: &[String], urls: &[String]) -> Result<Vec<Passage>, String> {
    let mut set = tokio::task::JoinSet::new();
    for (i, u) in urls.iter().enumerate() {
        let (ctx, allow, u) = (ctx.clone(), allow.to_vec(), u.clone());
        set.spawn(async move { (i, page(&ctx, &allow, &u).await, u) });
    }
    let mut pages = Vec::new();
    let mut errors = Vec::new();
    while let Some(r) = set.join_next().await {
        let Ok((i, res, u)) = r else { continue };
        match res {
            Ok(p) => pages.push((i, p)),
            Err(e) => errors.push(format!("{u}: {e}")),
        }
    }
    if pages.is_empty() {
        return Err(errors.join("; "));
    }
    pages.sort_by_key(|(i, _)| *i);
    Ok(pages.into_iter().flat_map(|(_, p)| p).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_urls_in_questions() {
        let q = "Compare https://a.org/x?y=1, and (http://b.net/p). Also https://a.org/x?y=1 again; ftp://no";
        assert_eq!(urls_in(q), vec!["https://a.org/x?y=1", "http://b.net/p"]);
    }

    #[test]
    fn chunks_are_bounded_and_keep_all_text() {
        let text = "First sentence here. ".repeat(200) + "\n" + &"x".repeat(5000);
        let c = chunks(&text);
        assert!(c.len() > 3);
        assert!(
            c.iter().all(|p| p.len() <= CHUNK * 2 + 64),
            "{:?}",
            c.iter().map(|p| p.len()).collect::<Vec<_>>()
        );
        let total: usize = c
            .iter()
            .map(|p| p.chars().filter(|c| !c.is_whitespace()).count())
            .sum();
        let want = text.chars().filter(|c| !c.is_whitespace()).count();
        assert_eq!(total, want);
    }

    #[test]
    fn extracts_the_article_of_the_fixture() {
        let html = std::fs::read_to_string(format!(
            "{}/../shared/fixtures/article_sample.html",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let meta: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(format!(
                "{}/../shared/fixtures/article_sample_expected_metadata.json",
                env!("CARGO_MANIFEST_DIR")
            ))
            .unwrap(),
        )
        .unwrap();
        let (title, text) = readable(&html, "http://fakehost/test/page.html");
        assert_eq!(title, meta["title"].as_str().unwrap());
        assert!(text.len() > 2000, "{}", text.len());
        // Navigation and scripts are not part of the readable text.
        assert!(!text.contains("<script") && !text.contains("function("));
    }
}
