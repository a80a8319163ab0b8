//! The NATS side: one follower per stream rebuilds the model from the first message,
//! then keeps applying new ones; contents are fetched by direct get on read.
//!
//! Followers use ordered consumers: the projector owns no durable state (a restart
//! replays the streams), so there is nothing to ack, and an ordered consumer resumes
//! by itself after a gap. A stream that does not exist yet (LH_ESC, LH_ANNOT land with
//! other work) is looked for again every few seconds.

use crate::model::{Inval, Rejected};
use crate::view::{ContentSource, Shared, SourceError};
use async_nats::jetstream::{self, consumer};
use bytes::Bytes;
use futures::StreamExt;
use lighthouse_nats::topology::{DECISION_STREAM, FS_STREAM};
use lighthouse_schemas::{Decision, FileContent, FileVersion, Token, decode};
use std::sync::Arc;
use std::sync::mpsc::Sender;
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

/// Streams that land with other work (escalations, anchoring); named here rather than
/// in `nats/` until their definitions are there. Followed once they exist.
pub const ESC_STREAM: &str = "LH_ESC";
pub const ANNOT_STREAM: &str = "LH_ANNOT";

/// How long a read may wait for the server before it fails with EIO.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest object-store file the view reads into memory.
const MAX_OBJECT_BYTES: u64 = 1 << 30;
/// How often a follower looks for a missing stream and refreshes its lag figure.
const POLL: Duration = Duration::from_secs(2);

/// Contents from the server, for the FUSE threads (which are not runtime threads, so
/// they block on the runtime handle).
pub struct NatsSource {
    pub runtime: tokio::runtime::Handle,
    pub js: jetstream::Context,
}

impl ContentSource for NatsSource {
    fn fetch_message(&self, seq: u64) -> Result<Bytes, SourceError> {
        self.runtime.block_on(async {
            let stream = self
                .js
                .get_stream_no_info(FS_STREAM)
                .await
                .map_err(unavailable)?;
            direct_get(&stream, seq).await
        })
    }

    fn fetch_messages(&self, seqs: &[u64]) -> Vec<(u64, Result<Bytes, SourceError>)> {
        self.runtime.block_on(async {
            let stream = match self.js.get_stream_no_info(FS_STREAM).await {
                Ok(s) => s,
                Err(e) => {
                    let e = unavailable(e);
                    return seqs.iter().map(|s| (*s, Err(e.clone()))).collect();
                }
            };
            let stream = &stream;
            futures::stream::iter(seqs.iter().copied())
                .map(|seq| async move { (seq, direct_get(stream, seq).await) })
                // Enough in flight to hide the round trip; the server answers in order.
                .buffer_unordered(64)
                .collect()
                .await
        })
    }

    fn fetch_object(&self, bucket: &str, name: &str) -> Result<Bytes, SourceError> {
        self.runtime.block_on(async {
            let read = async {
                let store = self
                    .js
                    .get_object_store(bucket)
                    .await
                    .map_err(unavailable)?;
                let object = store.get(name).await.map_err(|e| {
                    if e.kind() == jetstream::object_store::GetErrorKind::NotFound {
                        SourceError::NotFound
                    } else {
                        unavailable(e)
                    }
                })?;
                let mut out = Vec::new();
                object
                    .take(MAX_OBJECT_BYTES)
                    .read_to_end(&mut out)
                    .await
                    .map_err(unavailable)?;
                Ok::<_, SourceError>(Bytes::from(out))
            };
            tokio::time::timeout(FETCH_TIMEOUT, read)
                .await
                .unwrap_or(Err(SourceError::TimedOut(FETCH_TIMEOUT)))
        })
    }
}

/// One `LH_FS` message by sequence, bounded by [`FETCH_TIMEOUT`].
async fn direct_get(
    stream: &jetstream::stream::Stream<()>,
    seq: u64,
) -> Result<Bytes, SourceError> {
    match tokio::time::timeout(FETCH_TIMEOUT, stream.direct_get(seq)).await {
        Ok(Ok(message)) => Ok(message.payload),
        Ok(Err(e)) if e.kind() == jetstream::stream::DirectGetErrorKind::NotFound => {
            Err(SourceError::NotFound)
        }
        Ok(Err(e)) => Err(unavailable(e)),
        Err(_) => Err(SourceError::TimedOut(FETCH_TIMEOUT)),
    }
}

fn unavailable(e: impl std::fmt::Display) -> SourceError {
    SourceError::Unavailable(e.to_string())
}

/// The streams the view is built from.
pub const STREAMS: &[&str] = &[FS_STREAM, DECISION_STREAM, ESC_STREAM, ANNOT_STREAM];

fn stored_us(message: &jetstream::Message) -> u64 {
    message
        .info()
        .ok()
        .and_then(|i| u64::try_from(i.published.unix_timestamp_nanos() / 1000).ok())
        .unwrap_or_else(lighthouse_schemas::now_us)
}

