//! Replay and time travel.
//!
//! - `lighthouse replay --from SEQ|TIME [--to SEQ|TIME] --into DIR [--projection P]`:
//!   rebuilds a projection from the streams into a fresh directory, through the same
//!   code the projector follows the streams with (`lighthouse_projector::follow::apply`
//!   over its pure model): `view` (`LH_FS`: the files as they were, and `versions.txt`),
//!   `annotations` (`LH_ANNOT`: the notes per file), `escalations` (`LH_ESC` +
//!   `LH_DECISION`: pending and decided), or `all`. The layout is the FUSE view's;
//!   `replay.json` records what was read.
//! - `lighthouse history FILE [--at TIME | --version V]`: a file's versions, or its
//!   content at a moment.
//! - `lighthouse bench replay`: replay rate against a raw ordered consumer's rate over
//!   the same stream, measured in the same run.

use anyhow::Context as _;
use async_nats::jetstream;
use bytes::Bytes;
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use lighthouse_nats::scan::{self, From};
use lighthouse_nats::topology::{DECISION_STREAM, FS_STREAM};
use lighthouse_projector::follow::{ANNOT_STREAM, ESC_STREAM};
use lighthouse_projector::model::{Body, Entry, Tree};
use lighthouse_projector::view::{ContentSource, Shared, SourceError};
use lighthouse_schemas::{FileVersion, decode};
use serde::Serialize;
use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;
use time::OffsetDateTime;

/// A position in a stream: a sequence, or a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    Seq(u64),
    Time(OffsetDateTime),
}

impl Position {
    /// A number is a stream sequence; anything else a time (RFC 3339 or an age: `2h`).
    pub fn parse(text: &str) -> anyhow::Result<Position> {
        let text = text.trim();
        if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(Position::Seq(text.parse()?));
        }
        Ok(Position::Time(lighthouse_mcp::files::parse_time(text)?))
    }

    fn start(self) -> From {
        match self {
            Position::Seq(s) => From::Seq(s),
            Position::Time(t) => From::Time(t),
        }
    }

    /// Whether a message at (`seq`, `time`) is past this end.
    fn past(self, seq: u64, time: OffsetDateTime) -> bool {
        match self {
            Position::Seq(s) => seq > s,
            Position::Time(t) => time > t,
        }
    }
}

/// Which projection to rebuild.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Projection {
    /// The FUSE view's files and history (LH_FS).
    View,
    /// The annotation store (LH_ANNOT).
    Annotations,
    /// The escalation table (LH_ESC and LH_DECISION).
    Escalations,
    /// All of them.
    All,
}

impl Projection {
    pub fn streams(self) -> &'static [&'static str] {
        match self {
            Projection::View => &[FS_STREAM],
            Projection::Annotations => &[ANNOT_STREAM],
            Projection::Escalations => &[ESC_STREAM, DECISION_STREAM],
            Projection::All => &[FS_STREAM, ANNOT_STREAM, ESC_STREAM, DECISION_STREAM],
        }
    }
}

/// What one stream's replay did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StreamReplay {
    pub first_seq: Option<u64>,
    pub last_seq: Option<u64>,
    pub applied: u64,
    /// Messages the model refused (unsafe paths, undecodable), with the first reasons.
    pub rejected: u64,
    pub reasons: Vec<String>,
}

/// What `replay` did.
#[derive(Debug, Clone, Serialize)]
pub struct ReplayReport {
    pub into: PathBuf,
    pub streams: BTreeMap<String, StreamReplay>,
    pub projects: usize,
    pub files_written: u64,
    pub seconds: f64,
}

/// The projector's model needs no content to be built; contents are read here.
struct NoContent;

impl ContentSource for NoContent {
    fn fetch_message(&self, _: u64) -> Result<Bytes, SourceError> {
        Err(SourceError::NotFound)
    }
    fn fetch_object(&self, _: &str, _: &str) -> Result<Bytes, SourceError> {
        Err(SourceError::NotFound)
    }
}

fn bar(show: bool, label: &str) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{label:<12} {{bar:30}} {{pos}}/{{len}} {{per_sec}} {{eta}}"
        ))
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

/// Messages handed from the reader to the applier at once.
const BATCH: usize = 1024;

