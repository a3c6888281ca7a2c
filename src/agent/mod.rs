//! The agent thread: a tokio runtime where network work runs. It takes
//! [`AgentCommand`]s and reports [`AgentEvent`]s through an emitter.

pub mod deep;
pub mod probe;
pub mod provider;
pub mod research;
pub mod sse;
pub mod summary;
pub mod think;
pub mod turn;

use std::thread::JoinHandle;

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

use crate::config::Config;
use crate::domain::TurnId;
use crate::emit::Emitter;
pub use probe::ProviderProbe;

pub use turn::{AskRequest, TurnOutcome};

#[derive(Debug, Clone)]
pub enum AgentCommand {
    /// Re-check the provider (start-up does this once by itself).
    Probe,
    /// Liveness check; answered with `Pong` carrying the same number.
    Ping(u64),
    /// Answer a question from the model alone; events carry the turn id.
    Ask(AskRequest),
    /// A research turn: keywords, sources, ranking, a cited answer.
    Research(research::pipeline::ResearchAsk),
    /// A deep run: plan, rounds, leads, a cited report.
    Deep(deep::DeepAsk),
    /// Fold older messages of a session into its summary (background).
    Summarize(summary::SummarizeRequest),
    /// Stop a turn now: its HTTP stream is dropped.
    Cancel(TurnId),
    /// A deep run stops researching and writes its report from what it
    /// found so far (a second Esc then cancels it).
    Wrap(TurnId),
    Shutdown,
}

#[derive(Debug, Clone)]
pub enum AgentEvent {
    Provider(ProviderProbe),
    Pong(u64),
    /// Answer text (thoughts already removed).
    AnswerDelta {
        turn: TurnId,
        text: String,
    },
    /// Research: the search queries (from the model, or the heuristic).
    Keywords {
        turn: TurnId,
        queries: Vec<String>,
        from_model: bool,
    },
    SourceStarted {
        turn: TurnId,
        source: research::SourceKind,
    },
    SourceDone {
        turn: TurnId,
        status: research::SourceStatus,
    },
    /// Research: the cited sources ([n] = ordinal) and the analysis.
    Ranked {
        turn: TurnId,
        sources: Vec<crate::domain::Source>,
        analysis: research::pipeline::Analysis,
    },
    /// A deep run's progress, one line each (plan, rounds, leads).
    DeepStep {
        turn: TurnId,
        text: String,
    },
    /// A deep run's research tree; after a completed step also its state
    /// and the documents read since the last one, for the recorder to
    /// store (a resume starts from them).
    DeepRun {
        turn: TurnId,
        tree: Box<crate::domain::RunTree>,
        state: Option<String>,
        documents: Vec<crate::domain::RunDocument>,
        /// Notes kept since the last step (searchable once stored).
        notes: Vec<crate::domain::RunNote>,
    },
    /// Research: messages from other sessions recalled into the context.
    Recalled {
        turn: TurnId,
        from: Vec<String>,
    },
    /// A session's new rolling summary, covering its first `folded` messages.
    Summary {
        session: crate::domain::SessionId,
        summary: String,
        folded: usize,
    },
    SummaryFailed {
        session: crate::domain::SessionId,
    },
    /// The answer's request failed and is retried (rate limit, 5xx,
    /// refused connection): why and when, in words.
    Retrying {
        turn: TurnId,
        note: String,
    },
    /// The model started or stopped a `<think>` block.
    Thinking {
        turn: TurnId,
        active: bool,
    },
    TurnDone {
        turn: TurnId,
        outcome: TurnOutcome,
    },
    /// One line for the user, with what to do.
    TurnFailed {
        turn: TurnId,
        error: String,
    },
}

impl AgentEvent {
    /// The turn an event is about; None for events about no turn (the
    /// provider, pings, summaries).
    pub fn turn(&self) -> Option<TurnId> {
        match self {
            AgentEvent::Provider(_)
            | AgentEvent::Pong(_)
            | AgentEvent::Summary { .. }
            | AgentEvent::SummaryFailed { .. } => None,
            AgentEvent::AnswerDelta { turn, .. }
            | AgentEvent::Keywords { turn, .. }
            | AgentEvent::SourceStarted { turn, .. }
            | AgentEvent::SourceDone { turn, .. }
            | AgentEvent::Ranked { turn, .. }
            | AgentEvent::DeepStep { turn, .. }
            | AgentEvent::DeepRun { turn, .. }
            | AgentEvent::Recalled { turn, .. }
            | AgentEvent::Retrying { turn, .. }
            | AgentEvent::Thinking { turn, .. }
            | AgentEvent::TurnDone { turn, .. }
            | AgentEvent::TurnFailed { turn, .. } => Some(*turn),
        }
    }
}

