//! Read queries, shared by the reader thread and the command line.

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::StoreError;
use crate::domain::{
    Branch, Message, MessageId, MessageStatus, Role, Session, SessionId, SessionSummary, Source,
    StoredMessage, Usage,
};

const SESSION_COLS: &str =
    "s.id, s.created_at, s.updated_at, s.title, s.summary, s.model, s.origin, s.settings";
const MESSAGE_COLS: &str = "id, session_id, parent_id, role, content, status, created_at, model, tokens_in, tokens_out, latency_ms, error";

fn session_from(row: &Row<'_>) -> rusqlite::Result<Session> {
    Ok(Session {
        id: SessionId(row.get(0)?),
        created_at: row.get(1)?,
        updated_at: row.get(2)?,
        title: row.get(3)?,
        summary: row.get(4)?,
        model: row.get(5)?,
        origin: row.get(6)?,
        settings: row
            .get::<_, Option<String>>(7)?
            .and_then(|j| serde_json::from_str(&j).ok())
            .unwrap_or_default(),
    })
}

fn message_from(row: &Row<'_>) -> rusqlite::Result<Message> {
    let role: String = row.get(3)?;
    let status: String = row.get(5)?;
    Ok(Message {
        id: MessageId(row.get(0)?),
        session_id: SessionId(row.get(1)?),
        parent_id: row.get::<_, Option<i64>>(2)?.map(MessageId),
        // The schema's CHECK constraints make these total; fall back rather
        // than fail a whole transcript on a hand-edited row.
        role: Role::parse(&role).unwrap_or(Role::System),
        content: row.get(4)?,
        status: MessageStatus::parse(&status).unwrap_or(MessageStatus::Error),
        created_at: row.get(6)?,
        model: row.get(7)?,
        usage: Usage {
            tokens_in: row.get(8)?,
            tokens_out: row.get(9)?,
            latency_ms: row.get(10)?,
        },
        error: row.get(11)?,
    })
}

