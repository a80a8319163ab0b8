//! `lighthouse projector --mount DIR` (and the projector inside `lighthouse up`).

use crate::settings::Settings;
use lighthouse_projector::ProjectorConfig;
use std::path::PathBuf;
use std::time::Duration;

pub fn projector_config(settings: &Settings, mount: PathBuf) -> ProjectorConfig {
    ProjectorConfig {
        mount,
        cache_bytes: settings.projector.cache_bytes,
        prime_cache: settings.projector.prime_cache,
        threads: settings.projector.threads,
        rebuild_timeout: Duration::from_secs(120),
    }
}

/// Runs the projector until SIGINT/SIGTERM; prints one line once the view is mounted.
pub async fn run(settings: &Settings, mount: PathBuf) -> anyhow::Result<()> {
    let url = settings.nats_url();
    let client = lighthouse_nats::connect(&url, "lighthouse-projector").await?;
    crate::workers::start_metrics(settings, &client).await?;
    let stop = crate::up::shutdown_signal();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let shown = mount.display().to_string();
    let mut worker = tokio::spawn(lighthouse_projector::run(
        client.clone(),
        projector_config(settings, mount),
        Some(ready_tx),
        shutdown.clone(),
    ));
    tokio::spawn(async move {
        if ready_rx.await.is_ok() {
            println!("lighthouse projector mounted at {shown}");
        }
    });
    tokio::select! {
        _ = stop => {
            shutdown.cancel();
            worker.await??;
        }
        result = &mut worker => {
            result??;
            anyhow::bail!("projector stopped unexpectedly");
        }
    }
    let _ = tokio::time::timeout(Duration::from_secs(5), client.drain()).await;
    Ok(())
}
