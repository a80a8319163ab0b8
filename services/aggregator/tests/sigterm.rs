//! The `lighthouse-aggregator` binary stopped by SIGTERM with escalations pending: it
//! exits 0 within its grace period, and no escalation is lost — each is decided by it
//! or, having come back, by the next replica, exactly once.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the report

use async_nats::jetstream;
use lighthouse_nats::topology::{ESCALATIONS_BUCKET, Topology};
use lighthouse_schemas::{
    Decision, Envelope, EscalationContext, Risk, Tier, Token, Verdict, encode, now_us, subject,
};
use lighthouse_tests::NatsServer;
use lighthouse_tests::process::{Worker, bash_command, decision_counts, until};
use lighthouse_validator::escalate::{EscalationPolicy, escalation, for_specialty};
use std::path::Path;
use std::time::Duration;

const BINARY: &str = env!("CARGO_BIN_EXE_lighthouse-aggregator");
const GRACE_MS: u64 = 5_000;
const ESCALATIONS: usize = 1_000;

/// Records and publishes escalations as a validator does. With no expert present,
/// the aggregator resolves each at once (nobody could ever approve).
async fn escalate(js: &jetstream::Context, n: usize) {
    let store = js.get_key_value(ESCALATIONS_BUCKET).await.unwrap();
    let policy = EscalationPolicy::default();
    let mut acks = Vec::with_capacity(n);
    for i in 0..n {
        let command = bash_command("esc", i, "rm -rf .");
        let decision = Decision {
            env: Envelope::new(
                format!("d-{i}"),
                now_us(),
                "proj",
                command.env.agent.clone(),
                command.env.id.clone(),
            ),
            cmd_id: command.env.id.clone(),
            verdict: Verdict::Escalate,
            reason: "escalated by the test".into(),
            rule_id: None,
            risk: Some(Risk::Low),
            tier: Tier::Policy,
            latency_us: 0,
            decided_by: "test".into(),
            voters: Vec::new(),
            provenance: Default::default(),
            exception: None,
        };
        let esc = escalation(
            &policy,
            &command,
            &decision,
            EscalationContext::default(),
            now_us(),
        );
        store
            .create(
                Token::encode(&command.env.id).kv_key(),
                encode(&esc).unwrap().into(),
            )
            .await
            .unwrap();
        for specialty in &esc.required {
            let copy = for_specialty(&esc, specialty);
            let target = subject::escalation(&Token::encode("proj"), &Token::encode(specialty));
            let msg = jetstream::message::PublishMessage::build()
                .payload(encode(&copy).unwrap().into())
                .message_id(&copy.env.id);
            acks.push(js.send_publish(target, msg).await.unwrap());
        }
    }
    for ack in acks {
        ack.await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_under_load_exits_0_and_loses_no_escalation() {
    let server = NatsServer::start();
    let js = jetstream::new(async_nats::connect(server.url()).await.unwrap());
    Topology::embedded().unwrap().apply(&js).await.unwrap();
    escalate(&js, ESCALATIONS).await;

    let grace = GRACE_MS.to_string();
    let env = [
        ("LIGHTHOUSE__SERVICE__GRACE_MS", grace.as_str()),
        ("LIGHTHOUSE__SERVICE__ID", "first"),
    ];
    let mut first = Worker::start(Path::new(BINARY), &server.url(), &env);
    until(Duration::from_secs(60), async || {
        decision_counts(&js).await.0 > 0
    })
    .await;
    first.sigterm();
    let status = first.wait(Duration::from_millis(GRACE_MS) + Duration::from_secs(5));
    assert!(status.success(), "aggregator exit {status:?}");
    let (at_stop, _) = decision_counts(&js).await;
    eprintln!("aggregator: {at_stop} of {ESCALATIONS} escalations decided when it stopped");
    assert!(
        (at_stop as usize) < ESCALATIONS,
        "the aggregator was stopped under load, not after the backlog"
    );

    let _second = Worker::start(
        Path::new(BINARY),
        &server.url(),
        &[("LIGHTHOUSE__SERVICE__ID", "second")],
    );
    until(Duration::from_secs(90), async || {
        decision_counts(&js).await.0 >= ESCALATIONS as u64
    })
    .await;
    let (messages, subjects) = decision_counts(&js).await;
    assert_eq!(messages, ESCALATIONS as u64, "one decision per escalation");
    assert_eq!(subjects, ESCALATIONS as u64, "every escalation decided");
}
