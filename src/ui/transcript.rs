//! The transcript: a list of self-rendering cells. Each cell caches its
//! wrapped lines for the last width, and the view walks up from the bottom,
//! so a frame costs O(visible lines), not O(history).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::research_view::ResearchProgress;
use super::theme;
use super::wrap::wrap;
use crate::domain::{Branch, MessageId, MessageStatus, Role, Source, StoredMessage};
use crate::text::format_time;
use crate::text::sanitize::sanitize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellKind {
    User,
    Assistant,
    Notice,
    Error,
    /// A research turn's progress (queries, sources, analysis).
    Research,
}

#[derive(Debug)]
pub struct Cell {
    pub kind: CellKind,
    pub id: Option<MessageId>,
    /// The raw text; sanitized when lines are built, never before, so an
    /// escape sequence split across two streamed deltas is still caught.
    text: String,
    meta: String,
    /// An answer's cited sources: [1]..=[n] are highlighted and listed.
    sources: Vec<Source>,
    /// Its claims checked against those sources, once the answer is done.
    claims: Option<crate::domain::claims::ClaimCheck>,
    research: Option<ResearchProgress>,
    /// Marked as the current search match: the query, whose words are
    /// highlighted in the text.
    highlight: Option<crate::store::search::Query>,
    /// The message selected (Ctrl+↑), marked in the margin.
    selected: bool,
    /// Its place among its siblings, shown as ‹ 2/3 ›.
    pub branch: Option<Branch>,
    /// Who wrote an answer when it was not sleuth (an imported session's
    /// tool: "ChatGPT").
    pub who: Option<&'static str>,
    cache: Option<(u16, Vec<Line<'static>>)>,
}

impl Cell {
    pub fn new(kind: CellKind, text: &str, meta: String) -> Self {
        Self {
            kind,
            id: None,
            text: text.to_string(),
            meta,
            sources: Vec::new(),
            claims: None,
            research: None,
            highlight: None,
            selected: false,
            branch: None,
            who: None,
            cache: None,
        }
    }

    pub fn from_stored(m: &StoredMessage) -> Self {
        let kind = match m.message.role {
            Role::User => CellKind::User,
            Role::Assistant | Role::System => CellKind::Assistant,
        };
        let mut meta = format_time(m.message.created_at);
        match m.message.status {
            MessageStatus::Interrupted => meta.push_str(" · interrupted"),
            MessageStatus::Error => match &m.message.error {
                Some(e) => meta.push_str(&format!(
                    " · failed: {}",
                    crate::text::sanitize::one_line(e)
                )),
                None => meta.push_str(" · error"),
            },
            MessageStatus::Streaming => meta.push_str(" · unfinished"),
            MessageStatus::Complete => {}
        }
        let mut c = Self::new(kind, &m.message.content, meta);
        c.id = Some(m.message.id);
        c.sources = m.sources.clone();
        c.claims = m.claims.clone();
        c.branch = m.branch;
        c
    }

