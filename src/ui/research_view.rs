//! What the transcript shows of a research turn: the queries, each source's
//! progress and outcome, the analysis, and an answer's cited sources.

use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};

use super::theme;
use super::wrap::truncate;
use crate::agent::research::pipeline::Analysis;
use crate::agent::research::{SourceKind, SourceOutcome, SourceStatus};
use crate::domain::Source;
use crate::text::sanitize::one_line;

/// Live state of one research turn's stages.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResearchProgress {
    pub keywords: Option<(Vec<String>, bool)>,
    /// Sources in the order they started; None while running.
    pub sources: Vec<(SourceKind, Option<SourceStatus>)>,
    pub analysis: Option<Analysis>,
    /// Titles of earlier sessions recalled into the context.
    pub memory: Vec<String>,
    /// A deep run's steps (plan, rounds, leads), the latest last.
    pub deep: Vec<String>,
    /// A deep run's research tree, as last published or stored.
    pub tree: Option<crate::domain::RunTree>,
    /// How the run ended (None while it goes, the tree open).
    pub ended: Option<crate::domain::RunStatus>,
    /// A finished run's tree drawn whole rather than as one line.
    pub expanded: bool,
    /// The turn was stopped (Esc) before it finished researching.
    pub stopped: bool,
    /// Once the answer is written: per source, how many of its passages
    /// the answer refers to.
    pub cited: Vec<(SourceKind, usize)>,
    /// Once the answer is checked: (supported, checked) claims.
    pub checked: Option<(usize, usize)>,
}

/// Deep-run steps kept on screen.
const DEEP_LINES: usize = 8;

impl ResearchProgress {
    pub fn started(&mut self, kind: SourceKind) {
        if !self.sources.iter().any(|(k, _)| *k == kind) {
            self.sources.push((kind, None));
        }
    }

    pub fn step(&mut self, text: String) {
        self.deep.push(text);
        if self.deep.len() > DEEP_LINES {
            self.deep.remove(0);
        }
    }

    /// The finished answer: count, per source, the passages it cites.
    pub fn answered(&mut self, answer: &str, sources: &[Source]) {
        let refs = crate::agent::research::answer::citations(answer);
        self.cited = self
            .sources
            .iter()
            .map(|(kind, _)| {
                let n = sources
                    .iter()
                    .filter(|s| s.kind == kind.key() && refs.contains(&s.ordinal))
                    .count();
                (*kind, n)
            })
            .collect();
    }

    pub fn done(&mut self, status: SourceStatus) {
        match self.sources.iter_mut().find(|(k, _)| *k == status.source) {
            Some(slot) => slot.1 = Some(status),
            None => self.sources.push((status.source, Some(status))),
        }
    }

