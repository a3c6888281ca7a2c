//! Colours and styles in one place.

use ratatui::style::{Color, Modifier, Style};

pub fn user_label() -> Style {
    Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD)
}
pub fn assistant_label() -> Style {
    Style::new().fg(Color::Green).add_modifier(Modifier::BOLD)
}
pub fn notice() -> Style {
    Style::new().fg(Color::Yellow)
}
pub fn error() -> Style {
    Style::new().fg(Color::Red)
}
pub fn dim() -> Style {
    Style::new().fg(Color::DarkGray)
}
pub fn status_bar() -> Style {
    Style::new().bg(Color::Rgb(30, 30, 40)).fg(Color::Gray)
}
pub fn key() -> Style {
    Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD)
}
pub fn border() -> Style {
    Style::new().fg(Color::DarkGray)
}
pub fn border_focused() -> Style {
    Style::new().fg(Color::Cyan)
}
pub fn search_match() -> Style {
    Style::new()
        .fg(Color::Black)
        .bg(Color::Yellow)
        .add_modifier(Modifier::BOLD)
}
