//! `lighthouse bench escalation`: what the escalation path costs beyond the expert's
//! own time, next to the raw JetStream publish+ack measured in the same run.
//!
//! One nats-server, with a validator, an aggregator and an instant automatic expert
//! (approves everything) all in this process. Each escalation is
//! command → validator → `LH_ESC` → expert → `LH_VOTE` → aggregator → decision; the
//! expert records how long it held each escalation (decode to vote handed to the
//! client), and the overhead is the round trip minus that.

use anyhow::{Context as _, bail};
use async_nats::jetstream::{self, consumer::PullConsumer};
use futures::StreamExt;
use hdrhistogram::Histogram;
use lighthouse_config::Settings;
use lighthouse_nats::roster::Roster;
use lighthouse_nats::topology::{ESC_STREAM, Topology};
use lighthouse_schemas::{
    AgentKind, Choice, Command, Envelope, Escalation, Token, Vote, decode, encode, now_us, subject,
};
use serde::Serialize;
use std::collections::HashMap;
use std::future::IntoFuture;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone)]
pub struct EscalationArgs {
    /// Sequential escalations for the latency figures.
    pub rounds: usize,
    /// Escalations published at once for the throughput figure.
    pub escalations: usize,
}

#[derive(Debug, Serialize)]
pub struct EscalationReport {
    pub raw_publish_ack_p50_ms: f64,
    pub raw_publish_ack_p99_ms: f64,
    pub roundtrip_p50_ms: f64,
    pub roundtrip_p99_ms: f64,
    pub expert_p50_ms: f64,
    pub expert_p99_ms: f64,
    /// Round trip minus the expert's own time, per escalation.
    pub overhead_p50_ms: f64,
    pub overhead_p99_ms: f64,
    /// overhead p99 / raw publish+ack p99.
    pub overhead_p99_over_raw_p99: f64,
    pub overhead_p99_target_ms: f64,
    pub escalations_per_s: f64,
}

impl EscalationReport {
    pub fn render(&self) -> String {
        format!(
            "raw JetStream     publish+ack p50 {:.3} ms  p99 {:.3} ms\n\
             escalation        round trip p50 {:.3} ms  p99 {:.3} ms (expert's own time p50 {:.3} ms  p99 {:.3} ms)\n\
             overhead          p50 {:.3} ms  p99 {:.3} ms  = {:.1}× raw p99  (target p99 ≤ {:.0} ms: {})\n\
             sustained         {:.0} escalations/s\n",
            self.raw_publish_ack_p50_ms,
            self.raw_publish_ack_p99_ms,
            self.roundtrip_p50_ms,
            self.roundtrip_p99_ms,
            self.expert_p50_ms,
            self.expert_p99_ms,
            self.overhead_p50_ms,
            self.overhead_p99_ms,
            self.overhead_p99_over_raw_p99,
            self.overhead_p99_target_ms,
            if self.overhead_p99_ms <= self.overhead_p99_target_ms {
                "met"
            } else {
                "missed"
            },
            self.escalations_per_s,
        )
    }
}

fn ms(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1000.0
}

fn histogram() -> Histogram<u64> {
    crate::histogram(60_000_000)
}

/// Expert hold times by command id, in microseconds.
type HoldTimes = Arc<Mutex<HashMap<String, u64>>>;

pub async fn escalation(
    settings: &Settings,
    args: EscalationArgs,
) -> anyhow::Result<EscalationReport> {
    // Bound, not dropped: the temp dir holds the running server's store.
    let crate::pipeline::BenchServer {
        dir: _dir,
        server,
        url,
        client,
    } = crate::pipeline::BenchServer::start(settings).await?;
    let js = jetstream::new(client.clone());
    let (raw_p50, raw_p99) = raw_publish_ack(&js).await?;
    eprintln!("bench: raw publish+ack p50 {raw_p50:.3} ms p99 {raw_p99:.3} ms");

    Topology::embedded()?.apply(&js).await?;
    let shutdown = CancellationToken::new();
    // Each worker gets its own connection, as separate processes would.
    let mut tasks = tokio::task::JoinSet::new();
    let validator_client = lighthouse_nats::connect(&url, "bench-validator").await?;
    tasks.spawn({
        let config = lighthouse_validator::service::config(&named(settings, "bench-validator"));
        let shutdown = shutdown.clone();
        async move {
            let _ = lighthouse_validator::run(validator_client, config, shutdown).await;
        }
    });
    let aggregator_client = lighthouse_nats::connect(&url, "bench-aggregator").await?;
    tasks.spawn({
        let config = lighthouse_aggregator::service::config(&named(settings, "bench-aggregator"));
        let shutdown = shutdown.clone();
        async move {
            let _ = lighthouse_aggregator::run(aggregator_client, config, shutdown).await;
        }
    });
    let expert_client = lighthouse_nats::connect(&url, "bench-expert").await?;
    let holds: HoldTimes = Arc::default();
    tasks.spawn(instant_expert(
        jetstream::new(expert_client),
        holds.clone(),
        shutdown.clone(),
    ));
    wait_until_ready(&js, shutdown.clone()).await?;

    let (round_trips, expert, overhead) = sequential(&client, &js, &holds, args.rounds).await?;
    eprintln!(
        "bench: round trip p99 {:.3} ms, overhead p99 {:.3} ms",
        ms(&round_trips, 0.99),
        ms(&overhead, 0.99)
    );
    let rate = throughput(&client, &js, args.escalations).await?;
    eprintln!("bench: {rate:.0} escalations/s");
    shutdown.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(10), async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    drop(server);
    let overhead_p99 = ms(&overhead, 0.99);
    Ok(EscalationReport {
        raw_publish_ack_p50_ms: raw_p50,
        raw_publish_ack_p99_ms: raw_p99,
        roundtrip_p50_ms: ms(&round_trips, 0.5),
        roundtrip_p99_ms: ms(&round_trips, 0.99),
        expert_p50_ms: ms(&expert, 0.5),
        expert_p99_ms: ms(&expert, 0.99),
        overhead_p50_ms: ms(&overhead, 0.5),
        overhead_p99_ms: overhead_p99,
        overhead_p99_over_raw_p99: overhead_p99 / raw_p99.max(f64::EPSILON),
        overhead_p99_target_ms: 5.0,
        escalations_per_s: rate,
    })
}

