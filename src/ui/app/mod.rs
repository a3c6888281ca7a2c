//! The app: routes events to the screen that owns them and holds what is
//! shared between screens (status, overlays, worker handles).

mod history;
mod overlay_keys;
mod overlays;
mod palette;
mod pending;

use overlays::Overlays;
pub use overlays::{Kind as OverlayKind, Overlay};
use pending::{Pending, PendingReads};

use crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind};
use ratatui::Frame;

use super::UiEvent;
use super::chat::{ChatOutcome, ChatScreen};
use super::picker::ModelPicker;
use super::search_view::SearchOverlay;
use super::sessions::SessionsScreen;
use super::source_detail::SourceDetail;
use super::status::StatusState;
use super::transcript::CellKind;
use crate::agent::{AgentEvent, AgentHandle};
use crate::domain::RequestId;
use crate::store::search::worker::SearchHandle;
use crate::store::{ReadRequest, ReaderHandle, StoreEvent, WriterHandle};

pub struct Handles {
    pub writer: WriterHandle,
    pub reader: ReaderHandle,
    pub agent: AgentHandle,
    pub search: SearchHandle,
}

impl Handles {
    /// Where the conversation sends its writes and agent commands.
    pub fn ports(&self) -> crate::conversation::Ports<'_> {
        crate::conversation::Ports {
            writer: &self.writer,
            agent: &self.agent,
        }
    }
}

pub struct App {
    pub chat: ChatScreen,
    pub status: StatusState,
    /// The sessions screen, over the chat while open.
    pub sessions: Option<SessionsScreen>,
    /// Help, model picker, source view, search: drawn over the screen,
    /// the top one gets the keys.
    overlays: Overlays,
    /// Reads in flight and what each is for; answers to anything else
    /// (superseded, or for a closed screen) are dropped.
    pending: PendingReads,
    /// Where `e` on the sessions screen writes exports.
    pub export_dir: std::path::PathBuf,
    /// Models the provider listed at the last probe.
    models: Vec<String>,
    /// Text to put on the clipboard (OSC 52) after this event.
    clipboard: Option<String>,
    /// A draft to open in the user's editor after this event.
    edit_request: Option<String>,
    quit: bool,
    pub handles: Handles,
    next_req: u64,
    /// Dark, light or no colour (`[ui] theme`, `NO_COLOR`).
    pub palette: super::theme::Palette,
    /// `[library] open`: how a cited file is opened at its page.
    pub library_open: String,
    /// The newest write the writer said is committed…
    committed: u64,
    /// …and transcript reads waiting for writes after it.
    after_writes: Vec<(u64, crate::domain::SessionId, pending::AfterLoad)>,
}

