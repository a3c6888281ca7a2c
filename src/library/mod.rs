//! The user's own library: folders of papers and notes, indexed into a
//! SQLite file of its own next to the history (derived data: a damaged
//! index is rebuilt from the files, and the history's start-up never grows
//! with it). Files are read by child `sleuth` processes (`child.rs`) under
//! time, memory and output limits; the indexer (`indexer.rs`) decides what
//! to read by size, mtime and content hash; `index.rs` stores and searches
//! passages with FTS5.

pub mod child;
pub mod consent;
pub mod formats;
pub mod index;
pub mod indexer;
pub mod open;
pub mod search;
pub mod settings;
pub mod terms;
pub mod vectors;
pub mod watch;

pub use crate::text::file_url::{file_url, parse_file_url};

use serde::{Deserialize, Serialize};

/// What an extractor found in one file: its metadata and its text in
/// units that a citation can name (a PDF page, a Markdown section).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Extracted {
    pub title: Option<String>,
    pub author: Option<String>,
    pub doi: Option<String>,
    /// Pages in a PDF.
    pub pages: Option<u32>,
    pub units: Vec<Unit>,
    /// Only the first part of its text was kept (past `MAX_TEXT`).
    #[serde(default)]
    pub truncated: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Unit {
    /// 1-based page (PDF).
    pub page: Option<u32>,
    /// "3 Method" or "Results › Ablations" (Markdown, Org, EPUB, DOCX).
    pub section: Option<String>,
    pub paragraphs: Vec<String>,
}

impl Extracted {
    pub fn chars(&self) -> usize {
        self.units
            .iter()
            .flat_map(|u| &u.paragraphs)
            .map(String::len)
            .sum()
    }
}

/// Where a cited library passage lives, as shown: `paper.pdf · p. 12 · § 3 Method`.
pub fn place_label(file: &str, page: Option<u32>, section: Option<&str>) -> String {
    let mut s = file.to_string();
    if let Some(p) = page {
        s.push_str(&format!(" · p. {p}"));
    }
    if let Some(sec) = section.filter(|s| !s.is_empty()) {
        s.push_str(&format!(" · § {sec}"));
    }
    s
}

/// Whether library text may go to the configured model (issue 21's
/// privacy rule): a model on this machine, or a remote one the user
/// allowed with `[library] remote_models = true`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Privacy {
    Local,
    Allowed { host: String },
    Withheld { host: String },
}

impl Privacy {
    pub fn of(cfg: &settings::LibraryConfig, model_base_url: &str) -> Self {
        if model_is_local(model_base_url) {
            return Privacy::Local;
        }
        let host = reqwest::Url::parse(model_base_url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_else(|| crate::text::sanitize::one_line(model_base_url));
        if cfg.remote_models || consent::allowed(&cfg.index, &host) {
            Privacy::Allowed { host }
        } else {
            Privacy::Withheld { host }
        }
    }

    pub fn allows(&self) -> bool {
        !matches!(self, Privacy::Withheld { .. })
    }

    /// In words, for `doctor`, `--json` and the sources panel.
    pub fn explain(&self) -> String {
        match self {
            Privacy::Local => "library text goes only to the model on this machine".into(),
            Privacy::Allowed { host } => {
                format!("library text may go to the model at {host} (allowed)")
            }
            Privacy::Withheld { host } => format!(
                "not searched: the model at {host} is not on this machine; \
                 allow it with /library allow in the app or [library] remote_models = true"
            ),
        }
    }
}

/// Whether a model at this base URL runs on this machine (loopback), so
/// library text sent to it stays here.
pub fn model_is_local(base_url: &str) -> bool {
    let Ok(url) = reqwest::Url::parse(base_url) else {
        return false;
    };
    let host = url.host_str().unwrap_or_default();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.to_canonical().is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn library_text_stays_on_this_machine_unless_allowed() {
        let cfg = settings::LibraryConfig::default();
        for local in [
            "http://localhost:11434",
            "http://127.0.0.1:8080/v1",
            "http://127.0.0.2:1",
            "http://[::1]:11434",
            "http://[::ffff:127.0.0.1]:9",
        ] {
            assert_eq!(Privacy::of(&cfg, local), Privacy::Local, "{local}");
        }
        for remote in [
            "https://api.openai.com/v1",
            "http://192.168.1.5:11434",
            "http://localhost.example.com",
            "not a url",
        ] {
            let p = Privacy::of(&cfg, remote);
            assert!(!p.allows(), "{remote}");
            assert!(p.explain().contains("remote_models = true"), "{remote}");
        }
        let allowed = settings::LibraryConfig {
            remote_models: true,
            ..Default::default()
        };
        assert_eq!(
            Privacy::of(&allowed, "https://api.anthropic.com"),
            Privacy::Allowed {
                host: "api.anthropic.com".into()
            }
        );
    }

    #[test]
    fn places_name_file_page_and_section() {
        assert_eq!(
            place_label("paper.pdf", Some(3), Some("2 Method")),
            "paper.pdf · p. 3 · § 2 Method"
        );
    }
}
