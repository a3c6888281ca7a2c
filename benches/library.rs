//! Library quality: does a research turn over the user's own files cite
//! the passage holding the answer? The SQuAD 2.0 articles of
//! `../shared/fixtures/squad/` are written as files of one format (Markdown,
//! plain text, HTML, and the pdfLaTeX one- and two-column PDFs committed in
//! `benches/library/corpus/`), beside the 149 HotpotQA articles as Markdown
//! distractors; `sleuth library add` indexes the folder (the real binary,
//! extractor children and all); then every answerable question runs
//! through the real research turn with every web source off and no model.
//!
//! Figures per format: recall@4k (the gold answer, SQuAD normalisation, in
//! the first 4,000 cited characters), index time, wall time per question.
//! Budget: ≥ 95 % overall, ≥ 90 % for the two-column PDF.
//!
//! `cargo bench --bench library`; `SLEUTH_BENCH_LIMIT=N` takes the first N
//! questions, `SLEUTH_BENCH_MISSES=1` lists the misses, `SLEUTH_SQUAD=FILE`
//! runs other articles in the same format (PDF rows then need
//! `SLEUTH_LIBRARY_PDFS=DIR` holding `<title>.1col.pdf` / `.2col.pdf`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)] // bench code: a panic is the failure report

#[path = "common/turn.rs"]
mod turn;
#[path = "../tests/common/wiki.rs"]
mod wiki;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use sleuth::config::Config;
use sleuth::domain::TurnId;
use sleuth::emit::Emitter;

const WINDOW: usize = 4000;

#[derive(Clone, Copy, PartialEq)]
enum Form {
    Markdown,
    Text,
    Html,
    Pdf1,
    Pdf2,
}

impl Form {
    fn name(self) -> &'static str {
        match self {
            Form::Markdown => "Markdown",
            Form::Text => "plain text",
            Form::Html => "HTML",
            Form::Pdf1 => "PDF pdfLaTeX 1 column",
            Form::Pdf2 => "PDF pdfLaTeX 2 columns",
        }
    }
}

fn file_name(title: &str) -> String {
    title.replace(['/', ' '], "_")
}

/// Paragraphs of an article's extract, headings dropped.
fn paras(a: &wiki::Article) -> Vec<&str> {
    a.text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("=="))
        .collect()
}

fn write_article(dir: &Path, a: &wiki::Article, form: Form, pdfs: &Path) {
    let name = file_name(&a.title);
    let ps = paras(a);
    match form {
        Form::Markdown => {
            let body = ps.join("\n\n");
            std::fs::write(
                dir.join(format!("{name}.md")),
                format!("# {}\n\n{body}\n", a.title),
            )
            .unwrap();
        }
        Form::Text => {
            let body = ps.join("\n\n");
            std::fs::write(
                dir.join(format!("{name}.txt")),
                format!("{}\n\n{body}\n", a.title),
            )
            .unwrap();
        }
        Form::Html => {
            let esc = |s: &str| {
                s.replace('&', "&amp;")
                    .replace('<', "&lt;")
                    .replace('>', "&gt;")
            };
            let body: String = ps.iter().map(|p| format!("<p>{}</p>\n", esc(p))).collect();
            let page = format!(
                "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{t}</title></head>\
                 <body><nav><a href=\"/\">Home</a> · <a href=\"/about\">About</a></nav>\
                 <article><h1>{t}</h1>\n{body}</article><footer>Saved page</footer></body></html>",
                t = esc(&a.title)
            );
            std::fs::write(dir.join(format!("{name}.html")), page).unwrap();
        }
        Form::Pdf1 | Form::Pdf2 => {
            let suffix = if form == Form::Pdf1 { "1col" } else { "2col" };
            let src = pdfs.join(format!("{name}.{suffix}.pdf"));
            std::fs::copy(&src, dir.join(format!("{name}.{suffix}.pdf")))
                .unwrap_or_else(|e| panic!("{}: {e}", src.display()));
        }
    }
}

struct Row {
    hits: usize,
    total: usize,
    index_ms: f64,
    times_ms: Vec<f64>,
    misses: Vec<String>,
}

