//! Full-text search over every message and source, fast at a million
//! messages. User text is parsed into a safe FTS5 query (every term quoted),
//! never passed through.
//!
//! Ranking design: FTS5 `ORDER BY rank` scores every match (~440 ms for a
//! term in half of a million rows), and even `bm25()` on a few rows walks
//! each term's whole doclist to count documents. So: message ids grow with
//! time, and the index walks matches newest first and stops at
//! `CANDIDATES` (filters applied in the same walk). Those candidates are
//! scored here with BM25 over their text, IDF taken from the precomputed
//! [`TermDict`], the user's own questions weighted above answers, recency
//! as the tie breaker. Rare terms (fewer matches than the cap) get the
//! exact ranking; common terms get the best of the recent matches, which
//! is what a history search wants.

pub mod query;
pub mod stats;
pub mod terms;
pub mod text;
pub mod worker;

use rusqlite::Connection;
use rusqlite::types::Value;
use serde::Serialize;

use super::StoreError;
use crate::domain::{MessageId, Role, SessionId};
pub use query::Query;
pub use terms::{Statistics, TermDict};
pub use text::{MARK_END, MARK_START, Matcher, render_snippet, snippet};

/// Matches scored per keystroke.
pub const CANDIDATES: usize = 400;
/// Matches scored by the refining pass that follows when the first one
/// reached its cap (in the background; the next keystroke interrupts it).
pub const DEEP_CANDIDATES: usize = 4_000;
/// Without a dictionary, document counts are counted up to this cap.
const DF_CAP: i64 = 20_000;
/// BM25 parameters (the usual ones).
const K1: f64 = 1.2;
const B: f64 = 0.75;
/// The user's own questions weigh more than answers.
const USER_WEIGHT: f64 = 1.5;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    pub session: SessionId,
    pub session_title: String,
    /// Where an imported session came from (`chatgpt:…`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    pub message: MessageId,
    pub role: Role,
    pub created_at: i64,
    /// With the matched words between `\u{2}` and `\u{3}` markers.
    pub snippet: String,
    pub score: f64,
    /// "message", "source" when a cited source's title or excerpt matched,
    /// or "note" when a deep run's note did (the hit is its report).
    pub matched: &'static str,
}

/// Runs a search with the stored statistics. Returns the best `limit` hits.
pub fn search(conn: &Connection, q: &Query, limit: usize) -> Result<Vec<Hit>, StoreError> {
    search_with(conn, q, limit, Statistics::Stored, &|| false)
}

/// Runs a search. `cancelled` is polled while candidates are read; when it
/// turns true the search stops with [`StoreError::Cancelled`].
pub fn search_with(
    conn: &Connection,
    q: &Query,
    limit: usize,
    stats: Statistics,
    cancelled: &dyn Fn() -> bool,
) -> Result<Vec<Hit>, StoreError> {
    Ok(search_pass(conn, q, limit, stats, cancelled, CANDIDATES)?.0)
}

