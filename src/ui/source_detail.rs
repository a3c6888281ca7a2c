//! The source detail view (Tab): one cited passage at a time — document
//! title, section, URL, the passage's words — with keys to move between
//! citations, open or copy the URL.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::theme;
use crate::domain::Source;
use crate::domain::claims::{Claim, ClaimCheck, Verdict};
use crate::text::sanitize::{one_line, sanitize};

pub struct SourceDetail {
    pub sources: Vec<Source>,
    pub index: usize,
    /// The answer's checked claims; those citing the source shown are
    /// stepped through with `c`.
    claims: Vec<Claim>,
    claim: usize,
}

impl SourceDetail {
    pub fn new(sources: Vec<Source>) -> Self {
        Self::with_claims(sources, None)
    }

    pub fn with_claims(sources: Vec<Source>, check: Option<ClaimCheck>) -> Self {
        Self {
            sources,
            index: 0,
            claims: check.map(|c| c.claims).unwrap_or_default(),
            claim: 0,
        }
    }

    pub fn next(&mut self) {
        if !self.sources.is_empty() {
            self.index = (self.index + 1) % self.sources.len();
            self.claim = 0;
        }
    }

    pub fn prev(&mut self) {
        if !self.sources.is_empty() {
            self.index = (self.index + self.sources.len() - 1) % self.sources.len();
            self.claim = 0;
        }
    }

    /// The claims that cite the source shown.
    fn citing(&self) -> Vec<&Claim> {
        let Some(n) = self.current().map(|s| s.ordinal) else {
            return Vec::new();
        };
        self.claims
            .iter()
            .filter(|c| c.cites.contains(&n))
            .collect()
    }

    pub fn next_claim(&mut self) {
        let n = self.citing().len();
        if n > 0 {
            self.claim = (self.claim + 1) % n;
        }
    }

    /// The claim selected, with its place among those citing the source.
    pub fn selected_claim(&self) -> Option<(usize, usize, &Claim)> {
        let citing = self.citing();
        let n = citing.len();
        citing
            .get(self.claim.min(n.saturating_sub(1)))
            .map(|c| (self.claim.min(n - 1) + 1, n, *c))
    }

    /// The passage's words, the selected claim's span lit.
    fn excerpt_line(&self, s: &Source) -> Line<'static> {
        let span = self
            .selected_claim()
            .and_then(|(_, _, c)| c.span.as_ref())
            .filter(|sp| {
                sp.cite == s.ordinal
                    && sp.start < sp.end
                    && sp.end <= s.excerpt.len()
                    && s.excerpt.is_char_boundary(sp.start)
                    && s.excerpt.is_char_boundary(sp.end)
            });
        match span {
            Some(sp) => Line::from(vec![
                Span::raw(sanitize(&s.excerpt[..sp.start]).into_owned()),
                Span::styled(
                    sanitize(&s.excerpt[sp.start..sp.end]).into_owned(),
                    theme::search_match(),
                ),
                Span::raw(sanitize(&s.excerpt[sp.end..]).into_owned()),
            ]),
            None => Line::raw(sanitize(&s.excerpt).into_owned()),
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
        if let Some((k, n, c)) = self.selected_claim() {
            let (mark, what, style) = match c.verdict {
                Verdict::Supported => ("✓", "supported", theme::dim()),
                Verdict::Partial => ("~", "in part", theme::cite_partial()),
                Verdict::Unsupported => ("✗", "not in its source", theme::cite_unsupported()),
                Verdict::Uncited | Verdict::Unchecked => ("·", "unchecked", theme::dim()),
            };
            lines.push(Line::styled(
                format!(
                    "claim {k}/{n} {mark} {what} (c next): {}",
                    one_line(&c.text)
                ),
                style,
            ));
        }
        lines.push(Line::default());
        lines.push(self.excerpt_line(s));
        let title = format!(
            " Source {}/{} — Tab next · c claim · o open · y copy URL · Esc close ",
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
    let mut cmd = std::process::Command::new(opener);
    cmd.arg(parsed.as_str());
    crate::library::open::spawn_reaped(cmd, opener, |why| {
        tracing::warn!("{why}");
        super::terminal::notify(why);
    })
}
