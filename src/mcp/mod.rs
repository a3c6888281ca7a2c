//! sleuth and the Model Context Protocol (the official Rust SDK, `rmcp`,
//! over stdio): `sleuth mcp` serves the user's history and research to MCP
//! clients (`server.rs`, `tools.rs`, `research.rs`).

mod research;
mod server;
mod tools;
pub mod transport;

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use rmcp::ServiceExt;

pub use server::{SleuthServer, session_uri};

/// The longest message a client may send (a question is short; a call's
/// arguments are small).
const MAX_CLIENT_LINE: usize = 4 * 1024 * 1024;

/// How long quitting waits for research calls to save what they wrote.
const DRAIN: Duration = Duration::from_secs(10);

/// `sleuth mcp`: serves until the client closes stdin. Stdout carries the
/// protocol only; logs go to the log file.
pub fn serve(config: crate::config::Config, db: &Path, read_only: bool) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the MCP server's runtime")?;
    let server = SleuthServer::new(config, db.to_path_buf(), read_only);
    let result = rt.block_on(async move {
        let transport = transport::LineTransport::<rmcp::RoleServer>::new(
            tokio::io::stdin(),
            tokio::io::stdout(),
            MAX_CLIENT_LINE,
            true,
        );
        let service = server
            .serve(transport)
            .await
            .context("the MCP client did not initialize")?;
        tracing::info!(read_only, "mcp: serving");
        let reason = service.waiting().await;
        tracing::info!(?reason, "mcp: client gone");
        anyhow::Ok(())
    });
    // Research calls in flight see their client gone and save what they
    // wrote as interrupted; wait for that, bounded.
    rt.shutdown_timeout(DRAIN);
    result
}
