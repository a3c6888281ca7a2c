//! What is known about the database file between runs, so that a start
//! does not have to read the whole file to know it may write to it.
//!
//! A small JSON file beside the database (`sleuth.db.health`), read and
//! written under an exclusive lock, holds:
//! - the writers open now (process id and start time): one that is gone
//!   without deregistering died (crash, SIGKILL, power loss);
//! - the file's identity, size and modification time when the last writer
//!   closed it cleanly (after emptying the WAL);
//! - the last full integrity check: when, and what it found.
//!
//! A writer starting runs `PRAGMA quick_check` (the whole file: seconds at a
//! million messages) only when that record cannot vouch for the file: a
//! writer died, the file changed since the clean close (a page written by
//! another program, a truncation, a copy put in its place), or there is no
//! record. While it runs, the file is also watched: a file replaced or
//! changed under a running writer stops the writes (they are kept).

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The record, as stored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Record {
    #[serde(default)]
    pub writers: Vec<Writer>,
    /// The file as the last writer left it; None while one is open.
    #[serde(default)]
    pub closed: Option<Stamp>,
    /// The file as a sleuth writer last changed it (its checkpoints
    /// change it): a running writer that finds the file otherwise knows
    /// another program changed it.
    #[serde(default)]
    pub latest: Option<Stamp>,
    #[serde(default)]
    pub checked: Option<Checked>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Writer {
    pub pid: u32,
    /// Start time of the process (Linux: clock ticks since boot), so a pid
    /// reused by another program does not pass for the writer.
    pub start: Option<u64>,
    /// Tells two writers of one process apart.
    pub token: u64,
}

/// A file's identity and the state of its contents, as the file system
/// reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    pub dev: u64,
    pub ino: u64,
    pub len: u64,
    pub mtime_ns: i64,
    /// Bytes in the WAL (0 when there is none).
    pub wal: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checked {
    /// Milliseconds since the epoch.
    pub at: i64,
    /// None: the check found nothing wrong.
    pub problem: Option<String>,
    /// Why it ran ("after an unclean exit", "periodic"…).
    pub why: String,
}

/// Why a start must check the whole file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckDue {
    /// A writer died without closing the file.
    Unclean,
    /// The file is not as the last writer left it.
    Changed,
    /// Nothing is known (a first start, or the record was lost).
    Unknown,
}

impl CheckDue {
    pub fn why(&self) -> &'static str {
        match self {
            CheckDue::Unclean => "after an unclean exit",
            CheckDue::Changed => "the file changed since sleuth last closed it",
            CheckDue::Unknown => "first start with this file",
        }
    }
}

pub fn path_for(db: &Path) -> PathBuf {
    let mut p = db.as_os_str().to_owned();
    p.push(".health");
    PathBuf::from(p)
}

/// A file's device and inode (0, 0 where there are none); None when it
/// does not exist.
pub(super) fn identity(path: &Path) -> Option<(u64, u64)> {
    let m = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        Some((m.dev(), m.ino()))
    }
    #[cfg(not(unix))]
    {
        let _ = m;
        Some((0, 0))
    }
}

pub(super) fn wal_path(db: &Path) -> PathBuf {
    let mut p = db.as_os_str().to_owned();
    p.push("-wal");
    PathBuf::from(p)
}

/// The database file's stamp now; None when it does not exist.
pub fn stamp(db: &Path) -> Option<Stamp> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(db).ok()?;
        let wal = std::fs::metadata(wal_path(db)).map_or(0, |w| w.len());
        Some(Stamp {
            dev: m.dev(),
            ino: m.ino(),
            len: m.len(),
            mtime_ns: m.mtime().saturating_mul(1_000_000_000) + m.mtime_nsec(),
            wal,
        })
    }
    #[cfg(not(unix))]
    {
        let m = std::fs::metadata(db).ok()?;
        let wal = std::fs::metadata(wal_path(db)).map_or(0, |w| w.len());
        let mtime_ns = m
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos() as i64);
        Some(Stamp {
            dev: 0,
            ino: 0,
            len: m.len(),
            mtime_ns,
            wal,
        })
    }
}

/// The record file, locked for as long as this lives.
struct Locked {
    file: File,
}

impl Locked {
    fn open(db: &Path) -> std::io::Result<Locked> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path_for(db))?;
        file.lock()?;
        Ok(Locked { file })
    }

    /// None: empty or unreadable (then nothing is vouched for).
    fn read(&mut self) -> Option<Record> {
        let mut s = String::new();
        self.file.seek(SeekFrom::Start(0)).ok()?;
        // A record is a few hundred bytes; a huge file is not one.
        (&mut self.file)
            .take(64 * 1024)
            .read_to_string(&mut s)
            .ok()?;
        serde_json::from_str(&s).ok()
    }

    fn write(&mut self, r: &Record) -> std::io::Result<()> {
        let s = serde_json::to_string(r).map_err(std::io::Error::other)?;
        self.file.set_len(0)?;
        self.file.seek(SeekFrom::Start(0))?;
        self.file.write_all(s.as_bytes())?;
        self.file.sync_data()
    }
}

