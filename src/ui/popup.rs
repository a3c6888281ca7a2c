//! Boxes drawn over the screen (pickers, the palette): where they go and
//! how a list in one is drawn.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::widgets::{Block, Borders, Clear, List, ListItem, ListState};

use super::theme;

/// A `w`×`h` box centred in `area` (clipped to it); None when it would be
/// smaller than `min_w`×`min_h` (nothing useful fits).
pub fn centered(area: Rect, w: u16, h: u16, min_w: u16, min_h: u16) -> Option<Rect> {
    let rect = Rect::new(
        area.x + area.width.saturating_sub(w) / 2,
        area.y + area.height.saturating_sub(h) / 2,
        w.min(area.width),
        h.min(area.height),
    );
    (rect.width >= min_w && rect.height >= min_h).then_some(rect)
}

/// A titled list in `rect`, over whatever was drawn there, with the
/// `selected` row marked.
pub fn list(
    frame: &mut Frame<'_>,
    rect: Rect,
    title: String,
    items: Vec<ListItem<'_>>,
    selected: usize,
    highlight: Style,
) {
    let list = List::new(items)
        .block(
            Block::new()
                .borders(Borders::ALL)
                .border_style(theme::border_focused())
                .title(title),
        )
        .highlight_style(highlight)
        .highlight_symbol("› ");
    let mut state = ListState::default().with_selected(Some(selected));
    frame.render_widget(Clear, rect);
    frame.render_stateful_widget(list, rect, &mut state);
}
