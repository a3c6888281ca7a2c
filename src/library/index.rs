//! The library's passage index: one SQLite file of its own
//! (`sleuth.library.db` next to `sleuth.db`). It is derived data — every
//! row can be made again from the files — so a damaged or foreign file is
//! moved aside and rebuilt instead of blocking anything, and the history's
//! start-up checks never grow with the library.
//!
//! Full text is FTS5 over each passage (`text`) and its file's title and
//! section (`head`), contentless (the text is stored once, in `passages`),
//! with `contentless_delete` so a changed file's rows can be dropped.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, Transaction, params};
use serde::Serialize;

use super::Extracted;

/// Bumped when the layout changes: an index of another version is rebuilt.
/// v3: the vocabulary table the search plans with (v2 stemmed in Rust,
/// which cost more than it was worth).
pub const SCHEMA_VERSION: i64 = 3;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files(
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    hash TEXT,
    status TEXT NOT NULL,          -- indexed | failed | skipped
    reason TEXT,
    format TEXT,
    title TEXT,
    author TEXT,
    doi TEXT,
    pages INTEGER,
    passages INTEGER NOT NULL DEFAULT 0,
    chars INTEGER NOT NULL DEFAULT 0,
    indexed_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS files_hash ON files(hash);
CREATE TABLE IF NOT EXISTS passages(
    id INTEGER PRIMARY KEY,
    file_id INTEGER NOT NULL,
    ordinal INTEGER NOT NULL,
    page INTEGER,
    section TEXT,
    text TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS passages_file ON passages(file_id, ordinal);
-- Contentless: the text is in `passages`, the index only its words.
CREATE VIRTUAL TABLE IF NOT EXISTS passages_fts USING fts5(
    text, head, content='', contentless_delete=1,
    tokenize='porter unicode61 remove_diacritics 2'
);
CREATE VIRTUAL TABLE IF NOT EXISTS passages_vocab USING fts5vocab(passages_fts, 'row');
-- Index-time embeddings (`vectors.rs`): unit-length little-endian f32,
-- all by the model in meta 'embed_model'.
CREATE TABLE IF NOT EXISTS vectors(passage_id INTEGER PRIMARY KEY, vec BLOB NOT NULL);
";

/// `sleuth.db` → `sleuth.library.db` (and `history` → `history.library.db`).
pub fn index_path_for(db: &Path) -> PathBuf {
    sibling(db, "library.db")
}

pub(crate) fn sibling(db: &Path, ext: &str) -> PathBuf {
    let stem = db
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "sleuth".into());
    db.with_file_name(format!("{stem}.{ext}"))
}

/// What the index knows of one file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileRow {
    pub id: i64,
    pub path: String,
    pub size: u64,
    pub mtime_ns: i64,
    pub hash: Option<String>,
    pub status: String,
    pub reason: Option<String>,
    pub title: Option<String>,
    pub passages: u64,
}

/// A file as the scan saw it, to be recorded.
#[derive(Debug, Clone)]
pub struct FileMeta {
    pub path: String,
    pub size: u64,
    pub mtime_ns: i64,
    pub hash: Option<String>,
    pub format: Option<&'static str>,
}

/// A passage as written: its page (PDF), its section, its text.
pub type Chunk = (Option<u32>, Option<String>, String);

/// What `sleuth library status` and `doctor` report.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub files: u64,
    pub passages: u64,
    pub bytes: u64,
    pub last_scan: Option<i64>,
    /// Passages with a stored embedding, and the model that made them.
    pub embedded: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub embed_model: Option<String>,
    pub problems: Vec<Problem>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    pub path: String,
    pub status: String,
    pub reason: String,
}

/// The index opened for writing (the indexer owns the one such connection).
pub struct Index {
    conn: Connection,
    path: PathBuf,
}

