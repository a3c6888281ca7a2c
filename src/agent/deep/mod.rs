//! Deep runs: plan sub-questions, research them in rounds (search → read
//! → passages → rank, the research turn's machinery), keep the best
//! passages as notes, follow leads (the model's reflection, or the names
//! the best passages mention), and write a cited report. Budgets bound
//! rounds, documents, model tokens and wall time; a document is read once
//! per run. After every step the run's state goes out to be stored
//! (`AgentEvent::DeepRun`), so a stopped or killed run resumes from there.

pub mod leads;
mod model;
pub mod notes;
pub mod plan;
pub mod reflect;
pub mod report;
mod round;
pub mod state;

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::agent::AgentEvent;
use crate::agent::provider::{ChatMessage, ChatRequest, ProviderError};
use crate::agent::research::document::Document;
use crate::agent::research::pipeline::{Clients, Synthesis, model_message, synthesize};
use crate::agent::research::queries::model_unusable;
use crate::agent::research::{SourceKind, gather, passages, sources};
use crate::agent::turn::{AnswerKind, TurnOutcome};
use crate::config::Config;
use crate::domain::{DocState, RunBudget, RunTree, TreeDoc, TreeRound, TurnId};
use crate::emit::Emitter;
use notes::cite;
use plan::SubQuestion;
pub use state::{Progress, Resume, Saved};

#[derive(Debug, Clone)]
pub struct DeepAsk {
    pub turn: TurnId,
    pub model: String,
    pub question: String,
    pub history: Vec<ChatMessage>,
    pub summary: Option<String>,
    pub only: Option<Vec<SourceKind>>,
    /// A stored run to continue instead of starting anew.
    pub resume: Option<Box<Saved>>,
    /// The session's instructions, temperature and answer length (for
    /// the report).
    pub settings: crate::domain::SessionSettings,
}

/// One round as it went, for the live view and `--json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Round {
    pub queries: Vec<String>,
    /// Titles of the documents read in this round.
    pub documents: Vec<String>,
    /// Evidence kept: "sub-question → document titles".
    pub notes: Vec<String>,
    /// What the round decided to search next.
    pub leads: Vec<String>,
    /// Sources that failed in the round ("Wikipedia: timeout").
    pub failed: Vec<String>,
}

/// The whole run, as `--json` shows it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DeepRun {
    pub plan: Vec<SubQuestion>,
    pub plan_from_model: bool,
    pub rounds: Vec<Round>,
    pub sections: Vec<report::Section>,
    pub documents_read: usize,
    /// Why the rounds ended: "rounds", "no new leads", "no new documents",
    /// "documents", "time", "model tokens", "evidence suffices", "stopped
    /// by the user".
    pub stopped: String,
    /// Model tokens spent planning and reflecting.
    pub tokens: u64,
    /// True when this run continued a stored one.
    pub resumed: bool,
}

/// A run in progress: the state that is saved, and what is not (the
/// clients, the round being fetched).
struct Run<'a> {
    cfg: &'a Config,
    clients: &'a Clients,
    ask: &'a DeepAsk,
    emit: &'a Emitter<AgentEvent>,
    started: Instant,
    deadline: Instant,
    p: Progress,
    docs: Vec<Document>,
    /// Documents and notes already sent to be stored.
    stored: usize,
    notes_stored: usize,
    /// The round being searched and read, for the tree.
    live: Option<TreeRound>,
    plan_error: Option<ProviderError>,
    kinds: Vec<SourceKind>,
    urls: Vec<String>,
}

impl<'a> Run<'a> {
    fn new(
        cfg: &'a Config,
        clients: &'a Clients,
        ask: &'a DeepAsk,
        emit: &'a Emitter<AgentEvent>,
        resume: Option<Resume>,
    ) -> Self {
        let started = Instant::now();
        let urls = sources::web::urls_in(&ask.question);
        let kinds = gather::enabled(cfg, ask.only.as_deref(), &urls);
        let (mut p, docs): (Progress, Vec<Document>) = match resume {
            Some(r) => (r.progress, r.documents),
            None => Default::default(),
        };
        // Fewer documents came back than the state counts (one was
        // unreadable): the later ones are fetched again.
        p.documents = p.documents.min(docs.len());
        let stored = docs.len();
        let notes_stored = p.notes.len();
        Self {
            cfg,
            clients,
            ask,
            emit,
            started,
            deadline: started + Duration::from_secs(cfg.deep.time_secs.max(5)),
            p,
            docs,
            stored,
            notes_stored,
            live: None,
            plan_error: None,
            kinds,
            urls,
        }
    }

