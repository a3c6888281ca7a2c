//! The input box: what is pasted keeps its lines, and a line wider than
//! any terminal soft-wraps so all of it can be read before sending.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)] // test code: a panic is the failure report

mod common;

use common::harness::harness;
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use sleuth::ui::UiEvent;
use sleuth::ui::app::App;

fn screen(app: &mut App, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| app.draw(f)).unwrap();
    format!("{}", t.backend())
}

/// Issue 15, bug 1: a bracketed paste with CR line ends (what most
/// terminals send) keeps its lines, in the input and in what is sent.
#[test]
fn a_paste_with_cr_line_ends_keeps_its_lines() {
    let mut h = harness();
    h.app.chat.conv.research = false;
    h.app.handle(UiEvent::Input(Event::Paste(
        "alpha line\rbeta line\r\ngamma line".into(),
    )));
    assert_eq!(
        h.app.chat.input.lines(),
        ["alpha line", "beta line", "gamma line"]
    );
    h.app.handle(UiEvent::Input(Event::Key(KeyEvent::new(
        KeyCode::Enter,
        KeyModifiers::NONE,
    ))));
    assert_eq!(
        h.app
            .chat
            .conv
            .history()
            .messages()
            .first()
            .map(|m| m.content.as_str()),
        Some("alpha line\nbeta line\ngamma line")
    );
}

/// Issue 11, case 15: a single line of 70,000 columns is visible to its
/// end while typing (the input wraps instead of scrolling sideways past
/// u16::MAX) and after sending.
#[test]
fn a_line_wider_than_65535_columns_can_be_read_to_its_end() {
    let mut h = harness();
    h.app.chat.conv.research = false;
    let text = format!("start {} the-end", "a".repeat(70_000));
    h.app.handle(UiEvent::Input(Event::Paste(text.clone())));
    let s = screen(&mut h.app, 80, 20);
    assert!(s.contains("the-end"), "{s}");
    h.app.handle(UiEvent::Input(Event::Key(KeyEvent::new(
        KeyCode::Enter,
        KeyModifiers::NONE,
    ))));
    assert_eq!(
        h.app
            .chat
            .conv
            .history()
            .messages()
            .first()
            .map(|m| m.content.as_str()),
        Some(text.as_str())
    );
    let s = screen(&mut h.app, 80, 20);
    assert!(s.contains("the-end"), "{s}");
}
