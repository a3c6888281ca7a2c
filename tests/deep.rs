//! Deep runs end to end: `sleuth ask --deep` against a loopback Wikipedia
//! holding HotpotQA's articles, with no model and with a loopback model
//! that scripts the plan (well-formed or not) and the report.

mod common;
#[path = "common/server.rs"]
mod server;
#[path = "common/wiki.rs"]
mod wiki;

use common::Sandbox;
use server::{Server, ollama_says};

fn hotpot() -> wiki::Wiki {
    let (articles, _) = wiki::hotpot(&format!(
        "{}/../shared/fixtures/hotpot/hotpot-dev-distractor-15.json",
        env!("CARGO_MANIFEST_DIR")
    ));
    wiki::Wiki::start(articles, true, 60)
}

fn config(sb: &Sandbox, model: &str, wiki: &str, deep: &str) -> std::path::PathBuf {
    let path = sb.path().join("deep.toml");
    std::fs::write(
        &path,
        format!(
            "[provider]\nbase_url = \"{model}\"\nretry_base_ms = 10\n[research]\ntimeout_secs = 5\n\
             [deep]\n{deep}\n[sources.wikipedia]\nbase_url = \"{wiki}\"\n\
             [sources.hackernews]\nenabled = false\n[sources.arxiv]\nenabled = false\n"
        ),
    )
    .unwrap();
    path
}

fn closed() -> String {
    let a = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    format!("http://{a}")
}

fn deep(sb: &Sandbox, cfg: &std::path::Path, q: &str) -> serde_json::Value {
    let out = sb
        .cmd()
        .arg("--config")
        .arg(cfg)
        .args(["ask", "--deep", "--json", q])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn titles(v: &serde_json::Value) -> Vec<String> {
    v["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["title"].as_str().unwrap().to_string())
        .collect()
}

const KISS: &str = "What government position was held by the woman who portrayed Corliss Archer in the film Kiss and Tell?";

#[test]
fn without_a_model_a_bridge_question_follows_the_lead_to_the_second_article() {
    let w = hotpot();
    let sb = Sandbox::new();
    let cfg = config(&sb, &closed(), &w.url(), "");
    let v = deep(&sb, &cfg, KISS);
    let t = titles(&v);
    assert!(
        t.contains(&"Kiss and Tell (1945 film)".to_string())
            && t.contains(&"Shirley Temple".to_string()),
        "{t:?}"
    );
    let run = &v["deep"];
    assert_eq!(run["plan_from_model"], false);
    assert_eq!(run["plan"][1]["query"], "Corliss Archer");
    assert!(
        run["rounds"][0]["leads"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l == "Shirley Temple"),
        "{run:#}"
    );
    let answer = v["answer"].as_str().unwrap();
    assert_eq!(v["answer_kind"], "extractive");
    assert!(answer.contains("Chief of Protocol"), "{answer}");
    assert!(answer.contains("### References"), "{answer}");
    // Every [n] in the report has a stored source.
    let n = t.len() as i64;
    for c in sleuth::agent::research::answer::citations(answer) {
        assert!((1..=n).contains(&c), "[{c}] of {n}");
    }
    // A document is read once per run.
    let reads: Vec<String> = w
        .requests
        .lock()
        .unwrap()
        .iter()
        .filter(|p| p.contains("prop=extracts"))
        .cloned()
        .collect();
    let mut unique = reads.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(reads.len(), unique.len(), "{reads:#?}");
}

#[test]
fn budgets_stop_the_rounds() {
    let w = hotpot();
    let sb = Sandbox::new();
    let cfg = config(&sb, &closed(), &w.url(), "rounds = 1");
    let v = deep(&sb, &cfg, KISS);
    assert_eq!(v["deep"]["rounds"].as_array().unwrap().len(), 1);
    assert_eq!(v["deep"]["stopped"], "rounds");
    let cfg = config(&sb, &closed(), &w.url(), "max_documents = 2");
    let v = deep(&sb, &cfg, KISS);
    assert!(
        v["deep"]["documents_read"].as_u64().unwrap() <= 2,
        "{:#}",
        v["deep"]
    );
    assert_eq!(v["deep"]["stopped"], "documents");
}

#[test]
fn the_models_plan_is_searched_and_its_report_streamed() {
    let w = hotpot();
    let plan = r#"{"sub_questions": [
        {"question": "Who played Corliss Archer in Kiss and Tell (1945)?", "query": "Kiss and Tell 1945 film"},
        {"question": "What government posts did Shirley Temple hold?", "query": "Shirley Temple"}]}"#;
    let model = Server::routed(vec![(
        "/api/chat",
        vec![
            ollama_says(plan),
            ollama_says("**Chief of Protocol** [2].\n\n### References\n[2] Shirley Temple"),
        ],
    )]);
    let sb = Sandbox::new();
    let cfg = config(&sb, &model.url(), &w.url(), "rounds = 1");
    let v = deep(&sb, &cfg, KISS);
    assert_eq!(v["deep"]["plan_from_model"], true, "{:#}", v["deep"]);
    assert_eq!(v["answer_kind"], "generated");
    assert!(
        v["answer"]
            .as_str()
            .unwrap()
            .starts_with("**Chief of Protocol** [2]")
    );
    let bodies: Vec<serde_json::Value> = model
        .requests()
        .iter()
        .filter(|r| r.path == "/api/chat")
        .map(|r| r.json())
        .collect();
    assert_eq!(bodies.len(), 2);
    assert!(bodies[0]["format"]["properties"]["sub_questions"].is_object());
    // The report request carries the sub-questions and the numbered passages.
    let report = bodies[1]["messages"].as_array().unwrap().last().unwrap()["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        report.contains("What government posts did Shirley Temple hold?"),
        "{report}"
    );
    assert!(
        report.contains("[1] ") && report.contains("Question: "),
        "{report}"
    );
    assert!(titles(&v).contains(&"Shirley Temple".to_string()));
    let searched: Vec<String> = w.requests.lock().unwrap().clone();
    assert!(
        searched
            .iter()
            .any(|p| p.contains("srsearch=Shirley+Temple")),
        "{searched:#?}"
    );
}

