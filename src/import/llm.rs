//! simonw/llm's `logs.db`, opened read-only, in both of its shapes:
//!
//! - the message store (llm ≥ 0.36): `threads` (a conversation, its tip
//!   message), `messages` (content-addressed, `parent_hash` chains), their
//!   `parts` (text inline or borrowed from `fragments`) and `turns` (one
//!   model call: the time, model and tokens of the messages it added);
//! - the older `responses` table (one prompt and response per row, grouped
//!   by `conversation_id`, titled by `conversations.name`).
//!
//! A database upgraded from one to the other holds both: both are read.
//! Shapes are described in tests/import/SOURCES.md.

use std::collections::HashMap;
use std::path::Path;

use anyhow::Context;
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use super::{Node, Skipped, Thread, parse_time};
use crate::domain::{Role, Usage};

/// What the caller does with each thread read (false: stop).
pub type Each<'f> = dyn FnMut(Result<Thread, Skipped>) -> bool + 'f;

/// Reads every conversation in the database; returns how many.
pub fn read(path: &Path, each: &mut Each<'_>) -> anyhow::Result<usize> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .with_context(|| format!("cannot open {}", path.display()))?;
    let has = |t: &str| -> anyhow::Result<bool> {
        Ok(conn
            .query_row(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
                [t],
                |_| Ok(()),
            )
            .optional()
            .with_context(|| format!("{} is not an SQLite database", path.display()))?
            .is_some())
    };
    let legacy = has("responses")?;
    let store = has("threads")? && has("messages")? && has("parts")? && has("turns")?;
    if !legacy && !store {
        anyhow::bail!(
            "{} is not an llm logs.db (no responses or threads table)",
            path.display()
        );
    }
    let mut n = 0;
    if legacy {
        n += read_responses(&conn, each).context("reading the responses table")?;
    }
    if store {
        n += read_threads(&conn, each).context("reading the message store")?;
    }
    Ok(n)
}

fn columns(conn: &Connection, table: &str) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare(&format!("PRAGMA table_info({table})"))?;
    let cols = stmt.query_map([], |r| r.get::<_, String>(1))?;
    cols.collect()
}

/// The older shape: one row per prompt and response.
fn read_responses(conn: &Connection, each: &mut Each<'_>) -> anyhow::Result<usize> {
    let cols = columns(conn, "responses")?;
    let col = |name: &str| {
        if cols.iter().any(|c| c == name) {
            format!("r.{name}")
        } else {
            "NULL".to_string()
        }
    };
    let titled = conn
        .query_row(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'conversations'",
            [],
            |_| Ok(()),
        )
        .optional()?
        .is_some();
    let sql = format!(
        "SELECT r.id, {model}, {prompt}, {response}, {conv}, {at}, {tin}, {tout}, {title}
         FROM responses r ORDER BY {conv}, {at}, r.rowid",
        model = col("model"),
        prompt = col("prompt"),
        response = col("response"),
        conv = col("conversation_id"),
        at = col("datetime_utc"),
        tin = col("input_tokens"),
        tout = col("output_tokens"),
        title = if titled {
            "(SELECT c.name FROM conversations c WHERE c.id = r.conversation_id)"
        } else {
            "NULL"
        },
    );
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query([])?;
    let mut n = 0;
    let mut current: Option<(Option<String>, Thread)> = None;
    while let Some(r) = rows.next()? {
        let id: String = r.get::<_, rusqlite::types::Value>(0).map(value_text)?;
        let model: Option<String> = r.get(1)?;
        let prompt: Option<String> = r.get(2)?;
        let response: Option<String> = r.get(3)?;
        let conv: Option<String> = r.get(4)?;
        let at = r
            .get::<_, Option<String>>(5)?
            .as_deref()
            .and_then(parse_time);
        let usage = Usage {
            tokens_in: r.get(6)?,
            tokens_out: r.get(7)?,
            latency_ms: None,
        };
        let title: Option<String> = r.get(8)?;
        // A response with no conversation is a conversation of its own.
        let key = conv.clone().unwrap_or_else(|| format!("response:{id}"));
        if current
            .as_ref()
            .is_none_or(|(k, _)| conv.is_none() || *k != conv)
        {
            if let Some((_, t)) = current.take() {
                n += 1;
                if !each(Ok(t)) {
                    return Ok(n);
                }
            }
            let t = Thread {
                origin: format!("llm:{key}"),
                title: title.unwrap_or_default(),
                created_at: at,
                ..Thread::default()
            };
            current = Some((conv.clone(), t));
        }
        let Some((_, t)) = current.as_mut() else {
            continue;
        };
        let last = t.nodes.len().checked_sub(1);
        t.nodes.push(Node {
            key: format!("{id}/prompt"),
            parent: last,
            role: Role::User,
            content: prompt.unwrap_or_default(),
            created_at: at,
            model: None,
            usage: Usage::default(),
        });
        t.nodes.push(Node {
            key: format!("{id}/response"),
            parent: Some(t.nodes.len() - 1),
            role: Role::Assistant,
            content: response.unwrap_or_default(),
            created_at: at,
            model,
            usage,
        });
    }
    if let Some((_, t)) = current.take() {
        n += 1;
        each(Ok(t));
    }
    Ok(n)
}

fn value_text(v: rusqlite::types::Value) -> String {
    use rusqlite::types::Value;
    match v {
        Value::Integer(i) => i.to_string(),
        Value::Text(s) => s,
        Value::Real(f) => f.to_string(),
        _ => String::new(),
    }
}

