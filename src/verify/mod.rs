//! The claim check (issue 22): after an answer or a report is complete,
//! each claim is compared with every passage it cites. The default judge
//! needs no model: the claim's hard facts (numbers, proper names) must be
//! in the passage's supporting sentences, and its content words are
//! counted there; the best one or two sentences are the span shown to the
//! reader. Pure CPU and bounded: at most [`MAX_CLAIMS`] claims are checked,
//! the rest are `unchecked`.

pub mod claims;
pub mod facts;
pub mod settings;

use crate::domain::Source;
pub use crate::domain::claims::{Claim, ClaimCheck, Span, Verdict};
use facts::{Facts, Reader};

/// Claims checked per answer; past it they are `unchecked`.
pub const MAX_CLAIMS: usize = 400;
/// Sentences of one passage looked at (a passage is ~1,000 characters).
const MAX_PASSAGE_SENTENCES: usize = 64;
/// Share of a claim's content words a span must hold.
const SUPPORTED: f64 = 0.6;
const PARTIAL: f64 = 0.34;
/// How much more of a claim a two-sentence window must hold than the best
/// single sentence to be its span.
const MERGE_GAIN: f64 = 0.25;
/// Windows this close to the best one's coverage may be the span.
const ANCHOR_SLACK: f64 = 0.15;

/// A passage read into sentences and their facts.
struct Passage {
    cite: i64,
    text: String,
    sentences: Vec<(usize, usize, Facts)>,
}

fn read_passage(r: &Reader, s: &Source) -> Passage {
    let text = s.excerpt.clone();
    let mut sentences = Vec::new();
    let mut start = 0;
    let mut bounds = claims::sentence_ends(&text);
    bounds.push(text.len());
    for end in bounds {
        if end > start && text[start..end].chars().any(char::is_alphanumeric) {
            sentences.push((start, end, r.read(&text[start..end])));
        }
        start = end;
        if sentences.len() == MAX_PASSAGE_SENTENCES {
            break;
        }
    }
    Passage {
        cite: s.ordinal,
        text,
        sentences,
    }
}

/// How one window of sentences holds a claim.
struct Fit {
    verdict: Verdict,
    missing: Vec<String>,
    span: Option<Span>,
}

/// The best window of one to `longest` consecutive sentences of one of
/// the cited passages for the claim.
fn fit(claim: &Facts, passages: &[&Passage], longest: usize) -> Fit {
    struct Best {
        missing: Vec<String>,
        coverage: f64,
        len: usize,
        span: Span,
    }
    let mut all: Vec<Best> = Vec::new();
    for p in passages {
        let n = p.sentences.len();
        for i in 0..n {
            for len in 1..=longest.min(n - i) {
                let window = &p.sentences[i..i + len];
                let has = |x: &String, pick: fn(&Facts) -> &Vec<String>| {
                    window.iter().any(|(_, _, f)| pick(f).contains(x))
                };
                let missing: Vec<String> = claim
                    .numbers
                    .iter()
                    .filter(|x| !has(x, |f| &f.numbers))
                    .chain(
                        claim
                            .names
                            .iter()
                            .filter(|x| !has(x, |f| &f.words) && !has(x, |f| &f.names)),
                    )
                    .cloned()
                    .collect();
                let found = claim.words.iter().filter(|w| has(w, |f| &f.words)).count();
                let coverage = if claim.words.is_empty() {
                    1.0
                } else {
                    found as f64 / claim.words.len() as f64
                };
                let (s, e) = (window[0].0, window[len - 1].1);
                all.push(Best {
                    missing,
                    coverage,
                    len,
                    span: Span {
                        cite: p.cite,
                        start: s,
                        end: e,
                        text: p.text[s..e].trim().to_string(),
                    },
                });
            }
        }
    }
    // A claim is one sentence's: a wider window counts only when it holds
    // clearly more of the claim's words than any one sentence (a claim
    // that joins two sentences), or the claim quotes several. Otherwise a
    // changed number would be "found" in the sentence next door.
    let single = all
        .iter()
        .filter(|b| b.len == 1)
        .map(|b| b.coverage)
        .fold(0.0, f64::max);
    let eligible: Vec<Best> = all
        .into_iter()
        .filter(|b| b.len == 1 || longest > 2 || b.coverage >= single + MERGE_GAIN)
        .collect();
    // The span is the sentence that says most of the claim (or one nearly
    // as close): its facts must be there. Facts found in some other
    // sentence that says little else of it do not make the claim true.
    let top = eligible.iter().map(|b| b.coverage).fold(0.0, f64::max);
    let best = eligible
        .into_iter()
        .filter(|b| b.coverage >= top - ANCHOR_SLACK)
        .min_by(|a, b| {
            a.missing
                .len()
                .cmp(&b.missing.len())
                .then(b.coverage.total_cmp(&a.coverage))
                .then(a.len.cmp(&b.len))
        });
    let Some(Best {
        missing,
        coverage,
        span,
        ..
    }) = best
    else {
        return Fit {
            verdict: Verdict::Unsupported,
            missing: Vec::new(),
            span: None,
        };
    };
    let verdict = if !missing.is_empty() {
        Verdict::Unsupported
    } else if coverage >= SUPPORTED {
        Verdict::Supported
    } else if coverage >= PARTIAL {
        Verdict::Partial
    } else {
        Verdict::Unsupported
    };
    Fit {
        verdict,
        missing,
        span: Some(span),
    }
}

