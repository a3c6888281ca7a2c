//! The terminal UI. The main thread runs [`event_loop`]: it waits on one
//! inbox, applies every pending event, and draws once if anything changed.

pub mod app;
pub mod chat;
pub mod command_palette;
pub mod editor;
pub mod help;
pub mod input;
pub mod keymap;
pub mod markdown;
pub mod picker;
pub mod popup;
pub mod question_picker;
pub mod research_view;
pub mod run_tree;
pub mod search_view;
pub mod sessions;
pub mod source_detail;
pub mod status;
pub mod terminal;
pub mod theme;
pub mod transcript;
pub mod tty_guard;
pub mod wrap;

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use crate::agent::AgentEvent;
use crate::library::watch::LibraryEvent;
use crate::store::StoreEvent;

/// Everything the main thread reacts to arrives as one of these.
#[derive(Debug)]
pub enum UiEvent {
    Input(crossterm::event::Event),
    Agent(AgentEvent),
    Store(StoreEvent),
    /// The library worker's progress (re-indexing changed files).
    Library(LibraryEvent),
    /// A worker thread panicked; the panic hook reports it here.
    WorkerPanic {
        thread: String,
        message: String,
    },
    /// A line for the status bar from a helper thread.
    Notice(String),
    /// SIGTERM, SIGHUP or SIGINT: leave cleanly.
    Signal(i32),
    /// The terminal stopped delivering input (closed, or an I/O error).
    InputClosed(String),
}

/// At most one frame per this interval (~60 fps).
const FRAME: Duration = Duration::from_millis(16);

/// Runs until the app asks to quit or the inbox closes. Blocks without a
/// timeout when nothing animates, so an idle app uses no CPU.
pub fn event_loop<B: ratatui::backend::Backend + std::io::Write>(
    terminal: &mut ratatui::Terminal<B>,
    app: &mut app::App,
    inbox: &Receiver<UiEvent>,
    tick: Duration,
    input: Option<&input::InputThread>,
) -> anyhow::Result<()>
where
    B::Error: Send + Sync + 'static,
{
    terminal.draw(|f| app.draw(f))?;
    let mut last_draw = Instant::now();
    let mut last_tick = Instant::now();
    let mut dirty = false;
    // Input is drawn at once; everything else (stream deltas, ticks) is
    // paced to one frame per FRAME, so a fast stream cannot delay typing.
    let mut urgent = false;
    loop {
        let timeout = match (dirty, app.animating()) {
            (true, _) => Some(FRAME.saturating_sub(last_draw.elapsed())),
            (false, true) => Some(tick.saturating_sub(last_tick.elapsed())),
            (false, false) => None,
        };
        let first = match timeout {
            Some(t) => inbox.recv_timeout(t),
            None => inbox.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        let mut handle = |ev: UiEvent, dirty: &mut bool, urgent: &mut bool| {
            let input = matches!(ev, UiEvent::Input(_));
            let changed = app.handle(ev);
            *dirty |= changed;
            *urgent |= changed && input;
        };
        match first {
            Ok(ev) => handle(ev, &mut dirty, &mut urgent),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return Ok(()),
        }
        while let Ok(ev) = inbox.try_recv() {
            handle(ev, &mut dirty, &mut urgent);
        }
        if let Some(text) = app.take_clipboard() {
            // OSC 52: the terminal sets its clipboard; works over SSH.
            let seq = osc52(&text);
            let out = terminal.backend_mut();
            let _ = out
                .write_all(seq.as_bytes())
                .and_then(|_| std::io::Write::flush(out));
        }
        if let Some(draft) = app.take_edit_request() {
            // Ctrl+E: the editor owns the terminal until it exits; the
            // input thread must not read its keys meanwhile.
            let result = match input {
                Some(i) => i
                    .paused(|| terminal::lend(terminal, || editor::edit(&draft)))
                    .map_err(|e| format!("cannot take the terminal back: {e}"))
                    .and_then(|r| r),
                None => Err("no terminal to lend an editor here".into()),
            };
            app.edited(result);
            dirty = true;
            urgent = true;
        }
        if app.animating() && last_tick.elapsed() >= tick {
            app.tick();
            last_tick = Instant::now();
            dirty = true;
        }
        if app.should_quit() {
            return Ok(());
        }
        if dirty && (urgent || last_draw.elapsed() >= FRAME) {
            terminal.draw(|f| app.draw(f))?;
            last_draw = Instant::now();
            dirty = false;
            urgent = false;
        }
    }
}

/// The OSC 52 sequence that asks the terminal to copy `text`. The text is
/// sanitized first: whatever is pasted later must not carry escape
/// sequences, C1 controls or bidi overrides (paste-jacking).
pub fn osc52(text: &str) -> String {
    use base64::Engine;
    format!(
        "\x1b]52;c;{}\x07",
        base64::engine::general_purpose::STANDARD
            .encode(crate::text::sanitize::sanitize(text).as_bytes())
    )
}
