//! Every key the app answers to, in one table: the help overlay and the
//! README are written from it.

pub struct Binding {
    pub keys: &'static str,
    pub action: &'static str,
}

pub const GLOBAL: &[Binding] = &[
    Binding {
        keys: "Ctrl+C, Ctrl+Q",
        action: "quit",
    },
    Binding {
        keys: "?, F1",
        action: "this help (? on an empty input); Esc closes",
    },
    Binding {
        keys: "Ctrl+F",
        action: "search all history (/ on the sessions screen)",
    },
    Binding {
        keys: "F3, Ctrl+O",
        action: "sessions: browse, open, rename, delete, export",
    },
];

pub const CHAT: &[Binding] = &[
    Binding {
        keys: "Enter",
        action: "send the question",
    },
    Binding {
        keys: "Alt/Shift+Enter, Ctrl+J",
        action: "newline in the input",
    },
    Binding {
        keys: "Esc",
        action: "stop the answer (kept as interrupted)",
    },
    Binding {
        keys: "Ctrl+G",
        action: "regenerate the last answer",
    },
    Binding {
        keys: "Ctrl+Y",
        action: "copy the last answer (OSC 52)",
    },
    Binding {
        keys: "F2",
        action: "pick the model",
    },
    Binding {
        keys: "Ctrl+T",
        action: "research turns ⇄ plain chat",
    },
    Binding {
        keys: "Tab",
        action: "cited sources: Tab next, o open, y copy URL",
    },
    Binding {
        keys: "/sources wiki,hn …",
        action: "research one question in some sources only",
    },
    Binding {
        keys: "/deep …",
        action: "deep run: plan, rounds, leads, a cited report",
    },
    Binding {
        keys: "/resume",
        action: "continue this session's unfinished deep run",
    },
    Binding {
        keys: "F4",
        action: "deep runs' research trees: open ⇄ close",
    },
    Binding {
        keys: "Ctrl+N",
        action: "new session",
    },
    Binding {
        keys: "Ctrl+R",
        action: "resume the last session",
    },
    Binding {
        keys: "PgUp/PgDn, wheel",
        action: "scroll the transcript",
    },
    Binding {
        keys: "Home/End",
        action: "top / latest (Ctrl+ while typing)",
    },
    Binding {
        keys: "Ctrl+U/W, arrows",
        action: "edit the input (Ctrl+U clears it)",
    },
    Binding {
        keys: "Ctrl+E",
        action: "write the question in $VISUAL / $EDITOR",
    },
    Binding {
        keys: "Ctrl+Z, Alt+Z",
        action: "undo / redo in the input (a clear too)",
    },
];

pub const HISTORY: &[Binding] = &[
    Binding {
        keys: "type, Backspace",
        action: "sessions: filter titles (Esc clears)",
    },
    Binding {
        keys: "Enter",
        action: "open the session / the search result",
    },
    Binding {
        keys: "r d e, Ctrl+R D E",
        action: "rename, delete (y confirms), export .md",
    },
    Binding {
        keys: "a b \"a phrase\" -c",
        action: "search: all words, a phrase, not c",
    },
    Binding {
        keys: "role: session:",
        action: "role:user|assistant, session:NAME",
    },
    Binding {
        keys: "after: before:",
        action: "dates as YYYY-MM-DD",
    },
    Binding {
        keys: "Alt+↓/↑, Alt+n/p",
        action: "next / previous match, after opening a result",
    },
];

#[cfg(test)]
mod tests {
    use super::{CHAT, GLOBAL, HISTORY};

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
            .chain(CHAT)
            .chain(HISTORY)
            .map(|b| b.keys.to_string())
            .collect();
        let readme = readme_keys();
        let missing: Vec<_> = bound.difference(&readme).collect();
        let unknown: Vec<_> = readme.difference(&bound).collect();
        assert!(
            missing.is_empty() && unknown.is_empty(),
            "README Keys table: missing {missing:?}, not bound {unknown:?}"
        );
    }
}
