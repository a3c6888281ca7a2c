//! Index-time embeddings (`[provider] embed_model`) against a loopback
//! server speaking Ollama's `/api/embed`: passages are embedded when they
//! are indexed, only once, again when the model changes, resumed after a
//! failure, never sent to a model off this machine; a research turn then
//! embeds only its question.

use serde_json::{Value, json};

use super::common::Sandbox;
use super::server::{Reply, Server, ollama_says};
use super::{ask_json, json, run};

/// A stand-in embedding model: each word counts in one of 32 dimensions
/// (by a hash of the word), so texts sharing words are close.
fn vector(text: &str) -> Vec<f64> {
    let mut v = vec![0.0; 32];
    for w in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let h = w
            .to_lowercase()
            .bytes()
            .fold(7u64, |h, b| h.wrapping_mul(31) + b as u64);
        v[(h % 32) as usize] += 1.0;
    }
    v
}

/// `/api/embed` answering every input, as Ollama does.
fn embed_reply() -> Reply {
    Reply::computed("application/json", |body| {
        let req: Value = serde_json::from_str(body).unwrap();
        let vectors: Vec<Vec<f64>> = req["input"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| vector(t.as_str().unwrap()))
            .collect();
        json!({"model": req["model"], "embeddings": vectors})
            .to_string()
            .into_bytes()
    })
}

/// The sandbox's config, pointing the provider at `url` with `model`.
fn configure(sb: &Sandbox, url: &str, model: &str) {
    let cfg = sb.path().join("config/sleuth/config.toml");
    std::fs::write(
        cfg,
        format!(
            "[provider]\nbase_url = \"{url}\"\nembed_model = \"{model}\"\nretries = 0\n\
             retry_base_ms = 10\n\
             [sources.wikipedia]\nenabled = false\n[sources.hackernews]\nenabled = false\n\
             [sources.arxiv]\nenabled = false\n"
        ),
    )
    .unwrap();
}

fn notes(sb: &Sandbox, files: &[(&str, &str)]) -> std::path::PathBuf {
    let dir = sb.path().join("notes");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
    dir
}

/// Texts sent to `/api/embed`, request by request.
fn embedded(server: &Server) -> Vec<Vec<String>> {
    server
        .requests()
        .into_iter()
        .filter(|r| r.path == "/api/embed")
        .map(|r| {
            r.json()["input"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t.as_str().unwrap().to_string())
                .collect()
        })
        .collect()
}

const WOMBAT: &str =
    "# Wombats\n\nWombats dig burrows with their claws and sleep in them by day.\n";
const QUOKKA: &str = "# Quokkas\n\nQuokkas live on Rottnest Island and eat leaves of shrubs.\n";

#[test]
fn passages_are_embedded_once_when_indexed_and_a_turn_embeds_only_its_question() {
    let sb = Sandbox::new();
    let server = Server::routed(vec![
        ("/api/embed", vec![embed_reply()]),
        (
            "/api/chat",
            vec![ollama_says("Wombats dig burrows with their claws [1].")],
        ),
    ]);
    configure(&sb, &server.url(), "stand-in-embed");
    let dir = notes(&sb, &[("wombat.md", WOMBAT), ("quokka.md", QUOKKA)]);
    let added = json(&sb, &["add", dir.to_str().unwrap()]);
    assert_eq!(added["embedding"]["embedded"], 2, "{added:#}");
    assert_eq!(added["embedding"]["waiting"], 0);
    let sent: Vec<String> = embedded(&server).concat();
    assert_eq!(sent.len(), 2, "each passage once: {sent:?}");
    assert!(sent.iter().any(|t| t.contains("Wombats dig burrows")));
    let status = json(&sb, &["status"]);
    assert_eq!(status["embedded"], 2);
    assert_eq!(status["embed_model"], "stand-in-embed");

    // Nothing changed: nothing is embedded again.
    json(&sb, &["reindex"]);
    assert_eq!(
        embedded(&server).concat().len(),
        2,
        "re-read, not re-embedded"
    );
    // One file changed: its passage alone.
    std::fs::write(dir.join("quokka.md"), format!("{QUOKKA}\nThey smile.\n")).unwrap();
    json(&sb, &["add", dir.to_str().unwrap()]);
    let sent = embedded(&server).concat();
    assert_eq!(sent.len(), 3, "{sent:?}");
    assert!(sent[2].contains("They smile"));

    let before = embedded(&server).len();
    let v = ask_json(&sb, &[], &["/sources lib how do wombats dig burrows"]);
    assert_eq!(v["sources"][0]["kind"], "library", "{v:#}");
    assert_eq!(v["analysis"]["ranker"], "hybrid", "{v:#}");
    let turn: Vec<Vec<String>> = embedded(&server).split_off(before);
    assert_eq!(turn.len(), 1, "one embedding request in the turn: {turn:?}");
    assert_eq!(
        turn[0].len(),
        1,
        "the question alone; the passages' vectors were stored: {turn:?}"
    );
}

