//! The `research` tool: one turn (or a deep run) through the same runner
//! as `sleuth ask`, on a blocking thread, its stages sent as MCP progress
//! notifications. A client that cancels or goes away stops the turn; what
//! was written is saved as interrupted.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use rmcp::RoleServer;
use rmcp::model::{CallToolResult, ContentBlock, ProgressNotificationParam};
use rmcp::service::RequestContext;
use serde_json::json;

use super::server::SleuthServer;
use crate::agent::AgentEvent;
use crate::commands::ask::{Mode, What};
use crate::commands::turn::{Flow, Observer, Report, Runner};
use crate::domain::MessageStatus;
use crate::text::sanitize::one_line;

/// Sets the flag when dropped: the call's future is dropped when the
/// client disconnects, and the turn must stop then.
struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// The turn's stages as one line each.
struct Stages {
    tx: tokio::sync::mpsc::UnboundedSender<String>,
    answering: bool,
}

impl Observer for Stages {
    fn event(&mut self, ev: &AgentEvent) -> Flow {
        if let Some(line) = stage(ev, &mut self.answering) {
            let _ = self.tx.send(line);
        }
        Flow::Continue
    }

    fn note(&mut self, text: &str) {
        let _ = self.tx.send(text.to_string());
    }
}

fn stage(ev: &AgentEvent, answering: &mut bool) -> Option<String> {
    Some(match ev {
        AgentEvent::Keywords { queries, .. } => {
            format!("searching: {}", one_line(&queries.join(" · ")))
        }
        AgentEvent::SourceDone { status, .. } => match &status.error {
            Some(e) => format!("{}: {}", status.source.label(), one_line(e)),
            None => format!(
                "{}: {} read ({} chars, {} ms)",
                status.source.label(),
                crate::text::plural(status.count as u64, "document"),
                status.chars,
                status.ms
            ),
        },
        AgentEvent::Ranked {
            sources, analysis, ..
        } => {
            let passages: usize = analysis.per_source.iter().map(|r| r.passages).sum();
            format!(
                "ranked {}; citing from {}",
                crate::text::plural(passages as u64, "passage"),
                crate::text::plural(sources.len() as u64, "source")
            )
        }
        AgentEvent::DeepStep { text, .. } | AgentEvent::Retrying { note: text, .. } => {
            one_line(text)
        }
        AgentEvent::AnswerDelta { .. } if !*answering => {
            *answering = true;
            "writing the answer".into()
        }
        _ => return None,
    })
}

pub async fn run(
    server: &SleuthServer,
    question: String,
    deep: bool,
    session: Option<String>,
    context: RequestContext<RoleServer>,
) -> Result<CallToolResult, String> {
    let what = What::Ask {
        question,
        session,
        mode: if deep { Mode::Deep } else { Mode::Research },
    };
    let interrupted = Arc::new(AtomicBool::new(false));
    let _stop = StopOnDrop(Arc::clone(&interrupted));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let (config, db, flag) = (
        Arc::clone(&server.config),
        server.db.clone(),
        Arc::clone(&interrupted),
    );
    let mut job = tokio::task::spawn_blocking(move || -> anyhow::Result<Report> {
        let mut runner = Runner::start(&config, &db, what)?;
        let mut stages = Stages {
            tx,
            answering: false,
        };
        let report = runner.stream(&mut stages, &flag)?;
        let (saved, _kept) = runner.finish(&mut stages, &flag);
        saved.map_err(|e| anyhow::anyhow!("the answer could not be saved: {e}"))?;
        Ok(report)
    });
    let token = context.meta.get_progress_token();
    let mut step = 0u32;
    let mut cancelled = false;
    let progress = |line: String, step: &mut u32| {
        let p = token.as_ref().map(|t| {
            *step += 1;
            ProgressNotificationParam::new(t.clone(), f64::from(*step)).with_message(line)
        });
        let peer = context.peer.clone();
        async move {
            if let Some(p) = p {
                let _ = peer.notify_progress(p).await;
            }
        }
    };
    let mut open = true;
    let report = loop {
        // Biased, stages first: a stage the turn reported is sent before
        // the result it leads to (issue 24, item 22: a busy machine let
        // the result overtake queued stages, which were then dropped).
        tokio::select! {
            biased;
            line = rx.recv(), if open => match line {
                Some(line) => progress(line, &mut step).await,
                // The job ended (its sender dropped): only its result is left.
                None => open = false,
            },
            _ = context.ct.cancelled(), if !cancelled => {
                cancelled = true;
                interrupted.store(true, Ordering::Relaxed);
            }
            done = &mut job => break done,
        }
    };
    // Stages sent between the last poll and the job's end.
    while let Ok(line) = rx.try_recv() {
        progress(line, &mut step).await;
    }
    let report = report
        .map_err(|e| format!("internal error: {e}"))?
        .map_err(|e| format!("{e:#}"))?;
    Ok(result(&report))
}

/// The answer and its numbered sources, as text and structured content.
fn result(r: &Report) -> CallToolResult {
    let sources: Vec<serde_json::Value> = r
        .cited
        .iter()
        .map(|s| {
            let mut v = json!({
                "n": s.ordinal, "title": s.title, "section": s.section, "url": s.url,
                "kind": s.kind, "excerpt": s.excerpt,
            });
            if let Some((path, page)) = s.file_place() {
                v["path"] = path.into();
                v["page"] = page.into();
            }
            v
        })
        .collect();
    let mut text = r.message.content.trim_end().to_string();
    if !r.cited.is_empty() {
        text.push_str("\n\nSources:\n");
        for s in &r.cited {
            let url = s
                .url
                .as_deref()
                .map(|u| format!(" — {}", one_line(u)))
                .unwrap_or_default();
            text.push_str(&format!("[{}] {}{url}\n", s.ordinal, one_line(&s.label())));
        }
    }
    text.push_str(&format!(
        "\n(session {}, message {})",
        r.message.session_id, r.message.id
    ));
    let v = json!({
        "session": r.message.session_id, "message": r.message.id,
        "status": r.message.status, "question": r.question, "answer": r.message.content,
        "answer_kind": r.outcome.as_ref().map(|o| o.answer_kind).unwrap_or_default(),
        "model": r.model, "keywords": r.keywords, "sources": sources, "error": r.error,
        "deep": r.mode == Mode::Deep,
    });
    let mut out = if r.message.status == MessageStatus::Complete {
        CallToolResult::success(vec![ContentBlock::text(text)])
    } else {
        let why = r.error.as_deref().unwrap_or("the answer did not complete");
        CallToolResult::error(vec![ContentBlock::text(format!(
            "research did not complete: {}\n\n{text}",
            one_line(why)
        ))])
    };
    out.structured_content = Some(v);
    out
}
