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

static DB_NAMED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether `--db` named the database on the command line (set once, at
/// start).
pub fn db_named_on_command_line(named: bool) {
    DB_NAMED.store(named, std::sync::atomic::Ordering::Relaxed);
}

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
        if DB_NAMED.load(std::sync::atomic::Ordering::Relaxed) {
            anyhow::bail!(
                "there is no database at {} (named by --db) — check the path",
                db.display()
            );
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
