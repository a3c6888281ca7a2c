//! The store writer thread: owns the one writing connection, drains every
//! queued command into one transaction, coalesces streaming checkpoints, and
//! keeps failed batches in memory to retry instead of losing them.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;

use super::watch::Watch;
use super::{StoreError, StoreEvent};
use crate::domain::{
    Message, MessageId, RunDocument, RunNote, RunRecord, RunStatus, Session, SessionId, Source,
};
use crate::emit::Emitter;

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub enum StoreCommand {
    CreateSession(Session),
    /// Insert a message, or replace it if the id exists.
    AppendMessage(Message),
    /// The partial content of a streaming message; only the latest queued
    /// checkpoint of a message is written.
    Checkpoint {
        id: MessageId,
        content: String,
    },
    /// The final message of a turn with its sources (replacing any earlier).
    FinishTurn {
        message: Message,
        sources: Vec<Source>,
    },
    Rename {
        session: SessionId,
        title: String,
    },
    /// A session's own settings (/system, /set, /role, F2).
    SetSettings {
        session: SessionId,
        settings: Box<crate::domain::SessionSettings>,
    },
    SetSummary {
        session: SessionId,
        summary: String,
    },
    /// A finished answer's claim check (replacing any earlier one).
    SetClaims {
        message: crate::domain::MessageId,
        check: Box<crate::domain::claims::ClaimCheck>,
    },
    /// Deletes a session with its messages, sources and index entries.
    Delete {
        session: SessionId,
    },
    /// A deep run's state after a step (inserted or replaced).
    SaveRun(Box<RunRecord>),
    /// Documents a deep run read (its cache for a resume).
    SaveRunDocuments {
        run: MessageId,
        docs: Vec<RunDocument>,
    },
    /// Notes a deep run kept (searchable).
    SaveRunNotes {
        run: MessageId,
        notes: Vec<RunNote>,
    },
    /// How a deep run ended.
    RunStatus {
        run: MessageId,
        status: RunStatus,
    },
    /// A conversation from another tool (added once, however often).
    Import(Box<super::import::ImportedSession>),
    /// Shows the sibling `step` places from `from` (-1 the one before, +1
    /// the one after) instead of it: `from` and what follows it leave the
    /// branch shown; the sibling and its newest continuation join it.
    SwitchBranch {
        from: MessageId,
        step: i8,
    },
    /// `message` and what follows it leave the branch shown (a question
    /// edited, an answer given again, from a rewound conversation).
    Shelve {
        message: MessageId,
    },
}

enum Envelope {
    Write {
        seq: u64,
        cmd: StoreCommand,
    },
    /// Answered once everything queued before it is committed (or failed).
    Flush(Sender<Result<(), String>>),
    Shutdown,
}

#[derive(Debug, Clone)]
pub struct WriterOptions {
    pub busy_timeout: Duration,
    /// First delay before retrying a failed batch; doubles up to `max_backoff`.
    pub retry_backoff: Duration,
    pub max_backoff: Duration,
    /// Silent retries of a busy database before the UI is told.
    pub quiet_busy_retries: u32,
    /// Where writes still unsaved at shutdown go (see `recovery.rs`);
    /// None loses them (tests that want that).
    pub recovery: Option<std::path::PathBuf>,
    /// `PRAGMA quick_check` on the writer's thread before its first write
    /// (so the UI never waits for it): a damaged file is never written.
    pub quick_check: bool,
}

impl Default for WriterOptions {
    fn default() -> Self {
        Self {
            busy_timeout: super::BUSY_TIMEOUT,
            retry_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(5),
            quiet_busy_retries: 3,
            recovery: None,
            quick_check: true,
        }
    }
}

/// The sending side, cheap to clone; any thread may queue writes.
#[derive(Clone)]
pub struct WriterHandle {
    tx: Sender<Envelope>,
    seq: Arc<AtomicU64>,
}

impl WriterHandle {
    /// Queues a write and returns its sequence number; a `Committed` event
    /// with `seq >=` it means it is durable. Never blocks.
    pub fn send(&self, cmd: StoreCommand) -> u64 {
        let seq = self.seq.fetch_add(1, Ordering::Relaxed) + 1;
        if self.tx.send(Envelope::Write { seq, cmd }).is_err() {
            tracing::error!(seq, "store writer is gone; write dropped");
        }
        seq
    }

