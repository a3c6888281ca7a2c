//! What one batch of store commands does to the database, in one
//! transaction: the SQL of each command, and the per-session bookkeeping
//! (last activity, message counts) written once per batch.

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use super::StoreError;
use super::search::stats::BatchTerms;
use super::writer::StoreCommand;
use crate::domain::{Message, SessionId};

/// Writes a batch in one transaction. Returns its terms, counted for the
/// stored statistics: the writer adds them when its queue empties (one
/// fold for a burst of batches, not one per batch); the statistics are
/// marked dirty meanwhile, in this same transaction.
pub(super) fn write_batch<'a>(
    conn: &mut Connection,
    cmds: impl Iterator<Item = &'a StoreCommand>,
) -> Result<Counted, StoreError> {
    let cmds: Vec<&StoreCommand> = cmds.collect();
    // IMMEDIATE takes the write lock up front, so a second process makes us
    // wait (busy_timeout) instead of failing on a lock upgrade.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Sessions touched by this batch and their newest message time: one
    // update per session per batch rather than one per message.
    let mut touched = Touched::default();
    // The terms of the messages the batch may add are counted beside the
    // SQL, on another core when there is much text (an import, a burst).
    let added = {
        let count = || {
            let mut terms = BatchTerms::default();
            for c in &cmds {
                for_each_new_text(c, &mut |t| {
                    terms.count(t);
                });
            }
            terms
        };
        let mut bytes = 0;
        for c in &cmds {
            for_each_new_text(c, &mut |t| bytes += t.len());
        }
        std::thread::scope(|scope| {
            let helper = (bytes > PARALLEL_COUNT_BYTES)
                .then(|| {
                    std::thread::Builder::new()
                        .name("store-terms".into())
                        .spawn_scoped(scope, count)
                        .ok()
                })
                .flatten();
            for cmd in &cmds {
                apply(&tx, cmd, &mut touched)?;
            }
            Ok::<_, StoreError>(match helper {
                Some(h) => h.join().unwrap_or_else(|_| {
                    tracing::error!("term counting thread panicked; counting here");
                    count()
                }),
                None => count(),
            })
        })?
    };
    let mut touch = tx.prepare_cached(
        "UPDATE sessions SET updated_at = max(updated_at, ?2), message_count = message_count + ?3
         WHERE id = ?1",
    )?;
    for (session, at) in &touched.at {
        let added = touched.added.get(session).copied().unwrap_or(0);
        touch.execute(params![session.0, at, added])?;
    }
    drop(touch);
    // Dirty: the process that holds counts not added yet.
    tx.prepare_cached("UPDATE term_stats_state SET dirty = ?1 WHERE dirty = 0")?
        .execute([std::process::id()])?;
    tx.commit()?;
    Ok(Counted {
        added,
        not_added: touched.not_added,
        indexed: touched.indexed,
    })
}

/// A batch's terms for the statistics, until the writer adds them.
#[derive(Default)]
pub(super) struct Counted {
    pub added: BatchTerms,
    pub not_added: BatchTerms,
    pub indexed: i64,
}

impl Counted {
    pub fn merge(&mut self, other: Counted) {
        self.added.merge(other.added);
        self.not_added.merge(other.not_added);
        self.indexed += other.indexed;
    }
}

/// Adds what was counted since the last time to the stored statistics.
pub(super) fn fold(conn: &mut Connection, counted: Counted) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    super::search::stats::fold_batch(&tx, counted.added, counted.not_added, counted.indexed)?;
    tx.execute(
        "UPDATE term_stats_state SET dirty = 0 WHERE dirty = ?1",
        [std::process::id()],
    )?;
    tx.commit()?;
    Ok(())
}

/// Text of more than this is counted on a thread of its own.
const PARALLEL_COUNT_BYTES: usize = 256 * 1024;

/// The text of every message `cmd` may add to the index (it adds those
/// whose id is new: see `Touched::not_added`).
fn for_each_new_text(cmd: &StoreCommand, f: &mut dyn FnMut(&str)) {
    match cmd {
        StoreCommand::AppendMessage(m) | StoreCommand::FinishTurn { message: m, .. } => {
            f(&m.content)
        }
        StoreCommand::Import(s) => s.messages.iter().for_each(|m| f(&m.message.content)),
        _ => {}
    }
}

/// What a batch did to its sessions, written once per session at commit.
#[derive(Default)]
pub(super) struct Touched {
    /// Newest message time per session (its last activity).
    pub at: HashMap<SessionId, i64>,
    /// New messages per session (the stored count shown on the sessions
    /// screen, kept here so a page never counts rows).
    pub added: HashMap<SessionId, i64>,
    /// Messages indexed.
    pub indexed: i64,
    /// The terms of messages the batch might have added but did not (they
    /// existed): subtracted from what was counted for the statistics.
    pub not_added: BatchTerms,
}

