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

use crate::agent::{self, AgentCommand, AgentEvent};
use crate::config::Config;
use crate::conversation::ContextPolicy;
use crate::conversation::recorder::AnswerRecorder;
use crate::domain::{Message, MessageStatus, Role, TurnId, Usage};
use crate::emit::Emitter;
use crate::sanitize::Sanitizer;
use crate::store::{self, StoreCommand, writer::WriterOptions};
use anyhow::Context;

mod output;
mod start;

use output::{Printed, exit_code, print_result};
pub use start::{Mode, Start, What, command, start};

/// How a streamed turn ended: its outcome, or why not and the status the
/// answer is saved with.
type Ended = Result<crate::agent::TurnOutcome, (String, MessageStatus)>;

/// What streaming the turn showed along the way.
pub(super) struct Streamed {
    keywords: Vec<String>,
    cited: Vec<crate::domain::Source>,
    statuses: Vec<crate::agent::research::SourceStatus>,
    ranked: Option<crate::agent::research::pipeline::Analysis>,
    /// stdout's reader went away (`| head -c 20`).
    stdout_gone: bool,
}

/// Where the turn's output goes and how it is stopped.
pub(super) struct Io<'a> {
    out: &'a mut dyn Write,
    json: bool,
    /// Progress lines on stderr (a terminal, not `--json`).
    progress: bool,
    interrupted: Arc<AtomicBool>,
}

pub fn run(
    config: &Config,
    db: &Path,
    what: What,
    json_out: bool,
    out: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    let conn = store::open_writer(db)?;
    let mut start = start(&conn, config, what)?;
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
    if start.resume.is_none() {
        w.send(StoreCommand::CreateSession(start.session.clone()));
        w.send(StoreCommand::AppendMessage(Message::new(
            start.session.id,
            Role::User,
            &start.question,
        )));
    }
    let (tx, rx) = mpsc::channel();
    let agent = agent::spawn_agent(config.clone(), Emitter::channel(tx))
        .context("cannot start the agent")?;
    let model = config.provider.model.clone();
    let turn = TurnId(1);
    let mut recorder = match start.resume.take() {
        Some(message) => AnswerRecorder::resume(&w, message, &model),
        None => AnswerRecorder::start(&w, start.session.id, None, &model),
    };
    let run_id = (start.mode == Mode::Deep).then(|| recorder.id());
    agent.handle().send(command(&mut start, config, db, turn));
    let mut io = Io {
        out,
        json: json_out,
        progress: std::io::stderr().is_terminal() && !json_out,
        interrupted: Arc::new(AtomicBool::new(false)),
    };
    if io.progress {
        let _ = writeln!(
            std::io::stderr(),
            "asking {} {} …",
            config.provider.kind.as_str(),
            model
        );
    }
    // Ctrl+C, a closed terminal and `kill` all stop the turn the same way:
    // the partial answer is saved as interrupted, never left "streaming".
    for sig in [
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
    ] {
        let _ = signal_hook::flag::register(sig, Arc::clone(&io.interrupted));
    }
    let (result, mut streamed) = stream(
        &agent,
        &rx,
        &w,
        &mut recorder,
        &start.question,
        turn,
        &mut io,
    )?;
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
            streamed.cited = o.sources.clone();
        }
        if !o.source_status.is_empty() {
            streamed.statuses = o.source_status.clone();
        }
        if !o.keywords.is_empty() {
            streamed.keywords = o.keywords.clone();
        }
        if let Some(n) = &o.notice
            && io.progress
        {
            let _ = writeln!(std::io::stderr(), "note: {}", crate::sanitize::one_line(n));
        }
    }
    let message = match (&error, status) {
        // Why it failed is kept with the answer (`show` prints it).
        (Some(e), MessageStatus::Error) => recorder.fail(&w, e, streamed.cited.clone()),
        _ => recorder.finish(&w, status, usage, streamed.cited.clone()),
    };
    if !streamed.stdout_gone {
        let printed = Printed {
            session: start.session.id,
            question: &start.question,
            model: &model,
            message: &message,
            outcome: outcome.as_ref(),
            error: error.as_deref(),
            streamed: &streamed,
        };
        print_result(&mut io, &printed)?;
    }
    // Older turns fold into the session summary as they do in the app.
    if status == MessageStatus::Complete {
        start.history.push_answer(&message.content);
        let policy = ContextPolicy::from_config(&config.research);
        if let Some(req) = start
            .history
            .fold_request(start.session.id, &model, &policy)
        {
            fold_summary(&agent, &rx, &w, req, &io);
        }
    }
    agent.shutdown();
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
    if streamed.stdout_gone {
        // Saved as interrupted; nothing more to say to a reader that left.
        return Ok(if saved.is_ok() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        });
    }
    if let Some(o) = &outcome
        && o.cut_by_length()
    {
        let _ = writeln!(
            std::io::stderr(),
            "sleuth: the answer was cut off at the model's token limit"
        );
    }
    Ok(exit_code(error, status, run_id, saved.is_ok()))
}

