//! The TUI drawn into ratatui's TestBackend, checked with insta snapshots,
//! and driven with key events against a real store.

mod common;

use std::sync::mpsc;

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use sleuth::agent::{self, ProviderProbe};
use sleuth::config::Config;
use sleuth::emit::Emitter;
use sleuth::store::{self, writer::WriterOptions};
use sleuth::ui::UiEvent;
use sleuth::ui::app::{App, Handles};
use sleuth::ui::status::StatusState;
use sleuth::ui::transcript::{Cell, CellKind};

/// An app wired to real worker threads on a temp database. The threads
/// stay alive as long as the returned guard.
struct Harness {
    app: App,
    _writer: store::writer::WriterThread,
    _reader: store::reader::ReaderThread,
    _agent: agent::AgentThread,
    _events: mpsc::Receiver<UiEvent>,
    sb: common::Sandbox,
}

fn harness() -> Harness {
    let sb = common::Sandbox::new();
    let (tx, rx) = mpsc::channel();
    let writer = store::spawn_writer(
        store::open_writer(&sb.db()).unwrap(),
        WriterOptions::default(),
        Emitter::wrapping(tx.clone(), UiEvent::Store),
    )
    .unwrap();
    let reader =
        store::spawn_reader(sb.db(), Emitter::wrapping(tx.clone(), UiEvent::Store)).unwrap();
    let mut cfg = Config::default();
    cfg.provider.base_url = "http://127.0.0.1:9".into();
    let agent = agent::spawn_agent(cfg, Emitter::wrapping(tx, UiEvent::Agent)).unwrap();
    let handles = Handles {
        writer: writer.handle(),
        reader: reader.handle(),
        agent: agent.handle(),
    };
    let mut status = StatusState::new(
        "~/.local/share/sleuth/sleuth.db".into(),
        "ollama llama3.2".into(),
    );
    status.set_probe(&ProviderProbe {
        reachable: false,
        model_found: None,
        summary: "no Ollama at http://localhost:11434 — start `ollama serve`".into(),
        models: vec![],
    });
    Harness {
        app: App::new(status, handles, "llama3.2".into()),
        _writer: writer,
        _reader: reader,
        _agent: agent,
        _events: rx,
        sb,
    }
}

fn draw(app: &mut App, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| app.draw(f)).unwrap();
    t
}