    /// The sequence number of the newest write queued (0: none yet).
    pub fn last_seq(&self) -> u64 {
        self.seq.load(Ordering::Relaxed)
    }

    /// A handle whose writes go to the returned queue rather than to a
    /// writer thread: the conversation and screens driven in tests with no
    /// threads, their writes read back.
    pub fn detached() -> (Self, DetachedWrites) {
        let (tx, rx) = mpsc::channel();
        let handle = Self {
            tx,
            seq: Arc::new(AtomicU64::new(0)),
        };
        (handle, DetachedWrites(rx))
    }

    /// Blocks until everything queued so far is committed. For the CLI,
    /// shutdown and tests; the UI never calls it.
    pub fn flush(&self) -> Result<(), String> {
        let (tx, rx) = mpsc::channel();
        self.tx
            .send(Envelope::Flush(tx))
            .map_err(|_| "store writer is gone".to_string())?;
        rx.recv().map_err(|_| "store writer stopped".to_string())?
    }
}

/// The writes queued on a detached handle.
pub struct DetachedWrites(Receiver<Envelope>);

impl DetachedWrites {
    /// The writes queued since the last call, in order (a flush is
    /// answered as done).
    pub fn take(&self) -> Vec<StoreCommand> {
        self.0
            .try_iter()
            .filter_map(|e| match e {
                Envelope::Write { cmd, .. } => Some(cmd),
                Envelope::Flush(done) => {
                    let _ = done.send(Ok(()));
                    None
                }
                Envelope::Shutdown => None,
            })
            .collect()
    }
}

/// The writer before its thread starts: lets tests queue commands first.
pub struct WriterWorker {
    rx: Receiver<Envelope>,
    conn: Connection,
    opts: WriterOptions,
    /// Writes the database refused for good since the last flush: a flush
    /// reports them, so nothing refused is ever called saved.
    refused: Vec<String>,
    /// The start-up integrity check is running (shutdown interrupts it).
    checking: Arc<AtomicBool>,
    watch: Watch,
    /// Term counts of committed batches not yet added to the statistics,
    /// and since when.
    deferred: Option<(super::apply::Counted, std::time::Instant)>,
}

pub struct WriterThread {
    handle: WriterHandle,
    join: Option<JoinHandle<Option<Recovered>>>,
    /// Stops the start-up integrity check: it reads the whole file (FTS5
    /// indexes included: ~8 s at a million messages), and quitting must
    /// not wait for it.
    interrupt: rusqlite::InterruptHandle,
    checking: Arc<AtomicBool>,
}

/// Writes that could not be saved before shutdown, kept in a file.
#[derive(Debug, Clone, PartialEq)]
pub struct Recovered {
    pub path: std::path::PathBuf,
    pub writes: usize,
}

impl WriterThread {
    pub fn handle(&self) -> WriterHandle {
        self.handle.clone()
    }

    /// Flushes pending writes and stops the thread. Writes it could not
    /// save are in the recovery file it names.
    pub fn shutdown(mut self) -> Option<Recovered> {
        self.stop()
    }

    fn stop(&mut self) -> Option<Recovered> {
        let _ = self.handle.tx.send(Envelope::Shutdown);
        // Only while the check runs: an interrupt then cannot reach a write.
        if self.checking.load(Ordering::SeqCst) {
            self.interrupt.interrupt();
        }
        let j = self.join.take()?;
        match j.join() {
            Ok(r) => r,
            Err(_) => {
                tracing::error!("store writer thread panicked");
                None
            }
        }
    }
}

