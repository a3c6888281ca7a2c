//! One research turn: queries (the model's, with a heuristic head start)
//! → concurrent sources that read whole documents → passages ranked over
//! the turn → a cited answer (generated, or extractive when no model
//! answers). Every stage is reported as it happens; one failing source
//! never fails the turn.

use crate::domain::Role;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::document::Document;
use super::gather::{self, Batch};
use super::keywords::{self, Plan};
use super::queries::{self, Health, model_unusable};
use super::{SourceKind, SourceStatus, answer, rank, retrieve, sources};
use crate::agent::AgentEvent;
use crate::agent::provider::{ChatMessage, ChatRequest, ProviderError};
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
    /// The session's instructions, temperature and answer length.
    pub settings: crate::domain::SessionSettings,
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

/// What one source contributed, for the analysis panel.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SourceReport {
    pub source: SourceKind,
    pub documents: usize,
    pub passages: usize,
    pub chars: usize,
    /// Passages of this source given to the model as evidence, and the
    /// best one's relevance (the scale the source view shows).
    pub used: usize,
    pub relevance: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Analysis {
    /// "bm25", "embeddings" or "hybrid".
    pub ranker: String,
    pub per_source: Vec<SourceReport>,
    /// Each content word of the question and how many passages read
    /// contain it.
    pub question_terms: Vec<(String, usize)>,
    /// The queries actually searched, and whether the model wrote them.
    pub queries: Vec<String>,
    pub from_model: bool,
    /// The question as ranked, when it differs from what was typed.
    pub standalone: Option<String>,
}

pub struct Clients {
    pub provider: reqwest::Client,
    pub sources: reqwest::Client,
    pub web: reqwest::Client,
    pub health: Health,
    /// Requests in flight per host (politeness), shared by all turns.
    pub hosts: std::sync::Arc<super::sources::HostLimits>,
    /// MCP source servers started so far (killed when this is dropped).
    pub mcp: std::sync::Arc<super::sources::mcp::McpPool>,
}

/// Cited text kept per passage (passages are about 200 words at most;
/// this only bounds pathological ones such as a page of one long URL).
const EXCERPT: usize = 3000;
/// How long the model's queries may take before fetching starts with the
/// heuristic ones; the model's are added when they come.
pub const HEAD_START: Duration = Duration::from_millis(1500);

/// The queries and what they fetched.
struct Gathered {
    plan: Plan,
    docs: Vec<Document>,
    statuses: Vec<SourceStatus>,
    model_err: Option<ProviderError>,
}

/// The model's plan with the heuristic's first query kept as a fallback
/// for a model that searches badly.
fn with_fallback(mut model: Plan, heuristic: &Plan) -> Plan {
    if let Some(h) = heuristic.queries.first()
        && !model.queries.iter().any(|q| q.eq_ignore_ascii_case(h))
    {
        model.queries.push(h.clone());
    }
    model
}

