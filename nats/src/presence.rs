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

/// What kind of worker a presence entry is (`"validator"` … on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkerKind {
    Validator,
    Aggregator,
    Annotator,
    Projector,
    /// A kind this build does not know (a newer worker): listed, never counted as one
    /// of the above.
    #[serde(other)]
    Other,
}

impl WorkerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            WorkerKind::Validator => "validator",
            WorkerKind::Aggregator => "aggregator",
            WorkerKind::Annotator => "annotator",
            WorkerKind::Projector => "projector",
            WorkerKind::Other => "other",
        }
    }
}

impl std::fmt::Display for WorkerKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Lets callers (and tests) compare with the wire name: `kind == "validator"`.
impl PartialEq<&str> for WorkerKind {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// What a worker says about itself.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Presence {
    pub kind: WorkerKind,
    pub id: String,
    pub pid: u32,
    pub started_ms: u64,
    pub processed: u64,
    pub dead_lettered: u64,
    pub version: String,
    /// What the worker wants an operator to know (a refused policy pack, …).
    #[serde(default)]
    pub problems: Vec<String>,
    /// Transient failures retried (each a Nak with backoff).
    #[serde(default)]
    pub retried: u64,
    /// Memory limits and usage (absent from workers that predate it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<crate::memory::MemoryReport>,
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
    /// This process as a worker of `kind`, now: its pid, version and memory, nothing
    /// counted yet (a worker's `WorkerStats::counted_in` adds its counts).
    pub fn of_this_process(kind: WorkerKind, id: &str, started_ms: u64) -> Presence {
        Presence {
            kind,
            id: id.to_owned(),
            pid: std::process::id(),
            started_ms,
            processed: 0,
            dead_lettered: 0,
            version: env!("CARGO_PKG_VERSION").to_owned(),
            problems: Vec::new(),
            retried: 0,
            memory: Some(crate::memory::MemoryReport {
                rss_bytes: crate::memory::rss_bytes(),
                peak_rss_bytes: crate::memory::peak_rss_bytes(),
                ..Default::default()
            }),
            metrics_url: None,
        }
    }

    pub fn key(&self) -> String {
        format!(
            "{}.{}",
            lighthouse_schemas::Token::encode(self.kind.as_str()).kv_key(),
            lighthouse_schemas::Token::encode(&self.id).kv_key()
        )
    }
}

/// [`heartbeat`] as a supervised helper of the worker (see
/// [`crate::supervise::spawn_helper`]): its end before `shutdown` stops the worker.
pub fn spawn_heartbeat<F>(
    js: &jetstream::Context,
    shutdown: &CancellationToken,
    current: F,
) -> crate::supervise::Helper
where
    F: Fn() -> Presence + Send + 'static,
{
    let task = heartbeat(js.clone(), current, shutdown.clone());
    crate::supervise::spawn_helper("presence heartbeat", shutdown, task)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_travel_as_their_names_and_unknown_ones_are_other() {
        assert_eq!(
            serde_json::to_string(&WorkerKind::Annotator).unwrap(),
            "\"annotator\""
        );
        let kind: WorkerKind = serde_json::from_str("\"validator\"").unwrap();
        assert_eq!(kind, WorkerKind::Validator);
        assert!(kind == "validator");
        let newer: WorkerKind = serde_json::from_str("\"summarizer\"").unwrap();
        assert_eq!(newer, WorkerKind::Other);
    }
}
