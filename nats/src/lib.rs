//! Lighthouse's NATS layer, shared by every service and by the test harness.
//!
//! - [`topology`]: streams and consumers are data (`nats/streams/*.json`,
//!   `nats/consumers/*.json`, in the JetStream API's own JSON), embedded at build time
//!   and applied idempotently;
//! - [`server`]: finding (or installing) a nats-server ≥ 2.11 and running it;
//! - [`publish`]: exactly-once publishing (`Nats-Msg-Id` plus expected-subject-sequence);
//! - [`worker`]: the consume loop every worker uses: partition consumers, bounded
//!   concurrency, one ack action per outcome, dead letters, shutdown;
//! - [`presence`]: worker heartbeats in the `lh_workers` KV bucket.

pub mod presence;
pub mod publish;
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

/// Resolves once SIGINT or SIGTERM arrives (Kubernetes stops pods with SIGTERM).
///
/// The handlers are installed when this is called, not when the future is first
/// polled: call it before announcing readiness, or a stop request sent right after the
/// announcement would find the default action (exit without cleanup) still in place.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{SignalKind, signal};
    let term = signal(SignalKind::terminate());
    let int = signal(SignalKind::interrupt());
    async move {
        let (Ok(mut term), Ok(mut int)) = (term, int) else {
            // Without handlers the default action (exit) still applies: wait forever.
            return std::future::pending().await;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    }
}
