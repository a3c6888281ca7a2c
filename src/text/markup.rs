//! What a page's markup would cost a tree builder, measured by one linear
//! scan before any tree is built. A hostile page nests 30,000 elements
//! (the Readability port recurses per level and overflows the stack; its
//! scoring is quadratic in depth) or is a flood of NUL bytes or of `<`
//! (hundreds of MB while parsed). Such a page is read as plain text
//! instead: its words still count, its cost is its bytes.

/// Elements nested deeper than this are not given to a tree builder. Real
/// pages nest 20–60 deep (Wikipedia ~30, web apps up to ~100); the stack
/// of the parse and its scoring are safe far beyond (tested at 10× this).
pub const MAX_DEPTH: usize = 256;
/// Start tags per page past which the page is not parsed as a tree (a
/// 2 MB Wikipedia article has ~40k).
pub const MAX_TAGS: usize = 150_000;
/// `<` that open no tag (each a separate parser token) past which the
/// page is read as text.
pub const MAX_STRAY: usize = 100_000;

/// Why a page is read as text rather than parsed as a tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hostile {
    /// Elements nested past [`MAX_DEPTH`].
    Deep,
    /// More start tags than [`MAX_TAGS`].
    Tags,
    /// More stray `<` than [`MAX_STRAY`].
    Stray,
}

impl std::fmt::Display for Hostile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Hostile::Deep => "elements nested too deep",
            Hostile::Tags => "too many tags",
            Hostile::Stray => "too many stray markup characters",
        })
    }
}

/// Elements that never hold children.
const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr", "keygen", "frame", "basefont", "bgsound",
];
/// Elements whose text is raw: no tags inside until their end tag.
const RAW: &[&str] = &[
    "script",
    "style",
    "textarea",
    "title",
    "xmp",
    "iframe",
    "noembed",
    "noframes",
    "plaintext",
];
/// Start tags that end an open element implicitly, as HTML's tree
/// builder does (`<li>` ends the open `<li>`, `<div>` the open `<p>`):
/// (the tags, the elements they end, the elements that stop the search).
const IMPLIED_ENDS: &[(&[&str], &[&str], &[&str])] = &[
    (&["li"], &["li"], &["ul", "ol"]),
    (&["dt", "dd"], &["dt", "dd"], &["dl"]),
    (&["tr"], &["tr"], &["table"]),
    (&["td", "th"], &["td", "th"], &["tr", "table"]),
    (
        &["thead", "tbody", "tfoot"],
        &["thead", "tbody", "tfoot"],
        &["table"],
    ),
    (&["option", "optgroup"], &["option"], &["select"]),
    (
        &[
            "p",
            "div",
            "ul",
            "ol",
            "dl",
            "table",
            "pre",
            "blockquote",
            "section",
            "article",
            "aside",
            "header",
            "footer",
            "nav",
            "main",
            "figure",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "form",
            "fieldset",
            "address",
            "details",
            "hr",
            "li",
            "dd",
            "dt",
        ],
        &["p"],
        &["button", "table", "td", "th"],
    ),
];
/// How far down the open elements an end tag looks for its start tag (an
/// end tag that matches nothing nearer is ignored here; the estimate
/// then errs deep, which only costs the page its tree).
const CLOSE_REACH: usize = 32;

/// Whether `html` is safe to give a tree builder; the reason if not.
pub fn check(html: &str) -> Result<(), Hostile> {
    let b = html.as_bytes();
    let mut open: Vec<String> = Vec::new();
    let (mut tags, mut stray) = (0usize, 0usize);
    let mut i = 0;
    while let Some(off) = memchr(b'<', &b[i..]) {
        i += off;
        if b[i..].starts_with(b"<!--") {
            i = find(b, i + 4, b"-->").map_or(b.len(), |e| e + 3);
        } else if let Some((name, end, close, self_closing)) = tag_at(b, i) {
            i = end;
            if close {
                let reach = open.len().saturating_sub(CLOSE_REACH);
                if let Some(k) = open[reach..].iter().rposition(|o| *o == name) {
                    open.truncate(reach + k);
                }
                continue;
            }
            tags += 1;
            if tags > MAX_TAGS {
                return Err(Hostile::Tags);
            }
            if RAW.contains(&name.as_str()) {
                // Skip to `</name`; the raw text is not markup.
                let end_tag = format!("</{name}");
                i = find_ci(b, i, end_tag.as_bytes()).unwrap_or(b.len());
                continue;
            }
            if self_closing || VOID.contains(&name.as_str()) {
                continue;
            }
            end_implied(&mut open, &name);
            open.push(name);
            if open.len() > MAX_DEPTH {
                return Err(Hostile::Deep);
            }
        } else {
            stray += 1;
            i += 1;
        }
        if stray > MAX_STRAY {
            return Err(Hostile::Stray);
        }
    }
    Ok(())
}

