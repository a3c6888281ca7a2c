//! `sleuth ask`: one turn from the command line. The answer streams to
//! stdout as it arrives (sanitized); progress goes to stderr only when it
//! is a terminal; the turn is saved like one asked in the app (it runs in
//! `commands::turn`, which `sleuth mcp`'s research tool shares).

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use crate::agent::AgentEvent;
use crate::config::Config;
use crate::store::writer::Recovered;
use crate::text::sanitize::{Sanitizer, one_line};

use super::turn::{Flow, Observer, Runner};

mod output;
mod start;

use output::{exit_code, print_result};
pub use start::{Mode, Start, What, start};

/// Where the turn's output goes.
pub(super) struct Io<'a> {
    out: &'a mut dyn Write,
    json: bool,
    /// Progress lines on stderr (a terminal, not `--json`).
    progress: bool,
    clean: Sanitizer,
    /// The first write error other than a closed pipe.
    failed: Option<std::io::Error>,
}

impl Observer for Io<'_> {
    fn event(&mut self, ev: &AgentEvent) -> Flow {
        show(ev, self)
    }

    fn note(&mut self, text: &str) {
        if self.progress {
            let _ = writeln!(std::io::stderr(), "{text}");
        }
    }
}

pub fn run(
    config: &Config,
    db: &Path,
    what: What,
    json_out: bool,
    out: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    let mut runner = Runner::start(config, db, what)?;
    if let Some(e) = &runner.replay_error {
        let _ = writeln!(std::io::stderr(), "sleuth: {e}");
    }
    let mut io = Io {
        out,
        json: json_out,
        progress: std::io::stderr().is_terminal() && !json_out,
        clean: Sanitizer::default(),
        failed: None,
    };
    if io.progress {
        let _ = writeln!(
            std::io::stderr(),
            "asking {} {} …",
            config.provider.kind.as_str(),
            runner.model()
        );
    }
    // Ctrl+C, a closed terminal and `kill` all stop the turn the same way:
    // the partial answer is saved as interrupted, never left "streaming".
    let interrupted = Arc::new(AtomicBool::new(false));
    for sig in [
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
    ] {
        let _ = signal_hook::flag::register(sig, Arc::clone(&interrupted));
    }
    let report = runner.stream(&mut io, &interrupted)?;
    if let Some(n) = report.outcome.as_ref().and_then(|o| o.notice.as_ref())
        && io.progress
    {
        let _ = writeln!(std::io::stderr(), "note: {}", one_line(n));
    }
    if !report.stopped_by_reader {
        print_result(&mut io, &report)?;
    }
    // Older turns fold into the session summary as they do in the app
    // (after the answer is out: nobody waits for it to read it).
    let (saved, kept) = runner.finish(&mut io, &interrupted);
    report_unsaved(&saved, kept);
    if let Some(e) = io.failed.take() {
        return Err(anyhow::Error::new(e).context("cannot write the answer (saved as interrupted)"));
    }
    if report.stopped_by_reader {
        // Saved as interrupted; nothing more to say to a reader that left.
        return Ok(if saved.is_ok() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        });
    }
    if report.outcome.as_ref().is_some_and(|o| o.cut_by_length()) {
        let _ = writeln!(
            std::io::stderr(),
            "sleuth: the answer was cut off at the model's token limit"
        );
    }
    Ok(exit_code(&report, saved.is_ok()))
}

/// Says on stderr what could not be saved, and where it is kept.
fn report_unsaved(saved: &Result<(), String>, kept: Option<Recovered>) {
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

/// One event of the turn, as `ask` shows it: the answer on stdout,
/// progress on stderr. A closed stdout stops the turn.
fn show(ev: &AgentEvent, io: &mut Io<'_>) -> Flow {
    let mut err_out = std::io::stderr();
    let progress = io.progress;
    match ev {
        AgentEvent::AnswerDelta { text, .. } if !io.json => {
            let text = io.clean.push(text);
            match io
                .out
                .write_all(text.as_bytes())
                .and_then(|_| io.out.flush())
            {
                Ok(()) => {}
                // Nobody reads the rest: stop the model, keep what was
                // written, as an interrupted answer.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                    return Flow::Stop("output closed");
                }
                Err(e) => {
                    io.failed = Some(e);
                    return Flow::Stop("cannot write the answer");
                }
            }
        }
        AgentEvent::Retrying { note, .. } | AgentEvent::DeepStep { text: note, .. } if progress => {
            let _ = writeln!(err_out, "{}", one_line(note));
        }
        AgentEvent::Keywords { queries, .. } if progress => {
            let _ = writeln!(err_out, "searching: {}", one_line(&queries.join(" · ")));
        }
        AgentEvent::SourceDone { status, .. } if progress => {
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
        AgentEvent::Ranked {
            sources, analysis, ..
        } if progress => {
            let passages: usize = analysis.per_source.iter().map(|r| r.passages).sum();
            let _ = writeln!(
                err_out,
                "ranked {} by how they match the question; using {}",
                crate::text::plural(passages as u64, "passage"),
                sources.len()
            );
        }
        _ => {}
    }
    Flow::Continue
}
