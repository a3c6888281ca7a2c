//! How the chat screen shows a turn: the conversation (`crate::conversation`)
//! starts, records, cancels and regenerates it; this draws what it says
//! happened — the question, the research progress, the answer streaming,
//! how it ended.

use super::ChatScreen;
use crate::agent::AgentEvent;
use crate::agent::turn::AnswerKind;
use crate::conversation::engine::{Failed, Finished};
use crate::conversation::{Mode, Refused, Started, Step, Stopped};
use crate::domain::{MessageId, RunStatus, StoredMessage};
use crate::ui::app::Handles;
use crate::ui::research_view::ResearchProgress;
use crate::ui::transcript::{Cell, CellKind};

/// What the status bar says of the turn streaming.
#[derive(Debug, Default)]
pub struct Live {
    /// Inside a `<think>` block.
    pub thinking: bool,
    /// Why the answer has not started: the provider is being retried.
    pub retrying: Option<String>,
}

impl ChatScreen {
    /// Enter: the input as a question (with `/deep`, `/sources`).
    pub(super) fn submit(&mut self, h: &Handles) {
        if self.conv.active().is_some() {
            // One answer at a time; the question stays in the input.
            self.say("one answer at a time: Esc stops this one, then Enter sends yours");
            return;
        }
        let raw = self.input.lines().join("\n");
        let ask = match crate::conversation::Ask::parse(&raw, self.conv.default_mode()) {
            Ok(Some(ask)) => ask,
            Ok(None) => return,
            Err(e) => return self.notice(CellKind::Error, &e),
        };
        match self.conv.submit(ask, h.ports()) {
            Ok(started) => {
                // The question is stored: the next ↑ starts from it.
                self.recall.forget();
                self.input = super::new_input(self.conv.research);
                self.show_started(started);
            }
            Err(r) => self.say(r.say()),
        }
    }

    /// Ctrl+G: the last question answered again, the way it was asked; the
    /// old answer leaves the screen (it stays stored as a branch).
    pub(super) fn regenerate(&mut self, h: &Handles) {
        if self.new_branch.is_none() {
            let old = self
                .transcript
                .cells()
                .iter()
                .rev()
                .find(|c| c.kind == CellKind::Assistant && c.id.is_some());
            self.new_branch = Some(next_branch(old.and_then(|c| c.branch)));
        }
        match self.conv.regenerate(h.ports()) {
            Ok(started) => {
                self.transcript.drop_last_answer();
                self.show_started(started);
            }
            Err(r) => self.say(r.say()),
        }
    }

    /// `/resume`: a stored deep run of this session continues in place of
    /// its unfinished report.
    pub fn resume_run(&mut self, run: crate::store::StoredRun, h: &Handles) {
        let tree = run.record.tree.clone();
        let id = run.message.id;
        match self.conv.resume_run(run, h.ports()) {
            Ok(started) => {
                // The old report and its tree make way for the resumed ones.
                self.transcript.remove_with_research(id);
                self.transcript.scroll_to_bottom();
                self.transcript.push(Cell::research(ResearchProgress {
                    tree: Some(tree),
                    ..Default::default()
                }));
                self.push_answer_cell(started.answer, "resuming the deep run…");
                self.live = Live::default();
            }
            Err(Refused::Busy) => {}
            Err(r) => self.notice(CellKind::Error, r.say()),
        }
    }

    /// Esc: stop the stream now, keep the partial answer as interrupted; a
    /// deep run's first Esc writes the report from what was found.
    pub(super) fn cancel(&mut self, h: &Handles) {
        let stopped = self.conv.cancel(h.ports());
        self.show_stopped(stopped);
    }

    /// Stops the turn now, whatever it is doing (quit, another session).
    pub fn stop(&mut self, h: &Handles) {
        let stopped = self.conv.stop(h.ports());
        self.show_stopped(stopped);
    }

    /// Periodic work while a turn streams: save a stalled partial answer.
    pub fn tick(&mut self, h: &Handles) {
        self.conv.tick(h.ports());
    }

