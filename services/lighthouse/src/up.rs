//! `lighthouse up`: the whole pipeline on one machine.
//!
//! Finds or installs nats-server, starts it with JetStream in the data dir, applies
//! `nats/`, publishes what the hook spooled while nothing ran, runs the validator,
//! annotator, escalation aggregator (and with `--mount` the projector) in-process — the
//! same `run` functions as the worker binaries, under the same supervisor — records
//! where it listens (so hooks find it), prints one ready line, and on SIGINT/SIGTERM
//! stops the workers within `service.grace_ms`, drains, and stops the server.
//!
//! Its own server never accepts anonymous clients: every role gets an NKey identity in
//! `<state_dir>/identities` and the server gets the users and permissions rendered from
//! `nats/permissions.toml`; each worker connects as its own role (docs/SECURITY.md).
//!
//! What `up` starts it keeps alive: a nats-server that dies and a worker task that
//! fails (or panics, or returns) are started again with backoff
//! ([`lighthouse_nats::supervise`]); `services.json` records each one's pid, restarts
//! and last exit for `lighthouse status`.

use crate::settings::Settings;
use anyhow::Context as _;
use lighthouse_nats::server::{ServerOptions, ServerProcess, ensure_binary};
use lighthouse_nats::supervise::{
    Backoff, ServiceState, SharedState, SupervisedServer, supervise_task,
};
use lighthouse_nats::topology::Topology;
use lighthouse_service::Supervisor;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub use lighthouse_config::runtime::Runtime;

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

