//! One shape for every worker process (validator, aggregator, annotator, projector):
//!
//! 1. load [`Settings`] — a bad configuration exits 64 before anything touches NATS;
//! 2. [`init_telemetry`] once (logs on stderr, optional JSON lines; spans over OTLP when
//!    configured); `metrics.listen` serves `/metrics`, `/healthz`, `/readyz`;
//! 3. install the [`shutdown`] signal handlers (SIGTERM and SIGINT cancel one token);
//! 4. [`connect`] to every seed URL of `nats.url`;
//! 5. `run(settings, client, shutdown)` under the one [`Supervisor`] loop;
//! 6. on the signal: the worker finishes its in-flight work, the client drains, both
//!    within `service.grace_ms`; exit 0.
//!
//! A worker's `main.rs` is [`main`] with its name and `run`; `lighthouse up` runs the
//! same `run` functions in-process under the same [`Supervisor`].

use lighthouse_config::{LogFormat, Settings};
use std::future::Future;
use std::process::ExitCode;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

pub use tokio_util::sync::CancellationToken as Shutdown;

/// Exit code of a bad configuration (sysexits' `EX_USAGE`).
pub const EXIT_CONFIG: u8 = 64;

/// The default log filter of long-running processes: ours at info; the client library
/// narrates every (re)connection at info, operators want ours.
pub const DEFAULT_LOG: &str = "info,async_nats=warn";

/// Logs to stderr, filtered by `LIGHTHOUSE_LOG` (else `default`), colour only when
/// stderr is a terminal, one JSON object per line with [`LogFormat::Json`]. A second
/// call does nothing.
pub fn init_tracing(default: &str, format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("LIGHTHOUSE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .try_init(),
    };
}

/// Logs (as [`init_tracing`]) and, when `tracing.otlp_endpoint` is set, spans exported
/// over OTLP/HTTP as `service` with their context carried in NATS headers. Keep the
/// guard until the process ends: dropping it flushes the last spans. An endpoint the
/// exporter cannot use is a configuration error.
pub fn init_telemetry(
    default: &str,
    settings: &Settings,
    service: &str,
) -> Result<lighthouse_telemetry::trace::TraceGuard, lighthouse_telemetry::trace::TraceError> {
    use lighthouse_telemetry::trace::{LogFormat as Format, TraceConfig, init};
    init(&TraceConfig {
        service: service.to_owned(),
        log_format: match settings.service.log_format {
            LogFormat::Text => Format::Text,
            LogFormat::Json => Format::Json,
        },
        otlp_endpoint: settings.tracing.otlp_endpoint.clone(),
        otlp_json: settings.tracing.otlp_protocol == lighthouse_config::OtlpProtocol::HttpJson,
        sample_ratio: settings.tracing.sample_ratio,
        default_filter: default.to_owned(),
    })
}

/// Serves `/metrics`, `/healthz` and `/readyz` on `metrics.listen` until `shutdown`
/// (nothing when it is empty); the listener's URL goes into this process's presence.
pub async fn start_metrics(
    settings: &Settings,
    client: &async_nats::Client,
    shutdown: CancellationToken,
) -> anyhow::Result<Option<lighthouse_telemetry::exporter::Listener>> {
    let listen = &settings.metrics.listen;
    let listener = lighthouse_telemetry::start(listen, client, shutdown)
        .await
        .map_err(|e| anyhow::anyhow!("metrics.listen = {listen:?}: {e}"))?;
    if let Some(l) = &listener {
        tracing::info!(url = %l.url, "metrics_listening");
    }
    Ok(listener)
}

/// A token cancelled on the first SIGTERM or SIGINT. The handlers are installed before
/// this returns (call it before announcing readiness), so a stop request that arrives
/// right after never meets the default action (exit without draining).
pub fn shutdown() -> CancellationToken {
    let token = CancellationToken::new();
    let signal = lighthouse_nats::shutdown_signal();
    let cancel = token.clone();
    tokio::spawn(async move {
        signal.await;
        cancel.cancel();
    });
    token
}

