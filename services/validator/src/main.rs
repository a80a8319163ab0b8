//! `lighthouse-validator`: one validator replica (for compose and k8s). Configuration:
//! `NATS_URL` (default nats://127.0.0.1:4222) and `WORKER_ID` (default host-pid).

use std::process::ExitCode;
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("LIGHTHOUSE_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .init();
    let url = std::env::var("NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
    let worker_id =
        std::env::var("WORKER_ID").unwrap_or_else(|_| format!("validator-{}", std::process::id()));
    let client = match lighthouse_nats::connect(&url, "lighthouse-validator").await {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(%url, error = %e, "cannot connect");
            return ExitCode::FAILURE;
        }
    };
    let shutdown = CancellationToken::new();
    let config = lighthouse_validator::ValidatorConfig {
        worker_id,
        home: std::env::var("HOME").ok(),
        consume: Default::default(),
        escalation: Default::default(),
        memory: Default::default(),
    };
    let worker = tokio::spawn(lighthouse_validator::run(
        client.clone(),
        config,
        shutdown.clone(),
    ));
    let stop = shutdown.clone();
    tokio::spawn(async move {
        lighthouse_nats::shutdown_signal().await;
        stop.cancel();
    });
    let code = match worker.await {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(e)) => {
            tracing::error!(error = %e, "validator failed");
            ExitCode::FAILURE
        }
        Err(e) => {
            tracing::error!(error = %e, "validator panicked");
            ExitCode::FAILURE
        }
    };
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), client.drain()).await;
    code
}
