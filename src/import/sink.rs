//! Handing threads to the store writer without outrunning it: at most
//! `WINDOW` conversations wait uncommitted, so memory stays bounded however
//! large the file, while parsing the next ones overlaps the writer's
//! transaction (two threads, two cores).

use std::sync::mpsc::Receiver;

use super::{Skipped, Thread};
use crate::store::{StoreCommand, StoreEvent, WriterHandle};

const WINDOW: u64 = 256;

pub struct Sink {
    writer: WriterHandle,
    events: Receiver<StoreEvent>,
    sent: u64,
    committed: u64,
    /// Conversations handed over, and their messages.
    pub threads: usize,
    pub messages: usize,
    pub skipped: Vec<Skipped>,
}

/// How far the reading is, for a progress bar.
#[derive(Debug, Clone, Copy, Default)]
pub struct Progress {
    pub read: u64,
    pub total: u64,
}

impl Sink {
    /// `events` receives the writer's reports (its emitter's channel).
    pub fn new(writer: WriterHandle, events: Receiver<StoreEvent>) -> Self {
        Self {
            writer,
            events,
            sent: 0,
            committed: 0,
            threads: 0,
            messages: 0,
            skipped: Vec::new(),
        }
    }

    /// Queues one conversation; waits while too many are unwritten. An
    /// error is the writer's: nothing more should be sent.
    pub fn add(&mut self, t: Thread) -> Result<(), String> {
        if t.nodes.is_empty() {
            // An empty conversation is not a session (the apps hide them too).
            self.skipped.push(Skipped {
                at: t.origin,
                reason: "no messages".into(),
            });
            return Ok(());
        }
        let s = t.into_session();
        self.threads += 1;
        self.messages += s.messages.len();
        self.sent = self.writer.send(StoreCommand::Import(Box::new(s)));
        while self.sent.saturating_sub(self.committed) > WINDOW {
            self.wait()?;
        }
        Ok(())
    }

    pub fn skip(&mut self, s: Skipped) {
        self.skipped.push(s);
    }

    /// Waits for everything sent to be committed.
    pub fn finish(&mut self) -> Result<(), String> {
        self.writer.flush()
    }

    fn wait(&mut self) -> Result<(), String> {
        match self.events.recv() {
            Ok(StoreEvent::Committed { seq, .. }) => {
                self.committed = self.committed.max(seq);
                Ok(())
            }
            Ok(StoreEvent::WriteFailed { error, .. }) => Err(error),
            Ok(_) => Ok(()),
            Err(_) => Err("the store writer stopped".into()),
        }
    }
}
