//! The consume loop every worker runs.
//!
//! A worker binds to every partition consumer of its group and pulls from all of them;
//! any number of replicas can do the same, and JetStream spreads messages between them.
//! Each message ends in exactly one ack action:
//!
//! | handler outcome | ack | why |
//! |---|---|---|
//! | [`Outcome::Done`] | Ack | downstream accepted the result |
//! | [`Outcome::Retry`] | Nak, delay growing with the delivery count | transient: it will pass |
//! | [`Outcome::Later`] | Nak with exactly that delay | a durable timer, not a failure |
//! | [`Outcome::Poison`] | dead letter, then Term | will never decode: keep it, explain it, move on |
//! | [`Outcome::Permanent`] | dead letter, then Term | fine, but its result can never be stored |
//!
//! **Nothing is dropped at `max_deliver`.** The consumers in `nats/consumers` set
//! `max_deliver: -1`: a transient failure (a full store, a decision stream refusing
//! writes, a server restart) is retried for as long as it lasts, with a delay that
//! doubles per delivery up to [`ConsumeOptions::backoff_max`] (one attempt per message
//! per 30 s at worst), and the backlog is handled as soon as the cause clears. A
//! consumer configured with a finite `max_deliver` gets its last delivery dead-lettered
//! (kind `exhausted`) instead of silently dropped by the server. Permanent failures go to
//! a dead letter at once, with the reason.
//!
//! A dead letter that cannot be published is not Termed (the message would be lost):
//! it is Nak'ed and retried. Long handlers send Progress so `ack_wait` does not hand
//! their message to another replica meanwhile. A broken message stream is re-created,
//! never left ended; a consumer group that cannot be bound is an error, not a quiet
//! return.

use crate::dead_letter::{self, DeadLetter, Kind};
use crate::presence::Presence;
use crate::publish::PublishError;
use crate::topology::ConsumerGroup;
use async_nats::jetstream::{self, AckKind, consumer::pull};
use futures::{FutureExt as _, StreamExt};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use thiserror::Error;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, debug, warn};

/// What a handler made of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// A transient failure: redeliver after at least `after` (more on each delivery).
    Retry {
        after: Duration,
        why: String,
    },
    /// Not a failure: redeliver after exactly this delay (a durable timer).
    Later(Duration),
    /// The message itself is bad (undecodable, forged): dead letter.
    Poison(String),
    /// The message is fine but its result can never be stored: dead letter.
    Permanent(String),
}

impl Outcome {
    pub fn retry(after: Duration, why: impl std::fmt::Display) -> Outcome {
        Outcome::Retry {
            after,
            why: why.to_string(),
        }
    }

    /// What a failed publish means for the message that caused it: transient → retry
    /// after `after`, permanent → dead letter.
    pub fn from_publish(error: &PublishError, after: Duration) -> Outcome {
        match error {
            PublishError::Transient { .. } => Outcome::retry(after, error),
            PublishError::Permanent { .. } => Outcome::Permanent(error.to_string()),
        }
    }
}

/// One delivered message, with what the handler needs to know about its delivery.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub message: async_nats::Message,
    /// Its stream sequence; 0 when the server's delivery info was unreadable.
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
    /// First retry delay of a transient failure; doubles per delivery.
    pub backoff_base: Duration,
    /// Longest retry delay.
    pub backoff_max: Duration,
    /// Payload bytes handled at once across the group's partitions; a pull brings at
    /// most half of it (never less than [`MIN_BATCH_BYTES`], so any message fits).
    pub inflight_bytes: usize,
    /// How long the server may keep answering "no such consumer/stream" before the loop
    /// gives up with [`WorkerError::ConsumerGone`]: the worker's start re-applies the
    /// topology, so its supervisor (`lighthouse up`, Kubernetes) restarting it brings
    /// the consumer back. Shorter outages (a server restart, an election) only retry.
    pub missing_limit: Duration,
}

/// Smallest byte budget of one pull: twice the server's largest message.
pub const MIN_BATCH_BYTES: usize = 4 * 1024 * 1024;

