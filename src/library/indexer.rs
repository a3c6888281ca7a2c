//! A scan of the library's folders: what changed since the index last saw
//! them, and only that read again.
//!
//! - unchanged (same size and mtime): not opened at all;
//! - same content under a new name or place (content hash): the row moves,
//!   nothing is extracted;
//! - touched but identical (same hash): only the mtime is updated;
//! - gone: its passages leave the index;
//! - new or changed: extracted by child processes (one per core), each
//!   file under time, memory and output limits; a failure is recorded with
//!   its reason and the scan goes on.
//!
//! Results are written in batched transactions, and a file's row is
//! written with its passages, so a scan killed midway resumes where it
//! stopped: what was committed is unchanged, the rest is redone.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::Extracted;
use super::child::{Extractor, Limits};
use super::formats::Format;
use super::index::{self, Chunk, FileMeta, FileRow, Index};
use super::settings::Folder;

/// How a scan runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// The sleuth binary the extractor children run.
    pub exe: PathBuf,
    pub limits: Limits,
    pub max_file_bytes: u64,
    /// Globs left out in every folder (`[library] exclude`).
    pub exclude: Vec<String>,
    /// Extractor children in parallel.
    pub workers: usize,
    /// Read every file under this path again, changed or not (`library
    /// reindex [PATH]`; "" is every file).
    pub force_under: Option<String>,
}

impl Options {
    pub fn new(exe: PathBuf, cfg: &super::settings::LibraryConfig) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self {
            exe,
            limits: Limits {
                timeout: Duration::from_secs(cfg.timeout_secs.max(1)),
                memory_mb: cfg.memory_mb.max(64),
                ..Limits::default()
            },
            max_file_bytes: cfg.max_file_mb.saturating_mul(1024 * 1024),
            exclude: cfg.exclude.clone(),
            workers: cores.clamp(1, 4),
            force_under: None,
        }
    }
}

/// Where a scan is, for a progress line or the status bar.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    pub done: usize,
    pub total: usize,
    pub bytes_done: u64,
    pub bytes_total: u64,
    pub current: String,
}

/// What a scan did (`library add`'s summary, `--json`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// Files of a format the library reads, found in the folders.
    pub seen: usize,
    pub unchanged: usize,
    pub indexed: usize,
    pub renamed: usize,
    pub removed: usize,
    pub failed: usize,
    pub skipped: usize,
    /// Changed while read: indexed again on the next scan.
    pub retry: usize,
    pub passages: usize,
    /// Bytes of the files read.
    pub bytes: u64,
    pub ms: u64,
    /// Stopped before the end (Ctrl+C): what was done is kept.
    pub interrupted: bool,
    pub notes: Vec<String>,
}

/// A file found by the walk.
#[derive(Debug, Clone)]
struct Found {
    path: String,
    size: u64,
    mtime_ns: i64,
    format: Format,
}

/// What a worker made of one file.
enum Outcome {
    Indexed(FileMeta, Extracted, index::Prepared),
    Touched(i64, FileMeta),
    Renamed(i64, FileMeta),
    Failed(FileMeta, String),
    /// Changed while read.
    Retry(FileMeta),
    /// Gone by the time it was read.
    Vanished(FileMeta),
}

/// A problem the walk itself met (a folder it cannot read, a loop).
struct WalkProblem {
    path: String,
    reason: String,
}

