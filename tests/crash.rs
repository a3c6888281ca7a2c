//! Real processes against one database file: a writer killed with SIGKILL
//! mid-stream, and two writers at once.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)] // test code: a panic is the failure report

mod common;

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::Stdio;

use common::Sandbox;
use rusqlite::Connection;

fn stored_ids(db: &std::path::Path) -> HashSet<i64> {
    let conn = Connection::open(db).unwrap();
    let mut stmt = conn.prepare("SELECT id FROM messages").unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn integrity(db: &std::path::Path) -> String {
    let conn = Connection::open(db).unwrap();
    conn.execute(
        "INSERT INTO messages_fts(messages_fts) VALUES('integrity-check')",
        [],
    )
    .unwrap();
    conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn sigkill_mid_stream_loses_no_acknowledged_write() {
    let sb = Sandbox::new();
    let mut child = sb
        .cmd()
        .args(["debug", "write-loop", "--size", "400"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut acked = Vec::new();
    // Kill while it is still writing: after 300 acknowledged messages.
    while acked.len() < 300 {
        let line = lines.next().expect("writer stopped early").unwrap();
        acked.push(line.trim().parse::<i64>().unwrap());
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    // Ids printed before the kill but not yet read are acknowledged too.
    for line in lines.map_while(Result::ok) {
        if let Ok(id) = line.trim().parse::<i64>() {
            acked.push(id);
        }
    }
    assert_eq!(integrity(&sb.db()), "ok");
    let stored = stored_ids(&sb.db());
    let lost: Vec<_> = acked.iter().filter(|id| !stored.contains(id)).collect();
    assert!(lost.is_empty(), "{} acknowledged writes lost", lost.len());
    assert!(stored.len() >= acked.len());
}

#[test]
fn two_processes_writing_at_once_lose_nothing_and_report_no_lock_errors() {
    let sb = Sandbox::new();
    // Create the file first so both children open a migrated database.
    sleuth::store::open_writer(&sb.db()).unwrap();
    let spawn = || {
        sb.cmd()
            .args(["debug", "write-loop", "--count", "1500", "--size", "300"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    for out in [&a, &b] {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "exit {:?}: {stderr}", out.status);
        assert!(
            !stderr.contains("locked") && !stderr.contains("busy"),
            "{stderr}"
        );
    }
    let acked: HashSet<i64> = [&a, &b]
        .iter()
        .flat_map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .map(|l| l.parse::<i64>().unwrap())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(acked.len(), 3000);
    let stored = stored_ids(&sb.db());
    assert_eq!(stored, acked);
    assert_eq!(integrity(&sb.db()), "ok");
}

#[path = "common/server.rs"]
mod server;

fn statuses(db: &std::path::Path) -> Vec<(String, String)> {
    let conn = Connection::open(db).unwrap();
    let mut st = conn
        .prepare(
            "SELECT status, content FROM messages WHERE role = 'assistant' ORDER BY created_at",
        )
        .unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Issue 11, case 13 (kill -9): an answer left `streaming` by a sleuth
/// that was killed is marked interrupted, its saved text kept, by the
/// next sleuth that writes — and one another live sleuth is still
/// streaming is left alone.
#[test]
fn an_answer_left_streaming_by_a_killed_sleuth_is_marked_interrupted_on_the_next_start() {
    // A slow answer: a word every 50 ms, so checkpoints land mid-stream.
    let words: String = (0..200).map(|i| format!("w{i} ")).collect();
    let mut slow = server::ollama_says(&words);
    let bytes: Vec<u8> = slow
        .body
        .iter()
        .flat_map(|c| match c {
            server::Chunk::Bytes(b) => b.clone(),
            server::Chunk::Delay(_) | server::Chunk::Computed(_) => Vec::new(),
        })
        .collect();
    // One NDJSON line at a time, 50 ms apart.
    slow.body = bytes
        .split_inclusive(|&b| b == b'\n')
        .flat_map(|line| {
            [
                server::Chunk::Bytes(line.to_vec()),
                server::Chunk::Delay(50),
            ]
        })
        .collect();
    let srv = server::Server::routed(vec![(
        "/api/chat",
        vec![slow.clone(), slow, server::ollama_says("Quick answer.")],
    )]);
    let sb = Sandbox::new();
    let spawn = |q: &str| {
        sb.cmd()
            .args(["--base-url", &srv.url(), "ask", "--no-research", q])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut killed = spawn("first");
    // Wait for a checkpoint with text in it, then SIGKILL.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        assert!(std::time::Instant::now() < deadline, "no checkpoint");
        if sb.db().exists()
            && let Ok(conn) = Connection::open(sb.db())
            && let Ok(n) = conn.query_row(
                "SELECT count(*) FROM messages WHERE status = 'streaming' AND length(content) > 0",
                [],
                |r| r.get::<_, i64>(0),
            )
            && n > 0
        {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    killed.kill().unwrap();
    killed.wait().unwrap();
    let left = statuses(&sb.db());
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].0, "streaming");
    let saved = left[0].1.clone();
    // A second sleuth streams (alive) while a third starts and repairs.
    let mut live = spawn("second");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while statuses(&sb.db()).len() < 2 {
        assert!(std::time::Instant::now() < deadline, "second never started");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let out = sb
        .cmd()
        .args(["--base-url", &srv.url(), "ask", "--no-research", "third"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let now = statuses(&sb.db());
    assert_eq!(now[0], ("interrupted".to_string(), saved), "kept as saved");
    assert_eq!(
        now[1].0, "streaming",
        "a live sleuth's answer is not touched"
    );
    live.kill().unwrap();
    live.wait().unwrap();
    assert_eq!(integrity(&sb.db()), "ok");
}
