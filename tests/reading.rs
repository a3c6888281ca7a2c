//! Research that reads: whole Wikipedia articles from a loopback Wikipedia
//! that speaks the real formats, cut into passages, ranked, cited and
//! stored so every [n] resolves to its passage.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)] // test code: a panic is the failure report

mod common;
#[path = "common/wiki.rs"]
mod wiki;

use common::Sandbox;

fn squad() -> (Vec<wiki::Article>, Vec<(String, Vec<String>)>) {
    wiki::squad(&format!(
        "{}/../shared/fixtures/squad/squad-v2-dev-2articles.json",
        env!("CARGO_MANIFEST_DIR")
    ))
}

fn config(sb: &Sandbox, wiki: &str, extra: &str) -> std::path::PathBuf {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let path = sb.path().join("reading.toml");
    std::fs::write(
        &path,
        format!(
            "[provider]\nbase_url = \"http://{closed}\"\n[research]\ntimeout_secs = 5\n{extra}\n\
             [sources.wikipedia]\nbase_url = \"{wiki}\"\n[sources.hackernews]\nenabled = false\n\
             [sources.arxiv]\nenabled = false\n"
        ),
    )
    .unwrap();
    path
}

fn ask(sb: &Sandbox, cfg: &std::path::Path, q: &str) -> serde_json::Value {
    ask_in(sb, cfg, &[q])
}

#[test]
fn a_question_is_answered_from_the_whole_article() {
    let (articles, _) = squad();
    let w = wiki::Wiki::start(articles, false, 60);
    let sb = Sandbox::new();
    let cfg = config(&sb, &w.url(), "");
    let v = ask(
        &sb,
        &cfg,
        "What company was formed by the merger of Sky Television and British Satellite Broadcasting?",
    );
    let sources = v["sources"].as_array().unwrap();
    assert!(!sources.is_empty(), "{v:#}");
    let excerpts: Vec<String> = sources
        .iter()
        .map(|s| s["excerpt"].as_str().unwrap().to_string())
        .collect();
    assert!(
        wiki::answered(&excerpts, &["British Sky Broadcasting".into()], 4000),
        "{excerpts:#?}"
    );
}

#[path = "common/server.rs"]
mod server;

use server::{Reply, Server, ollama_says};

fn model_config(sb: &Sandbox, model: &str, wiki: &str) -> std::path::PathBuf {
    let path = sb.path().join("model.toml");
    std::fs::write(
        &path,
        format!(
            "[provider]\nbase_url = \"{model}\"\nretry_base_ms = 10\n[research]\ntimeout_secs = 5\n\
             [sources.wikipedia]\nbase_url = \"{wiki}\"\n[sources.hackernews]\nenabled = false\n\
             [sources.arxiv]\nenabled = false\n"
        ),
    )
    .unwrap();
    path
}

