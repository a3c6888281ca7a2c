//! One research turn: keywords → concurrent sources → ranking → a cited
//! answer (generated, or extractive when no model answers). Every stage is
//! reported as it happens; one failing source never fails the turn.

use std::time::{Duration, Instant};

use serde::Serialize;

use super::sources::{self, Ctx};
use super::{Passage, SourceKind, SourceStatus, answer, keywords, rank};
use crate::agent::AgentEvent;
use crate::agent::provider::{self, ChatMessage, ChatRequest, Limits, ProviderError, embed};
use crate::agent::turn::{self, AnswerKind, TurnOutcome};
use crate::config::Config;
use crate::domain::{Source, TurnId, now_ms};
use crate::emit::Emitter;

#[derive(Debug, Clone)]
pub struct ResearchAsk {
    pub turn: TurnId,
    pub model: String,
    pub question: String,
    /// Earlier messages of the session (not including the question).
    pub history: Vec<ChatMessage>,
    /// Restrict to these sources (`/sources wiki,hn`); None = all enabled.
    pub only: Option<Vec<SourceKind>>,
    /// The session's rolling summary of older turns.
    pub summary: Option<String>,
    /// Recall from other sessions in this database (None = off).
    pub memory: Option<Memory>,
}

#[derive(Debug, Clone)]
pub struct Memory {
    pub db: std::path::PathBuf,
    pub exclude: crate::domain::SessionId,
    pub max: usize,
}

/// Messages of other sessions containing the question's content words,
/// read on a blocking thread with its own read-only connection.
async fn recall(question: &str, m: &Memory) -> Vec<crate::store::queries::Recalled> {
    let mut words = rank::tokens(question);
    words.sort_by_key(|w| std::cmp::Reverse(w.chars().count()));
    words.dedup();
    words.truncate(6);
    let m = m.clone();
    tokio::task::spawn_blocking(move || {
        let conn = crate::store::open_reader(&m.db).ok()?;
        // Fewer words if all of them never occur together.
        for n in [words.len(), 3, 2] {
            let n = n.min(words.len());
            if n == 0 {
                break;
            }
            match crate::store::queries::recall(&conn, &words[..n], m.exclude, m.max) {
                Ok(v) if !v.is_empty() => return Some(v),
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "memory recall failed");
                    return None;
                }
            }
        }
        None
    })
    .await
    .ok()
    .flatten()
    .unwrap_or_default()
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Analysis {
    pub ranker: String,
    /// (source, passages fetched, mean relevance of its cited passages)
    pub per_source: Vec<(SourceKind, usize, Option<f64>)>,
    pub top_terms: Vec<(String, usize)>,
}

pub struct Clients {
    pub provider: reqwest::Client,
    pub sources: reqwest::Client,
    pub web: reqwest::Client,
}

/// Excerpt length kept per cited passage (prompt, storage, display).
const EXCERPT: usize = 1500;
/// Time allowed for the keyword request before the heuristic takes over.
const KEYWORD_TIMEOUT: Duration = Duration::from_secs(30);

/// A model failure that means "no usable model", so the turn goes
/// extractive instead of trying again to synthesize.
fn model_unusable(e: &ProviderError) -> bool {
    matches!(e, ProviderError::Connect(_) | ProviderError::Setup(_))
        || matches!(
            e,
            ProviderError::Http {
                status: 401 | 403 | 404,
                ..
            }
        )
}

