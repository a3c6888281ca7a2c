//! Bringing in the conversations people already have: ChatGPT's and
//! Claude's official exports and simonw/llm's `logs.db`.
//!
//! Each format is read as a stream into [`Thread`]s (a conversation as a
//! tree of messages, with the branch its tool showed last), each turned into
//! one [`ImportedSession`] the writer applies in a transaction: a file of any
//! size is imported in bounded memory, a conversation lands whole or not at
//! all, and ids derived from the source ids make a re-import add nothing
//! but what is new.

pub mod chatgpt;
pub mod claude;
mod ids;
pub mod json_array;
pub mod llm;
mod sink;

use std::collections::HashSet;

use crate::domain::{Message, MessageId, MessageStatus, Role, Session, SessionId, Usage};
use crate::store::import::{ImportedMessage, ImportedSession};
use crate::text::sanitize::{one_line, sanitize};

pub use sink::{Progress, Sink};

/// The formats `sleuth import` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// ChatGPT's export: conversations.json, or the .zip holding it
    Chatgpt,
    /// Claude's export: conversations.json, or the .zip holding it
    Claude,
    /// simonw/llm's logs.db
    Llm,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Chatgpt => "chatgpt",
            Format::Claude => "claude",
            Format::Llm => "llm",
        }
    }
}

/// One conversation as another tool stored it.
#[derive(Debug, Default)]
pub struct Thread {
    /// `format:id`: how a re-import finds the session again.
    pub origin: String,
    pub title: String,
    /// Milliseconds since the epoch, when the tool says.
    pub created_at: Option<i64>,
    pub updated_at: Option<i64>,
    /// Parents before children.
    pub nodes: Vec<Node>,
    /// The message whose branch the tool showed last (None: the last one).
    pub current: Option<usize>,
}

#[derive(Debug)]
pub struct Node {
    /// The message's id in its tool, unique within the thread.
    pub key: String,
    /// Index of the message it follows.
    pub parent: Option<usize>,
    pub role: Role,
    pub content: String,
    pub created_at: Option<i64>,
    pub model: Option<String>,
    pub usage: Usage,
}

/// A conversation that could not be read, and why (the rest go on).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Skipped {
    /// Its place in the file (1-based), or its id when it has no place.
    pub at: String,
    pub reason: String,
}

impl Thread {
    /// The session to write: ids derived from the source ids and times,
    /// text sanitized, messages off the branch shown marked so.
    pub fn into_session(self) -> ImportedSession {
        let start = self
            .created_at
            .or_else(|| self.nodes.iter().filter_map(|n| n.created_at).min())
            .unwrap_or(0);
        let shown = self.shown();
        let mut at: Vec<i64> = Vec::with_capacity(self.nodes.len());
        let mut ids: Vec<MessageId> = Vec::with_capacity(self.nodes.len());
        let mut messages = Vec::with_capacity(self.nodes.len());
        let session_id = SessionId(ids::derive(start, &self.origin));
        for (i, n) in self.nodes.into_iter().enumerate() {
            // Untimed messages take their parent's time (or the thread's).
            // A message comes after the one it follows (the transcript is
            // in time order; llm stamps a prompt and its answer alike).
            let parent_at = n.parent.and_then(|p| at.get(p).copied());
            let t = n.created_at.or(parent_at).unwrap_or(start);
            let t = parent_at.map_or(t, |p| t.max(p + 1));
            at.push(t);
            let id = MessageId(ids::derive(t, &format!("{}/{}", self.origin, n.key)));
            ids.push(id);
            messages.push(ImportedMessage {
                message: Message {
                    id,
                    session_id,
                    parent_id: n.parent.and_then(|p| ids.get(p).copied()),
                    role: n.role,
                    content: sanitize(&n.content).into_owned(),
                    status: MessageStatus::Complete,
                    created_at: t,
                    model: n.model.map(|m| one_line(&m)),
                    usage: n.usage,
                    error: None,
                },
                off_branch: !shown.contains(&i),
            });
        }
        let last = at.iter().copied().max().unwrap_or(start);
        let model = messages.iter().rev().find_map(|m| m.message.model.clone());
        let title = one_line(&self.title);
        ImportedSession {
            session: Session {
                id: session_id,
                created_at: start,
                updated_at: self.updated_at.unwrap_or(last).max(last),
                title: if title.trim().is_empty() {
                    untitled(&messages)
                } else {
                    title
                },
                summary: None,
                model,
                origin: Some(self.origin),
                settings: Default::default(),
            },
            messages,
        }
    }

