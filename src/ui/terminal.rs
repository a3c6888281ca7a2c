//! Terminal ownership: raw mode and the alternate screen are entered by
//! [`TerminalGuard::enter`] and undone on every exit path — drop, panic on
//! the main thread, or a signal handled by the event loop — and, when the
//! process dies without any of these, by the [`super::tty_guard`] process.

use std::io::{Stdout, Write, stdout};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Mutex, OnceLock};

use crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture,
    KeyboardEnhancementFlags, PopKeyboardEnhancementFlags, PushKeyboardEnhancementFlags,
};
use crossterm::terminal::{self, EnterAlternateScreen, LeaveAlternateScreen};
use crossterm::{cursor, execute};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

use super::UiEvent;

/// Whether the terminal is currently in our modes; restore is idempotent.
static ACTIVE: AtomicBool = AtomicBool::new(false);
static ENHANCED_KEYS: AtomicBool = AtomicBool::new(false);

pub type Tui = Terminal<CrosstermBackend<Stdout>>;

pub struct TerminalGuard {
    /// Never dropped: ratatui's `Terminal` drop shows the cursor and, if
    /// that fails (the terminal hung up), `eprintln!`s — which panics when
    /// stderr is that same dead terminal. `restore` does the work instead.
    pub terminal: std::mem::ManuallyDrop<Tui>,
}

impl TerminalGuard {
    pub fn enter() -> anyhow::Result<Self> {
        use anyhow::Context;
        super::tty_guard::start();
        take_over().context("cannot set up the terminal")?;
        match Terminal::new(CrosstermBackend::new(stdout())) {
            Ok(terminal) => Ok(Self {
                terminal: std::mem::ManuallyDrop::new(terminal),
            }),
            Err(e) => {
                restore();
                Err(e).context("cannot start the terminal UI")
            }
        }
    }
}

/// Raw mode, the alternate screen, paste and mouse reporting; undone (and
/// an error returned) when any step fails.
fn take_over() -> std::io::Result<()> {
    super::tty_guard::taking();
    terminal::enable_raw_mode()?;
    ACTIVE.store(true, Ordering::SeqCst);
    let mut out = stdout();
    let setup = (|| -> std::io::Result<()> {
        execute!(
            out,
            EnterAlternateScreen,
            EnableBracketedPaste,
            EnableMouseCapture,
            cursor::Hide
        )?;
        // Lets Shift+Enter be told from Enter where the terminal supports it.
        if matches!(terminal::supports_keyboard_enhancement(), Ok(true)) {
            execute!(
                out,
                PushKeyboardEnhancementFlags(KeyboardEnhancementFlags::DISAMBIGUATE_ESCAPE_CODES)
            )?;
            ENHANCED_KEYS.store(true, Ordering::SeqCst);
        }
        Ok(())
    })();
    if setup.is_err() {
        restore();
    }
    setup
}

/// Hands the terminal to another program (the user's editor) for the
/// duration of `f`, then takes it back and redraws everything.
pub fn lend<B: ratatui::backend::Backend, T>(
    tui: &mut Terminal<B>,
    f: impl FnOnce() -> T,
) -> std::io::Result<T> {
    restore();
    let out = f();
    take_over()?;
    let _ = tui.clear();
    Ok(out)
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

/// Puts the terminal back as we found it. Safe to call any number of times
/// from any thread.
pub fn restore() {
    if !ACTIVE.swap(false, Ordering::SeqCst) {
        return;
    }
    let mut out = stdout();
    if ENHANCED_KEYS.swap(false, Ordering::SeqCst) {
        let _ = execute!(out, PopKeyboardEnhancementFlags);
    }
    let _ = execute!(
        out,
        DisableMouseCapture,
        DisableBracketedPaste,
        LeaveAlternateScreen,
        cursor::Show
    );
    let _ = terminal::disable_raw_mode();
    let _ = out.flush();
    super::tty_guard::given_back();
}

static UI_INBOX: OnceLock<Mutex<Sender<UiEvent>>> = OnceLock::new();

/// A line for the status bar from any thread (an opener that failed);
/// nothing when the app is not running.
pub fn notify(text: String) {
    if let Some(tx) = UI_INBOX.get().and_then(|m| m.lock().ok()) {
        let _ = tx.send(UiEvent::Notice(text));
    }
}

/// Panics on the main thread restore the terminal first, then report as
/// usual. Panics on worker threads are logged and sent to the UI, never
/// printed over the screen.
pub fn install_panic_hook(inbox: Sender<UiEvent>) {
    let _ = UI_INBOX.set(Mutex::new(inbox));
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let thread = std::thread::current();
        let name = thread.name().unwrap_or("unnamed").to_string();
        let message = info.to_string();
        tracing::error!(thread = %name, "panic: {message}");
        if name == "main" || !ACTIVE.load(Ordering::SeqCst) {
            restore();
            previous(info);
        } else if let Some(tx) = UI_INBOX.get().and_then(|m| m.lock().ok()) {
            let _ = tx.send(UiEvent::WorkerPanic {
                thread: name,
                message,
            });
        }
    }));
}
