//! Keys while a message of the transcript is selected (Ctrl+↑).

use crossterm::event::KeyCode;

use super::{Binding, plain};

/// What a key does on a selected message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Select {
    Up,
    Down,
    Copy,
    Regenerate,
    Edit,
    PrevBranch,
    NextBranch,
    Sources,
    Leave,
}

pub const SELECT: &[Binding<Select>] = &[
    Binding {
        keys: "↑, ↓, k, j",
        action: "the message before / after",
        chords: &[
            (plain(KeyCode::Up), Select::Up),
            (plain(KeyCode::Char('k')), Select::Up),
            (plain(KeyCode::Down), Select::Down),
            (plain(KeyCode::Char('j')), Select::Down),
        ],
    },
    Binding {
        keys: "←, →",
        action: "the other branches here (‹ 2/3 ›): the rest follows",
        chords: &[
            (plain(KeyCode::Left), Select::PrevBranch),
            (plain(KeyCode::Right), Select::NextBranch),
        ],
    },
    Binding {
        keys: "y, c",
        action: "copy the message (OSC 52)",
        chords: &[
            (plain(KeyCode::Char('y')), Select::Copy),
            (plain(KeyCode::Char('c')), Select::Copy),
        ],
    },
    Binding {
        keys: "r",
        action: "answer again (an answer): a new branch from there",
        chords: &[(plain(KeyCode::Char('r')), Select::Regenerate)],
    },
    Binding {
        keys: "e",
        action: "edit and resend (a question): a new branch from there",
        chords: &[(plain(KeyCode::Char('e')), Select::Edit)],
    },
    Binding {
        keys: "Enter, Tab",
        action: "the answer's cited sources",
        chords: &[
            (plain(KeyCode::Enter), Select::Sources),
            (plain(KeyCode::Tab), Select::Sources),
        ],
    },
    Binding {
        keys: "Esc",
        action: "back to the input (other keys type there too)",
        chords: &[(plain(KeyCode::Esc), Select::Leave)],
    },
];
