//! A selected message (Ctrl+↑) and branches you can see: copy it, answer
//! an earlier question again, edit and resend a question, and ←/→ between
//! the branches — through the real writer, reader and agent threads, no
//! model (extractive answers from a loopback Wikipedia).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)] // test code: a panic is the failure report

mod common;
#[path = "common/server.rs"]
mod server;
#[path = "common/wiki.rs"]
mod wiki;

use common::Sandbox;
use common::harness::{Harness, harness_config};
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use sleuth::domain::{MessageId, Role, StoredMessage};
use sleuth::store::queries;
use sleuth::ui::UiEvent;
use sleuth::ui::app::App;

fn screen_of(app: &mut App, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| app.draw(f)).unwrap();
    format!("{}", t.backend())
}

fn key(code: KeyCode) -> UiEvent {
    UiEvent::Input(Event::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn ctrl_up() -> UiEvent {
    UiEvent::Input(Event::Key(KeyEvent::new(
        KeyCode::Up,
        KeyModifiers::CONTROL,
    )))
}

fn app() -> (Harness, wiki::Wiki) {
    let (w, cfg) = wiki::hotpot_app_config("http://127.0.0.1:9");
    let mut h = harness_config(Sandbox::new(), cfg);
    h.app.chat.conv.policy.memory = false;
    (h, w)
}

fn type_text(h: &mut Harness, q: &str) {
    for c in q.chars() {
        h.app.handle(key(KeyCode::Char(c)));
    }
}

fn ask(h: &mut Harness, q: &str) {
    type_text(h, q);
    h.app.handle(key(KeyCode::Enter));
    assert!(
        h.pump_until(|a| a.chat.conv.active().is_none()),
        "turn never ended"
    );
}

/// The branch shown, as the store has it.
fn shown(h: &Harness) -> Vec<StoredMessage> {
    h._writer.handle().flush().unwrap();
    let conn = sleuth::store::open_reader(&h.sb.db()).unwrap();
    let s = h.app.chat.conv.session().unwrap().id;
    queries::transcript(&conn, s).unwrap()
}

fn siblings(h: &Harness, id: MessageId) -> Vec<String> {
    let conn = sleuth::store::open_reader(&h.sb.db()).unwrap();
    queries::siblings(&conn, id)
        .unwrap()
        .into_iter()
        .map(|m| m.content)
        .collect()
}

/// Waits until the chat shows `n` questions and answers, none streaming.
fn settle(h: &mut Harness, n: usize) {
    assert!(
        h.pump_until(|a| a.chat.conv.active().is_none()
            && a.chat
                .transcript
                .cells()
                .iter()
                .filter(|c| c.is_message())
                .count()
                == n),
        "the transcript never settled at {n} messages"
    );
}

const Q1: &str = "What nationality was the film director Scott Derrickson?";
const Q2: &str = "Who was Ed Wood?";

#[test]
fn an_earlier_answer_given_again_is_a_branch_and_arrows_switch_back() {
    let (mut h, _w) = app();
    ask(&mut h, Q1);
    ask(&mut h, Q2);
    let before = shown(&h);
    assert_eq!(before.len(), 4);
    let a1 = before[1].message.id;

    // Select: the last answer first, then up to the first answer.
    h.app.handle(ctrl_up());
    assert_eq!(h.app.chat.selected(), Some(before[3].message.id));
    h.app.handle(key(KeyCode::Up));
    h.app.handle(key(KeyCode::Up));
    assert_eq!(h.app.chat.selected(), Some(a1));
    let screen = screen_of(&mut h.app, 100, 30);
    assert!(screen.contains("▌ sleuth"), "{screen}");
    assert!(screen.contains("selected: y copy"), "{screen}");
    h.app.handle(key(KeyCode::Char('y')));
    let flash = h.app.chat.flash.clone().unwrap_or_default();
    assert!(flash.starts_with("copied the message"), "{flash}");
    // Enter opens the selected answer's cited sources; Esc closes them.
    h.app.handle(key(KeyCode::Enter));
    let screen = screen_of(&mut h.app, 100, 30);
    assert!(screen.contains(" Source 1/"), "{screen}");
    h.app.handle(key(KeyCode::Esc));
    assert_eq!(h.app.chat.selected(), Some(a1), "still selected");

    // Answer it again: the conversation goes on from its question.
    h.app.handle(key(KeyCode::Char('r')));
    settle(&mut h, 2);
    let after = shown(&h);
    assert_eq!(after.len(), 2, "Q2 and its answer left the branch shown");
    assert_eq!(after[0].message.content, Q1);
    let new = after[1].message.id;
    assert_ne!(new, a1);
    assert_eq!(
        siblings(&h, new).len(),
        2,
        "the old answer is kept beside it"
    );
    assert_eq!(after[1].branch.map(|b| (b.index, b.count)), Some((2, 2)));

    // ← shows the first answer again, with what followed it.
    h.app.handle(ctrl_up());
    assert_eq!(h.app.chat.selected(), Some(new));
    let screen = screen_of(&mut h.app, 100, 30);
    assert!(screen.contains("‹ 2/2 ›"), "{screen}");
    h.app.handle(key(KeyCode::Left));
    settle(&mut h, 4);
    let back: Vec<MessageId> = shown(&h).iter().map(|m| m.message.id).collect();
    assert_eq!(
        back,
        before.iter().map(|m| m.message.id).collect::<Vec<_>>()
    );
    assert_eq!(h.app.chat.selected(), Some(a1), "the sibling is selected");
    let screen = screen_of(&mut h.app, 100, 30);
    assert!(screen.contains("‹ 1/2 ›"), "{screen}");
    assert!(
        h.app.chat.transcript.cells().iter().any(|c| c.text() == Q2),
        "the rest of that branch follows"
    );
    // And → back again.
    h.app.handle(key(KeyCode::Right));
    settle(&mut h, 2);
    assert_eq!(shown(&h)[1].message.id, new);
    // No branch past the last.
    h.app.handle(key(KeyCode::Right));
    let flash = h.app.chat.flash.clone().unwrap_or_default();
    assert_eq!(flash, "this is the last branch");
}

#[test]
fn an_edited_question_is_sent_as_a_new_branch_and_esc_keeps_the_old_one() {
    let (mut h, _w) = app();
    ask(&mut h, Q1);
    ask(&mut h, Q2);
    let q2 = shown(&h)[2].message.id;
    h.app.handle(ctrl_up());
    h.app.handle(key(KeyCode::Up));
    assert_eq!(h.app.chat.selected(), Some(q2));
    // `r` is for answers, `e` for questions.
    h.app.handle(key(KeyCode::Char('r')));
    assert!(
        h.app
            .chat
            .flash
            .clone()
            .unwrap()
            .contains("select an answer")
    );
    h.app.handle(key(KeyCode::Char('e')));
    assert_eq!(h.app.chat.input.lines().join("\n"), Q2);
    // Esc: not editing any more (Enter would send a new question).
    h.app.handle(key(KeyCode::Esc));
    assert!(h.app.chat.flash.clone().unwrap().starts_with("not editing"));

    h.app.handle(ctrl_up());
    h.app.handle(key(KeyCode::Up));
    h.app.handle(key(KeyCode::Char('e')));
    type_text(&mut h, " Was he a director?");
    h.app.handle(key(KeyCode::Enter));
    let edited = format!("{Q2} Was he a director?");
    assert!(
        h.pump_until(|a| a.chat.conv.active().is_none()
            && a.chat.transcript.cells().iter().any(|c| c.text() == edited)),
        "the edited question was never sent"
    );
    let cell = h
        .app
        .chat
        .transcript
        .cells()
        .iter()
        .find(|c| c.text() == edited);
    assert_eq!(
        cell.and_then(|c| c.branch).map(|b| (b.index, b.count)),
        Some((2, 2)),
        "numbered as the second"
    );
    let after = shown(&h);
    assert_eq!(after.len(), 4);
    assert_eq!(after[0].message.content, Q1);
    assert_eq!(after[2].message.content, format!("{Q2} Was he a director?"));
    assert_eq!(after[2].message.role, Role::User);
    assert_eq!(
        siblings(&h, after[2].message.id),
        [Q2.to_string(), format!("{Q2} Was he a director?")],
        "the first version is kept beside it"
    );
}