impl Drop for WriterThread {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

pub fn channel(conn: Connection, opts: WriterOptions) -> (WriterHandle, WriterWorker) {
    let (tx, rx) = mpsc::channel();
    let handle = WriterHandle {
        tx,
        seq: Arc::new(AtomicU64::new(0)),
    };
    (
        handle,
        WriterWorker {
            rx,
            conn,
            opts,
            refused: Vec::new(),
            checking: Arc::new(AtomicBool::new(false)),
            watch: Watch::default(),
            deferred: None,
        },
    )
}

/// Starts the writer on its own thread with a connection from
/// [`super::open_writer`].
pub fn spawn_writer(
    conn: Connection,
    opts: WriterOptions,
    emit: Emitter<StoreEvent>,
) -> std::io::Result<WriterThread> {
    let (handle, worker) = channel(conn, opts);
    worker.spawn(handle, emit)
}

impl WriterWorker {
    pub fn spawn(
        self,
        handle: WriterHandle,
        emit: Emitter<StoreEvent>,
    ) -> std::io::Result<WriterThread> {
        let interrupt = self.conn.get_interrupt_handle();
        self.checking.store(self.opts.quick_check, Ordering::SeqCst);
        let checking = Arc::clone(&self.checking);
        let join = std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || self.run(&emit))?;
        Ok(WriterThread {
            handle,
            join: Some(join),
            interrupt,
            checking,
        })
    }

    fn run(mut self, emit: &Emitter<StoreEvent>) -> Option<Recovered> {
        if let Err(e) = self.conn.busy_timeout(self.opts.busy_timeout) {
            tracing::warn!(error = %e, "cannot set busy timeout");
        }
        let db = self
            .conn
            .path()
            .filter(|p| !p.is_empty())
            .map(std::path::PathBuf::from);
        let (registration, due) = match &db {
            Some(p) => match super::health::open(p) {
                Ok((r, due)) => (Some(r), due),
                Err(e) => {
                    tracing::warn!(error = %e, "no health record for the database; checking it");
                    (None, Some(super::health::CheckDue::Unknown))
                }
            },
            None => (None, None),
        };
        let damaged = match due.filter(|_| self.opts.quick_check) {
            Some(due) => {
                tracing::info!(
                    why = due.why(),
                    "checking the whole database before writing"
                );
                emit.emit(StoreEvent::IntegrityCheck {
                    why: due.why().into(),
                    done: false,
                });
                let found = integrity_problem(&self.conn);
                if let Some(p) = &db {
                    match &found {
                        Check::Fine => super::health::record_check(p, None, due.why()),
                        Check::Damaged(d) => {
                            super::health::record_check(p, Some(d.clone()), due.why())
                        }
                        Check::Interrupted => {}
                    }
                }
                emit.emit(StoreEvent::IntegrityCheck {
                    why: due.why().into(),
                    done: true,
                });
                match found {
                    Check::Damaged(d) => Some(d),
                    Check::Fine | Check::Interrupted => None,
                }
            }
            None => None,
        };
        self.checking.store(false, Ordering::SeqCst);
        self.watch = Watch::of(db.as_deref(), registration);
        let recovered = self.serve(damaged, emit);
        let WriterWorker { conn, watch, .. } = self;
        watch.close(conn);
        recovered
    }

