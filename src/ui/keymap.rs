//! The keys the app answers to, one table per screen: the chat screen and
//! the app dispatch from these tables, and the help overlay and the README
//! are written from them (a test checks every key a row dispatches is in
//! its text, and the README lists every row).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

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
            KeyCode::Char(_) => m & (KeyModifiers::CONTROL | KeyModifiers::ALT),
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

/// The action `k` means in `table`, if any.
pub fn lookup<A: Copy>(table: &[Binding<A>], k: &KeyEvent) -> Option<A> {
    table
        .iter()
        .flat_map(|b| b.chords.iter())
        .find(|(c, _)| c.matches(k))
        .map(|(_, a)| *a)
}

/// What a key does anywhere (the app dispatches these first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Global {
    Quit,
    Help,
    Search,
    Sessions,
}

/// What a key does on the chat screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chat {
    Send,
    Newline,
    Stop,
    Regenerate,
    Copy,
    PickModel,
    ToggleMode,
    Sources,
    Trees,
    NewSession,
    ResumeLast,
    ScrollUp,
    ScrollDown,
    Top,
    Bottom,
    Clear,
    Editor,
    Undo,
    Redo,
}

/// What a key does on the sessions screen (letters act when no filter is
/// being typed; the Ctrl+ forms always).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sessions {
    Up,
    Down,
    PageUp,
    PageDown,
    First,
    Last,
    Open,
    Rename,
    Delete,
    Export,
    Search,
    Close,
}

/// Rows that only describe (typing, commands, search syntax).
pub enum Described {}

pub const GLOBAL: &[Binding<Global>] = &[
    Binding {
        keys: "Ctrl+C, Ctrl+Q",
        action: "quit",
        chords: &[(ctrl('c'), Global::Quit), (ctrl('q'), Global::Quit)],
    },
    Binding {
        keys: "?, F1",
        action: "this help (? on an empty input); Esc closes",
        chords: &[
            (plain(KeyCode::Char('?')), Global::Help),
            (plain(KeyCode::F(1)), Global::Help),
        ],
    },
    Binding {
        keys: "Ctrl+F",
        action: "search all history (/ on the sessions screen)",
        chords: &[(ctrl('f'), Global::Search)],
    },
    Binding {
        keys: "F3, Ctrl+O",
        action: "sessions: browse, open, rename, delete, export",
        chords: &[
            (plain(KeyCode::F(3)), Global::Sessions),
            (ctrl('o'), Global::Sessions),
        ],
    },
];

pub const CHAT: &[Binding<Chat>] = &[
    Binding {
        keys: "Enter",
        action: "send the question",
        chords: &[(plain(KeyCode::Enter), Chat::Send)],
    },
    Binding {
        keys: "Alt+Enter, Ctrl+J",
        action: "newline in the input",
        chords: &[
            (with(KeyModifiers::ALT, KeyCode::Enter), Chat::Newline),
            (ctrl('j'), Chat::Newline),
        ],
    },
    Binding {
        keys: "Shift+Enter",
        action: "newline too, where the terminal tells it apart",
        chords: &[(with(KeyModifiers::SHIFT, KeyCode::Enter), Chat::Newline)],
    },
    Binding {
        keys: "Esc",
        action: "stop the answer (kept as interrupted)",
        chords: &[(plain(KeyCode::Esc), Chat::Stop)],
    },
    Binding {
        keys: "Ctrl+G",
        action: "regenerate the last answer",
        chords: &[(ctrl('g'), Chat::Regenerate)],
    },
    Binding {
        keys: "Ctrl+Y",
        action: "copy the last answer (OSC 52)",
        chords: &[(ctrl('y'), Chat::Copy)],
    },
    Binding {
        keys: "F2",
        action: "pick the model",
        chords: &[(plain(KeyCode::F(2)), Chat::PickModel)],
    },
    Binding {
        keys: "Ctrl+T",
        action: "research turns ⇄ plain chat",
        chords: &[(ctrl('t'), Chat::ToggleMode)],
    },
    Binding {
        keys: "Tab",
        action: "cited sources: Tab next, o open, y copy URL",
        chords: &[(plain(KeyCode::Tab), Chat::Sources)],
    },
    Binding {
        keys: "/sources wiki,hn …",
        action: "research one question in some sources only",
        chords: &[],
    },
    Binding {
        keys: "/deep …",
        action: "deep run: plan, rounds, leads, a cited report",
        chords: &[],
    },
    Binding {
        keys: "/resume",
        action: "continue this session's unfinished deep run",
        chords: &[],
    },
    Binding {
        keys: "F4",
        action: "deep runs' research trees: open ⇄ close",
        chords: &[(plain(KeyCode::F(4)), Chat::Trees)],
    },
    Binding {
        keys: "Ctrl+N",
        action: "new session",
        chords: &[(ctrl('n'), Chat::NewSession)],
    },
    Binding {
        keys: "Ctrl+R",
        action: "resume the last session",
        chords: &[(ctrl('r'), Chat::ResumeLast)],
    },
    Binding {
        keys: "PgUp, PgDn, wheel",
        action: "scroll the transcript",
        chords: &[
            (plain(KeyCode::PageUp), Chat::ScrollUp),
            (plain(KeyCode::PageDown), Chat::ScrollDown),
        ],
    },
    Binding {
        keys: "Home, End",
        action: "top / latest (on an empty input)",
        chords: &[
            (plain(KeyCode::Home), Chat::Top),
            (plain(KeyCode::End), Chat::Bottom),
        ],
    },
    Binding {
        keys: "Ctrl+Home, Ctrl+End",
        action: "top / latest while typing",
        chords: &[
            (with(KeyModifiers::CONTROL, KeyCode::Home), Chat::Top),
            (with(KeyModifiers::CONTROL, KeyCode::End), Chat::Bottom),
        ],
    },
    Binding {
        keys: "Ctrl+U, Ctrl+W, arrows",
        action: "edit the input (Ctrl+U clears it)",
        chords: &[(ctrl('u'), Chat::Clear)],
    },
    Binding {
        keys: "Ctrl+E",
        action: "write the question in $VISUAL / $EDITOR",
        chords: &[(ctrl('e'), Chat::Editor)],
    },
    Binding {
        keys: "Ctrl+Z, Alt+Z",
        action: "undo / redo in the input (a clear too)",
        chords: &[
            (ctrl('z'), Chat::Undo),
            (with(KeyModifiers::ALT, KeyCode::Char('z')), Chat::Redo),
        ],
    },
];

