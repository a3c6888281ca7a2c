//! The real binary on a pty against a million-message history:
//! `cargo bench --bench startup` (generates the history first, ~1 min), or
//! `SLEUTH_BENCH_DB=/path/to.db cargo bench --bench startup`.
//!
//! Measures (ARCHITECTURE.md §7):
//! - start to first frame (process spawn → input box on screen), ≤ 100 ms;
//! - resident memory with the database open, a 10k-message session loaded
//!   and a search run (so the term dictionary is in memory), ≤ 80 MB;
//! - a sessions-screen page read (50 rows with counts), ≤ 10 ms;
//! - resident memory after a deep run of up to 40 documents in the same
//!   app (no model; a loopback Wikipedia holding HotpotQA's articles).
//!
//! A session of 10k messages is added to the database once (it is the
//! newest, so Ctrl+L resumes it).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)] // test code: a panic is the failure report

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/common/wiki.rs"]
mod wiki;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::pty::Session as Pty;
use sleuth::domain::{Message, Role, Session, SessionId};
use sleuth::store::{self, StoreCommand};

const BIG_TITLE: &str = "bench: a 10k-message session";
const BIG_LAST: &str = "closing message of the long bench session";

fn pct(v: &mut [f64], q: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() as f64 - 1.0) * q).round() as usize]
}

/// Polls the pty screen every 0.5 ms until `text` shows (30 s at most).
fn wait_text(p: &Pty, text: &str) -> bool {
    let end = Instant::now() + Duration::from_secs(30);
    while Instant::now() < end {
        if p.contents().contains(text) {
            return true;
        }
        std::thread::sleep(Duration::from_micros(500));
    }
    false
}

