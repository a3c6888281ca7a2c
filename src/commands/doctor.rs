//! `sleuth doctor`: what sleuth would use, and whether each part works.

use crate::text::plural;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::agent::{ProviderProbe, probe, trusted_client};
use crate::config::Loaded;
use crate::store::{self, queries};

#[derive(Serialize)]
struct Report {
    config: ConfigReport,
    database: DbReport,
    log: Option<PathBuf>,
    provider: ProviderProbe,
    sources: Vec<SourceReport>,
    mcp: Vec<McpReport>,
    library: LibraryReport,
}

/// The library: its folders, what is indexed, and where its text may go.
#[derive(Serialize)]
struct LibraryReport {
    index: PathBuf,
    folders: Vec<PathBuf>,
    files: u64,
    passages: u64,
    /// Passages with a stored embedding (`embed_model`).
    embedded: u64,
    /// Files skipped or failed (`sleuth library status` lists them).
    not_indexed: usize,
    last_scan: Option<i64>,
    /// "local", "allowed" or "withheld".
    privacy: &'static str,
    privacy_detail: String,
    /// None when no folder was ever added.
    ok: Option<bool>,
    detail: String,
}

fn check_library(cfg: &crate::config::Config) -> LibraryReport {
    use crate::library::{Privacy, index, settings};
    let lib = &cfg.library;
    let privacy = Privacy::of(lib, &cfg.provider.base_url);
    let folders = settings::roots(lib)
        .map(|r| r.into_iter().map(|f| f.path).collect())
        .unwrap_or_default();
    let mut r = LibraryReport {
        index: lib.index.clone(),
        folders,
        files: 0,
        passages: 0,
        embedded: 0,
        not_indexed: 0,
        last_scan: None,
        privacy: match privacy {
            Privacy::Local => "local",
            Privacy::Allowed { .. } => "allowed",
            Privacy::Withheld { .. } => "withheld",
        },
        privacy_detail: privacy.explain(),
        ok: None,
        detail: "empty (add a folder: `sleuth library add ~/papers`)".into(),
    };
    match index::open_reader(&lib.index) {
        Ok(None) => {}
        Ok(Some(conn)) => match index::summary(&conn) {
            Ok(s) => {
                r.ok = Some(true);
                r.detail = format!(
                    "{}, {}, {} not indexed",
                    plural(s.files, "file"),
                    plural(s.passages, "passage"),
                    s.problems.len()
                );
                if let Some(m) = &s.embed_model {
                    r.detail
                        .push_str(&format!(", {} embedded by {m}", s.embedded));
                }
                r.embedded = s.embedded;
                (r.files, r.passages, r.not_indexed, r.last_scan) =
                    (s.files, s.passages, s.problems.len(), s.last_scan);
            }
            Err(e) => {
                r.ok = Some(false);
                r.detail = format!("{e}; `sleuth library reindex` rebuilds it");
            }
        },
        Err(e) => {
            r.ok = Some(false);
            r.detail = format!("{e}; `sleuth library reindex` rebuilds it");
        }
    }
    r
}

/// An MCP server configured as a source: started, its tools listed,
/// stopped.
#[derive(Serialize)]
struct McpReport {
    name: String,
    command: String,
    enabled: bool,
    /// None when disabled (not started).
    ok: Option<bool>,
    tools: Vec<String>,
    detail: String,
}

/// How long doctor waits for an MCP server to start and list its tools.
const MCP_CHECK: Duration = Duration::from_secs(15);

