//! Backups of the whole store: every stream, KV bucket and object store (the last two
//! are streams too, `KV_<bucket>` and `OBJ_<bucket>`), with their consumers.
//!
//! Each stream is saved with JetStream's own snapshot API (`$JS.API.STREAM.SNAPSHOT`):
//! the server streams a compressed archive of the stream's files and its consumers'
//! state, so a restore (`$JS.API.STREAM.RESTORE`) brings back the same messages at the
//! same sequence numbers, the same timestamps, and consumers that resume where they
//! were. Nothing is decoded on the way: a backup restores into any server that
//! understands the snapshot format, whatever Lighthouse version wrote it.
//!
//! A backup directory holds, per stream, `<name>.json` (the server's snapshot response,
//! its configuration and state, kept verbatim) and `<name>.snapshot` (the archive), and
//! a `manifest.json` listing them with sizes and SHA-256 sums. Restore checks every sum
//! before it sends a byte, refuses to overwrite a stream that exists, and checks the
//! restored state against the manifest.
//!
//! Streams are saved inputs first, outputs last (commands before decisions, files
//! before annotations and blobs): a worker acks its input only after storing its
//! output, so whatever a saved consumer state counts as done has its output in a
//! stream saved later. A backup of a busy pipeline is therefore consistent in the way
//! that matters: no command is marked done without its decision.

use async_nats::{Client, Request, jetstream};
use bytes::Bytes;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::time::Duration;
use thiserror::Error;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Format of `manifest.json`; a restore refuses any other.
pub const FORMAT: u32 = 1;
/// Bytes per chunk, both ways (the server's default).
const CHUNK: usize = 128 * 1024;
/// How long a silent server may keep a transfer waiting before it fails.
const IDLE: Duration = Duration::from_secs(30);
/// How long the server may take to finalise a restore (it unpacks the archive).
const FINALISE: Duration = Duration::from_secs(600);

/// Streams saved first, in this order (inputs before the outputs made from them);
/// any stream not named here follows, by name.
const ORDER: &[&str] = &[
    "LH_CMD",
    "LH_FALLBACK",
    "LH_ESC",
    "LH_VOTE",
    "KV_lh_escalations",
    "LH_FS",
    "KV_lh_policy",
    "KV_lh_exceptions",
    "LH_DECISION",
    "LH_ANNOT",
    "OBJ_lh_fs_blobs",
    "LH_DLQ",
];

#[derive(Debug, Error)]
pub enum BackupError {
    #[error("listing streams: {0}")]
    List(String),
    #[error("snapshot of {stream}: {reason}")]
    Snapshot { stream: String, reason: String },
    #[error("restore of {stream}: {reason}")]
    Restore { stream: String, reason: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("manifest: {0}")]
    Manifest(String),
    #[error(
        "streams already exist on the target: {0:?} (restore only into an empty store; \
         delete them first if replacing them is what you want)"
    )]
    Exists(Vec<String>),
}

/// `manifest.json`: what a backup holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: u32,
    /// RFC 3339, when the backup started.
    pub created: String,
    /// In the order they were saved (and are restored).
    pub streams: Vec<Entry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub name: String,
    /// `stream`, `kv` or `object` (from the name: `KV_…`, `OBJ_…`).
    pub kind: String,
    /// Messages and last sequence when the snapshot was taken.
    pub messages: u64,
    pub last_seq: u64,
    /// Durable consumers saved with it.
    pub consumers: u64,
    /// Size and SHA-256 of `<name>.snapshot`.
    pub bytes: u64,
    pub sha256: String,
}

impl Entry {
    fn kind_of(name: &str) -> &'static str {
        if name.starts_with("KV_") {
            "kv"
        } else if name.starts_with("OBJ_") {
            "object"
        } else {
            "stream"
        }
    }
}

/// What a caller hears while a transfer runs (a progress bar, a log line, nothing).
pub trait Progress {
    /// A stream's transfer starts; `total` is its size in bytes when known up front.
    fn start(&mut self, stream: &str, total: Option<u64>);
    /// `bytes` more were moved.
    fn advance(&mut self, bytes: u64);
    /// The stream is done.
    fn finish(&mut self, entry: &Entry);
}