/// Applies `stream` from `from` to `to` to the model in `shared`. Reading and applying
/// overlap: the ordered consumer keeps reading while a thread of its own decodes and
/// applies the previous batches (bounded: the reader waits when it is 16 batches ahead).
pub async fn apply_stream(
    js: &jetstream::Context,
    shared: &Arc<Shared>,
    stream: &'static str,
    from: Position,
    to: Option<Position>,
    progress: bool,
) -> anyhow::Result<StreamReplay> {
    if js.get_stream_no_info(stream).await.is_err() {
        return Ok(StreamReplay::default());
    }
    let bar = bar(progress, stream);
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<scan::Scanned>>(16);
    let model = shared.clone();
    let applier = std::thread::spawn(move || {
        let mut report = StreamReplay::default();
        for batch in rx {
            for m in batch {
                report.first_seq.get_or_insert(m.seq);
                report.last_seq = Some(m.seq);
                let stored_us = u64::try_from(m.time.unix_timestamp_nanos() / 1000).unwrap_or(0);
                match lighthouse_projector::follow::apply(
                    &model, stream, &m.subject, m.seq, stored_us, &m.payload,
                ) {
                    Ok(_) => report.applied += 1,
                    Err(reason) => {
                        report.rejected += 1;
                        if report.reasons.len() < 10 {
                            report.reasons.push(format!("seq {}: {reason}", m.seq));
                        }
                    }
                }
            }
        }
        report
    });
    let mut batch = Vec::with_capacity(BATCH);
    let mut applier_gone = false;
    let read = scan::scan(
        js,
        stream,
        "",
        from.start(),
        |extent| bar.set_length(extent.matching),
        |m| {
            if to.is_some_and(|to| to.past(m.seq, m.time)) {
                return ControlFlow::Break(());
            }
            bar.inc(1);
            batch.push(m);
            if batch.len() == BATCH {
                let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                if tokio::task::block_in_place(|| tx.send(full)).is_err() {
                    applier_gone = true;
                    return ControlFlow::Break(());
                }
            }
            ControlFlow::Continue(())
        },
    )
    .await;
    if !batch.is_empty() {
        let _ = tx.send(batch);
    }
    drop(tx);
    let report = tokio::task::block_in_place(|| applier.join())
        .map_err(|_| anyhow::anyhow!("replaying {stream}: the applier panicked"))?;
    read?;
    anyhow::ensure!(!applier_gone, "replaying {stream}: the applier stopped");
    bar.finish_and_clear();
    Ok(report)
}

/// Every file of a tree with its path.
fn walk<'a>(
    tree: &'a Tree,
    dir: &str,
    out: &mut Vec<(String, &'a lighthouse_projector::model::FileRef)>,
) {
    let Some(d) = tree.dir(dir) else { return };
    for (name, entry) in &d.entries {
        let path = lighthouse_projector::model::join(dir, name);
        match entry {
            Entry::Dir => walk(tree, &path, out),
            Entry::File(f) => out.push((path, f)),
        }
    }
}

fn write_file(root: &Path, rel: &str, bytes: &[u8]) -> anyhow::Result<()> {
    let path = root.join(rel);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))
}

/// The bytes of the `LH_FS` version at `seq`.
async fn version_bytes(js: &jetstream::Context, seq: u64) -> anyhow::Result<Vec<u8>> {
    let stream = js.get_stream_no_info(FS_STREAM).await?;
    let message = stream.direct_get(seq).await?;
    let version: FileVersion = decode(&message.payload)?;
    Ok(lighthouse_mcp::files::content(js, &version)
        .await?
        .unwrap_or_default())
}

