//! The user's own library: folders of papers and notes, indexed into a
//! SQLite file of its own next to the history (derived data: a damaged
//! index is rebuilt from the files, and the history's start-up never grows
//! with it). Files are read by child `sleuth` processes (`child.rs`) under
//! time, memory and output limits; the indexer (`indexer.rs`) decides what
//! to read by size, mtime and content hash; `index.rs` stores and searches
//! passages with FTS5.

pub mod child;
pub mod formats;
pub mod index;
pub mod indexer;
pub mod settings;

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
            .is_ok_and(|ip| ip.is_loopback())
}

/// A file:// URL for a library passage: the page as a PDF open parameter
/// (`#page=12`, which PDF viewers and `show`/`export` read back).
pub fn file_url(path: &std::path::Path, page: Option<u32>) -> String {
    let mut url = String::from("file://");
    for b in path.to_string_lossy().bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' | b'~' => {
                url.push(b as char)
            }
            _ => url.push_str(&format!("%{b:02X}")),
        }
    }
    if let Some(p) = page {
        url.push_str(&format!("#page={p}"));
    }
    url
}

/// The path and page back from [`file_url`]; None for any other URL.
pub fn parse_file_url(url: &str) -> Option<(String, Option<u32>)> {
    let rest = url.strip_prefix("file://")?;
    let (path, frag) = match rest.split_once('#') {
        Some((p, f)) => (p, Some(f)),
        None => (rest, None),
    };
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    let page = frag
        .and_then(|f| f.strip_prefix("page="))
        .and_then(|p| p.parse().ok());
    Some((String::from_utf8(out).ok()?, page))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_urls_round_trip_odd_names_and_pages() {
        let p = std::path::Path::new("/home/a b/ü%#\n.pdf");
        let url = file_url(p, Some(12));
        assert!(!url.contains(' ') && !url.contains('\n'));
        assert_eq!(
            parse_file_url(&url),
            Some(("/home/a b/ü%#\n.pdf".to_string(), Some(12)))
        );
        assert_eq!(parse_file_url("https://x"), None);
        assert_eq!(
            place_label("paper.pdf", Some(3), Some("2 Method")),
            "paper.pdf · p. 3 · § 2 Method"
        );
    }
}
