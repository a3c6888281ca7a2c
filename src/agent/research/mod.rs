//! The research turn (ARCHITECTURE.md §4): keywords, concurrent sources,
//! ranking, and an answer that cites its passages.

pub mod answer;
pub mod document;
pub mod fetch;
pub mod gather;
pub mod keywords;
pub mod passages;
pub mod pipeline;
pub mod queries;
pub mod rank;
pub mod retrieve;
pub mod sources;

use serde::{Deserialize, Serialize};

/// Where a passage came from.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord,
)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    #[default]
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

/// A piece of a fetched document that can be ranked and cited: its text
/// is exactly what the model is given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Passage {
    pub kind: SourceKind,
    /// The document's title.
    pub title: String,
    /// The section it comes from ("History › Early years"), if any.
    pub section: Option<String>,
    /// The section's URL where there is one, else the document's.
    pub url: Option<String>,
    pub text: String,
    /// Which document of the turn it belongs to (diversity, grouping).
    #[serde(skip)]
    pub doc: usize,
}

/// How a source's search went (`--json`: "ok", "failed", "timeout").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceOutcome {
    #[default]
    Ok,
    Failed,
    Timeout,
}

impl SourceOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceOutcome::Ok => "ok",
            SourceOutcome::Failed => "failed",
            SourceOutcome::Timeout => "timeout",
        }
    }
}

/// How one source did in a turn, for the live panel and `--json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SourceStatus {
    pub source: SourceKind,
    pub outcome: SourceOutcome,
    /// Documents read (articles, threads, pages, abstracts).
    pub count: usize,
    /// Passages cut from them.
    pub passages: usize,
    /// Characters of text read.
    pub chars: usize,
    pub ms: u64,
    pub error: Option<String>,
}
