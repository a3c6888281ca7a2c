//! Issue 11, case 1 (the app's side): while the provider rate-limits and
//! the request is retried, the status bar says so and when, instead of
//! only "answering… 20 s"; the note goes once the answer starts.

mod common;
#[path = "common/server.rs"]
mod server;

use common::harness::harness_with;
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use server::{Reply, Server, ollama_says};
use sleuth::ui::UiEvent;

fn key(code: KeyCode) -> UiEvent {
    UiEvent::Input(Event::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

#[test]
fn a_rate_limited_answer_says_so_in_the_status_bar_until_it_starts() {
    let server = Server::routed(vec![(
        "/api/chat",
        vec![
            Reply::new(
                429,
                "application/json",
                br#"{"error":"too many requests"}"#.to_vec(),
            )
            .header("Retry-After", "1"),
            ollama_says("Hello there."),
        ],
    )]);
    let mut h = harness_with(common::Sandbox::new(), &server.url());
    h.app.chat.research = false;
    for c in "hi".chars() {
        h.app.handle(key(KeyCode::Char(c)));
    }
    h.app.handle(key(KeyCode::Enter));
    assert!(
        h.pump_until(|a| a.chat.status_note().is_some_and(
            |n| n.contains("rate limited by the provider (HTTP 429); retrying in 1 s")
        )),
        "{:?}",
        h.app.chat.status_note()
    );
    assert!(h.pump_until(|a| a.chat.active.is_none()));
    let note = h.app.chat.status_note().unwrap_or_default();
    assert!(!note.contains("rate limited"), "{note}");
    assert_eq!(server.requests().len(), 2);
}
