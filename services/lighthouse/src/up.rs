//! `lighthouse up`: the whole pipeline on one machine.
//!
//! Finds or installs nats-server, starts it with JetStream in the data dir, applies
//! `nats/`, publishes what the hook spooled while nothing ran, runs a validator and an
//! escalation aggregator in-process, records where it listens (so hooks find it),
//! prints one ready line, and on SIGINT/SIGTERM stops the workers, drains, and stops
//! the server.

use crate::settings::Settings;
use anyhow::Context as _;
use lighthouse_nats::server::{ServerOptions, ServerProcess, ensure_binary};
use lighthouse_nats::topology::Topology;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// What a running `lighthouse up` tells hooks and `lighthouse status`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Runtime {
    pub nats_url: String,
    pub pid: u32,
    #[serde(default)]
    pub monitor_url: Option<String>,
    /// Where this process serves `/metrics` (`metrics.listen`), when it does.
    #[serde(default)]
    pub metrics_url: Option<String>,
}

impl Runtime {
    pub fn path(state_dir: &Path) -> PathBuf {
        state_dir.join("up.json")
    }

    /// The recorded runtime, if its process is still alive.
    pub fn read(state_dir: &Path) -> Option<Runtime> {
        let text = std::fs::read(Runtime::path(state_dir)).ok()?;
        let runtime: Runtime = serde_json::from_slice(&text).ok()?;
        Path::new(&format!("/proc/{}", runtime.pid))
            .exists()
            .then_some(runtime)
    }

    fn write(&self, state_dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(state_dir)?;
        let tmp = state_dir.join(".up.json.tmp");
        std::fs::write(&tmp, serde_json::to_vec_pretty(self)?)?;
        std::fs::rename(tmp, Runtime::path(state_dir))
    }
}

#[derive(Debug, Clone, Default)]
pub struct UpArgs {
    /// Use this server instead of starting one.
    pub nats_url: Option<String>,
    pub port: Option<u16>,
    pub data_dir: Option<PathBuf>,
    /// Also run the projector with its view mounted here.
    pub mount: Option<PathBuf>,
}

/// Resolves once SIGINT or SIGTERM arrives.
pub use lighthouse_nats::shutdown_signal;

