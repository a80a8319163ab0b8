//! Keeping what `lighthouse up` starts alive: a nats-server child process and worker
//! tasks are restarted with backoff when they die, and their state (pid, restarts,
//! last exit) is kept for `lighthouse status`.
//!
//! Backoff: 200 ms after the first failure, doubling to 10 s; a service that stayed up
//! for a minute starts again from 200 ms. Nothing here gives up: a pipeline that cannot
//! keep its server is reported (restarts climb, `running: false`), never abandoned.
//!
//! Also [`spawn_helper`]: a task a service runs beside its main loop (a presence
//! heartbeat, a policy follower, a roster) that must not die alone, leaving the process
//! up without it.

use crate::server::ServerProcess;
use futures::FutureExt as _;
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

/// What a supervisor knows about one service.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceState {
    /// `nats-server`, `validator`, …
    pub name: String,
    /// OS process id (for an in-process task: the process it runs in).
    pub pid: u32,
    pub running: bool,
    /// Times it was started again after dying.
    pub restarts: u64,
    /// How it last ended, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_exit: Option<String>,
    /// Unix ms of the last (re)start.
    pub started_ms: u64,
}

/// Restart delays.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub first: Duration,
    pub max: Duration,
    /// Up this long: the next failure starts from `first` again.
    pub reset_after: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            first: Duration::from_millis(200),
            max: Duration::from_secs(10),
            reset_after: Duration::from_secs(60),
        }
    }
}

