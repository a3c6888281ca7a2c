//! The app's library worker: its own thread, which catches the index up
//! with the folders when the app starts, then watches them (`notify`,
//! debounced) and runs the same incremental scan as `sleuth library add`
//! when something changes. It reports over an [`Emitter`] and never
//! touches the render thread; the app shows its progress in the status
//! bar. A scan is cheap when little changed (size + mtime, no file read),
//! so every change runs one whole scan rather than tracking paths: moves,
//! deletions and renames come out right by construction.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use notify::{EventKind, RecursiveMode, Watcher};

use super::index::Index;
use super::indexer::{self, Options, Progress};
use super::settings::{self, Folder, LibraryConfig};
use super::vectors::{self, Plan};
use crate::emit::Emitter;

/// What the worker reports.
#[derive(Debug, Clone, PartialEq)]
pub enum LibraryEvent {
    /// A scan is under way (sent at most every 200 ms).
    Progress { done: usize, total: usize },
    /// New passages are being embedded (`embed_model`), at most every 200 ms.
    Embedding { done: usize, total: u64 },
    /// A scan ended: what changed.
    Done {
        indexed: usize,
        removed: usize,
        failed: usize,
    },
    /// The library cannot be watched or scanned (said once per cause).
    Failed(String),
}

/// Quiet time after a change before the scan (an editor's save is a
/// burst of events; a copy of 500 PDFs is a longer one).
const SETTLE: Duration = Duration::from_millis(700);
/// A burst that never goes quiet is scanned after this anyway.
const MAX_WAIT: Duration = Duration::from_secs(5);
/// How often the registered folders are read again (`sleuth library add`
/// in another terminal adds one while the app runs).
const FOLDERS_POLL: Duration = Duration::from_secs(10);
/// A file that changed while it was read is tried again after this.
const RETRY: Duration = Duration::from_secs(2);

pub struct LibraryWorker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl LibraryWorker {
    /// Starts the worker when the library has folders and `watch` is on;
    /// None otherwise (nothing is indexed before the user adds a folder).
    pub fn spawn(
        cfg: LibraryConfig,
        embedding: Plan,
        exe: PathBuf,
        emit: Emitter<LibraryEvent>,
    ) -> std::io::Result<Option<Self>> {
        let roots = settings::roots(&cfg).unwrap_or_default();
        if !cfg.watch || roots.is_empty() {
            return Ok(None);
        }
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("library".into())
            .spawn(move || Worker::new(cfg, embedding, exe, emit, flag).run())?;
        Ok(Some(Self {
            stop,
            thread: Some(thread),
        }))
    }

    /// Stops a scan at its next file (what was done is kept) and joins.
    pub fn shutdown(mut self) {
        self.stop_and_join();
    }

    /// A file being extracted finishes first (at most its timeout); quit
    /// does not wait for that: past two seconds the thread is left to end
    /// on its own (its children end when their stdin closes).
    fn stop_and_join(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let Some(t) = self.thread.take() else {
            return;
        };
        let deadline = Instant::now() + Duration::from_secs(2);
        while !t.is_finished() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        if t.is_finished() {
            let _ = t.join();
        } else {
            tracing::info!("the library worker is still reading a file; not waiting for it");
        }
    }
}

impl Drop for LibraryWorker {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

struct Worker {
    cfg: LibraryConfig,
    embedding: Plan,
    opts: Options,
    emit: Emitter<LibraryEvent>,
    stop: Arc<AtomicBool>,
    last_error: Option<String>,
}

impl Worker {
    fn new(
        cfg: LibraryConfig,
        embedding: Plan,
        exe: PathBuf,
        emit: Emitter<LibraryEvent>,
        stop: Arc<AtomicBool>,
    ) -> Self {
        let opts = Options::new(exe, &cfg);
        Self {
            cfg,
            embedding,
            opts,
            emit,
            stop,
            last_error: None,
        }
    }

    fn fail(&mut self, msg: String) {
        tracing::warn!(error = %msg, "library");
        if self.last_error.as_ref() != Some(&msg) {
            self.emit.emit(LibraryEvent::Failed(msg.clone()));
            self.last_error = Some(msg);
        }
    }

    fn run(mut self) {
        let (tx, events) = mpsc::channel();
        let mut watcher = match notify::recommended_watcher(tx) {
            Ok(w) => Some(w),
            Err(e) => {
                self.fail(format!("cannot watch the library folders: {e}"));
                None
            }
        };
        let mut roots = settings::roots(&self.cfg).unwrap_or_default();
        let mut watched = self.watch(watcher.as_mut(), &[], &roots);
        let mut folders_seen = Instant::now();
        let mut folders_mtime = mtime(&self.cfg.folders_file());
        // Catch up with what changed while the app was closed.
        let mut retry = self.scan(&roots);
        while !self.stop.load(Ordering::SeqCst) {
            let wait = if retry {
                RETRY
            } else {
                Duration::from_millis(250)
            };
            let changed = wait_for_change(&events, wait, &self.stop, &self.cfg.index);
            if folders_seen.elapsed() >= FOLDERS_POLL {
                folders_seen = Instant::now();
                let m = mtime(&self.cfg.folders_file());
                if m != folders_mtime {
                    folders_mtime = m;
                    roots = settings::roots(&self.cfg).unwrap_or_default();
                    watched = self.watch(watcher.as_mut(), &watched, &roots);
                    retry = true;
                }
            }
            if changed || retry {
                retry = self.scan(&roots);
            }
        }
    }

