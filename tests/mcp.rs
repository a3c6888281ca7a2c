//! `sleuth mcp` against the official MCP Python SDK's client (pinned, in
//! a venv: tests/common/python.rs), and against raw JSON-RPC for what a
//! well-behaved client never sends.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)] // test code: a panic is the failure report

mod common;
#[path = "common/python.rs"]
mod python;
#[path = "common/wiki.rs"]
mod wiki;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::Sandbox;
use serde_json::{Value, json};
use sleuth::domain::Role;
use sleuth::store::StoreCommand;

/// A history to serve: two sessions, one answer citing a source.
fn history(sb: &Sandbox) {
    let t = 1_764_000_000_000;
    let mut answer = common::message(
        102,
        100,
        Role::Assistant,
        "WAL lets readers go on while one writer appends [1].",
        t + 2,
    );
    answer.model = Some("llama3.2".into());
    common::write_all(
        &sb.db(),
        vec![
            StoreCommand::CreateSession(common::session(100, "SQLite WAL mode", t)),
            StoreCommand::AppendMessage(common::message(
                101,
                100,
                Role::User,
                "How does SQLite's write-ahead log help concurrency?",
                t + 1,
            )),
            StoreCommand::FinishTurn {
                message: answer,
                sources: vec![common::source(
                    1,
                    "Write-Ahead Logging",
                    "https://sqlite.org/wal.html",
                    "WAL allows readers and a writer at once.",
                )],
            },
            StoreCommand::CreateSession(common::session(200, "Bread baking", t + 10)),
            StoreCommand::AppendMessage(common::message(
                201,
                200,
                Role::User,
                "Why does sourdough need a starter?",
                t + 11,
            )),
        ],
    );
}

/// Runs the Python client's `steps` against `sleuth mcp ARGS` in the
/// sandbox and returns its results.
fn client(sb: &Sandbox, steps: Value, args: &[&str]) -> Vec<Value> {
    let mut c = Command::new(python::python());
    c.arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/mcp/client.py"))
        .arg(steps.to_string())
        .arg("--")
        .arg(env!("CARGO_BIN_EXE_sleuth"))
        .args(args);
    for (k, v) in sb.env_pairs() {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "client failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn the_python_sdk_lists_and_calls_every_history_tool() {
    let sb = Sandbox::new();
    history(&sb);
    let r = client(
        &sb,
        json!([
            {"op": "init"},
            {"op": "list_tools"},
            {"op": "call", "name": "search_history", "args": {"query": "write-ahead concurrency"}},
            {"op": "call", "name": "search_history", "args": {"query": "sourdough role:user", "limit": 5}},
            {"op": "call", "name": "list_sessions", "args": {}},
            {"op": "call", "name": "list_sessions", "args": {"title": "bread"}},
            {"op": "call", "name": "show_session", "args": {"session": "100"}},
            {"op": "call", "name": "show_session", "args": {"session": "latest"}},
            {"op": "list_resources"},
            {"op": "list_templates"},
            {"op": "read_resource", "uri": "sleuth://session/100"},
        ]),
        &["mcp"],
    );
    assert_eq!(r[0]["name"], "sleuth");
    let tools: Vec<&str> = r[1]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        tools,
        [
            "search_history",
            "list_sessions",
            "show_session",
            "search_library",
            "research"
        ]
    );
    for t in r[1].as_array().unwrap() {
        assert!(t["description"].as_str().unwrap().len() > 100, "{t}");
        assert_eq!(t["schema"]["type"], "object");
        assert_eq!(t["schema"]["additionalProperties"], false);
    }
    assert_eq!(r[1][0]["read_only"], true);
    assert_eq!(r[1][3]["read_only"], true);
    assert_eq!(r[1][4]["read_only"], false);

    let hits = &r[2]["structured"]["hits"];
    assert_eq!(r[2]["is_error"], false);
    assert_eq!(hits[0]["session"], 100);
    assert_eq!(hits[0]["session_title"], "SQLite WAL mode");
    assert!(
        hits[0]["snippet"].as_str().unwrap().contains("**"),
        "{hits}"
    );
    assert!(hits[0]["date"].as_str().unwrap().starts_with("2025-11-2"));
    assert!(r[2]["text"].as_str().unwrap().contains("SQLite WAL mode"));
    let user_hits = r[3]["structured"]["hits"].as_array().unwrap();
    assert_eq!(user_hits.len(), 1);
    assert_eq!(user_hits[0]["message"], 201);
    assert_eq!(user_hits[0]["role"], "user");

    let all = &r[4]["structured"];
    assert_eq!(all["total"], 2);
    assert_eq!(all["sessions"][0]["title"], "Bread baking", "newest first");
    assert_eq!(all["sessions"][1]["messages"], 2);
    assert_eq!(all["sessions"][1]["uri"], "sleuth://session/100");
    assert_eq!(r[5]["structured"]["total"], 1);

    let md = r[6]["text"].as_str().unwrap();
    assert!(md.contains("# SQLite WAL mode"), "{md}");
    assert!(md.contains("How does SQLite's write-ahead log"), "{md}");
    assert!(md.contains("https://sqlite.org/wal.html"), "{md}");
    assert!(r[7]["text"].as_str().unwrap().contains("# Bread baking"));

    let res = r[8].as_array().unwrap();
    assert_eq!(res.len(), 2);
    assert_eq!(res[0]["uri"], "sleuth://session/200");
    assert_eq!(res[0]["mime"], "text/markdown");
    assert_eq!(r[9][0]["uri_template"], "sleuth://session/{id}");
    assert_eq!(r[10]["mime"], "text/markdown");
    assert!(
        r[10]["text"]
            .as_str()
            .unwrap()
            .contains("Write-Ahead Logging")
    );
}

