//! A reader thread with its own read-only connection: answers page,
//! transcript and lookup requests off the main thread, echoing request ids.

use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::JoinHandle;

use rusqlite::Connection;

use super::{StoreError, StoreEvent, queries};
use crate::domain::{MessageId, RequestId, SessionId};
use crate::emit::Emitter;

#[derive(Debug, Clone)]
pub enum ReadRequest {
    SessionsPage {
        req: RequestId,
        offset: usize,
        limit: usize,
        filter: Option<String>,
    },
    Transcript {
        req: RequestId,
        session: SessionId,
    },
    Message {
        req: RequestId,
        id: MessageId,
    },
    /// The last messages of a session, for the sessions screen.
    Preview {
        req: RequestId,
        session: SessionId,
        last: usize,
    },
    /// A deep run to resume: its state, report message and documents.
    Run {
        req: RequestId,
        id: MessageId,
    },
    /// Earlier questions for prompt recall, newest first (older than
    /// `before` when given).
    Questions {
        req: RequestId,
        before: Option<MessageId>,
        limit: usize,
        /// Only questions with these words (the Ctrl+R search).
        matching: Option<String>,
    },
    /// Writes the session as Markdown (with sources) into `dir`.
    Export {
        req: RequestId,
        session: SessionId,
        dir: PathBuf,
    },
}

impl ReadRequest {
    fn req(&self) -> RequestId {
        match self {
            ReadRequest::SessionsPage { req, .. }
            | ReadRequest::Transcript { req, .. }
            | ReadRequest::Message { req, .. }
            | ReadRequest::Preview { req, .. }
            | ReadRequest::Run { req, .. }
            | ReadRequest::Questions { req, .. }
            | ReadRequest::Export { req, .. } => *req,
        }
    }

    /// Requests of the same kind supersede each other while queued.
    fn same_kind(&self, other: &ReadRequest) -> bool {
        // A search of questions and a page of them for ↑ are two kinds.
        let search = |r: &ReadRequest| {
            matches!(
                r,
                ReadRequest::Questions {
                    matching: Some(_),
                    ..
                }
            )
        };
        std::mem::discriminant(self) == std::mem::discriminant(other)
            && search(self) == search(other)
            && !matches!(
                self,
                ReadRequest::Message { .. } | ReadRequest::Export { .. }
            )
    }
}

enum Envelope {
    Read(ReadRequest),
    Shutdown,
}

#[derive(Clone)]
pub struct ReaderHandle {
    tx: Sender<Envelope>,
}

impl ReaderHandle {
    pub fn request(&self, r: ReadRequest) {
        if self.tx.send(Envelope::Read(r)).is_err() {
            tracing::error!("store reader is gone");
        }
    }
}

pub struct ReaderThread {
    handle: ReaderHandle,
    join: Option<JoinHandle<()>>,
}

impl ReaderThread {
    pub fn handle(&self) -> ReaderHandle {
        self.handle.clone()
    }
}

impl Drop for ReaderThread {
    fn drop(&mut self) {
        let _ = self.handle.tx.send(Envelope::Shutdown);
        if let Some(j) = self.join.take()
            && j.join().is_err()
        {
            tracing::error!("store reader thread panicked");
        }
    }
}

pub fn spawn_reader(path: PathBuf, emit: Emitter<StoreEvent>) -> std::io::Result<ReaderThread> {
    let (tx, rx) = mpsc::channel();
    let join = std::thread::Builder::new()
        .name("store-reader".into())
        .spawn(move || run(&path, &rx, &emit))?;
    Ok(ReaderThread {
        handle: ReaderHandle { tx },
        join: Some(join),
    })
}

fn run(path: &std::path::Path, rx: &Receiver<Envelope>, emit: &Emitter<StoreEvent>) {
    let mut conn: Option<Connection> = None;
    while let Ok(first) = rx.recv() {
        let mut batch = Vec::new();
        let mut stop = false;
        for env in std::iter::once(first).chain(std::iter::from_fn(|| rx.try_recv().ok())) {
            match env {
                Envelope::Read(r) => {
                    // The last queued request of a kind wins.
                    batch.retain(|q: &ReadRequest| !q.same_kind(&r));
                    batch.push(r);
                }
                Envelope::Shutdown => stop = true,
            }
        }
        for r in batch {
            let req = r.req();
            let result = match &mut conn {
                Some(c) => answer(c, r),
                None => match super::open_reader(path) {
                    Ok(c) => answer(conn.insert(c), r),
                    Err(e) => Err(e),
                },
            };
            match result {
                Ok(ev) => emit.emit(ev),
                Err(e) => {
                    tracing::warn!(error = %e, "read failed");
                    emit.emit(StoreEvent::ReadFailed {
                        req,
                        error: e.to_string(),
                    });
                }
            }
        }
        if stop {
            return;
        }
    }
}

fn answer(conn: &Connection, r: ReadRequest) -> Result<StoreEvent, StoreError> {
    Ok(match r {
        ReadRequest::SessionsPage {
            req,
            offset,
            limit,
            filter,
        } => {
            // One extra row tells whether another page exists.
            let mut sessions = queries::list_sessions(conn, offset, limit + 1, filter.as_deref())?;
            let has_more = sessions.len() > limit;
            sessions.truncate(limit);
            let total = if offset == 0 {
                Some(queries::count_matching_sessions(conn, filter.as_deref())?)
            } else {
                None
            };
            StoreEvent::SessionsPage {
                req,
                offset,
                sessions,
                has_more,
                total,
            }
        }
        ReadRequest::Transcript { req, session } => StoreEvent::Transcript {
            req,
            session: queries::get_session(conn, session)?
                .ok_or_else(|| StoreError::NoSession(session.to_string()))?,
            messages: queries::transcript(conn, session)?,
            runs: super::runs::trees(conn, session)?,
        },
        ReadRequest::Message { req, id } => StoreEvent::MessageFound {
            req,
            message: queries::get_message(conn, id)?,
        },
        ReadRequest::Run { req, id } => {
            let record = super::runs::load(conn, id)?;
            let message = queries::get_message(conn, id)?;
            let run = match (record, message) {
                (Some(record), Some(message)) => Some(Box::new(super::StoredRun {
                    documents: super::runs::documents(conn, id)?,
                    record,
                    message,
                })),
                _ => None,
            };
            StoreEvent::RunLoaded { req, run }
        }
        ReadRequest::Preview { req, session, last } => StoreEvent::Preview {
            req,
            session,
            messages: queries::recent_messages(conn, session, last)?,
        },
        ReadRequest::Questions {
            req,
            before,
            limit,
            matching,
        } => {
            let (questions, exhausted) = match matching.as_deref().map(str::trim) {
                Some(words) if !words.is_empty() => {
                    (queries::find_questions(conn, words, limit)?, true)
                }
                _ => queries::recent_questions(conn, before, limit)?,
            };
            StoreEvent::Questions {
                req,
                questions,
                exhausted,
            }
        }
        ReadRequest::Export { req, session, dir } => {
            let s = queries::get_session(conn, session)?
                .ok_or_else(|| StoreError::NoSession(session.to_string()))?;
            let md = crate::export::markdown(
                &s,
                &queries::transcript(conn, session)?,
                queries::other_branches(conn, session)?,
            );
            let path = dir.join(crate::export::file_name(&s));
            std::fs::write(&path, md).map_err(|e| StoreError::Export {
                path: path.clone(),
                reason: e.to_string(),
            })?;
            StoreEvent::Exported { req, path }
        }
    })
}
