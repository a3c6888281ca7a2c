//! Word-wrapping styled spans into terminal rows, with the prefixes of
//! lists and quotes on the first and continuation rows.

use ratatui::style::Style;
use ratatui::text::{Line, Span};
use unicode_width::UnicodeWidthStr;

/// Styled text pieces: a prefix or the content of a logical line.
pub(super) type Styled = Vec<(String, Style)>;

/// A logical line being built: spans, and the prefix for its first and
/// continuation rows (list bullets, quote bars, indentation).
pub(super) struct Block {
    pub spans: Styled,
    pub first: Styled,
    pub rest: Styled,
}

pub(super) fn push_char(row: &mut Vec<Span<'static>>, ch: char, style: Style) {
    if let Some(last) = row.last_mut()
        && last.style == style
    {
        last.content.to_mut().push(ch);
        return;
    }
    row.push(Span::styled(ch.to_string(), style));
}

/// Word-wraps styled spans with the block's prefixes.
pub(super) fn wrap_block(b: &Block, width: usize, out: &mut Vec<Line<'static>>) {
    let prefix_w = |p: &[(String, Style)]| p.iter().map(|s| s.0.width()).sum::<usize>();
    // On a very narrow terminal, indentation would leave no room for text.
    if prefix_w(&b.first) >= width || prefix_w(&b.rest) >= width {
        let bare = Block {
            spans: b.spans.clone(),
            first: Vec::new(),
            rest: Vec::new(),
        };
        return wrap_block(&bare, width, out);
    }
    let mut line: Vec<Span<'static>> = b
        .first
        .iter()
        .map(|(t, s)| Span::styled(t.clone(), *s))
        .collect();
    let mut w = prefix_w(&b.first);
    let avail_rest = width.saturating_sub(prefix_w(&b.rest)).max(1);
    let new_row = |out: &mut Vec<Line<'static>>, line: &mut Vec<Span<'static>>, w: &mut usize| {
        out.push(Line::from(std::mem::take(line)));
        line.extend(b.rest.iter().map(|(t, s)| Span::styled(t.clone(), *s)));
        *w = prefix_w(&b.rest);
    };
    let mut at_start = true;
    for (text, style) in &b.spans {
        // Split keeping the spaces with the word that follows them.
        let mut rest = text.as_str();
        while !rest.is_empty() {
            let spaces = rest.len() - rest.trim_start_matches(' ').len();
            let after = &rest[spaces..];
            let wl = after.find(' ').unwrap_or(after.len());
            let (piece, tail) = rest.split_at(spaces + wl);
            rest = tail;
            let pw = piece.width();
            if w + pw > width && !at_start {
                new_row(out, &mut line, &mut w);
                let bare = piece.trim_start_matches(' ');
                if bare.width() <= avail_rest {
                    push_str(&mut line, bare, *style);
                    w += bare.width();
                    continue;
                }
                hard_split(bare, *style, width, &mut line, &mut w, out, &b.rest);
                continue;
            }
            if w + pw > width {
                hard_split(piece, *style, width, &mut line, &mut w, out, &b.rest);
            } else {
                push_str(&mut line, piece, *style);
                w += pw;
            }
            at_start = false;
        }
    }
    out.push(Line::from(line));
}

fn hard_split(
    s: &str,
    style: Style,
    width: usize,
    line: &mut Vec<Span<'static>>,
    w: &mut usize,
    out: &mut Vec<Line<'static>>,
    rest: &[(String, Style)],
) {
    for ch in s.chars() {
        let cw = unicode_width::UnicodeWidthChar::width(ch).unwrap_or(0);
        if *w + cw > width && *w > 0 {
            out.push(Line::from(std::mem::take(line)));
            line.extend(rest.iter().map(|(t, s)| Span::styled(t.clone(), *s)));
            *w = rest.iter().map(|s| s.0.width()).sum();
        }
        if cw > width {
            continue;
        }
        push_char(line, ch, style);
        *w += cw;
    }
}

pub(super) fn push_str(line: &mut Vec<Span<'static>>, s: &str, style: Style) {
    if let Some(last) = line.last_mut()
        && last.style == style
    {
        last.content.to_mut().push_str(s);
        return;
    }
    line.push(Span::styled(s.to_string(), style));
}
