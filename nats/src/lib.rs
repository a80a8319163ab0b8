//! Lighthouse's NATS layer, shared by every service and by the test harness.
//!
//! - [`topology`]: streams and consumers are data (`nats/streams/*.json`,
//!   `nats/consumers/*.json`, in the JetStream API's own JSON), embedded at build time
//!   and applied idempotently;
//! - [`server`]: finding (or installing) a nats-server ≥ 2.11 and running it;
//! - [`publish`]: exactly-once publishing (`Nats-Msg-Id` plus expected-subject-sequence);
//! - [`worker`]: the consume loop every worker uses: partition consumers, bounded
//!   concurrency, one ack action per outcome, dead letters, shutdown;
//! - [`presence`]: worker heartbeats in the `lh_workers` KV bucket;
//! - [`roster`]: a live view of who is present in a heartbeat bucket;
//! - [`read`]: bounded one-shot reads of a subject filter.

pub mod presence;
pub mod publish;
pub mod read;
pub mod roster;
pub mod server;
pub mod topology;
pub mod worker;

/// Connects with the options every Lighthouse process uses.
pub async fn connect(
    url: &str,
    name: &str,
) -> Result<async_nats::Client, async_nats::ConnectError> {
    async_nats::ConnectOptions::new()
        .name(name)
        .connection_timeout(std::time::Duration::from_secs(5))
        .connect(url)
        .await
}