    pub fn lines(&self, width: usize) -> Vec<Line<'static>> {
        let w = width.saturating_sub(2);
        if let Some(t) = &self.tree {
            let view = super::run_tree::View {
                expanded: self.expanded,
                ended: self.ended,
            };
            let mut out = super::run_tree::lines(t, view, width);
            if self.ended.is_none() {
                if let Some(s) = self.deep.last() {
                    out.push(Line::styled(
                        format!("    {}", truncate(&one_line(s), w.saturating_sub(4))),
                        theme::dim(),
                    ));
                }
                out.extend(self.source_status_lines(w));
            }
            return out;
        }
        let mut out = Vec::new();
        for s in &self.deep {
            out.push(Line::from(vec![
                Span::styled("  ◆ ", theme::key()),
                Span::styled(truncate(&one_line(s), w.saturating_sub(4)), theme::dim()),
            ]));
        }
        match &self.keywords {
            None if self.stopped => {
                out.push(Line::styled("  stopped before searching", theme::dim()))
            }
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
        out.extend(self.source_status_lines(w));
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
            let passages: usize = a.per_source.iter().map(|r| r.passages).sum();
            let read: usize = a.per_source.iter().map(|r| r.chars).sum();
            let how = match a.ranker.as_str() {
                "embeddings" => "by meaning",
                "hybrid" => "by words and meaning",
                _ => "by word match",
            };
            let mut text = format!("ranked {passages} passages ({}) {how}", chars(read));
            let (found, missing): (Vec<_>, Vec<_>) =
                a.question_terms.iter().partition(|(_, n)| *n > 0);
            if !found.is_empty() {
                let f: Vec<String> = found.iter().map(|(t, n)| format!("{t} {n}")).collect();
                text.push_str(&format!(" · found: {}", f.join(", ")));
            }
            if !missing.is_empty() {
                let m: Vec<&str> = missing.iter().map(|(t, _)| t.as_str()).collect();
                text.push_str(&format!(" · missing: {}", m.join(", ")));
            }
            out.push(Line::styled(
                format!("  {}", truncate(&text, w)),
                theme::dim(),
            ));
            if let Some((ok, n)) = self.checked.filter(|(_, n)| *n > 0) {
                out.push(Line::styled(
                    format!(
                        "  {}",
                        truncate(
                            &format!(
                                "claims held by their sources: {ok}/{n} ({:.0} %)",
                                100.0 * ok as f64 / n as f64
                            ),
                            w
                        )
                    ),
                    theme::dim(),
                ));
            }
            if let Some(s) = &a.standalone {
                out.push(Line::styled(
                    format!(
                        "  {}",
                        truncate(&format!("understood as: {}", one_line(s)), w)
                    ),
                    theme::dim(),
                ));
            }
        }
        out
    }

    /// One line per source: fetching, or what it read (and how much of
    /// it is cited once ranked), or why it failed.
    fn source_status_lines(&self, w: usize) -> Vec<Line<'static>> {
        let mut out = Vec::new();
        for (kind, status) in &self.sources {
            let (mark, style, detail) = match status {
                None => ("…", theme::dim(), "fetching".to_string()),
                Some(s) if s.outcome == SourceOutcome::Ok => {
                    // Once ranked: what was read, and how much of it is cited.
                    let report = self
                        .analysis
                        .as_ref()
                        .and_then(|a| a.per_source.iter().find(|r| r.source == *kind));
                    let detail = match report {
                        Some(r) => {
                            // "used" = given to the model; "cited" only once
                            // the answer exists and refers to them.
                            // What matters first (truncation cuts the tail).
                            let mut used = match r.relevance {
                                Some(_) => format!(" · {} used", r.used),
                                None => " · none used".to_string(),
                            };
                            if let Some(c) = self.cited.iter().find(|(k, _)| k == kind) {
                                used.push_str(&format!(", {} cited", c.1));
                            }
                            if let Some(m) = r.relevance {
                                used.push_str(&format!(" · best {m:.2}"));
                            }
                            format!(
                                "{}{used} · {} · {} · {} ms",
                                plural(r.documents, "doc"),
                                plural(r.passages, "passage"),
                                chars(r.chars),
                                s.ms
                            )
                        }
                        None => format!("{} in {} ms", plural(s.count, "doc"), s.ms),
                    };
                    ("✓", Style::new().fg(Color::Green), detail)
                }
                // A choice the user made, not a failure: said in grey.
                Some(s) if s.outcome == SourceOutcome::Withheld => (
                    "–",
                    theme::dim(),
                    s.error.clone().unwrap_or_else(|| "withheld".into()),
                ),
                Some(s) => (
                    "✗",
                    theme::error(),
                    format!(
                        "{} ({} ms)",
                        s.error
                            .clone()
                            .unwrap_or_else(|| s.outcome.as_str().to_string()),
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
        out
    }
}

fn plural(n: usize, what: &str) -> String {
    crate::text::plural(n as u64, what)
}

/// "830 chars", "12k chars", "1.2M chars".
fn chars(n: usize) -> String {
    match n {
        0..1000 => format!("{n} chars"),
        1000..1_000_000 => format!("{}k chars", n / 1000),
        _ => format!("{:.1}M chars", n as f64 / 1e6),
    }
}

/// The numbered sources under an answer, passages of one document
/// grouped under it: the document line (title — URL), then one line per
/// cited passage with its section.
pub fn source_lines(sources: &[Source], width: usize) -> Vec<Line<'static>> {
    let mut out = vec![Line::styled("  Sources", theme::dim())];
    for group in group_by_document(sources) {
        let first = group[0];
        let doc_url = first
            .url
            .as_deref()
            .map(|u| u.split('#').next().unwrap_or(u));
        let url = doc_url
            .map(|u| format!(" — {}", one_line(u)))
            .unwrap_or_default();
        let nums: String = group.iter().map(|s| format!("[{}]", s.ordinal)).collect();
        let sections = group.iter().any(|s| s.section.is_some());
        if !sections {
            // A document cited as a whole (or one unnamed part of it).
            out.push(Line::from(vec![
                Span::styled(format!("  {nums} "), super::markdown::citation_style()),
                Span::raw(truncate(
                    &format!("{}{url}", one_line(&first.title)),
                    width.saturating_sub(4 + nums.len()),
                )),
            ]));
            continue;
        }
        out.push(Line::from(vec![
            Span::raw("  "),
            Span::raw(truncate(
                &format!("{}{url}", one_line(&first.title)),
                width.saturating_sub(4),
            )),
        ]));
        for s in group {
            let section = s
                .section
                .as_deref()
                .map(one_line)
                .unwrap_or_else(|| "(introduction)".into());
            out.push(Line::from(vec![
                Span::styled(
                    format!("    [{}] ", s.ordinal),
                    super::markdown::citation_style(),
                ),
                Span::styled(
                    truncate(&format!("§ {section}"), width.saturating_sub(12)),
                    theme::dim(),
                ),
            ]));
        }
    }
    out
}

/// Sources grouped by document (kind and title), groups in order of their
/// first citation.
pub fn group_by_document(sources: &[Source]) -> Vec<Vec<&Source>> {
    let mut groups: Vec<Vec<&Source>> = Vec::new();
    for s in sources {
        match groups
            .iter_mut()
            .find(|g| g[0].kind == s.kind && g[0].title == s.title)
        {
            Some(g) => g.push(s),
            None => groups.push(vec![s]),
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_analysis_says_how_many_claims_their_sources_hold() {
        let p = ResearchProgress {
            analysis: Some(Analysis::default()),
            checked: Some((7, 9)),
            ..Default::default()
        };
        let text: String = p
            .lines(100)
            .iter()
            .map(|l| {
                l.spans
                    .iter()
                    .map(|s| s.content.as_ref())
                    .collect::<String>()
                    + "\n"
            })
            .collect();
        assert!(
            text.contains("claims held by their sources: 7/9 (78 %)"),
            "{text}"
        );
    }
}
