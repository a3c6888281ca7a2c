//! The keys the app answers to, one table per screen: the chat screen and
//! the app dispatch from these tables, and the help overlay and the README
//! are written from them (a test checks every key a row dispatches is in
//! its text, and the README lists every row).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

mod select;
mod tables;
pub use select::*;
pub use tables::*;

/// A key as typed: a code and the modifiers held with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chord {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

const fn plain(code: KeyCode) -> Chord {
    Chord {
        code,
        mods: KeyModifiers::NONE,
    }
}

const fn ctrl(c: char) -> Chord {
    Chord {
        code: KeyCode::Char(c),
        mods: KeyModifiers::CONTROL,
    }
}

const fn with(mods: KeyModifiers, code: KeyCode) -> Chord {
    Chord { code, mods }
}

impl Chord {
    /// Whether `k` is this chord: the same code and exactly its Ctrl/Alt
    /// (Shift counts only for keys other than letters, where it is part of
    /// the letter typed).
    pub fn matches(&self, k: &KeyEvent) -> bool {
        let relevant = |m: KeyModifiers| match self.code {
            // Shift+Tab arrives as BackTab, with or without Shift.
            KeyCode::Char(_) | KeyCode::BackTab => m & (KeyModifiers::CONTROL | KeyModifiers::ALT),
            _ => m & (KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT),
        };
        k.code == self.code && relevant(k.modifiers) == relevant(self.mods)
    }

    /// How the help writes it: "Ctrl+G", "Alt+Enter", "F2", "PgUp".
    pub fn name(&self) -> String {
        let mut s = String::new();
        for (m, n) in [
            (KeyModifiers::CONTROL, "Ctrl+"),
            (KeyModifiers::ALT, "Alt+"),
            (KeyModifiers::SHIFT, "Shift+"),
        ] {
            if self.mods.contains(m) {
                s.push_str(n);
            }
        }
        match self.code {
            // A letter typed alone is written as typed; with Ctrl or Alt,
            // in capitals as usual.
            KeyCode::Char(c) if self.mods.is_empty() => s.push(c),
            KeyCode::Char(c) => s.extend(c.to_uppercase()),
            KeyCode::F(n) => s.push_str(&format!("F{n}")),
            KeyCode::Enter => s.push_str("Enter"),
            KeyCode::Esc => s.push_str("Esc"),
            KeyCode::Tab => s.push_str("Tab"),
            KeyCode::PageUp => s.push_str("PgUp"),
            KeyCode::PageDown => s.push_str("PgDn"),
            KeyCode::Home => s.push_str("Home"),
            KeyCode::End => s.push_str("End"),
            KeyCode::Up => s.push('↑'),
            KeyCode::Down => s.push('↓'),
            KeyCode::Left => s.push('←'),
            KeyCode::Right => s.push('→'),
            KeyCode::BackTab => s.push_str("Shift+Tab"),
            KeyCode::Backspace => s.push_str("Backspace"),
            other => s.push_str(&format!("{other:?}")),
        }
        s
    }
}

/// One row of a table: the keys as the help writes them, what they do,
/// and the chords the screen dispatches with the action each one means
/// (none for rows that describe typing, such as search syntax).
pub struct Binding<A: 'static> {
    pub keys: &'static str,
    pub action: &'static str,
    pub chords: &'static [(Chord, A)],
}

/// A table as the help shows it: a title and its rows (keys, action).
pub struct Section {
    pub title: &'static str,
    pub rows: Vec<(&'static str, &'static str)>,
}

fn section<A>(title: &'static str, table: &[Binding<A>]) -> Section {
    Section {
        title,
        rows: table.iter().map(|b| (b.keys, b.action)).collect(),
    }
}

/// Every table, in the order the help lists them.
pub fn sections() -> Vec<Section> {
    vec![
        section("Anywhere", GLOBAL),
        section("Chat", CHAT),
        section("Sessions (F3)", SESSIONS),
        section("Search (Ctrl+F)", SEARCH),
        section("A selected message (Ctrl+↑)", SELECT),
        section("After opening a search result", FOUND),
        section("Cited sources (Tab)", SOURCE_VIEW),
        section("Model picker (F2)", PICKER),
        section("Earlier questions (Ctrl+R)", QUESTIONS),
        section("This help", HELP_VIEW),
    ]
}

