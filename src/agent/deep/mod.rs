//! Deep runs: plan sub-questions, research them in rounds (search → read
//! → passages → rank, the research turn's machinery), keep the best
//! passages as notes, follow leads (the model's reflection, or the names
//! the best passages mention), and write a cited report. Budgets bound
//! rounds, documents and wall time; a document is read once per run.

pub mod leads;
pub mod notes;
pub mod plan;
pub mod reflect;
pub mod report;

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::agent::AgentEvent;
use crate::agent::provider::{ChatMessage, ChatRequest, ProviderError};
use crate::agent::research::document::Document;
use crate::agent::research::gather::{self, Batch};
use crate::agent::research::pipeline::{Clients, Synthesis, model_message, synthesize};
use crate::agent::research::queries::{self, model_unusable};
use crate::agent::research::{SourceStatus, passages, rank, sources};
use crate::agent::turn::{AnswerKind, TurnOutcome};
use crate::config::Config;
use crate::domain::TurnId;
use crate::emit::Emitter;
use notes::{Note, cite, notes_for};
use plan::SubQuestion;

#[derive(Debug, Clone)]
pub struct DeepAsk {
    pub turn: TurnId,
    pub model: String,
    pub question: String,
    pub history: Vec<ChatMessage>,
    pub summary: Option<String>,
    pub only: Option<Vec<crate::agent::research::SourceKind>>,
}

/// One round as it went, for the live view and `--json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Round {
    pub queries: Vec<String>,
    /// Titles of the documents read in this round.
    pub documents: Vec<String>,
    /// Evidence kept: "sub-question → document titles".
    pub notes: Vec<String>,
    /// What the round decided to search next.
    pub leads: Vec<String>,
}

/// The whole run, as `--json` shows it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DeepRun {
    pub plan: Vec<SubQuestion>,
    pub plan_from_model: bool,
    pub rounds: Vec<Round>,
    pub sections: Vec<report::Section>,
    pub documents_read: usize,
    /// Why the rounds ended: "rounds", "no new leads", "documents", "time",
    /// "evidence suffices".
    pub stopped: String,
}

const PLAN_TIMEOUT: Duration = Duration::from_secs(30);
/// Weight, when looking for leads, of the article about something the
/// question names (a passage matching the question has 0..1).
const OWN_ARTICLE_LEAD_WEIGHT: f64 = 5.0;
/// Passages looked at for leads.
const LEAD_PASSAGES: usize = 8;

fn step(emit: &Emitter<AgentEvent>, turn: TurnId, text: String) {
    emit.emit(AgentEvent::DeepStep { turn, text });
}

async fn make_plan(
    cfg: &Config,
    clients: &Clients,
    ask: &DeepAsk,
) -> (Vec<SubQuestion>, bool, Option<ProviderError>) {
    if clients.health.is_down() {
        return (plan::heuristic(&ask.question), false, None);
    }
    let mut pcfg = cfg.clone();
    pcfg.provider.model = ask.model.clone();
    let req = plan::request(
        &ask.model,
        &ask.question,
        &ask.history,
        ask.summary.as_deref(),
    );
    match queries::ask_structured(&clients.provider, &pcfg, req, PLAN_TIMEOUT).await {
        Ok(reply) => match plan::parse(&reply) {
            Some(p) => {
                clients.health.set(true);
                (p, true, None)
            }
            None => {
                tracing::info!("unusable plan reply; heuristic plan");
                (plan::heuristic(&ask.question), false, None)
            }
        },
        Err(e) => {
            if matches!(e, ProviderError::Connect(_)) {
                clients.health.set(false);
            }
            (plan::heuristic(&ask.question), false, Some(e))
        }
    }
}

/// The model's reflection on the notes; None without a usable model or
/// reply (the heuristic leads are followed then).
async fn reflect_with_model(
    cfg: &Config,
    clients: &Clients,
    ask: &DeepAsk,
    notes: &[Note],
    deadline: Instant,
) -> Option<reflect::Decision> {
    if clients.health.is_down() {
        return None;
    }
    let shown: Vec<(String, Vec<String>)> = notes
        .iter()
        .map(|n| {
            (
                n.heading.clone(),
                n.passages.iter().map(|(p, _)| p.text.clone()).collect(),
            )
        })
        .collect();
    let mut pcfg = cfg.clone();
    pcfg.provider.model = ask.model.clone();
    let left = deadline
        .saturating_duration_since(Instant::now())
        .min(PLAN_TIMEOUT);
    let req = reflect::request(&ask.model, &ask.question, &shown);
    match queries::ask_structured(&clients.provider, &pcfg, req, left).await {
        Ok(reply) => {
            let d = reflect::parse(&reply);
            if d.is_none() {
                tracing::info!("unusable reflection; following heuristic leads");
            }
            d
        }
        Err(e) => {
            if matches!(e, ProviderError::Connect(_)) {
                clients.health.set(false);
            }
            None
        }
    }
}