pub async fn run(settings: &Settings, args: UpArgs) -> anyhow::Result<()> {
    let state_dir = settings.state_dir();
    let mut server = None;
    let (url, monitor_url) = match args.nats_url.clone().or(settings.nats.url.clone()) {
        Some(url) => (url, None),
        None => {
            let data_dir = args.data_dir.unwrap_or(settings.up.data_dir.clone());
            ignore_runtime_dirs(&data_dir, &settings.up.tools_dir);
            let binary = ensure_binary(settings.nats.server_bin.as_deref(), &settings.up.tools_dir)
                .context("finding nats-server")?;
            let options = ServerOptions {
                binary,
                data_dir: data_dir.join("nats"),
                port: Some(args.port.unwrap_or(settings.up.port)).filter(|p| *p != 0),
                monitor_port: Some(settings.up.monitor_port).filter(|p| *p != 0),
                host: "127.0.0.1".to_owned(),
                extra_args: Vec::new(),
            };
            let process = tokio::task::spawn_blocking(move || ServerProcess::start(options))
                .await?
                .context("starting nats-server")?;
            let urls = (process.client_url.clone(), process.monitor_url.clone());
            server = Some(process);
            urls
        }
    };
    let client = lighthouse_nats::connect(&url, "lighthouse-up")
        .await
        .with_context(|| format!("connecting to {url}"))?;
    let metrics = crate::workers::start_metrics(settings, &client).await?;
    let js = async_nats::jetstream::new(client.clone());
    Topology::embedded()?
        .apply(&js)
        .await
        .context("applying nats/ topology")?;
    let flushed = crate::spool::Spool::new(&state_dir).flush(&js).await;
    if flushed.published > 0 {
        tracing::info!(published = flushed.published, "spool_flushed");
    }
    let files = crate::files::FileSpool::new(&state_dir).flush(&js).await;
    if files > 0 {
        tracing::info!(published = files, "file_spool_flushed");
    }

    let shutdown = CancellationToken::new();
    let mut validator = tokio::spawn(lighthouse_validator::run(
        client.clone(),
        crate::workers::validator_config(settings, None),
        shutdown.clone(),
    ));
    lighthouse_aggregator::worker::ensure_expert_consumers(&js, &settings.escalation.specialties)
        .await
        .context("creating expert consumers")?;
    let mut aggregator = tokio::spawn(lighthouse_aggregator::run(
        client.clone(),
        crate::workers::aggregator_config(settings, None),
        shutdown.clone(),
    ));
    let annotator = tokio::spawn(lighthouse_annotator::run(
        client.clone(),
        crate::workers::annotator_config(None),
        shutdown.clone(),
    ));
    let mut projector = match args.mount.clone() {
        Some(mount) => {
            let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
            let task = tokio::spawn(lighthouse_projector::run(
                client.clone(),
                crate::projector::projector_config(settings, mount),
                Some(ready_tx),
                shutdown.clone(),
            ));
            // The ready line below promises a browsable view.
            if ready_rx.await.is_err() {
                task.await??;
                anyhow::bail!("projector stopped before mounting");
            }
            Some(task)
        }
        None => None,
    };
    let stop = shutdown_signal();
    let runtime = Runtime {
        nats_url: url.clone(),
        pid: std::process::id(),
        monitor_url,
        metrics_url: metrics.as_ref().map(|l| l.url.clone()),
    };
    runtime.write(&state_dir).context("writing up.json")?;
    let metrics_field = match &runtime.metrics_url {
        Some(url) => format!(" metrics_url={url}"),
        None => String::new(),
    };
    println!(
        "lighthouse ready nats_url={url} state_dir={} pid={}{metrics_field}",
        state_dir.display(),
        runtime.pid
    );

    tokio::select! {
        _ = stop => {}
        result = &mut validator => {
            // The validator ended by itself: that is a failure of `up`.
            let _ = std::fs::remove_file(Runtime::path(&state_dir));
            return match result {
                Ok(Ok(())) => Err(anyhow::anyhow!("validator stopped unexpectedly")),
                Ok(Err(e)) => Err(e.into()),
                Err(e) => Err(e.into()),
            };
        }
        result = &mut aggregator => {
            let _ = std::fs::remove_file(Runtime::path(&state_dir));
            return match result {
                Ok(Ok(())) => Err(anyhow::anyhow!("aggregator stopped unexpectedly")),
                Ok(Err(e)) => Err(e.into()),
                Err(e) => Err(e.into()),
            };
        }
    }
    eprintln!("lighthouse: stopping");
    shutdown.cancel();
    let _ = std::fs::remove_file(Runtime::path(&state_dir));
    // In-flight commands finish and are acked within the grace period.
    let _ = tokio::time::timeout(Duration::from_secs(10), validator).await;
    let _ = tokio::time::timeout(Duration::from_secs(10), annotator).await;
    // The FUSE session unmounts last among the workers.
    if let Some(projector) = projector.take() {
        let _ = tokio::time::timeout(Duration::from_secs(15), projector).await;
    }
    let _ = tokio::time::timeout(Duration::from_secs(10), aggregator).await;
    let _ = tokio::time::timeout(Duration::from_secs(10), client.drain()).await;
    if let Some(mut server) = server {
        tokio::task::spawn_blocking(move || server.stop(Duration::from_secs(10))).await?;
    }
    Ok(())
}

/// Keeps the data and tools dirs out of the user's git status.
fn ignore_runtime_dirs(data_dir: &Path, tools_dir: &Path) {
    for dir in [data_dir, tools_dir] {
        if std::fs::create_dir_all(dir).is_ok() {
            let _ = std::fs::write(dir.join(".gitignore"), "*\n");
        }
    }
}
