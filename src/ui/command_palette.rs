//! Ctrl+P: every action of the chat and the app, with its key, filtered
//! as you type (fuzzy, the matcher helix uses); Enter runs the chosen one.
//! The rows are the key tables the help is written from, so a key bound
//! anywhere there is here too; a row runs by sending its key, and a slash
//! command is put in the input to complete.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use nucleo_matcher::pattern::{CaseMatching, Normalization, Pattern};
use nucleo_matcher::{Config, Matcher};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::ListItem;

use super::keymap::{Binding, CHAT, GLOBAL, Global};
use super::theme;

/// How a row runs.
#[derive(Debug, Clone, PartialEq)]
pub enum Run {
    /// As if this key were pressed.
    Key(KeyEvent),
    /// Put this text in the input (a slash command to complete).
    Type(String),
}

struct Row {
    keys: &'static str,
    action: &'static str,
    run: Run,
}

/// What a key in the palette asks for.
#[derive(Debug, PartialEq)]
pub enum Action {
    None,
    Changed,
    Run(Run),
    Close,
}

pub struct CommandPalette {
    query: String,
    rows: Vec<Row>,
    /// Indexes of the rows that match, best first.
    shown: Vec<usize>,
    selected: usize,
    matcher: Matcher,
}

impl Default for CommandPalette {
    fn default() -> Self {
        let mut rows: Vec<Row> = Vec::new();
        // The palette's own key would only open it again.
        let global: Vec<&Binding<Global>> = GLOBAL
            .iter()
            .filter(|b| b.chords.iter().all(|(_, a)| *a != Global::Palette))
            .collect();
        rows.extend(global.into_iter().filter_map(row));
        rows.extend(CHAT.iter().filter_map(row));
        let shown = (0..rows.len()).collect();
        Self {
            query: String::new(),
            rows,
            shown,
            selected: 0,
            matcher: Matcher::new(Config::DEFAULT),
        }
    }
}

/// A table row as a palette row: run by its first key, or typed when it
/// is a slash command.
fn row<A>(b: &Binding<A>) -> Option<Row> {
    let run = match b.chords.first() {
        Some((c, _)) => Run::Key(KeyEvent::new(c.code, c.mods)),
        None => {
            let word = b.keys.split_whitespace().next()?;
            if !word.starts_with('/') {
                return None;
            }
            // A command with arguments leaves room to type them.
            let more = b.keys.len() > word.len();
            Run::Type(if more {
                format!("{word} ")
            } else {
                word.into()
            })
        }
    };
    Some(Row {
        keys: b.keys,
        action: b.action,
        run,
    })
}

impl CommandPalette {
    /// The rows shown, as (keys, action), best match first.
    pub fn rows(&self) -> Vec<(&'static str, &'static str)> {
        self.shown
            .iter()
            .map(|&i| (self.rows[i].keys, self.rows[i].action))
            .collect()
    }

    pub fn handle_key(&mut self, k: KeyEvent) -> Action {
        let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
        match k.code {
            KeyCode::Esc => Action::Close,
            KeyCode::Char('p') if ctrl => Action::Close,
            KeyCode::Up => {
                self.selected = self.selected.saturating_sub(1);
                Action::Changed
            }
            KeyCode::Down => {
                self.selected = (self.selected + 1).min(self.shown.len().saturating_sub(1));
                Action::Changed
            }
            KeyCode::Enter => match self.shown.get(self.selected) {
                Some(&i) => Action::Run(self.rows[i].run.clone()),
                None => Action::None,
            },
            KeyCode::Backspace if self.query.pop().is_some() => self.filter(),
            KeyCode::Char('u') if ctrl => {
                self.query.clear();
                self.filter()
            }
            KeyCode::Char(c) if !ctrl && !c.is_control() => {
                self.query.push(c);
                self.filter()
            }
            _ => Action::None,
        }
    }

