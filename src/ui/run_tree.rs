//! A deep run's research tree in the transcript: plan → rounds → queries
//! → documents (read or cited), the budgets used, and why it stopped.
//! Collapsed to one line once the run is over (F4 opens every tree).

use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};

use super::theme;
use super::wrap::truncate;
use crate::domain::{DocState, RunStatus, RunTree};
use crate::text::sanitize::one_line;

/// Documents listed per round before "… and N more".
const DOCS_PER_ROUND: usize = 12;

/// How a tree is drawn: live (open, the round in progress marked),
/// or from a finished or stored run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct View {
    pub expanded: bool,
    /// None while the run is going.
    pub ended: Option<RunStatus>,
}

fn quoted(v: &[String]) -> String {
    v.iter()
        .map(|q| format!("“{}”", one_line(q)))
        .collect::<Vec<_>>()
        .join(" · ")
}

fn cited(t: &RunTree) -> usize {
    t.rounds
        .iter()
        .flat_map(|r| &r.documents)
        .filter(|d| d.state == DocState::Cited)
        .count()
}

/// "round 2/3 · 14/40 docs · 23/180 s · 1.2k/60k tokens".
fn budget_line(t: &RunTree) -> String {
    let b = &t.budget;
    // The round in progress counts: "round 1/3" while it searches.
    let round = match t.rounds.len().max(b.rounds) {
        0 => format!("planning · 0/{} rounds", b.max_rounds),
        n => format!("round {n}/{}", b.max_rounds),
    };
    let mut s = format!(
        "{round} · {}/{} docs · {}/{} s",
        b.documents, b.max_documents, b.secs, b.max_secs
    );
    if b.tokens > 0 {
        s.push_str(&format!(
            " · {}/{} tokens",
            thousands(b.tokens),
            thousands(b.max_tokens)
        ));
    }
    s
}

fn thousands(n: u64) -> String {
    if n >= 1000 {
        format!("{:.1}k", n as f64 / 1000.0)
    } else {
        n.to_string()
    }
}

/// The one line a closed tree shows.
fn summary(t: &RunTree, view: View) -> String {
    let docs: usize = t.rounds.iter().map(|r| r.documents.len()).sum();
    let mut s = format!(
        "deep run · {} round{} · {docs} documents · {} cited",
        t.rounds.iter().filter(|r| r.done).count(),
        if t.rounds.len() == 1 { "" } else { "s" },
        cited(t)
    );
    if let Some(why) = &t.stopped {
        s.push_str(&format!(" · stopped: {}", one_line(why)));
    }
    if view.ended.is_some_and(|e| e != RunStatus::Complete) {
        s.push_str(" · unfinished: /resume continues it");
    }
    s
}

pub fn lines(t: &RunTree, view: View, width: usize) -> Vec<Line<'static>> {
    let w = width.saturating_sub(4).max(8);
    let mut out = Vec::new();
    let head = if view.ended.is_some() {
        summary(t, view)
    } else {
        format!("deep run · {}", budget_line(t))
    };
    let toggle = if view.ended.is_none() {
        ""
    } else if view.expanded {
        "  (F4 closes)"
    } else {
        "  (F4 opens)"
    };
    out.push(Line::from(vec![
        Span::styled("  ◆ ", theme::key()),
        Span::raw(truncate(&head, w.saturating_sub(2 + toggle.len()))),
        Span::styled(toggle, theme::dim()),
    ]));
    if view.ended.is_some() && !view.expanded {
        return out;
    }
    if view.ended.is_some() {
        out.push(dim(&format!("    {}", budget_line(t)), w));
    }
    let how = if t.plan_from_model {
        "plan"
    } else {
        "plan (from the question)"
    };
    out.push(dim(&format!("    {how}"), w));
    for (i, q) in t.plan.iter().enumerate() {
        let branch = if i + 1 == t.plan.len() { "└" } else { "├" };
        out.push(Line::raw(truncate(
            &format!("      {branch} {}", one_line(q)),
            w,
        )));
    }
    for (i, r) in t.rounds.iter().enumerate() {
        let (mark, style) = if r.done {
            ("✓", Style::new().fg(Color::Green))
        } else {
            ("…", theme::dim())
        };
        let verb = if r.done { "" } else { "searching " };
        out.push(Line::from(vec![
            Span::styled(format!("    {mark} "), style),
            Span::raw(truncate(
                &format!("round {} · {verb}{}", i + 1, quoted(&r.queries)),
                w.saturating_sub(6),
            )),
        ]));
        for d in r.documents.iter().take(DOCS_PER_ROUND) {
            let (m, st, tag) = match d.state {
                DocState::Cited => ("●", theme::key(), "cited"),
                DocState::Read => ("○", theme::dim(), "read"),
            };
            out.push(Line::from(vec![
                Span::styled(format!("      {m} "), st),
                Span::raw(truncate(&one_line(&d.title), w.saturating_sub(16))),
                Span::styled(format!("  {tag}"), theme::dim()),
            ]));
        }
        if r.documents.len() > DOCS_PER_ROUND {
            out.push(dim(
                &format!("      … and {} more", r.documents.len() - DOCS_PER_ROUND),
                w,
            ));
        }
        for f in &r.failed {
            out.push(Line::styled(
                truncate(&format!("      ✗ {}", one_line(f)), w),
                theme::error(),
            ));
        }
        if !r.leads.is_empty() {
            out.push(dim(&format!("      → leads: {}", quoted(&r.leads)), w));
        }
    }
    if let Some(why) = &t.stopped
        && view.ended.is_none()
    {
        out.push(dim(
            &format!("    writing the report · stopped: {}", one_line(why)),
            w,
        ));
    }
    out
}

fn dim(s: &str, w: usize) -> Line<'static> {
    Line::styled(truncate(s, w), theme::dim())
}