/// No output.
#[derive(Debug, Default)]
pub struct Quiet;

impl Progress for Quiet {
    fn start(&mut self, _: &str, _: Option<u64>) {}
    fn advance(&mut self, _: u64) {}
    fn finish(&mut self, _: &Entry) {}
}

/// Every stream name in the account, in backup order.
pub async fn stream_names(js: &jetstream::Context) -> Result<Vec<String>, BackupError> {
    let mut names = Vec::new();
    let mut list = js.stream_names();
    while let Some(name) = list.next().await {
        names.push(name.map_err(|e| BackupError::List(e.to_string()))?);
    }
    Ok(ordered(names))
}

fn ordered(mut names: Vec<String>) -> Vec<String> {
    names.sort_by_key(|n| {
        (
            ORDER.iter().position(|o| o == n).unwrap_or(ORDER.len()),
            n.clone(),
        )
    });
    names
}

/// Saves every stream into `dir` (created; must be empty or absent).
pub async fn backup(
    client: &Client,
    dir: &Path,
    progress: &mut dyn Progress,
) -> Result<Manifest, BackupError> {
    let js = jetstream::new(client.clone());
    tokio::fs::create_dir_all(dir).await.map_err(io(dir))?;
    if std::fs::read_dir(dir).map_err(io(dir))?.next().is_some() {
        return Err(BackupError::Manifest(format!(
            "{} is not empty (a backup never overwrites another)",
            dir.display()
        )));
    }
    let created = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let mut streams = Vec::new();
    for name in stream_names(&js).await? {
        streams.push(snapshot(client, &name, dir, progress).await?);
    }
    let manifest = Manifest {
        format: FORMAT,
        created,
        streams,
    };
    let path = dir.join("manifest.json");
    let text =
        serde_json::to_vec_pretty(&manifest).map_err(|e| BackupError::Manifest(e.to_string()))?;
    write_synced(&path, &text).await?;
    Ok(manifest)
}

/// One stream's snapshot into `<dir>/<name>.json` + `<dir>/<name>.snapshot`.
async fn snapshot(
    client: &Client,
    name: &str,
    dir: &Path,
    progress: &mut dyn Progress,
) -> Result<Entry, BackupError> {
    let fail = |reason: String| BackupError::Snapshot {
        stream: name.to_owned(),
        reason,
    };
    let inbox = client.new_inbox();
    let mut chunks = client
        .subscribe(inbox.clone())
        .await
        .map_err(|e| fail(e.to_string()))?;
    let request = json!({ "deliver_subject": inbox, "no_consumers": false, "chunk_size": CHUNK });
    let reply = client
        .send_request(
            format!("$JS.API.STREAM.SNAPSHOT.{name}"),
            Request::new()
                .payload(Bytes::from(request.to_string()))
                .timeout(Some(IDLE)),
        )
        .await
        .map_err(|e| fail(e.to_string()))?;
    let info: Value = serde_json::from_slice(&reply.payload).map_err(|e| fail(e.to_string()))?;
    if let Some(error) = info.get("error") {
        return Err(fail(error.to_string()));
    }
    let state = &info["state"];
    progress.start(name, state["bytes"].as_u64());

    let data_path = dir.join(format!("{name}.snapshot"));
    let mut file = tokio::fs::File::create(&data_path)
        .await
        .map_err(io(&data_path))?;
    let mut hash = Sha256::new();
    let mut bytes = 0u64;
    loop {
        let chunk = tokio::time::timeout(IDLE, chunks.next())
            .await
            .map_err(|_| fail(format!("no data for {IDLE:?}")))?
            .ok_or_else(|| fail("subscription closed".into()))?;
        if let Some(status) = chunk.status
            && status.as_u16() >= 400
        {
            return Err(fail(format!(
                "server status {status}: {}",
                chunk.description.unwrap_or_default()
            )));
        }
        if chunk.payload.is_empty() {
            break; // end of the archive
        }
        file.write_all(&chunk.payload)
            .await
            .map_err(io(&data_path))?;
        hash.update(&chunk.payload);
        bytes += chunk.payload.len() as u64;
        progress.advance(chunk.payload.len() as u64);
        // The reply subject is the server's flow control: it sends more once acked.
        if let Some(ack) = chunk.reply {
            client
                .publish(ack, Bytes::new())
                .await
                .map_err(|e| fail(e.to_string()))?;
        }
    }
    file.sync_all().await.map_err(io(&data_path))?;
    drop(file);
    let meta_path = dir.join(format!("{name}.json"));
    write_synced(&meta_path, &reply.payload).await?;
    let entry = Entry {
        name: name.to_owned(),
        kind: Entry::kind_of(name).to_owned(),
        messages: state["messages"].as_u64().unwrap_or(0),
        last_seq: state["last_seq"].as_u64().unwrap_or(0),
        consumers: state["consumer_count"].as_u64().unwrap_or(0),
        bytes,
        sha256: hex(&hash.finalize()),
    };
    progress.finish(&entry);
    Ok(entry)
}