pub const SESSIONS: &[Binding<Sessions>] = &[
    Binding {
        keys: "↑, ↓, PgUp, PgDn",
        action: "move through the sessions",
        chords: &[
            (plain(KeyCode::Up), Sessions::Up),
            (plain(KeyCode::Down), Sessions::Down),
            (plain(KeyCode::PageUp), Sessions::PageUp),
            (plain(KeyCode::PageDown), Sessions::PageDown),
        ],
    },
    Binding {
        keys: "Home, End",
        action: "newest / oldest session",
        chords: &[
            (plain(KeyCode::Home), Sessions::First),
            (plain(KeyCode::End), Sessions::Last),
        ],
    },
    Binding {
        keys: "Enter",
        action: "open the session and continue it",
        chords: &[(plain(KeyCode::Enter), Sessions::Open)],
    },
    Binding {
        keys: "r, d, e",
        action: "rename, delete (y confirms), export .md",
        chords: &[
            (plain(KeyCode::Char('r')), Sessions::Rename),
            (plain(KeyCode::Char('d')), Sessions::Delete),
            (plain(KeyCode::Char('e')), Sessions::Export),
        ],
    },
    Binding {
        keys: "Ctrl+R, Ctrl+D, Ctrl+E",
        action: "the same while a filter is typed",
        chords: &[
            (ctrl('r'), Sessions::Rename),
            (ctrl('d'), Sessions::Delete),
            (ctrl('e'), Sessions::Export),
        ],
    },
    Binding {
        keys: "/",
        action: "search all history",
        chords: &[(plain(KeyCode::Char('/')), Sessions::Search)],
    },
    Binding {
        keys: "Esc, F3, Ctrl+O",
        action: "back to the chat (Esc: the filter first)",
        chords: &[
            (plain(KeyCode::Esc), Sessions::Close),
            (plain(KeyCode::F(3)), Sessions::Close),
            (ctrl('o'), Sessions::Close),
        ],
    },
    Binding {
        keys: "type, Backspace",
        action: "filter titles",
        chords: &[],
    },
];

pub const SEARCH: &[Binding<Described>] = &[
    Binding {
        keys: "Enter",
        action: "open the session at the selected result",
        chords: &[],
    },
    Binding {
        keys: "a b \"a phrase\" -c",
        action: "search: all words, a phrase, not c",
        chords: &[],
    },
    Binding {
        keys: "role: session:",
        action: "role:user|assistant, session:NAME",
        chords: &[],
    },
    Binding {
        keys: "after: before:",
        action: "dates as YYYY-MM-DD",
        chords: &[],
    },
    Binding {
        keys: "Alt+↓/↑, Alt+n/p",
        action: "next / previous match, after opening a result",
        chords: &[],
    },
];

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
        let bound: std::collections::BTreeSet<String> = GLOBAL
            .iter()
            .map(|b| b.keys)
            .chain(CHAT.iter().map(|b| b.keys))
            .chain(SESSIONS.iter().map(|b| b.keys))
            .chain(SEARCH.iter().map(|b| b.keys))
            .map(String::from)
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
        // `?` arrives with Shift on most terminals.
        assert_eq!(
            lookup(GLOBAL, &ev(KeyCode::Char('?'), KeyModifiers::SHIFT)),
            Some(Global::Help)
        );
    }
}