/// The process's start time, to tell it from a later one with its pid.
fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Field 22, counted after the command name (which may hold spaces).
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

fn alive(w: &Writer) -> bool {
    if !super::orphans::alive(i64::from(w.pid)) {
        return false;
    }
    match (w.start, start_time(w.pid)) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    }
}

/// This writer, as registered in the record.
#[derive(Debug, Clone)]
pub struct Registration {
    db: PathBuf,
    me: Writer,
}

/// Registers a writer opening `db` and says whether it must check the
/// whole file first. An error (a directory it cannot write) means nothing
/// is vouched for: the caller checks.
pub fn open(db: &Path) -> std::io::Result<(Registration, Option<CheckDue>)> {
    let mut lock = Locked::open(db)?;
    let record = lock.read();
    let me = Writer {
        pid: std::process::id(),
        start: start_time(std::process::id()),
        token: rand_token(),
    };
    let mut r = record.clone().unwrap_or_default();
    let before = r.writers.len();
    r.writers.retain(alive);
    let due = if record.is_none() {
        Some(CheckDue::Unknown)
    } else if r.writers.len() < before {
        Some(CheckDue::Unclean)
    } else if !r.writers.is_empty() {
        // Another sleuth has it open: it is as that one keeps it.
        None
    } else {
        match r.closed {
            Some(s) if Some(s) == stamp(db) => None,
            _ => Some(CheckDue::Changed),
        }
    };
    r.writers.push(me.clone());
    r.closed = None;
    lock.write(&r)?;
    Ok((
        Registration {
            db: db.to_path_buf(),
            me,
        },
        due,
    ))
}

fn rand_token() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish()
}

impl Registration {
    /// Deregisters after a clean close of the connection; the last writer
    /// out stamps the file as it leaves it.
    pub fn close(self) {
        let result = (|| {
            let mut lock = Locked::open(&self.db)?;
            let mut r = lock.read().unwrap_or_default();
            r.writers.retain(|w| w.token != self.me.token && alive(w));
            r.latest = stamp(&self.db);
            if r.writers.is_empty() {
                r.closed = r.latest;
            }
            lock.write(&r)
        })();
        if let Err(e) = result {
            tracing::warn!(error = %e, "cannot record the clean close; the next start checks the file");
        }
    }

    /// Leaves without stamping (the file is damaged or not ours any more):
    /// the next start checks it.
    pub fn abandon(self) {
        let result = (|| {
            let mut lock = Locked::open(&self.db)?;
            let mut r = lock.read().unwrap_or_default();
            r.writers.retain(|w| w.token != self.me.token && alive(w));
            r.closed = None;
            lock.write(&r)
        })();
        if let Err(e) = result {
            tracing::warn!(error = %e, "cannot update the database's health record");
        }
    }

    /// The record, locked until the returned guard is dropped: a writer
    /// holds it across a commit, so its checkpoint and the stamp it notes
    /// are one step to every other writer.
    pub fn hold(&self) -> std::io::Result<Held> {
        let mut lock = Locked::open(&self.db)?;
        let record = lock.read().unwrap_or_default();
        Ok(Held { lock, record })
    }
}

/// The record, locked.
pub struct Held {
    lock: Locked,
    record: Record,
}

impl Held {
    /// The file as a sleuth writer last changed it.
    pub fn latest(&self) -> Option<Stamp> {
        self.record.latest
    }

    /// Notes that this writer changed the file to `s`.
    pub fn set_latest(mut self, s: Stamp) -> std::io::Result<()> {
        self.record.latest = Some(s);
        self.lock.write(&self.record)
    }
}

/// Records a full check's result (start-up or periodic).
pub fn record_check(db: &Path, problem: Option<String>, why: &str) {
    let result = (|| {
        let mut lock = Locked::open(db)?;
        let mut r = lock.read().unwrap_or_default();
        r.checked = Some(Checked {
            at: crate::domain::now_ms(),
            problem,
            why: why.to_string(),
        });
        lock.write(&r)
    })();
    if let Err(e) = result {
        tracing::warn!(error = %e, "cannot record the integrity check");
    }
}

/// The record as it is (for `doctor`); None when there is none.
pub fn read(db: &Path) -> Option<Record> {
    let mut s = String::new();
    File::open(path_for(db))
        .ok()?
        .take(64 * 1024)
        .read_to_string(&mut s)
        .ok()?;
    serde_json::from_str(&s).ok()
}
