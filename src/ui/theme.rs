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
/// A citation whose claim its passage does not hold (with ✗).
pub fn cite_unsupported() -> Style {
    Style::new().fg(Color::Red).add_modifier(Modifier::BOLD)
}
/// A citation whose claim its passage holds in part (with ~).
pub fn cite_partial() -> Style {
    Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD)
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

/// How a drawn frame's colours are shown. The screens draw with the dark
/// palette above; the frame is then mapped once (every cell, ~20 µs at
/// 200×50), so no widget can leak a colour `NO_COLOR` asked to leave out,
/// and code highlighting follows the light palette too.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Palette {
    #[default]
    Dark,
    Light,
    /// No colour at all (https://no-color.org): bold, reverse and
    /// underline still mark what colour would.
    None,
}

impl Palette {
    /// The configured theme, unless `no_color` (the `NO_COLOR` variable,
    /// set and not empty) turns colour off.
    pub fn choose(theme: crate::config::ThemeName, no_color: Option<&std::ffi::OsStr>) -> Self {
        if no_color.is_some_and(|v| !v.is_empty()) {
            return Palette::None;
        }
        match theme {
            crate::config::ThemeName::Dark => Palette::Dark,
            crate::config::ThemeName::Light => Palette::Light,
        }
    }

    pub fn apply(self, buf: &mut ratatui::buffer::Buffer) {
        if self == Palette::Dark {
            return;
        }
        for cell in buf.content.iter_mut() {
            match self {
                Palette::None => {
                    // A highlight shown by colour alone stays visible.
                    if !matches!(cell.bg, Color::Reset) && cell.modifier.is_empty() {
                        cell.modifier.insert(Modifier::REVERSED);
                    }
                    cell.fg = Color::Reset;
                    cell.bg = Color::Reset;
                    cell.underline_color = Color::Reset;
                }
                Palette::Light => {
                    cell.fg = light_fg(cell.fg);
                    cell.bg = light_bg(cell.bg);
                }
                Palette::Dark => {}
            }
        }
    }
}

/// Text colours readable on a light background.
fn light_fg(c: Color) -> Color {
    match c {
        Color::Yellow | Color::LightYellow => Color::Rgb(140, 100, 0),
        Color::Cyan | Color::LightCyan => Color::Rgb(0, 110, 130),
        Color::Green | Color::LightGreen => Color::Rgb(0, 120, 40),
        Color::Gray | Color::White => Color::Rgb(70, 70, 70),
        Color::DarkGray => Color::Rgb(110, 110, 110),
        Color::Blue | Color::LightBlue => Color::Rgb(0, 70, 170),
        Color::Magenta | Color::LightMagenta => Color::Rgb(140, 0, 140),
        // Code highlighting from a dark theme: light colours darkened.
        Color::Rgb(r, g, b) if luminance(r, g, b) > 0.5 => {
            let k = |v: u8| (f32::from(v) * 0.55) as u8;
            Color::Rgb(k(r), k(g), k(b))
        }
        other => other,
    }
}

/// Backgrounds (the status bar, a selected row) in light tones.
fn light_bg(c: Color) -> Color {
    match c {
        Color::Rgb(r, g, b) if luminance(r, g, b) < 0.35 => {
            let k = |v: u8| 255 - (255 - v) / 8;
            Color::Rgb(
                k(r).saturating_sub(30),
                k(g).saturating_sub(30),
                k(b).saturating_sub(20),
            )
        }
        other => other,
    }
}

fn luminance(r: u8, g: u8, b: u8) -> f32 {
    (0.2126 * f32::from(r) + 0.7152 * f32::from(g) + 0.0722 * f32::from(b)) / 255.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::buffer::Buffer;
    use ratatui::layout::Rect;

    fn frame() -> Buffer {
        let mut b = Buffer::empty(Rect::new(0, 0, 4, 1));
        b[(0, 0)].set_symbol("a").set_style(notice());
        b[(1, 0)].set_symbol("b").set_style(status_bar());
        b[(2, 0)].set_symbol("c").set_style(search_match());
        b[(3, 0)]
            .set_symbol("d")
            .set_style(Style::new().fg(Color::Rgb(200, 220, 240)));
        b
    }

    #[test]
    fn no_color_leaves_no_colour_but_keeps_highlights_visible() {
        let mut b = frame();
        Palette::None.apply(&mut b);
        for c in b.content.iter() {
            assert_eq!((c.fg, c.bg), (Color::Reset, Color::Reset), "{c:?}");
        }
        // The status bar was colour only: now reversed. The search match
        // keeps its bold.
        assert!(b[(1, 0)].modifier.contains(Modifier::REVERSED));
        assert!(b[(2, 0)].modifier.contains(Modifier::BOLD));
        assert_eq!(b[(0, 0)].symbol(), "a", "text untouched");
    }

    #[test]
    fn light_darkens_text_and_lightens_bars() {
        let mut b = frame();
        Palette::Light.apply(&mut b);
        let Color::Rgb(r, g, bl) = b[(1, 0)].bg else {
            panic!("{:?}", b[(1, 0)].bg)
        };
        assert!(luminance(r, g, bl) > 0.7, "a light status bar");
        assert_eq!(b[(0, 0)].fg, Color::Rgb(140, 100, 0));
        let Color::Rgb(r, g, bl) = b[(3, 0)].fg else {
            panic!()
        };
        assert!(luminance(r, g, bl) < 0.5, "light code colours darkened");
        let mut d = frame();
        Palette::Dark.apply(&mut d);
        assert_eq!(d, frame(), "dark is as drawn");
    }

    #[test]
    fn no_color_wins_when_set_and_not_empty() {
        use crate::config::ThemeName;
        let some = std::ffi::OsStr::new("1");
        let empty = std::ffi::OsStr::new("");
        assert_eq!(Palette::choose(ThemeName::Light, Some(some)), Palette::None);
        assert_eq!(
            Palette::choose(ThemeName::Light, Some(empty)),
            Palette::Light
        );
        assert_eq!(Palette::choose(ThemeName::Dark, None), Palette::Dark);
    }
}
