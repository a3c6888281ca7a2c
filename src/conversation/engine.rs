//! One conversation's turn lifecycle: submit a question, take the agent's
//! events, cancel, regenerate, resume a session or a deep run. It owns the
//! session, the history and summary, the answer being recorded, and what
//! Ctrl+G would answer again; it sends store writes and agent commands
//! through [`Ports`] and tells its caller what happened, so the chat screen
//! only draws and `sleuth ask` only prints (issue 10).

use std::path::PathBuf;
use std::time::Instant;

use super::context::{ContextPolicy, History};
pub use super::outcome::{Failed, Finished, Refused, Started, Step, Stopped};
use super::prompt::{self, Mode};
use super::question::Ask;
use super::recorder::AnswerRecorder;
use crate::agent::research::SourceKind;
use crate::agent::{AgentCommand, AgentEvent, AgentHandle, TurnOutcome};
use crate::domain::{
    Message, MessageId, MessageStatus, Role, RunStatus, Session, SessionId, SessionSettings,
    Source, StoredMessage, TurnId, Usage,
};
use crate::store::{StoreCommand, StoredRun, WriterHandle};

/// Where the conversation's effects go: both handles can be built from
/// plain channels (`AgentHandle::detached`, `WriterHandle::detached`), so
/// it runs in tests with no threads.
#[derive(Clone, Copy)]
pub struct Ports<'a> {
    pub writer: &'a WriterHandle,
    pub agent: &'a AgentHandle,
}

/// The last question and how it was asked, for regenerate.
#[derive(Debug, Clone, PartialEq)]
struct Asked {
    /// The stored question (the parent of its answers); None for a run
    /// continued from the store.
    id: Option<MessageId>,
    question: String,
    only: Option<Vec<SourceKind>>,
    mode: Mode,
}

/// The turn being answered.
pub struct Active {
    pub turn: TurnId,
    pub mode: Mode,
    pub started: Instant,
    /// The cited sources, once ranked (research turns and deep runs).
    pub sources: Vec<Source>,
    /// A deep run asked to write its report from what it found.
    pub wrapping: bool,
    /// The question (what a deep run is stored under).
    question: String,
    recorder: AnswerRecorder,
}

impl Active {
    /// The answer's message id (its cell on screen).
    pub fn answer(&self) -> MessageId {
        self.recorder.id()
    }

    /// The answer so far.
    pub fn content(&self) -> &str {
        self.recorder.content()
    }

    /// Still searching and reading: no sources ranked yet.
    pub fn researching(&self) -> bool {
        self.mode != Mode::Chat && self.sources.is_empty()
    }
}

pub struct Conversation {
    pub(super) session: Option<Session>,
    history: History,
    /// How much conversation goes with a question.
    pub policy: ContextPolicy,
    /// The model of the next turn (F2 changes it).
    pub model: String,
    /// The database other sessions are recalled from (memory).
    pub db: Option<PathBuf>,
    /// New questions are researched (sources, citations) rather than
    /// answered by the model alone; Ctrl+T toggles.
    pub research: bool,
    active: Option<Active>,
    next_turn: u64,
    /// The last question and the answer to it (complete, interrupted or
    /// failed), which regenerate replaces.
    last_question: Option<Asked>,
    last_answer: Option<MessageId>,
    /// The last message of the branch shown: a new question follows it.
    tip: Option<MessageId>,
    /// This session's own settings (/system, /set, /role, F2)…
    pub(super) settings: SessionSettings,
    /// …and what a new session starts with (a role from the config or
    /// `--role`).
    pub defaults: SessionSettings,
    /// The config's `[roles.NAME]`, for `/role NAME`.
    pub roles: std::collections::BTreeMap<String, crate::config::RoleConfig>,
    /// The newest deep run of this session that did not complete (its
    /// report message), for `/resume`.
    unfinished_run: Option<MessageId>,
}

impl Conversation {
    pub fn new(model: String, policy: ContextPolicy) -> Self {
        Self {
            session: None,
            history: History::default(),
            policy,
            model,
            db: None,
            research: true,
            active: None,
            next_turn: 0,
            last_question: None,
            last_answer: None,
            tip: None,
            settings: SessionSettings::default(),
            defaults: SessionSettings::default(),
            roles: Default::default(),
            unfinished_run: None,
        }
    }

    pub fn session(&self) -> Option<&Session> {
        self.session.as_ref()
    }

    pub fn session_id(&self) -> Option<SessionId> {
        self.session.as_ref().map(|s| s.id)
    }

    /// The session was renamed elsewhere (the sessions screen).
    pub fn retitle(&mut self, session: SessionId, title: &str) {
        if let Some(s) = self.session.as_mut().filter(|s| s.id == session) {
            s.title = title.to_string();
        }
    }

