//! The search overlay (Ctrl+F anywhere, `/` on the sessions screen):
//! search as you type over all history. Each keystroke sends a query with
//! a newer request id; results of any older one are ignored, so a slow
//! early query can never paint over a newer answer.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, List, ListItem, ListState, Paragraph};

use super::theme;
use super::wrap::truncate;
use crate::domain::{MessageId, Role, SessionId};
use crate::store::search::{DEEP_CANDIDATES, Hit, MARK_END, MARK_START};
use crate::text::format_time;
use crate::text::sanitize::one_line;

/// Results asked for per query.
pub const LIMIT: usize = 50;

#[derive(Debug, PartialEq)]
pub enum SearchAction {
    None,
    Changed,
    Close,
    /// Run this query (the app assigns the request id via `sent`).
    Query(String),
    /// Open the session scrolled to this message.
    Open {
        session: SessionId,
        message: MessageId,
        query: String,
    },
}

#[derive(Default)]
pub struct SearchOverlay {
    pub input: String,
    /// A query was sent (the app keeps which request answers it).
    asked: bool,
    /// The query the shown results answer.
    shown_query: String,
    hits: Vec<Hit>,
    selected: usize,
    /// The user moved the selection since these results arrived: a refined
    /// page keeps their pick, otherwise the best result stays selected.
    moved: bool,
    error: Option<String>,
    /// The shown results rank many more matches than the first answer.
    refined: bool,
}

impl SearchOverlay {
    pub fn new() -> Self {
        Self::default()
    }

    /// The app sent the current input.
    pub fn sent(&mut self) {
        self.asked = true;
    }

    pub fn waiting(&self) -> bool {
        self.asked && self.shown_query != self.input
    }

    /// Results to the newest query arrived (the app dropped older ones).
    /// A refined answer (same request, more matches ranked) keeps the
    /// result the user moved to selected when it is still there; untouched,
    /// the selection stays on the best result (issue 15, bug 3).
    pub fn on_results(
        &mut self,
        query: String,
        hits: Vec<Hit>,
        error: Option<String>,
        refined: bool,
    ) {
        let keep = (refined && self.moved)
            .then(|| self.hits.get(self.selected).map(|h| h.message))
            .flatten();
        self.selected = keep
            .and_then(|m| hits.iter().position(|h| h.message == m))
            .unwrap_or(0);
        self.moved = self.moved && refined && keep.is_some();
        self.shown_query = query;
        self.hits = hits;
        self.error = error;
        self.refined = refined;
    }

    pub fn hits(&self) -> &[Hit] {
        &self.hits
    }

    fn changed_input(&mut self) -> SearchAction {
        if self.input.trim().is_empty() {
            self.asked = false;
            self.hits.clear();
            self.error = None;
            self.shown_query.clear();
            return SearchAction::Changed;
        }
        SearchAction::Query(self.input.clone())
    }

    /// A key from the search table, else typing for the query.
    pub fn handle_key(&mut self, k: KeyEvent) -> SearchAction {
        use super::keymap::{SEARCH, Search, lookup};
        let last = self.hits.len().saturating_sub(1);
        match lookup(SEARCH, &k) {
            Some(Search::Close) => SearchAction::Close,
            Some(Search::Open) => match self.hits.get(self.selected) {
                Some(h) => SearchAction::Open {
                    session: h.session,
                    message: h.message,
                    query: self.shown_query.clone(),
                },
                None => SearchAction::None,
            },
            Some(Search::Up) => self.select(self.selected.saturating_sub(1)),
            Some(Search::Down) => self.select((self.selected + 1).min(last)),
            Some(Search::PageUp) => self.select(self.selected.saturating_sub(5)),
            Some(Search::PageDown) => self.select((self.selected + 5).min(last)),
            Some(Search::ClearQuery) => {
                self.input.clear();
                self.changed_input()
            }
            Some(Search::DeleteWord) => {
                let t = self.input.trim_end().len();
                let cut = self.input[..t].rfind(' ').map_or(0, |i| i + 1);
                self.input.truncate(cut);
                self.changed_input()
            }
            None => self.type_key(k),
        }
    }

