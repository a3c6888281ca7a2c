//! The sessions screen and the search overlay, driven with keys against
//! real worker threads and a real database, drawn into TestBackend.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)] // test code: a panic is the failure report

mod common;

use common::harness::{Harness, harness, harness_on};
use common::{Sandbox, fixture_db, message, session, write_all};
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Color;
use sleuth::domain::{MessageId, Role};
use sleuth::store::{self, StoreCommand};
use sleuth::ui::UiEvent;

fn key(code: KeyCode) -> UiEvent {
    UiEvent::Input(Event::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn alt(code: KeyCode) -> UiEvent {
    UiEvent::Input(Event::Key(KeyEvent::new(code, KeyModifiers::ALT)))
}

fn ctrl(c: char) -> UiEvent {
    UiEvent::Input(Event::Key(KeyEvent::new(
        KeyCode::Char(c),
        KeyModifiers::CONTROL,
    )))
}

fn type_text(h: &mut Harness, s: &str) {
    for c in s.chars() {
        h.app.handle(key(KeyCode::Char(c)));
    }
}

fn draw(h: &mut Harness, w: u16, ht: u16) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(w, ht)).unwrap();
    t.draw(|f| h.app.draw(f)).unwrap();
    t
}

fn screen(t: &Terminal<TestBackend>) -> String {
    format!("{}", t.backend())
}

