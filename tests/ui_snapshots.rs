//! The TUI drawn into ratatui's TestBackend, checked with insta snapshots,
//! and driven with key events against a real store.
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
use sleuth::agent::ProviderProbe;
use sleuth::store;
use sleuth::ui::UiEvent;
use sleuth::ui::app::App;
use sleuth::ui::transcript::{Cell, CellKind};

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
    assert!(h.app.overlay_open(sleuth::ui::app::OverlayKind::Help));
    insta::assert_snapshot!(draw(&mut h.app, 80, 40).backend());
    h.app.handle(key(KeyCode::Esc));
    assert!(!h.app.overlay_open(sleuth::ui::app::OverlayKind::Help));
}

#[test]
fn help_scrolls_when_it_does_not_fit() {
    let mut h = harness();
    h.app.handle(key(KeyCode::F(1)));
    let top = format!("{}", draw(&mut h.app, 80, 24).backend());
    assert!(
        top.contains("↑↓ scroll") && !top.contains("close (so do ? and F1)"),
        "{top}"
    );
    for _ in 0..10 {
        h.app.handle(key(KeyCode::PageDown));
    }
    let bottom = format!("{}", draw(&mut h.app, 80, 24).backend());
    assert!(
        bottom.contains("close (so do ? and F1)") && !bottom.contains("Anywhere"),
        "{bottom}"
    );
    // Scrolling past the end stays at the end.
    h.app.handle(key(KeyCode::Up));
    let back = format!("{}", draw(&mut h.app, 80, 24).backend());
    assert!(
        !back.contains("close (so do ? and F1)"),
        "one line up hides the last line: {back}"
    );
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
            h.app.toggle_help();
            draw(&mut h.app, w, hgt);
        }
    }
}