    /// A question or an answer (not a notice or a progress cell).
    pub fn is_message(&self) -> bool {
        self.id.is_some() && matches!(self.kind, CellKind::User | CellKind::Assistant)
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// Appends streamed text; the lines are rebuilt on the next draw.
    pub fn append(&mut self, text: &str) {
        self.text.push_str(text);
        self.cache = None;
    }

    pub fn research(progress: ResearchProgress) -> Self {
        let mut c = Self::new(CellKind::Research, "", String::new());
        c.research = Some(progress);
        c
    }

    pub fn sources(&self) -> &[Source] {
        &self.sources
    }

    pub fn set_sources(&mut self, sources: Vec<Source>) {
        self.sources = sources;
        self.cache = None;
    }

    pub fn claims(&self) -> Option<&crate::domain::claims::ClaimCheck> {
        self.claims.as_ref()
    }

    pub fn set_claims(&mut self, claims: Option<crate::domain::claims::ClaimCheck>) {
        self.claims = claims;
        self.cache = None;
    }

    /// Changes the research progress in place; the lines are rebuilt.
    pub fn update_research(&mut self, f: impl FnOnce(&mut ResearchProgress)) {
        if let Some(r) = &mut self.research {
            f(r);
            self.cache = None;
        }
    }

    pub fn set_meta(&mut self, meta: String) {
        self.meta = meta;
        self.cache = None;
    }

    /// The lines of this cell at `width`, wrapped once per width.
    pub fn lines(&mut self, width: u16) -> &[Line<'static>] {
        if self.cache.as_ref().is_none_or(|(w, _)| *w != width) {
            self.cache = Some((width, self.build(width)));
        }
        self.cache
            .as_ref()
            .map(|(_, l)| l.as_slice())
            .unwrap_or(&[])
    }

    fn build(&self, width: u16) -> Vec<Line<'static>> {
        let (label, label_style, body_style) = match self.kind {
            CellKind::User => ("you", theme::user_label(), ratatui::style::Style::new()),
            CellKind::Assistant => (
                self.who.unwrap_or("sleuth"),
                theme::assistant_label(),
                ratatui::style::Style::new(),
            ),
            CellKind::Notice => ("notice", theme::notice(), theme::notice()),
            CellKind::Error => ("error", theme::error(), theme::error()),
            CellKind::Research => ("research", theme::notice(), theme::dim()),
        };
        let mut lines = Vec::new();
        let mut header = vec![Span::styled(label, label_style)];
        if !self.meta.is_empty() {
            header.push(Span::styled(format!("  {}", self.meta), theme::dim()));
        }
        if let Some(b) = self.branch {
            header.push(Span::styled(
                format!("  ‹ {}/{} ›", b.index, b.count),
                theme::key(),
            ));
        }
        if self.selected {
            header.insert(0, Span::styled("▌ ", theme::key()));
            header.push(Span::styled(
                "  ◀ selected: y copy · r again · e edit · ←/→ branch · Esc",
                theme::key(),
            ));
        }
        if self.highlight.is_some() {
            header.insert(0, Span::styled("▶ ", theme::search_match()));
            header.push(Span::styled("  ◀ search match", theme::search_match()));
        }
        lines.push(Line::from(header));
        let indent = 2usize;
        let body_w = (width as usize).saturating_sub(indent).max(1);
        let text = sanitize(&self.text);
        if self.kind == CellKind::Assistant {
            let text = if text.trim().is_empty() {
                "…".into()
            } else {
                text
            };
            let marks = self
                .claims
                .as_ref()
                .map_or_else(Vec::new, |c| c.mark_verdicts());
            for mut l in super::markdown::render_checked(&text, body_w, self.sources.len(), marks) {
                l.spans.insert(0, Span::raw(" ".repeat(indent)));
                lines.push(l);
            }
            if let Some(c) = self.claims.as_ref().filter(|c| !c.claims.is_empty()) {
                lines.push(Line::styled(
                    format!("{}checked: {}", " ".repeat(indent), c.footer()),
                    if c.unsupported > 0 {
                        theme::cite_unsupported()
                    } else {
                        theme::dim()
                    },
                ));
            }
            if !self.sources.is_empty() {
                lines.push(Line::default());
                lines.extend(super::research_view::source_lines(
                    &self.sources,
                    width as usize,
                ));
            }
        } else if let Some(r) = &self.research {
            lines.extend(r.lines(width as usize));
        } else {
            for l in wrap(&text, body_w) {
                lines.push(Line::styled(
                    format!("{}{l}", " ".repeat(indent)),
                    body_style,
                ));
            }
        }
        if let Some(q) = &self.highlight {
            let m = crate::store::search::Matcher::new(q);
            for l in lines.iter_mut().skip(1) {
                mark_matches(l, &m);
            }
        }
        lines.push(Line::default());
        lines
    }
}

/// Splits a line's spans so the words `m` matches carry the search-match
/// style (a word split across two spans is left as it is).
fn mark_matches(line: &mut Line<'static>, m: &crate::store::search::Matcher) {
    let mut out: Vec<Span<'static>> = Vec::with_capacity(line.spans.len());
    for span in line.spans.drain(..) {
        let a = m.analyze(&span.content);
        if !a.words.iter().any(|w| w.2.is_some()) {
            out.push(span);
            continue;
        }
        let text = span.content.as_ref();
        let mut at = 0;
        for &(s, e, g) in &a.words {
            if g.is_none() {
                continue;
            }
            if s > at {
                out.push(Span::styled(text[at..s].to_string(), span.style));
            }
            out.push(Span::styled(
                text[s..e].to_string(),
                span.style.patch(theme::search_match()),
            ));
            at = e;
        }
        if at < text.len() {
            out.push(Span::styled(text[at..].to_string(), span.style));
        }
    }
    line.spans = out;
}

#[derive(Debug, Default)]
pub struct Transcript {
    cells: Vec<Cell>,
    /// Lines scrolled up from the bottom; 0 follows new output.
    scroll_back: usize,
    last_width: u16,
    /// Height and index of the last cell at the previous draw: when it
    /// grows (streaming) while scrolled up, the view is kept in place.
    tail: (usize, usize),
    /// A message to bring to the top of the view at the next draw.
    jump: Option<MessageId>,
}

impl Transcript {
    pub fn push(&mut self, mut cell: Cell) {
        // Scrolled up, the view stays where the user left it: the offset
        // from the bottom grows by the new cell's height. Pinned, it follows.
        if self.scroll_back > 0 && self.last_width > 0 {
            self.scroll_back = self
                .scroll_back
                .saturating_add(cell.lines(self.last_width).len());
        }
        self.cells.push(cell);
    }