/// A quotation claims exactly its quoted words: only they are checked
/// (an extractive answer quotes its passages, then names their section).
fn asserted(text: &str) -> &str {
    match (text.find('“'), text.rfind('”')) {
        (Some(a), Some(b)) if b > a => &text[a + '“'.len_utf8()..b],
        _ => text,
    }
}

/// Checks every claim of `answer` against the `sources` it cites.
pub fn check(answer: &str, sources: &[Source]) -> ClaimCheck {
    let max = sources.iter().map(|s| s.ordinal).max().unwrap_or(0).max(0) as usize;
    let (written, dangling) = claims::split(answer, max);
    let reader = Reader::default();
    let mut passages: Vec<Option<Passage>> = Vec::new();
    let mut out = ClaimCheck {
        dangling,
        ..ClaimCheck::default()
    };
    for w in written {
        let facts = reader.read(asserted(&w.text));
        let states_facts = !facts.numbers.is_empty() || !facts.names.is_empty();
        if w.aside || (w.cites.is_empty() && (!states_facts || facts.words.is_empty())) {
            // A note, a title, or a sentence that asserts nothing checkable.
            continue;
        }
        let mut claim = Claim {
            text: w.text,
            cites: w.cites,
            verdict: Verdict::Uncited,
            span: None,
            judge: "facts".into(),
            missing: Vec::new(),
            marks: w.marks,
        };
        if out.claims.len() >= MAX_CLAIMS {
            claim.verdict = Verdict::Unchecked;
        } else if !claim.cites.is_empty() {
            // Each passage is read once, when a claim first cites it.
            passages.resize_with(sources.len(), || None);
            let idx: Vec<usize> = claim
                .cites
                .iter()
                .filter_map(|&c| sources.iter().position(|s| s.ordinal == c))
                .collect();
            for &i in &idx {
                if passages[i].is_none() {
                    passages[i] = Some(read_passage(&reader, &sources[i]));
                }
            }
            let cited: Vec<&Passage> = idx.iter().filter_map(|&i| passages[i].as_ref()).collect();
            // A quotation of several sentences is looked for whole; one
            // with an ellipsis ("A … B") piece by piece, and each piece
            // must hold (the worst decides).
            let said = asserted(&claim.text);
            let mut first_span = None;
            let mut worst: Option<Fit> = None;
            for piece in said.split('…').map(str::trim).filter(|p| !p.is_empty()) {
                let piece_facts = if piece.len() == said.trim().len() {
                    facts.clone()
                } else {
                    reader.read(piece)
                };
                let longest = (claims::sentence_ends(piece).len() + 1).clamp(2, 6);
                let f = fit(&piece_facts, &cited, longest);
                if first_span.is_none() {
                    first_span = f.span.clone();
                }
                if worst
                    .as_ref()
                    .is_none_or(|w| f.verdict.rank() < w.verdict.rank())
                {
                    worst = Some(f);
                }
            }
            if let Some(f) = worst {
                claim.verdict = f.verdict;
                claim.missing = f.missing;
                claim.span = first_span.filter(|_| f.verdict.rank() >= Verdict::Partial.rank());
            }
        }
        match claim.verdict {
            Verdict::Supported => out.supported += 1,
            Verdict::Partial => out.partial += 1,
            Verdict::Unsupported => out.unsupported += 1,
            Verdict::Uncited => out.uncited += 1,
            Verdict::Unchecked => out.unchecked += 1,
        }
        out.claims.push(claim);
    }
    out
}

#[cfg(test)]
mod tests;
