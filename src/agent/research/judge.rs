//! The claim check's optional model judge (`[verify] model`): after the
//! facts check, the claims it did not already fail on a hard fact go to
//! the model in batches with the passages they cite, schema-constrained
//! (`{"verdicts": [{"claim": 1, "verdict": "supported"}]}`), under one time
//! budget per answer. What the model says replaces the facts verdict and
//! is marked `judge: "model:NAME"`; a claim whose number or name is not in
//! its passage stays `unsupported` by the facts judge whatever the model
//! says. A model that is down, slow, or answers something else leaves the
//! facts verdicts as they were, with a note saying why.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::pipeline::Clients;
use super::queries::ask_structured;
use crate::agent::provider::{ChatMessage, ChatRequest};
use crate::config::Config;
use crate::domain::claims::{ClaimCheck, Verdict};
use crate::domain::{Role, Source};

const SYSTEM: &str = "You check a research answer against its sources. For each numbered \
claim, read the passages it cites and say whether they support it: \"supported\" (the \
passages say it), \"partial\" (they say part of it, or something close), \"unsupported\" \
(they do not say it, or say otherwise). Judge only by the passages given. Reply with JSON \
only.";

fn schema() -> Value {
    json!({
        "type": "object",
        "properties": {"verdicts": {"type": "array", "items": {
            "type": "object",
            "properties": {
                "claim": {"type": "integer"},
                "verdict": {"type": "string", "enum": ["supported", "partial", "unsupported"]}
            },
            "required": ["claim", "verdict"]
        }}},
        "required": ["verdicts"]
    })
}

/// The claims the model may judge: cited, checked, no hard fact missing.
fn judged(check: &ClaimCheck, max: usize) -> Vec<usize> {
    check
        .claims
        .iter()
        .enumerate()
        .filter(|(_, c)| {
            !c.cites.is_empty()
                && c.missing.is_empty()
                && matches!(
                    c.verdict,
                    Verdict::Supported | Verdict::Partial | Verdict::Unsupported
                )
        })
        .map(|(i, _)| i)
        .take(max)
        .collect()
}

/// The request for one batch: its cited passages, then its claims, each
/// numbered from 1; cut to `max_chars`.
fn request(
    model: &str,
    check: &ClaimCheck,
    batch: &[usize],
    sources: &[Source],
    max_chars: usize,
) -> ChatRequest {
    let mut cited: Vec<i64> = batch
        .iter()
        .flat_map(|&i| check.claims[i].cites.iter().copied())
        .collect();
    cited.sort_unstable();
    cited.dedup();
    let mut text = String::from("Passages:\n\n");
    let per = max_chars / cited.len().max(1) / 2;
    for n in &cited {
        if let Some(s) = sources.iter().find(|s| s.ordinal == *n) {
            let excerpt: String = s.excerpt.chars().take(per.max(200)).collect();
            text.push_str(&format!("[{n}] {}\n{excerpt}\n\n", s.title));
        }
    }
    text.push_str("Claims:\n");
    for (k, &i) in batch.iter().enumerate() {
        let c = &check.claims[i];
        let cites: Vec<String> = c.cites.iter().map(|n| format!("[{n}]")).collect();
        let claim: String = c.text.chars().take(600).collect();
        text.push_str(&format!("{}. {claim} (cites {})\n", k + 1, cites.join("")));
    }
    ChatRequest {
        model: model.to_string(),
        system: Some(SYSTEM.into()),
        messages: vec![ChatMessage {
            role: Role::User,
            content: text,
        }],
        schema: Some(schema()),
        temperature: Some(0.0),
        max_tokens: Some(64 + 24 * batch.len() as u32),
    }
}

/// The verdicts of a reply: (claim number from 1, verdict). Tolerant of a
/// fence or words around the JSON; None when there is no such object.
fn parse(reply: &str) -> Option<Vec<(usize, Verdict)>> {
    let start = reply.find('{')?;
    let end = reply.rfind('}')?;
    let v: Value = serde_json::from_str(reply.get(start..=end)?).ok()?;
    let out: Vec<(usize, Verdict)> = v["verdicts"]
        .as_array()?
        .iter()
        .filter_map(|x| {
            let n = x["claim"].as_u64()? as usize;
            let verdict = match x["verdict"].as_str()? {
                "supported" => Verdict::Supported,
                "partial" => Verdict::Partial,
                "unsupported" => Verdict::Unsupported,
                _ => return None,
            };
            Some((n, verdict))
        })
        .collect();
    Some(out)
}

/// Asks the model about the answer's claims; changes `check` in place.
pub async fn judge(clients: &Clients, cfg: &Config, check: &mut ClaimCheck, sources: &[Source]) {
    let v = &cfg.verify;
    let model = v.model.trim();
    if model.is_empty() {
        return;
    }
    let todo = judged(check, v.max_claims);
    let started = Instant::now();
    let budget = Duration::from_secs(v.timeout_secs.max(1));
    let mut judged_any = false;
    for batch in todo.chunks(v.batch.max(1)) {
        let left = budget.saturating_sub(started.elapsed());
        if left.is_zero() {
            check.note = Some(format!(
                "the model judge ran out of time ({} s); the facts check stands for the rest",
                budget.as_secs()
            ));
            break;
        }
        let req = request(model, check, batch, sources, v.max_chars);
        let reply = match ask_structured(&clients.provider, cfg, req, left).await {
            Ok(r) => r,
            Err(e) => {
                tracing::info!(error = %e, "model judge failed");
                check.note = Some(format!(
                    "the model judge ({model}) did not answer ({e}); the facts check stands"
                ));
                break;
            }
        };
        let Some(verdicts) = parse(&reply) else {
            check.note = Some(format!(
                "the model judge ({model}) answered something else than verdicts; the facts check stands"
            ));
            break;
        };
        for (n, verdict) in verdicts {
            if let Some(&i) = n.checked_sub(1).and_then(|k| batch.get(k)) {
                let c = &mut check.claims[i];
                c.verdict = verdict;
                c.judge = format!("model:{model}");
                if verdict == Verdict::Unsupported {
                    c.span = None;
                }
                judged_any = true;
            }
        }
    }
    if judged_any {
        check.recount();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_read_tolerantly_and_strictly() {
        assert_eq!(
            parse(
                "```json\n{\"verdicts\": [{\"claim\": 2, \"verdict\": \"partial\"}, {\"claim\": 1, \"verdict\": \"maybe\"}]}\n```"
            ),
            Some(vec![(2, Verdict::Partial)])
        );
        assert_eq!(parse("I think they are all fine."), None);
        assert_eq!(parse("{\"verdicts\": 3}"), None);
    }
}
