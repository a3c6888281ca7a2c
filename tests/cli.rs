//! The real binary's subcommands against a fixture database.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)] // test code: a panic is the failure report

mod common;
#[path = "common/server.rs"]
mod server;

use common::{Sandbox, fixture_db};

fn run(sb: &Sandbox, args: &[&str]) -> (i32, String, String) {
    let out = sb.cmd().args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn sessions_lists_newest_first_as_text_and_json() {
    let sb = Sandbox::new();
    fixture_db(&sb.db());
    let (code, out, err) = run(&sb, &["sessions"]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("ID"));
    assert!(lines[1].contains("1002") && lines[1].contains("SQLite WAL mode"));
    assert!(lines[2].contains("1001") && lines[2].contains("Rust borrow checker"));

    let (code, out, _) = run(&sb, &["sessions", "--json", "--limit", "1"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let arr = v.as_array().unwrap();
    assert_eq!(arr.len(), 1);
    assert_eq!(arr[0]["id"], 1002);
    assert_eq!(arr[0]["title"], "SQLite WAL mode");
    assert_eq!(arr[0]["message_count"], 1);
}

#[test]
fn sessions_on_a_fresh_machine_says_there_are_none() {
    let sb = Sandbox::new();
    let (code, out, err) = run(&sb, &["sessions"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("No sessions yet"));
    // Reading never creates the database (issue 11, case 17).
    assert!(!sb.db().exists());
}

#[test]
fn show_prints_the_transcript_with_sources() {
    let sb = Sandbox::new();
    fixture_db(&sb.db());
    let (code, out, _) = run(&sb, &["show", "1001"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("# Rust borrow checker"));
    assert!(out.contains("How does the borrow checker work?"));
    assert!(out.contains("[1] [Borrow checker](https://en.wikipedia.org/wiki/Borrow_checker)"));

    let (code, out, _) = run(&sb, &["show", "latest", "--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["session"]["id"], 1002);
    assert_eq!(v["messages"][0]["content"], "What is WAL mode?");
    assert_eq!(v["messages"][0]["role"], "user");
}

#[test]
fn export_writes_markdown_or_json_to_a_file() {
    let sb = Sandbox::new();
    fixture_db(&sb.db());
    let md = sb.path().join("out.md");
    let (code, out, _) = run(&sb, &["export", "1001", "-o", md.to_str().unwrap()]);
    assert_eq!((code, out.as_str()), (0, ""));
    let text = std::fs::read_to_string(&md).unwrap();
    assert!(text.contains("## sleuth"));
    assert!(text.contains("**Sources**"));
    // One list item per source, so Markdown does not run them together.
    assert!(text.contains("\n- [1] [Borrow checker]"), "{text}");
    assert!(text.contains("\n- [2] [Aliasing]"), "{text}");

    let (code, out, _) = run(&sb, &["export", "1001", "--format", "json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let answer = &v["messages"][1];
    assert_eq!(answer["sources"][0]["ordinal"], 1);
    assert_eq!(
        answer["sources"][1]["url"],
        "https://en.wikipedia.org/wiki/Aliasing_(computing)"
    );
}

#[test]
fn escape_sequences_in_stored_text_are_inert_on_stdout() {
    let sb = Sandbox::new();
    common::write_all(
        &sb.db(),
        vec![
            sleuth::store::StoreCommand::CreateSession(common::session(
                5,
                "evil\x1b]52;c;cHduZWQ=\x07 title",
                1,
            )),
            sleuth::store::StoreCommand::AppendMessage(common::message(
                6,
                5,
                sleuth::domain::Role::Assistant,
                "clear\x1b[2J\x1b[H screen \u{202E}gnp.exe",
                2,
            )),
        ],
    );
    for args in [&["sessions"][..], &["show", "5"], &["export", "5"]] {
        let (code, out, _) = run(&sb, args);
        assert_eq!(code, 0);
        assert!(
            !out.contains('\x1b') && !out.contains('\u{202E}'),
            "{args:?}: {out:?}"
        );
    }
    let (_, out, _) = run(&sb, &["show", "5"]);
    assert!(out.contains("clear screen gnp.exe"));
}

#[test]
fn usage_errors_exit_2_with_one_line() {
    let sb = Sandbox::new();
    for args in [
        &["--bogus"][..],
        &["show"],
        &["sessions", "--limit", "many"],
        &["frobnicate"],
    ] {
        let (code, out, err) = run(&sb, args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert_eq!(out, "");
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("sleuth: "), "{err}");
    }
    // clap's details survive on that line (issue 15, bug 12).
    for (args, detail) in [
        (&["show"][..], "<SESSION>"),
        (&["sessions", "--jsn"], "'--json'"),
        (&["export", "1", "--format", "yaml"], "markdown, json"),
    ] {
        let (code, _, err) = run(&sb, args);
        assert_eq!(code, 2);
        assert!(err.contains(detail), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
    }
    let (code, out, _) = run(&sb, &["--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("sessions") && out.contains("doctor") && !out.contains("write-loop"));
}

/// Issue 15, bug 11: a failed answer is saved with why it failed, and
/// `show` (and `--json`) say it.
#[test]
fn a_failed_answer_keeps_its_reason() {
    let sb = Sandbox::new();
    // The provider is a closed loopback port: the turn fails.
    let (code, _, err) = run(&sb, &["ask", "--no-research", "anyone there?"]);
    assert_eq!(code, 1, "{err}");
    let reason = err.trim().trim_start_matches("sleuth: ").to_string();
    let (code, out, _) = run(&sb, &["show", "latest"]);
    assert_eq!(code, 0);
    assert!(out.contains("(error)"), "{out}");
    assert!(
        out.contains(&format!("> failed: {reason}")),
        "{out}\n--- {reason}"
    );
    let (_, out, _) = run(&sb, &["show", "latest", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["messages"][1]["status"], "error");
    assert_eq!(v["messages"][1]["error"], reason.as_str());
}

#[test]
fn failures_exit_1_with_one_clear_line() {
    let sb = Sandbox::new();
    fixture_db(&sb.db());
    let (code, _, err) = run(&sb, &["show", "424242"]);
    assert_eq!((code, err.trim()), (1, "sleuth: no session 424242"));

    // A corrupt database names the file and is not modified.
    let bad = sb.path().join("bad.db");
    std::fs::write(&bad, vec![0x5a; 4096]).unwrap();
    let (code, _, err) = run(&sb, &["--db", bad.to_str().unwrap(), "sessions"]);
    assert_eq!(code, 1);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains(bad.to_str().unwrap()) && err.contains("not a usable sleuth database"),
        "{err}"
    );
    assert_eq!(std::fs::read(&bad).unwrap(), vec![0x5a; 4096]);
}

#[test]
fn an_invalid_config_names_file_line_and_key_before_anything_starts() {
    let sb = Sandbox::new();
    let cfg = sb.path().join("bad.toml");
    std::fs::write(
        &cfg,
        "[provider]\nmodel = \"x\"\n\n[research]\ntop_k = \"lots\"\n",
    )
    .unwrap();
    // The TUI itself must refuse before touching the terminal: no stdout.
    let (code, out, err) = run(&sb, &["--config", cfg.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(out, "");
    assert!(err.contains(cfg.to_str().unwrap()), "{err}");
    assert!(
        err.contains("line 5") && err.contains("research.top_k"),
        "{err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
}

#[test]
fn unknown_config_keys_are_warned_about_not_fatal() {
    let sb = Sandbox::new();
    let cfg = sb.path().join("c.toml");
    std::fs::write(
        &cfg,
        format!("{}\n[ui]\nmodle = \"typo\"\n", common::LOOPBACK_CONFIG),
    )
    .unwrap();
    let (code, out, _) = run(
        &sb,
        &["--config", cfg.to_str().unwrap(), "doctor", "--json"],
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["config"]["unknown_keys"][0], "ui.modle");
    assert_eq!(v["config"]["found"], true);
    // No provider answers: a FAIL line, so doctor exits 1 (issue 15, bug 13).
    assert_eq!(code, 1);
    assert_eq!(v["provider"]["reachable"], false);
    assert!(
        v["provider"]["summary"]
            .as_str()
            .unwrap()
            .contains("ollama serve")
    );
}

#[test]
fn doctor_reads_a_loopback_provider() {
    // A one-shot Ollama that answers /api/tags with the recorded fixture.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let body = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/fixtures/ollama_tags.json"
    ))
    .unwrap();
    let server = std::thread::spawn(move || {
        use std::io::{Read, Write};
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = [0u8; 4096];
        let n = s.read(&mut buf).unwrap();
        let req = String::from_utf8_lossy(&buf[..n]).to_string();
        write!(s, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).unwrap();
        req
    });
    let sb = Sandbox::new();
    let url = format!("http://{addr}");
    let (_, out, _) = run(&sb, &["--base-url", &url, "doctor", "--json"]);
    let req = server.join().unwrap();
    assert!(req.starts_with("GET /api/tags "), "{req}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["provider"]["reachable"], true, "{out}");
    assert!(
        v["provider"]["models"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m == "llama3.2:latest")
    );
    assert_eq!(v["provider"]["model_found"], true);
    // Sources point at a closed loopback port in the sandbox config.
    assert_eq!(v["sources"][0]["reachable"], false);
}

#[test]
fn debug_generate_fills_a_database_deterministically() {
    let sb = Sandbox::new();
    let (code, out, err) = run(
        &sb,
        &["debug", "generate", "--sessions", "5", "--messages", "300"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("generated 300 messages in 5 sessions"));
    let (_, out, _) = run(&sb, &["sessions", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let counts: Vec<i64> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["message_count"].as_i64().unwrap())
        .collect();
    assert_eq!(counts.iter().sum::<i64>(), 300);
    assert_eq!(counts.len(), 5);
}

#[test]
fn an_unusable_database_directory_is_a_clear_error() {
    let sb = Sandbox::new();
    let file = sb.path().join("plainfile");
    std::fs::write(&file, "x").unwrap();
    let db = file.join("sub").join("sleuth.db");
    // The TUI refuses before touching the terminal, like the commands do.
    for args in [&[][..], &["sessions"]] {
        let mut full = vec!["--db", db.to_str().unwrap()];
        full.extend_from_slice(args);
        let (code, out, err) = run(&sb, &full);
        assert_eq!((code, out.as_str()), (1, ""), "{err}");
        assert!(
            err.starts_with("sleuth: cannot open database") && err.contains("plainfile"),
            "{err}"
        );
    }
}

/// Issue 11, case 10: JSON output escapes C1 and bidi controls (serde
/// escapes only C0), and still holds exactly the stored text.
#[test]
fn json_outputs_carry_no_raw_c1_or_bidi_characters() {
    let sb = Sandbox::new();
    let hostile = "evil\u{9b}2J and \u{202e}fdp.exe\u{2028}!";
    common::write_all(
        &sb.db(),
        vec![
            sleuth::store::StoreCommand::CreateSession(common::session(7, "t", 1)),
            sleuth::store::StoreCommand::AppendMessage(common::message(
                70,
                7,
                sleuth::domain::Role::User,
                hostile,
                2,
            )),
        ],
    );
    for args in [
        vec!["show", "latest", "--json"],
        vec!["export", "latest", "--format", "json"],
        vec!["search", "evil", "--json"],
    ] {
        let out = sb.cmd().args(&args).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            !text.contains('\u{9b}') && !text.contains('\u{202e}') && !text.contains('\u{2028}'),
            "{args:?}: {text:?}"
        );
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        if args[0] == "show" {
            assert_eq!(v["messages"][0]["content"], hostile);
        }
    }
}

/// Issue 15, bug 7: `sleuth sessions | head -2` is not a failure.
#[test]
fn a_reader_that_leaves_early_is_not_an_error() {
    use std::io::Read;
    let sb = Sandbox::new();
    let db = sb.db();
    let generated = sb
        .cmd()
        .arg("--db")
        .arg(&db)
        .args([
            "debug",
            "generate",
            "--sessions",
            "3000",
            "--messages",
            "3000",
        ])
        .output()
        .unwrap();
    assert!(
        generated.status.success(),
        "{}",
        String::from_utf8_lossy(&generated.stderr)
    );
    let mut child = sb
        .cmd()
        .arg("--db")
        .arg(&db)
        .args(["sessions", "--limit", "3000"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 16];
    stdout.read_exact(&mut first).unwrap();
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Issue 11, case 17: reading commands never create a database; a
/// directory given as --db is named as the mistake. Issue 24, item 12: a
/// file named by --db that does not exist is an error, exit 1 (it looked
/// like an empty history); SLEUTH_DB, set once for every machine, and the
/// default path still read as "no sessions yet".
#[test]
fn reading_a_missing_database_creates_nothing_and_a_directory_is_named() {
    let sb = Sandbox::new();
    let missing = sb.path().join("typo.db");
    for cmd in [
        vec!["sessions"],
        vec!["search", "anything", "--json"],
        vec!["runs"],
    ] {
        let out = sb
            .cmd()
            .arg("--db")
            .arg(&missing)
            .args(&cmd)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{cmd:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("there is no database at") && err.contains("typo.db"),
            "{cmd:?}: {err}"
        );
        assert!(out.stdout.is_empty(), "{cmd:?}");
    }
    let out = sb
        .cmd()
        .env("SLEUTH_DB", &missing)
        .arg("sessions")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("No sessions yet"));
    let out = sb
        .cmd()
        .env("SLEUTH_DB", &missing)
        .args(["search", "anything", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "[]");
    let out = sb
        .cmd()
        .arg("--db")
        .arg(&missing)
        .args(["show", "latest"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no database at"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!missing.exists(), "a reading command created the file");
    for cmd in [vec!["sessions"], vec!["ask", "--no-research", "q"]] {
        let out = sb
            .cmd()
            .arg("--db")
            .arg(sb.path())
            .args(&cmd)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{cmd:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("it is a directory"), "{cmd:?}: {err}");
    }
}

#[test]
fn sessions_aligns_its_columns_and_says_how_many_there_are() {
    let sb = Sandbox::new();
    fixture_db(&sb.db());
    let (code, out, err) = run(&sb, &["sessions", "--limit", "1"]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    // Every column starts where its header does.
    let at = |line: &str, what: &str| line.find(what).unwrap();
    assert_eq!(at(lines[0], "LAST ACTIVE"), at(lines[1], "20"), "{out}");
    assert_eq!(
        lines[2],
        "1 of 2 sessions (--limit N for more; `show ID` takes a unique id prefix or `latest`)"
    );
    let (_, out, _) = run(&sb, &["sessions"]);
    assert_eq!(out.lines().last(), Some("2 sessions"));
}

#[test]
fn show_takes_a_unique_id_prefix_or_latest() {
    let sb = Sandbox::new();
    fixture_db(&sb.db());
    let (code, by_prefix, err) = run(&sb, &["show", "1002"]);
    assert_eq!(code, 0, "{err}");
    let (_, latest, _) = run(&sb, &["show", "latest"]);
    assert_eq!(by_prefix, latest);
    // 100 is the start of both fixture sessions' ids.
    let (code, _, err) = run(&sb, &["show", "100"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("ambiguous") && err.contains("1001") && err.contains("1002"),
        "{err}"
    );
}

#[test]
fn ask_joins_unquoted_words_and_reads_a_dash_from_stdin() {
    use std::io::Write;
    let sb = Sandbox::new();
    let base = ["--base-url", "http://127.0.0.1:9", "ask", "--no-research"];
    let mut args = base.to_vec();
    args.extend(["how", "do", "tardigrades", "survive"]);
    let (_, _, err) = run(&sb, &args);
    assert!(!err.contains("unexpected argument"), "{err}");
    let mut child = sb
        .cmd()
        .args(base)
        .arg("-")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"what do water bears eat?\n")
        .unwrap();
    child.wait_with_output().unwrap();
    let conn = sleuth::store::open_reader(&sb.db()).unwrap();
    let mut stmt = conn
        .prepare("SELECT content FROM messages WHERE role = 'user' ORDER BY created_at")
        .unwrap();
    let asked: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        asked,
        ["how do tardigrades survive", "what do water bears eat?"]
    );
}

#[test]
fn an_older_database_is_upgraded_once_and_says_so() {
    let sb = Sandbox::new();
    fixture_db(&sb.db());
    rusqlite::Connection::open(sb.db())
        .unwrap()
        .execute_batch(
            "DROP TABLE claims; DROP TABLE term_stats; DROP TABLE term_stats_state; ALTER TABLE sources DROP COLUMN meta; DROP INDEX sessions_origin; ALTER TABLE sessions DROP COLUMN origin;
             ALTER TABLE sessions DROP COLUMN settings; ALTER TABLE messages DROP COLUMN off_branch;
             UPDATE messages SET parent_id = NULL; PRAGMA user_version = 5;",
        )
        .unwrap();
    let (code, out, err) = run(&sb, &["sessions"]);
    assert_eq!(code, 0, "{err}");
    let v = format!("schema v{}", sleuth::store::schema::CURRENT_VERSION);
    assert!(err.contains("upgrading") && err.contains(&v), "{err}");
    assert!(out.contains("Rust borrow checker"), "{out}");
    // Once: the next command says nothing.
    let (_, _, err) = run(&sb, &["sessions"]);
    assert!(!err.contains("upgrading"), "{err}");
}

#[test]
fn a_named_config_that_does_not_exist_is_an_error_not_the_defaults() {
    let sb = Sandbox::new();
    let missing = sb.path().join("work.toml");
    let (code, out, err) = run(&sb, &["--config", missing.to_str().unwrap(), "sessions"]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("work.toml does not exist"), "{err}");
    let r = sb
        .cmd()
        .env("SLEUTH_CONFIG", &missing)
        .args(["ask", "--no-research", "hello"])
        .output()
        .unwrap();
    assert_eq!(r.status.code(), Some(2));
    assert!(!sb.db().exists(), "nothing ran: no database was made");
}

/// Makes `dir` read-only for this process (root ignores modes: then the
/// immutable attribute), undone on drop.
struct ReadOnlyDir(std::path::PathBuf, bool);

impl ReadOnlyDir {
    fn new(dir: &std::path::Path) -> Self {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o555)).unwrap();
        let probe = dir.join(".probe");
        if std::fs::write(&probe, b"x").is_err() {
            return Self(dir.to_path_buf(), false);
        }
        std::fs::remove_file(&probe).unwrap();
        let ok = std::process::Command::new("chattr")
            .arg("+i")
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            ok && std::fs::write(&probe, b"x").is_err(),
            "cannot make {} read-only on this machine (mode 0555, chattr +i)",
            dir.display()
        );
        Self(dir.to_path_buf(), true)
    }
}

impl Drop for ReadOnlyDir {
    fn drop(&mut self) {
        use std::os::unix::fs::PermissionsExt;
        if self.1 {
            let _ = std::process::Command::new("chattr")
                .arg("-i")
                .arg(&self.0)
                .status();
        }
        let _ = std::fs::set_permissions(&self.0, std::fs::Permissions::from_mode(0o755));
    }
}

/// Issue 24, item 23: reading commands on a database in a directory this
/// user may not write (a backup mount, another user's files) failed with
/// "attempt to write a readonly database" (no WAL index can be made
/// there); they read the file as it stands.
#[test]
fn reading_commands_work_in_a_read_only_directory() {
    let sb = Sandbox::new();
    let out = sb
        .cmd()
        .args(["ask", "--no-research", "tardigrades in a read-only place"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "no model: the question is kept");
    let dir = sb.db().parent().unwrap().to_path_buf();
    for ext in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{ext}", sb.db().display()));
    }
    let _ro = ReadOnlyDir::new(&dir);
    for cmd in [
        vec!["sessions"],
        vec!["search", "tardigrades"],
        vec!["show", "latest"],
    ] {
        let out = sb.cmd().args(&cmd).output().unwrap();
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert!(out.status.success(), "{cmd:?}: {stderr}");
        assert!(stdout.contains("tardigrades"), "{cmd:?}: {stdout}");
    }
}

/// Issue 24, item 21: doctor printed "ok … HTTP 404" for a source (it
/// fetched the host's root, not the API) and made the database file it
/// was only to look at. It asks each source's own endpoint, fails a
/// source whose API answers an error, and leaves a missing file missing.
#[test]
fn doctor_asks_each_sources_api_and_makes_no_database() {
    use server::{Reply, Server};
    let wiki = Server::routed(vec![
        ("/", vec![Reply::new(404, "text/plain", b"no".to_vec())]),
        (
            "/w/api.php",
            vec![Reply::new(200, "application/json", b"{}".to_vec())],
        ),
    ]);
    let hn = Server::routed(vec![(
        "/",
        vec![Reply::new(404, "text/plain", b"not here".to_vec())],
    )]);
    let sb = Sandbox::new();
    let cfg = sb.path().join("doctor.toml");
    std::fs::write(
        &cfg,
        format!(
            "[provider]\nbase_url = \"http://127.0.0.1:9\"\n[sources.wikipedia]\nbase_url = \"{}\"\n\
             [sources.hackernews]\nbase_url = \"{}\"\n[sources.arxiv]\nenabled = false\n",
            wiki.url(),
            hn.url()
        ),
    )
    .unwrap();
    let (code, out, _) = run(
        &sb,
        &["--config", cfg.to_str().unwrap(), "doctor", "--json"],
    );
    assert_eq!(code, 1, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let source = |name: &str| {
        v["sources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap()
            .clone()
    };
    let w = source("wikipedia");
    assert_eq!(w["reachable"], true, "{w}");
    assert!(w["detail"].as_str().unwrap().contains("/w/api.php"), "{w}");
    let h = source("hackernews");
    assert_eq!(h["reachable"], false, "{h}");
    assert!(h["detail"].as_str().unwrap().contains("HTTP 404"), "{h}");
    assert!(
        wiki.requests()
            .iter()
            .all(|r| r.path.starts_with("/w/api.php")),
        "the root was asked"
    );
    assert!(!sb.db().exists(), "doctor made the database");
    assert_eq!(v["database"]["ok"], true, "{}", v["database"]);
}