impl Index {
    /// Opens or creates the index. A damaged, foreign or other-version
    /// file is moved aside (`.damaged`) and a new one started; the second
    /// value says so, for the caller to report.
    pub fn open(path: &Path) -> Result<(Self, Option<String>), String> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        match Self::open_once(path) {
            Ok(ix) => Ok((ix, None)),
            Err(Open::Rebuild(why)) => {
                let aside = path.with_extension("db.damaged");
                for p in [aside.clone(), wal(&aside, "-wal"), wal(&aside, "-shm")] {
                    let _ = std::fs::remove_file(p);
                }
                std::fs::rename(path, &aside).map_err(|e| {
                    format!(
                        "the library index {} is unusable ({why}) and cannot be moved aside: {e}",
                        path.display()
                    )
                })?;
                for ext in ["-wal", "-shm"] {
                    let _ = std::fs::remove_file(wal(path, ext));
                }
                let ix = Self::open_once(path).map_err(|e| e.to_string())?;
                Ok((
                    ix,
                    Some(format!(
                        "the library index was unusable ({why}); it was moved to {} and is being rebuilt from the files",
                        aside.display()
                    )),
                ))
            }
            // Derived data in an older layout: dropped and rebuilt.
            Err(Open::Older(v)) => {
                for p in [path.to_path_buf(), wal(path, "-wal"), wal(path, "-shm")] {
                    let _ = std::fs::remove_file(p);
                }
                let ix = Self::open_once(path).map_err(|e| e.to_string())?;
                Ok((
                    ix,
                    Some(format!(
                        "the library index was made by an older sleuth (layout v{v}); it is being rebuilt from the files"
                    )),
                ))
            }
            Err(Open::Fail(e)) => Err(e),
        }
    }

    fn open_once(path: &Path) -> Result<Self, Open> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| Open::classify(path, e))?;
        let set_up = || -> rusqlite::Result<i64> {
            conn.busy_timeout(Duration::from_secs(5))?;
            let _: String =
                conn.pragma_update_and_check(None, "journal_mode", "wal", |r| r.get(0))?;
            conn.pragma_update(None, "synchronous", "NORMAL")?;
            conn.query_row("PRAGMA user_version", [], |r| r.get(0))
        };
        let version = set_up().map_err(|e| Open::classify(path, e))?;
        let tables: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
            .map_err(|e| Open::classify(path, e))?;
        if tables > 0 && (1..SCHEMA_VERSION).contains(&version) {
            return Err(Open::Older(version));
        }
        if tables > 0 && version != SCHEMA_VERSION {
            return Err(Open::Rebuild(format!(
                "it has layout version {version}, this sleuth writes {SCHEMA_VERSION}"
            )));
        }
        conn.execute_batch(SCHEMA)
            .and_then(|_| conn.pragma_update(None, "user_version", SCHEMA_VERSION))
            .map_err(|e| Open::classify(path, e))?;
        Ok(Self {
            conn,
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Runs `f` in one write transaction (a batch of files).
    pub fn write<T>(
        &mut self,
        f: impl FnOnce(&Transaction<'_>) -> rusqlite::Result<T>,
    ) -> Result<T, String> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| format!("library index: {e}"))?;
        let out = f(&tx).map_err(|e| format!("library index: {e}"))?;
        tx.commit().map_err(|e| format!("library index: {e}"))?;
        Ok(out)
    }
}

fn wal(p: &Path, suffix: &str) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

enum Open {
    Rebuild(String),
    Older(i64),
    Fail(String),
}

impl Open {
    fn classify(path: &Path, e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode::*;
        match e.sqlite_error_code() {
            Some(NotADatabase | DatabaseCorrupt) => Open::Rebuild(e.to_string()),
            _ => Open::Fail(format!("library index {}: {e}", path.display())),
        }
    }
}

impl std::fmt::Display for Open {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Open::Rebuild(s) | Open::Fail(s) => f.write_str(s),
            Open::Older(v) => write!(f, "an older layout (v{v})"),
        }
    }
}

