//! Ctrl+E: the draft in the user's own editor (`$VISUAL`, then `$EDITOR`,
//! else `vi`), for questions too long to write in one input box. The event
//! loop lends it the terminal while it runs.

use std::io::Write;
use std::path::PathBuf;

/// A draft longer than this coming back from the editor is refused.
const MAX_DRAFT: u64 = 1024 * 1024;

/// The editor command and its arguments (`code --wait` works; quoting
/// inside the variable is not interpreted).
pub fn command() -> Vec<String> {
    ["VISUAL", "EDITOR"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .map(|c| c.split_whitespace().map(String::from).collect::<Vec<_>>())
        .find(|c| !c.is_empty())
        .unwrap_or_else(|| vec!["vi".into()])
}

/// Writes `draft` to a private temporary file, runs the editor on it and
/// returns what it holds afterwards (one trailing newline dropped). On any
/// failure the error says what happened and the draft is kept by the caller.
pub fn edit(draft: &str) -> Result<String, String> {
    let path = draft_path();
    let result = run(&path, draft);
    let _ = std::fs::remove_file(&path);
    result
}

fn draft_path() -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    std::env::temp_dir().join(format!("sleuth-draft-{}-{nanos}.md", std::process::id()))
}

fn run(path: &std::path::Path, draft: &str) -> Result<String, String> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // The draft may be private: only the user reads it.
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .map_err(|e| format!("cannot write the draft to {}: {e}", path.display()))?;
    f.write_all(draft.as_bytes())
        .map_err(|e| format!("cannot write the draft to {}: {e}", path.display()))?;
    drop(f);
    let cmd = command();
    let (prog, args) = cmd.split_first().ok_or("no editor command")?;
    let status = std::process::Command::new(prog)
        .args(args)
        .arg(path)
        .status()
        .map_err(|e| format!("cannot start the editor `{prog}`: {e} (set $VISUAL or $EDITOR)"))?;
    if !status.success() {
        return Err(format!(
            "the editor `{prog}` exited with {status}; the draft is unchanged"
        ));
    }
    let meta = std::fs::metadata(path).map_err(|e| format!("the draft file is gone: {e}"))?;
    if meta.len() > MAX_DRAFT {
        return Err("the edited draft is over 1 MB; the draft is unchanged".into());
    }
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read the draft back: {e}"))?;
    let text = String::from_utf8_lossy(&bytes);
    Ok(text.strip_suffix('\n').unwrap_or(&text).to_string())
}