/// A `LIKE ... ESCAPE` pattern (escape character: backslash) matching
/// `text` anywhere, with its own `%`, `_` and backslashes taken literally.
pub fn contains_pattern(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// A page of sessions, most recently active first. `filter` matches titles
/// case-insensitively anywhere.
pub fn list_sessions(
    conn: &Connection,
    offset: usize,
    limit: usize,
    filter: Option<&str>,
) -> Result<Vec<SessionSummary>, StoreError> {
    let pattern = filter.filter(|f| !f.is_empty()).map(contains_pattern);
    let sql = format!(
        "SELECT {SESSION_COLS}, s.message_count,
                EXISTS(SELECT 1 FROM runs r WHERE r.session_id = s.id AND r.status != 'complete')
         FROM sessions s
         WHERE ?3 IS NULL OR s.title LIKE ?3 ESCAPE '\\'
         ORDER BY s.updated_at DESC, s.id DESC
         LIMIT ?1 OFFSET ?2"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![limit as i64, offset as i64, pattern], |r| {
        Ok(SessionSummary {
            session: session_from(r)?,
            message_count: r.get(8)?,
            unfinished_run: r.get(9)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn get_session(conn: &Connection, id: SessionId) -> Result<Option<Session>, StoreError> {
    let sql = format!("SELECT {SESSION_COLS} FROM sessions s WHERE s.id = ?1");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([id.0], session_from)
        .optional()?)
}

/// Resolves what a user typed for a session: its id, a prefix of the id
/// that only one session has, or `latest`.
pub fn resolve_session(conn: &Connection, arg: &str) -> Result<Session, StoreError> {
    let arg = arg.trim();
    let found = if arg.eq_ignore_ascii_case("latest") || arg == "last" {
        let sql = format!(
            "SELECT {SESSION_COLS} FROM sessions s ORDER BY s.updated_at DESC, s.id DESC LIMIT 1"
        );
        conn.prepare_cached(&sql)?
            .query_row([], session_from)
            .optional()?
    } else if let Ok(id) = arg.parse::<i64>() {
        match get_session(conn, SessionId(id))? {
            Some(s) => Some(s),
            None if arg.chars().all(|c| c.is_ascii_digit()) => by_id_prefix(conn, arg)?,
            None => None,
        }
    } else {
        None
    };
    found.ok_or_else(|| StoreError::NoSession(arg.to_string()))
}

/// The one session whose id starts with `prefix`; two or more is an error
/// naming a few of them.
fn by_id_prefix(conn: &Connection, prefix: &str) -> Result<Option<Session>, StoreError> {
    let sql = format!(
        "SELECT {SESSION_COLS} FROM sessions s WHERE CAST(s.id AS TEXT) LIKE ?1 || '%'
         ORDER BY s.updated_at DESC LIMIT 4"
    );
    let found: Vec<Session> = conn
        .prepare_cached(&sql)?
        .query_map([prefix], session_from)?
        .collect::<Result<_, _>>()?;
    match found.len() {
        0 => Ok(None),
        1 => Ok(found.into_iter().next()),
        n => {
            let ids: Vec<String> = found.iter().take(3).map(|s| s.id.to_string()).collect();
            let more = if n > 3 { ", …" } else { "" };
            Err(StoreError::BadQuery(format!(
                "session id {prefix}… is ambiguous: {}{more} — type more digits",
                ids.join(", ")
            )))
        }
    }
}

/// How many sessions have `filter` in their title (all without one).
pub fn count_matching_sessions(
    conn: &Connection,
    filter: Option<&str>,
) -> Result<usize, StoreError> {
    let pattern = filter.filter(|f| !f.is_empty()).map(contains_pattern);
    let n: i64 = conn
        .prepare_cached(
            "SELECT count(*) FROM sessions WHERE ?1 IS NULL OR title LIKE ?1 ESCAPE '\\'",
        )?
        .query_row([pattern], |r| r.get(0))?;
    Ok(usize::try_from(n).unwrap_or(0))
}

/// How many sessions there are.
pub fn count_sessions(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn.query_row("SELECT count(*) FROM sessions", [], |r| r.get(0))?)
}

pub fn get_message(conn: &Connection, id: MessageId) -> Result<Option<Message>, StoreError> {
    let sql = format!("SELECT {MESSAGE_COLS} FROM messages WHERE id = ?1");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([id.0], message_from)
        .optional()?)
}

/// How many of a session's messages are off the branch shown.
pub fn other_branches(conn: &Connection, session: SessionId) -> Result<i64, StoreError> {
    Ok(conn
        .prepare_cached("SELECT count(*) FROM messages WHERE session_id = ?1 AND off_branch = 1")?
        .query_row([session.0], |r| r.get(0))?)
}

/// A message and the other branches beside it (the answers to the same
/// question, the versions of a question), oldest first. A message with no
/// parent stands alone.
pub fn siblings(conn: &Connection, id: MessageId) -> Result<Vec<Message>, StoreError> {
    let sql = format!(
        // Roots (a first question and its edits) have no parent: they are
        // siblings within their session.
        "SELECT {MESSAGE_COLS} FROM messages
         WHERE session_id = (SELECT session_id FROM messages WHERE id = ?1)
           AND parent_id IS (SELECT parent_id FROM messages WHERE id = ?1)
           AND (parent_id IS NOT NULL OR role = 'user')
         ORDER BY created_at, id"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([id.0], message_from)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Every message of a session in order, each with its sources.
pub fn transcript(conn: &Connection, session: SessionId) -> Result<Vec<StoredMessage>, StoreError> {
    let sql = format!(
        // The branch last viewed (other branches stay stored).
        "SELECT {MESSAGE_COLS} FROM messages
         WHERE session_id = ?1 AND off_branch = 0
         ORDER BY created_at, id"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let messages: Vec<Message> = stmt
        .query_map([session.0], message_from)?
        .collect::<Result<_, _>>()?;
    let mut sources: HashMap<i64, Vec<Source>> = HashMap::new();
    let mut stmt = conn.prepare_cached(
        "SELECT src.message_id, src.ordinal, src.kind, src.title, src.url, src.excerpt, src.relevance, src.fetched_at, src.section, src.meta
         FROM sources src JOIN messages m ON m.id = src.message_id
         WHERE m.session_id = ?1 ORDER BY src.message_id, src.ordinal",
    )?;
    let rows = stmt.query_map([session.0], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            Source {
                ordinal: r.get(1)?,
                kind: r.get(2)?,
                title: r.get(3)?,
                url: r.get(4)?,
                excerpt: r.get(5)?,
                relevance: r.get(6)?,
                fetched_at: r.get(7)?,
                section: r.get(8)?,
                // Metadata that does not parse (a newer sleuth's) is left out.
                meta: r
                    .get::<_, Option<String>>(9)?
                    .and_then(|j| serde_json::from_str(&j).ok())
                    .unwrap_or_default(),
            },
        ))
    })?;
    for row in rows {
        let (mid, src) = row?;
        sources.entry(mid).or_default().push(src);
    }
    let mut branches = branches(conn, session)?;
    let mut claims = claims_of(conn, session)?;
    Ok(messages
        .into_iter()
        .map(|m| StoredMessage {
            sources: sources.remove(&m.id.0).unwrap_or_default(),
            branch: branches.remove(&m.id.0),
            claims: claims.remove(&m.id.0),
            message: m,
        })
        .collect())
}

/// The claim checks of a session's answers. One that does not parse (a
/// newer sleuth's shape) is left out rather than failing the transcript.
fn claims_of(
    conn: &Connection,
    session: SessionId,
) -> Result<HashMap<i64, crate::domain::claims::ClaimCheck>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT c.message_id, c.checked FROM claims c JOIN messages m ON m.id = c.message_id
         WHERE m.session_id = ?1",
    )?;
    let rows = stmt.query_map([session.0], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
    })?;
    let mut out = HashMap::new();
    for row in rows {
        let (id, json) = row?;
        match serde_json::from_str(&json) {
            Ok(c) => {
                out.insert(id, c);
            }
            Err(e) => {
                tracing::warn!(message = id, error = %e, "a stored claim check does not parse")
            }
        }
    }
    Ok(out)
}

