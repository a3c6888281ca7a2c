//! The SQLite store: one writer thread owns the only writing connection;
//! read-only connections serve pages, transcripts and lookups.

mod apply;
pub mod health;
pub mod import;
pub mod orphans;
pub mod queries;
pub mod reader;
pub mod recovery;
pub mod runs;
pub mod schema;
pub mod search;
mod watch;
pub mod writer;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

pub use reader::{ReadRequest, ReaderHandle, spawn_reader};
pub use writer::{StoreCommand, WriterHandle, spawn_writer};

use crate::domain::{Message, RequestId, Session, SessionId, SessionSummary, StoredMessage};

/// How long a connection waits for another writer before giving up on a
/// statement. The writer retries whole batches on top of this.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "{path} is not a usable sleuth database ({reason}). It was left untouched: move it aside or pass another file with --db"
    )]
    Corrupt { path: PathBuf, reason: String },
    #[error("cannot open database {path}: {reason}")]
    Open { path: PathBuf, reason: String },
    #[error(
        "database was written by a newer sleuth (schema v{found}, this build knows v{supported}); upgrade sleuth"
    )]
    TooNew { found: i64, supported: i64 },
    #[error("no session {0}")]
    NoSession(String),
    #[error("cannot write {path}: {reason}")]
    Export { path: PathBuf, reason: String },
    #[error("{0}")]
    BadQuery(String),
    #[error("cannot import: {0}")]
    Import(String),
    #[error("cancelled: a newer request replaced it")]
    Cancelled,
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

impl StoreError {
    /// True when retrying later may succeed (locked, busy, disk full, I/O).
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => matches!(
                e.code,
                rusqlite::ErrorCode::DatabaseBusy
                    | rusqlite::ErrorCode::DatabaseLocked
                    | rusqlite::ErrorCode::DiskFull
                    | rusqlite::ErrorCode::SystemIoFailure
                    | rusqlite::ErrorCode::CannotOpen
            ),
            _ => false,
        }
    }
}

/// Answers of the store to the UI (or to a CLI command); each read echoes
/// the request id it answers.
#[derive(Debug, Clone)]
pub enum StoreEvent {
    SessionsPage {
        req: RequestId,
        offset: usize,
        sessions: Vec<SessionSummary>,
        has_more: bool,
        /// How many sessions match in all (first page only).
        total: Option<usize>,
    },
    Transcript {
        req: RequestId,
        session: Session,
        messages: Vec<StoredMessage>,
        /// The session's deep runs: report message, status, research tree.
        runs: Vec<(
            crate::domain::MessageId,
            crate::domain::RunStatus,
            crate::domain::RunTree,
        )>,
    },
    MessageFound {
        req: RequestId,
        message: Option<Message>,
    },
    ReadFailed {
        req: RequestId,
        error: String,
    },
    Preview {
        req: RequestId,
        session: SessionId,
        messages: Vec<Message>,
    },
    /// Earlier questions (id, text), newest first; `exhausted` when there
    /// are no older ones.
    Questions {
        req: RequestId,
        questions: Vec<(crate::domain::MessageId, String)>,
        exhausted: bool,
    },
    Exported {
        req: RequestId,
        path: PathBuf,
    },
    /// A deep run to resume; None if it is gone.
    RunLoaded {
        req: RequestId,
        run: Option<Box<StoredRun>>,
    },
    /// The answer to the newest search (older ones are never sent).
    SearchResults {
        req: RequestId,
        query: String,
        hits: Vec<search::Hit>,
        /// The query could not be run (syntax explained in words, or a
        /// database error).
        error: Option<String>,
        /// A second, deeper answer to the same request (many more matches
        /// ranked), replacing the first.
        refined: bool,
    },
    /// Every command up to and including `seq` is durable.
    Committed {
        seq: u64,
        commands: usize,
    },
    /// A batch could not be written; it is kept and retried.
    WriteFailed {
        error: String,
        pending: usize,
    },
    /// A previously failed batch has been written after all.
    WriteRecovered {
        seq: u64,
    },
    /// The writer found and put right something another program did to
    /// the files (a WAL removed under it); nothing was lost. In words.
    Repaired {
        what: String,
    },
    /// The writer is checking the whole file before its first write (why:
    /// "after an unclean exit"…); `done` once it has answered.
    IntegrityCheck {
        why: String,
        done: bool,
    },
}

/// A deep run as stored: what a resume needs.
#[derive(Debug, Clone)]
pub struct StoredRun {
    pub record: crate::domain::RunRecord,
    /// Its report message (rewritten by the resumed run).
    pub message: Message,
    pub documents: Vec<crate::domain::RunDocument>,
}