    pub fn history(&self) -> &History {
        &self.history
    }

    pub fn active(&self) -> Option<&Active> {
        self.active.as_ref()
    }

    pub fn unfinished_run(&self) -> Option<MessageId> {
        self.unfinished_run
    }

    /// The mode a question is asked in unless it says `/deep`.
    pub fn default_mode(&self) -> Mode {
        if self.research {
            Mode::Research
        } else {
            Mode::Chat
        }
    }

    /// Sends a question: creates the session on the first one, saves the
    /// question and starts its answer.
    pub fn submit(&mut self, ask: Ask, p: Ports<'_>) -> Result<Started, Refused> {
        if self.active.is_some() {
            return Err(Refused::Busy);
        }
        let text = ask.text.trim();
        if text.is_empty() {
            return Err(Refused::Nothing);
        }
        let session = match &self.session {
            Some(s) => s.id,
            None => {
                let mut s = super::new_session(text, &self.model);
                s.settings = Box::new(self.settings.clone());
                p.writer.send(StoreCommand::CreateSession(s.clone()));
                let id = s.id;
                self.session = Some(s);
                id
            }
        };
        let mut msg = Message::new(session, Role::User, text);
        msg.parent_id = self.tip;
        p.writer.send(StoreCommand::AppendMessage(msg.clone()));
        self.history.push_user(text);
        let asked = Asked {
            id: Some(msg.id),
            question: text.to_string(),
            only: ask.only,
            mode: ask.mode,
        };
        self.last_question = Some(asked.clone());
        self.last_answer = None;
        let mut started = self.start(session, &asked, p);
        started.question = Some(msg);
        Ok(started)
    }

    /// Answers the last question again, the way it was asked. The old
    /// answer — complete, interrupted or failed — stays stored as a branch:
    /// the new one is its sibling under the question (issue 15, bug 4).
    pub fn regenerate(&mut self, p: Ports<'_>) -> Result<Started, Refused> {
        if self.active.is_some() {
            return Err(Refused::Busy);
        }
        let (Some(session), Some(asked)) = (self.session_id(), self.last_question.clone()) else {
            return Err(Refused::Nothing);
        };
        self.last_answer = None;
        self.history.pop_answer();
        Ok(self.start(session, &asked, p))
    }

    /// The conversation goes on from before `at` (read back to there):
    /// `at` and what followed it stay stored, off the branch shown.
    pub fn leave_branch(&mut self, at: MessageId, p: Ports<'_>) {
        p.writer.send(StoreCommand::Shelve { message: at });
    }

    /// Shows the sibling `step` places from `from` instead of it (the app
    /// reads the transcript back once the write is committed).
    pub fn switch_branch(
        &mut self,
        from: MessageId,
        step: i8,
        p: Ports<'_>,
    ) -> Result<(), Refused> {
        if self.active.is_some() {
            return Err(Refused::Busy);
        }
        p.writer.send(StoreCommand::SwitchBranch { from, step });
        Ok(())
    }

    /// Continues a stored deep run of this session in place of its
    /// unfinished report (same message id).
    pub fn resume_run(&mut self, run: StoredRun, p: Ports<'_>) -> Result<Started, Refused> {
        if self.active.is_some() {
            return Err(Refused::Busy);
        }
        let Some(session) = self.session_id() else {
            return Err(Refused::Nothing);
        };
        if session != run.record.session {
            return Err(Refused::OtherSession);
        }
        let id = run.message.id;
        self.tip = Some(id);
        // The context is what came before the run's question.
        if self.last_answer == Some(id) {
            self.history.pop_answer();
            self.last_answer = None;
        }
        let turn = self.next_turn();
        let recorder = AnswerRecorder::resume(p.writer, run.message, &self.model);
        let question = run.record.question;
        let saved = crate::agent::deep::Saved {
            state: run.record.state,
            documents: run.documents,
        };
        let asked = Asked {
            id: None,
            question: question.clone(),
            only: None,
            mode: Mode::Deep,
        };
        p.agent
            .send(self.command(turn, session, &asked, Some(saved)));
        self.active = Some(Active {
            turn,
            mode: Mode::Deep,
            started: Instant::now(),
            sources: Vec::new(),
            wrapping: false,
            question,
            recorder,
        });
        self.unfinished_run = None;
        Ok(Started {
            turn,
            answer: id,
            mode: Mode::Deep,
            question: None,
        })
    }

