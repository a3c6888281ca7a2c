//! Retrieval quality: does a research turn cite the passage holding the
//! answer? A loopback Wikipedia (real API formats: search, TextExtracts,
//! REST summary) serves the SQuAD 2.0 articles of
//! `../shared/fixtures/squad/`; every answerable question runs through the
//! real research turn with no model. Figure: the share of questions whose
//! gold answer (SQuAD normalisation) is in the first 4,000 characters of
//! the cited passages, in citation order; and wall time per question.
//!
//! `cargo bench --bench retrieval` (budget ≥ 95 %). Other data in the same
//! format: `SLEUTH_SQUAD=path/to/squad.json cargo bench --bench retrieval`.
//! Search runs twice: ranking articles by any of the query's words, and
//! wanting every word (as Wikipedia's own search does).
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

use sleuth::config::Config;
use sleuth::domain::TurnId;
use sleuth::emit::Emitter;

const WINDOW: usize = 4000;

struct Run {
    hits: usize,
    total: usize,
    times_ms: Vec<f64>,
    /// Turn wall time less its slowest source (no model: that is reading,
    /// ranking and the answer).
    overhead_ms: Vec<f64>,
    cited_chars: Vec<usize>,
    misses: Vec<String>,
}

fn run(
    strict: bool,
    delay: Duration,
    articles: &[wiki::Article],
    qs: &[(String, Vec<String>)],
) -> Run {
    let server = wiki::Wiki::with_delay(articles.to_vec(), strict, 3600, delay);
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
    let mut out = Run {
        hits: 0,
        total: 0,
        times_ms: Vec::new(),
        overhead_ms: Vec::new(),
        cited_chars: Vec::new(),
        misses: Vec::new(),
    };
    for (i, (q, answers)) in qs.iter().enumerate() {
        let id = TurnId(i as u64 + 1);
        let started = Instant::now();
        let outcome = turn::run(
            &agent.handle(),
            &rx,
            id,
            turn::research(id, q),
            Duration::from_secs(30),
        );
        let slowest = outcome
            .source_status
            .iter()
            .map(|s| s.ms)
            .max()
            .unwrap_or(0);
        let sources = outcome.sources;
        let wall = started.elapsed().as_secs_f64() * 1e3;
        out.times_ms.push(wall);
        out.overhead_ms.push(wall - slowest as f64);
        let excerpts: Vec<String> = sources.iter().map(|s| s.excerpt.clone()).collect();
        out.cited_chars
            .push(excerpts.iter().map(|e| e.chars().count()).sum());
        out.total += 1;
        if wiki::answered(&excerpts, answers, WINDOW) {
            out.hits += 1;
        } else {
            let cited: Vec<String> = sources
                .iter()
                .map(|s| format!("{} › {}", s.title, s.section.as_deref().unwrap_or("-")))
                .collect();
            out.misses
                .push(format!("{q}  →  {:?}  cited {cited:?}", answers.first()));
        }
    }
    agent.shutdown();
    out
}

/// Ranking alone: BM25 and selection over 500 passages of real articles.
fn ranking(articles: &[wiki::Article], question: &str) {
    use sleuth::agent::research::document::Document;
    use sleuth::agent::research::{passages, rank};
    // The articles again under other titles until there are 500 passages.
    let mut docs = Vec::new();
    let mut n = 0;
    'fill: for copy in 0.. {
        for a in articles {
            let d = Document::wiki_extract(&format!("{} {copy}", a.title), None, &a.text);
            n += passages::of_documents(std::slice::from_ref(&d), usize::MAX).len();
            docs.push(d);
            if n >= 500 {
                break 'fill;
            }
        }
    }
    let ps = passages::of_documents(&docs, 500);
    let budget = rank::Budget {
        chars: 6000,
        max_passages: 12,
    };
    let mut times = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        let texts: Vec<String> = ps
            .iter()
            .map(|p| format!("{}\n{}", p.title, p.text))
            .collect();
        let scores = rank::bm25(question, &texts);
        let picks = rank::select(&scores, &ps, budget);
        std::hint::black_box(picks);
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    println!(
        "ranking {} passages ({} KB): median {:.2} ms, p95 {:.2} ms (budget ≤ 20 ms)",
        ps.len(),
        ps.iter().map(|p| p.text.len()).sum::<usize>() / 1024,
        pct(&mut times, 0.5),
        pct(&mut times, 0.95)
    );
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let path = std::env::var("SLEUTH_SQUAD").unwrap_or_else(|_| {
        format!(
            "{}/../shared/fixtures/squad/squad-v2-dev-2articles.json",
            env!("CARGO_MANIFEST_DIR")
        )
    });
    let (mut articles, qs) = wiki::squad(&path);
    // SLEUTH_BENCH_DISTRACTORS=1: the HotpotQA articles (149 leads on other
    // subjects) are served too, so search has more to choose from.
    if std::env::var("SLEUTH_BENCH_DISTRACTORS").is_ok() {
        let (more, _) = wiki::hotpot(&format!(
            "{}/../shared/fixtures/hotpot/hotpot-dev-distractor-15.json",
            env!("CARGO_MANIFEST_DIR")
        ));
        articles.extend(more);
    }
    let limit: usize = std::env::var("SLEUTH_BENCH_LIMIT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(usize::MAX);
    let qs: Vec<_> = qs.into_iter().take(limit).collect();
    println!(
        "{} articles, {} answerable questions ({path})",
        articles.len(),
        qs.len()
    );
    ranking(&articles, &qs[0].0);
    // Every article body takes 300 ms: the turn should end right after.
    let some: Vec<_> = qs.iter().take(20).cloned().collect();
    let mut slow = run(false, Duration::from_millis(300), &articles, &some);
    println!(
        "article bodies delayed 300 ms ({} questions): turn wall median {:.1} ms; less the slowest source median {:.1} ms, p95 {:.1} ms (budget ≤ 100 ms)",
        some.len(),
        pct(&mut slow.times_ms, 0.5),
        pct(&mut slow.overhead_ms, 0.5),
        pct(&mut slow.overhead_ms, 0.95)
    );
    for strict in [false, true] {
        let mut r = run(strict, Duration::ZERO, &articles, &qs);
        let mode = if strict {
            "search wants every word"
        } else {
            "search ranks by any word"
        };
        let mut chars: Vec<f64> = r.cited_chars.iter().map(|&c| c as f64).collect();
        println!(
            "{mode}: answer in the first {WINDOW} cited chars for {}/{} = {:.1} % (budget ≥ 95 %); \
             per question median {:.1} ms, p95 {:.1} ms; cited chars median {:.0}",
            r.hits,
            r.total,
            100.0 * r.hits as f64 / r.total.max(1) as f64,
            pct(&mut r.times_ms, 0.5),
            pct(&mut r.times_ms, 0.95),
            pct(&mut chars, 0.5),
        );
        println!(
            "  turn wall time less the slowest source: median {:.1} ms, p95 {:.1} ms (budget ≤ 100 ms)",
            pct(&mut r.overhead_ms, 0.5),
            pct(&mut r.overhead_ms, 0.95)
        );
        if std::env::var("SLEUTH_BENCH_MISSES").is_ok() {
            for m in &r.misses {
                println!("  miss: {m}");
            }
        }
    }
}
