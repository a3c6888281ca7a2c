//! Term statistics kept in the database by the writer: for every term of
//! the message index, the number of messages containing it, and how many
//! messages are indexed. Search reads them with an index lookup (a term's
//! count) or a range scan (a prefix's completions), so it is at full speed
//! from the first keystroke and holds no dictionary in memory
//! (`terms.rs` is the reading side).
//!
//! The counts are FTS5's own, kept in step in the batch's transaction:
//! - a new message's text that is ASCII (or ASCII with punctuation that is
//!   a separator in every Unicode version) is split here exactly as
//!   `unicode61` splits it — runs of ASCII letters and digits, lowercased —
//!   and counted in memory (the common case, and cheap: the C tokenizer
//!   costs as much as the index insert itself);
//! - any other text, and the old and new text of every edit and deletion
//!   (the triggers), go to in-memory FTS5 tables with the index's own
//!   tokenizer, `plus` and `minus`, whose vocabularies are added and
//!   subtracted at the end of the batch. No tokenizer of ours decides a
//!   word with a letter outside ASCII.
//!
//! A file without statistics (migrated from v7) or with wrong ones is
//! rebuilt from FTS5's vocabulary in term order, a few thousand terms per
//! step while the writer is idle. `term_stats_state.built_to` says how
//! far: terms at or below it are exact (NULL: all are); search counts the
//! others itself meanwhile.

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::store::StoreError;

/// Terms read from FTS5's vocabulary per rebuild step (~30 ms).
const REBUILD_STEP: i64 = 4_000;
/// Stored counts compared with FTS5's at start (see [`verify`]).
const SAMPLES: usize = 16;
/// Only terms in at most this many messages are sampled: FTS5 counts a
/// term by walking its whole doclist.
const SAMPLE_MAX_DOCS: i64 = 2_000;

/// Temp tables and triggers on the writing connection. They live as long
/// as it does; a write from a connection without them is caught by
/// [`verify`] at the next start.
pub(crate) fn attach(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch(
        "CREATE VIRTUAL TABLE IF NOT EXISTS temp.terms_plus USING fts5(
             content, content='', detail=none, tokenize = 'unicode61 remove_diacritics 2');
         CREATE VIRTUAL TABLE IF NOT EXISTS temp.terms_minus USING fts5(
             content, content='', detail=none, tokenize = 'unicode61 remove_diacritics 2');
         CREATE VIRTUAL TABLE IF NOT EXISTS temp.terms_plus_vocab USING fts5vocab(temp, terms_plus, row);
         CREATE VIRTUAL TABLE IF NOT EXISTS temp.terms_minus_vocab USING fts5vocab(temp, terms_minus, row);
         CREATE VIRTUAL TABLE IF NOT EXISTS temp.messages_vocab USING fts5vocab(main, messages_fts, row);
         CREATE TEMP TABLE IF NOT EXISTS terms_gone (id INTEGER PRIMARY KEY);
         CREATE TEMP TRIGGER IF NOT EXISTS terms_ad AFTER DELETE ON main.messages BEGIN
             INSERT INTO terms_minus (content) VALUES (old.content);
             INSERT INTO terms_gone (id) VALUES (NULL);
         END;
         CREATE TEMP TRIGGER IF NOT EXISTS terms_au AFTER UPDATE OF content ON main.messages BEGIN
             INSERT INTO terms_minus (content) VALUES (old.content);
             INSERT INTO terms_plus (content) VALUES (new.content);
         END;",
    )?;
    Ok(())
}

/// Terms counted in memory: term → (messages, last message seen, so a
/// word twice in one message counts once).
#[derive(Default)]
pub(crate) struct BatchTerms {
    terms: foldhash::HashMap<Box<str>, (i64, u32)>,
    /// Messages counted so far.
    docs: u32,
    word: String,
}

/// Whether `unicode61` splits `text` into the runs of ASCII letters and
/// digits, whatever its Unicode tables ([`BatchTerms::count`]'s rule).
pub(crate) fn simple(text: &str) -> bool {
    text.is_ascii() || text.chars().all(|c| c.is_ascii() || always_separator(c))
}

impl BatchTerms {
    /// Adds another batch's counts (each batch's are final).
    pub(crate) fn merge(&mut self, other: BatchTerms) {
        if self.terms.is_empty() {
            self.terms = other.terms;
            return;
        }
        for (t, (n, _)) in other.terms {
            // Marked with no message of this set, so a count() after a
            // merge still counts each message once.
            self.terms.entry(t).or_insert((0, 0)).0 += n;
        }
    }

