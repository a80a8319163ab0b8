//! Running workers from the CLI (`lighthouse validator`, `lighthouse aggregator`,
//! `lighthouse annotator`, `lighthouse projector`): the same `run` functions and the
//! same entrypoint as the worker binaries, with the CLI's already loaded settings.

use crate::settings::Settings;
use std::future::Future;
use std::path::PathBuf;
use tokio_util::sync::CancellationToken;

/// Runs one worker until SIGINT/SIGTERM, then drains; `id` overrides `service.id`.
pub async fn serve<F, Fut, E>(
    mut settings: Settings,
    id: Option<String>,
    name: &str,
    run: F,
) -> anyhow::Result<()>
where
    F: FnOnce(Settings, async_nats::Client, CancellationToken) -> Fut,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: Into<anyhow::Error> + Send + 'static,
{
    if id.is_some() {
        settings.service.id = id;
    }
    let shutdown = lighthouse_service::shutdown();
    let client = lighthouse_service::connect(&settings, name).await?;
    lighthouse_service::serve(settings, name, client, shutdown, run).await
}

/// `lighthouse projector --mount DIR`: prints one line once the view is mounted.
pub async fn projector(mut settings: Settings, mount: PathBuf) -> anyhow::Result<()> {
    let shown = mount.display().to_string();
    settings.projector.mount = Some(mount);
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        if ready_rx.await.is_ok() {
            println!("lighthouse projector mounted at {shown}");
        }
    });
    serve(settings, None, "lighthouse-projector", |s, c, t| {
        lighthouse_projector::service::run_ready(s, c, Some(ready_tx), t)
    })
    .await
}