#[test]
fn bad_calls_are_errors_a_model_can_act_on_and_the_server_keeps_serving() {
    let sb = Sandbox::new();
    history(&sb);
    let r = client(
        &sb,
        json!([
            {"op": "call", "name": "search_history", "args": {"query": 42}},
            {"op": "call", "name": "search_history", "args": {}},
            {"op": "call", "name": "search_history", "args": {"query": "-only -exclusions"}},
            {"op": "call", "name": "search_history", "args": {"query": "wal", "limit": 100000}},
            {"op": "call", "name": "search_history", "args": {"query": "wal", "lmit": 3}},
            {"op": "call", "name": "show_session", "args": {"session": "999999"}},
            {"op": "call", "name": "no_such_tool", "args": {}},
            {"op": "read_resource", "uri": "sleuth://session/999999"},
            {"op": "read_resource", "uri": "file:///etc/passwd"},
            {"op": "call", "name": "list_sessions", "args": {"limit": 1}},
        ]),
        &["mcp"],
    );
    let text = |i: usize| r[i]["text"].as_str().unwrap_or_default().to_string();
    for (i, call) in r.iter().enumerate().take(6) {
        assert_eq!(call["is_error"], true, "call {i}: {call}");
    }
    assert!(text(0).contains("`query` must be a string"), "{}", text(0));
    assert!(text(1).contains("`query` is required"), "{}", text(1));
    assert!(text(2).contains("give at least one word"), "{}", text(2));
    assert!(text(3).contains("from 0 to 100"), "{}", text(3));
    assert!(text(4).contains("unknown argument `lmit`"), "{}", text(4));
    assert!(text(5).contains("999999"), "{}", text(5));
    // Protocol errors, named: an unknown tool, a missing or foreign resource.
    let err = |i: usize| r[i]["error"].as_str().unwrap_or_default().to_string();
    assert!(
        err(6).contains("unknown tool `no_such_tool`") && err(6).contains("search_history"),
        "{}",
        r[6]
    );
    assert!(err(7).contains("999999"), "{}", r[7]);
    assert!(err(8).contains("sleuth://session/ID"), "{}", r[8]);
    // Still serving after all of that.
    assert_eq!(r[9]["is_error"], false);
    assert_eq!(r[9]["structured"]["sessions"].as_array().unwrap().len(), 1);
}

#[test]
fn read_only_has_no_research_tool_and_refuses_a_research_call() {
    let sb = Sandbox::new();
    history(&sb);
    let r = client(
        &sb,
        json!([
            {"op": "list_tools"},
            {"op": "call", "name": "research", "args": {"question": "anything?"}},
        ]),
        &["mcp", "--read-only"],
    );
    let names: Vec<&str> = r[0]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(!names.contains(&"research"), "{names:?}");
    assert_eq!(r[1]["is_error"], true);
    assert!(r[1]["text"].as_str().unwrap().contains("--read-only"));
}

