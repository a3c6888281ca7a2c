//! A deep run in the TUI: its research tree at each stage (live, closed,
//! opened with F4), and a stored unfinished run shown again from the store
//! and continued with `/resume` against a loopback Wikipedia, reading the
//! documents it had stored instead of fetching them again.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)] // test code: a panic is the failure report

mod common;
#[path = "common/wiki.rs"]
mod wiki;

use common::harness::{harness, harness_config};
use common::{Sandbox, message, session, write_all};
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use sleuth::agent::deep::plan::SubQuestion;
use sleuth::agent::deep::{Progress, Round, state};
use sleuth::agent::research::document::Document;
use sleuth::agent::{AgentEvent, TurnOutcome};
use sleuth::domain::{
    DocState, MessageId, MessageStatus, Role, RunBudget, RunRecord, RunStatus, RunTree, TreeDoc,
    TreeRound, TurnId,
};
use sleuth::store::StoreCommand;
use sleuth::ui::UiEvent;
use sleuth::ui::app::App;

const Q: &str = "What government position was held by the woman who portrayed Corliss Archer in the film Kiss and Tell?";

fn key(code: KeyCode) -> UiEvent {
    UiEvent::Input(Event::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn type_text(app: &mut App, s: &str) {
    for c in s.chars() {
        app.handle(key(KeyCode::Char(c)));
    }
}

fn screen(app: &mut App, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| app.draw(f)).unwrap();
    format!("{}", t.backend())
}

fn snapshot(name: &str, app: &mut App) {
    let s = screen(app, 90, 26);
    insta::with_settings!({filters => vec![
        (r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", "[time]"),
        (r"(answering|researching)… \d+ s", "$1… N s"),
    ]}, {
        insta::assert_snapshot!(name, s);
    });
}

fn doc(title: &str, state: DocState) -> TreeDoc {
    TreeDoc {
        title: title.into(),
        kind: "wikipedia".into(),
        state,
    }
}

fn tree(rounds: Vec<TreeRound>, stopped: Option<&str>) -> RunTree {
    RunTree {
        plan: vec![Q.into(), "Kiss and Tell".into(), "Corliss Archer".into()],
        plan_from_model: false,
        budget: RunBudget {
            rounds: rounds.iter().filter(|r| r.done).count(),
            max_rounds: 3,
            documents: rounds.iter().map(|r| r.documents.len()).sum(),
            max_documents: 40,
            secs: 4,
            max_secs: 180,
            tokens: 0,
            max_tokens: 60_000,
        },
        rounds,
        stopped: stopped.map(String::from),
    }
}

fn publish(app: &mut App, t: RunTree) {
    app.handle(UiEvent::Agent(AgentEvent::DeepRun {
        turn: TurnId(1),
        tree: Box::new(t),
        state: None,
        documents: vec![],
        notes: vec![],
    }));
}

#[test]
fn the_research_tree_at_each_stage() {
    let mut h = harness();
    type_text(&mut h.app, &format!("/deep {Q}"));
    h.app.handle(key(KeyCode::Enter));
    publish(&mut h.app, tree(vec![], None));
    snapshot("deep_tree_planned", &mut h.app);
    let round1 = TreeRound {
        queries: vec!["Kiss and Tell".into(), "Corliss Archer".into()],
        done: true,
        documents: vec![
            doc("Kiss and Tell (1945 film)", DocState::Read),
            doc("Corliss Archer", DocState::Read),
            doc("Meet Corliss Archer", DocState::Read),
        ],
        failed: vec!["Hacker News: timeout".into()],
        leads: vec!["Shirley Temple".into()],
    };
    let round2 = TreeRound {
        queries: vec!["Shirley Temple".into()],
        ..Default::default()
    };
    publish(&mut h.app, tree(vec![round1.clone(), round2], None));
    let s = screen(&mut h.app, 90, 26);
    assert!(s.contains("round 2 · searching “Shirley Temple”"), "{s}");
    snapshot("deep_tree_round_two", &mut h.app);
    // The report is written: documents it cites are marked, the tree
    // closes to one line when the run ends.
    let mut r1 = round1;
    r1.documents[0].state = DocState::Cited;
    let round2 = TreeRound {
        queries: vec!["Shirley Temple".into()],
        done: true,
        documents: vec![doc("Shirley Temple", DocState::Cited)],
        ..Default::default()
    };
    publish(&mut h.app, tree(vec![r1, round2], Some("rounds")));
    h.app.handle(UiEvent::Agent(AgentEvent::AnswerDelta {
        turn: TurnId(1),
        text: "She was **United States ambassador to Ghana** [1].".into(),
    }));
    h.app.handle(UiEvent::Agent(AgentEvent::TurnDone {
        turn: TurnId(1),
        outcome: TurnOutcome {
            model: "llama3.2".into(),
            ..Default::default()
        },
    }));
    let s = screen(&mut h.app, 90, 26);
    assert!(
        s.contains("deep run · 2 rounds · 4 documents · 2 cited"),
        "{s}"
    );
    assert!(!s.contains("Meet Corliss Archer"), "closed: {s}");
    snapshot("deep_tree_closed", &mut h.app);
    h.app.handle(key(KeyCode::F(4)));
    let s = screen(&mut h.app, 90, 26);
    assert!(s.contains("Meet Corliss Archer"), "opened: {s}");
    snapshot("deep_tree_opened", &mut h.app);
    h.app.handle(key(KeyCode::F(4)));
    assert!(!screen(&mut h.app, 90, 26).contains("Meet Corliss Archer"));
}

/// Extract requests per title (each one a document read).
fn reads(w: &wiki::Wiki, title: &str) -> usize {
    w.requests
        .lock()
        .unwrap()
        .iter()
        .filter(|p| p.contains("prop=extracts"))
        .filter_map(|p| reqwest::Url::parse(&format!("http://wiki{p}")).ok())
        .filter(|u| u.query_pairs().any(|(k, v)| k == "titles" && v == title))
        .count()
}

/// A run stopped after round 1 (it read "Kiss and Tell (1945 film)" and
/// meant to follow "Shirley Temple"), as the store keeps it.
fn stored_run(sb: &Sandbox, articles: &[wiki::Article]) {
    let film = articles
        .iter()
        .find(|a| a.title == "Kiss and Tell (1945 film)")
        .unwrap();
    let docs = vec![Document::wiki_extract(
        &film.title,
        Some("http://wiki/wiki/Kiss_and_Tell_(1945_film)".into()),
        &film.text,
    )];
    let sub = |q: &str| SubQuestion {
        question: q.into(),
        query: q.into(),
    };
    let p = Progress {
        plan: vec![sub("Kiss and Tell")],
        rounds: vec![Round {
            queries: vec!["Kiss and Tell".into()],
            documents: vec![film.title.clone()],
            leads: vec!["Shirley Temple".into()],
            ..Default::default()
        }],
        open: vec![sub("Shirley Temple")],
        searched: vec!["Kiss and Tell".into()],
        documents: 1,
        ..Default::default()
    };
    let t0 = 1_764_000_000_000;
    let mut report = message(3002, 3000, Role::Assistant, "", t0 + 2);
    report.status = MessageStatus::Interrupted;
    write_all(
        &sb.db(),
        vec![
            StoreCommand::CreateSession(session(3000, "Corliss Archer", t0)),
            StoreCommand::AppendMessage(message(3001, 3000, Role::User, Q, t0 + 1)),
            StoreCommand::AppendMessage(report),
            StoreCommand::SaveRun(Box::new(RunRecord {
                id: MessageId(3002),
                session: sleuth::domain::SessionId(3000),
                question: Q.into(),
                status: RunStatus::Interrupted,
                state: serde_json::to_string(&p).unwrap(),
                tree: tree(
                    vec![TreeRound {
                        queries: vec!["Kiss and Tell".into()],
                        done: true,
                        documents: vec![doc(&film.title, DocState::Read)],
                        leads: vec!["Shirley Temple".into()],
                        ..Default::default()
                    }],
                    None,
                ),
            })),
            StoreCommand::SaveRunDocuments {
                run: MessageId(3002),
                docs: state::to_store(0, &docs),
            },
        ],
    );
}

#[test]
fn a_stored_unfinished_run_is_shown_again_and_resumed_without_refetching() {
    let (articles, _) = wiki::hotpot(&format!(
        "{}/../shared/fixtures/hotpot/hotpot-dev-distractor-15.json",
        env!("CARGO_MANIFEST_DIR")
    ));
    let sb = Sandbox::new();
    stored_run(&sb, &articles);
    let w = wiki::Wiki::start(articles, true, 60);
    let mut cfg = sleuth::config::Config::default();
    cfg.provider.base_url = "http://127.0.0.1:9".into();
    cfg.sources.wikipedia.base_url = w.url();
    cfg.sources.hackernews.enabled = false;
    cfg.sources.arxiv.enabled = false;
    let mut h = harness_config(sb, cfg);
    // Ctrl+L opens the most recent session.
    assert!(h.pump_until(|a| a.chat.resumable.is_some()));
    h.app.handle(UiEvent::Input(Event::Key(KeyEvent::new(
        KeyCode::Char('l'),
        KeyModifiers::CONTROL,
    ))));
    assert!(h.pump_until(|a| a.chat.conv.session().is_some()));
    let s = screen(&mut h.app, 100, 20);
    assert!(s.contains("unfinished: /resume continues it"), "{s}");
    // The sessions screen marks the session.
    h.app.handle(key(KeyCode::F(3)));
    assert!(h.pump_until(|a| a.sessions.as_ref().is_some_and(|s| s.settled())));
    let s = screen(&mut h.app, 120, 20);
    assert!(s.contains("unfinished deep run"), "{s}");
    h.app.handle(key(KeyCode::Esc));

    type_text(&mut h.app, "/resume");
    h.app.handle(key(KeyCode::Enter));
    assert!(
        h.pump_until(|a| a.chat.conv.active().is_some()),
        "never resumed"
    );
    assert!(
        h.pump_until(|a| a.chat.conv.active().is_none()),
        "the resumed run never ended"
    );
    // The whole transcript: the resumed run's tree (closed) and report.
    let s = screen(&mut h.app, 100, 200);
    assert!(s.contains("deep run · "), "{s}");
    assert!(!s.contains("unfinished: /resume"), "{s}");
    assert!(s.contains("Shirley Temple"), "{s}");
    // The stored document was read from the store; the lead was fetched.
    assert_eq!(reads(&w, "Kiss and Tell (1945 film)"), 0);
    assert_eq!(reads(&w, "Shirley Temple"), 1);
    // Stored: the same report message, complete, and the run complete.
    h._writer.handle().flush().unwrap();
    let conn = sleuth::store::open_reader(&h.sb.db()).unwrap();
    let run = sleuth::store::runs::load(&conn, MessageId(3002))
        .unwrap()
        .unwrap();
    assert_eq!(run.status, RunStatus::Complete);
    let m = sleuth::store::queries::get_message(&conn, MessageId(3002))
        .unwrap()
        .unwrap();
    assert_eq!(m.status, MessageStatus::Complete);
    assert!(m.content.contains("Shirley Temple"), "{}", m.content);
}
