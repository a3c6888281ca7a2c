//! Documents → the passages the model gets: cut every document into
//! passages, rank them all against the standalone question (BM25; fused
//! with embeddings by reciprocal rank when configured), and select by the
//! context budget. CPU work runs on `spawn_blocking`.

use std::time::Duration;

use super::document::Document;
use super::pipeline::Clients;
use super::rank::{self, Budget};
use super::{Passage, passages};
use crate::agent::provider::embed;
use crate::config::Config;

/// Passages ranked per turn at most (documents are already capped).
pub const MAX_TURN_PASSAGES: usize = 1500;
/// Passages embedded per turn: the best by BM25 (embedding is the slow
/// part, and a passage with no word of the question is rarely the answer).
pub const MAX_EMBED: usize = 96;
const EMBED_BATCH: usize = 32;

#[derive(Debug, Clone, Default)]
pub struct Retrieved {
    pub passages: Vec<Passage>,
    /// Selected `(passage index, relevance 0..1)`, in citation order.
    pub picks: Vec<(usize, f64)>,
    /// "bm25", "embeddings" or "hybrid".
    pub ranker: &'static str,
}

/// The text a passage is ranked by: its document, section and words.
fn indexed(p: &Passage) -> String {
    match &p.section {
        Some(s) => format!("{}\n{}\n{}", p.title, s, p.text),
        None => format!("{}\n{}", p.title, p.text),
    }
}

/// A document's opening passage (a Wikipedia lead, a story's text, a
/// page's introduction) summarises it; its score is raised by this factor.
const LEAD_BOOST: f64 = 1.3;

/// Passages and their BM25 scores.
fn lexical(question: String, docs: Vec<Document>) -> (Vec<Passage>, Vec<f64>) {
    let ps = passages::of_documents(&docs, MAX_TURN_PASSAGES);
    let texts: Vec<String> = ps.iter().map(indexed).collect();
    let mut scores = rank::bm25(&question, &texts);
    for i in 0..ps.len() {
        if i == 0 || ps[i].doc != ps[i - 1].doc {
            scores[i] *= LEAD_BOOST;
        }
    }
    (ps, scores)
}

/// Cosine similarity to the question of the candidates; None when the
/// provider has no embeddings or they failed. Only the question and the
/// candidates with no stored vector (the library's were made when it was
/// indexed) are embedded now.
async fn semantic(
    clients: &Clients,
    cfg: &Config,
    question: &str,
    ps: &[Passage],
    candidates: &[usize],
) -> Option<Vec<(usize, f32)>> {
    let model = cfg.provider.embed_model.trim();
    let timeout = Duration::from_secs(cfg.research.timeout_secs.max(1));
    let fresh: Vec<usize> = candidates
        .iter()
        .copied()
        .filter(|&i| ps[i].vector.is_none())
        .collect();
    let mut texts = vec![question.to_string()];
    texts.extend(fresh.iter().map(|&i| indexed(&ps[i])));
    let mut vectors = Vec::with_capacity(texts.len());
    for batch in texts.chunks(EMBED_BATCH) {
        match embed::embed(&clients.provider, &cfg.provider, model, batch, timeout).await {
            Ok(Some(v)) if v.len() == batch.len() => vectors.extend(v),
            Ok(Some(_)) => {
                tracing::warn!("embeddings came back short; using BM25");
                return None;
            }
            Ok(None) => {
                tracing::info!("provider has no embeddings; using BM25");
                return None;
            }
            Err(e) => {
                tracing::warn!(error = %e, "embeddings failed; using BM25");
                return None;
            }
        }
    }
    let q = vectors.first()?.clone();
    let made: std::collections::HashMap<usize, &Vec<f32>> =
        fresh.iter().copied().zip(&vectors[1..]).collect();
    Some(
        candidates
            .iter()
            .map(|&i| {
                let v: &[f32] = match &ps[i].vector {
                    Some(v) => v,
                    None => made.get(&i).map_or(&[][..], |v| v.as_slice()),
                };
                (i, embed::cosine(&q, v))
            })
            .collect(),
    )
}

pub async fn retrieve(
    clients: &Clients,
    cfg: &Config,
    question: &str,
    docs: Vec<Document>,
    model_ok: bool,
) -> Retrieved {
    let q = question.to_string();
    let Ok((ps, bm25)) = tokio::task::spawn_blocking(move || lexical(q, docs)).await else {
        return Retrieved::default();
    };
    let budget = Budget {
        chars: cfg.research.context_chars.max(200),
        max_passages: cfg.research.top_k.max(1),
    };
    let mut scores = bm25.clone();
    let mut ranker = "bm25";
    let embeddings = !cfg.provider.embed_model.trim().is_empty();
    if model_ok && embeddings && !ps.is_empty() {
        // Candidates: passages sharing a word with the question, best
        // first; if none does, the first ones in reading order.
        let order = rank::order(&bm25);
        let lexical_hits: Vec<usize> = order.iter().copied().filter(|&i| bm25[i] > 0.0).collect();
        // Passages with a stored vector cost nothing to score: all join.
        let mut candidates: Vec<usize> = order.iter().copied().take(MAX_EMBED).collect();
        candidates.extend(
            order
                .iter()
                .skip(MAX_EMBED)
                .copied()
                .filter(|&i| ps[i].vector.is_some()),
        );
        if let Some(cos) = semantic(clients, cfg, question, &ps, &candidates).await {
            let mut by_cos = cos.clone();
            by_cos.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            let by_cos: Vec<usize> = by_cos.into_iter().map(|(i, _)| i).collect();
            ranker = if lexical_hits.is_empty() {
                "embeddings"
            } else {
                "hybrid"
            };
            scores = rank::rrf(&[lexical_hits, by_cos], ps.len());
        }
    }
    // Microseconds: a few passes over the scores, fine on the runtime.
    let picks = rank::select(&scores, &ps, budget);
    Retrieved {
        passages: ps,
        picks,
        ranker,
    }
}
