//! `lighthouse sync [DIR]`: imports or refreshes a whole tree into `LH_FS`.
//!
//! Walks `DIR` honouring `.gitignore` (also outside a git repository) and
//! `.lighthouseignore`, compares each file with the latest version on the stream (one
//! pass over the stream with a last-per-subject consumer, not a request per file), and
//! publishes only what changed, plus deletions for files the stream has but the tree no
//! longer does. Publishing is pipelined.

use crate::files::{FileError, Origin, Project, content_tag, publish, read_version};
use anyhow::Context as _;
use async_nats::jetstream::{self, consumer};
use futures::StreamExt;
use lighthouse_nats::topology::FS_STREAM;
use lighthouse_schemas::{FileContent, FileVersion, Token, decode, subject};
use serde::Serialize;
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

/// What a sync did.
#[derive(Debug, Default, Clone, Serialize, PartialEq, Eq)]
pub struct SyncReport {
    pub project: String,
    pub scanned: usize,
    pub published: usize,
    pub unchanged: usize,
    pub deleted: usize,
    pub masked: usize,
    pub refused: usize,
}

/// Enough of a version to tell whether the file changed.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Fingerprint {
    tag: &'static str,
    sha256: String,
    size: u64,
    mtime_us: u64,
}

impl Fingerprint {
    fn of(v: &FileVersion) -> Fingerprint {
        let tag = match content_tag(&v.content) {
            // Inline and object are the same content, stored differently.
            "object" => "inline",
            t => t,
        };
        Fingerprint {
            tag,
            sha256: v.sha256.clone(),
            size: v.size,
            // Unread content (masked, too large) only changes through its metadata.
            mtime_us: if v.sha256.is_empty() { v.mtime_us } else { 0 },
        }
    }
}

/// The latest version of every file of `project` on the stream, by path.
async fn latest_versions(
    js: &jetstream::Context,
    project: &str,
) -> anyhow::Result<HashMap<String, Fingerprint>> {
    let stream = js.get_stream(FS_STREAM).await.context("LH_FS stream")?;
    let mut consumer = stream
        .create_consumer(consumer::pull::OrderedConfig {
            filter_subject: subject::file_project_filter(&Token::encode(project)),
            deliver_policy: consumer::DeliverPolicy::LastPerSubject,
            ..Default::default()
        })
        .await?;
    let pending = consumer.info().await?.num_pending as usize;
    let mut out = HashMap::with_capacity(pending);
    if pending == 0 {
        return Ok(out);
    }
    let mut messages = consumer.messages().await?;
    let mut seen = 0;
    while seen < pending {
        let m = tokio::time::timeout(Duration::from_secs(30), messages.next())
            .await
            .context("reading LH_FS timed out")?
            .context("LH_FS consumer ended")??;
        seen += 1;
        // Another project's name could encode to the same prefix only if equal.
        if let Ok(v) = decode::<FileVersion>(&m.payload)
            && v.env.project == project
        {
            out.insert(v.path.clone(), Fingerprint::of(&v));
        }
    }
    Ok(out)
}

/// What a sync reports while it runs (the CLI draws a progress bar; `()` shows nothing).
pub trait Progress {
    fn start(&self, _files: usize) {}
    fn step(&self) {}
    fn publishing(&self) {}
    fn finish(&self) {}
}

impl Progress for () {}

/// Syncs `dir` (inside its project) into `LH_FS`.
pub async fn sync(
    js: &jetstream::Context,
    dir: &Path,
    configured_project: Option<&str>,
    agent: &str,
    max_file_bytes: u64,
    progress: &dyn Progress,
) -> anyhow::Result<SyncReport> {
    let project = Project::enclosing(dir, configured_project)?;
    let dir = dir.canonicalize()?;
    let latest = latest_versions(js, &project.name).await?;
    let files = crate::files::walk(&project, &dir, usize::MAX);
    let mut report = SyncReport {
        project: project.name.clone(),
        scanned: files.len(),
        ..Default::default()
    };
    progress.start(files.len());
    let origin = Origin {
        agent: agent.to_owned(),
        tool: "sync".to_owned(),
        tool_use_id: None,
    };
    let mut on_disk = std::collections::HashSet::new();
    let mut to_publish = Vec::new();
    for file in &files {
        progress.step();
        let version = project
            .relative(&project.root, file)
            .and_then(|rel| read_version(&project, &rel, &origin, max_file_bytes));
        let version = match version {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(error = %e, "sync_file_refused");
                report.refused += 1;
                continue;
            }
        };
        on_disk.insert(version.path.clone());
        if matches!(version.content, FileContent::Masked { .. }) {
            report.masked += 1;
        }
        if latest.get(&version.path) == Some(&Fingerprint::of(&version)) {
            report.unchanged += 1;
        } else {
            to_publish.push(version);
        }
    }
    // Files the stream shows (not yet deleted) under `dir` that are gone from disk.
    let prefix = project
        .relative(&project.root, &dir)
        .ok()
        .map(|p| format!("{p}/"));
    for (path, fp) in &latest {
        let under = prefix.as_deref().is_none_or(|p| path.starts_with(p));
        if under && fp.tag != "deleted" && !on_disk.contains(path) {
            match read_version(&project, path, &origin, max_file_bytes) {
                Ok(v) if v.content == FileContent::Deleted => {
                    report.deleted += 1;
                    to_publish.push(v);
                }
                // Still on disk but no longer walked (now ignored): leave it.
                _ => {}
            }
        }
    }
    progress.publishing();
    let mut results = futures::stream::iter(to_publish)
        .map(|v| publish(js, v))
        .buffer_unordered(64);
    let mut first_error: Option<FileError> = None;
    while let Some(result) = results.next().await {
        match result {
            Ok(_) => report.published += 1,
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    progress.finish();
    if let Some(e) = first_error {
        return Err(e).context("publishing file versions");
    }
    Ok(report)
}
