//! Fault soak (issue 11): `cargo bench --bench soak` (about 3 minutes;
//! `SLEUTH_SOAK_TURNS=N` changes the 200 turns, `SLEUTH_SOAK_SEED` the
//! dice).
//!
//! The real binary asks one question after another (`sleuth ask
//! --no-research`) of a loopback Ollama that, per request, at random:
//! answers, drops the connection mid-answer, stalls, answers 429 or 500,
//! or streams garbage. In 10 % of the turns the process is SIGKILLed at
//! a random moment of a steady answer (a word every 10 ms). Afterwards one
//! more sleuth starts (as a user would), and the database is checked:
//! `PRAGMA integrity_check` is ok, no answer is left `streaming`, every
//! question of a turn that ended is stored, and for each kill, the text
//! lost (sent by the server before the kill but not saved) is at most one
//! checkpoint interval (500 ms).
//!
//! Every tenth turn (issue 24) is a research turn whose question links
//! three hostile pages drawn from five: 30,000 nested `<span>`, 20,000
//! nested `<div>`, 2 MB of NUL, 2 MB of `<`, a gzip bomb (64 MB of zeros
//! in 64 KB). Its process's peak RSS is read from wait4; a death by a
//! signal we did not send is a crash.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)] // test code: a panic is the failure report

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/common/server.rs"]
mod server;

use std::process::Stdio;
use std::time::{Duration, Instant};

use rusqlite::Connection;
use server::{Chunk, End, Reply, Server};

/// xorshift64*: deterministic dice without a dependency.
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// An Ollama stream of `words` words, `gap_ms` apart; `done` ends it
/// properly, else the connection just closes (or stalls) after them.
fn words(n: usize, gap_ms: u64, done: bool, end: End) -> Reply {
    let mut body = Vec::new();
    for i in 0..n {
        let line = serde_json::json!({"message": {"role": "assistant", "content": format!("w{i} ")}, "done": false});
        body.push(Chunk::Bytes(format!("{line}\n").into_bytes()));
        if gap_ms > 0 {
            body.push(Chunk::Delay(gap_ms));
        }
    }
    if done {
        body.push(Chunk::Bytes(
            br#"{"message":{"role":"assistant","content":""},"done":true,"prompt_eval_count":9,"eval_count":9}
"#
            .to_vec(),
        ));
    }
    let mut r = Reply::new(200, "application/x-ndjson", Vec::new());
    r.body = body;
    r.then(end)
}

fn chaos(d: &mut Dice) -> (Reply, &'static str) {
    match d.below(6) {
        0 => (words(20, 5, true, End::Close), "answer"),
        1 => (words(8, 5, false, End::Close), "drop"),
        2 => (
            words(4, 5, false, End::Stall(Duration::from_secs(3))),
            "stall",
        ),
        3 => (
            Reply::new(
                429,
                "application/json",
                br#"{"error":"slow down"}"#.to_vec(),
            )
            .header("Retry-After", "0"),
            "429",
        ),
        4 => (Reply::new(500, "text/plain", b"boom".to_vec()), "500"),
        _ => {
            let junk: Vec<u8> = (0..200).map(|_| d.below(256) as u8).collect();
            let mut r = Reply::new(200, "application/x-ndjson", junk);
            r.end = End::Close;
            (r, "garbage")
        }
    }
}

fn config(sb: &common::Sandbox, url: &str) -> std::path::PathBuf {
    let p = sb.path().join("soak.toml");
    std::fs::write(
        &p,
        format!(
            "[provider]\nbase_url = \"{url}\"\nretries = 2\nretry_base_ms = 10\n\
             idle_timeout_secs = 1\nfirst_byte_timeout_secs = 2\nmax_answer_secs = 20\n"
        ),
    )
    .unwrap();
    p
}

