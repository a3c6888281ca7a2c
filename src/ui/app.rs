//! The app: routes events to the screen that owns them and holds what is
//! shared between screens (status, overlays, worker handles).

use crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::Frame;

use super::UiEvent;
use super::chat::{ChatOutcome, ChatScreen};
use super::status::StatusState;
use super::transcript::CellKind;
use crate::agent::{AgentEvent, AgentHandle};
use crate::domain::RequestId;
use crate::store::{ReadRequest, ReaderHandle, StoreEvent, WriterHandle};

pub struct Handles {
    pub writer: WriterHandle,
    pub reader: ReaderHandle,
    pub agent: AgentHandle,
}

pub struct App {
    pub chat: ChatScreen,
    pub status: StatusState,
    pub help: bool,
    quit: bool,
    handles: Handles,
    next_req: u64,
    /// The transcript read the UI waits for; older answers are dropped.
    pending_transcript: Option<RequestId>,
    pending_resumable: Option<RequestId>,
}

impl App {
    pub fn new(status: StatusState, handles: Handles) -> Self {
        let mut app = Self {
            chat: ChatScreen::new(),
            status,
            help: false,
            quit: false,
            handles,
            next_req: 0,
            pending_transcript: None,
            pending_resumable: None,
        };
        let req = app.req();
        app.pending_resumable = Some(req);
        app.handles.reader.request(ReadRequest::SessionsPage {
            req,
            offset: 0,
            limit: 1,
            filter: None,
        });
        app
    }

    fn req(&mut self) -> RequestId {
        self.next_req += 1;
        RequestId(self.next_req)
    }

    pub fn should_quit(&self) -> bool {
        self.quit
    }

    pub fn animating(&self) -> bool {
        self.status.animating()
    }

    pub fn tick(&mut self) {
        self.status.tick();
    }

    /// Applies one event; returns whether anything visible changed.
    pub fn handle(&mut self, ev: UiEvent) -> bool {
        match ev {
            UiEvent::Input(e) => self.handle_input(&e),
            UiEvent::Agent(e) => self.handle_agent(e),
            UiEvent::Store(e) => self.handle_store(e),
            UiEvent::WorkerPanic { thread, message } => {
                let text = format!(
                    "internal error in the {thread} thread: {message} (details in the log)"
                );
                self.chat.notice(CellKind::Error, &text);
                self.status.alert = Some(format!("{thread} thread failed"));
                true
            }
            UiEvent::Signal(_) | UiEvent::InputClosed(_) => {
                self.quit = true;
                true
            }
        }
    }

    fn handle_input(&mut self, ev: &Event) -> bool {
        if let Event::Key(k) = ev {
            if k.kind == KeyEventKind::Release {
                return false;
            }
            if self.global_key(*k) {
                return true;
            }
            if self.help {
                // The overlay is modal: other keys are swallowed.
                return false;
            }
        }
        match self.chat.handle_event(ev, &self.handles.writer) {
            ChatOutcome::Ignored => false,
            ChatOutcome::Changed => true,
            ChatOutcome::Resume(session) => {
                let req = self.req();
                self.pending_transcript = Some(req);
                self.handles
                    .reader
                    .request(ReadRequest::Transcript { req, session });
                false
            }
        }
    }

    fn global_key(&mut self, k: KeyEvent) -> bool {
        let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
        match k.code {
            KeyCode::Char('c' | 'q') if ctrl => self.quit = true,
            KeyCode::F(1) => self.help = !self.help,
            KeyCode::Char('?') if self.help || self.chat.input_is_empty() => self.help = !self.help,
            KeyCode::Esc if self.help => self.help = false,
            _ => return false,
        }
        true
    }

    fn handle_agent(&mut self, ev: AgentEvent) -> bool {
        match ev {
            AgentEvent::Provider(p) => {
                self.status.set_probe(&p);
                true
            }
            AgentEvent::Pong(_) => false,
        }
    }

    fn handle_store(&mut self, ev: StoreEvent) -> bool {
        match ev {
            StoreEvent::Committed { .. } => false,
            StoreEvent::WriteFailed { error, pending } => {
                self.status.store_warning = Some(if pending > 0 {
                    format!("{pending} unsaved, retrying: {error}")
                } else {
                    error
                });
                true
            }
            StoreEvent::WriteRecovered { .. } => {
                self.status.store_warning = None;
                true
            }
            StoreEvent::SessionsPage { req, sessions, .. } => {
                if self.pending_resumable != Some(req) {
                    return false;
                }
                self.pending_resumable = None;
                self.chat.resumable = sessions
                    .first()
                    .map(|s| (s.session.id, s.session.title.clone()));
                true
            }
            StoreEvent::Transcript {
                req,
                session,
                messages,
            } => {
                if self.pending_transcript != Some(req) {
                    return false;
                }
                self.pending_transcript = None;
                self.chat.load(session, &messages);
                true
            }
            StoreEvent::MessageFound { .. } => false,
            StoreEvent::ReadFailed { req, error } => {
                if self.pending_transcript == Some(req) || self.pending_resumable == Some(req) {
                    self.chat
                        .notice(CellKind::Error, &format!("could not read history: {error}"));
                    return true;
                }
                false
            }
        }
    }

    pub fn draw(&mut self, frame: &mut Frame<'_>) {
        let area = frame.area();
        self.chat.render(frame, area, &self.status);
        if self.help {
            super::help::render(frame, area);
        }
    }
}
