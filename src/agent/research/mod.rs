//! The research turn (ARCHITECTURE.md §4): keywords, concurrent sources,
//! ranking, and an answer that cites its passages.

pub mod answer;
pub mod document;
pub mod fetch;
pub mod gather;
pub mod judge;
pub mod keywords;
pub mod passages;
pub mod pipeline;
pub mod queries;
pub mod rank;
pub mod retrieve;
pub mod sources;

use serde::{Deserialize, Serialize};

/// Where a passage came from. Stored and shown as its key: `wikipedia`,
/// …, `mcp:NAME` for an MCP server configured under `[mcp.servers.NAME]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SourceKind {
    #[default]
    Wikipedia,
    Hackernews,
    Arxiv,
    Web,
    Searxng,
    /// The user's own papers and notes (`sleuth library add`).
    Library,
    Mcp(McpName),
}

/// An MCP source's name, short enough to keep `SourceKind` a plain value:
/// 1–32 of `A-Z a-z 0-9 _ -` (checked when the config is read).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct McpName {
    bytes: [u8; McpName::MAX],
    len: u8,
}

impl McpName {
    pub const MAX: usize = 32;

    pub fn new(name: &str) -> Option<Self> {
        let ok = !name.is_empty()
            && name.len() <= Self::MAX
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !ok {
            return None;
        }
        let mut bytes = [0u8; Self::MAX];
        bytes[..name.len()].copy_from_slice(name.as_bytes());
        Some(Self {
            bytes,
            len: name.len() as u8,
        })
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII is ever stored (see `new`).
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or_default()
    }
}

impl std::fmt::Debug for McpName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

impl std::fmt::Display for McpName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl SourceKind {
    /// How it is stored and written in JSON: `wikipedia`, `mcp:notes`.
    pub fn key(&self) -> std::borrow::Cow<'static, str> {
        use std::borrow::Cow::Borrowed;
        match self {
            SourceKind::Wikipedia => Borrowed("wikipedia"),
            SourceKind::Hackernews => Borrowed("hackernews"),
            SourceKind::Arxiv => Borrowed("arxiv"),
            SourceKind::Web => Borrowed("web"),
            SourceKind::Searxng => Borrowed("searxng"),
            SourceKind::Library => Borrowed("library"),
            SourceKind::Mcp(n) => format!("mcp:{n}").into(),
        }
    }

    pub fn label(&self) -> std::borrow::Cow<'static, str> {
        use std::borrow::Cow::Borrowed;
        match self {
            SourceKind::Wikipedia => Borrowed("Wikipedia"),
            SourceKind::Hackernews => Borrowed("Hacker News"),
            SourceKind::Arxiv => Borrowed("arXiv"),
            SourceKind::Web => Borrowed("Web pages"),
            SourceKind::Searxng => Borrowed("SearXNG"),
            SourceKind::Library => Borrowed("Library"),
            SourceKind::Mcp(n) => format!("MCP {n}").into(),
        }
    }

    /// A name as typed (`/sources wiki,hn,mcp:notes`) or stored.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        if let Some(name) = s.strip_prefix("mcp:") {
            return McpName::new(name).map(SourceKind::Mcp);
        }
        match s.to_ascii_lowercase().as_str() {
            "wikipedia" | "wiki" => Some(SourceKind::Wikipedia),
            "hackernews" | "hn" => Some(SourceKind::Hackernews),
            "arxiv" => Some(SourceKind::Arxiv),
            "web" | "urls" => Some(SourceKind::Web),
            "searxng" | "search" => Some(SourceKind::Searxng),
            "library" | "lib" => Some(SourceKind::Library),
            _ => None,
        }
    }
}

impl Serialize for SourceKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.key())
    }
}

impl<'de> Deserialize<'de> for SourceKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        SourceKind::parse(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown source kind {s:?}")))
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
    /// A stored embedding of this passage (library), if it has one.
    #[serde(skip)]
    pub vector: Option<std::sync::Arc<[f32]>>,
    /// Its document's reference metadata (shared by its passages).
    #[serde(skip)]
    pub meta: std::sync::Arc<crate::domain::SourceMeta>,
}

/// How a source's search went (`--json`: "ok", "failed", "timeout",
/// "withheld": the library, not asked because its text would leave the
/// machine for a remote model the user has not allowed).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceOutcome {
    #[default]
    Ok,
    Failed,
    Timeout,
    Withheld,
}

impl SourceOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceOutcome::Ok => "ok",
            SourceOutcome::Failed => "failed",
            SourceOutcome::Timeout => "timeout",
            SourceOutcome::Withheld => "withheld",
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