/// A read-only connection for searches (the agent, the CLI, MCP). None
/// when there is no index yet: nothing was ever added.
pub fn open_reader(path: &Path) -> Result<Option<Connection>, String> {
    if !path.exists() {
        return Ok(None);
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| format!("library index {}: {e}", path.display()))?;
    conn.busy_timeout(Duration::from_secs(2))
        .map_err(|e| e.to_string())?;
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|e| format!("library index {}: {e}", path.display()))?;
    if version != SCHEMA_VERSION {
        return Ok(None);
    }
    Ok(Some(conn))
}

// ---- writes (inside `Index::write`) ----

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Drops a file's passages from the table and the full-text index.
fn drop_passages(tx: &Transaction<'_>, file: i64) -> rusqlite::Result<()> {
    tx.execute(
        "DELETE FROM passages_fts WHERE rowid IN (SELECT id FROM passages WHERE file_id = ?1)",
        [file],
    )?;
    tx.execute(
        "DELETE FROM vectors WHERE passage_id IN (SELECT id FROM passages WHERE file_id = ?1)",
        [file],
    )?;
    tx.execute("DELETE FROM passages WHERE file_id = ?1", [file])?;
    Ok(())
}

fn upsert(
    tx: &Transaction<'_>,
    m: &FileMeta,
    status: &str,
    reason: Option<&str>,
) -> rusqlite::Result<i64> {
    tx.query_row(
        "INSERT INTO files(path, size, mtime_ns, hash, status, reason, format, indexed_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT(path) DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns,
           hash = excluded.hash, status = excluded.status, reason = excluded.reason,
           format = excluded.format, indexed_at = excluded.indexed_at,
           title = NULL, author = NULL, doi = NULL, pages = NULL, passages = 0, chars = 0
         RETURNING id",
        params![
            m.path,
            m.size as i64,
            m.mtime_ns,
            m.hash,
            status,
            reason,
            m.format,
            now_ms()
        ],
        |r| r.get(0),
    )
}

/// A file's passages made ready to write, with each one's head (title
/// and section). Made on the indexer's worker threads.
pub struct Prepared {
    pub title: String,
    pub passages: Vec<(Chunk, String)>,
}

pub fn prepare(title: &str, chunks: Vec<Chunk>) -> Prepared {
    let passages = chunks
        .into_iter()
        .map(|c| {
            let head = match &c.1 {
                Some(s) => format!("{title} {s}"),
                None => title.to_string(),
            };
            (c, head)
        })
        .collect();
    Prepared {
        title: title.to_string(),
        passages,
    }
}

/// Records a file's passages (replacing any it had): `chunks` are
/// (page, section, text) in reading order.
pub fn put_indexed(
    tx: &Transaction<'_>,
    m: &FileMeta,
    x: &Extracted,
    title: &str,
    chunks: &[Chunk],
) -> rusqlite::Result<i64> {
    put_prepared(tx, m, x, &prepare(title, chunks.to_vec()))
}

