//! The sessions screen: every stored session, newest first, read a page at
//! a time as the selection nears the end; a preview of the selected one;
//! open, rename, delete (confirmed), export; filter by typing.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::text::Line;

mod view;

use super::keymap::{SESSIONS, Sessions as Key, lookup};
use crate::domain::{Message, RequestId, SessionId, SessionSummary};
use crate::store::ReadRequest;
use crate::text::sanitize::one_line;

/// Sessions read per page.
pub const PAGE: usize = 50;
/// Sessions read per page on the way to the end (End).
const END_PAGE: usize = 1000;
/// Messages shown in the preview.
pub const PREVIEW: usize = 12;
/// Of each previewed message: this much text is rendered, and at most
/// this many lines of it shown.
const PREVIEW_CHARS: usize = 1_500;
const PREVIEW_LINES: usize = 8;

#[derive(Debug, Clone, PartialEq)]
enum Mode {
    Browse,
    Rename(String),
    ConfirmDelete,
}

/// What the screen asks the app to do.
#[derive(Debug, PartialEq)]
pub enum SessionsAction {
    None,
    Changed,
    Close,
    Open(SessionId),
    /// Read this (the app gives the request id back via `expect_*`).
    Read(ReadKind),
    Rename(SessionId, String),
    Delete(SessionId),
    Export(SessionId),
    /// Open the search overlay (`/`).
    Search,
}

#[derive(Debug, PartialEq)]
pub enum ReadKind {
    Page {
        offset: usize,
        filter: String,
        limit: usize,
    },
    Preview(SessionId),
}

impl ReadKind {
    pub fn request(self, req: RequestId) -> ReadRequest {
        match self {
            ReadKind::Page {
                offset,
                filter,
                limit,
            } => ReadRequest::SessionsPage {
                req,
                offset,
                limit,
                filter: (!filter.is_empty()).then_some(filter),
            },
            ReadKind::Preview(session) => ReadRequest::Preview {
                req,
                session,
                last: PREVIEW,
            },
        }
    }
}

pub struct SessionsScreen {
    rows: Vec<SessionSummary>,
    has_more: bool,
    /// How many sessions match, as the first page said.
    total: Option<usize>,
    /// End was pressed before every page was read: keep reading, then
    /// select the last row.
    to_end: bool,
    /// False until the first page arrives ("loading", not "empty").
    loaded: bool,
    selected: usize,
    /// First row in view, kept between frames like a list's scroll offset.
    top: std::cell::Cell<usize>,
    filter: String,
    mode: Mode,
    /// A page of the list is on its way (the app keeps which read).
    pub page_loading: bool,
    preview: Option<(SessionId, Vec<Message>)>,
    /// The preview rendered as Markdown, for one width (rendering is not
    /// free: it is done once per preview and width, not per frame).
    preview_lines: std::cell::RefCell<Option<(SessionId, u16, Vec<Line<'static>>)>>,
    /// One line of feedback (exported to…, deleted…).
    pub notice: Option<String>,
}

impl SessionsScreen {
    /// A screen waiting for its first page (ask for it with [`Self::first_page`]).
    pub fn new() -> Self {
        Self {
            rows: Vec::new(),
            has_more: false,
            total: None,
            to_end: false,
            loaded: false,
            selected: 0,
            top: std::cell::Cell::new(0),
            filter: String::new(),
            mode: Mode::Browse,
            page_loading: false,
            preview: None,
            preview_lines: std::cell::RefCell::new(None),
            notice: None,
        }
    }

    pub fn first_page(&self) -> ReadKind {
        self.page_at(0, PAGE)
    }

    fn page_at(&self, offset: usize, limit: usize) -> ReadKind {
        ReadKind::Page {
            offset,
            filter: self.filter.clone(),
            limit,
        }
    }

    pub fn selected(&self) -> Option<&SessionSummary> {
        self.rows.get(self.selected)
    }

