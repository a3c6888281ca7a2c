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
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    pub session: SessionId,
    pub session_title: String,
    pub message: MessageId,
    pub role: Role,
    pub created_at: i64,
    /// With the matched words between `\u{2}` and `\u{3}` markers.
    pub snippet: String,
    pub score: f64,
    /// "message", or "source" when a cited source's title or excerpt matched.
    pub matched: &'static str,
}

/// Marks around matched words in snippets (control characters that never
/// occur in stored text after sanitizing, and are stripped for output).
pub const MARK_START: char = '\u{2}';
pub const MARK_END: char = '\u{3}';

/// Runs a search. Returns the best `limit` hits.
pub fn search(conn: &Connection, q: &Query, limit: usize) -> Result<Vec<Hit>, StoreError> {
    let Some(fts) = q.fts() else {
        return Ok(Vec::new());
    };
    let mut hits = Vec::new();
    // Candidates from messages, newest first, with their BM25 scores.
    let mut stmt = conn.prepare_cached(
        "SELECT rowid, bm25(messages_fts) FROM messages_fts WHERE messages_fts MATCH ?1 ORDER BY rowid DESC LIMIT ?2",
    )?;
    let cands: Vec<(i64, f64)> = stmt
        .query_map(params![fts, CANDIDATES as i64], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?
        .collect::<Result<_, _>>()?;
    let mut content = conn.prepare_cached("SELECT content FROM messages WHERE id = ?1")?;
    // Cheap filters first, on the candidates only.
    let mut meta = conn.prepare_cached(
        "SELECT m.session_id, s.title, m.role, m.created_at FROM messages m JOIN sessions s ON s.id = m.session_id WHERE m.id = ?1",
    )?;
    let mut scored: Vec<(f64, i64, SessionId, String, Role, i64)> = Vec::new();
    for (rowid, bm25) in cands {
        let Some((sid, title, role, at)) = meta
            .query_row([rowid], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            })
            .ok()
        else {
            continue;
        };
        let role = Role::parse(&role).unwrap_or(Role::User);
        if q.role.is_some_and(|r| r != role)
            || q.after.is_some_and(|a| at < a)
            || q.before.is_some_and(|b| at > b)
            || q.session
                .as_ref()
                .is_some_and(|n| !title.to_lowercase().contains(&n.to_lowercase()))
        {
            continue;
        }
        // bm25() is negative, better when lower; the user's own questions
        // weigh more than answers.
        let weight = if role == Role::User { 1.5 } else { 1.0 };
        scored.push((-bm25 * weight, rowid, SessionId(sid), title, role, at));
    }
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(b.5.cmp(&a.5)));
    scored.truncate(limit);
    for (score, rowid, sid, title, role, at) in scored {
        let text: String = content.query_row([rowid], |r| r.get(0)).unwrap_or_default();
        let snippet = snippet(&text, q, 160);
        hits.push(Hit {
            session: sid,
            session_title: title,
            message: MessageId(rowid),
            role,
            created_at: at,
            snippet,
            score: (score * 1000.0).round() / 1000.0,
            matched: "message",
        });
    }
    // Sources: a title or excerpt match points at the answer citing it.
    if hits.len() < limit {
        let mut src = conn.prepare_cached(
            "SELECT src.message_id, m.session_id, s.title, m.role, m.created_at, bm25(sources_fts),
                    snippet(sources_fts, -1, char(2), char(3), '…', 16)
             FROM sources_fts JOIN sources src ON src.id = sources_fts.rowid
             JOIN messages m ON m.id = src.message_id JOIN sessions s ON s.id = m.session_id
             WHERE sources_fts MATCH ?1 ORDER BY sources_fts.rowid DESC LIMIT ?2",
        )?;
        let rows = src.query_map(params![fts, (limit - hits.len()) as i64 * 4], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, f64>(5)?,
                r.get::<_, String>(6)?,
            ))
        })?;
        for row in rows {
            let (mid, sid, title, role, at, bm25, snippet) = row?;
            let role = Role::parse(&role).unwrap_or(Role::Assistant);
            if hits.iter().any(|h| h.message.0 == mid)
                || q.role.is_some_and(|r| r != role)
                || q.after.is_some_and(|a| at < a)
                || q.before.is_some_and(|b| at > b)
                || q.session
                    .as_ref()
                    .is_some_and(|n| !title.to_lowercase().contains(&n.to_lowercase()))
            {
                continue;
            }
            hits.push(Hit {
                session: SessionId(sid),
                session_title: title,
                message: MessageId(mid),
                role,
                created_at: at,
                snippet,
                score: (-bm25 * 1000.0).round() / 1000.0,
                matched: "source",
            });
            if hits.len() >= limit {
                break;
            }
        }
    }
    Ok(hits)
}

