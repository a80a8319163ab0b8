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