async fn ask_keywords(
    clients: &Clients,
    cfg: &Config,
    ask: &ResearchAsk,
) -> (Vec<String>, bool, Option<ProviderError>) {
    let mut pcfg = cfg.provider.clone();
    pcfg.model = ask.model.clone();
    let mut limits = Limits::from_config(&pcfg);
    // Keywords are a quick step: one retry at most.
    limits.retries = limits.retries.min(1);
    let req = ChatRequest {
        model: ask.model.clone(),
        system: Some(keywords::PROMPT.into()),
        messages: vec![ChatMessage {
            role: "user",
            content: ask.question.clone(),
        }],
    };
    let mut reply = String::new();
    let mut on_text = |t: &str| reply.push_str(t);
    let result = tokio::time::timeout(
        KEYWORD_TIMEOUT,
        provider::stream_chat(&clients.provider, &pcfg, &req, &limits, &mut on_text),
    )
    .await;
    let err = match result {
        Ok(Ok(_)) => None,
        Ok(Err(e)) => Some(e),
        Err(_) => Some(ProviderError::FirstByteTimeout(KEYWORD_TIMEOUT.as_secs())),
    };
    // Strip any <think> block before parsing.
    let mut filter = crate::agent::think::ThinkFilter::default();
    let mut visible = filter.push(&reply);
    visible.push_str(&filter.finish());
    match keywords::parse(&visible) {
        Some(q) => (q, true, err),
        None => (keywords::heuristic(&ask.question), false, err),
    }
}

fn enabled(cfg: &Config, ask: &ResearchAsk, urls: &[String]) -> Vec<SourceKind> {
    let s = &cfg.sources;
    let mut v = Vec::new();
    let on = |k: SourceKind| ask.only.as_ref().is_none_or(|o| o.contains(&k));
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
    if !urls.is_empty() && on(SourceKind::Web) {
        v.push(SourceKind::Web);
    }
    v
}

/// Fetches every source concurrently, each under its own timeout.
async fn fetch_all(
    clients: &Clients,
    cfg: &Config,
    kinds: Vec<SourceKind>,
    queries: &[String],
    urls: &[String],
    turn: TurnId,
    emit: &Emitter<AgentEvent>,
) -> (Vec<Passage>, Vec<SourceStatus>) {
    let timeout = Duration::from_secs(cfg.research.timeout_secs.max(1));
    let cap = cfg.research.per_source.max(1);
    let mut allow = cfg.research.allow_hosts.clone();
    allow.sort();
    let mut set = tokio::task::JoinSet::new();
    for kind in kinds {
        emit.emit(AgentEvent::SourceStarted { turn, source: kind });
        let s = &cfg.sources;
        let (client, base) = match kind {
            SourceKind::Wikipedia => (clients.sources.clone(), s.wikipedia.base_url.clone()),
            SourceKind::Hackernews => (clients.sources.clone(), s.hackernews.base_url.clone()),
            SourceKind::Arxiv => (clients.sources.clone(), s.arxiv.base_url.clone()),
            SourceKind::Searxng => (clients.sources.clone(), s.searxng.base_url.clone()),
            SourceKind::Web => (clients.web.clone(), String::new()),
        };
        let ctx = Ctx {
            client,
            base_url: base,
            cap,
            timeout,
        };
        let (queries, urls, allow, emit) =
            (queries.to_vec(), urls.to_vec(), allow.clone(), emit.clone());
        set.spawn(async move {
            let started = Instant::now();
            let work = async {
                match kind {
                    SourceKind::Wikipedia => sources::wikipedia::fetch(&ctx, &queries).await,
                    SourceKind::Hackernews => sources::hackernews::fetch(&ctx, &queries).await,
                    SourceKind::Arxiv => sources::arxiv::fetch(&ctx, &queries).await,
                    SourceKind::Searxng => sources::searxng::fetch(&ctx, &queries).await,
                    SourceKind::Web => sources::web::fetch(&ctx, &allow, &urls).await,
                }
            };
            let (outcome, passages, error) = match tokio::time::timeout(timeout, work).await {
                Ok(Ok(p)) => ("ok", p, None),
                Ok(Err(e)) => ("failed", Vec::new(), Some(crate::sanitize::one_line(&e))),
                Err(_) => (
                    "timeout",
                    Vec::new(),
                    Some(format!("no answer within {} s", timeout.as_secs())),
                ),
            };
            let status = SourceStatus {
                source: kind,
                outcome: outcome.into(),
                count: passages.len(),
                ms: started.elapsed().as_millis() as u64,
                error,
            };
            emit.emit(AgentEvent::SourceDone {
                turn,
                status: status.clone(),
            });
            (passages, status)
        });
    }
    let mut passages = Vec::new();
    let mut statuses = Vec::new();
    while let Some(r) = set.join_next().await {
        if let Ok((p, s)) = r {
            passages.extend(p);
            statuses.push(s);
        }
    }
    statuses.sort_by_key(|s| s.source);
    // A stable order (by source, then as fetched) keeps ranking deterministic.
    passages.sort_by_key(|p| p.kind);
    (passages, statuses)
}

