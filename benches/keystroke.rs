//! Keystroke-to-frame latency while an answer streams at 500 tokens/s,
//! through the real event loop: `cargo bench --bench keystroke`.
//! Budget (ARCHITECTURE.md §7): p99 ≤ 16 ms.
//!
//! `SLEUTH_BENCH_DEEP=1` makes the turn a deep run: besides the deltas
//! the research tree (40 documents) is republished every 100 ms and the
//! run's state (100 KB) handed to the recorder every second.
//!
//! A thread feeds answer deltas (every 2 ms) into the UI inbox; another
//! types a key every 25 ms, alternating '§' and Backspace. The backend
//! records when each frame is flushed and whether it shows the '§', so a
//! key's latency is the time from sending it to the first frame showing it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)] // test code: a panic is the failure report

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::{Backend, ClearType, TestBackend, WindowSize};
use ratatui::buffer::Cell;
use ratatui::layout::{Position, Size};
use sleuth::agent::AgentEvent;
use sleuth::config::Config;
use sleuth::domain::TurnId;
use sleuth::emit::Emitter;
use sleuth::store::{self, writer::WriterOptions};
use sleuth::ui::UiEvent;
use sleuth::ui::app::{App, Handles};
use sleuth::ui::status::StatusState;

/// TestBackend that timestamps every flushed frame with whether it shows '§'.
struct Timed {
    inner: TestBackend,
    frames: Arc<Mutex<Vec<(Instant, bool)>>>,
}

impl std::io::Write for Timed {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Backend for Timed {
    type Error = <TestBackend as Backend>::Error;
    fn draw<'a, I: Iterator<Item = (u16, u16, &'a Cell)>>(
        &mut self,
        content: I,
    ) -> Result<(), Self::Error> {
        self.inner.draw(content)
    }
    fn hide_cursor(&mut self) -> Result<(), Self::Error> {
        self.inner.hide_cursor()
    }
    fn show_cursor(&mut self) -> Result<(), Self::Error> {
        self.inner.show_cursor()
    }
    fn get_cursor_position(&mut self) -> Result<Position, Self::Error> {
        self.inner.get_cursor_position()
    }
    fn set_cursor_position<P: Into<Position>>(&mut self, p: P) -> Result<(), Self::Error> {
        self.inner.set_cursor_position(p)
    }
    fn clear(&mut self) -> Result<(), Self::Error> {
        self.inner.clear()
    }
    fn clear_region(&mut self, t: ClearType) -> Result<(), Self::Error> {
        self.inner.clear_region(t)
    }
    fn size(&self) -> Result<Size, Self::Error> {
        self.inner.size()
    }
    fn window_size(&mut self) -> Result<WindowSize, Self::Error> {
        self.inner.window_size()
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        let shows = self
            .inner
            .buffer()
            .content()
            .iter()
            .any(|c| c.symbol() == "§");
        if let Ok(mut f) = self.frames.lock() {
            f.push((Instant::now(), shows));
        }
        Backend::flush(&mut self.inner)
    }
}

fn key(code: KeyCode, m: KeyModifiers) -> UiEvent {
    UiEvent::Input(Event::Key(KeyEvent::new(code, m)))
}