/// One ranked pass over the newest `candidates` matches. Also says whether
/// the cap was reached, i.e. whether older matches were left unscored (a
/// deeper pass can then refine the results).
pub fn search_pass(
    conn: &Connection,
    q: &Query,
    limit: usize,
    stats: Statistics,
    cancelled: &dyn Fn() -> bool,
    candidates: usize,
) -> Result<(Vec<Hit>, bool), StoreError> {
    let dict = match stats {
        Statistics::Stored => TermDict::read(conn)?,
        Statistics::Counted => None,
    };
    let Some(fts) = q.fts_expanded(dict.as_ref())? else {
        return Ok((Vec::new(), false));
    };
    let matcher = Matcher::new(q);
    let idf = idf(conn, &matcher, dict.as_ref())?;
    let (filters, mut args) = filter_sql(q);
    args.insert(0, Value::Text(fts));

    let sql = format!(
        "SELECT messages_fts.rowid, m.session_id, s.title, m.role, m.created_at, m.content, s.origin
         FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid
         JOIN sessions s ON s.id = m.session_id
         WHERE messages_fts MATCH ?1{filters} ORDER BY messages_fts.rowid DESC LIMIT {candidates}"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(args.iter()))?;
    let mut cands = Vec::new();
    while let Some(r) = rows.next()? {
        if cands.len() % 32 == 0 && cancelled() {
            return Err(StoreError::Cancelled);
        }
        let role = Role::parse(&r.get::<_, String>(3)?).unwrap_or(Role::User);
        let text: String = r.get(5)?;
        let a = matcher.analyze(&text);
        cands.push(Candidate {
            hit: Hit {
                session: SessionId(r.get(1)?),
                session_title: r.get(2)?,
                origin: r.get(6)?,
                message: MessageId(r.get(0)?),
                role,
                created_at: r.get(4)?,
                snippet: String::new(),
                score: 0.0,
                matched: "message",
            },
            text,
            analysis: a,
        });
    }
    let saturated = cands.len() >= candidates;
    let mut hits = rank(cands, &idf, limit);

    // Sources: a title or excerpt match points at the answer citing it.
    // Deep runs' notes: a match points at the run's report.
    for (table, matched, cols, key) in [
        (
            "sources",
            "source",
            "src.title, src.excerpt",
            "src.message_id",
        ),
        ("run_notes", "note", "src.title, src.text", "src.message_id"),
    ] {
        if hits.len() >= limit {
            break;
        }
        let sql = format!(
            "SELECT {key}, m.session_id, s.title, m.role, m.created_at, {cols}, s.origin
             FROM {table}_fts JOIN {table} src ON src.id = {table}_fts.rowid
             JOIN messages m ON m.id = {key} JOIN sessions s ON s.id = m.session_id
             WHERE {table}_fts MATCH ?1{filters} ORDER BY {table}_fts.rowid DESC LIMIT {candidates}"
        );
        let cands = attached(conn, &sql, &args, &matcher, &hits, matched)?;
        let room = limit - hits.len();
        hits.extend(rank(cands, &idf, room));
    }
    Ok((hits, saturated))
}

/// Candidates from text attached to messages (cited sources, run notes):
/// one per message, none for a message already among `hits`.
fn attached(
    conn: &Connection,
    sql: &str,
    args: &[Value],
    matcher: &Matcher,
    hits: &[Hit],
    matched: &'static str,
) -> Result<Vec<Candidate>, StoreError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(args.iter()))?;
    let mut cands: Vec<Candidate> = Vec::new();
    while let Some(r) = rows.next()? {
        let mid = MessageId(r.get(0)?);
        if hits.iter().any(|h| h.message == mid) || cands.iter().any(|c| c.hit.message == mid) {
            continue;
        }
        let text = format!("{} — {}", r.get::<_, String>(5)?, r.get::<_, String>(6)?);
        let analysis = matcher.analyze(&text);
        cands.push(Candidate {
            hit: Hit {
                session: SessionId(r.get(1)?),
                session_title: r.get(2)?,
                origin: r.get(7)?,
                message: mid,
                role: Role::parse(&r.get::<_, String>(3)?).unwrap_or(Role::Assistant),
                created_at: r.get(4)?,
                snippet: String::new(),
                score: 0.0,
                matched,
            },
            text,
            analysis,
        });
    }
    Ok(cands)
}

struct Candidate {
    hit: Hit,
    text: String,
    analysis: text::Analysis,
}

/// BM25 over the candidates' own text, best first, recency breaking ties;
/// snippets only for the ones kept.
fn rank(mut cands: Vec<Candidate>, idf: &[f64], limit: usize) -> Vec<Hit> {
    if cands.is_empty() {
        return Vec::new();
    }
    let avgdl =
        cands.iter().map(|c| c.analysis.words.len()).sum::<usize>() as f64 / cands.len() as f64;
    for c in &mut cands {
        let dl = c.analysis.words.len() as f64;
        let norm = K1 * (1.0 - B + B * dl / avgdl.max(1.0));
        let bm25: f64 = c
            .analysis
            .tf
            .iter()
            .zip(idf)
            .map(|(&tf, idf)| {
                let tf = f64::from(tf);
                idf * tf * (K1 + 1.0) / (tf + norm)
            })
            .sum();
        let w = if c.hit.role == Role::User {
            USER_WEIGHT
        } else {
            1.0
        };
        c.hit.score = (bm25 * w * 1000.0).round() / 1000.0;
    }
    cands.sort_by(|a, b| {
        b.hit
            .score
            .total_cmp(&a.hit.score)
            .then(b.hit.message.0.cmp(&a.hit.message.0))
    });
    cands.truncate(limit);
    cands
        .into_iter()
        .map(|c| Hit {
            snippet: text::snippet_of(&c.text, &c.analysis, 160),
            ..c.hit
        })
        .collect()
}

/// Inverse document frequency per matcher group.
fn idf(conn: &Connection, m: &Matcher, dict: Option<&TermDict>) -> Result<Vec<f64>, StoreError> {
    let n = match dict {
        Some(d) => d.docs() as f64,
        // The stored per-session counts: one row per session, not per message.
        None => conn.query_row(
            "SELECT coalesce(sum(message_count), 0) FROM sessions",
            [],
            |r| r.get::<_, i64>(0),
        )? as f64,
    };
    let mut out = Vec::new();
    for (term, is_prefix) in m.groups() {
        let known = match (dict, is_prefix) {
            (Some(d), false) => d.df(term)?.map(|n| f64::from(n.max(1))),
            (Some(d), true) => d.expand(term, 0)?.map(|(_, total)| total as f64),
            (None, _) => None,
        };
        let df = match (known, is_prefix) {
            (Some(df), _) => df,
            // A prefix without statistics counts as a common term.
            (None, true) => DF_CAP as f64,
            (None, false) => conn.query_row(
                "SELECT count(*) FROM (SELECT 1 FROM messages_fts WHERE messages_fts MATCH ?1 LIMIT ?2)",
                rusqlite::params![format!("\"{}\"", term.replace('"', "\"\"")), DF_CAP],
                |r| r.get::<_, i64>(0),
            )? as f64,
        };
        let df = df.clamp(0.0, n);
        out.push((1.0 + (n - df + 0.5) / (df + 0.5)).ln());
    }
    Ok(out)
}