/// Streams the turn's events: the answer to stdout (sanitized) and the
/// recorder, progress to stderr, until it ends, fails or is stopped.
fn stream(
    agent: &agent::AgentThread,
    rx: &mpsc::Receiver<AgentEvent>,
    w: &store::writer::WriterHandle,
    recorder: &mut AnswerRecorder,
    question: &str,
    turn: TurnId,
    io: &mut Io<'_>,
) -> anyhow::Result<(Ended, Streamed)> {
    let mut s = Streamed {
        keywords: Vec::new(),
        cited: Vec::new(),
        statuses: Vec::new(),
        ranked: None,
        stdout_gone: false,
    };
    let mut clean = Sanitizer::default();
    let mut err_out = std::io::stderr();
    let progress = io.progress;
    let ended = loop {
        if io.interrupted.load(Ordering::Relaxed) {
            agent.handle().send(AgentCommand::Cancel(turn));
            break Err(("interrupted".to_string(), MessageStatus::Interrupted));
        }
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(AgentEvent::AnswerDelta { text, .. }) => {
                recorder.push(w, &text);
                if !io.json {
                    let wrote = io
                        .out
                        .write_all(clean.push(&text).as_bytes())
                        .and_then(|_| io.out.flush());
                    match wrote {
                        Ok(()) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                            // Nobody reads the rest: stop the model, keep
                            // what was written, as an interrupted answer.
                            s.stdout_gone = true;
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
            }) => recorder.record_run(w, question, &tree, state, documents, notes),
            Ok(AgentEvent::Retrying { note, .. }) if progress => {
                let _ = writeln!(err_out, "{}", crate::sanitize::one_line(&note));
            }
            Ok(AgentEvent::DeepStep { text, .. }) if progress => {
                let _ = writeln!(err_out, "{}", crate::sanitize::one_line(&text));
            }
            Ok(AgentEvent::Keywords { queries, .. }) => {
                if progress {
                    let _ = writeln!(
                        err_out,
                        "searching: {}",
                        crate::sanitize::one_line(&queries.join(" · "))
                    );
                }
                s.keywords = queries;
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
                s.statuses.push(status);
            }
            Ok(AgentEvent::Ranked {
                sources, analysis, ..
            }) => {
                if progress {
                    let passages: usize = analysis.per_source.iter().map(|r| r.passages).sum();
                    let _ = writeln!(
                        err_out,
                        "ranked {} by how they match the question; using {}",
                        crate::text::plural(passages as u64, "passage"),
                        sources.len()
                    );
                }
                s.cited = sources;
                s.ranked = Some(analysis);
            }
            Ok(AgentEvent::TurnDone { outcome, .. }) => break Ok(outcome),
            Ok(AgentEvent::TurnFailed { error, .. }) => break Err((error, MessageStatus::Error)),
            Ok(_) => {}
            Err(RecvTimeoutError::Timeout) => {
                recorder.checkpoint_if_due(w, std::time::Instant::now())
            }
            Err(RecvTimeoutError::Disconnected) => {
                break Err(("the agent stopped".into(), MessageStatus::Error));
            }
        }
    };
    Ok((ended, s))
}

/// Folds older turns into the session summary, as the app does after an
/// answer, and waits for it (bounded; Ctrl+C stops waiting). A failure
/// leaves the context as it was.
fn fold_summary(
    agent: &agent::AgentThread,
    rx: &mpsc::Receiver<AgentEvent>,
    w: &store::writer::WriterHandle,
    req: crate::agent::summary::SummarizeRequest,
    io: &Io<'_>,
) {
    const WAIT: Duration = Duration::from_secs(60);
    if io.progress {
        let _ = writeln!(std::io::stderr(), "summarizing the session's older turns…");
    }
    agent.handle().send(AgentCommand::Summarize(req));
    let end = std::time::Instant::now() + WAIT;
    while std::time::Instant::now() < end && !io.interrupted.load(Ordering::Relaxed) {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(AgentEvent::Summary {
                session, summary, ..
            }) => {
                w.send(StoreCommand::SetSummary { session, summary });
                return;
            }
            Ok(AgentEvent::SummaryFailed { .. }) | Err(RecvTimeoutError::Disconnected) => return,
            _ => {}
        }
    }
}
