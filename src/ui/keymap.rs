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
        keys: "? or F1",
        action: "toggle this help (? when the input is empty)",
    },
    Binding {
        keys: "Esc",
        action: "close help",
    },
];

pub const CHAT: &[Binding] = &[
    Binding {
        keys: "Enter",
        action: "send the question",
    },
    Binding {
        keys: "Alt+Enter, Shift+Enter, Ctrl+J",
        action: "insert a newline",
    },
    Binding {
        keys: "Ctrl+N",
        action: "start a new session",
    },
    Binding {
        keys: "PgUp / PgDn",
        action: "scroll the transcript a page",
    },
    Binding {
        keys: "Ctrl+Home / Ctrl+End",
        action: "jump to the top / back to the latest",
    },
    Binding {
        keys: "Ctrl+U",
        action: "clear the input",
    },
    Binding {
        keys: "←→↑↓, Home, End, Ctrl+W, Ctrl+Z…",
        action: "edit the input (readline-style keys)",
    },
];