#[test]
fn search_library_finds_the_users_papers_by_file_and_page() {
    let sb = Sandbox::new();
    // Before any folder is added: an empty answer that says what to do.
    let files = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/library/files");
    let dir = sb.path().join("papers");
    std::fs::create_dir(&dir).unwrap();
    for f in ["paper.pdflatex.pdf", "notes.md", "book.epub"] {
        std::fs::copy(format!("{files}/{f}"), dir.join(f)).unwrap();
    }
    let steps = json!([
        {"op": "call", "name": "search_library", "args": {"query": "specimen Q-17 revived years", "limit": 3}},
        {"op": "call", "name": "search_library", "args": {"query": "the of"}},
        {"op": "call", "name": "search_library", "args": {"query": "lens", "limt": 1}},
    ]);
    let r = client(&sb, steps.clone(), &["mcp", "--read-only"]);
    assert_eq!(r[0]["is_error"], false, "{}", r[0]);
    assert_eq!(r[0]["structured"]["hits"].as_array().unwrap().len(), 0);
    assert!(
        r[0]["structured"]["note"]
            .as_str()
            .unwrap()
            .contains("sleuth library add")
    );

    let out = sb
        .cmd()
        .args(["library", "add"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = client(&sb, steps, &["mcp", "--read-only"]);
    let hit = &r[0]["structured"]["hits"][0];
    assert!(
        hit["path"]
            .as_str()
            .unwrap()
            .ends_with("paper.pdflatex.pdf"),
        "{hit}"
    );
    assert_eq!(hit["page"], 2);
    assert_eq!(hit["place"], "paper.pdflatex.pdf · p. 2");
    assert!(
        hit["url"]
            .as_str()
            .unwrap()
            .ends_with("paper.pdflatex.pdf#page=2")
    );
    assert!(hit["text"].as_str().unwrap().contains("nineteen years"));
    assert_eq!(hit["title"], "Desiccation Tolerance in Tardigrades");
    assert_eq!(r[1]["is_error"], true);
    assert!(
        r[1]["text"]
            .as_str()
            .unwrap()
            .contains("give at least one word")
    );
    assert_eq!(r[2]["is_error"], true);
    assert!(
        r[2]["text"]
            .as_str()
            .unwrap()
            .contains("unknown argument `limt`")
    );
}

/// Loopback Wikipedia with the HotpotQA articles, and a config pointing
/// every source and the (absent) model at loopback.
fn research_config(sb: &Sandbox, wiki_url: &str) -> std::path::PathBuf {
    let cfg = sb.path().join("mcp.toml");
    std::fs::write(
        &cfg,
        format!(
            "[provider]\nbase_url = \"http://127.0.0.1:9\"\n\
             [sources.wikipedia]\nbase_url = \"{wiki_url}\"\n\
             [sources.hackernews]\nenabled = false\n[sources.arxiv]\nenabled = false\n"
        ),
    )
    .unwrap();
    cfg
}

fn hotpot_wiki(delay: Duration) -> wiki::Wiki {
    let (articles, _) = wiki::hotpot(&format!(
        "{}/../shared/fixtures/hotpot/hotpot-dev-distractor-15.json",
        env!("CARGO_MANIFEST_DIR")
    ));
    wiki::Wiki::with_delay(articles, false, 60, delay)
}

#[test]
fn research_answers_with_cited_sources_reports_progress_and_is_stored() {
    let sb = Sandbox::new();
    let w = hotpot_wiki(Duration::ZERO);
    let cfg = research_config(&sb, &w.url());
    let q = "What nationality was the film director Scott Derrickson?";
    let r = client(
        &sb,
        json!([
            {"op": "call", "name": "research", "args": {"question": q}, "progress": true},
            {"op": "call", "name": "search_history", "args": {"query": "Derrickson nationality"}},
        ]),
        &["--config", cfg.to_str().unwrap(), "mcp"],
    );
    let res = &r[0];
    assert_eq!(res["is_error"], false, "{res}");
    let s = &res["structured"];
    // No model answers (the provider is a closed port): the answer quotes
    // the best passages, citing them.
    assert_eq!(s["answer_kind"], "extractive", "{s}");
    assert_eq!(s["status"], "complete");
    let sources = s["sources"].as_array().unwrap();
    assert!(
        sources
            .iter()
            .any(|x| x["title"].as_str().unwrap().contains("Scott Derrickson")),
        "{sources:?}"
    );
    assert!(s["answer"].as_str().unwrap().contains("American"), "{s}");
    assert!(s["answer"].as_str().unwrap().contains("[1]"), "{s}");
    let text = res["text"].as_str().unwrap();
    assert!(text.contains("Sources:\n[1] "), "{text}");
    // Progress per stage, in order.
    let progress: Vec<&str> = res["progress"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap_or_default())
        .collect();
    let at = |prefix: &str| progress.iter().position(|p| p.starts_with(prefix));
    let (search, read, rank) = (at("searching:"), at("Wikipedia:"), at("ranked "));
    assert!(
        search.is_some() && read.is_some() && rank.is_some(),
        "{progress:?}"
    );
    assert!(search < read && read < rank, "{progress:?}");
    // Stored like any session, and found by the history tools.
    let session = s["session"].as_i64().unwrap();
    let hits = &r[1]["structured"]["hits"];
    assert!(
        hits.as_array()
            .unwrap()
            .iter()
            .any(|h| h["session"] == session),
        "{hits}"
    );
    let conn = sleuth::store::open_reader(&sb.db()).unwrap();
    let t = sleuth::store::queries::transcript(&conn, sleuth::domain::SessionId(session)).unwrap();
    assert_eq!(t.len(), 2);
    assert_eq!(t[1].message.status, sleuth::domain::MessageStatus::Complete);
    assert_eq!(t[1].sources.len(), sources.len());
}

/// A raw stdio client: JSON lines in, JSON lines out.
struct Raw {
    child: std::process::Child,
    stdin: Option<std::process::ChildStdin>,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Raw {
    fn start(sb: &Sandbox, args: &[&str]) -> Raw {
        let mut c = sb.cmd();
        c.args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = c.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for l in BufReader::new(stdout).lines() {
                let Ok(l) = l else { break };
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        let stdin = child.stdin.take();
        Raw {
            child,
            stdin,
            lines,
        }
    }

    fn send(&mut self, line: &str) {
        let s = self.stdin.as_mut().unwrap();
        writeln!(s, "{line}").unwrap();
        s.flush().unwrap();
    }

    /// The next message with this id (bounded wait).
    fn answer(&self, id: i64) -> Value {
        let end = Instant::now() + Duration::from_secs(20);
        while Instant::now() < end {
            if let Ok(l) = self.lines.recv_timeout(Duration::from_millis(100)) {
                let v: Value = serde_json::from_str(&l).unwrap_or(Value::Null);
                if v["id"] == id {
                    return v;
                }
            }
        }
        panic!("no answer to request {id}");
    }

    /// Any message at all within `wait` (a parse error answer, say).
    fn next(&self, wait: Duration) -> Option<Value> {
        self.lines
            .recv_timeout(wait)
            .ok()
            .map(|l| serde_json::from_str(&l).unwrap_or(Value::String(l)))
    }

    fn initialize(&mut self) {
        self.send(
            &json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                "protocolVersion": "2025-06-18", "capabilities": {},
                "clientInfo": {"name": "raw", "version": "0"}}})
            .to_string(),
        );
        let init = self.answer(1);
        assert_eq!(init["result"]["serverInfo"]["name"], "sleuth", "{init}");
        self.send(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
    }

    /// Closes stdin (the client goes away) and waits for the exit.
    fn hang_up(mut self, within: Duration) -> std::process::ExitStatus {
        drop(self.stdin.take());
        let end = Instant::now() + within;
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st;
            }
            if Instant::now() > end {
                let _ = self.child.kill();
                panic!("sleuth mcp did not exit within {within:?} of its client leaving");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

#[test]
fn malformed_json_rpc_gets_an_error_and_the_server_keeps_serving() {
    let sb = Sandbox::new();
    history(&sb);
    let mut raw = Raw::start(&sb, &["mcp"]);
    raw.initialize();
    raw.send("this is not json");
    let garbage = raw
        .next(Duration::from_secs(10))
        .expect("no answer to garbage");
    assert_eq!(garbage["error"]["code"], -32700, "{garbage}");
    // Valid JSON, not a valid request: the error carries its id, so a
    // client waiting on it does not hang.
    raw.send(r#"{"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": "not an object"}"#);
    let seven = raw.answer(7);
    assert_eq!(seven["error"]["code"], -32600, "{seven}");
    raw.send(r#"{"jsonrpc": "2.0", "id": 6, "method": "tools/call", "params": {"name": 5}}"#);
    assert!(raw.answer(6)["error"]["code"].is_i64());
    // A line over the 4 MB cap is dropped, not buffered.
    raw.send(&format!(
        r#"{{"jsonrpc":"2.0","id":5,"method":"ping","params":{{"pad":"{}"}}}}"#,
        "x".repeat(5 * 1024 * 1024)
    ));
    let big = raw
        .next(Duration::from_secs(10))
        .expect("no answer to the huge line");
    assert_eq!(big["error"]["message"], "message too large", "{big}");
    raw.send(r#"{"jsonrpc":"2.0","id":8,"method":"no/such/method"}"#);
    let eight = raw.answer(8);
    assert_eq!(eight["error"]["code"], -32601, "{eight}");
    raw.send(
        r#"{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"list_sessions","arguments":{}}}"#,
    );
    let nine = raw.answer(9);
    assert_eq!(
        nine["result"]["structuredContent"]["total"], 2,
        "still serving: {nine}"
    );
    let st = raw.hang_up(Duration::from_secs(10));
    assert!(st.success(), "{st:?}");
}

#[test]
fn a_client_leaving_mid_research_stops_the_turn_and_keeps_what_was_written() {
    let sb = Sandbox::new();
    // Every Wikipedia answer takes 8 s: the client leaves while the turn
    // is still reading, and the SDK's 5 s grace for requests in flight
    // runs out before it could finish.
    let w = hotpot_wiki(Duration::from_secs(8));
    let cfg = research_config(&sb, &w.url());
    let mut raw = Raw::start(&sb, &["--config", cfg.to_str().unwrap(), "mcp"]);
    raw.initialize();
    raw.send(
        &json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
            "name": "research", "arguments": {"question": "Who directed Sinister?"},
            "_meta": {"progressToken": "p1"}}})
        .to_string(),
    );
    // The turn has started (its first progress notification).
    let first = raw.next(Duration::from_secs(20)).expect("no progress");
    assert_eq!(first["method"], "notifications/progress", "{first}");
    let started = Instant::now();
    let st = raw.hang_up(Duration::from_secs(15));
    assert!(st.success(), "{st:?}");
    assert!(started.elapsed() < Duration::from_secs(15));
    // The question and an answer row are stored; nothing is left
    // "streaming".
    let conn = sleuth::store::open_reader(&sb.db()).unwrap();
    let s = sleuth::store::queries::resolve_session(&conn, "latest").unwrap();
    let t = sleuth::store::queries::transcript(&conn, s.id).unwrap();
    assert_eq!(t[0].message.content, "Who directed Sinister?");
    assert_eq!(t.len(), 2, "{t:?}");
    assert_eq!(
        t[1].message.status,
        sleuth::domain::MessageStatus::Interrupted
    );
}

// ---- MCP servers as research sources ----------------------------------

/// A config whose only source is the notes server in `mode`
/// (tests/mcp/notes_server.py, the Python SDK's MCPServer; raw_server.py
/// for garbage and floods), with its starts written to `starts`.
fn notes_config(
    sb: &Sandbox,
    mode: &str,
    timeout_secs: u64,
) -> (std::path::PathBuf, std::path::PathBuf) {
    let starts = sb.path().join(format!("starts-{mode}"));
    let cfg = sb.path().join(format!("notes-{mode}.toml"));
    std::fs::write(
        &cfg,
        format!(
            "[provider]\nbase_url = \"http://127.0.0.1:9\"\n\
             [research]\ntimeout_secs = {timeout_secs}\n\
             [sources.wikipedia]\nenabled = false\n[sources.hackernews]\nenabled = false\n\
             [sources.arxiv]\nenabled = false\n\
             [mcp.servers.notes]\ncommand = {py:?}\nargs = [{script:?}, {mode:?}, {starts:?}]\n\
             tool = \"search\"\nenv = [\"SLEUTH_TEST_SHARED\"]\n",
            py = python::python().display().to_string(),
            script = if matches!(mode, "garbage" | "flood") {
                concat!(env!("CARGO_MANIFEST_DIR"), "/tests/mcp/raw_server.py")
            } else {
                concat!(env!("CARGO_MANIFEST_DIR"), "/tests/mcp/notes_server.py")
            },
            starts = starts.display().to_string(),
        ),
    )
    .unwrap();
    (cfg, starts)
}

/// `sleuth ask --json` with `cfg`; the JSON, and how long it took.
fn ask(sb: &Sandbox, cfg: &std::path::Path, q: &str) -> (Value, Duration) {
    let t = Instant::now();
    let out = sb
        .cmd()
        .arg("--config")
        .arg(cfg)
        .args(["ask", "--json", q])
        .env("SLEUTH_TEST_SECRET", "do not leak me")
        .env("SLEUTH_TEST_SHARED", "passed on")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (serde_json::from_slice(&out.stdout).unwrap(), t.elapsed())
}

fn notes_status(v: &Value) -> Value {
    v["source_status"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["source"] == "mcp:notes")
        .cloned()
        .unwrap_or_else(|| panic!("no mcp:notes status: {v}"))
}

/// The pids the server wrote, one per start; each must be gone (no
/// zombie, no orphan) once sleuth has exited.
fn starts_are_gone(starts: &std::path::Path) -> usize {
    let pids: Vec<u32> = std::fs::read_to_string(starts)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    for pid in &pids {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let cmdline = std::fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        assert!(
            stat.is_empty() || !cmdline.contains("_server.py"),
            "server {pid} is still there: {stat}"
        );
    }
    pids.len()
}

#[test]
fn an_mcp_server_is_a_research_source_cited_like_any_other() {
    let sb = Sandbox::new();
    let (cfg, starts) = notes_config(&sb, "ok", 20);
    let (v, _) = ask(&sb, &cfg, "Where do quokkas live?");
    let st = notes_status(&v);
    assert_eq!(st["outcome"], "ok", "{st}");
    let cited = v["sources"].as_array().unwrap();
    assert!(
        cited
            .iter()
            .any(|s| s["kind"] == "mcp:notes" && s["title"] == "Quokka field notes"),
        "{cited:?}"
    );
    let answer = v["answer"].as_str().unwrap();
    assert!(
        answer.contains("Rottnest Island") && answer.contains("[1]"),
        "{answer}"
    );
    // Only the variables the config lists reach the server.
    let (v, _) = ask(&sb, &cfg, "Is the secret visible, and the shared variable?");
    let answer = v["answer"].as_str().unwrap();
    assert!(
        answer.contains("The secret is not visible; the shared variable is passed on"),
        "{answer}"
    );
    assert_eq!(starts_are_gone(&starts), 2, "one server per sleuth run");
    // Stored with its kind, shown by `show`.
    let show = sb.cmd().args(["show", "latest"]).output().unwrap();
    assert!(String::from_utf8_lossy(&show.stdout).contains("Environment"));
}

#[test]
fn a_broken_mcp_source_is_reported_killed_restarted_once_and_never_fails_the_turn() {
    let sb = Sandbox::new();
    // (mode, timeout, what the status says, starts expected)
    for (mode, secs, says, starts_wanted) in [
        ("crash", 10, "the call failed", 2),
        ("garbage", 10, "non-JSON", 2),
        ("flood", 10, "over the size cap", 2),
        ("hang", 3, "no answer within 3 s", 1),
    ] {
        let (cfg, starts) = notes_config(&sb, mode, secs);
        let (v, took) = ask(&sb, &cfg, "Where do quokkas live?");
        let st = notes_status(&v);
        assert_ne!(st["outcome"], "ok", "{mode}: {st}");
        let err = st["error"].as_str().unwrap_or_default();
        assert!(err.contains(says), "{mode}: {err}");
        assert!(
            took < Duration::from_secs(secs + 8),
            "{mode}: the turn took {took:?}"
        );
        assert_eq!(v["status"], "complete", "{mode}: the turn still answers");
        assert_eq!(starts_are_gone(&starts), starts_wanted, "{mode}: starts");
    }
}

#[test]
fn a_server_that_cannot_start_says_why() {
    let sb = Sandbox::new();
    let not_exec = sb.path().join("not-executable.sh");
    std::fs::write(&not_exec, "#!/bin/sh\necho hi\n").unwrap();
    let cfg = sb.path().join("bad.toml");
    std::fs::write(
        &cfg,
        format!(
            "[provider]\nbase_url = \"http://127.0.0.1:9\"\n\
             [sources.wikipedia]\nenabled = false\n[sources.hackernews]\nenabled = false\n\
             [sources.arxiv]\nenabled = false\n\
             [mcp.servers.broken]\ncommand = {p:?}\ntool = \"search\"\n\
             [mcp.servers.missing]\ncommand = \"/nonexistent/mcp-server\"\ntool = \"search\"\n",
            p = not_exec.display().to_string()
        ),
    )
    .unwrap();
    let (v, _) = ask(&sb, &cfg, "anything at all?");
    let statuses = v["source_status"].as_array().unwrap();
    let err = |k: &str| {
        statuses
            .iter()
            .find(|s| s["source"] == k)
            .map(|s| s["error"].as_str().unwrap_or_default().to_string())
            .unwrap_or_default()
    };
    assert!(
        err("mcp:broken").contains("cannot start")
            && err("mcp:broken").contains("ermission denied"),
        "{statuses:?}"
    );
    assert!(err("mcp:missing").contains("cannot start"), "{statuses:?}");
}

#[test]
fn doctor_starts_each_mcp_source_and_lists_its_tools() {
    let sb = Sandbox::new();
    let (cfg, starts) = notes_config(&sb, "ok", 20);
    let mut text = std::fs::read_to_string(&cfg).unwrap();
    text.push_str(&format!(
        "[mcp.servers.wrongtool]\ncommand = {py:?}\nargs = [{script:?}, \"ok\", {starts:?}]\ntool = \"fetch\"\n",
        py = python::python().display().to_string(),
        script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/mcp/notes_server.py"),
        starts = starts.display().to_string(),
    ));
    std::fs::write(&cfg, text).unwrap();
    let out = sb
        .cmd()
        .arg("--config")
        .arg(&cfg)
        .args(["doctor", "--json"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "a failed check fails doctor");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mcp = v["mcp"].as_array().unwrap();
    let notes = mcp.iter().find(|m| m["name"] == "notes").unwrap();
    assert_eq!(notes["ok"], true, "{notes}");
    assert_eq!(notes["tools"], json!(["search"]));
    let wrong = mcp.iter().find(|m| m["name"] == "wrongtool").unwrap();
    assert_eq!(wrong["ok"], false);
    assert!(
        wrong["detail"]
            .as_str()
            .unwrap()
            .contains("no tool `fetch` (it has: search)"),
        "{wrong}"
    );
    assert_eq!(starts_are_gone(&starts), 2, "both stopped after the check");
}

#[test]
fn ctrl_c_while_an_mcp_source_hangs_stops_and_reaps_it() {
    let sb = Sandbox::new();
    let (cfg, starts) = notes_config(&sb, "hang", 60);
    let mut child = sb
        .cmd()
        .arg("--config")
        .arg(&cfg)
        .args(["ask", "Where do quokkas live?"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the server has started (and is hanging on the call).
    let end = Instant::now() + Duration::from_secs(20);
    while std::fs::read_to_string(&starts)
        .unwrap_or_default()
        .is_empty()
    {
        assert!(Instant::now() < end, "the MCP source never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(500));
    let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::INT).unwrap();
    let stopped = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        assert!(
            stopped.elapsed() < Duration::from_secs(10),
            "sleuth did not exit after Ctrl+C"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(130), "{status:?}");
    assert_eq!(starts_are_gone(&starts), 1);
}

#[test]
fn a_launcher_and_the_server_it_started_are_killed_together() {
    // `sh` starts the real server as its child (not exec): the server is
    // sleuth's grandchild. A hung call kills the whole group, so the
    // server is not left to PID 1.
    let sb = Sandbox::new();
    let (cfg, starts) = notes_config(&sb, "hang", 3);
    let text = std::fs::read_to_string(&cfg).unwrap();
    let py = python::python().display().to_string();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/mcp/notes_server.py");
    let line = format!(
        "command = \"/bin/sh\"\nargs = [\"-c\", {:?}]\n",
        format!("{py} {script} hang {}; true", starts.display())
    );
    let text = text
        .lines()
        .map(|l| {
            if l.starts_with("command = ") {
                line.trim_end().to_string()
            } else if l.starts_with("args = ") {
                String::new()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&cfg, text).unwrap();
    let (v, took) = ask(&sb, &cfg, "Where do quokkas live?");
    let st = notes_status(&v);
    assert!(
        st["error"]
            .as_str()
            .unwrap_or_default()
            .contains("no answer within 3 s"),
        "{st}"
    );
    assert!(took < Duration::from_secs(12), "{took:?}");
    assert_eq!(
        starts_are_gone(&starts),
        1,
        "the server under sh is gone too"
    );
}
