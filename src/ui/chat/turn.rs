//! The answer being streamed on the chat screen: starting, showing,
//! saving, cancelling and regenerating it.

use std::time::Instant;

use super::ChatScreen;
use crate::agent::turn::AnswerKind;
use crate::agent::{AgentCommand, AgentEvent};
use crate::conversation::prompt::{self, Mode};
use crate::conversation::recorder::AnswerRecorder;
use crate::domain::Source;
use crate::domain::{MessageId, MessageStatus, RunStatus, SessionId, TurnId, Usage};
use crate::store::StoreCommand;
use crate::ui::app::Handles;
use crate::ui::research_view::ResearchProgress;
use crate::ui::transcript::{Cell, CellKind};

pub struct ActiveTurn {
    pub turn: TurnId,
    pub recorder: AnswerRecorder,
    pub started: Instant,
    pub thinking: bool,
    /// A research turn's cited sources, once ranked.
    pub sources: Vec<Source>,
    /// A deep run; `wrapping` once Esc asked it to write the report.
    pub deep: bool,
    pub wrapping: bool,
    /// The question, which a deep run is stored under.
    pub question: String,
    /// Why the answer has not started: the provider is being retried.
    pub retrying: Option<String>,
    /// A research turn or deep run (sources first, then the answer).
    pub research: bool,
}

impl ActiveTurn {
    /// A turn that has just been sent: `research` for research turns and
    /// deep runs, `question` what a deep run is stored under.
    fn new(
        turn: TurnId,
        recorder: AnswerRecorder,
        question: String,
        deep: bool,
        research: bool,
    ) -> Self {
        Self {
            turn,
            recorder,
            started: Instant::now(),
            thinking: false,
            sources: Vec::new(),
            deep,
            wrapping: false,
            question,
            retrying: None,
            research,
        }
    }
}

impl ChatScreen {
    pub(super) fn start_turn(
        &mut self,
        h: &Handles,
        session: SessionId,
        parent: Option<MessageId>,
    ) {
        self.next_turn += 1;
        let turn = TurnId(self.next_turn);
        let recorder = AnswerRecorder::start(&h.writer, session, parent, &self.model);
        let mut cell = Cell::new(
            CellKind::Assistant,
            "",
            format!("{} · answering…", self.model),
        );
        cell.id = Some(recorder.id());
        self.transcript.push(cell);
        h.agent
            .send(self.command(turn, session, "", Mode::Chat, None, None));
        self.active = Some(ActiveTurn::new(turn, recorder, String::new(), false, false));
    }

    /// A research turn: a progress cell, then the answer cell; the history
    /// sent is the conversation before this question.
    pub(super) fn start_research(
        &mut self,
        h: &Handles,
        session: SessionId,
        asked: &super::Asked,
        parent: Option<MessageId>,
    ) {
        let (question, only) = (asked.question.as_str(), asked.only.clone());
        self.next_turn += 1;
        let turn = TurnId(self.next_turn);
        let recorder = AnswerRecorder::start(&h.writer, session, parent, &self.model);
        self.transcript
            .push(Cell::research(ResearchProgress::default()));
        let mut cell = Cell::new(
            CellKind::Assistant,
            "",
            format!("{} · researching…", self.model),
        );
        cell.id = Some(recorder.id());
        self.transcript.push(cell);
        let mode = if asked.deep {
            Mode::Deep
        } else {
            Mode::Research
        };
        h.agent
            .send(self.command(turn, session, question, mode, only, None));
        self.active = Some(ActiveTurn::new(
            turn,
            recorder,
            question.to_string(),
            asked.deep,
            true,
        ));
    }

    /// Stops the turn now, whatever it is doing (quit, another session).
    pub fn stop(&mut self, h: &Handles) {
        if let Some(a) = self.active.as_mut() {
            a.wrapping = true;
        }
        self.cancel(h);
    }