/// Applies one message of `stream` to the model.
pub fn apply(
    shared: &Shared,
    stream: &str,
    subject: &str,
    seq: u64,
    stored_us: u64,
    payload: &[u8],
) -> Result<Vec<Inval>, String> {
    match stream {
        FS_STREAM => {
            let version: FileVersion = decode(payload).map_err(|e| e.to_string())?;
            let invals = shared
                .apply(|m| m.apply_file(seq, stored_us, &version))
                .map_err(|e: Rejected| e.to_string())?;
            if let FileContent::Inline(bytes) = version.content {
                shared.prime(seq, Bytes::from(bytes));
            }
            Ok(invals)
        }
        DECISION_STREAM => {
            let (project, cmd_id) = match decode::<Decision>(payload) {
                Ok(d) => (d.env.project, d.cmd_id),
                Err(e) => {
                    // A newer decision shape: its project and id are all we need.
                    let v: serde_json::Value =
                        rmp_serde::from_slice(payload).map_err(|_| e.to_string())?;
                    let project = v.pointer("/env/project").and_then(|p| p.as_str());
                    let cmd = v.get("cmd_id").and_then(|c| c.as_str());
                    match (project, cmd) {
                        (Some(p), Some(c)) => (p.to_owned(), c.to_owned()),
                        _ => return Err(e.to_string()),
                    }
                }
            };
            shared
                .apply(|m| m.apply_decision(&project, &cmd_id))
                .map_err(|e| e.to_string())
        }
        ESC_STREAM => {
            let value: serde_json::Value =
                rmp_serde::from_slice(payload).map_err(|e| e.to_string())?;
            let project = value
                .pointer("/env/project")
                .and_then(|p| p.as_str())
                .map(str::to_owned)
                .or_else(|| {
                    subject
                        .split('.')
                        .nth(2)
                        .and_then(Token::parse)
                        .and_then(|t| t.decode())
                })
                .ok_or("escalation has no project")?;
            shared
                .apply(|m| m.apply_escalation(&project, stored_us, &value))
                .map_err(|e| e.to_string())
        }
        ANNOT_STREAM => {
            // Hook point for the anchoring engine's `Annotation` message: until its type
            // is in `schemas`, any map with a project and a path is rendered.
            let value: serde_json::Value =
                rmp_serde::from_slice(payload).map_err(|e| e.to_string())?;
            // `lh.annot.<project>.<file_key>`; the message's own fields win, the subject
            // is the fallback (a hashed key cannot be decoded, hence the fields first).
            let mut tokens = subject.split('.').skip(2).map(Token::parse);
            let (project_token, key) = (tokens.next().flatten(), tokens.next().flatten());
            let project = value
                .pointer("/env/project")
                .and_then(|p| p.as_str())
                .map(str::to_owned)
                .or_else(|| project_token.and_then(|t| t.decode()))
                .ok_or("annotation has no project")?;
            let path = ["path", "file", "file_path"]
                .iter()
                .find_map(|f| value.get(*f).and_then(|p| p.as_str()).map(str::to_owned))
                .or_else(|| key.and_then(|k| k.decode()))
                .ok_or("annotation names no file")?;
            shared
                .apply(|m| m.apply_annotation(&project, &path, seq, stored_us, value))
                .map_err(|e| e.to_string())
        }
        other => Err(format!("unknown stream {other}")),
    }
}

