//! Drawing the chat screen. Reads state; the only mutation is the
//! transcript's wrap cache.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::ChatScreen;
use crate::ui::status::StatusState;
use crate::ui::theme;

/// Most rows the input grows to before it scrolls.
const INPUT_MAX_ROWS: u16 = 8;

impl ChatScreen {
    pub fn render(&mut self, frame: &mut Frame<'_>, area: Rect, status: &StatusState) {
        // Rows of the soft-wrapped input (inside its borders).
        let inner = area.width.saturating_sub(2).max(1) as usize;
        let wrapped: usize = self
            .input
            .lines()
            .iter()
            .map(|l| {
                unicode_width::UnicodeWidthStr::width(l.as_str())
                    .div_ceil(inner)
                    .max(1)
            })
            .sum();
        let rows = (wrapped.min(INPUT_MAX_ROWS as usize) as u16).max(1);
        // The input needs its borders plus one row; on a tiny terminal the
        // status bar and input win over the transcript.
        let input_h = (rows + 2).min(area.height.saturating_sub(1));
        let [body, input, bar] = Layout::vertical([
            Constraint::Min(0),
            Constraint::Length(input_h),
            Constraint::Length(1.min(area.height)),
        ])
        .areas(area);

        if self.transcript.is_empty() {
            self.render_welcome(frame, body, status);
        } else {
            self.transcript.render(body, frame.buffer_mut());
        }

        if input.height >= 3 && input.width >= 4 {
            self.input.set_block(
                Block::new()
                    .borders(Borders::ALL)
                    .border_style(theme::border_focused())
                    .title(Span::styled(" Ask ", theme::key())),
            );
            frame.render_widget(&self.input, input);
        } else if input.height > 0 {
            // No room for borders: the bare text line.
            self.input.set_block(Block::new());
            frame.render_widget(&self.input, input);
        }
        status.render(
            &self.session_label(),
            self.status_note().as_deref(),
            bar,
            frame.buffer_mut(),
        );
    }

    fn render_welcome(&self, frame: &mut Frame<'_>, area: Rect, status: &StatusState) {
        if area.height == 0 || area.width == 0 {
            return;
        }
        let mut lines = vec![
            Line::styled("sleuth", theme::assistant_label()),
            Line::styled("Ask a question; answers cite their sources.", theme::dim()),
            Line::default(),
        ];
        match &status.provider {
            crate::ui::status::ProviderState::Unavailable(why) => {
                lines.push(Line::styled(format!("No model: {why}"), theme::notice()));
                lines.push(Line::styled(
                    "Questions are still saved; `sleuth doctor` checks the setup.",
                    theme::dim(),
                ));
                lines.push(Line::default());
            }
            crate::ui::status::ProviderState::Ready(what) => {
                lines.push(Line::styled(format!("Model: {what}"), theme::dim()));
                lines.push(Line::default());
            }
            crate::ui::status::ProviderState::Checking => {}
        }
        if let Some((_, title)) = &self.resumable {
            lines.push(Line::from(vec![
                Span::styled("Ctrl+L", theme::key()),
                Span::raw(format!(
                    " resumes “{}”",
                    crate::text::sanitize::one_line(title)
                )),
            ]));
        }
        lines.push(Line::from(vec![
            Span::styled("?", theme::key()),
            Span::raw(" lists every key"),
        ]));
        let h = (lines.len() as u16).min(area.height);
        let top = area.y + area.height.saturating_sub(h) / 2;
        frame.render_widget(
            Paragraph::new(lines).centered().wrap(Wrap { trim: true }),
            Rect::new(area.x, top, area.width, h),
        );
    }
}
