//! What `sleuth ask` starts from: the session (new, or stored), its
//! conversation as the app would load it, and the agent command, built by
//! the same conversation code as the chat screen's.

use std::path::Path;

use crate::agent::AgentCommand;
use crate::agent::deep::Saved;
use crate::config::Config;
use crate::conversation::prompt;
use crate::conversation::{ContextPolicy, History};
use crate::domain::{Message, MessageId, RunStatus, Session, TurnId};
use crate::store::{self, queries};

pub use crate::conversation::prompt::Mode;

/// What `ask` was told to do.
#[derive(Debug, Clone)]
pub enum What {
    Ask {
        question: String,
        session: Option<String>,
        mode: Mode,
    },
    /// Continue a stored deep run (an id, or `last`).
    Resume(String),
}

/// What the turn starts from.
pub struct Start {
    pub session: Session,
    /// The conversation with the question as its last message.
    pub history: History,
    pub question: String,
    pub mode: Mode,
    /// The stored report message of a run being continued…
    pub(super) resume: Option<Message>,
    /// …and its state (taken by the command).
    saved: Option<Saved>,
}

/// A session's conversation as the chat screen loads it; with `before`,
/// only what precedes that message (a run being continued: its question
/// stays the last message).
fn history_of(
    conn: &rusqlite::Connection,
    session: &Session,
    before: Option<MessageId>,
    policy: &ContextPolicy,
) -> anyhow::Result<History> {
    let mut all = queries::transcript(conn, session.id)?;
    if let Some(id) = before
        && let Some(pos) = all.iter().position(|m| m.message.id == id)
    {
        all.truncate(pos);
    }
    Ok(History::from_stored(session, &all, policy))
}

/// A stored run to continue: `last` is the newest that did not complete.
fn resume_start(
    conn: &rusqlite::Connection,
    arg: &str,
    policy: &ContextPolicy,
) -> anyhow::Result<Start> {
    let id = if arg.trim().eq_ignore_ascii_case("last") {
        store::runs::list(conn, 1, true)?
            .first()
            .map(|r| r.id)
            .ok_or_else(|| anyhow::anyhow!("no unfinished deep run to resume"))?
    } else {
        MessageId(arg.trim().parse().map_err(|_| {
            anyhow::anyhow!("{arg:?} is not a run id (see `sleuth runs`, or use `last`)")
        })?)
    };
    let rec = store::runs::load(conn, id)?
        .ok_or_else(|| anyhow::anyhow!("no deep run {id} (see `sleuth runs`)"))?;
    if rec.status == RunStatus::Complete {
        anyhow::bail!(
            "deep run {id} is complete; nothing to resume (`sleuth show {}` shows it)",
            rec.session
        );
    }
    let message = queries::get_message(conn, id)?
        .ok_or_else(|| anyhow::anyhow!("the report of deep run {id} is gone"))?;
    let session = queries::get_session(conn, rec.session)?
        .ok_or_else(|| anyhow::anyhow!("the session of deep run {id} is gone"))?;
    let documents = store::runs::documents(conn, id)?;
    let resume = Saved {
        state: rec.state,
        documents,
    };
    Ok(Start {
        history: history_of(conn, &session, Some(id), policy)?,
        session,
        question: rec.question,
        mode: Mode::Deep,
        resume: Some(message),
        saved: Some(resume),
    })
}

/// The session, history and question of the turn `what` asks for: a new
/// session titled like the app titles one, or a stored one with the same
/// context the app would send.
pub fn start(conn: &rusqlite::Connection, config: &Config, what: What) -> anyhow::Result<Start> {
    let policy = ContextPolicy::from_config(&config.research);
    let (question, session, mode) = match what {
        What::Resume(arg) => return resume_start(conn, &arg, &policy),
        What::Ask {
            question,
            session,
            mode,
        } => (question.trim().to_string(), session, mode),
    };
    if question.is_empty() {
        anyhow::bail!("the question is empty");
    }
    let (session, mut history) = match session {
        Some(arg) => {
            let s = queries::resolve_session(conn, &arg)?;
            let history = history_of(conn, &s, None, &policy)?;
            (s, history)
        }
        None => (
            crate::conversation::new_session(&question, &config.provider.model),
            History::default(),
        ),
    };
    history.push_user(&question);
    Ok(Start {
        session,
        history,
        question,
        mode,
        resume: None,
        saved: None,
    })
}

/// The agent command for the turn `start` describes (the same builder the
/// chat screen uses).
pub fn command(start: &mut Start, config: &Config, db: &Path, turn: TurnId) -> AgentCommand {
    let policy = ContextPolicy::from_config(&config.research);
    prompt::command(
        prompt::Turn {
            turn,
            model: &config.provider.model,
            session: start.session.id,
            question: &start.question,
            mode: start.mode,
            only: None,
            policy: &policy,
            db: Some(db),
            resume: start.saved.take(),
        },
        &start.history,
    )
}
