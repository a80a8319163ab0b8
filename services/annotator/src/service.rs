//! The annotator as a service: its configuration from [`Settings`], and the
//! `run(settings, client, shutdown)` that the `lighthouse-annotator` binary and
//! `lighthouse up` both run.

use crate::worker::{AnnotatorConfig, AnnotatorError};
use lighthouse_config::Settings;
use lighthouse_nats::worker::ConsumeOptions;
use tokio_util::sync::CancellationToken;

/// The annotator's configuration: `service.id` and `annotator.*`.
pub fn config(settings: &Settings) -> AnnotatorConfig {
    AnnotatorConfig {
        worker_id: settings.worker_id(),
        consume: ConsumeOptions {
            concurrency: settings.annotator.concurrency,
            batch: settings.annotator.batch,
            ..ConsumeOptions::default()
        },
    }
}

/// Runs one annotator replica until `shutdown`.
pub async fn run(
    settings: Settings,
    client: async_nats::Client,
    shutdown: CancellationToken,
) -> Result<(), AnnotatorError> {
    crate::worker::run(client, config(&settings), shutdown).await
}
