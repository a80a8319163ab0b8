//! `lighthouse mcp`: settings and flags → the `lighthouse-mcp` server.

use crate::settings::Settings;
use std::time::Duration;

/// `lighthouse mcp` flags.
#[derive(Debug, clap::Args)]
pub struct McpArgs {
    /// The expert every session acts as (default: `[mcp] expert`, else $USER).
    #[arg(long)]
    pub expert: Option<String>,
    /// A specialty it reviews as (repeatable; default: `[mcp] specialties`).
    #[arg(long = "specialty")]
    pub specialties: Vec<String>,
    /// Serve streamable HTTP on HOST:PORT (path /mcp) instead of stdio.
    #[arg(long)]
    pub listen: Option<String>,
    /// What kind of expert, for operators: llm, human, script (default: `[mcp] kind`).
    #[arg(long)]
    pub kind: Option<String>,
}

/// The server's configuration: flags over `[mcp]` settings. The identity is fixed here,
/// for every session: no tool argument can change it.
pub fn config(settings: &Settings, args: McpArgs) -> anyhow::Result<lighthouse_mcp::McpConfig> {
    let mcp = &settings.mcp;
    let expert = crate::expert::expert_id(args.expert.or_else(|| mcp.expert.clone()))?;
    let specialties = if args.specialties.is_empty() {
        mcp.specialties.clone()
    } else {
        args.specialties
    };
    for specialty in &specialties {
        crate::expert::known_specialty(settings, specialty)?;
    }
    let listen = args.listen.unwrap_or_else(|| mcp.listen.clone());
    let listen = match listen.trim() {
        "" => None,
        addr => Some(
            addr.parse()
                .map_err(|e| anyhow::anyhow!("mcp listen address {addr:?}: {e}"))?,
        ),
    };
    Ok(lighthouse_mcp::McpConfig {
        identity: lighthouse_mcp::Identity {
            expert,
            specialties,
            kind: args.kind.unwrap_or_else(|| mcp.kind.clone()),
        },
        listen,
        wait: Duration::from_millis(mcp.wait_ms),
        permission_wait: Duration::from_millis(mcp.permission_wait_ms),
        context_decisions: settings.escalation.context_decisions,
    })
}

/// Runs the server until the client leaves (stdio), or SIGINT/SIGTERM.
pub async fn serve(settings: &Settings, args: McpArgs) -> anyhow::Result<()> {
    let config = config(settings, args)?;
    // The server acts as its expert, with that identity's permissions and nothing more.
    let role = lighthouse_nats::auth::expert_role(&config.identity.expert);
    let client = settings.connect_as(&role, "lighthouse-mcp").await?;
    let policy = crate::hook::local_policy(&std::env::current_dir()?);
    let shutdown = lighthouse_service::shutdown();
    let result = lighthouse_mcp::run(config, client.clone(), policy, shutdown).await;
    let _ = tokio::time::timeout(Duration::from_secs(5), client.drain()).await;
    result
}
