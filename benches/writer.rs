//! Bulk write throughput through the real store writer thread, with the
//! FTS5 triggers on: `cargo bench --bench writer`.
//! Budget (ARCHITECTURE.md §7): at least 20k messages/s.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)] // test code: a panic is the failure report

use std::sync::mpsc;
use std::time::Instant;

use sleuth::dev::synth::Generator;
use sleuth::emit::Emitter;
use sleuth::store::{self, StoreCommand, StoreEvent, writer::WriterOptions};

fn run(messages: u64, sessions: u64) -> (f64, usize, u64) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("bench.db");
    let conn = store::open_writer(&db).expect("open");
    // Generate up front so the figure is the writer's, not the generator's.
    let mut g = Generator::new(42, sessions, messages);
    let mut cmds: Vec<StoreCommand> = Vec::new();
    while let Some(s) = g.next_session() {
        cmds.extend(s);
    }
    let bytes: usize = cmds
        .iter()
        .map(|c| match c {
            StoreCommand::AppendMessage(m) | StoreCommand::FinishTurn { message: m, .. } => {
                m.content.len()
            }
            _ => 0,
        })
        .sum();
    let (tx, rx) = mpsc::channel();
    let writer =
        store::spawn_writer(conn, WriterOptions::default(), Emitter::channel(tx)).expect("writer");
    let h = writer.handle();
    let start = Instant::now();
    for c in cmds {
        h.send(c);
    }
    h.flush().expect("flush");
    let secs = start.elapsed().as_secs_f64();
    writer.shutdown();
    let txns = rx
        .try_iter()
        .filter(|e| matches!(e, StoreEvent::Committed { .. }))
        .count();
    (secs, txns, bytes as u64)
}

fn main() {
    // `cargo bench` passes --bench; a number argument sets the size.
    let n: u64 = std::env::args()
        .filter_map(|a| a.parse().ok())
        .next()
        .unwrap_or(200_000);
    let mut rates = Vec::new();
    for round in 0..3 {
        let (secs, txns, bytes) = run(n, n / 20);
        let rate = n as f64 / secs;
        rates.push(rate);
        println!(
            "round {round}: {n} messages ({:.0} MB of text) in {secs:.2} s = {rate:.0} messages/s, {txns} transactions",
            bytes as f64 / 1e6
        );
    }
    rates.sort_by(f64::total_cmp);
    println!(
        "writer bulk insert with FTS: median {:.0} messages/s (budget >= 20000)",
        rates[1]
    );
}