    /// Esc: stop the stream now, keep the partial answer as interrupted.
    /// A deep run's first Esc stops the research instead: the report is
    /// written from what was found; a second Esc cancels that too.
    pub(super) fn cancel(&mut self, h: &Handles) {
        if let Some(a) = self.active.as_mut()
            && a.deep
            && !a.wrapping
        {
            a.wrapping = true;
            h.agent.send(AgentCommand::Wrap(a.turn));
            let id = a.recorder.id();
            if let Some(c) = self.transcript.cell_mut(id) {
                c.set_meta(format!(
                    "{} · writing the report from what was found (Esc again cancels)",
                    self.model
                ));
            }
            return;
        }
        let Some(a) = self.active.take() else {
            return;
        };
        h.agent.send(AgentCommand::Cancel(a.turn));
        let id = a.recorder.id();
        if a.deep {
            self.end_tree(id, RunStatus::Interrupted);
            self.unfinished_run = Some(id);
        }
        // Nothing from the stopped turn stays on screen as if current: its
        // progress says it stopped, the bar drops the previous answer's
        // figures (issue 15, bug 15).
        if let Some(c) = self.transcript.cell_before_mut(id) {
            c.update_research(|p| p.stopped = true);
        }
        self.last_stats = None;
        let msg = a.recorder.finish(
            &h.writer,
            MessageStatus::Interrupted,
            Usage::default(),
            a.sources,
        );
        if let Some(c) = self.transcript.cell_mut(id) {
            c.set_meta(format!("{} · interrupted", self.model));
        }
        self.history.push_answer(&msg.content);
        self.last_answer = Some(id);
    }

    /// Ctrl+G: answer the last question again, the way it was asked
    /// (research, deep or plain chat, whatever the mode is now). The old
    /// answer — complete, interrupted or failed — stays in the database as
    /// a branch: its id becomes the new one's parent (issue 15, bug 4).
    pub(super) fn regenerate(&mut self, h: &Handles) {
        if self.active.is_some() {
            self.say("an answer is being written: Esc stops it first");
            return;
        }
        let (Some(session), Some(asked)) = (
            self.session.as_ref().map(|s| s.id),
            self.last_question.clone(),
        ) else {
            self.say("nothing to regenerate yet");
            return;
        };
        let old = self.last_answer.take();
        self.history.pop_answer();
        self.transcript.drop_last_answer();
        if asked.research || asked.deep {
            self.start_research(h, session, &asked, old);
        } else {
            self.start_turn(h, session, old);
        }
    }

    /// Periodic work while a turn streams: save a stalled partial answer.
    pub fn tick(&mut self, h: &Handles) {
        if let Some(a) = &mut self.active {
            a.recorder.checkpoint_if_due(&h.writer, Instant::now());
        }
    }

