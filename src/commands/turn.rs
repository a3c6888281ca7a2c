//! One turn outside the TUI: its own writer and agent threads around a
//! [`Conversation`], the agent's events streamed through an observer.
//! `sleuth ask` prints them; `sleuth mcp`'s research tool turns them into
//! progress notifications. Either way the turn is stored like one asked in
//! the app.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use anyhow::Context;

use super::ask::{Mode, What, start};
use crate::agent::research::SourceStatus;
use crate::agent::research::pipeline::Analysis;
use crate::agent::{self, AgentEvent, TurnOutcome};
use crate::config::Config;
use crate::conversation::{Conversation, Ports, Step, Stopped};
use crate::domain::{Message, MessageId, MessageStatus, Source};
use crate::emit::Emitter;
use crate::store::writer::{Recovered, WriterOptions, WriterThread};
use crate::store::{self, WriterHandle};

/// Whether the turn goes on after an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    /// Stop the turn here (its reader went away); saved as interrupted.
    Stop(&'static str),
}

/// What sees the turn as it runs.
pub trait Observer {
    /// An event of the turn (answer text, progress), after the
    /// conversation recorded it.
    fn event(&mut self, ev: &AgentEvent) -> Flow;
    /// Something worth saying that is not an event ("summarizing…").
    fn note(&mut self, _text: &str) {}
}

/// How the turn ended and what it showed on the way.
#[derive(Debug)]
pub struct Report {
    pub question: String,
    pub model: String,
    pub mode: Mode,
    /// The answer as saved (complete, interrupted or failed).
    pub message: Message,
    pub outcome: Option<TurnOutcome>,
    /// Why it did not complete.
    pub error: Option<String>,
    /// The numbered sources the answer may cite.
    pub cited: Vec<Source>,
    pub keywords: Vec<String>,
    pub statuses: Vec<SourceStatus>,
    pub analysis: Option<Analysis>,
    /// A deep run's id (its report message), to resume it.
    pub run: Option<MessageId>,
    /// The observer stopped the turn.
    pub stopped_by_reader: bool,
}

impl Report {
    pub fn status(&self) -> MessageStatus {
        self.message.status
    }
}

/// The threads a turn runs on, and its conversation.
pub struct Runner {
    conv: Conversation,
    writer: WriterThread,
    w: WriterHandle,
    agent: agent::AgentThread,
    agent_handle: agent::AgentHandle,
    rx: mpsc::Receiver<AgentEvent>,
    question: String,
    mode: Mode,
    run: Option<MessageId>,
    /// Writes kept from an earlier run could not be saved yet (they stay
    /// kept for the next start).
    pub replay_error: Option<String>,
}

impl Runner {
    /// Opens the store, loads the session (or makes one) and sends the
    /// turn: the question is saved and asked, or the deep run continues.
    pub fn start(config: &Config, db: &Path, what: What) -> anyhow::Result<Self> {
        let conn = store::open_writer(db)?;
        let mut start = start(&conn, config, db, what)?;
        let (writer, replay_error) = start_writer(conn, db)?;
        let w = writer.handle();
        let (tx, rx) = mpsc::channel();
        let agent = agent::spawn_agent(config.clone(), Emitter::channel(tx))
            .context("cannot start the agent")?;
        let agent_handle = agent.handle();
        let started = start
            .begin(Ports {
                writer: &w,
                agent: &agent_handle,
            })
            .map_err(|r| anyhow::anyhow!("{}", r.say()))?;
        Ok(Self {
            run: (start.mode == Mode::Deep).then_some(started.answer),
            question: start.question,
            mode: start.mode,
            conv: start.conv,
            writer,
            w,
            agent,
            agent_handle,
            rx,
            replay_error,
        })
    }

    pub fn model(&self) -> &str {
        &self.conv.model
    }

