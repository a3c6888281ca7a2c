//! `sleuth doctor`: what sleuth would use, and whether each part works.

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
    let result = store::open_writer(path).and_then(|conn| {
        let quick: String = conn.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
        Ok((quick, queries::stats(&conn)?))
    });
    match result {
        Ok((quick, stats)) => DbReport {
            path: path.to_path_buf(),
            ok: quick == "ok",
            detail: if quick == "ok" {
                format!(
                    "schema v{}, {} sessions, {} messages, {} sources",
                    stats.schema_version, stats.sessions, stats.messages, stats.sources
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
    let started = Instant::now();
    let r = client
        .get(&cfg.base_url)
        .timeout(Duration::from_secs(4))
        .send()
        .await;
    let (reachable, detail) = match r {
        Ok(resp) => (
            true,
            format!(
                "HTTP {} in {} ms",
                resp.status().as_u16(),
                started.elapsed().as_millis()
            ),
        ),
        Err(e) => (
            false,
            format!("unreachable: {}", crate::agent::provider::chain(&e)),
        ),
    };
    SourceReport {
        name,
        enabled: true,
        base_url: cfg.base_url.clone(),
        reachable: Some(reachable),
        detail,
    }
}

/// Returns whether everything essential (config, database) is fine.
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
    let (provider, sources) = rt.block_on(async {
        let s = &cfg.sources;
        tokio::join!(probe::probe(&client, &cfg.provider), async {
            let (a, b, c, d) = tokio::join!(
                check_source(&client, "wikipedia", &s.wikipedia),
                check_source(&client, "hackernews", &s.hackernews),
                check_source(&client, "arxiv", &s.arxiv),
                check_source(&client, "searxng", &s.searxng),
            );
            vec![a, b, c, d]
        })
    });
    let ok = database.ok;
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
    };
    if json {
        write!(out, "{}", crate::sanitize::to_json_pretty(&report)?)?;
        writeln!(out)?;
        return Ok(ok);
    }
    let mark = |b: bool| if b { "ok  " } else { "FAIL" };
    let c = &report.config;
    writeln!(
        out,
        "ok    config    {} ({})",
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
    Ok(ok)
}