    fn step(&self, text: String) {
        self.emit.emit(AgentEvent::DeepStep {
            turn: self.ask.turn,
            text,
        });
    }

    /// The research tree as it stands.
    fn tree(&self) -> RunTree {
        let dc = &self.cfg.deep;
        let mut rounds = Vec::new();
        let mut at = 0;
        for r in &self.p.rounds {
            let n = r.documents.len();
            let docs = self.docs.get(at..at + n).unwrap_or_default();
            at += n;
            rounds.push(TreeRound {
                queries: r.queries.clone(),
                done: true,
                documents: docs.iter().map(|d| self.tree_doc(d)).collect(),
                failed: r.failed.clone(),
                leads: r.leads.clone(),
            });
        }
        rounds.extend(self.live.clone());
        RunTree {
            plan: self.p.plan.iter().map(|s| s.question.clone()).collect(),
            plan_from_model: self.p.plan_from_model,
            rounds,
            budget: RunBudget {
                rounds: self.p.rounds.len(),
                max_rounds: dc.rounds.max(1),
                documents: self.docs.len(),
                max_documents: dc.max_documents,
                secs: self.started.elapsed().as_secs(),
                max_secs: dc.time_secs.max(5),
                tokens: self.p.tokens,
                max_tokens: dc.max_tokens,
            },
            stopped: self.p.stopped.clone(),
        }
    }

    fn tree_doc(&self, d: &Document) -> TreeDoc {
        TreeDoc {
            title: d.title.clone(),
            kind: d.kind.key().into_owned(),
            state: if self.p.cited.contains(&d.title) {
                DocState::Cited
            } else {
                DocState::Read
            },
        }
    }

    /// Shows the tree; `save` also sends the state and the documents not
    /// yet stored, to be written.
    fn publish(&mut self, save: bool) {
        let (state, documents, notes) = if save {
            let docs = state::to_store(self.stored, &self.docs[self.stored..]);
            self.stored = self.docs.len();
            let notes = state::notes_to_store(&self.p.notes[self.notes_stored..]);
            self.notes_stored = self.p.notes.len();
            (serde_json::to_string(&self.p).ok(), docs, notes)
        } else {
            (None, Vec::new(), Vec::new())
        };
        self.emit.emit(AgentEvent::DeepRun {
            turn: self.ask.turn,
            tree: Box::new(self.tree()),
            state,
            documents,
            notes,
        });
    }

    async fn plan(&mut self) {
        self.step("planning…".into());
        let planned = model::plan(self.cfg, self.clients, self.ask).await;
        self.p.plan = planned.subs.clone();
        self.p.open = planned.subs;
        self.p.plan_from_model = planned.from_model;
        self.p.tokens += planned.tokens;
        self.plan_error = planned.error;
        self.step(format!(
            "plan ({}): {}",
            if self.p.plan_from_model {
                "model"
            } else {
                "from the question"
            },
            self.p
                .plan
                .iter()
                .map(|s| s.question.as_str())
                .collect::<Vec<_>>()
                .join(" · ")
        ));
        self.publish(true);
    }