/// Queries and fetching. The model gets [`HEAD_START`] to write the
/// queries; past that the heuristic ones are searched at once, the model's
/// are added if they come before those fetches end, and no turn waits on
/// a slow keyword reply beyond that.
async fn plan_and_fetch(
    clients: &Clients,
    cfg: &Config,
    ask: &ResearchAsk,
    kinds: &[SourceKind],
    urls: &[String],
    emit: &Emitter<AgentEvent>,
) -> Gathered {
    let turn = ask.turn;
    let heuristic = keywords::heuristic_plan(&ask.question, &ask.history);
    fn batch<'a>(
        kinds: &[SourceKind],
        queries: &'a [String],
        urls: &'a [String],
        report: bool,
    ) -> Batch<'a> {
        Batch {
            kinds: kinds.to_vec(),
            queries,
            urls,
            report,
            cap: None,
            skip: Default::default(),
        }
    }
    let announce = |p: &Plan| {
        emit.emit(AgentEvent::Keywords {
            turn,
            queries: p.queries.clone(),
            from_model: p.from_model,
        })
    };
    if clients.health.is_down() {
        announce(&heuristic);
        let (docs, statuses) = gather::fetch_all(
            clients,
            cfg,
            batch(kinds, &heuristic.queries, urls, true),
            turn,
            emit,
        )
        .await;
        return Gathered {
            plan: heuristic,
            docs,
            statuses,
            model_err: None,
        };
    }
    let model = queries::from_model(&clients.provider, cfg, ask);
    tokio::pin!(model);
    let mut model_err = None;
    tokio::select! {
        r = &mut model => {
            let plan = match r {
                Ok(Some(p)) => with_fallback(p, &heuristic),
                Ok(None) => heuristic,
                Err(e) => {
                    model_err = Some(e);
                    heuristic
                }
            };
            announce(&plan);
            let (docs, statuses) =
                gather::fetch_all(clients, cfg, batch(kinds, &plan.queries, urls, true), turn, emit).await;
            return Gathered { plan, docs, statuses, model_err };
        }
        _ = tokio::time::sleep(HEAD_START) => {}
    }
    announce(&heuristic);
    let first = gather::fetch_all(
        clients,
        cfg,
        batch(kinds, &heuristic.queries, urls, true),
        turn,
        emit,
    );
    tokio::pin!(first);
    let mut plan = heuristic.clone();
    let got = tokio::select! {
        g = &mut first => g,
        r = &mut model => match r {
            Ok(Some(p)) => {
                let new: Vec<String> = p
                    .queries
                    .iter()
                    .filter(|q| !heuristic.queries.iter().any(|h| h.eq_ignore_ascii_case(q)))
                    .cloned()
                    .collect();
                plan = Plan {
                    standalone: p.standalone,
                    queries: heuristic.queries.iter().chain(&new).cloned().collect(),
                    from_model: true,
                };
                announce(&plan);
                let second = gather::fetch_all(clients, cfg, batch(kinds, &new, urls, false), turn, emit);
                let (mut a, b) = tokio::join!(&mut first, second);
                gather::merge(&mut a, b);
                a
            }
            Ok(None) => first.await,
            Err(e) => {
                model_err = Some(e);
                first.await
            }
        },
    };
    Gathered {
        plan,
        docs: got.0,
        statuses: got.1,
        model_err,
    }
}

/// The question to rank by: the standalone rewrite with the typed words,
/// so a poor rewrite cannot lose what was asked.
fn ranking_question(question: &str, plan: &Plan) -> String {
    if plan.standalone.trim() == question.trim() {
        question.to_string()
    } else {
        format!("{} {}", plan.standalone, question)
    }
}

fn cite(r: &retrieve::Retrieved) -> Vec<Source> {
    let fetched_at = now_ms();
    r.picks
        .iter()
        .enumerate()
        .map(|(i, (idx, rel))| {
            let p = &r.passages[*idx];
            Source {
                ordinal: i as i64 + 1,
                kind: p.kind.key().into_owned(),
                title: crate::text::sanitize::one_line(&p.title),
                url: p.url.clone(),
                excerpt: answer::shorten(&p.text, EXCERPT),
                relevance: Some((rel * 1000.0).round() / 1000.0),
                fetched_at,
                section: p.section.as_deref().map(crate::text::sanitize::one_line),
                meta: (*p.meta).clone(),
            }
        })
        .collect()
}

async fn analyse(
    r: &retrieve::Retrieved,
    cited: &[Source],
    statuses: &mut [SourceStatus],
    question: &str,
    plan: &Plan,
) -> Analysis {
    for s in statuses.iter_mut() {
        s.passages = r.passages.iter().filter(|p| p.kind == s.source).count();
    }
    let per_source = statuses
        .iter()
        .map(|s| {
            let rels: Vec<f64> = cited
                .iter()
                .filter(|c| c.kind == s.source.key())
                .filter_map(|c| c.relevance)
                .collect();
            SourceReport {
                source: s.source,
                documents: s.count,
                passages: s.passages,
                chars: s.chars,
                used: rels.len(),
                relevance: rels.iter().copied().reduce(f64::max),
            }
        })
        .collect();
    let texts: Vec<String> = r.passages.iter().map(|p| p.text.clone()).collect();
    let q = question.to_string();
    let question_terms = tokio::task::spawn_blocking(move || {
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        rank::question_terms(&q, &refs)
    })
    .await
    .unwrap_or_default();
    Analysis {
        ranker: r.ranker.into(),
        per_source,
        question_terms,
        queries: plan.queries.clone(),
        from_model: plan.from_model,
        standalone: (plan.standalone.trim() != question.trim()).then(|| plan.standalone.clone()),
    }
}

