//! Import speed and memory: `cargo bench --bench import [CONVERSATIONS]
//! [MESSAGES]` writes a ChatGPT-shaped conversations.json (default 10,000
//! conversations, 300,000 messages, every fourth conversation with a
//! regenerated answer kept as a branch), runs the real binary's
//! `sleuth import chatgpt` on it, and reports messages per second and the
//! process's peak resident memory, then the same import again (idempotent:
//! nothing added). `SLEUTH_BENCH_DB=/path.db` imports into a copy of an
//! existing database (the 1M-message search bench's, say); the copy is kept
//! at `$TMPDIR/sleuth-import-bench.db` for `cargo bench --bench search`.
//! Budget: ≥ 20,000 messages/s, memory bounded by a conversation, not the
//! file.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)] // bench code: a panic is the failure report

use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sleuth::dev::synth::{Rng, Vocabulary, message_len};

fn node(id: &str, parent: Option<&str>, children: &[String], msg: Option<Value>) -> Value {
    json!({"id": id, "message": msg, "parent": parent, "children": children})
}

fn message(id: &str, role: &str, text: &str, t: f64) -> Value {
    json!({
        "id": id, "author": {"role": role, "name": null, "metadata": {}},
        "create_time": t, "update_time": null,
        "content": {"content_type": "text", "parts": [text]},
        "status": "finished_successfully", "end_turn": role == "assistant", "weight": 1.0,
        "metadata": if role == "assistant" { json!({"model_slug": "gpt-4o", "finish_details": {"type": "stop"}}) } else { json!({}) },
        "recipient": "all", "channel": null
    })
}

/// One conversation of `n` messages: a chain of questions and answers
/// (plus a regenerated first answer when `branch`).
fn conversation(i: usize, n: usize, branch: bool, vocab: &Vocabulary, rng: &mut Rng) -> Value {
    let t0 = 1_700_000_000.0 + i as f64 * 600.0;
    let mut mapping = serde_json::Map::new();
    let root = format!("root-{i}");
    let ids: Vec<String> = (0..n).map(|k| format!("c{i}-m{k}")).collect();
    let chain = if branch { n - 1 } else { n };
    mapping.insert(root.clone(), node(&root, None, &ids[..1.min(chain)], None));
    for k in 0..chain {
        let role = if k % 2 == 0 { "user" } else { "assistant" };
        let parent = if k == 0 {
            root.clone()
        } else {
            ids[k - 1].clone()
        };
        let mut children: Vec<String> = ids
            .get(k + 1)
            .filter(|_| k + 1 < chain)
            .cloned()
            .into_iter()
            .collect();
        if branch && k == 0 {
            children.push(ids[n - 1].clone());
        }
        let len = message_len(rng);
        let text = vocab.text(rng, len);
        let m = message(&ids[k], role, &text, t0 + k as f64 * 7.0);
        mapping.insert(
            ids[k].clone(),
            node(&ids[k], Some(&parent), &children, Some(m)),
        );
    }
    if branch {
        // Another answer to the first question, regenerated later.
        let len = message_len(rng);
        let text = vocab.text(rng, len);
        let m = message(&ids[n - 1], "assistant", &text, t0 + 3.0);
        mapping.insert(
            ids[n - 1].clone(),
            node(&ids[n - 1], Some(&ids[0]), &[], Some(m)),
        );
    }
    json!({
        "title": vocab.text(rng, 30), "create_time": t0, "update_time": t0 + n as f64 * 7.0,
        "mapping": mapping, "moderation_results": [], "current_node": ids[chain - 1],
        "plugin_ids": null, "conversation_id": format!("bench-{i:06}"), "id": format!("bench-{i:06}"),
        "gizmo_id": null, "is_archived": false, "safe_urls": [], "default_model_slug": "gpt-4o"
    })
}