/// Connects as `name` to every seed URL of the configured server.
///
/// The identity is the worker's role, taken from `name` (`lighthouse-validator` →
/// `validator`; other names are ops): `nats.nkey`/`nats.creds`/`nats.user` when configured, else the role's
/// identity that `lighthouse up` wrote.
pub async fn connect(settings: &Settings, name: &str) -> anyhow::Result<async_nats::Client> {
    let role = match name.strip_prefix("lighthouse-").unwrap_or(name) {
        role @ ("validator" | "aggregator" | "annotator" | "projector" | "agent") => role,
        // Everything else that connects through here administers: backup, restore,
        // apply.
        _ => "ops",
    };
    settings.connect_as(role, name).await
}

/// Tasks that run until `shutdown`: the one supervise loop of worker binaries and of
/// `lighthouse up`.
///
/// A task that ends by itself before the shutdown is a failure of the whole process: the
/// others are stopped and [`Supervisor::run`] returns its error.
pub struct Supervisor {
    shutdown: CancellationToken,
    tasks: Vec<(String, JoinHandle<anyhow::Result<()>>)>,
}

impl std::fmt::Debug for Supervisor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.tasks.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("Supervisor").field("tasks", &names).finish()
    }
}

impl Supervisor {
    pub fn new(shutdown: CancellationToken) -> Supervisor {
        Supervisor {
            shutdown,
            tasks: Vec::new(),
        }
    }

    /// The token every task is given; cancelling it stops them all.
    pub fn token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Runs `task` until the shutdown. Tasks stop in the order they were added.
    pub fn spawn<F, E>(&mut self, name: &str, task: F)
    where
        F: Future<Output = Result<(), E>> + Send + 'static,
        E: Into<anyhow::Error> + Send + 'static,
    {
        let handle = tokio::spawn(async move { task.await.map_err(Into::into) });
        self.tasks.push((name.to_owned(), handle));
    }

    /// Waits for the shutdown (or for a task to end by itself), then gives the tasks
    /// `grace` in all to finish their in-flight work. A task still running after it is
    /// aborted. Returns the first failure: a task that ended early, failed, panicked or
    /// outlived the grace period.
    pub async fn run(self, grace: Duration) -> anyhow::Result<()> {
        let Supervisor {
            shutdown,
            mut tasks,
        } = self;
        let mut failure = None;
        if !tasks.is_empty() {
            let ended = {
                let running = tasks.iter_mut().map(|(_, handle)| handle);
                tokio::select! {
                    biased;
                    _ = shutdown.cancelled() => None,
                    (result, index, _) = futures::future::select_all(running) => Some((index, result)),
                }
            };
            if let Some((index, result)) = ended {
                let (name, _) = tasks.remove(index);
                // Ending by itself is only fine once asked to stop.
                failure = match joined(result) {
                    Ok(()) if shutdown.is_cancelled() => None,
                    Ok(()) => Some(anyhow::anyhow!("{name} stopped unexpectedly")),
                    Err(e) => Some(e.context(format!("{name} failed"))),
                };
                shutdown.cancel();
            }
        }
        let deadline = Instant::now() + grace;
        for (name, mut handle) in tasks {
            let result = match tokio::time::timeout_at(deadline, &mut handle).await {
                Ok(result) => joined(result).map_err(|e| e.context(format!("{name} failed"))),
                Err(_) => {
                    handle.abort();
                    Err(anyhow::anyhow!(
                        "{name} did not stop within {} ms",
                        grace.as_millis()
                    ))
                }
            };
            if let Err(e) = result {
                tracing::error!(task = %name, error = format!("{e:#}"), "stopping");
                failure.get_or_insert(e);
            }
        }
        failure.map_or(Ok(()), Err)
    }
}

fn joined(result: Result<anyhow::Result<()>, tokio::task::JoinError>) -> anyhow::Result<()> {
    match result {
        Ok(result) => result,
        Err(e) if e.is_panic() => Err(anyhow::anyhow!("panicked")),
        Err(e) => Err(anyhow::anyhow!("{e}")),
    }
}

