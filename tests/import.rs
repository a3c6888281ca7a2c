//! `sleuth import` on files shaped like the real exports (tests/import/,
//! SOURCES.md says where each shape comes from) and on llm databases
//! written by the real llm package: branches kept, re-imports idempotent,
//! bad and partial files reported with what was valid kept.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)] // test code: a panic is the failure report

mod common;
#[path = "common/python.rs"]
mod python;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::Sandbox;
use serde_json::Value;
use sleuth::domain::{Message, MessageId, Role, SessionId};
use sleuth::store::{self, queries};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/import")
        .join(name)
}

fn import(sb: &Sandbox, format: &str, file: &Path) -> Output {
    sb.cmd()
        .args(["import", format])
        .arg(file)
        .arg("--json")
        .output()
        .unwrap()
}

fn report(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// The session imported from `origin`, with its transcript (the branch shown).
fn session(sb: &Sandbox, origin: &str) -> (SessionId, Vec<Message>) {
    let conn = store::open_reader(&sb.db()).unwrap();
    let id: i64 = conn
        .query_row("SELECT id FROM sessions WHERE origin = ?1", [origin], |r| {
            r.get(0)
        })
        .unwrap_or_else(|e| panic!("no session from {origin}: {e}"));
    let shown = queries::transcript(&conn, SessionId(id))
        .unwrap()
        .into_iter()
        .map(|m| m.message)
        .collect();
    (SessionId(id), shown)
}

fn texts(ms: &[Message]) -> Vec<&str> {
    ms.iter().map(|m| m.content.as_str()).collect()
}

fn counts(sb: &Sandbox) -> (i64, i64) {
    let conn = store::open_reader(&sb.db()).unwrap();
    conn.query_row(
        "SELECT (SELECT count(*) FROM sessions), (SELECT count(*) FROM messages)",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .unwrap()
}

const SKY: &str = "chatgpt:6659a1b2-0c4d-8000-9f3e-aa11bb22cc33";

#[test]
fn chatgpt_keeps_every_branch_and_shows_the_one_chatgpt_showed() {
    let sb = Sandbox::new();
    let out = import(&sb, "chatgpt", &fixture("chatgpt-conversations.json"));
    assert!(out.status.success(), "{out:?}");
    let r = report(&out);
    assert_eq!(r["conversations"], 3);
    assert_eq!(r["messages_added"], 12);
    assert_eq!(r["skipped"][0]["reason"], "no messages", "the empty chat");

    let (_, shown) = session(&sb, SKY);
    assert_eq!(
        texts(&shown),
        [
            "Why is the sky blue?",
            "Short answer: Rayleigh scattering. Shorter wavelengths scatter more.",
            "And why are sunsets orange on Mars? No — blue?",
            "Martian dust scatters red light forward, so sunsets on Mars look blue.",
        ],
        "current_node's branch"
    );
    assert_eq!(shown[3].model.as_deref(), Some("gpt-4o-mini"));
    let conn = store::open_reader(&sb.db()).unwrap();
    // The regenerated answer and the edited question are kept beside them.
    let answers = queries::siblings(&conn, shown[1].id).unwrap();
    assert_eq!(answers.len(), 2);
    assert!(answers[0].content.starts_with("Because of Rayleigh"));
    let questions = queries::siblings(&conn, shown[2].id).unwrap();
    assert_eq!(
        texts(&questions),
        [
            "And why are sunsets red?",
            "And why are sunsets orange on Mars? No — blue?"
        ]
    );
    // Search follows the branch shown: the other branch's answer is not a hit.
    let hits = |q: &str| {
        let out = sb.cmd().args(["search", q, "--json"]).output().unwrap();
        serde_json::from_slice::<Value>(&out.stdout)
            .unwrap()
            .as_array()
            .map_or(0, Vec::len)
    };
    assert_eq!(hits("martian dust"), 1);
    assert_eq!(hits("leaving red"), 0);

    // Code, images and voice become text; reasoning, tools, hidden context
    // and escapes do not come in.
    let (_, tools) = session(&sb, "chatgpt:6659a1b2-0c4d-8000-9f3e-tools0000003");
    assert_eq!(
        texts(&tools),
        [
            "[image]\nPlot the Café Müller data — 東京 too 🙂",
            "```python\nimport matplotlib.pyplot as plt\nplt.plot([1,2,3])\n```",
            "Here is the plot.    Done.",
        ]
    );
    let (_, voice) = session(&sb, "chatgpt:6659a1b2-0c4d-8000-9f3e-notime000004");
    assert_eq!(voice[0].content, "what's the tallest mountain");
    assert_eq!(
        voice[0].created_at, 1_717_243_500_123,
        "untimed: the chat's time"
    );
    let all = counts(&sb);
    assert_eq!(all, (3, 12));

    // show and the lists say where it came from and that branches exist.
    let (sky, _) = session(&sb, SKY);
    let out = sb.cmd().args(["show", &sky.to_string()]).output().unwrap();
    let md = String::from_utf8_lossy(&out.stdout);
    assert!(md.contains("_Imported from ChatGPT._"), "{md}");
    assert!(md.contains("## ChatGPT · "), "answers are ChatGPT's: {md}");
    assert!(
        md.contains("3 messages on other branches are not shown"),
        "{md}"
    );
    let out = sb.cmd().args(["sessions"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("Sky colour  (from ChatGPT)"));
    let out = sb
        .cmd()
        .args(["export", &sky.to_string(), "--format", "json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["other_branches"], 3);
    assert_eq!(v["session"]["origin"], SKY);
}

#[test]
fn importing_again_adds_nothing_and_a_later_export_adds_only_what_is_new() {
    let sb = Sandbox::new();
    let file = fixture("chatgpt-conversations.json");
    assert!(import(&sb, "chatgpt", &file).status.success());
    let before = counts(&sb);
    let again = report(&import(&sb, "chatgpt", &file));
    assert_eq!(again["messages_added"], 0);
    assert_eq!(again["sessions_after"], again["sessions_before"]);
    assert_eq!(counts(&sb), before, "nothing doubled");
    // The zip of the same export is the same conversations.
    let zipped = report(&import(&sb, "chatgpt", &fixture("chatgpt-export.zip")));
    assert_eq!(zipped["conversations"], 3);
    assert_eq!(zipped["messages_added"], 0);

    // A month later: the chat went on from the older branch.
    let mut export: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let sky = &mut export[0];
    sky["mapping"]["a3"]["children"] = serde_json::json!(["u4"]);
    sky["mapping"]["u4"] = serde_json::json!({
        "id": "u4", "parent": "a3", "children": [],
        "message": {"id": "u4", "author": {"role": "user"}, "create_time": 1717243400.0,
                    "content": {"content_type": "text", "parts": ["Thanks, and the green flash?"]}}
    });
    sky["current_node"] = "u4".into();
    let later = sb.path().join("later.json");
    std::fs::write(&later, serde_json::to_string(&export).unwrap()).unwrap();
    let r = report(&import(&sb, "chatgpt", &later));
    assert_eq!(r["messages_added"], 1);
    assert_eq!(counts(&sb), (before.0, before.1 + 1));
    let (_, shown) = session(&sb, SKY);
    assert_eq!(
        texts(&shown)[2..],
        [
            "And why are sunsets red?",
            "At sunset light crosses more atmosphere; blue is scattered out, leaving red.",
            "Thanks, and the green flash?"
        ],
        "the branch shown follows the newer export"
    );
}

#[test]
fn a_truncated_export_keeps_the_conversations_before_the_cut() {
    let sb = Sandbox::new();
    let text = std::fs::read_to_string(fixture("chatgpt-conversations.json")).unwrap();
    // Cut inside the third conversation.
    let cut = text.find("Plot the Café").unwrap();
    let file = sb.path().join("conversations.json");
    std::fs::write(&file, &text.as_bytes()[..cut]).unwrap();
    let out = import(&sb, "chatgpt", &file);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let r = report(&out);
    assert!(
        r["error"].as_str().unwrap().contains("truncated"),
        "{}",
        r["error"]
    );
    assert_eq!(r["conversations"], 1);
    let (_, shown) = session(&sb, SKY);
    assert_eq!(shown.len(), 4);
    assert_eq!(counts(&sb), (1, 7), "nothing of the cut conversation");
    // With --json the reason is on stderr too (issue 24, item 18).
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("the import stopped") && err.contains("truncated"),
        "{err}"
    );
    // Without --json: the summary on stdout, the reason on stderr, exit 1.
    let out = sb
        .cmd()
        .args(["import", "chatgpt"])
        .arg(&file)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Imported") && !text.contains("truncated"),
        "{text}"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("the import stopped") && err.contains("truncated"),
        "{err}"
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn a_broken_conversation_is_skipped_by_name_and_the_rest_come_in() {
    let sb = Sandbox::new();
    let file = sb.path().join("conversations.json");
    let mut export: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("chatgpt-conversations.json")).unwrap(),
    )
    .unwrap();
    export[2]
        .as_object_mut()
        .unwrap()
        .remove("mapping")
        .unwrap();
    std::fs::write(&file, serde_json::to_string(&export).unwrap()).unwrap();
    let out = import(&sb, "chatgpt", &file);
    assert!(out.status.success(), "{out:?}");
    let r = report(&out);
    let skipped = r["skipped"].as_array().unwrap();
    let broken = skipped
        .iter()
        .find(|s| s["at"] == "conversation 3")
        .expect("the third conversation is named");
    assert!(broken["reason"].as_str().unwrap().contains("mapping"));
    assert_eq!(r["conversations"], 2);
}

#[test]
fn wrong_files_get_a_clear_error_and_write_nothing() {
    let sb = Sandbox::new();
    let out = import(&sb, "llm", &fixture("chatgpt-conversations.json"));
    assert_eq!(out.status.code(), Some(1));
    let all =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        all.contains("not an SQLite database") || all.contains("not an llm"),
        "{all}"
    );
    let out = import(&sb, "chatgpt", &fixture("llm-0.27-logs.db"));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        report(&out)["error"]
            .as_str()
            .unwrap()
            .contains("stopped making sense")
    );
    let out = import(&sb, "claude", &fixture("chatgpt-export.zip"));
    assert_eq!(
        out.status.code(),
        Some(1),
        "ChatGPT's zip is no Claude export"
    );
    let out = import(&sb, "chatgpt", &sb.path().join("missing.json"));
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("cannot open"));
    assert_eq!(counts(&sb), (0, 0));
    // A damaged database is refused before anything is read.
    std::fs::create_dir_all(sb.db().parent().unwrap()).unwrap();
    std::fs::write(sb.db(), vec![b'x'; 8192]).unwrap();
    let out = import(&sb, "chatgpt", &fixture("chatgpt-conversations.json"));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not a usable sleuth database"),
        "{out:?}"
    );
}

