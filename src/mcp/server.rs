//! `sleuth mcp`'s handler: tools and session resources over one database.
//! A bad call is a tool error with a message a model can act on; an
//! unknown tool or resource is a JSON-RPC error; nothing a client sends
//! stops the server.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListResourceTemplatesResult, ListResourcesResult, ListToolsResult, PaginatedRequestParams,
    ReadResourceRequestParams, ReadResourceResponse, ReadResourceResult, Resource,
    ResourceContents, ResourceTemplate, ServerCapabilities, ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler};
use serde_json::Value;

use super::tools::{self, Args};
use crate::config::Config;

/// Sessions listed as resources (the newest; the template reaches all).
const RESOURCES_LISTED: usize = 50;

#[derive(Clone)]
pub struct SleuthServer {
    pub(super) config: Arc<Config>,
    pub(super) db: PathBuf,
    pub(super) read_only: bool,
    /// Read-only connections kept between calls (opening one per call
    /// costs more than most searches).
    conns: Arc<Mutex<Vec<rusqlite::Connection>>>,
}

/// Connections kept at most (calls run on blocking threads, a few at once).
const POOLED: usize = 4;

impl SleuthServer {
    pub fn new(config: Config, db: PathBuf, read_only: bool) -> Self {
        Self {
            config: Arc::new(config),
            db,
            read_only,
            conns: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// Runs a read on a blocking thread (SQLite must not stall the
    /// protocol's tasks) with a pooled read-only connection; None when
    /// there is no database yet.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&SleuthServer, Option<&rusqlite::Connection>) -> Result<T, String>
        + Send
        + 'static,
    ) -> Result<T, String> {
        let me = self.clone();
        tokio::task::spawn_blocking(move || {
            let pooled = me.conns.lock().ok().and_then(|mut p| p.pop());
            let conn = match pooled {
                Some(c) => Some(c),
                None => tools::open(&me.db)?,
            };
            let out = f(&me, conn.as_ref());
            if let (Some(c), Ok(mut p)) = (conn, me.conns.lock())
                && p.len() < POOLED
            {
                p.push(c);
            }
            out
        })
        .await
        .unwrap_or_else(|e| Err(format!("internal error: {e}")))
    }

    async fn call(
        &self,
        name: &str,
        args: &serde_json::Map<String, Value>,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, String> {
        let a = Args(args);
        match name {
            tools::SEARCH => {
                a.unknown(&["query", "limit"])?;
                let query = a.required("query")?;
                let limit = a.count("limit", 20, tools::MAX_LIMIT)?.max(1) as usize;
                let v = self
                    .blocking(move |_, conn| tools::search(conn, &query, limit))
                    .await?;
                Ok(json_result(v))
            }
            tools::LIST => {
                a.unknown(&["limit", "offset", "title"])?;
                let limit = a.count("limit", 20, tools::MAX_LIMIT)?.max(1) as usize;
                let offset = a.count("offset", 0, u32::MAX as u64)? as usize;
                let title = a.string("title")?;
                let v = self
                    .blocking(move |_, conn| tools::sessions(conn, offset, limit, title.as_deref()))
                    .await?;
                Ok(json_result(v))
            }
            tools::SHOW => {
                a.unknown(&["session"])?;
                let session = a.required("session")?;
                let (_, md) = self
                    .blocking(move |_, conn| tools::show(conn, &session))
                    .await?;
                Ok(CallToolResult::success(vec![ContentBlock::text(md)]))
            }
            tools::LIBRARY => {
                a.unknown(&["query", "limit"])?;
                let query = a.required("query")?;
                let limit = a.count("limit", 10, tools::MAX_LIMIT)?.max(1) as usize;
                let index = self.config.library.index.clone();
                let v = tokio::task::spawn_blocking(move || {
                    tools::search_library(&index, &query, limit)
                })
                .await
                .unwrap_or_else(|e| Err(format!("internal error: {e}")))?;
                Ok(json_result(v))
            }
            tools::RESEARCH if self.read_only => {
                Err("research is off: this sleuth MCP server was started with --read-only".into())
            }
            tools::RESEARCH => {
                a.unknown(&["question", "deep", "session"])?;
                let question = a.required("question")?;
                let deep = a.flag("deep")?;
                let session = a.string("session")?;
                super::research::run(self, question, deep, session, context).await
            }
            _ => Err(format!("unknown tool `{name}`")),
        }
    }
}

/// A JSON answer as both text (for clients that read text) and
/// structured content.
fn json_result(v: Value) -> CallToolResult {
    // Compact: a model reads it as well, and a long hit list stays short.
    let text = v.to_string();
    let mut r = CallToolResult::success(vec![ContentBlock::text(text)]);
    r.structured_content = Some(v);
    r
}

pub fn session_uri(id: crate::domain::SessionId) -> String {
    format!("sleuth://session/{id}")
}

impl ServerHandler for SleuthServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_resources()
                .build(),
        )
        .with_server_info(Implementation::new("sleuth", env!("CARGO_PKG_VERSION")))
        .with_instructions(
            "sleuth is the user's terminal research console. search_history finds what they \
             already researched (questions, cited answers, sources); list_sessions and \
             show_session read their sessions; search_library searches their own papers and \
             notes by file and page; research answers a new question from its \
             sources with numbered citations and stores it in their history. Sessions are \
             also resources: sleuth://session/ID.",
        )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        Ok(ListToolsResult::with_all_items(tools::list(self.read_only)))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let name = request.name.to_string();
        // Every tool, research too: read-only refuses it with a tool error
        // that says why.
        let known = tools::list(false).iter().any(|t| t.name == name.as_str());
        if !known {
            let names: Vec<String> = tools::list(self.read_only)
                .iter()
                .map(|t| t.name.to_string())
                .collect();
            return Err(McpError::invalid_params(
                format!(
                    "unknown tool `{}`; this server has {}",
                    crate::text::sanitize::one_line(&name),
                    names.join(", ")
                ),
                None,
            ));
        }
        let args = request.arguments.unwrap_or_default();
        tracing::info!(tool = %name, "mcp tool call");
        let result = match self.call(&name, &args, context).await {
            Ok(r) => r,
            Err(e) => {
                tracing::info!(tool = %name, error = %e, "mcp tool error");
                CallToolResult::error(vec![ContentBlock::text(e)])
            }
        };
        Ok(result.into())
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        let v = self
            .blocking(|_, conn| tools::sessions(conn, 0, RESOURCES_LISTED, None))
            .await
            .map_err(|e| McpError::internal_error(e, None))?;
        let resources = v["sessions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| {
                let uri = s["uri"].as_str()?;
                let title = s["title"].as_str().unwrap_or_default();
                Some(
                    Resource::new(uri, crate::text::sanitize::one_line(title))
                        .with_mime_type("text/markdown")
                        .with_description(format!(
                            "{} messages, last active {}",
                            s["messages"],
                            s["last_active"].as_str().unwrap_or_default()
                        )),
                )
            })
            .collect();
        Ok(ListResourcesResult::with_all_items(resources))
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, McpError> {
        Ok(ListResourceTemplatesResult::with_all_items(vec![
            ResourceTemplate::new("sleuth://session/{id}", "session")
                .with_title("A sleuth session")
                .with_description("A research session as Markdown, with its cited sources.")
                .with_mime_type("text/markdown"),
        ]))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        let uri = request.uri.clone();
        let Some(id) = uri
            .strip_prefix("sleuth://session/")
            .filter(|id| !id.is_empty() && id.chars().all(|c| c.is_ascii_digit()))
            .map(str::to_string)
        else {
            return Err(McpError::resource_not_found(
                format!(
                    "no such resource `{}`: sessions are sleuth://session/ID",
                    crate::text::sanitize::one_line(&uri)
                ),
                None,
            ));
        };
        let (_, md) = self
            .blocking(move |_, conn| tools::show(conn, &id))
            .await
            .map_err(|e| McpError::resource_not_found(e, None))?;
        Ok(ReadResourceResult::new(vec![
            ResourceContents::text(md, uri).with_mime_type("text/markdown"),
        ])
        .into())
    }
}
