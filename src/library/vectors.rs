//! Index-time embeddings (`[provider] embed_model`): after a scan, the
//! passages with no vector are embedded in batches by the configured
//! model and the vectors stored beside them, so a research turn embeds
//! only its question. Library text goes to the embedding model under the
//! same privacy rule as to the chat model (`Privacy`): only to one on
//! this machine, or one the user allowed. Vectors are stored unit-length
//! (cosine is then a dot product) as little-endian f32; the model that
//! made them is recorded, and a different model starts them over.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use super::Privacy;
use super::index::{self, Index};
use crate::agent::provider::embed;
use crate::config::{Config, ProviderConfig};

/// Passages sent in one embedding request.
const BATCH: usize = 32;
/// Passages embedded between two commits (what an interruption can lose).
const COMMIT_EVERY: usize = 256;

/// The embedding model library passages go to.
#[derive(Debug, Clone)]
pub struct Embedder {
    provider: ProviderConfig,
    client: reqwest::Client,
    timeout: Duration,
}

/// Whether the library is embedded, and if not, why (for `status`).
pub enum Plan {
    /// No `embed_model`: BM25 only.
    Off,
    /// The model is not on this machine and was not allowed.
    Withheld(String),
    On(Embedder),
}

impl Plan {
    pub fn of(cfg: &Config) -> Self {
        if cfg.provider.embed_model.trim().is_empty() {
            return Plan::Off;
        }
        let privacy = Privacy::of(&cfg.library, &cfg.provider.base_url);
        if !privacy.allows() {
            return Plan::Withheld(format!(
                "library passages are not embedded: {}",
                privacy.explain().trim_start_matches("not searched: ")
            ));
        }
        match crate::agent::trusted_client(cfg) {
            Ok(client) => Plan::On(Embedder {
                provider: cfg.provider.clone(),
                client,
                timeout: Duration::from_secs(cfg.research.timeout_secs.clamp(5, 120)),
            }),
            Err(e) => Plan::Withheld(format!("library passages are not embedded: {e}")),
        }
    }
}

impl Embedder {
    pub fn model(&self) -> &str {
        self.provider.embed_model.trim()
    }
}

/// What an embedding pass did.
#[derive(Debug, Default, Clone, Serialize, PartialEq)]
pub struct Report {
    pub model: String,
    pub embedded: usize,
    /// Passages still without a vector (the model failed or has no
    /// embeddings, or the pass was stopped); the next pass resumes.
    pub waiting: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub ms: u64,
}

/// Embeds every passage that has no vector for the embedder's model.
/// `progress(done, total)` after each batch; `stop` ends it at the next
/// batch (what was embedded is kept).
pub fn embed_pending(
    ix: &mut Index,
    e: &Embedder,
    progress: &mut dyn FnMut(usize, u64),
    stop: &AtomicBool,
) -> Result<Report, String> {
    let started = Instant::now();
    let model = e.model().to_string();
    adopt_model(ix, &model)?;
    let total = waiting(ix.conn())?;
    let mut report = Report {
        model: model.clone(),
        ..Report::default()
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| format!("cannot start the embedding client: {err}"))?;
    let mut after = 0i64;
    let mut pending: Vec<(i64, String, Vec<f32>)> = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        let batch = next_batch(ix.conn(), after)?;
        let Some(last) = batch.last().map(|p| p.id) else {
            break;
        };
        after = last;
        let texts: Vec<String> = batch.iter().map(|p| p.embedded.clone()).collect();
        let reply = rt.block_on(embed::embed(
            &e.client,
            &e.provider,
            &model,
            &texts,
            e.timeout,
        ));
        match reply {
            Ok(Some(vectors)) => {
                let dim = vectors.first().map_or(0, Vec::len);
                if vectors.iter().any(|v| v.len() != dim) {
                    report.note = Some("the model returned vectors of different sizes".into());
                    break;
                }
                pending.extend(
                    batch
                        .into_iter()
                        .zip(vectors)
                        .map(|(p, v)| (p.id, p.text, v)),
                );
                report.embedded += texts.len();
                if pending.len() >= COMMIT_EVERY {
                    store(ix, &mut pending)?;
                }
                progress(report.embedded, total);
            }
            Ok(None) => {
                report.note = Some(format!(
                    "the model {model} offers no embeddings here; the library is ranked by BM25"
                ));
                break;
            }
            Err(err) => {
                report.note = Some(format!(
                    "embedding stopped ({err}); the rest is embedded on the next scan"
                ));
                break;
            }
        }
    }
    store(ix, &mut pending)?;
    report.waiting = waiting(ix.conn())?;
    report.ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

