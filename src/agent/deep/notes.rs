//! Evidence kept during a deep run: each sub-question's best passages
//! (notes), and the sources the report cites from them.

use super::leads;
use super::plan::SubQuestion;
use super::report;
use crate::agent::research::{Passage, answer, rank};
use crate::config::Config;
use crate::domain::{Source, now_ms};

/// A passage kept as evidence for one sub-question.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Note {
    pub heading: String,
    pub passages: Vec<(Passage, f64)>,
    /// The first passage is from the article titled as the query: the
    /// article about something the question names.
    pub own_article: bool,
}

/// Passages kept per sub-question in a round.
const NOTES_PER_QUESTION: usize = 2;
/// Score factor of a passage whose document is titled as the query.
const TITLE_MATCH: f64 = 3.0;
/// For each sub-question, its best passages among `ps` (ranked by the
/// sub-question's query and words with the question's).
pub fn notes_for(question: &str, subs: &[SubQuestion], ps: &[Passage]) -> Vec<Note> {
    let texts: Vec<String> = ps
        .iter()
        .map(|p| format!("{}\n{}", p.title, p.text))
        .collect();
    subs.iter()
        .map(|s| {
            // The query first and twice: its words are what this note is for.
            let q = format!("{} {} {}", s.query, s.query, s.question);
            let mut scores = rank::bm25(&q, &texts);
            // The article about the thing searched for is its best evidence.
            let wanted = leads::norm(&s.query);
            for (i, p) in ps.iter().enumerate() {
                if leads::norm(&p.title) == wanted {
                    scores[i] *= TITLE_MATCH;
                }
            }
            let mut best: Vec<(Passage, f64)> = Vec::new();
            for i in rank::order(&scores) {
                if best.len() == NOTES_PER_QUESTION || scores[i] <= 0.0 {
                    break;
                }
                // One passage per document per note.
                if best.iter().any(|(p, _)| p.doc == ps[i].doc) {
                    continue;
                }
                best.push((ps[i].clone(), scores[i]));
            }
            let _ = question;
            let own_article = best
                .first()
                .is_some_and(|(p, _)| leads::norm(&p.title) == wanted);
            Note {
                heading: s.question.clone(),
                passages: best,
                own_article,
            }
        })
        .collect()
}

/// Sources for the report: the best passages for the question, then each
/// note's, without repeats, within the budget.
pub fn cite(
    question: &str,
    all: &[Passage],
    notes: &[Note],
    cfg: &Config,
) -> (Vec<Source>, Vec<report::Section>) {
    let budget = cfg.deep.context_chars.max(500);
    let max = cfg.deep.max_cited.max(2);
    let texts: Vec<String> = all
        .iter()
        .map(|p| format!("{}\n{}", p.title, p.text))
        .collect();
    let scores = rank::bm25(question, &texts);
    let best_max = scores
        .iter()
        .copied()
        .fold(0.0f64, f64::max)
        .max(f64::MIN_POSITIVE);
    // Breadth first: the best passage of each of the best documents.
    let mut chosen: Vec<(Passage, f64)> = Vec::new();
    let mut used = 0usize;
    let mut docs_taken: Vec<usize> = Vec::new();
    for i in rank::order(&scores) {
        if chosen.len() >= max / 2 || scores[i] <= 0.0 || used >= budget / 2 {
            break;
        }
        if docs_taken.contains(&all[i].doc) {
            continue;
        }
        docs_taken.push(all[i].doc);
        used += all[i].text.len();
        chosen.push((all[i].clone(), scores[i] / best_max));
    }
    let mut sections = vec![report::Section {
        heading: question.to_string(),
        sources: (1..=chosen.len() as i64).collect(),
    }];
    for n in notes {
        let mut nums = Vec::new();
        for (p, _) in &n.passages {
            if let Some(pos) = chosen
                .iter()
                .position(|(c, _)| c.text == p.text && c.title == p.title)
            {
                nums.push(pos as i64 + 1);
                continue;
            }
            if chosen.len() >= max || used + p.text.len() > budget {
                continue;
            }
            used += p.text.len();
            let idx = all
                .iter()
                .position(|a| a.text == p.text && a.title == p.title);
            let rel = idx.map(|i| scores[i] / best_max).unwrap_or(0.0);
            chosen.push((p.clone(), rel));
            nums.push(chosen.len() as i64);
        }
        if !nums.is_empty() {
            nums.dedup();
            sections.push(report::Section {
                heading: n.heading.clone(),
                sources: nums,
            });
        }
    }
    let fetched_at = now_ms();
    let sources = chosen
        .into_iter()
        .enumerate()
        .map(|(i, (p, rel))| Source {
            ordinal: i as i64 + 1,
            kind: p.kind.key().into_owned(),
            title: crate::text::sanitize::one_line(&p.title),
            url: p.url.clone(),
            excerpt: answer::shorten(&p.text, 3000),
            relevance: Some((rel.clamp(0.0, 1.0) * 1000.0).round() / 1000.0),
            fetched_at,
            section: p.section.as_deref().map(crate::text::sanitize::one_line),
            meta: (*p.meta).clone(),
        })
        .collect();
    (sources, sections)
}
