//! Embeddings for ranking: Ollama `/api/embed` and OpenAI-compatible
//! `/v1/embeddings`. A provider without them (Anthropic; llama.cpp started
//! without `--embeddings`, which answers 501) yields `Ok(None)`, and the
//! research turn falls back to BM25.

use std::time::Duration;

use serde_json::{Value, json};

use super::ProviderError;
use crate::config::{ProviderConfig, ProviderKind};

/// Embeds `texts` with `model`, in input order.
pub async fn embed(
    client: &reqwest::Client,
    cfg: &ProviderConfig,
    model: &str,
    texts: &[String],
    timeout: Duration,
) -> Result<Option<Vec<Vec<f32>>>, ProviderError> {
    if texts.is_empty() {
        return Ok(Some(Vec::new()));
    }
    let base = cfg.base_url.trim_end_matches('/');
    let req = match cfg.kind {
        ProviderKind::Anthropic => return Ok(None),
        ProviderKind::Ollama => client
            .post(format!("{base}/api/embed"))
            .json(&json!({"model": model, "input": texts})),
        ProviderKind::Openai => {
            let r = client
                .post(crate::agent::probe::openai_url(base, "embeddings"))
                .json(&json!({"model": model, "input": texts}));
            match crate::agent::probe::api_key(cfg) {
                Some(k) => r.bearer_auth(k),
                None => r,
            }
        }
    };
    let resp = match tokio::time::timeout(timeout, req.send()).await {
        Err(_) => return Err(ProviderError::FirstByteTimeout(timeout.as_secs())),
        Ok(Err(e)) => return Err(ProviderError::Connect(e.to_string())),
        Ok(Ok(r)) => r,
    };
    let status = resp.status().as_u16();
    let body = match tokio::time::timeout(timeout, resp.bytes()).await {
        Ok(Ok(b)) => b,
        _ => return Err(ProviderError::Interrupted),
    };
    // Not offered by this server or model: no embeddings, not a failure.
    if matches!(status, 404 | 501)
        || (status == 400 && super::error::error_message(&body).contains("embed"))
    {
        return Ok(None);
    }
    if !(200..300).contains(&status) {
        return Err(ProviderError::Http {
            status,
            message: super::error::error_message(&body),
            retry_after: None,
        });
    }
    let v: Value =
        serde_json::from_slice(&body).map_err(|e| ProviderError::Malformed(e.to_string()))?;
    let vectors: Option<Vec<Vec<f32>>> = match cfg.kind {
        ProviderKind::Ollama => v["embeddings"]
            .as_array()
            .map(|a| a.iter().map(vector).collect()),
        _ => v["data"].as_array().map(|a| {
            let mut items: Vec<(u64, Vec<f32>)> = a
                .iter()
                .map(|d| (d["index"].as_u64().unwrap_or(0), vector(&d["embedding"])))
                .collect();
            items.sort_by_key(|(i, _)| *i);
            items.into_iter().map(|(_, e)| e).collect()
        }),
    };
    match vectors {
        Some(v) if v.len() == texts.len() && v.iter().all(|e| !e.is_empty()) => Ok(Some(v)),
        Some(v) => Err(ProviderError::Malformed(format!(
            "{} embeddings for {} texts",
            v.len(),
            texts.len()
        ))),
        None => Err(ProviderError::Malformed(
            "no embeddings in the reply".into(),
        )),
    }
}

fn vector(v: &Value) -> Vec<f32> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_f64)
                .map(|x| x as f32)
                .collect()
        })
        .unwrap_or_default()
}

/// Cosine similarity; 0 for empty or mismatched vectors.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() || a.is_empty() {
        return 0.0;
    }
    let (mut dot, mut na, mut nb) = (0f32, 0f32, 0f32);
    for (x, y) in a.iter().zip(b) {
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na.sqrt() * nb.sqrt())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_is_bounded_and_safe() {
        assert!((cosine(&[1.0, 0.0], &[1.0, 0.0]) - 1.0).abs() < 1e-6);
        assert!(cosine(&[1.0, 0.0], &[0.0, 1.0]).abs() < 1e-6);
        assert_eq!(cosine(&[1.0], &[1.0, 2.0]), 0.0);
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 2.0]), 0.0);
    }
}
