//! The remote model hosts the user allowed library text to go to, asked
//! the first time a turn would send it (`/library allow` in the app), kept
//! beside the index (`sleuth.library.consent.json`): a machine's answer,
//! not a session's.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Default, Serialize, Deserialize)]
struct ConsentFile {
    hosts: Vec<String>,
}

pub fn file_for(index: &Path) -> PathBuf {
    index.with_extension("consent.json")
}

fn read(index: &Path) -> ConsentFile {
    std::fs::read(file_for(index))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// Whether the user allowed library text to go to the model at `host`.
pub fn allowed(index: &Path, host: &str) -> bool {
    read(index)
        .hosts
        .iter()
        .any(|h| h.eq_ignore_ascii_case(host))
}

/// Records the answer for `host` (written whole, then renamed).
pub fn set(index: &Path, host: &str, allow: bool) -> Result<(), String> {
    let mut c = read(index);
    c.hosts.retain(|h| !h.eq_ignore_ascii_case(host));
    if allow {
        c.hosts.push(host.to_string());
    }
    let file = file_for(index);
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let json = serde_json::to_vec_pretty(&c).map_err(|e| e.to_string())?;
    let tmp = file.with_extension("json.tmp");
    std::fs::write(&tmp, json)
        .and_then(|_| std::fs::rename(&tmp, &file))
        .map_err(|e| format!("cannot write {}: {e}", file.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_is_kept_per_host_and_can_be_taken_back() {
        let dir = tempfile::tempdir().unwrap();
        let ix = dir.path().join("s.library.db");
        assert!(!allowed(&ix, "api.openai.com"));
        set(&ix, "api.openai.com", true).unwrap();
        assert!(allowed(&ix, "API.openai.com"));
        assert!(!allowed(&ix, "api.anthropic.com"));
        set(&ix, "api.openai.com", false).unwrap();
        assert!(!allowed(&ix, "api.openai.com"));
    }
}
