//! The search thread: its own read-only connection, so typing never waits
//! behind a page or transcript read and a superseded query can be
//! interrupted without touching anything else.
//!
//! Every keystroke sends a query with a newer request id. Sending marks it
//! the latest and interrupts the running SQLite statement (it is older by
//! construction); the thread skips queued queries that are no longer the
//! latest and never sends results of one that was superseded while it ran.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::{Connection, InterruptHandle};

use super::{CANDIDATES, DEEP_CANDIDATES, Query, TermDict, search_pass};
use crate::domain::RequestId;
use crate::emit::Emitter;
use crate::store::{StoreError, StoreEvent, open_reader};

/// The dictionary is read again after this long (new words appear in
/// prefix completions and statistics after at most this delay).
const DICT_MAX_AGE: Duration = Duration::from_secs(300);

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
    dict: Mutex<Option<(Arc<TermDict>, Instant)>>,
    loading: AtomicBool,
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

    /// True once the term dictionary has been read (tests and benches).
    pub fn dictionary_ready(&self) -> bool {
        self.shared
            .dict
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some()
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

/// Starts the search thread and reads the term dictionary in the
/// background at once (~1.3 s at 1M messages), so it is there by the time
/// the user types; until then searches use capped counts (slower on
/// common prefixes, same results).
pub fn spawn_search(path: PathBuf, emit: Emitter<StoreEvent>) -> std::io::Result<SearchThread> {
    let (tx, rx) = mpsc::channel();
    let shared = Arc::new(Shared::default());
    refresh_dict(&path, &shared);
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
        refresh_dict(path, shared);
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
    let dict = shared
        .dict
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .as_ref()
        .map(|(d, _)| Arc::clone(d));
    *shared
        .running
        .lock()
        .unwrap_or_else(PoisonError::into_inner) = Some(conn.get_interrupt_handle());
    let superseded = || req.0 < shared.latest.load(Ordering::SeqCst);
    let out = if superseded() {
        Err(StoreError::Cancelled)
    } else {
        search_pass(conn, &q, limit, dict.as_deref(), &superseded, depth)
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

/// Reads the dictionary on a thread of its own when there is none or it
/// is old; searches go on with the old one (or none) meanwhile.
fn refresh_dict(path: &Path, shared: &Arc<Shared>) {
    let stale = shared
        .dict
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .as_ref()
        .is_none_or(|(_, at)| at.elapsed() > DICT_MAX_AGE);
    if !stale || shared.loading.swap(true, Ordering::SeqCst) {
        return;
    }
    let path = path.to_path_buf();
    let s = Arc::clone(shared);
    let spawned = std::thread::Builder::new()
        .name("store-terms".into())
        .spawn(move || {
            let t = Instant::now();
            match open_reader(&path).and_then(|c| TermDict::load(&c)) {
                Ok(d) => {
                    tracing::info!(
                        terms = d.len(),
                        ms = t.elapsed().as_millis() as u64,
                        "term dictionary read"
                    );
                    *s.dict.lock().unwrap_or_else(PoisonError::into_inner) =
                        Some((Arc::new(d), Instant::now()));
                }
                Err(e) => tracing::warn!(error = %e, "term dictionary not read"),
            }
            s.loading.store(false, Ordering::SeqCst);
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "cannot start the dictionary thread");
        shared.loading.store(false, Ordering::SeqCst);
    }
}
