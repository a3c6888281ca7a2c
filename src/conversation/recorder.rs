//! Persists one assistant answer while it streams: a `streaming` row at the
//! start, the partial text at most every [`CHECKPOINT_EVERY`], and the final
//! row when the turn ends. Deltas are never written one by one; a kill -9
//! loses at most one checkpoint interval. Used by the TUI and `sleuth ask`.

use std::time::{Duration, Instant};

use crate::domain::{
    Message, MessageId, MessageStatus, Role, RunDocument, RunNote, RunRecord, RunStatus, RunTree,
    SessionId, Source, Usage,
};
use crate::store::{StoreCommand, WriterHandle};

pub const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

pub struct AnswerRecorder {
    message: Message,
    last_checkpoint: Instant,
    unsaved: bool,
    /// This answer is a deep run's report and its run is stored.
    run: bool,
}

impl AnswerRecorder {
    /// Queues the streaming row. `parent` is the question it answers
    /// (another answer to it, regenerated away, stays as a branch).
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
            run: false,
        }
    }

    /// Continues a stored deep run: its report message is written anew
    /// (same id, so the run and the transcript keep their place).
    pub fn resume(writer: &WriterHandle, mut message: Message, model: &str) -> Self {
        message.content.clear();
        message.status = MessageStatus::Streaming;
        message.model = Some(model.to_string());
        message.usage = Usage::default();
        writer.send(StoreCommand::AppendMessage(message.clone()));
        Self {
            message,
            last_checkpoint: Instant::now(),
            unsaved: false,
            run: true,
        }
    }

    /// Stores a deep run's step: its state and tree, and the documents
    /// read since the last step.
    pub fn record_run(
        &mut self,
        writer: &WriterHandle,
        question: &str,
        tree: &RunTree,
        state: Option<String>,
        documents: Vec<RunDocument>,
        notes: Vec<RunNote>,
    ) {
        if let Some(state) = state {
            self.run = true;
            writer.send(StoreCommand::SaveRun(Box::new(RunRecord {
                id: self.message.id,
                session: self.message.session_id,
                question: question.to_string(),
                status: RunStatus::Running,
                state,
                tree: tree.clone(),
            })));
        }
        // After the run's row (they refer to it); the same batch as the
        // state that counts them, in the writer's order.
        if self.run && !documents.is_empty() {
            writer.send(StoreCommand::SaveRunDocuments {
                run: self.message.id,
                docs: documents,
            });
        }
        if self.run && !notes.is_empty() {
            writer.send(StoreCommand::SaveRunNotes {
                run: self.message.id,
                notes,
            });
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

    /// Queues the final row of a failed answer, with why it failed.
    pub fn fail(mut self, writer: &WriterHandle, error: &str, sources: Vec<Source>) -> Message {
        self.message.error = Some(crate::text::sanitize::one_line(error));
        self.finish(writer, MessageStatus::Error, Usage::default(), sources)
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
        if self.run {
            writer.send(StoreCommand::RunStatus {
                run: self.message.id,
                status: RunStatus::of_message(status),
            });
        }
        self.message
    }
}
