//! `sessions`, `show` and `export`.

use std::io::Write;
use std::path::Path;

use anyhow::Context;

use crate::cli::ExportFormat;
use crate::export;
use crate::store::queries;
use crate::text::format_time;
use crate::text::sanitize::one_line;

pub fn sessions(db: &Path, limit: usize, json: bool, out: &mut dyn Write) -> anyhow::Result<()> {
    // No database yet: no sessions (and no file made for a mistyped --db).
    let (list, total) = match super::open_for_reading(db)? {
        Some(conn) => (
            queries::list_sessions(&conn, 0, limit, None)?,
            queries::count_sessions(&conn)?,
        ),
        None => (Vec::new(), 0),
    };
    if json {
        write!(out, "{}", crate::text::sanitize::to_json_pretty(&list)?)?;
        writeln!(out)?;
        return Ok(());
    }
    if list.is_empty() {
        writeln!(out, "No sessions yet. Start one with `sleuth`.")?;
        return Ok(());
    }
    // Ids are padded as strings: the id type's Display ignores widths.
    let ids: Vec<String> = list.iter().map(|s| s.session.id.to_string()).collect();
    let w = ids.iter().map(String::len).max().unwrap_or(2).max(2);
    writeln!(
        out,
        "{:<w$}  {:<16}  {:>5}  TITLE",
        "ID", "LAST ACTIVE", "MSGS"
    )?;
    for (s, id) in list.iter().zip(&ids) {
        let mut title = crate::text::truncate(&one_line(&s.session.title), 60);
        if let Some(o) = s.session.origin.as_deref() {
            title.push_str(&format!("  ({})", crate::domain::origin_label(o)));
        }
        writeln!(
            out,
            "{id:<w$}  {:<16}  {:>5}  {}",
            format_time(s.session.updated_at),
            s.message_count,
            title
        )?;
    }
    let total = usize::try_from(total).unwrap_or(usize::MAX);
    if total > list.len() {
        writeln!(
            out,
            "{} of {} sessions (--limit N for more; `show ID` takes a unique id prefix or `latest`)",
            list.len(),
            total
        )?;
    } else {
        writeln!(out, "{}", crate::text::plural(total as u64, "session"))?;
    }
    Ok(())
}

