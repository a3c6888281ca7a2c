//! Web pages linked in the question: fetched with the guarded client,
//! size-capped, and reduced to their readable text (dom_smoothie, a port of
//! Mozilla's Readability), then cut into passages for ranking.

use super::Ctx;
use crate::agent::research::SourceKind;
use crate::agent::research::document::{Document, MAX_DOC_CHARS};
use crate::agent::research::fetch::{check_url, read_capped, short_error};
use crate::domain::SourceMeta;

/// Bytes read from a page before it is cut (default 2 MB).
pub const MAX_PAGE: usize = 2 * 1024 * 1024;
/// Pages parsed at once in this process (one per core of a small machine).
const PARSERS: usize = 2;
static PARSING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(PARSERS);
/// Readable text kept per page.
const MAX_TEXT: usize = MAX_DOC_CHARS;

/// A URL as a sentence ends it: trailing punctuation off, but a closing
/// bracket kept when the URL opened it (`…/wiki/Sky_(United_Kingdom)`).
fn trim_url(mut url: &str) -> &str {
    while let Some(c) = url.chars().last() {
        let unmatched =
            |open: char, close: char| url.matches(open).count() < url.matches(close).count();
        let strip = match c {
            ')' => unmatched('(', ')'),
            ']' => unmatched('[', ']'),
            '}' => unmatched('{', '}'),
            _ => ".,;:!?>'\"".contains(c),
        };
        if !strip {
            break;
        }
        url = &url[..url.len() - c.len_utf8()];
    }
    url
}

/// Every http(s) URL in `text`, without trailing punctuation, deduplicated.
pub fn urls_in(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for word in text.split_whitespace() {
        let Some(start) = word.find("http://").or_else(|| word.find("https://")) else {
            continue;
        };
        let url = trim_url(&word[start..]);
        if reqwest::Url::parse(url).is_ok() && !out.iter().any(|u| u == url) {
            out.push(url.to_string());
        }
    }
    out
}

/// The readable title and text of an HTML page.
pub fn readable(html: &str, url: &str) -> (String, String) {
    let (title, text, _) = readable_with_meta(html, url);
    (title, text)
}