/// The hostile pages research turns link, one route each.
fn hostile_pages() -> Vec<(&'static str, Vec<Reply>)> {
    use std::io::Write;
    let html = |b: Vec<u8>| vec![Reply::new(200, "text/html; charset=utf-8", b)];
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..64 {
        gz.write_all(&zeros).unwrap();
    }
    let bomb =
        Reply::new(200, "text/html", gz.finish().unwrap()).header("Content-Encoding", "gzip");
    vec![
        (
            "/spans",
            html(
                format!(
                    "{}Hastings, 1066.{}",
                    "<span>".repeat(30_000),
                    "</span>".repeat(30_000)
                )
                .into_bytes(),
            ),
        ),
        ("/divs", html("<div>".repeat(20_000).into_bytes())),
        ("/nul", html(vec![0u8; 2 << 20])),
        ("/lt", html(vec![b'<'; 2 << 20])),
        ("/bomb", vec![bomb]),
    ]
}

/// Waits (at most `limit`) for `child`; its exit code (128 + signal for a
/// death by signal, None if it was still running and got killed) and its
/// own peak RSS in MB.
#[allow(unsafe_code)] // wait4's rusage needs libc; only benches and tests do this
fn wait_peak(child: &mut std::process::Child, limit: Duration) -> (Option<i32>, f64) {
    let pid = child.id() as libc::pid_t;
    let t = Instant::now();
    loop {
        let mut status = 0;
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if r == pid {
            let code = if libc::WIFEXITED(status) {
                libc::WEXITSTATUS(status)
            } else {
                128 + libc::WTERMSIG(status)
            };
            return (Some(code), usage.ru_maxrss as f64 / 1024.0);
        }
        if t.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return (None, 0.0);
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn main() {
    let turns: usize = std::env::var("SLEUTH_SOAK_TURNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let seed: u64 = std::env::var("SLEUTH_SOAK_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5EED);
    let mut d = Dice(seed | 1);
    let started = Instant::now();
    let sb = common::Sandbox::new();
    // Chaos for ordinary turns; a steady stream for the turns that die.
    let mut kinds = std::collections::BTreeMap::<&str, usize>::new();
    let replies: Vec<Reply> = (0..turns * 3)
        .map(|_| {
            let (r, k) = chaos(&mut d);
            *kinds.entry(k).or_default() += 1;
            r
        })
        .collect();
    let chaos_srv = Server::lasting(vec![("/api/chat", replies)], turns * 4, 1800);
    let steady = Server::lasting(
        vec![("/api/chat", vec![words(400, 10, true, End::Close)])],
        turns,
        1800,
    );
    let chaos_cfg = config(&sb, &chaos_srv.url());
    let steady_dir = common::Sandbox::new();
    let steady_cfg = config(&steady_dir, &steady.url());

    let pages = Server::lasting(hostile_pages(), turns * 2, 1800);
    let research_cfg = sb.path().join("hostile.toml");
    std::fs::write(
        &research_cfg,
        format!(
            "{}[research]\nallow_hosts = [\"127.0.0.1\"]\ntimeout_secs = 20\n\
             [sources.wikipedia]\nenabled = false\n[sources.hackernews]\nenabled = false\n\
             [sources.arxiv]\nenabled = false\n",
            std::fs::read_to_string(&chaos_cfg).unwrap()
        ),
    )
    .unwrap();
    let routes = ["/spans", "/divs", "/nul", "/lt", "/bomb"];
    let (mut hostile_turns, mut crashes, mut peak_mb) = (0, 0, 0.0f64);

    let kill_every = 10;
    let mut ended_questions = Vec::new();
    let mut outcomes = std::collections::BTreeMap::<String, usize>::new();
    let mut losses_ms: Vec<f64> = Vec::new();
    let mut hangs = 0;
    for i in 0..turns {
        let q = format!("soak question {i}");
        let kill = i % kill_every == kill_every - 1;
        if i % kill_every == 4 {
            let first = d.below(5) as usize;
            let links: Vec<String> = (0..3)
                .map(|k| format!("{}{}", pages.url(), routes[(first + k) % 5]))
                .collect();
            let q = format!(
                "soak question {i}: what happened at Hastings? {}",
                links.join(" ")
            );
            let mut child = sb
                .cmd()
                .arg("--config")
                .arg(&research_cfg)
                .args(["ask", "--json", &q])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn");
            hostile_turns += 1;
            match wait_peak(&mut child, Duration::from_secs(60)) {
                (Some(code), peak) => {
                    peak_mb = peak_mb.max(peak);
                    if code > 128 || code == 101 {
                        crashes += 1;
                    }
                    *outcomes
                        .entry(format!("hostile pages: exit {code}"))
                        .or_default() += 1;
                    ended_questions.push(q);
                }
                (None, _) => hangs += 1,
            }
            continue;
        }
        let cfg = if kill { &steady_cfg } else { &chaos_cfg };
        let before = steady.requests().len();
        let mut child = sb
            .cmd()
            .arg("--config")
            .arg(cfg)
            .args(["ask", "--no-research", &q])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        if kill {
            // The request reaches the server, then a random moment later
            // (100–1500 ms into a 4 s answer) the process is killed.
            let t_wait = Instant::now();
            while steady.requests().len() == before && t_wait.elapsed() < Duration::from_secs(10) {
                std::thread::sleep(Duration::from_millis(1));
            }
            let t0 = Instant::now();
            std::thread::sleep(Duration::from_millis(100 + d.below(1400)));
            let _ = child.kill();
            let alive_ms = t0.elapsed().as_secs_f64() * 1e3;
            let _ = child.wait();
            // Words the server had sent by then (one per 10 ms, the
            // first at once) against the words saved.
            let sent = (alive_ms / 10.0).floor() + 1.0;
            let conn = Connection::open(sb.db()).expect("open");
            let saved: String = conn
                .query_row(
                    "SELECT m.content FROM messages m JOIN messages u ON u.session_id = m.session_id
                     WHERE u.content = ?1 AND m.role = 'assistant'",
                    [&q],
                    |r| r.get(0),
                )
                .unwrap_or_default();
            let saved_words = saved.split_whitespace().count() as f64;
            losses_ms.push(((sent - saved_words).max(0.0)) * 10.0);
            *outcomes.entry("killed".into()).or_default() += 1;
            continue;
        }
        let t = Instant::now();
        let status = loop {
            if let Some(s) = child.try_wait().expect("wait") {
                break Some(s);
            }
            if t.elapsed() > Duration::from_secs(30) {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(2));
        };
        match status {
            Some(s) => {
                *outcomes
                    .entry(format!("exit {}", s.code().unwrap_or(-1)))
                    .or_default() += 1;
                ended_questions.push(q);
            }
            None => hangs += 1,
        }
    }
    // The user starts sleuth again: its writer repairs what the kills left.
    let out = sb
        .cmd()
        .arg("--config")
        .arg(&steady_cfg)
        .args(["ask", "--no-research", "after the soak"])
        .output()
        .expect("final ask");
    let conn = Connection::open(sb.db()).expect("open");
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity");
    let streaming: i64 = conn
        .query_row(
            "SELECT count(*) FROM messages WHERE status = 'streaming'",
            [],
            |r| r.get(0),
        )
        .expect("count");
    let missing = ended_questions
        .iter()
        .filter(|q| {
            conn.query_row(
                "SELECT count(*) FROM messages WHERE role = 'user' AND content = ?1",
                [q.as_str()],
                |r| r.get::<_, i64>(0),
            )
            .unwrap_or(0)
                == 0
        })
        .count();
    losses_ms.sort_by(f64::total_cmp);
    println!(
        "{turns} turns in {:.0} s (seed {seed:#x}); provider replies drawn: {kinds:?}",
        started.elapsed().as_secs_f64()
    );
    println!("outcomes: {outcomes:?}; hung (killed after 30 s): {hangs}");
    println!(
        "after a restart (exit {:?}): integrity_check {integrity}; answers left streaming: {streaming}; questions of ended turns missing: {missing} of {}",
        out.status.code(),
        ended_questions.len()
    );
    println!(
        "hostile-page research turns: {hostile_turns}; crashes: {crashes}; peak RSS of any of them: {peak_mb:.0} MB"
    );
    if let (Some(max), false) = (losses_ms.last(), losses_ms.is_empty()) {
        println!(
            "text lost per kill over {} kills: median {:.0} ms, max {max:.0} ms of answer (checkpoint interval 500 ms)",
            losses_ms.len(),
            losses_ms[losses_ms.len() / 2]
        );
    }
}
