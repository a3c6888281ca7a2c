//! Answers left `streaming` by a sleuth that died (crash, kill -9, power
//! loss): the writer records which process streams each answer, and the
//! next writer to start marks those of dead processes interrupted (their
//! text up to the last checkpoint is kept), with their deep runs.

use rusqlite::{Connection, Transaction, TransactionBehavior, params};

use super::StoreError;
use crate::domain::{Message, MessageStatus};

/// Keeps the registry in step with a message just written.
pub(super) fn track(tx: &Transaction<'_>, m: &Message) -> Result<(), StoreError> {
    if m.status == MessageStatus::Streaming {
        tx.prepare_cached("INSERT OR REPLACE INTO streaming (message_id, pid) VALUES (?1, ?2)")?
            .execute(params![m.id.0, std::process::id()])?;
    } else {
        tx.prepare_cached("DELETE FROM streaming WHERE message_id = ?1")?
            .execute([m.id.0])?;
    }
    Ok(())
}

/// Whether process `pid` is alive (on this machine). Unknown means alive:
/// an answer another sleuth may still be writing is never touched.
pub(crate) fn alive(pid: i64) -> bool {
    if pid <= 0 {
        return false;
    }
    if pid == i64::from(std::process::id()) {
        return true;
    }
    #[cfg(unix)]
    {
        let Some(p) = i32::try_from(pid)
            .ok()
            .and_then(rustix::process::Pid::from_raw)
        else {
            return false;
        };
        // Signal 0 sends nothing; it only checks that the process exists
        // (EPERM: it exists, owned by someone else).
        match rustix::process::test_kill_process(p) {
            Ok(()) => true,
            Err(e) => e == rustix::io::Errno::PERM,
        }
    }
    #[cfg(not(unix))]
    {
        true
    }
}

/// Marks the answers of dead writers interrupted; returns how many.
pub fn repair(conn: &mut Connection) -> Result<usize, StoreError> {
    let dead: Vec<i64> = {
        let mut st = conn.prepare("SELECT message_id, pid FROM streaming")?;
        let rows = st.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))?;
        rows.filter_map(Result::ok)
            .filter(|(_, pid)| !alive(*pid))
            .map(|(id, _)| id)
            .collect()
    };
    if dead.is_empty() {
        return Ok(0);
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    for id in &dead {
        tx.execute(
            "UPDATE messages SET status = 'interrupted' WHERE id = ?1 AND status = 'streaming'",
            [id],
        )?;
        tx.execute(
            "UPDATE runs SET status = 'interrupted' WHERE message_id = ?1 AND status = 'running'",
            [id],
        )?;
        tx.execute("DELETE FROM streaming WHERE message_id = ?1", [id])?;
    }
    tx.commit()?;
    Ok(dead.len())
}
