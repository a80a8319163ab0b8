//! `lighthouse up`: the whole pipeline on one machine.
//!
//! Finds or installs nats-server, starts it with JetStream in the data dir, applies
//! `nats/`, publishes what the hook spooled while nothing ran, runs a validator and an
//! escalation aggregator in-process, records where it listens (so hooks find it),
//! prints one ready line, and on SIGINT/SIGTERM stops the workers, drains, and stops
//! the server.

use crate::settings::Settings;
use anyhow::Context as _;
use lighthouse_nats::auth::ClientAuth;
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
    /// The CA clients must trust (`up --tls`).
    #[serde(default)]
    pub tls_ca: Option<PathBuf>,
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

    /// Whether the state a hook relies on is readable: a missing `up.json` is fine
    /// (nothing runs), an unreadable or corrupt one is not.
    pub fn check(state_dir: &Path) -> Result<(), String> {
        let path = Runtime::path(state_dir);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice::<Runtime>(&bytes)
                .map(|_| ())
                .map_err(|e| format!("{} is corrupt: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                match std::fs::metadata(state_dir) {
                    Ok(m) if !m.is_dir() => {
                        Err(format!("{} is not a directory", state_dir.display()))
                    }
                    _ => Ok(()),
                }
            }
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
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
    /// TLS only, with certificates generated for this run.
    pub tls: bool,
}

/// Resolves once SIGINT or SIGTERM arrives.
pub use lighthouse_nats::shutdown_signal;

