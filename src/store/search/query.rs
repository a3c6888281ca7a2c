//! The query language users type: words, "phrases", a prefix on the
//! last word while typing, `-exclusions` and `role:` / `session:` /
//! `before:` / `after:` / `verdict:` filters. User text only ever reaches FTS5 quoted.

use crate::domain::Role;

use super::terms::TermDict;
use crate::store::StoreError;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Query {
    /// Single words; all must match.
    pub words: Vec<String>,
    pub phrases: Vec<String>,
    /// The last word while typing: matched as a prefix.
    pub prefix: Option<String>,
    pub exclude: Vec<String>,
    pub role: Option<Role>,
    /// Session titles containing this text.
    pub session: Option<String>,
    /// Milliseconds since the epoch, inclusive bounds.
    pub after: Option<i64>,
    pub before: Option<i64>,
    /// Answers whose claim check found this (`verdict:unsupported`).
    pub verdict: Option<VerdictFilter>,
    /// Set by callers, never parsed: leave out this session (memory
    /// recall skips the session asking).
    pub not_session: Option<crate::domain::SessionId>,
    /// Set by callers: complete messages only.
    pub complete_only: bool,
}

/// `verdict:` — answers by what their claim check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerdictFilter {
    /// At least one claim its source does not hold.
    Unsupported,
    /// At least one claim held in part.
    Partial,
    /// At least one fact stated with no citation.
    Uncited,
    /// Every checked claim held.
    Supported,
}

impl VerdictFilter {
    /// The condition on the answer's `claims` row.
    pub fn sql(self) -> &'static str {
        match self {
            VerdictFilter::Unsupported => "c.unsupported > 0",
            VerdictFilter::Partial => "c.partial > 0",
            VerdictFilter::Uncited => "c.uncited > 0",
            VerdictFilter::Supported => "c.supported > 0 AND c.unsupported = 0 AND c.partial = 0",
        }
    }
}

/// Completions of the typed prefix searched at most.
pub const EXPANSIONS: usize = 24;

enum Prefix {
    Native(String),
    Terms(Vec<String>),
}

fn quote(term: &str) -> String {
    format!("\"{}\"", term.replace('"', "\"\""))
}

fn parse_date(s: &str, end_of_day: bool) -> Option<i64> {
    let d = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
    let t = if end_of_day {
        d.and_hms_opt(23, 59, 59)?
    } else {
        d.and_hms_opt(0, 0, 0)?
    };
    Some(t.and_utc().timestamp_millis())
}

