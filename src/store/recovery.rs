//! Writes still unsaved when sleuth stops (the database locked by another
//! program, a full disk) are not lost: the writer puts them in a recovery
//! file next to the database, one JSON command per line, and the next
//! start replays them before anything else is written.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use super::writer::{StoreCommand, WriterHandle};

/// `sleuth.db` → `sleuth.db.recovery.jsonl`.
pub fn path_for(db: &Path) -> PathBuf {
    let mut name = db.file_name().unwrap_or_default().to_os_string();
    name.push(".recovery.jsonl");
    db.with_file_name(name)
}

/// Appends `cmds` to the recovery file (created 0600) and syncs it.
pub fn save(path: &Path, cmds: &[StoreCommand]) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    let mut buf = Vec::new();
    for c in cmds {
        serde_json::to_writer(&mut buf, c)?;
        buf.push(b'\n');
    }
    f.write_all(&buf)?;
    f.sync_all()
}

/// The commands of a recovery file; a line that does not parse (a file cut
/// by a crash) is skipped and logged.
pub fn load(path: &Path) -> std::io::Result<Vec<StoreCommand>> {
    let f = std::fs::File::open(path)?;
    let mut out = Vec::new();
    for (i, line) in std::io::BufReader::new(f).lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str(&line) {
            Ok(c) => out.push(c),
            Err(e) => tracing::warn!(line = i + 1, error = %e, "unreadable recovery line skipped"),
        }
    }
    Ok(out)
}

/// Replays the recovery file of `db`, if there is one, through the writer;
/// the file is removed once everything in it is committed. Returns how
/// many writes were recovered.
pub fn replay(db: &Path, writer: &WriterHandle) -> Result<usize, String> {
    let path = path_for(db);
    if !path.exists() {
        return Ok(0);
    }
    let cmds = load(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let n = cmds.len();
    for c in cmds {
        writer.send(c);
    }
    writer
        .flush()
        .map_err(|e| format!("{} still unsaved ({e}); kept in {}", n, path.display()))?;
    std::fs::remove_file(&path).map_err(|e| format!("cannot remove {}: {e}", path.display()))?;
    tracing::info!(n, path = %path.display(), "recovered unsaved writes");
    Ok(n)
}