fn ask_in(sb: &Sandbox, cfg: &std::path::Path, args: &[&str]) -> serde_json::Value {
    let out = sb
        .cmd()
        .arg("--config")
        .arg(cfg)
        .arg("ask")
        .arg("--json")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn chat_bodies(s: &Server) -> Vec<serde_json::Value> {
    s.requests()
        .into_iter()
        .filter(|r| r.path == "/api/chat")
        .map(|r| r.json())
        .collect()
}

#[test]
fn a_follow_up_is_searched_with_the_earlier_turn_and_ranked_as_it_stands_alone() {
    let (articles, _) = squad();
    let w = wiki::Wiki::start(articles, false, 60);
    let keywords = r#"{"standalone": "What religion did the Normans follow?", "queries": ["Normans religion"]}"#;
    let model = Server::routed(vec![(
        "/api/chat",
        vec![
            ollama_says(r#"{"standalone": "Who were the Normans?", "queries": ["Normans"]}"#),
            ollama_says("They were a people of Normandy [1]."),
            ollama_says(keywords),
            ollama_says("Catholic [1]."),
        ],
    )]);
    let sb = Sandbox::new();
    let cfg = model_config(&sb, &model.url(), &w.url());
    ask_in(&sb, &cfg, &["Who were the Normans?"]);
    let v = ask_in(
        &sb,
        &cfg,
        &["--session", "latest", "And what was their religion?"],
    );
    let bodies = chat_bodies(&model);
    assert_eq!(bodies.len(), 4);
    // The keyword request of the follow-up carries the earlier turn…
    let kw = &bodies[2];
    let text = kw["messages"].as_array().unwrap().last().unwrap()["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        text.contains("user: Who were the Normans?")
            && text.contains("assistant: They were a people of Normandy")
            && text.ends_with("Latest question: And what was their religion?"),
        "{text}"
    );
    // …and asks for the reply's shape (Ollama `format`).
    assert_eq!(
        kw["format"]["required"],
        serde_json::json!(["standalone", "queries"])
    );
    // The model's standalone question is shown and ranks the passages.
    assert_eq!(v["keywords"][0], "Normans religion", "{v:#}");
    assert_eq!(
        v["analysis"]["standalone"],
        "What religion did the Normans follow?"
    );
    assert_eq!(v["analysis"]["from_model"], true);
    let excerpts: Vec<String> = v["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["excerpt"].as_str().unwrap().to_string())
        .collect();
    assert!(
        wiki::answered(&excerpts, &["Catholic".into(), "Catholicism".into()], 4000),
        "{excerpts:#?}"
    );
}

#[test]
fn a_server_that_refuses_the_schema_is_asked_again_without_it() {
    let (articles, _) = squad();
    let w = wiki::Wiki::start(articles, false, 60);
    let refused = Reply::new(
        400,
        "application/json",
        br#"{"error":"invalid format: schema not supported"}"#.to_vec(),
    );
    let model = Server::routed(vec![(
        "/api/chat",
        vec![
            refused,
            ollama_says("Sure:\n```json\n{\"queries\": [\"Normans Sicily\"]}\n```"),
            ollama_says("In Sicily [1]."),
        ],
    )]);
    let sb = Sandbox::new();
    let cfg = model_config(&sb, &model.url(), &w.url());
    let v = ask_in(&sb, &cfg, &["Where did the Normans conquer an island?"]);
    let bodies = chat_bodies(&model);
    assert_eq!(
        bodies.len(),
        3,
        "one retry without the schema, then the answer"
    );
    assert!(bodies[0].get("format").is_some());
    assert!(bodies[1].get("format").is_none());
    assert_eq!(v["keywords"][0], "Normans Sicily");
    assert_eq!(v["answer_kind"], "generated");
}

#[test]
fn a_slow_keyword_reply_does_not_hold_the_fetch() {
    let (articles, _) = squad();
    let w = wiki::Wiki::start(articles, false, 60);
    // The keyword reply comes after 8 s: the heuristic queries search at
    // 1.5 s, and the turn goes on when those fetches end (~1.7 s; the
    // margin is for a loaded machine).
    let model = Server::routed(vec![(
        "/api/chat",
        vec![
            ollama_says(r#"{"queries": ["late query"]}"#).after(8000),
            ollama_says("Ethelred [1]."),
        ],
    )]);
    let sb = Sandbox::new();
    let cfg = model_config(&sb, &model.url(), &w.url());
    let started = std::time::Instant::now();
    let v = ask_in(&sb, &cfg, &["Who did Emma of Normandy marry?"]);
    let took = started.elapsed();
    assert!(took < std::time::Duration::from_millis(7000), "{took:?}");
    assert_eq!(v["analysis"]["from_model"], false);
    assert_eq!(v["keywords"][0], "Emma Normandy marry");
    let searched = w.requests.lock().unwrap().clone();
    assert!(
        searched
            .iter()
            .any(|p| p.contains("srsearch=Emma+Normandy+marry")),
        "{searched:?}"
    );
    assert!(!searched.iter().any(|p| p.contains("late")), "{searched:?}");
    assert_eq!(v["answer_kind"], "generated");
}

#[test]
fn a_huge_article_stays_within_the_caps() {
    use sleuth::agent::research::{document::MAX_DOC_CHARS, passages::MAX_PER_DOC};
    // About 5 MB of article in 40,000 paragraphs under 400 headings.
    let mut text = String::new();
    for s in 0..400 {
        text.push_str(&format!("\n== Part {s} ==\n"));
        for p in 0..100 {
            text.push_str(&format!(
                "Paragraph {p} of part {s} says something about huge articles and their caps. \
                 It has two sentences of filler text to make it about a hundred and twenty bytes.\n"
            ));
        }
    }
    assert!(text.len() > 5_000_000);
    let big = wiki::Article {
        title: "Huge".into(),
        text,
    };
    let w = wiki::Wiki::start(vec![big], false, 60);
    let sb = Sandbox::new();
    let cfg = config(&sb, &w.url(), "");
    let v = ask(&sb, &cfg, "What do huge articles say about caps?");
    let wiki = &v["analysis"]["per_source"][0];
    assert_eq!(wiki["documents"], 1, "{v:#}");
    assert!(
        wiki["chars"].as_u64().unwrap() <= MAX_DOC_CHARS as u64,
        "{wiki}"
    );
    assert!(
        wiki["passages"].as_u64().unwrap() <= MAX_PER_DOC as u64,
        "{wiki}"
    );
    let cited: usize = v["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["excerpt"].as_str().unwrap().len())
        .sum();
    assert!(cited <= 6000 + 2400, "the context budget holds: {cited}");
}

#[test]
fn every_citation_resolves_to_its_stored_passage_after_reopening() {
    let (articles, _) = squad();
    let w = wiki::Wiki::start(articles, false, 60);
    let model = Server::routed(vec![(
        "/api/chat",
        vec![
            ollama_says(r#"{"queries": ["Normans Sicily"]}"#),
            ollama_says("The Normans took Sicily [1], later [2]; not a source [99]."),
        ],
    )]);
    let sb = Sandbox::new();
    let cfg = model_config(&sb, &model.url(), &w.url());
    let v = ask_in(&sb, &cfg, &["When did the Normans conquer Sicily?"]);
    let out = sb
        .cmd()
        .arg("--config")
        .arg(&cfg)
        .args(["show", "latest", "--json"])
        .output()
        .unwrap();
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let answer = &shown["messages"][1];
    let stored = answer["sources"].as_array().unwrap();
    let given = v["sources"].as_array().unwrap();
    assert_eq!(stored.len(), given.len());
    for n in sleuth::agent::research::answer::citations(answer["content"].as_str().unwrap()) {
        if n == 99 {
            assert!(stored.iter().all(|s| s["ordinal"] != 99));
            continue;
        }
        let s = stored.iter().find(|s| s["ordinal"] == n).unwrap();
        let g = given.iter().find(|s| s["n"] == n).unwrap();
        // The stored passage is exactly what the model was given.
        assert_eq!(s["excerpt"], g["excerpt"]);
        assert_eq!(s["title"], "Normans");
        assert!(s["url"].as_str().unwrap().contains("/wiki/Normans"), "{s}");
    }
    let prompt = chat_bodies(&model)[1]["messages"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()["content"]
        .as_str()
        .unwrap()
        .to_string();
    for s in stored {
        assert!(
            prompt.contains(s["excerpt"].as_str().unwrap()),
            "passage not given to the model"
        );
    }
}

#[test]
fn a_model_known_to_be_down_is_not_asked_and_the_answer_comes_from_the_sources() {
    use sleuth::agent::research::pipeline::ResearchAsk;
    use sleuth::agent::{AgentCommand, AgentEvent};
    use std::io::Read;
    use std::time::Duration;
    let (articles, _) = squad();
    let w = wiki::Wiki::start(articles, false, 60);
    // A port with nothing listening: the start-up probe finds no model.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut cfg = sleuth::config::Config::default();
    cfg.provider.base_url = format!("http://127.0.0.1:{port}");
    cfg.sources.wikipedia.base_url = w.url();
    cfg.sources.hackernews.enabled = false;
    cfg.sources.arxiv.enabled = false;
    let (tx, rx) = std::sync::mpsc::channel();
    let agent = sleuth::agent::spawn_agent(cfg, sleuth::emit::Emitter::channel(tx)).unwrap();
    agent.handle().send(AgentCommand::Probe);
    loop {
        match rx.recv_timeout(Duration::from_secs(10)).unwrap() {
            AgentEvent::Provider(p) => {
                assert!(!p.reachable);
                break;
            }
            _ => continue,
        }
    }
    // Now something listens there and records what it is asked.
    let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    listener.set_nonblocking(true).unwrap();
    let asked = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let log = std::sync::Arc::clone(&asked);
    std::thread::spawn(move || {
        let until = std::time::Instant::now() + Duration::from_secs(10);
        while std::time::Instant::now() < until {
            if let Ok((mut s, _)) = listener.accept() {
                let _ = s.set_nonblocking(false);
                let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
                let mut buf = [0u8; 1024];
                let n = s.read(&mut buf).unwrap_or(0);
                let head = String::from_utf8_lossy(&buf[..n]).to_string();
                log.lock()
                    .unwrap()
                    .push(head.lines().next().unwrap_or("").to_string());
            } else {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
    });
    agent.handle().send(AgentCommand::Research(ResearchAsk {
        settings: Default::default(),
        turn: sleuth::domain::TurnId(1),
        model: "llama3.2".into(),
        question: "Who did Emma of Normandy marry?".into(),
        history: vec![],
        only: None,
        summary: None,
        memory: None,
    }));
    let outcome = loop {
        match rx.recv_timeout(Duration::from_secs(10)).unwrap() {
            AgentEvent::TurnDone { outcome, .. } => break outcome,
            AgentEvent::TurnFailed { error, .. } => panic!("{error}"),
            _ => continue,
        }
    };
    assert_eq!(
        outcome.answer_kind,
        sleuth::agent::turn::AnswerKind::Extractive
    );
    assert!(outcome.notice.unwrap().contains("ollama serve"));
    assert!(!outcome.sources.is_empty());
    // No keyword or answer request went to the model (a background
    // re-check of /api/tags may).
    std::thread::sleep(Duration::from_millis(300));
    let asked = asked.lock().unwrap().clone();
    assert!(asked.iter().all(|l| !l.contains("/api/chat")), "{asked:?}");
    agent.shutdown();
}
