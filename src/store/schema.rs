//! Schema and forward-only migrations, versioned by `PRAGMA user_version`.

use rusqlite::Connection;

use super::StoreError;

/// Each entry migrates from version `index` to `index + 1`.
const MIGRATIONS: &[&str] = &[V1, V2, V3, V4, V5, V6, V7, V8];

pub const CURRENT_VERSION: i64 = MIGRATIONS.len() as i64;

const V1: &str = r#"
CREATE TABLE sessions (
    id          INTEGER PRIMARY KEY,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    title       TEXT NOT NULL,
    summary     TEXT,
    model       TEXT
);
CREATE INDEX sessions_updated ON sessions(updated_at DESC);

CREATE TABLE messages (
    id          INTEGER PRIMARY KEY,
    session_id  INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    parent_id   INTEGER REFERENCES messages(id) ON DELETE SET NULL,
    role        TEXT NOT NULL CHECK (role IN ('user', 'assistant', 'system')),
    content     TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('streaming', 'complete', 'interrupted', 'error')),
    created_at  INTEGER NOT NULL,
    model       TEXT,
    tokens_in   INTEGER,
    tokens_out  INTEGER,
    latency_ms  INTEGER
);
CREATE INDEX messages_session ON messages(session_id, created_at);
-- Only branches (regenerated answers) have a parent; keep the index small.
CREATE INDEX messages_parent ON messages(parent_id) WHERE parent_id IS NOT NULL;

CREATE TABLE sources (
    id          INTEGER PRIMARY KEY,
    message_id  INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    ordinal     INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    title       TEXT NOT NULL,
    url         TEXT,
    excerpt     TEXT NOT NULL,
    relevance   REAL,
    fetched_at  INTEGER NOT NULL,
    UNIQUE (message_id, ordinal)
);

-- Full-text indexes are external-content tables. Inserts are indexed by the
-- writer in the same transaction (store/writer.rs): an FTS5 insert made from
-- a trigger runs inside a statement savepoint, which flushes FTS5's pending
-- terms on every row and made bulk writes 4x slower. Updates and deletes,
-- which need the old text, stay on triggers.
-- No prefix index: prefix = '2 3' made search-as-you-type at 1M messages
-- fast but cut bulk writes from 26k to 9k messages/s (BENCHMARKS.md).
CREATE VIRTUAL TABLE messages_fts USING fts5(
    content, content='messages', content_rowid='id',
    tokenize = 'unicode61 remove_diacritics 2'
);
-- Fewer, larger flushes of pending terms: fewer segments to merge later.
INSERT INTO messages_fts(messages_fts, rank) VALUES ('hashsize', 8388608);
CREATE TRIGGER messages_ad AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
END;
CREATE TRIGGER messages_au AFTER UPDATE OF content ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
    INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content);
END;

