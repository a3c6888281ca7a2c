//! The store on a real temp-file database: round trips, batching,
//! coalescing, migrations, FTS sync, failures and retries.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)] // test code: a panic is the failure report

mod common;
#[path = "store/integrity.rs"]
mod integrity;

use std::sync::mpsc;
use std::time::Duration;

use common::*;
use rusqlite::Connection;
use sleuth::domain::{
    MessageId, MessageStatus, RequestId, Role, RunDocument, RunRecord, RunStatus, RunTree,
    SessionId,
};
use sleuth::emit::Emitter;
use sleuth::store::writer::{self, WriterOptions};
use sleuth::store::{
    self, ReadRequest, StoreCommand, StoreError, StoreEvent, queries, runs, schema,
};

fn fts_count(conn: &Connection, table: &str, q: &str) -> i64 {
    conn.query_row(
        &format!("SELECT count(*) FROM {table} WHERE {table} MATCH ?1"),
        [q],
        |r| r.get(0),
    )
    .unwrap()
}

/// FTS5's own check that an external-content index matches its table.
fn fts_integrity(db: &std::path::Path) {
    let conn = store::open_writer(db).unwrap();
    conn.execute(
        "INSERT INTO messages_fts(messages_fts) VALUES('integrity-check')",
        [],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO sources_fts(sources_fts) VALUES('integrity-check')",
        [],
    )
    .unwrap();
}