/// The message store: each thread is the chain of messages up to its tip.
fn read_threads(conn: &Connection, each: &mut Each<'_>) -> anyhow::Result<usize> {
    let mut stmt = conn.prepare(
        "SELECT id, name, tip_message_hash, datetime_utc FROM threads ORDER BY datetime_utc, rowid",
    )?;
    let mut rows = stmt.query([])?;
    let mut n = 0;
    while let Some(r) = rows.next()? {
        let id: String = r.get(0)?;
        let name: Option<String> = r.get(1)?;
        let tip: Option<String> = r.get(2)?;
        let at = r
            .get::<_, Option<String>>(3)?
            .as_deref()
            .and_then(parse_time);
        n += 1;
        let thread = thread(conn, &id, name, tip, at).map_err(|e| Skipped {
            at: format!("thread {id}"),
            reason: e.to_string(),
        });
        if !each(thread) {
            break;
        }
    }
    Ok(n)
}

/// What the turn that added a message says of it: time, model, tokens.
type Made = (Option<i64>, Option<String>, Usage);

fn thread(
    conn: &Connection,
    id: &str,
    name: Option<String>,
    tip: Option<String>,
    at: Option<i64>,
) -> rusqlite::Result<Thread> {
    // The chain, tip first; the bound stops a cycle in a damaged file.
    let mut chain: Vec<(String, String)> = Vec::new();
    let mut up = conn.prepare_cached("SELECT parent_hash, role FROM messages WHERE hash = ?1")?;
    let mut at_hash = tip;
    while let Some(h) = at_hash.take() {
        if chain.len() > 100_000 {
            break;
        }
        let Some((parent, role)) = up
            .query_row([&h], |r| {
                Ok((r.get::<_, Option<String>>(0)?, r.get::<_, String>(1)?))
            })
            .optional()?
        else {
            break;
        };
        chain.push((h, role));
        at_hash = parent;
    }
    chain.reverse();
    let place: HashMap<&str, usize> = chain
        .iter()
        .enumerate()
        .map(|(i, (h, _))| (h.as_str(), i))
        .collect();
    // Each turn added the messages after its parent, up to its tip.
    let mut made: Vec<Option<Made>> = vec![None; chain.len()];
    let mut turns = conn.prepare_cached(
        "SELECT parent_message_hash, tip_message_hash, model, datetime_utc, input_tokens, output_tokens
         FROM turns WHERE thread_id = ?1 ORDER BY datetime_utc, rowid",
    )?;
    let mut rows = turns.query(params![id])?;
    while let Some(r) = rows.next()? {
        let parent: Option<String> = r.get(0)?;
        let tip: Option<String> = r.get(1)?;
        let Some(&end) = tip.as_deref().and_then(|t| place.get(t)) else {
            continue;
        };
        let start = parent
            .as_deref()
            .and_then(|p| place.get(p))
            .map_or(0, |&i| i + 1);
        let t = r
            .get::<_, Option<String>>(3)?
            .as_deref()
            .and_then(parse_time);
        let usage = Usage {
            tokens_in: r.get(4)?,
            tokens_out: r.get(5)?,
            latency_ms: None,
        };
        let model: Option<String> = r.get(2)?;
        for slot in made.iter_mut().take(end + 1).skip(start) {
            if slot.is_none() {
                *slot = Some((t, model.clone(), usage.clone()));
            }
        }
    }
    let mut out = Thread {
        origin: format!("llm:{id}"),
        title: name.unwrap_or_default(),
        created_at: at,
        ..Thread::default()
    };
    for ((hash, role), made) in chain.iter().zip(made) {
        let role = match role.as_str() {
            "user" => Role::User,
            "assistant" => Role::Assistant,
            // system prompts and tool results
            _ => continue,
        };
        let (t, model, usage) = made.unwrap_or((None, None, Usage::default()));
        let assistant = role == Role::Assistant;
        let parent = out.nodes.len().checked_sub(1);
        out.nodes.push(Node {
            key: hash.clone(),
            parent,
            role,
            content: parts_text(conn, hash)?,
            created_at: t,
            model: if assistant { model } else { None },
            usage: if assistant { usage } else { Usage::default() },
        });
    }
    Ok(out)
}

/// A message's text parts in order (inline, or the fragments they borrow);
/// tool calls and attachments by name; reasoning left out.
fn parts_text(conn: &Connection, hash: &str) -> rusqlite::Result<String> {
    let mut parts = conn.prepare_cached(
        "SELECT id, type, tool_name, text FROM parts WHERE message_hash = ?1 ORDER BY position",
    )?;
    let mut frags = conn.prepare_cached(
        "SELECT f.content FROM part_fragments pf JOIN fragments f ON f.id = pf.fragment_id
         WHERE pf.part_id = ?1 ORDER BY pf.\"order\"",
    )?;
    let mut out: Vec<String> = Vec::new();
    let rows: Vec<(i64, String, Option<String>, Option<String>)> = parts
        .query_map([hash], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<Result<_, _>>()?;
    for (id, kind, tool, text) in rows {
        match kind.as_str() {
            "text" => match text {
                Some(t) => out.push(t),
                None => {
                    let f: Vec<String> = frags
                        .query_map([id], |r| r.get::<_, String>(0))?
                        .collect::<Result<_, _>>()?;
                    out.push(f.join(""));
                }
            },
            "tool_call" => out.push(format!("[tool call: {}]", tool.unwrap_or_default())),
            "attachment" => out.push("[attachment]".into()),
            _ => {}
        }
    }
    Ok(out.join("\n\n"))
}
