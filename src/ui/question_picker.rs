//! Ctrl+R: the questions asked before, in every session, searched as you
//! type (newest matching first; the reader thread searches the full-text
//! index). Enter puts the chosen one in the input, to edit or send.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::Line;
use ratatui::widgets::ListItem;

use super::keymap::{QUESTIONS, Questions, lookup};
use super::theme;
use crate::domain::MessageId;
use crate::text::sanitize::one_line;

#[derive(Default)]
pub struct QuestionPicker {
    pub query: String,
    hits: Vec<(MessageId, String)>,
    selected: usize,
    /// The shown hits answer an older query.
    waiting: bool,
}

/// What a key in the picker asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Action {
    None,
    Changed,
    /// Search again for the query.
    Query(String),
    /// Put this question in the input.
    Choose(String),
    Close,
}

impl QuestionPicker {
    pub fn handle_key(&mut self, k: KeyEvent) -> Action {
        match lookup(QUESTIONS, &k) {
            Some(Questions::Up) => {
                self.selected = self.selected.saturating_sub(1);
                Action::Changed
            }
            Some(Questions::Down) => {
                self.selected = (self.selected + 1).min(self.hits.len().saturating_sub(1));
                Action::Changed
            }
            Some(Questions::Choose) => match self.hits.get(self.selected) {
                Some((_, q)) => Action::Choose(q.clone()),
                None => Action::None,
            },
            Some(Questions::Close) => Action::Close,
            None => self.type_key(k),
        }
    }

    fn type_key(&mut self, k: KeyEvent) -> Action {
        let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
        match k.code {
            KeyCode::Backspace if self.query.pop().is_some() => self.changed(),
            KeyCode::Char(c) if !ctrl && !c.is_control() => {
                self.query.push(c);
                self.changed()
            }
            _ => Action::None,
        }
    }

    fn changed(&mut self) -> Action {
        self.waiting = true;
        Action::Query(self.query.clone())
    }

    pub fn hits(&self) -> &[(MessageId, String)] {
        &self.hits
    }

    /// The newest answer to the query (the app drops older ones).
    pub fn results(&mut self, hits: Vec<(MessageId, String)>) {
        self.hits = hits;
        self.selected = 0;
        self.waiting = false;
    }

    pub fn render(&self, frame: &mut Frame<'_>, area: Rect) {
        let w = area.width.saturating_sub(4).min(100);
        let h = area.height.saturating_sub(4).clamp(3, 20);
        let Some(rect) = super::popup::centered(area, w, h, 10, 3) else {
            return;
        };
        let items: Vec<ListItem> = if self.hits.is_empty() {
            let say = if self.waiting {
                "searching…"
            } else if self.query.trim().is_empty() {
                "no questions asked yet"
            } else {
                "no question has these words"
            };
            vec![ListItem::new(Line::styled(say, theme::dim()))]
        } else {
            let width = usize::from(rect.width.saturating_sub(4));
            self.hits
                .iter()
                .map(|(_, q)| ListItem::new(crate::text::truncate(&one_line(q), width)))
                .collect()
        };
        let title = format!(
            " Earlier questions: {}▏ — Enter puts it in the input, Esc closes ",
            one_line(&self.query)
        );
        super::popup::list(
            frame,
            rect,
            title,
            items,
            self.selected,
            theme::key().add_modifier(Modifier::REVERSED),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn typing_searches_and_enter_chooses_the_selected_question() {
        let mut p = QuestionPicker::default();
        assert_eq!(
            p.handle_key(key(KeyCode::Char('w'))),
            Action::Query("w".into())
        );
        assert_eq!(p.handle_key(key(KeyCode::Enter)), Action::None);
        p.results(vec![
            (MessageId(2), "wal mode?".into()),
            (MessageId(1), "what is wal".into()),
        ]);
        p.handle_key(key(KeyCode::Down));
        assert_eq!(
            p.handle_key(key(KeyCode::Enter)),
            Action::Choose("what is wal".into())
        );
        assert_eq!(
            p.handle_key(key(KeyCode::Backspace)),
            Action::Query(String::new())
        );
        assert_eq!(p.handle_key(key(KeyCode::Backspace)), Action::None);
        assert_eq!(p.handle_key(key(KeyCode::Esc)), Action::Close);
    }
}