    fn serve(&mut self, damaged: Option<String>, emit: &Emitter<StoreEvent>) -> Option<Recovered> {
        let mut damaged = damaged;
        if let Some(d) = &damaged {
            tracing::error!(problem = %d, "database damaged; nothing will be written to it");
            self.watch.refused = true;
            emit.emit(StoreEvent::WriteFailed {
                error: d.clone(),
                pending: 0,
            });
        } else {
            // Before the first write: answers a dead sleuth left streaming.
            let held = self.watch.before().ok().flatten();
            let repaired = super::orphans::repair(&mut self.conn);
            self.watch.after(held);
            match repaired {
                Ok(0) => {}
                Ok(n) => tracing::info!(
                    n,
                    "answers left streaming by a stopped sleuth marked interrupted"
                ),
                Err(e) => tracing::warn!(error = %e, "could not check for answers left streaming"),
            }
        }
        // Writes that failed and wait for a retry, oldest first.
        let mut pending: Vec<(u64, StoreCommand)> = Vec::new();
        let mut flushes: Vec<Sender<Result<(), String>>> = Vec::new();
        let mut failures: u32 = 0;
        let mut shutting_down = false;
        // Work done while nothing is queued: the term statistics checked,
        // then rebuilt if they need it.
        let mut idle = if damaged.is_some() {
            Idle::Nothing
        } else {
            Idle::VerifyStats
        };
        loop {
            let first = if !pending.is_empty() {
                self.rx.recv_timeout(self.backoff(failures))
            } else if let Some((_, since)) = &self.deferred {
                match self
                    .rx
                    .recv_timeout(FOLD_AFTER.saturating_sub(since.elapsed()))
                {
                    Ok(env) => Ok(env),
                    Err(RecvTimeoutError::Timeout) => {
                        self.fold();
                        continue;
                    }
                    Err(RecvTimeoutError::Disconnected) => Err(RecvTimeoutError::Disconnected),
                }
            } else if idle != Idle::Nothing {
                match self.rx.try_recv() {
                    Ok(env) => Ok(env),
                    Err(mpsc::TryRecvError::Disconnected) => Err(RecvTimeoutError::Disconnected),
                    Err(mpsc::TryRecvError::Empty) => {
                        match self.watch.before() {
                            Ok(held) => {
                                idle = self.idle_step(idle);
                                self.watch.after(held);
                            }
                            // The next write reports it.
                            Err(_) => idle = Idle::Nothing,
                        }
                        continue;
                    }
                }
            } else {
                self.rx.recv().map_err(|_| RecvTimeoutError::Disconnected)
            };
            match first {
                Ok(env) => Self::take(env, &mut pending, &mut flushes, &mut shutting_down),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => shutting_down = true,
            }
            while let Ok(env) = self.rx.try_recv() {
                Self::take(env, &mut pending, &mut flushes, &mut shutting_down);
            }
            let mut held = None;
            if !pending.is_empty()
                && damaged.is_none()
                && self.watch.wal_lost()
                && let Err(why) = self.renew_wal(emit)
            {
                tracing::error!(problem = %why, "the WAL was removed and could not be renewed; nothing more will be written");
                emit.emit(StoreEvent::WriteFailed {
                    error: why.clone(),
                    pending: pending.len(),
                });
                self.watch.refused = true;
                damaged = Some(why);
            }
            if !pending.is_empty() && damaged.is_none() {
                match self.watch.before() {
                    Ok(h) => held = h,
                    Err(why) => {
                        tracing::error!(problem = %why, "database file changed under the writer; nothing more will be written");
                        emit.emit(StoreEvent::WriteFailed {
                            error: why.clone(),
                            pending: pending.len(),
                        });
                        damaged = Some(why);
                    }
                }
            }
            if !pending.is_empty() && damaged.is_some() {
                // Kept, never written: they go to the recovery file.
                failures = failures.max(3);
            } else if !pending.is_empty() {
                let had_failed = failures > 0;
                let committed = self.commit(&mut pending, emit);
                self.watch.after(held.take());
                match committed {
                    Ok(()) => {
                        failures = 0;
                        if had_failed && let Some(seq) = pending.last().map(|p| p.0) {
                            emit.emit(StoreEvent::WriteRecovered { seq });
                        }
                        pending.clear();
                    }
                    Err(e) if is_corrupt(&e) => {
                        // Never written again this run: kept, then saved
                        // to the recovery file.
                        let d = damaged_words(
                            self.conn.path().unwrap_or("the database"),
                            &e.to_string(),
                        );
                        tracing::error!(error = %e, "database damaged while writing");
                        emit.emit(StoreEvent::WriteFailed {
                            error: d.clone(),
                            pending: pending.len(),
                        });
                        self.watch.refused = true;
                        damaged = Some(d);
                        failures = failures.max(3);
                    }
                    Err(e) => {
                        failures += 1;
                        let busy = e.is_transient()
                            && matches!(&e, StoreError::Sqlite(rusqlite::Error::SqliteFailure(f, _))
                                if matches!(f.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked));
                        tracing::warn!(error = %e, pending = pending.len(), failures, "store write failed; will retry");
                        if !busy || failures > self.opts.quiet_busy_retries {
                            emit.emit(StoreEvent::WriteFailed {
                                error: e.to_string(),
                                pending: pending.len(),
                            });
                        }
                    }
                }
            }
            if pending.is_empty() && (!flushes.is_empty() || shutting_down || self.fold_due()) {
                self.fold();
            }
            if pending.is_empty() {
                let result = match self.refused.len() {
                    0 => Ok(()),
                    n => Err(format!(
                        "{n} write(s) refused by the database: {}",
                        self.refused[0]
                    )),
                };
                if !flushes.is_empty() {
                    self.refused.clear();
                }
                for f in flushes.drain(..) {
                    let _ = f.send(result.clone());
                }
            } else if shutting_down || !flushes.is_empty() {
                // Give a failing database a bounded number of extra tries on
                // shutdown or flush, then report what is still unsaved.
                if failures >= 3 {
                    let msg = match &damaged {
                        Some(d) => format!("{} write(s) not saved: {d}", pending.len()),
                        None => format!("{} write(s) could not be saved", pending.len()),
                    };
                    for f in flushes.drain(..) {
                        let _ = f.send(Err(msg.clone()));
                    }
                }
            }
            if shutting_down && (pending.is_empty() || failures >= 3) {
                if pending.is_empty() {
                    return None;
                }
                let cmds: Vec<StoreCommand> = pending.drain(..).map(|(_, c)| c).collect();
                let Some(path) = self.opts.recovery.clone() else {
                    tracing::error!(
                        lost = cmds.len(),
                        "store writer stopping with unsaved writes"
                    );
                    return None;
                };
                return match super::recovery::save(&path, &cmds) {
                    Ok(()) => {
                        tracing::warn!(kept = cmds.len(), path = %path.display(), "unsaved writes kept for the next start");
                        Some(Recovered {
                            path,
                            writes: cmds.len(),
                        })
                    }
                    Err(e) => {
                        tracing::error!(lost = cmds.len(), error = %e, "cannot write the recovery file");
                        None
                    }
                };
            }
        }
    }