pub fn show(db: &Path, session: &str, json: bool, out: &mut dyn Write) -> anyhow::Result<()> {
    let conn = super::open_for_reading(db)?.ok_or_else(|| super::no_database(db))?;
    let s = queries::resolve_session(&conn, session)?;
    let messages = queries::transcript(&conn, s.id)?;
    let others = queries::other_branches(&conn, s.id)?;
    if json {
        writeln!(out, "{}", export::json(&s, &messages, others)?)?;
    } else {
        write!(out, "{}", export::markdown(&s, &messages, others))?;
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
    let conn = super::open_for_reading(db)?.ok_or_else(|| super::no_database(db))?;
    let s = queries::resolve_session(&conn, session)?;
    let messages = queries::transcript(&conn, s.id)?;
    let others = queries::other_branches(&conn, s.id)?;
    use crate::references::{bibtex, collect, csl, ris};
    let text = match format {
        ExportFormat::Markdown => export::markdown(&s, &messages, others),
        ExportFormat::Json => export::json(&s, &messages, others)? + "\n",
        ExportFormat::Bibtex => bibtex::write(&collect(&messages).0),
        ExportFormat::CslJson => csl::write(&collect(&messages).0)? + "\n",
        ExportFormat::Ris => ris::write(&collect(&messages).0),
        ExportFormat::Pandoc => match output {
            // The bibliography beside the document: FILE.json for FILE.md.
            Some(path) => {
                let bib = path.with_extension("json");
                if bib == path {
                    anyhow::bail!(
                        "the pandoc document's bibliography is written beside it as FILE.json: name the document FILE.md, not {}",
                        path.display()
                    );
                }
                let name = bib
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let items = csl::write(&collect(&messages).0)? + "\n";
                std::fs::write(&bib, items)
                    .with_context(|| format!("cannot write {}", bib.display()))?;
                export::pandoc(&s, &messages, Some(&name))?
            }
            None => export::pandoc(&s, &messages, None)?,
        },
    };
    match output {
        Some(path) => std::fs::write(path, text)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => out.write_all(text.as_bytes())?,
    }
    Ok(())
}

pub fn search(
    db: &Path,
    query: &str,
    limit: usize,
    json: bool,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    use std::io::IsTerminal;

    use crate::store::search::{Query, render_snippet, search_pass};
    let q = Query::parse(query, false).map_err(anyhow::Error::msg)?;
    if q.fts().is_none() {
        anyhow::bail!(
            "nothing to search for in \"{}\" — give at least one word",
            crate::text::sanitize::one_line(query)
        );
    }
    let Some(conn) = super::open_for_reading(db)? else {
        // No database yet: nothing matches.
        if json {
            writeln!(out, "[]")?;
        } else {
            writeln!(out, "No matches.")?;
        }
        return Ok(());
    };
    // One query, not a keystroke: rank the deeper candidate set at once.
    let (hits, _) = search_pass(
        &conn,
        &q,
        limit.max(1),
        crate::store::search::Statistics::Stored,
        &|| false,
        crate::store::search::DEEP_CANDIDATES,
    )?;
    if json {
        let v: Vec<serde_json::Value> = hits
            .iter()
            .map(|h| {
                let mut v = serde_json::json!({
                    "session": h.session, "session_title": h.session_title, "message": h.message,
                    "role": h.role, "date": format_time(h.created_at), "created_at": h.created_at,
                    "snippet": render_snippet(&h.snippet, "", ""), "score": h.score, "matched": h.matched,
                });
                if let Some(o) = &h.origin {
                    v["origin"] = o.as_str().into();
                }
                v
            })
            .collect();
        write!(out, "{}", crate::text::sanitize::to_json_pretty(&v)?)?;
        writeln!(out)?;
        return Ok(());
    }
    if hits.is_empty() {
        writeln!(out, "No matches.")?;
        return Ok(());
    }
    let (on, off) = if std::io::stdout().is_terminal() {
        ("\x1b[1m", "\x1b[0m")
    } else {
        ("", "")
    };
    for h in &hits {
        writeln!(
            out,
            "{}  {:<9}  {}  (session {}{})",
            format_time(h.created_at),
            h.role.as_str(),
            one_line(&h.session_title),
            h.session,
            h.origin
                .as_deref()
                .map(|o| format!(", {}", crate::domain::origin_label(o)))
                .unwrap_or_default()
        )?;
        writeln!(out, "    {}", render_snippet(&h.snippet, on, off))?;
    }
    Ok(())
}

/// `sleuth runs`: deep runs, most recently active first.
pub fn runs(
    db: &Path,
    limit: usize,
    unfinished: bool,
    json: bool,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let list = match super::open_for_reading(db)? {
        Some(conn) => crate::store::runs::list(&conn, limit, unfinished)?,
        None => Vec::new(),
    };
    if json {
        writeln!(out, "{}", crate::text::sanitize::to_json_pretty(&list)?)?;
        return Ok(());
    }
    if list.is_empty() && unfinished {
        writeln!(out, "No unfinished deep runs.")?;
        return Ok(());
    }
    if list.is_empty() {
        writeln!(
            out,
            "No deep runs yet. Start one with `sleuth ask --deep QUESTION` or /deep in the app."
        )?;
        return Ok(());
    }
    writeln!(
        out,
        "{:<20}  {:<16}  {:<11}  {:>4}  QUESTION",
        "RUN", "LAST ACTIVE", "STATUS", "DOCS"
    )?;
    for r in &list {
        let mut q = one_line(&r.question);
        if q.chars().count() > 60 {
            q = q.chars().take(59).collect::<String>() + "…";
        }
        // A run still "running" here is either live in another sleuth or
        // was killed; either way `--resume` continues it.
        let status = match r.status {
            crate::domain::RunStatus::Running => "unfinished",
            s => s.as_str(),
        };
        writeln!(
            out,
            "{:<20}  {:<16}  {:<11}  {:>4}  {}",
            // As a string: the id type's Display ignores widths.
            r.id.to_string(),
            format_time(r.updated_at),
            status,
            r.documents,
            q
        )?;
    }
    Ok(())
}
