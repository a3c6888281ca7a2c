//! Markdown → styled, wrapped terminal lines: headings, emphasis, lists,
//! block quotes, links, rules, tables as text, and fenced code with syntax
//! colours (syntect). Input must already be sanitized.

use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Options, Parser, Tag, TagEnd};

use super::theme;
use crate::domain::claims::Verdict;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use syntect::easy::HighlightLines;

mod highlight;
mod layout;

use highlight::highlighter;
pub use highlight::preload;
use layout::{Block, Styled, push_char, wrap_block};
use unicode_width::UnicodeWidthStr;

pub fn citation_style() -> Style {
    Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD)
}

/// Splits text into plain pieces and `[n]` citations with 1 ≤ n ≤ max.
/// A citation with no source (dangling) stays plain text.
pub fn split_citations(t: &str, max: usize) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let mut plain = String::new();
    let mut rest = t;
    while let Some(open) = rest.find('[') {
        let after = &rest[open + 1..];
        let close = after.find(']');
        let n = close
            .and_then(|c| after[..c].parse::<usize>().ok())
            .filter(|n| (1..=max).contains(n));
        match (close, n) {
            (Some(c), Some(_)) => {
                plain.push_str(&rest[..open]);
                if !plain.is_empty() {
                    out.push((std::mem::take(&mut plain), false));
                }
                out.push((rest[open..open + c + 2].to_string(), true));
                rest = &after[c + 1..];
            }
            _ => {
                plain.push_str(&rest[..open + 1]);
                rest = after;
            }
        }
    }
    plain.push_str(rest);
    if !plain.is_empty() {
        out.push((plain, false));
    }
    out
}

fn code_style() -> Style {
    Style::new().fg(Color::Yellow)
}

struct Renderer {
    width: usize,
    /// Citations [1]..=[max_cite] are highlighted; others stay plain text.
    max_cite: usize,
    /// The claim check's verdict behind each highlighted citation, in
    /// the order they are drawn (empty: not checked).
    marks: Vec<Option<Verdict>>,
    next_mark: usize,
    out: Vec<Line<'static>>,
    cur: Option<Block>,
    styles: Vec<Style>,
    /// Each open list: Some(next number) or None for bullets.
    lists: Vec<Option<u64>>,
    quote: usize,
    /// Inside a fenced or indented code block: (language, text so far).
    code: Option<(String, String)>,
    link: Option<String>,
    table: Option<Table>,
    /// A bullet waiting for the first line of its item.
    pending_bullet: Option<String>,
}

#[derive(Default)]
struct Table {
    rows: Vec<Vec<String>>,
    cell: String,
    row: Vec<String>,
}

impl Renderer {
    fn style(&self) -> Style {
        self.styles.last().copied().unwrap_or_default()
    }

    fn indent(&self) -> (Styled, Styled) {
        let mut first = Vec::new();
        let mut rest = Vec::new();
        for _ in 0..self.quote {
            first.push(("│ ".to_string(), Style::new().fg(Color::DarkGray)));
            rest.push(("│ ".to_string(), Style::new().fg(Color::DarkGray)));
        }
        let depth = self.lists.len();
        if depth > 0 {
            let pad = "  ".repeat(depth - 1);
            match &self.pending_bullet {
                Some(b) => {
                    first.push((format!("{pad}{b}"), Style::new().fg(Color::Cyan)));
                    rest.push((format!("{pad}{}", " ".repeat(b.width())), Style::new()));
                }
                None => {
                    let w = "  ".repeat(depth);
                    first.push((w.clone(), Style::new()));
                    rest.push((w, Style::new()));
                }
            }
        }
        (first, rest)
    }

    fn text(&mut self, t: &str) {
        if let Some(table) = &mut self.table {
            table.cell.push_str(t);
            return;
        }
        if let Some((_, code)) = &mut self.code {
            code.push_str(t);
            return;
        }
        if self.cur.is_none() {
            let (first, rest) = self.indent();
            self.pending_bullet = None;
            self.cur = Some(Block {
                spans: Vec::new(),
                first,
                rest,
            });
        }
        let style = self.style();
        if let Some(b) = &mut self.cur {
            // The parser splits "[1]" into several text events: join
            // same-style runs so citations can be found at flush.
            match b.spans.last_mut() {
                Some((last, st)) if *st == style => last.push_str(t),
                _ => b.spans.push((t.to_string(), style)),
            }
        }
    }

    fn flush(&mut self) {
        if let Some(mut b) = self.cur.take() {
            if self.max_cite > 0 {
                b.spans = b
                    .spans
                    .into_iter()
                    .flat_map(|(t, st)| {
                        split_citations(&t, self.max_cite)
                            .into_iter()
                            .map(move |(p, cite)| (p, cite, st))
                    })
                    .map(|(p, cite, st)| {
                        if !cite {
                            return (p, st);
                        }
                        let verdict = self.marks.get(self.next_mark).copied().flatten();
                        self.next_mark += 1;
                        checked_citation(p, verdict)
                    })
                    .collect();
            }
            wrap_block(&b, self.width, &mut self.out);
        }
    }