fn open_err(path: &Path, e: impl std::fmt::Display) -> StoreError {
    StoreError::Open {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

fn classify(path: &Path, e: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(f, _) = &e
        && matches!(
            f.code,
            rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt
        )
    {
        return StoreError::Corrupt {
            path: path.to_path_buf(),
            reason: e.to_string(),
        };
    }
    open_err(path, e)
}

/// `--db ~/notes` (a directory) is a mistake to name, not "disk I/O error".
fn not_a_directory(path: &Path) -> Result<(), StoreError> {
    if path.is_dir() {
        return Err(open_err(
            path,
            "it is a directory — --db and SLEUTH_DB take a database file",
        ));
    }
    Ok(())
}

fn apply_pragmas(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "foreign_keys", true)?;
    Ok(())
}

/// Opens (creating if needed) the database for writing and migrates it.
/// Corrupt or foreign files are reported, never overwritten.
pub fn open_writer(path: &Path) -> Result<Connection, StoreError> {
    not_a_directory(path)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| open_err(path, format!("{}: {e}", dir.display())))?;
    }
    let mut conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| classify(path, e))?;
    // Two sleuths starting at once on a new file: one converts it to WAL
    // and migrates while the other is told "locked" at once, without the
    // busy timeout's wait (switching journal mode does not wait). Setting
    // up is idempotent, so it is retried for a while.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        match set_up(&mut conn) {
            Ok(()) => return Ok(conn),
            Err(StoreError::Sqlite(e)) if is_busy(&e) && std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(StoreError::Sqlite(e)) => return Err(classify(path, e)),
            Err(other) => return Err(other),
        }
    }
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// Pragmas, WAL mode and migrations on a writing connection.
fn set_up(conn: &mut Connection) -> Result<(), StoreError> {
    apply_pragmas(conn)?;
    // journal_mode is the first statement that reads the header: a foreign
    // file fails here with NotADatabase.
    let mode: String = conn.pragma_update_and_check(None, "journal_mode", "wal", |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(mode, "database is not in WAL mode");
    }
    // NORMAL in WAL mode: a process crash loses nothing committed; only a
    // power loss can drop the last transactions.
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    // A bigger page cache keeps large batches (imports, bursts) from
    // spilling to the WAL mid-transaction.
    conn.pragma_update(None, "cache_size", -32_000)?;
    schema::migrate(conn)?;
    search::stats::attach(conn)
}

/// A read-only connection that has read the schema (which needs the WAL
/// index); `immutable`: without the WAL or its index, for a file in a
/// directory this process cannot write.
fn read_only(path: &Path, immutable: bool) -> rusqlite::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = if immutable {
        let p = path
            .to_string_lossy()
            .replace('%', "%25")
            .replace('?', "%3f")
            .replace('#', "%23");
        Connection::open_with_flags(
            format!("file:{p}?immutable=1"),
            flags | OpenFlags::SQLITE_OPEN_URI,
        )?
    } else {
        Connection::open_with_flags(path, flags)?
    };
    apply_pragmas(&conn)?;
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    })?;
    Ok(conn)
}

/// No WAL beside the file, or an empty one: the file alone is the database.
fn wal_is_empty(path: &Path) -> bool {
    std::fs::metadata(health::wal_path(path)).map_or(true, |m| m.len() == 0)
}

/// Opens a read-only connection. The file must exist and be migrated.
pub fn open_reader(path: &Path) -> Result<Connection, StoreError> {
    not_a_directory(path)?;
    let conn = match read_only(path, false) {
        Ok(c) => c,
        // In a directory sleuth may not write (a mounted backup, another
        // user's files), a reader cannot make the WAL's index file: it
        // reads the file as it stands instead, when no WAL holds more.
        Err(e)
            if matches!(
                e.sqlite_error_code(),
                Some(rusqlite::ErrorCode::ReadOnly | rusqlite::ErrorCode::CannotOpen)
            ) && wal_is_empty(path) =>
        {
            read_only(path, true).map_err(|e| classify(path, e))?
        }
        Err(e) => return Err(classify(path, e)),
    };
    let v = schema::version(&conn).map_err(|e| match e {
        StoreError::Sqlite(e) => classify(path, e),
        other => other,
    })?;
    if v > schema::CURRENT_VERSION {
        return Err(StoreError::TooNew {
            found: v,
            supported: schema::CURRENT_VERSION,
        });
    }
    Ok(conn)
}
