//! Newline-delimited JSON-RPC over a pipe, stricter than the SDK's: a
//! line is capped (a peer cannot grow our memory with an endless line),
//! and a line that is not a message is answered, when we serve, with the
//! JSON-RPC error it deserves (-32700 for text that is not JSON, -32600
//! with the request's id for JSON that is not a valid message) instead of
//! being dropped — a client waiting on that id would otherwise hang. What
//! was wrong is counted, for a client to report about a misbehaving
//! server.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rmcp::service::{RxJsonRpcMessage, ServiceRole, TxJsonRpcMessage};
use rmcp::transport::Transport;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

/// Messages waiting to be read, and lines to be written, at most.
const QUEUE: usize = 64;
/// Requests read whose response is not yet written, at most. Past it the
/// pipe is not read: a peer that writes requests and never reads the
/// answers is held by its own full pipe, and each unanswered request
/// costs nothing here (each cost ~1.2 KB, without end, before).
pub const IN_FLIGHT: usize = 64;

/// The ids of requests read and not yet answered.
#[derive(Default)]
struct Pending {
    ids: std::sync::Mutex<std::collections::HashSet<String>>,
    freed: tokio::sync::Notify,
}

impl Pending {
    fn len(&self) -> usize {
        self.ids.lock().map_or(0, |s| s.len())
    }

    fn insert(&self, id: &Value) {
        if let Ok(mut s) = self.ids.lock() {
            s.insert(id.to_string());
        }
    }

    fn remove(&self, id: &Value) {
        let removed = self.ids.lock().is_ok_and(|mut s| s.remove(&id.to_string()));
        if removed {
            self.freed.notify_waiters();
        }
    }

    /// Waits until fewer than [`IN_FLIGHT`] requests are unanswered.
    async fn room(&self) {
        loop {
            let freed = self.freed.notified();
            if self.len() < IN_FLIGHT {
                return;
            }
            freed.await;
        }
    }
}

/// What the reader saw that was not a message.
#[derive(Debug, Default)]
pub struct Faults {
    pub not_json: AtomicU64,
    pub not_a_message: AtomicU64,
    pub too_long: AtomicU64,
}

impl Faults {
    pub fn total(&self) -> u64 {
        self.not_json.load(Ordering::Relaxed)
            + self.not_a_message.load(Ordering::Relaxed)
            + self.too_long.load(Ordering::Relaxed)
    }