    fn blank(&mut self) {
        if self.out.last().is_some_and(|l| l.width() > 0) {
            self.out.push(Line::default());
        }
    }

    fn code_block(&mut self, lang: &str, code: &str) {
        let mut pad = format!("{}▏ ", "  ".repeat(self.lists.len()));
        if pad.width() + 1 > self.width {
            pad.clear();
        }
        let body_w = self.width.saturating_sub(pad.width()).max(1);
        let hl = highlighter().map(|h| {
            let syntax = h
                .syntaxes
                .find_syntax_by_token(lang)
                .unwrap_or_else(|| h.syntaxes.find_syntax_plain_text());
            (HighlightLines::new(syntax, &h.theme), h)
        });
        let mut hl = hl;
        for raw in code.trim_end_matches('\n').split('\n') {
            let spans: Vec<(String, Style)> = match &mut hl {
                Some((lines, h)) => match lines.highlight_line(&format!("{raw}\n"), &h.syntaxes) {
                    Ok(regions) => regions
                        .into_iter()
                        .map(|(st, s)| {
                            let c = st.foreground;
                            (
                                s.trim_end_matches('\n').to_string(),
                                Style::new().fg(Color::Rgb(c.r, c.g, c.b)),
                            )
                        })
                        .collect(),
                    Err(_) => vec![(raw.to_string(), code_style())],
                },
                None => vec![(raw.to_string(), code_style())],
            };
            // Code is not word-wrapped: long lines are cut into rows.
            let mut row: Vec<Span<'static>> = vec![Span::raw(pad.clone())];
            let mut w = 0;
            for (text, style) in spans {
                for ch in text.chars() {
                    let cw = unicode_width::UnicodeWidthChar::width(ch).unwrap_or(0);
                    if w + cw > body_w && w > 0 {
                        self.out.push(Line::from(std::mem::take(&mut row)));
                        row.push(Span::raw(pad.clone()));
                        w = 0;
                    }
                    push_char(&mut row, ch, style);
                    w += cw;
                }
            }
            self.out.push(Line::from(row));
        }
    }

    fn table_done(&mut self, t: Table) {
        let cols = t.rows.iter().map(Vec::len).max().unwrap_or(0);
        let mut widths = vec![0usize; cols];
        for r in &t.rows {
            for (i, c) in r.iter().enumerate() {
                widths[i] = widths[i].max(c.width());
            }
        }
        for (ri, r) in t.rows.iter().enumerate() {
            let style = if ri == 0 {
                Style::new().add_modifier(Modifier::BOLD)
            } else {
                Style::new()
            };
            let mut spans = Vec::new();
            for (i, w) in widths.iter().enumerate() {
                let c = r.get(i).map(String::as_str).unwrap_or("");
                if i > 0 {
                    spans.push((" │ ".to_string(), Style::new().fg(Color::DarkGray)));
                }
                spans.push((
                    format!("{c}{}", " ".repeat(w.saturating_sub(c.width()))),
                    style,
                ));
            }
            let text: String = spans.iter().map(|s| s.0.as_str()).collect();
            // Too wide to be a table on this terminal: keep it readable.
            if text.width() > self.width {
                wrap_block(
                    &Block {
                        spans: vec![(r.join(" │ "), style)],
                        first: vec![],
                        rest: vec![("  ".into(), Style::new())],
                    },
                    self.width,
                    &mut self.out,
                );
            } else {
                self.out.push(Line::from(
                    spans
                        .into_iter()
                        .map(|(t, s)| Span::styled(t, s))
                        .collect::<Vec<_>>(),
                ));
            }
            if ri == 0 {
                let total: usize = widths.iter().sum::<usize>() + 3 * cols.saturating_sub(1);
                self.out.push(Line::styled(
                    "─".repeat(total.min(self.width)),
                    Style::new().fg(Color::DarkGray),
                ));
            }
        }
    }
}

/// Renders Markdown to lines at most `width` columns wide.
pub fn render(text: &str, width: usize) -> Vec<Line<'static>> {
    render_cited(text, width, 0)
}

/// Like [`render`], highlighting citations [1]..=[max_cite].
pub fn render_cited(text: &str, width: usize, max_cite: usize) -> Vec<Line<'static>> {
    render_checked(text, width, max_cite, Vec::new())
}