/// Like [`readable`], with what a reference needs: the page's
/// `citation_*` tags first, then what Readability found (byline, site
/// name, published time from meta tags and JSON-LD).
///
/// A page whose markup would cost a tree builder more than its bytes
/// (`text::markup`: nested past 256 levels, floods of tags or of `<`) is
/// read as plain text; NUL bytes, which no page's text holds, are dropped.
pub fn readable_with_meta(html: &str, url: &str) -> (String, String, SourceMeta) {
    let html: std::borrow::Cow<str> = if html.contains('\0') {
        html.replace('\0', "").into()
    } else {
        html.into()
    };
    let html = html.as_ref();
    let parsed = match crate::text::markup::check(html) {
        Ok(()) => parse_tree(html, url),
        Err(why) => {
            tracing::info!(url, %why, "page read as plain text");
            Err(dom_smoothie::ReadabilityError::GrabFailed)
        }
    };
    let mut meta = super::page_meta::citation_meta(html);
    let (title, text) = match parsed {
        Ok(a) if !a.text_content.trim().is_empty() => {
            if meta.authors.is_empty()
                && let Some(b) = a.byline.as_deref().map(str::trim).filter(|b| !b.is_empty())
            {
                meta.authors.push(crate::text::sanitize::one_line(b));
            }
            if meta.site.is_none() {
                meta.site = a.site_name.as_deref().map(crate::text::sanitize::one_line);
            }
            if meta.published.is_none() {
                meta.published = a
                    .published_time
                    .as_deref()
                    .and_then(|t| t.get(..10))
                    .filter(|d| d.as_bytes().get(4) == Some(&b'-'))
                    .map(str::to_string);
            }
            (a.title, a.text_content.to_string())
        }
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
    (title.trim().to_string(), text, meta)
}

/// Readability over the page's tree; only for markup `text::markup`
/// passed (its recursion and scoring grow with the nesting).
fn parse_tree(
    html: &str,
    url: &str,
) -> Result<dom_smoothie::Article, dom_smoothie::ReadabilityError> {
    dom_smoothie::Readability::new(html, Some(url), None).and_then(|mut r| r.parse())
}

/// One page through the guarded client, as a document of `kind`.
pub async fn page(ctx: &Ctx, url: &str, kind: SourceKind) -> Result<Document, String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("bad URL: {e}"))?;
    check_url(&parsed, &ctx.allow)?;
    let _slot = ctx.hosts.permit(&parsed).await;
    let resp = ctx
        .web
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
    let html = String::from_utf8(body)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
    let url_owned = url.to_string();
    let plain = ctype.starts_with("text/plain");
    // At most PARSERS pages are parsed at once, whatever the number of
    // pages a turn links or its sources link: a turn's parsing memory is
    // PARSERS times one page's, not the number of pages times it.
    let _parsing = PARSING.acquire().await;
    let (title, text, meta) = tokio::task::spawn_blocking(move || {
        if plain {
            (String::new(), html, SourceMeta::default())
        } else {
            readable_with_meta(&html, &url_owned)
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
    let mut doc = Document::plain(kind, &title, Some(url.to_string()), &text);
    doc.meta = meta;
    Ok(doc)
}

/// Fetches every URL concurrently; fails only if all of them fail.
pub async fn fetch(ctx: &Ctx, urls: &[String]) -> Result<Vec<Document>, String> {
    let mut set = tokio::task::JoinSet::new();
    for (i, u) in urls.iter().enumerate() {
        let (ctx, u) = (ctx.clone(), u.clone());
        set.spawn(async move {
            let res = page(&ctx, &u, SourceKind::Web).await;
            (i, res, u)
        });
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
    Ok(pages.into_iter().map(|(_, p)| p).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_urls_in_questions() {
        let q = "Compare https://a.org/x?y=1, and (http://b.net/p). Also https://a.org/x?y=1 again; ftp://no";
        assert_eq!(urls_in(q), vec!["https://a.org/x?y=1", "http://b.net/p"]);
        // Brackets the URL opened stay; those of the sentence go.
        assert_eq!(
            urls_in(
                "see https://en.wikipedia.org/wiki/Sky_(United_Kingdom). and (https://e.org/x)"
            ),
            vec![
                "https://en.wikipedia.org/wiki/Sky_(United_Kingdom)",
                "https://e.org/x"
            ]
        );
    }

    /// The depth cap leaves the parser a wide margin: ten times the cap
    /// on a 2 MB stack (a blocking thread's), in well under a second.
    #[test]
    fn the_tree_parser_is_safe_well_past_the_depth_cap() {
        let depth = crate::text::markup::MAX_DEPTH * 10;
        let html = format!(
            "<html><body>{}<p>Words at the bottom of the page.</p>{}</body></html>",
            "<div>".repeat(depth),
            "</div>".repeat(depth)
        );
        let t = std::time::Instant::now();
        let text = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || parse_tree(&html, "http://x.org/").map(|a| a.text_content.to_string()))
            .unwrap()
            .join()
            .unwrap()
            .unwrap();
        assert!(text.contains("Words at the bottom"), "{text}");
        assert!(
            t.elapsed() < std::time::Duration::from_secs(2),
            "{:?}",
            t.elapsed()
        );
        // Past the cap the page is read as text, its words kept.
        let (_, text) = readable(&"<span>".repeat(30_000), "http://x.org/");
        assert!(text.is_empty());
        let nested = format!(
            "{}kept words{}",
            "<b>".repeat(30_000),
            "</b>".repeat(30_000)
        );
        assert_eq!(readable(&nested, "http://x.org/").1, "kept words");
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
