//! MCP servers as research sources (`[mcp.servers.NAME]`): each is a
//! subprocess sleuth starts on first use and owns — only the environment
//! variables the config lists, its stderr to the log, killed when sleuth
//! exits (dropping the pool kills every child). Each research query is one
//! call of the configured tool; the text it returns becomes documents,
//! ranked and cited like any other source's.
//!
//! A server that crashes, hangs, floods stdout or writes garbage is
//! bounded (the source deadline, a 4 MB line cap, a call stopped early
//! when its reply was dropped), reported in words, killed, and started
//! again at most once per fetch.

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::Arc;

use rmcp::model::{CallToolRequestParams, ContentBlock, ResourceContents};
use rmcp::service::RunningService;
use rmcp::{RoleClient, ServiceExt};
use tokio::sync::Mutex;

use super::Ctx;
use crate::agent::research::document::Document;
use crate::agent::research::{McpName, SourceKind};
use crate::config::McpServerConfig;
use crate::mcp::transport::{Faults, LineTransport};

/// The longest message a source server may send.
pub const MAX_LINE: usize = 4 * 1024 * 1024;
/// Its stderr lines logged at most, per process.
const STDERR_LINES: usize = 200;

/// The servers started so far, one connection each, shared by all turns.
#[derive(Default)]
pub struct McpPool {
    slots: std::sync::Mutex<HashMap<McpName, Arc<Mutex<Option<Conn>>>>>,
}

impl McpPool {
    /// Kills and reaps every server started (the agent is quitting).
    pub async fn shutdown(&self) {
        let slots: Vec<_> = {
            let map = self.slots.lock().unwrap_or_else(|e| e.into_inner());
            map.values().cloned().collect()
        };
        for slot in slots {
            // A fetch still holding it was aborted with its turn.
            let conn = match slot.try_lock() {
                Ok(mut s) => s.take(),
                Err(_) => None,
            };
            if let Some(c) = conn {
                c.kill().await;
            }
        }
    }

    fn slot(&self, name: McpName) -> Arc<Mutex<Option<Conn>>> {
        let mut map = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        Arc::clone(map.entry(name).or_default())
    }
}

struct Conn {
    service: RunningService<RoleClient, ()>,
    /// Killed when dropped (`kill_on_drop`), reaped by tokio.
    child: tokio::process::Child,
    faults: Arc<Faults>,
}

impl Conn {
    /// Kills the server's whole process group: a launcher (`sh`, `uvx`,
    /// `npx`) started it in a group of its own, so its children go too
    /// instead of being left to PID 1.
    fn kill_group(&self) {
        #[cfg(unix)]
        if let Some(pid) = self
            .child
            .id()
            .and_then(|p| rustix::process::Pid::from_raw(p as i32))
        {
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
        }
    }

    /// Stops the server now.
    async fn kill(mut self) {
        self.service.cancellation_token().cancel();
        self.kill_group();
        let _ = self.child.start_kill();
        // Reap it, briefly: no zombie is left behind.
        let _ = tokio::time::timeout(std::time::Duration::from_secs(2), self.child.wait()).await;
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.kill_group();
    }
}

/// Why a call failed: the tool said so (the server is fine), or the
/// server is broken (killed; started again once).
enum Failure {
    Tool(String),
    Broken(String),
}

/// One fetch: every query through the server's tool, within the ctx's
/// deadline.
pub async fn fetch(
    pool: &McpPool,
    name: McpName,
    cfg: Option<&McpServerConfig>,
    queries: &[String],
    ctx: &Ctx,
) -> Result<Vec<Document>, String> {
    let cfg = cfg.ok_or_else(|| format!("no [mcp.servers.{name}] in the config"))?;
    let slot = pool.slot(name);
    let mut slot = slot.lock().await;
    let mut restarted = false;
    let mut docs = Vec::new();
    let mut errors = Vec::new();
    let mut pending: Vec<&String> = queries.iter().collect();
    while !pending.is_empty() {
        if slot.is_none() {
            *slot = Some(match ctx.in_time(start(name, cfg)).await {
                Some(Ok(c)) => c,
                Some(Err(e)) => return Err(e),
                None => return Err("did not start in time".into()),
            });
        }
        let Some(conn) = slot.as_ref() else { break };
        // The queries at once, over the one connection.
        let results =
            futures::future::join_all(pending.iter().map(|q| call(conn, cfg, q, ctx))).await;
        let mut broken = None;
        let mut again = Vec::new();
        for (q, r) in pending.iter().zip(results) {
            match r {
                Ok(found) => docs.extend(found.into_iter().map(|(title, url, text)| {
                    Document::plain(SourceKind::Mcp(name), &title, url, &text)
                })),
                Err(Failure::Tool(e)) => errors.push(e),
                Err(Failure::Broken(e)) => {
                    broken = Some(e);
                    again.push(*q);
                }
            }
        }
        let Some(e) = broken else { break };
        tracing::warn!(server = %name, error = %e, "mcp source broken; killed");
        if let Some(c) = slot.take() {
            c.kill().await;
        }
        if restarted || tokio::time::Instant::now() >= ctx.deadline {
            return if docs.is_empty() {
                Err(e)
            } else {
                Ok(cap(docs, ctx))
            };
        }
        restarted = true;
        pending = again;
    }
    if docs.is_empty()
        && let Some(e) = errors.into_iter().next()
    {
        return Err(e);
    }
    Ok(cap(docs, ctx))
}