#[test]
fn sessions_messages_and_sources_round_trip() {
    let sb = Sandbox::new();
    fixture_db(&sb.db());
    let conn = store::open_reader(&sb.db()).unwrap();
    let list = queries::list_sessions(&conn, 0, 10, None).unwrap();
    assert_eq!(
        list.iter().map(|s| s.session.id.0).collect::<Vec<_>>(),
        vec![1002, 1001]
    );
    assert_eq!(list[1].message_count, 2);
    let t = queries::transcript(&conn, SessionId(1001)).unwrap();
    assert_eq!(t.len(), 2);
    assert_eq!(t[0].message.role, Role::User);
    assert_eq!(t[1].sources.len(), 2);
    assert_eq!(t[1].sources[1].ordinal, 2);
    assert_eq!(t[1].sources[1].title, "Aliasing");
    // A session's updated_at follows its latest message.
    assert_eq!(list[1].session.updated_at, 1_764_000_000_002);
    let filtered = queries::list_sessions(&conn, 0, 10, Some("wal")).unwrap();
    assert_eq!(filtered.len(), 1);
    assert_eq!(filtered[0].session.title, "SQLite WAL mode");
    // LIKE wildcards typed by the user are literal.
    assert!(
        queries::list_sessions(&conn, 0, 10, Some("%"))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn queued_writes_are_committed_in_one_transaction() {
    let sb = Sandbox::new();
    let conn = store::open_writer(&sb.db()).unwrap();
    let (handle, worker) = writer::channel(conn, WriterOptions::default());
    handle.send(StoreCommand::CreateSession(session(1, "batch", 1)));
    for i in 0..500 {
        handle.send(StoreCommand::AppendMessage(message(
            10 + i,
            1,
            Role::User,
            &format!("m{i}"),
            2 + i,
        )));
    }
    let (tx, rx) = mpsc::channel();
    let thread = worker.spawn(handle.clone(), Emitter::channel(tx)).unwrap();
    handle.flush().unwrap();
    thread.shutdown();
    let events: Vec<StoreEvent> = rx.try_iter().collect();
    let commits: Vec<(u64, usize)> = events
        .iter()
        .filter_map(|e| match e {
            StoreEvent::Committed { seq, commands } => Some((*seq, *commands)),
            _ => None,
        })
        .collect();
    assert_eq!(commits, vec![(501, 501)], "{events:?}");
    let conn = store::open_reader(&sb.db()).unwrap();
    assert_eq!(queries::stats(&conn).unwrap().messages, 500);
}

#[test]
fn checkpoints_are_coalesced_latest_content_wins() {
    let sb = Sandbox::new();
    let conn = store::open_writer(&sb.db()).unwrap();
    let (handle, worker) = writer::channel(conn, WriterOptions::default());
    handle.send(StoreCommand::CreateSession(session(1, "stream", 1)));
    let mut m = message(7, 1, Role::Assistant, "", 2);
    m.status = MessageStatus::Streaming;
    handle.send(StoreCommand::AppendMessage(m));
    let mut text = String::new();
    for i in 0..200 {
        text.push_str(&format!("tok{i} "));
        handle.send(StoreCommand::Checkpoint {
            id: MessageId(7),
            content: text.clone(),
        });
    }
    let (tx, rx) = mpsc::channel();
    let thread = worker.spawn(handle.clone(), Emitter::channel(tx)).unwrap();
    handle.flush().unwrap();
    thread.shutdown();
    // Session + message + the last checkpoint: 3 of 202 commands written.
    let committed: Vec<usize> = rx
        .try_iter()
        .filter_map(|e| match e {
            StoreEvent::Committed { commands, .. } => Some(commands),
            _ => None,
        })
        .collect();
    assert_eq!(committed, vec![3]);
    let conn = store::open_reader(&sb.db()).unwrap();
    let got = queries::get_message(&conn, MessageId(7)).unwrap().unwrap();
    assert_eq!(got.content, text);
    assert_eq!(got.status, MessageStatus::Streaming);
    assert_eq!(fts_count(&conn, "messages_fts", "tok199"), 1);
    assert_eq!(fts_count(&conn, "messages_fts", "tok0"), 1);
}

#[test]
fn fts_index_follows_insert_update_and_delete() {
    let sb = Sandbox::new();
    fixture_db(&sb.db());
    {
        let conn = store::open_reader(&sb.db()).unwrap();
        assert_eq!(fts_count(&conn, "messages_fts", "lifetimes"), 1);
        assert_eq!(fts_count(&conn, "sources_fts", "aliasing"), 1);
    }
    // Update: a final answer replaces the content and the sources.
    write_all(
        &sb.db(),
        vec![StoreCommand::FinishTurn {
            message: message(
                2002,
                1001,
                Role::Assistant,
                "Ownership rules, revised.",
                1_764_000_000_002,
            ),
            sources: vec![source(1, "Ownership", "https://e.org/o", "Ownership is…")],
        }],
    );
    {
        let conn = store::open_reader(&sb.db()).unwrap();
        assert_eq!(fts_count(&conn, "messages_fts", "lifetimes"), 0);
        assert_eq!(fts_count(&conn, "messages_fts", "revised"), 1);
        assert_eq!(fts_count(&conn, "sources_fts", "aliasing"), 0);
        assert_eq!(fts_count(&conn, "sources_fts", "ownership"), 1);
        fts_integrity(&sb.db());
    }
    // Delete: the session's messages, sources and index entries go.
    write_all(
        &sb.db(),
        vec![StoreCommand::Delete {
            session: SessionId(1001),
        }],
    );
    let conn = store::open_reader(&sb.db()).unwrap();
    assert_eq!(fts_count(&conn, "messages_fts", "revised OR borrow"), 0);
    assert_eq!(fts_count(&conn, "sources_fts", "ownership"), 0);
    assert_eq!(fts_count(&conn, "messages_fts", "wal"), 1);
    let stats = queries::stats(&conn).unwrap();
    assert_eq!((stats.sessions, stats.messages, stats.sources), (1, 1, 0));
    fts_integrity(&sb.db());
}

#[test]
fn rename_and_summary_are_stored() {
    let sb = Sandbox::new();
    fixture_db(&sb.db());
    // A new name is not activity: the older session stays below.
    write_all(
        &sb.db(),
        vec![StoreCommand::Rename {
            session: SessionId(1001),
            title: "Borrowing, renamed".into(),
        }],
    );
    let conn = store::open_reader(&sb.db()).unwrap();
    let order: Vec<i64> = queries::list_sessions(&conn, 0, 10, None)
        .unwrap()
        .iter()
        .map(|s| s.session.id.0)
        .collect();
    assert_eq!(order, vec![1002, 1001]);
    drop(conn);
    write_all(
        &sb.db(),
        vec![
            StoreCommand::Rename {
                session: SessionId(1002),
                title: "Write-ahead logging".into(),
            },
            StoreCommand::SetSummary {
                session: SessionId(1002),
                summary: "asked about WAL".into(),
            },
        ],
    );
    let conn = store::open_reader(&sb.db()).unwrap();
    let s = queries::get_session(&conn, SessionId(1002))
        .unwrap()
        .unwrap();
    assert_eq!(s.title, "Write-ahead logging");
    assert_eq!(s.summary.as_deref(), Some("asked about WAL"));
}

#[test]
fn migrates_an_empty_file_and_leaves_a_current_one_alone() {
    let sb = Sandbox::new();
    let db = sb.db();
    std::fs::create_dir_all(db.parent().unwrap()).unwrap();
    // v0: a zero-byte file, and a SQLite file with no schema.
    std::fs::write(&db, b"").unwrap();
    let conn = store::open_writer(&db).unwrap();
    assert_eq!(schema::version(&conn).unwrap(), schema::CURRENT_VERSION);
    drop(conn);
    let other = sb.path().join("v0.db");
    Connection::open(&other)
        .unwrap()
        .execute_batch("CREATE TABLE unrelated(x); PRAGMA user_version = 0;")
        .unwrap();
    let conn = store::open_writer(&other).unwrap();
    assert_eq!(schema::version(&conn).unwrap(), schema::CURRENT_VERSION);
    drop(conn);
    // Already migrated, with data: reopening keeps everything.
    fixture_db(&db);
    let conn = store::open_writer(&db).unwrap();
    assert_eq!(schema::version(&conn).unwrap(), schema::CURRENT_VERSION);
    assert_eq!(queries::stats(&conn).unwrap().messages, 3);
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let fk: i64 = conn
        .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
        .unwrap();
    assert_eq!(fk, 1);
}

#[test]
fn a_database_from_a_newer_sleuth_is_refused() {
    let sb = Sandbox::new();
    let db = sb.db();
    fixture_db(&db);
    Connection::open(&db)
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    assert!(matches!(
        store::open_writer(&db),
        Err(StoreError::TooNew { found: 99, .. })
    ));
    assert!(matches!(
        store::open_reader(&db),
        Err(StoreError::TooNew { .. })
    ));
}

#[test]
fn a_corrupt_file_is_reported_and_left_untouched() {
    let sb = Sandbox::new();
    let db = sb.db();
    std::fs::create_dir_all(db.parent().unwrap()).unwrap();
    let garbage: Vec<u8> = (0..8192u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&db, &garbage).unwrap();
    let err = store::open_writer(&db).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{msg}");
    assert!(msg.contains(&db.display().to_string()), "{msg}");
    assert!(msg.contains("left untouched"), "{msg}");
    assert_eq!(std::fs::read(&db).unwrap(), garbage);
}

fn fast_retry() -> WriterOptions {
    WriterOptions {
        busy_timeout: Duration::from_millis(50),
        retry_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(100),
        quiet_busy_retries: 0,
        recovery: None,
        quick_check: true,
    }
}

#[test]
fn a_locked_database_is_reported_and_the_write_kept_until_it_succeeds() {
    let sb = Sandbox::new();
    fixture_db(&sb.db());
    let conn = store::open_writer(&sb.db()).unwrap();
    // Another process holds the write lock.
    let blocker = Connection::open(sb.db()).unwrap();
    blocker.execute_batch("BEGIN EXCLUSIVE").unwrap();

    let (tx, rx) = mpsc::channel();
    let w = store::spawn_writer(conn, fast_retry(), Emitter::channel(tx)).unwrap();
    w.handle().send(StoreCommand::AppendMessage(message(
        3001,
        1002,
        Role::User,
        "kept while locked",
        5,
    )));
    let failed = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    match failed {
        StoreEvent::WriteFailed { error, pending } => {
            assert_eq!(pending, 1);
            assert!(
                error.contains("locked") || error.contains("busy"),
                "{error}"
            );
        }
        other => panic!("expected WriteFailed, got {other:?}"),
    }
    blocker.execute_batch("COMMIT").unwrap();
    let recovered = common::wait_for(Duration::from_secs(5), || {
        rx.try_iter()
            .find(|e| matches!(e, StoreEvent::WriteRecovered { .. }))
    });
    assert!(recovered.is_some());
    w.shutdown();
    let conn = store::open_reader(&sb.db()).unwrap();
    assert_eq!(
        queries::get_message(&conn, MessageId(3001))
            .unwrap()
            .unwrap()
            .content,
        "kept while locked"
    );
}

#[test]
fn a_rejected_write_is_reported_without_blocking_the_rest() {
    let sb = Sandbox::new();
    fixture_db(&sb.db());
    let conn = store::open_writer(&sb.db()).unwrap();
    let (handle, worker) = writer::channel(conn, fast_retry());
    // A message of a session that does not exist violates the foreign key.
    handle.send(StoreCommand::AppendMessage(message(
        4001,
        999_999,
        Role::User,
        "orphan",
        5,
    )));
    handle.send(StoreCommand::AppendMessage(message(
        4002,
        1002,
        Role::User,
        "fine",
        6,
    )));
    let (tx, rx) = mpsc::channel();
    let thread = worker.spawn(handle.clone(), Emitter::channel(tx)).unwrap();
    // A flush says what was refused (never "saved"), once.
    let refused = handle.flush().unwrap_err();
    assert!(
        refused.contains("1 write(s) refused") && refused.contains("FOREIGN KEY"),
        "{refused}"
    );
    handle.flush().unwrap();
    thread.shutdown();
    let events: Vec<StoreEvent> = rx.try_iter().collect();
    assert!(
        events.iter().any(
            |e| matches!(e, StoreEvent::WriteFailed { error, .. } if error.contains("FOREIGN KEY"))
        ),
        "{events:?}"
    );
    let conn = store::open_reader(&sb.db()).unwrap();
    assert!(
        queries::get_message(&conn, MessageId(4001))
            .unwrap()
            .is_none()
    );
    assert!(
        queries::get_message(&conn, MessageId(4002))
            .unwrap()
            .is_some()
    );
}

#[test]
fn the_reader_answers_with_the_request_id_and_the_latest_request_wins() {
    let sb = Sandbox::new();
    fixture_db(&sb.db());
    let (tx, rx) = mpsc::channel();
    let reader = store::spawn_reader(sb.db(), Emitter::channel(tx)).unwrap();
    let h = reader.handle();
    h.request(ReadRequest::SessionsPage {
        req: RequestId(1),
        offset: 0,
        limit: 1,
        filter: None,
    });
    h.request(ReadRequest::Transcript {
        req: RequestId(2),
        session: SessionId(1001),
    });
    h.request(ReadRequest::Message {
        req: RequestId(3),
        id: MessageId(2003),
    });
    h.request(ReadRequest::Transcript {
        req: RequestId(4),
        session: SessionId(424242),
    });
    let mut got = Vec::new();
    while let Ok(ev) = rx.recv_timeout(Duration::from_secs(5)) {
        let last = matches!(
            ev,
            StoreEvent::ReadFailed {
                req: RequestId(4),
                ..
            }
        );
        got.push(ev);
        if last {
            break;
        }
    }
    drop(reader);
    let page = got.iter().find_map(|e| match e {
        StoreEvent::SessionsPage {
            req,
            sessions,
            has_more,
            ..
        } => Some((*req, sessions.len(), *has_more)),
        _ => None,
    });
    assert_eq!(page, Some((RequestId(1), 1, true)));
    let msg = got.iter().find_map(|e| match e {
        StoreEvent::MessageFound { req, message } => {
            Some((*req, message.as_ref().map(|m| m.content.clone())))
        }
        _ => None,
    });
    assert_eq!(msg, Some((RequestId(3), Some("What is WAL mode?".into()))));
    let failed = got.iter().find_map(|e| match e {
        StoreEvent::ReadFailed {
            req: RequestId(4),
            error,
        } => Some(error.clone()),
        _ => None,
    });
    assert!(
        failed.is_some_and(|e| e.contains("no session 424242")),
        "{got:?}"
    );
    // Request 2 is either answered in full or superseded by 4 while queued.
    for e in &got {
        if let StoreEvent::Transcript {
            req,
            messages,
            session,
            ..
        } = e
        {
            assert_eq!(
                (*req, session.id, messages.len()),
                (RequestId(2), SessionId(1001), 2)
            );
        }
    }
}

#[test]
fn v1_files_gain_stored_message_counts_that_the_writer_keeps() {
    let sb = Sandbox::new();
    let db = sb.db();
    fixture_db(&db);
    // Back to v1: no stored count.
    Connection::open(&db)
        .unwrap()
        .execute_batch(
            "DROP TABLE claims; DROP TABLE term_stats; DROP TABLE term_stats_state; ALTER TABLE sources DROP COLUMN meta; DROP INDEX sessions_origin; ALTER TABLE sessions DROP COLUMN origin; ALTER TABLE sessions DROP COLUMN settings; ALTER TABLE messages DROP COLUMN off_branch; DROP TABLE run_notes_fts; DROP TABLE run_notes; DROP TABLE streaming; DROP TABLE run_documents; DROP TABLE runs; ALTER TABLE messages DROP COLUMN error;
             ALTER TABLE sessions DROP COLUMN message_count; ALTER TABLE sources DROP COLUMN section;
             PRAGMA user_version = 1;",
        )
        .unwrap();
    let conn = store::open_writer(&db).unwrap();
    assert_eq!(schema::version(&conn).unwrap(), schema::CURRENT_VERSION);
    let counts = |conn: &Connection| -> Vec<i64> {
        queries::list_sessions(conn, 0, 10, None)
            .unwrap()
            .iter()
            .map(|s| s.message_count)
            .collect()
    };
    assert_eq!(counts(&conn), vec![1, 2], "counted by the migration");
    drop(conn);
    // New messages count once; rewriting one (stream, then final) does not.
    let mut m = message(2010, 1002, Role::Assistant, "", 1_764_000_000_020);
    m.status = MessageStatus::Streaming;
    let mut done = m.clone();
    done.content = "WAL keeps a log.".into();
    done.status = MessageStatus::Complete;
    write_all(
        &db,
        vec![
            StoreCommand::AppendMessage(m),
            StoreCommand::FinishTurn {
                message: done,
                sources: vec![],
            },
        ],
    );
    let conn = store::open_reader(&db).unwrap();
    assert_eq!(counts(&conn), vec![2, 2]);
}

#[test]
fn v2_files_gain_passage_sections_and_keep_their_sources() {
    let sb = Sandbox::new();
    let db = sb.db();
    fixture_db(&db);
    // Back to v2: sources without a section.
    Connection::open(&db)
        .unwrap()
        .execute_batch(
            "DROP TABLE claims; DROP TABLE term_stats; DROP TABLE term_stats_state; ALTER TABLE sources DROP COLUMN meta; DROP INDEX sessions_origin; ALTER TABLE sessions DROP COLUMN origin; ALTER TABLE sessions DROP COLUMN settings; ALTER TABLE messages DROP COLUMN off_branch; DROP TABLE run_notes_fts; DROP TABLE run_notes; DROP TABLE streaming; DROP TABLE run_documents; DROP TABLE runs; ALTER TABLE messages DROP COLUMN error;
             ALTER TABLE sources DROP COLUMN section; PRAGMA user_version = 2;",
        )
        .unwrap();
    let conn = store::open_writer(&db).unwrap();
    assert_eq!(schema::version(&conn).unwrap(), schema::CURRENT_VERSION);
    let before = queries::transcript(&conn, SessionId(1001)).unwrap();
    assert_eq!(before[1].sources.len(), 2);
    assert!(before[1].sources.iter().all(|s| s.section.is_none()));
    drop(conn);
    // A new answer's passages keep their sections.
    let mut passage = source(
        1,
        "Normans",
        "https://en.wikipedia.org/wiki/Normans#Origins",
        "The Normans were…",
    );
    passage.section = Some("Origins".into());
    write_all(
        &db,
        vec![StoreCommand::FinishTurn {
            message: message(
                2099,
                1001,
                Role::Assistant,
                "They came from Normandy [1].",
                1_764_000_000_050,
            ),
            sources: vec![passage.clone()],
        }],
    );
    let conn = store::open_reader(&db).unwrap();
    let after = queries::transcript(&conn, SessionId(1001)).unwrap();
    let last = after
        .iter()
        .find(|m| m.message.id == MessageId(2099))
        .unwrap();
    assert_eq!(last.sources, vec![passage]);
    assert_eq!(after[1].sources, before[1].sources);
}

/// Issue 11, case 5: writes still unsaved at shutdown (the database locked
/// by another program) go to a recovery file, which the next start replays.
#[test]
fn unsaved_writes_at_shutdown_are_kept_and_replayed_on_the_next_start() {
    let sb = Sandbox::new();
    let db = sb.db();
    fixture_db(&db);
    let recovery = store::recovery::path_for(&db);
    // Another program holds the write lock for the whole first run.
    let blocker = Connection::open(&db).unwrap();
    blocker.execute_batch("BEGIN EXCLUSIVE;").unwrap();
    let conn = store::open_writer(&db).unwrap();
    let opts = WriterOptions {
        recovery: Some(recovery.clone()),
        ..fast_retry()
    };
    let (handle, worker) = writer::channel(conn, opts);
    let thread = worker.spawn(handle.clone(), Emitter::new(|_| {})).unwrap();
    let mut kept_msg = message(5001, 1002, Role::User, "kept through a lock", 9);
    kept_msg.status = MessageStatus::Complete;
    handle.send(StoreCommand::AppendMessage(kept_msg.clone()));
    handle.send(StoreCommand::Rename {
        session: SessionId(1002),
        title: "renamed while locked".into(),
    });
    let kept = thread.shutdown().expect("the unsaved writes are kept");
    assert_eq!(kept.writes, 2);
    assert_eq!(kept.path, recovery);
    assert!(recovery.exists());
    blocker.execute_batch("ROLLBACK;").unwrap();
    drop(blocker);
    // The next start: replayed, then the file is gone.
    let conn = store::open_writer(&db).unwrap();
    let (handle, worker) = writer::channel(conn, fast_retry());
    let thread = worker.spawn(handle.clone(), Emitter::new(|_| {})).unwrap();
    assert_eq!(store::recovery::replay(&db, &handle), Ok(2));
    assert!(thread.shutdown().is_none());
    assert!(!recovery.exists());
    let conn = store::open_reader(&db).unwrap();
    let got = queries::get_message(&conn, MessageId(5001))
        .unwrap()
        .unwrap();
    assert_eq!(got.content, "kept through a lock");
    let s = queries::resolve_session(&conn, "1002").unwrap();
    assert_eq!(s.title, "renamed while locked");
    // No file, nothing to do.
    let (handle, worker) = writer::channel(store::open_writer(&db).unwrap(), fast_retry());
    let _t = worker.spawn(handle.clone(), Emitter::new(|_| {})).unwrap();
    assert_eq!(store::recovery::replay(&db, &handle), Ok(0));
}

/// Issue 11, case 11: a page damaged in the middle of the file is found
/// before the first write, and nothing is written into it; the writes go
/// to the recovery file instead.
#[test]
fn a_damaged_file_is_noticed_and_never_written() {
    let sb = Sandbox::new();
    let db = sb.db();
    let out = sb
        .cmd()
        .arg("--db")
        .arg(&db)
        .args([
            "debug",
            "generate",
            "--sessions",
            "50",
            "--messages",
            "4000",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Connection::open(&db)
        .unwrap()
        .execute_batch("VACUUM; PRAGMA wal_checkpoint(TRUNCATE);")
        .unwrap();
    // Garbage over the first b-tree page past the middle of the file (a
    // page whose first byte is a b-tree page type; after VACUUM there are
    // no free pages with stale content, and overflow pages start with 0).
    let mut bytes = std::fs::read(&db).unwrap();
    let page = 4096;
    let mut mid = (bytes.len() / 2) / page * page;
    while !matches!(bytes[mid], 0x02 | 0x05 | 0x0a | 0x0d) {
        mid += page;
    }
    for b in &mut bytes[mid..mid + page] {
        *b = 0xA5;
    }
    std::fs::write(&db, &bytes).unwrap();
    let before = std::fs::read(&db).unwrap();
    let recovery = store::recovery::path_for(&db);
    let conn = store::open_writer(&db).unwrap();
    let opts = WriterOptions {
        recovery: Some(recovery.clone()),
        ..fast_retry()
    };
    let (handle, worker) = writer::channel(conn, opts);
    let (tx, rx) = mpsc::channel();
    let thread = worker.spawn(handle.clone(), Emitter::channel(tx)).unwrap();
    let sessions = {
        let c = store::open_reader(&db).unwrap();
        queries::list_sessions(&c, 0, 1, None).unwrap()
    };
    handle.send(StoreCommand::AppendMessage(message(
        9001,
        sessions[0].session.id.0,
        Role::User,
        "not into a damaged file",
        1,
    )));
    let err = handle.flush().unwrap_err();
    assert!(err.contains("damaged") && err.contains(".recover"), "{err}");
    let kept = thread.shutdown().unwrap();
    assert_eq!(kept.writes, 1);
    assert!(
        rx.try_iter().any(
            |e| matches!(e, StoreEvent::WriteFailed { error, .. } if error.contains("damaged"))
        )
    );
    assert_eq!(
        std::fs::read(&db).unwrap(),
        before,
        "the damaged file was written"
    );
}

fn run_record(id: i64, session: i64, status: RunStatus, state: &str) -> RunRecord {
    RunRecord {
        id: MessageId(id),
        session: SessionId(session),
        question: "Who built it?".into(),
        status,
        state: state.into(),
        tree: RunTree {
            plan: vec!["Who built it?".into()],
            ..Default::default()
        },
    }
}

fn run_doc(ord: i64, title: &str) -> RunDocument {
    RunDocument {
        ord,
        kind: "wikipedia".into(),
        title: title.into(),
        url: None,
        body: format!("{{\"title\":\"{title}\"}}"),
    }
}

#[test]
fn v3_files_gain_deep_runs_that_store_state_documents_and_status() {
    let sb = Sandbox::new();
    let db = sb.db();
    fixture_db(&db);
    Connection::open(&db)
        .unwrap()
        .execute_batch("DROP TABLE claims; DROP TABLE term_stats; DROP TABLE term_stats_state; ALTER TABLE sources DROP COLUMN meta; DROP INDEX sessions_origin; ALTER TABLE sessions DROP COLUMN origin; ALTER TABLE sessions DROP COLUMN settings; ALTER TABLE messages DROP COLUMN off_branch; DROP TABLE run_notes_fts; DROP TABLE run_notes; DROP TABLE streaming; DROP TABLE run_documents; DROP TABLE runs; ALTER TABLE messages DROP COLUMN error; PRAGMA user_version = 3;")
        .unwrap();
    let conn = store::open_writer(&db).unwrap();
    assert_eq!(schema::version(&conn).unwrap(), schema::CURRENT_VERSION);
    drop(conn);
    // Message 2002 (an answer of session 1001) is the run's report.
    write_all(
        &db,
        vec![
            StoreCommand::SaveRun(Box::new(run_record(
                2002,
                1001,
                RunStatus::Running,
                "{\"a\":1}",
            ))),
            StoreCommand::SaveRunDocuments {
                run: MessageId(2002),
                docs: vec![run_doc(0, "First"), run_doc(1, "Second")],
            },
            // A later step replaces the state; a document stored twice is kept once.
            StoreCommand::SaveRun(Box::new(run_record(
                2002,
                1001,
                RunStatus::Running,
                "{\"a\":2}",
            ))),
            StoreCommand::SaveRunDocuments {
                run: MessageId(2002),
                docs: vec![run_doc(1, "Second again"), run_doc(2, "Third")],
            },
            StoreCommand::SaveRunNotes {
                run: MessageId(2002),
                notes: vec![sleuth::domain::RunNote {
                    heading: "Who built it?".into(),
                    title: "First".into(),
                    text: "Built by the zanzibarite guild in 1620.".into(),
                }],
            },
        ],
    );
    // A note is found by history search, pointing at the run's report.
    let conn = store::open_reader(&db).unwrap();
    let q = store::search::query::Query::parse("zanzibarite guild", false).unwrap();
    let hits = store::search::search(&conn, &q, 10).unwrap();
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0].message, MessageId(2002));
    assert_eq!(hits[0].matched, "note");
    drop(conn);
    let conn = store::open_reader(&db).unwrap();
    let rec = runs::load(&conn, MessageId(2002)).unwrap().unwrap();
    assert_eq!(rec.state, "{\"a\":2}");
    assert_eq!(rec.tree.plan, vec!["Who built it?".to_string()]);
    let docs = runs::documents(&conn, MessageId(2002)).unwrap();
    let titles: Vec<&str> = docs.iter().map(|d| d.title.as_str()).collect();
    assert_eq!(titles, ["First", "Second", "Third"]);
    let listed = runs::list(&conn, 10, true).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].documents, 3);
    assert_eq!(runs::trees(&conn, SessionId(1001)).unwrap().len(), 1);
    drop(conn);
    // The report ends: the run is complete (and no longer unfinished).
    write_all(
        &db,
        vec![StoreCommand::RunStatus {
            run: MessageId(2002),
            status: RunStatus::Complete,
        }],
    );
    let conn = store::open_reader(&db).unwrap();
    assert!(runs::list(&conn, 10, true).unwrap().is_empty());
    assert_eq!(
        runs::list(&conn, 10, false).unwrap()[0].status,
        RunStatus::Complete
    );
    drop(conn);
    // Deleting the session deletes its runs and their documents.
    write_all(
        &db,
        vec![StoreCommand::Delete {
            session: SessionId(1001),
        }],
    );
    let conn = store::open_reader(&db).unwrap();
    assert!(runs::load(&conn, MessageId(2002)).unwrap().is_none());
    assert!(store::search::search(&conn, &q, 10).unwrap().is_empty());
    let left: i64 = conn
        .query_row("SELECT count(*) FROM run_documents", [], |r| r.get(0))
        .unwrap();
    assert_eq!(left, 0);
}

