//! What `/readyz` asks: is every durable consumer this process pulls from bound?
//!
//! The consume loop records each partition consumer as bound when its pull stream opens
//! and unbound when opening fails; the telemetry listener reads the set. A process-wide
//! registry because one process (`lighthouse up`) may run several workers.

use std::collections::BTreeMap;
use std::sync::Mutex;

static CONSUMERS: Mutex<BTreeMap<(String, String), bool>> = Mutex::new(BTreeMap::new());

/// Records whether the pull stream of `stream`/`consumer` is open.
pub fn set_bound(stream: &str, consumer: &str, bound: bool) {
    if let Ok(mut consumers) = CONSUMERS.lock() {
        consumers.insert((stream.to_owned(), consumer.to_owned()), bound);
    }
}

/// Consumers this process wants and has not bound (`stream/consumer`).
pub fn unbound() -> Vec<String> {
    CONSUMERS
        .lock()
        .map(|consumers| {
            consumers
                .iter()
                .filter(|(_, bound)| !**bound)
                .map(|((stream, consumer), _)| format!("{stream}/{consumer}"))
                .collect()
        })
        .unwrap_or_default()
}

/// How many consumers this process has bound.
pub fn bound_count() -> usize {
    CONSUMERS
        .lock()
        .map(|consumers| consumers.values().filter(|b| **b).count())
        .unwrap_or(0)
}
