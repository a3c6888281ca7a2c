//! `sessions`, `show` and `export`.

use std::io::Write;
use std::path::Path;

use anyhow::Context;

use crate::cli::ExportFormat;
use crate::export::{self, format_time};
use crate::sanitize::one_line;
use crate::store::queries;

pub fn sessions(db: &Path, limit: usize, json: bool, out: &mut dyn Write) -> anyhow::Result<()> {
    let conn = super::open_for_reading(db)?;
    let list = queries::list_sessions(&conn, 0, limit, None)?;
    if json {
        serde_json::to_writer_pretty(&mut *out, &list)?;
        writeln!(out)?;
        return Ok(());
    }
    if list.is_empty() {
        writeln!(out, "No sessions yet. Start one with `sleuth`.")?;
        return Ok(());
    }
    writeln!(
        out,
        "{:<20}  {:<16}  {:>5}  TITLE",
        "ID", "LAST ACTIVE", "MSGS"
    )?;
    for s in &list {
        let mut title = one_line(&s.session.title);
        if title.chars().count() > 60 {
            title = title.chars().take(59).collect::<String>() + "…";
        }
        writeln!(
            out,
            "{:<20}  {:<16}  {:>5}  {}",
            s.session.id,
            format_time(s.session.updated_at),
            s.message_count,
            title
        )?;
    }
    Ok(())
}

pub fn show(db: &Path, session: &str, json: bool, out: &mut dyn Write) -> anyhow::Result<()> {
    let conn = super::open_for_reading(db)?;
    let s = queries::resolve_session(&conn, session)?;
    let messages = queries::transcript(&conn, s.id)?;
    if json {
        writeln!(out, "{}", export::json(&s, &messages)?)?;
    } else {
        write!(out, "{}", export::markdown(&s, &messages))?;
    }
    Ok(())
}

pub fn export(
    db: &Path,
    session: &str,
    format: ExportFormat,
    output: Option<&Path>,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let conn = super::open_for_reading(db)?;
    let s = queries::resolve_session(&conn, session)?;
    let messages = queries::transcript(&conn, s.id)?;
    let text = match format {
        ExportFormat::Markdown => export::markdown(&s, &messages),
        ExportFormat::Json => export::json(&s, &messages)? + "\n",
    };
    match output {
        Some(path) => std::fs::write(path, text)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => out.write_all(text.as_bytes())?,
    }
    Ok(())
}
