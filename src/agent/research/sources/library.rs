//! The user's library (`lib`): each query searches the passage index
//! (FTS5 BM25 on a read-only connection; no file is read at question
//! time). The best passages come back grouped by file, one section per
//! passage named by its place (`paper.pdf · p. 12 · § 3 Method`) and
//! linked to it (`file:///…/paper.pdf#page=12`), so the turn's ranker
//! weighs them with every other source's and a citation opens the page.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::super::SourceKind;
use super::super::document::{Document, Section};
use crate::library::search::{self, Hit};

/// Passages asked of the index per query.
const PER_QUERY: usize = 64;
/// Passages kept per file.
const PER_FILE: usize = 12;

pub async fn fetch(
    index: PathBuf,
    queries: &[String],
    cap: usize,
    embed_model: Option<String>,
) -> Result<Vec<Document>, String> {
    let queries = queries.to_vec();
    tokio::task::spawn_blocking(move || search(&index, &queries, cap, embed_model.as_deref()))
        .await
        .map_err(|e| format!("library search stopped: {e}"))?
}

/// The library's documents for these queries: at most `2 × cap` files
/// (a researcher's own files weigh more than a search engine's tenth
/// hit), best file first. With `embed_model`, each passage carries its
/// stored vector when that model made one.
pub fn search(
    index: &Path,
    queries: &[String],
    cap: usize,
    embed_model: Option<&str>,
) -> Result<Vec<Document>, String> {
    let found = search::with_reader(index, |conn| {
        let mut best: HashMap<i64, Hit> = HashMap::new();
        for q in queries {
            let hits =
                search::search(conn, q, PER_QUERY).map_err(|e| format!("library search: {e}"))?;
            for hit in hits {
                match best.get_mut(&hit.passage) {
                    Some(h) if h.score >= hit.score => {}
                    Some(h) => *h = hit,
                    None => {
                        best.insert(hit.passage, hit);
                    }
                }
            }
        }
        let mut files = by_file(best);
        files.truncate(cap.max(1) * 2);
        if let Some(model) = embed_model {
            attach_vectors(conn, model, &mut files);
        }
        Ok(files)
    })?;
    let Some(files) = found else {
        return Ok(Vec::new());
    };
    Ok(files.into_iter().map(document).collect())
}

/// Hits grouped by file (at most [`PER_FILE`] each, best first), best
/// file first. The same passage in two files (a paper saved twice, a copy
/// in another folder) is one source: the first path keeps it.
fn by_file(best: HashMap<i64, Hit>) -> Vec<Vec<Hit>> {
    let mut hits: Vec<Hit> = best.into_values().collect();
    hits.sort_by(|a, b| a.path.cmp(&b.path).then(a.ordinal.cmp(&b.ordinal)));
    let mut seen = std::collections::HashSet::new();
    hits.retain(|h| seen.insert(xxhash_rust::xxh3::xxh3_64(h.text.as_bytes())));
    let mut by_file: HashMap<i64, Vec<Hit>> = HashMap::new();
    for h in hits {
        by_file.entry(h.file).or_default().push(h);
    }
    let mut files: Vec<Vec<Hit>> = by_file.into_values().collect();
    for hits in &mut files {
        hits.sort_by(|a, b| b.score.total_cmp(&a.score));
        hits.truncate(PER_FILE);
    }
    let top = |hits: &Vec<Hit>| hits.first().map_or(0.0, |h| h.score);
    files.sort_by(|a, b| {
        top(b)
            .total_cmp(&top(a))
            .then_with(|| a[0].path.cmp(&b[0].path))
    });
    files
}

/// Stored vectors onto the hits that have one. A failure here (an index
/// from before embeddings, a busy file) only costs the ranker the
/// shortcut: it embeds those passages itself.
fn attach_vectors(conn: &rusqlite::Connection, model: &str, files: &mut [Vec<Hit>]) {
    let ids: Vec<i64> = files.iter().flatten().map(|h| h.passage).collect();
    match crate::library::vectors::of_passages(conn, model, &ids) {
        Ok(found) => {
            let found: HashMap<i64, _> = found.into_iter().collect();
            for h in files.iter_mut().flatten() {
                h.vector = found.get(&h.passage).cloned();
            }
        }
        Err(e) => tracing::info!(error = %e, "library vectors not read"),
    }
}

fn document(mut hits: Vec<Hit>) -> Document {
    hits.sort_by_key(|h| h.ordinal);
    let path = PathBuf::from(&hits[0].path);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let title = if hits[0].title.is_empty() {
        name.clone()
    } else {
        hits[0].title.clone()
    };
    let sections = hits
        .iter()
        .map(|h| Section {
            heading: Some(crate::library::place_label(
                &name,
                h.page,
                h.section.as_deref(),
            )),
            url: Some(crate::library::file_url(&path, h.page)),
            paragraphs: h.text.lines().map(str::to_string).collect(),
            vector: h.vector.clone(),
        })
        .collect();
    // What the file says of itself (PDF info/XMP, DOCX properties, front
    // matter), for a reference to it.
    let meta = crate::domain::SourceMeta {
        title: (!hits[0].title.is_empty()).then(|| hits[0].title.clone()),
        authors: hits[0]
            .author
            .as_deref()
            .map(|a| {
                a.split([';', '\n'])
                    .flat_map(|x| x.split(" and "))
                    .map(|x| x.trim().to_string())
                    .filter(|x| !x.is_empty())
                    .collect()
            })
            .unwrap_or_default(),
        doi: hits[0].doi.clone(),
        ..Default::default()
    };
    Document {
        kind: SourceKind::Library,
        title,
        url: Some(crate::library::file_url(&path, None)),
        sections,
        meta,
    }
}