pub struct AgentThread {
    tx: UnboundedSender<AgentCommand>,
    join: Option<JoinHandle<()>>,
}

#[derive(Clone)]
pub struct AgentHandle {
    tx: UnboundedSender<AgentCommand>,
}

impl AgentHandle {
    /// A handle whose commands go to the returned receiver rather than to
    /// an agent thread: screens and the conversation driven in tests
    /// without threads, the commands they send read back.
    pub fn detached() -> (Self, tokio::sync::mpsc::UnboundedReceiver<AgentCommand>) {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        (Self { tx }, rx)
    }

    pub fn send(&self, cmd: AgentCommand) {
        if self.tx.send(cmd).is_err() {
            tracing::warn!("agent is gone; command dropped");
        }
    }
}

impl AgentThread {
    pub fn handle(&self) -> AgentHandle {
        AgentHandle {
            tx: self.tx.clone(),
        }
    }

    /// Cancels outstanding work and joins the thread.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        let _ = self.tx.send(AgentCommand::Shutdown);
        if let Some(j) = self.join.take()
            && j.join().is_err()
        {
            tracing::error!("agent thread panicked");
        }
    }
}

impl Drop for AgentThread {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The HTTP client for configured endpoints (the provider); it follows the
/// config, not the untrusted-URL policy that source fetches get.
///
/// It follows a redirect only within the provider's origin: credentials
/// (`Authorization`, `x-api-key`) and prompts go to the configured provider
/// and nowhere else.
pub fn trusted_client(cfg: &Config) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .user_agent(concat!("sleuth/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(std::time::Duration::from_secs(
            cfg.provider.connect_timeout_secs,
        ))
        .redirect(reqwest::redirect::Policy::custom(|attempt| {
            let same_origin = attempt
                .previous()
                .first()
                .is_some_and(|first| first.origin() == attempt.url().origin());
            if attempt.previous().len() >= 5 {
                attempt.error("too many redirects")
            } else if same_origin {
                attempt.follow()
            } else {
                let to = attempt.url().origin().ascii_serialization();
                attempt.error(format!(
                    "the provider redirected to another origin ({to}); not followed, so the key and prompt stay with the configured provider"
                ))
            }
        }))
        .build()
}

/// Addresses of the configured sources, `host:port`: reachable although
/// private (a SearXNG on the LAN, a loopback test server) on that port
/// only; redirects are checked against the rest like any fetch.
fn source_hosts(cfg: &Config) -> Vec<String> {
    let s = &cfg.sources;
    [&s.wikipedia, &s.hackernews, &s.arxiv, &s.searxng]
        .iter()
        .filter_map(|c| reqwest::Url::parse(&c.base_url).ok())
        .filter_map(|u| {
            let port = u.port_or_known_default()?;
            u.host_str().map(|h| format!("{h}:{port}"))
        })
        .collect()
}

fn research_clients(cfg: &Config) -> reqwest::Result<research::pipeline::Clients> {
    let t = std::time::Duration::from_secs(cfg.research.timeout_secs.max(1));
    Ok(research::pipeline::Clients {
        provider: trusted_client(cfg)?,
        sources: research::fetch::guarded_client(
            cfg.research
                .allow_hosts
                .iter()
                .cloned()
                .chain(source_hosts(cfg))
                .collect(),
            t,
        )?,
        web: research::fetch::guarded_client(cfg.research.allow_hosts.clone(), t)?,
        health: research::queries::Health::default(),
        hosts: Default::default(),
        mcp: Default::default(),
    })
}

