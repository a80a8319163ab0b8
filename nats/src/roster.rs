//! Who is present right now: a live, in-memory view of a heartbeat KV bucket
//! (`lh_workers`, `lh_experts`).
//!
//! Workers and experts refresh a key every few seconds and the bucket's TTL drops keys
//! nobody refreshes. The TTL removes keys silently (no watch event), so the roster keeps
//! each key's last write time and counts a key as present only while it is younger than
//! the TTL. One KV watch per process keeps this current; asking "is anyone of specialty
//! X here?" is then a map lookup, not a round trip per escalation.

use crate::supervise::{Helper, spawn_helper};
use async_nats::jetstream::{self, kv};
use futures::StreamExt;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use thiserror::Error;
use tokio_util::sync::CancellationToken;
use tracing::warn;

#[derive(Debug, Error)]
pub enum RosterError {
    #[error("opening KV bucket {bucket}: {source}")]
    Bucket {
        bucket: String,
        source: async_nats::Error,
    },
    #[error("watching KV bucket {bucket}: {source}")]
    Watch {
        bucket: String,
        source: async_nats::Error,
    },
}

/// A live view of one heartbeat bucket. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Roster {
    /// Key → last write, milliseconds since the Unix epoch.
    seen: Arc<Mutex<HashMap<String, u64>>>,
    ttl: Duration,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl Roster {
    /// Loads the bucket's current keys, then follows it until `shutdown`. Returns once
    /// the current keys are loaded, so the first answers are already right, with the
    /// follower: should it die, the roster would freeze (and everyone in it age out), so
    /// it cancels `shutdown`; join it where the service waits for its end.
    pub async fn watch(
        js: &jetstream::Context,
        bucket: &str,
        ttl: Duration,
        shutdown: CancellationToken,
    ) -> Result<(Roster, Helper), RosterError> {
        let roster = Roster {
            seen: Arc::default(),
            ttl,
        };
        let store = js
            .get_key_value(bucket)
            .await
            .map_err(|e| RosterError::Bucket {
                bucket: bucket.to_owned(),
                source: e.into(),
            })?;
        let mut watch = roster.open(&store, bucket).await?;
        let existing = store.status().await.map(|s| s.values()).unwrap_or(0);
        if existing > 0 {
            // History first: entries count down `delta` to 0 at the newest one.
            let sync = async {
                while let Some(Ok(entry)) = watch.next().await {
                    let last = entry.delta == 0;
                    roster.apply(entry);
                    if last {
                        break;
                    }
                }
            };
            let _ = tokio::time::timeout(Duration::from_secs(2), sync).await;
        }
        let follower = roster.clone();
        let bucket = bucket.to_owned();
        let stop = shutdown.clone();
        let follower = spawn_helper("roster follower", &stop, async move {
            loop {
                tokio::select! {
                    entry = watch.next() => match entry {
                        Some(Ok(entry)) => follower.apply(entry),
                        Some(Err(e)) => warn!(%bucket, error = %e, "roster_watch_error"),
                        None => {
                            // The watch ended (server restart …): open a new one.
                            tokio::time::sleep(Duration::from_millis(500)).await;
                            match follower.open(&store, &bucket).await {
                                Ok(w) => watch = w,
                                Err(e) => warn!(%bucket, error = %e, "roster_rewatch_failed"),
                            }
                        }
                    },
                    _ = shutdown.cancelled() => break,
                }
            }
        });
        Ok((roster, follower))
    }

    async fn open(&self, store: &kv::Store, bucket: &str) -> Result<kv::Watch, RosterError> {
        store
            .watch_with_history(">")
            .await
            .map_err(|e| RosterError::Watch {
                bucket: bucket.to_owned(),
                source: e.into(),
            })
    }

    fn apply(&self, entry: kv::Entry) {
        let Ok(mut seen) = self.seen.lock() else {
            return;
        };
        match entry.operation {
            kv::Operation::Put => {
                let at = (entry.created.unix_timestamp_nanos() / 1_000_000).max(0) as u64;
                seen.insert(entry.key, at);
            }
            kv::Operation::Delete | kv::Operation::Purge => {
                seen.remove(&entry.key);
            }
        }
    }

    /// Keys present now that start with `prefix`.
    pub fn present(&self, prefix: &str) -> Vec<String> {
        let cutoff = now_ms().saturating_sub(self.ttl.as_millis() as u64);
        self.seen
            .lock()
            .map(|seen| {
                seen.iter()
                    .filter(|(k, at)| k.starts_with(prefix) && **at >= cutoff)
                    .map(|(k, _)| k.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Whether any key starting with `prefix` is present now.
    pub fn any(&self, prefix: &str) -> bool {
        !self.present(prefix).is_empty()
    }
}
