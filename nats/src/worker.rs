//! The consume loop every worker runs.
//!
//! A worker binds to every partition consumer of its group and pulls from all of them;
//! any number of replicas can do the same, and JetStream spreads messages between them.
//! Each message maps to exactly one ack action:
//!
//! | handler outcome | ack | why |
//! |---|---|---|
//! | [`Outcome::Done`] | Ack | downstream accepted the result |
//! | [`Outcome::Retry`] | Nak with delay | transient: the server redelivers later |
//! | [`Outcome::Poison`] | dead letter, then Term | will never decode: keep it, explain it, move on |
//!
//! A dead letter that cannot be published is not Termed (the message would be lost):
//! it is Nak'ed and retried. A broken message stream is re-created, never left ended.

use crate::topology::ConsumerGroup;
use async_nats::HeaderMap;
use async_nats::jetstream::{self, AckKind, consumer::pull};
use futures::StreamExt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, debug, warn};

/// What a handler made of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Done,
    Retry(Duration),
    Poison(String),
}

/// One delivered message, with what the handler needs to know about its delivery.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub message: async_nats::Message,
    pub stream_sequence: u64,
    /// How many times it has been delivered (1 on first delivery).
    pub delivered: i64,
}

/// Knobs for the pull loop.
#[derive(Debug, Clone)]
pub struct ConsumeOptions {
    /// Messages handled at once per partition: hides publish round trips.
    pub concurrency: usize,
    /// Messages asked for per pull request.
    pub batch: usize,
    pub expires: Duration,
    pub heartbeat: Duration,
}

impl Default for ConsumeOptions {
    fn default() -> Self {
        ConsumeOptions {
            concurrency: 256,
            batch: 512,
            expires: Duration::from_secs(10),
            heartbeat: Duration::from_secs(3),
        }
    }
}

/// Counters a worker reports in its presence heartbeat and `lighthouse status`.
#[derive(Debug, Default)]
pub struct WorkerStats {
    pub processed: AtomicU64,
    pub retried: AtomicU64,
    pub dead_lettered: AtomicU64,
    pub stream_errors: AtomicU64,
}