impl Default for ConsumeOptions {
    fn default() -> Self {
        ConsumeOptions {
            concurrency: 256,
            batch: 512,
            expires: Duration::from_secs(10),
            heartbeat: Duration::from_secs(3),
            backoff_base: Duration::from_millis(200),
            backoff_max: Duration::from_secs(30),
            inflight_bytes: 64 * 1024 * 1024,
            missing_limit: Duration::from_secs(10),
        }
    }
}

impl ConsumeOptions {
    /// The retry delay of a transient failure on delivery `delivered` (1-based), at
    /// least `asked`: `backoff_base · 2^(delivered-1)`, capped at `backoff_max`.
    pub fn backoff(&self, delivered: i64, asked: Duration) -> Duration {
        let doublings = delivered.saturating_sub(1).clamp(0, 20) as u32;
        let grown = self
            .backoff_base
            .saturating_mul(1u32 << doublings)
            .min(self.backoff_max);
        grown.max(asked)
    }

    fn batch_bytes(&self) -> usize {
        (self.inflight_bytes / 2).max(MIN_BATCH_BYTES)
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
    /// `presence` with what this consume loop counted added to it.
    pub fn counted_in(&self, mut presence: Presence) -> Presence {
        presence.processed += self.processed.load(Ordering::Relaxed);
        presence.dead_lettered += self.dead_lettered.load(Ordering::Relaxed);
        presence.retried += self.retried.load(Ordering::Relaxed);
        presence
    }

    fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

#[derive(Debug, Error)]
pub enum WorkerError {
    #[error("consumer group {group} on {stream} has an invalid template: {source}")]
    Template {
        group: String,
        stream: String,
        source: serde_json::Error,
    },
    /// The server says the consumer (or its stream) does not exist, and kept saying it
    /// for [`ConsumeOptions::missing_limit`]: someone deleted it. Restarting the worker
    /// re-applies the topology.
    #[error("consumer {consumer} on {stream} no longer exists: {reason}")]
    ConsumerGone {
        stream: String,
        consumer: String,
        reason: String,
    },
    /// A partition's loop itself panicked (a handler's panic is only retried): the
    /// worker ends, so its supervisor restarts it, rather than running on without it.
    #[error("the loop of a partition of {stream} panicked: {reason}")]
    PartitionPanicked { stream: String, reason: String },
}

/// Consumes every partition of `group` until `shutdown`; in-flight messages finish and
/// are acked before it returns. A group whose template does not make consumers is an
/// error (the worker exits non-zero), never a quiet end.
pub async fn consume_group<F, Fut>(
    js: jetstream::Context,
    group: ConsumerGroup,
    options: ConsumeOptions,
    stats: Arc<WorkerStats>,
    handler: F,
    shutdown: CancellationToken,
) -> Result<(), WorkerError>
where
    F: Fn(Delivery) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Outcome> + Send + 'static,
{
    let names = group
        .durable_names()
        .map_err(|source| WorkerError::Template {
            group: group.group.clone(),
            stream: group.stream.clone(),
            source,
        })?;
    let budget = options
        .inflight_bytes
        .clamp(1, tokio::sync::Semaphore::MAX_PERMITS);
    let shared = Arc::new(Shared {
        js,
        stream: group.stream.clone(),
        inflight: tokio::sync::Semaphore::new(budget),
        options,
        stats,
    });
    // One partition failing stops its siblings: the worker ends with that error.
    let stop = shutdown.child_token();
    let mut tasks = tokio::task::JoinSet::new();
    for name in names {
        // Not ready until its pull stream opens (see `health`).
        crate::health::set_bound(&group.stream, &name, false);
        tasks.spawn(consume_partition(
            shared.clone(),
            name,
            handler.clone(),
            stop.clone(),
        ));
    }
    let mut failure = None;
    while let Some(ended) = tasks.join_next().await {
        let error = match ended {
            Ok(Ok(())) => continue,
            Ok(Err(e)) => e,
            Err(e) => WorkerError::PartitionPanicked {
                stream: group.stream.clone(),
                reason: e.to_string(),
            },
        };
        stop.cancel();
        failure.get_or_insert(error);
    }
    failure.map_or(Ok(()), Err)
}

/// What every partition loop of a group shares.
struct Shared {
    js: jetstream::Context,
    stream: String,
    options: ConsumeOptions,
    stats: Arc<WorkerStats>,
    /// Payload bytes being handled, across the group's partitions.
    inflight: tokio::sync::Semaphore,
}

/// What the loop needs to know about the consumer it pulls from.
#[derive(Debug, Clone, Copy)]
struct Limits {
    /// `-1` (or 0): unlimited.
    max_deliver: i64,
    ack_wait: Duration,
}

async fn consume_partition<F, Fut>(
    shared: Arc<Shared>,
    consumer: String,
    handler: F,
    shutdown: CancellationToken,
) -> Result<(), WorkerError>
where
    F: Fn(Delivery) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Outcome> + Send + 'static,
{
    let (stream, stats) = (&shared.stream, &shared.stats);
    let mut backoff = Duration::from_millis(100);
    // Since when the server has said the consumer does not exist.
    let mut missing_since: Option<tokio::time::Instant> = None;
    while !shutdown.is_cancelled() {
        let (messages, limits) = match open(&shared.js, stream, &consumer, &shared.options).await {
            Ok(opened) => {
                backoff = Duration::from_millis(100);
                missing_since = None;
                crate::health::set_bound(stream, &consumer, true);
                opened
            }
            Err(e) => {
                crate::health::set_bound(stream, &consumer, false);
                WorkerStats::bump(&stats.stream_errors);
                warn!(%stream, %consumer, error = %e, "consumer_unavailable");
                if let OpenError::Missing(reason) = &e {
                    let since = *missing_since.get_or_insert_with(tokio::time::Instant::now);
                    if since.elapsed() >= shared.options.missing_limit {
                        return Err(WorkerError::ConsumerGone {
                            stream: stream.clone(),
                            consumer,
                            reason: reason.clone(),
                        });
                    }
                } else {
                    missing_since = None;
                }
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
            .for_each_concurrent(shared.options.concurrency, |item| {
                let (shared, handler) = (shared.clone(), handler.clone());
                async move {
                    match item {
                        Ok(message) => {
                            // Big messages take more of the byte budget: memory in use
                            // is bounded by bytes, not by message count.
                            let weight = message
                                .payload
                                .len()
                                .clamp(1, shared.options.inflight_bytes.max(1))
                                .min(u32::MAX as usize)
                                as u32;
                            let Ok(_permit) = shared.inflight.acquire_many(weight).await else {
                                return;
                            };
                            process(&shared, limits, &handler, message).await
                        }
                        Err(e) => {
                            // Missed heartbeats and the like: the stream recovers by itself.
                            WorkerStats::bump(&shared.stats.stream_errors);
                            debug!(stream = %shared.stream, error = %e, "pull_stream_error");
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
    Ok(())
}

/// Why a pull stream could not be opened.
#[derive(Debug, Error)]
enum OpenError {
    /// The server answered: no such stream or consumer.
    #[error("{0}")]
    Missing(String),
    /// Anything else (no responders, timeouts, a server restarting): retried.
    #[error("{0}")]
    Other(async_nats::Error),
}

async fn open(
    js: &jetstream::Context,
    stream: &str,
    consumer: &str,
    options: &ConsumeOptions,
) -> Result<(pull::Stream, Limits), OpenError> {
    use async_nats::jetstream::ErrorCode;
    use async_nats::jetstream::context::{
        ConsumerInfoError, ConsumerInfoErrorKind, GetStreamErrorKind,
    };
    let missing = |e: &jetstream::Error, code: ErrorCode| e.error_code() == code;
    let stream = js.get_stream(stream).await.map_err(|e| match e.kind() {
        GetStreamErrorKind::JetStream(j) if missing(&j, ErrorCode::STREAM_NOT_FOUND) => {
            OpenError::Missing(e.to_string())
        }
        _ => OpenError::Other(e.into()),
    })?;
    let consumer: jetstream::consumer::PullConsumer =
        stream.get_consumer(consumer).await.map_err(|e| {
            let gone = e.downcast_ref::<ConsumerInfoError>().is_some_and(|e| {
                matches!(
                    e.kind(),
                    ConsumerInfoErrorKind::NotFound | ConsumerInfoErrorKind::StreamNotFound
                )
            });
            if gone {
                OpenError::Missing(e.to_string())
            } else {
                OpenError::Other(e)
            }
        })?;
    let config = &consumer.cached_info().config;
    let limits = Limits {
        max_deliver: config.max_deliver,
        ack_wait: config.ack_wait,
    };
    let messages = consumer
        .stream()
        .max_messages_per_batch(options.batch)
        .max_bytes_per_batch(options.batch_bytes())
        .expires(options.expires)
        .heartbeat(options.heartbeat)
        .messages()
        .await
        .map_err(|e| OpenError::Other(e.into()))?;
    Ok((messages, limits))
}

async fn process<F, Fut>(context: &Shared, limits: Limits, handler: &F, message: jetstream::Message)
where
    F: Fn(Delivery) -> Fut,
    Fut: Future<Output = Outcome>,
{
    let (sequence, delivered) = match message.info() {
        Ok(info) => (Some(info.stream_sequence), info.delivered),
        Err(_) => (None, 1),
    };
    let (span, pass_on) =
        crate::trace::message_span(&message.message, sequence.unwrap_or(0), delivered);
    let delivery = Delivery {
        message: message.message.clone(),
        stream_sequence: sequence.unwrap_or(0),
        delivered,
    };
    // A handler that panics costs its message one delivery, not the partition: unwound
    // here, the message is retried like any transient failure (a panic that always
    // recurs keeps coming back at `backoff_max`, and says why in the log).
    let handled = AssertUnwindSafe(with_progress(&message, limits.ack_wait, handler(delivery)))
        .catch_unwind();
    let outcome = crate::trace::handling(pass_on, handled)
        .instrument(span.clone())
        .await
        .unwrap_or_else(|panic| {
            let why = format!(
                "the handler panicked: {}",
                crate::supervise::panic_text(panic.as_ref())
            );
            span.in_scope(|| tracing::error!(%why, "handler_panicked"));
            Outcome::retry(Duration::ZERO, why)
        });
    // The span is attached to the future, never entered across an await: a guard held
    // over one stays entered on the thread while other tasks run there, and one of them
    // cloning it after it closed panics in the tracing registry.
    settle(context, limits, &message, sequence, delivered, outcome)
        .instrument(span)
        .await;
}

/// The one ack action `outcome` calls for (see the module's table).
async fn settle(
    context: &Shared,
    limits: Limits,
    message: &jetstream::Message,
    sequence: Option<u64>,
    delivered: i64,
    outcome: Outcome,
) {
    let last = limits.max_deliver > 0 && delivered >= limits.max_deliver;
    let stats = &context.stats;
    let ack = match outcome {
        Outcome::Done => {
            WorkerStats::bump(&stats.processed);
            count(&context.stream, "done");
            message.ack().await
        }
        // The server would not deliver it again: a dead letter, not a silent drop.
        Outcome::Retry { why, .. } if last => {
            let reason = format!(
                "still failing at delivery {delivered} of max_deliver {}: {why}",
                limits.max_deliver
            );
            dead_letter_and_term(context, message, sequence, Kind::Exhausted, &reason).await
        }
        Outcome::Later(_) if last => {
            let reason = format!(
                "timer cannot be re-armed at delivery {delivered} of max_deliver {}",
                limits.max_deliver
            );
            dead_letter_and_term(context, message, sequence, Kind::Exhausted, &reason).await
        }
        Outcome::Retry { after, why } => {
            WorkerStats::bump(&stats.retried);
            let delay = context.options.backoff(delivered, after);
            debug!(%why, ?delay, "retry");
            count(&context.stream, "retry");
            message.ack_with(AckKind::Nak(Some(delay))).await
        }
        Outcome::Later(delay) => message.ack_with(AckKind::Nak(Some(delay))).await,
        Outcome::Poison(reason) => {
            dead_letter_and_term(context, message, sequence, Kind::Poison, &reason).await
        }
        Outcome::Permanent(reason) => {
            dead_letter_and_term(context, message, sequence, Kind::Permanent, &reason).await
        }
    };
    if let Err(e) = ack {
        // The server will redeliver after ack_wait; the result is idempotent.
        warn!(error = %e, "ack_failed");
    }
}

/// Runs `work`, telling the server every `ack_wait / 2` that the message is still being
/// handled, so it is not redelivered to another replica meanwhile.
async fn with_progress<Fut: Future<Output = Outcome>>(
    message: &jetstream::Message,
    ack_wait: Duration,
    work: Fut,
) -> Outcome {
    let every = ack_wait / 2;
    if every.is_zero() {
        return work.await;
    }
    tokio::pin!(work);
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    loop {
        tokio::select! {
            outcome = &mut work => return outcome,
            _ = tick.tick() => {
                if let Err(e) = message.ack_with(AckKind::Progress).await {
                    debug!(error = %e, "progress_failed");
                }
            }
        }
    }
}

/// Counts one handled message (`lighthouse_messages_total`).
fn count(stream: &str, outcome: &'static str) {
    metrics::counter!("lighthouse_messages_total", "stream" => stream.to_owned(), "outcome" => outcome)
        .increment(1);
}

/// Header names on dead letters (see [`crate::dead_letter::headers`]).
pub use crate::dead_letter::headers as dead_letter_headers;

async fn dead_letter_and_term(
    context: &Shared,
    message: &jetstream::Message,
    sequence: Option<u64>,
    kind: Kind,
    reason: &str,
) -> Result<(), async_nats::Error> {
    let letter = DeadLetter {
        source: &context.stream,
        sequence,
        subject: message.subject.as_str(),
        kind,
        reason,
        payload: message.payload.clone(),
    };
    match dead_letter::publish(&context.js, letter).await {
        Ok(_) => {
            WorkerStats::bump(&context.stats.dead_lettered);
            count(&context.stream, "dead_letter");
            metrics::counter!(
                "lighthouse_dead_letters_total",
                "stream" => context.stream.clone(),
                "reason" => kind.label(),
            )
            .increment(1);
            message.ack_with(AckKind::Term).await
        }
        Err(e) => {
            // Kept: retried until the dead letter can be written.
            WorkerStats::bump(&context.stats.retried);
            warn!(error = %e, %reason, "dead_letter_failed; will retry");
            let delay = context.options.backoff(2, Duration::from_secs(1));
            message.ack_with(AckKind::Nak(Some(delay))).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_cap_and_honours_the_handler() {
        let o = ConsumeOptions::default();
        assert_eq!(o.backoff(1, Duration::ZERO), Duration::from_millis(200));
        assert_eq!(o.backoff(2, Duration::ZERO), Duration::from_millis(400));
        assert_eq!(o.backoff(4, Duration::ZERO), Duration::from_millis(1600));
        assert_eq!(o.backoff(50, Duration::ZERO), Duration::from_secs(30));
        assert_eq!(o.backoff(i64::MAX, Duration::ZERO), Duration::from_secs(30));
        assert_eq!(o.backoff(0, Duration::ZERO), Duration::from_millis(200));
        assert_eq!(o.backoff(1, Duration::from_secs(2)), Duration::from_secs(2));
    }

    #[tokio::test]
    async fn a_group_that_cannot_make_consumers_is_an_error() {
        // Nothing listens there: the error must come before any network use.
        let client = async_nats::ConnectOptions::new()
            .retry_on_initial_connect()
            .connect("nats://127.0.0.1:1")
            .await
            .unwrap();
        let group = ConsumerGroup::from_template(
            "broken",
            "LH_CMD",
            2,
            serde_json::json!({"durable_name": 5}),
        );
        let result = consume_group(
            jetstream::new(client),
            group,
            ConsumeOptions::default(),
            Arc::default(),
            |_| async { Outcome::Done },
            CancellationToken::new(),
        )
        .await;
        assert!(matches!(result, Err(WorkerError::Template { .. })));
    }

    #[test]
    fn publish_failures_map_to_retry_or_dead_letter() {
        let transient = PublishError::Transient {
            subject: "s".into(),
            kind: async_nats::jetstream::context::PublishErrorKind::TimedOut,
            source: "t".into(),
        };
        assert!(matches!(
            Outcome::from_publish(&transient, Duration::from_millis(5)),
            Outcome::Retry { after, .. } if after == Duration::from_millis(5)
        ));
        let permanent = PublishError::Permanent {
            subject: "s".into(),
            cause: crate::publish::Permanent::TooLarge,
            source: "big".into(),
        };
        assert!(matches!(
            Outcome::from_publish(&permanent, Duration::ZERO),
            Outcome::Permanent(reason) if reason.contains("too_large")
        ));
    }
}
