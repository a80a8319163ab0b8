//! Dead letters: where input that can never be handled goes, with the reason.
//!
//! Every dead letter of every process goes through [`publish`]: one place that writes
//! it to `lh.dlq.<source>` (stream `LH_DLQ`), logs the named event `dead_lettered`,
//! and counts it ([`count`]; the metrics exporter reads the same point). A dead letter
//! carries the original payload and says where it came from:
//!
//! | header | value |
//! |---|---|
//! | `Lh-Reason` | why, for a human (one line, ≤ 512 chars) |
//! | `Lh-Reason-Kind` | [`Kind`] label: `poison`, `permanent`, `exhausted`, `poison_record` |
//! | `Lh-Stream` | the source stream, or `KV_<bucket>` for a KV record |
//! | `Lh-Stream-Seq` | its stream sequence (KV: revision); absent when unknown |
//! | `Lh-Subject` | the original subject (KV: the key's subject) |
//! | `Lh-Payload-Sha256`, `Lh-Payload-Len` | digest and size of the original payload |
//! | `Lh-Truncated` | `true` when the payload kept is a prefix (it would not fit whole) |
//!
//! Its `Nats-Msg-Id` is `<source>-<sequence>` when the sequence is known (a redelivered
//! message dead-lettered twice is stored once), else a fresh UUID: two different
//! messages never share an id, so none is deduplicated away.

use async_nats::HeaderMap;
use async_nats::jetstream;
use bytes::Bytes;
use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicU64, Ordering};
use tracing::warn;

use crate::publish::{PublishError, Published, publish_headers_once};

/// Header names on dead letters.
pub mod headers {
    pub const REASON: &str = "Lh-Reason";
    pub const REASON_KIND: &str = "Lh-Reason-Kind";
    pub const STREAM: &str = "Lh-Stream";
    pub const STREAM_SEQ: &str = "Lh-Stream-Seq";
    pub const SUBJECT: &str = "Lh-Subject";
    pub const PAYLOAD_SHA256: &str = "Lh-Payload-Sha256";
    pub const PAYLOAD_LEN: &str = "Lh-Payload-Len";
    pub const TRUNCATED: &str = "Lh-Truncated";
}

/// Why something was dead-lettered (a label for alerts and metrics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The message itself is bad: undecodable, wrong subject, forged fields.
    Poison,
    /// The message is fine but its result can never be stored (no stream, no
    /// permission, too large).
    Permanent,
    /// A consumer with a finite `max_deliver` reached its last delivery while the
    /// failure was still transient.
    Exhausted,
    /// A KV record that does not decode (it was replaced or removed).
    PoisonRecord,
}

impl Kind {
    pub fn label(self) -> &'static str {
        match self {
            Kind::Poison => "poison",
            Kind::Permanent => "permanent",
            Kind::Exhausted => "exhausted",
            Kind::PoisonRecord => "poison_record",
        }
    }
}

/// One dead letter.
#[derive(Debug, Clone)]
pub struct DeadLetter<'a> {
    /// Stream name, or `KV_<bucket>` for a KV record.
    pub source: &'a str,
    /// Stream sequence (KV: revision), if known.
    pub sequence: Option<u64>,
    /// The original subject (KV: `$KV.<bucket>.<key>`).
    pub subject: &'a str,
    pub kind: Kind,
    pub reason: &'a str,
    pub payload: Bytes,
}

static DEAD_LETTERS: AtomicU64 = AtomicU64::new(0);

/// Dead letters this process has written.
pub fn count() -> u64 {
    DEAD_LETTERS.load(Ordering::Relaxed)
}

/// Room left for headers under `max_payload` (ours are bounded well below this).
const HEADER_ROOM: usize = 8 * 1024;

/// Writes `letter` to `lh.dlq.<source>`; counted and logged once stored. An error means
/// it was not stored: the caller must keep the original (Nak it), never drop it.
pub async fn publish(
    js: &jetstream::Context,
    letter: DeadLetter<'_>,
) -> Result<Published, PublishError> {
    use headers::*;
    let mut map = HeaderMap::new();
    map.insert(REASON, one_line(letter.reason, 512).as_str());
    map.insert(REASON_KIND, letter.kind.label());
    map.insert(STREAM, one_line(letter.source, 256).as_str());
    if let Some(sequence) = letter.sequence {
        map.insert(STREAM_SEQ, sequence.to_string().as_str());
    }
    map.insert(SUBJECT, one_line(letter.subject, 1024).as_str());
    map.insert(
        PAYLOAD_SHA256,
        hex::encode(Sha256::digest(&letter.payload)).as_str(),
    );
    map.insert(PAYLOAD_LEN, letter.payload.len().to_string().as_str());
    // A payload that filled a message leaves no room for these headers: keep a prefix
    // (the digest above still names the whole).
    let room = (js.client().server_info().max_payload)
        .saturating_sub(HEADER_ROOM)
        .max(1024);
    let payload = if letter.payload.len() > room {
        map.insert(TRUNCATED, "true");
        letter.payload.slice(..room)
    } else {
        letter.payload.clone()
    };
    let id = letter_id(letter.source, letter.sequence);
    let subject = lighthouse_schemas::subject::dead_letter(letter.source);
    let published = publish_headers_once(js, subject, &id, map, payload).await?;
    if !matches!(published, Published::Duplicate(_)) {
        DEAD_LETTERS.fetch_add(1, Ordering::Relaxed);
    }
    // Metrics hook point: one event per dead letter, labelled by source and kind.
    warn!(
        source = letter.source,
        sequence = letter.sequence,
        subject = letter.subject,
        kind = letter.kind.label(),
        reason = letter.reason,
        "dead_lettered"
    );
    Ok(published)
}

/// `<source>-<sequence>`, or `<source>-<uuid>` when the sequence is unknown.
fn letter_id(source: &str, sequence: Option<u64>) -> String {
    match sequence {
        Some(sequence) => format!("{source}-{sequence}"),
        None => format!("{source}-{}", uuid::Uuid::now_v7()),
    }
}

/// Dead-letters a KV record that does not decode (source `KV_<bucket>`, sequence =
/// its revision, subject `$KV.<bucket>.<key>`). The caller then replaces or removes it.
pub async fn publish_kv_record(
    js: &jetstream::Context,
    entry: &jetstream::kv::Entry,
    reason: &str,
) -> Result<Published, PublishError> {
    let source = format!("KV_{}", entry.bucket);
    let subject = format!("$KV.{}.{}", entry.bucket, entry.key);
    publish(
        js,
        DeadLetter {
            source: &source,
            sequence: Some(entry.revision),
            subject: &subject,
            kind: Kind::PoisonRecord,
            reason,
            payload: entry.value.clone(),
        },
    )
    .await
}

/// `text` on one line (header values cannot hold control characters), at most `max`
/// characters.
fn one_line(text: &str, max: usize) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(max)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_repeat_for_one_message_and_never_for_unknown_sequences() {
        assert_eq!(letter_id("LH_CMD", Some(7)), letter_id("LH_CMD", Some(7)));
        assert_ne!(letter_id("LH_CMD", None), letter_id("LH_CMD", None));
        assert_ne!(letter_id("LH_CMD", None), "LH_CMD-0");
    }

    #[test]
    fn header_values_are_single_bounded_lines() {
        assert_eq!(one_line("a\r\nb", 10), "a  b");
        assert_eq!(one_line(&"x".repeat(600), 512).len(), 512);
    }
}