    /// Continues a stored session: its history, its summary, and what
    /// regenerate and `/resume` would act on. `runs` are the deep runs
    /// whose reports are among `messages`.
    pub fn resume(
        &mut self,
        session: Session,
        messages: &[StoredMessage],
        runs: &[(MessageId, RunStatus)],
    ) {
        self.history = History::from_stored(&session, messages, &self.policy);
        self.settings = (*session.settings).clone();
        if let Some(m) = &self.settings.model {
            self.model = m.clone();
        }
        self.last_answer = None;
        self.last_question = None;
        self.tip = messages.last().map(|m| m.message.id);
        self.unfinished_run = None;
        for m in messages {
            let run = runs.iter().find(|(id, _)| *id == m.message.id);
            if let Some((id, status)) = run
                && *status != RunStatus::Complete
            {
                self.unfinished_run = Some(*id);
            }
            self.remember_for_regenerate(m, run.is_some());
        }
        self.session = Some(session);
    }

    /// Leaves the session (a new one, or it was deleted): the turn stops.
    pub fn close(&mut self, p: Ports<'_>) -> Stopped {
        let stopped = self.stop(p);
        self.session = None;
        self.history = History::default();
        self.last_answer = None;
        self.last_question = None;
        self.tip = None;
        self.use_defaults();
        self.unfinished_run = None;
        stopped
    }

    /// Esc: stops the turn now, keeping the partial answer as interrupted.
    /// A deep run's first Esc stops the research instead: the report is
    /// written from what was found; a second Esc cancels that too.
    pub fn cancel(&mut self, p: Ports<'_>) -> Stopped {
        if let Some(a) = self.active.as_mut()
            && a.mode == Mode::Deep
            && !a.wrapping
        {
            a.wrapping = true;
            p.agent.send(AgentCommand::Wrap(a.turn));
            return Stopped::Wrapping { answer: a.answer() };
        }
        let Some(a) = self.active.take() else {
            return Stopped::Idle;
        };
        p.agent.send(AgentCommand::Cancel(a.turn));
        let id = a.answer();
        if a.mode == Mode::Deep {
            self.unfinished_run = Some(id);
        }
        let message = a.recorder.finish(
            p.writer,
            MessageStatus::Interrupted,
            Usage::default(),
            a.sources,
        );
        self.history.push_answer(&message.content);
        self.last_answer = Some(id);
        Stopped::Interrupted {
            mode: a.mode,
            message,
        }
    }

    /// Stops the turn now, whatever it is doing (quit, another session, a
    /// reader that went away): no report is written from a deep run.
    pub fn stop(&mut self, p: Ports<'_>) -> Stopped {
        if let Some(a) = self.active.as_mut() {
            a.wrapping = true;
        }
        self.cancel(p)
    }

    /// The agent is gone: the turn fails with `error`, what it wrote kept.
    pub fn abandon(&mut self, error: &str, p: Ports<'_>) -> Option<Failed> {
        let turn = self.active.as_ref()?.turn;
        p.agent.send(AgentCommand::Cancel(turn));
        self.fail(error, p)
    }

    /// Periodic work while a turn streams: save a stalled partial answer.
    pub fn tick(&mut self, p: Ports<'_>) {
        if let Some(a) = &mut self.active {
            a.recorder.checkpoint_if_due(p.writer, Instant::now());
        }
    }

    /// Takes an agent event: records the answer as it streams and when it
    /// ends, stores summaries; events of other turns are ignored.
    pub fn on_agent(&mut self, ev: &AgentEvent, p: Ports<'_>) -> Step {
        match ev {
            AgentEvent::Summary {
                session,
                summary,
                folded,
            } if self.session_id() == Some(*session) => {
                p.writer.send(StoreCommand::SetSummary {
                    session: *session,
                    summary: summary.clone(),
                });
                self.history.folded_into(summary.clone(), *folded);
                return Step::Quiet;
            }
            AgentEvent::SummaryFailed { session } if self.session_id() == Some(*session) => {
                self.history.fold_failed();
                return Step::Quiet;
            }
            _ => {}
        }
        let Some(a) = self.active.as_mut().filter(|a| ev.turn() == Some(a.turn)) else {
            return Step::Ignored;
        };
        match ev {
            AgentEvent::AnswerDelta { text, .. } => a.recorder.push(p.writer, text),
            AgentEvent::DeepRun {
                tree,
                state,
                documents,
                notes,
                ..
            } => a.recorder.record_run(
                p.writer,
                &a.question,
                tree,
                state.clone(),
                documents.clone(),
                notes.clone(),
            ),
            AgentEvent::Ranked { sources, .. } => a.sources = sources.clone(),
            AgentEvent::TurnDone { outcome, .. } => return self.finish(outcome, p),
            AgentEvent::TurnFailed { error, .. } => {
                return self.fail(error, p).map_or(Step::Ignored, Step::Failed);
            }
            _ => {}
        }
        Step::Progress
    }

    /// The newest answer's text (the one streaming, else the last one).
    pub fn last_answer_text(&self) -> Option<String> {
        if let Some(a) = &self.active {
            return Some(a.content().to_string());
        }
        self.history
            .messages()
            .iter()
            .rev()
            .find(|m| m.role == Role::Assistant)
            .map(|m| m.content.clone())
    }

