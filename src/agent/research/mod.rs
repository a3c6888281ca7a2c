//! The research turn (ARCHITECTURE.md §4): keywords, concurrent sources,
//! ranking, and an answer that cites its passages.

pub mod answer;
pub mod fetch;
pub mod keywords;
pub mod pipeline;
pub mod rank;
pub mod sources;

use serde::Serialize;

/// Where a passage came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    Wikipedia,
    Hackernews,
    Arxiv,
    Web,
    Searxng,
}

impl SourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Wikipedia => "wikipedia",
            SourceKind::Hackernews => "hackernews",
            SourceKind::Arxiv => "arxiv",
            SourceKind::Web => "web",
            SourceKind::Searxng => "searxng",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            SourceKind::Wikipedia => "Wikipedia",
            SourceKind::Hackernews => "Hacker News",
            SourceKind::Arxiv => "arXiv",
            SourceKind::Web => "Web pages",
            SourceKind::Searxng => "SearXNG",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "wikipedia" | "wiki" => Some(SourceKind::Wikipedia),
            "hackernews" | "hn" => Some(SourceKind::Hackernews),
            "arxiv" => Some(SourceKind::Arxiv),
            "web" | "urls" => Some(SourceKind::Web),
            "searxng" | "search" => Some(SourceKind::Searxng),
            _ => None,
        }
    }
}

/// A piece of fetched text that can be ranked and cited.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Passage {
    pub kind: SourceKind,
    pub title: String,
    pub url: Option<String>,
    pub text: String,
}

/// How one source did in a turn, for the live panel and `--json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourceStatus {
    pub source: SourceKind,
    /// "ok", "failed", "timeout" or "skipped".
    pub outcome: String,
    pub count: usize,
    pub ms: u64,
    pub error: Option<String>,
}
