//! The chat screen: transcript, input and the session being written.

mod view;

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use ratatui_textarea::TextArea;

use super::transcript::{Cell, CellKind, Transcript};
use crate::domain::{Message, Role, Session, SessionId, StoredMessage, now_ms};
use crate::sanitize::{one_line, sanitize};
use crate::store::{StoreCommand, WriterHandle};

/// Longest session title taken from the first question.
const TITLE_MAX: usize = 80;

pub struct ChatScreen {
    pub session: Option<Session>,
    pub transcript: Transcript,
    pub input: TextArea<'static>,
    /// Title of the most recent stored session, offered on the empty screen.
    pub resumable: Option<(SessionId, String)>,
}

/// What the chat screen asks the app to do after a key.
#[derive(Debug, PartialEq, Eq)]
pub enum ChatOutcome {
    Ignored,
    Changed,
    /// Load this session's transcript through the reader.
    Resume(SessionId),
}

impl Default for ChatScreen {
    fn default() -> Self {
        Self::new()
    }
}

impl ChatScreen {
    pub fn new() -> Self {
        Self {
            session: None,
            transcript: Transcript::default(),
            input: new_input(),
            resumable: None,
        }
    }

    pub fn session_label(&self) -> String {
        match &self.session {
            Some(s) => one_line(&s.title),
            None => "new session".into(),
        }
    }

    pub fn input_is_empty(&self) -> bool {
        self.input.lines().iter().all(|l| l.is_empty())
    }

    pub fn handle_event(&mut self, ev: &Event, writer: &WriterHandle) -> ChatOutcome {
        match ev {
            Event::Key(k) => self.handle_key(*k, writer),
            Event::Paste(text) => {
                self.input.insert_str(sanitize(text));
                ChatOutcome::Changed
            }
            Event::Mouse(_) | Event::FocusGained | Event::FocusLost => ChatOutcome::Ignored,
            Event::Resize(..) => ChatOutcome::Changed,
        }
    }

    fn handle_key(&mut self, key: KeyEvent, writer: &WriterHandle) -> ChatOutcome {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let alt = key.modifiers.contains(KeyModifiers::ALT);
        let shift = key.modifiers.contains(KeyModifiers::SHIFT);
        match key.code {
            KeyCode::Enter if alt || shift => self.input.insert_newline(),
            KeyCode::Char('j') if ctrl => self.input.insert_newline(),
            KeyCode::Enter => self.submit(writer),
            KeyCode::Char('n') if ctrl => self.new_session(),
            KeyCode::Char('r') if ctrl => {
                if let Some((id, _)) = &self.resumable
                    && self.session.is_none()
                {
                    return ChatOutcome::Resume(*id);
                }
                return ChatOutcome::Ignored;
            }
            KeyCode::Char('u') if ctrl => self.input = new_input(),
            KeyCode::PageUp => self.transcript.scroll_up(10),
            KeyCode::PageDown => self.transcript.scroll_down(10),
            KeyCode::Home if ctrl => self.transcript.scroll_to_top(),
            KeyCode::End if ctrl => self.transcript.scroll_to_bottom(),
            _ => {
                let changed = self.input.input(key);
                // Cursor moves also redraw; only truly inert keys are ignored.
                return if changed || is_edit_key(&key) {
                    ChatOutcome::Changed
                } else {
                    ChatOutcome::Ignored
                };
            }
        }
        ChatOutcome::Changed
    }

    fn new_session(&mut self) {
        self.session = None;
        self.transcript.clear();
    }

    /// Sends the input as a user message: creates the session on the first
    /// line, queues both writes, and shows the message at once.
    fn submit(&mut self, writer: &WriterHandle) {
        let text = self.input.lines().join("\n");
        let text = text.trim();
        if text.is_empty() {
            return;
        }
        let session = match &self.session {
            Some(s) => s.clone(),
            None => {
                let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or(text);
                let now = now_ms();
                let s = Session {
                    id: SessionId::new(),
                    created_at: now,
                    updated_at: now,
                    title: super::wrap::truncate(one_line(first).trim(), TITLE_MAX),
                    summary: None,
                    model: None,
                };
                writer.send(StoreCommand::CreateSession(s.clone()));
                self.session = Some(s.clone());
                s
            }
        };
        let msg = Message::new(session.id, Role::User, text);
        writer.send(StoreCommand::AppendMessage(msg.clone()));
        self.transcript.scroll_to_bottom();
        self.transcript.push(Cell::from_stored(&StoredMessage {
            message: msg,
            sources: vec![],
        }));
        self.input = new_input();
    }

    /// Shows a loaded session and continues it.
    pub fn load(&mut self, session: Session, messages: &[StoredMessage]) {
        self.transcript.clear();
        for m in messages {
            self.transcript.push(Cell::from_stored(m));
        }
        self.session = Some(session);
    }

    pub fn notice(&mut self, kind: CellKind, text: &str) {
        self.transcript.push(Cell::new(kind, text, String::new()));
    }
}

fn is_edit_key(k: &KeyEvent) -> bool {
    matches!(
        k.code,
        KeyCode::Left | KeyCode::Right | KeyCode::Up | KeyCode::Down | KeyCode::Home | KeyCode::End
    )
}

fn new_input() -> TextArea<'static> {
    let mut t = TextArea::default();
    t.set_placeholder_text("Ask a research question…  (Enter sends, Alt+Enter for a newline)");
    t.set_cursor_line_style(ratatui::style::Style::new());
    t
}
