//! The keyword step against the model: the conversation goes in, a
//! standalone question and 1–3 queries come out, constrained by the
//! provider's structured output where it has one. A server that rejects
//! the schema option (400/422) is asked once more without it.

use crate::domain::Role;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use super::keywords::{self, Plan};
use super::pipeline::ResearchAsk;
use crate::agent::provider::{self, ChatMessage, ChatRequest, Limits, ProviderError};
use crate::config::Config;

/// Longest the keyword request may take in all.
pub const KEYWORD_TIMEOUT: Duration = Duration::from_secs(30);

/// What this agent knows of the provider: unknown until the start-up
/// probe or a turn says. A model known to be down is not asked (nor
/// retried) in a research turn, which answers from its sources at once.
#[derive(Clone, Default)]
pub struct Health(Arc<AtomicU8>);

const UNKNOWN: u8 = 0;
const UP: u8 = 1;
const DOWN: u8 = 2;

impl Health {
    pub fn set(&self, up: bool) {
        self.0.store(if up { UP } else { DOWN }, Ordering::Relaxed);
    }

    pub fn is_down(&self) -> bool {
        self.0.load(Ordering::Relaxed) == DOWN
    }

    pub fn is_known(&self) -> bool {
        self.0.load(Ordering::Relaxed) != UNKNOWN
    }
}

/// A model failure that means "no usable model": the turn goes extractive
/// instead of trying again to synthesize.
pub fn model_unusable(e: &ProviderError) -> bool {
    matches!(e, ProviderError::Connect(_) | ProviderError::Setup(_))
        || matches!(
            e,
            ProviderError::Http {
                status: 401 | 403 | 404,
                ..
            }
        )
}

/// One structured request, no retries, thoughts stripped: the reply text.
async fn once(
    client: &reqwest::Client,
    cfg: &Config,
    req: &ChatRequest,
) -> Result<(String, u64), ProviderError> {
    let mut pcfg = cfg.provider.clone();
    pcfg.model = req.model.clone();
    let mut limits = Limits::from_config(&pcfg);
    // Optional step: the heuristic covers a failure, so never wait on retries.
    limits.retries = 0;
    let mut reply = String::new();
    let mut on_text = |t: &str| reply.push_str(t);
    let c = provider::stream_chat(client, &pcfg, req, &limits, &mut on_text).await?;
    let tokens = tokens_used(&c, req, &reply);
    // Strip any <think> block before parsing.
    let mut filter = crate::agent::think::ThinkFilter::default();
    let mut visible = filter.push(&reply);
    visible.push_str(&filter.finish());
    Ok((visible, tokens))
}

/// Tokens a request cost: as the provider reports them, or about a token
/// per four characters when it does not (deep runs' token budget).
pub fn tokens_used(c: &provider::Completion, req: &ChatRequest, reply: &str) -> u64 {
    match (c.tokens_in, c.tokens_out) {
        (Some(i), Some(o)) => (i.max(0) + o.max(0)) as u64,
        _ => {
            let sent: usize = req.system.as_deref().map_or(0, str::len)
                + req.messages.iter().map(|m| m.content.len()).sum::<usize>();
            ((sent + reply.len()) / 4) as u64
        }
    }
}

/// Sends a schema-constrained request (asked once more without the schema
/// if the server refuses it) within `limit`; the reply text.
pub async fn ask_structured(
    client: &reqwest::Client,
    cfg: &Config,
    req: ChatRequest,
    limit: Duration,
) -> Result<String, ProviderError> {
    ask_structured_counted(client, cfg, req, limit)
        .await
        .map(|(reply, _)| reply)
}

/// [`ask_structured`], with the tokens it cost.
pub async fn ask_structured_counted(
    client: &reqwest::Client,
    cfg: &Config,
    mut req: ChatRequest,
    limit: Duration,
) -> Result<(String, u64), ProviderError> {
    let work = async {
        match once(client, cfg, &req).await {
            Err(ProviderError::Http {
                status: 400 | 422,
                message,
                ..
            }) if req.schema.is_some() => {
                tracing::info!(%message, "structured output refused; asking without the schema");
                req.schema = None;
                once(client, cfg, &req).await
            }
            other => other,
        }
    };
    tokio::time::timeout(limit, work)
        .await
        .map_err(|_| ProviderError::FirstByteTimeout(limit.as_secs()))?
}

/// Asks the model; `Ok(None)` when its reply held no usable query.
pub async fn from_model(
    client: &reqwest::Client,
    cfg: &Config,
    ask: &ResearchAsk,
) -> Result<Option<Plan>, ProviderError> {
    let req = ChatRequest {
        model: ask.model.clone(),
        system: Some(keywords::PROMPT.into()),
        messages: vec![ChatMessage {
            role: Role::User,
            content: keywords::request_text(&ask.question, &ask.history, ask.summary.as_deref()),
        }],
        schema: Some(keywords::schema()),
        temperature: None,
        max_tokens: None,
    };
    let reply = ask_structured(client, cfg, req, KEYWORD_TIMEOUT).await?;
    Ok(
        keywords::parse_reply(&reply).map(|(standalone, queries)| Plan {
            standalone: standalone.unwrap_or_else(|| ask.question.trim().to_string()),
            queries,
            from_model: true,
        }),
    )
}
