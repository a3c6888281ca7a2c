//! Where sleuth keeps its files, per platform conventions (XDG on Linux).

use std::path::PathBuf;

use directories::ProjectDirs;

fn dirs() -> Option<ProjectDirs> {
    ProjectDirs::from("", "", "sleuth")
}

fn fallback() -> PathBuf {
    std::env::var_os("HOME")
        .map(|h| PathBuf::from(h).join(".sleuth"))
        .unwrap_or_else(|| PathBuf::from(".sleuth"))
}

pub fn default_config_path() -> PathBuf {
    dirs()
        .map(|d| d.config_dir().join("config.toml"))
        .unwrap_or_else(|| fallback().join("config.toml"))
}

pub fn default_db_path() -> PathBuf {
    dirs()
        .map(|d| d.data_dir().join("sleuth.db"))
        .unwrap_or_else(|| fallback().join("sleuth.db"))
}

/// Logs go to the state dir where the platform has one (Linux), else the
/// local data dir.
pub fn default_log_dir() -> PathBuf {
    dirs()
        .map(|d| {
            d.state_dir()
                .map(|p| p.to_path_buf())
                .unwrap_or_else(|| d.data_local_dir().to_path_buf())
        })
        .unwrap_or_else(fallback)
}