/// `lighthouse replay`: rebuilds `projection` into the fresh directory `into`.
pub async fn replay(
    js: &jetstream::Context,
    projection: Projection,
    from: Position,
    to: Option<Position>,
    into: &Path,
    progress: bool,
) -> anyhow::Result<ReplayReport> {
    if into.exists() && std::fs::read_dir(into)?.next().is_some() {
        anyhow::bail!(
            "{} is not empty: replay writes into a fresh directory",
            into.display()
        );
    }
    std::fs::create_dir_all(into)?;
    let started = Instant::now();
    let shared = Arc::new(Shared::new(Box::new(NoContent), 0, false));
    let mut streams = BTreeMap::new();
    for stream in projection.streams() {
        let report = apply_stream(js, &shared, stream, from, to, progress).await?;
        streams.insert((*stream).to_owned(), report);
    }
    // Materialise: the model's namespace as files, contents read from the log.
    let mut writes: Vec<(String, Option<u64>, Vec<u8>)> = Vec::new();
    let projects = {
        let model = shared.model.read().unwrap_or_else(|e| e.into_inner());
        for (name, p) in &model.projects {
            if matches!(projection, Projection::View | Projection::All) {
                let mut files = Vec::new();
                walk(&p.current, "", &mut files);
                for (path, f) in files {
                    let rel = format!("{name}/current/{path}");
                    match &f.body {
                        Body::Stream => writes.push((rel, Some(f.seq), Vec::new())),
                        Body::Notice(text) => writes.push((rel, None, text.to_vec())),
                    }
                }
                if !p.history.is_empty() {
                    writes.push((
                        format!("{name}/history/versions.txt"),
                        None,
                        p.versions_txt().to_vec(),
                    ));
                }
            }
            if matches!(projection, Projection::Annotations | Projection::All) {
                for (path, notes) in &p.annotations {
                    let md = lighthouse_projector::model::render_annotations(path, notes);
                    writes.push((format!("{name}/annotations/{path}.md"), None, md.to_vec()));
                }
            }
            if matches!(projection, Projection::Escalations | Projection::All) {
                for (file, e) in &p.escalations {
                    let state = if p.is_decided(&e.cmd_id) {
                        "decided"
                    } else {
                        "pending"
                    };
                    writes.push((
                        format!("{name}/escalations/{state}/{file}"),
                        None,
                        e.json.to_vec(),
                    ));
                }
            }
        }
        model.projects.len()
    };
    let bar = bar(progress, "writing");
    bar.set_length(writes.len() as u64);
    let mut written = 0u64;
    let mut contents =
        futures::stream::iter(writes.into_iter().map(|(rel, seq, bytes)| async move {
            match seq {
                Some(seq) => version_bytes(js, seq).await.map(|b| (rel, b)),
                None => Ok((rel, bytes)),
            }
        }))
        .buffer_unordered(32);
    while let Some(next) = contents.next().await {
        let (rel, bytes) = next?;
        write_file(into, &rel, &bytes)?;
        written += 1;
        bar.inc(1);
    }
    bar.finish_and_clear();
    let report = ReplayReport {
        into: into.to_owned(),
        streams,
        projects,
        files_written: written,
        seconds: started.elapsed().as_secs_f64(),
    };
    std::fs::write(
        into.join("replay.json"),
        serde_json::to_vec_pretty(&report)?,
    )?;
    Ok(report)
}

/// `lighthouse history`: a file's versions, or (with a version or time) its content.
pub async fn history(
    js: &jetstream::Context,
    project: &str,
    path: &str,
    which: Option<lighthouse_mcp::files::Which>,
    json: bool,
    mut out: impl std::io::Write,
) -> anyhow::Result<()> {
    let versions = lighthouse_mcp::files::history(js, project, path).await?;
    anyhow::ensure!(
        !versions.is_empty(),
        "{project} has no file {path} on the log"
    );
    match which {
        None => {
            if json {
                let infos: Vec<_> = versions.iter().map(|v| &v.info).collect();
                writeln!(out, "{}", serde_json::to_string_pretty(&infos)?)?;
            } else {
                writeln!(out, "# seq\tstored\tsize\tcontent\tsha256\ttool\tcmd_id")?;
                for v in &versions {
                    let i = &v.info;
                    writeln!(
                        out,
                        "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                        i.seq,
                        i.stored,
                        i.size,
                        i.content,
                        i.sha256.get(..12).unwrap_or(&i.sha256),
                        i.tool,
                        i.cmd_id
                    )?;
                }
            }
        }
        Some(which) => {
            let v = which.pick(&versions).ok_or_else(|| {
                anyhow::anyhow!("{path}: no such version ({} versions)", versions.len())
            })?;
            let bytes = lighthouse_mcp::files::content(js, &v.file).await?;
            match bytes {
                Some(b) => out.write_all(&b)?,
                None => anyhow::bail!(
                    "{path} at seq {}: {}",
                    v.info.seq,
                    lighthouse_mcp::files::text_of(&v.file, None)
                        .note
                        .unwrap_or_default()
                ),
            }
        }
    }
    Ok(())
}

/// `lighthouse bench replay`: figures.
#[derive(Debug, Clone, Serialize)]
pub struct ReplayBench {
    pub events: u64,
    pub files: u64,
    pub raw_ordered_per_s: f64,
    pub replay_per_s: f64,
    /// replay rate / raw ordered consumer rate.
    pub ratio: f64,
    pub raw_seconds: f64,
    pub replay_seconds: f64,
}

