//! MCP: (1) `search_history` round trips through the official Python SDK
//! client against `sleuth mcp` at a million messages, beside the same
//! searches run in process (the budget: p95 within 2× of in-app search);
//! (2) the wall time an MCP source adds over its tool's own answer time in
//! a research turn (budget ≤ 20 ms).
//!
//! `SLEUTH_BENCH_DB=/tmp/m1h.db cargo bench --bench mcp` (part 1 needs the
//! database the search bench uses; part 2 always runs).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)] // bench code: a panic is the failure report

#[path = "../tests/common/python.rs"]
mod python;

use std::time::{Duration, Instant};

use sleuth::agent::research::pipeline::ResearchAsk;
use sleuth::agent::research::{SourceKind, SourceStatus};
use sleuth::agent::{AgentCommand, AgentEvent};
use sleuth::dev::synth::{Rng, Vocabulary};
use sleuth::domain::TurnId;
use sleuth::store::search::{CANDIDATES, Query, Statistics, search_pass};

fn pct(v: &mut [f64], q: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() as f64 - 1.0) * q).round() as usize]
}

fn main() {
    match std::env::var_os("SLEUTH_BENCH_DB") {
        Some(db) => search_round_trips(std::path::Path::new(&db)),
        None => println!(
            "search_history: set SLEUTH_BENCH_DB to a generated database (see BENCHMARKS.md)"
        ),
    }
    source_overhead();
}

/// Every keystroke prefix of the search bench's queries that has a word.
fn queries() -> Vec<String> {
    let mut rng = Rng::new(42);
    let vocab = Vocabulary::new(50_000, &mut rng);
    let full = [
        format!("the {} {}", vocab.word_at(24), vocab.word_at(26)),
        format!("{} {}", vocab.word_at(1), vocab.word_at(30)),
        format!("{} {}", vocab.word_at(800), vocab.word_at(1500)),
        format!("{} the", vocab.word_at(30_000)),
        format!(
            "\"{} {}\" -{}",
            vocab.word_at(0),
            vocab.word_at(24),
            vocab.word_at(3)
        ),
    ];
    let mut out = Vec::new();
    for q in &full {
        for i in 1..=q.len() {
            let s = &q[..i];
            if q.is_char_boundary(i) && Query::parse(s, false).is_ok_and(|p| p.fts().is_some()) {
                out.push(s.to_string());
            }
        }
    }
    out
}

fn search_round_trips(db: &std::path::Path) {
    let qs = queries();
    // In process, as the search thread runs it.
    let conn = sleuth::store::open_reader(db).expect("open");
    // Twice: the first pass warms the page cache for both sides; the
    // second is timed.
    let mut local = Vec::new();
    for pass in 0..2 {
        for q in &qs {
            let parsed = Query::parse(q, false).unwrap();
            let t = Instant::now();
            search_pass(
                &conn,
                &parsed,
                50,
                Statistics::Stored,
                &|| false,
                CANDIDATES,
            )
            .expect("search");
            if pass == 1 {
                local.push(t.elapsed().as_secs_f64() * 1e3);
            }
        }
    }
    // Through the SDK client, the server started once and warmed up.
    let out = std::process::Command::new(python::python())
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/mcp/bench_search.py"
        ))
        .arg(serde_json::to_string(&qs).unwrap())
        .arg("5")
        .arg("--")
        .arg(env!("CARGO_BIN_EXE_sleuth"))
        .arg("--db")
        .arg(db)
        .args(["mcp", "--read-only"])
        .output()
        .expect("python");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut remote: Vec<f64> = serde_json::from_slice(&out.stdout).expect("timings");
    assert!(remote.iter().all(|&ms| ms >= 0.0), "a search failed");
    let (lp50, lp95) = (pct(&mut local, 0.5), pct(&mut local, 0.95));
    let (rp50, rp95) = (pct(&mut remote, 0.5), pct(&mut remote, 0.95));
    println!(
        "search_history over {} queries: in process p50 {lp50:.1} ms, p95 {lp95:.1} ms; \
         through the MCP SDK client p50 {rp50:.1} ms, p95 {rp95:.1} ms ({:.2}x at p95; budget <= 2x)",
        qs.len(),
        rp95 / lp95
    );
}

/// Research turns whose only source is the notes server answering after
/// `DELAY`: what the source's wall time adds over it.
fn source_overhead() {
    const DELAY: u64 = 100;
    const TURNS: u64 = 20;
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = sleuth::config::Config::default();
    cfg.provider.base_url = "http://127.0.0.1:9".into();
    cfg.sources.wikipedia.enabled = false;
    cfg.sources.hackernews.enabled = false;
    cfg.sources.arxiv.enabled = false;
    cfg.mcp.servers.insert(
        "notes".into(),
        sleuth::config::McpServerConfig {
            command: python::python().display().to_string(),
            args: vec![
                concat!(env!("CARGO_MANIFEST_DIR"), "/tests/mcp/notes_server.py").into(),
                format!("delay:{DELAY}"),
                dir.path().join("starts").display().to_string(),
            ],
            env: vec![],
            tool: "search".into(),
            query_arg: "query".into(),
            enabled: true,
        },
    );
    let (tx, rx) = std::sync::mpsc::channel();
    let agent = sleuth::agent::spawn_agent(cfg, sleuth::emit::Emitter::channel(tx)).unwrap();
    let mut added = Vec::new();
    let mut calls = 0;
    for i in 0..=TURNS {
        agent.handle().send(AgentCommand::Research(ResearchAsk {
            settings: Default::default(),
            turn: TurnId(i),
            model: "none".into(),
            question: "Where do quokkas live on Rottnest Island?".into(),
            history: vec![],
            only: None,
            summary: None,
            memory: None,
        }));
        let (mut status, mut queries): (Option<SourceStatus>, usize) = (None, 0);
        let end = Instant::now() + Duration::from_secs(30);
        while Instant::now() < end {
            match rx.recv_timeout(Duration::from_secs(1)) {
                Ok(AgentEvent::Keywords {
                    turn, queries: q, ..
                }) if turn == TurnId(i) => {
                    queries = q.len();
                }
                Ok(AgentEvent::SourceDone { turn, status: s })
                    if turn == TurnId(i) && matches!(s.source, SourceKind::Mcp(_)) =>
                {
                    status = Some(s);
                }
                Ok(AgentEvent::TurnDone { turn, .. } | AgentEvent::TurnFailed { turn, .. })
                    if turn == TurnId(i) =>
                {
                    break;
                }
                _ => {}
            }
        }
        let s = status.expect("the MCP source reported");
        assert!(s.error.is_none(), "{s:?}");
        // The first turn starts the server (a one-time cost, not counted).
        if i > 0 {
            added.push(s.ms as f64 - DELAY as f64);
            calls += queries;
        }
    }
    agent.shutdown();
    let (p50, p95, max) = (
        pct(&mut added, 0.5),
        pct(&mut added, 0.95),
        pct(&mut added, 1.0),
    );
    println!(
        "MCP source over its tool's {DELAY} ms answer, {TURNS} turns ({calls} calls, concurrent per turn): \
         added p50 {p50:.1} ms, p95 {p95:.1} ms, max {max:.1} ms (budget <= 20 ms)"
    );
}