#[test]
fn quitting_during_the_integrity_check_stops_it_and_saves_what_was_queued() {
    // The start-up check reads the whole file (FTS5 indexes included, ~8 s
    // at a million messages); quitting interrupts it, and the writes
    // queued meanwhile are saved, not kept aside as if the file were bad.
    let sb = Sandbox::new();
    fixture_db(&sb.db());
    let t = 1_764_000_000_000;
    let mut cmds = vec![StoreCommand::CreateSession(session(7000, "Bulk", t))];
    for i in 0..20_000 {
        cmds.push(StoreCommand::AppendMessage(message(
            70_001 + i,
            7000,
            Role::User,
            &format!("bulk message {i} about tardigrades and water bears"),
            t + i,
        )));
    }
    write_all(&sb.db(), cmds);
    let conn = store::open_writer(&sb.db()).unwrap();
    let w = store::spawn_writer(conn, fast_retry(), Emitter::new(|_| {})).unwrap();
    w.handle().send(StoreCommand::AppendMessage(message(
        3001,
        1002,
        Role::User,
        "asked while the check ran",
        t,
    )));
    let started = std::time::Instant::now();
    assert_eq!(w.shutdown(), None, "nothing kept aside");
    let took = started.elapsed();
    let conn = store::open_reader(&sb.db()).unwrap();
    let saved = queries::get_message(&conn, MessageId(3001))
        .unwrap()
        .unwrap();
    assert_eq!(saved.content, "asked while the check ran");
    // Generous bound: the full check of this file takes longer than the
    // interrupted one, but the test must not depend on the machine.
    assert!(took < Duration::from_secs(10), "{took:?}");
}

