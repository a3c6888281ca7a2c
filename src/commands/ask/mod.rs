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

use crate::agent::{self, AgentEvent};
use crate::config::Config;
use crate::conversation::engine::{Failed, Finished};
use crate::conversation::{Conversation, Ports, Step, Stopped};
use crate::domain::Message;
use crate::emit::Emitter;
use crate::store::{self, writer::WriterOptions};
use crate::text::sanitize::Sanitizer;
use anyhow::Context;

mod output;
mod start;

use output::{Printed, exit_code, print_result};
pub use start::{Mode, Start, What, start};

/// How a streamed turn ended.
enum Ended {
    Done(Box<Finished>),
    Failed(Failed),
    /// Stopped here (Ctrl+C, stdout closed): saved as interrupted.
    Stopped {
        message: Message,
        why: String,
    },
}

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
    let mut start = start(&conn, config, db, what)?;
    let writer = start_writer(conn, db)?;
    let w = writer.handle();
    let (tx, rx) = mpsc::channel();
    let agent = agent::spawn_agent(config.clone(), Emitter::channel(tx))
        .context("cannot start the agent")?;
    let agent_handle = agent.handle();
    let p = Ports {
        writer: &w,
        agent: &agent_handle,
    };
    let started = start.begin(p).map_err(|r| anyhow::anyhow!("{}", r.say()))?;
    let model = start.conv.model.clone();
    let run_id = (start.mode == Mode::Deep).then_some(started.answer);
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
    let (ended, mut streamed) = stream(&mut start.conv, &rx, p, &mut io)?;
    let (message, outcome, error) = match ended {
        Ended::Done(f) => {
            streamed.cited = f.sources;
            (f.message, Some(f.outcome), None)
        }
        Ended::Failed(f) => (f.message, None, Some(f.error)),
        Ended::Stopped { message, why } => (message, None, Some(why)),
    };
    let status = message.status;
    if let Some(o) = &outcome {
        if !o.source_status.is_empty() {
            streamed.statuses = o.source_status.clone();
        }
        if !o.keywords.is_empty() {
            streamed.keywords = o.keywords.clone();
        }
        if let Some(n) = &o.notice
            && io.progress
        {
            let _ = writeln!(
                std::io::stderr(),
                "note: {}",
                crate::text::sanitize::one_line(n)
            );
        }
    }
    if !streamed.stdout_gone {
        let printed = Printed {
            session: message.session_id,
            question: &start.question,
            model: &model,
            message: &message,
            outcome: outcome.as_ref(),
            error: error.as_deref(),
            streamed: &streamed,
        };
        print_result(&mut io, &printed)?;
    }
    // Older turns fold into the session summary as they do in the app
    // (the conversation asked for it when the answer completed).
    if start.conv.summarizing() {
        wait_for_summary(&mut start.conv, &rx, p, &io);
    }
    agent.shutdown();
    let saved = w.flush();
    report_unsaved(&saved, writer.shutdown());
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

/// The writer thread on `conn`; writes kept from a run that could not
/// save them go in first.
fn start_writer(
    conn: rusqlite::Connection,
    db: &Path,
) -> anyhow::Result<store::writer::WriterThread> {
    let writer = store::spawn_writer(
        conn,
        WriterOptions {
            recovery: Some(store::recovery::path_for(db)),
            ..WriterOptions::default()
        },
        Emitter::new(|_| {}),
    )
    .context("cannot start the store writer")?;
    match store::recovery::replay(db, &writer.handle()) {
        Ok(0) => {}
        Ok(n) => tracing::info!(n, "saved the writes kept from the last run"),
        Err(e) => {
            let _ = writeln!(
                std::io::stderr(),
                "sleuth: {}",
                crate::text::sanitize::one_line(&e)
            );
        }
    }
    Ok(writer)
}

