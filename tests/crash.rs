//! Real processes against one database file: a writer killed with SIGKILL
//! mid-stream, and two writers at once.

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