    /// Watches the roots not yet watched and unwatches the ones gone;
    /// returns what is watched now.
    fn watch(
        &mut self,
        watcher: Option<&mut notify::RecommendedWatcher>,
        old: &[PathBuf],
        roots: &[Folder],
    ) -> Vec<PathBuf> {
        let Some(w) = watcher else {
            return Vec::new();
        };
        let now: Vec<PathBuf> = roots.iter().map(|f| f.path.clone()).collect();
        for p in old.iter().filter(|p| !now.contains(p)) {
            let _ = w.unwatch(p);
        }
        let mut ok = Vec::new();
        for p in now {
            if old.contains(&p) {
                ok.push(p);
                continue;
            }
            match w.watch(&p, RecursiveMode::Recursive) {
                Ok(()) => ok.push(p),
                // An absent folder (an unplugged disk) is scanned as
                // absent and watched once it is back.
                Err(_) if !p.exists() => {}
                Err(e) => self.fail(format!("cannot watch {}: {e}", p.display())),
            }
        }
        ok
    }

    /// One incremental scan; true when a file should be read again soon.
    fn scan(&mut self, roots: &[Folder]) -> bool {
        let mut ix = match Index::open(&self.cfg.index) {
            Ok((ix, _)) => ix,
            Err(e) => {
                self.fail(e);
                return false;
            }
        };
        let mut last = Instant::now() - Duration::from_secs(1);
        let emit = self.emit.clone();
        let mut progress = |p: &Progress| {
            if p.total > 0 && last.elapsed() >= Duration::from_millis(200) {
                last = Instant::now();
                emit.emit(LibraryEvent::Progress {
                    done: p.done,
                    total: p.total,
                });
            }
        };
        match indexer::scan(&mut ix, roots, &self.opts, &mut progress, &self.stop) {
            Ok(r) => {
                self.last_error = None;
                // Before `Done`: the status bar shows one piece of work.
                self.embed(&mut ix);
                self.emit.emit(LibraryEvent::Done {
                    indexed: r.indexed + r.renamed,
                    removed: r.removed,
                    failed: r.failed + r.skipped,
                });
                r.retry > 0
            }
            Err(e) => {
                self.fail(e);
                false
            }
        }
    }
}

impl Worker {
    /// Embeds the passages the scan added (when a model is set and may
    /// have them). A model that is down or has no embeddings is only
    /// logged: the provider's state is in the status bar already, and the
    /// next scan tries again.
    fn embed(&mut self, ix: &mut Index) {
        let Plan::On(e) = &self.embedding else {
            return;
        };
        if self.stop.load(Ordering::SeqCst) {
            return;
        }
        let mut last = Instant::now() - Duration::from_secs(1);
        let emit = self.emit.clone();
        let mut progress = |done: usize, total: u64| {
            if last.elapsed() >= Duration::from_millis(200) {
                last = Instant::now();
                emit.emit(LibraryEvent::Embedding { done, total });
            }
        };
        match vectors::embed_pending(ix, e, &mut progress, &self.stop) {
            Ok(r) => {
                if let Some(note) = r.note {
                    tracing::info!(%note, waiting = r.waiting, "library embeddings");
                }
            }
            Err(err) => self.fail(err),
        }
    }
}

fn mtime(p: &Path) -> Option<SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

/// Waits up to `wait` for a change that matters, then for the burst to
/// settle. The index's own files (when it sits inside a watched folder)
/// and reads do not count.
fn wait_for_change(
    events: &Receiver<notify::Result<notify::Event>>,
    wait: Duration,
    stop: &AtomicBool,
    index: &Path,
) -> bool {
    let matters = |ev: &notify::Result<notify::Event>| match ev {
        Ok(e) => {
            !matches!(e.kind, EventKind::Access(_))
                && e.paths.iter().any(|p| !is_index_file(p, index))
        }
        // An overflowed queue: something changed, we do not know what.
        Err(_) => true,
    };
    let first = match events.recv_timeout(wait) {
        Ok(ev) => matters(&ev),
        Err(RecvTimeoutError::Timeout) => return false,
        Err(RecvTimeoutError::Disconnected) => {
            std::thread::sleep(wait);
            return false;
        }
    };
    let started = Instant::now();
    let mut any = first;
    while started.elapsed() < MAX_WAIT && !stop.load(Ordering::SeqCst) {
        match events.recv_timeout(SETTLE) {
            Ok(ev) => any |= matters(&ev),
            Err(_) => break,
        }
    }
    any
}

fn is_index_file(p: &Path, index: &Path) -> bool {
    let (Some(name), Some(ix)) = (p.file_name(), index.file_name()) else {
        return false;
    };
    p.parent() == index.parent()
        && name
            .to_string_lossy()
            .starts_with(ix.to_string_lossy().as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_index_files_do_not_wake_the_watcher() {
        let ix = Path::new("/home/a/papers/sleuth.library.db");
        for p in [
            "sleuth.library.db",
            "sleuth.library.db-wal",
            "sleuth.library.db-shm",
        ] {
            assert!(is_index_file(&Path::new("/home/a/papers").join(p), ix));
        }
        assert!(!is_index_file(Path::new("/home/a/papers/notes.md"), ix));
        assert!(!is_index_file(
            Path::new("/home/a/other/sleuth.library.db"),
            ix
        ));
    }
}
