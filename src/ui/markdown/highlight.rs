//! Syntax highlighting for fenced code: syntect's definitions and theme,
//! loaded once (off the render thread at start-up).

use std::sync::OnceLock;

use syntect::highlighting::{Theme, ThemeSet};
use syntect::parsing::SyntaxSet;

pub(super) struct Highlighter {
    pub syntaxes: SyntaxSet,
    pub theme: Theme,
}

static HIGHLIGHTER: OnceLock<Option<Highlighter>> = OnceLock::new();

pub(super) fn highlighter() -> Option<&'static Highlighter> {
    HIGHLIGHTER
        .get_or_init(|| {
            let syntaxes = SyntaxSet::load_defaults_newlines();
            let mut themes = ThemeSet::load_defaults();
            let theme = themes.themes.remove("base16-ocean.dark")?;
            Some(Highlighter { syntaxes, theme })
        })
        .as_ref()
}

/// Loads the syntax definitions on a background thread at start-up so the
/// first code block does not stall a frame.
pub fn preload() {
    let _ = std::thread::Builder::new()
        .name("syntax-preload".into())
        .spawn(|| {
            let _ = highlighter();
        });
}