#[test]
fn a_malformed_plan_falls_back_to_the_heuristic_and_the_run_ends() {
    let w = hotpot();
    let model = Server::routed(vec![(
        "/api/chat",
        vec![
            ollama_says("Sure! Here is a plan: {\"sub_questions\": [oops"),
            ollama_says("Shirley Temple was Chief of Protocol [1]."),
        ],
    )]);
    let sb = Sandbox::new();
    let cfg = config(&sb, &model.url(), &w.url(), "");
    let v = deep(&sb, &cfg, KISS);
    assert_eq!(v["deep"]["plan_from_model"], false);
    assert_eq!(v["deep"]["plan"][1]["query"], "Corliss Archer");
    assert_eq!(v["answer_kind"], "generated");
    assert!(!v["sources"].as_array().unwrap().is_empty());
}

#[test]
fn the_models_reflection_chooses_the_next_queries_or_ends_the_rounds() {
    let w = hotpot();
    let plan = r#"{"sub_questions": [{"question": "Who played Corliss Archer in Kiss and Tell?", "query": "Kiss and Tell 1945 film"}]}"#;
    let model = Server::routed(vec![(
        "/api/chat",
        vec![
            ollama_says(plan),
            ollama_says(
                r#"{"enough": false, "missing": "her career", "queries": ["Shirley Temple"]}"#,
            ),
            ollama_says("Chief of Protocol [1]."),
        ],
    )]);
    let sb = Sandbox::new();
    let cfg = config(&sb, &model.url(), &w.url(), "rounds = 2");
    let v = deep(&sb, &cfg, KISS);
    let rounds = v["deep"]["rounds"].as_array().unwrap();
    assert_eq!(rounds.len(), 2, "{:#}", v["deep"]);
    assert_eq!(rounds[1]["queries"], serde_json::json!(["Shirley Temple"]));
    assert!(titles(&v).contains(&"Shirley Temple".to_string()));
    let bodies: Vec<serde_json::Value> = model
        .requests()
        .iter()
        .filter(|r| r.path == "/api/chat")
        .map(|r| r.json())
        .collect();
    // The reflection saw the notes and was asked for its decision's shape.
    let shown = bodies[1]["messages"][1]["content"].as_str().unwrap();
    assert!(
        shown.contains("Notes so far") && shown.contains("Corliss Archer"),
        "{shown}"
    );
    assert!(bodies[1]["format"]["properties"]["enough"].is_object());

    // "Enough" ends the rounds at once.
    let model = Server::routed(vec![(
        "/api/chat",
        vec![
            ollama_says(plan),
            ollama_says(r#"{"enough": true, "queries": []}"#),
            ollama_says("Done [1]."),
        ],
    )]);
    let cfg = config(&sb, &model.url(), &w.url(), "rounds = 3");
    let v = deep(&sb, &cfg, KISS);
    assert_eq!(v["deep"]["stopped"], "evidence suffices");
    assert_eq!(v["deep"]["rounds"].as_array().unwrap().len(), 1);
}

/// Esc during a deep run: the research stops and the report is written
/// from the rounds already done.
#[test]
fn wrapping_a_run_writes_the_report_from_what_was_found() {
    use sleuth::agent::deep::DeepAsk;
    use sleuth::agent::{AgentCommand, AgentEvent};
    use std::time::Duration;
    let (articles, _) = wiki::hotpot(&format!(
        "{}/../shared/fixtures/hotpot/hotpot-dev-distractor-15.json",
        env!("CARGO_MANIFEST_DIR")
    ));
    // Each article body takes 400 ms, so round 2 is still fetching when
    // the user asks for the report.
    let w = wiki::Wiki::with_delay(articles, true, 60, Duration::from_millis(400));
    let mut cfg = sleuth::config::Config::default();
    cfg.provider.base_url = closed();
    cfg.sources.wikipedia.base_url = w.url();
    cfg.sources.hackernews.enabled = false;
    cfg.sources.arxiv.enabled = false;
    let (tx, rx) = std::sync::mpsc::channel();
    let agent = sleuth::agent::spawn_agent(cfg, sleuth::emit::Emitter::channel(tx)).unwrap();
    let turn = sleuth::domain::TurnId(1);
    agent.handle().send(AgentCommand::Deep(DeepAsk {
        turn,
        model: "m".into(),
        question: KISS.into(),
        history: vec![],
        summary: None,
        only: None,
        resume: None,
    }));
    let outcome = loop {
        match rx.recv_timeout(Duration::from_secs(20)).unwrap() {
            AgentEvent::DeepStep { text, .. } if text.starts_with("round 2: searching") => {
                agent.handle().send(AgentCommand::Wrap(turn));
            }
            AgentEvent::TurnDone { outcome, .. } => break outcome,
            AgentEvent::TurnFailed { error, .. } => panic!("{error}"),
            _ => {}
        }
    };
    let run = outcome.deep.unwrap();
    assert_eq!(run.stopped, "stopped by the user");
    assert_eq!(run.rounds.len(), 1, "round 2 was not finished");
    assert!(!outcome.sources.is_empty());
    assert!(
        outcome
            .sources
            .iter()
            .any(|s| s.title == "Kiss and Tell (1945 film)")
    );
    agent.shutdown();
}
