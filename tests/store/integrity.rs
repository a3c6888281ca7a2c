//! When the writer reads the whole file before writing (issue 23): only
//! when the health record cannot vouch for it. Each case the design must
//! catch is here with a real file: a page damaged mid-file, a truncated
//! file, a file replaced between runs and while open, a writer killed
//! with SIGKILL; and a cleanly closed file is not read again.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

use crate::common::{Sandbox, message, session};
use sleuth::domain::Role;
use sleuth::emit::Emitter;
use sleuth::store::writer::{self, WriterOptions};
use sleuth::store::{self, StoreCommand, StoreEvent};

fn opts(db: &std::path::Path) -> WriterOptions {
    WriterOptions {
        busy_timeout: Duration::from_millis(50),
        retry_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(100),
        quiet_busy_retries: 0,
        recovery: Some(store::recovery::path_for(db)),
        quick_check: true,
    }
}

/// A writer on `db` and the events it sends.
fn start(
    db: &std::path::Path,
) -> (
    writer::WriterHandle,
    writer::WriterThread,
    mpsc::Receiver<StoreEvent>,
) {
    let conn = store::open_writer(db).unwrap();
    let (handle, worker) = writer::channel(conn, opts(db));
    let (tx, rx) = mpsc::channel();
    let thread = worker.spawn(handle.clone(), Emitter::channel(tx)).unwrap();
    (handle, thread, rx)
}

/// One writer run: `cmds` written, then closed. Returns its events and
/// what the flush said.
fn run(db: &std::path::Path, cmds: Vec<StoreCommand>) -> (Vec<StoreEvent>, Result<(), String>) {
    let (handle, thread, rx) = start(db);
    for c in cmds {
        handle.send(c);
    }
    let flushed = handle.flush();
    thread.shutdown();
    (rx.try_iter().collect(), flushed)
}

fn checked(events: &[StoreEvent]) -> Option<String> {
    events.iter().find_map(|e| match e {
        StoreEvent::IntegrityCheck { why, done: false } => Some(why.clone()),
        _ => None,
    })
}

fn note(id: i64, text: &str) -> StoreCommand {
    StoreCommand::AppendMessage(message(id, 1, Role::User, text, 1_764_000_000_000 + id))
}

/// A file with some history, closed cleanly by a writer.
fn history(sb: &Sandbox) -> std::path::PathBuf {
    let db = sb.db();
    let mut cmds = vec![StoreCommand::CreateSession(session(
        1,
        "notes",
        1_764_000_000_000,
    ))];
    cmds.extend((0..3000).map(|i| {
        note(
            10 + i,
            &format!("note {i} about tardigrades and water bears"),
        )
    }));
    let (events, flushed) = run(&db, cmds);
    flushed.unwrap();
    assert_eq!(
        checked(&events).as_deref(),
        Some("first start with this file")
    );
    db
}

/// Another sound database beside the sandbox's, closed cleanly.
fn other_database(sb: &Sandbox) -> std::path::PathBuf {
    let other = sb.path().join("data").join("other.db");
    let (_, flushed) = run(
        &other,
        vec![StoreCommand::CreateSession(session(1, "other", 1))],
    );
    flushed.unwrap();
    other
}

#[test]
fn a_cleanly_closed_file_is_not_read_again_and_is_never_called_damaged() {
    let sb = Sandbox::new();
    let db = history(&sb);
    for round in 0..3 {
        let (events, flushed) = run(&db, vec![note(9000 + round, "one more")]);
        flushed.unwrap();
        assert_eq!(checked(&events), None, "round {round}: no full check");
        assert!(
            !events
                .iter()
                .any(|e| matches!(e, StoreEvent::WriteFailed { .. })),
            "{events:?}"
        );
    }
    let record = store::health::read(&db).unwrap();
    assert!(record.writers.is_empty() && record.closed.is_some());
    assert_eq!(record.checked.unwrap().problem, None);
}

/// Garbage over a b-tree page in the middle of the file, written by
/// another program after sleuth closed it.
fn damage_mid_file(db: &std::path::Path) {
    let mut bytes = std::fs::read(db).unwrap();
    let page = 4096;
    let mut mid = (bytes.len() / 2) / page * page;
    while !matches!(bytes[mid], 0x02 | 0x05 | 0x0a | 0x0d) {
        mid += page;
    }
    for b in &mut bytes[mid..mid + page] {
        *b = 0xA5;
    }
    std::fs::write(db, &bytes).unwrap();
}

