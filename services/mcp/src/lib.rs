//! `lighthouse mcp`: a Model Context Protocol server for experts, over stdio or
//! streamable HTTP (the official Rust SDK, `rmcp`).
//!
//! Many experts are LLM agents; this gives them a first-class way in that is not a
//! shell. Tools: `list_escalations`, `get_escalation` (command, normalised explanation,
//! the agent's recent decisions, each touched file at the version in question with the
//! call's diff and its annotations, votes), `vote`, `get_decision`, `read_file`,
//! `file_history`, `annotate_file`, and `permission_prompt` for Claude Code's
//! `--permission-prompt-tool`. Waits are bounded (MCP clients time tool calls out): past
//! the bound a tool answers `pending` and the client asks again.
//!
//! Every session acts as the one expert identity the server was started with (settings
//! `[mcp]` or flags), never one named in a tool argument; while the server runs, that
//! expert is present in `lh_experts` for each of its specialties, so the aggregator
//! waits for its vote.
//!
//! Layout: [`desk`] is the logic over the streams (no MCP), [`server`] the rmcp tool
//! router over it, [`files`] file versions and diffs (shared with `lighthouse history`).

pub mod desk;
pub mod files;
pub mod server;

pub use desk::{Desk, Identity};

use async_nats::jetstream;
use rmcp::ServiceExt as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How to run the server.
#[derive(Debug, Clone)]
pub struct McpConfig {
    pub identity: Identity,
    /// Streamable HTTP on this address (path `/mcp`); none: stdio.
    pub listen: Option<SocketAddr>,
    pub wait: Duration,
    pub permission_wait: Duration,
    pub context_decisions: usize,
}

/// Serves MCP until the client goes away (stdio) or `shutdown` (both), announcing the
/// expert while it runs.
pub async fn run(
    config: McpConfig,
    client: async_nats::Client,
    policy: lighthouse_policy::Policy,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        !config.identity.expert.trim().is_empty(),
        "mcp: no expert id (set [mcp] expert or --expert)"
    );
    anyhow::ensure!(
        !config.identity.specialties.is_empty(),
        "mcp: no specialty (set [mcp] specialties or --specialty)"
    );
    let js = jetstream::new(client);
    let desk = Desk {
        js: js.clone(),
        identity: Arc::new(config.identity.clone()),
        wait: config.wait,
        permission_wait: config.permission_wait,
        policy: Arc::new(policy),
        context_decisions: config.context_decisions,
    };
    // Cancelled by the heartbeat should it die (a panic): serving on while the expert
    // looks absent would let escalations be decided without it.
    let stop = shutdown.child_token();
    let identity = config.identity.clone();
    let presence = lighthouse_nats::supervise::spawn_helper(
        "expert presence",
        &stop,
        lighthouse_nats::experts::heartbeat(
            js,
            identity.expert,
            identity.specialties,
            identity.kind,
            stop.clone(),
        ),
    );
    let served = match config.listen {
        None => serve_stdio(desk, stop.clone()).await,
        Some(addr) => serve_http(desk, addr, stop.clone()).await,
    };
    stop.cancel();
    let presence = presence.join().await;
    served?;
    Ok(presence?)
}

async fn serve_stdio(desk: Desk, stop: CancellationToken) -> anyhow::Result<()> {
    let running = server::Session::new(desk)
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| anyhow::anyhow!("mcp over stdio: {e}"))?;
    let cancel = running.cancellation_token();
    tokio::select! {
        quit = running.waiting() => { quit.map_err(|e| anyhow::anyhow!("mcp over stdio: {e}"))?; }
        _ = stop.cancelled() => cancel.cancel(),
    }
    Ok(())
}

/// The streamable HTTP endpoint: `http://<addr>/mcp` (any path answers).
async fn serve_http(desk: Desk, addr: SocketAddr, stop: CancellationToken) -> anyhow::Result<()> {
    use hyper_util::rt::{TokioExecutor, TokioIo};
    use hyper_util::server::conn::auto::Builder;
    use hyper_util::service::TowerToHyperService;
    use rmcp::transport::streamable_http_server::{
        StreamableHttpServerConfig, StreamableHttpService, session::local::LocalSessionManager,
    };
    let mut http = StreamableHttpServerConfig::default().with_cancellation_token(stop.clone());
    if !addr.ip().is_loopback() {
        // Reached by name or address from elsewhere: DNS-rebinding protection is for
        // servers on a developer's loopback; a deployment fronts this with its own auth.
        http = http.disable_allowed_hosts();
    }
    let service = TowerToHyperService::new(StreamableHttpService::new(
        move || Ok(server::Session::new(desk.clone())),
        LocalSessionManager::default().into(),
        http,
    ));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("mcp: listening on {addr}: {e}"))?;
    let local = listener.local_addr()?;
    // The one line scripts wait for (stdout stays free of anything else).
    println!("lighthouse mcp listening url=http://{local}/mcp");
    loop {
        let (io, _) = tokio::select! {
            _ = stop.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => { tracing::warn!(error = %e, "mcp_accept_failed"); continue; }
            },
        };
        let service = service.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let conn = Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(io), service)
                .into_owned();
            tokio::select! {
                _ = conn => {}
                _ = stop.cancelled() => {}
            }
        });
    }
    Ok(())
}
