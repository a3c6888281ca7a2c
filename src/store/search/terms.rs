//! Term statistics as one search reads them: the number of messages
//! containing a term, and a prefix's most frequent completions, from the
//! table the writer keeps (`stats.rs`).
//!
//! Two costs at a million messages come from FTS5 computing these on the
//! fly: `bm25()` walks the whole doclist of every query term to count its
//! documents (~30–70 ms for a term in half the rows, on every query), and
//! a prefix query without a prefix index merges the doclists of every
//! completion. With the statistics, IDF is a lookup and a prefix becomes
//! an OR of its most frequent completions.

use rusqlite::{Connection, OptionalExtension, params};

use super::stats;
use crate::store::StoreError;

/// Where a search takes its term statistics from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Statistics {
    /// The stored ones (FTS5 counts those a rebuild has not reached yet).
    Stored,
    /// FTS5's own capped counts for every term (the way before stored
    /// statistics; kept to compare the two).
    Counted,
}

/// The stored statistics as one search sees them (one read transaction
/// of the caller's connection).
pub struct TermDict<'c> {
    conn: &'c Connection,
    docs: u64,
    /// Terms at or below this are exact; None: all are.
    built_to: Option<String>,
}

impl<'c> TermDict<'c> {
    /// The statistics in `conn`'s file; None when it has none (a file
    /// from before them, opened read-only before the writer migrated it).
    pub fn read(conn: &'c Connection) -> Result<Option<TermDict<'c>>, StoreError> {
        let has: bool = conn
            .query_row(
                "SELECT 1 FROM sqlite_master WHERE name = 'term_stats_state'",
                [],
                |_| Ok(true),
            )
            .optional()?
            .unwrap_or(false);
        if !has {
            return Ok(None);
        }
        Ok(stats::state(conn)?.map(|st| TermDict {
            conn,
            docs: st.docs.max(0) as u64,
            built_to: st.built_to,
        }))
    }

    pub fn docs(&self) -> u64 {
        self.docs
    }

    /// Whether every term is counted (no rebuild under way).
    pub fn complete(&self) -> bool {
        self.built_to.is_none()
    }

    fn covers(&self, term: &str) -> bool {
        self.built_to.as_deref().is_none_or(|b| term <= b)
    }

    /// Messages containing `term` (folded as the index folds it): Some(0)
    /// for a term in none, None when the statistics do not cover it yet.
    pub fn df(&self, term: &str) -> Result<Option<u32>, StoreError> {
        if !self.covers(term) {
            return Ok(None);
        }
        let n: Option<i64> = self
            .conn
            .prepare_cached("SELECT docs FROM term_stats WHERE term = ?1")?
            .query_row([term], |r| r.get(0))
            .optional()?;
        Ok(Some(n.unwrap_or(0).clamp(0, u32::MAX as i64) as u32))
    }

    /// The `k` most frequent terms starting with `prefix`, most frequent
    /// first, with the messages containing any of them (an upper bound: a
    /// message with two completions counts twice). None while a rebuild
    /// has not passed every completion.
    pub fn expand(&self, prefix: &str, k: usize) -> Result<Option<(Vec<String>, u64)>, StoreError> {
        if prefix.is_empty() {
            return Ok(Some((Vec::new(), 0)));
        }
        let end = format!("{prefix}\u{10FFFF}");
        if !self.covers(&end) {
            return Ok(None);
        }
        let terms = if k == 0 {
            Vec::new()
        } else {
            self.conn
                .prepare_cached(
                    "SELECT term FROM term_stats WHERE term >= ?1 AND term < ?2
                     ORDER BY docs DESC, term LIMIT ?3",
                )?
                .query_map(params![prefix, end, k as i64], |r| r.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()?
        };
        let total: i64 = self
            .conn
            .prepare_cached(
                "SELECT coalesce(sum(docs), 0) FROM term_stats WHERE term >= ?1 AND term < ?2",
            )?
            .query_row(params![prefix, end], |r| r.get(0))?;
        Ok(Some((terms, total.max(0) as u64)))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A file with the statistics tables holding `terms`.
    pub(crate) fn with_terms(
        terms: &[(&str, i64)],
        docs: i64,
        built_to: Option<&str>,
    ) -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE term_stats (term TEXT PRIMARY KEY, docs INTEGER NOT NULL) WITHOUT ROWID;
             CREATE TABLE term_stats_state (docs INTEGER NOT NULL, built_to TEXT);",
        )
        .unwrap();
        conn.execute(
            "INSERT INTO term_stats_state VALUES (?1, ?2)",
            params![docs, built_to],
        )
        .unwrap();
        for (t, d) in terms {
            conn.execute("INSERT INTO term_stats VALUES (?1, ?2)", params![t, d])
                .unwrap();
        }
        conn
    }

    const TERMS: &[(&str, i64)] = &[
        ("model", 50),
        ("mode", 10),
        ("more", 900),
        ("most", 300),
        ("moo", 1),
        ("lamp", 4),
        ("mz", 7),
    ];

    #[test]
    fn expands_a_prefix_to_its_most_frequent_completions() {
        let conn = with_terms(TERMS, 1000, None);
        let d = TermDict::read(&conn).unwrap().unwrap();
        assert_eq!(d.docs(), 1000);
        let (top, total) = d.expand("mo", 3).unwrap().unwrap();
        assert_eq!(top, vec!["more", "most", "model"]);
        assert_eq!(total, 1261);
        assert_eq!(
            d.expand("mod", 10).unwrap().unwrap().0,
            vec!["model", "mode"]
        );
        assert!(d.expand("q", 5).unwrap().unwrap().0.is_empty());
        assert_eq!(d.df("lamp").unwrap(), Some(4));
        assert_eq!(d.df("lam").unwrap(), Some(0));
    }

    #[test]
    fn a_rebuild_under_way_covers_only_the_terms_it_passed() {
        let conn = with_terms(TERMS, 1000, Some("model"));
        let d = TermDict::read(&conn).unwrap().unwrap();
        assert!(!d.complete());
        assert_eq!(d.df("lamp").unwrap(), Some(4));
        assert_eq!(d.df("model").unwrap(), Some(50));
        assert_eq!(d.df("more").unwrap(), None, "not reached yet");
        assert_eq!(d.expand("mo", 3).unwrap(), None);
        assert_eq!(d.expand("la", 3).unwrap().unwrap().0, vec!["lamp"]);
    }

    #[test]
    fn a_file_without_statistics_has_none() {
        let conn = Connection::open_in_memory().unwrap();
        assert!(TermDict::read(&conn).unwrap().is_none());
    }
}
