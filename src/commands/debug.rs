//! Hidden developer commands.

use std::io::Write;
use std::path::Path;
use std::sync::mpsc;

use crate::domain::{Message, Role, Session, SessionId, now_ms};
use crate::emit::Emitter;
use crate::store::{self, StoreCommand, StoreEvent, writer::WriterOptions};

/// Writes messages through the real writer thread and prints each message
/// id on stdout once the writer reports it committed. A test that kills this
/// process can then check that every printed id survived.
pub fn write_loop(db: &Path, count: u64, size: usize, out: &mut dyn Write) -> anyhow::Result<()> {
    let conn = store::open_writer(db)?;
    let (tx, rx) = mpsc::channel();
    let writer = store::spawn_writer(conn, WriterOptions::default(), Emitter::channel(tx))?;
    let handle = writer.handle();
    let session = Session {
        id: SessionId::new(),
        created_at: now_ms(),
        updated_at: now_ms(),
        title: format!("write-loop {}", std::process::id()),
        summary: None,
        model: None,
        origin: None,
        settings: Default::default(),
    };
    handle.send(StoreCommand::CreateSession(session.clone()));
    let body: String = "lorem ipsum dolor sit amet "
        .chars()
        .cycle()
        .take(size)
        .collect();
    let mut in_flight: Vec<(u64, i64)> = Vec::new();
    let mut i: u64 = 0;
    loop {
        if count > 0 && i >= count {
            break;
        }
        // A few writes at a time, so batches form as they do in the app.
        for _ in 0..8 {
            if count > 0 && i >= count {
                break;
            }
            let m = Message::new(session.id, Role::User, format!("{i} {body}"));
            let seq = handle.send(StoreCommand::AppendMessage(m.clone()));
            in_flight.push((seq, m.id.0));
            i += 1;
        }
        match rx.recv()? {
            StoreEvent::Committed { seq, .. } => {
                let (done, rest): (Vec<_>, Vec<_>) =
                    in_flight.into_iter().partition(|(s, _)| *s <= seq);
                in_flight = rest;
                for (_, id) in done {
                    writeln!(out, "{id}")?;
                }
                out.flush()?;
            }
            StoreEvent::WriteFailed { error, .. } => {
                let _ = writeln!(std::io::stderr(), "write failed (will retry): {error}");
            }
            _ => {}
        }
    }
    // After a successful flush everything still in flight is durable.
    handle.flush().map_err(anyhow::Error::msg)?;
    for (_, id) in in_flight {
        writeln!(out, "{id}")?;
    }
    writer.shutdown();
    Ok(())
}

/// Writes a synthetic history through the writer, a session at a time,
/// flushing every ~50k messages to bound memory.
pub fn generate(
    db: &Path,
    sessions: u64,
    messages: u64,
    seed: u64,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let conn = store::open_writer(db)?;
    let (tx, rx) = mpsc::channel();
    let writer = store::spawn_writer(conn, WriterOptions::default(), Emitter::channel(tx))?;
    let handle = writer.handle();
    let started = std::time::Instant::now();
    let mut g = crate::dev::synth::Generator::new(seed, sessions, messages);
    let mut since_flush = 0usize;
    while let Some(cmds) = g.next_session() {
        since_flush += cmds.len();
        for c in cmds {
            handle.send(c);
        }
        if since_flush >= 50_000 {
            handle.flush().map_err(anyhow::Error::msg)?;
            since_flush = 0;
        }
    }
    handle.flush().map_err(anyhow::Error::msg)?;
    writer.shutdown();
    if let Some(StoreEvent::WriteFailed { error, .. }) = rx
        .try_iter()
        .find(|e| matches!(e, StoreEvent::WriteFailed { .. }))
    {
        anyhow::bail!("generation failed: {error}");
    }
    let secs = started.elapsed().as_secs_f64();
    writeln!(
        out,
        "generated {messages} messages in {sessions} sessions in {secs:.1} s ({:.0} messages/s)",
        messages as f64 / secs.max(1e-9)
    )?;
    Ok(())
}
