//! A query's words for the library's index: lowercased, stopwords and
//! one-letter words left out, each once, at most [`MAX_TERMS`]. FTS5's
//! porter tokenizer stems them, both in the index and (through a scratch
//! table on the reading connection, `search.rs`) for the query, so a
//! query word's document count can be read from the index's vocabulary.

use crate::agent::research::keywords::STOPWORDS;

/// Terms a query contributes at most (a pasted paragraph is not 300 ORs).
pub const MAX_TERMS: usize = 24;

pub fn query_words(query: &str) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    for w in query.split(|c: char| !c.is_alphanumeric()) {
        let lower = w.to_lowercase();
        if lower.chars().count() < 2 || STOPWORDS.contains(&lower.as_str()) {
            continue;
        }
        if !words.contains(&lower) {
            words.push(lower);
        }
        if words.len() == MAX_TERMS {
            break;
        }
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_only_words() {
        assert_eq!(
            query_words("What did the farmers farm?"),
            ["farmers", "farm"]
        );
        assert_eq!(
            query_words("NEAR(\"a\" OR x) -y* the: col:1"),
            ["near", "col"]
        );
        assert!(query_words("the of ?").is_empty());
    }
}
