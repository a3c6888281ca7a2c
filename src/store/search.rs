//! Full-text search over every message and source, fast at a million
//! messages. User text is parsed into a safe FTS5 query (every term quoted),
//! never passed through.
//!
//! Ranking design: FTS5 `ORDER BY rank` must score every match, which is
//! ~440 ms for a term in half of a million rows. Message ids grow with
//! time, so the index can instead walk matches newest first and stop:
//! the newest `CANDIDATES` matches are taken with their BM25 scores (cheap:
//! only those rows are scored), then re-ranked by BM25, a boost for the
//! user's own questions, and recency as the tie breaker. Rare terms (fewer
//! matches than the candidate cap) get the exact ranking; common terms get
//! the best of the recent matches, which is what a history search wants.

use rusqlite::{Connection, params};
use serde::Serialize;

use super::StoreError;
use crate::domain::{MessageId, Role, SessionId};

/// Matches scored per query.
pub const CANDIDATES: usize = 400;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Query {
    /// Single words; all must match.
    pub words: Vec<String>,
    pub phrases: Vec<String>,
    /// The last word while typing: matched as a prefix.
    pub prefix: Option<String>,
    pub exclude: Vec<String>,
    pub role: Option<Role>,
    /// Session titles containing this text.
    pub session: Option<String>,
    /// Milliseconds since the epoch, inclusive bounds.
    pub after: Option<i64>,
    pub before: Option<i64>,
}

fn quote(term: &str) -> String {
    format!("\"{}\"", term.replace('"', "\"\""))
}

fn parse_date(s: &str, end_of_day: bool) -> Option<i64> {
    let d = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
    let t = if end_of_day {
        d.and_hms_opt(23, 59, 59)?
    } else {
        d.and_hms_opt(0, 0, 0)?
    };
    Some(t.and_utc().timestamp_millis())
}