/// Follows one stream until `shutdown`. Sends `name` on `caught_up` once the view holds
/// everything the stream held when the follower started (or the stream is absent).
pub async fn follow(
    js: jetstream::Context,
    shared: Arc<Shared>,
    name: &'static str,
    invalidations: Sender<Vec<Inval>>,
    caught_up: tokio::sync::mpsc::Sender<&'static str>,
    shutdown: CancellationToken,
) {
    let mut announced = false;
    let mut applied: u64 = 0;
    let mut announce = |applied: u64, target: u64| {
        if !announced && applied >= target {
            announced = true;
            let _ = caught_up.try_send(name);
        }
    };
    while !shutdown.is_cancelled() {
        let mut stream = match js.get_stream(name).await {
            Ok(stream) => stream,
            Err(e) => {
                debug!(stream = name, error = %e, "stream_absent");
                shared.set_health(name, |h| h.exists = false);
                announce(0, 0);
                tokio::select! {
                    _ = tokio::time::sleep(POLL) => continue,
                    _ = shutdown.cancelled() => return,
                }
            }
        };
        let target = stream.cached_info().state.last_sequence;
        shared.set_health(name, |h| {
            h.exists = true;
            h.stream_last_seq = target;
        });
        announce(applied, target);
        let deliver_policy = if applied == 0 {
            consumer::DeliverPolicy::All
        } else {
            consumer::DeliverPolicy::ByStartSequence {
                start_sequence: applied + 1,
            }
        };
        let messages = async {
            stream
                .create_consumer(consumer::pull::OrderedConfig {
                    deliver_policy,
                    ..Default::default()
                })
                .await?
                .messages()
                .await
                .map_err(async_nats::Error::from)
        };
        let mut messages = match messages.await {
            Ok(m) => {
                lighthouse_nats::health::set_bound(name, "projector", true);
                m
            }
            Err(e) => {
                lighthouse_nats::health::set_bound(name, "projector", false);
                warn!(stream = name, error = %e, "follow_failed");
                shared.set_health(name, |h| h.last_error = Some(e.to_string()));
                tokio::select! {
                    _ = tokio::time::sleep(POLL) => continue,
                    _ = shutdown.cancelled() => return,
                }
            }
        };
        let mut tick = tokio::time::interval(POLL);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tick.tick() => {
                    if let Ok(info) = stream.info().await {
                        let last = info.state.last_sequence;
                        shared.set_health(name, |h| { h.stream_last_seq = last; h.last_error = None; });
                    }
                }
                next = messages.next() => match next {
                    Some(Ok(message)) => {
                        let (seq, pending) = message.info().map(|i| (i.stream_sequence, i.pending)).unwrap_or((applied + 1, 0));
                        // Age of what was just applied while more waits; caught up is 0.
                        let lag_us = if pending == 0 { 0 } else { lighthouse_schemas::now_us().saturating_sub(stored_us(&message)) };
                        lighthouse_telemetry::record::projector_lag(name, lag_us as f64 / 1e6);
                        let result = apply(&shared, name, &message.subject, seq, stored_us(&message), &message.payload);
                        applied = seq;
                        match result {
                            Ok(invals) => {
                                shared.set_health(name, |h| { h.applied_seq = seq; h.applied += 1; h.stream_last_seq = h.stream_last_seq.max(seq); });
                                if !invals.is_empty() {
                                    let _ = invalidations.send(invals);
                                }
                            }
                            Err(reason) => {
                                // Counted and shown in .status.json; a projector never
                                // dead-letters (it would on every replay).
                                warn!(stream = name, seq, %reason, "message_rejected");
                                shared.set_health(name, |h| { h.applied_seq = seq; h.rejected += 1; });
                            }
                        }
                        announce(applied, target);
                    }
                    Some(Err(e)) => {
                        debug!(stream = name, error = %e, "ordered_consumer_error");
                    }
                    None => break,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lighthouse_schemas::subject;
    use serde_json::json;

    struct Nothing;
    impl ContentSource for Nothing {
        fn fetch_message(&self, _: u64) -> Result<Bytes, SourceError> {
            Err(SourceError::NotFound)
        }
        fn fetch_object(&self, _: &str, _: &str) -> Result<Bytes, SourceError> {
            Err(SourceError::NotFound)
        }
    }

    fn pack(v: &serde_json::Value) -> Vec<u8> {
        rmp_serde::to_vec_named(v).unwrap()
    }

    #[test]
    fn loose_messages_find_their_project_and_file() {
        let shared = Shared::new(Box::new(Nothing), 1 << 20, true);
        // A path long enough that its subject key is hashed (not decodable).
        let long = format!("src/{}/deep.rs", "d".repeat(80));
        let subject = subject::annotation(&Token::encode("demo"), &Token::encode(&long));
        let note = json!({"env": {"project": "demo"}, "path": long, "text": "hi"});
        apply(&shared, ANNOT_STREAM, &subject, 1, 1, &pack(&note)).unwrap();
        // Without fields, the subject names both.
        let subject = subject::annotation(&Token::encode("demo"), &Token::encode("a.rs"));
        apply(
            &shared,
            ANNOT_STREAM,
            &subject,
            2,
            2,
            &pack(&json!({"text": "x"})),
        )
        .unwrap();
        let model = shared.model.read().unwrap();
        let tree = &model.projects["demo"].annotation_tree;
        assert!(tree.file(&format!("{long}.md")).is_some());
        assert!(tree.file("a.rs.md").is_some());
        drop(model);

        let subject = subject::escalation(&Token::encode("web app"), &Token::encode("security"));
        apply(
            &shared,
            ESC_STREAM,
            &subject,
            3,
            3,
            &pack(&json!({"cmd_id": "c1"})),
        )
        .unwrap();
        assert!(
            shared.model.read().unwrap().projects["web app"]
                .escalations
                .contains_key("c1.json")
        );
        assert!(apply(&shared, ESC_STREAM, &subject, 4, 4, b"\xc1 not msgpack").is_err());
        assert!(apply(&shared, FS_STREAM, "lh.fs.demo.x", 5, 5, b"garbage").is_err());
    }
}