    /// The user moved the selection: a refined page no longer moves it.
    fn select(&mut self, i: usize) -> SearchAction {
        self.selected = i;
        self.moved = true;
        SearchAction::Changed
    }

    fn type_key(&mut self, k: KeyEvent) -> SearchAction {
        let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
        match k.code {
            KeyCode::Backspace => {
                if self.input.pop().is_none() {
                    return SearchAction::None;
                }
                self.changed_input()
            }
            KeyCode::Char(c) if !ctrl && !c.is_control() => {
                self.input.push(c);
                self.changed_input()
            }
            _ => SearchAction::None,
        }
    }

    /// Pasted text joins the query (one line).
    pub fn paste(&mut self, text: &str) -> SearchAction {
        self.input.push_str(&one_line(text));
        self.changed_input()
    }

    pub fn render(&self, frame: &mut Frame<'_>, area: Rect) {
        let w = area.width.saturating_sub(4).min(110);
        let h = area.height.saturating_sub(2);
        let rect = Rect::new(area.x + area.width.saturating_sub(w) / 2, area.y + 1, w, h);
        if rect.width < 20 || rect.height < 6 {
            return;
        }
        frame.render_widget(Clear, rect);
        let block = Block::new()
            .borders(Borders::ALL)
            .border_style(theme::border_focused())
            .title(" Search all history — ↑↓ choose · Enter opens · Esc closes ");
        let inner = block.inner(rect);
        frame.render_widget(block, rect);
        let [input, status, list] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Min(1),
        ])
        .areas(inner);
        frame.render_widget(
            Paragraph::new(Line::from(vec![
                Span::styled("/ ", theme::key()),
                Span::raw(one_line(&self.input)),
                Span::styled("▏", theme::key()),
            ])),
            input,
        );
        frame.render_widget(Paragraph::new(self.status_line()), status);
        if self.hits.is_empty() {
            return;
        }
        let width = list.width.saturating_sub(2) as usize;
        let items: Vec<ListItem> = self
            .hits
            .iter()
            .map(|h| {
                let role = match h.role {
                    Role::User => Span::styled("you", theme::user_label()),
                    _ => Span::styled("sleuth", theme::assistant_label()),
                };
                let mut head = vec![
                    Span::styled(
                        truncate(&one_line(&h.session_title), width / 2),
                        theme::key(),
                    ),
                    Span::styled(format!("  {}  ", format_time(h.created_at)), theme::dim()),
                    role,
                ];
                if let Some(o) = h.origin.as_deref() {
                    head.push(Span::styled(
                        format!("  · {}", crate::domain::origin_label(o)),
                        theme::dim(),
                    ));
                }
                match h.matched {
                    "source" => head.push(Span::styled("  (in a cited source)", theme::dim())),
                    "note" => head.push(Span::styled("  (in a deep run's notes)", theme::dim())),
                    _ => {}
                }
                ListItem::new(vec![
                    Line::from(head),
                    snippet_line(&h.snippet, width),
                    Line::default(),
                ])
            })
            .collect();
        let list_w = List::new(items)
            .highlight_style(Style::new().bg(ratatui::style::Color::Rgb(40, 40, 60)))
            .highlight_symbol("› ");
        let mut state = ListState::default().with_selected(Some(self.selected));
        frame.render_stateful_widget(list_w, list, &mut state);
    }

    fn status_line(&self) -> Line<'static> {
        if self.input.trim().is_empty() {
            return Line::styled(
                "words · \"a phrase\" · -exclude · role:user · session:NAME · after:/before:YYYY-MM-DD",
                theme::dim(),
            );
        }
        if let Some(e) = &self.error {
            let style = if e.starts_with("keep typing") {
                theme::dim()
            } else {
                theme::error()
            };
            return Line::styled(one_line(e), style);
        }
        let waiting = if self.waiting() {
            " · searching…"
        } else {
            ""
        };
        if !self.asked || (self.hits.is_empty() && self.waiting()) {
            return Line::styled("searching…", theme::dim());
        }
        if self.hits.is_empty() {
            return Line::styled(
                format!(
                    "No matches for “{}” in any session or source.",
                    one_line(&self.shown_query)
                ),
                theme::notice(),
            );
        }
        Line::styled(
            format!(
                "{} result{}, best first{}{waiting}",
                self.hits.len(),
                if self.hits.len() == 1 { "" } else { "s" },
                if self.refined {
                    format!(" of the newest {DEEP_CANDIDATES} matches")
                } else {
                    String::new()
                }
            ),
            theme::dim(),
        )
    }
}

