//! Exactly-once publishing on JetStream, with errors sorted by what to do about them.
//!
//! Two guards, both enforced by the server: `Nats-Msg-Id` drops retries inside the
//! stream's duplicate window; `Nats-Expected-Last-Subject-Sequence: 0` refuses a second
//! message on a subject that must only ever hold one (a decision per command), however
//! late it comes.
//!
//! A failed publish is either [`PublishError::Transient`] (timeouts, a full store, a
//! stream leader being elected: retry with backoff, it will pass) or
//! [`PublishError::Permanent`] (no stream takes the subject, the connection may not
//! publish there, the message is over the size limit: retrying cannot help, so the
//! input goes to a dead letter with the reason). Callers branch on the kind, never on
//! the text.

use async_nats::HeaderMap;
use async_nats::jetstream::{self, context::PublishErrorKind, message::PublishMessage};
use bytes::Bytes;
use sha2::{Digest, Sha256};
use std::time::{Duration, Instant};
use thiserror::Error;

/// Set on a command the hook publishes after deciding it locally (its fallback record
/// went first): the validator records that decision rather than deciding anew, however
/// young the command. Agent-settable, and no looser than the fallback record itself,
/// which validators record anyway.
pub const DECIDED_LOCALLY: &str = "Lh-Decided-Locally";

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

/// Why a publish can never succeed as it stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permanent {
    /// The server's permissions forbid this connection to publish on the subject.
    PermissionDenied,
    /// No stream stores the subject.
    NoStream,
    /// Payload plus headers exceed the server's `max_payload` or the stream's
    /// `max_msg_size`.
    TooLarge,
}

impl Permanent {
    /// A short label for logs, dead-letter headers and metrics.
    pub fn label(self) -> &'static str {
        match self {
            Permanent::PermissionDenied => "permission_denied",
            Permanent::NoStream => "no_stream",
            Permanent::TooLarge => "too_large",
        }
    }
}

impl std::fmt::Display for Permanent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

#[derive(Debug, Error)]
pub enum PublishError {
    /// Worth retrying: timeouts, no responders while a stream leader is elected, a
    /// full store, …
    #[error("publish to {subject} failed ({kind}): {source}")]
    Transient {
        subject: String,
        kind: PublishErrorKind,
        source: async_nats::Error,
    },
    /// Retrying cannot help: see [`Permanent`].
    #[error("publish to {subject} refused ({cause}): {source}")]
    Permanent {
        subject: String,
        cause: Permanent,
        source: async_nats::Error,
    },
}

impl PublishError {
    pub fn is_transient(&self) -> bool {
        matches!(self, PublishError::Transient { .. })
    }

    /// The permanent cause, if retrying cannot help.
    pub fn permanent(&self) -> Option<Permanent> {
        match self {
            PublishError::Permanent { cause, .. } => Some(*cause),
            PublishError::Transient { .. } => None,
        }
    }
}

/// Longest `Nats-Msg-Id` sent as is. Ids come from agents (`tool_use_id`); a longer one
/// (or one holding bytes a header cannot carry) is replaced by its digest, so it still
/// deduplicates and can never make the message unpublishable.
pub const MAX_MSG_ID: usize = 128;

/// The `Nats-Msg-Id` for `id`: itself when short and printable, else `sha256:<hex>`.
pub fn msg_id(id: &str) -> String {
    let printable = id.bytes().all(|b| (0x21..0x7f).contains(&b));
    if !id.is_empty() && id.len() <= MAX_MSG_ID && printable {
        id.to_owned()
    } else {
        format!("sha256:{}", hex::encode(Sha256::digest(id.as_bytes())))
    }
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
        .message_id(self::msg_id(msg_id));
    if first_on_subject {
        message = message.expected_last_subject_sequence(0);
    }
    send(js, subject, message).await
}

/// [`publish_once`] with headers of the caller's (dead letters), never first-on-subject.
pub async fn publish_headers_once(
    js: &jetstream::Context,
    subject: String,
    msg_id: &str,
    headers: async_nats::HeaderMap,
    payload: Bytes,
) -> Result<Published, PublishError> {
    let message = PublishMessage::build()
        .headers(headers)
        .payload(payload)
        .message_id(self::msg_id(msg_id));
    send(js, subject, message).await
}

