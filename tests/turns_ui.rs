//! What becomes of a turn the user acts on. Ctrl+G answers the last
//! question again, the way it was asked, and keeps whatever it replaces as
//! a branch (issue 15, bug 4): after a failed turn it retries that turn
//! (not an earlier answer), and a research answer regenerated in chat mode
//! is researched again. Ctrl+C mid-answer keeps the partial answer with
//! its sources (bug 10).
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
use sleuth::domain::{MessageStatus, Role};
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

fn ctrl(c: char) -> UiEvent {
    UiEvent::Input(Event::Key(KeyEvent::new(
        KeyCode::Char(c),
        KeyModifiers::CONTROL,
    )))
}

/// No model (a closed port): research answers are extractive, with
/// sources from a loopback Wikipedia; chat turns fail.
fn app() -> (Harness, wiki::Wiki) {
    app_with("http://127.0.0.1:9")
}

fn app_with(provider: &str) -> (Harness, wiki::Wiki) {
    let (w, cfg) = wiki::hotpot_app_config(provider);
    let mut h = harness_config(Sandbox::new(), cfg);
    h.app.chat.conv.policy.memory = false;
    (h, w)
}

fn ask(h: &mut Harness, q: &str) {
    for c in q.chars() {
        h.app.handle(key(KeyCode::Char(c)));
    }
    h.app.handle(key(KeyCode::Enter));
    assert!(
        h.pump_until(|a| a.chat.conv.active().is_none()),
        "turn never ended"
    );
}

/// The stored messages of the one session, every branch, oldest first.
fn stored(h: &Harness) -> Vec<sleuth::domain::Message> {
    h._writer.handle().flush().unwrap();
    let conn = sleuth::store::open_reader(&h.sb.db()).unwrap();
    let mut stmt = conn
        .prepare("SELECT id FROM messages ORDER BY created_at, id")
        .unwrap();
    let ids: Vec<i64> = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    ids.into_iter()
        .map(|id| {
            sleuth::store::queries::get_message(&conn, sleuth::domain::MessageId(id))
                .unwrap()
                .unwrap()
        })
        .collect()
}

#[test]
fn after_a_failed_turn_ctrl_g_retries_it_and_leaves_the_earlier_answer_alone() {
    let (mut h, _w) = app();
    ask(
        &mut h,
        "What nationality was the film director Scott Derrickson?",
    );
    let first = stored(&h);
    let research_answer = first
        .iter()
        .find(|m| m.role == Role::Assistant)
        .expect("a research answer")
        .id;
    h.app.handle(ctrl('t'));
    ask(&mut h, "and in one word?");
    let failed = stored(&h)
        .into_iter()
        .find(|m| m.status == MessageStatus::Error)
        .expect("the chat turn failed (no model)")
        .id;

    h.app.handle(ctrl('g'));
    assert!(h.pump_until(|a| a.chat.conv.active().is_none()));
    let all = stored(&h);
    let retried = all.last().unwrap();
    assert_eq!(retried.role, Role::Assistant);
    let failed_row = all.iter().find(|m| m.id == failed).unwrap();
    assert!(retried.parent_id.is_some());
    assert_eq!(
        retried.parent_id, failed_row.parent_id,
        "Ctrl+G must answer the failed answer's question again, as its sibling"
    );
    // The research answer is still in the transcript, with its sources.
    let conn = sleuth::store::open_reader(&h.sb.db()).unwrap();
    let shown =
        sleuth::store::queries::transcript(&conn, h.app.chat.conv.session().as_ref().unwrap().id)
            .unwrap();
    let kept = shown
        .iter()
        .find(|m| m.message.id == research_answer)
        .expect("the research answer is still shown");
    assert!(!kept.sources.is_empty());
    assert!(shown.iter().all(|m| m.message.id != failed));
}

#[test]
fn a_research_answer_regenerated_in_chat_mode_is_researched_again() {
    let (mut h, _w) = app();
    ask(
        &mut h,
        "What nationality was the film director Scott Derrickson?",
    );
    let before = screen_of(&mut h.app, 100, 60);
    assert_eq!(before.matches("searching “").count(), 1, "{before}");
    h.app.handle(ctrl('t'));
    assert!(!h.app.chat.conv.research);
    h.app.handle(ctrl('g'));
    assert!(h.pump_until(|a| a.chat.conv.active().is_none()));
    let all = stored(&h);
    let answers: Vec<_> = all.iter().filter(|m| m.role == Role::Assistant).collect();
    assert_eq!(answers.len(), 2);
    assert!(answers[1].parent_id.is_some());
    assert_eq!(answers[1].parent_id, answers[0].parent_id, "siblings");
    assert_eq!(answers[1].status, MessageStatus::Complete);
    let conn = sleuth::store::open_reader(&h.sb.db()).unwrap();
    let shown =
        sleuth::store::queries::transcript(&conn, h.app.chat.conv.session().as_ref().unwrap().id)
            .unwrap();
    let last = shown.last().unwrap();
    assert_eq!(last.message.id, answers[1].id);
    assert!(!last.sources.is_empty(), "regenerated with its sources");
    // One research block on screen: the old one went with its answer.
    let after = screen_of(&mut h.app, 100, 60);
    assert_eq!(after.matches("searching “").count(), 1, "{after}");
}

#[test]
fn ctrl_c_mid_answer_keeps_the_partial_answer_with_its_sources() {
    use server::{Chunk, End, Reply, Server, ollama_says};
    // Search terms come back at once; the answer says a few words and then
    // never finishes.
    let partial = serde_json::json!({"message": {"role": "assistant", "content": "Scott Derrickson is American "}, "done": false});
    let mut stalled = Reply::new(
        200,
        "application/x-ndjson",
        format!("{partial}\n").into_bytes(),
    );
    stalled.body.push(Chunk::Delay(10));
    stalled.end = End::Stall(std::time::Duration::from_secs(30));
    let provider = Server::routed(vec![(
        "/api/chat",
        vec![ollama_says(r#"{"queries": ["Scott Derrickson"]}"#), stalled],
    )]);
    let (mut h, _w) = app_with(&provider.url());
    for c in "What nationality was the film director Scott Derrickson?".chars() {
        h.app.handle(key(KeyCode::Char(c)));
    }
    h.app.handle(key(KeyCode::Enter));
    assert!(
        h.pump_until(|a| a
            .chat
            .conv
            .active()
            .as_ref()
            .is_some_and(|t| t.content().contains("American"))),
        "the answer never started"
    );
    let sources = h.app.chat.conv.active().as_ref().unwrap().sources.len();
    assert!(sources > 0, "ranked sources before the answer");
    // Ctrl+C quits; the app's exit path stops the turn before the writer
    // is flushed (app_main: stop_turn, then shutdown).
    h.app.handle(ctrl('c'));
    assert!(h.app.should_quit());
    h.app.stop_turn();
    let all = stored(&h);
    let answer = all.iter().find(|m| m.role == Role::Assistant).unwrap();
    assert_eq!(answer.status, MessageStatus::Interrupted);
    assert!(answer.content.contains("American"), "{}", answer.content);
    let conn = sleuth::store::open_reader(&h.sb.db()).unwrap();
    let shown =
        sleuth::store::queries::transcript(&conn, h.app.chat.conv.session().as_ref().unwrap().id)
            .unwrap();
    let kept = shown.iter().find(|m| m.message.id == answer.id).unwrap();
    assert_eq!(kept.sources.len(), sources, "every ranked source kept");
}