#[test]
fn v5_files_keep_regenerated_answers_as_branches_of_their_question() {
    let sb = Sandbox::new();
    let db = sb.db();
    fixture_db(&db);
    let t = 1_764_000_000_100;
    let q = message(2100, 1002, Role::User, "Why is the sky blue?", t);
    let old = message(2101, 1002, Role::Assistant, "Rayleigh, first try.", t + 1);
    let new = message(2102, 1002, Role::Assistant, "Rayleigh scattering.", t + 2);
    write_all(
        &db,
        vec![
            StoreCommand::AppendMessage(q),
            StoreCommand::AppendMessage(old),
            StoreCommand::AppendMessage(new),
        ],
    );
    // Back to v5, where a regenerated answer named the one it replaced.
    Connection::open(&db)
        .unwrap()
        .execute_batch(
            "DROP TABLE claims; DROP TABLE term_stats; DROP TABLE term_stats_state; ALTER TABLE sources DROP COLUMN meta; DROP INDEX sessions_origin; ALTER TABLE sessions DROP COLUMN origin; ALTER TABLE sessions DROP COLUMN settings;
             ALTER TABLE messages DROP COLUMN off_branch;
             UPDATE messages SET parent_id = NULL;
             UPDATE messages SET parent_id = 2101 WHERE id = 2102;
             PRAGMA user_version = 5;",
        )
        .unwrap();
    let conn = store::open_writer(&db).unwrap();
    assert_eq!(schema::version(&conn).unwrap(), schema::CURRENT_VERSION);
    let shown: Vec<i64> = queries::transcript(&conn, SessionId(1002))
        .unwrap()
        .iter()
        .map(|m| m.message.id.0)
        .collect();
    assert!(shown.ends_with(&[2100, 2102]), "{shown:?}");
    assert!(
        !shown.contains(&2101),
        "the replaced answer is off the branch"
    );
    let siblings: Vec<i64> = queries::siblings(&conn, MessageId(2102))
        .unwrap()
        .iter()
        .map(|m| m.id.0)
        .collect();
    assert_eq!(siblings, vec![2101, 2102], "both answer the question");
    assert_eq!(
        queries::get_message(&conn, MessageId(2101))
            .unwrap()
            .unwrap()
            .parent_id,
        Some(MessageId(2100))
    );
    // The rest of the history follows the message before it: one tree.
    let parent = |id: i64| {
        queries::get_message(&conn, MessageId(id))
            .unwrap()
            .unwrap()
            .parent_id
    };
    assert_eq!(parent(2002), Some(MessageId(2001)));
    assert_eq!(parent(2001), None, "a first question has none");
    assert_eq!(
        parent(2100),
        Some(MessageId(2003)),
        "the question follows the session's earlier message"
    );
}

