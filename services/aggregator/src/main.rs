//! `lighthouse-aggregator [NATS_URL]`: one aggregator replica, for deployments that run
//! workers as separate images. `lighthouse aggregator` runs the same code with the
//! CLI's settings; this binary takes only the server URL (default `$NATS_URL`, else
//! loopback), falls back to "ask" and trusts every expert's specialty claim.

use lighthouse_aggregator::{AggregatorConfig, Fallback};
use std::process::ExitCode;
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("LIGHTHOUSE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let url = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("NATS_URL").ok())
        .unwrap_or_else(|| "nats://127.0.0.1:4222".to_owned());
    let client = match lighthouse_nats::connect(&url, "lighthouse-aggregator").await {
        Ok(client) => client,
        Err(e) => {
            eprintln!("lighthouse-aggregator: connecting to {url}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let shutdown = CancellationToken::new();
    let stop = shutdown.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        stop.cancel();
    });
    let config = AggregatorConfig {
        worker_id: format!("aggregator-{}", std::process::id()),
        fallback: Fallback::Ask,
        experts: Default::default(),
        consume: Default::default(),
        signer: None,
    };
    match lighthouse_aggregator::run(client, config, shutdown).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lighthouse-aggregator: {e}");
            ExitCode::FAILURE
        }
    }
}