/// A citation as the claim check left it: one whose claim its passage
/// does not hold carries ✗, one it holds in part ~ (symbols, so they
/// survive NO_COLOR), each in its own colour.
fn checked_citation(mark: String, verdict: Option<Verdict>) -> (String, Style) {
    match verdict {
        Some(Verdict::Unsupported) => (format!("{mark}✗"), theme::cite_unsupported()),
        Some(Verdict::Partial) => (format!("{mark}~"), theme::cite_partial()),
        _ => (mark, citation_style()),
    }
}

/// Like [`render_cited`], marking each citation by the verdict of its
/// claim (`marks[k]` for the k-th citation drawn).
pub fn render_checked(
    text: &str,
    width: usize,
    max_cite: usize,
    marks: Vec<Option<Verdict>>,
) -> Vec<Line<'static>> {
    let width = width.max(1);
    let mut r = Renderer {
        width,
        max_cite,
        marks,
        next_mark: 0,
        out: Vec::new(),
        cur: None,
        styles: Vec::new(),
        lists: Vec::new(),
        quote: 0,
        code: None,
        link: None,
        table: None,
        pending_bullet: None,
    };
    let opts = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    for ev in Parser::new_ext(text, opts) {
        match ev {
            Event::Start(tag) => match tag {
                Tag::Paragraph => {}
                Tag::Heading { level, .. } => {
                    r.flush();
                    r.blank();
                    let s = match level {
                        HeadingLevel::H1 => Style::new()
                            .fg(Color::Cyan)
                            .add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
                        HeadingLevel::H2 => {
                            Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD)
                        }
                        _ => Style::new().add_modifier(Modifier::BOLD | Modifier::ITALIC),
                    };
                    r.styles.push(s);
                }
                Tag::BlockQuote(_) => {
                    r.flush();
                    r.quote += 1;
                    r.styles
                        .push(r.style().fg(Color::Gray).add_modifier(Modifier::ITALIC));
                }
                Tag::CodeBlock(kind) => {
                    r.flush();
                    let lang = match kind {
                        CodeBlockKind::Fenced(l) => {
                            l.split([',', ' ']).next().unwrap_or("").to_string()
                        }
                        CodeBlockKind::Indented => String::new(),
                    };
                    r.code = Some((lang, String::new()));
                }
                Tag::List(start) => {
                    r.flush();
                    if r.lists.is_empty() {
                        r.blank();
                    }
                    r.lists.push(start);
                }
                Tag::Item => {
                    r.flush();
                    let bullet = match r.lists.last_mut() {
                        Some(Some(n)) => {
                            let b = format!("{n}. ");
                            *n += 1;
                            b
                        }
                        _ => "• ".to_string(),
                    };
                    r.pending_bullet = Some(bullet);
                }
                Tag::Emphasis => r.styles.push(r.style().add_modifier(Modifier::ITALIC)),
                Tag::Strong => r.styles.push(r.style().add_modifier(Modifier::BOLD)),
                Tag::Strikethrough => r.styles.push(r.style().add_modifier(Modifier::CROSSED_OUT)),
                Tag::Link { dest_url, .. } => {
                    r.link = Some(dest_url.to_string());
                    r.styles
                        .push(r.style().fg(Color::Blue).add_modifier(Modifier::UNDERLINED));
                }
                Tag::Table(_) => {
                    r.flush();
                    r.blank();
                    r.table = Some(Table::default());
                }
                Tag::TableHead | Tag::TableRow | Tag::TableCell | Tag::Image { .. } => {}
                _ => {}
            },
            Event::End(tag) => match tag {
                TagEnd::Paragraph => {
                    r.flush();
                    if r.lists.is_empty() {
                        r.blank();
                    }
                }
                TagEnd::Heading(_) => {
                    r.flush();
                    r.styles.pop();
                }
                TagEnd::BlockQuote(_) => {
                    r.flush();
                    r.quote = r.quote.saturating_sub(1);
                    r.styles.pop();
                    r.blank();
                }
                TagEnd::CodeBlock => {
                    if let Some((lang, code)) = r.code.take() {
                        r.code_block(&lang, &code);
                    }
                    r.blank();
                }
                TagEnd::List(_) => {
                    r.flush();
                    r.lists.pop();
                    if r.lists.is_empty() {
                        r.blank();
                    }
                }
                TagEnd::Item => {
                    r.flush();
                    r.pending_bullet = None;
                }
                TagEnd::Emphasis | TagEnd::Strong | TagEnd::Strikethrough => {
                    r.styles.pop();
                }
                TagEnd::Link => {
                    r.styles.pop();
                    if let Some(url) = r.link.take() {
                        // Show where a link goes unless its text already does.
                        let shown = r
                            .cur
                            .as_ref()
                            .is_some_and(|b| b.spans.last().is_some_and(|s| s.0 == url));
                        if !shown && !url.is_empty() {
                            r.styles.push(Style::new().fg(Color::DarkGray));
                            r.text(&format!(" ({url})"));
                            r.styles.pop();
                        }
                    }
                }
                TagEnd::TableCell => {
                    if let Some(t) = &mut r.table {
                        let c = std::mem::take(&mut t.cell);
                        t.row.push(c.trim().to_string());
                    }
                }
                TagEnd::TableHead | TagEnd::TableRow => {
                    if let Some(t) = &mut r.table {
                        let row = std::mem::take(&mut t.row);
                        t.rows.push(row);
                    }
                }
                TagEnd::Table => {
                    if let Some(t) = r.table.take() {
                        r.table_done(t);
                    }
                    r.blank();
                }
                _ => {}
            },
            Event::Text(t) => r.text(&t),
            Event::Code(t) => {
                r.styles.push(code_style());
                r.text(&t);
                r.styles.pop();
            }
            Event::SoftBreak => r.text(" "),
            Event::HardBreak => r.flush(),
            Event::Rule => {
                r.flush();
                r.out.push(Line::styled(
                    "─".repeat(width.min(40)),
                    Style::new().fg(Color::DarkGray),
                ));
            }
            Event::TaskListMarker(done) => r.text(if done { "[x] " } else { "[ ] " }),
            Event::Html(t)
            | Event::InlineHtml(t)
            | Event::InlineMath(t)
            | Event::DisplayMath(t) => r.text(&t),
            Event::FootnoteReference(t) => r.text(&format!("[{t}]")),
        }
    }
    r.flush();
    if let Some((lang, code)) = r.code.take() {
        // A code block still streaming (no closing fence yet).
        r.code_block(&lang, &code);
    }
    while r.out.last().is_some_and(|l| l.width() == 0) {
        r.out.pop();
    }
    r.out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(lines: &[Line<'_>]) -> Vec<String> {
        lines
            .iter()
            .map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect())
            .collect()
    }

    #[test]
    fn renders_the_common_elements() {
        let md = "# Title\n\nSome *emphasis* and **bold** and `code`.\n\n- one\n- two\n  - nested\n\n1. first\n2. second\n\n> quoted\n\n[link](https://e.org)\n\n| a | bb |\n|---|---|\n| 1 | 2 |\n";
        let out = plain(&render(md, 60));
        assert_eq!(out[0], "Title");
        assert!(
            out.contains(&"Some emphasis and bold and code.".to_string()),
            "{out:?}"
        );
        assert!(
            out.contains(&"• one".to_string()) && out.contains(&"  • nested".to_string()),
            "{out:?}"
        );
        assert!(out.contains(&"1. first".to_string()) && out.contains(&"2. second".to_string()));
        assert!(out.contains(&"│ quoted".to_string()), "{out:?}");
        assert!(out.contains(&"link (https://e.org)".to_string()), "{out:?}");
        assert!(
            out.contains(&"a │ bb".to_string()) && out.contains(&"1 │ 2 ".to_string()),
            "{out:?}"
        );
    }

    #[test]
    fn code_blocks_are_coloured_and_not_wrapped_as_prose() {
        let md = "```rust\nfn main() { println!(\"hi\"); }\n```\n";
        let lines = render(md, 80);
        assert_eq!(plain(&lines), vec!["▏ fn main() { println!(\"hi\"); }"]);
        let colours: std::collections::HashSet<_> =
            lines[0].spans.iter().filter_map(|s| s.style.fg).collect();
        assert!(
            colours.len() >= 3,
            "expected syntax colours, got {colours:?}"
        );
        // An unclosed fence (still streaming) renders as code too.
        assert_eq!(plain(&render("```\nlet x", 80)), vec!["▏ let x"]);
    }

    #[test]
    fn only_citations_with_a_source_are_highlighted() {
        let parts = split_citations("a [1] b [2][9] c [x] [", 2);
        let cites: Vec<&str> = parts.iter().filter(|p| p.1).map(|p| p.0.as_str()).collect();
        assert_eq!(cites, vec!["[1]", "[2]"]);
        let joined: String = parts.iter().map(|p| p.0.as_str()).collect();
        assert_eq!(joined, "a [1] b [2][9] c [x] [");
        let lines = render_cited("See [1] and [9].", 40, 1);
        let styled: Vec<&str> = lines[0]
            .spans
            .iter()
            .filter(|s| s.style == citation_style())
            .map(|s| s.content.as_ref())
            .collect();
        assert_eq!(styled, vec!["[1]"]);
    }

    #[test]
    fn every_line_fits_the_width() {
        let md = "A paragraph with averyveryverylongwordthatcannotfit and 你好世界 text.\n\n- item with quite a lot of words in it\n\n```\nlong code line that is longer than the width\n```\n| col | col |\n|---|---|\n| wide cell content | more |\n";
        for width in 1..40 {
            for l in render(md, width) {
                assert!(l.width() <= width, "width {width}: {l:?}");
            }
        }
    }
}