    fn defer(&mut self, counted: super::apply::Counted) {
        match &mut self.deferred {
            Some((d, _)) => d.merge(counted),
            None => self.deferred = Some((counted, std::time::Instant::now())),
        }
    }

    /// Adds the deferred term counts to the stored statistics
    /// ([`FOLD_AFTER`] after the first batch they count, before a flush is
    /// answered, and before stopping). A failure leaves the
    /// statistics marked dirty: the next start rebuilds them.
    /// The WAL was removed (or replaced) under this connection, which
    /// still holds it open: what it holds is copied into the database
    /// through that handle, then the database is opened again, which
    /// starts a new WAL by its name. Nothing committed is lost; nothing
    /// more goes to a file no other connection can see.
    fn renew_wal(&mut self, emit: &Emitter<StoreEvent>) -> Result<(), String> {
        let shown = self.conn.path().unwrap_or("the database").to_string();
        // Counts held for the statistics live in this connection's
        // temporary tables: added before it is left.
        self.fold();
        let held = self.watch.before()?;
        let copied = self
            .conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                r.get::<_, i64>(0)
            })
            .map_err(|e| e.to_string())
            .and_then(|busy| {
                if busy == 0 {
                    Ok(())
                } else {
                    Err("another connection held it".to_string())
                }
            });
        let reopened = copied.and_then(|()| {
            let fresh =
                super::open_writer(std::path::Path::new(&shown)).map_err(|e| e.to_string())?;
            fresh
                .busy_timeout(self.opts.busy_timeout)
                .map_err(|e| e.to_string())?;
            Ok(fresh)
        });
        let result = match reopened {
            Ok(fresh) => {
                let old = std::mem::replace(&mut self.conn, fresh);
                // Its WAL is in the database now; closing it must not
                // remove the new one by name.
                let _ = old.set_db_config(
                    rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
                    true,
                );
                drop(old);
                Ok(())
            }
            Err(e) => Err(format!(
                "the WAL of {shown} was removed while sleuth ran, and what it held could not be saved ({e}); nothing more is written (unsaved writes go to the recovery file)"
            )),
        };
        self.watch.after(held);
        self.watch.wal_renewed();
        if result.is_ok() {
            let what = format!(
                "the WAL of {shown} was removed by another program; its writes were saved into the database and a new WAL started"
            );
            tracing::warn!("{what}");
            emit.emit(StoreEvent::Repaired { what });
        }
        result
    }

    fn fold(&mut self) {
        let Some((counted, _)) = self.deferred.take() else {
            return;
        };
        let held = self.watch.before().ok().flatten();
        if let Err(e) = super::apply::fold(&mut self.conn, counted) {
            tracing::warn!(error = %e, "term statistics not updated; rebuilt at the next start");
        }
        self.watch.after(held);
    }

    fn fold_due(&self) -> bool {
        self.deferred
            .as_ref()
            .is_some_and(|(_, since)| since.elapsed() >= FOLD_AFTER)
    }

    /// One step of idle work (tens of milliseconds at most, so a write
    /// that arrives waits no longer); returns what is left.
    fn idle_step(&mut self, idle: Idle) -> Idle {
        use super::search::stats;
        let next = match idle {
            Idle::Nothing => Ok(Idle::Nothing),
            Idle::VerifyStats => {
                let seed = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64);
                stats::verify(&self.conn, seed).and_then(|ok| {
                    if !ok {
                        tracing::warn!("term statistics are not the index's; rebuilding them");
                        stats::reset(&mut self.conn)?;
                    }
                    Ok(match stats::state(&self.conn)? {
                        Some(st) if st.built_to.is_some() => Idle::RebuildStats,
                        _ => Idle::Nothing,
                    })
                })
            }
            Idle::RebuildStats => stats::rebuild_step(&mut self.conn).map(|done| {
                if done {
                    tracing::info!("term statistics rebuilt");
                    Idle::Nothing
                } else {
                    Idle::RebuildStats
                }
            }),
        };
        next.unwrap_or_else(|e| {
            // Busy (another sleuth writing) or worse: try again at the next
            // start; search counts for itself meanwhile.
            tracing::warn!(error = %e, "term statistics: idle work stopped");
            Idle::Nothing
        })
    }

    fn backoff(&self, failures: u32) -> Duration {
        let exp = self
            .opts
            .retry_backoff
            .saturating_mul(1 << failures.min(8).saturating_sub(1));
        exp.min(self.opts.max_backoff)
    }

    fn take(
        env: Envelope,
        pending: &mut Vec<(u64, StoreCommand)>,
        flushes: &mut Vec<Sender<Result<(), String>>>,
        shutting_down: &mut bool,
    ) {
        match env {
            Envelope::Write { seq, cmd } => pending.push((seq, cmd)),
            Envelope::Flush(tx) => flushes.push(tx),
            Envelope::Shutdown => *shutting_down = true,
        }
    }

    /// Writes everything pending in one transaction. A command the database
    /// rejects for good (not a transient failure) is reported and dropped so
    /// it cannot block the writes behind it.
    fn commit(
        &mut self,
        pending: &mut Vec<(u64, StoreCommand)>,
        emit: &Emitter<StoreEvent>,
    ) -> Result<(), StoreError> {
        coalesce(pending);
        let n = pending.len();
        let seq = pending.last().map(|p| p.0).unwrap_or(0);
        match super::apply::write_batch(&mut self.conn, pending.iter().map(|p| &p.1)) {
            Ok(counted) => {
                self.defer(counted);
                emit.emit(StoreEvent::Committed { seq, commands: n });
                Ok(())
            }
            Err(e) if e.is_transient() || is_corrupt(&e) => Err(e),
            Err(e) => {
                tracing::warn!(error = %e, "batch rejected; writing commands one by one");
                let mut rejected = 0;
                for (s, cmd) in pending.iter() {
                    let written = super::apply::write_batch(&mut self.conn, std::iter::once(cmd));
                    if let Ok(counted) = written {
                        self.defer(counted);
                    } else if let Err(e) = written {
                        if e.is_transient() || is_corrupt(&e) {
                            return Err(e);
                        }
                        rejected += 1;
                        self.refused.push(e.to_string());
                        tracing::error!(seq = s, error = %e, ?cmd, "write rejected");
                        emit.emit(StoreEvent::WriteFailed {
                            error: format!("a write was rejected and dropped: {e}"),
                            pending: 0,
                        });
                    }
                }
                emit.emit(StoreEvent::Committed {
                    seq,
                    commands: n - rejected,
                });
                Ok(())
            }
        }
    }
}

