//! Commands a user waits on, against histories of any size (issue 23):
//! `sleuth ask --no-research` against a loopback model that answers at
//! once, `sessions`, `show latest` and `search`, each the whole process,
//! on a fresh file and on the files named in `SLEUTH_BENCH_DBS`
//! (colon-separated; e.g. 1M and 10M messages made once with
//! `sleuth debug generate --sessions 100000 --messages 10000000 --db /tmp/m10.db`,
//! 7.7 GB — too large for CI, so the bench says how and CI does not run it):
//!
//! `SLEUTH_BENCH_DBS=/tmp/m1.db:/tmp/m10.db cargo bench --bench history_scale`
//!
//! Budget: `ask` within +100 ms of the fresh file. The first `ask` on a
//! file sleuth has no health record for runs the one full check; it is
//! reported apart (that is once per file, then after unclean exits only).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)] // test code: a panic is the failure report

#[path = "common/model.rs"]
#[allow(dead_code)] // shared with the claims bench, which reads the prompts
mod model;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const RUNS: usize = 7;

fn bin() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap();
    let b = dir.join("sleuth");
    assert!(b.exists(), "build the binary first: cargo build --release");
    b
}

fn time(home: &Path, db: &Path, base_url: &str, args: &[&str]) -> f64 {
    let t = Instant::now();
    let out = Command::new(bin())
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_STATE_HOME", home.join("state"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("NO_COLOR", "1")
        .arg("--db")
        .arg(db)
        .args([
            "--provider",
            "openai",
            "--model",
            "m",
            "--base-url",
            base_url,
        ])
        .args(args)
        .output()
        .unwrap();
    let ms = t.elapsed().as_secs_f64() * 1e3;
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    ms
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let model = model::Model::start(3600);
    model.script(|_| "At once.".to_string());
    let url = model.base_url();
    let home = tempfile::tempdir().unwrap();
    let fresh = home.path().join("fresh.db");
    let mut dbs = vec![fresh.clone()];
    if let Ok(list) = std::env::var("SLEUTH_BENCH_DBS") {
        dbs.extend(list.split(':').filter(|p| !p.is_empty()).map(PathBuf::from));
    }
    // The fresh file exists before it is timed (created by the first ask).
    time(
        home.path(),
        &fresh,
        &url,
        &["ask", "--no-research", "hello"],
    );
    let mut base = None;
    println!("| file | size | first ask | ask | sessions | show latest | search |");
    println!("|---|---|---|---|---|---|---|");
    for db in &dbs {
        let size = std::fs::metadata(db).map_or(0, |m| m.len());
        let first = time(
            home.path(),
            db,
            &url,
            &["ask", "--no-research", "a first question"],
        );
        let mut cols = Vec::new();
        for args in [
            &["ask", "--no-research", "what is a tardigrade?"][..],
            &["sessions"][..],
            &["show", "latest"][..],
            &["search", "tardigrade"][..],
        ] {
            let v: Vec<f64> = (0..RUNS)
                .map(|_| time(home.path(), db, &url, args))
                .collect();
            cols.push(median(v));
        }
        let ask = cols[0];
        let over = base.map_or(String::new(), |b: f64| format!(" (+{:.0})", ask - b));
        base.get_or_insert(ask);
        println!(
            "| {} | {:.0} MB | {first:.0} ms | {ask:.0} ms{over} | {:.0} ms | {:.0} ms | {:.0} ms |",
            db.file_name().unwrap().to_string_lossy(),
            size as f64 / 1e6,
            cols[1],
            cols[2],
            cols[3]
        );
    }
    println!(
        "(medians of {RUNS} whole-process runs; budget: ask within +100 ms of the fresh file)"
    );
}
