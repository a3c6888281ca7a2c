//! The app's side of history: the sessions screen and the search overlay
//! turn keys into reads and writes here, and their answers come back here.

use crossterm::event::KeyEvent;

use super::pending::AfterLoad;
use super::{App, Overlay, OverlayKind, Pending};
use crate::domain::{Message, RequestId, SessionId, SessionSummary};
use crate::store::{ReadRequest, StoreCommand};
use crate::ui::search_view::{LIMIT, SearchAction, SearchOverlay};
use crate::ui::sessions::{SessionsAction, SessionsScreen};

impl App {
    /// Opens the search over whatever is open, on top.
    pub fn open_search(&mut self) {
        self.overlays.push(Overlay::Search(SearchOverlay::new()));
    }

    pub fn open_sessions(&mut self) {
        let screen = SessionsScreen::new();
        let first = screen.first_page();
        self.sessions = Some(screen);
        self.sessions_action(SessionsAction::Read(first));
    }

    /// Reads a session's transcript and shows it in the chat, which then
    /// continues it. A turn in flight is stopped first (kept as
    /// interrupted).
    pub fn open_session(&mut self, session: SessionId) -> RequestId {
        self.stop_turn();
        self.read_transcript(session, AfterLoad::Show)
    }

    /// Reads a session's transcript; `then` says what to do with it.
    pub(super) fn read_transcript(&mut self, session: SessionId, then: AfterLoad) -> RequestId {
        let req = self.req();
        self.pending.wait(req, Pending::Transcript { then });
        self.handles
            .reader
            .request(ReadRequest::Transcript { req, session });
        req
    }

    /// Reads the transcript once every write queued so far is committed
    /// (a branch switched, an answer just finished): the reader has its
    /// own connection and would not see them before.
    pub(super) fn read_after_writes(&mut self, session: SessionId, then: AfterLoad) {
        let seq = self.handles.writer.last_seq();
        if seq <= self.committed {
            self.read_transcript(session, then);
        } else {
            self.after_writes.push((seq, session, then));
        }
    }

    /// Writes up to `seq` are in: the reads that waited for them go.
    pub(super) fn committed(&mut self, seq: u64) {
        self.committed = self.committed.max(seq);
        let (due, wait): (Vec<_>, Vec<_>) = std::mem::take(&mut self.after_writes)
            .into_iter()
            .partition(|(s, _, _)| *s <= self.committed);
        self.after_writes = wait;
        for (_, session, then) in due {
            self.read_transcript(session, then);
        }
    }

    pub(super) fn search_key(&mut self, k: KeyEvent) -> bool {
        let Some(o) = self.overlays.search_mut() else {
            return false;
        };
        let action = o.handle_key(k);
        self.search_action(action)
    }

    /// The sessions screen goes; answers to its reads are no longer
    /// awaited.
    fn close_sessions(&mut self) {
        self.sessions = None;
        self.pending
            .forget(|p| matches!(p, Pending::SessionsPage | Pending::Preview));
    }

    pub(super) fn search_action(&mut self, action: SearchAction) -> bool {
        match action {
            SearchAction::None => false,
            SearchAction::Changed => true,
            SearchAction::Close => {
                self.overlays.close(OverlayKind::Search);
                self.pending.forget(|p| *p == Pending::Search);
                true
            }
            SearchAction::Query(text) => {
                let req = self.req();
                if let Some(o) = self.overlays.search_mut() {
                    o.sent();
                }
                self.pending.wait(req, Pending::Search);
                self.handles.search.search(req, text, LIMIT);
                true
            }
            SearchAction::Open {
                session,
                message,
                query,
            } => {
                // The result opens in the chat: nothing stays drawn over it.
                self.overlays = Default::default();
                self.pending.forget(|p| *p == Pending::Search);
                self.close_sessions();
                self.stop_turn();
                self.read_transcript(session, AfterLoad::Jump(message, query));
                true
            }
        }
    }

    pub(super) fn sessions_key(&mut self, k: KeyEvent) -> bool {
        let Some(s) = &mut self.sessions else {
            return false;
        };
        let action = s.handle_key(k);
        self.sessions_action(action)
    }

