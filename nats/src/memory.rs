//! A worker's memory: what it may hold, what it holds now, and a guard that sheds
//! caches before the ceiling is reached.
//!
//! The ceiling holds by construction: every elastic consumer of memory has a byte
//! budget (the evaluation cache, messages buffered by a pull, messages being handled),
//! and the budgets plus the process's baseline stay under [`MemoryLimits::max_rss_bytes`].
//! The guard is the safety net for what the budgets do not see (allocator slack): near
//! the ceiling it empties the caches it was given. Workers report the figures in their
//! presence, so `lighthouse status --json` shows limits and usage side by side.

use serde::{Deserialize, Serialize};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tracing::warn;

/// A worker's memory limits, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryLimits {
    /// Resident set size the worker must stay under.
    pub max_rss_bytes: u64,
    /// The evaluation cache's budget (validators).
    pub cache_bytes: u64,
    /// Payload bytes of messages being handled at once, and twice the bytes one pull
    /// may bring.
    pub inflight_bytes: u64,
}

impl Default for MemoryLimits {
    fn default() -> Self {
        MemoryLimits {
            max_rss_bytes: 512 * 1024 * 1024,
            cache_bytes: 64 * 1024 * 1024,
            inflight_bytes: 64 * 1024 * 1024,
        }
    }
}

/// Limits and current usage, as a worker reports them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryReport {
    pub max_rss_bytes: u64,
    pub rss_bytes: u64,
    /// Highest RSS since the process started (`VmHWM`).
    pub peak_rss_bytes: u64,
    pub cache_budget_bytes: u64,
    pub cache_bytes: u64,
    pub inflight_budget_bytes: u64,
    /// Times the guard emptied caches because RSS neared the ceiling.
    pub sheds: u64,
}

/// Current resident set size of this process (0 where `/proc` is missing).
pub fn rss_bytes() -> u64 {
    status_kib("VmRSS:") * 1024
}

/// Highest resident set size of this process so far.
pub fn peak_rss_bytes() -> u64 {
    status_kib("VmHWM:") * 1024
}

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status.lines().find_map(|line| {
                line.strip_prefix(field)?
                    .trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse()
                    .ok()
            })
        })
        .unwrap_or(0)
}

/// Share of the ceiling at which the guard sheds.
const SHED_AT: f64 = 0.85;
const EVERY: Duration = Duration::from_millis(500);

/// Until `shutdown`: every half second, when RSS passes 85 % of the ceiling, calls
/// `shed` (empty the caches) and counts it in `sheds`.
pub async fn guard<F: Fn()>(
    limits: MemoryLimits,
    shed: F,
    sheds: std::sync::Arc<std::sync::atomic::AtomicU64>,
    shutdown: CancellationToken,
) {
    let threshold = (limits.max_rss_bytes as f64 * SHED_AT) as u64;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(EVERY) => {}
            _ = shutdown.cancelled() => return,
        }
        let rss = rss_bytes();
        if rss > threshold {
            shed();
            sheds.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            warn!(
                rss_bytes = rss,
                max_rss_bytes = limits.max_rss_bytes,
                "memory_ceiling_near; caches emptied"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_a_resident_set() {
        let rss = rss_bytes();
        assert!(rss > 0);
        assert!(peak_rss_bytes() >= rss);
    }
}