    /// A page arrived; returns what to read next: the following page on
    /// the way to the end, or the preview if the selection changed.
    pub fn on_page(
        &mut self,
        offset: usize,
        sessions: Vec<SessionSummary>,
        has_more: bool,
        total: Option<usize>,
    ) -> Option<ReadKind> {
        let before = self.selected().map(|s| s.session.id);
        if offset == 0 {
            self.rows = sessions;
        } else if offset == self.rows.len() {
            self.rows.extend(sessions);
        }
        self.has_more = has_more;
        if total.is_some() {
            self.total = total;
        }
        self.loaded = true;
        self.page_loading = false;
        if self.to_end {
            if has_more {
                return Some(self.page_at(self.rows.len(), END_PAGE));
            }
            self.to_end = false;
            self.selected = self.rows.len().saturating_sub(1);
        }
        self.selected = self.selected.min(self.rows.len().saturating_sub(1));
        self.preview_wanted(before)
    }

    pub fn on_preview(&mut self, session: SessionId, messages: Vec<Message>) {
        self.preview = Some((session, messages));
    }

    /// A rename the writer was just asked for, shown at once.
    pub fn renamed(&mut self, id: SessionId, title: &str) {
        if let Some(r) = self.rows.iter_mut().find(|r| r.session.id == id) {
            r.session.title = title.to_string();
        }
    }

    /// A delete the writer was just asked for: the row goes at once.
    /// Returns the preview to read for the newly selected row.
    /// Nothing on its way: the first page is in, no other is loading, and the selected session's
    /// preview is shown.
    pub fn settled(&self) -> bool {
        let selected = self.selected().map(|s| s.session.id);
        let shown = self.preview.as_ref().map(|(s, _)| *s);
        self.loaded && !self.page_loading && (selected.is_none() || selected == shown)
    }

    /// The newest session listed (what the welcome screen offers).
    pub fn newest(&self) -> Option<&SessionSummary> {
        self.rows.first()
    }

    pub fn removed(&mut self, id: SessionId) -> Option<ReadKind> {
        let before = self.selected().map(|s| s.session.id);
        let n = self.rows.len();
        self.rows.retain(|r| r.session.id != id);
        if self.rows.len() < n {
            self.total = self.total.map(|t| t.saturating_sub(1));
        }
        self.selected = self.selected.min(self.rows.len().saturating_sub(1));
        self.preview_wanted(before)
    }

    fn preview_wanted(&self, before: Option<SessionId>) -> Option<ReadKind> {
        let now = self.selected()?.session.id;
        let shown = self.preview.as_ref().map(|(s, _)| *s);
        (before != Some(now) || shown != Some(now)).then_some(ReadKind::Preview(now))
    }

    fn move_to(&mut self, i: usize) -> SessionsAction {
        let before = self.selected().map(|s| s.session.id);
        self.selected = i.min(self.rows.len().saturating_sub(1));
        // Read the next page before the user reaches the end.
        if self.has_more && !self.page_loading && self.selected + 10 >= self.rows.len() {
            return SessionsAction::Read(self.page_at(self.rows.len(), PAGE));
        }
        match self.preview_wanted(before) {
            Some(k) => SessionsAction::Read(k),
            None => SessionsAction::Changed,
        }
    }

    fn refilter(&mut self) -> SessionsAction {
        self.selected = 0;
        self.to_end = false;
        self.total = None;
        self.preview = None;
        SessionsAction::Read(self.first_page())
    }

    pub fn handle_key(&mut self, k: KeyEvent) -> SessionsAction {
        let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
        // Feedback ("renamed", "deleted") lasts until the next key.
        self.notice = None;
        match &mut self.mode {
            Mode::Rename(title) => {
                match k.code {
                    KeyCode::Enter => {
                        let title = one_line(title.trim());
                        self.mode = Mode::Browse;
                        if let Some(s) = self.selected()
                            && !title.is_empty()
                        {
                            return SessionsAction::Rename(s.session.id, title);
                        }
                    }
                    KeyCode::Esc => self.mode = Mode::Browse,
                    KeyCode::Backspace => {
                        title.pop();
                    }
                    KeyCode::Char('u') if ctrl => title.clear(),
                    KeyCode::Char(c) if !ctrl => title.push(c),
                    _ => return SessionsAction::None,
                }
                return SessionsAction::Changed;
            }
            Mode::ConfirmDelete => {
                self.mode = Mode::Browse;
                if matches!(k.code, KeyCode::Char('y' | 'Y'))
                    && let Some(s) = self.selected()
                {
                    return SessionsAction::Delete(s.session.id);
                }
                self.notice = Some("kept".into());
                return SessionsAction::Changed;
            }
            Mode::Browse => {}
        }
        let typing = !self.filter.is_empty() && !ctrl;
        match lookup(SESSIONS, &k) {
            // While a filter is typed, letters are the filter's.
            Some(Key::Rename | Key::Delete | Key::Export) if typing => {}
            Some(action) => return self.act(action),
            None => {}
        }
        match k.code {
            KeyCode::Backspace if !self.filter.is_empty() => {
                self.filter.pop();
                self.refilter()
            }
            KeyCode::Char(c) if !ctrl && !c.is_control() => {
                self.filter.push(c);
                self.refilter()
            }
            _ => SessionsAction::None,
        }
    }