pub async fn run(settings: &Settings, args: UpArgs) -> anyhow::Result<()> {
    let state_dir = settings.state_dir();
    let mut server = None;
    // Our own server: every role gets its identity, and the server refuses anyone else.
    // Someone else's server (`--nats-url`, `nats.url`): the configured credentials.
    let own_server = args.nats_url.is_none() && settings.nats.url.is_none();
    let identities = settings.identities_dir();
    let data_dir = args
        .data_dir
        .clone()
        .unwrap_or(settings.up.data_dir.clone());
    let tls = if own_server && args.tls {
        Some(crate::tls::generate(&data_dir.join("tls")).context("generating TLS certificates")?)
    } else {
        None
    };
    let tls_ca: Option<PathBuf> = tls.as_ref().map(|t| t.ca.clone());
    let auth_for = |role: &str| -> ClientAuth {
        if own_server {
            ClientAuth {
                nkey: Some(lighthouse_nats::auth::identity_file(&identities, role)),
                tls: lighthouse_nats::auth::ClientTls {
                    ca: tls_ca.clone(),
                    ..Default::default()
                },
                ..Default::default()
            }
        } else {
            settings.client_auth(role)
        }
    };
    let (url, monitor_url) = match args.nats_url.clone().or(settings.nats.url.clone()) {
        Some(url) => (url, None),
        None => {
            ignore_runtime_dirs(&data_dir, &settings.up.tools_dir);
            let binary = ensure_binary(settings.nats.server_bin.as_deref(), &settings.up.tools_dir)
                .context("finding nats-server")?;
            let grants = crate::trust::ensure_identities(
                &identities,
                &settings.hook.agent,
                &crate::trust::roster(settings),
            )
            .context("creating identities")?;
            let nats_dir = data_dir.join("nats");
            std::fs::create_dir_all(&nats_dir)?;
            let conf = nats_dir.join("lighthouse.conf");
            std::fs::write(
                &conf,
                format!(
                    "{}\n{}\n{}",
                    lighthouse_nats::server::SERVER_CONF,
                    crate::trust::authorization(settings, &grants)?,
                    tls.as_ref().map(|t| t.server_block()).unwrap_or_default()
                ),
            )
            .context("writing the server's users and permissions")?;
            let options = ServerOptions {
                binary,
                data_dir: nats_dir,
                port: Some(args.port.unwrap_or(settings.up.port)).filter(|p| *p != 0),
                monitor_port: Some(settings.up.monitor_port).filter(|p| *p != 0),
                host: "127.0.0.1".to_owned(),
                // A second `-c` wins: the shared server.conf plus users and permissions.
                extra_args: vec!["-c".to_owned(), conf.to_string_lossy().into_owned()],
            };
            let process = tokio::task::spawn_blocking(move || ServerProcess::start(options))
                .await?
                .context("starting nats-server")?;
            let urls = (process.client_url.clone(), process.monitor_url.clone());
            server = Some(process);
            urls
        }
    };
    let connect = |role: &'static str, name: &'static str| {
        let (url, auth) = (url.clone(), auth_for(role));
        async move {
            lighthouse_nats::connect_as(&url, name, &auth)
                .await
                .with_context(|| format!("connecting to {url} as {role}"))
        }
    };
    // Ops applies the topology and creates the consumers; no worker can.
    let client = connect("ops", "lighthouse-up").await?;
    let js = async_nats::jetstream::new(client.clone());
    Topology::embedded()?
        .apply(&js)
        .await
        .context("applying nats/ topology")?;
    lighthouse_aggregator::worker::ensure_expert_consumers(&js, &expert_specialties(settings))
        .await
        .context("creating expert consumers")?;
    // What the hook spooled goes out under the agent's identity: the spool is the
    // agent's to write, so it gets no more rights than the agent.
    let agent = connect("agent", "lighthouse-up-spool").await?;
    let agent_js = async_nats::jetstream::new(agent.clone());
    let flushed = crate::spool::Spool::new(&state_dir).flush(&agent_js).await;
    if flushed.published > 0 {
        tracing::info!(published = flushed.published, "spool_flushed");
    }
    let files = crate::files::FileSpool::new(&state_dir)
        .flush(&agent_js)
        .await;
    if files > 0 {
        tracing::info!(published = files, "file_spool_flushed");
    }
    let _ = agent.drain().await;

    let shutdown = CancellationToken::new();
    let validator_client = connect("validator", "lighthouse-validator").await?;
    let mut validator = tokio::spawn(lighthouse_validator::run(
        validator_client.clone(),
        crate::workers::validator_config(settings, None),
        shutdown.clone(),
    ));
    let aggregator_client = connect("aggregator", "lighthouse-aggregator").await?;
    let mut aggregator_config = crate::workers::aggregator_config(settings, None);
    if own_server {
        // The roster the identities were made for: never empty, so no claim is taken
        // on trust.
        aggregator_config.experts = crate::trust::roster(settings).into_iter().collect();
    }
    let mut aggregator = tokio::spawn(lighthouse_aggregator::run(
        aggregator_client.clone(),
        aggregator_config,
        shutdown.clone(),
    ));
    let annotator_client = connect("annotator", "lighthouse-annotator").await?;
    let annotator = tokio::spawn(lighthouse_annotator::run(
        annotator_client.clone(),
        crate::workers::annotator_config(None),
        shutdown.clone(),
    ));
    let projector_client = match args.mount {
        Some(_) => Some(connect("projector", "lighthouse-projector").await?),
        None => None,
    };
    let mut projector = match (args.mount.clone(), projector_client.clone()) {
        (Some(mount), Some(projector_client)) => {
            let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
            let task = tokio::spawn(lighthouse_projector::run(
                projector_client,
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
        _ => None,
    };
    let stop = shutdown_signal();
    let runtime = Runtime {
        nats_url: url.clone(),
        pid: std::process::id(),
        monitor_url,
        tls_ca: tls_ca.clone(),
    };
    runtime.write(&state_dir).context("writing up.json")?;
    println!(
        "lighthouse ready nats_url={url} state_dir={} pid={}",
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
    for c in [
        Some(validator_client),
        Some(aggregator_client),
        Some(annotator_client),
        projector_client,
        Some(client),
    ]
    .into_iter()
    .flatten()
    {
        let _ = tokio::time::timeout(Duration::from_secs(10), c.drain()).await;
    }
    if let Some(mut server) = server {
        tokio::task::spawn_blocking(move || server.stop(Duration::from_secs(10))).await?;
    }
    Ok(())
}

/// Every specialty with a consumer on LH_ESC: the configured ones and those the
/// roster grants.
fn expert_specialties(settings: &Settings) -> Vec<String> {
    let mut all = settings.escalation.specialties.clone();
    for specialties in crate::trust::roster(settings).values() {
        all.extend(specialties.iter().cloned());
    }
    all.sort();
    all.dedup();
    all
}

/// Keeps the data and tools dirs out of the user's git status.
fn ignore_runtime_dirs(data_dir: &Path, tools_dir: &Path) {
    for dir in [data_dir, tools_dir] {
        if std::fs::create_dir_all(dir).is_ok() {
            let _ = std::fs::write(dir.join(".gitignore"), "*\n");
        }
    }
}
