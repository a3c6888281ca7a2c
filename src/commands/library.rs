//! `sleuth library add|list|remove|reindex|status|search`: the folders of
//! papers and notes research reads, indexed before the command returns.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::Serialize;

use crate::cli::LibraryCommand;
use crate::config::Config;
use crate::library::index::{self, Index};
use crate::library::indexer::{self, Options, Progress, Report};
use crate::library::settings::{self, Folder, LibraryConfig};
use crate::library::vectors;
use crate::text::plural;
use crate::text::sanitize::one_line;

pub fn run(config: &Config, cmd: LibraryCommand, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let cfg = &config.library;
    let index_now = |cfg: &LibraryConfig, under, json, out: &mut dyn Write| {
        index_now(cfg, &vectors::Plan::of(config), under, json, out)
    };
    match cmd {
        LibraryCommand::Add {
            paths,
            exclude,
            json,
        } => {
            add(cfg, &paths, &exclude)?;
            index_now(cfg, None, json, out)
        }
        LibraryCommand::List { json } => list(cfg, json, out),
        LibraryCommand::Remove { path, json } => {
            remove(cfg, &path)?;
            index_now(cfg, None, json, out)
        }
        LibraryCommand::Reindex { path, json } => {
            let under = match path {
                Some(p) => absolute(&p)?.to_string_lossy().into_owned(),
                None => String::new(),
            };
            index_now(cfg, Some(under), json, out)
        }
        LibraryCommand::Status { json } => status(cfg, json, out),
        LibraryCommand::Search { query, limit, json } => search(cfg, &query, limit, json, out),
    }
}

/// A path as the index keys it: absolute, with `..` and links resolved.
fn absolute(p: &Path) -> anyhow::Result<PathBuf> {
    std::fs::canonicalize(p).with_context(|| format!("{}", p.display()))
}

/// Registers the folders (the scan follows).
fn add(cfg: &LibraryConfig, paths: &[PathBuf], exclude: &[String]) -> anyhow::Result<()> {
    for g in exclude {
        globset::Glob::new(g).with_context(|| format!("exclude pattern {g:?}"))?;
    }
    let file = cfg.folders_file();
    let mut folders = settings::read_folders(&file).map_err(anyhow::Error::msg)?;
    for p in paths {
        let path = absolute(p)?;
        match folders.iter_mut().find(|f| f.path == path) {
            Some(f) => {
                for g in exclude {
                    if !f.exclude.contains(g) {
                        f.exclude.push(g.clone());
                    }
                }
            }
            None => folders.push(Folder {
                path,
                exclude: exclude.to_vec(),
            }),
        }
    }
    settings::write_folders(&file, &folders).map_err(anyhow::Error::msg)
}

/// Unregisters a folder (the scan that follows drops its passages).
fn remove(cfg: &LibraryConfig, path: &Path) -> anyhow::Result<()> {
    let file = cfg.folders_file();
    let mut folders = settings::read_folders(&file).map_err(anyhow::Error::msg)?;
    // A folder that is gone from disk is removed by the name it was added as.
    let key = absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let before = folders.len();
    folders.retain(|f| f.path != key && f.path != path);
    if folders.len() == before {
        if cfg.paths.iter().any(|p| p == path || *p == key) {
            anyhow::bail!(
                "{} is in the config's [library] paths; remove it there",
                path.display()
            );
        }
        anyhow::bail!(
            "{} is not in the library (see `sleuth library list`)",
            path.display()
        );
    }
    settings::write_folders(&file, &folders).map_err(anyhow::Error::msg)
}

