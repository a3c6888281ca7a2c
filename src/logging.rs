//! Logging to a private file through `tracing`; never to the terminal.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

/// Opens (creating with mode 0600) `dir/sleuth.log` and installs the global
/// subscriber. Keep the guard alive until exit: dropping it flushes.
/// The filter comes from `SLEUTH_LOG` (e.g. `debug`, `sleuth=trace`).
pub fn init(dir: &Path) -> anyhow::Result<(WorkerGuard, PathBuf)> {
    use anyhow::Context;
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create log directory {}", dir.display()))?;
    let path = dir.join("sleuth.log");
    let mut opts = OpenOptions::new();
    opts.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let file = opts
        .open(&path)
        .with_context(|| format!("cannot open log file {}", path.display()))?;
    let (writer, guard) = tracing_appender::non_blocking(Clean(file));
    let filter = EnvFilter::try_from_env("SLEUTH_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .try_init()
        .map_err(|e| anyhow::anyhow!("cannot install logger: {e}"))?;
    Ok((guard, path))
}

/// Sanitizes every record on its way to the file: log lines quote untrusted
/// text (a malformed chunk, a page title), and a log read with `cat` or
/// `tail -f` must not run its escape sequences.
struct Clean<W>(W);

impl<W: std::io::Write> std::io::Write for Clean<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        self.0
            .write_all(crate::text::sanitize::sanitize(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    #[test]
    fn records_are_sanitized_on_the_way_to_the_file() {
        let mut w = super::Clean(Vec::new());
        w.write_all(b"WARN unreadable reply: \x1b]52;c;ZXZpbA==\x07\x1b[2Jx\xc2\x9b31m \xe2\x80\xae\xff end\n")
            .unwrap();
        let out = String::from_utf8(w.0).unwrap();
        // The C1 CSI (U+009B) takes its parameters with it, as ESC [ does.
        assert_eq!(out, "WARN unreadable reply: x \u{fffd} end\n");
    }
}
