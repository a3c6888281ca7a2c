//! The model's two jobs in a deep run besides the report: the plan and the
//! reflection after each round. Both are optional: a failed, slow or
//! malformed reply means the heuristic is used, never a stalled run.

use std::time::{Duration, Instant};

use super::DeepAsk;
use super::notes::Note;
use super::plan::{self, SubQuestion};
use super::reflect;
use crate::agent::provider::ProviderError;
use crate::agent::research::pipeline::Clients;
use crate::agent::research::queries;
use crate::config::Config;

pub const PLAN_TIMEOUT: Duration = Duration::from_secs(30);

/// The plan the run starts from.
pub struct Planned {
    pub subs: Vec<SubQuestion>,
    pub from_model: bool,
    /// Why the model could not plan (decides later whether to ask it for
    /// the report at all).
    pub error: Option<ProviderError>,
    pub tokens: u64,
}

fn with_model(cfg: &Config, model: &str) -> Config {
    let mut c = cfg.clone();
    c.provider.model = model.to_string();
    c
}

pub async fn plan(cfg: &Config, clients: &Clients, ask: &DeepAsk) -> Planned {
    let heuristic = |error, tokens| Planned {
        subs: plan::heuristic(&ask.question),
        from_model: false,
        error,
        tokens,
    };
    if clients.health.is_down() {
        return heuristic(None, 0);
    }
    let req = plan::request(
        &ask.model,
        &ask.question,
        &ask.history,
        ask.summary.as_deref(),
    );
    let pcfg = with_model(cfg, &ask.model);
    match queries::ask_structured_counted(&clients.provider, &pcfg, req, PLAN_TIMEOUT).await {
        Ok((reply, tokens)) => match plan::parse(&reply) {
            Some(subs) => {
                clients.health.set(true);
                Planned {
                    subs,
                    from_model: true,
                    error: None,
                    tokens,
                }
            }
            None => {
                tracing::info!("unusable plan reply; heuristic plan");
                heuristic(None, tokens)
            }
        },
        Err(e) => {
            if matches!(e, ProviderError::Connect(_)) {
                clients.health.set(false);
            }
            heuristic(Some(e), 0)
        }
    }
}

/// The model's reflection on the notes and the tokens it cost; None
/// without a usable model or reply (the heuristic leads are followed then).
pub async fn reflect(
    cfg: &Config,
    clients: &Clients,
    ask: &DeepAsk,
    notes: &[Note],
    deadline: Instant,
) -> (Option<reflect::Decision>, u64) {
    if clients.health.is_down() {
        return (None, 0);
    }
    let shown: Vec<(String, Vec<String>)> = notes
        .iter()
        .map(|n| {
            (
                n.heading.clone(),
                n.passages.iter().map(|(p, _)| p.text.clone()).collect(),
            )
        })
        .collect();
    let left = deadline
        .saturating_duration_since(Instant::now())
        .min(PLAN_TIMEOUT);
    let req = reflect::request(&ask.model, &ask.question, &shown);
    let pcfg = with_model(cfg, &ask.model);
    match queries::ask_structured_counted(&clients.provider, &pcfg, req, left).await {
        Ok((reply, tokens)) => {
            let d = reflect::parse(&reply);
            if d.is_none() {
                tracing::info!("unusable reflection; following heuristic leads");
            }
            (d, tokens)
        }
        Err(e) => {
            if matches!(e, ProviderError::Connect(_)) {
                clients.health.set(false);
            }
            (None, 0)
        }
    }
}
