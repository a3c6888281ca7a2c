//! Documents as sources deliver them: a title, a URL and sections of
//! paragraphs. Sources only read; cutting into passages is `passages.rs`.

use super::SourceKind;

/// Text kept per document, whatever the source sent (a 5 MB page, a
/// 2,000-comment thread): about 150 passages.
pub const MAX_DOC_CHARS: usize = 150_000;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Section {
    /// "History" or "History › Early years"; None before the first heading.
    pub heading: Option<String>,
    /// A link to this section (an anchor), where the source has one.
    pub url: Option<String>,
    pub paragraphs: Vec<String>,
    /// The section's stored embedding (a library passage indexed with
    /// `embed_model`): the ranker uses it instead of embedding the text.
    #[serde(skip)]
    pub vector: Option<std::sync::Arc<[f32]>>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Document {
    pub kind: SourceKind,
    pub title: String,
    pub url: Option<String>,
    pub sections: Vec<Section>,
    /// Authors, dates, identifiers: what a reference to it needs.
    #[serde(default)]
    pub meta: crate::domain::SourceMeta,
}

impl Document {
    /// A document of one unnamed section: paragraphs are the non-empty lines.
    pub fn plain(kind: SourceKind, title: &str, url: Option<String>, text: &str) -> Self {
        let mut doc = Self {
            kind,
            title: title.trim().to_string(),
            url: url.clone(),
            sections: vec![Section {
                heading: None,
                url,
                paragraphs: paragraphs(text),
                vector: None,
            }],
            meta: Default::default(),
        };
        doc.cap(MAX_DOC_CHARS);
        doc
    }

    /// A Wikipedia plain-text extract: `== Heading ==` lines start sections
    /// (deeper levels are labelled "Parent › Child"); each section links to
    /// its anchor on `page_url`.
    pub fn wiki_extract(title: &str, page_url: Option<String>, extract: &str) -> Self {
        let mut sections = vec![Section {
            heading: None,
            url: page_url.clone(),
            paragraphs: Vec::new(),
            vector: None,
        }];
        // The open headings by level (index 0 = level 2).
        let mut path: Vec<String> = Vec::new();
        for line in extract.lines() {
            if let Some((level, name)) = heading(line) {
                path.truncate(level.saturating_sub(2));
                path.push(name.to_string());
                let url = page_url.as_deref().and_then(|u| anchor(u, name));
                sections.push(Section {
                    heading: Some(path.join(" › ")),
                    url,
                    paragraphs: Vec::new(),
                    vector: None,
                });
                continue;
            }
            let line = line.trim();
            if !line.is_empty()
                && let Some(s) = sections.last_mut()
            {
                s.paragraphs.push(line.to_string());
            }
        }
        // Reference lists and empty headings carry nothing to rank.
        sections.retain(|s| {
            !s.paragraphs.is_empty()
                && !matches!(
                    s.heading.as_deref(),
                    Some("References" | "External links" | "Further reading" | "Notes")
                )
        });
        let mut doc = Self {
            kind: SourceKind::Wikipedia,
            title: title.trim().to_string(),
            url: page_url,
            sections,
            meta: Default::default(),
        };
        doc.cap(MAX_DOC_CHARS);
        doc
    }

    pub fn chars(&self) -> usize {
        self.sections
            .iter()
            .flat_map(|s| &s.paragraphs)
            .map(|p| p.len())
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.sections.iter().all(|s| s.paragraphs.is_empty())
    }

    /// Drops whatever lies past `max` bytes of paragraph text.
    pub fn cap(&mut self, max: usize) {
        crate::text::cap_paragraphs(self.sections.iter_mut().map(|s| &mut s.paragraphs), max);
        self.sections.retain(|s| !s.paragraphs.is_empty());
    }
}

/// Non-empty trimmed lines, whitespace runs squashed.
pub fn paragraphs(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty())
        .collect()
}

/// `== Name ==` → (2, "Name"); None for any other line.
fn heading(line: &str) -> Option<(usize, &str)> {
    let t = line.trim();
    let level = t.chars().take_while(|&c| c == '=').count();
    if !(2..=6).contains(&level) || !t.ends_with(&"=".repeat(level)) || t.len() <= 2 * level {
        return None;
    }
    let name = t[level..t.len() - level].trim();
    (!name.is_empty() && !name.contains('=')).then_some((level, name))
}

/// The page URL with a Wikipedia-style fragment for `name`.
fn anchor(page_url: &str, name: &str) -> Option<String> {
    let mut u = reqwest::Url::parse(page_url).ok()?;
    u.set_fragment(Some(&name.replace(' ', "_")));
    Some(u.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wiki_extract_keeps_sections_with_anchors() {
        let text = "Lead paragraph.\n\n\n== History ==\nFirst history para.\n\n=== Early years ===\nEarly.\n== Culture ==\n\n== References ==\nRef 1.\n";
        let d = Document::wiki_extract("T", Some("https://w.org/wiki/T".into()), text);
        let heads: Vec<Option<&str>> = d.sections.iter().map(|s| s.heading.as_deref()).collect();
        assert_eq!(
            heads,
            vec![None, Some("History"), Some("History › Early years")]
        );
        assert_eq!(
            d.sections[2].url.as_deref(),
            Some("https://w.org/wiki/T#Early_years")
        );
        assert_eq!(d.sections[0].paragraphs, vec!["Lead paragraph."]);
    }

    #[test]
    fn headings_are_recognised_strictly() {
        assert_eq!(heading("== A b =="), Some((2, "A b")));
        assert_eq!(heading("==== Deep ===="), Some((4, "Deep")));
        assert_eq!(heading("x == y =="), None);
        assert_eq!(heading("===="), None);
        assert_eq!(heading("== unbalanced ==="), None);
    }

    #[test]
    fn documents_are_capped_at_a_char_boundary() {
        let mut d = Document::plain(SourceKind::Web, "t", None, &"é".repeat(100));
        d.cap(51);
        assert_eq!(d.chars(), 50);
        d.cap(0);
        assert!(d.is_empty() && d.sections.is_empty());
    }
}