/// Terms as the index sees them: the FTS tokenizer splits on anything
/// that is not alphanumeric, so we do too (`C++` → `C`).
fn terms(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

impl Query {
    /// Parses what the user typed. `typing` makes the last bare word a
    /// prefix (search as you type). Returns an error in words for input
    /// that cannot mean anything (e.g. a bad date).
    pub fn parse(input: &str, typing: bool) -> Result<Query, String> {
        let mut q = Query::default();
        let mut rest = input;
        let ends_open = typing && !input.ends_with(char::is_whitespace) && !input.ends_with('"');
        let mut last_word: Option<String> = None;
        while let Some(start) = rest.find(|c: char| !c.is_whitespace()) {
            rest = &rest[start..];
            if let Some(after) = rest.strip_prefix('"') {
                // A phrase; an unbalanced quote runs to the end.
                let (phrase, tail) = match after.find('"') {
                    Some(e) => (&after[..e], &after[e + 1..]),
                    None => (after, ""),
                };
                let t = terms(phrase);
                if !t.is_empty() {
                    q.phrases.push(t.join(" "));
                }
                rest = tail;
                last_word = None;
                continue;
            }
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            let token = &rest[..end];
            rest = &rest[end..];
            last_word = None;
            if let Some(neg) = token.strip_prefix('-').filter(|n| !n.is_empty()) {
                q.exclude.extend(terms(neg));
                continue;
            }
            if let Some((key, value)) = token.split_once(':')
                && !value.is_empty()
            {
                match key.to_ascii_lowercase().as_str() {
                    "role" => {
                        q.role = Some(match value.to_ascii_lowercase().as_str() {
                            "user" | "me" | "question" => Role::User,
                            "assistant" | "answer" | "sleuth" => Role::Assistant,
                            other => {
                                return Err(format!(
                                    "role:{other} — use role:user or role:assistant"
                                ));
                            }
                        });
                        continue;
                    }
                    "session" => {
                        q.session = Some(value.to_string());
                        continue;
                    }
                    "before" => {
                        q.before = Some(
                            parse_date(value, false)
                                .ok_or(format!("before:{value} — dates are YYYY-MM-DD"))?
                                - 1,
                        );
                        continue;
                    }
                    "after" => {
                        q.after = Some(
                            parse_date(value, true)
                                .ok_or(format!("after:{value} — dates are YYYY-MM-DD"))?
                                + 1,
                        );
                        continue;
                    }
                    _ => {}
                }
            }
            let t = terms(token);
            if let Some((last, firsts)) = t.split_last() {
                q.words.extend(firsts.iter().cloned());
                q.words.push(last.clone());
                last_word = Some(last.clone());
            }
        }
        if ends_open && let Some(w) = last_word {
            if let Some(pos) = q.words.iter().rposition(|x| *x == w) {
                q.words.remove(pos);
            }
            // A single letter matches most of history and tells little:
            // wait for the second one.
            if w.chars().count() >= 2 {
                q.prefix = Some(w);
            }
        }
        Ok(q)
    }

    /// Whether a match passes the role, date and session filters.
    fn admits(&self, role: Role, at: i64, title: &str) -> bool {
        !(self.role.is_some_and(|r| r != role)
            || self.after.is_some_and(|a| at < a)
            || self.before.is_some_and(|b| at > b)
            || self
                .session
                .as_ref()
                .is_some_and(|n| !title.to_lowercase().contains(&n.to_lowercase())))
    }

    /// The FTS5 MATCH expression, or None when there is no positive term.
    pub fn fts(&self) -> Option<String> {
        let mut parts: Vec<String> = self.words.iter().map(|w| quote(w)).collect();
        parts.extend(self.phrases.iter().map(|p| quote(p)));
        if let Some(p) = &self.prefix {
            parts.push(format!("{}*", quote(p)));
        }
        if parts.is_empty() {
            return None;
        }
        let mut s = parts.join(" ");
        for e in &self.exclude {
            s.push_str(&format!(" NOT {}", quote(e)));
        }
        Some(s)
    }

    #[test]
    fn snippets_mark_matches_around_the_first_one() {
        let q = Query::parse("cafe espr", true).unwrap();
        let text = format!(
            "{} Is café crème stronger than espresso today?",
            "filler ".repeat(40)
        );
        let s = render_snippet(&snippet(&text, &q, 60), "[", "]");
        assert!(
            s.starts_with('…') && s.contains("[café]") && s.contains("[espresso]"),
            "{s}"
        );
        assert!(s.chars().count() <= 64, "{s}");
        let q = Query::parse("x", true).unwrap();
        assert!(q.fts().is_none(), "one letter waits for the next");
    }

    #[test]
    fn hostile_input_is_always_a_valid_query_or_a_clear_error() {
        for input in [
            "\"",
            "\"\"",
            "(",
            ")",
            "*",
            "a*b",
            "NEAR(a b)",
            "a OR b",
            "AND",
            "NOT",
            "-",
            "--x",
            ":",
            "role:",
            "x:y",
            "\"unbalanced phrase",
            "col:value",
            "^start",
            "a + b",
            "{a b}",
            "'single'",
            "a\"b\"c",
            "ü",
            "你好",
            "👍",
            "\u{0}",
            "c++",
            "-\"x\"",
        ] {
            let q = Query::parse(input, true).unwrap_or_default();
            if let Some(f) = q.fts() {
                let conn = Connection::open_in_memory().unwrap();
                conn.execute_batch("CREATE VIRTUAL TABLE t USING fts5(c, tokenize = 'unicode61 remove_diacritics 2')").unwrap();
                conn.query_row("SELECT count(*) FROM t WHERE t MATCH ?1", [&f], |r| {
                    r.get::<_, i64>(0)
                })
                .unwrap_or_else(|e| panic!("{input:?} → {f:?}: {e}"));
            }
        }
        assert!(
            Query::parse("before:yesterday", true)
                .unwrap_err()
                .contains("YYYY-MM-DD")
        );
        assert!(
            Query::parse("role:robot", true)
                .unwrap_err()
                .contains("role:user")
        );
    }
}
