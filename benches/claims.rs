//! Claim-check quality (issue 22). For each answerable SQuAD question of
//! `../shared/fixtures/squad/`, claims with known labels are written by a
//! scripted model (OpenAI-compatible wire, loopback) citing the numbers
//! the real research turn gave it (a loopback Wikipedia serves the
//! articles):
//! - supported: the sentence of the cited passage holding the answer, and
//!   two light paraphrases of it (parentheticals dropped; "In short, …"),
//!   plus sentences of the other cited passages, each citing its own;
//! - swapped fact: the answer sentence with the answer replaced by another
//!   question's answer of the same kind (a number for a number, a name for
//!   a name);
//! - misattributed: a sentence of another article cited against the
//!   answer's passage.
//!
//! The verdicts come back in the turn's outcome (what `--json` prints).
//! Figures: the share of swapped-fact and of misattributed claims flagged
//! unsupported, the share of supported claims flagged (false alarms), and
//! the check's time per answer. Budget: ≥ 90 % flagged, ≤ 5 % false
//! alarms, ≤ 20 ms per answer of ~10 claims.
//!
//! `cargo bench --bench claims`; other data in SQuAD's format:
//! `SLEUTH_SQUAD=path.json`; `SLEUTH_BENCH_LIMIT=N` questions;
//! `SLEUTH_BENCH_DEBUG=1` prints every miss.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)] // bench code: a panic is the failure report

#[path = "common/model.rs"]
mod model;
#[path = "common/turn.rs"]
mod turn;
#[path = "../tests/common/wiki.rs"]
mod wiki;

use std::collections::HashMap;
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use serde_json::Value;
use sleuth::config::{Config, ProviderKind};
use sleuth::domain::TurnId;
use sleuth::domain::claims::Verdict;
use sleuth::emit::Emitter;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Label {
    Supported,
    Swapped,
    Misattributed,
}

struct Question {
    article: usize,
    question: String,
    context: String,
    answer: String,
    start: usize,
}

/// Articles (title, paragraphs) and the answerable questions with their
/// paragraph and the first answer's offset.
fn load(path: &str) -> (Vec<(String, Vec<String>)>, Vec<Question>) {
    let raw = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let v: Value = serde_json::from_slice(&raw).unwrap();
    let mut arts = Vec::new();
    let mut qs = Vec::new();
    for (ai, a) in v["data"].as_array().unwrap().iter().enumerate() {
        let mut paras = Vec::new();
        for p in a["paragraphs"].as_array().unwrap() {
            let context = p["context"].as_str().unwrap().to_string();
            for qa in p["qas"].as_array().unwrap() {
                if qa["is_impossible"].as_bool().unwrap_or(false) {
                    continue;
                }
                let first = &qa["answers"][0];
                qs.push(Question {
                    article: ai,
                    question: qa["question"].as_str().unwrap().to_string(),
                    context: context.clone(),
                    answer: first["text"].as_str().unwrap().to_string(),
                    start: first["answer_start"].as_u64().unwrap() as usize,
                });
            }
            paras.push(context.trim().to_string());
        }
        arts.push((a["title"].as_str().unwrap().replace('_', " "), paras));
    }
    (arts, qs)
}

/// The sentence of `context` around byte `at`.
fn sentence_at(context: &str, at: usize) -> Option<String> {
    let mut start = 0;
    for s in sleuth::agent::research::passages::sentences(context) {
        let i = context[start..].find(s)? + start;
        if (i..=i + s.len()).contains(&at) {
            return Some(s.to_string());
        }
        start = i + s.len();
    }
    None
}

fn kind(answer: &str) -> Option<&'static str> {
    let a = answer.trim();
    if a.chars().any(|c| c.is_ascii_digit()) {
        Some("number")
    } else if a.chars().next().is_some_and(char::is_uppercase) && a.split_whitespace().count() <= 4
    {
        Some("name")
    } else {
        None
    }
}

/// A claim as the model writes it: no final stop (the mark goes before it).
fn claim_text(s: &str) -> String {
    s.trim()
        .trim_end_matches(['.', '!', '?', ';', ':'])
        .to_string()
}

fn paraphrases(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut no_paren = String::new();
    let mut depth = 0;
    for c in s.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = std::cmp::max(depth - 1, 0),
            _ if depth == 0 => no_paren.push(c),
            _ => {}
        }
    }
    let no_paren = no_paren.split_whitespace().collect::<Vec<_>>().join(" ");
    if no_paren != s {
        out.push(no_paren);
    }
    let mut cs = s.chars();
    if let Some(f) = cs.next() {
        // Lowercasing a name would hide it: only a common first word.
        let rest: String = cs.collect();
        let first_word = s.split_whitespace().next().unwrap_or("");
        let lower = matches!(
            first_word,
            "The" | "A" | "An" | "In" | "It" | "This" | "These"
        );
        let f = if lower {
            f.to_lowercase().collect::<String>()
        } else {
            f.to_string()
        };
        out.push(format!("In short, {f}{rest}"));
    }
    out
}