pub fn put_prepared(
    tx: &Transaction<'_>,
    m: &FileMeta,
    x: &Extracted,
    p: &Prepared,
) -> rusqlite::Result<i64> {
    if let Some(old) = file_id(tx, &m.path)? {
        drop_passages(tx, old)?;
    }
    // Indexed, with a note: status lists it, as it lists failures.
    let note = x
        .truncated
        .then_some("only the first 8 MB of its text is indexed (the rest is not searched)");
    let id = upsert(tx, m, "indexed", note)?;
    let chars: usize = p.passages.iter().map(|(c, _)| c.2.len()).sum();
    tx.execute(
        "UPDATE files SET title = ?2, author = ?3, doi = ?4, pages = ?5, passages = ?6, chars = ?7
         WHERE id = ?1",
        params![
            id,
            p.title,
            x.author,
            x.doi,
            x.pages,
            p.passages.len() as i64,
            chars as i64
        ],
    )?;
    let mut ins = tx.prepare_cached(
        "INSERT INTO passages(file_id, ordinal, page, section, text) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    let mut fts =
        tx.prepare_cached("INSERT INTO passages_fts(rowid, text, head) VALUES (?1, ?2, ?3)")?;
    for (i, ((page, section, text), head)) in p.passages.iter().enumerate() {
        ins.execute(params![id, i as i64, page, section, text])?;
        fts.execute(params![tx.last_insert_rowid(), text, head])?;
    }
    Ok(id)
}

/// Records a file that was not indexed (`failed` or `skipped`) and why.
pub fn put_problem(
    tx: &Transaction<'_>,
    m: &FileMeta,
    status: &str,
    reason: &str,
) -> rusqlite::Result<()> {
    if let Some(old) = file_id(tx, &m.path)? {
        drop_passages(tx, old)?;
    }
    upsert(tx, m, status, Some(reason)).map(|_| ())
}

/// A file moved or renamed with its content unchanged: its passages stay.
pub fn rename(tx: &Transaction<'_>, id: i64, m: &FileMeta) -> rusqlite::Result<()> {
    if let Some(other) = file_id(tx, &m.path)?.filter(|&o| o != id) {
        remove(tx, other)?;
    }
    tx.execute(
        "UPDATE files SET path = ?2, size = ?3, mtime_ns = ?4 WHERE id = ?1",
        params![id, m.path, m.size as i64, m.mtime_ns],
    )
    .map(|_| ())
}

/// Same content, new mtime (a `touch`, a copy over itself).
pub fn touch(tx: &Transaction<'_>, id: i64, size: u64, mtime_ns: i64) -> rusqlite::Result<()> {
    tx.execute(
        "UPDATE files SET size = ?2, mtime_ns = ?3 WHERE id = ?1",
        params![id, size as i64, mtime_ns],
    )
    .map(|_| ())
}

/// Removes the file at `path` if the index has it; whether it had.
pub fn forget(tx: &Transaction<'_>, path: &str) -> rusqlite::Result<bool> {
    match file_id(tx, path)? {
        Some(id) => remove(tx, id).map(|_| true),
        None => Ok(false),
    }
}

pub fn remove(tx: &Transaction<'_>, id: i64) -> rusqlite::Result<()> {
    drop_passages(tx, id)?;
    tx.execute("DELETE FROM files WHERE id = ?1", [id])
        .map(|_| ())
}

pub fn set_meta(tx: &Transaction<'_>, key: &str, value: &str) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO meta(key, value) VALUES (?1, ?2)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )
    .map(|_| ())
}

// ---- reads (any connection) ----

fn file_id(conn: &Connection, path: &str) -> rusqlite::Result<Option<i64>> {
    conn.query_row("SELECT id FROM files WHERE path = ?1", [path], |r| r.get(0))
        .optional()
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<FileRow> {
    Ok(FileRow {
        id: r.get(0)?,
        path: r.get(1)?,
        size: r.get::<_, i64>(2)? as u64,
        mtime_ns: r.get(3)?,
        hash: r.get(4)?,
        status: r.get(5)?,
        reason: r.get(6)?,
        title: r.get(7)?,
        passages: r.get::<_, i64>(8)? as u64,
    })
}

const FILE_COLS: &str = "id, path, size, mtime_ns, hash, status, reason, title, passages";

/// Every file recorded, by path.
pub fn files(conn: &Connection) -> rusqlite::Result<Vec<FileRow>> {
    let mut st = conn.prepare_cached(&format!("SELECT {FILE_COLS} FROM files ORDER BY path"))?;
    st.query_map([], row)?.collect()
}

/// An indexed file with this content hash, if any.
pub fn by_hash(conn: &Connection, hash: &str) -> rusqlite::Result<Vec<FileRow>> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {FILE_COLS} FROM files WHERE hash = ?1 AND status = 'indexed'"
    ))?;
    st.query_map([hash], row)?.collect()
}

