//! The source detail view (Tab): one cited passage at a time — document
//! title, section, URL, the passage's words — with keys to move between
//! citations, open or copy the URL.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::theme;
use crate::domain::Source;
use crate::text::sanitize::{one_line, sanitize};

pub struct SourceDetail {
    pub sources: Vec<Source>,
    pub index: usize,
}

impl SourceDetail {
    pub fn new(sources: Vec<Source>) -> Self {
        Self { sources, index: 0 }
    }

    pub fn next(&mut self) {
        if !self.sources.is_empty() {
            self.index = (self.index + 1) % self.sources.len();
        }
    }

    pub fn prev(&mut self) {
        if !self.sources.is_empty() {
            self.index = (self.index + self.sources.len() - 1) % self.sources.len();
        }
    }

    pub fn current(&self) -> Option<&Source> {
        self.sources.get(self.index)
    }

    pub fn render(&self, frame: &mut Frame<'_>, area: Rect) {
        let Some(s) = self.current() else { return };
        let w = area.width.saturating_sub(4).min(100);
        let h = area.height.saturating_sub(4).min(20);
        let rect = Rect::new(
            area.x + area.width.saturating_sub(w) / 2,
            area.y + area.height.saturating_sub(h) / 2,
            w,
            h,
        );
        if rect.width < 10 || rect.height < 4 {
            return;
        }
        let mut lines = vec![
            Line::from(vec![
                Span::styled(
                    format!("[{}] ", s.ordinal),
                    super::markdown::citation_style(),
                ),
                Span::styled(one_line(&s.title), theme::assistant_label()),
            ]),
            Line::styled(
                format!(
                    "{} · relevance {}",
                    s.kind,
                    s.relevance
                        .map(|r| format!("{r:.2}"))
                        .unwrap_or_else(|| "?".into())
                ),
                theme::dim(),
            ),
        ];
        if let Some(sec) = &s.section {
            lines.push(Line::styled(format!("§ {}", one_line(sec)), theme::dim()));
        }
        if let Some(u) = &s.url {
            lines.push(Line::styled(one_line(u), theme::key()));
        }
        lines.push(Line::default());
        lines.push(Line::raw(sanitize(&s.excerpt).into_owned()));
        let title = format!(
            " Source {}/{} — Tab next · o open · y copy URL · Esc close ",
            self.index + 1,
            self.sources.len()
        );
        frame.render_widget(Clear, rect);
        frame.render_widget(
            Paragraph::new(lines).wrap(Wrap { trim: false }).block(
                Block::new()
                    .borders(Borders::ALL)
                    .border_style(theme::border_focused())
                    .title(title),
            ),
            rect,
        );
    }
}

/// Opens a URL in the desktop browser without waiting for it.
pub fn open_url(url: &str) -> Result<(), String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| e.to_string())?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!("not opening a {} URL", parsed.scheme()));
    }
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    std::process::Command::new(opener)
        .arg(parsed.as_str())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map(|_| ())
        .map_err(|e| format!("cannot run {opener}: {e}"))
}