#[test]
fn branches_are_numbered_and_switching_shows_the_sibling_and_its_newest_path() {
    let sb = Sandbox::new();
    let db = sb.db();
    fixture_db(&db);
    let t = 1_764_000_000_200;
    let msg = |id: i64, parent: Option<i64>, role: Role, text: &str, at: i64| {
        let mut m = message(id, 1002, role, text, t + at);
        m.parent_id = parent.map(MessageId);
        StoreCommand::AppendMessage(m)
    };
    write_all(
        &db,
        vec![
            msg(2200, None, Role::User, "q", 0),
            msg(2201, Some(2200), Role::Assistant, "a1", 1),
            msg(2206, Some(2201), Role::User, "q3 after a1", 2),
            // Regenerated: a1 and what followed it leave the branch shown.
            msg(2202, Some(2200), Role::Assistant, "a2", 3),
            msg(2203, Some(2202), Role::User, "q2", 4),
            msg(2204, Some(2203), Role::Assistant, "a3", 5),
        ],
    );
    let shown = |db: &std::path::Path| -> Vec<(i64, Option<(u32, u32)>)> {
        let conn = store::open_reader(db).unwrap();
        queries::transcript(&conn, SessionId(1002))
            .unwrap()
            .iter()
            .filter(|m| m.message.id.0 >= 2200)
            .map(|m| (m.message.id.0, m.branch.map(|b| (b.index, b.count))))
            .collect()
    };
    assert_eq!(
        shown(&db),
        vec![
            (2200, None),
            (2202, Some((2, 2))),
            (2203, None),
            (2204, None)
        ]
    );
    let switch = |from: i64, step: i8| StoreCommand::SwitchBranch {
        from: MessageId(from),
        step,
    };
    write_all(&db, vec![switch(2202, -1)]);
    assert_eq!(
        shown(&db),
        vec![(2200, None), (2201, Some((1, 2))), (2206, None)]
    );
    // Past the first there is nothing: nothing changes.
    write_all(&db, vec![switch(2201, -1)]);
    assert_eq!(shown(&db).len(), 3);
    write_all(&db, vec![switch(2201, 1)]);
    assert_eq!(
        shown(&db),
        vec![
            (2200, None),
            (2202, Some((2, 2))),
            (2203, None),
            (2204, None)
        ]
    );
}