/// Records `model` as the one the vectors are for; vectors of another
/// model (or of no recorded model) are dropped, since their similarities
/// to a question embedded by this one mean nothing.
fn adopt_model(ix: &mut Index, model: &str) -> Result<(), String> {
    if index::meta(ix.conn(), "embed_model")
        .map_err(|e| format!("library index: {e}"))?
        .as_deref()
        == Some(model)
    {
        return Ok(());
    }
    ix.write(|tx| {
        tx.execute("DELETE FROM vectors", [])?;
        index::set_meta(tx, "embed_model", model)
    })
}

/// Passages still without a vector.
fn waiting(conn: &Connection) -> Result<u64, String> {
    conn.query_row(
        "SELECT (SELECT count(*) FROM passages) - (SELECT count(*) FROM vectors)",
        [],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n.max(0) as u64)
    .map_err(|e| format!("library index: {e}"))
}

struct Waiting {
    id: i64,
    text: String,
    /// The file's title, the section and the passage.
    embedded: String,
}

/// The next passages after `after` with no vector.
fn next_batch(conn: &Connection, after: i64) -> Result<Vec<Waiting>, String> {
    let mut st = conn
        .prepare_cached(
            "SELECT p.id, coalesce(f.title, ''), p.section, p.text
             FROM passages p JOIN files f ON f.id = p.file_id
             WHERE p.id > ?1 AND NOT EXISTS (SELECT 1 FROM vectors v WHERE v.passage_id = p.id)
             ORDER BY p.id LIMIT ?2",
        )
        .map_err(|e| format!("library index: {e}"))?;
    st.query_map(params![after, BATCH as i64], |r| {
        let (id, title, section, text): (i64, String, Option<String>, String) =
            (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
        Ok(Waiting {
            id,
            embedded: embedded_text(&title, section.as_deref(), &text),
            text,
        })
    })
    .and_then(|rows| rows.collect())
    .map_err(|e| format!("library index: {e}"))
}

/// The text a passage is embedded as (the turn's ranker embeds the other
/// sources' passages the same way).
pub fn embedded_text(title: &str, section: Option<&str>, text: &str) -> String {
    match section {
        Some(s) => format!("{title}\n{s}\n{text}"),
        None => format!("{title}\n{text}"),
    }
}

fn store(ix: &mut Index, pending: &mut Vec<(i64, String, Vec<f32>)>) -> Result<(), String> {
    if pending.is_empty() {
        return Ok(());
    }
    let rows = std::mem::take(pending);
    ix.write(|tx| {
        // A passage dropped since it was read (its file re-indexed by
        // another sleuth), or whose id now holds other text, gets no vector.
        let mut st = tx.prepare_cached(
            "INSERT OR REPLACE INTO vectors(passage_id, vec)
             SELECT ?1, ?2 WHERE EXISTS (SELECT 1 FROM passages WHERE id = ?1 AND text = ?3)",
        )?;
        for (id, text, v) in &rows {
            st.execute(params![id, to_blob(v), text])?;
        }
        Ok(())
    })
}

/// Unit length, little-endian f32.
fn to_blob(v: &[f32]) -> Vec<u8> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    let scale = if norm > 0.0 { 1.0 / norm } else { 0.0 };
    v.iter().flat_map(|x| (x * scale).to_le_bytes()).collect()
}

fn from_blob(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// The stored vectors of these passages, when they were made by `model`
/// (a read-only connection's view; passages without one are left out).
pub fn of_passages(
    conn: &Connection,
    model: &str,
    passages: &[i64],
) -> rusqlite::Result<Vec<(i64, Arc<[f32]>)>> {
    let made_by: Option<String> = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'embed_model'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    if made_by.as_deref() != Some(model) || passages.is_empty() {
        return Ok(Vec::new());
    }
    let mut st = conn.prepare_cached("SELECT vec FROM vectors WHERE passage_id = ?1")?;
    let mut out = Vec::new();
    for &id in passages {
        if let Some(b) = st.query_row([id], |r| r.get::<_, Vec<u8>>(0)).optional()? {
            out.push((id, Arc::from(from_blob(&b))));
        }
    }
    Ok(out)
}

/// Vectors stored and the model that made them (`status`).
pub fn count(conn: &Connection) -> rusqlite::Result<(u64, Option<String>)> {
    let n: i64 = conn.query_row("SELECT count(*) FROM vectors", [], |r| r.get(0))?;
    let model = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'embed_model'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    Ok((n as u64, model.filter(|_| n > 0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_are_stored_unit_length() {
        let v = from_blob(&to_blob(&[3.0, 4.0]));
        assert!(
            (v[0] - 0.6).abs() < 1e-6 && (v[1] - 0.8).abs() < 1e-6,
            "{v:?}"
        );
        assert_eq!(from_blob(&to_blob(&[0.0, 0.0])), [0.0, 0.0]);
    }
}
