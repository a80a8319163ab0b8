//! A worker's handler that panics (a bug, or a library's assertion) must cost its message
//! one delivery, never the partition: before, the panic ended the partition's loop while
//! the worker stayed up and reported itself bound, and that partition's commands waited
//! for a restart nobody asked for. Real nats-server, the real consume loop.

use async_nats::jetstream::{self, stream};
use lighthouse_nats::topology::ConsumerGroup;
use lighthouse_nats::worker::{ConsumeOptions, Outcome, consume_group};
use lighthouse_tests::NatsServer;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const MESSAGES: usize = 20;
const PANICS_ON: &str = "7";

#[tokio::test(flavor = "multi_thread")]
async fn a_panicking_handler_costs_its_message_one_delivery_not_the_partition() {
    let server = NatsServer::start();
    let js = jetstream::new(async_nats::connect(server.url()).await.unwrap());
    js.create_stream(stream::Config {
        name: "PANICS".into(),
        subjects: vec!["panics.>".into()],
        retention: stream::RetentionPolicy::WorkQueue,
        ..Default::default()
    })
    .await
    .unwrap();
    // One partition, so the panicking message and all the others share one loop.
    let group = ConsumerGroup::from_template(
        "panics",
        "PANICS",
        1,
        json!({
            "durable_name": "panics-{partition}",
            "filter_subject": "panics.>",
            "ack_policy": "explicit",
            "ack_wait": 5_000_000_000u64,
            "max_deliver": -1,
            "deliver_policy": "all",
            "replay_policy": "instant",
        }),
    );
    let stream = js.get_stream("PANICS").await.unwrap();
    stream
        .create_consumer(group.consumer(0).unwrap())
        .await
        .unwrap();
    for i in 0..MESSAGES {
        js.publish("panics.m", i.to_string().into())
            .await
            .unwrap()
            .await
            .unwrap();
    }

    // Payload → the delivery counts it was handled (or panicked) at.
    let seen: Arc<Mutex<BTreeMap<String, Vec<i64>>>> = Arc::default();
    // Payloads handled to the end, in order.
    let handled: Arc<Mutex<Vec<String>>> = Arc::default();
    let done = CancellationToken::new();
    let handler = {
        let (seen, handled, done) = (seen.clone(), handled.clone(), done.clone());
        move |delivery: lighthouse_nats::worker::Delivery| {
            let (seen, handled, done) = (seen.clone(), handled.clone(), done.clone());
            async move {
                let payload = String::from_utf8_lossy(&delivery.message.payload).into_owned();
                seen.lock()
                    .unwrap()
                    .entry(payload.clone())
                    .or_default()
                    .push(delivery.delivered);
                if payload == PANICS_ON && delivery.delivered == 1 {
                    panic!("a handler bug on message {payload}");
                }
                handled.lock().unwrap().push(payload);
                if handled.lock().unwrap().len() == MESSAGES {
                    done.cancel();
                }
                Outcome::Done
            }
        }
    };
    let options = ConsumeOptions {
        backoff_base: Duration::from_millis(20),
        ..Default::default()
    };
    let consuming = tokio::spawn(consume_group(
        js.clone(),
        group,
        options,
        Arc::default(),
        handler,
        done.clone(),
    ));
    let finished = tokio::time::timeout(Duration::from_secs(30), done.cancelled()).await;
    done.cancel();
    let result = consuming.await.unwrap();
    let seen = seen.lock().unwrap().clone();
    assert!(
        finished.is_ok(),
        "not every message was handled after a handler panicked: {seen:?}"
    );
    assert!(result.is_ok(), "the worker failed: {result:?}");
    let mut handled = handled.lock().unwrap().clone();
    handled.sort();
    handled.dedup();
    assert_eq!(
        handled.len(),
        MESSAGES,
        "each message handled once: {seen:?}"
    );
    // The one that panicked came back once and was handled on its second delivery.
    assert_eq!(seen[PANICS_ON], vec![1, 2], "{seen:?}");
    for (payload, deliveries) in &seen {
        if payload != PANICS_ON {
            assert_eq!(deliveries, &vec![1], "message {payload}: {seen:?}");
        }
    }
}