#[test]
fn an_edited_first_question_is_a_sibling_of_the_first_version() {
    let sb = Sandbox::new();
    let db = sb.db();
    fixture_db(&db);
    let t = 1_764_000_000_300;
    let mut root = message(2300, 1002, Role::User, "What is WAL? (edited)", t);
    root.parent_id = None;
    let mut answer = message(2301, 1002, Role::Assistant, "A log.", t + 1);
    answer.parent_id = Some(MessageId(2300));
    write_all(
        &db,
        vec![
            StoreCommand::Shelve {
                message: MessageId(2003),
            },
            StoreCommand::AppendMessage(root),
            StoreCommand::AppendMessage(answer),
        ],
    );
    let conn = store::open_reader(&db).unwrap();
    let shown = queries::transcript(&conn, SessionId(1002)).unwrap();
    let ids: Vec<i64> = shown.iter().map(|m| m.message.id.0).collect();
    assert_eq!(ids, vec![2300, 2301]);
    assert_eq!(shown[0].branch.map(|b| (b.index, b.count)), Some((2, 2)));
    drop(conn);
    write_all(
        &db,
        vec![StoreCommand::SwitchBranch {
            from: MessageId(2300),
            step: -1,
        }],
    );
    let conn = store::open_reader(&db).unwrap();
    let shown = queries::transcript(&conn, SessionId(1002)).unwrap();
    assert_eq!(shown.len(), 1);
    assert_eq!(shown[0].message.content, "What is WAL mode?");
    assert_eq!(shown[0].branch.map(|b| (b.index, b.count)), Some((1, 2)));
}