    /// Applies an agent event; events of other (stopped) turns are
    /// dropped. Returns whether anything visible changed.
    pub fn on_agent(&mut self, ev: AgentEvent, h: &Handles) -> bool {
        match self.conv.on_agent(&ev, h.ports()) {
            Step::Ignored | Step::Quiet => false,
            Step::Progress => {
                self.show_progress(ev);
                true
            }
            Step::Done(f) => {
                self.show_done(*f);
                true
            }
            Step::Failed(f) => {
                self.show_failed(f);
                true
            }
        }
    }

    /// A loaded session's messages, each deep run's closed tree above its
    /// report.
    pub(super) fn show_loaded(
        &mut self,
        messages: &[StoredMessage],
        mut runs: std::collections::HashMap<MessageId, (RunStatus, crate::domain::RunTree)>,
    ) {
        let who = self
            .conv
            .session()
            .and_then(|s| s.origin.as_deref())
            .map(crate::domain::origin_tool);
        for m in messages {
            if let Some((status, tree)) = runs.remove(&m.message.id) {
                self.transcript.push(Cell::research(ResearchProgress {
                    tree: Some(tree),
                    ended: Some(status),
                    ..Default::default()
                }));
            }
            let mut cell = Cell::from_stored(m);
            if m.message.role == crate::domain::Role::Assistant {
                cell.who = who;
            }
            self.transcript.push(cell);
        }
    }

    fn show_started(&mut self, started: Started) {
        // A new branch (an answer again, an edited question) is numbered
        // after the ones beside it.
        let mut branch = self.new_branch.take();
        if let Some(q) = &started.question {
            self.transcript.scroll_to_bottom();
            self.transcript.push(Cell::from_stored(&StoredMessage {
                branch: branch.take(),
                message: q.clone(),
                sources: vec![],
                claims: None,
            }));
        }
        let doing = if started.mode == Mode::Chat {
            "answering…"
        } else {
            self.transcript
                .push(Cell::research(ResearchProgress::default()));
            "researching…"
        };
        self.push_answer_cell(started.answer, doing);
        if let Some(c) = self.transcript.cell_mut(started.answer) {
            c.branch = branch;
        }
        self.live = Live::default();
    }

    fn push_answer_cell(&mut self, id: MessageId, doing: &str) {
        let mut cell = Cell::new(
            CellKind::Assistant,
            "",
            format!("{} · {doing}", self.conv.model),
        );
        cell.id = Some(id);
        self.transcript.push(cell);
    }

    fn show_stopped(&mut self, stopped: Stopped) {
        match stopped {
            Stopped::Idle => {}
            Stopped::Wrapping { answer } => {
                let meta = format!(
                    "{} · writing the report from what was found (Esc again cancels)",
                    self.conv.model
                );
                if let Some(c) = self.transcript.cell_mut(answer) {
                    c.set_meta(meta);
                }
            }
            Stopped::Interrupted { mode, message } => {
                let id = message.id;
                if mode == Mode::Deep {
                    self.end_tree(id, RunStatus::Interrupted);
                }
                // Nothing from the stopped turn stays on screen as if
                // current: its progress says it stopped, the bar drops the
                // previous answer's figures (issue 15, bug 15).
                if let Some(c) = self.transcript.cell_before_mut(id) {
                    c.update_research(|p| p.stopped = true);
                }
                self.last_stats = None;
                let meta = format!("{} · interrupted", self.conv.model);
                if let Some(c) = self.transcript.cell_mut(id) {
                    c.set_meta(meta);
                }
            }
        }
    }