CREATE VIRTUAL TABLE sources_fts USING fts5(
    title, excerpt, content='sources', content_rowid='id',
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER sources_ad AFTER DELETE ON sources BEGIN
    INSERT INTO sources_fts(sources_fts, rowid, title, excerpt) VALUES ('delete', old.id, old.title, old.excerpt);
END;
CREATE TRIGGER sources_au AFTER UPDATE ON sources BEGIN
    INSERT INTO sources_fts(sources_fts, rowid, title, excerpt) VALUES ('delete', old.id, old.title, old.excerpt);
    INSERT INTO sources_fts(rowid, title, excerpt) VALUES (new.id, new.title, new.excerpt);
END;
"#;

/// The message count per session, kept by the writer: counting a page of
/// sessions' messages read ~100 index pages per page (16 ms cold at 1M).
const V2: &str = r#"
ALTER TABLE sessions ADD COLUMN message_count INTEGER NOT NULL DEFAULT 0;
UPDATE sessions SET message_count = (SELECT count(*) FROM messages m WHERE m.session_id = sessions.id);
"#;

/// A cited source is a passage of a document: the section it comes from
/// ("History › Early years"), so [n] resolves to where its words are.
/// Older rows (whole summaries or snippets) have none.
const V3: &str = r#"
ALTER TABLE sources ADD COLUMN section TEXT;
"#;

/// Deep runs, stored as they go so they can be shown again and resumed:
/// the state after each step (opaque JSON the agent reads back), the tree
/// the UI draws, and every document read (a resumed run reads these
/// instead of fetching again). A run is keyed by its report message.
const V4: &str = r#"
CREATE TABLE runs (
    message_id  INTEGER PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
    session_id  INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    question    TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('running', 'interrupted', 'complete', 'failed')),
    state       TEXT NOT NULL,
    tree        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX runs_session ON runs(session_id);
CREATE INDEX runs_updated ON runs(updated_at DESC);

CREATE TABLE run_documents (
    message_id  INTEGER NOT NULL REFERENCES runs(message_id) ON DELETE CASCADE,
    ord         INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    title       TEXT NOT NULL,
    url         TEXT,
    body        TEXT NOT NULL,
    fetched_at  INTEGER NOT NULL,
    PRIMARY KEY (message_id, ord)
);
"#;

/// Which process is streaming each `streaming` answer, so one left so by
/// a crash or kill -9 is marked interrupted by the next sleuth that starts
/// writing (never one another live sleuth is still writing). Rows already
/// streaming when this arrives have no known writer (pid 0): they are
/// repaired at the first start.
///
/// The reason a failed answer failed.
///
/// And deep runs' notes (each sub-question's evidence), full-text indexed
/// so history search finds them like messages and cited sources. Few rows:
/// indexed by triggers.
const V5: &str = r#"
CREATE TABLE streaming (
    message_id  INTEGER PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
    pid         INTEGER NOT NULL
);
INSERT INTO streaming (message_id, pid) SELECT id, 0 FROM messages WHERE status = 'streaming';

-- Why an answer failed, kept with it (shown by show/export and the app).
ALTER TABLE messages ADD COLUMN error TEXT;

CREATE TABLE run_notes (
    id          INTEGER PRIMARY KEY,
    message_id  INTEGER NOT NULL REFERENCES runs(message_id) ON DELETE CASCADE,
    heading     TEXT NOT NULL,
    title       TEXT NOT NULL,
    text        TEXT NOT NULL
);
CREATE INDEX run_notes_run ON run_notes(message_id);
CREATE VIRTUAL TABLE run_notes_fts USING fts5(
    heading, title, text, content='run_notes', content_rowid='id',
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER run_notes_ai AFTER INSERT ON run_notes BEGIN
    INSERT INTO run_notes_fts(rowid, heading, title, text) VALUES (new.id, new.heading, new.title, new.text);
END;
CREATE TRIGGER run_notes_ad AFTER DELETE ON run_notes BEGIN
    INSERT INTO run_notes_fts(run_notes_fts, rowid, heading, title, text)
    VALUES ('delete', old.id, old.heading, old.title, old.text);
END;
"#;

/// Conversations are trees: `parent_id` becomes the message a message
/// follows (an answer its question, a question the answer before it; NULL
/// for a first question and for rows written before this, which follow the
/// one before them in time). Until now it named the answer a regenerated
/// answer replaced: those pairs become siblings under their question.
///
/// `off_branch` marks messages not on the branch shown (stored so show,
/// export, search and resume follow the branch last viewed without walking
/// the tree). `origin` names where an imported session came from
/// (`chatgpt:ID`, `claude:ID`, `llm:ID`): a re-import finds it there.
const V6: &str = r#"
ALTER TABLE sessions ADD COLUMN origin TEXT;
-- A session's own settings (system prompt, model, temperature…) as JSON.
ALTER TABLE sessions ADD COLUMN settings TEXT;
CREATE UNIQUE INDEX sessions_origin ON sessions(origin) WHERE origin IS NOT NULL;
ALTER TABLE messages ADD COLUMN off_branch INTEGER NOT NULL DEFAULT 0;
-- The few regenerated pairs, read off the partial parent index (never a
-- scan of every message: this runs at start-up on large files too).
CREATE TEMP TABLE v6_pairs AS
    SELECT id, parent_id FROM messages WHERE parent_id IS NOT NULL;
UPDATE messages SET off_branch = 1 WHERE id IN (SELECT parent_id FROM v6_pairs);
UPDATE messages SET parent_id = (
    SELECT q.id FROM messages q
     WHERE q.session_id = messages.session_id AND q.role = 'user'
       AND (q.created_at < messages.created_at
            OR (q.created_at = messages.created_at AND q.id < messages.id))
     ORDER BY q.created_at DESC, q.id DESC LIMIT 1)
 WHERE id IN (SELECT id FROM v6_pairs UNION SELECT parent_id FROM v6_pairs);
DROP TABLE v6_pairs;
-- Every other message follows the one before it on the branch shown, so
-- the whole history is one tree (an edit or a branch switch deep in an
-- old session then finds what came after). One pass, once.
UPDATE messages SET parent_id = (
    SELECT p.id FROM messages p
     WHERE p.session_id = messages.session_id AND p.off_branch = 0
       AND (p.created_at < messages.created_at
            OR (p.created_at = messages.created_at AND p.id < messages.id))
     ORDER BY p.created_at DESC, p.id DESC LIMIT 1)
 WHERE parent_id IS NULL AND off_branch = 0;
"#;

/// v7: each answer's claim check (issue 22), the verdicts counted in
/// columns so history search can ask for answers with unsupported claims;
/// each source's reference metadata.
const V7: &str = r#"
CREATE TABLE claims (
    message_id  INTEGER PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
    checked     TEXT NOT NULL,
    supported   INTEGER NOT NULL,
    partial     INTEGER NOT NULL,
    unsupported INTEGER NOT NULL,
    uncited     INTEGER NOT NULL
);
CREATE INDEX claims_unsupported ON claims(message_id) WHERE unsupported > 0;
-- What a reference needs (authors, date, DOI, revision…) as JSON.
ALTER TABLE sources ADD COLUMN meta TEXT;
"#;

/// v8: term statistics kept by the writer (`search/stats.rs`), so search
/// needs no walk over the index at start. A file with messages starts
/// them empty and the writer builds them in the background (`built_to`
/// ''); an empty file has them complete at once.
const V8: &str = r#"
CREATE TABLE term_stats (term TEXT PRIMARY KEY, docs INTEGER NOT NULL) WITHOUT ROWID;
-- dirty: batches committed whose counts are not added yet (the writer adds
-- them when its queue empties); a file left dirty is rebuilt.
CREATE TABLE term_stats_state (docs INTEGER NOT NULL, built_to TEXT, dirty INTEGER NOT NULL DEFAULT 0);
INSERT INTO term_stats_state (docs, built_to)
    SELECT coalesce(sum(message_count), 0),
           CASE WHEN EXISTS (SELECT 1 FROM messages) THEN '' END
      FROM sessions;
"#;

pub fn version(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn.pragma_query_value(None, "user_version", |r| r.get(0))?)
}

/// Brings the database up to [`CURRENT_VERSION`], one transaction per step.
/// A file from a newer sleuth is refused rather than guessed at.
pub fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let mut v = version(conn)?;
    if v > CURRENT_VERSION {
        return Err(StoreError::TooNew {
            found: v,
            supported: CURRENT_VERSION,
        });
    }
    while v < CURRENT_VERSION {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        // Another process may have migrated while we waited for the lock.
        let now = version(&tx)?;
        if now == v {
            tx.execute_batch(MIGRATIONS[v as usize])?;
            tx.pragma_update(None, "user_version", v + 1)?;
        }
        tx.commit()?;
        v = version(conn)?;
    }
    Ok(())
}
