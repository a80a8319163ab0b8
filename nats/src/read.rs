//! Bounded one-shot reads of the messages stored under a subject filter: an agent's
//! recent decisions, every vote on one command.
//!
//! One batched direct get (`$JS.API.DIRECT.GET.<stream>`, server ≥ 2.11): a single
//! request answered by up to `batch` messages in stream order and an end-of-batch
//! status. No consumer is created, so reads cost one round trip and thousands of them
//! per second leave nothing behind on the server (an ephemeral consumer per read hit
//! the server's consumer limit under load). The streams read this way set
//! `allow_direct`.

use async_nats::jetstream;
use futures::StreamExt;
use serde::Serialize;
use std::time::Duration;
use thiserror::Error;

/// Where a read starts.
#[derive(Debug, Clone)]
pub enum Start {
    /// The first message of the stream.
    First,
    /// The first message stored at or after this time.
    Time(time::OffsetDateTime),
}

#[derive(Debug, Error)]
pub enum ReadError {
    #[error("direct get on {stream}: {source}")]
    Request {
        stream: String,
        source: async_nats::Error,
    },
    #[error("direct get on {stream} answered {status}: {description}")]
    Status {
        stream: String,
        status: u16,
        description: String,
    },
    #[error("direct get on {stream}: no end of batch within {timeout:?}")]
    Timeout { stream: String, timeout: Duration },
}

#[derive(Serialize)]
struct BatchRequest<'a> {
    batch: usize,
    next_by_subj: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    seq: Option<u64>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    start_time: Option<time::OffsetDateTime>,
}

/// One message of a read: the subject it is stored under and its payload.
#[derive(Debug, Clone)]
pub struct Stored {
    pub subject: String,
    pub payload: bytes::Bytes,
}

/// Up to `max` messages stored in `stream` under `filter`, oldest first, from `start`.
pub async fn read_filtered(
    js: &jetstream::Context,
    stream: &str,
    filter: &str,
    start: Start,
    max: usize,
    timeout: Duration,
) -> Result<Vec<Stored>, ReadError> {
    let client = js.client();
    let request_err = |source: async_nats::Error| ReadError::Request {
        stream: stream.to_owned(),
        source,
    };
    let (seq, start_time) = match start {
        Start::First => (Some(1), None),
        Start::Time(t) => (None, Some(t)),
    };
    let body = serde_json::to_vec(&BatchRequest {
        batch: max.max(1),
        next_by_subj: filter,
        seq,
        start_time,
    })
    .map_err(|e| request_err(e.into()))?;
    let inbox = client.new_inbox();
    let mut replies = client
        .subscribe(inbox.clone())
        .await
        .map_err(|e| request_err(e.into()))?;
    client
        .publish_with_reply(format!("$JS.API.DIRECT.GET.{stream}"), inbox, body.into())
        .await
        .map_err(|e| request_err(e.into()))?;
    let mut out = Vec::new();
    let collect = async {
        while let Some(message) = replies.next().await {
            if let Some(status) = message.status {
                return match status.as_u16() {
                    // End of batch, or nothing matched: the read is complete.
                    204 | 404 => Ok(()),
                    code => Err(ReadError::Status {
                        stream: stream.to_owned(),
                        status: code,
                        description: message.description.unwrap_or_default(),
                    }),
                };
            }
            let subject = message
                .headers
                .as_ref()
                .and_then(|h| h.get("Nats-Subject"))
                .map(|v| v.as_str().to_owned())
                .unwrap_or_default();
            out.push(Stored {
                subject,
                payload: message.payload,
            });
            if out.len() >= max {
                return Ok(());
            }
        }
        Ok(())
    };
    let result = tokio::time::timeout(timeout, collect).await;
    match result {
        Ok(result) => result.map(|()| out),
        Err(_) => Err(ReadError::Timeout {
            stream: stream.to_owned(),
            timeout,
        }),
    }
}

/// The decision recorded on `decision_subject`, if the command has one (a decision
/// subject holds at most one message).
pub async fn recorded_decision(
    js: &jetstream::Context,
    decision_subject: &str,
) -> Option<lighthouse_schemas::Decision> {
    let stream = js
        .get_stream_no_info(crate::topology::DECISION_STREAM)
        .await
        .ok()?;
    let message = stream
        .direct_get_last_for_subject(decision_subject)
        .await
        .ok()?;
    lighthouse_schemas::decode(&message.payload).ok()
}
