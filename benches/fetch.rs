//! Concurrent source fetch: wall time of the fetch stage against the
//! slowest source, with loopback sources delaying 100–800 ms:
//! `cargo bench --bench fetch`. Budget: wall ≤ slowest + 50 ms.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)] // test code: a panic is the failure report

#[path = "../tests/common/server.rs"]
mod server;

use std::sync::mpsc;
use std::time::{Duration, Instant};

use server::{Chunk, End, Reply, Server};
use sleuth::agent::research::pipeline::ResearchAsk;
use sleuth::agent::{AgentCommand, AgentEvent};
use sleuth::config::Config;
use sleuth::domain::TurnId;
use sleuth::emit::Emitter;

fn delayed(ms: u64, ct: &str, body: Vec<u8>) -> Reply {
    Reply {
        status: 200,
        headers: vec![("Content-Type".into(), ct.into())],
        body: vec![Chunk::Delay(ms), Chunk::Bytes(body)],
        end: End::Close,
    }
}

fn main() {
    let rounds = 20u64;
    let f = server::fixture;
    let server = Server::bounded(
        vec![
            (
                "/w/api.php",
                vec![delayed(300, "application/json", f("wikipedia_search.json"))],
            ),
            (
                "/api/rest_v1/page/summary/",
                vec![delayed(
                    100,
                    "application/json",
                    f("wikipedia_summary.json"),
                )],
            ),
            (
                "/api/v1/search",
                vec![delayed(
                    800,
                    "application/json",
                    f("hn_algolia_search.json"),
                )],
            ),
            (
                "/api/query",
                vec![delayed(500, "application/atom+xml", f("arxiv_query.atom"))],
            ),
        ],
        (rounds * 12) as usize,
    );
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr");
    let mut cfg = Config::default();
    cfg.provider.base_url = format!("http://{closed}");
    cfg.provider.retries = 0;
    // The fixtures link to real sites: this bench stays on loopback.
    cfg.research.follow_links = false;
    for s in [
        &mut cfg.sources.wikipedia,
        &mut cfg.sources.hackernews,
        &mut cfg.sources.arxiv,
    ] {
        s.base_url = server.url();
    }
    let (tx, rx) = mpsc::channel();
    let agent = sleuth::agent::spawn_agent(cfg, Emitter::channel(tx)).expect("agent");
    let mut overheads = Vec::new();
    for round in 0..rounds {
        let turn = TurnId(round + 1);
        agent.handle().send(AgentCommand::Research(ResearchAsk {
            settings: Default::default(),
            turn,
            model: "none".into(),
            question: "Sachin Tendulkar cricket".into(),
            history: vec![],
            only: None,
            summary: None,
            memory: None,
        }));
        let mut first_start: Option<Instant> = None;
        let mut last_done: Option<Instant> = None;
        let mut slowest = 0u64;
        loop {
            match rx.recv_timeout(Duration::from_secs(20)).expect("event") {
                AgentEvent::SourceStarted { turn: t, .. } if t == turn => {
                    first_start.get_or_insert_with(Instant::now);
                }
                AgentEvent::SourceDone { turn: t, status } if t == turn => {
                    last_done = Some(Instant::now());
                    slowest = slowest.max(status.ms);
                    assert_eq!(
                        status.outcome,
                        sleuth::agent::research::SourceOutcome::Ok,
                        "{status:?}"
                    );
                }
                AgentEvent::TurnDone { turn: t, .. } | AgentEvent::TurnFailed { turn: t, .. }
                    if t == turn =>
                {
                    break;
                }
                _ => {}
            }
        }
        let (Some(a), Some(b)) = (first_start, last_done) else {
            panic!("no source events")
        };
        let wall = b.duration_since(a).as_secs_f64() * 1e3;
        overheads.push((wall, slowest as f64, wall - slowest as f64));
    }
    overheads.sort_by(|x, y| x.2.total_cmp(&y.2));
    let p50 = overheads[overheads.len() / 2];
    let max = overheads[overheads.len() - 1];
    println!(
        "{rounds} turns, sources delaying 100–800 ms (Wikipedia search 300 + summaries 100, arXiv 500, HN 800)"
    );
    println!(
        "fetch wall vs slowest source: median {:.1} ms vs {:.1} ms (+{:.1} ms), worst +{:.1} ms (budget +50 ms)",
        p50.0, p50.1, p50.2, max.2
    );
    agent.shutdown();
}
