//! The annotator's NATS loop over `LH_FS`.

use crate::store::{ProjectFile, load, publish};
use lighthouse_anchor::Language;
use lighthouse_anchor::annotations::reanchor;
use lighthouse_nats::presence::{self, Presence, WorkerKind};
use lighthouse_nats::topology::{ANNOTATOR_GROUP, FS_STREAM, Topology, TopologyError};
use lighthouse_nats::worker::{ConsumeOptions, Delivery, Outcome, WorkerStats, consume_group};
use lighthouse_schemas::msg::{AnnotationStatus, FileContent, FileVersion, is_safe_relative_path};
use lighthouse_schemas::{decode, now_us, subject};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;
use tokio::io::AsyncReadExt as _;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

#[derive(Debug, Clone)]
pub struct AnnotatorConfig {
    pub worker_id: String,
    pub consume: ConsumeOptions,
}

#[derive(Debug, Error)]
pub enum AnnotatorError {
    #[error("topology: {0}")]
    Topology(#[from] TopologyError),
    #[error("no consumer group {ANNOTATOR_GROUP} on {FS_STREAM} in nats/consumers")]
    NoGroup,
    #[error(transparent)]
    Worker(#[from] lighthouse_nats::worker::WorkerError),
    #[error(transparent)]
    Helper(#[from] lighthouse_nats::supervise::HelperEnded),
}

/// Runs one annotator replica until `shutdown`.
pub async fn run(
    client: async_nats::Client,
    config: AnnotatorConfig,
    shutdown: CancellationToken,
) -> Result<(), AnnotatorError> {
    let js = async_nats::jetstream::new(client);
    let topology = Topology::embedded()?;
    topology.ensure_present(&js, &[FS_STREAM]).await?;
    let group = topology
        .group(FS_STREAM, ANNOTATOR_GROUP)
        .ok_or(AnnotatorError::NoGroup)?
        .clone();
    info!(worker_id = %config.worker_id, "annotator started");
    let shutdown = shutdown.child_token();
    let stats = Arc::new(WorkerStats::default());
    let started_ms = now_us() / 1000;
    // Present while it runs (`lighthouse status`), gone once it stopped.
    let heartbeat = {
        let (stats, id) = (stats.clone(), config.worker_id.clone());
        presence::spawn_heartbeat(&js, &shutdown, move || {
            stats.counted_in(Presence::of_this_process(
                WorkerKind::Annotator,
                &id,
                started_ms,
            ))
        })
    };
    let handler = {
        let js = js.clone();
        move |delivery: Delivery| {
            let js = js.clone();
            async move { handle(&js, delivery).await }
        }
    };
    // A heartbeat that died (a panic) cancelled `shutdown` to get here: its end is the
    // annotator's error, so it is started again rather than looking absent.
    let consumed = consume_group(js, group, config.consume, stats, handler, shutdown.clone()).await;
    shutdown.cancel();
    let heartbeat = heartbeat.join().await;
    info!(worker_id = %config.worker_id, "annotator stopped");
    consumed?;
    Ok(heartbeat?)
}

/// Largest file re-anchored (the engine's own bound).
const MAX_SOURCE: usize = lighthouse_anchor::MAX_SOURCE_BYTES;

async fn handle(js: &async_nats::jetstream::Context, delivery: Delivery) -> Outcome {
    let subject_name = delivery.message.subject.to_string();
    if subject::parse_file(&subject_name).is_none() {
        return Outcome::Poison(format!("not a file subject: {subject_name}"));
    }
    let version: FileVersion = match decode(&delivery.message.payload) {
        Ok(v) => v,
        Err(e) => return Outcome::Poison(e.to_string()),
    };
    if !is_safe_relative_path(&version.path) {
        return Outcome::Poison(format!("unsafe path {:?}", version.path));
    }
    let Ok(lang) = Language::from_path(Path::new(&version.path)) else {
        return Outcome::Done; // not a language the engine anchors in
    };
    let file = ProjectFile {
        project: version.env.project.clone(),
        path: version.path.clone(),
    };
    let annotations = match load(js, &file).await {
        Ok(a) if a.is_empty() => return Outcome::Done,
        Ok(a) => a,
        Err(e) => {
            warn!(error = %e, "annotations_unreadable");
            return Outcome::retry(Duration::from_secs(1), e);
        }
    };
    // (Most files have no annotations, so that is asked first.) Only the newest version
    // of a file matters; an older one delivered late (another replica, a redelivery)
    // would move annotations backwards. Not knowing which is newest is a retry, not a
    // guess.
    match newest_sequence(js, &subject_name).await {
        Ok(Some(last)) if last > delivery.stream_sequence => return Outcome::Done,
        Ok(_) => {}
        Err(e) => {
            warn!(error = %e, "newest_version_unknown");
            return Outcome::retry(Duration::from_secs(1), e);
        }
    }
    let source = match &version.content {
        FileContent::Inline(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        FileContent::Object { bucket, name } => match fetch(js, bucket, name).await {
            Ok(text) => text,
            Err(e) => {
                warn!(error = %e, "object_unreadable");
                return Outcome::retry(Duration::from_secs(1), e);
            }
        },
        FileContent::Deleted => {
            return record(js, orphan_all(annotations, &version)).await;
        }
        // No content to anchor in: leave the annotations as they were.
        FileContent::Masked { .. } | FileContent::TooLarge { .. } => return Outcome::Done,
    };
    match reanchor(&annotations, &source, lang) {
        Ok(changed) => record(js, changed).await,
        Err(e) => {
            // A file that does not parse now will be retried with its next version.
            debug!(error = %e, path = %version.path, "reanchor_skipped");
            Outcome::Done
        }
    }
}

fn orphan_all(
    annotations: Vec<lighthouse_schemas::msg::Annotation>,
    version: &FileVersion,
) -> Vec<lighthouse_schemas::msg::Annotation> {
    annotations
        .into_iter()
        .filter(|a| a.status != AnnotationStatus::Orphaned)
        .map(|mut a| {
            a.status = AnnotationStatus::Orphaned;
            a.line = None;
            a.end_line = None;
            a.resolved_version = Some(format!("deleted@{}", version.env.id));
            a.env.ts_us = now_us();
            a
        })
        .collect()
}

async fn record(
    js: &async_nats::jetstream::Context,
    changed: Vec<lighthouse_schemas::msg::Annotation>,
) -> Outcome {
    for annotation in &changed {
        if let Err(e) = publish(js, annotation).await {
            warn!(error = %e, "annotation_publish_failed");
            return match e.downcast_ref::<lighthouse_nats::publish::PublishError>() {
                Some(e) => Outcome::from_publish(e, Duration::from_millis(500)),
                None => Outcome::Permanent(format!("annotation cannot be published: {e}")),
            };
        }
    }
    Outcome::Done
}

/// The stream sequence of the newest version of the file on `subject` (None: none).
async fn newest_sequence(
    js: &async_nats::jetstream::Context,
    subject: &str,
) -> Result<Option<u64>, async_nats::Error> {
    let stream = js.get_stream_no_info(FS_STREAM).await?;
    match stream.direct_get_last_for_subject(subject).await {
        Ok(last) => Ok(Some(last.sequence)),
        Err(e) if e.kind() == async_nats::jetstream::stream::DirectGetErrorKind::NotFound => {
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

async fn fetch(
    js: &async_nats::jetstream::Context,
    bucket: &str,
    name: &str,
) -> anyhow::Result<String> {
    let store = js.get_object_store(bucket).await?;
    let object = store.get(name).await?;
    let mut bytes = Vec::new();
    object
        .take(MAX_SOURCE as u64 + 1)
        .read_to_end(&mut bytes)
        .await?;
    anyhow::ensure!(
        bytes.len() <= MAX_SOURCE,
        "{name} is over {MAX_SOURCE} bytes"
    );
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}