/// Ranks passages by embeddings when configured and available, else BM25.
async fn rank_passages(
    clients: &Clients,
    cfg: &Config,
    question: &str,
    passages: &[Passage],
    model_ok: bool,
) -> (Vec<(usize, f64)>, &'static str) {
    let k = cfg.research.top_k.max(1);
    let embed_model = cfg.provider.embed_model.trim();
    if model_ok && !embed_model.is_empty() && !passages.is_empty() {
        let mut texts = vec![question.to_string()];
        texts.extend(passages.iter().map(|p| format!("{}\n{}", p.title, p.text)));
        let timeout = Duration::from_secs(cfg.research.timeout_secs.max(1));
        match embed::embed(
            &clients.provider,
            &cfg.provider,
            embed_model,
            &texts,
            timeout,
        )
        .await
        {
            Ok(Some(v)) => {
                let q = v[0].clone();
                let rest = v[1..].to_vec();
                let top = tokio::task::spawn_blocking(move || {
                    let scores: Vec<f64> =
                        rest.iter().map(|e| embed::cosine(&q, e) as f64).collect();
                    rank::top_k(&scores, k)
                })
                .await
                .unwrap_or_default();
                return (top, "embeddings");
            }
            Ok(None) => tracing::info!("provider has no embeddings; using BM25"),
            Err(e) => tracing::warn!(error = %e, "embeddings failed; using BM25"),
        }
    }
    let docs: Vec<String> = passages
        .iter()
        .map(|p| format!("{} {}", p.title, p.text))
        .collect();
    let q = question.to_string();
    let top = tokio::task::spawn_blocking(move || rank::top_k(&rank::bm25(&q, &docs), k))
        .await
        .unwrap_or_default();
    (top, "bm25")
}

