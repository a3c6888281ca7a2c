//! One chat turn on the agent runtime: stream the answer, filter thoughts,
//! report deltas and the outcome. The research turn streams its answer
//! through [`stream_answer`] too.

use serde::Serialize;

use super::AgentEvent;
use super::provider::{
    self, ChatMessage, ChatRequest, Completion, FinishReason, Limits, ProviderError,
};
use super::research::SourceStatus;
use super::think::ThinkFilter;
use crate::config::ProviderConfig;
use crate::domain::{Source, TurnId};
use crate::emit::Emitter;

#[derive(Debug, Clone)]
pub struct AskRequest {
    pub turn: TurnId,
    /// The model to use (the picker may have changed it).
    pub model: String,
    pub system: Option<String>,
    /// The conversation so far, ending with the new question.
    pub messages: Vec<ChatMessage>,
    /// The session's temperature and answer length.
    pub settings: crate::domain::SessionSettings,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AnswerKind {
    #[default]
    Generated,
    /// No model answered: the best passages, with citations.
    Extractive,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TurnOutcome {
    pub completion: Completion,
    /// Output tokens per second of generation, when the provider said.
    pub tokens_per_sec: Option<f64>,
    pub model: String,
    pub answer_kind: AnswerKind,
    /// Research turns: the queries used, the cited sources, each source's outcome.
    pub keywords: Vec<String>,
    pub sources: Vec<Source>,
    pub source_status: Vec<SourceStatus>,
    /// Something the user should know (why the answer is extractive).
    pub notice: Option<String>,
    /// Titles of other sessions recalled into the context.
    pub memory: Vec<String>,
    /// A deep run's plan, rounds and sections.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deep: Option<Box<super::deep::DeepRun>>,
    /// The answer as streamed (the events carry it too).
    #[serde(skip)]
    pub answer: String,
    /// Research answers and reports: each claim against its passages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claims: Option<Box<crate::verify::ClaimCheck>>,
}

impl TurnOutcome {
    pub fn cut_by_length(&self) -> bool {
        self.completion.finish == Some(FinishReason::Length)
    }
}

pub const SYSTEM_PROMPT: &str = "You are sleuth, a careful research assistant in a terminal. \
Answer concisely in Markdown. Say so when you are not sure.";

pub fn tokens_per_sec(c: &Completion) -> Option<f64> {
    let gen_ms = c.total_ms.saturating_sub(c.first_token_ms.unwrap_or(0));
    c.tokens_out
        .filter(|_| gen_ms > 0)
        .map(|n| n as f64 * 1000.0 / gen_ms as f64)
}

/// Streams an answer as `AnswerDelta`s (thoughts removed). `wrote` tells
/// whether any answer text went out, so a caller knows if it may fall back.
pub async fn stream_answer(
    client: &reqwest::Client,
    cfg: &ProviderConfig,
    req: &ChatRequest,
    turn: TurnId,
    emit: &Emitter<AgentEvent>,
    written: &mut String,
) -> Result<Completion, ProviderError> {
    let limits = Limits::from_config(cfg);
    let mut filter = ThinkFilter::default();
    let mut thinking = false;
    let mut on_text = |t: &str| {
        let answer = filter.push(t);
        if filter.thinking() != thinking {
            thinking = filter.thinking();
            emit.emit(AgentEvent::Thinking {
                turn,
                active: thinking,
            });
        }
        if !answer.is_empty() {
            written.push_str(&answer);
            emit.emit(AgentEvent::AnswerDelta { turn, text: answer });
        }
    };
    let on_retry = |note: String| emit.emit(AgentEvent::Retrying { turn, note });
    let result =
        provider::stream_chat_telling(client, cfg, req, &limits, &mut on_text, &on_retry).await;
    let tail = filter.finish();
    if !tail.is_empty() {
        written.push_str(&tail);
        emit.emit(AgentEvent::AnswerDelta { turn, text: tail });
    }
    result
}

pub async fn run(
    client: &reqwest::Client,
    cfg: &ProviderConfig,
    ask: AskRequest,
    emit: &Emitter<AgentEvent>,
) {
    let turn = ask.turn;
    let mut cfg = cfg.clone();
    cfg.model = ask.model.clone();
    let req = ChatRequest {
        model: ask.model.clone(),
        system: ask.system.clone(),
        messages: ask.messages,
        schema: None,
        temperature: ask.settings.temperature,
        max_tokens: ask.settings.max_tokens,
    };
    let mut written = String::new();
    match stream_answer(client, &cfg, &req, turn, emit, &mut written).await {
        Ok(completion) => {
            let tokens_per_sec = tokens_per_sec(&completion);
            emit.emit(AgentEvent::TurnDone {
                turn,
                outcome: TurnOutcome {
                    completion,
                    tokens_per_sec,
                    model: ask.model,
                    ..Default::default()
                },
            });
        }
        Err(e) => {
            tracing::warn!(error = %e, turn = turn.0, "turn failed");
            let key_env = super::probe::key_env(&cfg);
            emit.emit(AgentEvent::TurnFailed {
                turn,
                error: e.user_message(&cfg, &cfg.model, key_env),
            });
        }
    }
}