/// Terms as the index sees them: the FTS tokenizer splits on anything
/// that is not alphanumeric, so we do too (`C++` → `C`).
fn terms(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

/// Characters a search may have.
pub const MAX_QUERY_CHARS: usize = 1000;
/// Distinct words, phrases and exclusions a search may have.
pub const MAX_TERMS: usize = 32;

fn dedup_keep_order(v: &mut Vec<String>) {
    let mut seen = std::collections::HashSet::new();
    v.retain(|x| seen.insert(x.clone()));
}

impl Query {
    /// Parses what the user typed. `typing` makes the last bare word a
    /// prefix (search as you type). Returns an error in words for input
    /// that cannot mean anything (e.g. a bad date).
    pub fn parse(input: &str, typing: bool) -> Result<Query, String> {
        // Bounded before any work: 100 KB of one word once took 40 s and
        // 1 GB in FTS5.
        let chars = input.chars().count();
        if chars > MAX_QUERY_CHARS {
            return Err(format!(
                "the search is {chars} characters long — at most {MAX_QUERY_CHARS}"
            ));
        }
        let mut q = Query::default();
        let mut rest = input;
        let ends_open = typing && !input.ends_with(char::is_whitespace) && !input.ends_with('"');
        let mut last_word: Option<String> = None;
        while let Some(start) = rest.find(|c: char| !c.is_whitespace()) {
            rest = &rest[start..];
            if let Some(after) = rest.strip_prefix('"') {
                // A phrase; an unbalanced quote runs to the end.
                let (phrase, tail) = match after.find('"') {
                    Some(e) => (&after[..e], &after[e + 1..]),
                    None => (after, ""),
                };
                let t = terms(phrase);
                if !t.is_empty() {
                    q.phrases.push(t.join(" "));
                }
                rest = tail;
                last_word = None;
                continue;
            }
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            let token = &rest[..end];
            rest = &rest[end..];
            // Filters and exclusions are not words: the last *word* stays
            // the prefix wherever they are typed, so `tardigrade role:user`
            // and `role:user tardigrade` find the same (issue 15).
            if let Some(neg) = token.strip_prefix('-').filter(|n| !n.is_empty()) {
                q.exclude.extend(terms(neg));
                continue;
            }
            if let Some((key, value)) = token.split_once(':')
                && !value.is_empty()
            {
                match key.to_ascii_lowercase().as_str() {
                    "role" => {
                        q.role = Some(match value.to_ascii_lowercase().as_str() {
                            "user" | "me" | "question" => Role::User,
                            "assistant" | "answer" | "sleuth" => Role::Assistant,
                            other => {
                                return Err(format!(
                                    "role:{other} — use role:user or role:assistant"
                                ));
                            }
                        });
                        continue;
                    }
                    "session" => {
                        q.session = Some(value.to_string());
                        continue;
                    }
                    "verdict" => {
                        q.verdict = Some(match value.to_ascii_lowercase().as_str() {
                            "unsupported" | "wrong" => VerdictFilter::Unsupported,
                            "partial" => VerdictFilter::Partial,
                            "uncited" => VerdictFilter::Uncited,
                            "supported" => VerdictFilter::Supported,
                            other => {
                                return Err(format!(
                                    "verdict:{other} — use verdict:unsupported, partial, uncited or supported"
                                ));
                            }
                        });
                        continue;
                    }
                    "before" => {
                        q.before = Some(
                            parse_date(value, false)
                                .ok_or(format!("before:{value} — dates are YYYY-MM-DD"))?
                                - 1,
                        );
                        continue;
                    }
                    "after" => {
                        q.after = Some(
                            parse_date(value, true)
                                .ok_or(format!("after:{value} — dates are YYYY-MM-DD"))?
                                + 1,
                        );
                        continue;
                    }
                    _ => {}
                }
            }
            let t = terms(token);
            if let Some((last, firsts)) = t.split_last() {
                q.words.extend(firsts.iter().cloned());
                q.words.push(last.clone());
                last_word = Some(last.clone());
            }
        }
        // Repeating a word adds nothing; too many different ones is an error.
        dedup_keep_order(&mut q.words);
        dedup_keep_order(&mut q.phrases);
        dedup_keep_order(&mut q.exclude);
        let n = q.words.len() + q.phrases.len() + q.exclude.len();
        if n > MAX_TERMS {
            return Err(format!("the search has {n} terms — at most {MAX_TERMS}"));
        }
        if ends_open && let Some(w) = last_word {
            if let Some(pos) = q.words.iter().rposition(|x| *x == w) {
                q.words.remove(pos);
            }
            // A single letter matches most of history and tells little:
            // wait for the second one.
            if w.chars().count() >= 2 {
                q.prefix = Some(w);
            }
        }
        Ok(q)
    }

    /// The FTS5 MATCH expression, or None when there is no positive term.
    /// Without a term dictionary the prefix is FTS5's own `"pre"*`.
    pub fn fts(&self) -> Option<String> {
        self.fts_with(self.prefix.as_ref().map(|p| Prefix::Native(p.clone())))
    }

    /// The MATCH expression with the prefix expanded over the dictionary:
    /// FTS5 without a prefix index answers `"pre"*` by merging the whole
    /// doclist of every matching term before returning one row (hundreds of
    /// ms for a common two-letter prefix); an OR of the most frequent
    /// completions is walked newest first and stops at the candidate cap.
    /// The typed prefix itself is always one of the alternatives, so a word
    /// that is not in the dictionary yet still matches once complete.
    pub fn fts_expanded(&self, dict: Option<&TermDict>) -> Result<Option<String>, StoreError> {
        let expanded = match (&self.prefix, dict) {
            (Some(p), Some(d)) => d.expand(&super::text::fold(p), EXPANSIONS)?.map(|e| e.0),
            _ => None,
        };
        let prefix = match (&self.prefix, expanded) {
            (None, _) => None,
            (Some(p), None) => Some(Prefix::Native(p.clone())),
            (Some(p), Some(mut alts)) => {
                if alts.is_empty() {
                    // Unknown to the dictionary (new since it was read): rare
                    // by definition, so FTS5's own prefix match is cheap.
                    Some(Prefix::Native(p.clone()))
                } else {
                    alts.retain(|a| a != p);
                    alts.insert(0, p.clone());
                    Some(Prefix::Terms(alts))
                }
            }
        };
        Ok(self.fts_with(prefix))
    }

    fn fts_with(&self, prefix: Option<Prefix>) -> Option<String> {
        let mut parts: Vec<String> = self.words.iter().map(|w| quote(w)).collect();
        parts.extend(self.phrases.iter().map(|p| quote(p)));
        match prefix {
            Some(Prefix::Native(p)) => parts.push(format!("{}*", quote(&p))),
            Some(Prefix::Terms(t)) => {
                let alts: Vec<String> = t.iter().map(|a| quote(a)).collect();
                parts.push(format!("({})", alts.join(" OR ")));
            }
            None => {}
        }
        if parts.is_empty() {
            return None;
        }
        // Implicit AND only joins plain phrases in FTS5, not groups.
        let mut s = parts.join(" AND ");
        for e in &self.exclude {
            s.push_str(&format!(" NOT {}", quote(e)));
        }
        Some(s)
    }
}
