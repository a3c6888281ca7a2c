//! Issue 24: hostile input through the real binary — pages built to crash
//! a parser or take its memory, and a process that dies without restoring
//! the terminal. Each case failed before its fix.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)] // test code: a panic is the failure report

mod common;
#[path = "common/server.rs"]
mod server;

use std::os::unix::process::CommandExt;
use std::time::{Duration, Instant};

use common::Sandbox;
use server::{Reply, Server};

/// Runs `cmd` under an address-space limit of `limit_mb`; returns its exit
/// status, stdout and the child's own peak RSS in MB (wait4's rusage:
/// this child's, not another test's).
#[allow(unsafe_code)] // setrlimit and wait4 need libc; only tests do this
fn run_measured(mut cmd: std::process::Command, limit_mb: u64) -> (i32, Vec<u8>, String, f64) {
    let bytes = limit_mb * 1024 * 1024;
    unsafe {
        cmd.pre_exec(move || {
            let lim = libc::rlimit {
                rlim_cur: bytes,
                rlim_max: bytes,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    #[allow(clippy::zombie_processes)] // reaped by wait4 below
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (mut out, mut err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let readers = (
        std::thread::spawn(move || {
            let mut b = Vec::new();
            std::io::Read::read_to_end(&mut out, &mut b).unwrap();
            b
        }),
        std::thread::spawn(move || {
            let mut b = Vec::new();
            std::io::Read::read_to_end(&mut err, &mut b).unwrap();
            String::from_utf8_lossy(&b).into_owned()
        }),
    );
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(r, pid);
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    };
    let (stdout, stderr) = (readers.0.join().unwrap(), readers.1.join().unwrap());
    (code, stdout, stderr, usage.ru_maxrss as f64 / 1024.0)
}

fn no_sources_but_the_web(sb: &Sandbox) -> std::path::PathBuf {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let cfg = sb.path().join("web.toml");
    std::fs::write(
        &cfg,
        format!(
            "[provider]\nbase_url = \"http://{closed}\"\n[research]\nallow_hosts = [\"127.0.0.1\"]\n\
             timeout_secs = 60\n[sources.wikipedia]\nenabled = false\n[sources.hackernews]\n\
             enabled = false\n[sources.arxiv]\nenabled = false\n"
        ),
    )
    .unwrap();
    cfg
}

/// Issue 24, items 1, 2 and 23: 30,000 nested `<span>` (a stack overflow,
/// exit 134, before), 20,000 nested `<div>` (87 s of extraction), 2 MB of
/// NUL bytes (518 MB) and 2 MB of `<` (275 MB), linked from one question.
/// Now: exit 0, each page read as text (its words kept), in seconds, and
/// the process's peak RSS bounded — under a 2 GB address-space limit.
#[test]
fn pages_built_to_crash_or_flood_the_parser_are_read_as_text() {
    let fact = "The Battle of Hastings was fought on 14 October 1066.";
    let spans = format!(
        "<html><body>{}{fact}{}</body></html>",
        "<span>".repeat(30_000),
        "</span>".repeat(30_000)
    );
    let divs = format!(
        "<html><body>{}Harold Godwinson died at Hastings.</body></html>",
        "<div>".repeat(20_000)
    );
    let page = |body: Vec<u8>| vec![Reply::new(200, "text/html; charset=utf-8", body)];
    let server = Server::bounded(
        vec![
            ("/spans", page(spans.into_bytes())),
            ("/divs", page(divs.into_bytes())),
            ("/nul", page(vec![0u8; 2 * 1024 * 1024])),
            ("/lt", page(vec![b'<'; 2 * 1024 * 1024])),
        ],
        16,
    );
    let sb = Sandbox::new();
    let cfg = no_sources_but_the_web(&sb);
    let u = server.url();
    let q = format!("When was Hastings? {u}/spans {u}/divs {u}/nul {u}/lt");
    let mut cmd = sb.cmd();
    cmd.arg("--config").arg(&cfg).args(["ask", "--json", &q]);
    let t = Instant::now();
    let (code, stdout, stderr, peak_mb) = run_measured(cmd, 2048);
    let took = t.elapsed();
    assert_eq!(code, 0, "exit {code}; stderr:\n{stderr}");
    let v: serde_json::Value = serde_json::from_slice(&stdout).unwrap();
    let excerpts: Vec<&str> = v["sources"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["excerpt"].as_str())
        .collect();
    assert!(
        excerpts.iter().any(|e| e.contains("14 October 1066")),
        "the nested page's words were lost: {excerpts:?}"
    );
    assert!(
        excerpts.iter().any(|e| e.contains("Harold Godwinson")),
        "{excerpts:?}"
    );
    eprintln!("hostile pages: {took:?}, peak RSS {peak_mb:.0} MB");
    assert!(took < Duration::from_secs(30), "took {took:?}");
    assert!(peak_mb < 200.0, "peak RSS {peak_mb:.0} MB");
}

fn vm_rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Issue 24, item 3: a client that writes requests and does not read the
/// answers grew `sleuth mcp` by ~1.2 KB a request, without end. Now the
/// server stops reading past 64 unanswered requests, so its memory stays
/// put while the client's pipe fills, and every request is still answered
/// once the client reads.
#[test]
fn an_mcp_client_that_does_not_read_cannot_grow_the_server() {
    use std::io::{BufRead, BufReader, Write};
    let sb = Sandbox::new();
    let mut child = sb
        .cmd()
        .arg("mcp")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    writeln!(
        stdin,
        r#"{{"jsonrpc":"2.0","id":1,"method":"initialize","params":{{"protocolVersion":"2025-06-18","capabilities":{{}},"clientInfo":{{"name":"flood","version":"0"}}}}}}"#
    )
    .unwrap();
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert!(line.contains("serverInfo"), "{line}");
    writeln!(
        stdin,
        r#"{{"jsonrpc":"2.0","method":"notifications/initialized"}}"#
    )
    .unwrap();
    let idle = vm_rss_mb(child.id());
    const N: u64 = 20_000;
    let writer = std::thread::spawn(move || {
        for id in 2..N + 2 {
            let req = format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/list"}}"#);
            if writeln!(stdin, "{req}").is_err() {
                return None;
            }
        }
        Some(stdin)
    });
    // The client reads nothing for 3 s: the server may answer what fits
    // in the pipe, and must hold the rest unread.
    let mut peak: f64 = 0.0;
    let end = Instant::now() + Duration::from_secs(3);
    while Instant::now() < end {
        peak = peak.max(vm_rss_mb(child.id()));
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        !writer.is_finished(),
        "the server read all {N} requests with none of its answers read"
    );
    assert!(
        peak - idle < 30.0,
        "RSS grew from {idle:.0} to {peak:.0} MB with answers unread"
    );
    // Now the client reads: every request gets its answer.
    let mut answered = std::collections::HashSet::new();
    let deadline = Instant::now() + Duration::from_secs(90);
    while answered.len() < N as usize && Instant::now() < deadline {
        line.clear();
        if out.read_line(&mut line).unwrap() == 0 {
            break;
        }
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert!(v["result"]["tools"].is_array(), "{v}");
        answered.insert(v["id"].as_u64().unwrap());
    }
    assert_eq!(answered.len(), N as usize);
    drop(writer.join().unwrap());
    let status = common::wait_for(Duration::from_secs(10), || child.try_wait().unwrap());
    assert!(status.is_some_and(|s| s.success()));
}