fn assert_refused(db: &std::path::Path, how: &str) {
    let before = std::fs::read(db).unwrap();
    let (events, flushed) = run(db, vec![note(9100, "must not land")]);
    let err = flushed.unwrap_err();
    assert!(err.contains("damaged"), "{how}: {err}");
    assert_eq!(
        checked(&events).as_deref(),
        Some("the file changed since sleuth last closed it"),
        "{how}"
    );
    assert_eq!(
        std::fs::read(db).unwrap(),
        before,
        "{how}: not a byte written"
    );
    let kept = std::fs::read_to_string(store::recovery::path_for(db)).unwrap();
    assert!(kept.contains("must not land"), "{how}: the write is kept");
    // Still not vouched for: the next start checks again.
    let (events, _) = run(db, vec![]);
    assert!(checked(&events).is_some(), "{how}: checked again");
}

#[test]
fn a_page_damaged_after_a_clean_close_is_found_before_a_write() {
    let sb = Sandbox::new();
    let db = history(&sb);
    damage_mid_file(&db);
    assert_refused(&db, "page damaged mid-file");
}

#[test]
fn a_truncated_file_is_found_before_a_write() {
    let sb = Sandbox::new();
    let db = history(&sb);
    let len = std::fs::metadata(&db).unwrap().len();
    let f = std::fs::OpenOptions::new().write(true).open(&db).unwrap();
    f.set_len(len / 2 / 4096 * 4096).unwrap();
    drop(f);
    // SQLite itself sees the missing pages as it opens the file (the
    // schema and the page count do not fit): refused before any write.
    let before = std::fs::read(&db).unwrap();
    match store::open_writer(&db) {
        Err(store::StoreError::Corrupt { .. }) => {}
        Ok(_) => panic!("a truncated file opened for writing"),
        Err(e) => panic!("another error: {e}"),
    }
    assert_eq!(std::fs::read(&db).unwrap(), before, "not a byte written");
}

#[test]
fn a_file_put_in_its_place_between_runs_is_checked() {
    let sb = Sandbox::new();
    let db = history(&sb);
    // Another (sound) database moved over it: checked, found fine, used.
    let other = other_database(&sb);
    std::fs::rename(&other, &db).unwrap();
    let (events, flushed) = run(&db, vec![note(9200, "into the other file")]);
    flushed.unwrap();
    assert_eq!(
        checked(&events).as_deref(),
        Some("the file changed since sleuth last closed it")
    );
}

#[test]
fn a_file_replaced_or_changed_while_open_is_not_written() {
    for how in ["replaced", "changed"] {
        let sb = Sandbox::new();
        let db = history(&sb);
        let (handle, thread, rx) = start(&db);
        handle.send(note(9300, "before"));
        handle.flush().unwrap();
        let other = other_database(&sb);
        if how == "replaced" {
            std::fs::rename(&other, &db).unwrap();
        } else {
            // Same file, other bytes (as `cp other.db sleuth.db` does).
            std::fs::write(&db, std::fs::read(&other).unwrap()).unwrap();
        }
        let before = std::fs::read(&db).unwrap();
        handle.send(note(9301, "after"));
        let err = handle.flush().unwrap_err();
        assert!(err.contains(how), "{how}: {err}");
        let kept = thread.shutdown().expect("kept in the recovery file");
        assert_eq!(kept.writes, 1, "{how}");
        assert_eq!(std::fs::read(&db).unwrap(), before, "{how}: untouched");
        assert!(
            rx.try_iter()
                .any(|e| matches!(e, StoreEvent::WriteFailed { error, .. } if error.contains(how))),
            "{how}: the user is told"
        );
    }
}