/// A deep run's tree of 4 rounds × 10 documents, as the agent publishes
/// it; every 500th delta also carries a 100 KB state to store.
fn deep_tree(i: u64) -> AgentEvent {
    use sleuth::domain::{DocState, RunBudget, RunTree, TreeDoc, TreeRound};
    let rounds = (0..4)
        .map(|r| TreeRound {
            queries: vec![
                format!("query {r} about the sky"),
                "Rayleigh scattering".into(),
            ],
            done: true,
            documents: (0..10)
                .map(|d| TreeDoc {
                    title: format!("Document {r}.{d} on light and air"),
                    kind: "wikipedia".into(),
                    state: if d % 3 == 0 {
                        DocState::Cited
                    } else {
                        DocState::Read
                    },
                })
                .collect(),
            failed: vec![],
            leads: vec!["Tyndall effect".into()],
        })
        .collect();
    AgentEvent::DeepRun {
        turn: TurnId(1),
        tree: Box::new(RunTree {
            plan: vec!["why is the sky blue".into(), "Rayleigh scattering".into()],
            plan_from_model: false,
            rounds,
            budget: RunBudget {
                rounds: 4,
                max_rounds: 4,
                documents: 40,
                max_documents: 40,
                secs: i / 500,
                max_secs: 180,
                tokens: 0,
                max_tokens: 60_000,
            },
            stopped: None,
        }),
        state: i.is_multiple_of(500).then(|| "x".repeat(100_000)),
        documents: vec![],
        notes: vec![],
    }
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("bench.db");
    let (tx, rx) = mpsc::channel::<UiEvent>();
    let writer = store::spawn_writer(
        store::open_writer(&db).expect("db"),
        WriterOptions::default(),
        Emitter::wrapping(tx.clone(), UiEvent::Store),
    )
    .expect("writer");
    let reader = store::spawn_reader(db.clone(), Emitter::wrapping(tx.clone(), UiEvent::Store))
        .expect("reader");
    let searcher = store::search::worker::spawn_search(
        db.clone(),
        Emitter::wrapping(tx.clone(), UiEvent::Store),
    )
    .expect("search");
    // The agent's own events go nowhere: the bench plays the provider.
    let (agent_tx, _agent_rx) = mpsc::channel();
    let mut cfg = Config::default();
    cfg.provider.base_url = "http://127.0.0.1:9".into();
    let agent = sleuth::agent::spawn_agent(cfg, Emitter::channel(agent_tx)).expect("agent");
    let handles = Handles {
        writer: writer.handle(),
        reader: reader.handle(),
        agent: agent.handle(),
        search: searcher.handle(),
    };
    let status = StatusState::new("~/sleuth.db".into(), "ollama llama3.2".into());
    let mut app = App::new(status, handles, "llama3.2".into());
    let frames = Arc::new(Mutex::new(Vec::new()));
    let mut term = Terminal::new(Timed {
        inner: TestBackend::new(200, 50),
        frames: Arc::clone(&frames),
    })
    .expect("terminal");

    // Start a turn: type a question and send it.
    let deep = std::env::var("SLEUTH_BENCH_DEEP").is_ok_and(|v| v == "1");
    let question = if deep {
        "/deep why is the sky blue"
    } else {
        "why is the sky blue"
    };
    for c in question.chars() {
        let _ = tx.send(key(KeyCode::Char(c), KeyModifiers::NONE));
    }
    let _ = tx.send(key(KeyCode::Enter, KeyModifiers::NONE));

    let run_for = Duration::from_secs(10);
    let stream_tx = tx.clone();
    let streamer = std::thread::spawn(move || {
        let start = Instant::now();
        let mut i = 0u64;
        while start.elapsed() < run_for {
            let text = if i % 40 == 39 {
                " token.\n\n".to_string()
            } else {
                format!(" tok{i}")
            };
            let _ = stream_tx.send(UiEvent::Agent(AgentEvent::AnswerDelta {
                turn: TurnId(1),
                text,
            }));
            if deep && i.is_multiple_of(50) {
                let _ = stream_tx.send(UiEvent::Agent(deep_tree(i)));
            }
            i += 1;
            // 500 tokens per second.
            let next = Duration::from_micros(2000 * i);
            if let Some(wait) = next.checked_sub(start.elapsed()) {
                std::thread::sleep(wait);
            }
        }
        i
    });
    let typer_tx = tx.clone();
    let typer = std::thread::spawn(move || {
        let mut sent = Vec::new();
        std::thread::sleep(Duration::from_millis(200));
        let start = Instant::now();
        let mut n = 0usize;
        while start.elapsed() < run_for - Duration::from_millis(400) {
            let (code, shows) = if n.is_multiple_of(2) {
                (KeyCode::Char('§'), true)
            } else {
                (KeyCode::Backspace, false)
            };
            sent.push((Instant::now(), shows));
            let _ = typer_tx.send(key(code, KeyModifiers::NONE));
            n += 1;
            std::thread::sleep(Duration::from_millis(25));
        }
        std::thread::sleep(Duration::from_millis(300));
        let _ = typer_tx.send(key(KeyCode::Char('c'), KeyModifiers::CONTROL));
        sent
    });
    let tick = Duration::from_millis(100);
    sleuth::ui::event_loop(&mut term, &mut app, &rx, tick, None).expect("event loop");
    let tokens = streamer.join().expect("streamer");
    let sent = typer.join().expect("typer");
    let frames = frames.lock().expect("frames").clone();

    let mut lat: Vec<f64> = Vec::new();
    let mut missed = 0;
    for (t, shows) in &sent {
        match frames.iter().find(|(ft, fs)| ft >= t && fs == shows) {
            Some((ft, _)) => lat.push(ft.duration_since(*t).as_secs_f64() * 1e3),
            None => missed += 1,
        }
    }
    lat.sort_by(f64::total_cmp);
    let p = |q: f64| lat[((lat.len() as f64 - 1.0) * q).round() as usize];
    println!(
        "streamed {tokens} tokens in {:.0} s ({:.0} tok/s), drew {} frames ({:.0} fps)",
        run_for.as_secs_f64(),
        tokens as f64 / run_for.as_secs_f64(),
        frames.len(),
        frames.len() as f64 / run_for.as_secs_f64()
    );
    println!(
        "keystroke to frame over {} keys: p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms, max {:.2} ms, {missed} unmatched (budget p99 <= 16 ms)",
        lat.len(),
        p(0.5),
        p(0.95),
        p(0.99),
        p(1.0)
    );
    drop(app);
    agent.shutdown();
    writer.shutdown();
    drop(reader);
}
