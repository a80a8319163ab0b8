//! The `lighthouse-validator` binary stopped by SIGTERM in the middle of a backlog:
//! it exits 0 within its grace period, and no command is lost — what it had taken is
//! decided (and acked) or comes back to the next replica, each decided exactly once.

use async_nats::jetstream;
use lighthouse_nats::topology::Topology;
use lighthouse_tests::NatsServer;
use lighthouse_tests::process::{Worker, bash_command, decision_counts, publish_commands, until};
use std::path::Path;
use std::time::Duration;

const BINARY: &str = env!("CARGO_BIN_EXE_lighthouse-validator");
const GRACE_MS: u64 = 5_000;
const COMMANDS: usize = 3_000;

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_under_load_exits_0_and_loses_no_command() {
    let server = NatsServer::start();
    let js = jetstream::new(async_nats::connect(server.url()).await.unwrap());
    Topology::embedded().unwrap().apply(&js).await.unwrap();
    let commands: Vec<_> = (0..COMMANDS)
        .map(|i| bash_command("term", i, "cargo build"))
        .collect();
    publish_commands(&js, &commands).await;

    let grace = GRACE_MS.to_string();
    let env = [
        ("LIGHTHOUSE__SERVICE__GRACE_MS", grace.as_str()),
        ("LIGHTHOUSE__SERVICE__ID", "first"),
    ];
    let mut first = Worker::start(Path::new(BINARY), &server.url(), &env);
    // Under load: the first decisions are out, most of the backlog is not.
    until(Duration::from_secs(60), async || {
        decision_counts(&js).await.0 > 0
    })
    .await;
    first.sigterm();
    let status = first.wait(Duration::from_millis(GRACE_MS) + Duration::from_secs(5));
    assert!(status.success(), "validator exit {status:?}");
    let (at_stop, _) = decision_counts(&js).await;
    eprintln!("validator: {at_stop} of {COMMANDS} commands decided when it stopped");
    assert!(
        (at_stop as usize) < COMMANDS,
        "the validator was stopped under load, not after the backlog"
    );

    // What it had taken and not decided comes back to the next replica.
    let _second = Worker::start(
        Path::new(BINARY),
        &server.url(),
        &[("LIGHTHOUSE__SERVICE__ID", "second")],
    );
    until(Duration::from_secs(90), async || {
        decision_counts(&js).await.0 >= COMMANDS as u64
    })
    .await;
    let (messages, subjects) = decision_counts(&js).await;
    assert_eq!(messages, COMMANDS as u64, "one decision per command");
    assert_eq!(subjects, COMMANDS as u64, "every command decided");
}
