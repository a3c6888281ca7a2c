//! What `sleuth ask` prints when the turn ends, and how it exits.

use std::io::Write;
use std::process::ExitCode;

use serde_json::json;

use super::Io;
use crate::commands::turn::Report;
use crate::domain::MessageStatus;

/// The JSON object (`--json`), or the end of the streamed text: a newline
/// and the numbered sources.
pub(super) fn print_result(io: &mut Io<'_>, p: &Report) -> anyhow::Result<()> {
    let out = &mut io.out;
    if io.json {
        let sources: Vec<serde_json::Value> = p
            .cited
            .iter()
            .map(|s| {
                let mut v = json!({
                    "n": s.ordinal, "kind": s.kind, "title": s.title, "section": s.section,
                    "url": s.url, "excerpt": s.excerpt, "relevance": s.relevance,
                });
                if let Some((path, page)) = s.file_place() {
                    v["path"] = path.into();
                    v["page"] = page.into();
                }
                if !s.meta.is_empty() {
                    v["meta"] = serde_json::to_value(&s.meta).unwrap_or_default();
                }
                v
            })
            .collect();
        let outcome = p.outcome.as_ref();
        let check = outcome.and_then(|o| o.claims.as_ref());
        let v = json!({
            "session": p.message.session_id,
            "question": p.question,
            "keywords": p.keywords,
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
            "source_status": p.statuses,
            "analysis": p.analysis,
            "deep": outcome.and_then(|o| o.deep.clone()),
            "claims": check.map(|c| c.claims.clone()).unwrap_or_default(),
            "claim_counts": check.map(|c| json!({
                "supported": c.supported, "partial": c.partial, "unsupported": c.unsupported,
                "uncited": c.uncited, "unchecked": c.unchecked, "dangling": c.dangling,
                "note": c.note,
            })),
            "memory": outcome.map(|o| o.memory.clone()).unwrap_or_default(),
        });
        writeln!(out, "{}", crate::text::sanitize::to_json_pretty(&v)?)?;
        return Ok(());
    }
    if !p.message.content.ends_with('\n') && !p.message.content.is_empty() {
        writeln!(out)?;
    }
    // Only the sources the answer can cite; a dangling [n] has none.
    if !p.cited.is_empty() {
        writeln!(out, "\nSources:")?;
        for s in &p.cited {
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
pub(super) fn exit_code(report: &Report, saved: bool) -> ExitCode {
    let run_id = report.run;
    match &report.error {
        Some(e) if report.status() == MessageStatus::Interrupted => {
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
                crate::text::sanitize::one_line(e)
            );
            ExitCode::from(1)
        }
        None if !saved => ExitCode::from(1),
        None => ExitCode::SUCCESS,
    }
}