#[test]
fn sending_a_line_shows_it_and_persists_session_and_message() {
    let mut h = harness();
    h.app.chat.conv.research = false;
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
    assert!(h.app.chat.conv.active().is_some());
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
    assert!(h.app.chat.conv.active().is_none());
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

mod turns {
    use super::*;
    use sleuth::agent::provider::{Completion, FinishReason};
    use sleuth::agent::{AgentEvent, TurnOutcome};
    use sleuth::domain::TurnId;

    const ANSWER: &str = "## Ownership\n\nRust checks **borrows** at compile time:\n\n- one mutable *or*\n- many shared\n\n```rust\nfn main() {\n    let s = String::from(\"hi\");\n}\n```\n";

    fn snapshot(name: &str, app: &mut App, w: u16, h: u16) {
        let t = draw(app, w, h);
        insta::with_settings!({filters => vec![
            (r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", "[time]"),
            (r"(answering|researching)… \d+ s", "$1… N s"),
        ]}, {
            insta::assert_snapshot!(name, t.backend());
        });
    }

    /// A plain chat turn (research turns have their own tests below).
    fn ask(app: &mut App, q: &str) {
        app.chat.conv.research = false;
        type_text(app, q);
        app.handle(key(KeyCode::Enter));
    }

    fn delta(app: &mut App, text: &str) {
        app.handle(UiEvent::Agent(AgentEvent::AnswerDelta {
            turn: TurnId(1),
            text: text.into(),
        }));
    }

    fn done(app: &mut App, finish: FinishReason) {
        app.handle(UiEvent::Agent(AgentEvent::TurnDone {
            turn: TurnId(1),
            outcome: TurnOutcome {
                completion: Completion {
                    finish: Some(finish),
                    tokens_in: Some(26),
                    tokens_out: Some(282),
                    first_token_ms: Some(120),
                    total_ms: 4000,
                },
                tokens_per_sec: Some(72.4),
                model: "llama3.2".into(),
                ..Default::default()
            },
        }));
    }

    #[test]
    fn streaming_in_progress() {
        let mut h = harness();
        ask(&mut h.app, "How does ownership work?");
        delta(&mut h.app, "## Ownership\n\nRust checks **bor");
        snapshot("streaming_in_progress", &mut h.app, 60, 14);
    }

    #[test]
    fn finished_markdown_answer_with_code() {
        let mut h = harness();
        ask(&mut h.app, "How does ownership work?");
        for piece in ANSWER.split_inclusive(' ') {
            delta(&mut h.app, piece);
        }
        done(&mut h.app, FinishReason::Stop);
        assert!(h.app.chat.conv.active().is_none());
        snapshot("finished_markdown_answer", &mut h.app, 60, 22);
        // The stored answer is the streamed text, complete, with usage.
        h._writer.handle().flush().unwrap();
        let conn = store::open_reader(&h.sb.db()).unwrap();
        let s = store::queries::resolve_session(&conn, "latest").unwrap();
        let t = store::queries::transcript(&conn, s.id).unwrap();
        assert_eq!(t[1].message.content, ANSWER);
        assert_eq!(t[1].message.status.as_str(), "complete");
        assert_eq!(
            (t[1].message.usage.tokens_in, t[1].message.usage.tokens_out),
            (Some(26), Some(282))
        );
    }

    #[test]
    fn interrupted_answer_and_late_tokens_ignored() {
        let mut h = harness();
        ask(&mut h.app, "Tell me everything");
        delta(&mut h.app, "Part one of a long");
        h.app.handle(key(KeyCode::Esc));
        // Tokens of the cancelled turn that were already in flight.
        delta(&mut h.app, " LATE TOKENS");
        snapshot("interrupted_answer", &mut h.app, 60, 10);
        h._writer.handle().flush().unwrap();
        let conn = store::open_reader(&h.sb.db()).unwrap();
        let s = store::queries::resolve_session(&conn, "latest").unwrap();
        let t = store::queries::transcript(&conn, s.id).unwrap();
        assert_eq!(t[1].message.content, "Part one of a long");
        assert_eq!(t[1].message.status.as_str(), "interrupted");
    }

    #[test]
    fn error_cell() {
        let mut h = harness();
        ask(&mut h.app, "Anyone?");
        h.app.handle(UiEvent::Agent(AgentEvent::TurnFailed {
            turn: TurnId(1),
            error:
                "model 'llama3.2' not found — run `ollama pull llama3.2` or pick another with F2"
                    .into(),
        }));
        snapshot("error_cell", &mut h.app, 60, 12);
    }

    #[test]
    fn cut_off_answer_says_so() {
        let mut h = harness();
        ask(&mut h.app, "Long one");
        delta(&mut h.app, "It goes on and");
        done(&mut h.app, FinishReason::Length);
        let screen = format!("{}", draw(&mut h.app, 130, 14).backend());
        assert!(screen.contains("cut off at the token limit"), "{screen}");
        assert!(
            screen.contains("26→282 tok · 72 tok/s · first token 120 ms"),
            "{screen}"
        );
    }

    #[test]
    fn model_picker() {
        let mut h = harness();
        h.app
            .handle(UiEvent::Agent(AgentEvent::Provider(ProviderProbe {
                reachable: true,
                model_found: Some(true),
                summary: "ollama at http://127.0.0.1:11434, model llama3.2".into(),
                models: vec![
                    "deepseek-r1:latest".into(),
                    "llama3.2:latest".into(),
                    "qwen3:8b".into(),
                ],
            })));
        h.app.handle(key(KeyCode::F(2)));
        snapshot("model_picker", &mut h.app, 60, 12);
        h.app.handle(key(KeyCode::Down));
        h.app.handle(key(KeyCode::Enter));
        assert!(!h.app.overlay_open(sleuth::ui::app::OverlayKind::Picker));
        assert_eq!(h.app.chat.conv.model, "qwen3:8b");
        // The next question goes to the picked model.
        ask(&mut h.app, "hi");
        h._writer.handle().flush().unwrap();
        let conn = store::open_reader(&h.sb.db()).unwrap();
        let s = store::queries::resolve_session(&conn, "latest").unwrap();
        let t = store::queries::transcript(&conn, s.id).unwrap();
        assert_eq!(t[1].message.model.as_deref(), Some("qwen3:8b"));
    }

    #[test]
    fn regenerate_keeps_the_old_answer_as_a_branch() {
        let mut h = harness();
        ask(&mut h.app, "Question");
        delta(&mut h.app, "first answer");
        done(&mut h.app, FinishReason::Stop);
        h.app.handle(UiEvent::Input(Event::Key(KeyEvent::new(
            KeyCode::Char('g'),
            KeyModifiers::CONTROL,
        ))));
        assert!(h.app.chat.conv.active().is_some());
        app_delta_turn(&mut h.app, 2, "second answer");
        h.app.handle(UiEvent::Agent(AgentEvent::TurnDone {
            turn: TurnId(2),
            outcome: TurnOutcome::default(),
        }));
        h._writer.handle().flush().unwrap();
        let conn = store::open_reader(&h.sb.db()).unwrap();
        let s = store::queries::resolve_session(&conn, "latest").unwrap();
        // The transcript shows the new branch; the old answer is kept.
        let t = store::queries::transcript(&conn, s.id).unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(t[1].message.content, "second answer");
        let siblings = store::queries::siblings(&conn, t[1].message.id).unwrap();
        let contents: Vec<&str> = siblings.iter().map(|m| m.content.as_str()).collect();
        assert_eq!(
            contents,
            ["first answer", "second answer"],
            "the old answer is kept"
        );
        // The context now holds the new answer, not the old one.
        let history: Vec<&str> = h
            .app
            .chat
            .conv
            .history()
            .messages()
            .iter()
            .map(|m| m.content.as_str())
            .collect();
        assert_eq!(history, ["Question", "second answer"]);
    }

    fn app_delta_turn(app: &mut App, turn: u64, text: &str) {
        app.handle(UiEvent::Agent(AgentEvent::AnswerDelta {
            turn: TurnId(turn),
            text: text.into(),
        }));
    }

    #[test]
    fn copy_puts_the_last_answer_on_the_clipboard() {
        let mut h = harness();
        ask(&mut h.app, "Q");
        delta(&mut h.app, "copy me");
        done(&mut h.app, FinishReason::Stop);
        h.app.handle(UiEvent::Input(Event::Key(KeyEvent::new(
            KeyCode::Char('y'),
            KeyModifiers::CONTROL,
        ))));
        let text = h.app.take_clipboard().unwrap();
        assert_eq!(text, "copy me");
        assert_eq!(sleuth::ui::osc52(&text), "\x1b]52;c;Y29weSBtZQ==\x07");
        // Issue 11, case 6: nothing hostile reaches the clipboard.
        use base64::Engine;
        let hostile = "ok\x1b[2J\x1b]52;c;ZXZpbA==\x07\x1b]8;;http://x\x1b\\link\x1bP+q\x1b\\\x1b]0;title\x07\u{9b}31m\u{202e}txt.exe";
        let seq = sleuth::ui::osc52(hostile);
        let b64 = seq
            .strip_prefix("\x1b]52;c;")
            .and_then(|s| s.strip_suffix('\x07'))
            .unwrap();
        let copied = String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(b64)
                .unwrap(),
        )
        .unwrap();
        assert!(
            !copied.contains('\x1b') && !copied.contains('\u{9b}') && !copied.contains('\u{202e}'),
            "{copied:?}"
        );
        assert!(copied.starts_with("ok") && copied.contains("link") && copied.ends_with("txt.exe"));
    }
}

mod research {
    use super::*;
    use sleuth::agent::research::pipeline::Analysis;
    use sleuth::agent::research::{SourceKind, SourceOutcome, SourceStatus};
    use sleuth::agent::turn::AnswerKind;
    use sleuth::agent::{AgentEvent, TurnOutcome};
    use sleuth::domain::{Source, TurnId};

    const T: TurnId = TurnId(1);

    fn snapshot(name: &str, app: &mut App, w: u16, h: u16) {
        let t = draw(app, w, h);
        insta::with_settings!({filters => vec![
            (r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", "[time]"),
            (r"(answering|researching)… \d+ s", "$1… N s"),
        ]}, {
            insta::assert_snapshot!(name, t.backend());
        });
    }

    fn ev(app: &mut App, e: AgentEvent) {
        app.handle(UiEvent::Agent(e));
    }

    fn src(n: i64, kind: &str, title: &str) -> Source {
        Source {
            ordinal: n,
            kind: kind.into(),
            title: title.into(),
            url: Some(format!("https://example.org/{n}")),
            excerpt: format!(
                "Excerpt of {title}: the passage that was ranked against the question."
            ),
            relevance: Some(1.0 / n as f64),
            fetched_at: 0,
            section: None,
            meta: Default::default(),
        }
    }

    fn status(
        kind: SourceKind,
        outcome: &str,
        count: usize,
        ms: u64,
        error: Option<&str>,
    ) -> SourceStatus {
        SourceStatus {
            source: kind,
            outcome: match outcome {
                "ok" => SourceOutcome::Ok,
                "timeout" => SourceOutcome::Timeout,
                _ => SourceOutcome::Failed,
            },
            count,
            passages: count * 30,
            chars: count * 21_000,
            ms,
            error: error.map(String::from),
        }
    }

    fn report(
        source: SourceKind,
        documents: usize,
        passages: usize,
        chars: usize,
        used: usize,
        relevance: Option<f64>,
    ) -> sleuth::agent::research::pipeline::SourceReport {
        sleuth::agent::research::pipeline::SourceReport {
            source,
            documents,
            passages,
            chars,
            used,
            relevance,
        }
    }

    /// Asks in research mode and plays the stages up to `stage`.
    fn play(app: &mut App, stage: u8) {
        assert!(app.chat.conv.research, "research is the default mode");
        type_text(app, "Who is Sachin Tendulkar?");
        app.handle(key(KeyCode::Enter));
        ev(
            app,
            AgentEvent::Keywords {
                turn: T,
                queries: vec!["Sachin Tendulkar".into(), "cricket records".into()],
                from_model: true,
            },
        );
        for k in [
            SourceKind::Wikipedia,
            SourceKind::Hackernews,
            SourceKind::Arxiv,
        ] {
            ev(app, AgentEvent::SourceStarted { turn: T, source: k });
        }
        ev(
            app,
            AgentEvent::SourceDone {
                turn: T,
                status: status(SourceKind::Wikipedia, "ok", 3, 212, None),
            },
        );
        ev(
            app,
            AgentEvent::SourceDone {
                turn: T,
                status: status(
                    SourceKind::Arxiv,
                    "timeout",
                    0,
                    8000,
                    Some("no answer within 8 s"),
                ),
            },
        );
        if stage < 2 {
            return;
        }
        ev(
            app,
            AgentEvent::SourceDone {
                turn: T,
                status: status(SourceKind::Hackernews, "ok", 1, 95, None),
            },
        );
        ev(
            app,
            AgentEvent::Ranked {
                turn: T,
                sources: vec![
                    Source {
                        section: Some("International career".into()),
                        ..src(1, "wikipedia", "Sachin Tendulkar")
                    },
                    src(2, "hackernews", "Ask HN: cricket stats"),
                ],
                analysis: Analysis {
                    ranker: "bm25".into(),
                    per_source: vec![
                        report(SourceKind::Wikipedia, 3, 84, 61_000, 1, Some(1.0)),
                        report(SourceKind::Hackernews, 1, 12, 9_400, 1, Some(0.5)),
                        report(SourceKind::Arxiv, 0, 0, 0, 0, None),
                    ],
                    question_terms: vec![
                        ("sachin".into(), 9),
                        ("tendulkar".into(), 7),
                        ("batting".into(), 0),
                    ],
                    queries: vec!["Sachin Tendulkar".into(), "cricket records".into()],
                    from_model: true,
                    standalone: None,
                },
            },
        );
        if stage < 3 {
            return;
        }
        ev(
            app,
            AgentEvent::AnswerDelta {
                turn: T,
                text: "A former Indian cricketer [1], much discussed on HN [2]. Not a source: [9]."
                    .into(),
            },
        );
        ev(
            app,
            AgentEvent::TurnDone {
                turn: T,
                outcome: TurnOutcome {
                    model: "llama3.2".into(),
                    ..Default::default()
                },
            },
        );
    }

    #[test]
    fn sources_panel_mid_fetch_with_a_failure() {
        let mut h = harness();
        play(&mut h.app, 1);
        snapshot("sources_mid_fetch", &mut h.app, 70, 16);
    }

    #[test]
    fn a_deep_run_shows_its_plan_rounds_and_leads() {
        let mut h = harness();
        type_text(
            &mut h.app,
            "/deep Who did the actress who played Corliss Archer work for?",
        );
        h.app.handle(key(KeyCode::Enter));
        for text in [
            "plan (from the question): Who did the actress … work for? · What is Corliss Archer?",
            "round 1: searching “actress played Corliss Archer work” · “Corliss Archer”",
            "round 1: read 6 new documents (6 in all)",
            "following leads: “Shirley Temple”",
            "round 2: searching “Shirley Temple”",
        ] {
            ev(
                &mut h.app,
                AgentEvent::DeepStep {
                    turn: T,
                    text: text.into(),
                },
            );
        }
        ev(
            &mut h.app,
            AgentEvent::SourceStarted {
                turn: T,
                source: SourceKind::Wikipedia,
            },
        );
        let screen = format!("{}", draw(&mut h.app, 90, 20).backend());
        // The question is shown without the command.
        assert!(screen.contains("Who did the actress who played Corliss Archer work for?"));
        assert!(!screen.contains("/deep"), "{screen}");
        snapshot("deep_run_progress", &mut h.app, 90, 20);
        // The first Esc asks for the report; the second cancels.
        h.app.handle(key(KeyCode::Esc));
        assert!(h.app.chat.conv.active().is_some());
        let screen = format!("{}", draw(&mut h.app, 120, 20).backend());
        assert!(
            screen.contains("writing the report from what was found"),
            "{screen}"
        );
        h.app.handle(key(KeyCode::Esc));
        assert!(h.app.chat.conv.active().is_none());
    }

    #[test]
    fn sources_panel_finished_and_ranked() {
        let mut h = harness();
        play(&mut h.app, 2);
        snapshot("sources_ranked", &mut h.app, 70, 16);
    }

    #[test]
    fn answer_with_highlighted_citations_and_stored_sources() {
        let mut h = harness();
        play(&mut h.app, 3);
        let t = draw(&mut h.app, 80, 24);
        // Only [1] and [2] have sources; [9] stays plain text.
        let buf = t.backend().buffer();
        let cite = sleuth::ui::markdown::citation_style().fg;
        let text_at = |x: u16, y: u16| buf[(x, y)].symbol().to_string();
        let mut highlighted = String::new();
        for y in 0..buf.area.height {
            for x in 0..buf.area.width {
                if buf[(x, y)].fg == cite.unwrap()
                    && buf[(x, y)]
                        .modifier
                        .contains(ratatui::style::Modifier::BOLD)
                {
                    highlighted.push_str(&text_at(x, y));
                }
            }
        }
        assert!(
            highlighted.contains("[1]") && highlighted.contains("[2]"),
            "{highlighted}"
        );
        assert!(!highlighted.contains("[9]"), "{highlighted}");
        snapshot("answer_with_citations", &mut h.app, 80, 24);
        h._writer.handle().flush().unwrap();
        let conn = store::open_reader(&h.sb.db()).unwrap();
        let s = store::queries::resolve_session(&conn, "latest").unwrap();
        let tr = store::queries::transcript(&conn, s.id).unwrap();
        let stored: Vec<(i64, &str)> = tr[1]
            .sources
            .iter()
            .map(|s| (s.ordinal, s.title.as_str()))
            .collect();
        assert_eq!(
            stored,
            vec![(1, "Sachin Tendulkar"), (2, "Ask HN: cricket stats")]
        );
    }

    #[test]
    fn source_detail_view() {
        let mut h = harness();
        play(&mut h.app, 3);
        h.app.handle(key(KeyCode::Tab));
        snapshot("source_detail", &mut h.app, 80, 20);
        h.app.handle(key(KeyCode::Tab));
        assert_eq!(h.app.sources_view().unwrap().current().unwrap().ordinal, 2);
        h.app.handle(key(KeyCode::Char('y')));
        assert_eq!(
            h.app.take_clipboard().as_deref(),
            Some("https://example.org/2")
        );
        h.app.handle(key(KeyCode::Esc));
        assert!(h.app.sources_view().is_none());
    }

    #[test]
    fn search_opened_over_the_source_view_is_drawn_on_top_and_gets_the_keys() {
        // Issue 10: Tab, then Ctrl+F opened the search beneath the source
        // view while the search took the keys.
        use sleuth::ui::app::OverlayKind;
        let mut h = harness();
        play(&mut h.app, 3);
        h.app.handle(key(KeyCode::Tab));
        h.app.handle(UiEvent::Input(Event::Key(KeyEvent::new(
            KeyCode::Char('f'),
            KeyModifiers::CONTROL,
        ))));
        assert_eq!(h.app.top_overlay(), Some(OverlayKind::Search));
        for c in "tendulkar".chars() {
            h.app.handle(key(KeyCode::Char(c)));
        }
        assert_eq!(h.app.search().unwrap().input, "tendulkar");
        let shown = format!("{}", draw(&mut h.app, 80, 20).backend());
        assert!(
            shown.contains("tendulkar"),
            "the search is visible:\n{shown}"
        );
        // Esc closes the search; the source view is back, with the keys.
        h.app.handle(key(KeyCode::Esc));
        assert_eq!(h.app.top_overlay(), Some(OverlayKind::Sources));
        h.app.handle(key(KeyCode::Tab));
        assert_eq!(h.app.sources_view().unwrap().current().unwrap().ordinal, 2);
    }

    #[test]
    fn extractive_answer_without_a_model() {
        let mut h = harness();
        type_text(&mut h.app, "Who is Sachin Tendulkar?");
        h.app.handle(key(KeyCode::Enter));
        ev(
            &mut h.app,
            AgentEvent::Keywords {
                turn: T,
                queries: vec!["Sachin Tendulkar".into()],
                from_model: false,
            },
        );
        ev(
            &mut h.app,
            AgentEvent::SourceStarted {
                turn: T,
                source: SourceKind::Wikipedia,
            },
        );
        ev(
            &mut h.app,
            AgentEvent::SourceDone {
                turn: T,
                status: status(SourceKind::Wikipedia, "ok", 1, 120, None),
            },
        );
        let sources = vec![src(1, "wikipedia", "Sachin Tendulkar")];
        ev(
            &mut h.app,
            AgentEvent::Ranked {
                turn: T,
                sources: sources.clone(),
                analysis: Analysis {
                    ranker: "bm25".into(),
                    ..Default::default()
                },
            },
        );
        let text = sleuth::agent::research::answer::extractive(
            "Who is Sachin Tendulkar?",
            &sources,
            "cannot reach Ollama at http://localhost:11434",
        );
        ev(&mut h.app, AgentEvent::AnswerDelta { turn: T, text });
        ev(
            &mut h.app,
            AgentEvent::TurnDone {
                turn: T,
                outcome: TurnOutcome {
                    answer_kind: AnswerKind::Extractive,
                    sources,
                    ..Default::default()
                },
            },
        );
        snapshot("extractive_answer", &mut h.app, 80, 20);
    }

    #[test]
    fn sources_prefix_limits_the_turn_and_bad_names_are_explained() {
        let mut h = harness();
        type_text(&mut h.app, "/sources nope question");
        h.app.handle(key(KeyCode::Enter));
        let screen = format!("{}", draw(&mut h.app, 100, 12).backend());
        assert!(screen.contains("unknown source 'nope'"), "{screen}");
        assert!(h.app.chat.conv.active().is_none());
    }
}

#[test]
fn a_selected_answer_with_its_branches() {
    use sleuth::domain::{Branch, Role, StoredMessage};
    let mut h = harness();
    let t = 1_764_000_000_000;
    let m = |id: i64, role: Role, text: &str, branch: Option<Branch>| StoredMessage {
        message: common::message(id, 7, role, text, t + id),
        sources: vec![],
        branch,
        claims: None,
    };
    let messages = vec![
        m(1, Role::User, "Why is the sky blue?", None),
        m(
            2,
            Role::Assistant,
            "Rayleigh scattering: short wavelengths scatter most.",
            Some(Branch { index: 2, count: 3 }),
        ),
        m(3, Role::User, "And sunsets?", None),
        m(
            4,
            Role::Assistant,
            "Longer paths scatter the blue away.",
            None,
        ),
    ];
    h.app
        .chat
        .load(common::session(7, "Sky", t), &messages, Vec::new());
    h.app.handle(UiEvent::Input(Event::Key(KeyEvent::new(
        KeyCode::Up,
        KeyModifiers::CONTROL,
    ))));
    h.app.handle(key(KeyCode::Up));
    h.app.handle(key(KeyCode::Up));
    assert_eq!(h.app.chat.selected(), Some(sleuth::domain::MessageId(2)));
    insta::assert_snapshot!(draw(&mut h.app, 80, 16).backend());
}

#[test]
fn the_command_palette_filters_and_runs_the_chosen_action() {
    let mut h = harness();
    h.app.handle(UiEvent::Input(Event::Key(KeyEvent::new(
        KeyCode::Char('p'),
        KeyModifiers::CONTROL,
    ))));
    type_text(&mut h.app, "sessions");
    insta::assert_snapshot!(draw(&mut h.app, 80, 14).backend());
    assert!(h.app.sessions.is_none());
    h.app.handle(key(KeyCode::Enter));
    assert!(h.app.sessions.is_some(), "F3's action ran");
    let screen = format!("{}", draw(&mut h.app, 80, 14).backend());
    assert!(!screen.contains("Run:"), "the palette is gone: {screen}");

    // A slash command goes to the input to complete.
    let mut h = harness();
    h.app.handle(UiEvent::Input(Event::Key(KeyEvent::new(
        KeyCode::Char('p'),
        KeyModifiers::CONTROL,
    ))));
    type_text(&mut h.app, "deep run plan");
    h.app.handle(key(KeyCode::Enter));
    assert_eq!(h.app.chat.input.lines().join("\n"), "/deep ");
}

#[test]
fn session_settings_typed_in_the_chat_show_in_the_status_bar_and_are_stored() {
    let mut h = harness();
    type_text(&mut h.app, "/set temperature 9");
    h.app.handle(key(KeyCode::Enter));
    let flash = h.app.chat.flash.clone().unwrap();
    assert!(flash.contains("from 0 to 2"), "{flash}");
    assert_eq!(
        h.app.chat.input.lines().join(""),
        "/set temperature 9",
        "kept to fix"
    );
    h.app.handle(UiEvent::Input(Event::Key(KeyEvent::new(
        KeyCode::Char('u'),
        KeyModifiers::CONTROL,
    ))));
    type_text(&mut h.app, "/set temperature 0.3");
    h.app.handle(key(KeyCode::Enter));
    type_text(&mut h.app, "/system Answer in French.");
    h.app.handle(key(KeyCode::Enter));
    assert!(h.app.chat.input_is_empty());
    let screen = format!("{}", draw(&mut h.app, 100, 12).backend());
    assert!(screen.contains("new session · system T 0.3"), "{screen}");
    // The first question creates the session with them.
    type_text(&mut h.app, "Bonjour?");
    h.app.handle(key(KeyCode::Enter));
    h._writer.handle().flush().unwrap();
    let conn = store::open_reader(&h.sb.db()).unwrap();
    let s = store::queries::resolve_session(&conn, "latest").unwrap();
    assert_eq!(s.settings.temperature, Some(0.3));
    assert_eq!(s.settings.system.as_deref(), Some("Answer in French."));
}

#[test]
fn a_checked_answer_marks_the_citations_its_sources_do_not_hold() {
    use sleuth::domain::{Role, StoredMessage};
    let mut h = harness();
    let t = 1_764_000_000_000;
    let sources = vec![
        common::source(
            1,
            "Normans",
            "https://en.wikipedia.org/wiki/Normans",
            "The duchy of Normandy was founded in 911 by the Viking leader Rollo.",
        ),
        common::source(
            2,
            "Alps",
            "https://en.wikipedia.org/wiki/Alps",
            "Mont Blanc rises to 4,808 metres.",
        ),
    ];
    let answer = "Normandy was founded in 911 by Rollo [1]. It was founded in 991 [1]. \
                  Mont Blanc rises to 4808 metres and is famous for cheese and songs [2].";
    let check = sleuth::verify::check(answer, &sources);
    let messages = vec![
        StoredMessage {
            message: common::message(1, 7, Role::User, "When was Normandy founded?", t),
            sources: vec![],
            branch: None,
            claims: None,
        },
        StoredMessage {
            message: common::message(2, 7, Role::Assistant, answer, t + 1),
            sources,
            branch: None,
            claims: Some(check),
        },
    ];
    h.app
        .chat
        .load(common::session(7, "Normandy", t), &messages, Vec::new());
    let term = draw(&mut h.app, 80, 20);
    let buf = term.backend().buffer().clone();
    let screen: String = buf.content().iter().map(|c| c.symbol()).collect();
    assert!(screen.contains("[1]✗"), "{screen}");
    assert!(screen.contains("[2]~"), "{screen}");
    assert!(
        screen.contains("3 claims · 1 supported · 1 partial · 1 not in its source"),
        "{screen}"
    );
    // Colour too, where there is colour: the ✗ is red.
    let cross = buf.content().iter().find(|c| c.symbol() == "✗").unwrap();
    assert_eq!(cross.fg, ratatui::style::Color::Red);
    insta::assert_snapshot!(term.backend());

    // The source view: the claims citing [1], the selected one's words lit
    // in the passage.
    h.app.handle(key(KeyCode::Tab));
    let term = draw(&mut h.app, 80, 20);
    let screen = |t: &Terminal<TestBackend>| -> String {
        t.backend()
            .buffer()
            .content()
            .iter()
            .map(|c| c.symbol())
            .collect()
    };
    assert!(
        screen(&term).contains("claim 1/2 ✓ supported"),
        "{}",
        screen(&term)
    );
    let lit: String = term
        .backend()
        .buffer()
        .content()
        .iter()
        .filter(|c| c.bg == ratatui::style::Color::Yellow)
        .map(|c| c.symbol())
        .collect();
    assert!(
        lit.starts_with("The duchy of Normandy was founded in 911"),
        "{lit}"
    );
    insta::assert_snapshot!("checked_source_view", term.backend());
    h.app.handle(key(KeyCode::Char('c')));
    let term = draw(&mut h.app, 80, 20);
    assert!(
        screen(&term).contains("claim 2/2 ✗ not in its source"),
        "{}",
        screen(&term)
    );
    // b copies the source's BibTeX entry; F6 (after Esc) the session's.
    h.app.handle(key(KeyCode::Char('b')));
    let entry = h.app.take_clipboard().unwrap_or_default();
    assert!(entry.starts_with("@misc{wikipedia2023normans,"), "{entry}");
    h.app.handle(key(KeyCode::Esc));
    h.app.handle(key(KeyCode::F(6)));
    let all = h.app.take_clipboard().unwrap_or_default();
    assert_eq!(all.matches("@misc{").count(), 2, "{all}");
    assert!(all.contains("wikipedia2023alps"), "{all}");
}
