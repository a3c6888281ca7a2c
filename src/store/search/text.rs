//! Text as the index sees it (folded words with byte ranges), and
//! snippets with the matched words marked.

use super::query::Query;

/// Marks around matched words in snippets (control characters that never
/// occur in stored text after sanitizing, and are stripped for output).
pub const MARK_START: char = '\u{2}';
pub const MARK_END: char = '\u{3}';

/// Case and diacritics folded the way the index folds them (unicode61
/// `remove_diacritics 2`) for the common Latin letters; the index itself
/// folds all of them, so a miss here only costs a highlight or a score.
pub fn fold(s: &str) -> String {
    s.chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => 'a',
            'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ė' | 'ę' | 'ě' => 'e',
            'ì' | 'í' | 'î' | 'ï' | 'ī' | 'į' => 'i',
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ō' | 'ő' => 'o',
            'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' | 'ű' | 'ų' => 'u',
            'ç' | 'ć' | 'č' => 'c',
            'ñ' | 'ń' | 'ň' => 'n',
            'ś' | 'š' | 'ş' => 's',
            'ź' | 'ż' | 'ž' => 'z',
            'ý' | 'ÿ' => 'y',
            'ř' => 'r',
            'ď' => 'd',
            'ť' => 't',
            c => c,
        })
        .collect()
}

/// Byte ranges of the words of `text`, split as the index splits them.
fn word_ranges(text: &str) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut start = None;
    text.char_indices()
        .chain(std::iter::once((text.len(), ' ')))
        .filter_map(move |(i, c)| match (c.is_alphanumeric(), start) {
            (true, None) => {
                start = Some(i);
                None
            }
            (false, Some(s)) => {
                start = None;
                Some((s, i))
            }
            _ => None,
        })
}

/// The query's positive terms, as groups a word of the text can match:
/// one group per word (phrase words included) and one for the prefix.
pub struct Matcher {
    exact: Vec<String>,
    prefix: Option<String>,
}

/// One text seen through a [`Matcher`].
pub struct Analysis {
    /// Word byte ranges and the group each matched, if any.
    pub words: Vec<(usize, usize, Option<usize>)>,
    /// Occurrences per group (exact groups first, then the prefix).
    pub tf: Vec<u32>,
}

impl Matcher {
    pub fn new(q: &Query) -> Matcher {
        let mut exact: Vec<String> = Vec::new();
        for w in q.words.iter().chain(q.phrases.iter()) {
            for part in w.split(' ') {
                let f = fold(part);
                if !f.is_empty() && !exact.contains(&f) {
                    exact.push(f);
                }
            }
        }
        Matcher {
            exact,
            prefix: q.prefix.as_deref().map(fold),
        }
    }

    /// Group names: exact words, then the prefix.
    pub fn groups(&self) -> impl Iterator<Item = (&str, bool)> {
        self.exact
            .iter()
            .map(|w| (w.as_str(), false))
            .chain(self.prefix.iter().map(|p| (p.as_str(), true)))
    }

    fn group_of(&self, word: &str) -> Option<usize> {
        if let Some(i) = self.exact.iter().position(|w| w == word) {
            return Some(i);
        }
        self.prefix
            .as_ref()
            .filter(|p| word.starts_with(p.as_str()))
            .map(|_| self.exact.len())
    }

    pub fn analyze(&self, text: &str) -> Analysis {
        let mut tf = vec![0; self.exact.len() + usize::from(self.prefix.is_some())];
        let words = word_ranges(text)
            .map(|(s, e)| {
                let g = self.group_of(&fold(&text[s..e]));
                if let Some(g) = g {
                    tf[g] += 1;
                }
                (s, e, g)
            })
            .collect();
        Analysis { words, tf }
    }
}

/// A window of `text` around the first match of `q`, with every matched
/// word between the markers. Computed here, not with FTS5's snippet(),
/// which re-runs the whole MATCH per hit.
pub fn snippet(text: &str, q: &Query, width: usize) -> String {
    let m = Matcher::new(q);
    snippet_of(text, &m.analyze(text), width)
}

/// [`snippet`] for a text already analyzed.
pub fn snippet_of(text: &str, a: &Analysis, width: usize) -> String {
    let words: Vec<(usize, usize, bool)> = a
        .words
        .iter()
        .map(|&(s, e, g)| (s, e, g.is_some()))
        .collect();
    let first = words.iter().find(|w| w.2).map(|w| w.0).unwrap_or(0);
    // Start a little before the first match, at a word boundary.
    let mut from = first.saturating_sub(width / 3);
    while !text.is_char_boundary(from) {
        from -= 1;
    }
    if let Some(w) = words.iter().find(|w| w.0 >= from) {
        from = w.0;
    }
    let mut to = (from + width).min(text.len());
    while !text.is_char_boundary(to) {
        to += 1;
    }
    let mut out = String::new();
    if from > 0 {
        out.push('…');
    }
    let mut pos = from;
    for &(s, e, hit) in words.iter().filter(|w| w.0 >= from && w.1 <= to) {
        out.push_str(&text[pos..s]);
        if hit {
            out.push(MARK_START);
            out.push_str(&text[s..e]);
            out.push(MARK_END);
        } else {
            out.push_str(&text[s..e]);
        }
        pos = e;
    }
    out.push_str(&text[pos.min(to)..to]);
    if to < text.len() {
        out.push('…');
    }
    out
}

/// A snippet with its markers replaced by `on`/`off` and every piece of
/// stored text sanitized to one line.
pub fn render_snippet(s: &str, on: &str, off: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for piece in s.split([MARK_START, MARK_END]) {
        if inside {
            out.push_str(on);
        }
        out.push_str(&crate::text::sanitize::one_line(piece));
        if inside {
            out.push_str(off);
        }
        inside = !inside;
    }
    out
}