#[test]
fn a_writer_killed_with_sigkill_makes_the_next_start_check_the_file() {
    let sb = Sandbox::new();
    let db = history(&sb);
    let mut child = sb
        .cmd()
        .args(["debug", "write-loop", "--size", "200"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for _ in 0..50 {
        lines.next().expect("writer stopped early").unwrap();
    }
    child.kill().unwrap(); // SIGKILL: no clean close
    child.wait().unwrap();
    let (events, flushed) = run(&db, vec![note(9400, "after the crash")]);
    flushed.unwrap();
    assert_eq!(checked(&events).as_deref(), Some("after an unclean exit"));
    // The check passed and the close was clean: the start after is quick.
    let (events, _) = run(&db, vec![]);
    assert_eq!(checked(&events), None);
}

fn stored_notes(db: &std::path::Path, like: &str) -> i64 {
    let conn = store::open_reader(db).unwrap();
    conn.query_row(
        "SELECT count(*) FROM messages WHERE content LIKE ?1",
        [format!("{like}%")],
        |r| r.get(0),
    )
    .unwrap()
}

/// Issue 24, item 8: the WAL deleted while sleuth runs (a cleaner, a
/// user's `rm`) lost every turn since the last checkpoint, even those
/// before the deletion, with exit 0. The writer notices the WAL it writes
/// to is gone, copies what it holds into the database, starts a new WAL,
/// and says so: nothing is lost, before or after.
#[test]
fn a_wal_deleted_while_open_loses_no_write() {
    let sb = Sandbox::new();
    let db = history(&sb);
    let (handle, thread, rx) = start(&db);
    for i in 0..50 {
        handle.send(note(9400 + i, &format!("before the WAL went {i}")));
    }
    handle.flush().unwrap();
    let wal = std::path::PathBuf::from(format!("{}-wal", db.display()));
    assert!(wal.exists());
    std::fs::remove_file(&wal).unwrap();
    for i in 0..50 {
        handle.send(note(9500 + i, &format!("after the WAL went {i}")));
    }
    handle.flush().unwrap();
    // Another sleuth reading meanwhile sees all of it.
    assert_eq!(stored_notes(&db, "before the WAL went"), 50);
    assert_eq!(stored_notes(&db, "after the WAL went"), 50);
    assert!(thread.shutdown().is_none(), "nothing left unsaved");
    let events: Vec<StoreEvent> = rx.try_iter().collect();
    assert!(
        events
            .iter()
            .any(|e| matches!(e, StoreEvent::Repaired { what } if what.contains("WAL"))),
        "the user is told the WAL was removed: {events:?}"
    );
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, StoreEvent::WriteFailed { .. })),
        "{events:?}"
    );
    assert_eq!(stored_notes(&db, "before the WAL went"), 50);
    assert_eq!(stored_notes(&db, "after the WAL went"), 50);
    let conn = store::open_reader(&db).unwrap();
    let ok: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
}

/// Issue 24, item 9: a database replaced by another file while its WAL
/// remained (the WAL belongs to the old file). Checkpointing that WAL into
/// the new file broke it (4 MB → 127 KB); a file reported damaged must be
/// left exactly as it is, its WAL too.
#[test]
fn a_file_replaced_under_its_wal_is_reported_and_left_as_it_is() {
    let sb = Sandbox::new();
    let db = history(&sb);
    let wal = std::path::PathBuf::from(format!("{}-wal", db.display()));
    let shm = std::path::PathBuf::from(format!("{}-shm", db.display()));
    // A WAL of this file with frames not yet in it.
    let raw = rusqlite::Connection::open(&db).unwrap();
    raw.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
    for i in 0..200 {
        raw.execute(
            "UPDATE messages SET content = content || ?1 WHERE id % 7 = ?2",
            rusqlite::params![format!(" edit {i}"), i % 7],
        )
        .unwrap();
    }
    let frames = std::fs::read(&wal).unwrap();
    assert!(frames.len() > 100_000, "{}", frames.len());
    drop(raw);
    // Another database put in its place, the old WAL beside it.
    let other = other_database(&sb);
    std::fs::copy(&other, &db).unwrap();
    std::fs::write(&wal, &frames).unwrap();
    let _ = std::fs::remove_file(&shm);
    let (db_before, wal_before) = (std::fs::read(&db).unwrap(), std::fs::read(&wal).unwrap());
    let (events, flushed) = run(&db, vec![note(9600, "must not land")]);
    assert!(checked(&events).is_some(), "the changed file is checked");
    // Reported damaged (the old WAL's pages over the new file make no
    // sound database): not a byte of the file or its WAL changed.
    let e = flushed.unwrap_err();
    assert!(e.contains("damaged"), "{e}");
    assert_eq!(
        std::fs::read(&db).unwrap(),
        db_before,
        "the file was written"
    );
    assert_eq!(
        std::fs::read(&wal).unwrap_or_default(),
        wal_before,
        "the WAL was checkpointed or removed"
    );
}
