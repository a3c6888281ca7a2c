//! Plain data shared by the store, the agent and the UI.

use std::fmt;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

pub mod claims;
mod meta;
mod run;
pub use meta::SourceMeta;
pub use run::{
    DocState, RunBudget, RunDocument, RunNote, RunRecord, RunStatus, RunSummary, RunTree, TreeDoc,
    TreeRound,
};

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Ids are made by the caller, not by SQLite, so the UI knows a row's id the
/// moment it queues the write, and two processes writing one file do not
/// collide: milliseconds in the high bits, then 22 bits that start at a
/// per-process random point each millisecond. Within a process ids strictly
/// increase, so messages made in the same millisecond keep their order.
fn next_raw_id() -> i64 {
    static LAST: AtomicI64 = AtomicI64::new(0);
    static SEED: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let seed = *SEED.get_or_init(|| {
        // RandomState is seeded from the OS per process: a cheap random u64.
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u32(std::process::id());
        h.finish()
    });
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    // Random start inside the millisecond, leaving room for a burst after it.
    let low = (seed.wrapping_add(n.wrapping_mul(0x9E37_79B9)) >> 7) & 0x1F_FFFF;
    let ms = (now_ms() as u64) & 0x1FF_FFFF_FFFF;
    let candidate = ((ms << 22) | low) as i64;
    let prev = LAST
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |last| {
            Some(candidate.max(last + 1))
        })
        .unwrap_or(candidate);
    candidate.max(prev + 1)
}

macro_rules! id_type {
    ($name:ident) => {
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl $name {
            pub fn new() -> Self {
                Self(next_raw_id())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

id_type!(SessionId);
id_type!(MessageId);

/// Identifies one read request so the UI can drop answers to superseded ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub u64);

/// Identifies one agent turn; late events of a cancelled turn are ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TurnId(pub u64);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Assistant,
    System,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::System => "system",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "user" => Some(Role::User),
            "assistant" => Some(Role::Assistant),
            "system" => Some(Role::System),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageStatus {
    Streaming,
    Complete,
    Interrupted,
    Error,
}

impl MessageStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Streaming => "streaming",
            MessageStatus::Complete => "complete",
            MessageStatus::Interrupted => "interrupted",
            MessageStatus::Error => "error",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "streaming" => Some(MessageStatus::Streaming),
            "complete" => Some(MessageStatus::Complete),
            "interrupted" => Some(MessageStatus::Interrupted),
            "error" => Some(MessageStatus::Error),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub id: SessionId,
    pub created_at: i64,
    pub updated_at: i64,
    pub title: String,
    pub summary: Option<String>,
    pub model: Option<String>,
    /// Where an imported session came from (`chatgpt:ID`, `claude:ID`,
    /// `llm:ID`); None for sleuth's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// How its answers are asked for (system prompt, model, temperature…).
    /// (Boxed: most sessions have none, and store commands stay small.)
    #[serde(default, skip_serializing_if = "SessionSettings::is_boxed_default")]
    pub settings: Box<SessionSettings>,
}

/// A session's own way of asking: set with /system, /set, /role and F2,
/// stored with it, sent with every answer of it. None keeps the default.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SessionSettings {
    /// Instructions added to the system prompt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    /// The model chosen for this session (F2, a role).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// Research in these sources only (a role's `sources`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sources: Option<Vec<String>>,
    /// The role these came from (`[roles.NAME]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

impl SessionSettings {
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }

    #[allow(clippy::borrowed_box)] // serde's skip_serializing_if passes &Box
    fn is_boxed_default(s: &Box<Self>) -> bool {
        s.is_default()
    }
}

/// A session row as listed on the sessions page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionSummary {
    #[serde(flatten)]
    pub session: Session,
    pub message_count: i64,
    /// A deep run of this session did not complete (`/resume` continues it).
    #[serde(default)]
    pub unfinished_run: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    pub tokens_in: Option<i64>,
    pub tokens_out: Option<i64>,
    pub latency_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub id: MessageId,
    pub session_id: SessionId,
    pub parent_id: Option<MessageId>,
    pub role: Role,
    pub content: String,
    pub status: MessageStatus,
    pub created_at: i64,
    pub model: Option<String>,
    #[serde(flatten)]
    pub usage: Usage,
    /// Why it failed (status `error`), in words for the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Message {
    /// A new message of `role` with the current time and status complete.
    pub fn new(session_id: SessionId, role: Role, content: impl Into<String>) -> Self {
        Self {
            id: MessageId::new(),
            session_id,
            parent_id: None,
            role,
            content: content.into(),
            status: MessageStatus::Complete,
            created_at: now_ms(),
            model: None,
            usage: Usage::default(),
            error: None,
        }
    }
}

/// One cited source of an assistant message; `ordinal` is its [n]. A
/// research source is a passage: `excerpt` is exactly the text the model
/// was given, from document `title`, `section`, at `url`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Source {
    pub ordinal: i64,
    pub kind: String,
    pub title: String,
    pub url: Option<String>,
    pub excerpt: String,
    pub relevance: Option<f64>,
    pub fetched_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub section: Option<String>,
    /// Authors, dates and identifiers, where the source gave them.
    #[serde(default)]
    pub meta: SourceMeta,
}