/// Term counts wait at most this long to be added to the statistics: a
/// burst of batches (an import) adds them a few times a second, not once
/// per batch; search meanwhile sees a new word's count a moment late.
const FOLD_AFTER: Duration = Duration::from_millis(250);

/// What the writer does when nothing is queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Idle {
    Nothing,
    VerifyStats,
    RebuildStats,
}

/// What a full check found.
enum Check {
    Fine,
    /// In words, with the recovery hint.
    Damaged(String),
    /// Stopped because sleuth is quitting.
    Interrupted,
}

/// Runs `PRAGMA quick_check` over the whole file.
fn integrity_problem(conn: &Connection) -> Check {
    let path = conn.path().unwrap_or("the database").to_string();
    // The check reads every page: through a small cache, so it does not
    // leave the writer's 32 MB page cache full (resident memory budget).
    let cache: i64 = conn
        .pragma_query_value(None, "cache_size", |r| r.get(0))
        .unwrap_or(-32_000);
    let _ = conn.pragma_update(None, "cache_size", -1000);
    let found: Result<Vec<String>, rusqlite::Error> = conn
        .prepare("PRAGMA quick_check(5)")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect());
    let _ = conn.pragma_update(None, "cache_size", cache);
    let problem = match found {
        Ok(rows) if rows.len() == 1 && rows[0] == "ok" => return Check::Fine,
        Ok(rows) => rows.join("; "),
        // Stopped because sleuth is quitting: nothing was found wrong in
        // what was read, and the file opened and migrated cleanly, so the
        // writes queued so far are saved rather than kept aside.
        Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::OperationInterrupted) => {
            tracing::info!("integrity check stopped: sleuth is quitting");
            return Check::Interrupted;
        }
        Err(e) => e.to_string(),
    };
    Check::Damaged(damaged_words(&path, &problem))
}

