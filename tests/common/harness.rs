//! An app wired to real worker threads on a temp database, for tests that
//! drive the UI with key events and read what the store answers.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use sleuth::agent::{self, ProviderProbe};
use sleuth::config::Config;
use sleuth::emit::Emitter;
use sleuth::store::{self, writer::WriterOptions};
use sleuth::ui::UiEvent;
use sleuth::ui::app::{App, Handles};
use sleuth::ui::status::StatusState;

/// An app wired to real worker threads on a temp database. The threads
/// stay alive as long as the returned guard.
pub struct Harness {
    pub app: App,
    pub _writer: store::writer::WriterThread,
    pub _reader: store::reader::ReaderThread,
    /// None when the agent is detached (its commands read by the test).
    pub _agent: Option<agent::AgentThread>,
    pub _search: store::search::worker::SearchThread,
    pub _events: mpsc::Receiver<UiEvent>,
    pub sb: super::Sandbox,
}

pub fn harness() -> Harness {
    let sb = super::Sandbox::new();
    harness_on(sb)
}

/// A harness on an existing sandbox (its database already written), with
/// the provider on a closed loopback port.
pub fn harness_on(sb: super::Sandbox) -> Harness {
    harness_with(sb, "http://127.0.0.1:9")
}

/// A harness whose provider is at `base_url` (a loopback test server).
pub fn harness_with(sb: super::Sandbox, base_url: &str) -> Harness {
    let mut cfg = Config::default();
    cfg.provider.base_url = base_url.into();
    harness_config(sb, cfg)
}

/// A harness whose agent runs with `cfg` (every endpoint in it loopback).
/// A harness whose agent is a detached handle: what the app asks the agent
/// is read from the returned receiver, and nothing answers.
pub fn harness_detached(
    sb: super::Sandbox,
) -> (
    Harness,
    tokio::sync::mpsc::UnboundedReceiver<agent::AgentCommand>,
) {
    let mut h = harness_on(sb);
    let (handle, rx) = agent::AgentHandle::detached();
    if let Some(a) = h._agent.take() {
        a.shutdown();
    }
    h.app.handles.agent = handle;
    (h, rx)
}

pub fn harness_config(sb: super::Sandbox, cfg: Config) -> Harness {
    let (tx, rx) = mpsc::channel();
    let writer = store::spawn_writer(
        store::open_writer(&sb.db()).unwrap(),
        WriterOptions::default(),
        Emitter::wrapping(tx.clone(), UiEvent::Store),
    )
    .unwrap();
    let reader =
        store::spawn_reader(sb.db(), Emitter::wrapping(tx.clone(), UiEvent::Store)).unwrap();
    let search =
        store::search::worker::spawn_search(sb.db(), Emitter::wrapping(tx.clone(), UiEvent::Store))
            .unwrap();
    let agent = agent::spawn_agent(cfg, Emitter::wrapping(tx, UiEvent::Agent)).unwrap();
    let handles = Handles {
        writer: writer.handle(),
        reader: reader.handle(),
        agent: agent.handle(),
        search: search.handle(),
    };
    let mut status = StatusState::new(
        "~/.local/share/sleuth/sleuth.db".into(),
        "ollama llama3.2".into(),
    );
    status.set_probe(&ProviderProbe {
        reachable: false,
        model_found: None,
        summary: "no Ollama at http://localhost:11434 — start `ollama serve`".into(),
        models: vec![],
    });
    Harness {
        app: App::new(status, handles, "llama3.2".into()),
        _writer: writer,
        _reader: reader,
        _agent: Some(agent),
        _search: search,
        _events: rx,
        sb,
    }
}

impl Harness {
    /// Feeds worker events to the app until `done` holds (or 10 s pass).
    pub fn pump_until(&mut self, mut done: impl FnMut(&App) -> bool) -> bool {
        let end = Instant::now() + Duration::from_secs(10);
        while !done(&self.app) {
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            if let Ok(ev) = self
                ._events
                .recv_timeout(left.min(Duration::from_millis(50)))
            {
                self.app.handle(ev);
            }
        }
        true
    }
}