/// A source as `show`, `export` and `--json` write it: a library source
/// also names its file and page (read back from its `file://` URL).
impl Serialize for Source {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Out<'a> {
            ordinal: i64,
            kind: &'a str,
            title: &'a str,
            url: Option<&'a str>,
            excerpt: &'a str,
            relevance: Option<f64>,
            fetched_at: i64,
            #[serde(skip_serializing_if = "Option::is_none")]
            section: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            path: Option<String>,
            #[serde(skip_serializing_if = "Option::is_none")]
            page: Option<u32>,
            #[serde(skip_serializing_if = "SourceMeta::is_empty")]
            meta: &'a SourceMeta,
        }
        let (path, page) = self.file_place().unzip();
        Out {
            ordinal: self.ordinal,
            kind: &self.kind,
            title: &self.title,
            url: self.url.as_deref(),
            excerpt: &self.excerpt,
            relevance: self.relevance,
            fetched_at: self.fetched_at,
            section: self.section.as_deref(),
            path,
            page: page.flatten(),
            meta: &self.meta,
        }
        .serialize(s)
    }
}

impl Source {
    /// The file and page of a source from the user's library.
    pub fn file_place(&self) -> Option<(String, Option<u32>)> {
        self.url
            .as_deref()
            .and_then(crate::text::file_url::parse_file_url)
    }

    /// "Title › Section", or the title alone.
    pub fn label(&self) -> String {
        match &self.section {
            Some(sec) => format!("{} › {sec}", self.title),
            None => self.title.clone(),
        }
    }
}

/// A message with its sources, as a transcript holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredMessage {
    #[serde(flatten)]
    pub message: Message,
    pub sources: Vec<Source>,
    /// Where it stands among its siblings (other answers to its question,
    /// other versions of it) when it has any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<Branch>,
    /// Its claims checked against its sources (research answers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims: Option<claims::ClaimCheck>,
}

/// A message's place among its siblings: `index` of `count`, from 1,
/// oldest first (shown as ‹ 2/3 ›).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Branch {
    pub index: u32,
    pub count: u32,
}

/// The tool that wrote an imported session's answers ("ChatGPT").
pub fn origin_tool(origin: &str) -> &'static str {
    match origin.split(':').next() {
        Some("chatgpt") => "ChatGPT",
        Some("claude") => "Claude",
        Some("llm") => "llm",
        _ => "imported",
    }
}

/// How the lists name where an imported session came from.
pub fn origin_label(origin: &str) -> String {
    match origin_tool(origin) {
        "imported" => "imported".into(),
        tool => format!("from {tool}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_increase_with_time() {
        let mut prev = MessageId::new();
        for _ in 0..10_000 {
            let next = MessageId::new();
            assert!(next > prev, "ids must strictly increase within a process");
            prev = next;
        }
        let a = MessageId::new();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = MessageId::new();
        assert!(b > a);
        assert!(a.0 > 0);
    }

    #[test]
    fn role_and_status_round_trip() {
        for r in [Role::User, Role::Assistant, Role::System] {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        for s in [
            MessageStatus::Streaming,
            MessageStatus::Complete,
            MessageStatus::Interrupted,
            MessageStatus::Error,
        ] {
            assert_eq!(MessageStatus::parse(s.as_str()), Some(s));
        }
    }
}
