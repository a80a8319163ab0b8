//! Ordered reads of a range of a stream: what replay, history, audit queries and the
//! MCP server's context tools share.
//!
//! One ordered consumer (ephemeral, flow-controlled, no acks, resumes by itself after a
//! gap) over a subject filter, from a start position to the end of the stream *as it was
//! when the read began*, so a read of a busy stream ends. Each message comes with its
//! stream sequence and the time the server stored it.

use async_nats::jetstream::{self, consumer};
use bytes::Bytes;
use futures::StreamExt;
use std::ops::ControlFlow;
use std::time::Duration;
use thiserror::Error;
use time::OffsetDateTime;

/// How long a read waits for the next message before it gives up.
const STALL: Duration = Duration::from_secs(10);

/// Where a read starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum From {
    /// The first message of the stream.
    First,
    /// The first message at or after this stream sequence.
    Seq(u64),
    /// The first message stored at or after this time.
    Time(OffsetDateTime),
    /// Only the last message of each subject matching the filter.
    LastPerSubject,
}

/// One message of a read.
#[derive(Debug, Clone)]
pub struct Scanned {
    pub seq: u64,
    /// When the server stored it.
    pub time: OffsetDateTime,
    pub subject: String,
    pub payload: Bytes,
}

#[derive(Debug, Error)]
pub enum ScanError {
    #[error("stream {stream}: {source}")]
    Stream {
        stream: String,
        source: async_nats::Error,
    },
    #[error("reading {stream}: {source}")]
    Read {
        stream: String,
        source: async_nats::Error,
    },
    #[error("reading {stream}: no message within {STALL:?} (the server stopped answering)")]
    Stalled { stream: String },
}

/// What a read will cover: the stream's last sequence when it began and how many
/// messages match (for progress bars).
#[derive(Debug, Clone, Copy)]
pub struct Extent {
    pub last_seq: u64,
    pub matching: u64,
}

/// Reads `stream` under `filter` (empty: everything) from `from` up to the last message
/// stored when the read began, calling `each` in stream order until it breaks. `extent`
/// is told the size of the read before the first message. Returns the messages seen.
pub async fn scan(
    js: &jetstream::Context,
    stream: &str,
    filter: &str,
    from: From,
    mut extent: impl FnMut(Extent),
    mut each: impl FnMut(Scanned) -> ControlFlow<()>,
) -> Result<u64, ScanError> {
    let stream_err = |source: async_nats::Error| ScanError::Stream {
        stream: stream.to_owned(),
        source,
    };
    let read_err = |source: async_nats::Error| ScanError::Read {
        stream: stream.to_owned(),
        source,
    };
    let mut handle = js
        .get_stream(stream)
        .await
        .map_err(|e| stream_err(e.into()))?;
    let last_seq = handle
        .info()
        .await
        .map_err(|e| stream_err(e.into()))?
        .state
        .last_sequence;
    let deliver_policy = match from {
        From::First => consumer::DeliverPolicy::All,
        From::Seq(seq) => consumer::DeliverPolicy::ByStartSequence {
            start_sequence: seq.max(1),
        },
        From::Time(start_time) => consumer::DeliverPolicy::ByStartTime { start_time },
        From::LastPerSubject => consumer::DeliverPolicy::LastPerSubject,
    };
    let mut ordered = handle
        .create_consumer(consumer::pull::OrderedConfig {
            filter_subject: filter.to_owned(),
            deliver_policy,
            ..Default::default()
        })
        .await
        .map_err(|e| read_err(e.into()))?;
    let matching = ordered
        .info()
        .await
        .map_err(|e| read_err(e.into()))?
        .num_pending;
    extent(Extent { last_seq, matching });
    if matching == 0 {
        return Ok(0);
    }
    let mut messages = ordered.messages().await.map_err(|e| read_err(e.into()))?;
    let mut seen = 0u64;
    loop {
        let next = tokio::time::timeout(STALL, messages.next())
            .await
            .map_err(|_| ScanError::Stalled {
                stream: stream.to_owned(),
            })?;
        let Some(message) = next else { break };
        let message = message.map_err(|e| read_err(e.into()))?;
        let (seq, time, pending) = match message.info() {
            Ok(info) => (info.stream_sequence, info.published, info.pending),
            Err(e) => return Err(read_err(e)),
        };
        if seq > last_seq {
            break;
        }
        seen += 1;
        let message = message.message;
        let flow = each(Scanned {
            seq,
            time,
            subject: message.subject.to_string(),
            payload: message.payload,
        });
        if flow.is_break() || pending == 0 || seq == last_seq {
            break;
        }
    }
    Ok(seen)
}

/// Every message of a read, collected (bounded by `max`: the newest `max` are kept).
pub async fn collect(
    js: &jetstream::Context,
    stream: &str,
    filter: &str,
    from: From,
    max: usize,
) -> Result<Vec<Scanned>, ScanError> {
    let mut out = std::collections::VecDeque::new();
    scan(
        js,
        stream,
        filter,
        from,
        |_| {},
        |m| {
            if out.len() == max.max(1) {
                out.pop_front();
            }
            out.push_back(m);
            ControlFlow::Continue(())
        },
    )
    .await?;
    Ok(out.into())
}
