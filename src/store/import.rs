//! Writing one imported conversation: idempotent by construction. The
//! session is found again by its origin; each message's id is derived from
//! its source id and time (see `import::ids`), so a message already here is
//! recognised and skipped, and a message new in a later export is added.

use std::collections::HashMap;

use rusqlite::{OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};

use super::StoreError;
use super::apply::Touched;
use crate::domain::{Message, Session, SessionId};

/// A conversation from another tool, ready to write: messages in tree order
/// (a parent before its children), ids proposed by the importer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImportedSession {
    pub session: Session,
    pub messages: Vec<ImportedMessage>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImportedMessage {
    pub message: Message,
    /// Not on the branch the other tool showed last.
    pub off_branch: bool,
}

/// Ids tried after a proposed one is taken by something else: a collision
/// needs the same millisecond and the same 22 hash bits, so a few suffice.
const PROBES: i64 = 64;

pub(super) fn apply(
    tx: &Transaction<'_>,
    s: &ImportedSession,
    touched: &mut Touched,
) -> Result<(), StoreError> {
    let session = session_id(tx, &s.session)?;
    // Proposed id → id written, for parents whose id had to move.
    let mut moved: HashMap<i64, i64> = HashMap::new();
    for m in &s.messages {
        let mut msg = m.message.clone();
        msg.session_id = session;
        msg.parent_id = msg
            .parent_id
            .map(|p| crate::domain::MessageId(moved.get(&p.0).copied().unwrap_or(p.0)));
        let proposed = msg.id.0;
        let id = write_message(tx, &mut msg, m.off_branch, touched)?;
        if id != proposed {
            moved.insert(proposed, id);
        }
    }
    Ok(())
}

/// The session this origin was imported as before, else a new row.
fn session_id(tx: &Transaction<'_>, s: &Session) -> Result<SessionId, StoreError> {
    let found: Option<i64> = tx
        .prepare_cached("SELECT id FROM sessions WHERE origin = ?1")?
        .query_row([&s.origin], |r| r.get(0))
        .optional()?;
    if let Some(id) = found {
        return Ok(SessionId(id));
    }
    let mut ins = tx.prepare_cached(
        "INSERT INTO sessions (id, created_at, updated_at, title, summary, model, origin)
         VALUES (?1, ?2, ?3, ?4, NULL, ?5, ?6) ON CONFLICT(id) DO NOTHING",
    )?;
    for id in s.id.0..s.id.0.saturating_add(PROBES) {
        let n = ins.execute(params![
            id,
            s.created_at,
            s.updated_at,
            s.title,
            s.model,
            s.origin
        ])?;
        if n == 1 {
            return Ok(SessionId(id));
        }
    }
    Err(StoreError::Import(format!(
        "no free id for imported session {:?}",
        s.origin
    )))
}

/// Writes `m` unless it is here already; returns the id it has.
fn write_message(
    tx: &Transaction<'_>,
    m: &mut Message,
    off_branch: bool,
    touched: &mut Touched,
) -> Result<i64, StoreError> {
    let mut ins = tx.prepare_cached(
        "INSERT INTO messages (id, session_id, parent_id, role, content, status, created_at, model,
                               tokens_in, tokens_out, latency_ms, error, off_branch)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, NULL, ?12)
         ON CONFLICT(id) DO NOTHING",
    )?;
    let mut same = tx.prepare_cached(
        "SELECT session_id = ?2 AND content = ?3, off_branch FROM messages WHERE id = ?1",
    )?;
    for id in m.id.0..m.id.0.saturating_add(PROBES) {
        let n = ins.execute(params![
            id,
            m.session_id.0,
            m.parent_id.map(|p| p.0),
            m.role.as_str(),
            m.content,
            m.status.as_str(),
            m.created_at,
            m.model,
            m.usage.tokens_in,
            m.usage.tokens_out,
            m.usage.latency_ms,
            off_branch
        ])?;
        if n == 1 {
            crate::store::search::stats::index_message(tx, id, &m.content)?;
            touched.indexed += 1;
            *touched.added.entry(m.session_id).or_default() += 1;
            let t = touched.at.entry(m.session_id).or_insert(m.created_at);
            *t = (*t).max(m.created_at);
            return Ok(id);
        }
        let (is_same, was_off): (bool, bool) = same
            .query_row(params![id, m.session_id.0, m.content], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?;
        if is_same {
            touched.not_added.count(&m.content);
            // Imported before; the other tool may show another branch now.
            if was_off != off_branch {
                tx.prepare_cached("UPDATE messages SET off_branch = ?2 WHERE id = ?1")?
                    .execute(params![id, off_branch])?;
            }
            return Ok(id);
        }
    }
    Err(StoreError::Import(format!(
        "no free id for an imported message near {}",
        m.id
    )))
}