fn apply(
    tx: &Transaction<'_>,
    cmd: &StoreCommand,
    touched: &mut Touched,
) -> Result<(), StoreError> {
    match cmd {
        StoreCommand::CreateSession(s) => {
            tx.prepare_cached(
                "INSERT INTO sessions (id, created_at, updated_at, title, summary, model, settings)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(id) DO NOTHING",
            )?
            .execute(params![
                s.id.0,
                s.created_at,
                s.updated_at,
                s.title,
                s.summary,
                s.model,
                settings_json(&s.settings)
            ])?;
        }
        StoreCommand::AppendMessage(m) => {
            upsert_message(tx, m, touched)?;
        }
        StoreCommand::Checkpoint { id, content } => {
            tx.prepare_cached(
                "UPDATE messages SET content = ?2 WHERE id = ?1 AND status = 'streaming'",
            )?
            .execute(params![id.0, content])?;
        }
        StoreCommand::FinishTurn { message, sources } => {
            // Only a replaced message can have old sources. Skipping the
            // DELETE matters: a statement with triggers opens a savepoint,
            // which flushes FTS5's pending terms (see schema.rs).
            if upsert_message(tx, message, touched)? {
                tx.prepare_cached("DELETE FROM sources WHERE message_id = ?1")?
                    .execute(params![message.id.0])?;
            }
            let mut ins = tx.prepare_cached(
                "INSERT INTO sources (message_id, ordinal, kind, title, url, excerpt, relevance, fetched_at, section, meta)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?;
            let mut fts = tx.prepare_cached(
                "INSERT INTO sources_fts (rowid, title, excerpt) VALUES (?1, ?2, ?3)",
            )?;
            for s in sources {
                ins.execute(params![
                    message.id.0,
                    s.ordinal,
                    s.kind,
                    s.title,
                    s.url,
                    s.excerpt,
                    s.relevance,
                    s.fetched_at,
                    s.section,
                    meta_json(&s.meta)
                ])?;
                fts.execute(params![tx.last_insert_rowid(), s.title, s.excerpt])?;
            }
        }
        StoreCommand::Rename { session, title } => {
            // A new name is not activity: the session keeps its place in
            // the list (issue 15).
            tx.prepare_cached("UPDATE sessions SET title = ?2 WHERE id = ?1")?
                .execute(params![session.0, title])?;
        }
        StoreCommand::SetSettings { session, settings } => {
            tx.prepare_cached("UPDATE sessions SET settings = ?2 WHERE id = ?1")?
                .execute(params![session.0, settings_json(settings)])?;
        }
        StoreCommand::SetClaims { message, check } => {
            let checked = serde_json::to_string(check.as_ref())
                .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
            tx.prepare_cached(
                "INSERT OR REPLACE INTO claims
                     (message_id, checked, supported, partial, unsupported, uncited)
                 SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE EXISTS (SELECT 1 FROM messages WHERE id = ?1)",
            )?
            .execute(params![
                message.0,
                checked,
                check.supported as i64,
                check.partial as i64,
                check.unsupported as i64,
                check.uncited as i64
            ])?;
        }
        StoreCommand::SetSummary { session, summary } => {
            tx.prepare_cached("UPDATE sessions SET summary = ?2 WHERE id = ?1")?
                .execute(params![session.0, summary])?;
        }
        StoreCommand::Delete { session } => {
            // Foreign keys cascade to messages and sources; their delete
            // triggers remove the index entries in this same transaction.
            tx.prepare_cached("DELETE FROM sessions WHERE id = ?1")?
                .execute(params![session.0])?;
            touched.at.remove(session);
            touched.added.remove(session);
        }
        StoreCommand::SaveRun(r) => super::runs::save(tx, r)?,
        StoreCommand::SaveRunDocuments { run, docs } => {
            super::runs::save_documents(tx, *run, docs)?
        }
        StoreCommand::RunStatus { run, status } => super::runs::set_status(tx, *run, *status)?,
        StoreCommand::SaveRunNotes { run, notes } => super::runs::save_notes(tx, *run, notes)?,
        StoreCommand::Import(s) => super::import::apply(tx, s, touched)?,
        StoreCommand::SwitchBranch { from, step } => switch_branch(tx, *from, *step)?,
        StoreCommand::Shelve { message } => shelve(tx, *message)?,
    }
    Ok(())
}

/// Inserts a new message (indexing it) or updates an existing one (its
/// update trigger re-indexes). Returns whether it existed.
fn upsert_message(
    tx: &Transaction<'_>,
    m: &Message,
    touched: &mut Touched,
) -> Result<bool, StoreError> {
    let exists = tx
        .prepare_cached("SELECT 1 FROM messages WHERE id = ?1")?
        .exists(params![m.id.0])?;
    if exists {
        touched.not_added.count(&m.content);
        tx.prepare_cached(
            "UPDATE messages SET content = ?2, status = ?3, model = ?4, tokens_in = ?5,
                    tokens_out = ?6, latency_ms = ?7, error = ?8
             WHERE id = ?1",
        )?
        .execute(params![
            m.id.0,
            m.content,
            m.status.as_str(),
            m.model,
            m.usage.tokens_in,
            m.usage.tokens_out,
            m.usage.latency_ms,
            m.error
        ])?;
    } else {
        tx.prepare_cached(
            "INSERT INTO messages (id, session_id, parent_id, role, content, status, created_at, model,
                                   tokens_in, tokens_out, latency_ms, error)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        )?
        .execute(params![
            m.id.0,
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
            m.error
        ])?;
        super::search::stats::index_message(tx, m.id.0, &m.content)?;
        touched.indexed += 1;
        *touched.added.entry(m.session_id).or_default() += 1;
        if let Some(parent) = m.parent_id {
            shelve_siblings(tx, parent, m.id)?;
        }
    }
    // Only a message that existed can have been streaming: bulk inserts of
    // finished messages skip the registry.
    if exists || m.status == crate::domain::MessageStatus::Streaming {
        super::orphans::track(tx, m)?;
    }
    let t = touched.at.entry(m.session_id).or_insert(m.created_at);
    *t = (*t).max(m.created_at);
    Ok(exists)
}

