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
    let stop = crate::up::shutdown_signal();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let mut worker = tokio::spawn(lighthouse_aggregator::run(
        client.clone(),
        aggregator_config(settings, id),
        shutdown.clone(),
    ));
    tokio::select! {
        _ = stop => {
            shutdown.cancel();
            worker.await??;
        }
        result = &mut worker => {
            result??;
            anyhow::bail!("aggregator stopped unexpectedly");
        }
    }
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), client.drain()).await;
    Ok(())
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
    let stop = crate::up::shutdown_signal();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let mut worker = tokio::spawn(lighthouse_annotator::run(
        client.clone(),
        annotator_config(id),
        shutdown.clone(),
    ));
    tokio::select! {
        _ = stop => {
            shutdown.cancel();
            worker.await??;
        }
        result = &mut worker => {
            result??;
            anyhow::bail!("annotator stopped unexpectedly");
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
    let stop = crate::up::shutdown_signal();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let mut worker = tokio::spawn(lighthouse_validator::run(
        client.clone(),
        validator_config(settings, id),
        shutdown.clone(),
    ));
    tokio::select! {
        _ = stop => {
            shutdown.cancel();
            worker.await??;
        }
        result = &mut worker => {
            result??;
            anyhow::bail!("validator stopped unexpectedly");
        }
    }
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), client.drain()).await;
    Ok(())
}