    /// Counts `text`'s terms when it is [`simple`]; false leaves it to
    /// FTS5's tokenizer.
    pub(crate) fn count(&mut self, text: &str) -> bool {
        if !simple(text) {
            return false;
        }
        self.docs += 1;
        let doc = self.docs;
        // Every byte outside ASCII belongs to a separator here, so words
        // are the runs of ASCII letters and digits.
        let b = text.as_bytes();
        let mut i = 0;
        loop {
            while i < b.len() && !b[i].is_ascii_alphanumeric() {
                i += 1;
            }
            let start = i;
            let mut upper = false;
            while i < b.len() && b[i].is_ascii_alphanumeric() {
                upper |= b[i].is_ascii_uppercase();
                i += 1;
            }
            if start == i {
                return true;
            }
            let word: &str = if upper {
                self.word.clear();
                self.word.push_str(&text[start..i]);
                self.word.make_ascii_lowercase();
                &self.word
            } else {
                &text[start..i]
            };
            match self.terms.get_mut(word) {
                Some(entry) if entry.1 == doc => {}
                Some(entry) => *entry = (entry.0 + 1, doc),
                None => {
                    self.terms.insert(Box::from(word), (1, doc));
                }
            }
        }
    }
}

/// Characters outside ASCII that `unicode61` treats as separators:
/// punctuation, spaces and symbols with no letter, digit or private-use
/// character among them (the General Punctuation block, currency signs,
/// arrows, mathematical operators, box drawing and geometric shapes, and
/// Latin-1's punctuation and symbols but for the ordinals, superscripts,
/// fractions and µ, which are letters or numbers). Only characters its
/// tables know: one they do not (U+2066, ₿…) counts as part of a word.
/// The test below asks FTS5 about every one.
fn always_separator(c: char) -> bool {
    matches!(c,
        '\u{A0}'..='\u{A9}' | '\u{AB}'..='\u{B1}' | '\u{B4}' | '\u{B6}'..='\u{B8}' | '\u{BB}' | '\u{BF}'
        | '\u{D7}' | '\u{F7}'
        | '\u{2000}'..='\u{2064}' | '\u{206A}'..='\u{206F}'
        | '\u{20A0}'..='\u{20B9}'
        | '\u{2190}'..='\u{22FF}'
        | '\u{2500}'..='\u{25FF}')
}

/// Indexes a new message. Its terms are counted by the caller when it is
/// [`simple`] ([`BatchTerms`]); any other text goes to FTS5's tokenizer
/// in `plus`.
pub(crate) fn index_message(
    tx: &Transaction<'_>,
    id: i64,
    content: &str,
) -> Result<(), StoreError> {
    tx.prepare_cached("INSERT INTO messages_fts (rowid, content) VALUES (?1, ?2)")?
        .execute(params![id, content])?;
    if !simple(content) {
        tx.prepare_cached("INSERT INTO temp.terms_plus (content) VALUES (?1)")?
            .execute([content])?;
    }
    Ok(())
}

/// What the stored statistics cover.
#[derive(Debug, Clone, PartialEq)]
pub struct State {
    /// Messages in the index.
    pub docs: i64,
    /// Terms at or below this are exact; None: all are.
    pub built_to: Option<String>,
}

pub fn state(conn: &Connection) -> Result<Option<State>, StoreError> {
    Ok(conn
        .query_row("SELECT docs, built_to FROM term_stats_state", [], |r| {
            Ok(State {
                docs: r.get(0)?,
                built_to: r.get(1)?,
            })
        })
        .optional()?)
}

