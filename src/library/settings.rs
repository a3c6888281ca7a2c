//! `[library]` in the config, and the folders `sleuth library add`
//! registered (kept in a small file of their own beside the index, so a
//! rebuilt index never forgets them).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LibraryConfig {
    /// Folders or files indexed besides the registered ones.
    pub paths: Vec<PathBuf>,
    /// Globs left out everywhere.
    pub exclude: Vec<String>,
    pub max_file_mb: u64,
    /// The index file; empty = next to the history.
    pub index: PathBuf,
    /// Command template opening a cited file (`{path}`, `{page}`).
    pub open: String,
    pub remote_models: bool,
    pub timeout_secs: u64,
    pub memory_mb: u64,
    pub watch: bool,
}

impl Default for LibraryConfig {
    fn default() -> Self {
        Self {
            paths: Vec::new(),
            exclude: Vec::new(),
            max_file_mb: 200,
            index: PathBuf::new(),
            open: String::new(),
            remote_models: false,
            timeout_secs: 60,
            memory_mb: 1024,
            watch: true,
        }
    }
}

impl LibraryConfig {
    /// Fills in the index path from the history's when the config left it
    /// empty (called once at start-up, before any thread starts).
    pub fn resolve(&mut self, db: &Path) {
        if self.index.as_os_str().is_empty() {
            self.index = super::index::index_path_for(db);
        }
    }

    /// The registered folders' file, beside the index.
    pub fn folders_file(&self) -> PathBuf {
        self.index.with_extension("folders.json")
    }
}

/// One registered folder (or file) and its own exclusions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Folder {
    pub path: PathBuf,
    #[serde(default)]
    pub exclude: Vec<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct FoldersFile {
    folders: Vec<Folder>,
}

/// The registered folders; none when the file does not exist.
pub fn read_folders(file: &Path) -> Result<Vec<Folder>, String> {
    match std::fs::read(file) {
        Ok(bytes) => serde_json::from_slice::<FoldersFile>(&bytes)
            .map(|f| f.folders)
            .map_err(|e| format!("{} is not a folder list: {e}", file.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(format!("cannot read {}: {e}", file.display())),
    }
}

/// Writes the list whole (a temporary file renamed over the old one, so
/// a crash leaves the old list or the new, never half of one).
pub fn write_folders(file: &Path, folders: &[Folder]) -> Result<(), String> {
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let json = serde_json::to_vec_pretty(&FoldersFile {
        folders: folders.to_vec(),
    })
    .map_err(|e| e.to_string())?;
    let tmp = file.with_extension("json.tmp");
    std::fs::write(&tmp, json)
        .and_then(|_| std::fs::rename(&tmp, file))
        .map_err(|e| format!("cannot write {}: {e}", file.display()))
}

/// Every root the library indexes: the config's paths (with the config's
/// excludes) and the registered folders (with theirs too).
pub fn roots(cfg: &LibraryConfig) -> Result<Vec<Folder>, String> {
    let mut out: Vec<Folder> = cfg
        .paths
        .iter()
        .map(|p| Folder {
            path: p.clone(),
            exclude: Vec::new(),
        })
        .collect();
    for f in read_folders(&cfg.folders_file())? {
        if !out.iter().any(|o| o.path == f.path) {
            out.push(f);
        }
    }
    Ok(out)
}