/// Scans `roots` into `ix`. `progress` is called as files finish; `stop`
/// ends the scan early with everything done so far kept.
pub fn scan(
    ix: &mut Index,
    roots: &[Folder],
    opts: &Options,
    progress: &mut dyn FnMut(&Progress),
    stop: &Arc<AtomicBool>,
) -> Result<Report, String> {
    let started = Instant::now();
    let mut report = Report::default();
    let known: HashMap<String, FileRow> = index::files(ix.conn())
        .map_err(|e| format!("library index: {e}"))?
        .into_iter()
        .map(|r| (r.path.clone(), r))
        .collect();
    let mut found: Vec<Found> = Vec::new();
    let mut problems: Vec<WalkProblem> = Vec::new();
    // Folders that are not there now (an unmounted disk): their files are
    // kept, not removed, until the folder is back or removed.
    let mut absent: Vec<String> = Vec::new();
    for root in roots {
        let excl = globs(opts.exclude.iter().chain(&root.exclude))?;
        if std::fs::metadata(&root.path).is_err() {
            report.notes.push(format!(
                "{} is not there; its files stay in the index until it is back or removed",
                root.path.display()
            ));
            absent.push(root.path.to_string_lossy().into_owned());
            continue;
        }
        walk(&root.path, &excl, &mut found, &mut problems);
    }
    found.sort_by(|a, b| a.path.cmp(&b.path));
    found.dedup_by(|a, b| a.path == b.path);
    report.seen = found.len();

    // What needs reading, and what is gone.
    let mut work: Vec<(Found, Option<FileRow>)> = Vec::new();
    let mut too_big: Vec<Found> = Vec::new();
    let mut present: std::collections::HashSet<&str> = std::collections::HashSet::new();
    for f in &found {
        present.insert(f.path.as_str());
        let row = known.get(&f.path);
        let same = row.is_some_and(|r| {
            r.size == f.size
                && r.mtime_ns == f.mtime_ns
                && matches!(r.status.as_str(), "indexed" | "failed")
        });
        let forced = opts
            .force_under
            .as_deref()
            .is_some_and(|p| p.is_empty() || under(&f.path, p));
        if same && !forced {
            report.unchanged += 1;
        } else if f.size > opts.max_file_bytes {
            too_big.push(f.clone());
        } else {
            work.push((f.clone(), row.cloned()));
        }
    }
    for p in &problems {
        present.insert(p.path.as_str());
    }
    let gone: Vec<&FileRow> = known
        .values()
        .filter(|r| !present.contains(r.path.as_str()))
        .filter(|r| !absent.iter().any(|a| under(&r.path, a)))
        .collect();
    // Gone files' hashes: a new file with one of them is the same file moved.
    let moved_from: Arc<Mutex<HashMap<String, i64>>> = Arc::new(Mutex::new(
        gone.iter()
            .filter(|r| r.status == "indexed")
            .filter_map(|r| r.hash.clone().map(|h| (h, r.id)))
            .collect(),
    ));

    ix.write(|tx| {
        for f in &too_big {
            let reason = format!(
                "larger than max_file_mb ({} MB > {} MB)",
                f.size.div_ceil(1024 * 1024),
                opts.max_file_bytes / (1024 * 1024)
            );
            index::put_problem(tx, &meta(f, None), "skipped", &reason)?;
        }
        for p in &problems {
            let m = FileMeta {
                path: p.path.clone(),
                size: 0,
                mtime_ns: 0,
                hash: None,
                format: None,
            };
            index::put_problem(tx, &m, "skipped", &p.reason)?;
        }
        Ok(())
    })?;
    report.skipped = too_big.len() + problems.len();

    let total = work.len();
    let bytes_total: u64 = work.iter().map(|(f, _)| f.size).sum();
    let mut prog = Progress {
        total,
        bytes_total,
        ..Progress::default()
    };
    progress(&prog);
    let results = run_workers(work, opts, moved_from, stop);
    let mut renamed: std::collections::HashSet<i64> = std::collections::HashSet::new();
    let mut batch: Vec<Outcome> = Vec::new();
    let mut batch_bytes = 0usize;
    let mut last_commit = Instant::now();
    for (path, size, outcome) in results.iter() {
        prog.done += 1;
        prog.bytes_done += size;
        prog.current = path;
        report.bytes += size;
        match &outcome {
            Outcome::Indexed(_, x, _) => batch_bytes += x.chars(),
            Outcome::Renamed(id, _) => {
                renamed.insert(*id);
            }
            _ => {}
        }
        batch.push(outcome);
        // Batches of files in one transaction: few fsyncs, and little lost
        // to a kill.
        if batch.len() >= 64
            || batch_bytes > 8 << 20
            || last_commit.elapsed() > Duration::from_millis(500)
        {
            commit(ix, std::mem::take(&mut batch), &mut report)?;
            batch_bytes = 0;
            last_commit = Instant::now();
        }
        progress(&prog);
    }
    commit(ix, batch, &mut report)?;
    report.interrupted = stop.load(Ordering::Relaxed);
    if !report.interrupted {
        ix.write(|tx| {
            let mut n = 0;
            for r in &gone {
                // A renamed file's old row was moved, not dropped.
                if !renamed.contains(&r.id) {
                    index::remove(tx, r.id)?;
                    n += 1;
                }
            }
            index::set_meta(
                tx,
                "last_scan",
                &chrono::Utc::now().timestamp_millis().to_string(),
            )?;
            Ok(n)
        })
        .map(|n| report.removed = n)?;
    }
    report.ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

/// Whether `path` is `root` or lies inside it.
pub fn under(path: &str, root: &str) -> bool {
    path == root
        || path
            .strip_prefix(root)
            .is_some_and(|r| r.starts_with('/') || root.ends_with('/'))
}

fn meta(f: &Found, hash: Option<String>) -> FileMeta {
    FileMeta {
        path: f.path.clone(),
        size: f.size,
        mtime_ns: f.mtime_ns,
        hash,
        format: Some(format_name(f.format)),
    }
}

fn format_name(f: Format) -> &'static str {
    match f {
        Format::Pdf => "pdf",
        Format::Markdown => "markdown",
        Format::Org => "org",
        Format::Text => "text",
        Format::Html => "html",
        Format::Epub => "epub",
        Format::Docx => "docx",
    }
}

