//! The input thread: blocks on crossterm events and forwards them to the UI
//! inbox. It polls with a timeout only to notice shutdown, and parks while
//! another program (the user's editor) owns the terminal.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::thread::JoinHandle;
use std::time::Duration;

use super::UiEvent;

pub struct InputThread {
    stop: Arc<AtomicBool>,
    done: Arc<AtomicBool>,
    /// Asked to stop reading; `parked` once it has.
    pause: Arc<AtomicBool>,
    parked: Arc<AtomicBool>,
    join: Option<JoinHandle<()>>,
}

/// Poll interval: how long a pause or a shutdown may wait for the thread.
const POLL: Duration = Duration::from_millis(100);

/// How long shutdown waits for the input thread before leaving it behind.
const JOIN_WAIT: Duration = Duration::from_millis(500);

pub fn spawn(inbox: Sender<UiEvent>) -> std::io::Result<InputThread> {
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicBool::new(false));
    let pause = Arc::new(AtomicBool::new(false));
    let parked = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    let finished = Arc::clone(&done);
    let (paused, park) = (Arc::clone(&pause), Arc::clone(&parked));
    let join = std::thread::Builder::new()
        .name("input".into())
        .spawn(move || {
            let _done = SetOnDrop(finished);
            while !flag.load(Ordering::Relaxed) {
                if paused.load(Ordering::SeqCst) {
                    park.store(true, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                }
                park.store(false, Ordering::SeqCst);
                match crossterm::event::poll(POLL) {
                    Ok(true) => match crossterm::event::read() {
                        Ok(ev) => {
                            if inbox.send(UiEvent::Input(ev)).is_err() {
                                return;
                            }
                        }
                        Err(e) => {
                            tracing::error!(error = %e, "reading terminal input failed");
                            let _ = inbox.send(UiEvent::InputClosed(e.to_string()));
                            return;
                        }
                    },
                    Ok(false) => {}
                    Err(e) => {
                        tracing::error!(error = %e, "polling terminal input failed");
                        let _ = inbox.send(UiEvent::InputClosed(e.to_string()));
                        return;
                    }
                }
            }
        })?;
    Ok(InputThread {
        stop,
        done,
        pause,
        parked,
        join: Some(join),
    })
}

impl InputThread {
    /// Runs `f` with the thread parked, so it does not read keys meant for
    /// another program. Waits for it to park at most a second.
    pub fn paused<T>(&self, f: impl FnOnce() -> T) -> T {
        self.pause.store(true, Ordering::SeqCst);
        let end = std::time::Instant::now() + Duration::from_secs(1);
        while !self.parked.load(Ordering::SeqCst)
            && !self.done.load(Ordering::SeqCst)
            && std::time::Instant::now() < end
        {
            std::thread::sleep(Duration::from_millis(5));
        }
        let out = f();
        self.pause.store(false, Ordering::SeqCst);
        out
    }
}

struct SetOnDrop(Arc<AtomicBool>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

impl Drop for InputThread {
    /// Joins the thread if it stops within [`JOIN_WAIT`]. On a terminal
    /// that hung up, crossterm's `poll` can spin inside itself without
    /// returning; joining would then hang the exit forever, so the thread
    /// is left behind and ends with the process.
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let end = std::time::Instant::now() + JOIN_WAIT;
        while !self.done.load(Ordering::SeqCst) && std::time::Instant::now() < end {
            std::thread::sleep(Duration::from_millis(5));
        }
        if let Some(j) = self.join.take() {
            if self.done.load(Ordering::SeqCst) {
                let _ = j.join();
            } else {
                tracing::warn!("input thread did not stop (terminal gone?); leaving it");
            }
        }
    }
}