fn index_folder(dir: &Path, db: &Path) -> f64 {
    let t = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_sleuth"))
        // An empty config: the defaults, not the user's (a named file
        // that does not exist is an error since issue 24).
        .arg("--config")
        .arg(empty_config(db))
        .arg("--db")
        .arg(db)
        .args(["library", "add", "--json"])
        .arg(dir)
        .output()
        .expect("sleuth library add");
    let ms = t.elapsed().as_secs_f64() * 1e3;
    assert!(
        out.status.success(),
        "library add: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let failed = v["scan"]["failed"].as_u64().unwrap_or(0);
    assert_eq!(failed, 0, "files failed: {}", v["library"]["problems"]);
    ms
}

fn run(
    form: Form,
    articles: &[wiki::Article],
    distractors: &[wiki::Article],
    qs: &[(String, Vec<String>)],
    pdfs: &Path,
) -> Row {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("papers");
    std::fs::create_dir(&dir).unwrap();
    for a in articles {
        write_article(&dir, a, form, pdfs);
    }
    for a in distractors {
        write_article(&dir, a, Form::Markdown, pdfs);
    }
    let db = tmp.path().join("sleuth.db");
    let index_ms = index_folder(&dir, &db);

    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap();
    let mut cfg = Config::default();
    cfg.provider.base_url = format!("http://{closed}");
    cfg.sources.wikipedia.enabled = false;
    cfg.sources.hackernews.enabled = false;
    cfg.sources.arxiv.enabled = false;
    cfg.library.resolve(&db);
    let (tx, rx) = mpsc::channel();
    let agent = sleuth::agent::spawn_agent(cfg, Emitter::channel(tx)).unwrap();
    let mut row = Row {
        hits: 0,
        total: 0,
        index_ms,
        times_ms: Vec::new(),
        misses: Vec::new(),
    };
    for (i, (q, answers)) in qs.iter().enumerate() {
        let id = TurnId(i as u64 + 1);
        let started = Instant::now();
        let sources = turn::run(
            &agent.handle(),
            &rx,
            id,
            turn::research(id, q),
            Duration::from_secs(30),
        )
        .sources;
        row.times_ms.push(started.elapsed().as_secs_f64() * 1e3);
        let excerpts: Vec<String> = sources.iter().map(|s| s.excerpt.clone()).collect();
        row.total += 1;
        if wiki::answered(&excerpts, answers, WINDOW) {
            row.hits += 1;
        } else {
            let cited: Vec<String> = sources
                .iter()
                .map(|s| format!("{} › {}", s.title, s.section.as_deref().unwrap_or("-")))
                .collect();
            row.misses
                .push(format!("{q}  →  {:?}  cited {cited:?}", answers.first()));
        }
    }
    agent.shutdown();
    row
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let root = env!("CARGO_MANIFEST_DIR");
    let squad = std::env::var("SLEUTH_SQUAD")
        .unwrap_or_else(|_| format!("{root}/../shared/fixtures/squad/squad-v2-dev-2articles.json"));
    let pdfs = PathBuf::from(
        std::env::var("SLEUTH_LIBRARY_PDFS")
            .unwrap_or_else(|_| format!("{root}/benches/library/corpus")),
    );
    let (articles, qs) = wiki::squad(&squad);
    let (mut distractors, _) = wiki::hotpot(&format!(
        "{root}/../shared/fixtures/hotpot/hotpot-dev-distractor-15.json"
    ));
    distractors.retain(|d| !articles.iter().any(|a| a.title == d.title));
    let limit: usize = std::env::var("SLEUTH_BENCH_LIMIT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(usize::MAX);
    let qs: Vec<_> = qs.into_iter().take(limit).collect();
    let forms: Vec<Form> = match std::env::var("SLEUTH_BENCH_FORMS") {
        Ok(v) => [
            Form::Markdown,
            Form::Text,
            Form::Html,
            Form::Pdf1,
            Form::Pdf2,
        ]
        .into_iter()
        .filter(|f| {
            v.split(',')
                .any(|n| f.name().to_lowercase().contains(&n.to_lowercase()))
        })
        .collect(),
        Err(_) => vec![
            Form::Markdown,
            Form::Text,
            Form::Html,
            Form::Pdf1,
            Form::Pdf2,
        ],
    };
    println!(
        "{} articles + {} Markdown distractors, {} answerable questions ({squad})",
        articles.len(),
        distractors.len(),
        qs.len()
    );
    let (mut hits, mut total) = (0, 0);
    for form in forms {
        let mut r = run(form, &articles, &distractors, &qs, &pdfs);
        hits += r.hits;
        total += r.total;
        let budget = if form == Form::Pdf2 {
            "≥ 90 %"
        } else {
            "≥ 95 %"
        };
        println!(
            "{:<24} recall@4k {}/{} = {:.1} % (budget {budget}); indexed in {:.0} ms; per question median {:.1} ms, p95 {:.1} ms",
            form.name(),
            r.hits,
            r.total,
            100.0 * r.hits as f64 / r.total.max(1) as f64,
            r.index_ms,
            pct(&mut r.times_ms, 0.5),
            pct(&mut r.times_ms, 0.95),
        );
        if std::env::var("SLEUTH_BENCH_MISSES").is_ok() {
            for m in &r.misses {
                println!("  miss: {m}");
            }
        }
    }
    println!(
        "overall recall@4k {hits}/{total} = {:.1} % (budget ≥ 95 %)",
        100.0 * hits as f64 / total.max(1) as f64
    );
}

/// An empty config file beside `db`.
fn empty_config(db: &Path) -> PathBuf {
    let cfg = db.with_extension("toml");
    std::fs::write(&cfg, "").expect("write the bench's empty config");
    cfg
}