/// Reads and checks `<dir>/manifest.json` and every file it names.
pub async fn verify(dir: &Path) -> Result<Manifest, BackupError> {
    let path = dir.join("manifest.json");
    let text = tokio::fs::read(&path).await.map_err(io(&path))?;
    let manifest: Manifest =
        serde_json::from_slice(&text).map_err(|e| BackupError::Manifest(e.to_string()))?;
    if manifest.format != FORMAT {
        return Err(BackupError::Manifest(format!(
            "format {} (this version reads {FORMAT})",
            manifest.format
        )));
    }
    for entry in &manifest.streams {
        let data = dir.join(format!("{}.snapshot", entry.name));
        let mut file = tokio::fs::File::open(&data).await.map_err(io(&data))?;
        let mut hash = Sha256::new();
        let mut buf = vec![0; CHUNK];
        let mut bytes = 0u64;
        loop {
            let n = file.read(&mut buf).await.map_err(io(&data))?;
            if n == 0 {
                break;
            }
            hash.update(&buf[..n]);
            bytes += n as u64;
        }
        if bytes != entry.bytes || hex(&hash.finalize()) != entry.sha256 {
            return Err(BackupError::Manifest(format!(
                "{} does not match the manifest (size or SHA-256): the backup is damaged",
                data.display()
            )));
        }
    }
    Ok(manifest)
}

/// Restores every stream of the backup in `dir`. `replicas`, when given, replaces the
/// saved replica count (an R3 backup into a single dev server, or the reverse).
pub async fn restore(
    client: &Client,
    dir: &Path,
    replicas: Option<usize>,
    progress: &mut dyn Progress,
) -> Result<Manifest, BackupError> {
    let manifest = verify(dir).await?;
    let js = jetstream::new(client.clone());
    let present = stream_names(&js).await?;
    let clash: Vec<String> = manifest
        .streams
        .iter()
        .filter(|e| present.contains(&e.name))
        .map(|e| e.name.clone())
        .collect();
    if !clash.is_empty() {
        return Err(BackupError::Exists(clash));
    }
    for entry in &manifest.streams {
        restore_one(client, dir, entry, replicas, progress).await?;
    }
    Ok(manifest)
}

