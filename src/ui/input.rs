//! The input thread: blocks on crossterm events and forwards them to the UI
//! inbox. It polls with a timeout only to notice shutdown.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::thread::JoinHandle;
use std::time::Duration;

use super::UiEvent;

pub struct InputThread {
    stop: Arc<AtomicBool>,
    join: Option<JoinHandle<()>>,
}

pub fn spawn(inbox: Sender<UiEvent>) -> std::io::Result<InputThread> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    let join = std::thread::Builder::new()
        .name("input".into())
        .spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                match crossterm::event::poll(Duration::from_millis(250)) {
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
        join: Some(join),
    })
}

impl Drop for InputThread {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(j) = self.join.take() {
            let _ = j.join();
        }
    }
}
