//! The model picker (F2): the provider's model list, ↑↓ and Enter.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, List, ListItem, ListState};

use super::theme;
use crate::text::sanitize::one_line;

pub struct ModelPicker {
    pub models: Vec<String>,
    pub selected: usize,
}

impl ModelPicker {
    pub fn new(models: Vec<String>, current: &str) -> Self {
        let selected = models
            .iter()
            .position(|m| m == current || m.strip_suffix(":latest") == Some(current))
            .unwrap_or(0);
        Self { models, selected }
    }

    pub fn up(&mut self) {
        self.selected = self.selected.saturating_sub(1);
    }

    pub fn down(&mut self) {
        if self.selected + 1 < self.models.len() {
            self.selected += 1;
        }
    }

    pub fn chosen(&self) -> Option<&str> {
        self.models.get(self.selected).map(String::as_str)
    }

    pub fn render(&self, frame: &mut Frame<'_>, area: Rect) {
        let w = area.width.saturating_sub(4).min(60);
        let h = (self.models.len() as u16 + 2)
            .min(area.height.saturating_sub(2))
            .max(3);
        let rect = Rect::new(
            area.x + area.width.saturating_sub(w) / 2,
            area.y + area.height.saturating_sub(h) / 2,
            w,
            h.min(area.height),
        );
        if rect.width < 6 || rect.height < 3 {
            return;
        }
        let items: Vec<ListItem> = if self.models.is_empty() {
            vec![ListItem::new(Line::styled(
                "the provider listed no models",
                theme::dim(),
            ))]
        } else {
            self.models
                .iter()
                .map(|m| ListItem::new(one_line(m)))
                .collect()
        };
        let list = List::new(items)
            .block(
                Block::new()
                    .borders(Borders::ALL)
                    .border_style(theme::border_focused())
                    .title(" Model — Enter picks, Esc closes "),
            )
            .highlight_style(theme::key().add_modifier(Modifier::REVERSED))
            .highlight_symbol("› ");
        let mut state = ListState::default().with_selected(Some(self.selected));
        frame.render_widget(Clear, rect);
        frame.render_stateful_widget(list, rect, &mut state);
    }
}