    /// Applies an agent event; events of other (cancelled) turns are
    /// dropped. Returns whether anything visible changed.
    pub fn on_agent(&mut self, ev: AgentEvent, h: &Handles) -> bool {
        let current = self.active.as_ref().map(|a| a.turn);
        match ev {
            AgentEvent::Retrying { turn, note } if Some(turn) == current => {
                if let Some(a) = self.active.as_mut() {
                    a.retrying = Some(note);
                }
                true
            }
            AgentEvent::AnswerDelta { turn, text } if Some(turn) == current => {
                let Some(a) = self.active.as_mut() else {
                    return false;
                };
                a.retrying = None;
                a.recorder.push(&h.writer, &text);
                let id = a.recorder.id();
                if let Some(c) = self.transcript.cell_mut(id) {
                    c.append(&text);
                }
                true
            }
            AgentEvent::Keywords {
                turn,
                queries,
                from_model,
            } if Some(turn) == current => {
                self.update_progress(|p| p.keywords = Some((queries, from_model)));
                true
            }
            AgentEvent::DeepStep { turn, text } if Some(turn) == current => {
                self.update_progress(|p| p.step(text));
                true
            }
            AgentEvent::DeepRun {
                turn,
                tree,
                state,
                documents,
                notes,
            } if Some(turn) == current => {
                if let Some(a) = self.active.as_mut() {
                    a.recorder
                        .record_run(&h.writer, &a.question, &tree, state, documents, notes);
                }
                self.update_progress(|p| p.tree = Some(*tree));
                true
            }
            AgentEvent::SourceStarted { turn, source } if Some(turn) == current => {
                self.update_progress(|p| p.started(source));
                true
            }
            AgentEvent::SourceDone { turn, status } if Some(turn) == current => {
                self.update_progress(|p| p.done(status));
                true
            }
            AgentEvent::Ranked {
                turn,
                sources,
                analysis,
            } if Some(turn) == current => {
                self.update_progress(|p| p.analysis = Some(analysis));
                let Some(a) = self.active.as_mut() else {
                    return false;
                };
                a.sources = sources.clone();
                let id = a.recorder.id();
                if let Some(c) = self.transcript.cell_mut(id) {
                    c.set_sources(sources);
                    c.set_meta(format!("{} · answering…", self.model));
                }
                true
            }
            AgentEvent::Recalled { turn, from } if Some(turn) == current => {
                self.update_progress(|p| p.memory = from);
                true
            }
            AgentEvent::Summary {
                session,
                summary,
                folded,
            } => {
                if self.session.as_ref().map(|s| s.id) != Some(session) {
                    return false;
                }
                h.writer.send(StoreCommand::SetSummary {
                    session,
                    summary: summary.clone(),
                });
                self.history.folded_into(summary, folded);
                false
            }
            AgentEvent::SummaryFailed { .. } => {
                self.history.fold_failed();
                false
            }
            AgentEvent::Thinking { turn, active } if Some(turn) == current => {
                if let Some(a) = self.active.as_mut() {
                    a.thinking = active;
                }
                true
            }
            AgentEvent::TurnDone { turn, outcome } if Some(turn) == current => {
                let Some(a) = self.active.take() else {
                    return false;
                };
                let c = &outcome.completion;
                let usage = Usage {
                    tokens_in: c.tokens_in,
                    tokens_out: c.tokens_out,
                    latency_ms: c.first_token_ms.map(|v| v as i64),
                };
                let id = a.recorder.id();
                if a.deep {
                    self.end_tree(id, RunStatus::Complete);
                }
                let sources = if outcome.sources.is_empty() {
                    a.sources
                } else {
                    outcome.sources.clone()
                };
                if let Some(c) = self.transcript.cell_before_mut(id) {
                    let answer = a.recorder.content();
                    c.update_research(|p| p.answered(answer, &sources));
                }
                let msg = a
                    .recorder
                    .finish(&h.writer, MessageStatus::Complete, usage, sources);
                let mut meta = outcome.model.clone();
                if outcome.answer_kind == AnswerKind::Extractive {
                    meta = "extractive: best passages, no model".into();
                }
                if outcome.cut_by_length() {
                    meta.push_str(" · cut off at the token limit");
                }
                // Memory adds to the line; it never replaces what is there.
                match outcome.memory.len() {
                    0 => {}
                    1 => meta.push_str(" · used memory of 1 earlier session"),
                    n => meta.push_str(&format!(" · used memory of {n} earlier sessions")),
                }
                if let Some(cell) = self.transcript.cell_mut(id) {
                    cell.set_meta(meta);
                }
                if outcome.cut_by_length() {
                    self.notice(
                        CellKind::Notice,
                        "The answer was cut off: the model reached its token limit.",
                    );
                }
                self.last_stats = Some(stats_line(&outcome));
                self.history.push_answer(&msg.content);
                self.last_answer = Some(id);
                self.maybe_summarize(h);
                true
            }
            AgentEvent::TurnFailed { turn, error } if Some(turn) == current => {
                let Some(a) = self.active.take() else {
                    return false;
                };
                let id = a.recorder.id();
                if a.deep {
                    self.end_tree(id, RunStatus::Failed);
                    self.unfinished_run = Some(id);
                }
                let partial = !a.recorder.content().trim().is_empty();
                a.recorder.fail(&h.writer, &error, a.sources);
                // Ctrl+G retries this question; the failure becomes a branch.
                self.last_answer = Some(id);
                if partial {
                    if let Some(c) = self.transcript.cell_mut(id) {
                        c.set_meta(format!("{} · incomplete", self.model));
                    }
                } else {
                    self.transcript.remove(id);
                }
                self.notice(CellKind::Error, &error);
                true
            }
            _ => false,
        }
    }

    /// Once enough unsummarized messages pile up, fold the older ones into
    /// the session summary in the background.
    fn maybe_summarize(&mut self, h: &Handles) {
        let Some(session) = self.session.as_ref().map(|s| s.id) else {
            return;
        };
        if let Some(req) = self
            .history
            .fold_request(session, &self.model, &self.context)
        {
            h.agent.send(AgentCommand::Summarize(req));
        }
    }

