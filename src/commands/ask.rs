//! `sleuth ask`: one turn from the command line. The answer streams to
//! stdout as it arrives (sanitized); progress goes to stderr only when it
//! is a terminal; the turn is saved like one asked in the app.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use anyhow::Context;
use serde_json::json;

use crate::agent::deep::Saved;
use crate::agent::provider::ChatMessage;
use crate::agent::research::pipeline::{Memory, ResearchAsk};
use crate::agent::turn::SYSTEM_PROMPT;
use crate::agent::{self, AgentCommand, AgentEvent, AskRequest};
use crate::config::Config;
use crate::domain::{
    Message, MessageId, MessageStatus, Role, RunStatus, Session, SessionId, TurnId, Usage, now_ms,
};
use crate::emit::Emitter;
use crate::recorder::AnswerRecorder;
use crate::sanitize::Sanitizer;
use crate::store::{self, StoreCommand, queries, writer::WriterOptions};

const CONTEXT_MESSAGES: usize = 20;

/// What kind of turn `ask` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Chat,
    Research,
    Deep,
}

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
struct Start {
    session: Session,
    history: Vec<ChatMessage>,
    question: String,
    mode: Mode,
    /// The stored report message and state of a run being continued.
    resume: Option<(Message, Box<Saved>)>,
}

/// The complete messages of a session before `before` (all without it),
/// as model context.
fn history_of(
    conn: &rusqlite::Connection,
    session: SessionId,
    before: Option<MessageId>,
) -> anyhow::Result<Vec<ChatMessage>> {
    let mut all = queries::transcript(conn, session)?;
    if let Some(id) = before
        && let Some(pos) = all.iter().position(|m| m.message.id == id)
    {
        all.truncate(pos);
        // The run's own question.
        if all.last().is_some_and(|m| m.message.role == Role::User) {
            all.pop();
        }
    }
    Ok(all
        .into_iter()
        .filter(|m| {
            m.message.status != MessageStatus::Error && !m.message.content.trim().is_empty()
        })
        .filter_map(|m| {
            let role = match m.message.role {
                Role::User => "user",
                Role::Assistant => "assistant",
                Role::System => return None,
            };
            Some(ChatMessage {
                role,
                content: m.message.content,
            })
        })
        .collect())
}

/// A stored run to continue: `last` is the newest that did not complete.
fn resume_start(conn: &rusqlite::Connection, arg: &str) -> anyhow::Result<Start> {
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
        history: history_of(conn, session.id, Some(id))?,
        session,
        question: rec.question,
        mode: Mode::Deep,
        resume: Some((message, Box::new(resume))),
    })
}

fn start(conn: &rusqlite::Connection, config: &Config, what: What) -> anyhow::Result<Start> {
    let (question, session, mode) = match what {
        What::Resume(arg) => return resume_start(conn, &arg),
        What::Ask {
            question,
            session,
            mode,
        } => (question.trim().to_string(), session, mode),
    };
    if question.is_empty() {
        anyhow::bail!("the question is empty");
    }
    // Continue a session: its recent complete messages are the context.
    let (session, history) = match session {
        Some(arg) => {
            let s = queries::resolve_session(conn, &arg)?;
            let history = history_of(conn, s.id, None)?;
            (s, history)
        }
        None => {
            let now = now_ms();
            let first = question.lines().next().unwrap_or(&question);
            let s = Session {
                id: SessionId::new(),
                created_at: now,
                updated_at: now,
                title: crate::ui::wrap::truncate(&crate::sanitize::one_line(first), 80),
                summary: None,
                model: Some(config.provider.model.clone()),
            };
            (s, Vec::new())
        }
    };
    Ok(Start {
        session,
        history,
        question,
        mode,
        resume: None,
    })
}