/// A snapshot with dates masked: they are shown in local time, which
/// differs between machines (same width, so the layout holds).
macro_rules! snap {
    ($s:expr) => {
        let text: String = $s;
        insta::with_settings!({filters => vec![
            (r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", "YYYY-MM-DD hh:mm"),
        ]}, {
            insta::assert_snapshot!(text);
        })
    };
}

/// The fixture's two sessions plus a longer one with several matches.
fn history() -> Harness {
    let sb = Sandbox::new();
    fixture_db(&sb.db());
    let t = 1_764_000_100_000;
    let mut cmds = vec![StoreCommand::CreateSession(session(
        1003,
        "Coffee chemistry",
        t,
    ))];
    let lines = [
        (Role::User, "Why does espresso taste bitter?"),
        (
            Role::Assistant,
            "Bitterness comes from over-extraction and dark roasts; espresso concentrates it.",
        ),
        (Role::User, "And cold brew?"),
        (
            Role::Assistant,
            "Cold brew extracts fewer bitter compounds, unlike espresso.",
        ),
    ];
    for (i, (role, text)) in lines.iter().enumerate() {
        cmds.push(StoreCommand::AppendMessage(message(
            3001 + i as i64,
            1003,
            *role,
            text,
            t + 1 + i as i64,
        )));
    }
    write_all(&sb.db(), cmds);
    harness_on(sb)
}

fn open_sessions_and_wait(h: &mut Harness) {
    h.app.handle(key(KeyCode::F(3)));
    assert!(h.app.sessions.is_some());
    assert!(
        h.pump_until(|a| a.sessions.as_ref().is_some_and(|s| s.settled())),
        "the first page and its preview arrive"
    );
}

fn search_and_wait(h: &mut Harness, q: &str) {
    h.app.handle(ctrl('f'));
    type_text(h, q);
    assert!(
        h.pump_until(|a| a.search().is_some_and(|o| !o.waiting())),
        "results for {q:?} arrive"
    );
}

#[test]
fn sessions_screen_with_preview() {
    let mut h = history();
    open_sessions_and_wait(&mut h);
    let t = draw(&mut h, 110, 16);
    snap!(screen(&t));
}

#[test]
fn narrow_sessions_screen_drops_the_preview_and_shows_rename() {
    let mut h = history();
    open_sessions_and_wait(&mut h);
    h.app.handle(key(KeyCode::Char('r')));
    type_text(&mut h, " 2");
    snap!(screen(&draw(&mut h, 60, 10)));
}

#[test]
fn sessions_screen_with_empty_history() {
    let mut h = harness();
    open_sessions_and_wait(&mut h);
    snap!(screen(&draw(&mut h, 90, 8)));
}

#[test]
fn filtering_narrows_the_list_and_enter_opens_the_session() {
    let mut h = history();
    open_sessions_and_wait(&mut h);
    type_text(&mut h, "wal");
    assert!(h.pump_until(|a| a.sessions.as_ref().is_some_and(|s| s.settled())));
    let s = h.app.sessions.as_ref().unwrap();
    assert_eq!(s.selected().unwrap().session.title, "SQLite WAL mode");
    h.app.handle(key(KeyCode::Enter));
    assert!(h.app.sessions.is_none());
    assert!(h.pump_until(|a| a.chat.conv.session().is_some()));
    assert_eq!(
        h.app.chat.conv.session().as_ref().unwrap().title,
        "SQLite WAL mode"
    );
    assert_eq!(h.app.chat.transcript.len(), 1);
    // The conversation continues with the stored messages as context.
    assert_eq!(h.app.chat.conv.history().len(), 1);
}

#[test]
fn rename_and_delete_from_the_sessions_screen_reach_the_store_and_search() {
    let mut h = history();
    open_sessions_and_wait(&mut h);
    // Newest first: "Coffee chemistry" is selected.
    h.app.handle(key(KeyCode::Char('r')));
    h.app.handle(ctrl('u'));
    type_text(&mut h, "Espresso notes");
    h.app.handle(key(KeyCode::Enter));
    h.app.handle(key(KeyCode::Down));
    h.app.handle(key(KeyCode::Char('d')));
    let confirm = screen(&draw(&mut h, 110, 16));
    assert!(confirm.contains("delete “SQLite WAL mode”"), "{confirm}");
    h.app.handle(key(KeyCode::Char('y')));
    h._writer.handle().flush().unwrap();

    let conn = store::open_reader(&h.sb.db()).unwrap();
    let titles: Vec<String> = store::queries::list_sessions(&conn, 0, 10, None)
        .unwrap()
        .into_iter()
        .map(|s| s.session.title)
        .collect();
    assert_eq!(titles, vec!["Espresso notes", "Rust borrow checker"]);
    let shown = screen(&draw(&mut h, 110, 16));
    assert!(
        shown.contains("Espresso notes") && !shown.contains("SQLite WAL"),
        "{shown}"
    );

    h.app.handle(key(KeyCode::Esc));
    search_and_wait(&mut h, "wal mode");
    assert!(h.app.search().unwrap().hits().is_empty());
    h.app.handle(ctrl('u'));
    type_text(&mut h, "bitter");
    assert!(h.pump_until(|a| a.search().is_some_and(|o| !o.waiting())));
    let hits = h.app.search().unwrap().hits();
    assert!(!hits.is_empty());
    assert!(hits.iter().all(|x| x.session_title == "Espresso notes"));
}

#[test]
fn export_writes_markdown_with_sources() {
    let mut h = history();
    let dir = tempfile::tempdir().unwrap();
    h.app.export_dir = dir.path().to_path_buf();
    open_sessions_and_wait(&mut h);
    h.app.handle(key(KeyCode::End));
    h.app.handle(key(KeyCode::Char('e')));
    assert!(h.pump_until(|a| {
        a.sessions
            .as_ref()
            .and_then(|s| s.notice.as_deref())
            .is_some_and(|n| n.starts_with("exported to"))
    }));
    let file = dir.path().join("sleuth-rust-borrow-checker-1001.md");
    let md = std::fs::read_to_string(&file).unwrap();
    assert!(md.contains("# Rust borrow checker"), "{md}");
    assert!(
        md.contains("https://en.wikipedia.org/wiki/Borrow_checker"),
        "{md}"
    );
}

#[test]
fn search_overlay_with_highlighted_snippets() {
    let mut h = history();
    search_and_wait(&mut h, "espresso bit");
    let t = draw(&mut h, 100, 16);
    snap!(screen(&t));
    // The matched words are drawn highlighted, the rest is not.
    let buf = t.backend().buffer();
    let mut highlighted = String::new();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            let c = &buf[(x, y)];
            if c.fg == Color::Yellow {
                highlighted.push_str(c.symbol());
            }
        }
        highlighted.push(' ');
    }
    assert!(highlighted.contains("espresso"), "{highlighted}");
    assert!(highlighted.contains("bitter"), "{highlighted}");
    assert!(!highlighted.contains("taste"), "{highlighted}");
}

