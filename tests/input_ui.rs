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

fn press(h: &mut common::harness::Harness, code: KeyCode) {
    h.app.handle(UiEvent::Input(Event::Key(KeyEvent::new(
        code,
        KeyModifiers::NONE,
    ))));
}

fn input(a: &App) -> String {
    a.chat.input.lines().join("\n")
}

/// Issue 14: ↑ walks earlier questions of every session, newest first
/// (read by the reader thread), ↓ walks back and past the newest gives the
/// draft back; editing a recalled question makes it the draft.
#[test]
fn up_and_down_recall_earlier_questions_across_sessions() {
    use sleuth::domain::Role;
    use sleuth::store::StoreCommand;
    let sb = common::Sandbox::new();
    let t = 1_764_000_000_000;
    common::write_all(
        &sb.db(),
        vec![
            StoreCommand::CreateSession(common::session(1, "First", t)),
            StoreCommand::AppendMessage(common::message(11, 1, Role::User, "oldest question", t)),
            StoreCommand::AppendMessage(common::message(
                12,
                1,
                Role::Assistant,
                "an answer",
                t + 1,
            )),
            StoreCommand::CreateSession(common::session(2, "Second", t + 2)),
            StoreCommand::AppendMessage(common::message(
                21,
                2,
                Role::User,
                "middle question",
                t + 3,
            )),
            StoreCommand::AppendMessage(common::message(
                22,
                2,
                Role::User,
                "newest question",
                t + 4,
            )),
        ],
    );
    let mut h = common::harness::harness_on(sb);
    for c in "half typed".chars() {
        press(&mut h, KeyCode::Char(c));
    }
    press(&mut h, KeyCode::Up);
    assert!(
        h.pump_until(|a| input(a) == "newest question"),
        "{}",
        input(&h.app)
    );
    press(&mut h, KeyCode::Up);
    assert_eq!(input(&h.app), "middle question");
    press(&mut h, KeyCode::Up);
    assert_eq!(input(&h.app), "oldest question");
    press(&mut h, KeyCode::Up);
    assert!(h.pump_until(|a| a.chat.flash.as_deref() == Some("no earlier questions")));
    assert_eq!(input(&h.app), "oldest question");
    press(&mut h, KeyCode::Down);
    press(&mut h, KeyCode::Down);
    assert_eq!(input(&h.app), "newest question");
    press(&mut h, KeyCode::Down);
    assert_eq!(input(&h.app), "half typed", "the draft comes back");
    // Editing a recalled question keeps the edit when recalling again.
    press(&mut h, KeyCode::Up);
    press(&mut h, KeyCode::Char('!'));
    assert_eq!(input(&h.app), "newest question!");
    press(&mut h, KeyCode::Up);
    assert_eq!(input(&h.app), "newest question");
    press(&mut h, KeyCode::Down);
    assert_eq!(input(&h.app), "newest question!");
}

/// In a multi-line draft ↑ moves the cursor up first; only on the first
/// line does it recall.
#[test]
fn up_in_a_multi_line_draft_moves_the_cursor_first() {
    let mut h = harness();
    h.app
        .handle(UiEvent::Input(Event::Paste("line one\nline two".into())));
    press(&mut h, KeyCode::Up);
    assert_eq!(h.app.chat.input.cursor().0, 0, "moved to the first line");
    assert_eq!(input(&h.app), "line one\nline two");
}

/// Issue 14: Ctrl+R searches the questions of every session as you type
/// (the reader thread's full-text search), Enter puts the chosen one in
/// the input, and undo gives the draft back.
#[test]
fn ctrl_r_finds_an_earlier_question_by_its_words() {
    use sleuth::domain::Role;
    use sleuth::store::StoreCommand;
    let sb = common::Sandbox::new();
    let t = 1_764_000_000_000;
    common::write_all(
        &sb.db(),
        vec![
            StoreCommand::CreateSession(common::session(1, "First", t)),
            StoreCommand::AppendMessage(common::message(
                11,
                1,
                Role::User,
                "How does SQLite's write-ahead log work?",
                t,
            )),
            StoreCommand::AppendMessage(common::message(
                12,
                1,
                Role::Assistant,
                "The write-ahead log appends pages.",
                t + 1,
            )),
            StoreCommand::CreateSession(common::session(2, "Second", t + 2)),
            StoreCommand::AppendMessage(common::message(
                21,
                2,
                Role::User,
                "Why does sourdough need a starter?",
                t + 3,
            )),
        ],
    );
    let mut h = common::harness::harness_on(sb);
    for c in "my draft".chars() {
        press(&mut h, KeyCode::Char(c));
    }
    h.app.handle(UiEvent::Input(Event::Key(KeyEvent::new(
        KeyCode::Char('r'),
        KeyModifiers::CONTROL,
    ))));
    // Empty: the newest questions.
    assert!(h.pump_until(|a| found(a, "sourdough")));
    for c in "ahead sqlit".chars() {
        press(&mut h, KeyCode::Char(c));
    }
    assert!(h.pump_until(|a| found(a, "write-ahead log work") && !found(a, "sourdough")));
    assert!(!found(&h.app, "appends pages"), "answers are not questions");
    let s = screen(&mut h.app, 100, 30);
    assert!(
        s.contains("Earlier questions: ahead sqlit")
            && s.contains("› How does SQLite's write-ahead"),
        "{s}"
    );
    press(&mut h, KeyCode::Enter);
    assert_eq!(input(&h.app), "How does SQLite's write-ahead log work?");
    // Two edits (the draft cut, the question put in): two undos.
    for _ in 0..2 {
        h.app.handle(UiEvent::Input(Event::Key(KeyEvent::new(
            KeyCode::Char('z'),
            KeyModifiers::CONTROL,
        ))));
    }
    assert_eq!(input(&h.app), "my draft");
}

fn found(a: &App, text: &str) -> bool {
    a.questions()
        .is_some_and(|q| q.hits().iter().any(|(_, t)| t.contains(text)))
}
