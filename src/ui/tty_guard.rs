//! A second process that puts the terminal back when the app dies
//! without doing it itself: an abort (a stack overflow, an allocation
//! that failed), SIGKILL, the OOM killer. Nothing inside a process that
//! is dying that way can be trusted to run, and a signal handler cannot
//! catch SIGKILL; a process outside it can.
//!
//! The app starts `sleuth __tty-guard` with a pipe on its stdin and the
//! terminal on its stdout and tells it each change of hands: `raw I O C L`
//! (the terminal's own modes, to put back) when it takes the terminal,
//! `cooked` when it gives it back. When the pipe ends — the app is gone,
//! however it went — while the last word was `raw`, the guard restores
//! the modes, leaves the alternate screen and says what happened.

use std::io::{BufRead, Write};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::Mutex;

/// The hidden subcommand that runs the guard.
pub const SUBCOMMAND: &str = "__tty-guard";

static PIPE: Mutex<Option<ChildStdin>> = Mutex::new(None);

/// Starts the guard (once; the TUI calls it before it takes the
/// terminal). Without it the app still runs: only an abort would then
/// leave the terminal raw, as before.
pub fn start() {
    let Ok(mut pipe) = PIPE.lock() else { return };
    if pipe.is_some() {
        return;
    }
    let spawned = std::env::current_exe().and_then(|exe| {
        Command::new(exe)
            .arg(SUBCOMMAND)
            .env_clear()
            .stdin(Stdio::piped())
            .stdout(Stdio::inherit())
            .stderr(Stdio::null())
            .spawn()
    });
    match spawned {
        // Not waited for: it ends when this process does (its stdin
        // closes) and is then reaped by init.
        Ok(mut child) => *pipe = child.stdin.take(),
        Err(e) => tracing::warn!(error = %e, "cannot start the terminal guard"),
    }
}

fn tell(line: &str) {
    // try_lock: called from the panic hook too, never to wait there.
    if let Ok(mut pipe) = PIPE.try_lock()
        && let Some(p) = pipe.as_mut()
        && writeln!(p, "{line}").and_then(|_| p.flush()).is_err()
    {
        // The guard is gone; nothing to tell from now on.
        *pipe = None;
    }
}

/// The app is about to put the terminal in raw mode: the guard is given
/// the modes it has now.
#[cfg(unix)]
pub fn taking() {
    let Ok(t) = rustix::termios::tcgetattr(std::io::stdin()) else {
        return;
    };
    tell(&format!(
        "raw {} {} {} {}",
        t.input_modes.bits(),
        t.output_modes.bits(),
        t.control_modes.bits(),
        t.local_modes.bits()
    ));
}

#[cfg(not(unix))]
pub fn taking() {}

/// The app has put the terminal back itself.
pub fn given_back() {
    tell("cooked");
}

/// What undoes the app's screen modes: keyboard enhancement, mouse and
/// paste reporting, the alternate screen, the hidden cursor.
const LEAVE: &str = "\x1b[<1u\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1006l\x1b[?1015l\
                     \x1b[?2004l\x1b[?1049l\x1b[?25h";

/// The guard's main: reads the app's words until its pipe ends.
pub fn child_main() -> u8 {
    // A session of its own: when the app leads its session (run by `exec`,
    // or a test's pty), its death hangs up its process group, and the
    // guard must outlive it; signals to the app's group miss it too.
    #[cfg(unix)]
    let _ = rustix::process::setsid();
    let mut raw: Option<Vec<u64>> = None;
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        if line == "cooked" {
            raw = None;
        } else if let Some(rest) = line.strip_prefix("raw ") {
            let modes: Vec<u64> = rest.split(' ').filter_map(|n| n.parse().ok()).collect();
            raw = (modes.len() == 4).then_some(modes);
        }
    }
    if let Some(modes) = raw {
        put_back(&modes);
        let mut out = std::io::stdout();
        let _ = write!(
            out,
            "{LEAVE}sleuth stopped without restoring the terminal; it was put back. \
             Its log may say why (sleuth doctor shows where the log is).\r\n"
        );
        let _ = out.flush();
    }
    0
}

#[cfg(unix)]
fn put_back(modes: &[u64]) {
    use rustix::termios::{
        ControlModes, InputModes, LocalModes, OptionalActions, OutputModes, tcgetattr, tcsetattr,
    };
    let out = std::io::stdout();
    let Ok(mut t) = tcgetattr(&out) else { return };
    let bits = |i: usize| modes.get(i).and_then(|&m| m.try_into().ok()).unwrap_or(0);
    t.input_modes = InputModes::from_bits_retain(bits(0));
    t.output_modes = OutputModes::from_bits_retain(bits(1));
    t.control_modes = ControlModes::from_bits_retain(bits(2));
    t.local_modes = LocalModes::from_bits_retain(bits(3));
    let _ = tcsetattr(&out, OptionalActions::Now, &t);
}

#[cfg(not(unix))]
fn put_back(_modes: &[u64]) {}