pub async fn run(settings: &Settings, args: UpArgs) -> anyhow::Result<()> {
    // Before anything starts: a stop request from here on drains instead of killing.
    let shutdown = lighthouse_service::shutdown();
    let state_dir = settings.state_dir();
    let services = Services::new(&state_dir);
    let mut server = None;
    // Our own server: every role gets its identity, and the server refuses anyone else.
    // Someone else's server (`--nats-url`, `nats.url`): the configured credentials.
    let own_server = args.nats_url.is_none() && settings.nats.url.is_none();
    let identities = settings.identities_dir();
    // One `up` per state dir: a second one would only meet the first's port (and must
    // not rewrite its identities or certificates).
    if own_server && let Some(running) = Runtime::read(&state_dir) {
        anyhow::bail!(
            "lighthouse up is already running (pid {}, url {}, state dir {}): use it, or stop it first (kill {})",
            running.pid,
            running.nats_url,
            state_dir.display(),
            running.pid
        );
    }
    let data_dir = args
        .data_dir
        .clone()
        .unwrap_or_else(|| settings.up_data_dir());
    let tls = if own_server && args.tls {
        Some(crate::tls::generate(&data_dir.join("tls")).context("generating TLS certificates")?)
    } else {
        None
    };
    let tls_ca: Option<PathBuf> = tls.as_ref().map(|t| t.ca.clone());
    let (url, monitor_url) = match args.nats_url.clone().or(settings.nats.url.clone()) {
        Some(url) => (url, None),
        None => {
            let port = args.port.unwrap_or(settings.up.port);
            port_free(port)?;
            let tools_dir = settings.up_tools_dir();
            ignore_runtime_dirs(&data_dir, &tools_dir);
            let binary = ensure_binary(settings.nats.server_bin.as_deref(), &tools_dir)
                .context("finding nats-server")?;
            let grants = crate::trust::ensure_identities(
                &identities,
                &settings.hook.agent,
                &crate::trust::roster(settings),
                &settings.exceptions.granters,
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
                port: Some(port).filter(|p| *p != 0),
                monitor_port: Some(settings.up.monitor_port).filter(|p| *p != 0),
                host: "127.0.0.1".to_owned(),
                // A second `-c` wins: the shared server.conf plus users and permissions.
                extra_args: vec!["-c".to_owned(), conf.to_string_lossy().into_owned()],
            };
            let process = tokio::task::spawn_blocking(move || ServerProcess::start(options))
                .await?
                .context("starting nats-server")?;
            let urls = (process.client_url.clone(), process.monitor_url.clone());
            // Kept alive: a server that dies is started again (same ports, same store)
            // with backoff, and `lighthouse status` shows it (services.json).
            let record = services.clone();
            server = Some(SupervisedServer::watch(
                process,
                Backoff::default(),
                move |state| record.record(state),
            ));
            if let Some(server) = &server {
                services.record(&server.state());
            }
            urls
        }
    };
    // The workers connect where `up` does, each as its own role.
    let mut settings = settings.clone();
    settings.nats.url = Some(url.clone());
    settings.projector.mount = args.mount.clone();
    if own_server {
        settings.nats.tls.ca = tls_ca.clone();
        // The roster the identities were made for: never empty, so no specialty claim is
        // taken on trust.
        let roster = crate::trust::roster(&settings);
        settings.escalation.specialties = expert_specialties(&settings);
        settings.escalation.experts = roster.into_iter().collect();
    }
    // Ops applies the topology and creates the consumers; no worker can.
    let client = settings.connect_as("ops", "lighthouse-up").await?;
    let metrics = lighthouse_service::start_metrics(&settings, &client, shutdown.clone()).await?;
    let metrics_url = metrics.as_ref().map(|l| l.url.clone());
    let js = async_nats::jetstream::new(client.clone());
    Topology::embedded()?
        .apply(&js)
        .await
        .context("applying nats/ topology")?;
    lighthouse_nats::experts::ensure(&js, &settings.escalation.specialties)
        .await
        .context("creating expert consumers")?;
    // What the hook spooled goes out under the agent's identity: the spool is the
    // agent's to write, so it gets no more rights than the agent. First all of it, then
    // in the background, so hooks never spend long flushing.
    let agent = settings.connect_as("agent", "lighthouse-up-spool").await?;
    Spools::new(&settings, &state_dir, &agent).flush().await;
    // Everything below runs until the shutdown under one supervisor: the metrics
    // listener ends `up` if it dies; the spool's flusher, the hook relay and the
    // workers are started again with backoff (`status` shows them), never left dead
    // while `up` runs on.
    let mut workers = Supervisor::new(shutdown.clone());
    if let Some(metrics) = metrics {
        workers.spawn("metrics", metrics.task);
    }
    let (s, dir, t) = (settings.clone(), state_dir.clone(), shutdown.clone());
    restarted(&mut workers, &services, "spool", move || {
        let (spools, t) = (Spools::new(&s, &dir, &agent), t.clone());
        async move {
            spools.keep_flushing(t).await;
            Ok::<_, std::convert::Infallible>(())
        }
    });
    // Hooks ask the pipeline through the relay's open connection instead of connecting
    // afresh for every tool call; they check the signatures of what it answers.
    let relay = settings
        .connect_as("agent", "lighthouse-hook-relay")
        .await?;
    let (dir, max_input, t) = (
        state_dir.clone(),
        settings.hook.max_input_bytes,
        shutdown.clone(),
    );
    restarted(&mut workers, &services, "hook-relay", move || {
        lighthouse_hook::relay::serve(
            lighthouse_hook::relay::socket_path(&dir),
            relay.clone(),
            lighthouse_hook::files::FileSpool::new(&dir),
            max_input,
            t.clone().cancelled_owned(),
        )
    });
    let validator = settings
        .connect_as("validator", "lighthouse-validator")
        .await?;
    let annotator = settings
        .connect_as("annotator", "lighthouse-annotator")
        .await?;
    let aggregator = settings
        .connect_as("aggregator", "lighthouse-aggregator")
        .await?;
    let projector = match args.mount {
        Some(_) => Some(
            settings
                .connect_as("projector", "lighthouse-projector")
                .await?,
        ),
        None => None,
    };

    // The same `run` functions as the worker binaries, under the same supervisor; each
    // started again with backoff when it fails.
    let (s, c, t) = (settings.clone(), validator.clone(), shutdown.clone());
    supervised(&mut workers, &services, "validator", &client, move || {
        lighthouse_validator::service::run(s.clone(), c.clone(), t.clone())
    });
    let (s, c, t) = (settings.clone(), annotator.clone(), shutdown.clone());
    supervised(&mut workers, &services, "annotator", &client, move || {
        lighthouse_annotator::service::run(s.clone(), c.clone(), t.clone())
    });
    let mounted = match projector.clone() {
        Some(projector) => {
            let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
            // Only the first run announces the mount; a restart mounts again quietly.
            let ready = Mutex::new(Some(ready_tx));
            let (s, c, t) = (settings.clone(), projector, shutdown.clone());
            supervised(&mut workers, &services, "projector", &client, move || {
                let tx = ready.lock().unwrap_or_else(|e| e.into_inner()).take();
                lighthouse_projector::service::run_ready(s.clone(), c.clone(), tx, t.clone())
            });
            Some(ready_rx)
        }
        None => None,
    };
    let (s, c, t) = (settings.clone(), aggregator.clone(), shutdown.clone());
    supervised(&mut workers, &services, "aggregator", &client, move || {
        lighthouse_aggregator::service::run(s.clone(), c.clone(), t.clone())
    });
    let grace = settings.grace();
    // The ready line below promises a browsable view.
    if let Some(mounted) = mounted
        && mounted.await.is_err()
    {
        shutdown.cancel();
        let stopped = workers.run(grace).await;
        stop_server(server).await?;
        return Err(stopped
            .err()
            .unwrap_or_else(|| anyhow::anyhow!("projector stopped before mounting")));
    }
    let runtime = Runtime {
        nats_url: url.clone(),
        pid: std::process::id(),
        monitor_url,
        tls_ca: tls_ca.clone(),
        metrics_url,
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

    // Until SIGINT/SIGTERM, or until a worker fails (then the others stop too).
    let stopped = workers.run(grace).await;
    eprintln!("lighthouse: stopping");
    Runtime::remove(&state_dir);
    for c in [
        Some(validator),
        Some(annotator),
        Some(aggregator),
        projector,
        Some(client),
    ]
    .into_iter()
    .flatten()
    {
        let _ = tokio::time::timeout(grace, c.drain()).await;
    }
    let _ = std::fs::remove_file(services_path(&state_dir));
    stop_server(server).await?;
    stopped
}

/// The hook's spools (decisions made while the pipeline was away, file versions), and
/// the agent connection they are published with.
struct Spools {
    decisions: crate::spool::Spool,
    files: crate::files::FileSpool,
    js: async_nats::jetstream::Context,
}

/// How often `up` publishes what hooks spooled since.
const SPOOL_FLUSH_EVERY: Duration = Duration::from_secs(2);

impl Spools {
    fn new(settings: &Settings, state_dir: &Path, agent: &async_nats::Client) -> Spools {
        let signer = lighthouse_nats::auth::Signer::for_client(&settings.client_auth("agent"))
            .ok()
            .flatten();
        Spools {
            decisions: crate::spool::Spool::new(state_dir).signed_by(signer),
            files: crate::files::FileSpool::new(state_dir),
            js: async_nats::jetstream::new(agent.clone()),
        }
    }

    async fn flush(&self) {
        let flushed = self.decisions.flush(&self.js).await;
        if flushed.published + flushed.quarantined > 0 {
            tracing::info!(
                published = flushed.published,
                quarantined = flushed.quarantined,
                "spool_flushed"
            );
        }
        let files = self.files.flush(&self.js).await;
        if files > 0 {
            tracing::info!(published = files, "file_spool_flushed");
        }
    }

    async fn keep_flushing(self, shutdown: CancellationToken) {
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(SPOOL_FLUSH_EVERY) => self.flush().await,
            }
        }
        let _ = self.js.client().drain().await;
    }
}