#[test]
fn search_overlay_with_no_results() {
    let mut h = history();
    search_and_wait(&mut h, "zebra");
    snap!(screen(&draw(&mut h, 80, 8)));
}

#[test]
fn enter_jumps_to_the_message_and_alt_arrows_move_between_matches() {
    let mut h = history();
    search_and_wait(&mut h, "espresso role:assistant");
    let first = h.app.search().unwrap().hits()[0].message;
    h.app.handle(key(KeyCode::Enter));
    assert!(h.app.search().is_none());
    assert!(h.pump_until(|a| a.chat.found.is_some()));
    let found = h.app.chat.found.as_ref().unwrap();
    // Every message of the session with the word is a stop, in order.
    assert_eq!(
        found.matches,
        vec![MessageId(3001), MessageId(3002), MessageId(3004)]
    );
    assert_eq!(found.matches[found.current], first);
    let before = found.current;
    snap!(screen(&draw(&mut h, 80, 14)));

    h.app.handle(alt(KeyCode::Down));
    let f = h.app.chat.found.as_ref().unwrap();
    assert_eq!(f.current, (before + 1) % 3);
    h.app.handle(alt(KeyCode::Up));
    h.app.handle(alt(KeyCode::Char('p')));
    let f = h.app.chat.found.as_ref().unwrap();
    assert_eq!(f.current, (before + 2) % 3);
    h.app.handle(alt(KeyCode::Char('n')));
    assert_eq!(h.app.chat.found.as_ref().unwrap().current, before);
    assert!(h.app.chat.input_is_empty(), "match keys do not type");
    // Esc leaves found mode; typing goes to the input again.
    h.app.handle(key(KeyCode::Esc));
    assert!(h.app.chat.found.is_none());
    type_text(&mut h, "no");
    assert_eq!(h.app.chat.input.lines(), ["no"]);
}

/// The text drawn with the search-match background, cell by cell.
fn marked(t: &Terminal<TestBackend>) -> String {
    let buf = t.backend().buffer();
    let mut out = String::new();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            let c = &buf[(x, y)];
            if c.bg == Color::Yellow {
                out.push_str(c.symbol());
            }
        }
        out.push(' ');
    }
    out
}

#[test]
fn the_opened_match_has_its_words_highlighted_in_the_text() {
    let mut h = history();
    search_and_wait(&mut h, "espresso role:assistant");
    h.app.handle(key(KeyCode::Enter));
    assert!(h.pump_until(|a| a.chat.found.is_some()));
    let t = draw(&mut h, 80, 14);
    let m = marked(&t);
    assert!(m.contains("espresso"), "{m}\n{}", screen(&t));
    // Only the matched word (and the match marker), not its neighbours.
    assert!(!m.contains("bitter") && !m.contains("roasts"), "{m}");
}

#[test]
fn scrolled_up_the_transcript_says_there_is_more_below() {
    let mut h = history();
    search_and_wait(&mut h, "espresso role:assistant");
    h.app.handle(key(KeyCode::Enter));
    assert!(h.pump_until(|a| a.chat.found.is_some()));
    h.app.handle(key(KeyCode::Esc));
    h.app.handle(key(KeyCode::End));
    assert!(!screen(&draw(&mut h, 60, 10)).contains("more below"));
    h.app.handle(key(KeyCode::PageUp));
    let s = screen(&draw(&mut h, 60, 10));
    assert!(s.contains("↓ more below · End"), "{s}");
    h.app.handle(key(KeyCode::End));
    assert!(!screen(&draw(&mut h, 60, 10)).contains("more below"));
}

#[test]
fn after_opening_a_result_a_question_starting_with_n_types_in_full() {
    // Issue 15, bug 2: "now tell me more" became "ow tell me more".
    let mut h = history();
    search_and_wait(&mut h, "espresso role:assistant");
    h.app.handle(key(KeyCode::Enter));
    assert!(h.pump_until(|a| a.chat.found.is_some()));
    type_text(&mut h, "now tell me more");
    assert_eq!(h.app.chat.input.lines(), ["now tell me more"]);
    assert!(h.app.chat.found.is_none(), "typing leaves found mode");
}