impl Backoff {
    fn next(&self, current: Duration, up_for: Duration) -> Duration {
        if up_for >= self.reset_after || current.is_zero() {
            self.first
        } else {
            (current * 2).min(self.max)
        }
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Shared, observable state of a supervised service.
pub type SharedState = Arc<Mutex<ServiceState>>;

fn update(state: &SharedState, change: impl FnOnce(&mut ServiceState)) -> ServiceState {
    let mut guard = state.lock().unwrap_or_else(|e| e.into_inner());
    change(&mut guard);
    guard.clone()
}

/// A nats-server child kept running until [`SupervisedServer::stop`].
#[derive(Debug)]
pub struct SupervisedServer {
    process: Arc<Mutex<Option<ServerProcess>>>,
    state: SharedState,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

/// How often the child is checked.
const POLL: Duration = Duration::from_millis(200);

impl SupervisedServer {
    /// Watches `process`; when it exits, starts it again on the same ports and store
    /// (clients reconnect to the URL they had). `on_change` sees every state change
    /// (the caller records it for `status`).
    pub fn watch<F>(process: ServerProcess, backoff: Backoff, on_change: F) -> SupervisedServer
    where
        F: Fn(&ServiceState) + Send + Sync + 'static,
    {
        let state = Arc::new(Mutex::new(ServiceState {
            name: "nats-server".to_owned(),
            pid: process.pid(),
            running: true,
            restarts: 0,
            last_exit: None,
            started_ms: now_ms(),
        }));
        // Restarts come back where clients look for it.
        let mut options = process.options.clone();
        options.port = Some(process.port());
        if let Some(monitor) = process
            .monitor_url
            .as_deref()
            .and_then(|u| u.rsplit(':').next())
            .and_then(|p| p.trim_end_matches('/').parse().ok())
        {
            options.monitor_port = Some(monitor);
        }
        let process = Arc::new(Mutex::new(Some(process)));
        let stop = CancellationToken::new();
        let task = tokio::spawn({
            let (process, state, stop) = (process.clone(), state.clone(), stop.clone());
            let on_change: Arc<dyn Fn(&ServiceState) + Send + Sync> = Arc::new(on_change);
            async move {
                // Watching again after a panic (here, or in `on_change`): a watch that
                // died would leave `up` running on, its server no longer restarted.
                loop {
                    let watching = server_loop(
                        process.clone(),
                        options.clone(),
                        state.clone(),
                        backoff,
                        on_change.clone(),
                        stop.clone(),
                    );
                    match AssertUnwindSafe(watching).catch_unwind().await {
                        Ok(()) => return,
                        Err(panic) => error!(
                            why = panic_text(panic.as_ref()),
                            "nats_server_watch_panicked; watching again"
                        ),
                    }
                }
            }
        });
        SupervisedServer {
            process,
            state,
            stop,
            task,
        }
    }

    pub fn state(&self) -> ServiceState {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Stops supervising, then stops the server gracefully (SIGTERM, SIGKILL after
    /// `grace`).
    pub async fn stop(self, grace: Duration) {
        self.stop.cancel();
        let _ = self.task.await;
        let process = self
            .process
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(mut process) = process {
            let _ = tokio::task::spawn_blocking(move || process.stop(grace)).await;
        }
    }
}

async fn server_loop(
    process: Arc<Mutex<Option<ServerProcess>>>,
    options: crate::server::ServerOptions,
    state: SharedState,
    backoff: Backoff,
    on_change: Arc<dyn Fn(&ServiceState) + Send + Sync>,
    stop: CancellationToken,
) {
    let mut delay = Duration::ZERO;
    let mut up_since = Instant::now();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(POLL) => {}
            _ = stop.cancelled() => return,
        }
        let exit = {
            let mut guard = process.lock().unwrap_or_else(|e| e.into_inner());
            match guard.as_mut() {
                Some(p) => p.exit_status(),
                None => Some("not running".to_owned()),
            }
        };
        let Some(exit) = exit else { continue };
        error!(%exit, "nats_server_died; restarting");
        let changed = update(&state, |s| {
            s.running = false;
            s.last_exit = Some(exit.clone());
        });
        on_change(&changed);
        // Restart until it comes back (or we are told to stop).
        loop {
            delay = backoff.next(delay, up_since.elapsed());
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = stop.cancelled() => return,
            }
            let opts = options.clone();
            let started = tokio::task::spawn_blocking(move || ServerProcess::start(opts)).await;
            match started {
                Ok(Ok(new)) => {
                    let pid = new.pid();
                    *process.lock().unwrap_or_else(|e| e.into_inner()) = Some(new);
                    up_since = Instant::now();
                    let changed = update(&state, |s| {
                        s.running = true;
                        s.pid = pid;
                        s.restarts += 1;
                        s.started_ms = now_ms();
                    });
                    info!(pid, restarts = changed.restarts, "nats_server_restarted");
                    on_change(&changed);
                    break;
                }
                Ok(Err(e)) => warn!(error = %e, ?delay, "nats_server_restart_failed"),
                Err(e) => warn!(error = %e, "nats_server_restart_panicked"),
            }
        }
    }
}

/// Runs the task `start` makes until `shutdown`; when it ends (error, panic, or an
/// unexpected clean return) starts it again after a backoff. `state` follows it.
pub async fn supervise_task<F, Fut, E>(
    name: &str,
    start: F,
    state: SharedState,
    backoff: Backoff,
    on_change: impl Fn(&ServiceState),
    shutdown: CancellationToken,
) where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: std::fmt::Display + Send + 'static,
{
    let mut delay = Duration::ZERO;
    on_change(&update(&state, |s| {
        s.name = name.to_owned();
        s.running = true;
        s.started_ms = now_ms();
    }));
    loop {
        let up_since = Instant::now();
        let mut handle = AbortOnDrop(tokio::spawn(start()));
        let ended = (&mut handle.0).await;
        if shutdown.is_cancelled() {
            update(&state, |s| s.running = false);
            return;
        }
        let exit = match ended {
            Ok(Ok(())) => "returned".to_owned(),
            Ok(Err(e)) => format!("failed: {e:#}"),
            Err(e) => format!("panicked: {e}"),
        };
        error!(worker = name, %exit, "worker_died; restarting");
        on_change(&update(&state, |s| {
            s.running = false;
            s.last_exit = Some(exit);
        }));
        delay = backoff.next(delay, up_since.elapsed());
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = shutdown.cancelled() => {
                update(&state, |s| s.running = false);
                return;
            }
        }
        on_change(&update(&state, |s| {
            s.running = true;
            s.restarts += 1;
            s.started_ms = now_ms();
        }));
    }
}

/// A task spawned by [`spawn_helper`], running beside its service's main loop.
#[derive(Debug)]
pub struct Helper {
    name: &'static str,
    handle: tokio::task::JoinHandle<Result<(), HelperEnded>>,
}

/// A helper that ended before its service's shutdown, or panicked.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{name} {why}")]
pub struct HelperEnded {
    pub name: &'static str,
    pub why: String,
}

/// Spawns `task`, which runs until `shutdown`, beside a service's main loop. Should it
/// end before the shutdown (return, or panic), the service must not run on without it:
/// it cancels `shutdown`, so the main loop stops too, and [`Helper::join`] says why, for
/// the service to return as its error (its supervisor — `lighthouse up`, Kubernetes —
/// then starts it again). Ending at the shutdown is fine.
pub fn spawn_helper<F>(name: &'static str, shutdown: &CancellationToken, task: F) -> Helper
where
    F: Future<Output = ()> + Send + 'static,
{
    let shutdown = shutdown.clone();
    let handle = tokio::spawn(async move {
        let ended = AssertUnwindSafe(task).catch_unwind().await;
        let why = match ended {
            Ok(()) if shutdown.is_cancelled() => return Ok(()),
            Ok(()) => "stopped before the shutdown".to_owned(),
            Err(panic) => format!("panicked: {}", panic_text(panic.as_ref())),
        };
        error!(task = name, %why, "helper_ended; stopping");
        shutdown.cancel();
        Err(HelperEnded { name, why })
    });
    Helper { name, handle }
}

impl Helper {
    /// Waits for the helper to end (after the shutdown, or after it cancelled it).
    pub async fn join(self) -> Result<(), HelperEnded> {
        match self.handle.await {
            Ok(ended) => ended,
            Err(e) => Err(HelperEnded {
                name: self.name,
                why: e.to_string(),
            }),
        }
    }
}

/// What a panic carried, as text.
pub fn panic_text(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}

/// A task that ends with its supervisor: when `lighthouse up`'s grace period runs out
/// and the supervising future is dropped, the worker it runs is aborted too.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_helper_that_panics_stops_its_service_and_says_why() {
        let shutdown = CancellationToken::new();
        let helper = spawn_helper("heartbeat", &shutdown, async {
            panic!("a bug in the heartbeat");
        });
        let ended = helper.join().await.unwrap_err();
        assert_eq!(
            ended.to_string(),
            "heartbeat panicked: a bug in the heartbeat"
        );
        // The service's main loop waits for its shutdown: the panic must bring it.
        assert!(shutdown.is_cancelled(), "the service was not told to stop");
    }

