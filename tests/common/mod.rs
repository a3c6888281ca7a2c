//! Helpers shared by the integration tests: an isolated home, the real
//! binary, and databases written through the real writer thread.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

use sleuth::domain::{Message, MessageStatus, Role, Session, SessionId, Source, Usage};
use sleuth::emit::Emitter;
use sleuth::store::{self, StoreCommand, StoreEvent, writer::WriterOptions};

/// Every endpoint on a closed loopback port: tests never leave the machine.
pub const LOOPBACK_CONFIG: &str = r#"
[provider]
base_url = "http://127.0.0.1:9"
[sources.wikipedia]
base_url = "http://127.0.0.1:9"
[sources.hackernews]
base_url = "http://127.0.0.1:9"
[sources.arxiv]
base_url = "http://127.0.0.1:9"
"#;

/// A temp dir standing in for $HOME, with the XDG dirs inside it, so tests
/// never touch the real config, data or log files.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Self {
        let sb = Self {
            dir: tempfile::tempdir().unwrap(),
        };
        let cfg = sb.path().join("config").join("sleuth");
        std::fs::create_dir_all(&cfg).unwrap();
        std::fs::write(cfg.join("config.toml"), LOOPBACK_CONFIG).unwrap();
        sb
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn db(&self) -> PathBuf {
        self.path().join("data").join("sleuth.db")
    }

    /// The real binary with an isolated environment. The provider points
    /// at a closed loopback port so nothing leaves the machine.
    pub fn cmd(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_sleuth"));
        self.apply_env(&mut c);
        c
    }

    pub fn env_pairs(&self) -> Vec<(String, String)> {
        let p = self.path().display().to_string();
        vec![
            ("HOME".into(), p.clone()),
            ("XDG_CONFIG_HOME".into(), format!("{p}/config")),
            ("XDG_DATA_HOME".into(), format!("{p}/xdgdata")),
            ("XDG_STATE_HOME".into(), format!("{p}/state")),
            ("SLEUTH_DB".into(), self.db().display().to_string()),
            ("OLLAMA_HOST".into(), "http://127.0.0.1:9".into()),
            ("NO_COLOR".into(), "1".into()),
        ]
    }

    fn apply_env(&self, c: &mut Command) {
        c.env_remove("SLEUTH_CONFIG")
            .env_remove("OPENAI_API_KEY")
            .env_remove("ANTHROPIC_API_KEY");
        for (k, v) in self.env_pairs() {
            c.env(k, v);
        }
    }
}

/// Writes through a real writer thread and waits until it is durable.
pub fn write_all(db: &Path, cmds: Vec<StoreCommand>) {
    let conn = store::open_writer(db).unwrap();
    let (tx, rx) = mpsc::channel::<StoreEvent>();
    let writer = store::spawn_writer(conn, WriterOptions::default(), Emitter::channel(tx)).unwrap();
    let h = writer.handle();
    for c in cmds {
        h.send(c);
    }
    h.flush().unwrap();
    writer.shutdown();
    while let Ok(ev) = rx.try_recv() {
        assert!(!matches!(ev, StoreEvent::WriteFailed { .. }), "{ev:?}");
    }
}

pub fn session(id: i64, title: &str, at: i64) -> Session {
    Session {
        id: SessionId(id),
        created_at: at,
        updated_at: at,
        title: title.into(),
        summary: None,
        model: Some("llama3.2".into()),
        origin: None,
        settings: Default::default(),
    }
}

pub fn message(id: i64, session: i64, role: Role, content: &str, at: i64) -> Message {
    Message {
        id: sleuth::domain::MessageId(id),
        session_id: SessionId(session),
        parent_id: None,
        role,
        content: content.into(),
        status: MessageStatus::Complete,
        created_at: at,
        model: None,
        usage: Usage::default(),
        error: None,
    }
}

pub fn source(ordinal: i64, title: &str, url: &str, excerpt: &str) -> Source {
    Source {
        ordinal,
        kind: "wikipedia".into(),
        title: title.into(),
        url: Some(url.into()),
        excerpt: excerpt.into(),
        relevance: Some(0.8),
        fetched_at: 1_700_000_000_000,
        section: None,
        meta: Default::default(),
    }
}

/// Two sessions: one with a cited answer, one with a single question.
pub fn fixture_db(db: &Path) {
    let t = 1_764_000_000_000; // 2025-11-24
    write_all(
        db,
        vec![
            StoreCommand::CreateSession(session(1001, "Rust borrow checker", t)),
            StoreCommand::AppendMessage(message(
                2001,
                1001,
                Role::User,
                "How does the borrow checker work?",
                t + 1,
            )),
            StoreCommand::FinishTurn {
                message: message(
                    2002,
                    1001,
                    Role::Assistant,
                    "It tracks lifetimes of references [1] and rejects aliasing with mutation [2].",
                    t + 2,
                ),
                sources: vec![
                    source(
                        1,
                        "Borrow checker",
                        "https://en.wikipedia.org/wiki/Borrow_checker",
                        "The borrow checker…",
                    ),
                    source(
                        2,
                        "Aliasing",
                        "https://en.wikipedia.org/wiki/Aliasing_(computing)",
                        "Aliasing describes…",
                    ),
                ],
            },
            StoreCommand::CreateSession(session(1002, "SQLite WAL mode", t + 10)),
            StoreCommand::AppendMessage(message(
                2003,
                1002,
                Role::User,
                "What is WAL mode?",
                t + 11,
            )),
        ],
    );
}

/// Polls `f` until it returns Some or the deadline passes.
pub fn wait_for<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let end = std::time::Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if std::time::Instant::now() > end {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
pub mod harness;
pub mod pty;
