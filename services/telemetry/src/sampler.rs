//! Gauges about the shared cluster, sampled from JetStream every few seconds: consumer
//! pending and ack-pending per partition, stream sizes and limits, account storage,
//! and worker presence by kind. Every process samples the same values, so dashboards
//! and rules take `max` over instances.

use crate::names;
use async_nats::jetstream;
use futures::StreamExt;
use std::collections::BTreeMap;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tracing::debug;

/// Worker kinds always reported, so "no validator" is a 0 and not a missing series.
const KINDS: &[&str] = &["validator", "aggregator", "annotator", "projector"];

/// Samples every `interval` until `shutdown`.
pub async fn run(js: jetstream::Context, interval: Duration, shutdown: CancellationToken) {
    loop {
        sample(&js).await;
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = shutdown.cancelled() => return,
        }
    }
}

/// One round; what cannot be read now is left at its last value.
pub async fn sample(js: &jetstream::Context) {
    if let Err(e) = sample_streams(js).await {
        debug!(error = %e, "stream_sample_failed");
    }
    match js.query_account().await {
        Ok(account) => {
            metrics::gauge!(names::JETSTREAM_STORAGE).set(account.storage as f64);
            metrics::gauge!(names::JETSTREAM_STORAGE_LIMIT)
                .set(account.limits.max_storage.unwrap_or(-1) as f64);
        }
        Err(e) => debug!(error = %e, "account_sample_failed"),
    }
    match lighthouse_nats::presence::list(js).await {
        Ok(workers) => {
            let mut by_kind: BTreeMap<String, u64> =
                KINDS.iter().map(|k| ((*k).to_owned(), 0)).collect();
            for w in workers {
                *by_kind.entry(w.kind.to_string()).or_default() += 1;
            }
            for (kind, n) in by_kind {
                metrics::gauge!(names::WORKERS_PRESENT, "kind" => kind).set(n as f64);
            }
        }
        Err(e) => debug!(error = %e, "presence_sample_failed"),
    }
}

async fn sample_streams(js: &jetstream::Context) -> Result<(), async_nats::Error> {
    let mut streams = js.streams();
    let mut names_seen = Vec::new();
    while let Some(info) = streams.next().await {
        let info = info?;
        let name = info.config.name.clone();
        metrics::gauge!(names::STREAM_MESSAGES, "stream" => name.clone())
            .set(info.state.messages as f64);
        metrics::gauge!(names::STREAM_BYTES, "stream" => name.clone()).set(info.state.bytes as f64);
        metrics::gauge!(names::STREAM_MAX_MESSAGES, "stream" => name.clone())
            .set(info.config.max_messages as f64);
        metrics::gauge!(names::STREAM_MAX_BYTES, "stream" => name.clone())
            .set(info.config.max_bytes as f64);
        names_seen.push(name);
    }
    for lag in consumer_lags(js, &names_seen).await? {
        metrics::gauge!(names::CONSUMER_PENDING, "stream" => lag.stream.clone(), "consumer" => lag.consumer.clone())
            .set(lag.pending as f64);
        metrics::gauge!(names::CONSUMER_ACK_PENDING, "stream" => lag.stream, "consumer" => lag.consumer)
            .set(lag.ack_pending as f64);
    }
    Ok(())
}

/// How far one durable consumer is behind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerLag {
    pub stream: String,
    pub consumer: String,
    /// Not yet delivered.
    pub pending: u64,
    /// Delivered, not yet acknowledged.
    pub ack_pending: u64,
}

/// The durable consumers of `streams` (KV and object-store streams skipped: their
/// consumers are ephemeral watchers), in stream then consumer order.
pub async fn consumer_lags(
    js: &jetstream::Context,
    streams: &[String],
) -> Result<Vec<ConsumerLag>, async_nats::Error> {
    let mut out = Vec::new();
    for name in streams {
        if name.starts_with("KV_") || name.starts_with("OBJ_") {
            continue;
        }
        let stream = js.get_stream(name).await?;
        let mut consumers = stream.consumers();
        while let Some(info) = consumers.next().await {
            let info = info?;
            // Ephemeral (ordered) consumers come and go; only durables are partitions.
            let Some(durable) = info.config.durable_name.clone() else {
                continue;
            };
            out.push(ConsumerLag {
                stream: name.clone(),
                consumer: durable,
                pending: info.num_pending,
                ack_pending: info.num_ack_pending as u64,
            });
        }
    }
    out.sort_by(|a, b| (&a.stream, &a.consumer).cmp(&(&b.stream, &b.consumer)));
    Ok(out)
}