/// What the scripted model writes for one question: claims, each with its
/// label and the passage it cites.
struct Plan {
    claims: Vec<(Label, String, String)>, // label, text, the passage sentence it cites
}

fn plan(q: &Question, qs: &[Question], arts: &[(String, Vec<String>)], i: usize) -> Option<Plan> {
    let gold = sentence_at(&q.context, q.start)?;
    let mut claims = vec![(Label::Supported, claim_text(&gold), gold.clone())];
    for p in paraphrases(&gold) {
        claims.push((Label::Supported, claim_text(&p), gold.clone()));
    }
    if let Some(k) = kind(&q.answer) {
        // The next question of the same article with an answer of the same
        // kind that this sentence does not already hold.
        let other = (1..qs.len()).map(|d| &qs[(i + d) % qs.len()]).find(|o| {
            o.article == q.article
                && kind(&o.answer) == Some(k)
                && wiki::normalize(&o.answer) != wiki::normalize(&q.answer)
                && !wiki::normalize(&gold).contains(&wiki::normalize(&o.answer))
        });
        if let Some(o) = other
            && gold.contains(&q.answer)
        {
            let swapped = gold.replacen(&q.answer, &o.answer, 1);
            claims.push((Label::Swapped, claim_text(&swapped), gold.clone()));
        }
    }
    // A sentence of another article, long enough to look like a claim.
    let others: Vec<&String> = arts
        .iter()
        .enumerate()
        .filter(|(a, _)| *a != q.article)
        .flat_map(|(_, (_, ps))| ps)
        .collect();
    if !others.is_empty() {
        let para = others[i * 7 % others.len()];
        let sents = sleuth::agent::research::passages::sentences(para);
        if let Some(s) = sents
            .iter()
            .cycle()
            .skip(i % sents.len().max(1))
            .take(sents.len())
            .find(|s| s.split_whitespace().count() >= 8)
        {
            claims.push((Label::Misattributed, claim_text(s), gold.clone()));
        }
    }
    Some(Plan { claims })
}

#[derive(Default)]
struct Tally {
    by_label: HashMap<Label, (usize, usize, usize)>, // total, unsupported, partial
    lost: usize,
    skipped: usize,
}