fn globs<'a>(patterns: impl Iterator<Item = &'a String>) -> Result<globset::GlobSet, String> {
    let mut b = globset::GlobSetBuilder::new();
    for p in patterns {
        b.add(globset::Glob::new(p).map_err(|e| format!("exclude pattern {p:?}: {e}"))?);
    }
    b.build().map_err(|e| format!("exclude patterns: {e}"))
}

/// Files of a readable format under `root` (following symbolic links; a
/// loop or an unreadable folder is a problem recorded, not an end).
fn walk(
    root: &Path,
    excl: &globset::GlobSet,
    found: &mut Vec<Found>,
    problems: &mut Vec<WalkProblem>,
) {
    let walker = walkdir::WalkDir::new(root)
        .follow_links(true)
        .into_iter()
        .filter_entry(|e| {
            let rel = e.path().strip_prefix(root).unwrap_or(e.path());
            // Hidden folders (.git, .obsidian) hold no notes of the user's.
            let hidden = e.depth() > 0
                && e.file_type().is_dir()
                && e.file_name().to_str().is_some_and(|n| n.starts_with('.'));
            !hidden && !excl.is_match(e.path()) && !excl.is_match(rel)
        });
    for entry in walker {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                let path = e
                    .path()
                    .map(|p| p.to_string_lossy().into_owned())
                    .unwrap_or_else(|| root.to_string_lossy().into_owned());
                let reason = if e.loop_ancestor().is_some() {
                    "a symbolic link loop (not followed)".to_string()
                } else if e
                    .io_error()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::PermissionDenied)
                {
                    "no permission to read it".to_string()
                } else {
                    format!("cannot read it: {e}")
                };
                problems.push(WalkProblem { path, reason });
                continue;
            }
        };
        if !entry.file_type().is_file() {
            continue;
        }
        let Some(format) = Format::of(entry.path()) else {
            continue;
        };
        let Some(path) = entry.path().to_str() else {
            problems.push(WalkProblem {
                path: entry.path().to_string_lossy().into_owned(),
                reason: "its name is not UTF-8".into(),
            });
            continue;
        };
        // Deleted between the listing and now: not there, nothing to say.
        let Ok(md) = entry.metadata() else { continue };
        found.push(Found {
            path: path.to_string(),
            size: md.len(),
            mtime_ns: mtime_ns(&md),
            format,
        });
    }
}

fn mtime_ns(md: &std::fs::Metadata) -> i64 {
    md.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as i64)
}

/// The content hash: xxh3-128 of the bytes, streamed.
fn hash_file(path: &Path) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(format!("{:032x}", h.digest128()))
}

/// The results as they come: (path, size, outcome).
struct Results {
    rx: mpsc::Receiver<(String, u64, Outcome)>,
    workers: Vec<std::thread::JoinHandle<()>>,
}

impl Results {
    fn iter(&self) -> impl Iterator<Item = (String, u64, Outcome)> + '_ {
        self.rx.iter()
    }
}

