//! Ranking passages against the question: cosine over provider embeddings
//! when there are some, BM25 otherwise. Pure CPU: callers run it on
//! `spawn_blocking`.

use std::collections::HashMap;

use super::keywords::STOPWORDS;

/// Lowercase word tokens without stopwords.
pub fn tokens(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .filter(|w| w.chars().count() > 1 && !STOPWORDS.contains(&w.as_str()))
        .collect()
}

/// Okapi BM25 scores of each document for the query (k1 = 1.2, b = 0.75).
pub fn bm25(query: &str, docs: &[String]) -> Vec<f64> {
    let q = tokens(query);
    let docs_t: Vec<Vec<String>> = docs.iter().map(|d| tokens(d)).collect();
    let n = docs_t.len() as f64;
    if n == 0.0 {
        return vec![];
    }
    let avg = docs_t.iter().map(Vec::len).sum::<usize>() as f64 / n;
    let mut df: HashMap<&str, usize> = HashMap::new();
    for d in &docs_t {
        let mut seen: Vec<&str> = d.iter().map(String::as_str).collect();
        seen.sort_unstable();
        seen.dedup();
        for t in seen {
            *df.entry(t).or_default() += 1;
        }
    }
    let (k1, b) = (1.2, 0.75);
    docs_t
        .iter()
        .map(|d| {
            let len = d.len() as f64;
            let mut tf: HashMap<&str, usize> = HashMap::new();
            for t in d {
                *tf.entry(t.as_str()).or_default() += 1;
            }
            q.iter()
                .map(|t| {
                    let f = *tf.get(t.as_str()).unwrap_or(&0) as f64;
                    if f == 0.0 {
                        return 0.0;
                    }
                    let nq = *df.get(t.as_str()).unwrap_or(&0) as f64;
                    let idf = ((n - nq + 0.5) / (nq + 0.5) + 1.0).ln();
                    idf * f * (k1 + 1.0) / (f + k1 * (1.0 - b + b * len / avg.max(1.0)))
                })
                .sum()
        })
        .collect()
}

/// Indices of the best `k` scores, best first, with scores scaled to 0..1
/// by the best one. Zero scores are kept only to fill up `k`.
pub fn top_k(scores: &[f64], k: usize) -> Vec<(usize, f64)> {
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    let max = scores.iter().copied().fold(0.0f64, f64::max);
    idx.into_iter()
        .take(k)
        .map(|i| (i, if max > 0.0 { scores[i] / max } else { 0.0 }))
        .collect()
}

/// Most frequent content words across texts (the analysis panel).
pub fn top_terms(texts: &[&str], n: usize) -> Vec<(String, usize)> {
    let mut counts: HashMap<String, usize> = HashMap::new();
    for t in texts {
        for w in tokens(t) {
            if w.chars().count() > 2 && !w.chars().all(|c| c.is_ascii_digit()) {
                *counts.entry(w).or_default() += 1;
            }
        }
    }
    let mut v: Vec<(String, usize)> = counts.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v.truncate(n);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn empty_inputs_are_fine() {
        assert!(bm25("q", &[]).is_empty());
        assert_eq!(bm25("", &["x".into()]), vec![0.0]);
        assert_eq!(top_k(&[0.0, 0.0], 1), vec![(0, 0.0)]);
    }

    #[test]
    fn top_terms_counts_content_words() {
        let t = top_terms(
            &["rust memory safety", "rust ownership memory", "the the the"],
            2,
        );
        assert_eq!(t, vec![("memory".to_string(), 2), ("rust".to_string(), 2)]);
    }
}
