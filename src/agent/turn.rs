//! One chat turn on the agent runtime: stream the answer, filter thoughts,
//! report deltas and the outcome.

use std::time::Duration;

use serde::Serialize;

use super::AgentEvent;
use super::provider::{self, ChatMessage, ChatRequest, Completion, FinishReason, Limits};
use super::think::ThinkFilter;
use crate::config::ProviderConfig;
use crate::domain::TurnId;
use crate::emit::Emitter;

#[derive(Debug, Clone)]
pub struct AskRequest {
    pub turn: TurnId,
    /// The model to use (the picker may have changed it).
    pub model: String,
    pub system: Option<String>,
    /// The conversation so far, ending with the new question.
    pub messages: Vec<ChatMessage>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TurnOutcome {
    pub completion: Completion,
    /// Output tokens per second of generation, when the provider said.
    pub tokens_per_sec: Option<f64>,
    pub model: String,
}

impl TurnOutcome {
    pub fn cut_by_length(&self) -> bool {
        self.completion.finish == Some(FinishReason::Length)
    }
}

pub const SYSTEM_PROMPT: &str = "You are sleuth, a careful research assistant in a terminal. \
Answer concisely in Markdown. Say so when you are not sure.";

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
    };
    let limits = Limits::from_config(&cfg);
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
            emit.emit(AgentEvent::AnswerDelta { turn, text: answer });
        }
    };
    let result = provider::stream_chat(client, &cfg, &req, &limits, &mut on_text).await;
    let tail = filter.finish();
    if !tail.is_empty() {
        emit.emit(AgentEvent::AnswerDelta { turn, text: tail });
    }
    match result {
        Ok(completion) => {
            let gen_ms = completion
                .total_ms
                .saturating_sub(completion.first_token_ms.unwrap_or(0));
            let tokens_per_sec = completion
                .tokens_out
                .filter(|_| gen_ms > 0)
                .map(|n| n as f64 / Duration::from_millis(gen_ms).as_secs_f64());
            emit.emit(AgentEvent::TurnDone {
                turn,
                outcome: TurnOutcome {
                    completion,
                    tokens_per_sec,
                    model: ask.model,
                },
            });
        }
        Err(e) => {
            tracing::warn!(error = %e, turn = turn.0, "turn failed");
            let key_env = super::probe::key_env(&cfg);
            emit.emit(AgentEvent::TurnFailed {
                turn,
                error: e.user_message(cfg.kind, &cfg.base_url, &cfg.model, key_env),
            });
        }
    }
}