    /// Whether a summary fold is on its way (`ask` waits for it).
    pub fn summarizing(&self) -> bool {
        self.history.summarizing()
    }

    fn finish(&mut self, outcome: &TurnOutcome, p: Ports<'_>) -> Step {
        let Some(a) = self.active.take() else {
            return Step::Ignored;
        };
        let c = &outcome.completion;
        let usage = Usage {
            tokens_in: c.tokens_in,
            tokens_out: c.tokens_out,
            latency_ms: c.first_token_ms.map(|v| v as i64),
        };
        let id = a.answer();
        let sources = if outcome.sources.is_empty() {
            a.sources
        } else {
            outcome.sources.clone()
        };
        let message = a
            .recorder
            .finish(p.writer, MessageStatus::Complete, usage, sources.clone());
        if let Some(check) = &outcome.claims {
            p.writer.send(StoreCommand::SetClaims {
                message: id,
                check: check.clone(),
            });
        }
        self.history.push_answer(&message.content);
        self.last_answer = Some(id);
        self.maybe_summarize(p);
        Step::Done(Box::new(Finished {
            mode: a.mode,
            message,
            sources,
            outcome: outcome.clone(),
        }))
    }

    fn fail(&mut self, error: &str, p: Ports<'_>) -> Option<Failed> {
        let a = self.active.take()?;
        let id = a.answer();
        if a.mode == Mode::Deep {
            self.unfinished_run = Some(id);
        }
        let partial = !a.content().trim().is_empty();
        let message = a.recorder.fail(p.writer, error, a.sources);
        // Regenerate retries this question; the failure becomes a branch.
        self.last_answer = Some(id);
        Some(Failed {
            mode: a.mode,
            message,
            error: error.to_string(),
            partial,
        })
    }

    /// Starts answering `asked`: the streaming answer row (under its
    /// question), then the agent command.
    fn start(&mut self, session: SessionId, asked: &Asked, p: Ports<'_>) -> Started {
        let turn = self.next_turn();
        let recorder = AnswerRecorder::start(p.writer, session, asked.id, &self.model);
        let answer = recorder.id();
        self.tip = Some(answer);
        p.agent.send(self.command(turn, session, asked, None));
        self.active = Some(Active {
            turn,
            mode: asked.mode,
            started: Instant::now(),
            sources: Vec::new(),
            wrapping: false,
            question: asked.question.clone(),
            recorder,
        });
        Started {
            turn,
            answer,
            mode: asked.mode,
            question: None,
        }
    }

    fn next_turn(&mut self) -> TurnId {
        self.next_turn += 1;
        TurnId(self.next_turn)
    }

    /// The agent command for a turn (the question is the history's last
    /// message).
    fn command(
        &self,
        turn: TurnId,
        session: SessionId,
        asked: &Asked,
        resume: Option<crate::agent::deep::Saved>,
    ) -> AgentCommand {
        prompt::command(
            prompt::Turn {
                turn,
                model: &self.model,
                session,
                question: &asked.question,
                mode: asked.mode,
                only: asked.only.clone(),
                policy: &self.policy,
                db: self.db.as_deref(),
                resume,
                settings: &self.settings,
            },
            &self.history,
        )
    }

    /// Once enough unsummarized messages pile up, fold the older ones into
    /// the session summary in the background.
    fn maybe_summarize(&mut self, p: Ports<'_>) {
        let Some(session) = self.session_id() else {
            return;
        };
        if let Some(req) = self
            .history
            .fold_request(session, &self.model, &self.policy)
        {
            p.agent.send(AgentCommand::Summarize(req));
        }
    }

    /// A loaded message as what regenerate would act on: the last question
    /// (researched if its answer cites sources or is a deep run's report,
    /// else in the current mode) and the answer to it, whatever its status.
    fn remember_for_regenerate(&mut self, m: &StoredMessage, deep: bool) {
        match m.message.role {
            Role::User => {
                self.last_question = Some(Asked {
                    id: Some(m.message.id),
                    question: m.message.content.clone(),
                    only: None,
                    mode: self.default_mode(),
                });
                self.last_answer = None;
            }
            Role::Assistant => {
                let cited = !m.sources.is_empty();
                let default = self.default_mode();
                if let Some(q) = &mut self.last_question {
                    q.mode = match (deep, cited) {
                        (true, _) => Mode::Deep,
                        (false, true) => Mode::Research,
                        (false, false) => default,
                    };
                }
                self.last_answer = Some(m.message.id);
            }
            Role::System => {}
        }
    }
}

#[cfg(test)]
#[path = "engine_tests.rs"]
mod tests;
