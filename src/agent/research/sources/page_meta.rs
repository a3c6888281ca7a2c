//! A page's own bibliographic metadata: the `citation_*` meta tags that
//! publishers write for Google Scholar (Highwire Press tags), which name
//! authors, the publication date and the DOI of a paper's landing page.
//! A linear scan over `<meta …>` tags in the page's first part: no tree is
//! built, so a hostile page costs what its bytes cost.

use crate::domain::SourceMeta;

/// Bytes of a page looked at: meta tags live in the head.
const HEAD_BYTES: usize = 256 * 1024;
/// Authors kept (a physics paper lists thousands).
const MAX_AUTHORS: usize = 50;

/// The value of attribute `name` in one tag's text (`name="…"` or `'…'`).
fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let lower = tag.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower[from..].find(name) {
        let at = from + i;
        from = at + name.len();
        // A whole attribute name: not "data-content=" for "content=".
        let before = lower[..at].chars().last();
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            continue;
        }
        let rest = lower[from..].trim_start();
        let Some(rest) = rest.strip_prefix('=') else {
            continue;
        };
        let skip = tag.len() - rest.len();
        let value = tag[skip..].trim_start();
        let q = value.chars().next()?;
        if q == '"' || q == '\'' {
            let body = &value[1..];
            return body.find(q).map(|e| &body[..e]);
        }
        return value.split(|c: char| c.is_whitespace() || c == '>').next();
    }
    None
}

fn unescape(s: &str) -> String {
    crate::text::unescape_entities(s)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// "2024/03/01", "2024-3-1" or "2024" as "2024-03-01", "2024".
fn date(s: &str) -> Option<String> {
    let parts: Vec<&str> = s
        .split(['/', '-', 'T', ' '])
        .filter(|p| !p.is_empty())
        .take(3)
        .collect();
    let y: u32 = parts
        .first()?
        .parse()
        .ok()
        .filter(|y| (1000..3000).contains(y))?;
    let mut out = format!("{y:04}");
    for p in parts.iter().skip(1) {
        match p.parse::<u32>() {
            Ok(n) if (1..=31).contains(&n) => out.push_str(&format!("-{n:02}")),
            _ => break,
        }
    }
    Some(out)
}

/// The `citation_*` metadata of `html`, if it has any.
pub fn citation_meta(html: &str) -> SourceMeta {
    let mut cut = html.len().min(HEAD_BYTES);
    while !html.is_char_boundary(cut) {
        cut -= 1;
    }
    let head = &html[..cut];
    // Same byte offsets as `head`: only ASCII letters change.
    let lower = head.to_ascii_lowercase();
    let mut m = SourceMeta::default();
    let mut at = 0;
    while let Some(i) = lower[at..].find("<meta").map(|i| at + i) {
        let tag_end = lower[i..].find('>').map_or(lower.len(), |e| i + e);
        let tag = &head[i..tag_end];
        at = tag_end;
        let (Some(name), Some(content)) = (attr(tag, "name"), attr(tag, "content")) else {
            continue;
        };
        let content = unescape(content);
        if content.is_empty() {
            continue;
        }
        match name.to_ascii_lowercase().as_str() {
            "citation_title" if m.title.is_none() => m.title = Some(content),
            "citation_author" if m.authors.len() < MAX_AUTHORS => m.authors.push(content),
            "citation_publication_date" | "citation_date" | "citation_online_date"
                if m.published.is_none() =>
            {
                m.published = date(&content)
            }
            "citation_doi" if m.doi.is_none() => {
                m.doi = Some(content.trim_start_matches("doi:").to_string())
            }
            "citation_journal_title" | "citation_conference_title" | "citation_publisher"
                if m.site.is_none() =>
            {
                m.site = Some(content)
            }
            _ => {}
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn highwire_tags_name_authors_date_and_doi() {
        let html = r#"<html><head>
            <meta name="citation_title" content="Attention Is All You Need">
            <meta name="citation_author" content="Vaswani, Ashish">
            <META NAME="citation_author" CONTENT='Shazeer, Noam'>
            <meta data-name="citation_author" content="not me">
            <meta name="citation_publication_date" content="2017/06/12">
            <meta name="citation_doi" content="doi:10.48550/arXiv.1706.03762">
            <meta name="citation_conference_title" content="NeurIPS &amp; more">
            </head><body>…</body></html>"#;
        let m = citation_meta(html);
        assert_eq!(m.title.as_deref(), Some("Attention Is All You Need"));
        assert_eq!(m.authors, ["Vaswani, Ashish", "Shazeer, Noam"]);
        assert_eq!(m.published.as_deref(), Some("2017-06-12"));
        assert_eq!(m.doi.as_deref(), Some("10.48550/arXiv.1706.03762"));
        assert_eq!(m.site.as_deref(), Some("NeurIPS & more"));
        assert!(
            citation_meta("<meta name=citation_date content=2001>").published
                == Some("2001".into())
        );
        assert!(citation_meta("<html><meta").is_empty());
    }
}
