//! Observability for every long-running Lighthouse process: Prometheus metrics on an
//! HTTP listener (`/metrics`, `/healthz`, `/readyz`), cluster gauges sampled from
//! JetStream, and traces that follow a command through NATS headers (W3C
//! `traceparent`), exported over OTLP/HTTP when configured.
//!
//! Layout:
//! - [`names`]: the table of every metric (name, kind, labels, help);
//! - [`record`]: what workers call when something is final (a decision, a vote, …);
//! - [`exporter`]: the recorder and the HTTP listener;
//! - [`sampler`]: consumer lag, stream sizes, presence, read from JetStream;
//! - [`trace`]: tracing init (text or JSON logs, optional OTLP) and header propagation.
//!
//! The hook does not link this crate: it only writes a `traceparent` header
//! ([`lighthouse_nats::trace::fresh_traceparent`]).

pub mod exporter;
pub mod names;
pub mod record;
pub mod sampler;
pub mod scrape;
pub mod trace;

use async_nats::connection::State;
use exporter::{Listener, ReadyCheck};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How often cluster gauges are sampled.
pub const SAMPLE_INTERVAL: Duration = Duration::from_secs(5);

/// Installs the recorder and serves `listen` (`host:port`; empty: metrics off, and
/// `None`). Also samples cluster gauges through `client` and puts the listener's URL
/// into this process's presence records (so `lighthouse status` lists it).
pub async fn start(
    listen: &str,
    client: &async_nats::Client,
    shutdown: CancellationToken,
) -> std::io::Result<Option<Listener>> {
    let listen = listen.trim();
    if listen.is_empty() {
        return Ok(None);
    }
    let handle = exporter::install_recorder();
    let listener = exporter::serve(
        listen,
        handle,
        ready_check(client.clone()),
        shutdown.clone(),
    )
    .await?;
    lighthouse_nats::presence::set_metrics_url(listener.url.clone());
    let sampler = sampler::run(
        async_nats::jetstream::new(client.clone()),
        SAMPLE_INTERVAL,
        shutdown,
    );
    let task = alongside(listener.task, sampler);
    Ok(Some(Listener { task, ..listener }))
}

/// One task for `served` and `also`: it ends when either does, and panics when either
/// did. The sampler dying alone would leave the cluster gauges frozen at their last
/// values while the listener answers on.
fn alongside(
    served: tokio::task::JoinHandle<()>,
    also: impl std::future::Future<Output = ()> + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        tokio::select! {
            ended = served => {
                if let Err(e) = ended
                    && let Ok(panic) = e.try_into_panic()
                {
                    std::panic::resume_unwind(panic);
                }
            }
            () = also => {}
        }
    })
}

/// Ready when connected to NATS and every durable consumer this process wants is bound
/// (at least one: a worker that has not started pulling yet is not ready).
pub fn ready_check(client: async_nats::Client) -> ReadyCheck {
    Arc::new(move || {
        if client.connection_state() != State::Connected {
            return Err("NATS is not connected".to_owned());
        }
        let unbound = lighthouse_nats::health::unbound();
        if !unbound.is_empty() {
            return Err(format!("consumers not bound: {}", unbound.join(", ")));
        }
        if lighthouse_nats::health::bound_count() == 0 {
            return Err("no consumer bound yet".to_owned());
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs for an hour, then ends cleanly (on the paused clock: at once).
    async fn an_hour() {
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }

    #[tokio::test(start_paused = true)]
    async fn the_listeners_task_panics_when_the_listener_did() {
        let served = tokio::spawn(async { panic!("the accept loop broke") });
        let ended = alongside(served, an_hour()).await;
        assert!(ended.unwrap_err().is_panic());
    }

    #[tokio::test(start_paused = true)]
    async fn the_listeners_task_panics_when_the_sampler_did() {
        let served = tokio::spawn(an_hour());
        let ended = alongside(served, async { panic!("the sampler broke") }).await;
        assert!(ended.unwrap_err().is_panic());
    }
}