    pub fn pop(&mut self) -> Option<Cell> {
        self.cells.pop()
    }

    pub fn clear(&mut self) {
        self.cells.clear();
        self.scroll_back = 0;
    }

    pub fn len(&self) -> usize {
        self.cells.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    pub fn cells(&self) -> &[Cell] {
        &self.cells
    }

    pub fn last_mut(&mut self) -> Option<&mut Cell> {
        self.cells.last_mut()
    }

    /// Mutable access to the cell showing message `id`.
    pub fn cell_mut(&mut self, id: MessageId) -> Option<&mut Cell> {
        self.cells.iter_mut().rev().find(|c| c.id == Some(id))
    }

    /// The cell just before message `id` (a research turn's progress cell).
    pub fn cell_before_mut(&mut self, id: MessageId) -> Option<&mut Cell> {
        let i = self.cells.iter().rposition(|c| c.id == Some(id))?;
        i.checked_sub(1).and_then(|j| self.cells.get_mut(j))
    }

    /// F4: opens every finished deep run's research tree, or closes them
    /// all when one is open. False when there is none.
    pub fn toggle_trees(&mut self) -> bool {
        let finished = |c: &Cell| {
            c.research
                .as_ref()
                .is_some_and(|r| r.tree.is_some() && r.ended.is_some())
        };
        let open = !self
            .cells
            .iter()
            .filter(|c| finished(c))
            .any(|c| c.research.as_ref().is_some_and(|r| r.expanded));
        let mut any = false;
        for c in self.cells.iter_mut().filter(|c| finished(c)) {
            if let Some(r) = &mut c.research {
                r.expanded = open;
                c.cache = None;
                any = true;
            }
        }
        any
    }

    /// The newest answer that cites sources.
    pub fn last_cited(&self) -> Option<&Cell> {
        self.cells.iter().rev().find(|c| !c.sources.is_empty())
    }

    /// Removes message `id` and the research cell above it, if any.
    pub fn remove_with_research(&mut self, id: MessageId) {
        if let Some(i) = self.cells.iter().rposition(|c| c.id == Some(id)) {
            self.cells.remove(i);
            if i > 0 && self.cells[i - 1].kind == CellKind::Research {
                self.cells.remove(i - 1);
            }
        }
    }

    /// Removes everything after the last question: its answer, progress
    /// and notices (regenerate replaces them all).
    pub fn drop_last_answer(&mut self) {
        if let Some(i) = self.cells.iter().rposition(|c| c.kind == CellKind::User) {
            self.cells.truncate(i + 1);
        }
    }

    pub fn remove(&mut self, id: MessageId) {
        self.cells.retain(|c| c.id != Some(id));
    }

    pub fn is_pinned(&self) -> bool {
        self.scroll_back == 0
    }

    pub fn scroll_up(&mut self, lines: usize) {
        self.scroll_back = self.scroll_back.saturating_add(lines);
    }

    pub fn scroll_down(&mut self, lines: usize) {
        self.scroll_back = self.scroll_back.saturating_sub(lines);
    }

    pub fn scroll_to_bottom(&mut self) {
        self.scroll_back = 0;
    }

    /// Marks message `id` as the search match of `query` (and no other),
    /// its matched words highlighted, and scrolls it to the top of the view
    /// at the next draw. False if it is not here.
    pub fn focus(&mut self, id: MessageId, query: &crate::store::search::Query) -> bool {
        if !self.cells.iter().any(|c| c.id == Some(id)) {
            return false;
        }
        for c in &mut self.cells {
            let want = (c.id == Some(id)).then(|| query.clone());
            if c.highlight != want {
                c.highlight = want;
                c.cache = None;
            }
        }
        self.jump = Some(id);
        true
    }

    /// Marks `id` as the selected message (None: no selection) and brings
    /// it into view at the next draw.
    pub fn select(&mut self, id: Option<MessageId>) {
        for c in &mut self.cells {
            let want = id.is_some() && c.id == id;
            if c.selected != want {
                c.selected = want;
                c.cache = None;
            }
        }
        self.jump = id;
    }

    /// The message `id` (the last cell showing it).
    pub fn cell(&self, id: MessageId) -> Option<&Cell> {
        self.cells.iter().rev().find(|c| c.id == Some(id))
    }

    /// The question or answer before (`up`) or after `from`; from None,
    /// the last one.
    pub fn neighbour(&self, from: Option<MessageId>, up: bool) -> Option<MessageId> {
        let ids: Vec<MessageId> = self
            .cells
            .iter()
            .filter(|c| c.is_message())
            .filter_map(|c| c.id)
            .collect();
        let Some(from) = from else {
            return ids.last().copied();
        };
        let i = ids.iter().position(|id| *id == from)?;
        if up {
            i.checked_sub(1).and_then(|j| ids.get(j)).copied()
        } else {
            ids.get(i + 1).copied()
        }
    }

    /// Where `id` is among the questions and answers (0 = the first).
    pub fn position(&self, id: MessageId) -> Option<usize> {
        self.cells
            .iter()
            .filter(|c| c.is_message())
            .position(|c| c.id == Some(id))
    }

    /// The question or answer at `pos` (as `position` counts).
    pub fn at_position(&self, pos: usize) -> Option<MessageId> {
        self.cells
            .iter()
            .filter(|c| c.is_message())
            .nth(pos)
            .and_then(|c| c.id)
    }

    /// Removes the search-match mark.
    pub fn clear_focus(&mut self) {
        for c in self.cells.iter_mut().filter(|c| c.highlight.is_some()) {
            c.highlight = None;
            c.cache = None;
        }
        self.jump = None;
    }

    pub fn scroll_to_top(&mut self) {
        self.scroll_back = usize::MAX;
    }

    /// Draws the cells that are visible. Walks up from the last cell only as
    /// far as the viewport plus the scroll offset needs.
    pub fn render(&mut self, area: Rect, buf: &mut Buffer) {
        if area.width == 0 || area.height == 0 {
            return;
        }
        let tail_h = self
            .cells
            .last_mut()
            .map(|c| c.lines(area.width).len())
            .unwrap_or(0);
        if self.scroll_back > 0
            && self.last_width == area.width
            && self.tail.1 == self.cells.len()
            && tail_h > self.tail.0
        {
            self.scroll_back += tail_h - self.tail.0;
        }
        self.tail = (tail_h, self.cells.len());
        self.last_width = area.width;
        if let Some(id) = self.jump.take()
            && let Some(i) = self.cells.iter().position(|c| c.id == Some(id))
        {
            // Lines from the match to the end, less the hidden separator:
            // scrolled back so the match's first line is the top line.
            let below: usize = self.cells[i..]
                .iter_mut()
                .map(|c| c.lines(area.width).len())
                .sum();
            self.scroll_back = below.saturating_sub(1).saturating_sub(area.height as usize);
        }
        let height = area.height as usize;
        let want = height.saturating_add(self.scroll_back).saturating_add(1);
        // Collect lines bottom-up until enough are gathered.
        let mut gathered: Vec<&[Line<'static>]> = Vec::new();
        let mut total = 0usize;
        let mut reached_top = true;
        for cell in self.cells.iter_mut().rev() {
            if total >= want {
                reached_top = false;
                break;
            }
            let lines = cell.lines(area.width);
            total += lines.len();
            gathered.push(lines);
        }
        // Clamp the scroll offset at the top of the history.
        if reached_top {
            let max_back = total.saturating_sub(1).saturating_sub(height);
            if self.scroll_back > max_back {
                self.scroll_back = max_back;
            }
        }
        // The last cell's trailing separator line is never shown.
        let total = total.saturating_sub(1);
        // Index of the first visible line counted from the top of `gathered`.
        let skip_from_bottom = self.scroll_back;
        let visible_end = total.saturating_sub(skip_from_bottom);
        let visible_start = visible_end.saturating_sub(height);
        let mut y = area.y;
        let mut idx = 0usize;
        for lines in gathered.iter().rev() {
            for line in lines.iter() {
                if idx >= visible_start && idx < visible_end {
                    buf.set_line(area.x, y, line, area.width);
                    y += 1;
                }
                idx += 1;
            }
        }
        // Scrolled up: say that there is more below (new output arrives
        // there while the view stays put).
        if self.scroll_back > 0 && area.height > 1 {
            let tag = " ↓ more below · End ";
            let w = unicode_width::UnicodeWidthStr::width(tag) as u16;
            if area.width > w {
                buf.set_string(
                    area.x + area.width - w,
                    area.y + area.height - 1,
                    tag,
                    theme::key().add_modifier(ratatui::style::Modifier::REVERSED),
                );
            }
        }
    }
}
