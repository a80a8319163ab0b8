//! The validator as a service: its configuration from [`Settings`], and the
//! `run(settings, client, shutdown)` that the `lighthouse-validator` binary and
//! `lighthouse up` both run.

use crate::worker::{ValidatorConfig, ValidatorError};
use lighthouse_config::Settings;
use lighthouse_nats::worker::ConsumeOptions;
use tokio_util::sync::CancellationToken;

/// The validator's configuration: `service.id`, `validator.*`, `escalation.*`.
pub fn config(settings: &Settings) -> ValidatorConfig {
    ValidatorConfig {
        worker_id: settings.worker_id(),
        home: lighthouse_config::home_dir().map(|h| h.to_string_lossy().into_owned()),
        escalation: (&settings.escalation).into(),
        memory: lighthouse_nats::memory::MemoryLimits {
            max_rss_bytes: settings.validator.max_rss_bytes,
            cache_bytes: settings.validator.cache_bytes,
            inflight_bytes: settings.validator.inflight_bytes,
        },
        consume: ConsumeOptions {
            concurrency: settings.validator.concurrency,
            batch: settings.validator.batch,
            ..ConsumeOptions::default()
        },
    }
}

/// Runs one validator replica until `shutdown`.
pub async fn run(
    settings: Settings,
    client: async_nats::Client,
    shutdown: CancellationToken,
) -> Result<(), ValidatorError> {
    crate::worker::run(client, config(&settings), shutdown).await
}
