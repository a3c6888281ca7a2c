//! The agent commands for a turn, built from the conversation alone: the
//! TUI and `sleuth ask` call these, so the same session sends the same
//! context, summary and memory settings whichever asked.

use super::context::{ContextPolicy, History};
use crate::agent::deep::{DeepAsk, Saved};
use crate::agent::research::SourceKind;
use crate::agent::research::pipeline::{Memory, ResearchAsk};
use crate::agent::summary::{with_instructions, with_summary};
use crate::agent::turn::SYSTEM_PROMPT;
use crate::agent::{AgentCommand, AskRequest};
use crate::domain::{SessionId, TurnId};

/// How a question is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The model alone, no sources.
    Chat,
    /// One research turn: search, read, rank, a cited answer.
    Research,
    /// A deep run: plan, rounds, leads, a cited report.
    Deep,
}

/// Everything a turn's request is built from besides the history.
pub struct Turn<'a> {
    pub turn: TurnId,
    pub model: &'a str,
    pub session: SessionId,
    pub question: &'a str,
    pub mode: Mode,
    /// `/sources wiki,hn`: only these sources.
    pub only: Option<Vec<SourceKind>>,
    pub policy: &'a ContextPolicy,
    /// The database other sessions are recalled from (research turns).
    pub db: Option<&'a std::path::Path>,
    /// A stored deep run to continue.
    pub resume: Option<Saved>,
    /// The session's own settings.
    pub settings: &'a crate::domain::SessionSettings,
}

/// The command for `t`, the question being the last message of `history`
/// (plain chat sends it as part of the conversation; research and deep
/// runs take it apart, the history before it as context).
pub fn command(t: Turn<'_>, history: &History) -> AgentCommand {
    let before = history.before_last_question();
    let settings = t.settings.clone();
    // A role's sources, unless the question names its own.
    let only = t.only.or_else(|| {
        let kinds: Vec<SourceKind> = settings
            .sources
            .iter()
            .flatten()
            .filter_map(|s| SourceKind::parse(s))
            .collect();
        (!kinds.is_empty()).then_some(kinds)
    });
    match t.mode {
        Mode::Chat => AgentCommand::Ask(AskRequest {
            turn: t.turn,
            model: t.model.to_string(),
            system: Some(with_summary(
                &with_instructions(SYSTEM_PROMPT, &settings),
                history.summary(),
            )),
            messages: history.context(history.len()).to_vec(),
            settings,
        }),
        Mode::Research => AgentCommand::Research(ResearchAsk {
            turn: t.turn,
            model: t.model.to_string(),
            question: t.question.to_string(),
            history: history.context(before).to_vec(),
            only,
            summary: history.summary().map(String::from),
            settings,
            memory: match (t.db, t.policy.memory) {
                (Some(db), true) => Some(Memory {
                    db: db.to_path_buf(),
                    exclude: t.session,
                    max: t.policy.memory_max,
                }),
                _ => None,
            },
        }),
        Mode::Deep => AgentCommand::Deep(DeepAsk {
            turn: t.turn,
            model: t.model.to_string(),
            question: t.question.to_string(),
            history: history.context(before).to_vec(),
            summary: history.summary().map(String::from),
            only,
            resume: t.resume.map(Box::new),
            settings,
        }),
    }
}
