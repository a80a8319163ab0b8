//! The projector as a service: its configuration from [`Settings`], and the
//! `run(settings, client, shutdown)` that the `lighthouse-projector` binary,
//! `lighthouse projector` and `lighthouse up --mount` all run.

use crate::{ProjectorConfig, ProjectorError};
use lighthouse_config::Settings;
use std::path::PathBuf;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The projector's configuration (`projector.*`) with the view mounted at `mount`.
pub fn config(settings: &Settings, mount: PathBuf) -> ProjectorConfig {
    ProjectorConfig {
        mount,
        cache_bytes: settings.projector.cache_bytes,
        prime_cache: settings.projector.prime_cache,
        threads: settings.projector.threads,
        rebuild_timeout: Duration::from_millis(settings.projector.rebuild_timeout_ms),
    }
}

/// Refuses settings without a mount point (`projector.mount`).
pub fn check(settings: &Settings) -> Result<(), String> {
    match settings.projector.mount {
        Some(_) => Ok(()),
        None => Err(
            "projector.mount is not set (LIGHTHOUSE__PROJECTOR__MOUNT=/path/to/view)".to_owned(),
        ),
    }
}

/// Runs the projector until `shutdown`, the view mounted at `projector.mount`.
pub async fn run(
    settings: Settings,
    client: async_nats::Client,
    shutdown: CancellationToken,
) -> Result<(), ProjectorError> {
    run_ready(settings, client, None, shutdown).await
}

/// [`run`], telling `ready` once the view is mounted.
pub async fn run_ready(
    settings: Settings,
    client: async_nats::Client,
    ready: Option<tokio::sync::oneshot::Sender<()>>,
    shutdown: CancellationToken,
) -> Result<(), ProjectorError> {
    let Some(mount) = settings.projector.mount.clone() else {
        return Err(ProjectorError::Session(
            "projector.mount is not set".to_owned(),
        ));
    };
    crate::run(client, config(&settings, mount), ready, shutdown).await
}
