//! The help overlay: every key, from the keymap table.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::keymap::{Binding, CHAT, GLOBAL, HISTORY};
use super::theme;

fn section<'a>(title: &'a str, bindings: &'a [Binding], out: &mut Vec<Line<'a>>, key_w: usize) {
    out.push(Line::styled(title, theme::assistant_label()));
    for b in bindings {
        out.push(Line::from(vec![
            Span::styled(format!("  {:<key_w$}", b.keys), theme::key()),
            Span::raw(format!("  {}", b.action)),
        ]));
    }
    out.push(Line::default());
}

pub fn render(frame: &mut Frame<'_>, area: Rect) {
    let key_w = GLOBAL
        .iter()
        .chain(CHAT)
        .chain(HISTORY)
        .map(|b| b.keys.chars().count())
        .max()
        .unwrap_or(10);
    let mut lines = Vec::new();
    section("Anywhere", GLOBAL, &mut lines, key_w);
    section("Chat", CHAT, &mut lines, key_w);
    section("History", HISTORY, &mut lines, key_w);
    lines.pop();
    let w = area.width.saturating_sub(4).min(96);
    let h = (lines.len() as u16 + 2).min(area.height);
    let rect = Rect::new(
        area.x + (area.width.saturating_sub(w)) / 2,
        area.y + (area.height.saturating_sub(h)) / 2,
        w,
        h,
    );
    if rect.width < 3 || rect.height < 3 {
        return;
    }
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(
            Block::new()
                .borders(Borders::ALL)
                .border_style(theme::border_focused())
                .title(" Keys — Esc to close "),
        ),
        rect,
    );
}
