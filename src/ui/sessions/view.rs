//! How the sessions screen looks: the list (only the rows in view), the
//! preview of the selected session (Markdown, rendered once per width),
//! and the footer with feedback and key hints.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, List, ListItem, ListState, Paragraph, Wrap};

use super::{Mode, PREVIEW_CHARS, PREVIEW_LINES, SessionsScreen};
use crate::domain::{Message, Role};
use crate::text::format_time;
use crate::text::sanitize::one_line;
use crate::ui::theme;
use crate::ui::wrap::truncate;

impl SessionsScreen {
    pub fn render(&self, frame: &mut Frame<'_>, area: Rect) {
        let [main, footer] =
            Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(area);
        let (list_area, preview_area) = if main.width >= 90 {
            let [a, b] =
                Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)])
                    .areas(main);
            (a, Some(b))
        } else {
            (main, None)
        };
        self.render_list(frame, list_area);
        if let Some(p) = preview_area {
            self.render_preview(frame, p);
        }
        frame.render_widget(
            Paragraph::new(self.footer()).style(theme::status_bar()),
            footer,
        );
    }

    fn render_list(&self, frame: &mut Frame<'_>, area: Rect) {
        let count = match self.total {
            Some(t) => t.to_string(),
            None if self.has_more => format!("{}+", self.rows.len()),
            None => self.rows.len().to_string(),
        };
        let title = if self.filter.is_empty() {
            format!(" Sessions ({count}) ")
        } else {
            format!(" Sessions matching “{}” ({count}) ", one_line(&self.filter))
        };
        let block = Block::new()
            .borders(Borders::ALL)
            .border_style(theme::border_focused())
            .title(title);
        if self.rows.is_empty() {
            let text = if !self.loaded {
                "reading…".to_string()
            } else if self.filter.is_empty() {
                "No sessions yet. Esc goes back to the chat: ask a question and it is kept here."
                    .to_string()
            } else {
                format!(
                    "No session title contains “{}”. Backspace edits, Esc clears.",
                    one_line(&self.filter)
                )
            };
            frame.render_widget(
                Paragraph::new(Line::styled(text, theme::dim()))
                    .wrap(Wrap { trim: true })
                    .block(block),
                area,
            );
            return;
        }
        let inner_w = area.width.saturating_sub(4) as usize;
        // Only the rows in view become list items (pages accumulate as the
        // user scrolls; a frame must not cost O(every row read so far)).
        let visible = (area.height.saturating_sub(2) as usize / 2).max(1);
        let mut top = self.top.get();
        if self.selected < top {
            top = self.selected;
        } else if self.selected >= top + visible {
            top = self.selected + 1 - visible;
        }
        self.top.set(top);
        let end = (top + visible).min(self.rows.len());
        let items: Vec<ListItem> = self.rows[top.min(end)..end]
            .iter()
            .map(|s| {
                let title = one_line(&s.session.title);
                let mut meta = format!(
                    "{} · {} msg{}",
                    format_time(s.session.updated_at),
                    s.message_count,
                    s.session
                        .model
                        .as_deref()
                        .map(|m| format!(" · {}", one_line(m)))
                        .unwrap_or_default()
                );
                if let Some(o) = s.session.origin.as_deref() {
                    meta.push_str(&format!(" · {}", crate::domain::origin_label(o)));
                }
                if s.unfinished_run {
                    meta.push_str(" · ◆ unfinished deep run: open, then /resume");
                }
                ListItem::new(vec![
                    Line::from(truncate(&title, inner_w)),
                    Line::styled(truncate(&meta, inner_w), theme::dim()),
                ])
            })
            .collect();
        let list = List::new(items)
            .block(block)
            .highlight_style(Style::new().add_modifier(Modifier::REVERSED))
            .highlight_symbol("› ");
        let mut state = ListState::default().with_selected(Some(self.selected - top));
        frame.render_stateful_widget(list, area, &mut state);
    }

    fn render_preview(&self, frame: &mut Frame<'_>, area: Rect) {
        let block = Block::new()
            .borders(Borders::ALL)
            .border_style(theme::border())
            .title(" Preview ");
        let Some(sel) = self.selected() else {
            frame.render_widget(block, area);
            return;
        };
        let mut lines = vec![
            Line::styled(one_line(&sel.session.title), theme::assistant_label()),
            Line::styled(
                format!(
                    "started {} · {}",
                    format_time(sel.session.created_at),
                    crate::text::plural(sel.message_count.max(0) as u64, "message")
                ),
                theme::dim(),
            ),
        ];
        if let Some(sum) = sel.session.summary.as_deref().filter(|s| !s.is_empty()) {
            lines.push(Line::styled(
                format!("summary: {}", one_line(sum)),
                theme::dim(),
            ));
        }
        lines.push(Line::default());
        match &self.preview {
            Some((id, msgs)) if *id == sel.session.id => {
                let width = area.width.saturating_sub(2);
                let mut cache = self.preview_lines.borrow_mut();
                if !matches!(&*cache, Some((s, w, _)) if s == id && *w == width) {
                    *cache = Some((*id, width, preview_lines(msgs, width as usize)));
                }
                if let Some((_, _, rendered)) = &*cache {
                    lines.extend(rendered.iter().cloned());
                }
            }
            _ => lines.push(Line::styled("reading…", theme::dim())),
        }
        frame.render_widget(
            Paragraph::new(lines)
                .wrap(Wrap { trim: false })
                .block(block),
            area,
        );
    }

    fn footer(&self) -> Line<'static> {
        let k = |s: &str| Span::styled(s.to_string(), theme::key());
        let t = |s: &str| Span::raw(s.to_string());
        match &self.mode {
            Mode::Rename(title) => Line::from(vec![
                k(" rename: "),
                t(&one_line(title)),
                t("▏  "),
                k("Enter"),
                t(" saves · "),
                k("Esc"),
                t(" cancels"),
            ]),
            Mode::ConfirmDelete => Line::from(vec![
                Span::styled(
                    format!(
                        " delete “{}” with its messages and sources? ",
                        self.selected()
                            .map(|s| one_line(&s.session.title))
                            .unwrap_or_default()
                    ),
                    theme::error(),
                ),
                k("y"),
                t(" delete · any other key keeps it"),
            ]),
            Mode::Browse => {
                // Feedback first: the key hints are the part that may be cut.
                let mut spans = Vec::new();
                if let Some(n) = &self.notice {
                    spans.push(Span::styled(format!(" {} ·", one_line(n)), theme::notice()));
                }
                spans.extend([
                    k(" ↵"),
                    t(" open  "),
                    k(if self.filter.is_empty() { "r" } else { "^R" }),
                    t(" rename  "),
                    k(if self.filter.is_empty() { "d" } else { "^D" }),
                    t(" delete  "),
                    k(if self.filter.is_empty() { "e" } else { "^E" }),
                    t(" export  "),
                    k("type"),
                    t(" to filter  "),
                    k("/ ^F"),
                    t(" search  "),
                    k("Esc"),
                    t(if self.filter.is_empty() {
                        " back"
                    } else {
                        " clear filter"
                    }),
                ]);
                Line::from(spans)
            }
        }
    }
}

/// The previewed messages as they read in the chat: each one's Markdown
/// rendered (the start of it), under a "you" / "sleuth" label.
pub(super) fn preview_lines(msgs: &[Message], width: usize) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    for m in msgs {
        let (label, style) = match m.role {
            Role::User => ("you", theme::user_label()),
            _ => ("sleuth", theme::assistant_label()),
        };
        out.push(Line::styled(label, style));
        let text: String = m.content.chars().take(PREVIEW_CHARS).collect();
        let rendered = crate::ui::markdown::render(&text, width.saturating_sub(2));
        let more = rendered.len() > PREVIEW_LINES;
        for l in rendered.into_iter().take(PREVIEW_LINES) {
            let mut spans = vec![Span::raw("  ")];
            spans.extend(l.spans);
            out.push(Line::from(spans).style(l.style));
        }
        if more {
            out.push(Line::styled("  …", theme::dim()));
        }
    }
    out
}