    /// What a sessions key does (from the key table).
    fn act(&mut self, action: Key) -> SessionsAction {
        match action {
            Key::Close if !self.filter.is_empty() => {
                self.filter.clear();
                self.refilter()
            }
            Key::Close => SessionsAction::Close,
            Key::Search => SessionsAction::Search,
            Key::Up => self.move_to(self.selected.saturating_sub(1)),
            Key::Down => self.move_to(self.selected + 1),
            Key::PageUp => self.move_to(self.selected.saturating_sub(10)),
            Key::PageDown => self.move_to(self.selected + 10),
            Key::First => self.move_to(0),
            Key::Last if self.has_more => {
                // Read the rest (in large pages), then select the last.
                self.to_end = true;
                if self.page_loading {
                    return SessionsAction::Changed;
                }
                SessionsAction::Read(self.page_at(self.rows.len(), END_PAGE))
            }
            Key::Last => self.move_to(self.rows.len()),
            Key::Open => match self.selected() {
                Some(s) => SessionsAction::Open(s.session.id),
                None => SessionsAction::None,
            },
            Key::Rename => match self.selected() {
                Some(s) => {
                    self.mode = Mode::Rename(s.session.title.clone());
                    SessionsAction::Changed
                }
                None => SessionsAction::None,
            },
            Key::Delete if self.selected().is_some() => {
                self.mode = Mode::ConfirmDelete;
                SessionsAction::Changed
            }
            Key::Delete => SessionsAction::None,
            Key::Export => match self.selected() {
                Some(s) => SessionsAction::Export(s.session.id),
                None => SessionsAction::None,
            },
        }
    }
}

impl Default for SessionsScreen {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::view::preview_lines;
    use super::*;
    use crate::domain::Role;
    use crate::domain::Session;

    fn rows(n: usize, from: i64) -> Vec<SessionSummary> {
        (0..n as i64)
            .map(|i| SessionSummary {
                session: Session {
                    id: SessionId(from + i),
                    created_at: 0,
                    updated_at: 0,
                    title: format!("s{}", from + i),
                    summary: None,
                    model: None,
                    origin: None,
                    settings: Default::default(),
                },
                message_count: 2,
                unfinished_run: false,
            })
            .collect()
    }

    fn key(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }

    #[test]
    fn pages_are_read_as_the_selection_nears_the_end() {
        let mut s = SessionsScreen::new();
        assert_eq!(
            s.on_page(0, rows(PAGE, 0), true, Some(2 * PAGE + 5)),
            Some(ReadKind::Preview(SessionId(0)))
        );
        for _ in 0..(PAGE - 11) {
            s.handle_key(key(KeyCode::Down));
        }
        assert_eq!(
            s.handle_key(key(KeyCode::Down)),
            SessionsAction::Read(ReadKind::Page {
                offset: PAGE,
                filter: String::new(),
                limit: PAGE,
            })
        );
        s.page_loading = true;
        s.on_page(PAGE, rows(PAGE, PAGE as i64), true, None);
        assert_eq!(s.rows.len(), 2 * PAGE);
        // A late page for an old offset does not duplicate rows.
        s.on_page(PAGE, rows(PAGE, PAGE as i64), true, None);
        assert_eq!(s.rows.len(), 2 * PAGE);
    }

