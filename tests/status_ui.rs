//! What the status bar and progress say about a turn: a rate-limited
//! request being retried (issue 11, case 1: not only "answering… 20 s"),
//! and nothing stale once a turn is stopped (issue 15, bug 15).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)] // test code: a panic is the failure report

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
    h.app.chat.conv.research = false;
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
    assert!(h.pump_until(|a| a.chat.conv.active().is_none()));
    let note = h.app.chat.status_note().unwrap_or_default();
    assert!(!note.contains("rate limited"), "{note}");
    assert_eq!(server.requests().len(), 2);
}

#[test]
fn a_stopped_research_turn_leaves_nothing_stale() {
    // The keyword step never answers: the turn is stopped while "finding
    // search terms", right after a chat answer with token figures.
    let server = Server::routed(vec![(
        "/api/chat",
        vec![
            ollama_says("First answer."),
            ollama_says(r#"{"queries": ["x"]}"#).after(20_000),
        ],
    )]);
    let mut h = harness_with(common::Sandbox::new(), &server.url());
    h.app.chat.conv.research = false;
    for c in "hi".chars() {
        h.app.handle(key(KeyCode::Char(c)));
    }
    h.app.handle(key(KeyCode::Enter));
    assert!(h.pump_until(|a| a.chat.conv.active().is_none()));
    assert!(h.app.chat.status_note().unwrap_or_default().contains("tok"));
    h.app.chat.conv.research = true;
    for c in "why?".chars() {
        h.app.handle(key(KeyCode::Char(c)));
    }
    h.app.handle(key(KeyCode::Enter));
    let note = h.app.chat.status_note().unwrap_or_default();
    assert!(note.starts_with("researching…"), "{note}");
    h.app.handle(key(KeyCode::Esc));
    let note = h.app.chat.status_note().unwrap_or_default();
    assert!(
        !note.contains("tok"),
        "the last answer's figures stay: {note}"
    );
    let mut t = ratatui::Terminal::new(ratatui::backend::TestBackend::new(80, 20)).unwrap();
    t.draw(|f| h.app.draw(f)).unwrap();
    let s = format!("{}", t.backend());
    assert!(s.contains("stopped before searching"), "{s}");
    assert!(!s.contains("finding search terms"), "{s}");
}

#[test]
fn recalled_memory_adds_to_the_answer_line_without_hiding_what_it_said() {
    // An extractive answer cut at the token limit that used one earlier
    // session: every note stays (memory used to rewrite the line).
    use sleuth::agent::provider::{Completion, FinishReason};
    use sleuth::agent::turn::AnswerKind;
    use sleuth::agent::{AgentEvent, TurnOutcome};
    let server = Server::routed(vec![("/api/chat", vec![ollama_says("x").after(20_000)])]);
    let mut h = harness_with(common::Sandbox::new(), &server.url());
    h.app.chat.conv.research = false;
    h.app.handle(key(KeyCode::Char('q')));
    h.app.handle(key(KeyCode::Enter));
    let turn = h.app.chat.conv.active().as_ref().unwrap().turn;
    h.app.handle(UiEvent::Agent(AgentEvent::TurnDone {
        turn,
        outcome: TurnOutcome {
            model: "llama3.2".into(),
            answer_kind: AnswerKind::Extractive,
            completion: Completion {
                finish: Some(FinishReason::Length),
                ..Default::default()
            },
            memory: vec!["Quokka field notes".into()],
            ..Default::default()
        },
    }));
    let mut t = ratatui::Terminal::new(ratatui::backend::TestBackend::new(120, 20)).unwrap();
    t.draw(|f| h.app.draw(f)).unwrap();
    let s = format!("{}", t.backend());
    assert!(
        s.contains(
            "extractive: best passages, no model · cut off at the token limit · used memory of 1 earlier session"
        ),
        "{s}"
    );
}

#[test]
fn keys_that_do_nothing_say_why_until_the_next_key() {
    let server = Server::routed(vec![("/api/chat", vec![ollama_says("slow").after(20_000)])]);
    let mut h = harness_with(common::Sandbox::new(), &server.url());
    h.app.chat.conv.research = false;
    let ctrl = |c: char| {
        UiEvent::Input(Event::Key(KeyEvent::new(
            KeyCode::Char(c),
            KeyModifiers::CONTROL,
        )))
    };
    let note = |h: &common::harness::Harness| h.app.chat.status_note().unwrap_or_default();
    h.app.handle(ctrl('g'));
    assert_eq!(note(&h), "nothing to regenerate yet");
    h.app.handle(key(KeyCode::Tab));
    assert_eq!(note(&h), "no answer with sources in this session yet");
    h.app.handle(ctrl('y'));
    assert_eq!(note(&h), "no answer to copy yet");
    h.app.handle(key(KeyCode::Char('q')));
    assert!(note(&h).starts_with("chat (Ctrl+T"), "{}", note(&h));
    // Enter while an answer streams: the question stays, and why is said.
    h.app.handle(key(KeyCode::Enter));
    assert!(h.app.chat.conv.active().is_some());
    h.app.handle(key(KeyCode::Char('x')));
    h.app.handle(key(KeyCode::Enter));
    assert_eq!(
        note(&h),
        "one answer at a time: Esc stops this one, then Enter sends yours"
    );
    assert_eq!(h.app.chat.input.lines(), ["x"]);
}
