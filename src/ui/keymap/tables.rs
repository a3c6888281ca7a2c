//! The key tables, one per screen and overlay: what each chord does and
//! how the help and the README write it.

use crossterm::event::{KeyCode, KeyModifiers};

use super::{Binding, ctrl, plain, with};

/// What a key does anywhere (the app dispatches these first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Global {
    Quit,
    Help,
    Search,
    Sessions,
    Palette,
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
    RecallOlder,
    RecallNewer,
    SearchQuestions,
    Select,
    CopyBibliography,
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

/// What a key does in the search overlay (other keys type the query).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Search {
    Open,
    Up,
    Down,
    PageUp,
    PageDown,
    ClearQuery,
    DeleteWord,
    Close,
}

/// What a key does after a search result was opened (found mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    Next,
    Prev,
    Leave,
}

/// What a key does in the cited-sources view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceView {
    Next,
    Prev,
    Open,
    CopyUrl,
    /// The next claim citing this source: its words in the passage lit.
    NextClaim,
    CopyBibtex,
    Close,
}

/// What a key does in the model picker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Picker {
    Up,
    Down,
    Choose,
    Close,
}

/// What a key does in the earlier-questions search (Ctrl+R).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Questions {
    Up,
    Down,
    Choose,
    Close,
}

/// What a key does in the help overlay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HelpView {
    Up,
    Down,
    PageUp,
    PageDown,
    Close,
}

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
        keys: "Ctrl+P",
        action: "run any action by name (Esc closes)",
        chords: &[(ctrl('p'), Global::Palette)],
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
        keys: "F6",
        action: "copy the session's bibliography (BibTeX)",
        chords: &[(plain(KeyCode::F(6)), Chat::CopyBibliography)],
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
        action: "cited sources: Tab next, c claim, o open, y URL",
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
        keys: "/system …",
        action: "this session's system prompt (/system - clears)",
        chords: &[],
    },
    Binding {
        keys: "/set temperature …",
        action: "temperature or max_tokens for this session",
        chords: &[],
    },
    Binding {
        keys: "/role …",
        action: "a role from the config ([roles.NAME])",
        chords: &[],
    },
    Binding {
        keys: "/resume",
        action: "continue this session's unfinished deep run",
        chords: &[],
    },
    Binding {
        keys: "/library allow",
        action: "let library text go to a remote model",
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
        keys: "Ctrl+L",
        action: "resume the last session (on the empty screen)",
        chords: &[(ctrl('l'), Chat::ResumeLast)],
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
        keys: "↑, ↓",
        action: "earlier questions, from every session",
        chords: &[
            (plain(KeyCode::Up), Chat::RecallOlder),
            (plain(KeyCode::Down), Chat::RecallNewer),
        ],
    },
    Binding {
        keys: "Ctrl+R",
        action: "search earlier questions as you type",
        chords: &[(ctrl('r'), Chat::SearchQuestions)],
    },
    Binding {
        keys: "Ctrl+↑, Alt+↑",
        action: "select a message (copy, again, edit, branches)",
        chords: &[
            (with(KeyModifiers::CONTROL, KeyCode::Up), Chat::Select),
            (with(KeyModifiers::ALT, KeyCode::Up), Chat::Select),
        ],
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

pub const SEARCH: &[Binding<Search>] = &[
    Binding {
        keys: "Enter",
        action: "open the session at the selected result",
        chords: &[(plain(KeyCode::Enter), Search::Open)],
    },
    Binding {
        keys: "↑, ↓, PgUp, PgDn",
        action: "choose a result",
        chords: &[
            (plain(KeyCode::Up), Search::Up),
            (plain(KeyCode::Down), Search::Down),
            (plain(KeyCode::PageUp), Search::PageUp),
            (plain(KeyCode::PageDown), Search::PageDown),
        ],
    },
    Binding {
        keys: "Ctrl+U, Ctrl+W",
        action: "clear the query / delete its last word",
        chords: &[
            (ctrl('u'), Search::ClearQuery),
            (ctrl('w'), Search::DeleteWord),
        ],
    },
    Binding {
        keys: "Esc, Ctrl+F",
        action: "close the search",
        chords: &[
            (plain(KeyCode::Esc), Search::Close),
            (ctrl('f'), Search::Close),
        ],
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
];

pub const FOUND: &[Binding<Found>] = &[
    Binding {
        keys: "Alt+↓, Alt+N",
        action: "next match in the session opened",
        chords: &[
            (with(KeyModifiers::ALT, KeyCode::Down), Found::Next),
            (with(KeyModifiers::ALT, KeyCode::Char('n')), Found::Next),
        ],
    },
    Binding {
        keys: "Alt+↑, Alt+P",
        action: "previous match",
        chords: &[
            (with(KeyModifiers::ALT, KeyCode::Up), Found::Prev),
            (with(KeyModifiers::ALT, KeyCode::Char('p')), Found::Prev),
        ],
    },
    Binding {
        keys: "Esc",
        action: "leave the matches (plain letters type as usual)",
        chords: &[(plain(KeyCode::Esc), Found::Leave)],
    },
];

pub const SOURCE_VIEW: &[Binding<SourceView>] = &[
    Binding {
        keys: "Tab, →, ↓",
        action: "next source",
        chords: &[
            (plain(KeyCode::Tab), SourceView::Next),
            (plain(KeyCode::Right), SourceView::Next),
            (plain(KeyCode::Down), SourceView::Next),
        ],
    },
    Binding {
        keys: "Shift+Tab, ←, ↑",
        action: "previous source",
        chords: &[
            (plain(KeyCode::BackTab), SourceView::Prev),
            (plain(KeyCode::Left), SourceView::Prev),
            (plain(KeyCode::Up), SourceView::Prev),
        ],
    },
    Binding {
        keys: "o, Enter",
        action: "open the source in the browser",
        chords: &[
            (plain(KeyCode::Char('o')), SourceView::Open),
            (plain(KeyCode::Enter), SourceView::Open),
        ],
    },
    Binding {
        keys: "c",
        action: "next claim citing it (where the passage says it is lit)",
        chords: &[(plain(KeyCode::Char('c')), SourceView::NextClaim)],
    },
    Binding {
        keys: "y",
        action: "copy its URL",
        chords: &[(plain(KeyCode::Char('y')), SourceView::CopyUrl)],
    },
    Binding {
        keys: "b",
        action: "copy its BibTeX entry",
        chords: &[(plain(KeyCode::Char('b')), SourceView::CopyBibtex)],
    },
    Binding {
        keys: "Esc, q",
        action: "close",
        chords: &[
            (plain(KeyCode::Esc), SourceView::Close),
            (plain(KeyCode::Char('q')), SourceView::Close),
        ],
    },
];

pub const PICKER: &[Binding<Picker>] = &[
    Binding {
        keys: "↑, ↓",
        action: "choose a model",
        chords: &[
            (plain(KeyCode::Up), Picker::Up),
            (plain(KeyCode::Down), Picker::Down),
        ],
    },
    Binding {
        keys: "Enter",
        action: "use it for the next answers",
        chords: &[(plain(KeyCode::Enter), Picker::Choose)],
    },
    Binding {
        keys: "Esc, F2",
        action: "close, keeping the model",
        chords: &[
            (plain(KeyCode::Esc), Picker::Close),
            (plain(KeyCode::F(2)), Picker::Close),
        ],
    },
];

pub const QUESTIONS: &[Binding<Questions>] = &[
    Binding {
        keys: "type, Backspace",
        action: "words of the question (newest matches first)",
        chords: &[],
    },
    Binding {
        keys: "↑, ↓",
        action: "choose a question",
        chords: &[
            (plain(KeyCode::Up), Questions::Up),
            (plain(KeyCode::Down), Questions::Down),
        ],
    },
    Binding {
        keys: "Enter",
        action: "put it in the input (edit, then Enter sends)",
        chords: &[(plain(KeyCode::Enter), Questions::Choose)],
    },
    Binding {
        keys: "Esc, Ctrl+R",
        action: "close, keeping what you typed",
        chords: &[
            (plain(KeyCode::Esc), Questions::Close),
            (ctrl('r'), Questions::Close),
        ],
    },
];

pub const HELP_VIEW: &[Binding<HelpView>] = &[
    Binding {
        keys: "↑, ↓, k, j",
        action: "scroll",
        chords: &[
            (plain(KeyCode::Up), HelpView::Up),
            (plain(KeyCode::Down), HelpView::Down),
            (plain(KeyCode::Char('k')), HelpView::Up),
            (plain(KeyCode::Char('j')), HelpView::Down),
        ],
    },
    Binding {
        keys: "PgUp, PgDn",
        action: "scroll a page",
        chords: &[
            (plain(KeyCode::PageUp), HelpView::PageUp),
            (plain(KeyCode::PageDown), HelpView::PageDown),
        ],
    },
    Binding {
        keys: "Esc",
        action: "close (so do ? and F1)",
        chords: &[(plain(KeyCode::Esc), HelpView::Close)],
    },
];