    fn sessions_action(&mut self, action: SessionsAction) -> bool {
        match action {
            SessionsAction::None => false,
            SessionsAction::Changed => true,
            SessionsAction::Close => {
                self.close_sessions();
                true
            }
            SessionsAction::Search => {
                self.open_search();
                true
            }
            SessionsAction::Open(id) => {
                self.close_sessions();
                self.open_session(id);
                true
            }
            SessionsAction::Read(kind) => {
                let req = self.req();
                let is_page = matches!(kind, crate::ui::sessions::ReadKind::Page { .. });
                if is_page && let Some(s) = &mut self.sessions {
                    s.page_loading = true;
                }
                let what = if is_page {
                    Pending::SessionsPage
                } else {
                    Pending::Preview
                };
                self.pending.wait(req, what);
                self.handles.reader.request(kind.request(req));
                true
            }
            SessionsAction::Rename(session, title) => {
                self.handles.writer.send(StoreCommand::Rename {
                    session,
                    title: title.clone(),
                });
                if let Some(s) = &mut self.sessions {
                    s.renamed(session, &title);
                    s.notice = Some("renamed".into());
                }
                self.chat.conv.retitle(session, &title);
                true
            }
            SessionsAction::Delete(session) => {
                // One transaction in the writer removes the messages,
                // sources and index entries; the row goes from the list now.
                self.handles.writer.send(StoreCommand::Delete { session });
                let preview = self.sessions.as_mut().and_then(|s| {
                    s.notice = Some("deleted".into());
                    s.removed(session)
                });
                if self.chat.conv.session_id() == Some(session) {
                    self.stop_turn();
                    self.chat.forget_session(&self.handles);
                }
                // The welcome screen never offers a deleted session (issue
                // 15, bug 6): the newest one left is offered instead.
                if self
                    .chat
                    .resumable
                    .as_ref()
                    .is_some_and(|(id, _)| *id == session)
                {
                    self.chat.resumable = self
                        .sessions
                        .as_ref()
                        .and_then(|s| s.newest())
                        .map(|r| (r.session.id, r.session.title.clone()));
                }
                if let Some(kind) = preview {
                    return self.sessions_action(SessionsAction::Read(kind));
                }
                true
            }
            SessionsAction::Export(session) => {
                let req = self.req();
                self.pending.wait(req, Pending::Export);
                if let Some(s) = &mut self.sessions {
                    s.notice = Some("exporting…".into());
                }
                self.handles.reader.request(ReadRequest::Export {
                    req,
                    session,
                    dir: self.export_dir.clone(),
                });
                true
            }
        }
    }

    pub(super) fn on_sessions_page(
        &mut self,
        req: RequestId,
        offset: usize,
        sessions: Vec<SessionSummary>,
        has_more: bool,
        total: Option<usize>,
    ) -> bool {
        let Some(s) = &mut self.sessions else {
            return false;
        };
        if self
            .pending
            .take(req, |p| *p == Pending::SessionsPage)
            .is_none()
        {
            return false;
        }
        if let Some(kind) = s.on_page(offset, sessions, has_more, total) {
            self.sessions_action(SessionsAction::Read(kind));
        }
        true
    }

    pub(super) fn on_preview(
        &mut self,
        req: RequestId,
        session: SessionId,
        messages: Vec<Message>,
    ) -> bool {
        if self.pending.take(req, |p| *p == Pending::Preview).is_none() {
            return false;
        }
        match &mut self.sessions {
            Some(s) => {
                s.on_preview(session, messages);
                true
            }
            None => false,
        }
    }

    pub(super) fn on_exported(&mut self, req: RequestId, path: &std::path::Path) -> bool {
        if self
            .pending
            .take(req, |p| matches!(p, Pending::Export))
            .is_none()
        {
            return false;
        }
        let msg = format!("exported to {}", path.display());
        match &mut self.sessions {
            Some(s) => s.notice = Some(msg),
            None => self.status.alert = Some(msg),
        }
        true
    }

    /// A failed read of the sessions screen or an export, said where the
    /// user is looking. False when the failure is someone else's.
    pub(super) fn history_read_failed(&mut self, req: RequestId, error: &str) -> bool {
        let Some(what) = self.pending.take(req, |p| {
            matches!(
                p,
                Pending::Export | Pending::SessionsPage | Pending::Preview
            )
        }) else {
            return false;
        };
        let msg = format!("failed: {error}");
        match &mut self.sessions {
            Some(s) => {
                if what == Pending::SessionsPage {
                    s.page_loading = false;
                }
                s.notice = Some(msg);
            }
            None => self.status.alert = Some(msg),
        }
        true
    }
}
