//! Search as you type over a million messages: `cargo bench --bench search`
//! (generates the history first, ~1 min), or point it at an existing file
//! with `SLEUTH_BENCH_DB=/path/to.db`. Budget: p95 ≤ 50 ms per keystroke,
//! ranked, snippets included, common terms too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)] // test code: a panic is the failure report

use std::time::Instant;

use sleuth::dev::synth::{Rng, Vocabulary};
use sleuth::store::search::{
    DEEP_CANDIDATES, Query, Statistics, TermDict, search_pass, search_with,
};

fn pct(v: &mut [f64], q: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() as f64 - 1.0) * q).round() as usize]
}

fn main() {
    let n: u64 = std::env::args()
        .filter_map(|a| a.parse().ok())
        .next()
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let db = match std::env::var("SLEUTH_BENCH_DB") {
        Ok(p) if std::path::Path::new(&p).exists() => std::path::PathBuf::from(p),
        _ => {
            let db = dir.path().join("search.db");
            let t = Instant::now();
            let mut out = Vec::new();
            sleuth::commands::debug::generate(&db, n / 100, n, 42, &mut out).expect("generate");
            eprintln!(
                "generated {n} messages in {:.0} s",
                t.elapsed().as_secs_f64()
            );
            db
        }
    };
    // An older file is migrated first, as the app and CLI do before reading.
    drop(sleuth::store::open_writer(&db).expect("open (migrates an older file)"));
    let conn = sleuth::store::open_reader(&db).expect("open");
    let messages: i64 = conn
        .query_row("SELECT count(*) FROM messages", [], |r| r.get(0))
        .expect("count");
    // The generator's vocabulary (seed 42): Zipf ranks give common, middling and rare words.
    let mut rng = Rng::new(42);
    let vocab = Vocabulary::new(50_000, &mut rng);
    let queries = [
        (
            "common",
            format!("the {} {}", vocab.word_at(24), vocab.word_at(26)),
        ),
        (
            "common",
            format!("{} {}", vocab.word_at(1), vocab.word_at(30)),
        ),
        (
            "mid",
            format!("{} {}", vocab.word_at(800), vocab.word_at(1500)),
        ),
        ("rare", format!("{} the", vocab.word_at(30_000))),
        (
            "phrase",
            format!(
                "\"{} {}\" -{}",
                vocab.word_at(0),
                vocab.word_at(24),
                vocab.word_at(3)
            ),
        ),
    ];
    println!("{messages} messages in {}", db.display());
    rebuild_statistics(&db, &conn);
    for (label, stats) in [
        ("with the stored term statistics", Statistics::Stored),
        ("counting in FTS5 (no statistics)", Statistics::Counted),
    ] {
        println!("-- {label}");
        run(&conn, &queries, stats);
    }
    // The refining pass the search thread runs after a first page that
    // reached its cap (and `sleuth search`), on each full query.
    let mut lat = Vec::new();
    for (_, q) in &queries {
        let parsed = Query::parse(q, false).unwrap_or_default();
        let t = Instant::now();
        search_pass(
            &conn,
            &parsed,
            50,
            Statistics::Stored,
            &|| false,
            DEEP_CANDIDATES,
        )
        .expect("deep pass");
        lat.push(t.elapsed().as_secs_f64() * 1e3);
    }
    println!(
        "refining pass ({DEEP_CANDIDATES} candidates) per full query: p50 {:.1} ms, max {:.1} ms",
        pct(&mut lat, 0.5),
        pct(&mut lat, 1.0)
    );
    // Memory recall, as a research turn runs it (up to three calls).
    let mut lat = Vec::new();
    for words in [
        vec![vocab.word_at(1), vocab.word_at(30)],
        vec![vocab.word_at(26), vocab.word_at(800), vocab.word_at(1500)],
        vec![vocab.word_at(0)],
    ] {
        let words: Vec<String> = words.into_iter().map(String::from).collect();
        let t = Instant::now();
        sleuth::store::queries::recall(&conn, &words, sleuth::domain::SessionId(0), 3)
            .expect("recall");
        lat.push(t.elapsed().as_secs_f64() * 1e3);
    }
    println!(
        "memory recall (3 word sets): max {:.1} ms",
        pct(&mut lat, 1.0)
    );
    superseded(&db);
}

/// The search thread under typing: a query (a two-letter prefix) is
/// superseded 2 ms later; its
/// results must never arrive and the newer answer should not wait for it.
fn superseded(db: &std::path::Path) {
    use sleuth::domain::RequestId;
    use sleuth::store::StoreEvent;
    let (tx, rx) = std::sync::mpsc::channel();
    let thread = sleuth::store::search::worker::spawn_search(
        db.to_path_buf(),
        sleuth::emit::Emitter::channel(tx),
    )
    .expect("search thread");
    let h = thread.handle();
    let t = Instant::now();
    h.search(RequestId(1), "the co".into(), 50);
    std::thread::sleep(std::time::Duration::from_millis(2));
    h.search(RequestId(2), "dianlyra".into(), 50);
    let mut got = Vec::new();
    while let Ok(ev) = rx.recv_timeout(std::time::Duration::from_secs(10)) {
        if let StoreEvent::SearchResults { req, .. } = ev {
            got.push((req.0, t.elapsed().as_secs_f64() * 1e3));
            if req.0 == 2 {
                break;
            }
        }
    }
    println!(
        "superseded keystroke: answers {got:?} (request, ms since the first); request 1 must be absent"
    );
}

/// A file from before stored statistics gets them from the writer, which
/// builds them while idle; timed, as a user upgrading sees it.
fn rebuild_statistics(db: &std::path::Path, conn: &rusqlite::Connection) {
    let complete = || {
        TermDict::read(conn)
            .expect("statistics")
            .is_some_and(|d| d.complete())
    };
    if complete() {
        return;
    }
    let t = Instant::now();
    let (tx, _rx) = std::sync::mpsc::channel();
    let writer = sleuth::store::spawn_writer(
        sleuth::store::open_writer(db).expect("open"),
        sleuth::store::writer::WriterOptions::default(),
        sleuth::emit::Emitter::channel(tx),
    )
    .expect("writer");
    while !complete() {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    writer.shutdown();
    println!(
        "term statistics built by the idle writer in {:.1} s (once, after the upgrade)",
        t.elapsed().as_secs_f64()
    );
}

fn run(conn: &rusqlite::Connection, queries: &[(&str, String)], stats: Statistics) {
    let mut all = Vec::new();
    for (class, q) in queries {
        let mut lat = Vec::new();
        let mut last_hits = 0;
        // Letter by letter, as typed; each keystroke is a full ranked search with snippets.
        for i in 1..=q.len() {
            if !q.is_char_boundary(i) {
                continue;
            }
            let parsed = Query::parse(&q[..i], true).unwrap_or_default();
            let t = Instant::now();
            let hits = search_with(conn, &parsed, 50, stats, &|| false).expect("search");
            lat.push(t.elapsed().as_secs_f64() * 1e3);
            last_hits = hits.len();
        }
        let (p50, p95, max) = (pct(&mut lat, 0.5), pct(&mut lat, 0.95), pct(&mut lat, 1.0));
        println!(
            "{class:<7} {q:<40} {} keystrokes: p50 {p50:.1} ms, p95 {p95:.1} ms, max {max:.1} ms ({last_hits} hits)",
            lat.len()
        );
        all.extend(lat);
    }
    let (p50, p95) = (pct(&mut all, 0.5), pct(&mut all, 0.95));
    println!("all keystrokes: p50 {p50:.1} ms, p95 {p95:.1} ms (budget p95 <= 50 ms)");
}