/// Runs the worker `start` makes under `workers`, started again with backoff whenever
/// it ends before the shutdown; its state goes to `services.json`. Each start first
/// applies the topology as `up` itself (`ops`): what made a worker fail may be a
/// consumer deleted under it, which the worker cannot create back itself.
fn supervised<F, Fut, E>(
    workers: &mut Supervisor,
    services: &Services,
    name: &'static str,
    ops: &async_nats::Client,
    start: F,
) where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: Into<anyhow::Error> + Send + 'static,
{
    let (start, ops) = (Arc::new(start), ops.clone());
    let run = move || {
        let (start, js) = (start.clone(), async_nats::jetstream::new(ops.clone()));
        async move {
            Topology::embedded()?
                .apply(&js)
                .await
                .context("applying nats/ topology")?;
            (start.as_ref())().await.map_err(Into::into)
        }
    };
    restarted(workers, services, name, run);
}

/// Runs the task `start` makes under `workers` until the shutdown, started again with
/// backoff whenever it ends (fails, panics or returns) before it; its state goes to
/// `services.json`.
fn restarted<F, Fut, E>(workers: &mut Supervisor, services: &Services, name: &'static str, start: F)
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: Into<anyhow::Error> + Send + 'static,
{
    let state: SharedState = Arc::new(Mutex::new(ServiceState {
        pid: std::process::id(),
        ..ServiceState::default()
    }));
    let record = services.clone();
    let shutdown = workers.token();
    let run = move || {
        let started = start();
        async move { started.await.map_err(Into::<anyhow::Error>::into) }
    };
    workers.spawn(name, async move {
        supervise_task(
            name,
            run,
            state,
            Backoff::default(),
            move |s| record.record(s),
            shutdown,
        )
        .await;
        Ok::<_, anyhow::Error>(())
    });
}

/// Every service `up` supervises, as last seen; each change rewrites `services.json`.
#[derive(Debug, Clone)]
struct Services {
    state_dir: PathBuf,
    all: Arc<Mutex<Vec<ServiceState>>>,
}

impl Services {
    fn new(state_dir: &Path) -> Services {
        Services {
            state_dir: state_dir.to_owned(),
            all: Arc::default(),
        }
    }

    fn record(&self, state: &ServiceState) {
        let mut all = self.all.lock().unwrap_or_else(|e| e.into_inner());
        match all.iter_mut().find(|s| s.name == state.name) {
            Some(known) => *known = state.clone(),
            None => all.push(state.clone()),
        }
        write_services(&self.state_dir, &all);
    }
}

async fn stop_server(server: Option<SupervisedServer>) -> anyhow::Result<()> {
    if let Some(server) = server {
        server.stop(Duration::from_secs(10)).await;
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

/// Says who holds the client port before nats-server fails on it with its own log.
fn port_free(port: u16) -> anyhow::Result<()> {
    if port == 0 {
        return Ok(());
    }
    match std::net::TcpListener::bind(("127.0.0.1", port)) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
            let holder = port_holder(Path::new("/proc"), port)
                .map(|(pid, name)| format!("{name} (pid {pid})"))
                .unwrap_or_else(|| "another lighthouse up or nats-server?".to_owned());
            anyhow::bail!(
                "port {port} is already in use ({holder}): stop it, pass --port 0 for any \
                 free port, or set nats.url to use that server"
            )
        }
        Err(e) => Err(anyhow::anyhow!("checking port {port}: {e}")),
    }
}

/// The process listening on TCP `port` (pid and name), from `proc`'s socket tables and
/// open files; `None` when it is not ours to see (another user's, another namespace).
fn port_holder(proc: &Path, port: u16) -> Option<(u32, String)> {
    let inode = ["net/tcp", "net/tcp6"].iter().find_map(|table| {
        let text = std::fs::read_to_string(proc.join(table)).ok()?;
        text.lines().skip(1).find_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let local_port = f.get(1)?.rsplit(':').next()?;
            // State 0A: listening.
            (u16::from_str_radix(local_port, 16).ok()? == port && f.get(3)? == &"0A")
                .then(|| f.get(9).map(|i| format!("socket:[{i}]")))?
        })
    })?;
    std::fs::read_dir(proc).ok()?.flatten().find_map(|entry| {
        let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
        let fds = std::fs::read_dir(entry.path().join("fd")).ok()?;
        fds.flatten()
            .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|l| l.as_os_str() == inode.as_str()))
            .then(|| {
                let comm = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
                (pid, comm.trim().to_owned())
            })
    })
}

