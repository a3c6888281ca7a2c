//! Rolling session summaries: older turns are folded into a short summary
//! in the background, so the context sent with a question stays bounded.

use super::AgentEvent;
use super::provider::{self, ChatMessage, ChatRequest, Limits};
use super::think::ThinkFilter;
use crate::config::ProviderConfig;
use crate::domain::Role;
use crate::domain::SessionId;
use crate::emit::Emitter;

const PROMPT: &str = "Summarize the conversation below for your own later reference, in at most \
120 words: the questions asked, the key facts of the answers, and the sources they cited by title. \
If a previous summary is given, extend it. Reply with the summary only.";

#[derive(Debug, Clone)]
pub struct SummarizeRequest {
    pub session: SessionId,
    pub model: String,
    pub previous: Option<String>,
    pub messages: Vec<ChatMessage>,
    /// How many history messages this summary will cover once done.
    pub folded: usize,
}

/// The system prompt with the session summary appended, if any.
/// A system prompt with the session's own instructions (`/system`) after
/// sleuth's.
pub fn with_instructions(system: &str, s: &crate::domain::SessionSettings) -> String {
    match s.system.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        Some(extra) => format!("{system}\n\nThe user's instructions for this session:\n{extra}"),
        None => system.to_string(),
    }
}

pub fn with_summary(system: &str, summary: Option<&str>) -> String {
    match summary.filter(|s| !s.trim().is_empty()) {
        Some(s) => format!("{system}\n\nSummary of the earlier conversation: {s}"),
        None => system.to_string(),
    }
}

pub async fn run(
    client: &reqwest::Client,
    cfg: &ProviderConfig,
    req: SummarizeRequest,
    emit: &Emitter<AgentEvent>,
) {
    let mut text = String::new();
    if let Some(p) = &req.previous {
        text.push_str(&format!("Previous summary: {p}\n\n"));
    }
    for m in &req.messages {
        text.push_str(&format!("{}: {}\n\n", m.role.as_str(), m.content));
    }
    let mut pcfg = cfg.clone();
    pcfg.model = req.model.clone();
    let chat = ChatRequest {
        model: req.model.clone(),
        system: Some(PROMPT.into()),
        messages: vec![ChatMessage {
            role: Role::User,
            content: text,
        }],
        schema: None,
        temperature: None,
        max_tokens: None,
    };
    let mut out = String::new();
    let mut on_text = |t: &str| out.push_str(t);
    let result = provider::stream_chat(
        client,
        &pcfg,
        &chat,
        &Limits::from_config(&pcfg),
        &mut on_text,
    )
    .await;
    let mut filter = ThinkFilter::default();
    let mut summary = filter.push(&out);
    summary.push_str(&filter.finish());
    match result {
        Ok(_) if !summary.trim().is_empty() => emit.emit(AgentEvent::Summary {
            session: req.session,
            summary: summary.trim().to_string(),
            folded: req.folded,
        }),
        other => {
            if let Err(e) = other {
                tracing::info!(error = %e, "summary failed; context stays as it is");
            }
            emit.emit(AgentEvent::SummaryFailed {
                session: req.session,
            });
        }
    }
}