/// The action `k` means in `table`, if any.
pub fn lookup<A: Copy>(table: &[Binding<A>], k: &KeyEvent) -> Option<A> {
    table
        .iter()
        .flat_map(|b| b.chords.iter())
        .find(|(c, _)| c.matches(k))
        .map(|(_, a)| *a)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first column of the README's Keys table.
    fn readme_keys() -> std::collections::BTreeSet<String> {
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
            .unwrap_or_default();
        let section = readme
            .split("## Keys")
            .nth(1)
            .and_then(|s| s.split("\n## ").next())
            .unwrap_or_default();
        section
            .lines()
            .filter(|l| l.starts_with("| ") && !l.starts_with("| key |"))
            .filter_map(|l| l.split(" | ").next())
            .map(|k| k.trim_start_matches("| ").trim_matches('`').to_string())
            .collect()
    }

    #[test]
    fn the_readme_lists_every_bound_key_and_no_other() {
        let bound: std::collections::BTreeSet<String> = sections()
            .iter()
            .flat_map(|s| s.rows.iter().map(|(keys, _)| keys.to_string()))
            .collect();
        let readme = readme_keys();
        let missing: Vec<_> = bound.difference(&readme).collect();
        let unknown: Vec<_> = readme.difference(&bound).collect();
        assert!(
            missing.is_empty() && unknown.is_empty(),
            "README Keys table: missing {missing:?}, not bound {unknown:?}"
        );
    }

    /// A key a row dispatches is named in that row's text, so the help
    /// (written from the same rows) lists every bound key.
    fn named_in_help<A>(table: &[Binding<A>]) -> Vec<String> {
        let mut missing = Vec::new();
        for b in table {
            let named: Vec<&str> = b.keys.split(", ").collect();
            for (c, _) in b.chords {
                if !named.contains(&c.name().as_str()) {
                    missing.push(format!("{} not in {:?}", c.name(), b.keys));
                }
            }
        }
        missing
    }

    #[test]
    fn every_dispatched_key_is_in_the_help() {
        let mut missing = named_in_help(GLOBAL);
        missing.extend(named_in_help(CHAT));
        missing.extend(named_in_help(SESSIONS));
        missing.extend(named_in_help(SEARCH));
        missing.extend(named_in_help(FOUND));
        missing.extend(named_in_help(SOURCE_VIEW));
        missing.extend(named_in_help(PICKER));
        missing.extend(named_in_help(QUESTIONS));
        missing.extend(named_in_help(HELP_VIEW));
        assert!(missing.is_empty(), "{missing:?}");
    }

    #[test]
    fn chords_match_exactly_their_modifiers() {
        let ev = |code, mods| KeyEvent::new(code, mods);
        assert_eq!(
            lookup(CHAT, &ev(KeyCode::Enter, KeyModifiers::NONE)),
            Some(Chat::Send)
        );
        assert_eq!(
            lookup(CHAT, &ev(KeyCode::Enter, KeyModifiers::SHIFT)),
            Some(Chat::Newline)
        );
        assert_eq!(
            lookup(CHAT, &ev(KeyCode::Enter, KeyModifiers::ALT)),
            Some(Chat::Newline)
        );
        assert_eq!(
            lookup(CHAT, &ev(KeyCode::Char('z'), KeyModifiers::CONTROL)),
            Some(Chat::Undo)
        );
        assert_eq!(
            lookup(CHAT, &ev(KeyCode::Char('z'), KeyModifiers::ALT)),
            Some(Chat::Redo)
        );
        assert_eq!(
            lookup(CHAT, &ev(KeyCode::Char('z'), KeyModifiers::NONE)),
            None
        );
        assert_eq!(
            lookup(CHAT, &ev(KeyCode::Home, KeyModifiers::CONTROL)),
            Some(Chat::Top)
        );
        // Shift+Tab arrives as BackTab, with Shift or without.
        for mods in [KeyModifiers::SHIFT, KeyModifiers::NONE] {
            assert_eq!(
                lookup(SOURCE_VIEW, &ev(KeyCode::BackTab, mods)),
                Some(SourceView::Prev)
            );
        }
        // Found mode takes only the Alt forms; plain arrows and letters
        // stay the input's.
        assert_eq!(
            lookup(FOUND, &ev(KeyCode::Down, KeyModifiers::ALT)),
            Some(Found::Next)
        );
        assert_eq!(lookup(FOUND, &ev(KeyCode::Down, KeyModifiers::NONE)), None);
        assert_eq!(
            lookup(FOUND, &ev(KeyCode::Char('n'), KeyModifiers::NONE)),
            None
        );
        // `?` arrives with Shift on most terminals.
        assert_eq!(
            lookup(GLOBAL, &ev(KeyCode::Char('?'), KeyModifiers::SHIFT)),
            Some(Global::Help)
        );
    }
}
