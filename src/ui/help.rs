//! The help overlay: every key, from the keymap table.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::keymap::sections;
use super::theme;

/// Draws the overlay scrolled by `scroll` lines; returns the scroll
/// clamped to what the content needs at this size.
pub fn render(frame: &mut Frame<'_>, area: Rect, scroll: u16) -> u16 {
    let sections = sections();
    let key_w = sections
        .iter()
        .flat_map(|s| s.rows.iter())
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(10);
    let mut lines = Vec::new();
    for s in &sections {
        lines.push(Line::styled(s.title, theme::assistant_label()));
        for (keys, action) in &s.rows {
            lines.push(Line::from(vec![
                Span::styled(format!("  {keys:<key_w$}"), theme::key()),
                Span::raw(format!("  {action}")),
            ]));
        }
        lines.push(Line::default());
    }
    lines.pop();
    let w = area.width.saturating_sub(4).min(96);
    let content = lines.len() as u16;
    let h = (content + 2).min(area.height);
    let rect = Rect::new(
        area.x + (area.width.saturating_sub(w)) / 2,
        area.y + (area.height.saturating_sub(h)) / 2,
        w,
        h,
    );
    if rect.width < 3 || rect.height < 3 {
        return 0;
    }
    let max_scroll = content.saturating_sub(rect.height - 2);
    let scroll = scroll.min(max_scroll);
    let title = if max_scroll > 0 {
        " Keys — ↑↓ scroll, Esc closes "
    } else {
        " Keys — Esc to close "
    };
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines).scroll((scroll, 0)).block(
            Block::new()
                .borders(Borders::ALL)
                .border_style(theme::border_focused())
                .title(title),
        ),
        rect,
    );
    scroll
}
