//! The database file as the writer last left it (issue 23) and the WAL
//! it writes to (issue 24): checked before each commit, so that a file
//! another program replaced, removed or changed is never written, and a
//! WAL removed under the writer is noticed before more goes into it.

use rusqlite::Connection;

/// The database file as this writer last left it: a file replaced,
/// removed or changed by another program while sleuth runs stops the
/// writes (they are kept) before one lands in it.
#[derive(Default)]
pub(super) struct Watch {
    db: Option<std::path::PathBuf>,
    registration: Option<super::health::Registration>,
    /// After this writer's last commit (or its start).
    seen: Option<super::health::Stamp>,
    /// Nothing more is written: the file is not vouched for at close.
    pub(super) refused: bool,
    /// The WAL this writer's connection writes to, once it exists.
    wal: Option<(u64, u64)>,
}

impl Watch {
    pub(super) fn of(
        db: Option<&std::path::Path>,
        registration: Option<super::health::Registration>,
    ) -> Watch {
        Watch {
            db: db.map(std::path::Path::to_path_buf),
            seen: db.and_then(super::health::stamp),
            registration,
            refused: false,
            wal: None,
        }
    }

    /// Before a commit: the file must be as this writer (or another
    /// sleuth writer, by its record) left it. The returned hold keeps the
    /// record locked until [`Watch::after`].
    pub(super) fn before(&mut self) -> Result<Option<super::health::Held>, String> {
        let (Some(db), Some(seen)) = (self.db.as_deref(), self.seen) else {
            return Ok(None);
        };
        let held = self.registration.as_ref().and_then(|r| r.hold().ok());
        let shown = db.display();
        let Some(now) = super::health::stamp(db) else {
            self.refused = true;
            return Err(format!(
                "the database {shown} was removed while sleuth ran; nothing more is written (unsaved writes go to the recovery file)"
            ));
        };
        if (now.dev, now.ino) != (seen.dev, seen.ino) {
            self.refused = true;
            return Err(format!(
                "the database {shown} was replaced by another file while sleuth ran; nothing more is written to either (unsaved writes go to the recovery file)"
            ));
        }
        if (now.len, now.mtime_ns) != (seen.len, seen.mtime_ns) {
            let by_sleuth = held
                .as_ref()
                .and_then(|h| h.latest())
                .is_some_and(|l| (l.len, l.mtime_ns, l.ino) == (now.len, now.mtime_ns, now.ino));
            if !by_sleuth {
                self.refused = true;
                return Err(format!(
                    "the database {shown} was changed by another program while sleuth ran; nothing more is written (unsaved writes go to the recovery file)"
                ));
            }
            self.seen = Some(now);
        }
        Ok(held)
    }

    fn wal_identity(&self) -> Option<(u64, u64)> {
        super::health::identity(&super::health::wal_path(self.db.as_deref()?))
    }

    /// Whether the WAL this writer writes to was removed or replaced by
    /// another program: its writes would go to a file no other connection
    /// sees, and another sleuth would start a second WAL beside it.
    pub(super) fn wal_lost(&self) -> bool {
        self.wal
            .is_some_and(|known| self.wal_identity() != Some(known))
    }

    /// The writer has moved to a new WAL; it is learnt after the next write.
    pub(super) fn wal_renewed(&mut self) {
        self.wal = None;
    }

    /// After a commit (or any write): notes the file as this writer left
    /// it, for itself and, when its checkpoint changed it, for the others.
    pub(super) fn after(&mut self, held: Option<super::health::Held>) {
        if self.wal.is_none() {
            self.wal = self.wal_identity();
        }
        let now = self.db.as_deref().and_then(super::health::stamp);
        let changed = now.map(|n| (n.len, n.mtime_ns)) != self.seen.map(|s| (s.len, s.mtime_ns));
        if let (true, Some(h), Some(n)) = (changed, held, now)
            && let Err(e) = h.set_latest(n)
        {
            tracing::warn!(error = %e, "cannot note the database's new state");
        }
        self.seen = now;
    }

    /// Closes the connection; on a clean close the WAL is emptied first and
    /// the file stamped as left, so the next start need not check it.
    pub(super) fn close(self, conn: Connection) {
        if self.refused {
            // A file this writer does not trust is left as it is: no
            // checkpoint into it, and no WAL removed by name.
            if let Err(e) = conn.set_db_config(
                rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
                true,
            ) {
                tracing::warn!(error = %e, "cannot turn the checkpoint on close off");
            }
            drop(conn);
            if let Some(r) = self.registration {
                r.abandon();
            }
            return;
        }
        // The checkpoint changes the file: under the record's lock, with
        // the new stamp noted, so a writer still running sees it was ours.
        let held = self.registration.as_ref().and_then(|r| r.hold().ok());
        if let Err(e) = conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)") {
            tracing::info!(error = %e, "WAL not emptied at close");
        }
        if let Err((_, e)) = conn.close() {
            tracing::warn!(error = %e, "database not closed cleanly");
        }
        if let (Some(h), Some(now)) = (held, self.db.as_deref().and_then(super::health::stamp))
            && let Err(e) = h.set_latest(now)
        {
            tracing::warn!(error = %e, "cannot note the database's state at close");
        }
        if let Some(r) = self.registration {
            r.close();
        }
    }
}