async fn restore_one(
    client: &Client,
    dir: &Path,
    entry: &Entry,
    replicas: Option<usize>,
    progress: &mut dyn Progress,
) -> Result<(), BackupError> {
    let name = &entry.name;
    let fail = |reason: String| BackupError::Restore {
        stream: name.clone(),
        reason,
    };
    let meta_path = dir.join(format!("{name}.json"));
    let meta = tokio::fs::read(&meta_path).await.map_err(io(&meta_path))?;
    let meta: Value = serde_json::from_slice(&meta).map_err(|e| fail(e.to_string()))?;
    let mut config = meta["config"].clone();
    if let Some(n) = replicas {
        config["num_replicas"] = json!(n);
    }
    let request = json!({ "config": config, "state": meta["state"] });
    let reply = client
        .send_request(
            format!("$JS.API.STREAM.RESTORE.{name}"),
            Request::new()
                .payload(Bytes::from(request.to_string()))
                .timeout(Some(IDLE)),
        )
        .await
        .map_err(|e| fail(e.to_string()))?;
    let answer: Value = serde_json::from_slice(&reply.payload).map_err(|e| fail(e.to_string()))?;
    if let Some(error) = answer.get("error") {
        return Err(fail(error.to_string()));
    }
    let deliver = answer["deliver_subject"]
        .as_str()
        .ok_or_else(|| fail(format!("no deliver_subject in {answer}")))?
        .to_owned();
    progress.start(name, Some(entry.bytes));
    let data_path = dir.join(format!("{name}.snapshot"));
    let mut file = tokio::fs::File::open(&data_path)
        .await
        .map_err(io(&data_path))?;
    let mut buf = vec![0; CHUNK];
    loop {
        let n = read_full(&mut file, &mut buf)
            .await
            .map_err(io(&data_path))?;
        if n == 0 {
            break;
        }
        // Each chunk is a request: the server answers once it has stored it, or with
        // an error, which ends the restore.
        let ack = client
            .send_request(
                deliver.clone(),
                Request::new()
                    .payload(Bytes::copy_from_slice(&buf[..n]))
                    .timeout(Some(IDLE)),
            )
            .await
            .map_err(|e| fail(e.to_string()))?;
        if !ack.payload.is_empty() {
            return Err(fail(String::from_utf8_lossy(&ack.payload).into_owned()));
        }
        progress.advance(n as u64);
    }
    // The empty chunk ends the upload; the answer comes once the server has unpacked it.
    let done = client
        .send_request(
            deliver,
            Request::new().payload(Bytes::new()).timeout(Some(FINALISE)),
        )
        .await
        .map_err(|e| fail(e.to_string()))?;
    let info: Value = serde_json::from_slice(&done.payload).map_err(|e| fail(e.to_string()))?;
    if let Some(error) = info.get("error") {
        return Err(fail(error.to_string()));
    }
    let state = &info["state"];
    let (messages, last_seq) = (
        state["messages"].as_u64().unwrap_or(0),
        state["last_seq"].as_u64().unwrap_or(0),
    );
    if (messages, last_seq) != (entry.messages, entry.last_seq) {
        return Err(fail(format!(
            "restored {messages} messages up to sequence {last_seq}, the backup holds {} up to {}",
            entry.messages, entry.last_seq
        )));
    }
    progress.finish(entry);
    Ok(())
}

/// Fills `buf` unless the file ends first; returns how much was read.
async fn read_full(file: &mut tokio::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        let n = file.read(&mut buf[filled..]).await?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    Ok(filled)
}

async fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), BackupError> {
    let mut file = tokio::fs::File::create(path).await.map_err(io(path))?;
    file.write_all(bytes).await.map_err(io(path))?;
    file.sync_all().await.map_err(io(path))
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io {
        path: path.to_owned(),
        source,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_are_saved_before_outputs() {
        let names = ordered(
            [
                "LH_DECISION",
                "ZZ_OTHER",
                "OBJ_lh_fs_blobs",
                "LH_FS",
                "LH_CMD",
                "KV_lh_workers",
                "LH_ANNOT",
            ]
            .map(String::from)
            .to_vec(),
        );
        assert_eq!(
            names,
            [
                "LH_CMD",
                "LH_FS",
                "LH_DECISION",
                "LH_ANNOT",
                "OBJ_lh_fs_blobs",
                "KV_lh_workers",
                "ZZ_OTHER"
            ]
        );
    }

    #[test]
    fn kinds_come_from_the_stream_name() {
        assert_eq!(Entry::kind_of("KV_lh_policy"), "kv");
        assert_eq!(Entry::kind_of("OBJ_lh_fs_blobs"), "object");
        assert_eq!(Entry::kind_of("LH_CMD"), "stream");
    }
}
