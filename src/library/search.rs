//! Searching the library's index: BM25 over passages, from read-only
//! connections kept between searches (a fresh connection starts with an
//! empty page cache, which at a million passages costs more than the
//! search). A query's words are looked up in the index's vocabulary
//! first: the rarest carry the ranking, and words so common that scoring
//! every passage holding them would cost more than they weigh (their IDF
//! is near zero) are left out once the rarer ones already bound the work.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{Connection, params};
use serde::Serialize;

use super::index::open_reader;
use super::terms::query_words;

/// One passage found by a search.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    #[serde(skip)]
    pub passage: i64,
    #[serde(skip)]
    pub file: i64,
    pub path: String,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub section: Option<String>,
    #[serde(skip)]
    pub ordinal: u32,
    pub text: String,
    pub score: f64,
    /// The file's author and DOI (PDF info, XMP or the first page).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doi: Option<String>,
    /// Its stored embedding, when asked for (`vectors::of_passages`).
    #[serde(skip)]
    pub vector: Option<std::sync::Arc<[f32]>>,
}

/// Passages a search may score (the sum of its terms' document counts).
/// Past it the commonest terms are dropped, the rarest always kept.
const POSTINGS_BUDGET: i64 = 8_000;

/// An FTS5 query from free text: its content words, each quoted (no word
/// is read as FTS5 syntax), any of them matching. None when no word is
/// left.
pub fn match_expr(query: &str) -> Option<String> {
    expr(&query_words(query))
}

/// The query's words as the index holds them: stemmed by the index's own
/// tokenizer, through a scratch table in this connection's temp schema
/// (no write to the index), each stem once.
fn stems(conn: &Connection, words: &[String]) -> rusqlite::Result<Vec<String>> {
    if words.is_empty() {
        return Ok(Vec::new());
    }
    conn.execute_batch(
        "CREATE VIRTUAL TABLE IF NOT EXISTS temp.query_words USING fts5(
             w, tokenize='porter unicode61 remove_diacritics 2');
         CREATE VIRTUAL TABLE IF NOT EXISTS temp.query_stems
             USING fts5vocab(temp, query_words, 'row');
         DELETE FROM temp.query_words;",
    )?;
    conn.execute(
        "INSERT INTO temp.query_words(w) VALUES (?1)",
        [words.join(" ")],
    )?;
    let mut st = conn.prepare_cached("SELECT term FROM temp.query_stems")?;
    let out = st.query_map([], |r| r.get(0))?.collect();
    conn.execute("DELETE FROM temp.query_words", [])?;
    out
}

fn expr(terms: &[String]) -> Option<String> {
    (!terms.is_empty()).then(|| {
        terms
            .iter()
            .map(|t| format!("\"{t}\""))
            .collect::<Vec<_>>()
            .join(" OR ")
    })
}

/// A query's terms split by what they cost: `rare` decide which passages
/// are scored (at most [`POSTINGS_BUDGET`] of them; the rarest term is
/// always there), `common` only add to the score of those passages.
/// Terms no passage holds are left out.
#[derive(Debug, Default, PartialEq)]
struct Plan {
    rare: Vec<String>,
    common: Vec<String>,
}

fn plan(conn: &Connection, terms: Vec<String>, budget: i64) -> rusqlite::Result<Plan> {
    let mut st = conn.prepare_cached("SELECT doc FROM passages_vocab WHERE term = ?1")?;
    let mut counted: Vec<(i64, String)> = Vec::with_capacity(terms.len());
    for t in terms {
        let df: i64 = st.query_row([&t], |r| r.get(0)).unwrap_or(0);
        if df > 0 {
            counted.push((df, t));
        }
    }
    counted.sort();
    let mut plan = Plan::default();
    let mut postings = 0;
    for (df, t) in counted {
        if plan.rare.is_empty() || (plan.common.is_empty() && postings + df <= budget) {
            postings += df;
            plan.rare.push(t);
        } else {
            plan.common.push(t);
        }
    }
    Ok(plan)
}

/// The MATCH expression of a plan: any rare term, and then every term
/// (the common ones only score what the rare ones found; FTS5 walks a
/// common term's list by skipping to those passages, and bm25 is computed
/// for them alone).
fn plan_expr(p: &Plan) -> Option<String> {
    let rare = expr(&p.rare)?;
    if p.common.is_empty() {
        return Some(rare);
    }
    let all: Vec<String> = p.rare.iter().chain(&p.common).cloned().collect();
    Some(format!("({rare}) AND ({})", expr(&all)?))
}

/// The best passages for `query` by BM25 (the head — title and section —
/// weighs half a passage's own words).
pub fn search(conn: &Connection, query: &str, limit: usize) -> rusqlite::Result<Vec<Hit>> {
    search_within(conn, query, limit, POSTINGS_BUDGET)
}

