//! Running workers from the CLI (`lighthouse validator`, `lighthouse aggregator`,
//! `lighthouse annotator`, and inside `lighthouse up`).

use crate::settings::Settings;
use lighthouse_aggregator::AggregatorConfig;
use lighthouse_nats::worker::ConsumeOptions;
use lighthouse_validator::ValidatorConfig;

/// A validator configuration from settings; `id` defaults to host-pid.
pub fn validator_config(settings: &Settings, id: Option<String>) -> ValidatorConfig {
    ValidatorConfig {
        worker_id: id.unwrap_or_else(default_worker_id),
        home: crate::settings::home_dir().map(|h| h.to_string_lossy().into_owned()),
        escalation: settings.escalation.policy(),
        memory: Default::default(),
        consume: ConsumeOptions {
            concurrency: settings.validator.concurrency,
            batch: settings.validator.batch,
            ..ConsumeOptions::default()
        },
    }
}

/// An aggregator configuration from settings; `id` defaults to host-pid.
pub fn aggregator_config(settings: &Settings, id: Option<String>) -> AggregatorConfig {
    AggregatorConfig {
        worker_id: id.unwrap_or_else(default_worker_id),
        fallback: settings.escalation.fallback,
        experts: settings.escalation.experts.clone(),
        consume: ConsumeOptions {
            concurrency: settings.validator.concurrency,
            batch: settings.validator.batch,
            ..ConsumeOptions::default()
        },
    }
}

/// Runs one aggregator replica until SIGINT/SIGTERM.
pub async fn run_aggregator(settings: &Settings, id: Option<String>) -> anyhow::Result<()> {
    let url = settings.nats_url();
    let client = lighthouse_nats::connect(&url, "lighthouse-aggregator").await?;
    let js = async_nats::jetstream::new(client.clone());
    lighthouse_nats::topology::Topology::embedded()?
        .apply(&js)
        .await?;
    lighthouse_aggregator::worker::ensure_expert_consumers(&js, &settings.escalation.specialties)
        .await?;
    let config = aggregator_config(settings, id);
    supervise(client, "aggregator", |c, s| {
        lighthouse_aggregator::run(c, config, s)
    })
    .await
}

/// An annotator configuration; `id` defaults to host-pid.
pub fn annotator_config(id: Option<String>) -> lighthouse_annotator::AnnotatorConfig {
    lighthouse_annotator::AnnotatorConfig {
        worker_id: id.unwrap_or_else(default_worker_id),
        consume: ConsumeOptions {
            concurrency: 16,
            batch: 64,
            ..ConsumeOptions::default()
        },
    }
}

/// Runs one annotator replica until SIGINT/SIGTERM.
pub async fn run_annotator(settings: &Settings, id: Option<String>) -> anyhow::Result<()> {
    let client = lighthouse_nats::connect(&settings.nats_url(), "lighthouse-annotator").await?;
    let config = annotator_config(id);
    supervise(client, "annotator", |c, s| {
        lighthouse_annotator::run(c, config, s)
    })
    .await
}

/// Runs one worker until SIGINT/SIGTERM: `start` gets the client and a shutdown token;
/// a worker that ends by itself is an error; the client drains last.
async fn supervise<F, Fut, E>(
    client: async_nats::Client,
    kind: &str,
    start: F,
) -> anyhow::Result<()>
where
    F: FnOnce(async_nats::Client, tokio_util::sync::CancellationToken) -> Fut,
    Fut: std::future::Future<Output = Result<(), E>> + Send + 'static,
    E: Into<anyhow::Error> + Send + 'static,
{
    let stop = crate::up::shutdown_signal();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let mut worker = tokio::spawn(start(client.clone(), shutdown.clone()));
    tokio::select! {
        _ = stop => {
            shutdown.cancel();
            worker.await?.map_err(Into::into)?;
        }
        result = &mut worker => {
            result?.map_err(Into::into)?;
            anyhow::bail!("{kind} stopped unexpectedly");
        }
    }
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), client.drain()).await;
    Ok(())
}

fn default_worker_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "host".to_owned());
    format!("{host}-{}", std::process::id())
}

/// Runs one validator replica until SIGINT/SIGTERM.
pub async fn run_validator(settings: &Settings, id: Option<String>) -> anyhow::Result<()> {
    let url = settings.nats_url();
    let client = lighthouse_nats::connect(&url, "lighthouse-validator").await?;
    let config = validator_config(settings, id);
    supervise(client, "validator", |c, s| {
        lighthouse_validator::run(c, config, s)
    })
    .await
}
