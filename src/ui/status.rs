//! The status bar: database, session, provider and store health.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::theme;
use super::wrap::truncate;
use crate::agent::ProviderProbe;
use crate::library::watch::LibraryEvent;

const SPINNER: &[char] = &['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

#[derive(Debug, Clone, PartialEq)]
pub enum ProviderState {
    Checking,
    Ready(String),
    Unavailable(String),
}

#[derive(Debug)]
pub struct StatusState {
    pub db: String,
    pub provider_label: String,
    pub provider: ProviderState,
    /// A store problem the user must know about (unsaved writes).
    pub store_warning: Option<String>,
    /// Something else worth a line: a worker panic, logging off.
    pub alert: Option<String>,
    pub spinner: usize,
    /// The library worker, while it re-indexes: "library 3/40".
    pub library: Option<String>,
}

impl StatusState {
    pub fn new(db: String, provider_label: String) -> Self {
        Self {
            db,
            provider_label,
            provider: ProviderState::Checking,
            store_warning: None,
            alert: None,
            spinner: 0,
            library: None,
        }
    }

    /// The library worker's report: progress while it works, gone when
    /// done; a failure stays as an alert until the next scan succeeds.
    pub fn on_library(&mut self, ev: LibraryEvent) -> bool {
        match ev {
            LibraryEvent::Progress { done, total } => {
                self.library = Some(format!("library {done}/{total}"));
            }
            LibraryEvent::Embedding { done, total } => {
                self.library = Some(format!("library embedding {done}/{total}"));
            }
            LibraryEvent::Done { .. } => {
                self.library = None;
                if self
                    .alert
                    .as_deref()
                    .is_some_and(|a| a.starts_with("library:"))
                {
                    self.alert = None;
                }
            }
            LibraryEvent::Failed(e) => {
                self.library = None;
                self.alert = Some(format!("library: {}", truncate(&e, 60)));
            }
        }
        true
    }

    pub fn set_probe(&mut self, p: &ProviderProbe) {
        self.provider = if p.reachable && p.model_found != Some(false) {
            ProviderState::Ready(p.summary.clone())
        } else {
            ProviderState::Unavailable(p.summary.clone())
        };
    }

    pub fn set_model(&mut self, model: &str) {
        let kind = self
            .provider_label
            .split(' ')
            .next()
            .unwrap_or("")
            .to_string();
        self.provider_label = format!("{kind} {model}");
    }

    pub fn animating(&self) -> bool {
        self.provider == ProviderState::Checking || self.library.is_some()
    }

    pub fn tick(&mut self) {
        self.spinner = (self.spinner + 1) % SPINNER.len();
    }

    pub fn render(&self, session: &str, note: Option<&str>, area: Rect, buf: &mut Buffer) {
        if area.height == 0 || area.width == 0 {
            return;
        }
        buf.set_style(area, theme::status_bar());
        let (provider, pstyle) = match &self.provider {
            ProviderState::Checking => (
                format!(
                    "{} {} checking…",
                    SPINNER[self.spinner], self.provider_label
                ),
                theme::dim(),
            ),
            ProviderState::Ready(_) => (
                format!("● {}", self.provider_label),
                Style::new().fg(ratatui::style::Color::Green),
            ),
            ProviderState::Unavailable(_) => (
                format!("○ {} offline", self.provider_label),
                theme::notice(),
            ),
        };
        let mut spans = vec![Span::styled(format!(" {provider} "), pstyle)];
        if let Some(w) = &self.store_warning {
            spans.push(Span::styled(format!("│ ⚠ {w} "), theme::error()));
        } else if let Some(a) = &self.alert {
            spans.push(Span::styled(format!("│ ⚠ {a} "), theme::error()));
        }
        if let Some(n) = note {
            spans.push(Span::styled(format!("│ {n} "), theme::key()));
        }
        if let Some(l) = &self.library {
            spans.push(Span::styled(
                format!("│ {} {l} ", SPINNER[self.spinner]),
                theme::dim(),
            ));
        }
        spans.push(Span::raw(format!("│ {session} │ {} ", self.db)));
        let right = " ? help · Ctrl+C quit ";
        let left_w: usize = spans.iter().map(|s| s.width()).sum();
        let total = area.width as usize;
        if left_w + right.len() <= total {
            spans.push(Span::raw(" ".repeat(total - left_w - right.len())));
            spans.push(Span::styled(right, theme::dim()));
        }
        let text: String = spans.iter().map(|s| s.content.as_ref()).collect();
        if left_w > total {
            // Too narrow: keep the most important part, cut cleanly.
            buf.set_line(
                area.x,
                area.y,
                &Line::styled(truncate(&text, total), pstyle),
                area.width,
            );
        } else {
            buf.set_line(area.x, area.y, &Line::from(spans), area.width);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(s: &StatusState) -> String {
        let area = Rect::new(0, 0, 110, 1);
        let mut buf = Buffer::empty(area);
        s.render("session 1", None, area, &mut buf);
        (0..area.width)
            .map(|x| buf[(x, 0)].symbol().to_string())
            .collect()
    }

    #[test]
    fn the_library_worker_shows_while_it_works_and_a_failure_stays() {
        let mut s = StatusState::new("~/s.db".into(), "ollama llama3.2".into());
        assert!(!line(&s).contains("library"));
        s.on_library(LibraryEvent::Progress { done: 3, total: 40 });
        assert!(line(&s).contains("library 3/40"), "{}", line(&s));
        assert!(s.animating());
        s.on_library(LibraryEvent::Embedding {
            done: 32,
            total: 90,
        });
        assert!(line(&s).contains("library embedding 32/90"), "{}", line(&s));
        s.on_library(LibraryEvent::Done {
            indexed: 3,
            removed: 0,
            failed: 0,
        });
        assert!(!line(&s).contains("library"), "{}", line(&s));
        s.on_library(LibraryEvent::Failed("cannot watch /p: no space".into()));
        assert!(
            line(&s).contains("⚠ library: cannot watch /p"),
            "{}",
            line(&s)
        );
        // The next good scan clears it; another alert is left alone.
        s.on_library(LibraryEvent::Done {
            indexed: 0,
            removed: 0,
            failed: 0,
        });
        assert!(!line(&s).contains("library"));
        s.alert = Some("logging is off".into());
        s.on_library(LibraryEvent::Done {
            indexed: 0,
            removed: 0,
            failed: 0,
        });
        assert!(line(&s).contains("logging is off"));
    }
}