    /// In words, for a progress panel or a log line; None when clean.
    pub fn describe(&self) -> Option<String> {
        let (a, b, c) = (
            self.not_json.load(Ordering::Relaxed),
            self.not_a_message.load(Ordering::Relaxed),
            self.too_long.load(Ordering::Relaxed),
        );
        let mut parts = Vec::new();
        if a > 0 {
            parts.push(format!("{a} line(s) of non-JSON"));
        }
        if b > 0 {
            parts.push(format!("{b} malformed message(s)"));
        }
        if c > 0 {
            parts.push(format!("{c} line(s) over the size cap"));
        }
        (!parts.is_empty()).then(|| parts.join(", "))
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the pipe is closed")]
pub struct Closed;

pub struct LineTransport<R: ServiceRole> {
    incoming: mpsc::Receiver<RxJsonRpcMessage<R>>,
    outgoing: mpsc::Sender<Outgoing>,
    pub faults: Arc<Faults>,
}

/// A line to write, and the request it answers (freed once written).
struct Outgoing {
    line: String,
    answers: Option<Value>,
}

impl<R: ServiceRole> LineTransport<R> {
    /// Reads messages from `read` and writes to `write`, lines capped at
    /// `max_line` bytes. `answer_errors`: reply to bad lines (a server).
    pub fn new<I, O>(read: I, write: O, max_line: usize, answer_errors: bool) -> Self
    where
        I: AsyncRead + Send + Unpin + 'static,
        O: AsyncWrite + Send + Unpin + 'static,
    {
        let (in_tx, incoming) = mpsc::channel(QUEUE);
        let (outgoing, out_rx) = mpsc::channel::<Outgoing>(QUEUE);
        let faults = Arc::new(Faults::default());
        let pending = Arc::new(Pending::default());
        tokio::spawn(write_lines(write, out_rx, Arc::clone(&pending)));
        let replies = answer_errors.then(|| outgoing.clone());
        tokio::spawn(read_lines::<R, I>(
            read,
            max_line,
            in_tx,
            replies,
            Arc::clone(&faults),
            pending,
        ));
        Self {
            incoming,
            outgoing,
            faults,
        }
    }
}

async fn write_lines<O: AsyncWrite + Unpin>(
    mut write: O,
    mut rx: mpsc::Receiver<Outgoing>,
    pending: Arc<Pending>,
) {
    while let Some(out) = rx.recv().await {
        let ok = write.write_all(out.line.as_bytes()).await.is_ok()
            && write.write_all(b"\n").await.is_ok()
            && write.flush().await.is_ok();
        if !ok {
            break;
        }
        if let Some(id) = &out.answers {
            pending.remove(id);
        }
    }
}

async fn read_lines<R: ServiceRole, I: AsyncRead + Unpin>(
    read: I,
    max_line: usize,
    tx: mpsc::Sender<RxJsonRpcMessage<R>>,
    replies: Option<mpsc::Sender<Outgoing>>,
    faults: Arc<Faults>,
    pending: Arc<Pending>,
) {
    let mut read = BufReader::new(read);
    let mut line: Vec<u8> = Vec::new();
    loop {
        pending.room().await;
        match next_line(&mut read, &mut line, max_line).await {
            Line::Eof => break,
            Line::TooLong => {
                faults.too_long.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(max_line, "mcp: a line over the cap was dropped");
                reply(&replies, None, -32600, "message too large").await;
            }
            Line::Full => {
                let text = String::from_utf8_lossy(&line);
                let text = text.trim();
                if text.is_empty() {
                    continue;
                }
                let value: Value = match serde_json::from_str(text) {
                    Ok(v) => v,
                    Err(e) => {
                        faults.not_json.fetch_add(1, Ordering::Relaxed);
                        reply(&replies, None, -32700, &format!("parse error: {e}")).await;
                        continue;
                    }
                };
                let id = value.get("id").cloned();
                let request = value.get("method").is_some();
                // A cancelled request may never be answered: it stops
                // counting against the bound.
                if value.get("method").and_then(Value::as_str) == Some("notifications/cancelled")
                    && let Some(r) = value.pointer("/params/requestId")
                {
                    pending.remove(r);
                }
                match serde_json::from_value::<RxJsonRpcMessage<R>>(value) {
                    Ok(m) => {
                        if request && let Some(id) = &id {
                            pending.insert(id);
                        }
                        if tx.send(m).await.is_err() {
                            break;
                        }
                    }
                    Err(e) => {
                        faults.not_a_message.fetch_add(1, Ordering::Relaxed);
                        let why = format!("invalid request: {e}");
                        reply(&replies, id, -32600, &why).await;
                    }
                }
            }
        }
    }
}

async fn reply(replies: &Option<mpsc::Sender<Outgoing>>, id: Option<Value>, code: i64, msg: &str) {
    if let Some(tx) = replies {
        let mut v = json!({"jsonrpc": "2.0", "error": {"code": code, "message": msg}});
        // Only an id a response may carry (a string or a number).
        if let Some(id) = id.filter(|i| i.is_string() || i.is_number()) {
            v["id"] = id;
        }
        let line = v.to_string();
        let _ = tx
            .send(Outgoing {
                line,
                answers: None,
            })
            .await;
    }
}

enum Line {
    Full,
    TooLong,
    Eof,
}

/// The next line into `buf` (without its newline), never holding more
/// than `max` bytes of it: a longer line is read through and dropped.
async fn next_line<I: AsyncRead + Unpin>(
    read: &mut BufReader<I>,
    buf: &mut Vec<u8>,
    max: usize,
) -> Line {
    buf.clear();
    let mut too_long = false;
    loop {
        let chunk = match read.fill_buf().await {
            Ok(c) => c,
            Err(_) => return Line::Eof,
        };
        if chunk.is_empty() {
            // A last line without a newline still counts.
            return match (buf.is_empty(), too_long) {
                (_, true) => Line::TooLong,
                (true, false) => Line::Eof,
                (false, false) => Line::Full,
            };
        }
        let (take, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (i, true),
            None => (chunk.len(), false),
        };
        if !too_long {
            if buf.len() + take > max {
                too_long = true;
                buf.clear();
            } else {
                buf.extend_from_slice(&chunk[..take]);
            }
        }
        read.consume(if done { take + 1 } else { take });
        if done {
            return if too_long { Line::TooLong } else { Line::Full };
        }
    }
}

impl<R: ServiceRole> Transport<R> for LineTransport<R> {
    type Error = Closed;

    fn send(
        &mut self,
        item: TxJsonRpcMessage<R>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        let tx = self.outgoing.clone();
        // A response or an error answers the request with its id.
        let id = match &item {
            rmcp::model::JsonRpcMessage::Response(r) => Some(&r.id),
            rmcp::model::JsonRpcMessage::Error(e) => e.id.as_ref(),
            _ => None,
        };
        let answers = id.and_then(|id| serde_json::to_value(id).ok());
        let line = serde_json::to_string(&item);
        async move {
            let line = line.map_err(|_| Closed)?;
            tx.send(Outgoing { line, answers })
                .await
                .map_err(|_| Closed)
        }
    }

    fn receive(&mut self) -> impl Future<Output = Option<RxJsonRpcMessage<R>>> + Send {
        self.incoming.recv()
    }

    fn close(&mut self) -> impl Future<Output = Result<(), Self::Error>> + Send {
        self.incoming.close();
        std::future::ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn lines_are_capped_and_the_next_one_is_read() {
        let data = format!("{}\nshort\nlast", "x".repeat(100));
        let mut r = BufReader::new(data.as_bytes());
        let mut buf = Vec::new();
        assert!(matches!(
            next_line(&mut r, &mut buf, 10).await,
            Line::TooLong
        ));
        assert!(matches!(next_line(&mut r, &mut buf, 10).await, Line::Full));
        assert_eq!(buf, b"short");
        assert!(matches!(next_line(&mut r, &mut buf, 10).await, Line::Full));
        assert_eq!(buf, b"last");
        assert!(matches!(next_line(&mut r, &mut buf, 10).await, Line::Eof));
    }
}
