//! Multi-hop research: are both supporting articles cited? A loopback
//! Wikipedia (real API formats) serves every context article of
//! `../shared/fixtures/hotpot/hotpot-dev-distractor-15.json` (HotpotQA dev,
//! distractor setting: per question 2 supporting and 8 distracting
//! articles); each question runs one-shot (a research turn) and deep, with
//! no model. Figure: support@both, the share of questions whose two
//! supporting articles are both among the cited sources; median wall time
//! and documents read per question.
//!
//! `cargo bench --bench multihop` (budget: deep ≥ 80 %, wall ≤ 3 × one-shot).
//! Other data in the same format: `SLEUTH_HOTPOT=file.json`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)] // test code: a panic is the failure report

#[path = "common/turn.rs"]
mod turn;
#[path = "../tests/common/wiki.rs"]
mod wiki;

use std::sync::mpsc;
use std::time::{Duration, Instant};

use sleuth::agent::AgentCommand;
use sleuth::agent::deep::DeepAsk;
use sleuth::config::Config;
use sleuth::domain::TurnId;
use sleuth::emit::Emitter;

#[derive(Default)]
struct Tally {
    both: usize,
    n: usize,
    by_type: std::collections::BTreeMap<String, (usize, usize)>,
    ms: Vec<f64>,
    docs: Vec<f64>,
    misses: Vec<String>,
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

fn main() {
    let path = std::env::var("SLEUTH_HOTPOT").unwrap_or_else(|_| {
        format!(
            "{}/../shared/fixtures/hotpot/hotpot-dev-distractor-15.json",
            env!("CARGO_MANIFEST_DIR")
        )
    });
    let (articles, qs) = wiki::hotpot(&path);
    println!(
        "{} articles, {} questions ({path})",
        articles.len(),
        qs.len()
    );
    // SLEUTH_BENCH_DELAY_MS: each article body takes this long, as over a
    // network, so wall times compare rounds rather than CPU.
    let delay = std::env::var("SLEUTH_BENCH_DELAY_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map(Duration::from_millis)
        .unwrap_or(Duration::ZERO);
    println!("article bodies delayed {} ms", delay.as_millis());
    let server = wiki::Wiki::with_delay(articles, true, 3600, delay);
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("addr");
    let mut cfg = Config::default();
    cfg.provider.base_url = format!("http://{closed}");
    cfg.sources.wikipedia.base_url = server.url();
    cfg.sources.hackernews.enabled = false;
    cfg.sources.arxiv.enabled = false;
    let (tx, rx) = mpsc::channel();
    let agent = sleuth::agent::spawn_agent(cfg, Emitter::channel(tx)).expect("agent");
    let mut next = 0u64;
    for deep in [false, true] {
        let mut t = Tally::default();
        for (q, kind, support) in &qs {
            next += 1;
            let turn = TurnId(next);
            let started = Instant::now();
            let cmd = if deep {
                AgentCommand::Deep(DeepAsk {
                    settings: Default::default(),
                    turn,
                    model: "none".into(),
                    question: q.clone(),
                    history: vec![],
                    summary: None,
                    only: None,
                    resume: None,
                })
            } else {
                turn::research(turn, q)
            };
            let outcome = turn::run(&agent.handle(), &rx, turn, cmd, Duration::from_secs(200));
            t.ms.push(started.elapsed().as_secs_f64() * 1e3);
            let read = match &outcome.deep {
                Some(d) => d.documents_read,
                None => outcome.source_status.iter().map(|s| s.count).sum(),
            };
            t.docs.push(read as f64);
            let titles: Vec<&str> = outcome.sources.iter().map(|s| s.title.as_str()).collect();
            let ok = support.iter().all(|s| titles.contains(&s.as_str()));
            t.n += 1;
            let e = t.by_type.entry(kind.clone()).or_default();
            e.1 += 1;
            if ok {
                t.both += 1;
                e.0 += 1;
            } else {
                let rounds: Vec<String> = outcome
                    .deep
                    .iter()
                    .flat_map(|d| &d.rounds)
                    .map(|r| {
                        format!(
                            "{:?} → read {:?} → notes {:?} → leads {:?}",
                            r.queries, r.documents, r.notes, r.leads
                        )
                    })
                    .collect();
                t.misses.push(format!(
                    "{q} — wants {support:?}, cited {titles:?}\n      {}",
                    rounds.join("\n      ")
                ));
            }
        }
        let kinds: Vec<String> = t
            .by_type
            .iter()
            .map(|(k, (a, b))| format!("{k} {a}/{b}"))
            .collect();
        println!(
            "{}: support@both {}/{} = {:.0} % ({}); per question median {:.0} ms, {:.0} documents read",
            if deep { "deep" } else { "one-shot" },
            t.both,
            t.n,
            100.0 * t.both as f64 / t.n.max(1) as f64,
            kinds.join(", "),
            median(&mut t.ms),
            median(&mut t.docs),
        );
        if std::env::var("SLEUTH_BENCH_MISSES").is_ok() {
            for m in &t.misses {
                println!("  miss: {m}");
            }
        }
    }
    agent.shutdown();
}