    #[test]
    fn the_preview_renders_markdown_and_shows_the_start_of_long_messages() {
        let mut m = Message::new(SessionId(1), Role::Assistant, "");
        m.content = format!(
            "**Espresso** is `brewed` under pressure.\n\n{}",
            (1..=30)
                .map(|i| format!("- point {i}\n"))
                .collect::<String>()
        );
        let text: String = preview_lines(&[m], 40)
            .iter()
            .map(|l| {
                l.spans
                    .iter()
                    .map(|s| s.content.as_ref())
                    .collect::<String>()
                    + "\n"
            })
            .collect();
        assert!(
            text.contains("Espresso is brewed under pressure."),
            "{text}"
        );
        assert!(!text.contains("**") && !text.contains('`'), "{text}");
        assert!(
            text.contains("point 1") && !text.contains("point 30"),
            "{text}"
        );
        assert!(text.trim_end().ends_with('…'), "{text}");
    }

    #[test]
    fn the_title_counts_every_session_and_end_reaches_the_last() {
        let mut s = SessionsScreen::new();
        s.on_page(0, rows(PAGE, 0), true, Some(2_000));
        let draw = |s: &SessionsScreen| {
            let mut t = ratatui::Terminal::new(ratatui::backend::TestBackend::new(60, 8)).unwrap();
            t.draw(|f| s.render(f, f.area())).unwrap();
            format!("{}", t.backend())
        };
        assert!(draw(&s).contains("Sessions (2000)"), "{}", draw(&s));
        // End reads the rest in large pages, then selects the last row.
        let mut next = match s.handle_key(key(KeyCode::End)) {
            SessionsAction::Read(k) => Some(k),
            other => panic!("{other:?}"),
        };
        while let Some(ReadKind::Page { offset, limit, .. }) = next {
            assert_eq!(offset, s.rows.len());
            let n = limit.min(2_000 - offset);
            next = s.on_page(offset, rows(n, offset as i64), offset + n < 2_000, None);
        }
        assert_eq!(s.rows.len(), 2_000);
        assert_eq!(s.selected().unwrap().session.id, SessionId(1_999));
        assert!(draw(&s).contains("› s1999"), "{}", draw(&s));
        // Feedback goes with the next key.
        s.notice = Some("renamed".into());
        s.handle_key(key(KeyCode::Up));
        assert!(s.notice.is_none());
    }

    #[test]
    fn the_selected_row_stays_in_view_far_down_the_list() {
        let mut s = SessionsScreen::new();
        s.on_page(0, rows(PAGE, 0), false, None);
        let draw = |s: &SessionsScreen| {
            let mut t = ratatui::Terminal::new(ratatui::backend::TestBackend::new(60, 12)).unwrap();
            t.draw(|f| s.render(f, f.area())).unwrap();
            format!("{}", t.backend())
        };
        for _ in 0..40 {
            s.handle_key(key(KeyCode::Down));
        }
        let screen = draw(&s);
        assert!(screen.contains("› s40"), "{screen}");
        assert!(!screen.contains("s30 "), "{screen}");
        // Back up by one: the view does not jump, the selection moves.
        s.handle_key(key(KeyCode::Up));
        let screen = draw(&s);
        assert!(
            screen.contains("› s39") && screen.contains("s40"),
            "{screen}"
        );
    }

    #[test]
    fn letters_filter_and_commands_need_an_empty_filter_or_ctrl() {
        let mut s = SessionsScreen::new();
        s.on_page(0, rows(3, 0), false, None);
        assert_eq!(
            s.handle_key(key(KeyCode::Char('d'))),
            SessionsAction::Changed
        );
        assert_eq!(s.mode, Mode::ConfirmDelete);
        assert_eq!(
            s.handle_key(key(KeyCode::Char('n'))),
            SessionsAction::Changed,
            "anything but y keeps it"
        );
        assert!(matches!(
            s.handle_key(key(KeyCode::Char('x'))),
            SessionsAction::Read(ReadKind::Page { .. })
        ));
        assert!(matches!(
            s.handle_key(key(KeyCode::Char('e'))),
            SessionsAction::Read(ReadKind::Page { .. })
        ));
        assert_eq!(s.filter, "xe");
        s.on_page(0, rows(1, 7), false, None);
        assert_eq!(
            s.handle_key(KeyEvent::new(KeyCode::Char('e'), KeyModifiers::CONTROL)),
            SessionsAction::Export(SessionId(7))
        );
        s.handle_key(key(KeyCode::Char('d')));
        s.handle_key(KeyEvent::new(KeyCode::Char('d'), KeyModifiers::CONTROL));
        assert_eq!(
            s.handle_key(key(KeyCode::Char('y'))),
            SessionsAction::Delete(SessionId(7))
        );
    }
}