#[test]
fn claude_exports_with_branches_blocks_and_the_older_text_shape() {
    let sb = Sandbox::new();
    let out = import(&sb, "claude", &fixture("claude-export.zip"));
    assert!(out.status.success(), "{out:?}");
    let r = report(&out);
    assert_eq!(r["conversations"], 3);
    assert_eq!(r["skipped"].as_array().unwrap().len(), 1, "the empty one");
    let (_, tides) = session(&sb, "claude:0b6e1f52-7d3a-4c1e-9a55-aaaaaaaaaaa1");
    assert_eq!(
        texts(&tides),
        [
            "Why are there two tides a day?\n[attached: tides.csv]",
            "Two bulges: one facing the Moon, one opposite, as Earth turns through both.",
            "And spring tides?",
            "When Sun and Moon line up (new and full moon), their pulls add.",
        ]
    );
    let conn = store::open_reader(&sb.db()).unwrap();
    assert_eq!(queries::siblings(&conn, tides[1].id).unwrap().len(), 2);
    let (_, old) = session(&sb, "claude:0b6e1f52-7d3a-4c1e-9a55-bbbbbbbbbbb2");
    assert_eq!(texts(&old)[1], "こんにちは (konnichiwa)");
    let s = queries::get_session(&conn, old[0].session_id)
        .unwrap()
        .unwrap();
    assert_eq!(
        s.title, "Translate «bonjour» to Japanese",
        "titled from the question"
    );
    let (_, web) = session(&sb, "claude:0b6e1f52-7d3a-4c1e-9a55-ddddddddddd4");
    assert_eq!(
        web[1].content, "Rust 1.95 is the latest evil release.",
        "thinking and tools left out, bidi overrides dropped"
    );
    // The bare conversations.json is the same export.
    let again = report(&import(
        &sb,
        "claude",
        &fixture("claude-conversations.json"),
    ));
    assert_eq!(again["messages_added"], 0);
}