fn damaged_words(path: &str, problem: &str) -> String {
    format!(
        "the database {path} is damaged ({problem}); sleuth will not write to it — copy it aside and recover it with `sqlite3 {path} .recover | sqlite3 recovered.db`"
    )
}

/// SQLite found the file damaged (on any page a statement touched).
fn is_corrupt(e: &StoreError) -> bool {
    matches!(
        e,
        StoreError::Sqlite(rusqlite::Error::SqliteFailure(f, _))
            if matches!(f.code, rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase)
    )
}

/// Drops checkpoints superseded by a later checkpoint or final write of the
/// same message, keeping the order of everything else.
fn coalesce(pending: &mut Vec<(u64, StoreCommand)>) {
    let mut last: HashMap<MessageId, usize> = HashMap::new();
    for (i, (_, cmd)) in pending.iter().enumerate() {
        match cmd {
            StoreCommand::Checkpoint { id, .. } => {
                last.insert(*id, i);
            }
            StoreCommand::FinishTurn { message, .. } | StoreCommand::AppendMessage(message) => {
                // A final write supersedes every earlier checkpoint.
                last.insert(message.id, usize::MAX);
            }
            _ => {}
        }
    }
    if last.is_empty() {
        return;
    }
    let mut i = 0;
    pending.retain(|(_, cmd)| {
        let keep = match cmd {
            StoreCommand::Checkpoint { id, .. } => last.get(id).is_none_or(|&j| j == i),
            _ => true,
        };
        i += 1;
        keep
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Role, SessionId};

    fn cp(seq: u64, id: MessageId, s: &str) -> (u64, StoreCommand) {
        (
            seq,
            StoreCommand::Checkpoint {
                id,
                content: s.into(),
            },
        )
    }

    #[test]
    fn coalesce_keeps_only_the_latest_checkpoint_per_message() {
        let a = MessageId::new();
        let b = MessageId::new();
        let mut v = vec![
            cp(1, a, "a1"),
            cp(2, b, "b1"),
            cp(3, a, "a2"),
            cp(4, b, "b2"),
            cp(5, a, "a3"),
        ];
        coalesce(&mut v);
        let kept: Vec<u64> = v.iter().map(|p| p.0).collect();
        assert_eq!(kept, vec![4, 5]);
    }

    #[test]
    fn coalesce_drops_checkpoints_before_a_final_write() {
        let s = SessionId::new();
        let mut m = Message::new(s, Role::Assistant, "final");
        m.id = MessageId::new();
        let mut v = vec![
            cp(1, m.id, "partial"),
            (
                2,
                StoreCommand::FinishTurn {
                    message: m.clone(),
                    sources: vec![],
                },
            ),
        ];
        coalesce(&mut v);
        assert_eq!(v.len(), 1);
        assert!(matches!(v[0].1, StoreCommand::FinishTurn { .. }));
    }
}