    /// Streams the turn's events through the conversation (which records
    /// them) and the observer, until it ends, fails, or is stopped:
    /// `interrupted` (Ctrl+C, a client that went away) or the observer.
    pub fn stream(
        &mut self,
        observer: &mut dyn Observer,
        interrupted: &AtomicBool,
    ) -> anyhow::Result<Report> {
        let p = Ports {
            writer: &self.w,
            agent: &self.agent_handle,
        };
        let mut report = Report {
            question: self.question.clone(),
            model: self.conv.model.clone(),
            mode: self.mode,
            message: Message::new(
                self.conv
                    .session_id()
                    .unwrap_or(crate::domain::SessionId(0)),
                crate::domain::Role::Assistant,
                "",
            ),
            outcome: None,
            error: None,
            cited: Vec::new(),
            keywords: Vec::new(),
            statuses: Vec::new(),
            analysis: None,
            run: self.run,
            stopped_by_reader: false,
        };
        let conv = &mut self.conv;
        loop {
            if interrupted.load(Ordering::Relaxed) {
                report.ended(stopped(conv, p, "interrupted")?);
                break;
            }
            let ev = match self.rx.recv_timeout(Duration::from_millis(100)) {
                Ok(ev) => ev,
                Err(RecvTimeoutError::Timeout) => {
                    conv.tick(p);
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let f = conv
                        .abandon("the agent stopped", p)
                        .ok_or_else(|| anyhow::anyhow!("the agent stopped"))?;
                    report.ended(Ended::Failed(f.message, f.error));
                    break;
                }
            };
            match conv.on_agent(&ev, p) {
                Step::Done(f) => {
                    report.ended(Ended::Done(f));
                    break;
                }
                Step::Failed(f) => {
                    report.ended(Ended::Failed(f.message, f.error));
                    break;
                }
                Step::Progress => {}
                Step::Ignored | Step::Quiet => continue,
            }
            report.saw(&ev);
            if let Flow::Stop(why) = observer.event(&ev) {
                report.stopped_by_reader = true;
                report.ended(stopped(conv, p, why)?);
                break;
            }
        }
        Ok(report)
    }

    /// Waits for the summary fold the conversation asked for (bounded;
    /// `interrupted` stops waiting), then stops the threads with every
    /// write saved. The error says what could not be saved; `Recovered`
    /// where it is kept.
    pub fn finish(
        mut self,
        observer: &mut dyn Observer,
        interrupted: &AtomicBool,
    ) -> (Result<(), String>, Option<Recovered>) {
        if self.conv.summarizing() {
            observer.note("summarizing the session's older turns…");
            self.wait_for_summary(interrupted);
        }
        self.agent.shutdown();
        let saved = self.w.flush();
        (saved, self.writer.shutdown())
    }

    fn wait_for_summary(&mut self, interrupted: &AtomicBool) {
        const WAIT: Duration = Duration::from_secs(60);
        let p = Ports {
            writer: &self.w,
            agent: &self.agent_handle,
        };
        let end = std::time::Instant::now() + WAIT;
        while self.conv.summarizing()
            && std::time::Instant::now() < end
            && !interrupted.load(Ordering::Relaxed)
        {
            match self.rx.recv_timeout(Duration::from_millis(100)) {
                Ok(ev) => {
                    self.conv.on_agent(&ev, p);
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }
}

enum Ended {
    Done(Box<crate::conversation::engine::Finished>),
    Failed(Message, String),
    /// Stopped here: saved as interrupted.
    Stopped(Message, String),
}

impl Report {
    fn ended(&mut self, e: Ended) {
        match e {
            Ended::Done(f) => {
                let o = f.outcome;
                if !o.source_status.is_empty() {
                    self.statuses = o.source_status.clone();
                }
                if !o.keywords.is_empty() {
                    self.keywords = o.keywords.clone();
                }
                self.cited = f.sources;
                self.message = f.message;
                self.outcome = Some(o);
            }
            Ended::Failed(m, why) | Ended::Stopped(m, why) => {
                self.message = m;
                self.error = Some(why);
            }
        }
    }

    /// What a progress event tells the report.
    fn saw(&mut self, ev: &AgentEvent) {
        match ev {
            AgentEvent::Keywords { queries, .. } => self.keywords = queries.clone(),
            AgentEvent::SourceDone { status, .. } => self.statuses.push(status.clone()),
            AgentEvent::Ranked {
                sources, analysis, ..
            } => {
                self.cited = sources.clone();
                self.analysis = Some(analysis.clone());
            }
            _ => {}
        }
    }
}

/// Stops the turn here; its partial answer is saved as interrupted.
fn stopped(conv: &mut Conversation, p: Ports<'_>, why: &str) -> anyhow::Result<Ended> {
    match conv.stop(p) {
        Stopped::Interrupted { message, .. } => Ok(Ended::Stopped(message, why.to_string())),
        // The turn streams until Done or Failed ends the loop.
        Stopped::Idle | Stopped::Wrapping { .. } => {
            anyhow::bail!("{why}: the turn had already ended")
        }
    }
}

/// The writer thread on `conn`; writes kept from a run that could not
/// save them go in first (why they could not, if they still cannot).
fn start_writer(
    conn: rusqlite::Connection,
    db: &Path,
) -> anyhow::Result<(WriterThread, Option<String>)> {
    let writer = store::spawn_writer(
        conn,
        WriterOptions {
            recovery: Some(store::recovery::path_for(db)),
            ..WriterOptions::default()
        },
        Emitter::new(|_| {}),
    )
    .context("cannot start the store writer")?;
    let replay_error = match store::recovery::replay(db, &writer.handle()) {
        Ok(0) => None,
        Ok(n) => {
            tracing::info!(n, "saved the writes kept from the last run");
            None
        }
        Err(e) => Some(crate::text::sanitize::one_line(&e)),
    };
    Ok((writer, replay_error))
}
