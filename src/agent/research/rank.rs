//! Ranking a turn's passages against the standalone question: BM25 with
//! statistics over the turn's passages (English stems, so "farms" finds
//! "farm"), cosine over provider embeddings when configured, fused by
//! reciprocal rank; then a diverse, best-first selection that fills a
//! context budget in characters. Pure CPU: callers run it on
//! `spawn_blocking`.

use std::collections::HashMap;

use rust_stemmers::{Algorithm, Stemmer};

use super::Passage;
use super::keywords::STOPWORDS;

/// Lowercase word tokens without stopwords (not stemmed).
pub fn tokens(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .filter(|w| w.chars().count() > 1 && !STOPWORDS.contains(&w.as_str()))
        .collect()
}

/// Calls `f` with each lowercase word of `text` (stopwords included), using
/// one buffer instead of a String per word.
fn each_word(text: &str, mut f: impl FnMut(&str)) {
    let mut buf = String::new();
    for w in text.split(|c: char| !c.is_alphanumeric()) {
        if w.is_empty() {
            continue;
        }
        buf.clear();
        if w.is_ascii() {
            buf.push_str(w);
            buf.make_ascii_lowercase();
        } else {
            buf.extend(w.chars().flat_map(char::to_lowercase));
        }
        f(&buf);
    }
}

/// Stems words, remembering each word's stem: a turn's passages repeat
/// the same few thousand words, and stemming is the costly part.
struct Stems {
    stemmer: Stemmer,
    memo: HashMap<String, Option<u32>>,
    /// Query stems → term id.
    terms: HashMap<String, u32>,
}

impl Stems {
    fn new() -> Self {
        Self {
            stemmer: Stemmer::create(Algorithm::English),
            memo: HashMap::new(),
            terms: HashMap::new(),
        }
    }

    fn stem<'a>(&self, w: &'a str) -> std::borrow::Cow<'a, str> {
        // Snowball is for English words; leave numbers and other scripts.
        if w.bytes().all(|b| b.is_ascii_lowercase()) {
            self.stemmer.stem(w)
        } else {
            std::borrow::Cow::Borrowed(w)
        }
    }

    /// The query term id of a word of a passage, if it is one.
    fn term_of(&mut self, w: &str) -> Option<u32> {
        if let Some(t) = self.memo.get(w) {
            return *t;
        }
        let t = self.terms.get(self.stem(w).as_ref()).copied();
        self.memo.insert(w.to_string(), t);
        t
    }
}

/// Okapi BM25 scores of each document for the query (k1 = 1.2, b = 0.75),
/// with document frequencies over `docs`. Query words are stemmed, repeats
/// count once, stopwords and one-letter words are ignored.
pub fn bm25(query: &str, docs: &[String]) -> Vec<f64> {
    let mut stems = Stems::new();
    for w in tokens(query) {
        let s = stems.stem(&w).into_owned();
        let next = stems.terms.len() as u32;
        stems.terms.entry(s).or_insert(next);
    }
    let nq = stems.terms.len();
    if docs.is_empty() {
        return vec![];
    }
    if nq == 0 {
        return vec![0.0; docs.len()];
    }
    // Per document: its length in words and the counts of query terms.
    let mut lens = Vec::with_capacity(docs.len());
    let mut tfs: Vec<Vec<u16>> = Vec::with_capacity(docs.len());
    for d in docs {
        let mut len = 0usize;
        let mut tf = vec![0u16; nq];
        each_word(d, |w| {
            len += 1;
            if let Some(t) = stems.term_of(w) {
                tf[t as usize] = tf[t as usize].saturating_add(1);
            }
        });
        lens.push(len as f64);
        tfs.push(tf);
    }
    let n = docs.len() as f64;
    let avg = (lens.iter().sum::<f64>() / n).max(1.0);
    let idf: Vec<f64> = (0..nq)
        .map(|t| {
            let df = tfs.iter().filter(|tf| tf[t] > 0).count() as f64;
            ((n - df + 0.5) / (df + 0.5) + 1.0).ln()
        })
        .collect();
    let (k1, b) = (1.2, 0.75);
    tfs.iter()
        .zip(&lens)
        .map(|(tf, &len)| {
            tf.iter()
                .zip(&idf)
                .filter(|(f, _)| **f > 0)
                .map(|(&f, idf)| {
                    let f = f as f64;
                    idf * f * (k1 + 1.0) / (f + k1 * (1.0 - b + b * len / avg))
                })
                .sum()
        })
        .collect()
}

/// Indices of all scores, best first (ties keep input order).
pub fn order(scores: &[f64]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    idx
}

/// Reciprocal rank fusion (k = 60) of rankings over the same items; an
/// item missing from a ranking gets nothing from it.
pub fn rrf(rankings: &[Vec<usize>], n: usize) -> Vec<f64> {
    let mut s = vec![0.0; n];
    for r in rankings {
        for (rank, &i) in r.iter().enumerate() {
            if let Some(x) = s.get_mut(i) {
                *x += 1.0 / (60.0 + rank as f64 + 1.0);
            }
        }
    }
    s
}

