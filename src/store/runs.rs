//! Deep runs in the store: the writer's side (state after each step, the
//! documents read, the final status) and the readers' (a run to resume,
//! its documents, a session's research trees, the runs list).

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::StoreError;
use crate::domain::{
    MessageId, RunDocument, RunNote, RunRecord, RunStatus, RunSummary, RunTree, SessionId, now_ms,
};

/// Inserts or updates a run's state and tree.
pub(super) fn save(tx: &Transaction<'_>, r: &RunRecord) -> Result<(), StoreError> {
    let tree = serde_json::to_string(&r.tree).unwrap_or_else(|_| "{}".into());
    let now = now_ms();
    tx.prepare_cached(
        "INSERT INTO runs (message_id, session_id, question, status, state, tree, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)
         ON CONFLICT(message_id) DO UPDATE SET
             status = excluded.status, state = excluded.state, tree = excluded.tree,
             updated_at = excluded.updated_at",
    )?
    .execute(params![
        r.id.0,
        r.session.0,
        r.question,
        r.status.as_str(),
        r.state,
        tree,
        now
    ])?;
    Ok(())
}

/// The final status, when the report message ends (its state is kept).
pub(super) fn set_status(
    tx: &Transaction<'_>,
    id: MessageId,
    status: RunStatus,
) -> Result<(), StoreError> {
    tx.prepare_cached("UPDATE runs SET status = ?2, updated_at = ?3 WHERE message_id = ?1")?
        .execute(params![id.0, status.as_str(), now_ms()])?;
    Ok(())
}

/// Documents a run read; one already stored at that place is kept.
pub(super) fn save_documents(
    tx: &Transaction<'_>,
    run: MessageId,
    docs: &[RunDocument],
) -> Result<(), StoreError> {
    let mut st = tx.prepare_cached(
        "INSERT INTO run_documents (message_id, ord, kind, title, url, body, fetched_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING",
    )?;
    let now = now_ms();
    for d in docs {
        st.execute(params![run.0, d.ord, d.kind, d.title, d.url, d.body, now])?;
    }
    Ok(())
}

/// Notes a run kept; indexed for search by the table's trigger.
pub(super) fn save_notes(
    tx: &Transaction<'_>,
    run: MessageId,
    notes: &[RunNote],
) -> Result<(), StoreError> {
    let mut st = tx.prepare_cached(
        "INSERT INTO run_notes (message_id, heading, title, text) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for n in notes {
        st.execute(params![run.0, n.heading, n.title, n.text])?;
    }
    Ok(())
}

fn tree_of(json: &str) -> RunTree {
    serde_json::from_str(json).unwrap_or_default()
}

fn status_of(s: &str) -> RunStatus {
    RunStatus::parse(s).unwrap_or(RunStatus::Failed)
}

/// A stored run, to resume.
pub fn load(conn: &Connection, id: MessageId) -> Result<Option<RunRecord>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT session_id, question, status, state, tree FROM runs WHERE message_id = ?1",
        )?
        .query_row([id.0], |r| {
            Ok(RunRecord {
                id,
                session: SessionId(r.get(0)?),
                question: r.get(1)?,
                status: status_of(&r.get::<_, String>(2)?),
                state: r.get(3)?,
                tree: tree_of(&r.get::<_, String>(4)?),
            })
        })
        .optional()?)
}

/// The documents of a run, in the order it read them.
pub fn documents(conn: &Connection, id: MessageId) -> Result<Vec<RunDocument>, StoreError> {
    let mut st = conn.prepare_cached(
        "SELECT ord, kind, title, url, body FROM run_documents WHERE message_id = ?1 ORDER BY ord",
    )?;
    let rows = st.query_map([id.0], |r| {
        Ok(RunDocument {
            ord: r.get(0)?,
            kind: r.get(1)?,
            title: r.get(2)?,
            url: r.get(3)?,
            body: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The research trees of a session's runs, by report message.
pub fn trees(
    conn: &Connection,
    session: SessionId,
) -> Result<Vec<(MessageId, RunStatus, RunTree)>, StoreError> {
    let mut st =
        conn.prepare_cached("SELECT message_id, status, tree FROM runs WHERE session_id = ?1")?;
    let rows = st.query_map([session.0], |r| {
        Ok((
            MessageId(r.get(0)?),
            status_of(&r.get::<_, String>(1)?),
            tree_of(&r.get::<_, String>(2)?),
        ))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Runs, most recently active first; `unfinished` keeps those not complete.
pub fn list(
    conn: &Connection,
    limit: usize,
    unfinished: bool,
) -> Result<Vec<RunSummary>, StoreError> {
    let mut st = conn.prepare_cached(
        "SELECT r.message_id, r.session_id, r.question, r.status, r.created_at, r.updated_at,
                (SELECT count(*) FROM run_documents d WHERE d.message_id = r.message_id)
         FROM runs r WHERE (?2 = 0 OR r.status != 'complete')
         ORDER BY r.updated_at DESC LIMIT ?1",
    )?;
    let rows = st.query_map(params![limit as i64, unfinished as i64], |r| {
        Ok(RunSummary {
            id: MessageId(r.get(0)?),
            session: SessionId(r.get(1)?),
            question: r.get(2)?,
            status: status_of(&r.get::<_, String>(3)?),
            created_at: r.get(4)?,
            updated_at: r.get(5)?,
            documents: r.get::<_, i64>(6)? as usize,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