impl Drop for Results {
    fn drop(&mut self) {
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

fn run_workers(
    work: Vec<(Found, Option<FileRow>)>,
    opts: &Options,
    moved_from: Arc<Mutex<HashMap<String, i64>>>,
    stop: &Arc<AtomicBool>,
) -> Results {
    let n = opts.workers.clamp(1, work.len().max(1));
    let queue = Arc::new(Mutex::new(work.into_iter()));
    // Bounded: workers that run ahead of the writer wait instead of
    // piling extracted files up in memory.
    let (tx, rx) = mpsc::sync_channel(2 * n);
    let mut workers = Vec::new();
    for i in 0..n {
        let (queue, tx, moved_from, opts) = (
            Arc::clone(&queue),
            tx.clone(),
            Arc::clone(&moved_from),
            opts.clone(),
        );
        let stop_flag = Arc::clone(stop);
        let spawned = std::thread::Builder::new()
            .name(format!("library-extract-{i}"))
            .spawn(move || {
                let mut ex = Extractor::new(opts.exe.clone(), opts.limits.clone());
                loop {
                    if stop_flag.load(Ordering::Relaxed) {
                        return;
                    }
                    let next = queue.lock().ok().and_then(|mut q| q.next());
                    let Some((f, row)) = next else { return };
                    let out = one_file(&mut ex, &f, row.as_ref(), &moved_from);
                    if tx.send((f.path.clone(), f.size, out)).is_err() {
                        return;
                    }
                }
            });
        match spawned {
            Ok(h) => workers.push(h),
            Err(e) => tracing::warn!(error = %e, "cannot start a library worker"),
        }
    }
    drop(tx);
    Results { rx, workers }
}

/// Hash, then move, touch or extract one file.
fn one_file(
    ex: &mut Extractor,
    f: &Found,
    row: Option<&FileRow>,
    moved_from: &Mutex<HashMap<String, i64>>,
) -> Outcome {
    let hash = match hash_file(Path::new(&f.path)) {
        Ok(h) => h,
        // Deleted between the walk and the read: it leaves the index.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Outcome::Vanished(meta(f, None));
        }
        Err(e) => return Outcome::Failed(meta(f, None), format!("cannot read it: {e}")),
    };
    let m = meta(f, Some(hash.clone()));
    if let Some(r) = row.filter(|r| r.status == "indexed" && r.hash.as_deref() == Some(&hash)) {
        return Outcome::Touched(r.id, m);
    }
    if row.is_none()
        && let Some(id) = moved_from.lock().ok().and_then(|mut g| g.remove(&hash))
    {
        return Outcome::Renamed(id, m);
    }
    let result = ex.extract(Path::new(&f.path));
    // Changed while it was read: what was read may be half a file.
    let Ok(now) = std::fs::metadata(&f.path) else {
        return Outcome::Vanished(m);
    };
    if now.len() != f.size || mtime_ns(&now) != f.mtime_ns {
        return Outcome::Retry(m);
    }
    match result {
        Ok(x) => {
            let p = index::prepare(&title_of(&m, &x), passages_of(&x));
            Outcome::Indexed(m, x, p)
        }
        Err(reason) => Outcome::Failed(m, reason),
    }
}

/// The passages of an extracted file: (page, section, text) in order.
pub fn passages_of(x: &Extracted) -> Vec<Chunk> {
    let mut out = Vec::new();
    for u in &x.units {
        for text in crate::agent::research::passages::chunk(&u.paragraphs) {
            out.push((u.page, u.section.clone(), text));
        }
    }
    out
}

fn title_of(m: &FileMeta, x: &Extracted) -> String {
    x.title
        .clone()
        .filter(|t| !t.trim().is_empty())
        .unwrap_or_else(|| {
            Path::new(&m.path)
                .file_stem()
                .map(|s| s.to_string_lossy().replace('_', " "))
                .unwrap_or_default()
        })
}

fn commit(ix: &mut Index, batch: Vec<Outcome>, report: &mut Report) -> Result<(), String> {
    if batch.is_empty() {
        return Ok(());
    }
    let counts = ix.write(|tx| {
        let mut c = Report::default();
        for o in &batch {
            match o {
                Outcome::Indexed(m, x, p) => {
                    c.passages += p.passages.len();
                    index::put_prepared(tx, m, x, p)?;
                    c.indexed += 1;
                }
                Outcome::Touched(id, m) => {
                    index::touch(tx, *id, m.size, m.mtime_ns)?;
                    c.unchanged += 1;
                }
                Outcome::Renamed(id, m) => {
                    index::rename(tx, *id, m)?;
                    c.renamed += 1;
                }
                Outcome::Failed(m, reason) => {
                    index::put_problem(tx, m, "failed", reason)?;
                    c.failed += 1;
                }
                Outcome::Vanished(m) => {
                    if index::forget(tx, &m.path)? {
                        c.removed += 1;
                    }
                }
                Outcome::Retry(m) => {
                    index::put_problem(
                        tx,
                        m,
                        "pending",
                        "changed while it was read; read again when it settles",
                    )?;
                    c.retry += 1;
                }
            }
        }
        Ok(c)
    })?;
    report.passages += counts.passages;
    report.indexed += counts.indexed;
    report.unchanged += counts.unchanged;
    report.renamed += counts.renamed;
    report.failed += counts.failed;
    report.retry += counts.retry;
    report.removed += counts.removed;
    Ok(())
}