/// Adds a batch's counts to the stored ones, before its commit: `added`
/// counted every message the batch might add, `not_added` those it did
/// not add after all (they existed), `indexed` is how many it added. While
/// a rebuild runs, only terms it has passed are kept up to date (it reads
/// the others from the index when it gets to them).
pub(crate) fn fold_batch(
    tx: &Transaction<'_>,
    added: BatchTerms,
    not_added: BatchTerms,
    indexed: i64,
) -> Result<(), StoreError> {
    let gone: i64 = tx.query_row("SELECT count(*) FROM temp.terms_gone", [], |r| r.get(0))?;
    let Some(st) = state(tx)? else {
        return Ok(());
    };
    let limit = st.built_to.as_deref();
    let mut terms: Vec<(Box<str>, i64)> = added
        .terms
        .into_iter()
        .map(|(t, (n, _))| {
            let minus = not_added.terms.get(&t).map_or(0, |e| e.0);
            (t, n - minus)
        })
        .filter(|(t, n)| *n != 0 && limit.is_none_or(|l| t.as_ref() <= l))
        .collect();
    // In key order, the upserts walk the table's b-tree once.
    terms.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let mut add = tx.prepare_cached(
        "INSERT INTO term_stats (term, docs) VALUES (?1, ?2)
         ON CONFLICT(term) DO UPDATE SET docs = docs + excluded.docs",
    )?;
    for (term, docs) in &terms {
        add.execute(params![term.as_ref(), docs])?;
    }
    drop(add);
    let cap = limit.unwrap_or("\u{10FFFF}\u{10FFFF}");
    tx.execute(
        "INSERT INTO term_stats (term, docs)
         SELECT term, doc FROM temp.terms_plus_vocab WHERE term <= ?1
         ON CONFLICT(term) DO UPDATE SET docs = docs + excluded.docs",
        [cap],
    )?;
    tx.execute(
        "INSERT INTO term_stats (term, docs)
         SELECT term, -doc FROM temp.terms_minus_vocab WHERE term <= ?1
         ON CONFLICT(term) DO UPDATE SET docs = docs + excluded.docs",
        [cap],
    )?;
    tx.execute_batch(
        "DELETE FROM term_stats WHERE term IN (SELECT term FROM temp.terms_minus_vocab) AND docs <= 0;
         INSERT INTO temp.terms_plus (terms_plus) VALUES ('delete-all');
         INSERT INTO temp.terms_minus (terms_minus) VALUES ('delete-all');
         DELETE FROM temp.terms_gone;",
    )?;
    if indexed != gone {
        tx.execute(
            "UPDATE term_stats_state SET docs = docs + ?1",
            [indexed - gone],
        )?;
    }
    Ok(())
}

/// Whether the stored statistics are FTS5's: the message count, and the
/// counts of a few terms picked across the vocabulary (rare enough that
/// FTS5 counts them quickly). Cheap at any size; run by the writer at
/// start. A mismatch starts a rebuild.
pub(crate) fn verify(conn: &Connection, seed: u64) -> Result<bool, StoreError> {
    // The sessions table is read whole (~10 MB at 10M messages): through
    // a small page cache, so the writer's cache does not keep it.
    let cache: i64 = conn.pragma_query_value(None, "cache_size", |r| r.get(0))?;
    conn.pragma_update(None, "cache_size", -500)?;
    let result = verify_counts(conn, seed);
    conn.pragma_update(None, "cache_size", cache)?;
    result
}

fn verify_counts(conn: &Connection, seed: u64) -> Result<bool, StoreError> {
    let Some(st) = state(conn)? else {
        return Ok(true);
    };
    let dirty: i64 = conn.query_row("SELECT dirty FROM term_stats_state", [], |r| r.get(0))?;
    // Another sleuth running may hold counts it adds when its queue
    // empties; one that died left them unadded.
    if dirty != 0 && !crate::store::orphans::alive(dirty) {
        tracing::warn!("term statistics left with counts not added (the writer stopped)");
        return Ok(false);
    }
    let messages: i64 = conn.query_row(
        "SELECT coalesce(sum(message_count), 0) FROM sessions",
        [],
        |r| r.get(0),
    )?;
    if messages != st.docs {
        tracing::warn!(
            stored = st.docs,
            messages,
            "term statistics count another number of messages"
        );
        return Ok(false);
    }
    let mut pick = conn.prepare_cached(
        "SELECT term, docs FROM term_stats WHERE term >= ?1 AND docs <= ?2 AND term <= ?3
         ORDER BY term LIMIT 1",
    )?;
    let mut fts = conn.prepare_cached("SELECT doc FROM temp.messages_vocab WHERE term = ?1")?;
    let cap = st.built_to.clone().unwrap_or_else(|| "\u{10FFFF}".into());
    let mut x = seed | 1;
    for _ in 0..SAMPLES {
        // xorshift: a start point among two-letter ASCII prefixes.
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let alphabet = b"0123456789abcdefghijklmnopqrstuvwxyz";
        let from: String = [
            alphabet[(x % 36) as usize] as char,
            alphabet[((x >> 8) % 36) as usize] as char,
        ]
        .iter()
        .collect();
        let Some((term, stored)) = pick
            .query_row(params![from, SAMPLE_MAX_DOCS, cap], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
            })
            .optional()?
        else {
            continue;
        };
        let actual: i64 = fts
            .query_row([&term], |r| r.get(0))
            .optional()?
            .unwrap_or(0);
        if actual != stored {
            tracing::warn!(term, stored, actual, "a term's stored count is not FTS5's");
            return Ok(false);
        }
    }
    Ok(true)
}