/// Re-checks a provider known to be down, in the background, so the next
/// turn uses a model that has come up since.
fn recheck(clients: &Clients, cfg: &Config, emit: &Emitter<AgentEvent>) {
    let (client, pcfg, health, emit) = (
        clients.provider.clone(),
        cfg.provider.clone(),
        clients.health.clone(),
        emit.clone(),
    );
    tokio::spawn(async move {
        let p = crate::agent::probe::probe(&client, &pcfg).await;
        health.set(p.reachable);
        emit.emit(AgentEvent::Provider(p));
    });
}

pub async fn run(cfg: &Config, clients: &Clients, ask: ResearchAsk, emit: &Emitter<AgentEvent>) {
    let turn = ask.turn;
    let started = Instant::now();
    let known_down = clients.health.is_down();
    // 1–2. Queries and sources; memory alongside.
    let urls = sources::web::urls_in(&ask.question);
    let kinds = gather::enabled(cfg, ask.only.as_deref(), &urls);
    let memory_task = async {
        match &ask.memory {
            Some(m) => recall(&ask.question, m).await,
            None => Vec::new(),
        }
    };
    let (mut g, recalled) = tokio::join!(
        plan_and_fetch(clients, cfg, &ask, &kinds, &urls, emit),
        memory_task
    );
    if !recalled.is_empty() {
        let mut from: Vec<String> = recalled
            .iter()
            .map(|r| crate::text::sanitize::one_line(&r.session_title))
            .collect();
        from.dedup();
        emit.emit(AgentEvent::Recalled { turn, from });
    }
    match &g.model_err {
        Some(e @ ProviderError::Connect(_)) => {
            tracing::info!(error = %e, "provider unreachable; answering from sources");
            clients.health.set(false);
        }
        None if g.plan.from_model => clients.health.set(true),
        _ => {}
    }
    let unusable = if known_down {
        Some(ProviderError::Connect("known to be down".into()))
    } else {
        g.model_err.clone().filter(model_unusable)
    };
    // 3. Passages, ranking, analysis.
    let question = ranking_question(&ask.question, &g.plan);
    let docs = std::mem::take(&mut g.docs);
    let r = retrieve::retrieve(clients, cfg, &question, docs, unusable.is_none()).await;
    let cited = cite(&r);
    let analysis = analyse(&r, &cited, &mut g.statuses, &ask.question, &g.plan).await;
    emit.emit(AgentEvent::Ranked {
        turn,
        sources: cited.clone(),
        analysis,
    });
    // 4. The answer.
    let mut outcome = TurnOutcome {
        model: ask.model.clone(),
        keywords: g.plan.queries.clone(),
        sources: cited.clone(),
        source_status: g.statuses.clone(),
        memory: recalled.iter().map(|r| r.session_title.clone()).collect(),
        ..Default::default()
    };
    let user_message = |e: &ProviderError| model_message(cfg, &ask.model, e);
    let extractive_reason = match unusable {
        // Nothing to cite: say so rather than let the model answer unsourced.
        _ if cited.is_empty() && r.passages.is_empty() => {
            Some("no source returned anything".to_string())
        }
        _ if cited.is_empty() => Some(format!(
            "nothing in the {} read shares a word with the question",
            crate::text::plural(r.passages.len() as u64, "passage")
        )),
        Some(e) => {
            if known_down {
                recheck(clients, cfg, emit);
            }
            Some(user_message(&e))
        }
        None => {
            let req = answer_request(&ask, &cited, &recalled);
            match synthesize(cfg, clients, &ask.model, &req, turn, emit, &mut outcome).await {
                Synthesis::Done => None,
                Synthesis::Extractive(why) => Some(why),
                Synthesis::Failed => return,
            }
        }
    };
    if let Some(why) = extractive_reason {
        outcome.answer_kind = AnswerKind::Extractive;
        outcome.notice = Some(why.clone());
        let text = answer::extractive(&question, &cited, &why);
        outcome.answer = text.clone();
        emit.emit(AgentEvent::AnswerDelta { turn, text });
    }
    outcome.claims = check_claims(&outcome.answer, &cited).await;
    // The model judge only where a model wrote the answer (one that is
    // down would only cost its timeout).
    if outcome.answer_kind != AnswerKind::Extractive
        && let Some(check) = outcome.claims.as_mut()
    {
        super::judge::judge(clients, cfg, check, &cited).await;
    }
    outcome.completion.total_ms = started.elapsed().as_millis() as u64;
    emit.emit(AgentEvent::TurnDone { turn, outcome });
}

