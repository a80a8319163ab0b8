//! Bounded one-shot reads of the messages stored under a subject filter: an agent's
//! recent decisions, every vote on one command.
//!
//! A short-lived ephemeral consumer (in memory, no acks, removed by the server once
//! idle) is the one way JetStream answers "all stored messages matching this filter";
//! its pending count tells us how many to fetch, so the read never waits on an
//! expiry to learn it is done.

use async_nats::jetstream::{self, consumer::DeliverPolicy, consumer::pull};
use futures::StreamExt;
use std::time::Duration;

/// Up to `max` messages stored in `stream` under `filter`, oldest first, starting where
/// `deliver_policy` says.
pub async fn read_filtered(
    js: &jetstream::Context,
    stream: &str,
    filter: String,
    deliver_policy: DeliverPolicy,
    max: usize,
) -> Result<Vec<jetstream::Message>, async_nats::Error> {
    let stream = js.get_stream_no_info(stream).await?;
    let consumer: jetstream::consumer::PullConsumer = stream
        .create_consumer(pull::Config {
            filter_subject: filter,
            deliver_policy,
            ack_policy: jetstream::consumer::AckPolicy::None,
            memory_storage: true,
            num_replicas: 1,
            inactive_threshold: Duration::from_secs(5),
            ..Default::default()
        })
        .await?;
    let pending = consumer.cached_info().num_pending as usize;
    let want = pending.min(max);
    let mut out = Vec::with_capacity(want);
    while out.len() < want {
        let mut batch = consumer
            .fetch()
            .max_messages(want - out.len())
            .messages()
            .await?;
        let before = out.len();
        while let Some(message) = batch.next().await {
            out.push(message?);
        }
        if out.len() == before {
            break;
        }
    }
    // The server removes the consumer once idle anyway; deleting it now keeps the
    // count low under load. Off the caller's path: the answer is already complete.
    let name = consumer.cached_info().name.clone();
    tokio::spawn(async move {
        let _ = stream.delete_consumer(&name).await;
    });
    Ok(out)
}
