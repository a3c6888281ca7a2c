//! Persists one assistant answer while it streams: a `streaming` row at the
//! start, the partial text at most every [`CHECKPOINT_EVERY`], and the final
//! row when the turn ends. Deltas are never written one by one; a kill -9
//! loses at most one checkpoint interval. Used by the TUI and `sleuth ask`.

use std::time::{Duration, Instant};

use crate::domain::{Message, MessageId, MessageStatus, Role, SessionId, Source, Usage};
use crate::store::{StoreCommand, WriterHandle};

pub const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

pub struct AnswerRecorder {
    message: Message,
    last_checkpoint: Instant,
    unsaved: bool,
}

impl AnswerRecorder {
    /// Queues the streaming row. `parent` is the answer this one replaces
    /// (regenerate keeps the old one as a branch).
    pub fn start(
        writer: &WriterHandle,
        session: SessionId,
        parent: Option<MessageId>,
        model: &str,
    ) -> Self {
        let mut message = Message::new(session, Role::Assistant, "");
        message.status = MessageStatus::Streaming;
        message.parent_id = parent;
        message.model = Some(model.to_string());
        writer.send(StoreCommand::AppendMessage(message.clone()));
        Self {
            message,
            last_checkpoint: Instant::now(),
            unsaved: false,
        }
    }

    pub fn id(&self) -> MessageId {
        self.message.id
    }

    pub fn content(&self) -> &str {
        &self.message.content
    }

    pub fn push(&mut self, writer: &WriterHandle, text: &str) {
        self.message.content.push_str(text);
        self.unsaved = true;
        self.checkpoint_if_due(writer, Instant::now());
    }

    /// Writes the partial text if the interval has passed; the UI also
    /// calls this on ticks so a stalled stream still gets saved.
    pub fn checkpoint_if_due(&mut self, writer: &WriterHandle, now: Instant) {
        if self.unsaved && now.duration_since(self.last_checkpoint) >= CHECKPOINT_EVERY {
            writer.send(StoreCommand::Checkpoint {
                id: self.message.id,
                content: self.message.content.clone(),
            });
            self.last_checkpoint = now;
            self.unsaved = false;
        }
    }

    /// Queues the final row and returns it.
    pub fn finish(
        mut self,
        writer: &WriterHandle,
        status: MessageStatus,
        usage: Usage,
        sources: Vec<Source>,
    ) -> Message {
        self.message.status = status;
        self.message.usage = usage;
        writer.send(StoreCommand::FinishTurn {
            message: self.message.clone(),
            sources,
        });
        self.message
    }
}