fn search_within(
    conn: &Connection,
    query: &str,
    limit: usize,
    budget: i64,
) -> rusqlite::Result<Vec<Hit>> {
    let terms = stems(conn, &query_words(query))?;
    let Some(expr) = plan_expr(&plan(conn, terms, budget)?) else {
        return Ok(Vec::new());
    };
    let mut st = conn.prepare_cached(
        "SELECT p.id, p.file_id, f.path, coalesce(f.title, ''), p.page, p.section, p.ordinal,
                p.text, s.score, f.author, f.doi
         FROM (SELECT rowid AS id, bm25(passages_fts, 1.0, 0.5) AS score
               FROM passages_fts WHERE passages_fts MATCH ?1
               ORDER BY score LIMIT ?2) AS s
         JOIN passages p ON p.id = s.id
         JOIN files f ON f.id = p.file_id
         ORDER BY s.score, f.path, p.ordinal",
    )?;
    st.query_map(params![expr, limit as i64], |r| {
        Ok(Hit {
            passage: r.get(0)?,
            file: r.get(1)?,
            path: r.get(2)?,
            title: r.get(3)?,
            page: r.get(4)?,
            section: r.get(5)?,
            ordinal: r.get::<_, i64>(6)? as u32,
            text: r.get(7)?,
            // bm25() is lower-is-better; a score reads better positive.
            score: -r.get::<_, f64>(8)?,
            author: r.get(9)?,
            doi: r.get(10)?,
            vector: None,
        })
    })?
    .collect()
}

/// Read-only connections kept for the next search, with the identity of
/// the file each was opened on (a rebuilt index is a new file).
static POOL: Mutex<Vec<(PathBuf, FileId, Connection)>> = Mutex::new(Vec::new());
const POOLED: usize = 4;

type FileId = (u64, u64);

fn file_id(path: &Path) -> Option<FileId> {
    let m = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        Some((m.dev(), m.ino()))
    }
    #[cfg(not(unix))]
    {
        Some((m.len(), 0))
    }
}

/// Runs `f` on a read-only connection to the index at `path` (pooled);
/// None when there is no index yet.
pub fn with_reader<T>(
    path: &Path,
    f: impl FnOnce(&Connection) -> Result<T, String>,
) -> Result<Option<T>, String> {
    let Some(id) = file_id(path) else {
        return Ok(None);
    };
    let pooled = POOL.lock().ok().and_then(|mut p| {
        let i = p.iter().position(|(q, fid, _)| q == path && *fid == id)?;
        Some(p.swap_remove(i).2)
    });
    let conn = match pooled {
        Some(c) => c,
        None => match open_reader(path)? {
            Some(c) => {
                // A larger page cache than SQLite's 2 MB default: common
                // terms' posting lists are read on every search.
                let _ = c.pragma_update(None, "cache_size", -16_384);
                c
            }
            None => return Ok(None),
        },
    };
    let out = f(&conn);
    if let Ok(mut p) = POOL.lock() {
        p.retain(|(q, fid, _)| q != path || *fid == id);
        if p.len() < POOLED {
            p.push((path.to_path_buf(), id, conn));
        }
    }
    out.map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::library::Extracted;
    use crate::library::index::{FileMeta, Index, put_indexed};

    #[test]
    fn queries_are_words_never_fts_syntax() {
        assert_eq!(
            match_expr("NEAR(\"a\" OR x) -y* the: col:1"),
            Some("\"near\" OR \"col\"".into())
        );
        assert_eq!(match_expr("the of ?"), None);
    }

    #[test]
    fn common_terms_give_way_to_rare_ones_past_the_budget() {
        let dir = tempfile::tempdir().unwrap();
        let (mut ix, _) = Index::open(&dir.path().join("l.db")).unwrap();
        // With a budget of 100 passages: "common" in all 400, "plenty" in
        // every third (134), "zebra" in 7 and 9 (9 with "plenty").
        let chunks: Vec<_> = (0..400)
            .map(|i| {
                let plenty = if i % 3 == 0 { "plenty" } else { "other" };
                let zebra = if i == 7 || i == 9 { " zebra" } else { "" };
                (None, None, format!("common {plenty}{zebra}"))
            })
            .collect();
        let m = FileMeta {
            path: "/a.md".into(),
            size: 1,
            mtime_ns: 1,
            hash: None,
            format: Some("markdown"),
        };
        ix.write(|tx| put_indexed(tx, &m, &Extracted::default(), "A", &chunks))
            .unwrap();
        let p = plan(
            ix.conn(),
            stems(ix.conn(), &query_words("common zebra plenty absent")).unwrap(),
            100,
        )
        .unwrap();
        assert_eq!(p.rare, ["zebra"], "the absent term is left out");
        assert_eq!(p.common, ["plenti", "common"], "stemmed, rarest first");
        assert_eq!(
            plan_expr(&p).unwrap(),
            "(\"zebra\") AND (\"zebra\" OR \"plenti\" OR \"common\")"
        );
        // Alone, a common term is still searched.
        assert_eq!(
            plan(
                ix.conn(),
                stems(ix.conn(), &query_words("common")).unwrap(),
                100
            )
            .unwrap()
            .rare,
            ["common"]
        );
        // Only what the rare term finds is scored, by every term.
        let hits = search_within(ix.conn(), "plenty zebra", 5, 100).unwrap();
        let order: Vec<u32> = hits.iter().map(|h| h.ordinal).collect();
        assert_eq!(
            order,
            [9, 7],
            "the passage with the common term too comes first"
        );
        // Under the budget nothing is left out.
        let p = plan(
            ix.conn(),
            stems(ix.conn(), &query_words("zebra plenty")).unwrap(),
            1000,
        )
        .unwrap();
        assert_eq!((p.rare.len(), p.common.len()), (2, 0));
    }
}