fn ensure_big_session(db: &Path) {
    let conn = store::open_reader(db).expect("open");
    // It must be the newest (Ctrl+L resumes that one): another bench may
    // have asked something in this file since.
    let newest: Option<(String, i64)> = conn
        .query_row(
            "SELECT title, updated_at FROM sessions ORDER BY updated_at DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .ok();
    if newest.as_ref().is_some_and(|n| n.0 == BIG_TITLE) {
        return;
    }
    // The generator's times run past today on a 10M history.
    let now = sleuth::domain::now_ms().max(newest.map_or(0, |n| n.1 + 1));
    let s = Session {
        id: SessionId::new(),
        created_at: now,
        updated_at: now,
        title: BIG_TITLE.into(),
        summary: None,
        model: Some("llama3.2".into()),
        origin: None,
        settings: Default::default(),
    };
    let mut cmds = vec![StoreCommand::CreateSession(s.clone())];
    for i in 0..10_000 {
        let role = if i % 2 == 0 {
            Role::User
        } else {
            Role::Assistant
        };
        let text = if i == 9_999 {
            BIG_LAST.to_string()
        } else {
            format!(
                "message {i}: the model reads the sources and answers with citations [1]; {}",
                "more words in a typical paragraph of an answer. ".repeat(i % 7)
            )
        };
        let mut m = Message::new(s.id, role, text);
        m.created_at = now + i as i64;
        cmds.push(StoreCommand::AppendMessage(m));
    }
    common::write_all(db, cmds);
}

fn rss_kb(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn first_frame(db: &Path, sb: &common::Sandbox, runs: usize) -> Vec<f64> {
    let db = db.to_string_lossy().into_owned();
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            let mut p = Pty::spawn(&["--db", &db], &sb.env_pairs(), sb.path());
            assert!(wait_text(&p, "Ask a research question"), "no first frame");
            let ms = t.elapsed().as_secs_f64() * 1e3;
            p.send(b"\x03");
            let _ = p.finish();
            ms
        })
        .collect()
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db: PathBuf = match std::env::var("SLEUTH_BENCH_DB") {
        Ok(p) if Path::new(&p).exists() => PathBuf::from(p),
        _ => {
            let db = dir.path().join("startup.db");
            let mut out = Vec::new();
            sleuth::commands::debug::generate(&db, 10_000, 1_000_000, 42, &mut out)
                .expect("generate");
            db
        }
    };
    drop(store::open_writer(&db).expect("open (migrates an older file)"));
    ensure_big_session(&db);
    let conn = store::open_reader(&db).expect("open");
    let messages: i64 = conn
        .query_row("SELECT count(*) FROM messages", [], |r| r.get(0))
        .expect("count");
    println!("{messages} messages in {}", db.display());
    let sb = common::Sandbox::new();

    // Start to first frame, against the big file and an empty one.
    let empty = sb.path().join("empty.db");
    for (label, path) in [("1M messages", db.as_path()), ("empty", empty.as_path())] {
        let _ = first_frame(path, &sb, 1); // warm the page cache
        let mut v = first_frame(path, &sb, 15);
        println!(
            "start to first frame ({label}): p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms (budget 100 ms)",
            pct(&mut v, 0.5),
            pct(&mut v, 0.95),
            pct(&mut v, 1.0)
        );
    }

    // Resident memory: the 10k-message session resumed and drawn, then a
    // search (term dictionary loaded, results drawn), then a deep run.
    let dbs = db.to_string_lossy().into_owned();
    let (articles, _) = wiki::hotpot(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/fixtures/hotpot/hotpot-dev-distractor-15.json"
    ));
    let w = wiki::Wiki::start(articles, true, 600);
    let cfg = sb.path().join("deep.toml");
    std::fs::write(
        &cfg,
        format!(
            "[provider]\nbase_url = \"http://127.0.0.1:9\"\n[research]\nper_source = 10\n\
             [deep]\nrounds = 4\nleads_per_round = 6\nmax_documents = 40\n\
             [sources.wikipedia]\nbase_url = \"{}\"\n[sources.hackernews]\nenabled = false\n\
             [sources.arxiv]\nenabled = false\n",
            w.url()
        ),
    )
    .expect("config");
    let cfgs = cfg.to_string_lossy().into_owned();
    let mut p = Pty::spawn(
        &["--db", &dbs, "--config", &cfgs],
        &sb.env_pairs(),
        sb.path(),
    );
    assert!(wait_text(&p, "Ask a research question"));
    let pid = p.child.process_id().expect("pid");
    let (at_start, _) = rss_kb(pid);
    assert!(wait_text(&p, "Ctrl+L resumes"));
    p.send(b"\x0c"); // Ctrl+L: resume the newest session
    assert!(
        wait_text(&p, BIG_LAST),
        "the big session never showed:\n{}",
        p.contents()
    );
    let (after_load, _) = rss_kb(pid);
    std::thread::sleep(Duration::from_secs(3)); // the dictionary read finishes
    p.send(b"\x06"); // Ctrl+F
    p.send(b"model cita");
    assert!(wait_text(&p, "best first"), "no search results");
    std::thread::sleep(Duration::from_millis(300));
    let (rss, hwm) = rss_kb(pid);
    println!(
        "resident memory: {:.1} MB at first frame, {:.1} MB with the 10k-message session, {:.1} MB after a search (peak {:.1} MB; budget 80 MB)",
        at_start as f64 / 1024.0,
        after_load as f64 / 1024.0,
        rss as f64 / 1024.0,
        hwm as f64 / 1024.0
    );
    p.send(b"\x1b");
    // Apart from the next key, or the terminal reads ESC + "/" as Alt+/.
    std::thread::sleep(Duration::from_millis(200));
    // A deep run in a new session (Ctrl+N), deleted afterwards so the big
    // session stays the newest; its tree closes to one line at the end.
    p.send(b"\x0e");
    std::thread::sleep(Duration::from_millis(200));
    p.send(b"/deep What government position was held by the woman who portrayed Corliss Archer in the film Kiss and Tell?\r");
    // The report ends the turn: its sources are listed and the status bar
    // no longer offers Esc.
    let end = Instant::now() + Duration::from_secs(120);
    loop {
        let screen = p.contents();
        if screen.contains("Sources") && !screen.contains("Esc stops") {
            break;
        }
        assert!(Instant::now() < end, "the deep run never ended:\n{screen}");
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(300));
    // The run's rows (written once the writer's start-up integrity check
    // of the big file is done) say how many documents it read.
    let end = Instant::now() + Duration::from_secs(60);
    let docs = loop {
        let run = store::runs::list(&conn, 1, false)
            .ok()
            .and_then(|r| r.into_iter().next());
        match run {
            Some(r) if r.status == sleuth::domain::RunStatus::Complete => break r.documents,
            _ if Instant::now() > end => panic!("the deep run was never stored"),
            _ => std::thread::sleep(Duration::from_millis(50)),
        }
    };
    let (rss, hwm) = rss_kb(pid);
    println!(
        "resident memory after a deep run that read {docs} documents: {:.1} MB (peak {:.1} MB; budget 80 MB)",
        rss as f64 / 1024.0,
        hwm as f64 / 1024.0
    );
    p.send(b"\x03");
    let _ = p.finish();
    if let Some(run) = store::runs::list(&conn, 1, false)
        .ok()
        .and_then(|r| r.into_iter().next())
    {
        common::write_all(
            &db,
            vec![StoreCommand::Delete {
                session: run.session,
            }],
        );
    }

    // Sessions screen pages: what the reader thread runs per page.
    let mut v = Vec::new();
    for page in 0..40 {
        let t = Instant::now();
        let rows = store::queries::list_sessions(&conn, page * 50, 51, None).expect("page");
        v.push(t.elapsed().as_secs_f64() * 1e3);
        assert!(!rows.is_empty());
    }
    println!(
        "sessions page (50 rows + counts, first 40 pages): p50 {:.2} ms, p95 {:.2} ms, max {:.2} ms (budget 10 ms)",
        pct(&mut v, 0.5),
        pct(&mut v, 0.95),
        pct(&mut v, 1.0)
    );
    let mut v = Vec::new();
    for f in ["a", "se", "bench", "zzzz"] {
        let t = Instant::now();
        store::queries::list_sessions(&conn, 0, 51, Some(f)).expect("page");
        v.push(t.elapsed().as_secs_f64() * 1e3);
    }
    println!(
        "sessions page filtered by title (a, se, bench, zzzz): max {:.2} ms",
        pct(&mut v, 1.0)
    );
}
