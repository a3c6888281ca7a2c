//! Fetching: every enabled source concurrently, each under its own
//! timeout, reporting as it goes. One failing source never fails the turn.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::document::Document;
use super::pipeline::Clients;
use super::sources::{self, Ctx};
use super::{SourceKind, SourceOutcome, SourceStatus};
use crate::agent::AgentEvent;
use crate::config::Config;
use crate::domain::TurnId;
use crate::emit::Emitter;

/// The sources a turn asks: enabled in config, allowed by `/sources`, and
/// the web for URLs in the question.
pub fn enabled(cfg: &Config, only: Option<&[SourceKind]>, urls: &[String]) -> Vec<SourceKind> {
    let s = &cfg.sources;
    let on = |k: SourceKind| only.is_none_or(|o| o.contains(&k));
    let mut v = Vec::new();
    if s.wikipedia.enabled && on(SourceKind::Wikipedia) {
        v.push(SourceKind::Wikipedia);
    }
    if s.hackernews.enabled && on(SourceKind::Hackernews) {
        v.push(SourceKind::Hackernews);
    }
    if s.arxiv.enabled && on(SourceKind::Arxiv) {
        v.push(SourceKind::Arxiv);
    }
    if s.searxng.enabled && !s.searxng.base_url.is_empty() && on(SourceKind::Searxng) {
        v.push(SourceKind::Searxng);
    }
    if on(SourceKind::Library) && library_set_up(cfg) {
        v.push(SourceKind::Library);
    }
    if !urls.is_empty() && on(SourceKind::Web) {
        v.push(SourceKind::Web);
    }
    for (name, server) in &cfg.mcp.servers {
        if let Some(kind) = super::McpName::new(name).map(SourceKind::Mcp)
            && server.enabled
            && on(kind)
        {
            v.push(kind);
        }
    }
    v
}

/// The library is asked when something was ever indexed; whether its
/// text may go to the configured model is decided when it is fetched
/// (a withheld library reports why instead of searching).
fn library_set_up(cfg: &Config) -> bool {
    cfg.library.index.exists()
}

/// One batch of fetches: which sources, with which queries.
pub struct Batch<'a> {
    pub kinds: Vec<SourceKind>,
    pub queries: &'a [String],
    pub urls: &'a [String],
    /// Emit SourceStarted/SourceDone (a second, silent batch for the
    /// model's late queries merges into the first one's statuses).
    pub report: bool,
    /// Documents per source, when not `research.per_source`.
    pub cap: Option<usize>,
    /// Documents already read in this run (titles and URLs): not fetched
    /// again.
    pub skip: Arc<Vec<String>>,
}

