//! A deep run as the store keeps it and the UI shows it: its status, the
//! documents it read (the per-run cache a resumed run reads instead of the
//! network), and its research tree.

use serde::{Deserialize, Serialize};

use super::{MessageId, MessageStatus, SessionId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// Being researched or reported, or the process died (kill -9, crash)
    /// before it could say otherwise.
    Running,
    Interrupted,
    Complete,
    Failed,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Interrupted => "interrupted",
            RunStatus::Complete => "complete",
            RunStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "running" => Some(RunStatus::Running),
            "interrupted" => Some(RunStatus::Interrupted),
            "complete" => Some(RunStatus::Complete),
            "failed" => Some(RunStatus::Failed),
            _ => None,
        }
    }

    /// A run ends as its report message does.
    pub fn of_message(s: MessageStatus) -> Self {
        match s {
            MessageStatus::Streaming => RunStatus::Running,
            MessageStatus::Complete => RunStatus::Complete,
            MessageStatus::Interrupted => RunStatus::Interrupted,
            MessageStatus::Error => RunStatus::Failed,
        }
    }
}

/// A run's state, saved after every step: `state` is the agent's resumable
/// state (JSON, opaque to the store), `tree` what the UI draws.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// The run is keyed by its report message.
    pub id: MessageId,
    pub session: SessionId,
    pub question: String,
    pub status: RunStatus,
    pub state: String,
    pub tree: RunTree,
}

/// A document a run read. `ord` is its place in the run (0, 1, …);
/// `body` the document as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunDocument {
    pub ord: i64,
    pub kind: String,
    pub title: String,
    pub url: Option<String>,
    pub body: String,
}

/// A note of a run: a passage kept as evidence for a sub-question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunNote {
    pub heading: String,
    /// The document it comes from.
    pub title: String,
    pub text: String,
}

/// What a run did, for the research tree: plan → rounds → queries →
/// documents, and the budgets used.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunTree {
    pub plan: Vec<String>,
    pub plan_from_model: bool,
    pub rounds: Vec<TreeRound>,
    pub budget: RunBudget,
    /// Why the research ended, once it has.
    pub stopped: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TreeRound {
    pub queries: Vec<String>,
    /// False while the round is still searching and reading.
    pub done: bool,
    pub documents: Vec<TreeDoc>,
    /// Sources that failed in this round ("Wikipedia: timeout").
    pub failed: Vec<String>,
    /// What the round decided to search next.
    pub leads: Vec<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DocState {
    #[default]
    Read,
    /// A passage of it is cited by the report.
    Cited,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TreeDoc {
    pub title: String,
    pub kind: String,
    pub state: DocState,
}

/// Used / allowed, per budget of `[deep]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunBudget {
    pub rounds: usize,
    pub max_rounds: usize,
    pub documents: usize,
    pub max_documents: usize,
    pub secs: u64,
    pub max_secs: u64,
    pub tokens: u64,
    pub max_tokens: u64,
}

/// A stored run as listed (`sleuth runs`, the sessions screen, resume).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    pub id: MessageId,
    pub session: SessionId,
    pub question: String,
    pub status: RunStatus,
    pub documents: usize,
    pub created_at: i64,
    pub updated_at: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_round_trips() {
        for s in [
            RunStatus::Running,
            RunStatus::Interrupted,
            RunStatus::Complete,
            RunStatus::Failed,
        ] {
            assert_eq!(RunStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(RunStatus::parse("done"), None);
    }
}