/// Scans every root now, then embeds the new passages when an embedding
/// model is set: progress on stderr on a terminal, a summary (or JSON) on
/// stdout; Ctrl+C stops with what was done kept.
fn index_now(
    cfg: &LibraryConfig,
    embedding: &vectors::Plan,
    force_under: Option<String>,
    json: bool,
    out: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    let roots = settings::roots(cfg).map_err(anyhow::Error::msg)?;
    let (mut ix, note) = Index::open(&cfg.index).map_err(anyhow::Error::msg)?;
    let exe = std::env::current_exe().context("cannot find the sleuth binary for the extractor")?;
    let mut opts = Options::new(exe, cfg);
    opts.force_under = force_under;
    let stop = Arc::new(AtomicBool::new(false));
    #[cfg(unix)]
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        let _ = signal_hook::flag::register(sig, Arc::clone(&stop));
    }
    let mut bar = Bar::new(!json && std::io::stderr().is_terminal());
    let mut report = indexer::scan(&mut ix, &roots, &opts, &mut |p| bar.tick(p), &stop)
        .map_err(anyhow::Error::msg)?;
    bar.clear();
    report.notes.extend(note);
    let embedded = match embedding {
        vectors::Plan::On(e) if !report.interrupted => {
            let r = vectors::embed_pending(
                &mut ix,
                e,
                &mut |done, total| bar.embedding(done, total),
                &stop,
            )
            .map_err(anyhow::Error::msg)?;
            bar.clear();
            report.notes.extend(r.note.clone());
            report.interrupted |= stop.load(std::sync::atomic::Ordering::SeqCst);
            Some(r)
        }
        vectors::Plan::Withheld(why) => {
            report.notes.push(why.clone());
            None
        }
        _ => None,
    };
    let summary = index::summary(ix.conn()).context("reading the library index")?;
    if json {
        #[derive(Serialize)]
        struct Out<'a> {
            scan: &'a Report,
            #[serde(skip_serializing_if = "Option::is_none")]
            embedding: Option<&'a vectors::Report>,
            library: &'a index::Summary,
        }
        let text = crate::text::sanitize::to_json_pretty(&Out {
            scan: &report,
            embedding: embedded.as_ref(),
            library: &summary,
        })?;
        writeln!(out, "{text}")?;
    } else {
        for n in &report.notes {
            writeln!(out, "note: {}", one_line(n))?;
        }
        writeln!(out, "{}", summary_line(&report))?;
        if let Some(e) = embedded
            .as_ref()
            .filter(|e| e.embedded > 0 || e.waiting > 0)
        {
            writeln!(
                out,
                "{} embedded by {} in {:.1} s{}",
                plural(e.embedded as u64, "passage"),
                one_line(&e.model),
                e.ms as f64 / 1000.0,
                if e.waiting > 0 {
                    format!(" · {} waiting", e.waiting)
                } else {
                    String::new()
                }
            )?;
        }
        let new_problems = report.failed + report.skipped;
        if new_problems > 0 {
            writeln!(
                out,
                "`sleuth library status` lists the files not indexed and why."
            )?;
        }
    }
    Ok(if report.interrupted {
        ExitCode::from(130)
    } else {
        ExitCode::SUCCESS
    })
}

fn summary_line(r: &Report) -> String {
    let mut parts = vec![format!(
        "{} indexed ({})",
        plural(r.indexed as u64, "file"),
        plural(r.passages as u64, "passage")
    )];
    for (n, what) in [
        (r.unchanged, "unchanged"),
        (r.renamed, "moved or renamed"),
        (r.removed, "removed"),
        (r.failed, "failed"),
        (r.skipped, "skipped"),
        (r.retry, "changed while read (read again next time)"),
    ] {
        if n > 0 {
            parts.push(format!("{n} {what}"));
        }
    }
    let mb = r.bytes as f64 / 1e6;
    let head = if r.interrupted { "stopped: " } else { "" };
    format!(
        "{head}{} · {mb:.1} MB read in {:.1} s",
        parts.join(" · "),
        r.ms as f64 / 1000.0
    )
}