/// Starts the statistics over: emptied, to be rebuilt step by step.
pub(crate) fn reset(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    tx.execute_batch(
        "DELETE FROM term_stats;
         DELETE FROM term_stats_state;
         INSERT INTO term_stats_state (docs, built_to)
             SELECT coalesce(sum(message_count), 0), '' FROM sessions;
         INSERT INTO temp.terms_plus (terms_plus) VALUES ('delete-all');
         INSERT INTO temp.terms_minus (terms_minus) VALUES ('delete-all');
         DELETE FROM temp.terms_gone;",
    )?;
    tx.commit()?;
    Ok(())
}

/// One step of a rebuild: the next terms after `built_to`, read from the
/// index. Returns whether the rebuild is complete.
pub(crate) fn rebuild_step(conn: &mut Connection) -> Result<bool, StoreError> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let Some(State {
        built_to: Some(from),
        ..
    }) = state(&tx)?
    else {
        return Ok(true);
    };
    let (read, last): (i64, Option<String>) = {
        let mut stmt = tx.prepare_cached(
            "SELECT term, doc FROM temp.messages_vocab WHERE term > ?1 ORDER BY term LIMIT ?2",
        )?;
        let mut put = tx.prepare_cached(
            "INSERT INTO term_stats (term, docs) VALUES (?1, ?2)
             ON CONFLICT(term) DO UPDATE SET docs = excluded.docs",
        )?;
        let mut rows = stmt.query(params![from, REBUILD_STEP])?;
        let mut n = 0;
        let mut last = None;
        while let Some(r) = rows.next()? {
            let term: String = r.get(0)?;
            let docs: i64 = r.get(1)?;
            put.execute(params![term, docs])?;
            n += 1;
            last = Some(term);
        }
        (n, last)
    };
    let done = read < REBUILD_STEP;
    let next = if done { None } else { last };
    tx.execute("UPDATE term_stats_state SET built_to = ?1", [next])?;
    tx.commit()?;
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// FTS5's tokenizer, asked directly: the terms of `texts` with their
    /// message counts.
    fn fts5_terms(texts: &[String]) -> Vec<(String, i64)> {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE VIRTUAL TABLE t USING fts5(c, tokenize = 'unicode61 remove_diacritics 2');
             CREATE VIRTUAL TABLE v USING fts5vocab(t, row);",
        )
        .unwrap();
        for t in texts {
            conn.execute("INSERT INTO t (c) VALUES (?1)", [t]).unwrap();
        }
        let mut s = conn
            .prepare("SELECT term, doc FROM v ORDER BY term")
            .unwrap();
        s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    fn ours(texts: &[String]) -> Vec<(String, i64)> {
        let mut b = BatchTerms::default();
        for t in texts {
            assert!(b.count(t), "{t:?} is simple");
        }
        let mut v: Vec<(String, i64)> = b
            .terms
            .into_iter()
            .map(|(t, (n, _))| (t.into(), n))
            .collect();
        v.sort();
        v
    }

    /// Every character the fast path calls a separator is one to FTS5, and
    /// every ASCII character splits and folds as it does.
    #[test]
    fn the_fast_path_splits_every_character_it_accepts_as_fts5_does() {
        let mut texts: Vec<String> = (0x80..=0x10FFFFu32)
            .filter_map(char::from_u32)
            .filter(|c| always_separator(*c))
            .map(|c| format!("Ab{c}cD"))
            .collect();
        assert!(texts.len() > 700, "{}", texts.len());
        texts.extend((1..0x80u8).map(|b| format!("Q{}z9", b as char)));
        texts.push("The THE the, model-models mode2 v1_2 C++ HTTP/2".into());
        assert_eq!(ours(&texts), fts5_terms(&texts));
    }

    #[test]
    fn text_outside_the_fast_path_is_left_to_fts5() {
        for t in [
            "café",
            "日本",
            "x²",
            "µs",
            "e\u{301}",
            "ﬁle",
            "ǅ",
            "❤\u{fe0f}",
        ] {
            assert!(!simple(t), "{t}");
            assert!(!BatchTerms::default().count(t), "{t}");
        }
        assert!(simple("a — “b” … c → d ≤ e € f ─ g ■ h"));
    }
}
