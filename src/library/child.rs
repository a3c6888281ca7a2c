//! Extraction in a child `sleuth` process (`sleuth __extract`): a file is
//! untrusted input, and a PDF parser can loop, panic or allocate without
//! end on a crafted one. The child reads one request line per file on
//! stdin and answers one JSON line on stdout; it caps its own address
//! space (RLIMIT_AS) before reading anything. The parent ([`Extractor`])
//! gives each file a deadline and a cap on the answer's size, and kills,
//! reaps and replaces a child that passes either or dies; the file is
//! recorded as failed with the reason and the indexing goes on.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::Extracted;
use super::formats::{self, Format};

/// The hidden subcommand that runs the child.
pub const SUBCOMMAND: &str = "__extract";

#[derive(Serialize, Deserialize)]
struct Request {
    path: String,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Reply {
    Ok(Extracted),
    Err(String),
}

/// Limits for one child.
#[derive(Debug, Clone)]
pub struct Limits {
    pub timeout: Duration,
    pub memory_mb: u64,
    /// Bytes one answer may take (the extracted text as JSON).
    pub max_output: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(60),
            memory_mb: 1024,
            max_output: 2 * formats::MAX_TEXT + 1024 * 1024,
        }
    }
}

/// The child's main: `sleuth __extract [--memory-mb N]`. Returns the exit code.
pub fn child_main(args: &[String]) -> u8 {
    let memory_mb = args
        .windows(2)
        .find(|w| w[0] == "--memory-mb")
        .and_then(|w| w[1].parse::<u64>().ok())
        .unwrap_or(1024);
    limit_memory(memory_mb);
    // A parser's panic is one file's failure, not the child's: the hook
    // stays quiet (stderr is kept for the reason of a real crash).
    std::panic::set_hook(Box::new(|_| {}));
    let stdin = std::io::stdin();
    let mut out = std::io::stdout().lock();
    for line in stdin.lock().lines() {
        let Ok(line) = line else { return 1 };
        let reply = match serde_json::from_str::<Request>(&line) {
            Ok(req) => extract_caught(Path::new(&req.path)),
            Err(e) => Reply::Err(format!("bad request: {e}")),
        };
        let Ok(json) = serde_json::to_string(&reply) else {
            return 1;
        };
        if writeln!(out, "{json}").and_then(|_| out.flush()).is_err() {
            return 1;
        }
    }
    0
}

fn extract_caught(path: &Path) -> Reply {
    let Some(format) = Format::of(path) else {
        return Reply::Err("not a format the library reads".into());
    };
    match std::panic::catch_unwind(|| formats::extract(path, format)) {
        Ok(Ok(x)) => Reply::Ok(x),
        Ok(Err(e)) => Reply::Err(e),
        Err(p) => {
            let msg = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            Reply::Err(format!(
                "the parser failed on this file ({})",
                crate::text::truncate(&msg, 120)
            ))
        }
    }
}

#[cfg(unix)]
fn limit_memory(mb: u64) {
    use rustix::process::{Resource, Rlimit, setrlimit};
    let bytes = mb.saturating_mul(1024 * 1024);
    let _ = setrlimit(
        Resource::As,
        Rlimit {
            current: Some(bytes),
            maximum: Some(bytes),
        },
    );
}

#[cfg(not(unix))]
fn limit_memory(_mb: u64) {}

/// One running child and the lines it answers.
struct Running {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<Result<Vec<u8>, String>>,
    stderr: Arc<Mutex<Vec<u8>>>,
}

/// Runs files through extractor children, one file at a time per
/// extractor (the indexer runs one extractor per core).
pub struct Extractor {
    exe: PathBuf,
    limits: Limits,
    running: Option<Running>,
}

/// The tail of a child's stderr that is kept (the reason of a crash).
const STDERR_TAIL: usize = 4096;

impl Extractor {
    /// `exe` is the sleuth binary (the running one in the app; tests name
    /// theirs, or a misbehaving stand-in).
    pub fn new(exe: PathBuf, limits: Limits) -> Self {
        Self {
            exe,
            limits,
            running: None,
        }
    }

    fn spawn(&self) -> std::io::Result<Child> {
        let mut tries = 0;
        loop {
            let r = Command::new(&self.exe)
                .arg(SUBCOMMAND)
                .arg("--memory-mb")
                .arg(self.limits.memory_mb.to_string())
                .env_clear()
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn();
            // ETXTBSY: the binary was just written (an upgrade in place, a
            // test's stand-in) and another thread's fork still holds it.
            match r {
                Err(e) if e.raw_os_error() == Some(26) && tries < 10 => {
                    tries += 1;
                    std::thread::sleep(Duration::from_millis(20));
                }
                r => return r,
            }
        }
    }