pub fn meta(conn: &Connection, key: &str) -> rusqlite::Result<Option<String>> {
    conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()
}

pub fn summary(conn: &Connection) -> rusqlite::Result<Summary> {
    let (files, passages, bytes) = conn.query_row(
        "SELECT count(*), coalesce(sum(passages), 0), coalesce(sum(size), 0)
         FROM files WHERE status = 'indexed'",
        [],
        |r| {
            Ok((
                r.get::<_, i64>(0)? as u64,
                r.get::<_, i64>(1)? as u64,
                r.get::<_, i64>(2)? as u64,
            ))
        },
    )?;
    let last_scan = meta(conn, "last_scan")?.and_then(|v| v.parse().ok());
    let mut st = conn.prepare_cached(
        "SELECT path, CASE status WHEN 'indexed' THEN 'partial' ELSE status END,
                coalesce(reason, '') FROM files
         WHERE status != 'indexed' OR reason IS NOT NULL ORDER BY status, path",
    )?;
    let problems = st
        .query_map([], |r| {
            Ok(Problem {
                path: r.get(0)?,
                status: r.get(1)?,
                reason: r.get(2)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    // An index from before embeddings has no table yet: nothing embedded.
    let (embedded, embed_model) = super::vectors::count(conn).unwrap_or((0, None));
    Ok(Summary {
        files,
        passages,
        bytes,
        last_scan,
        embedded,
        embed_model,
        problems,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::library::Unit;
    use crate::library::search::search;

    fn meta_of(path: &str) -> FileMeta {
        FileMeta {
            path: path.into(),
            size: 10,
            mtime_ns: 1,
            hash: Some("h".into()),
            format: Some("markdown"),
        }
    }

    fn chunks(texts: &[&str]) -> Vec<Chunk> {
        texts
            .iter()
            .enumerate()
            .map(|(i, t)| (Some(i as u32 + 1), None, t.to_string()))
            .collect()
    }

    #[test]
    fn passages_are_found_replaced_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let (mut ix, note) = Index::open(&dir.path().join("l.db")).unwrap();
        assert!(note.is_none());
        let x = Extracted {
            units: vec![Unit::default()],
            ..Default::default()
        };
        let id = ix
            .write(|tx| {
                put_indexed(
                    tx,
                    &meta_of("/a.md"),
                    &x,
                    "Tardigrades",
                    &chunks(&["They survive vacuum.", "Water bears eat moss."]),
                )
            })
            .unwrap();
        let hits = search(ix.conn(), "what do tardigrades survive?", 5).unwrap();
        assert_eq!(hits[0].text, "They survive vacuum.");
        assert_eq!(hits[0].page, Some(1));
        // Re-indexing replaces; the old words are gone from the index.
        ix.write(|tx| put_indexed(tx, &meta_of("/a.md"), &x, "T", &chunks(&["Moss only."])))
            .unwrap();
        assert!(search(ix.conn(), "vacuum", 5).unwrap().is_empty());
        assert_eq!(search(ix.conn(), "moss", 5).unwrap().len(), 1);
        ix.write(|tx| remove(tx, id)).unwrap();
        assert!(search(ix.conn(), "moss", 5).unwrap().is_empty());
        assert_eq!(summary(ix.conn()).unwrap().files, 0);
    }

    #[test]
    fn a_damaged_index_is_moved_aside_and_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("l.db");
        std::fs::write(&p, vec![0x5a; 8192]).unwrap();
        let (ix, note) = Index::open(&p).unwrap();
        assert!(note.unwrap().contains("rebuilt"));
        assert_eq!(summary(ix.conn()).unwrap().files, 0);
        assert!(dir.path().join("l.db.damaged").exists());
    }
}