pub async fn run(cfg: &Config, clients: &Clients, ask: ResearchAsk, emit: &Emitter<AgentEvent>) {
    let turn = ask.turn;
    let started = Instant::now();
    // 1. Keywords (the model, else the heuristic), and memory alongside.
    let memory_task = async {
        match &ask.memory {
            Some(m) => recall(&ask.question, m).await,
            None => Vec::new(),
        }
    };
    let ((queries, from_model, model_err), recalled) =
        tokio::join!(ask_keywords(clients, cfg, &ask), memory_task);
    if !recalled.is_empty() {
        let mut from: Vec<String> = recalled
            .iter()
            .map(|r| crate::sanitize::one_line(&r.session_title))
            .collect();
        from.dedup();
        emit.emit(AgentEvent::Recalled { turn, from });
    }
    let unusable = model_err.as_ref().filter(|e| model_unusable(e)).cloned();
    emit.emit(AgentEvent::Keywords {
        turn,
        queries: queries.clone(),
        from_model,
    });
    // 2. Sources, concurrently.
    let urls = sources::web::urls_in(&ask.question);
    let kinds = enabled(cfg, &ask, &urls);
    let (passages, statuses) = fetch_all(clients, cfg, kinds, &queries, &urls, turn, emit).await;
    // 3. Ranking and analysis.
    let (top, ranker) =
        rank_passages(clients, cfg, &ask.question, &passages, unusable.is_none()).await;
    let fetched_at = now_ms();
    let cited: Vec<Source> = top
        .iter()
        .enumerate()
        .map(|(i, (idx, rel))| {
            let p = &passages[*idx];
            Source {
                ordinal: i as i64 + 1,
                kind: p.kind.as_str().into(),
                title: crate::sanitize::one_line(&p.title),
                url: p.url.clone(),
                excerpt: answer::shorten(&p.text, EXCERPT),
                relevance: Some((rel * 1000.0).round() / 1000.0),
                fetched_at,
            }
        })
        .collect();
    let analysis = {
        let texts: Vec<String> = passages.iter().map(|p| p.text.clone()).collect();
        let per_source = statuses
            .iter()
            .map(|s| {
                let rels: Vec<f64> = cited
                    .iter()
                    .filter(|c| c.kind == s.source.as_str())
                    .filter_map(|c| c.relevance)
                    .collect();
                let mean = (!rels.is_empty()).then(|| rels.iter().sum::<f64>() / rels.len() as f64);
                (s.source, s.count, mean)
            })
            .collect();
        let top_terms = tokio::task::spawn_blocking(move || {
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            rank::top_terms(&refs, 8)
        })
        .await
        .unwrap_or_default();
        Analysis {
            ranker: ranker.into(),
            per_source,
            top_terms,
        }
    };
    emit.emit(AgentEvent::Ranked {
        turn,
        sources: cited.clone(),
        analysis,
    });
    // 4. The answer.
    let mut outcome = TurnOutcome {
        model: ask.model.clone(),
        keywords: queries,
        sources: cited.clone(),
        source_status: statuses,
        memory: recalled.iter().map(|r| r.session_title.clone()).collect(),
        ..Default::default()
    };
    let extractive_reason = match unusable {
        // Nothing to cite: say so rather than let the model answer unsourced.
        _ if cited.is_empty() => Some("no source returned anything".to_string()),
        Some(e) => Some(e.user_message(
            cfg.provider.kind,
            &cfg.provider.base_url,
            &ask.model,
            crate::agent::probe::key_env(&cfg.provider),
        )),
        None => {
            let mut pcfg = cfg.provider.clone();
            pcfg.model = ask.model.clone();
            let mut messages = ask.history.clone();
            let mut content = String::new();
            if !recalled.is_empty() {
                content.push_str("From the user's earlier sessions (context, not citable):\n");
                for r in &recalled {
                    content.push_str(&format!(
                        "- ({}, {}) {}\n",
                        r.session_title,
                        r.role.as_str(),
                        r.snippet
                    ));
                }
                content.push('\n');
            }
            content.push_str(&answer::prompt(&ask.question, &cited));
            messages.push(ChatMessage {
                role: "user",
                content,
            });
            let req = ChatRequest {
                model: ask.model.clone(),
                system: Some(crate::agent::summary::with_summary(
                    answer::SYSTEM,
                    ask.summary.as_deref(),
                )),
                messages,
            };
            let mut wrote = false;
            match turn::stream_answer(&clients.provider, &pcfg, &req, turn, emit, &mut wrote).await
            {
                Ok(c) => {
                    outcome.completion = c;
                    outcome.tokens_per_sec = turn::tokens_per_sec(&outcome.completion);
                    None
                }
                Err(e) if !wrote && model_unusable(&e) => Some(e.user_message(
                    cfg.provider.kind,
                    &cfg.provider.base_url,
                    &ask.model,
                    crate::agent::probe::key_env(&cfg.provider),
                )),
                Err(e) => {
                    let msg = e.user_message(
                        cfg.provider.kind,
                        &cfg.provider.base_url,
                        &ask.model,
                        crate::agent::probe::key_env(&cfg.provider),
                    );
                    emit.emit(AgentEvent::TurnFailed { turn, error: msg });
                    return;
                }
            }
        }
    };
    if let Some(why) = extractive_reason {
        outcome.answer_kind = AnswerKind::Extractive;
        outcome.notice = Some(why.clone());
        let text = answer::extractive(&cited, &why);
        emit.emit(AgentEvent::AnswerDelta { turn, text });
    }
    outcome.completion.total_ms = started.elapsed().as_millis() as u64;
    emit.emit(AgentEvent::TurnDone { turn, outcome });
}
