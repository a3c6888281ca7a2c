//! Deep runs end to end: `sleuth ask --deep` against a loopback Wikipedia
//! holding HotpotQA's articles, with no model and with a loopback model
//! that scripts the plan (well-formed or not) and the report.
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

use std::time::Duration;

use common::Sandbox;
use server::{Server, ollama_says};

/// Every context article of the HotpotQA fixture.
fn hotpot_articles() -> Vec<wiki::Article> {
    wiki::hotpot(&format!(
        "{}/../shared/fixtures/hotpot/hotpot-dev-distractor-15.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .0
}

fn hotpot() -> wiki::Wiki {
    wiki::Wiki::start(hotpot_articles(), true, 60)
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
    // Each Wikipedia source names the revision it read (prop=extracts|info).
    for s in v["sources"].as_array().unwrap() {
        assert!(s["meta"]["revision"].as_u64().is_some(), "{s:#}");
        assert_eq!(s["meta"]["site"], "Wikipedia");
    }
    // The report's claims are checked like an answer's: an extractive
    // report quotes its passages, so each holds.
    let claims = v["claims"].as_array().unwrap();
    assert!(!claims.is_empty(), "{v:#}");
    assert!(
        claims.iter().all(|c| c["verdict"] == "supported"),
        "{claims:#?}"
    );
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

#[test]
fn the_token_budget_ends_the_rounds_and_the_report_is_still_written() {
    let w = hotpot();
    let plan = r#"{"sub_questions": [{"question": "Who played Corliss Archer in Kiss and Tell?", "query": "Kiss and Tell 1945 film"}]}"#;
    // Each reply reports 40 + 12 tokens.
    let model = Server::routed(vec![(
        "/api/chat",
        vec![
            ollama_says(plan),
            ollama_says(r#"{"enough": false, "queries": ["Shirley Temple"]}"#),
            ollama_says("Chief of Protocol [1]."),
        ],
    )]);
    let sb = Sandbox::new();
    let cfg = config(&sb, &model.url(), &w.url(), "rounds = 3\nmax_tokens = 60");
    let v = deep(&sb, &cfg, KISS);
    assert_eq!(v["deep"]["stopped"], "model tokens", "{:#}", v["deep"]);
    assert_eq!(v["deep"]["tokens"], 104);
    assert_eq!(v["deep"]["rounds"].as_array().unwrap().len(), 1);
    assert!(v["answer"].as_str().unwrap().contains("Chief of Protocol"));
}

/// Esc during a deep run: the research stops and the report is written
/// from the rounds already done.
#[test]
fn wrapping_a_run_writes_the_report_from_what_was_found() {
    use sleuth::agent::deep::DeepAsk;
    use sleuth::agent::{AgentCommand, AgentEvent};
    let articles = hotpot_articles();
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
        settings: Default::default(),
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

/// Extract requests per title so far (each is one document read).
fn reads(w: &wiki::Wiki) -> std::collections::HashMap<String, usize> {
    let mut out = std::collections::HashMap::new();
    for p in w.requests.lock().unwrap().iter() {
        let Ok(u) = reqwest::Url::parse(&format!("http://wiki{p}")) else {
            continue;
        };
        let q: std::collections::HashMap<String, String> = u.query_pairs().into_owned().collect();
        if q.get("prop")
            .is_some_and(|p| p.split('|').any(|p| p == "extracts"))
            && let Some(t) = q.get("titles")
        {
            *out.entry(t.clone()).or_default() += 1;
        }
    }
    out
}

/// The stored run of a database: rounds completed, documents stored.
fn stored_run(db: &std::path::Path) -> Option<(usize, Vec<String>)> {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .ok()?;
    let state: String = conn
        .query_row("SELECT state FROM runs", [], |r| r.get(0))
        .ok()?;
    let v: serde_json::Value = serde_json::from_str(&state).ok()?;
    let rounds = v["rounds"].as_array().map_or(0, Vec::len);
    let mut st = conn
        .prepare("SELECT title FROM run_documents ORDER BY ord")
        .ok()?;
    let titles = st
        .query_map([], |r| r.get::<_, String>(0))
        .ok()?
        .collect::<Result<Vec<_>, _>>()
        .ok()?;
    Some((rounds, titles))
}

#[test]
fn a_run_killed_mid_round_resumes_without_fetching_its_documents_again() {
    let articles = hotpot_articles();
    // Slow article bodies: round 2 is still reading when the kill comes.
    let w = wiki::Wiki::with_delay(articles, true, 120, Duration::from_millis(300));
    let sb = Sandbox::new();
    let cfg = config(&sb, &closed(), &w.url(), "rounds = 3");
    let mut child = sb
        .cmd()
        .arg("--config")
        .arg(&cfg)
        .args(["ask", "--deep", "--json", KISS])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let stored = loop {
        assert!(std::time::Instant::now() < deadline, "round 1 never stored");
        if let Some((rounds, titles)) = stored_run(&sb.db())
            && rounds >= 1
        {
            break titles;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    child.kill().unwrap(); // SIGKILL: no chance to say "interrupted"
    child.wait().unwrap();
    assert!(!stored.is_empty());
    let before = reads(&w);
    let out = sb.cmd().args(["runs", "--unfinished"]).output().unwrap();
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(listed.contains("unfinished"), "{listed}");
    // The columns line up under their header (issue 24, item 21: the id
    // was not padded, so every column after it sat one off).
    let mut lines = listed.lines();
    let header = lines.next().unwrap();
    let row = lines.next().unwrap();
    let col = |l: &str, what: &str| l.find(what).unwrap();
    assert_eq!(col(header, "STATUS"), col(row, "unfinished"), "{listed}");

    let out = sb
        .cmd()
        .arg("--config")
        .arg(&cfg)
        .args(["ask", "--resume", "last", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["status"], "complete");
    assert_eq!(v["deep"]["resumed"], true);
    assert!(
        v["deep"]["rounds"].as_array().unwrap().len() >= 2,
        "{:#}",
        v["deep"]
    );
    assert!(
        titles(&v).iter().any(|t| t == "Shirley Temple"),
        "{:?}",
        titles(&v)
    );
    // Every document stored before the kill was read from the store.
    let after = reads(&w);
    for t in &stored {
        assert_eq!(
            after.get(t),
            before.get(t),
            "{t} was fetched again after the resume"
        );
    }
    // The run is complete, its report is the same message, written once.
    let (rounds, all) = stored_run(&sb.db()).unwrap();
    assert!(rounds >= 2 && all.len() >= stored.len());
    let out = sb
        .cmd()
        .args(["show", "--json", "latest"])
        .output()
        .unwrap();
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let messages = shown["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2, "{shown:#}");
    assert_eq!(messages[1]["status"], "complete");
    let out = sb.cmd().args(["runs", "--unfinished"]).output().unwrap();
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(listed.contains("No unfinished deep runs"), "{listed}");
    // Nothing left to resume.
    let out = sb
        .cmd()
        .arg("--config")
        .arg(&cfg)
        .args(["ask", "--resume", "last"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no unfinished deep run"));
}

#[test]
fn two_deep_runs_on_one_database_at_once_are_both_stored() {
    let articles = hotpot_articles();
    // Slow enough that the two runs' writes interleave.
    let w = wiki::Wiki::with_delay(articles, true, 60, Duration::from_millis(50));
    let sb = Sandbox::new();
    let cfg = config(&sb, &closed(), &w.url(), "rounds = 2");
    let spawn = |q: &str| {
        sb.cmd()
            .arg("--config")
            .arg(&cfg)
            .args(["ask", "--deep", "--json", q])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let a = spawn(KISS);
    let b = spawn("Were Scott Derrickson and Ed Wood of the same nationality?");
    for child in [a, b] {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["status"], "complete");
        assert!(!titles(&v).is_empty());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("locked") && !err.contains("busy"), "{err}");
    }
    let out = sb.cmd().args(["runs", "--json"]).output().unwrap();
    let runs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let runs = runs.as_array().unwrap();
    assert_eq!(runs.len(), 2);
    for r in runs {
        assert_eq!(r["status"], "complete");
        assert!(r["documents"].as_u64().unwrap() > 0);
    }
    let conn = rusqlite::Connection::open(sb.db()).unwrap();
    // Both runs' notes are stored (and indexed for history search).
    let noted: i64 = conn
        .query_row(
            "SELECT count(DISTINCT message_id) FROM run_notes",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(noted, 2);
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
}