#[test]
fn one_letter_asks_for_more_and_exclusions_alone_ask_for_a_word() {
    let mut h = history();
    search_and_wait(&mut h, "e");
    let shown = screen(&draw(&mut h, 80, 8));
    assert!(shown.contains("keep typing"), "{shown}");
    h.app.handle(ctrl('u'));
    type_text(&mut h, "-espresso ");
    assert!(h.pump_until(|a| a.search().is_some_and(|o| !o.waiting())));
    let shown = screen(&draw(&mut h, 100, 8));
    assert!(shown.contains("add a word to search for"), "{shown}");
}

#[test]
fn an_export_that_cannot_be_written_says_so() {
    let mut h = history();
    h.app.export_dir = h.sb.path().join("no/such/dir");
    open_sessions_and_wait(&mut h);
    h.app.handle(key(KeyCode::Char('e')));
    assert!(h.pump_until(|a| {
        a.sessions
            .as_ref()
            .and_then(|s| s.notice.as_deref())
            .is_some_and(|n| n.starts_with("failed:"))
    }));
    let shown = screen(&draw(&mut h, 110, 16));
    assert!(
        shown.contains("failed: cannot write") && shown.contains("no/such/dir"),
        "{shown}"
    );
}

/// Issue 15, bug 6: deleting the session the welcome screen offers makes
/// it offer the newest one left, never the deleted one.
#[test]
fn the_welcome_screen_never_offers_a_deleted_session() {
    let mut h = history();
    assert!(h.pump_until(|a| a.chat.resumable.is_some()));
    assert_eq!(
        h.app.chat.resumable.as_ref().map(|(_, t)| t.as_str()),
        Some("Coffee chemistry")
    );
    open_sessions_and_wait(&mut h);
    // Newest first: "Coffee chemistry" is selected; delete it.
    h.app.handle(key(KeyCode::Char('d')));
    h.app.handle(key(KeyCode::Char('y')));
    h.app.handle(key(KeyCode::Esc));
    let shown = screen(&draw(&mut h, 110, 16));
    assert!(!shown.contains("Coffee chemistry"), "{shown}");
    assert_eq!(
        h.app.chat.resumable.as_ref().map(|(_, t)| t.as_str()),
        Some("SQLite WAL mode")
    );
}

/// An imported conversation (from ChatGPT) beside sleuth's own.
fn with_import(h: Harness) -> Harness {
    use sleuth::import::{Node, Thread};
    let node = |key: &str, parent: Option<usize>, role: Role, text: &str| Node {
        key: key.into(),
        parent,
        role,
        content: text.into(),
        created_at: Some(1_764_000_200_000),
        model: Some("gpt-4o".into()),
        usage: Default::default(),
    };
    let t = Thread {
        origin: "chatgpt:abc".into(),
        title: "Espresso grind size".into(),
        created_at: Some(1_764_000_200_000),
        nodes: vec![
            node("q", None, Role::User, "What grind for espresso?"),
            node("a", Some(0), Role::Assistant, "Fine, like table salt."),
        ],
        ..Thread::default()
    };
    write_all(
        &h.sb.db(),
        vec![StoreCommand::Import(Box::new(t.into_session()))],
    );
    h
}

#[test]
fn imported_sessions_say_where_they_came_from() {
    let mut h = with_import(history());
    open_sessions_and_wait(&mut h);
    let text = screen(&draw(&mut h, 110, 16));
    assert!(text.contains("Espresso grind size"), "{text}");
    assert!(text.contains("from ChatGPT"), "{text}");
    h.app.handle(key(KeyCode::Esc));
    search_and_wait(&mut h, "grind");
    let text = screen(&draw(&mut h, 100, 16));
    assert!(text.contains("from ChatGPT"), "{text}");
    // Opened from the hit, its answers are ChatGPT's.
    h.app.handle(key(KeyCode::Enter));
    assert!(
        h.pump_until(|a| a.search().is_none() && !a.chat.transcript.is_empty()),
        "the imported session opens"
    );
    let text = screen(&draw(&mut h, 100, 16));
    assert!(text.contains("ChatGPT  "), "{text}");
    assert!(!text.contains("sleuth  "), "{text}");
}
