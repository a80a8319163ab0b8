//! The harness itself: servers start, restart with their data, and cluster.

use async_nats::jetstream::{self, stream};
use lighthouse_tests::{Cluster, NatsServer};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread")]
async fn server_restarts_on_the_same_port_with_its_data() {
    let mut server = NatsServer::start();
    let client = async_nats::connect(server.url()).await.unwrap();
    let js = jetstream::new(client);
    js.create_stream(stream::Config {
        name: "T".into(),
        subjects: vec!["t.>".into()],
        ..Default::default()
    })
    .await
    .unwrap();
    js.publish("t.1", "kept".into())
        .await
        .unwrap()
        .await
        .unwrap();
    let port = server.port();
    tokio::task::block_in_place(|| server.kill_and_restart());
    assert_eq!(server.port(), port);
    let client = async_nats::connect(server.url()).await.unwrap();
    let js = jetstream::new(client);
    let mut s = js.get_stream("T").await.unwrap();
    assert_eq!(s.info().await.unwrap().state.messages, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn three_node_cluster_replicates_a_stream() {
    let cluster = tokio::task::block_in_place(|| Cluster::start(3));
    let client = async_nats::ConnectOptions::new()
        .retry_on_initial_connect()
        .connect(
            cluster
                .urls()
                .iter()
                .map(|u| u.parse::<async_nats::ServerAddr>().unwrap())
                .collect::<Vec<_>>(),
        )
        .await
        .unwrap();
    let js = jetstream::new(client);
    // The meta leader takes a moment to be elected.
    let mut created = None;
    for _ in 0..100 {
        match js
            .create_stream(stream::Config {
                name: "R3".into(),
                subjects: vec!["r3.>".into()],
                num_replicas: 3,
                ..Default::default()
            })
            .await
        {
            Ok(info) => {
                created = Some(info);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    let mut info = created.expect("R3 stream created once the cluster formed");
    assert_eq!(info.info().await.unwrap().config.num_replicas, 3);
    js.publish("r3.a", "x".into()).await.unwrap().await.unwrap();
    let cluster_info = info.info().await.unwrap().cluster.clone().unwrap();
    assert_eq!(
        cluster_info.replicas.len(),
        2,
        "two followers besides the leader"
    );
}