/// Fetches every source of the batch concurrently, each under its own
/// timeout; documents come back in a stable order (by source, then as the
/// source ranked them) so ranking is deterministic.
pub async fn fetch_all(
    clients: &Clients,
    cfg: &Config,
    batch: Batch<'_>,
    turn: TurnId,
    emit: &Emitter<AgentEvent>,
) -> (Vec<Document>, Vec<SourceStatus>) {
    let timeout = Duration::from_secs(cfg.research.timeout_secs.max(1));
    let cap = batch.cap.unwrap_or(cfg.research.per_source).max(1);
    let allow = Arc::new(cfg.research.allow_hosts.clone());
    let mut set = tokio::task::JoinSet::new();
    for kind in batch.kinds {
        if batch.report {
            emit.emit(AgentEvent::SourceStarted { turn, source: kind });
        }
        let s = &cfg.sources;
        let base = match kind {
            SourceKind::Wikipedia => s.wikipedia.base_url.clone(),
            SourceKind::Hackernews => s.hackernews.base_url.clone(),
            SourceKind::Arxiv => s.arxiv.base_url.clone(),
            SourceKind::Searxng => s.searxng.base_url.clone(),
            SourceKind::Web | SourceKind::Library | SourceKind::Mcp(_) => String::new(),
        };
        let ctx = Ctx {
            client: clients.sources.clone(),
            web: clients.web.clone(),
            allow: Arc::clone(&allow),
            base_url: base,
            cap,
            follow_links: cfg.research.follow_links,
            skip: Arc::clone(&batch.skip),
            hosts: Arc::clone(&clients.hosts),
            timeout,
            deadline: sources::body_deadline(timeout),
        };
        let (queries, urls, emit) = (batch.queries.to_vec(), batch.urls.to_vec(), emit.clone());
        let (pool, server) = (
            Arc::clone(&clients.mcp),
            match kind {
                SourceKind::Mcp(name) => cfg.mcp.servers.get(name.as_str()).cloned(),
                _ => None,
            },
        );
        let report = batch.report;
        let index = cfg.library.index.clone();
        let embed_model =
            Some(cfg.provider.embed_model.trim().to_string()).filter(|m| !m.is_empty());
        let privacy = crate::library::Privacy::of(&cfg.library, &cfg.provider.base_url);
        set.spawn(async move {
            let started = Instant::now();
            let work = async {
                match kind {
                    SourceKind::Wikipedia => sources::wikipedia::fetch(&ctx, &queries).await,
                    SourceKind::Hackernews => sources::hackernews::fetch(&ctx, &queries).await,
                    SourceKind::Arxiv => sources::arxiv::fetch(&ctx, &queries).await,
                    SourceKind::Searxng => sources::searxng::fetch(&ctx, &queries).await,
                    SourceKind::Web => sources::web::fetch(&ctx, &urls).await,
                    SourceKind::Library => {
                        sources::library::fetch(index, &queries, ctx.cap, embed_model).await
                    }
                    SourceKind::Mcp(name) => {
                        sources::mcp::fetch(&pool, name, server.as_ref(), &queries, &ctx).await
                    }
                }
            };
            let withheld = kind == SourceKind::Library && !privacy.allows();
            let (outcome, docs, error) = if withheld {
                // Nothing is searched: the text would leave the machine.
                (SourceOutcome::Withheld, Vec::new(), Some(privacy.explain()))
            } else {
                match tokio::time::timeout(timeout, work).await {
                    Ok(Ok(d)) => (SourceOutcome::Ok, d, None),
                    Ok(Err(e)) => (
                        SourceOutcome::Failed,
                        Vec::new(),
                        Some(crate::text::sanitize::one_line(&e)),
                    ),
                    Err(_) => (
                        SourceOutcome::Timeout,
                        Vec::new(),
                        Some(format!("no answer within {} s", timeout.as_secs())),
                    ),
                }
            };
            let docs: Vec<Document> = docs.into_iter().filter(|d| !d.is_empty()).collect();
            let status = SourceStatus {
                source: kind,
                outcome,
                count: docs.len(),
                passages: 0,
                chars: docs.iter().map(Document::chars).sum(),
                ms: started.elapsed().as_millis() as u64,
                error,
            };
            if report {
                emit.emit(AgentEvent::SourceDone {
                    turn,
                    status: status.clone(),
                });
            }
            (docs, status)
        });
    }
    let mut per_source = Vec::new();
    while let Some(r) = set.join_next().await {
        if let Ok(x) = r {
            per_source.push(x);
        }
    }
    per_source.sort_by_key(|(_, s)| s.source);
    let statuses = per_source.iter().map(|(_, s)| s.clone()).collect();
    let docs = per_source.into_iter().flat_map(|(d, _)| d).collect();
    (docs, statuses)
}

/// Adds a later batch to an earlier one: documents already read (same
/// source and URL, or title without URL) are not repeated, and each
/// source's status counts both.
pub fn merge(
    into: &mut (Vec<Document>, Vec<SourceStatus>),
    more: (Vec<Document>, Vec<SourceStatus>),
) {
    let (docs, statuses) = into;
    for d in more.0 {
        let dup = docs
            .iter()
            .any(|o| o.kind == d.kind && o.url == d.url && (d.url.is_some() || o.title == d.title));
        if !dup {
            docs.push(d);
        }
    }
    docs.sort_by_key(|d| d.kind);
    for s in more.1 {
        match statuses.iter_mut().find(|o| o.source == s.source) {
            Some(o) => {
                o.ms = o.ms.max(s.ms);
                if o.outcome != SourceOutcome::Ok && s.outcome == SourceOutcome::Ok {
                    o.outcome = s.outcome;
                    o.error = None;
                }
            }
            None => statuses.push(s),
        }
    }
    // Counts follow the merged documents.
    for st in statuses.iter_mut() {
        let mine = docs.iter().filter(|d| d.kind == st.source);
        st.count = mine.clone().count();
        st.chars = mine.map(Document::chars).sum();
    }
}