async fn send(
    js: &jetstream::Context,
    subject: String,
    message: PublishMessage,
) -> Result<Published, PublishError> {
    let started = Instant::now();
    let ack = match js.send_publish(subject.clone(), message).await {
        Ok(future) => future.await,
        Err(e) => return Err(classify(js, &subject, e, started).await),
    };
    match ack {
        Ok(ack) if ack.duplicate => Ok(Published::Duplicate(ack.sequence)),
        Ok(ack) => Ok(Published::Stored(ack.sequence)),
        Err(e) if e.kind() == PublishErrorKind::WrongLastSequence => Ok(Published::AlreadyExists),
        Err(e) => Err(classify(js, &subject, e, started).await),
    }
}

/// [`publish_once`], giving up after `limit` (a transient timeout) whatever the server
/// does: for callers with a deadline of their own (the hook).
pub async fn publish_once_within(
    js: &jetstream::Context,
    subject: String,
    msg_id: &str,
    payload: Bytes,
    first_on_subject: bool,
    limit: Duration,
) -> Result<Published, PublishError> {
    let publish = publish_once(js, subject.clone(), msg_id, payload, first_on_subject);
    match tokio::time::timeout(limit, publish).await {
        Ok(result) => result,
        Err(_) => Err(PublishError::Transient {
            subject,
            kind: PublishErrorKind::TimedOut,
            source: format!("no ack within {limit:?}").into(),
        }),
    }
}

/// Sorts a failed publish into transient or permanent.
async fn classify(
    js: &jetstream::Context,
    subject: &str,
    error: jetstream::context::PublishError,
    started: Instant,
) -> PublishError {
    let kind = error.kind();
    let code = std::error::Error::source(&error)
        .and_then(|s| s.downcast_ref::<jetstream::Error>())
        .map(|e| e.error_code());
    let cause = match kind {
        PublishErrorKind::MaxPayloadExceeded => Some(Permanent::TooLarge),
        _ if code == Some(jetstream::ErrorCode::STREAM_MESSAGE_EXCEEDS_MAXIMUM) => {
            Some(Permanent::TooLarge)
        }
        _ if code == Some(jetstream::ErrorCode::STREAM_NOT_FOUND) => Some(Permanent::NoStream),
        // "No responders" also happens while a stream's leader is being elected: only
        // a stream lookup that finds none makes it permanent.
        PublishErrorKind::StreamNotFound if no_stream_for(js, subject).await => {
            Some(Permanent::NoStream)
        }
        // The server drops a forbidden publish and says so asynchronously; the
        // request then times out (see [`crate::events`]).
        PublishErrorKind::TimedOut if crate::events::publish_denied_since(subject, started) => {
            Some(Permanent::PermissionDenied)
        }
        _ => None,
    };
    match cause {
        Some(cause) => PublishError::Permanent {
            subject: subject.to_owned(),
            cause,
            source: error.into(),
        },
        None => PublishError::Transient {
            subject: subject.to_owned(),
            kind,
            source: error.into(),
        },
    }
}

/// Whether the server confirms that no stream stores `subject` (any doubt: false).
async fn no_stream_for(js: &jetstream::Context, subject: &str) -> bool {
    let lookup = tokio::time::timeout(Duration::from_secs(2), js.stream_by_subject(subject));
    match lookup.await {
        Ok(Err(e)) => match e.kind() {
            jetstream::context::GetStreamByNameErrorKind::NotFound => true,
            jetstream::context::GetStreamByNameErrorKind::JetStream(e) => {
                e.error_code() == jetstream::ErrorCode::STREAM_NOT_FOUND
            }
            _ => false,
        },
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_are_bounded_and_stable() {
        assert_eq!(msg_id("toolu_01ABC"), "toolu_01ABC");
        let long = "x".repeat(MAX_MSG_ID + 1);
        let digest = msg_id(&long);
        assert!(digest.starts_with("sha256:") && digest.len() == 7 + 64);
        assert_eq!(digest, msg_id(&long));
        assert_ne!(
            msg_id("a\r\nNats-Expected-Stream: x"),
            "a\r\nNats-Expected-Stream: x"
        );
        assert!(msg_id("").starts_with("sha256:"));
        assert!(msg_id("with space").starts_with("sha256:"));
    }
}
