//! What the transcript shows of a research turn: the queries, each source's
//! progress and outcome, the analysis, and an answer's cited sources.

use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};

use super::theme;
use super::wrap::truncate;
use crate::agent::research::pipeline::Analysis;
use crate::agent::research::{SourceKind, SourceStatus};
use crate::domain::Source;
use crate::sanitize::one_line;

/// Live state of one research turn's stages.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResearchProgress {
    pub keywords: Option<(Vec<String>, bool)>,
    /// Sources in the order they started; None while running.
    pub sources: Vec<(SourceKind, Option<SourceStatus>)>,
    pub analysis: Option<Analysis>,
    /// Titles of earlier sessions recalled into the context.
    pub memory: Vec<String>,
}

impl ResearchProgress {
    pub fn started(&mut self, kind: SourceKind) {
        if !self.sources.iter().any(|(k, _)| *k == kind) {
            self.sources.push((kind, None));
        }
    }

    pub fn done(&mut self, status: SourceStatus) {
        match self.sources.iter_mut().find(|(k, _)| *k == status.source) {
            Some(slot) => slot.1 = Some(status),
            None => self.sources.push((status.source, Some(status))),
        }
    }

    pub fn lines(&self, width: usize) -> Vec<Line<'static>> {
        let mut out = Vec::new();
        let w = width.saturating_sub(2);
        match &self.keywords {
            None => out.push(Line::styled("  finding search terms…", theme::dim())),
            Some((q, from_model)) => {
                let quoted: Vec<String> = q.iter().map(|k| format!("“{}”", one_line(k))).collect();
                let how = if *from_model {
                    ""
                } else {
                    " (from the question)"
                };
                out.push(Line::from(vec![
                    Span::styled("  searching ", theme::dim()),
                    Span::raw(truncate(
                        &format!("{}{how}", quoted.join(" · ")),
                        w.saturating_sub(10),
                    )),
                ]));
            }
        }
        for (kind, status) in &self.sources {
            let (mark, style, detail) = match status {
                None => ("…", theme::dim(), "fetching".to_string()),
                Some(s) if s.outcome == "ok" => {
                    // Mean relevance of this source's cited passages, once ranked.
                    let rel = self
                        .analysis
                        .as_ref()
                        .and_then(|a| a.per_source.iter().find(|(k, _, _)| k == kind))
                        .and_then(|(_, _, mean)| *mean)
                        .map(|m| format!(" · cited, relevance {m:.2}"))
                        .unwrap_or_default();
                    (
                        "✓",
                        Style::new().fg(Color::Green),
                        format!("{} in {} ms{rel}", s.count, s.ms),
                    )
                }
                Some(s) => (
                    "✗",
                    theme::error(),
                    format!(
                        "{} ({} ms)",
                        s.error.clone().unwrap_or_else(|| s.outcome.clone()),
                        s.ms
                    ),
                ),
            };
            out.push(Line::from(vec![
                Span::styled(format!("  {mark} "), style),
                Span::raw(format!("{:<12}", kind.label())),
                Span::styled(
                    truncate(&one_line(&detail), w.saturating_sub(16)),
                    theme::dim(),
                ),
            ]));
        }
        if !self.memory.is_empty() {
            let quoted: Vec<String> = self
                .memory
                .iter()
                .map(|t| format!("“{}”", one_line(t)))
                .collect();
            out.push(Line::from(vec![
                Span::styled("  remembered from ", theme::dim()),
                Span::raw(truncate(&quoted.join(", "), w.saturating_sub(18))),
            ]));
        }
        if let Some(a) = &self.analysis {
            let terms: Vec<String> = a
                .top_terms
                .iter()
                .take(6)
                .map(|(t, n)| format!("{t} {n}"))
                .collect();
            let text = format!("ranked by {} · top terms: {}", a.ranker, terms.join(", "));
            out.push(Line::styled(
                format!("  {}", truncate(&text, w)),
                theme::dim(),
            ));
        }
        out
    }
}

/// The numbered sources under an answer.
pub fn source_lines(sources: &[Source], width: usize) -> Vec<Line<'static>> {
    let mut out = vec![Line::styled("  Sources", theme::dim())];
    for s in sources {
        let url = s
            .url
            .as_deref()
            .map(|u| format!(" — {}", one_line(u)))
            .unwrap_or_default();
        let text = truncate(
            &format!("{}{url}", one_line(&s.title)),
            width.saturating_sub(8),
        );
        out.push(Line::from(vec![
            Span::styled(
                format!("  [{}] ", s.ordinal),
                super::markdown::citation_style(),
            ),
            Span::raw(text),
        ]));
    }
    out
}