pub fn spawn_agent(config: Config, emit: Emitter<AgentEvent>) -> std::io::Result<AgentThread> {
    let (tx, rx) = unbounded_channel();
    let join = std::thread::Builder::new()
        .name("agent".into())
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("agent-worker")
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    tracing::error!(error = %e, "cannot start the agent runtime");
                    return;
                }
            };
            rt.block_on(run(config, rx, emit));
            // Outstanding requests are dropped here, which closes their
            // connections at once.
            rt.shutdown_timeout(std::time::Duration::from_millis(200));
        })?;
    Ok(AgentThread {
        tx,
        join: Some(join),
    })
}

async fn run(config: Config, mut rx: UnboundedReceiver<AgentCommand>, emit: Emitter<AgentEvent>) {
    let clients = match research_clients(&config) {
        Ok(c) => std::sync::Arc::new(c),
        Err(e) => {
            tracing::error!(error = %e, "cannot build HTTP clients");
            return;
        }
    };
    let config = std::sync::Arc::new(config);
    let client = match trusted_client(&config) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "cannot build HTTP client");
            emit.emit(AgentEvent::Provider(ProviderProbe {
                reachable: false,
                model_found: None,
                summary: format!("cannot build an HTTP client: {e}"),
                models: vec![],
            }));
            return;
        }
    };
    let mut tasks = tokio::task::JoinSet::new();
    let mut turns: std::collections::HashMap<TurnId, tokio::task::AbortHandle> =
        std::collections::HashMap::new();
    // Deep runs' "stop researching, write the report" switches.
    let mut wraps: std::collections::HashMap<TurnId, tokio::sync::watch::Sender<bool>> =
        std::collections::HashMap::new();
    while let Some(cmd) = rx.recv().await {
        match cmd {
            AgentCommand::Probe => {
                let (client, cfg, emit) = (client.clone(), config.provider.clone(), emit.clone());
                let health = clients.health.clone();
                tasks.spawn(async move {
                    let p = probe::probe(&client, &cfg).await;
                    // A research turn does not wait on a model known to be down.
                    health.set(p.reachable);
                    emit.emit(AgentEvent::Provider(p));
                });
            }
            AgentCommand::Ping(n) => emit.emit(AgentEvent::Pong(n)),
            AgentCommand::Ask(ask) => {
                let turn = ask.turn;
                let (client, cfg, emit) = (client.clone(), config.provider.clone(), emit.clone());
                let handle = tasks.spawn(async move { turn::run(&client, &cfg, ask, &emit).await });
                turns.insert(turn, handle);
            }
            AgentCommand::Research(ask) => {
                let turn = ask.turn;
                let (cfg, clients, emit) = (
                    std::sync::Arc::clone(&config),
                    std::sync::Arc::clone(&clients),
                    emit.clone(),
                );
                let handle = tasks.spawn(async move {
                    research::pipeline::run(&cfg, &clients, ask, &emit).await
                });
                turns.insert(turn, handle);
            }
            AgentCommand::Deep(ask) => {
                let turn = ask.turn;
                let (cfg, clients, emit) = (
                    std::sync::Arc::clone(&config),
                    std::sync::Arc::clone(&clients),
                    emit.clone(),
                );
                let (wrap_tx, wrap_rx) = tokio::sync::watch::channel(false);
                wraps.insert(turn, wrap_tx);
                let handle = tasks
                    .spawn(async move { deep::run(&cfg, &clients, ask, wrap_rx, &emit).await });
                turns.insert(turn, handle);
            }
            AgentCommand::Wrap(turn) => {
                if let Some(tx) = wraps.get(&turn) {
                    let _ = tx.send(true);
                }
            }
            AgentCommand::Summarize(req) => {
                let (client, cfg, emit) = (client.clone(), config.provider.clone(), emit.clone());
                tasks.spawn(async move { summary::run(&client, &cfg, req, &emit).await });
            }
            AgentCommand::Cancel(turn) => {
                // Aborting drops the response future, which closes the
                // connection: the server stops generating at once.
                if let Some(h) = turns.remove(&turn) {
                    h.abort();
                }
            }
            AgentCommand::Shutdown => break,
        }
        // Reap finished tasks so the set does not grow.
        while tasks.try_join_next().is_some() {}
        turns.retain(|_, h| !h.is_finished());
        wraps.retain(|t, _| turns.contains_key(t));
    }
    tasks.abort_all();
    // The aborted turns let go of the MCP servers they were calling…
    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    // …which are ours: stopped and reaped before we go.
    clients.mcp.shutdown().await;
}