/// The place among its siblings of each message of `session` that has
/// any. Only a parent with a child off the branch shown can have two.
fn branches(conn: &Connection, session: SessionId) -> Result<HashMap<i64, Branch>, StoreError> {
    // NULL stands for the session's roots (a first question and its edits).
    let parents: Vec<Option<i64>> = conn
        .prepare_cached(
            "SELECT DISTINCT parent_id FROM messages
             WHERE session_id = ?1 AND off_branch = 1
               AND (parent_id IS NOT NULL OR role = 'user')",
        )?
        .query_map([session.0], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut out = HashMap::new();
    let mut children = conn.prepare_cached(
        "SELECT id FROM messages
         WHERE session_id = ?2 AND parent_id IS ?1 AND (parent_id IS NOT NULL OR role = 'user')
         ORDER BY created_at, id",
    )?;
    for p in parents {
        let ids: Vec<i64> = children
            .query_map(params![p, session.0], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let count = ids.len() as u32;
        if count > 1 {
            for (i, id) in ids.into_iter().enumerate() {
                out.insert(
                    id,
                    Branch {
                        index: i as u32 + 1,
                        count,
                    },
                );
            }
        }
    }
    Ok(out)
}

/// The last `n` messages of a session, oldest first, without sources (a
/// preview costs the same for a 10-message and a 10k-message session).
pub fn recent_messages(
    conn: &Connection,
    session: SessionId,
    n: usize,
) -> Result<Vec<Message>, StoreError> {
    let sql = format!(
        "SELECT {MESSAGE_COLS} FROM messages WHERE session_id = ?1
         ORDER BY created_at DESC, id DESC LIMIT ?2"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut out: Vec<Message> = stmt
        .query_map(params![session.0, n as i64], message_from)?
        .collect::<Result<_, _>>()?;
    out.reverse();
    Ok(out)
}

/// The user's questions across all sessions, newest first, older than
/// message `before` when given: (id, text), and whether there are no
/// older ones. Walks the message ids backwards (ids grow with time), so a
/// page costs the same at a million messages; a question asked again right
/// after itself appears once.
pub fn recent_questions(
    conn: &Connection,
    before: Option<MessageId>,
    limit: usize,
) -> Result<(Vec<(MessageId, String)>, bool), StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, content FROM messages
         WHERE role = 'user' AND id < ?1 AND content != ''
         ORDER BY id DESC LIMIT ?2",
    )?;
    let rows = stmt.query_map(
        params![before.map_or(i64::MAX, |b| b.0), limit as i64],
        |r| Ok((MessageId(r.get(0)?), r.get::<_, String>(1)?)),
    )?;
    let mut out: Vec<(MessageId, String)> = Vec::with_capacity(limit);
    let mut read = 0;
    for row in rows {
        let (id, text) = row?;
        read += 1;
        if out.last().is_none_or(|(_, t)| *t != text) {
            out.push((id, text));
        }
    }
    Ok((out, read < limit))
}

/// Questions with all of `words` (the last one may be a prefix once it
/// has three letters), newest first: among the newest 2 000 messages that
/// match, the user's. Words that make no full-text query find nothing.
pub fn find_questions(
    conn: &Connection,
    words: &str,
    limit: usize,
) -> Result<Vec<(MessageId, String)>, StoreError> {
    let last = words.split_whitespace().last().unwrap_or_default();
    let typing = last.chars().count() >= 3;
    let Some(fts) = crate::store::search::Query::parse(words, typing)
        .ok()
        .and_then(|q| q.fts())
    else {
        return Ok(Vec::new());
    };
    let mut stmt = conn.prepare_cached(
        "SELECT m.id, m.content FROM messages m
         WHERE m.id IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?1
                        ORDER BY rowid DESC LIMIT 2000)
           AND m.role = 'user'
         ORDER BY m.id DESC LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![fts, limit as i64], |r| {
        Ok((MessageId(r.get(0)?), r.get::<_, String>(1)?))
    })?;
    let mut out: Vec<(MessageId, String)> = Vec::new();
    for row in rows {
        let (id, text) = row?;
        if !out.iter().any(|(_, t)| *t == text) {
            out.push((id, text));
        }
    }
    Ok(out)
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Stats {
    pub schema_version: i64,
    pub sessions: i64,
    pub messages: i64,
    pub sources: i64,
}

pub fn stats(conn: &Connection) -> Result<Stats, StoreError> {
    let count =
        |sql: &str| -> Result<i64, StoreError> { Ok(conn.query_row(sql, [], |r| r.get(0))?) };
    Ok(Stats {
        schema_version: super::schema::version(conn)?,
        sessions: count("SELECT count(*) FROM sessions")?,
        messages: count("SELECT count(*) FROM messages")?,
        sources: count("SELECT count(*) FROM sources")?,
    })
}

/// A message from another session that matches a question.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Recalled {
    pub session: SessionId,
    pub session_title: String,
    pub role: Role,
    pub snippet: String,
}

/// Up to `limit` complete messages outside `exclude` that contain all of
/// `words`, best first: the history search's newest-candidates ranking
/// (FTS5's `ORDER BY rank` took ~380 ms per call for common words at a
/// million messages, and a research turn may call this three times).
pub fn recall(
    conn: &Connection,
    words: &[String],
    exclude: SessionId,
    limit: usize,
) -> Result<Vec<Recalled>, StoreError> {
    let q = super::search::Query {
        words: words.iter().filter(|w| !w.is_empty()).cloned().collect(),
        not_session: Some(exclude),
        complete_only: true,
        ..Default::default()
    };
    Ok(super::search::search(conn, &q, limit)?
        .into_iter()
        .filter(|h| h.matched == "message")
        .map(|h| Recalled {
            session: h.session,
            session_title: h.session_title,
            role: h.role,
            snippet: super::search::render_snippet(&h.snippet, "", ""),
        })
        .collect())
}