#[test]
fn v6_files_gain_claim_checks_and_keep_their_answers() {
    use sleuth::domain::claims::{ClaimCheck, Verdict};
    let sb = Sandbox::new();
    let db = sb.db();
    fixture_db(&db);
    Connection::open(&db)
        .unwrap()
        .execute_batch(
            "DROP TABLE claims; ALTER TABLE sources DROP COLUMN meta; DROP TABLE term_stats; DROP TABLE term_stats_state; PRAGMA user_version = 6;",
        )
        .unwrap();
    let conn = store::open_writer(&db).unwrap();
    assert_eq!(schema::version(&conn).unwrap(), schema::CURRENT_VERSION);
    drop(conn);
    let reader = store::open_reader(&db).unwrap();
    let session = sleuth::domain::SessionId(1001);
    let before = queries::transcript(&reader, session).unwrap();
    let answer = before
        .iter()
        .find(|m| m.message.role == sleuth::domain::Role::Assistant)
        .expect("the fixture has an answer");
    assert!(answer.claims.is_none());
    let check = sleuth::verify::check(&answer.message.content, &answer.sources);
    let id = answer.message.id;
    write_all(
        &db,
        vec![StoreCommand::SetClaims {
            message: id,
            check: Box::new(check.clone()),
        }],
    );
    let after = queries::transcript(&reader, session).unwrap();
    let stored: &ClaimCheck = after
        .iter()
        .find(|m| m.message.id == id)
        .and_then(|m| m.claims.as_ref())
        .expect("stored with the answer");
    assert_eq!(stored, &check);
    assert!(
        stored
            .claims
            .iter()
            .all(|c| c.verdict != Verdict::Unchecked)
    );
}
