//! The non-interactive subcommands. Each writes to stdout only what was
//! asked for; errors return to `main`, which prints one line on stderr.

pub mod ask;
pub mod debug;
pub mod doctor;
pub mod history;
pub mod import;
pub mod library;
pub mod turn;

use std::path::Path;

use anyhow::Context;
use rusqlite::Connection;

/// A read-only connection for a command that only reads; None when there
/// is no database yet (a reading command never creates one: a mistyped
/// `--db` must not leave an empty file behind). A file of an older schema
/// is migrated first (reads assume the current one).
pub fn open_for_reading(db: &Path) -> anyhow::Result<Option<Connection>> {
    if !db.exists() {
        // A path that could never hold a database is still an error.
        if let Some(blocker) = db.ancestors().skip(1).find(|a| a.exists())
            && !blocker.is_dir()
        {
            return Err(crate::store::StoreError::Open {
                path: db.to_path_buf(),
                reason: format!("{} is not a directory", blocker.display()),
            }
            .into());
        }
        return Ok(None);
    }
    let conn =
        crate::store::open_reader(db).with_context(|| format!("opening {}", db.display()))?;
    if crate::store::schema::version(&conn)? < crate::store::schema::CURRENT_VERSION {
        drop(conn);
        crate::store::open_writer(db)?;
        return crate::store::open_reader(db)
            .with_context(|| format!("opening {}", db.display()))
            .map(Some);
    }
    Ok(Some(conn))
}

/// The error of a command that needs a database that does not exist.
pub fn no_database(db: &Path) -> anyhow::Error {
    anyhow::anyhow!(
        "no database at {} yet — ask something first, or check --db / SLEUTH_DB",
        db.display()
    )
}