    #[tokio::test]
    async fn a_helper_that_returns_early_stops_its_service() {
        let shutdown = CancellationToken::new();
        let helper = spawn_helper("follower", &shutdown, async {});
        let ended = helper.join().await.unwrap_err();
        assert_eq!(ended.to_string(), "follower stopped before the shutdown");
        assert!(shutdown.is_cancelled(), "the service was not told to stop");
    }

    #[tokio::test]
    async fn a_helper_that_ends_at_the_shutdown_is_fine() {
        let shutdown = CancellationToken::new();
        let token = shutdown.clone();
        let helper = spawn_helper("heartbeat", &shutdown, async move {
            token.cancelled().await;
        });
        shutdown.cancel();
        helper.join().await.unwrap();
    }

    #[test]
    fn backoff_doubles_and_resets_after_a_good_run() {
        let b = Backoff::default();
        let d1 = b.next(Duration::ZERO, Duration::ZERO);
        assert_eq!(d1, Duration::from_millis(200));
        let d2 = b.next(d1, Duration::from_secs(1));
        assert_eq!(d2, Duration::from_millis(400));
        assert_eq!(
            b.next(Duration::from_secs(8), Duration::ZERO),
            Duration::from_secs(10)
        );
        assert_eq!(b.next(d2, Duration::from_secs(61)), b.first);
    }

    #[tokio::test]
    async fn a_task_that_dies_is_started_again_until_shutdown() {
        let state = SharedState::default();
        let runs = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let shutdown = CancellationToken::new();
        let backoff = Backoff {
            first: Duration::from_millis(1),
            max: Duration::from_millis(2),
            reset_after: Duration::from_secs(60),
        };
        let (r, s) = (runs.clone(), shutdown.clone());
        let stop = shutdown.clone();
        let supervisor = tokio::spawn({
            let state = state.clone();
            async move {
                supervise_task(
                    "flaky",
                    move || {
                        let (r, s) = (r.clone(), s.clone());
                        async move {
                            if r.fetch_add(1, std::sync::atomic::Ordering::SeqCst) >= 2 {
                                s.cancelled().await;
                                Ok(())
                            } else {
                                Err("boom")
                            }
                        }
                    },
                    state,
                    backoff,
                    |_| {},
                    shutdown,
                )
                .await
            }
        });
        while runs.load(std::sync::atomic::Ordering::SeqCst) < 3 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let seen = state.lock().unwrap().clone();
        assert_eq!(seen.restarts, 2);
        assert!(seen.last_exit.as_deref().unwrap().contains("boom"));
        stop.cancel();
        supervisor.await.unwrap();
        assert!(!state.lock().unwrap().running);
    }
}
