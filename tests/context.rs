//! Bounded context and memory across sessions, through the real app and
//! agent against a loopback Ollama.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)] // test code: a panic is the failure report

mod common;
#[path = "common/server.rs"]
mod server;

use std::sync::mpsc;
use std::time::Duration;

use common::Sandbox;
use common::harness::harness_with;
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use server::{Reply, Server, ollama_says};
use sleuth::agent::AgentEvent;
use sleuth::commands::ask;
use sleuth::store;
use sleuth::ui::UiEvent;
use sleuth::ui::app::App;
use sleuth::ui::chat::ContextPolicy;

fn key(code: KeyCode) -> UiEvent {
    UiEvent::Input(Event::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

/// Feeds the app every event until `done` says so (bounded wait).
fn pump(app: &mut App, rx: &mpsc::Receiver<UiEvent>, mut done: impl FnMut(&UiEvent) -> bool) {
    let end = std::time::Instant::now() + Duration::from_secs(10);
    while std::time::Instant::now() < end {
        if let Ok(ev) = rx.recv_timeout(Duration::from_millis(50)) {
            let stop = done(&ev);
            app.handle(ev);
            if stop {
                return;
            }
        }
    }
    panic!("timed out waiting for an event");
}

#[test]
fn older_turns_are_folded_into_a_stored_summary_that_later_turns_use() {
    let server = Server::routed(vec![(
        "/api/chat",
        vec![
            ollama_says("Answer one."),
            ollama_says("Answer two."),
            ollama_says("The user asked about alpha and beta."),
            ollama_says("Answer three."),
        ],
    )]);
    let mut h = harness_with(common::Sandbox::new(), &server.url());
    let app = &mut h.app;
    let rx = &h._events;
    app.chat.conv.research = false;
    app.chat.conv.policy = ContextPolicy {
        summarize_after: 3,
        keep_recent: 1,
        memory: false,
        memory_max: 0,
    };

    for q in ["alpha?", "beta?"] {
        for c in q.chars() {
            app.handle(key(KeyCode::Char(c)));
        }
        app.handle(key(KeyCode::Enter));
        pump(app, rx, |e| {
            matches!(e, UiEvent::Agent(AgentEvent::TurnDone { .. }))
        });
    }
    // Four messages > 3: everything but the last one is folded, in the background.
    pump(app, rx, |e| {
        matches!(e, UiEvent::Agent(AgentEvent::Summary { .. }))
    });
    for c in "gamma?".chars() {
        app.handle(key(KeyCode::Char(c)));
    }
    app.handle(key(KeyCode::Enter));
    pump(app, rx, |e| {
        matches!(e, UiEvent::Agent(AgentEvent::TurnDone { .. }))
    });
    h._writer.handle().flush().unwrap();

    let reqs: Vec<serde_json::Value> = server.requests().iter().map(|r| r.json()).collect();
    assert_eq!(reqs.len(), 4);
    let summarize = reqs[2]["messages"][1]["content"].as_str().unwrap();
    assert!(
        summarize.contains("alpha?")
            && summarize.contains("Answer one.")
            && summarize.contains("beta?"),
        "{summarize}"
    );
    let third = reqs[3]["messages"].as_array().unwrap();
    assert!(
        third[0]["content"]
            .as_str()
            .unwrap()
            .contains("Summary of the earlier conversation: The user asked about alpha and beta.")
    );
    let rest: Vec<&str> = third[1..]
        .iter()
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(
        rest,
        vec!["Answer two.", "gamma?"],
        "only the recent message and the question go verbatim"
    );

    let conn = store::open_reader(&h.sb.db()).unwrap();
    let s = store::queries::resolve_session(&conn, "latest").unwrap();
    assert_eq!(
        s.summary.as_deref(),
        Some("The user asked about alpha and beta.")
    );
}

/// The recorded summary payload (its real shape) about a quokka page:
/// sources that share no word with the question are not cited, and the
/// recorded one is about another page.
fn quokka_summary() -> Vec<u8> {
    let mut v: serde_json::Value =
        serde_json::from_slice(&server::fixture("wikipedia_summary.json")).unwrap();
    v["title"] = "Quokka".into();
    // Where it lives is left to the recalled session.
    v["extract"] = "The quokka is a small macropod, the size of a domestic cat.".into();
    serde_json::to_vec(&v).unwrap()
}

#[test]
fn research_recalls_relevant_messages_from_other_sessions() {
    let sb = common::Sandbox::new();
    common::write_all(
        &sb.db(),
        vec![
            sleuth::store::StoreCommand::CreateSession(common::session(1, "Quokka field notes", 1)),
            sleuth::store::StoreCommand::AppendMessage(common::message(
                11,
                1,
                sleuth::domain::Role::Assistant,
                "Quokkas live on Rottnest Island and are marsupials.",
                2,
            )),
            sleuth::store::StoreCommand::CreateSession(common::session(2, "Unrelated", 3)),
            sleuth::store::StoreCommand::AppendMessage(common::message(
                12,
                2,
                sleuth::domain::Role::User,
                "Bread recipes",
                4,
            )),
        ],
    );
    let server = Server::routed(vec![
        (
            "/api/chat",
            vec![
                ollama_says("{\"queries\": [\"quokka\"]}"),
                ollama_says("They live on Rottnest."),
            ],
        ),
        (
            "/w/api.php",
            vec![Reply::new(
                200,
                "application/json",
                server::fixture("wikipedia_search.json"),
            )],
        ),
        (
            "/api/rest_v1/page/summary/",
            vec![Reply::new(200, "application/json", quokka_summary())],
        ),
    ]);
    let url = server.url();
    let cfg = sb.path().join("mem.toml");
    std::fs::write(
        &cfg,
        format!(
            "[provider]\nbase_url = \"{url}\"\n[sources.wikipedia]\nbase_url = \"{url}\"\n\
             [sources.hackernews]\nenabled = false\n[sources.arxiv]\nenabled = false\n"
        ),
    )
    .unwrap();
    let out = sb
        .cmd()
        .arg("--config")
        .arg(&cfg)
        .args(["ask", "--json", "Where do quokkas live?"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["memory"], serde_json::json!(["Quokka field notes"]));
    let answer_req = server
        .requests()
        .into_iter()
        .filter(|r| r.path == "/api/chat")
        .nth(1)
        .unwrap()
        .json();
    let prompt = answer_req["messages"].as_array().unwrap().last().unwrap()["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        prompt.contains("From the user's earlier sessions") && prompt.contains("Rottnest"),
        "{prompt}"
    );
    assert!(!prompt.contains("Bread"), "{prompt}");
}

/// The command the app sends for `question` in the open session, read from
/// a detached agent handle (no threads answer).
fn app_command(sb: Sandbox, session: i64, question: &str, research: bool) -> String {
    let (mut h, mut rx) = common::harness::harness_detached(sb);
    h.app.chat.conv.db = Some(h.sb.db());
    h.app.chat.conv.research = research;
    h.app.open_session(sleuth::domain::SessionId(session));
    assert!(h.pump_until(|a| a.chat.conv.session().is_some()));
    for c in question.chars() {
        h.app.handle(key(KeyCode::Char(c)));
    }
    h.app.handle(key(KeyCode::Enter));
    let cmd = rx.try_recv().expect("the app asked the agent");
    format!("{cmd:?}")
}

/// The command `sleuth ask --session` builds for the same question, read
/// from detached handles.
fn ask_command(sb: &Sandbox, session: i64, question: &str, mode: ask::Mode) -> String {
    let conn = store::open_writer(&sb.db()).unwrap();
    let config = sleuth::config::Config::default();
    let mut start = ask::start(
        &conn,
        &config,
        &sb.db(),
        ask::What::Ask {
            question: question.into(),
            session: Some(session.to_string()),
            mode,
        },
    )
    .unwrap();
    let (writer, _writes) = store::WriterHandle::detached();
    let (agent, mut rx) = sleuth::agent::AgentHandle::detached();
    start
        .begin(sleuth::conversation::Ports {
            writer: &writer,
            agent: &agent,
        })
        .unwrap();
    let cmd = rx.try_recv().expect("ask asked the agent");
    format!("{cmd:?}")
}

/// A session long enough to have a stored summary and more messages than
/// the context takes.
fn long_session(sb: &Sandbox) {
    use common::{message, session};
    use sleuth::domain::Role;
    use sleuth::store::StoreCommand;
    let t = 1_764_000_000_000;
    let mut cmds = vec![StoreCommand::CreateSession(session(4000, "Long talk", t))];
    for i in 0..30 {
        let role = if i % 2 == 0 {
            Role::User
        } else {
            Role::Assistant
        };
        cmds.push(StoreCommand::AppendMessage(message(
            4001 + i,
            4000,
            role,
            &format!("message number {i}"),
            t + i,
        )));
    }
    cmds.push(StoreCommand::SetSummary {
        session: sleuth::domain::SessionId(4000),
        summary: "They talked about numbers.".into(),
    });
    common::write_all(&sb.db(), cmds);
}

#[test]
fn the_app_and_ask_send_the_same_request_for_the_same_session() {
    // Issue 10: `ask` used to drop the summary in plain chat and send 20
    // messages plus the summary in research; now both build the request
    // from the same conversation code.
    for (research, mode) in [(false, ask::Mode::Chat), (true, ask::Mode::Research)] {
        let sb = Sandbox::new();
        long_session(&sb);
        let from_ask = ask_command(&sb, 4000, "and then?", mode);
        let from_app = app_command(sb, 4000, "and then?", research);
        assert_eq!(from_app, from_ask, "research: {research}");
        assert!(
            from_ask.contains("They talked about numbers."),
            "{from_ask}"
        );
        // The summary stands for all but the 3 most recent messages.
        assert!(!from_ask.contains("message number 26"), "{from_ask}");
        assert!(from_ask.contains("message number 27"), "{from_ask}");
    }
}

#[test]
fn ask_folds_older_turns_into_the_summary_as_the_app_does() {
    let sb = Sandbox::new();
    long_session(&sb);
    // Drop the stored summary: 30 messages and none folded.
    common::write_all(
        &sb.db(),
        vec![sleuth::store::StoreCommand::SetSummary {
            session: sleuth::domain::SessionId(4000),
            summary: String::new(),
        }],
    );
    let server = Server::routed(vec![(
        "/api/chat",
        vec![
            ollama_says("The answer."),
            ollama_says("A summary of thirty messages."),
        ],
    )]);
    let out = sb
        .cmd()
        .args(["--base-url", &server.url()])
        .args(["ask", "--no-research", "--session", "4000", "and then?"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let conn = store::open_reader(&sb.db()).unwrap();
    let s = store::queries::get_session(&conn, sleuth::domain::SessionId(4000))
        .unwrap()
        .unwrap();
    assert_eq!(s.summary.as_deref(), Some("A summary of thirty messages."));
    // The fold asked the model about everything but the recent messages.
    let reqs = server.requests();
    assert_eq!(reqs.len(), 2);
    let folded = reqs[1].json()["messages"][1]["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(folded.contains("message number 0"), "{folded}");
    assert!(!folded.contains("The answer."), "{folded}");
}

#[test]
fn a_role_from_the_config_sets_the_system_prompt_temperature_and_model_of_ask() {
    let sb = Sandbox::new();
    let cfg = sb.path().join("config/sleuth/config.toml");
    let mut text = std::fs::read_to_string(&cfg).unwrap();
    text.push_str(
        "\n[roles.french]\nsystem = \"Answer in French.\"\ntemperature = 0.25\nmodel = \"mistral\"\nmax_tokens = 321\n",
    );
    std::fs::write(&cfg, text).unwrap();
    let server = Server::routed(vec![("/api/chat", vec![ollama_says("Bonjour.")])]);
    let out = sb
        .cmd()
        .args(["--base-url", &server.url(), "--role", "french"])
        .args(["ask", "--no-research", "hello?"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reqs: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.path == "/api/chat")
        .collect();
    let body = reqs[0].json();
    assert_eq!(body["model"], "mistral");
    assert_eq!(body["options"]["temperature"], 0.25);
    assert_eq!(body["options"]["num_predict"], 321);
    let system = body["messages"][0]["content"].as_str().unwrap();
    assert!(system.contains("Answer in French."), "{system}");
    // Stored with the session: `show --json` has it.
    let out = sb
        .cmd()
        .args(["show", "latest", "--json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["session"]["settings"]["role"], "french");
    // An unknown role is a clear error before anything runs.
    let out = sb
        .cmd()
        .args(["--role", "pirate", "ask", "--no-research", "x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no role “pirate”") && err.contains("french"),
        "{err}"
    );
}
