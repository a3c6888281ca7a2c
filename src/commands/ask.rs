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

use crate::agent::provider::ChatMessage;
use crate::agent::turn::SYSTEM_PROMPT;
use crate::agent::{self, AgentCommand, AgentEvent, AskRequest};
use crate::config::Config;
use crate::domain::{Message, MessageStatus, Role, Session, SessionId, TurnId, Usage, now_ms};
use crate::emit::Emitter;
use crate::recorder::AnswerRecorder;
use crate::sanitize::Sanitizer;
use crate::store::{self, StoreCommand, queries, writer::WriterOptions};

const CONTEXT_MESSAGES: usize = 20;

pub fn run(
    config: &Config,
    db: &Path,
    question: &str,
    session: Option<&str>,
    json_out: bool,
    out: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    let question = question.trim();
    if question.is_empty() {
        anyhow::bail!("the question is empty");
    }
    let conn = store::open_writer(db)?;
    // Continue a session: its recent complete messages are the context.
    let (session, mut history) = match session {
        Some(arg) => {
            let s = queries::resolve_session(&conn, arg)?;
            let history: Vec<ChatMessage> = queries::transcript(&conn, s.id)?
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
                .collect();
            (s, history)
        }
        None => {
            let now = now_ms();
            let first = question.lines().next().unwrap_or(question);
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
    let writer = store::spawn_writer(conn, WriterOptions::default(), Emitter::new(|_| {}))
        .context("cannot start the store writer")?;
    let w = writer.handle();
    w.send(StoreCommand::CreateSession(session.clone()));
    w.send(StoreCommand::AppendMessage(Message::new(
        session.id,
        Role::User,
        question,
    )));
    history.push(ChatMessage {
        role: "user",
        content: question.to_string(),
    });

    let (tx, rx) = mpsc::channel();
    let agent = agent::spawn_agent(config.clone(), Emitter::channel(tx))
        .context("cannot start the agent")?;
    let model = config.provider.model.clone();
    let turn = TurnId(1);
    let start = history.len().saturating_sub(CONTEXT_MESSAGES);
    agent.handle().send(AgentCommand::Ask(AskRequest {
        turn,
        model: model.clone(),
        system: Some(SYSTEM_PROMPT.into()),
        messages: history[start..].to_vec(),
    }));
    let mut recorder = AnswerRecorder::start(&w, session.id, None, &model);
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
    let _ = signal_hook::flag::register(signal_hook::consts::SIGINT, Arc::clone(&interrupted));
    let mut clean = Sanitizer::default();
    let result = loop {
        if interrupted.load(Ordering::Relaxed) {
            agent.handle().send(AgentCommand::Cancel(turn));
            break Err(("interrupted".to_string(), MessageStatus::Interrupted));
        }
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(AgentEvent::AnswerDelta { text, .. }) => {
                recorder.push(&w, &text);
                if !json_out {
                    out.write_all(clean.push(&text).as_bytes())?;
                    out.flush()?;
                }
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
    let message = recorder.finish(&w, status, usage, vec![]);
    let saved = w.flush();
    writer.shutdown();
    if let Err(e) = &saved {
        let _ = writeln!(
            std::io::stderr(),
            "sleuth: the answer could not be saved: {e}"
        );
    }
    if json_out {
        let v = json!({
            "session": session.id,
            "question": question,
            "answer": message.content,
            "answer_kind": "generated",
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
            "sources": [],
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
    } else if !message.content.ends_with('\n') && !message.content.is_empty() {
        writeln!(out)?;
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
