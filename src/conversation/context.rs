//! A session's conversation as the model sees it: complete messages in
//! order, the rolling summary of the older ones, and which of them go with
//! the next question.

use crate::agent::provider::ChatMessage;
use crate::agent::summary::SummarizeRequest;
use crate::domain::{Message, MessageStatus, Role, Session, SessionId, StoredMessage};

/// Messages of context sent with a question at most (on top of the
/// summary of older ones).
pub const CONTEXT_MESSAGES: usize = 20;

/// Longest session title taken from the first question.
pub const TITLE_MAX: usize = 80;

/// How much conversation goes with a question (ARCHITECTURE.md §4.6–7).
#[derive(Debug, Clone)]
pub struct ContextPolicy {
    /// Fold older messages into the summary once more than this many are
    /// not covered by it…
    pub summarize_after: usize,
    /// …keeping this many recent ones verbatim.
    pub keep_recent: usize,
    /// Recall relevant messages of other sessions (research turns).
    pub memory: bool,
    pub memory_max: usize,
}

impl Default for ContextPolicy {
    fn default() -> Self {
        Self {
            summarize_after: 6,
            keep_recent: 3,
            memory: true,
            memory_max: 3,
        }
    }
}

impl ContextPolicy {
    pub fn from_config(c: &crate::config::ResearchConfig) -> Self {
        Self {
            summarize_after: c.summarize_after.max(1),
            keep_recent: c.keep_recent,
            memory: c.memory,
            memory_max: c.memory_max,
        }
    }
}

/// The complete messages of a session and the summary of the first
/// `folded` of them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    messages: Vec<ChatMessage>,
    summary: Option<String>,
    folded: usize,
    /// A fold was asked for and has not come back.
    summarizing: bool,
}

impl History {
    /// The history of a stored session: its complete, non-empty messages;
    /// a stored summary stands for all but the `keep_recent` newest.
    pub fn from_stored(
        session: &Session,
        messages: &[StoredMessage],
        policy: &ContextPolicy,
    ) -> Self {
        let messages: Vec<ChatMessage> = messages
            .iter()
            .filter_map(|m| context_message(&m.message))
            .collect();
        let summary = session.summary.clone().filter(|s| !s.trim().is_empty());
        let folded = if summary.is_some() {
            messages.len().saturating_sub(policy.keep_recent)
        } else {
            0
        };
        Self {
            messages,
            summary,
            folded,
            summarizing: false,
        }
    }

    pub fn messages(&self) -> &[ChatMessage] {
        &self.messages
    }

    pub fn len(&self) -> usize {
        self.messages.len()
    }

    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    /// A fold was asked for and has not come back.
    pub fn summarizing(&self) -> bool {
        self.summarizing
    }

    pub fn summary(&self) -> Option<&str> {
        self.summary.as_deref()
    }

    pub fn push_user(&mut self, text: &str) {
        self.messages.push(ChatMessage {
            role: Role::User,
            content: text.to_string(),
        });
    }

    /// An answer joins the context only if it says something.
    pub fn push_answer(&mut self, text: &str) {
        if !text.trim().is_empty() {
            self.messages.push(ChatMessage {
                role: Role::Assistant,
                content: text.to_string(),
            });
        }
    }

    /// Drops the last answer (regenerate, resume), if the last message is one.
    pub fn pop_answer(&mut self) {
        if self.messages.last().map(|m| m.role) == Some(Role::Assistant) {
            self.messages.pop();
        }
    }

    /// The index the last question starts at (the context of a research
    /// turn or deep run is what came before it).
    pub fn before_last_question(&self) -> usize {
        match self.messages.last() {
            Some(m) if m.role == Role::User => self.messages.len() - 1,
            _ => self.messages.len(),
        }
    }

    /// History up to `end` that goes with a question: what the summary does
    /// not cover, at most [`CONTEXT_MESSAGES`].
    pub fn context(&self, end: usize) -> &[ChatMessage] {
        let end = end.min(self.messages.len());
        let start = self
            .folded
            .min(end)
            .max(end.saturating_sub(CONTEXT_MESSAGES));
        &self.messages[start..end]
    }

    /// Once more than `summarize_after` messages are not covered by the
    /// summary, the request that folds all but the `keep_recent` newest
    /// into it (one at a time).
    pub fn fold_request(
        &mut self,
        session: SessionId,
        model: &str,
        policy: &ContextPolicy,
    ) -> Option<SummarizeRequest> {
        let unfolded = self.messages.len().saturating_sub(self.folded);
        if self.summarizing || unfolded <= policy.summarize_after {
            return None;
        }
        let fold_to = self.messages.len().saturating_sub(policy.keep_recent);
        self.summarizing = true;
        Some(SummarizeRequest {
            session,
            model: model.to_string(),
            previous: self.summary.clone(),
            messages: self.messages[self.folded..fold_to].to_vec(),
            folded: fold_to,
        })
    }

    /// The fold came back: the summary now covers the first `folded`.
    pub fn folded_into(&mut self, summary: String, folded: usize) {
        self.summarizing = false;
        self.summary = Some(summary);
        self.folded = folded.min(self.messages.len());
    }