    /// The agent command for a turn on this conversation (the question is
    /// the history's last message; `question` is what a research turn or
    /// deep run is asked).
    fn command(
        &self,
        turn: TurnId,
        session: SessionId,
        question: &str,
        mode: Mode,
        only: Option<Vec<crate::agent::research::SourceKind>>,
        resume: Option<crate::agent::deep::Saved>,
    ) -> AgentCommand {
        prompt::command(
            prompt::Turn {
                turn,
                model: &self.model,
                session,
                question,
                mode,
                only,
                policy: &self.context,
                db: self.db_path.as_deref(),
                resume,
            },
            &self.history,
        )
    }

    /// A deep run ended: its tree closes to one line (F4 opens it).
    fn end_tree(&mut self, report: MessageId, status: RunStatus) {
        if let Some(c) = self.transcript.cell_before_mut(report) {
            c.update_research(|p| p.ended = Some(status));
        }
    }

    /// `/resume`: continues a stored deep run of this session in place of
    /// its unfinished report.
    pub fn resume_run(&mut self, run: crate::store::StoredRun, h: &Handles) {
        if self.active.is_some() {
            return;
        }
        let Some(session) = self.session.as_ref().map(|s| s.id) else {
            return;
        };
        if session != run.record.session {
            self.notice(CellKind::Error, "That deep run belongs to another session.");
            return;
        }
        let id = run.message.id;
        // The old report and its tree make way for the resumed ones; the
        // context is what came before its question.
        self.transcript.remove_with_research(id);
        if self.last_answer == Some(id) {
            self.history.pop_answer();
            self.last_answer = None;
        }
        self.next_turn += 1;
        let turn = TurnId(self.next_turn);
        let recorder = AnswerRecorder::resume(&h.writer, run.message, &self.model);
        self.transcript.scroll_to_bottom();
        self.transcript.push(Cell::research(ResearchProgress {
            tree: Some(run.record.tree.clone()),
            ..Default::default()
        }));
        let mut cell = Cell::new(
            CellKind::Assistant,
            "",
            format!("{} · resuming the deep run…", self.model),
        );
        cell.id = Some(id);
        self.transcript.push(cell);
        let question = run.record.question.clone();
        let saved = crate::agent::deep::Saved {
            state: run.record.state,
            documents: run.documents,
        };
        h.agent
            .send(self.command(turn, session, &question, Mode::Deep, None, Some(saved)));
        self.active = Some(ActiveTurn::new(turn, recorder, question, true, true));
        self.unfinished_run = None;
    }

    fn update_progress(&mut self, f: impl FnOnce(&mut ResearchProgress)) {
        let Some(id) = self.active.as_ref().map(|a| a.recorder.id()) else {
            return;
        };
        if let Some(c) = self.transcript.cell_before_mut(id) {
            c.update_research(f);
        }
    }

    /// What the status bar says about the current or last answer.
    pub fn status_note(&self) -> Option<String> {
        if let Some(f) = &self.flash {
            return Some(f.clone());
        }
        if self.active.is_none()
            && let Some(n) = self.found_note()
        {
            return Some(n);
        }
        match &self.active {
            Some(a) if a.thinking => Some("thinking… · Esc stops".into()),
            Some(ActiveTurn {
                retrying: Some(note),
                ..
            }) => Some(format!("{} · Esc stops", crate::sanitize::one_line(note))),
            Some(a) => Some(format!(
                "{} {:.0} s · Esc stops",
                // A research turn researches until its sources are ranked,
                // as its answer cell says.
                if a.research && a.sources.is_empty() {
                    "researching…"
                } else {
                    "answering…"
                },
                a.started.elapsed().as_secs_f64()
            )),
            None => {
                let mode = if self.research {
                    "research (Ctrl+T: chat)"
                } else {
                    "chat (Ctrl+T: research)"
                };
                Some(match &self.last_stats {
                    Some(st) if !st.is_empty() => format!("{mode} · {st}"),
                    _ => mode.to_string(),
                })
            }
        }
    }
}

fn stats_line(o: &crate::agent::TurnOutcome) -> String {
    let c = &o.completion;
    let mut parts = Vec::new();
    if let (Some(i), Some(out)) = (c.tokens_in, c.tokens_out) {
        parts.push(format!("{i}→{out} tok"));
    }
    if let Some(t) = o.tokens_per_sec {
        parts.push(format!("{t:.0} tok/s"));
    }
    if let Some(f) = c.first_token_ms {
        parts.push(format!("first token {f} ms"));
    }
    parts.join(" · ")
}