fn cap(mut docs: Vec<Document>, ctx: &Ctx) -> Vec<Document> {
    docs.truncate(ctx.cap);
    docs
}

/// `sleuth doctor`: starts the server, lists its tools, stops it. The
/// tools' names, or why not; an error too when the configured tool is
/// missing.
pub async fn check(name: McpName, cfg: &McpServerConfig) -> Result<Vec<String>, String> {
    let (conn, tools) = start_and_list(name, cfg).await?;
    conn.kill().await;
    if !tools.contains(&cfg.tool) {
        return Err(format!(
            "it has no tool `{}` (it has: {})",
            cfg.tool,
            tools.join(", ")
        ));
    }
    Ok(tools)
}

/// Starts the server and checks that it has the configured tool.
async fn start(name: McpName, cfg: &McpServerConfig) -> Result<Conn, String> {
    let (conn, tools) = start_and_list(name, cfg).await?;
    if !tools.contains(&cfg.tool) {
        conn.kill().await;
        return Err(format!(
            "it has no tool `{}` (it has: {})",
            cfg.tool,
            tools.join(", ")
        ));
    }
    tracing::info!(server = %name, command = %cfg.command, "mcp source started");
    Ok(conn)
}

/// Its process, the MCP handshake, and its tools' names.
async fn start_and_list(
    name: McpName,
    cfg: &McpServerConfig,
) -> Result<(Conn, Vec<String>), String> {
    let mut cmd = tokio::process::Command::new(&cfg.command);
    cmd.args(&cfg.args)
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    // Its own process group, so that killing it kills what it started.
    #[cfg(unix)]
    cmd.process_group(0);
    for var in &cfg.env {
        if let Some(v) = std::env::var_os(var) {
            cmd.env(var, v);
        }
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start `{}`: {e}", cfg.command))?;
    let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        return Err("its pipes could not be opened".into());
    };
    let last_words = Arc::new(std::sync::Mutex::new(String::new()));
    if let Some(stderr) = child.stderr.take() {
        tokio::spawn(log_stderr(name, stderr, Arc::clone(&last_words)));
    }
    let transport = LineTransport::<RoleClient>::new(stdout, stdin, MAX_LINE, false);
    let faults = Arc::clone(&transport.faults);
    let service = match ().serve(transport).await {
        Ok(s) => s,
        Err(e) => {
            let _ = child.start_kill();
            let _ = child.wait().await;
            // What it said last on stderr is usually why (a missing module).
            let said = last_words.lock().map(|s| s.clone()).unwrap_or_default();
            return Err(match (faults.describe(), said.is_empty()) {
                (Some(f), _) => format!("no MCP handshake ({f})"),
                (None, false) => format!("no MCP handshake; it said: {said}"),
                (None, true) => format!("no MCP handshake: {e}"),
            });
        }
    };
    let conn = Conn {
        service,
        child,
        faults,
    };
    match conn.service.list_all_tools().await {
        Ok(t) => {
            let names = t.iter().map(|t| t.name.to_string()).collect();
            Ok((conn, names))
        }
        Err(e) => {
            conn.kill().await;
            Err(format!("cannot list its tools: {e}"))
        }
    }
}

/// The server's stderr, to the log (bounded); its last line is kept.
async fn log_stderr(
    name: McpName,
    stderr: tokio::process::ChildStderr,
    last: Arc<std::sync::Mutex<String>>,
) {
    let mut n = 0;
    bounded_lines(stderr, STDERR_LINE_BYTES, |line| {
        n += 1;
        let line = crate::text::truncate(&crate::text::sanitize::one_line(line), 300);
        if n <= STDERR_LINES {
            tracing::info!(server = %name, "stderr: {line}");
        }
        if !line.trim().is_empty()
            && let Ok(mut l) = last.lock()
        {
            *l = line;
        }
    })
    .await;
}

/// Bytes of one stderr line kept; the rest of a longer line is read and
/// dropped, so a server that writes gigabytes with no newline costs this
/// much memory, not that much.
const STDERR_LINE_BYTES: usize = 8 * 1024;