/// Where `up` records the services it supervises (read by `lighthouse status`).
pub fn services_path(state_dir: &Path) -> std::path::PathBuf {
    state_dir.join("services.json")
}

fn write_services(state_dir: &Path, services: &[ServiceState]) {
    let tmp = state_dir.join(".services.json.tmp");
    if let Ok(text) = serde_json::to_vec_pretty(services)
        && std::fs::write(&tmp, text).is_ok()
    {
        let _ = std::fs::rename(tmp, services_path(state_dir));
    }
}

/// The services the running `up` supervises, as last recorded (none when no `up` is
/// alive: a killed one leaves a stale file).
pub fn read_services(state_dir: &Path) -> Vec<ServiceState> {
    if Runtime::read(state_dir).is_none() {
        return Vec::new();
    }
    std::fs::read(services_path(state_dir))
        .ok()
        .and_then(|text| serde_json::from_slice(&text).ok())
        .unwrap_or_default()
}

/// Keeps the data and tools dirs out of git status when they lie in a repository.
/// The tools dir only exists when nats-server was installed there.
fn ignore_runtime_dirs(data_dir: &Path, tools_dir: &Path) {
    let _ = std::fs::create_dir_all(data_dir);
    for dir in [data_dir, tools_dir] {
        if dir.is_dir() {
            let _ = std::fs::write(dir.join(".gitignore"), "*\n");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_holder_of_a_port_is_named() {
        // This test's own listener: found with its pid; a port nobody listens on is not.
        let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let (pid, name) = port_holder(Path::new("/proc"), port).expect("our listener");
        assert_eq!(pid, std::process::id());
        assert!(!name.is_empty());
        let err = port_free(port).unwrap_err().to_string();
        assert!(err.contains(&format!("(pid {pid})")), "{err}");
        drop(listener);
        assert_eq!(port_holder(Path::new("/proc"), port), None);
    }
}
