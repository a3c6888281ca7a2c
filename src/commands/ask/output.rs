//! What `sleuth ask` prints when the turn ends, and how it exits.

use std::io::Write;
use std::process::ExitCode;

use serde_json::json;

use super::{Io, Streamed};
use crate::domain::{Message, MessageId, MessageStatus, SessionId};

/// What the end of a turn prints.
pub(super) struct Printed<'a> {
    pub session: SessionId,
    pub question: &'a str,
    pub model: &'a str,
    pub message: &'a Message,
    pub outcome: Option<&'a crate::agent::TurnOutcome>,
    pub error: Option<&'a str>,
    pub streamed: &'a Streamed,
}

/// The JSON object (`--json`), or the end of the streamed text: a newline
/// and the numbered sources.
pub(super) fn print_result(io: &mut Io<'_>, p: &Printed<'_>) -> anyhow::Result<()> {
    let out = &mut io.out;
    if io.json {
        let sources: Vec<serde_json::Value> = p
            .streamed
            .cited
            .iter()
            .map(|s| {
                json!({
                    "n": s.ordinal, "kind": s.kind, "title": s.title, "section": s.section,
                    "url": s.url, "excerpt": s.excerpt, "relevance": s.relevance,
                })
            })
            .collect();
        let outcome = p.outcome;
        let v = json!({
            "session": p.session,
            "question": p.question,
            "keywords": p.streamed.keywords,
            "answer": p.message.content,
            "answer_kind": outcome.map(|o| o.answer_kind).unwrap_or_default(),
            "status": p.message.status,
            "model": p.model,
            "finish": outcome.and_then(|o| o.completion.finish),
            "usage": {
                "tokens_in": p.message.usage.tokens_in,
                "tokens_out": p.message.usage.tokens_out,
                "first_token_ms": outcome.and_then(|o| o.completion.first_token_ms),
                "total_ms": outcome.map(|o| o.completion.total_ms),
            },
            "error": p.error,
            "sources": sources,
            "source_status": p.streamed.statuses,
            "analysis": p.streamed.ranked,
            "deep": outcome.and_then(|o| o.deep.clone()),
            "memory": outcome.map(|o| o.memory.clone()).unwrap_or_default(),
        });
        writeln!(out, "{}", crate::text::sanitize::to_json_pretty(&v)?)?;
        return Ok(());
    }
    if !p.message.content.ends_with('\n') && !p.message.content.is_empty() {
        writeln!(out)?;
    }
    // Only the sources the answer can cite; a dangling [n] has none.
    if !p.streamed.cited.is_empty() {
        writeln!(out, "\nSources:")?;
        for s in &p.streamed.cited {
            let url = s
                .url
                .as_deref()
                .map(|u| format!(" — {}", crate::text::sanitize::one_line(u)))
                .unwrap_or_default();
            writeln!(
                out,
                "[{}] {}{url}",
                s.ordinal,
                crate::text::sanitize::one_line(&s.label())
            )?;
        }
    }
    Ok(())
}

/// 0 answered, 130 stopped (the partial answer saved), 1 failed or unsaved.
pub(super) fn exit_code(
    error: Option<String>,
    status: MessageStatus,
    run_id: Option<MessageId>,
    saved: bool,
) -> ExitCode {
    match error {
        Some(e) if status == MessageStatus::Interrupted => {
            let _ = writeln!(
                std::io::stderr(),
                "sleuth: {e}; the partial answer was saved"
            );
            if let Some(id) = run_id {
                let _ = writeln!(
                    std::io::stderr(),
                    "sleuth: continue the deep run with `sleuth ask --resume {id}`"
                );
            }
            ExitCode::from(130)
        }
        Some(e) => {
            let _ = writeln!(
                std::io::stderr(),
                "sleuth: {}",
                crate::text::sanitize::one_line(&e)
            );
            ExitCode::from(1)
        }
        None if !saved => ExitCode::from(1),
        None => ExitCode::SUCCESS,
    }
}
