//! The search thread: its own read-only connection, so typing never waits
//! behind a page or transcript read and a superseded query can be
//! interrupted without touching anything else.
//!
//! Every keystroke sends a query with a newer request id. Sending marks it
//! the latest and interrupts the running SQLite statement (it is older by
//! construction); the thread skips queued queries that are no longer the
//! latest and never sends results of one that was superseded while it ran.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use rusqlite::{Connection, InterruptHandle};

use super::{CANDIDATES, DEEP_CANDIDATES, Query, Statistics, search_pass};
use crate::domain::RequestId;
use crate::emit::Emitter;
use crate::store::{StoreError, StoreEvent, open_reader};

enum Msg {
    Query {
        req: RequestId,
        text: String,
        limit: usize,
    },
    Shutdown,
}

#[derive(Default)]
struct Shared {
    latest: AtomicU64,
    /// The interrupt handle of the connection while a query runs.
    running: Mutex<Option<InterruptHandle>>,
}

#[derive(Clone)]
pub struct SearchHandle {
    tx: Sender<Msg>,
    shared: Arc<Shared>,
}

impl SearchHandle {
    /// Searches for what the user typed (the last word is a prefix).
    /// Supersedes every earlier query: it is interrupted if it is running
    /// and its results are dropped.
    pub fn search(&self, req: RequestId, text: String, limit: usize) {
        self.shared.latest.fetch_max(req.0, Ordering::SeqCst);
        if let Some(h) = self
            .shared
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
        {
            h.interrupt();
        }
        if self.tx.send(Msg::Query { req, text, limit }).is_err() {
            tracing::error!("search thread is gone");
        }
    }
}

pub struct SearchThread {
    handle: SearchHandle,
    join: Option<JoinHandle<()>>,
}

impl SearchThread {
    pub fn handle(&self) -> SearchHandle {
        self.handle.clone()
    }
}

impl Drop for SearchThread {
    fn drop(&mut self) {
        let _ = self.handle.tx.send(Msg::Shutdown);
        if let Some(h) = self
            .handle
            .shared
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
        {
            h.interrupt();
        }
        if let Some(j) = self.join.take()
            && j.join().is_err()
        {
            tracing::error!("search thread panicked");
        }
    }
}

/// Starts the search thread. It reads the term statistics the writer
/// keeps, so the first keystroke is as fast as any.
pub fn spawn_search(path: PathBuf, emit: Emitter<StoreEvent>) -> std::io::Result<SearchThread> {
    let (tx, rx) = mpsc::channel();
    let shared = Arc::new(Shared::default());
    let s = Arc::clone(&shared);
    let join = std::thread::Builder::new()
        .name("store-search".into())
        .spawn(move || run(&path, &rx, &s, &emit))?;
    Ok(SearchThread {
        handle: SearchHandle { tx, shared },
        join: Some(join),
    })
}

fn run(path: &Path, rx: &Receiver<Msg>, shared: &Arc<Shared>, emit: &Emitter<StoreEvent>) {
    let mut conn: Option<Connection> = None;
    while let Ok(first) = rx.recv() {
        // Only the newest queued query matters.
        let mut newest = None;
        for m in std::iter::once(first).chain(std::iter::from_fn(|| rx.try_recv().ok())) {
            match m {
                Msg::Shutdown => return,
                q @ Msg::Query { .. } => newest = Some(q),
            }
        }
        let Some(Msg::Query { req, text, limit }) = newest else {
            continue;
        };
        if req.0 < shared.latest.load(Ordering::SeqCst) {
            continue;
        }
        let c = match &conn {
            Some(c) => c,
            None => match open_reader(path) {
                Ok(c) => conn.insert(c),
                Err(e) => {
                    emit.emit(results(req, text, Vec::new(), Some(e.to_string()), false));
                    continue;
                }
            },
        };
        let mut depth = CANDIDATES;
        loop {
            let outcome = run_one(c, shared, req, &text, limit, depth);
            // Late results of a superseded query are dropped here; the UI
            // also checks the request id.
            if req.0 < shared.latest.load(Ordering::SeqCst) {
                break;
            }
            let refined = depth > CANDIDATES;
            match outcome {
                Ok((hits, saturated)) => {
                    emit.emit(results(req, text.clone(), hits, None, refined));
                    // The first page ranked the newest matches; when there
                    // were more, rank many more in the background (the next
                    // keystroke interrupts it) and send the better page.
                    if saturated && !refined {
                        depth = DEEP_CANDIDATES;
                        continue;
                    }
                }
                Err(e) if is_interrupt(&e) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "search failed");
                    if !refined {
                        emit.emit(results(
                            req,
                            text.clone(),
                            Vec::new(),
                            Some(e.to_string()),
                            false,
                        ));
                    }
                }
            }
            break;
        }
    }
}

fn results(
    req: RequestId,
    query: String,
    hits: Vec<super::Hit>,
    error: Option<String>,
    refined: bool,
) -> StoreEvent {
    StoreEvent::SearchResults {
        req,
        query,
        hits,
        error,
        refined,
    }
}

fn run_one(
    conn: &Connection,
    shared: &Shared,
    req: RequestId,
    text: &str,
    limit: usize,
    depth: usize,
) -> Result<(Vec<super::Hit>, bool), StoreError> {
    let q = match Query::parse(text, true) {
        Ok(q) => q,
        // The query language explains itself; not a database error.
        Err(words) => return Err(StoreError::BadQuery(words)),
    };
    if q.fts().is_none() {
        return Err(StoreError::BadQuery(nothing_to_search(&q)));
    }
    *shared
        .running
        .lock()
        .unwrap_or_else(PoisonError::into_inner) = Some(conn.get_interrupt_handle());
    let superseded = || req.0 < shared.latest.load(Ordering::SeqCst);
    let out = if superseded() {
        Err(StoreError::Cancelled)
    } else {
        search_pass(conn, &q, limit, Statistics::Stored, &superseded, depth)
    };
    *shared
        .running
        .lock()
        .unwrap_or_else(PoisonError::into_inner) = None;
    out
}

/// Why a query with no positive term finds nothing, in words.
fn nothing_to_search(q: &Query) -> String {
    if q.exclude.is_empty() && q.role.is_none() && q.session.is_none() {
        "keep typing: one letter would match most of history".into()
    } else {
        "add a word to search for: -word, role:, session: and dates only narrow a search".into()
    }
}

fn is_interrupt(e: &StoreError) -> bool {
    match e {
        StoreError::Cancelled => true,
        StoreError::Sqlite(rusqlite::Error::SqliteFailure(f, _)) => {
            f.code == rusqlite::ErrorCode::OperationInterrupted
        }
        _ => false,
    }
}