impl App {
    pub fn new(status: StatusState, handles: Handles, model: String) -> Self {
        let mut app = Self {
            chat: ChatScreen::new(model),
            status,
            sessions: None,
            overlays: Overlays::default(),
            pending: PendingReads::default(),
            export_dir: std::path::PathBuf::from("."),
            models: Vec::new(),
            clipboard: None,
            edit_request: None,
            quit: false,
            handles,
            next_req: 0,
            palette: super::theme::Palette::default(),
            library_open: String::new(),
            committed: 0,
            after_writes: Vec::new(),
        };
        app.handles.agent.send(crate::agent::AgentCommand::Probe);
        let req = app.req();
        app.pending.wait(req, Pending::Resumable);
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

    /// The search overlay, if open.
    pub fn search(&self) -> Option<&SearchOverlay> {
        self.overlays.search()
    }

    /// The source view, if open.
    pub fn sources_view(&self) -> Option<&SourceDetail> {
        self.overlays.sources()
    }

    /// Whether an overlay of this kind is open, and which is on top.
    pub fn overlay_open(&self, kind: OverlayKind) -> bool {
        self.overlays.is_open(kind)
    }

    pub fn top_overlay(&self) -> Option<OverlayKind> {
        self.overlays.top()
    }

    pub fn toggle_help(&mut self) {
        if self.overlays.is_open(OverlayKind::Help) {
            self.overlays.close(OverlayKind::Help);
        } else {
            self.overlays.push(Overlay::Help { scroll: 0 });
        }
    }

    pub fn animating(&self) -> bool {
        self.status.animating() || self.chat.conv.active().is_some()
    }

    pub fn tick(&mut self) {
        self.status.tick();
        self.chat.tick(&self.handles);
    }

    /// Text the user asked to copy; the event loop writes it as OSC 52.
    /// A draft to open in the user's editor (Ctrl+E), for the event loop.
    pub fn take_edit_request(&mut self) -> Option<String> {
        self.edit_request.take()
    }

    /// What the editor gave back (or why it did not).
    pub fn edited(&mut self, result: Result<String, String>) {
        self.chat.edited(result);
    }

    pub fn take_clipboard(&mut self) -> Option<String> {
        self.clipboard.take()
    }

    /// Applies one event; returns whether anything visible changed.
    pub fn handle(&mut self, ev: UiEvent) -> bool {
        match ev {
            UiEvent::Input(e) => self.handle_input(&e),
            UiEvent::Agent(e) => self.handle_agent(e),
            UiEvent::Store(e) => self.handle_store(e),
            UiEvent::Library(e) => self.status.on_library(e),
            UiEvent::WorkerPanic { thread, message } => {
                let text = format!(
                    "internal error in the {thread} thread: {message} (details in the log)"
                );
                self.chat.notice(CellKind::Error, &text);
                self.status.alert = Some(format!("{thread} thread failed"));
                true
            }
            UiEvent::Notice(text) => {
                self.status.alert = Some(text);
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
            // A key's feedback lasts until the next key.
            self.chat.flash = None;
            if self.global_key(*k) {
                return true;
            }
            if !self.overlays.is_empty() {
                return self.overlay_key(*k);
            }
            if self.sessions.is_some() {
                return self.sessions_key(*k);
            }
        }
        if let Event::Paste(text) = ev
            && self.overlays.top() == Some(OverlayKind::Search)
            && let Some(o) = self.overlays.search_mut()
        {
            let action = o.paste(text);
            return self.search_action(action);
        }
        if !self.overlays.is_empty() || self.sessions.is_some() {
            // Mouse and paste events do not reach the screens hidden below.
            return matches!(ev, Event::Resize(..));
        }
        if let Event::Key(k) = ev
            && self.chat.found_key(*k)
        {
            return true;
        }
        match self.chat.handle_event(ev, &self.handles) {
            ChatOutcome::Ignored => false,
            ChatOutcome::Changed => true,
            ChatOutcome::Copy(text) => {
                self.clipboard = Some(text);
                self.status.alert = None;
                true
            }
            ChatOutcome::EditDraft(draft) => {
                self.edit_request = Some(draft);
                false
            }
            ChatOutcome::ShowSources(sources, claims) => {
                self.overlays
                    .push(Overlay::Sources(SourceDetail::with_claims(sources, claims)));
                true
            }
            ChatOutcome::OpenModelPicker => {
                self.overlays.push(Overlay::Picker(ModelPicker::new(
                    self.models.clone(),
                    &self.chat.conv.model,
                )));
                if self.models.is_empty() {
                    self.handles.agent.send(crate::agent::AgentCommand::Probe);
                }
                true
            }
            ChatOutcome::Resume(session) => {
                self.open_session(session);
                false
            }
            ChatOutcome::ReadQuestions(before) => {
                let req = self.req();
                self.pending.wait(req, Pending::Questions);
                self.handles.reader.request(ReadRequest::Questions {
                    req,
                    before,
                    limit: crate::ui::chat::RECALL_PAGE,
                    matching: None,
                });
                true
            }
            ChatOutcome::SearchQuestions => {
                self.overlays.push(Overlay::Questions(Default::default()));
                self.search_questions(String::new());
                true
            }
            ChatOutcome::ResumeRun(id) => {
                let req = self.req();
                self.pending.wait(req, Pending::Run);
                self.handles.reader.request(ReadRequest::Run { req, id });
                false
            }
            ChatOutcome::SwitchBranch {
                session,
                from,
                step,
                pos,
            } => {
                match self
                    .chat
                    .conv
                    .switch_branch(from, step, self.handles.ports())
                {
                    Ok(()) => self.read_after_writes(session, pending::AfterLoad::Select(pos)),
                    Err(r) => self.chat.say(r.say()),
                }
                true
            }
            ChatOutcome::Rewind { at, then } => {
                if let Some(session) = self.chat.conv.session_id() {
                    self.read_after_writes(session, pending::AfterLoad::Rewind(at, then));
                }
                true
            }
        }
    }

    fn global_key(&mut self, k: KeyEvent) -> bool {
        use super::keymap::{GLOBAL, Global, lookup};
        let top = self.overlays.top();
        match lookup(GLOBAL, &k) {
            Some(Global::Quit) => self.quit = true,
            // `?` is a letter wherever something is being typed.
            Some(Global::Help)
                if k.code != KeyCode::Char('?')
                    || top == Some(OverlayKind::Help)
                    || (top.is_none() && self.chat.input_is_empty()) =>
            {
                self.toggle_help()
            }
            // Search opens over whatever is open, on top (Ctrl+F in the
            // search itself closes it).
            Some(Global::Search) if top != Some(OverlayKind::Search) => self.open_search(),
            Some(Global::Sessions) if self.sessions.is_none() => self.open_sessions(),
            Some(Global::Palette) if top != Some(OverlayKind::Palette) => {
                self.overlays.push(Overlay::Palette(Default::default()));
            }
            _ => return false,
        }
        true
    }

    fn handle_agent(&mut self, ev: AgentEvent) -> bool {
        match ev {
            AgentEvent::Provider(p) => {
                self.status.set_probe(&p);
                self.models = p.models.clone();
                if let Some(picker) = self.overlays.picker_mut()
                    && picker.models.is_empty()
                {
                    *picker = ModelPicker::new(p.models, &self.chat.conv.model);
                }
                true
            }
            AgentEvent::Pong(_) => false,
            other => self.chat.on_agent(other, &self.handles),
        }
    }

    /// The Ctrl+R search's query, read off this thread (a newer one
    /// supersedes it).
    fn search_questions(&mut self, words: String) {
        let req = self.req();
        self.pending.wait(req, Pending::QuestionSearch);
        self.handles.reader.request(ReadRequest::Questions {
            req,
            before: None,
            limit: 50,
            matching: Some(words),
        });
    }

    /// The earlier-questions search, when open.
    pub fn questions(&self) -> Option<&crate::ui::question_picker::QuestionPicker> {
        self.overlays.questions()
    }

    /// Ordered shutdown of the turn in flight: saved as interrupted.
    /// Stops the answer being written (quit, opening another session):
    /// kept as interrupted, with the sources it had.
    pub fn stop_turn(&mut self) {
        self.chat.stop(&self.handles);
    }

    fn handle_store(&mut self, ev: StoreEvent) -> bool {
        match ev {
            StoreEvent::Committed { seq, .. } => {
                self.committed(seq);
                false
            }
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
            StoreEvent::Repaired { what } => {
                self.status.store_warning = Some(what);
                true
            }
            StoreEvent::IntegrityCheck { why, done } => {
                let note = format!("checking the database ({why}); saving waits for it");
                if !done {
                    self.status.store_warning = Some(note);
                } else if self.status.store_warning.as_ref() == Some(&note) {
                    self.status.store_warning = None;
                }
                true
            }
            StoreEvent::SessionsPage {
                req,
                offset,
                sessions,
                has_more,
                total,
            } => {
                if self
                    .pending
                    .take(req, |p| matches!(p, Pending::Resumable))
                    .is_none()
                {
                    return self.on_sessions_page(req, offset, sessions, has_more, total);
                }
                self.chat.resumable = sessions
                    .first()
                    .map(|s| (s.session.id, s.session.title.clone()));
                true
            }
            StoreEvent::Transcript {
                req,
                session,
                messages,
                runs,
            } => {
                let Some(Pending::Transcript { then }) = self
                    .pending
                    .take(req, |p| matches!(p, Pending::Transcript { .. }))
                else {
                    return false;
                };
                match then {
                    pending::AfterLoad::Rewind(at, then) => {
                        self.chat
                            .rewound(session, &messages, at, then, &self.handles);
                    }
                    then => {
                        self.chat.load(session, &messages, runs);
                        match then {
                            pending::AfterLoad::Jump(message, query) => {
                                self.chat.jump_to(message, &query)
                            }
                            pending::AfterLoad::Select(pos) => self.chat.select_at(pos),
                            _ => {}
                        }
                    }
                }
                true
            }
            StoreEvent::MessageFound { .. } => false,
            StoreEvent::Preview {
                req,
                session,
                messages,
            } => self.on_preview(req, session, messages),
            StoreEvent::Exported { req, path } => self.on_exported(req, &path),
            StoreEvent::SearchResults {
                req,
                query,
                hits,
                error,
                refined,
            } => {
                // Answered twice (first results, then refined): awaited
                // until a newer keystroke's query supersedes it.
                if !self.pending.awaits(req, |p| *p == Pending::Search) {
                    return false;
                }
                let Some(o) = self.overlays.search_mut() else {
                    return false;
                };
                o.on_results(query, hits, error, refined);
                true
            }
            StoreEvent::RunLoaded { req, run } => {
                if self
                    .pending
                    .take(req, |p| matches!(p, Pending::Run))
                    .is_none()
                {
                    return false;
                }
                match run {
                    Some(run) => self.chat.resume_run(*run, &self.handles),
                    None => self
                        .chat
                        .notice(CellKind::Error, "That deep run is no longer stored."),
                }
                true
            }
            StoreEvent::Questions {
                req,
                questions,
                exhausted,
            } => match self.pending.take(req, |p| {
                matches!(p, Pending::Questions | Pending::QuestionSearch)
            }) {
                Some(Pending::Questions) => {
                    self.chat.recalled(questions, exhausted);
                    true
                }
                Some(_) => match self.overlays.questions_mut() {
                    Some(q) => {
                        q.results(questions);
                        true
                    }
                    None => false,
                },
                None => false,
            },
            StoreEvent::ReadFailed { req, error } => {
                if self.history_read_failed(req, &error) {
                    return true;
                }
                if let Some(what) = self.pending.take(req, |_| true) {
                    if what == Pending::Questions {
                        self.chat.recall_failed();
                    }
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
        match &self.sessions {
            Some(s) => s.render(frame, area),
            None => self.chat.render(frame, area, &self.status),
        }
        // Bottom to top: the one that gets the keys is drawn last.
        for o in self.overlays.iter_mut() {
            match o {
                Overlay::Help { scroll } => {
                    // Clamped here, where the height is known.
                    *scroll = super::help::render(frame, area, *scroll);
                }
                Overlay::Picker(p) => p.render(frame, area),
                Overlay::Sources(d) => d.render(frame, area),
                Overlay::Search(s) => s.render(frame, area),
                Overlay::Questions(q) => q.render(frame, area),
                Overlay::Palette(p) => p.render(frame, area),
            }
        }
        self.palette.apply(frame.buffer_mut());
    }
}
