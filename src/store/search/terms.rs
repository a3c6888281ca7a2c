//! Precomputed term statistics: every term of the message index with the
//! number of messages containing it, read once in the background.
//!
//! Two costs at a million messages come from FTS5 computing these on the
//! fly: `bm25()` walks the whole doclist of every query term to count its
//! documents (~30–70 ms for a term in half the rows, on every query), and
//! a prefix query without a prefix index merges the doclists of every
//! completion. With the dictionary, IDF is a lookup and a prefix becomes
//! an OR of its most frequent completions.

use rusqlite::Connection;

use crate::store::StoreError;

#[derive(Debug, Default)]
pub struct TermDict {
    /// Sorted by term: a prefix is a contiguous range.
    terms: Vec<(Box<str>, u32)>,
    /// Messages in the index when it was read.
    docs: u64,
}

impl TermDict {
    /// Reads the whole vocabulary (~1.6 s and ~1.5 MB for 1M synthetic
    /// messages; it walks every doclist once). Run it off every thread that
    /// answers the user.
    pub fn load(conn: &Connection) -> Result<TermDict, StoreError> {
        // A temp table works on a read-only connection.
        conn.execute_batch(
            "CREATE VIRTUAL TABLE IF NOT EXISTS temp.messages_vocab USING fts5vocab(main, messages_fts, row)",
        )?;
        let mut stmt = conn.prepare("SELECT term, doc FROM temp.messages_vocab")?;
        let terms = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?.into_boxed_str(),
                    r.get::<_, i64>(1)?.clamp(0, u32::MAX as i64) as u32,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let docs: i64 = conn.query_row("SELECT count(*) FROM messages", [], |r| r.get(0))?;
        Ok(TermDict::from_terms(terms, docs.max(0) as u64))
    }

    pub fn from_terms(mut terms: Vec<(Box<str>, u32)>, docs: u64) -> TermDict {
        terms.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        terms.shrink_to_fit();
        TermDict { terms, docs }
    }

    pub fn docs(&self) -> u64 {
        self.docs
    }

    pub fn len(&self) -> usize {
        self.terms.len()
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Messages containing `term` (folded as the index folds it).
    pub fn df(&self, term: &str) -> Option<u32> {
        self.terms
            .binary_search_by(|(t, _)| t.as_ref().cmp(term))
            .ok()
            .map(|i| self.terms[i].1)
    }

    fn range(&self, prefix: &str) -> &[(Box<str>, u32)] {
        let start = self.terms.partition_point(|(t, _)| t.as_ref() < prefix);
        let len = self.terms[start..].partition_point(|(t, _)| t.starts_with(prefix));
        &self.terms[start..start + len]
    }

    /// The `k` most frequent terms starting with `prefix`, most frequent
    /// first.
    pub fn expand(&self, prefix: &str, k: usize) -> Vec<String> {
        if prefix.is_empty() || k == 0 {
            return Vec::new();
        }
        let mut found: Vec<&(Box<str>, u32)> = self.range(prefix).iter().collect();
        if found.len() > k {
            found.select_nth_unstable_by(k - 1, |a, b| b.1.cmp(&a.1));
            found.truncate(k);
        }
        found.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        found.into_iter().map(|(t, _)| t.to_string()).collect()
    }

    /// Messages containing any term starting with `prefix` (an upper bound:
    /// a message with two completions counts twice).
    pub fn prefix_df(&self, prefix: &str) -> u64 {
        self.range(prefix).iter().map(|(_, d)| u64::from(*d)).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dict() -> TermDict {
        let t = [
            ("model", 50),
            ("mode", 10),
            ("more", 900),
            ("most", 300),
            ("moo", 1),
            ("lamp", 4),
            ("mz", 7),
        ];
        TermDict::from_terms(t.iter().map(|(a, b)| (Box::from(*a), *b)).collect(), 1000)
    }

    #[test]
    fn expands_a_prefix_to_its_most_frequent_completions() {
        let d = dict();
        assert_eq!(d.expand("mo", 3), vec!["more", "most", "model"]);
        assert_eq!(d.expand("mod", 10), vec!["model", "mode"]);
        assert!(d.expand("q", 5).is_empty());
        assert_eq!(d.df("lamp"), Some(4));
        assert_eq!(d.df("lam"), None);
        assert_eq!(d.prefix_df("mo"), 1261);
    }
}