/// Pops the elements `name`'s start tag ends implicitly (looking at most
/// [`CLOSE_REACH`] elements down, never past a boundary).
fn end_implied(open: &mut Vec<String>, name: &str) {
    for (tags, ends, stops) in IMPLIED_ENDS {
        if !tags.contains(&name) {
            continue;
        }
        let reach = open.len().saturating_sub(CLOSE_REACH);
        for k in (reach..open.len()).rev() {
            let o = open[k].as_str();
            if ends.contains(&o) {
                open.truncate(k);
                break;
            }
            if stops.contains(&o) {
                break;
            }
        }
    }
}

/// The tag starting at `b[i] == b'<'`: (lowercase name, index after its
/// `>`, is an end tag, ends with `/>`), or None when `<` opens no tag.
fn tag_at(b: &[u8], i: usize) -> Option<(String, usize, bool, bool)> {
    let mut j = i + 1;
    let close = b.get(j) == Some(&b'/');
    if close {
        j += 1;
    }
    let start = j;
    if !b.get(j)?.is_ascii_alphabetic() {
        // `<!DOCTYPE`, `<?xml`: a declaration, no element.
        if !close && matches!(b.get(j), Some(b'!' | b'?')) {
            let end = memchr(b'>', &b[j..]).map_or(b.len(), |e| j + e + 1);
            return Some((String::new(), end, true, false));
        }
        return None;
    }
    while b
        .get(j)
        .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'-' || *c == b':')
    {
        j += 1;
    }
    let name = String::from_utf8_lossy(&b[start..j]).to_ascii_lowercase();
    // The tag ends at the first `>` outside a quoted attribute value.
    let mut quote = None;
    while let Some(&c) = b.get(j) {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, b'"' | b'\'') => quote = Some(c),
            (None, b'>') => {
                let self_closing = j > 0 && b[j - 1] == b'/';
                return Some((name, j + 1, close, self_closing));
            }
            _ => {}
        }
        j += 1;
    }
    Some((name, b.len(), close, false))
}

fn memchr(needle: u8, hay: &[u8]) -> Option<usize> {
    hay.iter().position(|&c| c == needle)
}

fn find(hay: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| from + p)
}

fn find_ci(hay: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
        .map(|p| from + p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_pages_pass() {
        let html = std::fs::read_to_string(format!(
            "{}/../shared/fixtures/article_sample.html",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        assert_eq!(check(&html), Ok(()));
        // Unclosed lists, paragraphs and table cells are siblings, not depth.
        let lists = "<ul>".to_string() + &"<li>item <p>para ".repeat(5000) + "</ul>";
        assert_eq!(check(&lists), Ok(()));
        let table = "<table>".to_string() + &"<tr><td>a<td><p>b".repeat(5000) + "</table>";
        assert_eq!(check(&table), Ok(()));
        let paras = "<p>one <div>two</div> <p>three <h2>four</h2> ".repeat(5000);
        assert_eq!(check(&paras), Ok(()));
        // Script text is not markup, however it looks.
        let script = format!("<script>{}</script><p>x", "<div>".repeat(1000));
        assert_eq!(check(&script), Ok(()));
        assert_eq!(
            check("a < b && c > d <!-- <div><div> --> <!doctype html>"),
            Ok(())
        );
    }

    #[test]
    fn hostile_pages_are_named() {
        assert_eq!(check(&"<span>".repeat(30_000)), Err(Hostile::Deep));
        // End tags that match nothing do not hide the depth.
        assert_eq!(check(&"<b></x>".repeat(1000)), Err(Hostile::Deep));
        assert_eq!(
            check(&"<div></div>".repeat(MAX_TAGS + 1)),
            Err(Hostile::Tags)
        );
        assert_eq!(check(&"<".repeat(2_000_000)), Err(Hostile::Stray));
        // Void elements count as tags too (a flood of `<br>`).
        assert_eq!(check(&"<br>".repeat(MAX_TAGS + 1)), Err(Hostile::Tags));
        // Balanced nesting at the limit is fine; one more is not.
        let at = "<div>".repeat(MAX_DEPTH) + &"</div>".repeat(MAX_DEPTH);
        assert_eq!(check(&at), Ok(()));
        assert_eq!(check(&"<i>".repeat(MAX_DEPTH + 1)), Err(Hostile::Deep));
    }
}
