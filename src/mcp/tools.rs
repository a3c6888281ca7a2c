//! The tools `sleuth mcp` offers, written for a model to use well: what
//! each is for, when to reach for it, and strict input schemas. The
//! history tools read the database on a blocking thread (read-only
//! connections, WAL: safe while the app writes).

use std::path::Path;
use std::sync::Arc;

use rmcp::model::{JsonObject, Tool, ToolAnnotations};
use serde_json::{Value, json};

use crate::store::search::{CANDIDATES, Query, Statistics, render_snippet, search_pass};
use crate::store::{self, queries};
use crate::text::format_time;

pub const SEARCH: &str = "search_history";
pub const LIST: &str = "list_sessions";
pub const SHOW: &str = "show_session";
pub const LIBRARY: &str = "search_library";
pub const RESEARCH: &str = "research";

/// Most hits or sessions one call returns.
pub const MAX_LIMIT: u64 = 100;

fn schema(v: Value) -> Arc<JsonObject> {
    match v {
        Value::Object(m) => Arc::new(m),
        _ => Arc::new(JsonObject::new()),
    }
}

/// The tools, `research` only when the server may write.
pub fn list(read_only: bool) -> Vec<Tool> {
    let mut tools = vec![
        Tool::new(
            SEARCH,
            "Search the user's whole sleuth research history — their questions, the answers, \
             the sources those answers cited and deep-run notes — ranked by relevance. Use it \
             before researching something anew: the user may have looked into it already. \
             Query language: plain words (all must match; the last may be a prefix), \
             \"an exact phrase\", -word to exclude, role:user or role:assistant, \
             session:WORDS (session title contains), after:YYYY-MM-DD, before:YYYY-MM-DD. \
             Each hit gives the session id and title, the message id, role, date and a snippet \
             with the matched words; read the whole conversation with show_session.",
            schema(json!({
                "type": "object",
                "properties": {
                    "query": {"type": "string", "minLength": 1,
                              "description": "What to look for, in the query language above, e.g. `sqlite wal -postgres after:2026-01-01`."},
                    "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 20,
                              "description": "How many hits to return, best first."}
                },
                "required": ["query"],
                "additionalProperties": false
            })),
        )
        .with_annotations(read_annotations("Search research history")),
        Tool::new(
            LIST,
            "List the user's sleuth research sessions, most recently active first: id, title, \
             when it was created and last active, how many messages it holds, and whether a deep \
             run in it is unfinished. Use it to browse or to find a session by its title; read \
             one with show_session.",
            schema(json!({
                "type": "object",
                "properties": {
                    "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 20,
                              "description": "How many sessions to return."},
                    "offset": {"type": "integer", "minimum": 0, "default": 0,
                               "description": "How many of the most recent sessions to skip (paging)."},
                    "title": {"type": "string",
                              "description": "Only sessions whose title contains this text (case-insensitive)."}
                },
                "additionalProperties": false
            })),
        )
        .with_annotations(read_annotations("List research sessions")),
        Tool::new(
            SHOW,
            "Read one sleuth session as Markdown: every question and answer in order, each \
             answer with its numbered sources (title, section, URL), and failed or interrupted \
             answers marked as such. The session is the id from search_history or \
             list_sessions (a unique prefix of it works), or \"latest\".",
            schema(json!({
                "type": "object",
                "properties": {
                    "session": {"type": "string", "minLength": 1,
                                "description": "A session id, a unique prefix of one, or \"latest\"."}
                },
                "required": ["session"],
                "additionalProperties": false
            })),
        )
        .with_annotations(read_annotations("Show a research session")),
        Tool::new(
            LIBRARY,
            "Search the user's own library — the papers (PDF), notes (Markdown, Org, text), \
             saved pages, EPUB books and DOCX files in the folders they added with `sleuth \
             library add` — by the words of a question (BM25 over passages; plain words, any \
             may match, best first). Each hit gives the file's path and title, the page (PDF) \
             or section it is from, a file:// URL that opens it there, and the passage's text. \
             Use it when the user's own reading may hold the answer; cite the file and page.",
            schema(json!({
                "type": "object",
                "properties": {
                    "query": {"type": "string", "minLength": 1,
                              "description": "What to look for, as words, e.g. `desiccation tolerance tardigrade proteins`."},
                    "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 10,
                              "description": "How many passages to return, best first."}
                },
                "required": ["query"],
                "additionalProperties": false
            })),
        )
        .with_annotations(read_annotations("Search the user's library")),
    ];
    if !read_only {
        tools.push(
            Tool::new(
                RESEARCH,
                "Research a question the way sleuth does: search Wikipedia, Hacker News, arXiv, \
                 pages linked in the question and any other configured sources at once, read the \
                 documents, rank their passages against the question, and answer citing them as \
                 [1], [2]… (without a language model the answer quotes the best passages). Set \
                 deep to true for a deep run — a plan of sub-questions, several rounds of search, \
                 leads followed, a cited report — which takes minutes rather than seconds. \
                 Progress is sent as notifications when the call carries a progress token. The \
                 turn is stored in the user's history like one asked in the app; pass session to \
                 continue an earlier conversation (its context is used for follow-ups). Returns \
                 the answer, the numbered sources it may cite, and the session and message ids.",
                schema(json!({
                    "type": "object",
                    "properties": {
                        "question": {"type": "string", "minLength": 1,
                                     "description": "The question, as a person would ask it."},
                        "deep": {"type": "boolean", "default": false,
                                 "description": "A deep run (slower, more thorough) instead of one research turn."},
                        "session": {"type": "string",
                                    "description": "Continue this session (an id, a unique prefix, or \"latest\") instead of starting one."}
                    },
                    "required": ["question"],
                    "additionalProperties": false
                })),
            )
            .with_annotations(
                ToolAnnotations::with_title("Research a question")
                    .read_only(false)
                    .destructive(false)
                    .idempotent(false)
                    .open_world(true),
            ),
        );
    }
    tools
}