    /// Indexes of the messages on the branch shown: the current one and
    /// every message before it.
    fn shown(&self) -> HashSet<usize> {
        let mut shown = HashSet::new();
        let mut at = self
            .current
            .filter(|&c| c < self.nodes.len())
            .or(self.nodes.len().checked_sub(1));
        // Parents come first, so a walk up ends; the bound guards a bad index.
        while let Some(i) = at {
            if !shown.insert(i) || shown.len() > self.nodes.len() {
                break;
            }
            at = self.nodes[i].parent.filter(|&p| p < i);
        }
        shown
    }
}

/// A title from the first question, as the app titles a session.
fn untitled(messages: &[ImportedMessage]) -> String {
    messages
        .iter()
        .find(|m| m.message.role == Role::User && !m.message.content.trim().is_empty())
        .map(|m| crate::text::truncate(&one_line(&m.message.content), 60))
        .unwrap_or_else(|| "Untitled".to_string())
}

/// Milliseconds from seconds since the epoch (ChatGPT's times).
pub(crate) fn secs_to_ms(secs: f64) -> Option<i64> {
    (0.0..1e11)
        .contains(&secs)
        .then(|| (secs * 1000.0).round() as i64)
}

/// Milliseconds from an RFC 3339 or naive UTC time (Claude's and llm's).
pub(crate) fn parse_time(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp_millis());
    }
    let s = s.replace(' ', "T");
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(&s) {
        return Some(t.timestamp_millis());
    }
    chrono::NaiveDateTime::parse_from_str(&s, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|t| t.and_utc().timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(key: &str, parent: Option<usize>, role: Role, text: &str) -> Node {
        Node {
            key: key.into(),
            parent,
            role,
            content: text.into(),
            created_at: None,
            model: None,
            usage: Usage::default(),
        }
    }

    #[test]
    fn the_branch_shown_is_the_current_message_and_all_before_it() {
        // q → a1, a2 (regenerated); q → (edit) q' → a3
        let t = Thread {
            origin: "chatgpt:c1".into(),
            title: "".into(),
            created_at: Some(1_700_000_000_000),
            updated_at: None,
            nodes: vec![
                node("q", None, Role::User, "What is \u{1b}[31mred\u{1b}[0m?"),
                node("a1", Some(0), Role::Assistant, "A colour."),
                node("a2", Some(0), Role::Assistant, "A wavelength."),
            ],
            current: Some(1),
        };
        let s = t.into_session();
        let off: Vec<bool> = s.messages.iter().map(|m| m.off_branch).collect();
        assert_eq!(off, [false, false, true]);
        assert_eq!(s.messages[0].message.content, "What is red?", "sanitized");
        assert_eq!(s.session.title, "What is red?", "titled from the question");
        assert_eq!(
            s.messages[1].message.parent_id,
            Some(s.messages[0].message.id)
        );
        assert_eq!(
            s.messages[2].message.created_at, 1_700_000_000_001,
            "the question's time, after it"
        );
        // The same thread gives the same ids: a re-import finds them.
        let again = Thread {
            origin: "chatgpt:c1".into(),
            nodes: vec![node("q", None, Role::User, "x")],
            created_at: Some(1_700_000_000_000),
            ..Thread::default()
        }
        .into_session();
        assert_eq!(again.messages[0].message.id, s.messages[0].message.id);
        assert_eq!(again.session.id, s.session.id);
    }

    #[test]
    fn times_parse_in_each_tool_s_format() {
        assert_eq!(parse_time("2024-03-05T12:00:00Z"), Some(1_709_640_000_000));
        assert_eq!(
            parse_time("2024-03-05T12:00:00.250000+00:00"),
            Some(1_709_640_000_250)
        );
        assert_eq!(parse_time("2024-03-05 12:00:00"), Some(1_709_640_000_000));
        assert_eq!(parse_time("2024-03-05T12:00:00.5"), Some(1_709_640_000_500));
        assert_eq!(parse_time("yesterday"), None);
        assert_eq!(secs_to_ms(1_709_640_000.25), Some(1_709_640_000_250));
        assert_eq!(secs_to_ms(f64::NAN), None);
    }
}
