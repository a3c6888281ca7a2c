//! Workers report through an [`Emitter`], a cheap handle that wraps their
//! events into whatever the receiver expects (a `UiEvent` in the TUI, a plain
//! channel in the CLI and tests), so workers never depend on the UI.

use std::sync::Arc;

pub struct Emitter<E>(Arc<dyn Fn(E) + Send + Sync>);

impl<E> Clone for Emitter<E> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<E: Send + 'static> Emitter<E> {
    pub fn new(f: impl Fn(E) + Send + Sync + 'static) -> Self {
        Self(Arc::new(f))
    }

    /// An emitter feeding a std channel; a closed receiver is ignored, since
    /// a worker outliving its listener during shutdown is not an error.
    pub fn channel(tx: std::sync::mpsc::Sender<E>) -> Self {
        Self::new(move |e| {
            let _ = tx.send(e);
        })
    }

    /// An emitter that wraps each event with `wrap` before sending it.
    pub fn wrapping<T: Send + 'static>(tx: std::sync::mpsc::Sender<T>, wrap: fn(E) -> T) -> Self {
        Self::new(move |e| {
            let _ = tx.send(wrap(e));
        })
    }

    pub fn emit(&self, event: E) {
        (self.0)(event)
    }
}