impl ReplayBench {
    pub fn render(&self) -> String {
        format!(
            "replay of {} LH_FS events ({} files), same run:\n  \
             raw ordered consumer  {:>10.0} events/s ({:.2} s)\n  \
             replay into the view  {:>10.0} events/s ({:.2} s)\n  \
             ratio                 {:>10.2}\n",
            self.events,
            self.files,
            self.raw_ordered_per_s,
            self.raw_seconds,
            self.replay_per_s,
            self.replay_seconds,
            self.ratio
        )
    }
}

/// Publishes `events` file versions over `files` paths into a fresh server, then reads
/// the stream twice: raw (an ordered consumer, nothing done per message) and replaying
/// (decode + the projector's model), and reports both rates.
pub async fn bench(
    settings: &crate::settings::Settings,
    events: u64,
    files: u64,
) -> anyhow::Result<ReplayBench> {
    let crate::bench::BenchServer {
        dir: _dir,
        server: _server,
        client,
        ..
    } = crate::bench::BenchServer::start(settings).await?;
    let js = jetstream::new(client.clone());
    lighthouse_nats::topology::Topology::embedded()?
        .apply(&js)
        .await?;
    let files = files.max(1);
    eprintln!("bench: publishing {events} file versions over {files} files");
    let mut acks = futures::stream::FuturesUnordered::new();
    for i in 0..events {
        let path = format!("src/m{}/f{}.py", (i % files) / 100, i % files);
        let body = format!("# version {i}\ndef f():\n    return {i}\n").into_bytes();
        let version = FileVersion {
            env: lighthouse_schemas::Envelope::new(
                format!("b-{i}"),
                lighthouse_schemas::now_us(),
                "bench",
                "bench-agent",
                format!("cmd-{i}"),
            ),
            path: path.clone(),
            sha256: String::new(),
            size: body.len() as u64,
            content: lighthouse_schemas::FileContent::Inline(body),
            mtime_us: lighthouse_schemas::now_us(),
            executable: false,
            tool: "Write".into(),
            tool_use_id: None,
        };
        let subject = lighthouse_mcp::files::file_subject("bench", &path);
        acks.push(
            js.publish(subject, lighthouse_schemas::encode(&version)?.into())
                .await?
                .into_future(),
        );
        // Bounded in flight: the server keeps up, memory stays flat.
        while acks.len() >= 4096 {
            if let Some(ack) = acks.next().await {
                ack?;
            }
        }
    }
    while let Some(ack) = acks.next().await {
        ack?;
    }
    // Raw: the same ordered read, nothing done per message.
    let started = Instant::now();
    let mut raw = 0u64;
    scan::scan(
        &js,
        FS_STREAM,
        "",
        From::First,
        |_| {},
        |m| {
            raw += m.payload.len().min(1) as u64;
            ControlFlow::Continue(())
        },
    )
    .await?;
    let raw_seconds = started.elapsed().as_secs_f64();
    // Replay: decode and apply to the projector's model, as `lighthouse replay` does.
    let shared = Arc::new(Shared::new(Box::new(NoContent), 0, false));
    let started = Instant::now();
    let report = apply_stream(&js, &shared, FS_STREAM, Position::Seq(1), None, false).await?;
    let replay_seconds = started.elapsed().as_secs_f64();
    anyhow::ensure!(
        raw == events && report.applied == events,
        "read {raw} raw and replayed {} of {events} events",
        report.applied
    );
    let raw_rate = events as f64 / raw_seconds.max(1e-9);
    let replay_rate = events as f64 / replay_seconds.max(1e-9);
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), client.drain()).await;
    Ok(ReplayBench {
        events,
        files,
        raw_ordered_per_s: raw_rate,
        replay_per_s: replay_rate,
        ratio: replay_rate / raw_rate,
        raw_seconds,
        replay_seconds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_sequences_or_times() {
        assert_eq!(Position::parse("120").unwrap(), Position::Seq(120));
        assert!(matches!(
            Position::parse("2026-11-29T10:00:00Z").unwrap(),
            Position::Time(_)
        ));
        assert!(matches!(Position::parse("15m").unwrap(), Position::Time(_)));
        assert!(Position::parse("soon").is_err());
        let t = OffsetDateTime::now_utc();
        assert!(Position::Seq(5).past(6, t));
        assert!(!Position::Seq(5).past(5, t));
        assert!(Position::Time(t).past(1, t + time::Duration::seconds(1)));
    }
}
