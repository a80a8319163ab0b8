//! The aggregator as a service: its configuration from [`Settings`], and the
//! `run(settings, client, shutdown)` that the `lighthouse-aggregator` binary and
//! `lighthouse up` both run.

use crate::worker::{AggregatorConfig, AggregatorError};
use lighthouse_config::Settings;
use lighthouse_nats::worker::ConsumeOptions;
use tokio_util::sync::CancellationToken;

/// The aggregator's configuration: `service.id`, `aggregator.*`, and from
/// `escalation.*` the fallback, the expert roster and the specialties.
pub fn config(settings: &Settings) -> AggregatorConfig {
    AggregatorConfig {
        worker_id: settings.worker_id(),
        fallback: settings.escalation.fallback,
        experts: settings.escalation.experts.clone(),
        specialties: settings.escalation.specialties.clone(),
        consume: ConsumeOptions {
            concurrency: settings.aggregator.concurrency,
            batch: settings.aggregator.batch,
            ..ConsumeOptions::default()
        },
    }
}

/// Runs one aggregator replica until `shutdown`.
pub async fn run(
    settings: Settings,
    client: async_nats::Client,
    shutdown: CancellationToken,
) -> Result<(), AggregatorError> {
    crate::worker::run(client, config(&settings), shutdown).await
}