/// Indices of the best `k` scores, best first, with scores scaled to 0..1
/// by the best one. Zero scores are kept only to fill up `k`.
pub fn top_k(scores: &[f64], k: usize) -> Vec<(usize, f64)> {
    let max = scores.iter().copied().fold(0.0f64, f64::max);
    order(scores)
        .into_iter()
        .take(k)
        .map(|i| (i, if max > 0.0 { scores[i] / max } else { 0.0 }))
        .collect()
}

/// How the context is filled.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// Characters of passage text given to the model.
    pub chars: usize,
    /// Passages at most.
    pub max_passages: usize,
}

/// Passages scoring below this share of the best are not cited.
const MIN_RELEVANCE: f64 = 0.1;
/// Each passage already taken from a document multiplies the score of the
/// document's next one by this, so a second relevant document gets in
/// without a single weak match pushing out a strong passage.
const SAME_DOC_DECAY: f64 = 0.85;

/// Picks passages best first until the budget is full: `(index, relevance
/// 0..1)` in citation order. A passage that does not fit is skipped for a
/// smaller one; the best passage is always taken (cut to the budget by the
/// caller if need be).
pub fn select(scores: &[f64], passages: &[Passage], budget: Budget) -> Vec<(usize, f64)> {
    let max = scores.iter().copied().fold(0.0f64, f64::max);
    if passages.is_empty() {
        return Vec::new();
    }
    // Nothing shares a word with the question: nothing found is evidence,
    // and the caller says so instead of handing the model noise (issue 15)
    // — except pages the question links ("summarize URL"), which are what
    // the user asked about whatever their words.
    if max <= 0.0 {
        return linked_openings(passages, budget);
    }
    let mut left: Vec<usize> = order(scores)
        .into_iter()
        .filter(|&i| i < passages.len() && scores[i] / max >= MIN_RELEVANCE)
        .collect();
    let mut per_doc: HashMap<usize, i32> = HashMap::new();
    let mut out: Vec<(usize, f64)> = Vec::new();
    let mut used = 0usize;
    while out.len() < budget.max_passages.max(1) && !left.is_empty() {
        // The best candidate after the same-document decay.
        let (pos, _) = left
            .iter()
            .enumerate()
            .map(|(pos, &i)| {
                let seen = per_doc.get(&passages[i].doc).copied().unwrap_or(0);
                (pos, scores[i] * SAME_DOC_DECAY.powi(seen))
            })
            .fold((0, f64::MIN), |best, c| if c.1 > best.1 { c } else { best });
        let i = left.remove(pos);
        let len = passages[i].text.len();
        if !out.is_empty() && used + len > budget.chars {
            continue;
        }
        used += len;
        *per_doc.entry(passages[i].doc).or_default() += 1;
        out.push((i, scores[i] / max));
        if used >= budget.chars {
            break;
        }
    }
    out
}

/// The opening passage of each page linked in the question, in order, at
/// relevance 0 (no word of the question matched).
fn linked_openings(passages: &[Passage], budget: Budget) -> Vec<(usize, f64)> {
    let mut out: Vec<(usize, f64)> = Vec::new();
    let mut used = 0;
    let mut seen = std::collections::HashSet::new();
    for (i, p) in passages.iter().enumerate() {
        if p.kind != super::SourceKind::Web || !seen.insert(p.doc) {
            continue;
        }
        if out.len() >= budget.max_passages.max(1)
            || (!out.is_empty() && used + p.text.len() > budget.chars)
        {
            break;
        }
        used += p.text.len();
        out.push((i, 0.0));
    }
    out
}

/// Question words reported by [`question_terms`] at most.
pub const MAX_QUESTION_TERMS: usize = 32;