/// Runs the real llm CLI (the venv's, with its echo model) on `home`.
fn llm(home: &Path, args: &[&str]) {
    let bin = python::python().with_file_name("llm");
    let out = Command::new(bin)
        .args(args)
        .env("LLM_USER_PATH", home)
        .output()
        .unwrap();
    assert!(out.status.success(), "llm {args:?}: {out:?}");
}

#[test]
fn llm_databases_in_both_shapes_as_the_real_llm_writes_them() {
    let sb = Sandbox::new();
    // llm 0.27 wrote this one (responses table); llm 0.36 upgrades it and
    // adds its message store beside it.
    let home = sb.path().join("llm");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::copy(fixture("llm-0.27-logs.db"), home.join("logs.db")).unwrap();
    llm(&home, &["-m", "echo", "Is Pluto a planet?"]);
    llm(&home, &["-c", "-m", "echo", "Since when? ünïcödé"]);
    llm(&home, &["-m", "echo", "-s", "be brief", "A third thread"]);
    let db = home.join("logs.db");
    let out = import(&sb, "llm", &db);
    assert!(out.status.success(), "{out:?}");
    let r = report(&out);
    assert_eq!(r["conversations"], 4, "two old conversations, two threads");
    assert_eq!(r["messages_added"], 6 + 6);

    let conn = store::open_reader(&sb.db()).unwrap();
    let origins: Vec<String> = conn
        .prepare("SELECT origin FROM sessions ORDER BY created_at")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let old = &origins[0];
    let (_, france) = session(&sb, old);
    assert_eq!(france.len(), 4);
    assert_eq!(france[0].content, "What is the capital of France?");
    assert_eq!(france[2].content, "And of Spain? café ☕ 東京");
    assert_eq!(france[1].role, Role::Assistant);
    assert_eq!(france[1].model.as_deref(), Some("echo"));
    assert!(
        france[1].content.contains("\"prompt\""),
        "the echo model's answer"
    );

    let new_thread = origins
        .iter()
        .find(|o| {
            session(&sb, o)
                .1
                .first()
                .is_some_and(|m| m.content == "Is Pluto a planet?")
        })
        .expect("the message store's thread");
    let (_, pluto) = session(&sb, new_thread);
    assert_eq!(texts(&pluto)[2], "Since when? ünïcödé");
    assert_eq!(pluto.len(), 4, "the system prompt is not a message");
    assert!(pluto.iter().all(|m| m.created_at > 1_764_000_000_000));
    assert_eq!(pluto[3].model.as_deref(), Some("echo"));
    assert_eq!(pluto[1].parent_id, Some(pluto[0].id));

    // Again: nothing new; one more prompt: two more messages.
    assert_eq!(report(&import(&sb, "llm", &db))["messages_added"], 0);
    llm(&home, &["-c", "-m", "echo", "One more"]);
    assert_eq!(report(&import(&sb, "llm", &db))["messages_added"], 2);
    let _ = MessageId(0);
}

#[test]
fn invalid_utf8_stops_at_the_bad_conversation_and_keeps_the_ones_before() {
    let sb = Sandbox::new();
    let mut bytes = std::fs::read(fixture("chatgpt-conversations.json")).unwrap();
    // A stray byte inside the third conversation's text.
    let at = bytes
        .windows(13)
        .position(|w| w == b"Plot the Caf\xc3")
        .unwrap();
    bytes[at + 1] = 0xFF;
    let file = sb.path().join("conversations.json");
    std::fs::write(&file, &bytes).unwrap();
    let out = import(&sb, "chatgpt", &file);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let r = report(&out);
    let err = r["error"].as_str().unwrap();
    assert!(
        err.contains("stopped making sense") && err.contains("invalid unicode"),
        "{err}"
    );
    assert!(err.contains("line 1 column"), "says where: {err}");
    assert_eq!(r["conversations"], 1, "the first conversation came in");
    assert_eq!(counts(&sb), (1, 7));
}