async fn check_mcp(name: &str, s: &crate::config::McpServerConfig) -> McpReport {
    let mut r = McpReport {
        name: name.to_string(),
        command: std::iter::once(s.command.as_str())
            .chain(s.args.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(" "),
        enabled: s.enabled,
        ok: None,
        tools: Vec::new(),
        detail: "disabled".into(),
    };
    if !s.enabled {
        return r;
    }
    let Some(n) = crate::agent::research::McpName::new(name) else {
        r.ok = Some(false);
        r.detail = "bad name".into();
        return r;
    };
    let checked =
        tokio::time::timeout(MCP_CHECK, crate::agent::research::sources::mcp::check(n, s));
    match checked.await {
        Ok(Ok(tools)) => {
            r.ok = Some(true);
            r.detail = format!("tools: {} (calls `{}`)", tools.join(", "), s.tool);
            r.tools = tools;
        }
        Ok(Err(e)) => {
            r.ok = Some(false);
            r.detail = e;
        }
        Err(_) => {
            r.ok = Some(false);
            r.detail = format!("did not start within {} s", MCP_CHECK.as_secs());
        }
    }
    r
}

#[derive(Serialize)]
struct ConfigReport {
    path: PathBuf,
    found: bool,
    unknown_keys: Vec<String>,
}

#[derive(Serialize)]
struct DbReport {
    path: PathBuf,
    ok: bool,
    detail: String,
    stats: Option<queries::Stats>,
}

#[derive(Serialize)]
struct SourceReport {
    name: &'static str,
    enabled: bool,
    base_url: String,
    reachable: Option<bool>,
    detail: String,
}

fn check_db(path: &Path) -> DbReport {
    // Doctor looks; it does not make a database where there is none.
    if !path.exists() {
        return DbReport {
            path: path.to_path_buf(),
            ok: true,
            detail: "no database yet (the first question makes it)".into(),
            stats: None,
        };
    }
    let result = store::open_writer(path).and_then(|conn| {
        // Asked for: the whole file is read (the app reads it only when
        // its health record cannot vouch for it), and the result recorded.
        let quick: String = conn.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
        let problem = (quick != "ok").then(|| quick.clone());
        store::health::record_check(path, problem, "sleuth doctor");
        Ok((quick, queries::stats(&conn)?))
    });
    let open_writers = store::health::read(path).map_or(0, |r| r.writers.len());
    match result {
        Ok((quick, stats)) => DbReport {
            path: path.to_path_buf(),
            ok: quick == "ok",
            detail: if quick == "ok" {
                format!(
                    "schema v{}, {}, {}, {}; whole file checked: ok{}",
                    stats.schema_version,
                    plural(stats.sessions as u64, "session"),
                    plural(stats.messages as u64, "message"),
                    plural(stats.sources as u64, "source"),
                    match open_writers {
                        0 => String::new(),
                        n => format!("; open in {} now", plural(n as u64, "other sleuth")),
                    }
                )
            } else {
                format!("integrity check failed: {quick}")
            },
            stats: Some(stats),
        },
        Err(e) => DbReport {
            path: path.to_path_buf(),
            ok: false,
            detail: e.to_string(),
            stats: None,
        },
    }
}

async fn check_source(
    client: &reqwest::Client,
    name: &'static str,
    cfg: &crate::config::SourceConfig,
) -> SourceReport {
    if !cfg.enabled || cfg.base_url.is_empty() {
        return SourceReport {
            name,
            enabled: cfg.enabled,
            base_url: cfg.base_url.clone(),
            reachable: None,
            detail: if cfg.enabled {
                "no base_url set".into()
            } else {
                "disabled".into()
            },
        };
    }
    // The endpoint the source calls, with a one-word query: the root of
    // an API host may answer 404 while the API works, or 200 while it
    // does not.
    let (path, query): (&str, &[(&str, &str)]) = match name {
        "wikipedia" => (
            "/w/api.php",
            &[
                ("action", "query"),
                ("meta", "siteinfo"),
                ("format", "json"),
            ],
        ),
        "hackernews" => (
            "/api/v1/search",
            &[("query", "sleuth"), ("hitsPerPage", "1")],
        ),
        "arxiv" => (
            "/api/query",
            &[("search_query", "all:sleuth"), ("max_results", "1")],
        ),
        _ => ("/search", &[("q", "sleuth"), ("format", "json")]),
    };
    let started = Instant::now();
    let r = match crate::agent::research::sources::parse_url(&cfg.base_url, path) {
        Ok(url) => client
            .get(url)
            .query(query)
            .timeout(Duration::from_secs(4))
            .send()
            .await
            .map_err(|e| crate::agent::provider::chain(&e)),
        Err(e) => Err(e),
    };
    let (reachable, detail) = match r {
        Ok(resp) if resp.status().is_success() => (
            true,
            format!(
                "HTTP {} from {path} in {} ms",
                resp.status().as_u16(),
                started.elapsed().as_millis()
            ),
        ),
        Ok(resp) => (
            false,
            format!(
                "HTTP {} from {path}: the server answers, but not as this source's API",
                resp.status().as_u16()
            ),
        ),
        Err(e) => (false, format!("unreachable: {e}")),
    };
    SourceReport {
        name,
        enabled: true,
        base_url: cfg.base_url.clone(),
        reachable: Some(reachable),
        detail,
    }
}

/// Returns whether every check passed (database, provider, the enabled
/// sources); the report is printed either way.
pub fn run(
    loaded: &Loaded,
    db: &Path,
    log: Option<&Path>,
    json: bool,
    out: &mut dyn Write,
) -> anyhow::Result<bool> {
    let cfg = &loaded.config;
    let database = check_db(db);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let client = trusted_client(cfg)?;
    let (provider, mcp, sources) = rt.block_on(async {
        let s = &cfg.sources;
        let servers = async {
            let mut v = Vec::new();
            for (name, server) in &cfg.mcp.servers {
                v.push(check_mcp(name, server).await);
            }
            v
        };
        tokio::join!(probe::probe(&client, &cfg.provider), servers, async {
            let (a, b, c, d) = tokio::join!(
                check_source(&client, "wikipedia", &s.wikipedia),
                check_source(&client, "hackernews", &s.hackernews),
                check_source(&client, "arxiv", &s.arxiv),
                check_source(&client, "searxng", &s.searxng),
            );
            vec![a, b, c, d]
        })
    });
    // Every check that can fail counts (issue 15: FAIL lines with exit 0
    // read as "all is well" to a script).
    let provider_ok = provider.reachable && provider.model_found != Some(false);
    let ok = database.ok
        && provider_ok
        && sources.iter().all(|s| s.reachable != Some(false))
        && mcp.iter().all(|m| m.ok != Some(false));
    let library = check_library(cfg);
    let ok = ok && library.ok != Some(false);
    let report = Report {
        config: ConfigReport {
            path: loaded.path.clone(),
            found: loaded.found,
            unknown_keys: loaded.unknown_keys.clone(),
        },
        database,
        log: log.map(Path::to_path_buf),
        provider,
        sources,
        mcp,
        library,
    };
    if json {
        write!(out, "{}", crate::text::sanitize::to_json_pretty(&report)?)?;
        writeln!(out)?;
        return Ok(ok);
    }
    print_text(&report, out)?;
    Ok(ok)
}

/// The report as lines: ok / warn / FAIL, what, detail.
fn print_text(report: &Report, out: &mut dyn Write) -> anyhow::Result<()> {
    let mark = |b: bool| if b { "ok  " } else { "FAIL" };
    let c = &report.config;
    writeln!(
        out,
        "{}  config    {} ({})",
        if c.found { "ok  " } else { "warn" },
        c.path.display(),
        if c.found {
            "loaded"
        } else {
            "not found; using defaults"
        }
    )?;
    for k in &c.unknown_keys {
        writeln!(out, "warn  config    unknown key `{k}` ignored")?;
    }
    let d = &report.database;
    writeln!(
        out,
        "{}  database  {}: {}",
        mark(d.ok),
        d.path.display(),
        d.detail
    )?;
    match &report.log {
        Some(p) => writeln!(out, "ok    log       {}", p.display())?,
        None => writeln!(
            out,
            "warn  log       logging is off (the log directory is not writable)"
        )?,
    }
    let p = &report.provider;
    let provider_ok = p.reachable && p.model_found != Some(false);
    writeln!(out, "{}  provider  {}", mark(provider_ok), p.summary)?;
    for s in &report.sources {
        let status = match s.reachable {
            None => "-   ",
            Some(b) => mark(b),
        };
        writeln!(
            out,
            "{status}  source    {:<10} {} {}",
            s.name, s.base_url, s.detail
        )?;
    }
    for m in &report.mcp {
        let status = match m.ok {
            None => "-   ",
            Some(b) => mark(b),
        };
        writeln!(
            out,
            "{status}  mcp       {:<10} {} — {}",
            m.name,
            crate::text::sanitize::one_line(&m.command),
            crate::text::sanitize::one_line(&m.detail)
        )?;
    }
    let l = &report.library;
    let status = match l.ok {
        None => "-   ",
        Some(b) => mark(b),
    };
    writeln!(
        out,
        "{status}  library   {} — {}",
        l.index.display(),
        crate::text::sanitize::one_line(&l.detail)
    )?;
    if l.ok.is_some() {
        let warn = if l.privacy == "withheld" {
            "warn"
        } else {
            "ok  "
        };
        writeln!(out, "{warn}  library   {}", l.privacy_detail)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_config_file_is_a_warning_and_a_failed_check_is_fail() {
        let report = Report {
            config: ConfigReport {
                path: PathBuf::from("/nowhere/sleuth.toml"),
                found: false,
                unknown_keys: vec![],
            },
            database: DbReport {
                path: PathBuf::from("/tmp/x.db"),
                ok: true,
                detail: "fine".into(),
                stats: None,
            },
            log: None,
            provider: ProviderProbe {
                reachable: false,
                model_found: None,
                summary: "no Ollama".into(),
                models: vec![],
            },
            sources: vec![],
            mcp: vec![],
            library: check_library(&crate::config::Config::default()),
        };
        let mut out = Vec::new();
        print_text(&report, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("warn  config    /nowhere/sleuth.toml (not found; using defaults)"),
            "{text}"
        );
        assert!(text.contains("FAIL  provider  no Ollama"), "{text}");
        // No folder added: the library is neither ok nor failed.
        assert!(
            text.contains("-     library") && text.contains("sleuth library add"),
            "{text}"
        );
    }
}
