//! The words the library's full-text index holds: each word lowercased
//! and stemmed in Rust (Snowball English, the stemmer the turn's ranker
//! uses) before FTS5 sees it, so a query is stemmed the same way, and a
//! query term's document count can be looked up in the index's vocabulary
//! (FTS5's own porter tokenizer would store forms Rust cannot predict).

use rust_stemmers::{Algorithm, Stemmer};

use crate::agent::research::keywords::STOPWORDS;

/// Terms a query contributes at most (a pasted paragraph is not 300 ORs).
pub const MAX_TERMS: usize = 24;

fn stem_into(stemmer: &Stemmer, word: &str, out: &mut String) {
    let lower = word.to_lowercase();
    // Snowball is for English words; numbers and other scripts stay.
    if lower.bytes().all(|b| b.is_ascii_lowercase()) {
        out.push_str(&stemmer.stem(&lower));
    } else {
        out.push_str(&lower);
    }
}

/// `text` as the index stores it: its words stemmed, one space apart.
pub fn index_words(text: &str) -> String {
    let stemmer = Stemmer::create(Algorithm::English);
    let mut out = String::with_capacity(text.len());
    for w in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push(' ');
        }
        stem_into(&stemmer, w, &mut out);
    }
    out
}

/// A query's content words, stemmed as the index stems them, stopwords
/// and one-letter words left out, each once, at most [`MAX_TERMS`].
pub fn query_terms(query: &str) -> Vec<String> {
    let stemmer = Stemmer::create(Algorithm::English);
    let mut terms: Vec<String> = Vec::new();
    for w in query.split(|c: char| !c.is_alphanumeric()) {
        let lower = w.to_lowercase();
        if lower.chars().count() < 2 || STOPWORDS.contains(&lower.as_str()) {
            continue;
        }
        let mut t = String::new();
        stem_into(&stemmer, &lower, &mut t);
        if !terms.contains(&t) {
            terms.push(t);
        }
        if terms.len() == MAX_TERMS {
            break;
        }
    }
    terms
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_queries_stem_alike_and_syntax_is_only_words() {
        assert_eq!(index_words("Farmers farmed (farms)!"), "farmer farm farm");
        assert_eq!(
            query_terms("What did the farmers farm?"),
            ["farmer", "farm"]
        );
        assert_eq!(
            query_terms("NEAR(\"a\" OR x) -y* the: col:1"),
            ["near", "col"]
        );
        assert!(query_terms("the of ?").is_empty());
        assert_eq!(index_words("Ärger 1,308 m"), "ärger 1 308 m");
    }
}