fn write_export(path: &Path, conversations: usize, messages: usize) -> u64 {
    let mut rng = Rng::new(42);
    let vocab = Vocabulary::new(50_000, &mut rng);
    let mut out = BufWriter::new(std::fs::File::create(path).unwrap());
    out.write_all(b"[").unwrap();
    let per = messages / conversations;
    for i in 0..conversations {
        if i > 0 {
            out.write_all(b",").unwrap();
        }
        let c = conversation(i, per, i % 4 == 0, &vocab, &mut rng);
        serde_json::to_writer(&mut out, &c).unwrap();
    }
    out.write_all(b"]").unwrap();
    out.flush().unwrap();
    std::fs::metadata(path).unwrap().len()
}

/// CPU seconds (user + system) the process has used so far.
fn cpu_secs(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces), from field 3.
    let rest = stat.rsplit_once(") ")?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

fn peak_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

/// Runs the import; returns the wall time, the peak RSS seen, the CPU time
/// seen (sampled every 20 ms) and its report.
fn run_import(db: &Path, file: &Path) -> (Duration, u64, f64, Value) {
    let t = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sleuth"))
        .arg("--db")
        .arg(db)
        .args(["import", "chatgpt"])
        .arg(file)
        .arg("--json")
        .env("OLLAMA_HOST", "http://127.0.0.1:9")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut peak = 0;
    let mut cpu = 0.0;
    loop {
        if let Some(kb) = peak_rss_kb(child.id()) {
            peak = peak.max(kb);
        }
        if let Some(c) = cpu_secs(child.id()) {
            cpu = c;
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let took = t.elapsed();
    assert!(out.status.success(), "{out:?}");
    (
        took,
        peak,
        cpu,
        serde_json::from_slice(&out.stdout).unwrap(),
    )
}

fn main() {
    let args: Vec<usize> = std::env::args().filter_map(|a| a.parse().ok()).collect();
    let conversations = args.first().copied().unwrap_or(10_000);
    let messages = args.get(1).copied().unwrap_or(300_000);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("conversations.json");
    let t = Instant::now();
    let bytes = write_export(&file, conversations, messages);
    eprintln!(
        "wrote {conversations} conversations ({:.0} MB) in {:.1} s",
        bytes as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    let db = std::env::temp_dir().join("sleuth-import-bench.db");
    for ext in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{ext}", db.display()));
    }
    if let Ok(base) = std::env::var("SLEUTH_BENCH_DB") {
        std::fs::copy(&base, &db).expect("copy SLEUTH_BENCH_DB");
        eprintln!("importing into a copy of {base}");
        // A copy is a file sleuth has never closed: its first start reads
        // it whole once (README, "what is checked when"). A user's own
        // file was closed cleanly by its last sleuth, so that start is
        // made here first, with one conversation, and timed apart.
        let small = dir.path().join("one.json");
        write_export(&small, 1, 2);
        let (took, ..) = run_import(&db, &small);
        println!(
            "first start with the copy (its one whole-file check): {:.1} s",
            took.as_secs_f64()
        );
    }
    let (took, peak, cpu, r) = run_import(&db, &file);
    let added = r["messages_added"].as_i64().unwrap_or(0);
    println!(
        "import: {} conversations, {} messages read, {added} added in {:.1} s = {:.0} messages/s; CPU {cpu:.1} s; peak RSS {:.1} MB (file {:.0} MB)",
        r["conversations"],
        r["messages_read"],
        took.as_secs_f64(),
        added as f64 / took.as_secs_f64(),
        peak as f64 / 1024.0,
        bytes as f64 / 1e6
    );
    let (took, peak, cpu, r) = run_import(&db, &file);
    println!(
        "again: {} added in {:.1} s; CPU {cpu:.1} s; peak RSS {:.1} MB",
        r["messages_added"],
        took.as_secs_f64(),
        peak as f64 / 1024.0
    );
    eprintln!("the database is at {}", db.display());
}