/// Sequential publish+ack on a plain file stream, as the raw transport reference.
async fn raw_publish_ack(js: &jetstream::Context) -> anyhow::Result<(f64, f64)> {
    js.create_or_update_stream(jetstream::stream::Config {
        name: "BENCH_RAW".into(),
        subjects: vec!["bench.raw.>".into()],
        duplicate_window: Duration::from_secs(120),
        ..Default::default()
    })
    .await?;
    let payload = bytes::Bytes::from(vec![b'x'; 600]);
    let mut h = histogram();
    for _ in 0..2_000 {
        let t = Instant::now();
        js.publish("bench.raw.lat", payload.clone()).await?.await?;
        h.record(t.elapsed().as_micros().max(1) as u64)?;
    }
    js.delete_stream("BENCH_RAW").await?;
    Ok((ms(&h, 0.5), ms(&h, 0.99)))
}

/// An expert that approves every security escalation at once, recording how long it
/// held each one.
async fn instant_expert(js: jetstream::Context, holds: HoldTimes, shutdown: CancellationToken) {
    let presence = tokio::spawn(lighthouse_nats::experts::heartbeat(
        js.clone(),
        "bench-bot".into(),
        vec!["security".into()],
        "script".into(),
        shutdown.clone(),
    ));
    let consumer: PullConsumer = match async {
        js.get_stream(ESC_STREAM)
            .await?
            .get_consumer("expert-security")
            .await
    }
    .await
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("bench: expert cannot bind: {e}");
            return;
        }
    };
    let Ok(messages) = consumer.messages().await else {
        return;
    };
    messages
        .take_until(shutdown.cancelled())
        .for_each_concurrent(256, |message| {
            let (js, holds) = (js.clone(), holds.clone());
            async move {
                let Ok(message) = message else { return };
                let start = Instant::now();
                if let Ok(e) = decode::<Escalation>(&message.payload) {
                    let vote = Vote {
                        reasoning: "benchmark: approves everything".into(),
                        confidence: Some(1.0),
                        ..Vote::on(
                            &e,
                            format!("{}.bench-bot", e.cmd_id),
                            now_us(),
                            "bench-bot",
                            &e.specialty,
                            Choice::Approve,
                        )
                    };
                    let target =
                        subject::vote(&Token::encode(&e.cmd_id), &Token::encode("bench-bot"));
                    let Ok(payload) = encode(&vote) else { return };
                    let message_id = vote.env.id.clone();
                    let publish = jetstream::message::PublishMessage::build()
                        .payload(payload.into())
                        .message_id(&message_id);
                    let sent = js.send_publish(target, publish).await;
                    let held = start.elapsed().as_micros().max(1) as u64;
                    if let Ok(mut holds) = holds.lock() {
                        holds.insert(e.cmd_id.clone(), held);
                    }
                    if let Ok(ack) = sent {
                        let _ = ack.await;
                    }
                }
                let _ = message.ack().await;
            }
        })
        .await;
    let _ = presence.await;
}

