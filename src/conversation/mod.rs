//! The conversation, with no terminal in sight: what a session's history
//! is as the model sees it, when older turns fold into the summary, what
//! context goes with a question, the requests the agent gets, and the
//! recorder that saves answers. The TUI's chat screen and `sleuth ask`
//! both build on it, so they send the same context for the same session
//! (issue 10).

pub mod context;
pub mod engine;
pub mod outcome;
pub mod prompt;
pub mod question;
pub mod recorder;
pub mod settings;

pub use context::{ContextPolicy, History, new_session, title_of};
pub use engine::{Conversation, Ports, Refused, Started, Step, Stopped};
pub use prompt::Mode;
pub use question::Ask;