#[test]
fn another_model_starts_the_vectors_over_and_a_failure_resumes_later() {
    let sb = Sandbox::new();
    // The model is down at first: indexing still ends, with a note, and
    // the passages wait.
    let down = Server::routed(vec![(
        "/api/embed",
        vec![Reply::new(
            503,
            "application/json",
            br#"{"error":"loading"}"#.to_vec(),
        )],
    )]);
    configure(&sb, &down.url(), "model-a");
    let dir = notes(&sb, &[("wombat.md", WOMBAT), ("quokka.md", QUOKKA)]);
    let (code, out, err) = run(&sb, &["add", dir.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("2 files indexed"), "{out}");
    assert!(out.contains("embedding stopped"), "{out}");
    assert!(out.contains("2 waiting"), "{out}");
    assert_eq!(json(&sb, &["status"])["embedded"], 0);

    // Up again: the next scan embeds what waited.
    let up = Server::routed(vec![("/api/embed", vec![embed_reply()])]);
    configure(&sb, &up.url(), "model-a");
    let r = json(&sb, &["reindex"]);
    assert_eq!(r["embedding"]["embedded"], 2, "{r:#}");
    assert_eq!(embedded(&up).concat().len(), 2);

    // A different model: the old vectors mean nothing to it.
    configure(&sb, &up.url(), "model-b");
    let r = json(&sb, &["reindex"]);
    assert_eq!(r["embedding"]["embedded"], 2, "{r:#}");
    let requests = up.requests();
    let last = requests
        .iter()
        .rev()
        .find(|r| r.path == "/api/embed")
        .unwrap();
    assert_eq!(last.json()["model"], "model-b");
    let status = json(&sb, &["status"]);
    assert_eq!(
        (status["embedded"].clone(), status["embed_model"].clone()),
        (json!(2), json!("model-b"))
    );
}

#[test]
fn library_text_is_not_embedded_by_a_model_off_this_machine() {
    let sb = Sandbox::new();
    // A documentation address (RFC 5737): never reached, and never tried.
    configure(&sb, "http://192.0.2.7:11434", "remote-embed");
    let dir = notes(&sb, &[("wombat.md", WOMBAT)]);
    let started = std::time::Instant::now();
    let (code, out, err) = run(&sb, &["add", dir.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("not embedded"), "{out}");
    assert!(out.contains("remote_models = true"), "{out}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "no connection was attempted"
    );
    let status = json(&sb, &["status"]);
    assert_eq!(status["embedded"], 0);
    assert_eq!(status["passages"], 1, "indexed all the same");
}

#[test]
fn the_app_worker_embeds_what_it_indexes() {
    use sleuth::library::watch::{LibraryEvent, LibraryWorker};
    let sb = Sandbox::new();
    let server = Server::routed(vec![("/api/embed", vec![embed_reply()])]);
    let dir = notes(&sb, &[("wombat.md", WOMBAT), ("quokka.md", QUOKKA)]);
    let mut cfg = sleuth::config::Config::default();
    cfg.provider.base_url = server.url();
    cfg.provider.embed_model = "stand-in-embed".into();
    cfg.library.paths = vec![dir];
    cfg.library.index = sb.path().join("l.db");
    let (tx, rx) = std::sync::mpsc::channel();
    let worker = LibraryWorker::spawn(
        cfg.library.clone(),
        sleuth::library::vectors::Plan::of(&cfg),
        std::path::PathBuf::from(super::SLEUTH),
        sleuth::emit::Emitter::channel(tx),
    )
    .unwrap()
    .unwrap();
    // Done comes after the scan's passages were embedded.
    loop {
        match rx.recv_timeout(std::time::Duration::from_secs(20)).unwrap() {
            LibraryEvent::Done { indexed, .. } => {
                assert_eq!(indexed, 2);
                break;
            }
            LibraryEvent::Failed(e) => panic!("{e}"),
            _ => {}
        }
    }
    worker.shutdown();
    let conn = sleuth::library::index::open_reader(&cfg.library.index)
        .unwrap()
        .unwrap();
    let s = sleuth::library::index::summary(&conn).unwrap();
    assert_eq!((s.embedded, s.passages), (2, 2));
    assert_eq!(embedded(&server).concat().len(), 2);
}
