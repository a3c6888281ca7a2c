//! Library speed and memory at scale (issue 21's budgets), each on the
//! real binary or the real code path:
//! - indexing Markdown (`sleuth library add`, extractor children and all):
//!   MB/s, budget ≥ 10 MB/s; the same for PDF pages, budget ≥ 50 pages/s;
//! - peak RSS of the indexing process and of any one extractor child,
//!   with a 150 MB text file among the files: budget ≤ 150 MB;
//! - a re-scan of 10,000 unchanged files: budget ≤ 1 s;
//! - library search over 1,000,000 passages (the research source's own
//!   path: several queries, grouped by file): p95 budget ≤ 30 ms;
//! - a research turn (no model, web sources off) with that library
//!   against the same turn without one: budget ≤ 50 ms more.
//!
//! Also: 100,000 files in one folder (`flat`), first index and re-scan.
//!
//! `cargo bench --bench library_scale`; `SLEUTH_BENCH_PASSAGES=N` sizes
//! the big index (default 1,000,000); `SLEUTH_BENCH_ONLY=index,rescan,
//! flat,search,turn` runs a subset; `SLEUTH_BENCH_KEEP=FILE` keeps the big
//! index between runs.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)] // bench code: a panic is the failure report

#[path = "common/turn.rs"]
mod turn;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use sleuth::config::Config;
use sleuth::dev::synth::{Rng, Vocabulary};
use sleuth::domain::TurnId;
use sleuth::emit::Emitter;
use sleuth::library::Extracted;
use sleuth::library::index::{self, Chunk, FileMeta, Index};

const SLEUTH: &str = env!("CARGO_BIN_EXE_sleuth");

fn only(part: &str) -> bool {
    std::env::var("SLEUTH_BENCH_ONLY").map_or(true, |v| v.split(',').any(|p| p == part))
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

/// A VmHWM (peak RSS) in kB from /proc, or 0 once the process is gone.
fn hwm_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// Children of `pid` now (the extractor processes).
fn children(pid: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|p| {
            std::fs::read_to_string(format!("/proc/{p}/stat"))
                .ok()
                .and_then(|s| {
                    let after = s.rsplit_once(')')?.1.to_string();
                    after.split_whitespace().nth(1)?.parse::<u32>().ok()
                })
                == Some(pid)
        })
        .collect()
}

struct Run {
    ms: f64,
    parent_kb: u64,
    child_kb: u64,
    json: serde_json::Value,
}