fn read_annotations(title: &str) -> ToolAnnotations {
    ToolAnnotations::with_title(title)
        .read_only(true)
        .destructive(false)
        .idempotent(true)
        .open_world(false)
}

/// A tool call's arguments, read with the errors a model can act on.
pub struct Args<'a>(pub &'a JsonObject);

impl Args<'_> {
    pub fn string(&self, name: &str) -> Result<Option<String>, String> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(format!("`{name}` must be a string, not {}", kind(other))),
        }
    }

    pub fn required(&self, name: &str) -> Result<String, String> {
        match self.string(name)? {
            Some(s) if !s.trim().is_empty() => Ok(s),
            _ => Err(format!("`{name}` is required and must not be empty")),
        }
    }

    pub fn count(&self, name: &str, default: u64, max: u64) -> Result<u64, String> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(default),
            Some(Value::Number(n)) => match n.as_u64() {
                Some(v) if v <= max => Ok(v),
                _ => Err(format!("`{name}` must be a whole number from 0 to {max}")),
            },
            Some(other) => Err(format!("`{name}` must be a number, not {}", kind(other))),
        }
    }

    pub fn flag(&self, name: &str) -> Result<bool, String> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(other) => Err(format!(
                "`{name}` must be true or false, not {}",
                kind(other)
            )),
        }
    }

    /// Arguments the tool does not take (a typo would otherwise be
    /// silently ignored).
    pub fn unknown(&self, known: &[&str]) -> Result<(), String> {
        match self.0.keys().find(|k| !known.contains(&k.as_str())) {
            Some(k) => Err(format!(
                "unknown argument `{k}`; this tool takes {}",
                known.join(", ")
            )),
            None => Ok(()),
        }
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `search_history`: the hits as the app's search shows them first (the
/// newest matching candidates ranked by BM25 with the stored term
/// statistics' IDF).
pub fn search(
    conn: Option<&rusqlite::Connection>,
    query: &str,
    limit: usize,
) -> Result<Value, String> {
    let q = Query::parse(query, false)?;
    if q.fts().is_none() {
        return Err(format!(
            "nothing to search for in \"{}\": give at least one word",
            crate::text::sanitize::one_line(query)
        ));
    }
    let Some(conn) = conn else {
        return Ok(json!({"query": query, "hits": []}));
    };
    let (hits, _) = search_pass(conn, &q, limit, Statistics::Stored, &|| false, CANDIDATES)
        .map_err(|e| e.to_string())?;
    let hits: Vec<Value> = hits
        .iter()
        .map(|h| {
            json!({
                "session": h.session, "session_title": h.session_title, "message": h.message,
                "role": h.role, "date": format_time(h.created_at), "created_at": h.created_at,
                "snippet": render_snippet(&h.snippet, "**", "**"), "matched": h.matched,
                "score": (h.score * 1000.0).round() / 1000.0,
            })
        })
        .collect();
    Ok(json!({"query": query, "hits": hits}))
}

/// `search_library`: passages of the user's files, best first.
pub fn search_library(index: &Path, query: &str, limit: usize) -> Result<Value, String> {
    use crate::library::{self, search as lib};
    if lib::match_expr(query).is_none() {
        return Err(format!(
            "nothing to search for in \"{}\": give at least one word",
            crate::text::sanitize::one_line(query)
        ));
    }
    let found = lib::with_reader(index, |conn| {
        lib::search(conn, query, limit).map_err(|e| format!("library search: {e}"))
    })?;
    let Some(hits) = found else {
        return Ok(json!({
            "query": query, "hits": [],
            "note": "the library is empty: the user adds folders with `sleuth library add PATH`",
        }));
    };
    let hits: Vec<Value> = hits
        .iter()
        .map(|h| {
            let path = Path::new(&h.path);
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            json!({
                "path": h.path, "title": h.title, "page": h.page, "section": h.section,
                "place": library::place_label(&name, h.page, h.section.as_deref()),
                "url": library::file_url(path, h.page), "text": h.text,
                "score": (h.score * 1000.0).round() / 1000.0,
            })
        })
        .collect();
    Ok(json!({"query": query, "hits": hits}))
}

/// `list_sessions`.
pub fn sessions(
    conn: Option<&rusqlite::Connection>,
    offset: usize,
    limit: usize,
    title: Option<&str>,
) -> Result<Value, String> {
    let Some(conn) = conn else {
        return Ok(json!({"total": 0, "sessions": []}));
    };
    let list = queries::list_sessions(conn, offset, limit, title).map_err(|e| e.to_string())?;
    let total = queries::count_matching_sessions(conn, title).map_err(|e| e.to_string())?;
    let sessions: Vec<Value> = list
        .iter()
        .map(|s| {
            json!({
                "id": s.session.id, "title": s.session.title,
                "created": format_time(s.session.created_at),
                "last_active": format_time(s.session.updated_at),
                "messages": s.message_count, "unfinished_deep_run": s.unfinished_run,
                "uri": super::session_uri(s.session.id),
            })
        })
        .collect();
    Ok(json!({"total": total, "offset": offset, "sessions": sessions}))
}

/// `show_session` and the session resources: the transcript as Markdown.
pub fn show(
    conn: Option<&rusqlite::Connection>,
    session: &str,
) -> Result<(crate::domain::Session, String), String> {
    let Some(conn) = conn else {
        return Err("there are no sessions yet".into());
    };
    let s = queries::resolve_session(conn, session).map_err(|e| e.to_string())?;
    let messages = queries::transcript(conn, s.id).map_err(|e| e.to_string())?;
    let md = crate::export::markdown(
        &s,
        &messages,
        queries::other_branches(conn, s.id).map_err(|e| e.to_string())?,
    );
    Ok((s, md))
}

/// A read-only connection; None when there is no database yet.
pub fn open(db: &Path) -> Result<Option<rusqlite::Connection>, String> {
    if !db.exists() {
        return Ok(None);
    }
    store::open_reader(db)
        .map(Some)
        .map_err(|e| format!("cannot read the history: {e}"))
}