pub fn run(
    config: &Config,
    db: &Path,
    what: What,
    json_out: bool,
    out: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    let conn = store::open_writer(db)?;
    let Start {
        session,
        mut history,
        question,
        mode,
        resume,
    } = start(&conn, config, what)?;
    let question = question.as_str();
    let writer = store::spawn_writer(
        conn,
        WriterOptions {
            recovery: Some(store::recovery::path_for(db)),
            ..WriterOptions::default()
        },
        Emitter::new(|_| {}),
    )
    .context("cannot start the store writer")?;
    let w = writer.handle();
    // Writes kept from a run that could not save them go in first.
    match store::recovery::replay(db, &w) {
        Ok(0) => {}
        Ok(n) => tracing::info!(n, "saved the writes kept from the last run"),
        Err(e) => {
            let _ = writeln!(
                std::io::stderr(),
                "sleuth: {}",
                crate::sanitize::one_line(&e)
            );
        }
    }
    if resume.is_none() {
        w.send(StoreCommand::CreateSession(session.clone()));
        w.send(StoreCommand::AppendMessage(Message::new(
            session.id,
            Role::User,
            question,
        )));
    }
    let (tx, rx) = mpsc::channel();
    let agent = agent::spawn_agent(config.clone(), Emitter::channel(tx))
        .context("cannot start the agent")?;
    let model = config.provider.model.clone();
    let turn = TurnId(1);
    let start = history.len().saturating_sub(CONTEXT_MESSAGES);
    let (mut recorder, stored_resume) = match resume {
        Some((message, state)) => (AnswerRecorder::resume(&w, message, &model), Some(state)),
        None => (AnswerRecorder::start(&w, session.id, None, &model), None),
    };
    let run_id = (mode == Mode::Deep).then(|| recorder.id());
    if mode == Mode::Deep {
        agent
            .handle()
            .send(AgentCommand::Deep(crate::agent::deep::DeepAsk {
                turn,
                model: model.clone(),
                question: question.to_string(),
                history: history[start..].to_vec(),
                summary: session.summary.clone(),
                only: None,
                resume: stored_resume,
            }));
    } else if mode == Mode::Research {
        agent.handle().send(AgentCommand::Research(ResearchAsk {
            turn,
            model: model.clone(),
            question: question.to_string(),
            history: history[start..].to_vec(),
            only: None,
            summary: session.summary.clone(),
            memory: config.research.memory.then(|| Memory {
                db: db.to_path_buf(),
                exclude: session.id,
                max: config.research.memory_max,
            }),
        }));
    } else {
        history.push(ChatMessage {
            role: "user",
            content: question.to_string(),
        });
        let start = history.len().saturating_sub(CONTEXT_MESSAGES);
        agent.handle().send(AgentCommand::Ask(AskRequest {
            turn,
            model: model.clone(),
            system: Some(SYSTEM_PROMPT.into()),
            messages: history[start..].to_vec(),
        }));
    }
    let progress = std::io::stderr().is_terminal() && !json_out;
    if progress {
        let _ = writeln!(
            std::io::stderr(),
            "asking {} {} …",
            config.provider.kind.as_str(),
            model
        );
    }

    let interrupted = Arc::new(AtomicBool::new(false));
    // Ctrl+C, a closed terminal and `kill` all stop the turn the same way:
    // the partial answer is saved as interrupted, never left "streaming".
    for sig in [
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
    ] {
        let _ = signal_hook::flag::register(sig, Arc::clone(&interrupted));
    }
    // Set when stdout's reader went away (`| head -c 20`).
    let mut stdout_gone = false;
    let mut clean = Sanitizer::default();
    let mut keywords: Vec<String> = Vec::new();
    let mut cited: Vec<crate::domain::Source> = Vec::new();
    let mut statuses: Vec<crate::agent::research::SourceStatus> = Vec::new();
    let mut ranked: Option<crate::agent::research::pipeline::Analysis> = None;
    let mut err_out = std::io::stderr();
    let result = loop {
        if interrupted.load(Ordering::Relaxed) {
            agent.handle().send(AgentCommand::Cancel(turn));
            break Err(("interrupted".to_string(), MessageStatus::Interrupted));
        }
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(AgentEvent::AnswerDelta { text, .. }) => {
                recorder.push(&w, &text);
                if !json_out && !stdout_gone {
                    let wrote = out
                        .write_all(clean.push(&text).as_bytes())
                        .and_then(|_| out.flush());
                    match wrote {
                        Ok(()) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                            // Nobody reads the rest: stop the model, keep
                            // what was written, as an interrupted answer.
                            stdout_gone = true;
                            agent.handle().send(AgentCommand::Cancel(turn));
                            break Err(("output closed".into(), MessageStatus::Interrupted));
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
            }
            Ok(AgentEvent::DeepRun {
                tree,
                state,
                documents,
                notes,
                ..
            }) => recorder.record_run(&w, question, &tree, state, documents, notes),
            Ok(AgentEvent::Retrying { note, .. }) => {
                if progress {
                    let _ = writeln!(err_out, "{}", crate::sanitize::one_line(&note));
                }
            }
            Ok(AgentEvent::DeepStep { text, .. }) => {
                if progress {
                    let _ = writeln!(err_out, "{}", crate::sanitize::one_line(&text));
                }
            }
            Ok(AgentEvent::Keywords { queries, .. }) => {
                if progress {
                    let _ = writeln!(
                        err_out,
                        "searching: {}",
                        crate::sanitize::one_line(&queries.join(" · "))
                    );
                }
                keywords = queries;
            }
            Ok(AgentEvent::SourceDone { status, .. }) => {
                if progress {
                    let detail = status.error.clone().unwrap_or_else(|| {
                        format!(
                            "{}, {} chars read",
                            crate::text::plural(status.count as u64, "document"),
                            status.chars
                        )
                    });
                    let _ = writeln!(
                        err_out,
                        "  {:<12} {} ({} ms)",
                        status.source.label(),
                        detail,
                        status.ms
                    );
                }
                statuses.push(status);
            }
            Ok(AgentEvent::Ranked {
                sources, analysis, ..
            }) => {
                if progress {
                    let passages: usize = analysis.per_source.iter().map(|r| r.passages).sum();
                    let _ = writeln!(
                        err_out,
                        "ranked {passages} passages by {}; citing {}",
                        analysis.ranker,
                        sources.len()
                    );
                }
                cited = sources;
                ranked = Some(analysis);
            }
            Ok(AgentEvent::TurnDone { outcome, .. }) => break Ok(outcome),
            Ok(AgentEvent::TurnFailed { error, .. }) => break Err((error, MessageStatus::Error)),
            Ok(_) => {}
            Err(RecvTimeoutError::Timeout) => {
                recorder.checkpoint_if_due(&w, std::time::Instant::now())
            }
            Err(RecvTimeoutError::Disconnected) => {
                break Err(("the agent stopped".into(), MessageStatus::Error));
            }
        }
    };
    agent.shutdown();
    let (status, usage, outcome, error) = match result {
        Ok(o) => {
            let c = &o.completion;
            let usage = Usage {
                tokens_in: c.tokens_in,
                tokens_out: c.tokens_out,
                latency_ms: c.first_token_ms.map(|v| v as i64),
            };
            (MessageStatus::Complete, usage, Some(o), None)
        }
        Err((e, status)) => (status, Usage::default(), None, Some(e)),
    };
    if let Some(o) = &outcome {
        if !o.sources.is_empty() {
            cited = o.sources.clone();
        }
        if !o.source_status.is_empty() {
            statuses = o.source_status.clone();
        }
        if !o.keywords.is_empty() {
            keywords = o.keywords.clone();
        }
        if let Some(n) = &o.notice
            && progress
        {
            let _ = writeln!(err_out, "note: {}", crate::sanitize::one_line(n));
        }
    }
    let message = match (&error, status) {
        // Why it failed is kept with the answer (`show` prints it).
        (Some(e), MessageStatus::Error) => recorder.fail(&w, e, cited.clone()),
        _ => recorder.finish(&w, status, usage, cited.clone()),
    };
    let saved = w.flush();
    let kept = writer.shutdown();
    if let Err(e) = &saved {
        let _ = writeln!(
            std::io::stderr(),
            "sleuth: the answer could not be saved: {e}"
        );
    }
    if let Some(k) = &kept {
        let _ = writeln!(
            std::io::stderr(),
            "sleuth: {} unsaved write(s) are kept in {} and will be saved on the next start",
            k.writes,
            k.path.display()
        );
    }
    if stdout_gone {
        // Saved as interrupted; nothing more to print for a reader that left.
        return Ok(if saved.is_ok() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        });
    }
    if json_out {
        let sources: Vec<serde_json::Value> = cited
            .iter()
            .map(|s| {
                json!({
                    "n": s.ordinal, "kind": s.kind, "title": s.title, "section": s.section,
                    "url": s.url, "excerpt": s.excerpt, "relevance": s.relevance,
                })
            })
            .collect();
        let v = json!({
            "session": session.id,
            "question": question,
            "keywords": keywords,
            "answer": message.content,
            "answer_kind": outcome.as_ref().map(|o| o.answer_kind).unwrap_or_default(),
            "status": message.status,
            "model": model,
            "finish": outcome.as_ref().and_then(|o| o.completion.finish),
            "usage": {
                "tokens_in": message.usage.tokens_in,
                "tokens_out": message.usage.tokens_out,
                "first_token_ms": outcome.as_ref().and_then(|o| o.completion.first_token_ms),
                "total_ms": outcome.as_ref().map(|o| o.completion.total_ms),
            },
            "error": error,
            "sources": sources,
            "source_status": statuses,
            "analysis": ranked,
            "deep": outcome.as_ref().and_then(|o| o.deep.clone()),
            "memory": outcome.as_ref().map(|o| o.memory.clone()).unwrap_or_default(),
        });
        writeln!(out, "{}", crate::sanitize::to_json_pretty(&v)?)?;
    } else {
        if !message.content.ends_with('\n') && !message.content.is_empty() {
            writeln!(out)?;
        }
        // Only the sources the answer can cite; a dangling [n] has none.
        if !cited.is_empty() {
            writeln!(out, "\nSources:")?;
            for s in &cited {
                let url = s
                    .url
                    .as_deref()
                    .map(|u| format!(" — {}", crate::sanitize::one_line(u)))
                    .unwrap_or_default();
                writeln!(
                    out,
                    "[{}] {}{url}",
                    s.ordinal,
                    crate::sanitize::one_line(&s.label())
                )?;
            }
        }
    }
    if let Some(o) = &outcome
        && o.cut_by_length()
    {
        let _ = writeln!(
            std::io::stderr(),
            "sleuth: the answer was cut off at the model's token limit"
        );
    }
    match error {
        Some(e) if status == MessageStatus::Interrupted => {
            let _ = writeln!(
                std::io::stderr(),
                "sleuth: {e}; the partial answer was saved"
            );
            if let Some(id) = run_id {
                let _ = writeln!(
                    std::io::stderr(),
                    "sleuth: continue the deep run with `sleuth ask --resume {id}`"
                );
            }
            Ok(ExitCode::from(130))
        }
        Some(e) => {
            let _ = writeln!(
                std::io::stderr(),
                "sleuth: {}",
                crate::sanitize::one_line(&e)
            );
            Ok(ExitCode::from(1))
        }
        None if saved.is_err() => Ok(ExitCode::from(1)),
        None => Ok(ExitCode::SUCCESS),
    }
}