    /// The fold failed: the context stays as it is; a later turn retries.
    pub fn fold_failed(&mut self) {
        self.summarizing = false;
    }
}

/// A stored message as conversation context, if it belongs there (failed
/// and empty answers do not).
fn context_message(m: &Message) -> Option<ChatMessage> {
    if m.role == Role::System {
        return None;
    }
    let role = m.role;
    if m.content.trim().is_empty() || m.status == MessageStatus::Error {
        return None;
    }
    Some(ChatMessage {
        role,
        content: m.content.clone(),
    })
}

/// A new session started by `question`, titled after it, on `model`.
pub fn new_session(question: &str, model: &str) -> Session {
    let now = crate::domain::now_ms();
    Session {
        id: SessionId::new(),
        created_at: now,
        updated_at: now,
        title: title_of(question),
        summary: None,
        model: Some(model.to_string()),
        origin: None,
        settings: Default::default(),
    }
}

/// A new session's title: the first non-empty line of its first question,
/// on one line, at most [`TITLE_MAX`] columns.
pub fn title_of(question: &str) -> String {
    let first = question
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or(question);
    crate::text::truncate(crate::text::sanitize::one_line(first).trim(), TITLE_MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(role: Role, text: &str, status: MessageStatus) -> StoredMessage {
        let mut m = Message::new(SessionId(1), role, text);
        m.status = status;
        StoredMessage {
            branch: None,
            message: m,
            sources: vec![],
            claims: None,
        }
    }

    fn session(summary: Option<&str>) -> Session {
        Session {
            id: SessionId(1),
            created_at: 0,
            updated_at: 0,
            title: "t".into(),
            summary: summary.map(Into::into),
            model: None,
            origin: None,
            settings: Default::default(),
        }
    }

    #[test]
    fn failed_and_empty_answers_are_not_context() {
        let h = History::from_stored(
            &session(None),
            &[
                stored(Role::User, "q1", MessageStatus::Complete),
                stored(Role::Assistant, "boom", MessageStatus::Error),
                stored(Role::User, "q2", MessageStatus::Complete),
                stored(Role::Assistant, "  ", MessageStatus::Interrupted),
                stored(Role::Assistant, "partial", MessageStatus::Interrupted),
            ],
            &ContextPolicy::default(),
        );
        let roles: Vec<&str> = h.messages().iter().map(|m| m.content.as_str()).collect();
        assert_eq!(roles, ["q1", "q2", "partial"]);
    }

    #[test]
    fn older_messages_fold_into_the_summary_and_leave_the_context() {
        let policy = ContextPolicy {
            summarize_after: 3,
            keep_recent: 1,
            ..Default::default()
        };
        let mut h = History::default();
        for i in 0..2 {
            h.push_user(&format!("q{i}"));
            h.push_answer(&format!("a{i}"));
        }
        // Four messages > 3: all but the newest are folded, once.
        let req = h.fold_request(SessionId(1), "m", &policy).unwrap();
        assert_eq!(req.messages.len(), 3);
        assert_eq!(req.folded, 3);
        assert!(
            h.fold_request(SessionId(1), "m", &policy).is_none(),
            "one at a time"
        );
        h.folded_into("they asked q0 and q1".into(), req.folded);
        h.push_user("q2");
        let ctx: Vec<&str> = h
            .context(h.len())
            .iter()
            .map(|m| m.content.as_str())
            .collect();
        assert_eq!(ctx, ["a1", "q2"]);
        assert_eq!(h.summary(), Some("they asked q0 and q1"));
        // Context before the last question (research): without it.
        assert_eq!(h.context(h.before_last_question()).len(), 1);
    }

    #[test]
    fn a_stored_summary_stands_for_all_but_the_recent_messages() {
        let msgs: Vec<StoredMessage> = (0..8)
            .map(|i| {
                let role = if i % 2 == 0 {
                    Role::User
                } else {
                    Role::Assistant
                };
                stored(role, &format!("m{i}"), MessageStatus::Complete)
            })
            .collect();
        let policy = ContextPolicy {
            keep_recent: 3,
            ..Default::default()
        };
        let h = History::from_stored(&session(Some("earlier")), &msgs, &policy);
        assert_eq!(h.context(h.len()).len(), 3);
        let h = History::from_stored(&session(None), &msgs, &policy);
        assert_eq!(h.context(h.len()).len(), 8);
    }

    #[test]
    fn the_context_is_capped_without_a_summary() {
        let mut h = History::default();
        for i in 0..30 {
            h.push_user(&format!("q{i}"));
            h.push_answer(&format!("a{i}"));
        }
        assert_eq!(h.context(h.len()).len(), CONTEXT_MESSAGES);
        assert_eq!(h.context(h.len()).last().unwrap().content, "a29");
    }

    #[test]
    fn titles_come_from_the_first_line() {
        assert_eq!(title_of("\n  first line \nsecond"), "first line");
        assert_eq!(title_of(&"x".repeat(200)).chars().count(), TITLE_MAX);
    }
}
