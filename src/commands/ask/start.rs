//! What `sleuth ask` starts from: a [`Conversation`] loaded the way the
//! chat screen loads one (a new session, or a stored one with its history
//! and summary), and what to do with it: a question, or a stored deep run
//! to continue.

use std::path::Path;

use crate::config::Config;
use crate::conversation::{Ask, ContextPolicy, Conversation, Ports, Refused, Started};
use crate::domain::{MessageId, RunStatus};
use crate::store::{self, StoredRun, queries};

pub use crate::conversation::Mode;

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

enum Plan {
    Ask(Ask),
    Resume(Box<StoredRun>),
}

/// The conversation and the turn to start on it.
pub struct Start {
    pub conv: Conversation,
    /// The question asked (or the deep run's).
    pub question: String,
    pub mode: Mode,
    plan: Option<Plan>,
}

impl Start {
    /// Sends the turn: the question is saved and asked, or the run
    /// continues. Once only.
    pub fn begin(&mut self, p: Ports<'_>) -> Result<Started, Refused> {
        match self.plan.take() {
            Some(Plan::Ask(ask)) => self.conv.submit(ask, p),
            Some(Plan::Resume(run)) => self.conv.resume_run(*run, p),
            None => Err(Refused::Nothing),
        }
    }
}

/// The session, history and question of the turn `what` asks for: a new
/// session titled like the app titles one, or a stored one with the same
/// context the app would send.
pub fn start(
    conn: &rusqlite::Connection,
    config: &Config,
    db: &Path,
    what: What,
) -> anyhow::Result<Start> {
    let mut conv = Conversation::new(
        config.provider.model.clone(),
        ContextPolicy::from_config(&config.research),
    );
    conv.db = Some(db.to_path_buf());
    conv.roles = config.roles.clone();
    conv.start_with_role(&config.ui.role)
        .map_err(|e| anyhow::anyhow!(e))?;
    let (question, session, mode) = match what {
        What::Resume(arg) => return resume_start(conn, conv, &arg),
        What::Ask {
            question,
            session,
            mode,
        } => (question.trim().to_string(), session, mode),
    };
    // The question is read as the app reads what is typed: `/sources lib …`
    // and `/deep …` work here too.
    let ask = Ask::parse(&question, mode)
        .map_err(anyhow::Error::msg)?
        .ok_or_else(|| anyhow::anyhow!("the question is empty"))?;
    let (question, mode) = (ask.text.clone(), ask.mode);
    if let Some(arg) = session {
        let s = queries::resolve_session(conn, &arg)?;
        let messages = queries::transcript(conn, s.id)?;
        conv.resume(s, &messages, &[]);
    }
    Ok(Start {
        conv,
        plan: Some(Plan::Ask(ask)),
        question,
        mode,
    })
}

/// A stored run to continue (`last` is the newest that did not complete),
/// its session loaded up to the run's report: the context is what came
/// before its question.
fn resume_start(
    conn: &rusqlite::Connection,
    mut conv: Conversation,
    arg: &str,
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
    let record = store::runs::load(conn, id)?
        .ok_or_else(|| anyhow::anyhow!("no deep run {id} (see `sleuth runs`)"))?;
    if record.status == RunStatus::Complete {
        anyhow::bail!(
            "deep run {id} is complete; nothing to resume (`sleuth show {}` shows it)",
            record.session
        );
    }
    let message = queries::get_message(conn, id)?
        .ok_or_else(|| anyhow::anyhow!("the report of deep run {id} is gone"))?;
    let session = queries::get_session(conn, record.session)?
        .ok_or_else(|| anyhow::anyhow!("the session of deep run {id} is gone"))?;
    let mut messages = queries::transcript(conn, session.id)?;
    if let Some(pos) = messages.iter().position(|m| m.message.id == id) {
        messages.truncate(pos);
    }
    conv.resume(session, &messages, &[]);
    let run = StoredRun {
        documents: store::runs::documents(conn, id)?,
        record,
        message,
    };
    Ok(Start {
        conv,
        question: run.record.question.clone(),
        mode: Mode::Deep,
        plan: Some(Plan::Resume(Box::new(run))),
    })
}
