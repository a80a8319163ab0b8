//! Exactly-once publishing on JetStream.
//!
//! Two guards, both enforced by the server: `Nats-Msg-Id` drops retries inside the
//! stream's duplicate window; `Nats-Expected-Last-Subject-Sequence: 0` refuses a second
//! message on a subject that must only ever hold one (a decision per command), however
//! late it comes.

use async_nats::HeaderMap;
use async_nats::jetstream::{self, context::PublishErrorKind, message::PublishMessage};
use bytes::Bytes;
use thiserror::Error;

/// What the stream did with a publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Published {
    /// Stored at this stream sequence.
    Stored(u64),
    /// Same `Nats-Msg-Id` seen inside the duplicate window: nothing new stored.
    Duplicate(u64),
    /// The subject already holds a message (only with `first_on_subject`).
    AlreadyExists,
}

#[derive(Debug, Error)]
pub enum PublishError {
    /// Worth retrying: timeouts, no responders while a stream leader is elected, …
    #[error("publish to {subject} failed ({kind}): {source}")]
    Transient {
        subject: String,
        kind: PublishErrorKind,
        source: async_nats::Error,
    },
}

/// Publishes `payload` once: deduplicated by `msg_id`, and, when `first_on_subject`,
/// refused if the subject already holds a message.
/// Carries the current trace context (see [`crate::trace`]).
pub async fn publish_once(
    js: &jetstream::Context,
    subject: String,
    msg_id: &str,
    payload: Bytes,
    first_on_subject: bool,
) -> Result<Published, PublishError> {
    let mut headers = HeaderMap::new();
    crate::trace::inject(&mut headers);
    publish_once_with(js, subject, msg_id, payload, first_on_subject, headers).await
}

/// [`publish_once`] with headers of the caller's (the hook's `traceparent`).
pub async fn publish_once_with(
    js: &jetstream::Context,
    subject: String,
    msg_id: &str,
    payload: Bytes,
    first_on_subject: bool,
    headers: HeaderMap,
) -> Result<Published, PublishError> {
    let mut message = PublishMessage::build()
        .headers(headers)
        .payload(payload)
        .message_id(msg_id);
    if first_on_subject {
        message = message.expected_last_subject_sequence(0);
    }
    let fail = |subject: &str, kind, source| PublishError::Transient {
        subject: subject.to_owned(),
        kind,
        source,
    };
    let ack = match js.send_publish(subject.clone(), message).await {
        Ok(future) => future.await,
        Err(e) => return Err(fail(&subject, e.kind(), e.into())),
    };
    match ack {
        Ok(ack) if ack.duplicate => Ok(Published::Duplicate(ack.sequence)),
        Ok(ack) => Ok(Published::Stored(ack.sequence)),
        Err(e) if e.kind() == PublishErrorKind::WrongLastSequence => Ok(Published::AlreadyExists),
        Err(e) => Err(fail(&subject, e.kind(), e.into())),
    }
}
