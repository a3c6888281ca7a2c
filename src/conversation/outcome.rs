//! What the conversation tells its caller a call did: a turn started, a
//! refusal and why, how a stop went, what an agent event did.

use super::prompt::Mode;
use crate::agent::TurnOutcome;
use crate::domain::{Message, MessageId, Source, TurnId};

/// A turn that was sent to the agent.
#[derive(Debug, Clone)]
pub struct Started {
    pub turn: TurnId,
    /// The answer's message id.
    pub answer: MessageId,
    pub mode: Mode,
    /// The question's message, when the turn asks a new one.
    pub question: Option<Message>,
}

/// Why a question was not sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// One answer at a time.
    Busy,
    /// Nothing to ask (or to regenerate).
    Nothing,
    /// A deep run of another session.
    OtherSession,
}

impl Refused {
    /// What to tell the user, in the words of the key they pressed.
    pub fn say(&self) -> &'static str {
        match self {
            Refused::Busy => "an answer is being written: Esc stops it first",
            Refused::Nothing => "nothing to regenerate yet",
            Refused::OtherSession => "That deep run belongs to another session.",
        }
    }
}

/// What Esc (or quitting) did to the turn.
#[derive(Debug)]
pub enum Stopped {
    /// No turn was running.
    Idle,
    /// A deep run stops researching and writes its report (Esc again
    /// cancels that too).
    Wrapping { answer: MessageId },
    /// The turn is stopped; its partial answer is saved as interrupted.
    Interrupted { mode: Mode, message: Message },
}

/// What an agent event did to the conversation.
#[derive(Debug)]
pub enum Step {
    /// Not for this conversation (another session, a stopped turn).
    Ignored,
    /// The current turn's progress: the event is for the view.
    Progress,
    /// The conversation changed with nothing to show (a summary folded).
    Quiet,
    /// The answer is complete and saved.
    Done(Box<Finished>),
    /// The turn failed; what it wrote (if anything) is saved as failed.
    Failed(Failed),
}

#[derive(Debug)]
pub struct Finished {
    pub mode: Mode,
    pub message: Message,
    pub sources: Vec<Source>,
    pub outcome: TurnOutcome,
}

#[derive(Debug)]
pub struct Failed {
    pub mode: Mode,
    pub message: Message,
    pub error: String,
    /// Some of the answer had been written.
    pub partial: bool,
}
