//! Worker presence: each worker refreshes a key in the `lh_workers` KV bucket, whose
//! TTL makes a dead worker disappear without anyone cleaning up after it.

use async_nats::jetstream::{self, kv};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tracing::warn;

pub const BUCKET: &str = "lh_workers";
/// How often a worker refreshes its key (the bucket's TTL is three times this).
pub const INTERVAL: Duration = Duration::from_secs(5);

/// What a worker says about itself.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Presence {
    /// `validator`, `aggregator`, `projector`, …
    pub kind: String,
    pub id: String,
    pub pid: u32,
    pub started_ms: u64,
    pub processed: u64,
    pub dead_lettered: u64,
    pub version: String,
    /// Where this process serves `/metrics` (filled in by [`heartbeat`] once
    /// [`set_metrics_url`] is called; absent when metrics are off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics_url: Option<String>,
}

static METRICS_URL: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Records this process's metrics URL; every presence record it writes carries it.
pub fn set_metrics_url(url: String) {
    let _ = METRICS_URL.set(url);
}

impl Presence {
    pub fn key(&self) -> String {
        format!(
            "{}.{}",
            lighthouse_schemas::Token::encode(&self.kind).kv_key(),
            lighthouse_schemas::Token::encode(&self.id).kv_key()
        )
    }
}

/// Refreshes the worker's key every [`INTERVAL`] until `shutdown`, then deletes it.
pub async fn heartbeat<F>(js: jetstream::Context, current: F, shutdown: CancellationToken)
where
    F: Fn() -> Presence,
{
    let store = loop {
        match js.get_key_value(BUCKET).await {
            Ok(store) => break store,
            Err(e) => {
                warn!(error = %e, "presence_bucket_unavailable");
                tokio::select! {
                    _ = tokio::time::sleep(INTERVAL) => {}
                    _ = shutdown.cancelled() => return,
                }
            }
        }
    };
    let key = current().key();
    loop {
        let mut presence = current();
        if presence.metrics_url.is_none() {
            presence.metrics_url = METRICS_URL.get().cloned();
        }
        if let Ok(value) = serde_json::to_vec(&presence)
            && let Err(e) = store.put(&key, value.into()).await
        {
            warn!(error = %e, "presence_put_failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(INTERVAL) => {}
            _ = shutdown.cancelled() => break,
        }
    }
    let _ = store.delete(&key).await;
}

/// Every worker currently present.
pub async fn list(js: &jetstream::Context) -> Result<Vec<Presence>, async_nats::Error> {
    let store: kv::Store = js.get_key_value(BUCKET).await?;
    let mut keys = store.keys().await?;
    let mut out = Vec::new();
    while let Some(key) = keys.next().await {
        if let Some(value) = store.get(key?).await?
            && let Ok(presence) = serde_json::from_slice(&value)
        {
            out.push(presence);
        }
    }
    Ok(out)
}
