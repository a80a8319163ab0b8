//! Projector worker: the project as files, for experts who read with grep, cat, find.
//!
//! It rebuilds its view from the streams on start (`LH_FS`, `LH_DECISION`, and
//! `LH_ESC`/`LH_ANNOT` when they exist), then follows them, and serves the view as a
//! read-only FUSE filesystem:
//!
//! ```text
//! <mount>/.status.json                                  lag and health
//! <mount>/<project>/current/<path>                      latest version of each file
//! <mount>/<project>/history/versions.txt                one line per version
//! <mount>/<project>/history/<seq>/<path>                the project as of LH_FS seq
//! <mount>/<project>/history/@<RFC3339>/<path>           the project as of that time
//! <mount>/<project>/annotations/<path>.md               expert notes per file
//! <mount>/<project>/escalations/{pending,decided}/<cmd_id>.json
//! ```
//!
//! Layout: [`model`] is pure (messages in, namespace out, unit-tested); [`view`] holds
//! it with the inode table and a bounded content cache; [`follow`] is the NATS side;
//! [`fs`] the thin `fuser` adapter; [`mount`] clears stale mounts. The projector owns
//! no state: restart it and it rebuilds the same view.

pub mod follow;
pub mod fs;
pub mod model;
pub mod mount;
pub mod service;
pub mod view;