fn list(cfg: &LibraryConfig, json: bool, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let roots = settings::roots(cfg).map_err(anyhow::Error::msg)?;
    let files = match index::open_reader(&cfg.index).map_err(anyhow::Error::msg)? {
        Some(conn) => index::files(&conn)?,
        None => Vec::new(),
    };
    #[derive(Serialize)]
    struct Row {
        path: String,
        exclude: Vec<String>,
        from_config: bool,
        files: usize,
        passages: u64,
    }
    let rows: Vec<Row> = roots
        .iter()
        .map(|r| {
            let root = r.path.to_string_lossy().into_owned();
            let mine: Vec<_> = files
                .iter()
                .filter(|f| f.status == "indexed" && indexer::under(&f.path, &root))
                .collect();
            Row {
                exclude: r.exclude.clone(),
                from_config: cfg.paths.contains(&r.path),
                files: mine.len(),
                passages: mine.iter().map(|f| f.passages).sum(),
                path: root,
            }
        })
        .collect();
    if json {
        writeln!(out, "{}", crate::text::sanitize::to_json_pretty(&rows)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        writeln!(
            out,
            "The library is empty. Add a folder: `sleuth library add ~/papers`."
        )?;
    }
    for r in &rows {
        let excl = if r.exclude.is_empty() {
            String::new()
        } else {
            format!(" · excluding {}", r.exclude.join(", "))
        };
        let from = if r.from_config {
            " · from the config"
        } else {
            ""
        };
        writeln!(
            out,
            "{}  {} · {}{excl}{from}",
            one_line(&r.path),
            plural(r.files as u64, "file"),
            plural(r.passages, "passage")
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

fn status(cfg: &LibraryConfig, json: bool, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let summary = match index::open_reader(&cfg.index).map_err(anyhow::Error::msg)? {
        Some(conn) => index::summary(&conn)?,
        None => index::Summary::default(),
    };
    if json {
        #[derive(Serialize)]
        struct Out<'a> {
            index: String,
            #[serde(flatten)]
            summary: &'a index::Summary,
        }
        let text = crate::text::sanitize::to_json_pretty(&Out {
            index: cfg.index.to_string_lossy().into_owned(),
            summary: &summary,
        })?;
        writeln!(out, "{text}")?;
        return Ok(ExitCode::SUCCESS);
    }
    let last = summary
        .last_scan
        .map(crate::text::format_time)
        .unwrap_or_else(|| "never".into());
    writeln!(
        out,
        "{} indexed · {} · {:.1} MB · last scan {last}",
        plural(summary.files, "file"),
        plural(summary.passages, "passage"),
        summary.bytes as f64 / 1e6
    )?;
    if let Some(m) = &summary.embed_model {
        writeln!(
            out,
            "{} of {} embedded by {}",
            summary.embedded,
            plural(summary.passages, "passage"),
            one_line(m)
        )?;
    }
    writeln!(out, "index: {}", one_line(&cfg.index.to_string_lossy()))?;
    if !summary.problems.is_empty() {
        writeln!(out, "\nnot indexed, or not all of it:")?;
        for p in &summary.problems {
            writeln!(
                out,
                "  {:<8} {}: {}",
                p.status,
                one_line(&p.path),
                one_line(&p.reason)
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn search(
    cfg: &LibraryConfig,
    query: &str,
    limit: usize,
    json: bool,
    out: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    let hits = crate::library::search::with_reader(&cfg.index, |conn| {
        crate::library::search::search(conn, query, limit.max(1))
            .map_err(|e| format!("library search: {e}"))
    })
    .map_err(anyhow::Error::msg)?
    .unwrap_or_default();
    if json {
        writeln!(out, "{}", crate::text::sanitize::to_json_pretty(&hits)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    if hits.is_empty() {
        writeln!(out, "No passages match.")?;
    }
    for h in &hits {
        let name = Path::new(&h.path)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let place = crate::library::place_label(&name, h.page, h.section.as_deref());
        writeln!(out, "{}", one_line(&place))?;
        writeln!(out, "  {}", one_line(&h.path))?;
        writeln!(
            out,
            "  {}\n",
            crate::text::truncate(&one_line(&h.text), 240)
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The progress line: files done / total, MB, the current file.
struct Bar {
    on: bool,
    last: Option<Instant>,
}

impl Bar {
    fn new(on: bool) -> Self {
        Self { on, last: None }
    }

    fn tick(&mut self, p: &Progress) {
        if p.total == 0 || !self.due() {
            return;
        }
        let name = Path::new(&p.current)
            .file_name()
            .map(|n| one_line(&n.to_string_lossy()))
            .unwrap_or_default();
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r\x1b[2Kindexing {}/{} files · {:.1}/{:.1} MB · {}",
            p.done,
            p.total,
            p.bytes_done as f64 / 1e6,
            p.bytes_total as f64 / 1e6,
            crate::text::truncate(&name, 40)
        );
        let _ = err.flush();
    }

    /// Whether a line is due (on a terminal, at most every 100 ms).
    fn due(&mut self) -> bool {
        if !self.on
            || self
                .last
                .is_some_and(|t| t.elapsed() < Duration::from_millis(100))
        {
            return false;
        }
        self.last = Some(Instant::now());
        true
    }

    fn embedding(&mut self, done: usize, total: u64) {
        if !self.due() {
            return;
        }
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2Kembedding {done}/{total} passages");
        let _ = err.flush();
    }

    fn clear(&mut self) {
        if self.on && self.last.is_some() {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
        }
    }
}