fn fold(s: &str) -> String {
    // Enough folding to find matches for highlighting: case and the common
    // Latin diacritics (the index itself folds all of them).
    s.chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => 'a',
            'è' | 'é' | 'ê' | 'ë' => 'e',
            'ì' | 'í' | 'î' | 'ï' => 'i',
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' => 'o',
            'ù' | 'ú' | 'û' | 'ü' => 'u',
            'ç' => 'c',
            'ñ' => 'n',
            c => c,
        })
        .collect()
}

/// A window of `text` around the first match of `q`, with every matched
/// word between the markers. Computed here, not with FTS5's snippet(),
/// which re-runs the whole MATCH per hit.
pub fn snippet(text: &str, q: &Query, width: usize) -> String {
    let mut wanted: Vec<String> = q.words.iter().map(|w| fold(w)).collect();
    for p in &q.phrases {
        wanted.extend(p.split(' ').map(fold));
    }
    let prefix = q.prefix.as_deref().map(fold);
    // Words of the text with their byte ranges.
    let mut words: Vec<(usize, usize, bool)> = Vec::new();
    let mut start = None;
    for (i, c) in text
        .char_indices()
        .chain(std::iter::once((text.len(), ' ')))
    {
        match (c.is_alphanumeric(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                let w = fold(&text[s..i]);
                let hit = wanted.contains(&w)
                    || prefix.as_ref().is_some_and(|p| w.starts_with(p.as_str()));
                words.push((s, i, hit));
                start = None;
            }
            _ => {}
        }
    }
    let first = words.iter().find(|w| w.2).map(|w| w.0).unwrap_or(0);
    // Start a little before the first match, at a word boundary.
    let mut from = first.saturating_sub(width / 3);
    while !text.is_char_boundary(from) {
        from -= 1;
    }
    if let Some(w) = words.iter().find(|w| w.0 >= from) {
        from = w.0;
    }
    let mut to = (from + width).min(text.len());
    while !text.is_char_boundary(to) {
        to += 1;
    }
    let mut out = String::new();
    if from > 0 {
        out.push('…');
    }
    let mut pos = from;
    for &(s, e, hit) in words.iter().filter(|w| w.0 >= from && w.1 <= to) {
        out.push_str(&text[pos..s]);
        if hit {
            out.push(MARK_START);
            out.push_str(&text[s..e]);
            out.push(MARK_END);
        } else {
            out.push_str(&text[s..e]);
        }
        pos = e;
    }
    out.push_str(&text[pos.min(to)..to]);
    if to < text.len() {
        out.push('…');
    }
    out
}

/// A snippet with its markers replaced by `on`/`off` and every piece of
/// stored text sanitized to one line.
pub fn render_snippet(s: &str, on: &str, off: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for piece in s.split([MARK_START, MARK_END]) {
        if inside {
            out.push_str(on);
        }
        out.push_str(&crate::sanitize::one_line(piece));
        if inside {
            out.push_str(off);
        }
        inside = !inside;
    }
    out
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
            "\"rust\" \"borrow checker\" \"life\"* NOT \"python\""
        );
        // Not typing (CLI): the last word is a whole word.
        let q = Query::parse("rust life", false).unwrap();
        assert_eq!((q.words.len(), q.prefix), (2, None));
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