use lighthouse_nats::supervise::{Helper, HelperEnded, panic_text, spawn_helper};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Error)]
pub enum ProjectorError {
    #[error("mount point {path}: {source}")]
    MountPoint {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("mounting FUSE at {path}: {source}")]
    Mount {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the FUSE session ended: {0}")]
    Session(String),
    #[error(transparent)]
    Helper(#[from] HelperEnded),
}

/// How to run the projector.
#[derive(Debug, Clone)]
pub struct ProjectorConfig {
    pub mount: PathBuf,
    /// Bytes of file content kept in memory.
    pub cache_bytes: u64,
    /// Keep contents seen while following the streams in the cache.
    pub prime_cache: bool,
    /// FUSE request threads.
    pub threads: usize,
    /// How long to wait for the rebuild before mounting anyway (the view then fills in
    /// while it is browsed).
    pub rebuild_timeout: Duration,
}

/// Rebuilds the view, mounts it, follows the streams until `shutdown`, then unmounts.
/// `ready` is told once the view is mounted.
pub async fn run(
    client: async_nats::Client,
    config: ProjectorConfig,
    ready: Option<tokio::sync::oneshot::Sender<()>>,
    shutdown: CancellationToken,
) -> Result<(), ProjectorError> {
    let mount = mount::absolute(&config.mount);
    mount::clear_stale(&mount);
    std::fs::create_dir_all(&mount).map_err(|source| ProjectorError::MountPoint {
        path: mount.clone(),
        source,
    })?;
    let js = async_nats::jetstream::new(client);
    let source = follow::NatsSource {
        runtime: tokio::runtime::Handle::current(),
        js: js.clone(),
    };
    let shared = Arc::new(view::Shared::new(
        Box::new(source),
        config.cache_bytes,
        config.prime_cache,
    ));
    shared
        .start_prefetch()
        .map_err(|e| ProjectorError::Session(e.to_string()))?;
    let (inval_tx, inval_rx) = std::sync::mpsc::channel();
    let (caught_up_tx, mut caught_up_rx) = tokio::sync::mpsc::channel(follow::STREAMS.len());
    // Cancelled at the shutdown, or by a follower or the heartbeat that died (a panic):
    // the view must not stay mounted while it no longer follows a stream.
    let followers = shutdown.child_token();
    let mut tasks = Vec::new();
    for name in follow::STREAMS {
        tasks.push(spawn_helper(
            "stream follower",
            &followers,
            follow::follow(
                js.clone(),
                shared.clone(),
                name,
                inval_tx.clone(),
                caught_up_tx.clone(),
                followers.clone(),
            ),
        ));
    }
    drop(inval_tx);
    let rebuild = async {
        for _ in follow::STREAMS {
            caught_up_rx.recv().await;
        }
    };
    let started = std::time::Instant::now();
    tokio::select! {
        _ = tokio::time::timeout(config.rebuild_timeout, rebuild) => {}
        _ = followers.cancelled() => return Ok(joined(tasks).await?),
    }
    tracing::info!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        "view_rebuilt"
    );

    let mut options = fuser::Config::default();
    options.mount_options = vec![
        fuser::MountOption::FSName("lighthouse".into()),
        fuser::MountOption::Subtype("lighthouse".into()),
        fuser::MountOption::RO,
        fuser::MountOption::NoSuid,
        fuser::MountOption::NoDev,
        fuser::MountOption::NoExec,
        fuser::MountOption::NoAtime,
        fuser::MountOption::DefaultPermissions,
        // The kernel unmounts if this process dies, however it dies.
        fuser::MountOption::AutoUnmount,
    ];
    // auto_unmount goes through fusermount3, which needs allow_other; the view is
    // read-only and holds what the agent already wrote.
    options.acl = fuser::SessionACL::All;
    options.n_threads = Some(config.threads.max(1));
    options.clone_fd = true;
    let fs = fs::LighthouseFs::new(shared.clone());
    let mount_at = mount.clone();
    let session = tokio::task::spawn_blocking(move || fuser::spawn_mount(fs, &mount_at, &options))
        .await
        .map_err(|e| ProjectorError::Session(e.to_string()))?
        .map_err(|source| ProjectorError::Mount {
            path: mount.clone(),
            source,
        })?;
    let notifier = session.notifier();
    let invalidator = {
        let (shared, stop) = (shared.clone(), followers.clone());
        std::thread::Builder::new()
            .name("lh-invalidate".into())
            .spawn(move || {
                // The kernel keeps what it read of the view for an hour, trusting these
                // invalidations: should this thread die, the view must not stay mounted,
                // going stale. It ends by itself only once the followers have.
                let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    fs::invalidate(shared, notifier, inval_rx)
                }));
                ran.map_err(|panic| {
                    stop.cancel();
                    HelperEnded {
                        name: "invalidator",
                        why: format!("panicked: {}", panic_text(panic.as_ref())),
                    }
                })
            })
            .map_err(|e| ProjectorError::Session(e.to_string()))?
    };
    tracing::info!(mount = %mount.display(), "view_mounted");
    // Presence, like every worker: `lighthouse status` lists the projector and what it
    // has applied; the key disappears when it stops.
    tasks.push({
        let shared = shared.clone();
        // Plain characters only: KV keys refuse the `~` escapes of odd names.
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .unwrap_or_else(|_| "host".to_owned());
        let id = format!("{host}-{}", std::process::id());
        let started_ms = shared.started_us / 1000;
        lighthouse_nats::presence::spawn_heartbeat(&js, &followers, move || {
            use lighthouse_nats::presence::{Presence, WorkerKind};
            let health = shared.health.lock().unwrap_or_else(|e| e.into_inner());
            Presence {
                processed: health.values().map(|h| h.applied).sum(),
                dead_lettered: health.values().map(|h| h.rejected).sum(),
                ..Presence::of_this_process(WorkerKind::Projector, &id, started_ms)
            }
        })
    });
    if let Some(ready) = ready {
        let _ = ready.send(());
    }
    followers.cancelled().await;
    let ended = joined(tasks).await;
    // All senders are gone with the followers: the invalidator thread ends.
    let invalidated = tokio::task::spawn_blocking(move || invalidator.join()).await;
    let detached = mount.clone();
    let unmount = tokio::task::spawn_blocking(move || {
        mount::detach(&detached);
        session.umount_and_join()
    });
    let unmounted = match tokio::time::timeout(Duration::from_secs(10), unmount).await {
        Ok(Ok(Ok(()))) => Ok(()),
        Ok(Ok(Err(e))) => {
            mount::clear_stale(&mount);
            Err(ProjectorError::Session(e.to_string()))
        }
        _ => {
            // A reader stuck in the mount: detach it lazily rather than hang.
            mount::clear_stale(&mount);
            Ok(())
        }
    };
    // A helper that died is why it stopped: that is the error.
    ended?;
    if let Ok(Ok(Err(e))) = invalidated {
        return Err(e.into());
    }
    unmounted
}

/// Joins every helper; the first that ended before the shutdown is the error.
async fn joined(tasks: Vec<Helper>) -> Result<(), HelperEnded> {
    let mut ended = Ok(());
    for task in tasks {
        let result = task.join().await;
        if ended.is_ok() {
            ended = result;
        }
    }
    ended
}