    fn filter(&mut self) -> Action {
        self.selected = 0;
        if self.query.trim().is_empty() {
            self.shown = (0..self.rows.len()).collect();
            return Action::Changed;
        }
        let pattern = Pattern::parse(&self.query, CaseMatching::Ignore, Normalization::Smart);
        let hay: Vec<(usize, String)> = self
            .rows
            .iter()
            .enumerate()
            .map(|(i, r)| (i, format!("{} {}", r.action, r.keys)))
            .collect();
        let mut scored: Vec<(usize, u32)> = hay
            .iter()
            .filter_map(|(i, h)| {
                let mut buf = Vec::new();
                let text = nucleo_matcher::Utf32Str::new(h, &mut buf);
                pattern.score(text, &mut self.matcher).map(|s| (*i, s))
            })
            .collect();
        // An action that starts with what was typed first, then the best
        // scores; equal ones keep the tables' order.
        let q = self.query.trim().to_lowercase();
        let starts = |i: usize| self.rows[i].action.to_lowercase().starts_with(&q);
        scored.sort_by(|a, b| {
            starts(b.0)
                .cmp(&starts(a.0))
                .then(b.1.cmp(&a.1))
                .then(a.0.cmp(&b.0))
        });
        self.shown = scored.into_iter().map(|(i, _)| i).collect();
        Action::Changed
    }

    pub fn render(&self, frame: &mut Frame<'_>, area: Rect) {
        let w = area.width.saturating_sub(4).min(100);
        let h = area.height.saturating_sub(4).clamp(3, 24);
        let Some(rect) = super::popup::centered(area, w, h, 10, 3) else {
            return;
        };
        let keys_w = 24usize.min(usize::from(rect.width) / 3);
        let text_w = usize::from(rect.width.saturating_sub(6)).saturating_sub(keys_w + 2);
        let items: Vec<ListItem> = if self.shown.is_empty() {
            vec![ListItem::new(Line::styled(
                "no action matches",
                theme::dim(),
            ))]
        } else {
            self.shown
                .iter()
                .map(|&i| {
                    let r = &self.rows[i];
                    ListItem::new(Line::from(vec![
                        Span::styled(
                            format!("{:<keys_w$}  ", crate::text::truncate(r.keys, keys_w)),
                            theme::key(),
                        ),
                        Span::raw(crate::text::truncate(r.action, text_w)),
                    ]))
                })
                .collect()
        };
        let title = format!(
            " Run: {}▏ — Enter runs it, Esc closes ",
            crate::text::sanitize::one_line(&self.query)
        );
        super::popup::list(
            frame,
            rect,
            title,
            items,
            self.selected,
            ratatui::style::Style::new().add_modifier(Modifier::REVERSED),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn type_in(p: &mut CommandPalette, s: &str) {
        for c in s.chars() {
            p.handle_key(key(KeyCode::Char(c)));
        }
    }

    #[test]
    fn every_bound_chat_and_app_key_is_listed() {
        let p = CommandPalette::default();
        let rows = p.rows();
        for b in CHAT.iter() {
            assert!(rows.contains(&(b.keys, b.action)), "{} missing", b.keys);
        }
        for b in GLOBAL
            .iter()
            .filter(|b| b.chords.iter().all(|(_, a)| *a != Global::Palette))
        {
            assert!(rows.contains(&(b.keys, b.action)), "{} missing", b.keys);
        }
    }

    #[test]
    fn typing_filters_fuzzily_and_enter_runs_the_best_match() {
        let mut p = CommandPalette::default();
        type_in(&mut p, "regenrate");
        assert_eq!(p.rows()[0].0, "Ctrl+G", "{:?}", p.rows());
        assert_eq!(
            p.handle_key(key(KeyCode::Enter)),
            Action::Run(Run::Key(KeyEvent::new(
                KeyCode::Char('g'),
                KeyModifiers::CONTROL
            )))
        );
        let mut p = CommandPalette::default();
        type_in(&mut p, "deep run");
        assert_eq!(
            p.handle_key(key(KeyCode::Enter)),
            Action::Run(Run::Type("/deep ".into()))
        );
        type_in(&mut p, "zzzzqqq");
        assert!(p.rows().is_empty());
        assert_eq!(p.handle_key(key(KeyCode::Enter)), Action::None);
        assert_eq!(p.handle_key(key(KeyCode::Esc)), Action::Close);
    }
}