    fn start(&self) -> Result<Running, String> {
        let mut child = self
            .spawn()
            .map_err(|e| format!("cannot start the extractor {}: {e}", self.exe.display()))?;
        let stdin = child.stdin.take().ok_or("extractor has no stdin")?;
        let stdout = child.stdout.take().ok_or("extractor has no stdout")?;
        let stderr_pipe = child.stderr.take().ok_or("extractor has no stderr")?;
        let (tx, lines) = std::sync::mpsc::channel();
        let cap = self.limits.max_output;
        std::thread::Builder::new()
            .name("extract-out".into())
            .spawn(move || {
                let mut r = BufReader::new(stdout);
                loop {
                    let line = read_line_capped(&mut r, cap);
                    let end = !matches!(line, Ok(Some(_)));
                    let msg = match line {
                        Ok(Some(l)) => Ok(l),
                        Ok(None) => return,
                        Err(e) => Err(e),
                    };
                    if tx.send(msg).is_err() || end {
                        return;
                    }
                }
            })
            .map_err(|e| format!("cannot start a reader thread: {e}"))?;
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let tail = Arc::clone(&stderr);
        std::thread::Builder::new()
            .name("extract-err".into())
            .spawn(move || {
                let mut r = stderr_pipe;
                let mut buf = [0u8; 4096];
                while let Ok(n) = r.read(&mut buf) {
                    if n == 0 {
                        return;
                    }
                    if let Ok(mut t) = tail.lock() {
                        t.extend_from_slice(&buf[..n]);
                        let len = t.len();
                        if len > STDERR_TAIL {
                            t.drain(..len - STDERR_TAIL);
                        }
                    }
                }
            })
            .map_err(|e| format!("cannot start a reader thread: {e}"))?;
        Ok(Running {
            child,
            stdin,
            lines,
            stderr,
        })
    }

    /// Extracts one file; an Err is the reason it failed, in words.
    pub fn extract(&mut self, path: &Path) -> Result<Extracted, String> {
        let Some(p) = path.to_str() else {
            return Err("file name is not UTF-8".into());
        };
        let mut run = match self.running.take() {
            Some(r) => r,
            None => self.start()?,
        };
        let req = serde_json::to_string(&Request {
            path: p.to_string(),
        })
        .map_err(|e| e.to_string())?;
        if writeln!(run.stdin, "{req}")
            .and_then(|_| run.stdin.flush())
            .is_err()
        {
            return Err(self.died(run, "the extractor stopped before reading the file"));
        }
        match run.lines.recv_timeout(self.limits.timeout) {
            Ok(Ok(line)) => {
                let reply = serde_json::from_slice::<Reply>(&line);
                self.running = Some(run);
                match reply {
                    Ok(Reply::Ok(x)) => Ok(x),
                    // The child's own allocation failed cleanly (a read
                    // or reserve refused under its rlimit).
                    Ok(Reply::Err(e)) if e.contains("out of memory") => Err(format!(
                        "needed more than {} MB of memory",
                        self.limits.memory_mb
                    )),
                    Ok(Reply::Err(e)) => Err(e),
                    Err(e) => Err(format!("the extractor answered nonsense: {e}")),
                }
            }
            Ok(Err(too_big)) => {
                kill(&mut run.child);
                Err(too_big)
            }
            Err(RecvTimeoutError::Timeout) => {
                kill(&mut run.child);
                Err(format!(
                    "took longer than {} s (extractor killed)",
                    self.limits.timeout.as_secs()
                ))
            }
            Err(RecvTimeoutError::Disconnected) => Err(self.died(run, "the extractor died")),
        }
    }

    /// The reason a child that stopped answering gives, once reaped.
    fn died(&self, mut run: Running, what: &str) -> String {
        let status = wait_briefly(&mut run.child);
        let tail = run
            .stderr
            .lock()
            .map(|t| String::from_utf8_lossy(&t).into_owned())
            .unwrap_or_default();
        if tail.contains("memory allocation") || tail.contains("out of memory") {
            return format!(
                "needed more than {} MB of memory (extractor stopped)",
                self.limits.memory_mb
            );
        }
        let how = match status {
            Some(s) => describe(s),
            None => "did not exit".to_string(),
        };
        format!("{what} ({how})")
    }
}

impl Drop for Extractor {
    fn drop(&mut self) {
        if let Some(mut run) = self.running.take() {
            // Closing stdin ends a healthy child; one that does not end is killed.
            drop(run.stdin);
            if wait_briefly(&mut run.child).is_none() {
                kill(&mut run.child);
            }
        }
    }
}

fn kill(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// Waits up to a second for a child that should be exiting.
fn wait_briefly(child: &mut Child) -> Option<std::process::ExitStatus> {
    for _ in 0..100 {
        if let Ok(Some(s)) = child.try_wait() {
            return Some(s);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    kill(child);
    child.try_wait().ok().flatten()
}

fn describe(s: std::process::ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = s.signal() {
            return format!("signal {sig}");
        }
    }
    match s.code() {
        Some(c) => format!("exit {c}"),
        None => "no exit code".into(),
    }
}

/// One `\n`-ended line of at most `cap` bytes; None at the end of the stream.
fn read_line_capped(r: &mut impl BufRead, cap: usize) -> Result<Option<Vec<u8>>, String> {
    let mut line = Vec::new();
    loop {
        let buf = match r.fill_buf() {
            Ok(b) => b,
            Err(e) => return Err(format!("reading the extractor: {e}")),
        };
        if buf.is_empty() {
            return Ok(None);
        }
        if let Some(i) = buf.iter().position(|&b| b == b'\n') {
            line.extend_from_slice(&buf[..i]);
            r.consume(i + 1);
            if line.len() > cap {
                break;
            }
            return Ok(Some(line));
        }
        let n = buf.len();
        line.extend_from_slice(buf);
        r.consume(n);
        if line.len() > cap {
            break;
        }
    }
    Err(format!(
        "its text passes {} MB (extractor stopped)",
        cap / (1024 * 1024)
    ))
}