impl WorkerStats {
    fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// Consumes every partition of `group` until `shutdown`; in-flight messages finish and
/// are acked before it returns.
pub async fn consume_group<F, Fut>(
    js: jetstream::Context,
    group: ConsumerGroup,
    options: ConsumeOptions,
    stats: Arc<WorkerStats>,
    handler: F,
    shutdown: CancellationToken,
) where
    F: Fn(Delivery) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Outcome> + Send + 'static,
{
    let mut tasks = tokio::task::JoinSet::new();
    let names = match group.durable_names() {
        Ok(names) => names,
        Err(e) => {
            warn!(group = %group.group, error = %e, "invalid consumer template");
            return;
        }
    };
    for name in names {
        // Not ready until its pull stream opens (see `health`).
        crate::health::set_bound(&group.stream, &name, false);
        tasks.spawn(consume_partition(
            js.clone(),
            group.stream.clone(),
            name,
            options.clone(),
            stats.clone(),
            handler.clone(),
            shutdown.clone(),
        ));
    }
    while tasks.join_next().await.is_some() {}
}

async fn consume_partition<F, Fut>(
    js: jetstream::Context,
    stream: String,
    consumer: String,
    options: ConsumeOptions,
    stats: Arc<WorkerStats>,
    handler: F,
    shutdown: CancellationToken,
) where
    F: Fn(Delivery) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Outcome> + Send + 'static,
{
    let mut backoff = Duration::from_millis(100);
    while !shutdown.is_cancelled() {
        let messages = match open(&js, &stream, &consumer, &options).await {
            Ok(messages) => {
                backoff = Duration::from_millis(100);
                crate::health::set_bound(&stream, &consumer, true);
                messages
            }
            Err(e) => {
                crate::health::set_bound(&stream, &consumer, false);
                WorkerStats::bump(&stats.stream_errors);
                warn!(%stream, %consumer, error = %e, "consumer_unavailable");
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = shutdown.cancelled() => break,
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        messages
            .take_until(shutdown.cancelled())
            .for_each_concurrent(options.concurrency, |item| {
                let (js, stream, stats, handler) =
                    (js.clone(), stream.clone(), stats.clone(), handler.clone());
                async move {
                    match item {
                        Ok(message) => process(&js, &stream, &stats, &handler, message).await,
                        Err(e) => {
                            // Missed heartbeats and the like: the stream recovers by itself.
                            WorkerStats::bump(&stats.stream_errors);
                            debug!(%stream, error = %e, "pull_stream_error");
                        }
                    }
                }
            })
            .await;
        if !shutdown.is_cancelled() {
            WorkerStats::bump(&stats.stream_errors);
            warn!(%stream, %consumer, "pull_stream_ended; re-creating");
        }
    }
}

async fn open(
    js: &jetstream::Context,
    stream: &str,
    consumer: &str,
    options: &ConsumeOptions,
) -> Result<pull::Stream, async_nats::Error> {
    let consumer: jetstream::consumer::PullConsumer =
        js.get_stream(stream).await?.get_consumer(consumer).await?;
    Ok(consumer
        .stream()
        .max_messages_per_batch(options.batch)
        .expires(options.expires)
        .heartbeat(options.heartbeat)
        .messages()
        .await?)
}

async fn process<F, Fut>(
    js: &jetstream::Context,
    stream: &str,
    stats: &WorkerStats,
    handler: &F,
    message: jetstream::Message,
) where
    F: Fn(Delivery) -> Fut,
    Fut: Future<Output = Outcome>,
{
    let (stream_sequence, delivered) = match message.info() {
        Ok(info) => (info.stream_sequence, info.delivered),
        Err(_) => (0, 1),
    };
    let span = crate::trace::message_span(&message.message, stream_sequence, delivered);
    let delivery = Delivery {
        message: message.message.clone(),
        stream_sequence,
        delivered,
    };
    let outcome = handler(delivery).instrument(span.clone()).await;
    let _enter = span.enter();
    let ack = match outcome {
        Outcome::Done => {
            WorkerStats::bump(&stats.processed);
            count(stream, "done");
            message.ack().await
        }
        Outcome::Retry(delay) => {
            WorkerStats::bump(&stats.retried);
            count(stream, "retry");
            message.ack_with(AckKind::Nak(Some(delay))).await
        }
        Outcome::Poison(reason) => {
            match dead_letter(js, stream, &message, stream_sequence, &reason).await {
                Ok(()) => {
                    WorkerStats::bump(&stats.dead_lettered);
                    count(stream, "dead_letter");
                    metrics::counter!(
                        "lighthouse_dead_letters_total",
                        "stream" => stream.to_owned(),
                        "reason" => reason_kind(&reason),
                    )
                    .increment(1);
                    warn!(%reason, "dead_lettered");
                    message.ack_with(AckKind::Term).await
                }
                Err(e) => {
                    WorkerStats::bump(&stats.retried);
                    warn!(error = %e, %reason, "dead_letter_failed; will retry");
                    message
                        .ack_with(AckKind::Nak(Some(Duration::from_secs(1))))
                        .await
                }
            }
        }
    };
    if let Err(e) = ack {
        // The server will redeliver after ack_wait; the result is idempotent.
        warn!(error = %e, "ack_failed");
    }
}

/// Counts one handled message (`lighthouse_messages_total`).
fn count(stream: &str, outcome: &'static str) {
    metrics::counter!("lighthouse_messages_total", "stream" => stream.to_owned(), "outcome" => outcome)
        .increment(1);
}

/// A bounded label for a dead letter's reason (the full text is in its `Lh-Reason`).
fn reason_kind(reason: &str) -> &'static str {
    if reason.starts_with("not a ") {
        "subject"
    } else if reason.starts_with("payload names") {
        "mismatch"
    } else if reason.starts_with("cannot encode") {
        "encode"
    } else {
        "undecodable"
    }
}

/// Header names on dead letters.
pub mod dead_letter_headers {
    pub const REASON: &str = "Lh-Reason";
    pub const STREAM: &str = "Lh-Stream";
    pub const STREAM_SEQ: &str = "Lh-Stream-Seq";
    pub const SUBJECT: &str = "Lh-Subject";
}

async fn dead_letter(
    js: &jetstream::Context,
    stream: &str,
    message: &jetstream::Message,
    sequence: u64,
    reason: &str,
) -> Result<(), async_nats::Error> {
    use dead_letter_headers::*;
    let mut headers = HeaderMap::new();
    // Header values cannot hold newlines; reasons are short anyway.
    let reason: String = reason
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(512)
        .collect();
    headers.insert(REASON, reason.as_str());
    headers.insert(STREAM, stream);
    headers.insert(STREAM_SEQ, sequence.to_string().as_str());
    headers.insert(SUBJECT, message.subject.as_str());
    headers.insert(
        async_nats::header::NATS_MESSAGE_ID,
        format!("{stream}-{sequence}").as_str(),
    );
    js.publish_with_headers(
        lighthouse_schemas::subject::dead_letter(stream),
        headers,
        message.payload.clone(),
    )
    .await?
    .await?;
    Ok(())
}