    /// The current turn's progress, as its cells show it.
    fn show_progress(&mut self, ev: AgentEvent) {
        let Some(id) = self.conv.active().map(|a| a.answer()) else {
            return;
        };
        match ev {
            AgentEvent::Retrying { note, .. } => self.live.retrying = Some(note),
            AgentEvent::Thinking { active, .. } => self.live.thinking = active,
            AgentEvent::AnswerDelta { text, .. } => {
                self.live.retrying = None;
                if let Some(c) = self.transcript.cell_mut(id) {
                    c.append(&text);
                }
            }
            AgentEvent::Keywords {
                queries,
                from_model,
                ..
            } => self.update_progress(id, |p| p.keywords = Some((queries, from_model))),
            AgentEvent::DeepStep { text, .. } => self.update_progress(id, |p| p.step(text)),
            AgentEvent::DeepRun { tree, .. } => self.update_progress(id, |p| p.tree = Some(*tree)),
            AgentEvent::SourceStarted { source, .. } => {
                self.update_progress(id, |p| p.started(source))
            }
            AgentEvent::SourceDone { status, .. } => {
                self.library_withheld(&status);
                self.update_progress(id, |p| p.done(status))
            }
            AgentEvent::Recalled { from, .. } => self.update_progress(id, |p| p.memory = from),
            AgentEvent::Ranked {
                sources, analysis, ..
            } => {
                self.update_progress(id, |p| p.analysis = Some(analysis));
                let meta = format!("{} · answering…", self.conv.model);
                if let Some(c) = self.transcript.cell_mut(id) {
                    c.set_sources(sources);
                    c.set_meta(meta);
                }
            }
            _ => {}
        }
    }

    fn show_done(&mut self, f: Finished) {
        let id = f.message.id;
        if f.mode == Mode::Deep {
            self.end_tree(id, RunStatus::Complete);
        }
        let outcome = &f.outcome;
        let checked = outcome
            .claims
            .as_ref()
            .map(|c| (c.supported, c.supported + c.partial + c.unsupported));
        if let Some(c) = self.transcript.cell_before_mut(id) {
            c.update_research(|p| {
                p.answered(&f.message.content, &f.sources);
                p.checked = checked;
            });
        }
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
            cell.set_claims(outcome.claims.as_deref().cloned());
        }
        if outcome.cut_by_length() {
            self.notice(
                CellKind::Notice,
                "The answer was cut off: the model reached its token limit.",
            );
        }
        self.last_stats = Some(stats_line(outcome));
    }

    fn show_failed(&mut self, f: Failed) {
        let id = f.message.id;
        if f.mode == Mode::Deep {
            self.end_tree(id, RunStatus::Failed);
        }
        if f.partial {
            let meta = format!("{} · incomplete", self.conv.model);
            if let Some(c) = self.transcript.cell_mut(id) {
                c.set_meta(meta);
            }
        } else {
            self.transcript.remove(id);
        }
        self.notice(CellKind::Error, &f.error);
    }

    /// A deep run ended: its tree closes to one line (F4 opens it).
    fn end_tree(&mut self, report: MessageId, status: RunStatus) {
        if let Some(c) = self.transcript.cell_before_mut(report) {
            c.update_research(|p| p.ended = Some(status));
        }
    }

    fn update_progress(&mut self, answer: MessageId, f: impl FnOnce(&mut ResearchProgress)) {
        if let Some(c) = self.transcript.cell_before_mut(answer) {
            c.update_research(f);
        }
    }

    /// What the status bar says about the current or last answer.
    pub fn status_note(&self) -> Option<String> {
        if let Some(f) = &self.flash {
            return Some(f.clone());
        }
        let active = self.conv.active();
        if active.is_none()
            && let Some(n) = self.found_note()
        {
            return Some(n);
        }
        match active {
            Some(_) if self.live.thinking => Some("thinking… · Esc stops".into()),
            Some(_) if self.live.retrying.is_some() => Some(format!(
                "{} · Esc stops",
                crate::text::sanitize::one_line(self.live.retrying.as_deref().unwrap_or_default())
            )),
            Some(a) => Some(format!(
                "{} {:.0} s · Esc stops",
                // A research turn researches until its sources are ranked,
                // as its answer cell says.
                if a.researching() {
                    "researching…"
                } else {
                    "answering…"
                },
                a.started.elapsed().as_secs_f64()
            )),
            None => {
                let mode = if self.conv.research {
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

/// The place of a new sibling of a message at `b` (alone: the second).
pub(super) fn next_branch(b: Option<crate::domain::Branch>) -> crate::domain::Branch {
    let n = b.map_or(1, |b| b.count) + 1;
    crate::domain::Branch { index: n, count: n }
}