fn key(code: KeyCode) -> UiEvent {
    UiEvent::Input(Event::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn type_text(app: &mut App, s: &str) {
    for c in s.chars() {
        app.handle(key(KeyCode::Char(c)));
    }
}

fn with_transcript(app: &mut App) {
    let t = &mut app.chat.transcript;
    t.push(Cell::new(
        CellKind::User,
        "What is the borrow checker?",
        "2025-11-24 10:00".into(),
    ));
    t.push(Cell::new(
        CellKind::Assistant,
        "The borrow checker enforces that references never outlive their data and that mutable access is exclusive [1].\n\nIt runs after type checking.",
        "2025-11-24 10:00".into(),
    ));
    t.push(Cell::new(
        CellKind::User,
        "Does it work with 你好 and emoji 👍?",
        "2025-11-24 10:01".into(),
    ));
    t.push(Cell::new(
        CellKind::Error,
        "model 'x' not found — pull it or pick another",
        String::new(),
    ));
}

#[test]
fn empty_chat_screen() {
    let mut h = harness();
    insta::assert_snapshot!(draw(&mut h.app, 80, 20).backend());
}

#[test]
fn transcript_with_a_few_messages() {
    let mut h = harness();
    with_transcript(&mut h.app);
    insta::assert_snapshot!(draw(&mut h.app, 60, 22).backend());
}

#[test]
fn help_overlay() {
    let mut h = harness();
    h.app.handle(key(KeyCode::F(1)));
    assert!(h.app.help);
    insta::assert_snapshot!(draw(&mut h.app, 80, 24).backend());
    h.app.handle(key(KeyCode::Esc));
    assert!(!h.app.help);
}

#[test]
fn tiny_20_by_5_terminal() {
    let mut h = harness();
    with_transcript(&mut h.app);
    insta::assert_snapshot!(draw(&mut h.app, 20, 5).backend());
}

#[test]
fn escape_sequences_in_messages_are_inert() {
    let mut h = harness();
    h.app.chat.transcript.push(Cell::new(
        CellKind::Assistant,
        "before\x1b[2J\x1b]52;c;cHduZWQ=\x07\x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\ after \u{202E}txt.exe",
        "meta".into(),
    ));
    let t = draw(&mut h.app, 50, 8);
    let buf = t.backend().buffer();
    for cell in buf.content() {
        assert!(!cell.symbol().contains('\x1b') && !cell.symbol().contains('\u{202E}'));
    }
    insta::assert_snapshot!(t.backend());
}

#[test]
fn every_small_size_draws_without_panic() {
    let mut h = harness();
    with_transcript(&mut h.app);
    for w in 0..=24 {
        for hgt in 0..=8 {
            draw(&mut h.app, w, hgt);
            h.app.help = !h.app.help;
            draw(&mut h.app, w, hgt);
        }
    }
}

#[test]
fn sending_a_line_shows_it_and_persists_session_and_message() {
    let mut h = harness();
    type_text(&mut h.app, "Why is the sky blue?");
    // Alt+Enter inserts a newline instead of sending.
    h.app.handle(UiEvent::Input(Event::Key(KeyEvent::new(
        KeyCode::Enter,
        KeyModifiers::ALT,
    ))));
    type_text(&mut h.app, "Rayleigh?");
    assert_eq!(
        h.app.chat.input.lines(),
        ["Why is the sky blue?", "Rayleigh?"]
    );
    h.app.handle(key(KeyCode::Enter));
    assert!(h.app.chat.input_is_empty());
    // The question, and the answer cell waiting for the stream.
    assert_eq!(h.app.chat.transcript.len(), 2);
    assert_eq!(
        h.app.chat.transcript.cells()[0].text(),
        "Why is the sky blue?\nRayleigh?"
    );
    assert!(h.app.chat.active.is_some());
    let screen = format!("{}", draw(&mut h.app, 80, 12).backend());
    assert!(
        screen.contains("Why is the sky blue?") && screen.contains("Rayleigh?"),
        "{screen}"
    );
    assert!(
        screen.contains("answering…") && screen.contains("Esc stops"),
        "{screen}"
    );

    // While an answer streams, Enter does not send; Esc stops the answer.
    type_text(&mut h.app, "second");
    h.app.handle(key(KeyCode::Enter));
    assert_eq!(h.app.chat.input.lines(), ["second"]);
    h.app.handle(key(KeyCode::Esc));
    assert!(h.app.chat.active.is_none());
    h.app.handle(key(KeyCode::Enter));
    h._writer.handle().flush().unwrap();
    let conn = store::open_reader(&h.sb.db()).unwrap();
    let sessions = store::queries::list_sessions(&conn, 0, 10, None).unwrap();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0].session.title, "Why is the sky blue?");
    let t = store::queries::transcript(&conn, sessions[0].session.id).unwrap();
    let rows: Vec<(&str, &str, &str)> = t
        .iter()
        .map(|m| {
            (
                m.message.role.as_str(),
                m.message.status.as_str(),
                m.message.content.as_str(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            ("user", "complete", "Why is the sky blue?\nRayleigh?"),
            ("assistant", "interrupted", ""),
            ("user", "complete", "second"),
            ("assistant", "streaming", ""),
        ]
    );
}

#[test]
fn quit_keys_and_signals_end_the_loop() {
    let mut h = harness();
    assert!(!h.app.should_quit());
    h.app.handle(UiEvent::Input(Event::Key(KeyEvent::new(
        KeyCode::Char('c'),
        KeyModifiers::CONTROL,
    ))));
    assert!(h.app.should_quit());
    let mut h = harness();
    h.app.handle(UiEvent::Signal(15));
    assert!(h.app.should_quit());
}

#[test]
fn a_worker_panic_is_shown_not_printed() {
    let mut h = harness();
    h.app.handle(UiEvent::WorkerPanic {
        thread: "agent".into(),
        message: "boom".into(),
    });
    let screen = format!("{}", draw(&mut h.app, 80, 10).backend());
    assert!(
        screen.contains("internal error in the agent thread: boom"),
        "{screen}"
    );
}

#[test]
fn scrolling_up_keeps_the_view_while_new_messages_arrive() {
    let mut h = harness();
    for i in 0..50 {
        h.app.chat.transcript.push(Cell::new(
            CellKind::User,
            &format!("message number {i}"),
            String::new(),
        ));
    }
    draw(&mut h.app, 40, 12);
    h.app.handle(key(KeyCode::PageUp));
    let before = format!("{}", draw(&mut h.app, 40, 12).backend());
    h.app
        .chat
        .transcript
        .push(Cell::new(CellKind::User, "a newer message", String::new()));
    let after = format!("{}", draw(&mut h.app, 40, 12).backend());
    assert_eq!(before, after);
    h.app.handle(UiEvent::Input(Event::Key(KeyEvent::new(
        KeyCode::End,
        KeyModifiers::CONTROL,
    ))));
    let bottom = format!("{}", draw(&mut h.app, 40, 12).backend());
    assert!(bottom.contains("a newer message"));
}