/// SQL conditions for the filters, to apply during the index walk (so a
/// narrow filter still finds `CANDIDATES` matches), with their values
/// (numbered from ?2).
fn filter_sql(q: &Query) -> (String, Vec<Value>) {
    // Search follows the branch the user sees: an answer that was
    // regenerated away is not a hit, nor are its sources and notes
    // (issue 15, bug 5).
    let mut sql = String::from(" AND m.off_branch = 0");
    let mut args = Vec::new();
    let mut add = |cond: &str, v: Value| {
        args.push(v);
        sql.push_str(&format!(" AND {cond} ?{}", args.len() + 1));
    };
    if let Some(r) = q.role {
        add("m.role =", Value::Text(r.as_str().to_string()));
    }
    if let Some(a) = q.after {
        add("m.created_at >=", Value::Integer(a));
    }
    if let Some(b) = q.before {
        add("m.created_at <=", Value::Integer(b));
    }
    if let Some(s) = q.not_session {
        add("m.session_id !=", Value::Integer(s.0));
    }
    if q.complete_only {
        add("m.status =", Value::Text("complete".into()));
    }
    if let Some(v) = q.verdict {
        sql.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM claims c WHERE c.message_id = m.id AND {})",
            v.sql()
        ));
    }
    if let Some(name) = &q.session {
        args.push(Value::Text(super::queries::contains_pattern(name)));
        sql.push_str(&format!(
            " AND s.title LIKE ?{} ESCAPE '\\'",
            args.len() + 1
        ));
    }
    (sql, args)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_query_language() {
        let q = Query::parse(
            "rust \"borrow checker\" -python role:user session:notes after:2025-01-01 life",
            true,
        )
        .unwrap();
        assert_eq!(q.words, vec!["rust"]);
        assert_eq!(q.phrases, vec!["borrow checker"]);
        assert_eq!(q.prefix.as_deref(), Some("life"));
        assert_eq!(q.exclude, vec!["python"]);
        assert_eq!(q.role, Some(Role::User));
        assert_eq!(q.session.as_deref(), Some("notes"));
        assert!(q.after.is_some());
        assert_eq!(
            q.fts().unwrap(),
            "\"rust\" AND \"borrow checker\" AND \"life\"* NOT \"python\""
        );
        // Not typing (CLI): the last word is a whole word.
        let q = Query::parse("rust life", false).unwrap();
        assert_eq!((q.words.len(), q.prefix), (2, None));
    }

    #[test]
    fn filters_typed_after_the_last_word_leave_it_the_prefix() {
        // Word order does not change results: filters are not words.
        for input in [
            "tardigrade role:user",
            "role:user tardigrade",
            "tardigrade -cat role:user",
        ] {
            let q = Query::parse(input, true).unwrap();
            assert_eq!(q.prefix.as_deref(), Some("tardigrade"), "{input}");
            assert!(q.words.is_empty(), "{input}");
            assert_eq!(q.role, Some(Role::User), "{input}");
        }
        // A space after the filter closes nothing that was open.
        let q = Query::parse("tardigrade role:user ", true).unwrap();
        assert_eq!((q.words.len(), q.prefix), (1, None));
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
            // Both forms of the prefix: FTS5's own and the dictionary's OR.
            let stats = terms::tests::with_terms(&[("x", 1), ("xa", 1), ("xab", 2)], 10, None);
            let dict = TermDict::read(&stats).unwrap().unwrap();
            for typed in [
                input.to_string(),
                format!("{input} x {input}"),
                format!("{input} xa"),
            ] {
                let q = Query::parse(&typed, true).unwrap_or_default();
                for f in [q.fts(), q.fts_expanded(Some(&dict)).unwrap()]
                    .into_iter()
                    .flatten()
                {
                    let conn = Connection::open_in_memory().unwrap();
                    conn.execute_batch("CREATE VIRTUAL TABLE t USING fts5(c, tokenize = 'unicode61 remove_diacritics 2'); INSERT INTO t VALUES ('x xab');").unwrap();
                    conn.query_row("SELECT count(*) FROM t WHERE t MATCH ?1", [&f], |r| {
                        r.get::<_, i64>(0)
                    })
                    .unwrap_or_else(|e| panic!("{typed:?} → {f:?}: {e}"));
                }
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