async fn wait_until_ready(
    js: &jetstream::Context,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let (workers, _) = Roster::watch(
        js,
        lighthouse_nats::presence::BUCKET,
        Duration::from_secs(15),
        shutdown.clone(),
    )
    .await?;
    let (experts, _) = Roster::watch(
        js,
        lighthouse_nats::topology::EXPERTS_BUCKET,
        Duration::from_secs(15),
        shutdown,
    )
    .await?;
    let start = Instant::now();
    while !(workers.any("validator.") && workers.any("aggregator.") && experts.any("security.")) {
        if start.elapsed() > Duration::from_secs(20) {
            bail!("validator, aggregator and expert did not come up within 20 s");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The validator's and aggregator's own rosters see each other a moment later.
    tokio::time::sleep(Duration::from_millis(500)).await;
    Ok(())
}

fn bench_command(id: &str, n: usize) -> Command {
    Command {
        env: Envelope::new(id, now_us(), "bench", format!("agent-{}", n % 16), id),
        tool_name: "Bash".into(),
        tool_input: serde_json::json!({ "command": format!("git reset --hard HEAD~{}", n % 7) }),
        cwd: "/work/bench".into(),
        session_id: "bench".into(),
        tool_use_id: Some(id.into()),
        agent_kind: AgentKind::ClaudeCode,
        permission_mode: None,
        git_branch: None,
    }
}

async fn publish_command(
    js: &jetstream::Context,
    command: &Command,
) -> anyhow::Result<jetstream::context::PublishAckFuture> {
    let target = subject::command(
        &Token::encode(&command.env.project),
        &Token::encode(&command.env.agent),
    );
    let message = jetstream::message::PublishMessage::build()
        .payload(encode(command)?.into())
        .message_id(&command.env.id);
    Ok(js.send_publish(target, message).await?)
}

/// One escalation at a time: round trip, expert hold time and their difference.
async fn sequential(
    client: &async_nats::Client,
    js: &jetstream::Context,
    holds: &HoldTimes,
    rounds: usize,
) -> anyhow::Result<(Histogram<u64>, Histogram<u64>, Histogram<u64>)> {
    let (mut round_trips, mut expert, mut overhead) = (histogram(), histogram(), histogram());
    let run = now_us();
    for i in 0..rounds {
        let id = format!("esc-{run}-{i}");
        let command = bench_command(&id, i);
        let target = subject::decision(
            &Token::encode(&command.env.project),
            &Token::encode(&command.env.agent),
            &Token::encode(&id),
        );
        let mut decision = client.subscribe(target).await?;
        let t = Instant::now();
        publish_command(js, &command).await?.await?;
        let message = tokio::time::timeout(Duration::from_secs(10), decision.next())
            .await
            .with_context(|| format!("no decision for {id} within 10 s"))?
            .context("decision subscription closed")?;
        let elapsed = t.elapsed().as_micros().max(1) as u64;
        let d: lighthouse_schemas::Decision = decode(&message.payload)?;
        if d.tier != lighthouse_schemas::Tier::Expert {
            bail!(
                "{id} was decided by {:?}, not the expert: {}",
                d.tier,
                d.reason
            );
        }
        let held = holds
            .lock()
            .ok()
            .and_then(|h| h.get(&id).copied())
            .unwrap_or(1);
        round_trips.record(elapsed)?;
        expert.record(held)?;
        overhead.record(elapsed.saturating_sub(held).max(1))?;
    }
    Ok((round_trips, expert, overhead))
}

/// Publishes `n` escalating commands at once; escalations decided per second.
async fn throughput(
    client: &async_nats::Client,
    js: &jetstream::Context,
    n: usize,
) -> anyhow::Result<f64> {
    let run = now_us();
    let prefix = format!("tput-{run}-");
    let mut decisions = client.subscribe(subject::DECISION_ALL).await?;
    let counter = {
        let prefix = prefix.clone();
        tokio::spawn(async move {
            let mut seen = 0usize;
            while seen < n {
                match decisions.next().await {
                    Some(m)
                        if m.subject
                            .rsplit('.')
                            .next()
                            .is_some_and(|id| id.starts_with(&prefix)) =>
                    {
                        seen += 1
                    }
                    Some(_) => {}
                    None => break,
                }
            }
            seen
        })
    };
    let start = Instant::now();
    let mut acks = futures::stream::FuturesUnordered::new();
    for i in 0..n {
        let command = bench_command(&format!("{prefix}{i}"), i);
        acks.push(publish_command(js, &command).await?.into_future());
        while acks.len() >= 1_024 {
            acks.next().await.transpose()?;
        }
    }
    while let Some(ack) = acks.next().await {
        ack?;
    }
    let seen = tokio::time::timeout(Duration::from_secs(120), counter)
        .await
        .context("escalations not all decided within 120 s")??;
    if seen < n {
        bail!("only {seen} of {n} escalations decided");
    }
    Ok(n as f64 / start.elapsed().as_secs_f64())
}

/// `settings` with `service.id` set to `id`.
fn named(settings: &Settings, id: &str) -> Settings {
    let mut settings = settings.clone();
    settings.service.id = Some(id.to_owned());
    settings
}