    /// The report: streamed from the model, or extractive without one.
    async fn report(mut self) {
        let turn = self.ask.turn;
        let (ask, cfg, emit) = (self.ask, self.cfg, self.emit);
        let all = {
            let d = self.docs.clone();
            tokio::task::spawn_blocking(move || passages::of_documents(&d, 3000))
                .await
                .unwrap_or_default()
        };
        let (cited, sections) = cite(&ask.question, &all, &self.p.notes, cfg);
        self.p.cited = cited.iter().map(|s| s.title.clone()).collect();
        self.publish(true);
        emit.emit(AgentEvent::Ranked {
            turn,
            sources: cited.clone(),
            analysis: Default::default(),
        });
        let mut outcome = TurnOutcome {
            model: ask.model.clone(),
            keywords: self.p.searched.clone(),
            sources: cited.clone(),
            source_status: self.p.statuses.clone(),
            ..Default::default()
        };
        let unusable = if self.clients.health.is_down() {
            Some(ProviderError::Connect("known to be down".into()))
        } else {
            self.plan_error.take().filter(model_unusable)
        };
        let extractive_reason = match unusable {
            _ if cited.is_empty() => Some("no source returned anything".to_string()),
            Some(e) => Some(model_message(cfg, &ask.model, &e)),
            None => {
                let mut req: ChatRequest = report::request(
                    &ask.model,
                    &ask.question,
                    &ask.history,
                    ask.summary.as_deref(),
                    &sections,
                    &cited,
                );
                // The session's own instructions, temperature and length.
                req.system = req
                    .system
                    .map(|s| crate::agent::summary::with_instructions(&s, &ask.settings));
                req.temperature = ask.settings.temperature;
                req.max_tokens = ask.settings.max_tokens;
                match synthesize(
                    cfg,
                    self.clients,
                    &ask.model,
                    &req,
                    turn,
                    emit,
                    &mut outcome,
                )
                .await
                {
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
            outcome.answer = text.clone();
            emit.emit(AgentEvent::AnswerDelta { turn, text });
        }
        outcome.claims =
            crate::agent::research::pipeline::check_claims(&outcome.answer, &cited).await;
        if outcome.answer_kind != AnswerKind::Extractive
            && let Some(check) = outcome.claims.as_mut()
        {
            crate::agent::research::judge::judge(self.clients, cfg, check, &cited).await;
        }
        let stopped = self.p.stopped.clone().unwrap_or_default();
        self.step(format!(
            "done: {}, {}, {} cited ({stopped})",
            crate::text::plural(self.p.rounds.len() as u64, "round"),
            crate::text::plural(self.docs.len() as u64, "document"),
            cited.len(),
        ));
        outcome.deep = Some(Box::new(DeepRun {
            plan: self.p.plan.clone(),
            plan_from_model: self.p.plan_from_model,
            rounds: self.p.rounds.clone(),
            sections,
            documents_read: self.docs.len(),
            stopped,
            tokens: self.p.tokens,
            resumed: ask.resume.is_some(),
        }));
        outcome.completion.total_ms = self.started.elapsed().as_millis() as u64;
        emit.emit(AgentEvent::TurnDone { turn, outcome });
    }
}

pub async fn run(
    cfg: &Config,
    clients: &Clients,
    ask: DeepAsk,
    mut wrap: tokio::sync::watch::Receiver<bool>,
    emit: &Emitter<AgentEvent>,
) {
    let resume = match &ask.resume {
        Some(saved) => {
            let saved = Saved::clone(saved);
            match tokio::task::spawn_blocking(move || {
                Resume::from_store(&saved.state, &saved.documents)
            })
            .await
            {
                Ok(Ok(r)) => Some(r),
                Ok(Err(e)) => {
                    emit.emit(AgentEvent::TurnFailed {
                        turn: ask.turn,
                        error: format!("cannot resume the deep run: {e}"),
                    });
                    return;
                }
                Err(_) => return,
            }
        }
        None => None,
    };
    let mut run = Run::new(cfg, clients, &ask, emit, resume);
    if ask.resume.is_some() {
        run.step(format!(
            "resuming: {} done, {} stored",
            crate::text::plural(run.p.rounds.len() as u64, "round"),
            crate::text::plural(run.docs.len() as u64, "document")
        ));
    }
    if !run.p.planned() {
        run.plan().await;
    }
    if run.p.stopped.is_none() {
        let why = run.research(&mut wrap).await;
        run.live = None;
        run.p.stopped = Some(why);
        run.publish(true);
    }
    run.report().await;
}

fn quoted(v: &[String]) -> String {
    v.iter()
        .map(|q| format!("“{}”", crate::text::sanitize::one_line(q)))
        .collect::<Vec<_>>()
        .join(" · ")
}