fn main() {
    let path = std::env::var("SLEUTH_SQUAD").unwrap_or_else(|_| {
        format!(
            "{}/../shared/fixtures/squad/squad-v2-dev-2articles.json",
            env!("CARGO_MANIFEST_DIR")
        )
    });
    let (arts, qs) = load(&path);
    let limit: usize = std::env::var("SLEUTH_BENCH_LIMIT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(usize::MAX);
    let debug = std::env::var_os("SLEUTH_BENCH_DEBUG").is_some();
    let articles: Vec<wiki::Article> = arts
        .iter()
        .map(|(t, ps)| wiki::Article {
            title: t.clone(),
            text: ps.join("\n"),
        })
        .collect();
    let server = wiki::Wiki::start(articles, false, 3600);
    let model = model::Model::start(3600);
    let mut cfg = Config::default();
    cfg.provider.kind = ProviderKind::Openai;
    cfg.provider.base_url = model.base_url();
    cfg.provider.model = "bench".into();
    cfg.sources.wikipedia.base_url = server.url();
    cfg.sources.hackernews.enabled = false;
    cfg.sources.arxiv.enabled = false;
    let (tx, rx) = mpsc::channel();
    let agent = sleuth::agent::spawn_agent(cfg, Emitter::channel(tx)).expect("agent");
    let mut t = Tally::default();
    let mut check_ms = Vec::new();
    let mut claims_per_answer = Vec::new();
    let n = qs.len().min(limit);
    println!("{} articles, {n} answerable questions ({path})", arts.len());
    for (i, q) in qs.iter().enumerate().take(n) {
        let Some(p) = plan(q, &qs, &arts, i) else {
            t.skipped += 1;
            continue;
        };
        let written = Arc::new(std::sync::Mutex::new(Vec::<(Label, String)>::new()));
        let (w, claims) = (Arc::clone(&written), p.claims.clone());
        model.script(move |prompt| {
            let ps = model::passages(prompt);
            let find = |s: &str| ps.iter().find(|(_, e)| e.contains(s)).map(|(n, _)| *n);
            let mut out = Vec::new();
            let mut labels = Vec::new();
            let Some(gold_n) = claims.first().and_then(|(_, _, g)| find(g)) else {
                return "The sources do not say.".into();
            };
            for (label, text, _) in &claims {
                out.push(format!("{text} [{gold_n}]."));
                labels.push((*label, text.clone()));
            }
            // Other passages' own sentences, each citing its passage.
            for (n, e) in ps.iter().filter(|(n, _)| *n != gold_n).take(6) {
                if let Some(s) = sleuth::agent::research::passages::sentences(e)
                    .into_iter()
                    .find(|s| s.split_whitespace().count() >= 6)
                {
                    let text = claim_text(s);
                    out.push(format!("{text} [{n}]."));
                    labels.push((Label::Supported, text));
                }
            }
            if let Ok(mut w) = w.lock() {
                *w = labels;
            }
            out.join(" ")
        });
        let id = TurnId(i as u64 + 1);
        let outcome = turn::run(
            &agent.handle(),
            &rx,
            id,
            turn::research(id, &q.question),
            Duration::from_secs(30),
        );
        let labels = written.lock().unwrap().clone();
        if labels.is_empty() {
            // The answer's passage was not cited: nothing to check.
            t.skipped += 1;
            continue;
        }
        let Some(check) = outcome.claims.as_deref() else {
            t.lost += labels.len();
            continue;
        };
        let started = Instant::now();
        let again = sleuth::verify::check(&outcome.answer, &outcome.sources);
        check_ms.push(started.elapsed().as_secs_f64() * 1e3);
        assert_eq!(&again, check, "the check is deterministic");
        claims_per_answer.push(check.claims.len());
        // Each written claim is matched to the checked claim with its exact
        // text (a swapped claim shares all but a word with its original).
        let mut pool: Vec<&sleuth::domain::claims::Claim> = check.claims.iter().collect();
        // Compared as letters and digits only; a claim the check cut in
        // two (a quotation's full stop) is matched by its first part.
        let squash = |s: &str| -> String { s.chars().filter(|c| c.is_alphanumeric()).collect() };
        for (label, text) in labels {
            let want = squash(&text);
            let at = pool
                .iter()
                .position(|c| squash(&c.text) == want)
                .or_else(|| pool.iter().position(|c| want.starts_with(&squash(&c.text))));
            let Some(c) = at.map(|i| pool.remove(i)) else {
                t.lost += 1;
                if debug {
                    eprintln!("lost: {text}");
                }
                continue;
            };
            let e = t.by_label.entry(label).or_default();
            e.0 += 1;
            match c.verdict {
                Verdict::Unsupported => e.1 += 1,
                Verdict::Partial => e.2 += 1,
                _ => {}
            }
            let flagged = c.verdict == Verdict::Unsupported;
            if debug && (flagged == (label == Label::Supported)) {
                eprintln!("{label:?} → {:?}: {} {:?}", c.verdict, c.text, c.missing);
            }
        }
    }
    agent.shutdown();
    let share = |l: Label, which: usize| {
        let (total, un, part) = t.by_label.get(&l).copied().unwrap_or_default();
        let k = if which == 0 { un } else { part };
        (k, total, 100.0 * k as f64 / total.max(1) as f64)
    };
    for (l, name) in [
        (Label::Swapped, "swapped fact"),
        (Label::Misattributed, "misattributed"),
        (Label::Supported, "supported"),
    ] {
        let (u, total, pu) = share(l, 0);
        let (p, _, pp) = share(l, 1);
        println!(
            "{name:<14} {total:>4} claims · unsupported {u} ({pu:.1} %) · partial {p} ({pp:.1} %)"
        );
    }
    let (_, _, false_alarms) = share(Label::Supported, 0);
    check_ms.sort_by(f64::total_cmp);
    let pct = |p: f64| check_ms[((check_ms.len() - 1) as f64 * p) as usize];
    let mean_claims =
        claims_per_answer.iter().sum::<usize>() as f64 / claims_per_answer.len().max(1) as f64;
    println!(
        "check time per answer ({mean_claims:.1} claims on average): median {:.2} ms · p95 {:.2} ms · max {:.2} ms",
        pct(0.5),
        pct(0.95),
        pct(1.0)
    );
    println!(
        "questions skipped (answer passage not cited or no sentence): {} · claims not found in the check: {}",
        t.skipped, t.lost
    );
    let (_, _, swapped) = share(Label::Swapped, 0);
    let (_, _, misattributed) = share(Label::Misattributed, 0);
    let ok = swapped >= 90.0 && misattributed >= 90.0 && false_alarms <= 5.0 && pct(0.95) <= 20.0;
    println!(
        "budget (≥ 90 % flagged, ≤ 5 % false alarms, ≤ 20 ms): {}",
        if ok { "met" } else { "NOT met" }
    );
}