/// Runs one worker on `client` until `shutdown`, then drains the client; all of it
/// within the grace period once the shutdown arrives.
pub async fn serve<F, Fut, E>(
    settings: Settings,
    name: &str,
    client: async_nats::Client,
    shutdown: CancellationToken,
    run: F,
) -> anyhow::Result<()>
where
    F: FnOnce(Settings, async_nats::Client, CancellationToken) -> Fut,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: Into<anyhow::Error> + Send + 'static,
{
    let grace = settings.grace();
    let metrics = start_metrics(&settings, &client, shutdown.clone()).await?;
    let mut supervisor = Supervisor::new(shutdown.clone());
    supervisor.spawn(name, run(settings, client.clone(), shutdown));
    // `/healthz` and `/readyz` are how Kubernetes knows the worker: a listener that died
    // must not leave it running unwatched and unscraped.
    if let Some(metrics) = metrics {
        supervisor.spawn("metrics", metrics.task);
    }
    let started = Instant::now();
    let result = supervisor.run(grace).await;
    // What the worker published is flushed and its subscriptions end cleanly.
    let left = grace
        .saturating_sub(started.elapsed())
        .max(Duration::from_secs(1));
    if tokio::time::timeout(left, client.drain()).await.is_err() {
        tracing::warn!(worker = name, "client drain timed out");
    }
    result
}

/// The whole life of a worker binary: settings (exit 64 when bad, before NATS),
/// tracing, signal handlers, connect, `run`, drain. Exit 0 after a clean stop, 1 on a
/// failure. `check` refuses settings this worker cannot run with (exit 64 too).
pub fn main<C, F, Fut, E>(name: &'static str, check: C, run: F) -> ExitCode
where
    C: FnOnce(&Settings) -> Result<(), String>,
    F: FnOnce(Settings, async_nats::Client, CancellationToken) -> Fut,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: Into<anyhow::Error> + Send + 'static,
{
    let settings = match Settings::load()
        .map_err(|e| e.to_string())
        .and_then(|s| check(&s).map(|()| s))
    {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("{name}: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let _telemetry = match init_telemetry(DEFAULT_LOG, &settings, name) {
        Ok(guard) => guard,
        Err(e) => {
            eprintln!("{name}: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("{name}: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        let shutdown = shutdown();
        let client = connect(&settings, name).await?;
        serve(settings, name, client, shutdown, run).await
    });
    match result {
        Ok(()) => {
            tracing::info!(worker = name, "stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!(worker = name, error = format!("{e:#}"), "failed");
            eprintln!("{name}: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn until_cancelled(token: CancellationToken) -> anyhow::Result<()> {
        token.cancelled().await;
        Ok(())
    }

    #[tokio::test(start_paused = true)]
    async fn a_clean_stop_is_ok() {
        let token = CancellationToken::new();
        let mut supervisor = Supervisor::new(token.clone());
        supervisor.spawn("a", until_cancelled(token.clone()));
        supervisor.spawn("b", until_cancelled(token.clone()));
        let run = tokio::spawn(supervisor.run(Duration::from_secs(10)));
        token.cancel();
        run.await.unwrap().unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_task_that_ends_early_stops_the_others_and_fails() {
        let token = CancellationToken::new();
        let mut supervisor = Supervisor::new(token.clone());
        supervisor.spawn("steady", until_cancelled(token.clone()));
        supervisor.spawn("quitter", async { Ok::<_, anyhow::Error>(()) });
        let err = supervisor.run(Duration::from_secs(10)).await.unwrap_err();
        assert_eq!(err.to_string(), "quitter stopped unexpectedly");
        assert!(token.is_cancelled(), "the others were told to stop");
    }

    #[tokio::test(start_paused = true)]
    async fn a_failing_task_is_the_error() {
        let token = CancellationToken::new();
        let mut supervisor = Supervisor::new(token.clone());
        supervisor.spawn("broken", async {
            Err::<(), _>(anyhow::anyhow!("no stream"))
        });
        let err = supervisor.run(Duration::from_secs(10)).await.unwrap_err();
        assert_eq!(format!("{err:#}"), "broken failed: no stream");
    }

    #[tokio::test(start_paused = true)]
    async fn a_task_outliving_the_grace_period_is_aborted() {
        let token = CancellationToken::new();
        let mut supervisor = Supervisor::new(token.clone());
        supervisor.spawn("stuck", async {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok::<_, anyhow::Error>(())
        });
        let started = Instant::now();
        let run = tokio::spawn(supervisor.run(Duration::from_secs(10)));
        token.cancel();
        let err = run.await.unwrap().unwrap_err();
        assert_eq!(err.to_string(), "stuck did not stop within 10000 ms");
        // On the paused clock: exactly the grace period, not the task's hour.
        assert_eq!(started.elapsed(), Duration::from_secs(10));
    }
}