/// Settings as stored: NULL when all are the default.
fn settings_json(s: &crate::domain::SessionSettings) -> Option<String> {
    (!s.is_default())
        .then(|| serde_json::to_string(s).ok())
        .flatten()
}

/// A new message under `parent` starts the branch shown: its siblings
/// (an answer regenerated, a question edited) and everything after them
/// leave it. Nothing to do on a plain append (no sibling).
fn shelve_siblings(
    tx: &Transaction<'_>,
    parent: crate::domain::MessageId,
    new: crate::domain::MessageId,
) -> Result<(), StoreError> {
    // Most appends have no sibling. Ask first with a plain read: an UPDATE
    // on messages (a table with triggers) opens a statement savepoint,
    // which flushes FTS5's pending terms on every row (3× slower bulk
    // writes, measured).
    let siblings: Vec<i64> = tx
        .prepare_cached(
            "SELECT id FROM messages WHERE parent_id = ?1 AND id != ?2 AND off_branch = 0",
        )?
        .query_map(params![parent.0, new.0], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for id in siblings {
        shelve(tx, crate::domain::MessageId(id))?;
    }
    Ok(())
}

/// `from` and everything below it leave the branch shown.
fn shelve(tx: &Transaction<'_>, from: crate::domain::MessageId) -> Result<(), StoreError> {
    tx.prepare_cached(
        "WITH RECURSIVE below(id) AS (
             SELECT ?1
             UNION ALL
             SELECT m.id FROM messages m JOIN below ON m.parent_id = below.id
         )
         UPDATE messages SET off_branch = 1 WHERE id IN below",
    )?
    .execute(params![from.0])?;
    Ok(())
}

fn switch_branch(
    tx: &Transaction<'_>,
    from: crate::domain::MessageId,
    step: i8,
) -> Result<(), StoreError> {
    let siblings: Vec<i64> = tx
        .prepare_cached(
            "SELECT id FROM messages
             WHERE session_id = (SELECT session_id FROM messages WHERE id = ?1)
               AND parent_id IS (SELECT parent_id FROM messages WHERE id = ?1)
               AND (parent_id IS NOT NULL OR role = 'user')
             ORDER BY created_at, id",
        )?
        .query_map(params![from.0], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let Some(at) = siblings.iter().position(|&id| id == from.0) else {
        return Ok(());
    };
    let Some(&to) = at
        .checked_add_signed(isize::from(step))
        .and_then(|i| siblings.get(i))
    else {
        return Ok(());
    };
    shelve(tx, from)?;
    // The sibling, then its newest child at each level.
    let mut on = tx.prepare_cached("UPDATE messages SET off_branch = 0 WHERE id = ?1")?;
    let mut newest = tx.prepare_cached(
        "SELECT id FROM messages WHERE parent_id = ?1 ORDER BY created_at DESC, id DESC LIMIT 1",
    )?;
    let mut at = Some(to);
    let mut steps = 0;
    while let Some(id) = at {
        on.execute(params![id])?;
        steps += 1;
        // A damaged tree with a cycle stops here.
        if steps > 1_000_000 {
            break;
        }
        at = newest.query_row(params![id], |r| r.get(0)).optional()?;
    }
    Ok(())
}

/// A source's metadata as stored: NULL when it has none.
fn meta_json(m: &crate::domain::SourceMeta) -> Option<String> {
    (!m.is_empty())
        .then(|| serde_json::to_string(m).ok())
        .flatten()
}