/// Each content word of the question with the number of passages that
/// contain it (stemmed, so "farms" counts "farm"), in question order: what
/// lets a reader judge whether the sources are about the question.
pub fn question_terms(question: &str, texts: &[&str]) -> Vec<(String, usize)> {
    let stemmer = Stemmer::create(Algorithm::English);
    let mut words: Vec<(String, String)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    // A pasted megabyte is not a question of 100,000 terms: the first
    // ones are reported, each looked up once (this was quadratic).
    for w in tokens(question) {
        if words.len() == MAX_QUESTION_TERMS {
            break;
        }
        let stem = stemmer.stem(&w).into_owned();
        if seen.insert(stem.clone()) {
            words.push((w, stem));
        }
    }
    let mut counts = vec![0usize; words.len()];
    for t in texts {
        let stems: std::collections::HashSet<String> = tokens(t)
            .iter()
            .map(|w| stemmer.stem(w).into_owned())
            .collect();
        for (n, (_, stem)) in counts.iter_mut().zip(&words) {
            if stems.contains(stem) {
                *n += 1;
            }
        }
    }
    words.into_iter().map(|(w, _)| w).zip(counts).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::research::SourceKind;

    #[test]
    fn a_huge_question_reports_its_first_terms_only() {
        let question: String = (0..150_000).map(|i| format!("w{i}x ")).collect();
        let terms = question_terms(&question, &["w1x w2x", "w3x"]);
        assert_eq!(terms.len(), MAX_QUESTION_TERMS);
        assert_eq!(terms[1], ("w1x".to_string(), 1));
    }

    #[test]
    fn bm25_puts_the_relevant_passage_first() {
        let docs = vec![
            "The Eiffel Tower is a wrought-iron lattice tower in Paris, France.".to_string(),
            "Rust's borrow checker enforces ownership and borrowing rules at compile time."
                .to_string(),
            "Paris is the capital of France and its largest city.".to_string(),
            "Borrowing a book from a library requires a card.".to_string(),
        ];
        let s = bm25("How does the Rust borrow checker work?", &docs);
        let top = top_k(&s, 4);
        assert_eq!(top[0].0, 1);
        assert_eq!(top[0].1, 1.0);
        assert!(top.iter().all(|(_, r)| (0.0..=1.0).contains(r)));
        let s = bm25("capital of France", &docs);
        assert_eq!(top_k(&s, 1)[0].0, 2);
    }

    #[test]
    fn stems_match_other_forms_of_a_word() {
        let docs = vec![
            "There are 32,463 farms in the state.".to_string(),
            "Victoria is a state of Australia.".to_string(),
        ];
        let s = bm25("How many farming businesses (farm) are there?", &docs);
        assert!(s[0] > 0.0 && s[1] == 0.0, "{s:?}");
        let s = bm25("Normans", &["The Norman conquest.".to_string()]);
        assert!(s[0] > 0.0);
    }

    #[test]
    fn empty_inputs_are_fine() {
        assert!(bm25("q", &[]).is_empty());
        assert_eq!(bm25("", &["x".into()]), vec![0.0]);
        assert_eq!(top_k(&[0.0, 0.0], 1), vec![(0, 0.0)]);
        assert!(select(&[], &[], budget(100)).is_empty());
        // Nothing matches: nothing is picked…
        let mut ps = vec![p(0, 10), p(0, 10), p(1, 10), p(2, 10)];
        assert!(select(&[0.0; 4], &ps, budget(100)).is_empty());
        // …but the opening of a page the question links.
        ps[2].kind = SourceKind::Web;
        assert_eq!(select(&[0.0; 4], &ps, budget(100)), vec![(2, 0.0)]);
    }

    #[test]
    fn rrf_rewards_agreement() {
        let s = rrf(&[vec![0, 1, 2], vec![1, 0, 2]], 3);
        assert!(s[0] == s[1] && s[1] > s[2]);
        let s = rrf(&[vec![2, 0], vec![2]], 3);
        assert_eq!(order(&s), vec![2, 0, 1]);
    }

    fn p(doc: usize, len: usize) -> Passage {
        Passage {
            kind: SourceKind::Wikipedia,
            title: format!("D{doc}"),
            section: None,
            url: None,
            text: "x".repeat(len),
            doc,
            vector: None,
            meta: Default::default(),
        }
    }

    fn budget(chars: usize) -> Budget {
        Budget {
            chars,
            max_passages: 50,
        }
    }

    #[test]
    fn selection_fills_the_budget_best_first() {
        let ps = vec![p(0, 400), p(1, 700), p(2, 300), p(3, 500)];
        let scores = [0.5, 1.0, 0.9, 0.0];
        let got = select(&scores, &ps, budget(1000));
        // 1 (700) then 2 (300): full; 0 would overflow; 3 scores nothing.
        assert_eq!(got.iter().map(|x| x.0).collect::<Vec<_>>(), vec![1, 2]);
        assert_eq!(got[0].1, 1.0);
        // Too big a passage is skipped for a smaller one that fits.
        let got = select(
            &[1.0, 0.9, 0.8],
            &[p(0, 600), p(1, 600), p(2, 300)],
            budget(1000),
        );
        assert_eq!(got.iter().map(|x| x.0).collect::<Vec<_>>(), vec![0, 2]);
    }

    #[test]
    fn a_second_relevant_document_gets_in() {
        // Document 0 has four strong passages, document 1 one almost as good.
        let ps = vec![p(0, 100), p(0, 100), p(0, 100), p(0, 100), p(1, 100)];
        let scores = [1.0, 0.97, 0.95, 0.93, 0.9];
        let got: Vec<usize> = select(&scores, &ps, budget(10_000))
            .iter()
            .map(|x| x.0)
            .collect();
        assert_eq!(got, vec![0, 4, 1, 2, 3]);
        // A weak match elsewhere does not push out the strong passages.
        let scores = [1.0, 0.97, 0.95, 0.93, 0.2];
        let got: Vec<usize> = select(&scores, &ps, budget(10_000))
            .iter()
            .map(|x| x.0)
            .collect();
        assert_eq!(got, vec![0, 1, 2, 3, 4]);
    }
}
