//! `sleuth import chatgpt|claude|llm FILE`: reads the file as a stream,
//! hands each conversation to the store writer, shows progress on a
//! terminal and ends with one summary line (or `--json`).

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::Context;
use rusqlite::Connection;

use crate::emit::Emitter;
use crate::import::{self, Format, Progress, Sink, Skipped, Thread};
use crate::store::{self, writer::WriterOptions};
use crate::text::plural;

#[derive(Debug, serde::Serialize)]
struct Report {
    format: Format,
    file: String,
    /// Conversations read and handed to the store.
    conversations: usize,
    sessions_before: i64,
    sessions_after: i64,
    messages_read: usize,
    messages_added: i64,
    skipped: Vec<Skipped>,
    /// Why reading stopped early (what came before it was imported).
    error: Option<String>,
}

pub fn run(
    db: &Path,
    format: Format,
    file: &Path,
    json: bool,
    out: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    let conn = store::open_writer(db)?;
    // Fewer, larger checkpoints: a bulk load would otherwise copy the WAL
    // back every 4 MB (the default 1,000 pages) while it writes.
    conn.pragma_update(None, "wal_autocheckpoint", 16_000)?;
    let before = counts(&conn, format)?;
    let (tx, events) = mpsc::channel();
    // No recovery file: what could not be written is still in the export,
    // and the same command imports it (nothing is lost, nothing doubled).
    let writer = store::spawn_writer(
        conn,
        WriterOptions {
            recovery: None,
            ..WriterOptions::default()
        },
        Emitter::channel(tx),
    )
    .context("cannot start the store writer")?;
    let mut sink = Sink::new(writer.handle(), events);
    let mut bar = Bar::new(!json && std::io::stderr().is_terminal(), format);
    let read = read(format, file, &mut sink, &mut bar);
    let written = sink.finish();
    drop(writer);
    bar.clear();
    let conn = store::open_reader(db)?;
    let after = counts(&conn, format)?;
    let error = match (read, written) {
        (_, Err(e)) => Some(format!(
            "the database refused the import ({e}); nothing was half-written: run the same command again"
        )),
        (Err(e), Ok(())) => Some(format!("{e:#}")),
        (Ok(()), Ok(())) => None,
    };
    let report = Report {
        format,
        file: file.display().to_string(),
        conversations: sink.threads,
        sessions_before: before.0,
        sessions_after: after.0,
        messages_read: sink.messages,
        messages_added: after.1 - before.1,
        skipped: std::mem::take(&mut sink.skipped),
        error,
    };
    print(&report, json, out)?;
    // Why it stopped goes to stderr, as every failure does (with --json
    // too: the report on stdout carries it as `error`).
    if let Some(e) = &report.error {
        let _ = writeln!(
            std::io::stderr(),
            "sleuth: the import stopped: {}",
            crate::text::sanitize::one_line(e)
        );
    }
    Ok(if report.error.is_some() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Reads the whole file into the sink; an error says where it stopped.
fn read(format: Format, file: &Path, sink: &mut Sink, bar: &mut Bar) -> anyhow::Result<()> {
    let mut failed: Option<String> = None;
    let mut take = |t: Result<Thread, Skipped>, sink: &mut Sink| -> bool {
        match t {
            Ok(t) => match sink.add(t) {
                Ok(()) => true,
                Err(e) => {
                    failed = Some(e);
                    false
                }
            },
            Err(s) => {
                sink.skip(s);
                true
            }
        }
    };
    match format {
        Format::Llm => {
            import::llm::read(file, &mut |t| {
                let go = take(t, sink);
                bar.tick(sink, Progress::default());
                go
            })?;
        }
        Format::Chatgpt | Format::Claude => {
            let parse = match format {
                Format::Chatgpt => import::chatgpt::parse,
                _ => import::claude::parse,
            };
            let mut first_error: Option<Skipped> = None;
            let mut parsed = 0usize;
            let done = json_export(file, &mut |i, raw, progress| {
                let t = parse(raw).map_err(|reason| Skipped {
                    at: format!("conversation {}", i + 1),
                    reason,
                });
                match &t {
                    Ok(_) => parsed += 1,
                    Err(e) if first_error.is_none() => first_error = Some(e.clone()),
                    Err(_) => {}
                }
                let go = take(t, sink);
                bar.tick(sink, progress);
                go
            });
            let n = done.with_context(|| format!("{} stopped making sense", file.display()))?;
            // Not one conversation of the right shape: the wrong file or format.
            if let (0, true, Some(e)) = (parsed, n > 0, first_error) {
                anyhow::bail!(
                    "{} holds no {} conversation ({}: {})",
                    file.display(),
                    format.name(),
                    e.at,
                    e.reason
                );
            }
        }
    }
    match failed {
        Some(e) => anyhow::bail!("{e}"),
        None => Ok(()),
    }
}

/// Every element of the export's conversations.json, with the progress.
fn json_export(
    file: &Path,
    each: &mut dyn FnMut(usize, &str, Progress) -> bool,
) -> anyhow::Result<usize> {
    import::json_array::open(file, "conversations.json", |r, total, read| {
        import::json_array::each_element(r, &mut |i, raw| {
            each(
                i,
                raw.get(),
                Progress {
                    read: read.get(),
                    total,
                },
            )
        })
    })?
    .map_err(|e| {
        let at = if e.is_eof() {
            "the file ends in the middle of a conversation (truncated?)".to_string()
        } else {
            e.to_string()
        };
        anyhow::anyhow!("{at}")
    })
}

/// Sessions from this tool and their messages.
fn counts(conn: &Connection, format: Format) -> anyhow::Result<(i64, i64)> {
    let lo = format!("{}:", format.name());
    let hi = format!("{};", format.name());
    Ok(conn.query_row(
        "SELECT count(*), coalesce(sum(message_count), 0) FROM sessions
         WHERE origin >= ?1 AND origin < ?2",
        [lo, hi],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?)
}

fn print(r: &Report, json: bool, out: &mut dyn Write) -> anyhow::Result<()> {
    if json {
        writeln!(out, "{}", crate::text::sanitize::to_json_pretty(r)?)?;
        return Ok(());
    }
    let new = r.sessions_after - r.sessions_before;
    writeln!(
        out,
        "Imported {} from {}: {} new, {} added ({} already here).",
        plural(r.conversations as u64, "conversation"),
        crate::text::sanitize::one_line(&r.file),
        plural(new.max(0) as u64, "session"),
        plural(r.messages_added.max(0) as u64, "message"),
        (r.messages_read as i64 - r.messages_added).max(0),
    )?;
    if !r.skipped.is_empty() {
        writeln!(
            out,
            "Skipped {}:",
            plural(r.skipped.len() as u64, "conversation")
        )?;
        for s in r.skipped.iter().take(20) {
            writeln!(
                out,
                "  {}: {}",
                crate::text::sanitize::one_line(&s.at),
                crate::text::sanitize::one_line(&s.reason)
            )?;
        }
        if r.skipped.len() > 20 {
            writeln!(out, "  … and {} more", r.skipped.len() - 20)?;
        }
    }
    Ok(())
}

/// A one-line progress bar on stderr, redrawn at most 10 times a second.
struct Bar {
    on: bool,
    format: Format,
    last: Option<Instant>,
}

impl Bar {
    fn new(on: bool, format: Format) -> Self {
        Self {
            on,
            format,
            last: None,
        }
    }

    fn tick(&mut self, sink: &Sink, p: Progress) {
        if !self.on
            || self
                .last
                .is_some_and(|t| t.elapsed() < Duration::from_millis(100))
        {
            return;
        }
        self.last = Some(Instant::now());
        let pct = (p.read * 100)
            .checked_div(p.total)
            .map(|v| format!("{:>3}% ", v.min(100)))
            .unwrap_or_default();
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r\x1b[2Kimporting {}: {pct}{} · {}",
            self.format.name(),
            plural(sink.threads as u64, "conversation"),
            plural(sink.messages as u64, "message"),
        );
        let _ = err.flush();
    }

    fn clear(&mut self) {
        if self.on && self.last.is_some() {
            let _ = write!(std::io::stderr(), "\r\x1b[2K");
        }
    }
}
