//! The non-interactive subcommands. Each writes to stdout only what was
//! asked for; errors return to `main`, which prints one line on stderr.

pub mod ask;
pub mod debug;
pub mod doctor;
pub mod history;

use std::path::Path;

use anyhow::Context;
use rusqlite::Connection;

/// A read-only connection for a command that only reads. A missing database
/// is created (empty) first, so `sleuth sessions` on a fresh machine says
/// "no sessions" rather than failing; a file of an older schema is
/// migrated first (reads assume the current one).
pub fn open_for_reading(db: &Path) -> anyhow::Result<Connection> {
    if !db.exists() {
        crate::store::open_writer(db)?;
    }
    let conn =
        crate::store::open_reader(db).with_context(|| format!("opening {}", db.display()))?;
    if crate::store::schema::version(&conn)? < crate::store::schema::CURRENT_VERSION {
        drop(conn);
        crate::store::open_writer(db)?;
        return crate::store::open_reader(db).with_context(|| format!("opening {}", db.display()));
    }
    Ok(conn)
}