/// Says on stderr what could not be saved, and where it is kept.
fn report_unsaved(saved: &Result<(), String>, kept: Option<store::writer::Recovered>) {
    if let Err(e) = saved {
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
}

/// Streams the turn's events through the conversation (which records
/// them) and out: the answer to stdout (sanitized), progress to stderr,
/// until it ends, fails or is stopped.
fn stream(
    conv: &mut Conversation,
    rx: &mpsc::Receiver<AgentEvent>,
    p: Ports<'_>,
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
    let ended = loop {
        if io.interrupted.load(Ordering::Relaxed) {
            break stopped(conv, p, "interrupted")?;
        }
        let ev = match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(ev) => ev,
            Err(RecvTimeoutError::Timeout) => {
                conv.tick(p);
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => match conv.abandon("the agent stopped", p) {
                Some(f) => break Ended::Failed(f),
                None => anyhow::bail!("the agent stopped"),
            },
        };
        let step = conv.on_agent(&ev, p);
        if !matches!(step, Step::Progress) {
            match step {
                Step::Done(f) => break Ended::Done(f),
                Step::Failed(f) => break Ended::Failed(f),
                _ => continue,
            }
        }
        show(&ev, &mut s, &mut clean, io)?;
        if s.stdout_gone {
            // Nobody reads the rest: stop the model, keep what was
            // written, as an interrupted answer.
            break stopped(conv, p, "output closed")?;
        }
    };
    Ok((ended, s))
}

/// Stops the turn here; its partial answer is saved as interrupted.
fn stopped(conv: &mut Conversation, p: Ports<'_>, why: &str) -> anyhow::Result<Ended> {
    match conv.stop(p) {
        Stopped::Interrupted { message, .. } => Ok(Ended::Stopped {
            message,
            why: why.to_string(),
        }),
        // The turn streams until Done or Failed ends the loop.
        Stopped::Idle | Stopped::Wrapping { .. } => {
            anyhow::bail!("{why}: the turn had already ended")
        }
    }
}

/// One progress event of the turn, as `ask` shows it.
fn show(
    ev: &AgentEvent,
    s: &mut Streamed,
    clean: &mut Sanitizer,
    io: &mut Io<'_>,
) -> anyhow::Result<()> {
    let progress = io.progress;
    let mut err_out = std::io::stderr();
    match ev {
        AgentEvent::AnswerDelta { text, .. } if !io.json => {
            let wrote = io
                .out
                .write_all(clean.push(text).as_bytes())
                .and_then(|_| io.out.flush());
            match wrote {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => s.stdout_gone = true,
                Err(e) => return Err(e.into()),
            }
        }
        AgentEvent::Retrying { note, .. } | AgentEvent::DeepStep { text: note, .. } if progress => {
            let _ = writeln!(err_out, "{}", crate::text::sanitize::one_line(note));
        }
        AgentEvent::Keywords { queries, .. } => {
            if progress {
                let _ = writeln!(
                    err_out,
                    "searching: {}",
                    crate::text::sanitize::one_line(&queries.join(" · "))
                );
            }
            s.keywords = queries.clone();
        }
        AgentEvent::SourceDone { status, .. } => {
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
            s.statuses.push(status.clone());
        }
        AgentEvent::Ranked {
            sources, analysis, ..
        } => {
            if progress {
                let passages: usize = analysis.per_source.iter().map(|r| r.passages).sum();
                let _ = writeln!(
                    err_out,
                    "ranked {} by how they match the question; using {}",
                    crate::text::plural(passages as u64, "passage"),
                    sources.len()
                );
            }
            s.cited = sources.clone();
            s.ranked = Some(analysis.clone());
        }
        _ => {}
    }
    Ok(())
}

/// Waits for the summary fold the conversation asked for (bounded; Ctrl+C
/// stops waiting); the conversation stores it. A failure leaves the
/// context as it was.
fn wait_for_summary(
    conv: &mut Conversation,
    rx: &mpsc::Receiver<AgentEvent>,
    p: Ports<'_>,
    io: &Io<'_>,
) {
    const WAIT: Duration = Duration::from_secs(60);
    if io.progress {
        let _ = writeln!(std::io::stderr(), "summarizing the session's older turns…");
    }
    let end = std::time::Instant::now() + WAIT;
    while conv.summarizing()
        && std::time::Instant::now() < end
        && !io.interrupted.load(Ordering::Relaxed)
    {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(ev) => {
                conv.on_agent(&ev, p);
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}