fn doc_keys(d: &Document) -> Vec<String> {
    let mut k = vec![d.title.clone()];
    k.extend(d.url.clone());
    k
}

/// Whether the user asked to stop researching and write the report.
fn wrapped(wrap: &tokio::sync::watch::Receiver<bool>) -> bool {
    *wrap.borrow()
}

pub async fn run(
    cfg: &Config,
    clients: &Clients,
    ask: DeepAsk,
    mut wrap: tokio::sync::watch::Receiver<bool>,
    emit: &Emitter<AgentEvent>,
) {
    let turn = ask.turn;
    let started = Instant::now();
    let dc = &cfg.deep;
    let deadline = started + Duration::from_secs(dc.time_secs.max(5));
    let known_down = clients.health.is_down();
    step(emit, turn, "planning…".into());
    let (subs, from_model, plan_err) = make_plan(cfg, clients, &ask).await;
    let mut run = DeepRun {
        plan: subs.clone(),
        plan_from_model: from_model,
        ..Default::default()
    };
    step(
        emit,
        turn,
        format!(
            "plan ({}): {}",
            if from_model {
                "model"
            } else {
                "from the question"
            },
            subs.iter()
                .map(|s| s.question.as_str())
                .collect::<Vec<_>>()
                .join(" · ")
        ),
    );
    let urls = sources::web::urls_in(&ask.question);
    let kinds = gather::enabled(cfg, ask.only.as_deref(), &urls);
    let mut docs: Vec<Document> = Vec::new();
    let mut statuses: Vec<SourceStatus> = Vec::new();
    let mut notes: Vec<Note> = Vec::new();
    let mut searched: Vec<String> = Vec::new();
    let mut open = subs;
    run.stopped = "rounds".into();
    for round in 1..=dc.rounds.max(1) {
        if wrapped(&wrap) {
            run.stopped = "stopped by the user".into();
            break;
        }
        if open.is_empty() {
            run.stopped = "no new leads".into();
            break;
        }
        if Instant::now() >= deadline {
            run.stopped = "time".into();
            break;
        }
        if docs.len() >= dc.max_documents {
            run.stopped = "documents".into();
            break;
        }
        let round_queries: Vec<String> = open.iter().map(|s| s.query.clone()).collect();
        searched.extend(round_queries.iter().cloned());
        step(
            emit,
            turn,
            format!("round {round}: searching {}", quoted(&round_queries)),
        );
        emit.emit(AgentEvent::Keywords {
            turn,
            queries: round_queries.clone(),
            from_model,
        });
        let skip: Vec<String> = docs.iter().flat_map(doc_keys).collect();
        let left = dc.max_documents.saturating_sub(docs.len());
        let cap = (cfg.research.per_source * round_queries.len()).clamp(1, left.max(1));
        let batch = Batch {
            kinds: kinds.clone(),
            queries: &round_queries,
            urls: if round == 1 { &urls } else { &[] },
            report: true,
            cap: Some(cap),
            skip: Arc::new(skip),
        };
        let fetch = gather::fetch_all(clients, cfg, batch, turn, emit);
        let fetched = tokio::select! {
            r = tokio::time::timeout_at(deadline.into(), fetch) => r.ok(),
            // Esc: what this round was fetching is dropped; the report is
            // written from the rounds already done.
            _ = wrap.wait_for(|w| *w) => {
                run.stopped = "stopped by the user".into();
                break;
            }
        };
        let Some((new_docs, st)) = fetched else {
            run.stopped = "time".into();
            break;
        };
        let mut merged = (std::mem::take(&mut docs), std::mem::take(&mut statuses));
        let before = merged.0.len();
        gather::merge(&mut merged, (new_docs, st));
        (docs, statuses) = merged;
        let fresh: Vec<Document> = docs[before..].to_vec();
        run.rounds.push(Round {
            queries: round_queries,
            documents: fresh.iter().map(|d| d.title.clone()).collect(),
            ..Default::default()
        });
        step(
            emit,
            turn,
            format!(
                "round {round}: read {} new documents ({} in all)",
                fresh.len(),
                docs.len()
            ),
        );
        if fresh.is_empty() {
            // Its leads would come from the same passages as before.
            run.stopped = "no new documents".into();
            break;
        }
        // Notes for this round's sub-questions, from what it read.
        let (question, open_now) = (ask.question.clone(), open.clone());
        let all_docs = docs.clone();
        let work = tokio::task::spawn_blocking(move || {
            let fresh_ps = passages::of_documents(&fresh, 2000);
            let notes = notes_for(&question, &open_now, &fresh_ps);
            // Leads come from the passages that best match the question.
            let all_ps = passages::of_documents(&all_docs, 3000);
            let texts: Vec<String> = all_ps
                .iter()
                .map(|p| format!("{}\n{}", p.title, p.text))
                .collect();
            let scores = rank::bm25(&question, &texts);
            let mut top: Vec<(String, f64)> = rank::top_k(&scores, LEAD_PASSAGES)
                .into_iter()
                .map(|(i, r)| (all_ps[i].text.clone(), r))
                .collect();
            // Each sub-question's best evidence names what to look at next
            // ("2014 S/S is the debut album of WINNER").
            // It counts more than a passage that merely matches the
            // question's words: a bridge is named in the article of what
            // the question names.
            for n in &notes {
                if let Some((p, _)) = n.passages.first() {
                    let w = if n.own_article {
                        OWN_ARTICLE_LEAD_WEIGHT
                    } else {
                        1.0
                    };
                    top.push((p.text.clone(), w));
                }
            }
            (notes, top)
        });
        let Ok((round_notes, top)) = work.await else {
            break;
        };
        if let Some(r) = run.rounds.last_mut() {
            r.notes = round_notes
                .iter()
                .map(|n| {
                    let titles: Vec<&str> =
                        n.passages.iter().map(|(p, _)| p.title.as_str()).collect();
                    format!("{} → {}", n.heading, titles.join(", "))
                })
                .collect();
        }
        notes.extend(round_notes);
        if round == dc.rounds.max(1) {
            break;
        }
        let mut known = searched.clone();
        known.extend(docs.iter().map(|d| d.title.clone()));
        let refs: Vec<(&str, f64)> = top.iter().map(|(t, r)| (t.as_str(), *r)).collect();
        let heuristic =
            leads::from_passages(&ask.question, &refs, &known, dc.leads_per_round.max(1));
        let next = match reflect_with_model(cfg, clients, &ask, &notes, deadline).await {
            Some(d) if d.enough => {
                step(emit, turn, "the model finds the evidence sufficient".into());
                run.stopped = "evidence suffices".into();
                break;
            }
            Some(d) => {
                let new: Vec<String> = d
                    .queries
                    .into_iter()
                    .filter(|q| !searched.iter().any(|s| s.eq_ignore_ascii_case(q)))
                    .collect();
                if new.is_empty() { heuristic } else { new }
            }
            None => heuristic,
        };
        if let Some(r) = run.rounds.last_mut() {
            r.leads = next.clone();
        }
        if !next.is_empty() {
            step(emit, turn, format!("following leads: {}", quoted(&next)));
        }
        open = next
            .into_iter()
            .map(|l| SubQuestion {
                question: l.clone(),
                query: l,
            })
            .collect();
    }
    run.documents_read = docs.len();
    // The report.
    let all = {
        let d = docs.clone();
        tokio::task::spawn_blocking(move || passages::of_documents(&d, 3000))
            .await
            .unwrap_or_default()
    };
    let (cited, sections) = cite(&ask.question, &all, &notes, cfg);
    run.sections = sections.clone();
    emit.emit(AgentEvent::Ranked {
        turn,
        sources: cited.clone(),
        analysis: Default::default(),
    });
    let mut outcome = TurnOutcome {
        model: ask.model.clone(),
        keywords: searched.clone(),
        sources: cited.clone(),
        source_status: statuses,
        ..Default::default()
    };
    let user_message = |e: &ProviderError| model_message(cfg, &ask.model, e);
    let unusable = if known_down || clients.health.is_down() {
        Some(ProviderError::Connect("known to be down".into()))
    } else {
        plan_err.filter(model_unusable)
    };
    let extractive_reason = match unusable {
        _ if cited.is_empty() => Some("no source returned anything".to_string()),
        Some(e) => Some(user_message(&e)),
        None => {
            let req: ChatRequest = report::request(
                &ask.model,
                &ask.question,
                &ask.history,
                ask.summary.as_deref(),
                &sections,
                &cited,
            );
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
        let text = report::extractive(&ask.question, &sections, &cited, &why);
        emit.emit(AgentEvent::AnswerDelta { turn, text });
    }
    step(
        emit,
        turn,
        format!(
            "done: {} rounds, {} documents, {} cited ({})",
            run.rounds.len(),
            run.documents_read,
            cited.len(),
            run.stopped
        ),
    );
    outcome.deep = Some(run);
    outcome.completion.total_ms = started.elapsed().as_millis() as u64;
    emit.emit(AgentEvent::TurnDone { turn, outcome });
}

fn quoted(v: &[String]) -> String {
    v.iter()
        .map(|q| format!("“{}”", crate::sanitize::one_line(q)))
        .collect::<Vec<_>>()
        .join(" · ")
}
