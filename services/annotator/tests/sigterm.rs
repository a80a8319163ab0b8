//! The `lighthouse-annotator` binary stopped by SIGTERM in the middle of a backlog of
//! file events: it exits 0 within its grace period, and no event is lost — what it had
//! taken is handled and acked, or comes back to the next replica, until all are acked.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the report

use async_nats::jetstream;
use lighthouse_nats::topology::{ANNOTATOR_GROUP, FS_STREAM, Topology};
use lighthouse_schemas::{Envelope, FileContent, FileVersion, Token, encode, now_us, subject};
use lighthouse_tests::NatsServer;
use lighthouse_tests::process::{Worker, until};
use std::path::Path;
use std::time::Duration;

const BINARY: &str = env!("CARGO_BIN_EXE_lighthouse-annotator");
const GRACE_MS: u64 = 5_000;
const EVENTS: usize = 3_000;

async fn publish_files(js: &jetstream::Context, n: usize) -> u64 {
    let mut acks = Vec::with_capacity(n);
    for i in 0..n {
        let path = format!("src/f{i}.rs");
        let content = format!("fn f{i}() {{}}\n").into_bytes();
        let version = FileVersion {
            env: Envelope::new(format!("fv-{i}"), now_us(), "proj", "a", format!("t-{i}")),
            path: path.clone(),
            size: content.len() as u64,
            content: FileContent::Inline(content),
            sha256: String::new(),
            mtime_us: now_us(),
            executable: false,
            tool: "Write".into(),
            tool_use_id: None,
        };
        let target = subject::file(&Token::encode("proj"), &Token::encode(&path));
        acks.push(
            js.publish(target, encode(&version).unwrap().into())
                .await
                .unwrap(),
        );
    }
    let mut last = 0;
    for ack in acks {
        last = ack.await.unwrap().sequence;
    }
    last
}

/// `(acked through, delivered and not yet acked)` summed over the annotator's consumers.
async fn progress(js: &jetstream::Context) -> (u64, usize) {
    let group = Topology::embedded()
        .unwrap()
        .group(FS_STREAM, ANNOTATOR_GROUP)
        .unwrap()
        .clone();
    let stream = js.get_stream(FS_STREAM).await.unwrap();
    let mut acked = 0;
    let mut in_flight = 0;
    for name in group.durable_names().unwrap() {
        let mut consumer: jetstream::consumer::PullConsumer =
            stream.get_consumer(&name).await.unwrap();
        let info = consumer.info().await.unwrap();
        acked = acked.max(info.ack_floor.stream_sequence);
        in_flight += info.num_ack_pending;
    }
    (acked, in_flight)
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_under_load_exits_0_and_loses_no_file_event() {
    let server = NatsServer::start();
    let js = jetstream::new(async_nats::connect(server.url()).await.unwrap());
    Topology::embedded().unwrap().apply(&js).await.unwrap();
    let last = publish_files(&js, EVENTS).await;

    let grace = GRACE_MS.to_string();
    let env = [
        ("LIGHTHOUSE__SERVICE__GRACE_MS", grace.as_str()),
        ("LIGHTHOUSE__SERVICE__ID", "first"),
    ];
    let mut first = Worker::start(Path::new(BINARY), &server.url(), &env);
    until(Duration::from_secs(60), async || progress(&js).await.0 > 0).await;
    first.sigterm();
    let status = first.wait(Duration::from_millis(GRACE_MS) + Duration::from_secs(5));
    assert!(status.success(), "annotator exit {status:?}");
    let (at_stop, _) = progress(&js).await;
    eprintln!("annotator: acked through {at_stop} of {last} when it stopped");
    assert!(
        at_stop < last,
        "the annotator was stopped under load, not after the backlog"
    );

    // Whatever it held unacked is redelivered (after the consumer's ack wait) to the
    // next replica; every event ends acked.
    let _second = Worker::start(
        Path::new(BINARY),
        &server.url(),
        &[("LIGHTHOUSE__SERVICE__ID", "second")],
    );
    until(Duration::from_secs(120), async || {
        progress(&js).await == (last, 0)
    })
    .await;
}