/// `sleuth library add --json DIR`, its peak RSS and its children's,
/// sampled from /proc every 10 ms (VmHWM only grows, so the last sample
/// before each exits is its peak).
fn add(db: &Path, dir: &Path) -> Run {
    let t = Instant::now();
    let mut child = Command::new(SLEUTH)
        // An empty config: the defaults, not the user's (a named file
        // that does not exist is an error since issue 24).
        .arg("--config")
        .arg(empty_config(db))
        .arg("--db")
        .arg(db)
        .args(["library", "add", "--json"])
        .arg(dir)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let (mut parent_kb, mut child_kb) = (0, 0);
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut { stdout }, &mut s).unwrap();
        s
    });
    loop {
        parent_kb = parent_kb.max(hwm_kb(pid));
        for c in children(pid) {
            child_kb = child_kb.max(hwm_kb(c));
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let ms = t.elapsed().as_secs_f64() * 1e3;
    let out = reader.join().unwrap();
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    Run {
        ms,
        parent_kb,
        child_kb,
        json,
    }
}

fn markdown_folder(dir: &Path, files: usize, bytes_each: usize, seed: u64) -> u64 {
    std::fs::create_dir_all(dir).unwrap();
    let mut rng = Rng::new(seed);
    let vocab = Vocabulary::new(50_000, &mut rng);
    let mut total = 0;
    for i in 0..files {
        let mut s = format!("# Note {i}\n\n");
        let mut sec = 0;
        while s.len() < bytes_each {
            if rng.below(6) == 0 {
                sec += 1;
                s.push_str(&format!("## Part {sec}\n\n"));
            }
            let n = 200 + rng.below(900);
            s.push_str(&vocab.text(&mut rng, n));
            s.push_str("\n\n");
        }
        total += s.len() as u64;
        std::fs::write(dir.join(format!("n{i:05}.md")), s).unwrap();
    }
    total
}

fn bench_indexing(tmp: &Path) {
    // Markdown: 400 files of 128 KB.
    let dir = tmp.join("md");
    let bytes = markdown_folder(&dir, 400, 128 * 1024, 7);
    let r = add(&tmp.join("md.db"), &dir);
    let mb = bytes as f64 / 1e6;
    println!(
        "index Markdown: {} files, {mb:.1} MB in {:.0} ms = {:.1} MB/s (budget ≥ 10); {} passages; peak RSS {:.0} MB, extractor {:.0} MB",
        r.json["scan"]["indexed"],
        r.ms,
        mb / (r.ms / 1e3),
        r.json["scan"]["passages"],
        r.parent_kb as f64 / 1024.0,
        r.child_kb as f64 / 1024.0,
    );

    // PDF: the benchmark's pdfLaTeX files, 30 copies each.
    let root = env!("CARGO_MANIFEST_DIR");
    let dir = tmp.join("pdf");
    std::fs::create_dir_all(&dir).unwrap();
    for e in std::fs::read_dir(format!("{root}/benches/library/corpus")).unwrap() {
        let p = e.unwrap().path();
        for i in 0..30 {
            let name = format!("{i:02}-{}", p.file_name().unwrap().to_string_lossy());
            std::fs::copy(&p, dir.join(name)).unwrap();
        }
    }
    let r = add(&tmp.join("pdf.db"), &dir);
    let conn = index::open_reader(&tmp.join("pdf.library.db"))
        .unwrap()
        .unwrap();
    let pages = conn
        .query_row("SELECT coalesce(sum(pages), 0) FROM files", [], |r| {
            r.get::<_, i64>(0)
        })
        .unwrap() as u64;
    println!(
        "index PDF: {} files, {pages} pages in {:.0} ms = {:.0} pages/s (budget ≥ 50); peak RSS {:.0} MB, extractor {:.0} MB",
        r.json["scan"]["indexed"],
        r.ms,
        pages as f64 / (r.ms / 1e3),
        r.parent_kb as f64 / 1024.0,
        r.child_kb as f64 / 1024.0,
    );

    // Memory whatever the sizes: a 150 MB text file among notes.
    let dir = tmp.join("big");
    markdown_folder(&dir, 20, 64 * 1024, 9);
    {
        use std::io::Write;
        let mut f = std::io::BufWriter::new(std::fs::File::create(dir.join("huge.txt")).unwrap());
        let mut rng = Rng::new(11);
        let vocab = Vocabulary::new(20_000, &mut rng);
        let para = vocab.text(&mut rng, 1 << 20);
        for _ in 0..150 {
            f.write_all(para.as_bytes()).unwrap();
            f.write_all(b"\n\n").unwrap();
        }
    }
    let r = add(&tmp.join("big.db"), &dir);
    println!(
        "index with a 150 MB text file: {} files in {:.0} ms; peak RSS {:.0} MB, extractor {:.0} MB (budget ≤ 150)",
        r.json["scan"]["indexed"],
        r.ms,
        r.parent_kb as f64 / 1024.0,
        r.child_kb as f64 / 1024.0,
    );
}

/// 100,000 small notes in one folder: the first index and a re-scan.
fn bench_one_folder(tmp: &Path) {
    let dir = tmp.join("flat");
    std::fs::create_dir_all(&dir).unwrap();
    for i in 0..100_000 {
        std::fs::write(
            dir.join(format!("n{i:06}.md")),
            format!("# Note {i}\n\nnumbat {i}\n"),
        )
        .unwrap();
    }
    let db = tmp.join("flat.db");
    let first = add(&db, &dir);
    assert_eq!(
        first.json["scan"]["indexed"], 100_000,
        "{}",
        first.json["scan"]
    );
    let again = add(&db, &dir);
    assert_eq!(again.json["scan"]["unchanged"], 100_000);
    println!(
        "100,000 files in one folder: first index {:.1} s (peak RSS {:.0} MB, extractor {:.0} MB); re-scan {:.0} ms wall, {} ms in the scan",
        first.ms / 1e3,
        first.parent_kb as f64 / 1024.0,
        first.child_kb as f64 / 1024.0,
        again.ms,
        again.json["scan"]["ms"]
    );
}

fn bench_rescan(tmp: &Path) {
    let dir = tmp.join("many");
    std::fs::create_dir_all(&dir).unwrap();
    for i in 0..10_000 {
        let sub = dir.join(format!("d{:02}", i % 50));
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(
            sub.join(format!("n{i:05}.md")),
            format!("# Note {i}\n\nnote number {i}\n"),
        )
        .unwrap();
    }
    let db = tmp.join("many.db");
    let first = add(&db, &dir);
    let mut wall = Vec::new();
    let mut scan = Vec::new();
    for _ in 0..5 {
        let r = add(&db, &dir);
        assert_eq!(r.json["scan"]["unchanged"], 10_000, "{}", r.json["scan"]);
        wall.push(r.ms);
        scan.push(r.json["scan"]["ms"].as_f64().unwrap());
    }
    println!(
        "re-scan of 10,000 unchanged files: median {:.0} ms wall (the whole command), {:.0} ms in the scan (budget ≤ 1,000); first index {:.0} ms",
        pct(&mut wall, 0.5),
        pct(&mut scan, 0.5),
        first.ms
    );
}

/// An index of `n` passages written through the index's own write path
/// (100 passages a file), as the indexer writes them.
fn big_index(path: &Path, n: usize) -> (f64, Vocabulary) {
    let mut rng = Rng::new(42);
    let vocab = Vocabulary::new(100_000, &mut rng);
    let t = Instant::now();
    let (mut ix, _) = Index::open(path).unwrap();
    let per_file = 100;
    let files = n.div_ceil(per_file);
    let x = Extracted::default();
    for batch in 0..files.div_ceil(100) {
        let chunks: Vec<Vec<Chunk>> = (0..100)
            .map(|_| {
                (0..per_file)
                    .map(|p| {
                        let len = 250 + rng.below(600);
                        (Some(p as u32 / 4 + 1), None, vocab.text(&mut rng, len))
                    })
                    .collect()
            })
            .collect();
        ix.write(|tx| {
            for (i, c) in chunks.iter().enumerate() {
                let f = batch * 100 + i;
                if f >= files {
                    break;
                }
                let m = FileMeta {
                    path: format!("/papers/p{f:06}.pdf"),
                    size: 1,
                    mtime_ns: 1,
                    hash: Some(format!("{f:032x}")),
                    format: Some("pdf"),
                };
                index::put_indexed(tx, &m, &x, &format!("Paper {f}"), c)?;
            }
            Ok(())
        })
        .unwrap();
    }
    (t.elapsed().as_secs_f64(), vocab)
}

/// Questions of 4–9 words of mixed frequency, as a research turn's
/// queries are.
fn questions(vocab: &Vocabulary, n: usize) -> Vec<String> {
    let mut rng = Rng::new(5);
    (0..n)
        .map(|_| {
            let k = 4 + rng.below(6);
            (0..k)
                .map(|_| vocab.word_at(rng.below(20_000)).to_string())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

fn bench_search(ix_path: &Path, vocab: &Vocabulary) {
    let qs = questions(vocab, 200);
    let mut one = Vec::new();
    let mut turn = Vec::new();
    let conn = index::open_reader(ix_path).unwrap().unwrap();
    for q in &qs {
        let t = Instant::now();
        let _ = sleuth::library::search::search(&conn, q, 64).unwrap();
        one.push(t.elapsed().as_secs_f64() * 1e3);
    }
    // What planning costs: one vocabulary lookup per query word.
    let mut lookups = Vec::new();
    let mut st = conn
        .prepare("SELECT doc FROM passages_vocab WHERE term = ?1")
        .unwrap();
    for q in qs.iter().take(50) {
        for w in sleuth::library::terms::query_words(q) {
            let t = Instant::now();
            let _: Option<i64> = st.query_row([&w], |r| r.get(0)).ok();
            lookups.push(t.elapsed().as_secs_f64() * 1e3);
        }
    }
    println!(
        "vocabulary lookup per word: p50 {:.3} ms, p95 {:.3} ms",
        pct(&mut lookups, 0.5),
        pct(&mut lookups, 0.95)
    );
    for pair in qs.chunks(3) {
        let t = Instant::now();
        let docs =
            sleuth::agent::research::sources::library::search(ix_path, pair, 4, None).unwrap();
        turn.push(t.elapsed().as_secs_f64() * 1e3);
        assert!(!docs.is_empty());
    }
    println!(
        "search, one query (64 passages): p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms",
        pct(&mut one, 0.5),
        pct(&mut one, 0.95),
        pct(&mut one, 1.0)
    );
    println!(
        "search as the research source does it (3 queries, opened, grouped by file): p50 {:.1} ms, p95 {:.1} ms (budget ≤ 30), max {:.1} ms",
        pct(&mut turn, 0.5),
        pct(&mut turn, 0.95),
        pct(&mut turn, 1.0)
    );
}

fn turn_times(index: PathBuf, qs: &[String]) -> Vec<f64> {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap();
    let mut cfg = Config::default();
    cfg.provider.base_url = format!("http://{closed}");
    cfg.sources.wikipedia.enabled = false;
    cfg.sources.hackernews.enabled = false;
    cfg.sources.arxiv.enabled = false;
    cfg.library.index = index;
    let (tx, rx) = mpsc::channel();
    let agent = sleuth::agent::spawn_agent(cfg, Emitter::channel(tx)).unwrap();
    let mut times = Vec::new();
    for (i, q) in qs.iter().enumerate() {
        let id = TurnId(i as u64 + 1);
        let t = Instant::now();
        turn::run(
            &agent.handle(),
            &rx,
            id,
            turn::research(id, q),
            Duration::from_secs(60),
        );
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    agent.shutdown();
    times
}

fn bench_turn(ix_path: &Path, vocab: &Vocabulary) {
    let qs: Vec<String> = questions(vocab, 40)
        .into_iter()
        .map(|q| format!("what is known about {q}?"))
        .collect();
    let mut without = turn_times(ix_path.with_extension("absent.db"), &qs);
    let mut with = turn_times(ix_path.to_path_buf(), &qs);
    let (a, b) = (pct(&mut without, 0.5), pct(&mut with, 0.5));
    println!(
        "research turn, no model, web sources off: median {a:.1} ms without a library, {b:.1} ms with 1M passages: +{:.1} ms (budget ≤ 50); p95 {:.1} → {:.1} ms",
        b - a,
        pct(&mut without, 0.95),
        pct(&mut with, 0.95)
    );
}

fn main() {
    let tmp = tempfile::tempdir().unwrap();
    println!(
        "library at scale ({} cores)",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    if only("index") {
        bench_indexing(tmp.path());
    }
    if only("rescan") {
        bench_rescan(tmp.path());
    }
    if only("flat") {
        bench_one_folder(tmp.path());
    }
    if only("search") || only("turn") {
        let n: usize = std::env::var("SLEUTH_BENCH_PASSAGES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1_000_000);
        // SLEUTH_BENCH_KEEP=FILE keeps the big index between runs.
        let keep = std::env::var_os("SLEUTH_BENCH_KEEP").map(PathBuf::from);
        let ix = keep
            .clone()
            .unwrap_or_else(|| tmp.path().join("big.library.db"));
        let vocab = if keep.is_some() && ix.exists() {
            Vocabulary::new(100_000, &mut Rng::new(42))
        } else {
            let (secs, vocab) = big_index(&ix, n);
            let size = std::fs::metadata(&ix).map_or(0, |m| m.len());
            println!(
                "built an index of {n} passages in {secs:.0} s ({:.0} MB)",
                size as f64 / 1e6
            );
            vocab
        };
        if only("search") {
            bench_search(&ix, &vocab);
        }
        if only("turn") {
            bench_turn(&ix, &vocab);
        }
    }
}

/// An empty config file beside `db`.
fn empty_config(db: &Path) -> PathBuf {
    let cfg = db.with_extension("toml");
    std::fs::write(&cfg, "").expect("write the bench's empty config");
    cfg
}