/// The claim check of a finished answer, off the runtime's threads (it is
/// bounded, but an answer of thousands of sentences takes milliseconds).
pub async fn check_claims(
    answer: &str,
    cited: &[Source],
) -> Option<Box<crate::verify::ClaimCheck>> {
    if cited.is_empty() || answer.trim().is_empty() {
        return None;
    }
    let (answer, cited) = (answer.to_string(), cited.to_vec());
    tokio::task::spawn_blocking(move || Box::new(crate::verify::check(&answer, &cited)))
        .await
        .ok()
}

/// One line for the user about a model failure, with what to do.
pub fn model_message(cfg: &Config, model: &str, e: &ProviderError) -> String {
    e.user_message(
        &cfg.provider,
        model,
        crate::agent::probe::key_env(&cfg.provider),
    )
}

/// How streaming the answer from the sources went.
pub enum Synthesis {
    /// The answer streamed; its completion is in the outcome.
    Done,
    /// No usable model before any text: answer extractively, saying why.
    Extractive(String),
    /// Failed mid-answer: `TurnFailed` was emitted.
    Failed,
}

/// Streams `req` as the turn's answer, keeping the provider's health up to
/// date (shared by research turns and deep runs).
pub async fn synthesize(
    cfg: &Config,
    clients: &Clients,
    model: &str,
    req: &ChatRequest,
    turn: TurnId,
    emit: &Emitter<AgentEvent>,
    outcome: &mut TurnOutcome,
) -> Synthesis {
    let mut pcfg = cfg.provider.clone();
    pcfg.model = model.to_string();
    let user_message = |e: &ProviderError| model_message(cfg, model, e);
    outcome.answer.clear();
    match turn::stream_answer(
        &clients.provider,
        &pcfg,
        req,
        turn,
        emit,
        &mut outcome.answer,
    )
    .await
    {
        Ok(c) => {
            clients.health.set(true);
            outcome.completion = c;
            outcome.tokens_per_sec = turn::tokens_per_sec(&outcome.completion);
            Synthesis::Done
        }
        Err(e) if outcome.answer.is_empty() && model_unusable(&e) => {
            if matches!(e, ProviderError::Connect(_)) {
                clients.health.set(false);
            }
            Synthesis::Extractive(user_message(&e))
        }
        Err(e) => {
            emit.emit(AgentEvent::TurnFailed {
                turn,
                error: user_message(&e),
            });
            Synthesis::Failed
        }
    }
}

/// The synthesis request: the conversation, recalled context, then the
/// numbered passages and the question.
fn answer_request(
    ask: &ResearchAsk,
    cited: &[Source],
    recalled: &[crate::store::queries::Recalled],
) -> ChatRequest {
    let mut messages = ask.history.clone();
    let mut content = String::new();
    if !recalled.is_empty() {
        content.push_str("From the user's earlier sessions (context, not citable):\n");
        for r in recalled {
            content.push_str(&format!(
                "- ({}, {}) {}\n",
                r.session_title,
                r.role.as_str(),
                r.snippet
            ));
        }
        content.push('\n');
    }
    content.push_str(&answer::prompt(&ask.question, cited));
    messages.push(ChatMessage {
        role: Role::User,
        content,
    });
    let system = crate::agent::summary::with_instructions(answer::SYSTEM, &ask.settings);
    ChatRequest {
        model: ask.model.clone(),
        system: Some(crate::agent::summary::with_summary(
            &system,
            ask.summary.as_deref(),
        )),
        messages,
        schema: None,
        temperature: ask.settings.temperature,
        max_tokens: ask.settings.max_tokens,
    }
}