/// Calls `f` with each line of `r` (lossy UTF-8, at most `cap` bytes of
/// it) until the end of the stream or a read error.
async fn bounded_lines(
    mut r: impl tokio::io::AsyncRead + Unpin,
    cap: usize,
    mut f: impl FnMut(&str),
) {
    use tokio::io::AsyncReadExt;
    let mut buf = [0u8; 8192];
    let mut line: Vec<u8> = Vec::with_capacity(256);
    loop {
        let n = match r.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        for part in buf[..n].split_inclusive(|&b| b == b'\n') {
            let (text, ends) = match part.split_last() {
                Some((b'\n', head)) => (head, true),
                _ => (part, false),
            };
            let room = cap.saturating_sub(line.len());
            line.extend_from_slice(&text[..text.len().min(room)]);
            if ends {
                f(&String::from_utf8_lossy(&line));
                line.clear();
            }
        }
    }
    if !line.is_empty() {
        f(&String::from_utf8_lossy(&line));
    }
}

/// One query: the tool's text, as (title, url, text) documents. A call
/// whose reply was dropped (over the line cap) or that outlives the
/// deadline breaks the server.
async fn call(
    conn: &Conn,
    cfg: &McpServerConfig,
    query: &str,
    ctx: &Ctx,
) -> Result<Vec<(String, Option<String>, String)>, Failure> {
    let mut args = serde_json::Map::new();
    args.insert(cfg.query_arg.clone(), query.into());
    let params = CallToolRequestParams::new(cfg.tool.clone()).with_arguments(args);
    let faults_before = conn.faults.total();
    let call = conn.service.call_tool(params);
    tokio::pin!(call);
    let result = loop {
        tokio::select! {
            r = &mut call => break r,
            _ = tokio::time::sleep_until(ctx.deadline) => {
                return Err(Failure::Broken(format!(
                    "no answer within {} s",
                    ctx.timeout.as_secs()
                )));
            }
            // A dropped over-long line or garbage may have been the reply:
            // do not wait for the deadline.
            _ = tokio::time::sleep(std::time::Duration::from_millis(50)) => {
                if conn.faults.total() > faults_before {
                    let what = conn.faults.describe().unwrap_or_default();
                    return Err(Failure::Broken(format!("sent {what}")));
                }
            }
        }
    };
    let result = result.map_err(|e| Failure::Broken(format!("the call failed: {e}")))?;
    let mut out = Vec::new();
    let fallback = format!("{}: {query}", cfg.tool);
    for block in &result.content {
        match block {
            ContentBlock::Text(t) => {
                let (title, body) = title_of(&t.text, &fallback);
                out.push((title, None, body));
            }
            ContentBlock::Resource(r) => {
                if let ResourceContents::TextResourceContents { uri, text, .. } = &r.resource {
                    let (title, body) = title_of(text, uri);
                    let url = uri.starts_with("http").then(|| uri.clone());
                    out.push((title, url, body));
                }
            }
            _ => {}
        }
    }
    if result.is_error == Some(true) {
        let text: String = out.iter().map(|(_, _, t)| t.as_str()).collect();
        return Err(Failure::Tool(format!(
            "the tool said: {}",
            crate::text::truncate(&crate::text::sanitize::one_line(&text), 200)
        )));
    }
    Ok(out)
}

/// A document's title: its first line when that reads like one (a
/// Markdown heading or a short line), else `fallback`.
fn title_of(text: &str, fallback: &str) -> (String, String) {
    let text = text.trim();
    let first = text.lines().next().unwrap_or_default();
    let heading = first.trim_start_matches('#').trim();
    if !heading.is_empty()
        && (first.starts_with('#') || first.chars().count() <= 80)
        && text.lines().count() > 1
    {
        let rest = text[first.len()..].trim().to_string();
        return (heading.to_string(), rest);
    }
    (fallback.to_string(), text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_stderr_flood_with_no_newline_keeps_a_capped_line() {
        let mut flood = vec![b'a'; 5 << 20];
        flood.extend_from_slice(b"\nlast words\n");
        let mut got: Vec<String> = Vec::new();
        bounded_lines(&flood[..], 1024, |l| got.push(l.to_string())).await;
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].len(), 1024, "cut at the cap");
        assert_eq!(got[1], "last words");
    }

    #[test]
    fn a_heading_or_short_first_line_is_the_title() {
        assert_eq!(
            title_of("# Quokka\nA small macropod.", "x"),
            ("Quokka".into(), "A small macropod.".into())
        );
        assert_eq!(
            title_of("Quokka notes\nThey live on Rottnest.", "x"),
            ("Quokka notes".into(), "They live on Rottnest.".into())
        );
        let long = "word ".repeat(40);
        assert_eq!(title_of(&long, "tool: q").0, "tool: q");
        assert_eq!(title_of("one line only", "tool: q").0, "tool: q");
    }
}