/// A snippet with its matched words highlighted, sanitized, one line.
fn snippet_line(s: &str, width: usize) -> Line<'static> {
    let mut spans = vec![Span::raw("  ")];
    let mut used = 2;
    let mut inside = false;
    for piece in s.split([MARK_START, MARK_END]) {
        let text = one_line(piece);
        let left = width.saturating_sub(used);
        if left == 0 {
            break;
        }
        let text = truncate(&text, left);
        used += unicode_width::UnicodeWidthStr::width(text.as_str());
        let style = if inside {
            Style::new()
                .fg(ratatui::style::Color::Yellow)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::new()
        };
        spans.push(Span::styled(text, style));
        inside = !inside;
    }
    Line::from(spans)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(id: i64) -> Hit {
        Hit {
            session: SessionId(1),
            session_title: "t".into(),
            origin: None,
            message: MessageId(id),
            role: Role::User,
            created_at: 0,
            snippet: String::new(),
            score: 1.0,
            matched: "message",
        }
    }

    #[test]
    fn it_waits_until_results_answer_what_is_typed() {
        let mut o = SearchOverlay::new();
        assert_eq!(
            o.handle_key(KeyEvent::new(KeyCode::Char('r'), KeyModifiers::NONE)),
            SearchAction::Query("r".into())
        );
        o.sent();
        o.handle_key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::NONE));
        o.sent();
        o.on_results("r".into(), vec![hit(1)], None, false);
        assert!(o.waiting(), "these results answer an older query");
        o.on_results("ru".into(), vec![hit(2)], None, false);
        assert_eq!(o.hits()[0].message, MessageId(2));
        assert!(!o.waiting());
    }

    #[test]
    fn a_refined_page_keeps_the_best_result_selected_unless_the_user_moved() {
        let mut o = SearchOverlay::new();
        o.handle_key(KeyEvent::new(KeyCode::Char('r'), KeyModifiers::NONE));
        o.sent();
        o.on_results("r".into(), vec![hit(1), hit(2), hit(3)], None, false);
        // The refining pass ranks the first page's best hit ninth.
        let refined: Vec<Hit> = (10..20).chain([1]).map(hit).collect();
        o.on_results("r".into(), refined.clone(), None, true);
        assert_eq!(o.selected, 0, "untouched: the best result stays selected");
        assert_eq!(
            o.handle_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
            SearchAction::Open {
                session: SessionId(1),
                message: MessageId(10),
                query: "r".into()
            }
        );
        // Moved to the second hit: a refined page keeps that pick.
        o.on_results("r".into(), vec![hit(1), hit(2), hit(3)], None, false);
        o.handle_key(KeyEvent::new(KeyCode::Down, KeyModifiers::NONE));
        let refined: Vec<Hit> = (10..20).chain([2]).map(hit).collect();
        o.on_results("r".into(), refined, None, true);
        assert_eq!(o.hits()[o.selected].message, MessageId(2));
    }
}
