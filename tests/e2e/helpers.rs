//! Tasks a long-running process runs beside its main loop must not die alone, leaving the
//! process up without them. Real nats-server.

use async_nats::jetstream;
use futures::StreamExt;
use lighthouse_nats::topology::{EXPERTS_BUCKET, Topology};
use lighthouse_tests::NatsServer;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// An expert whose presence bucket cannot be opened yet (a server still being set up,
/// restarting, or the bucket recreated) must show up once it can: before, the heartbeat
/// gave up at its first attempt, and `lighthouse expert watch` or `lighthouse mcp`
/// went on watching while it looked absent, so every escalation to its specialty was
/// decided without it.
#[tokio::test(flavor = "multi_thread")]
async fn an_expert_whose_presence_bucket_comes_late_still_shows_up() {
    let server = NatsServer::start();
    let js = jetstream::new(async_nats::connect(server.url()).await.unwrap());
    let stop = CancellationToken::new();
    let heartbeat = tokio::spawn(lighthouse_nats::experts::heartbeat(
        js.clone(),
        "alice".to_owned(),
        vec!["security".to_owned()],
        "human".to_owned(),
        stop.clone(),
    ));
    // Its first attempt finds no bucket.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !heartbeat.is_finished(),
        "the expert's heartbeat gave up while the bucket was missing"
    );
    Topology::embedded().unwrap().apply(&js).await.unwrap();
    let store = js.get_key_value(EXPERTS_BUCKET).await.unwrap();
    let mut present = Vec::new();
    for _ in 0..100 {
        present = store
            .keys()
            .await
            .unwrap()
            .filter_map(|k| async move { k.ok() })
            .collect()
            .await;
        if !present.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(present.len(), 1, "the expert never showed up: {present:?}");
    stop.cancel();
    heartbeat.await.unwrap();
}

/// `lighthouse up` keeps its nats-server alive: should the watch that restarts it panic
/// (here, in the callback that records its state), it must watch again, not leave `up`
/// running on with a server nobody restarts. Real nats-server, killed.
#[tokio::test(flavor = "multi_thread")]
async fn the_nats_server_watch_survives_a_panic() {
    use lighthouse_nats::server::{ServerOptions, ServerProcess};
    use lighthouse_nats::supervise::{Backoff, SupervisedServer};
    use std::sync::atomic::{AtomicBool, Ordering};

    let data = tempfile::tempdir().unwrap();
    let process = ServerProcess::start(ServerOptions {
        binary: lighthouse_tests::nats_server_binary(),
        data_dir: data.path().to_owned(),
        port: None,
        monitor_port: None,
        host: "127.0.0.1".to_owned(),
        extra_args: Vec::new(),
    })
    .unwrap();
    let first_pid = process.pid();
    let panicked = AtomicBool::new(false);
    let server = SupervisedServer::watch(
        process,
        Backoff {
            first: Duration::from_millis(50),
            max: Duration::from_millis(200),
            reset_after: Duration::from_secs(60),
        },
        move |_| {
            if !panicked.swap(true, Ordering::SeqCst) {
                panic!("a bug recording the server's state");
            }
        },
    );
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(first_pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let mut state = server.state();
    for _ in 0..150 {
        state = server.state();
        if state.running && state.restarts >= 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        state.running && state.restarts >= 1 && state.pid != first_pid,
        "the killed server was not started again: {state:?}"
    );
    server.stop(Duration::from_secs(5)).await;
}
