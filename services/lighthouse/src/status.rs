//! `lighthouse status` and `lighthouse decisions`: what an operator asks first.

use anyhow::Context as _;
use lighthouse_nats::presence::{self, Presence, WorkerKind};
use lighthouse_nats::topology::{DECISION_STREAM, DLQ_STREAM, Topology};
use lighthouse_schemas::{Decision, decode};
use serde::Serialize;
use std::time::Duration;

#[derive(Debug, Serialize)]
pub struct Status {
    pub nats_url: String,
    pub healthy: bool,
    pub problems: Vec<String>,
    pub streams: Vec<StreamStatus>,
    pub workers: Vec<Presence>,
    /// `/metrics` of every present worker that serves one (`metrics.listen`).
    pub metrics_urls: Vec<String>,
    /// What a running `lighthouse up` supervises (its nats-server and worker tasks):
    /// pid, running, restarts, last exit.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<lighthouse_nats::supervise::ServiceState>,
}

/// Adds what `lighthouse up` supervises; one not running is a problem.
pub fn add_services(status: &mut Status, services: Vec<lighthouse_nats::supervise::ServiceState>) {
    for s in &services {
        if !s.running {
            status.problems.push(format!(
                "{} is not running (restarts {}, last exit {})",
                s.name,
                s.restarts,
                s.last_exit.as_deref().unwrap_or("-")
            ));
        }
    }
    status.services = services;
    status.healthy = status.problems.is_empty();
}

#[derive(Debug, Serialize)]
pub struct StreamStatus {
    pub name: String,
    pub messages: u64,
    pub consumers: usize,
}

/// Healthy means: NATS answers, every stream and consumer in `nats/` exists, and at
/// least one validator has reported itself alive within the presence TTL.
pub async fn status(url: &str) -> Status {
    let mut status = Status {
        nats_url: url.to_owned(),
        healthy: false,
        problems: Vec::new(),
        streams: Vec::new(),
        workers: Vec::new(),
        services: Vec::new(),
        metrics_urls: Vec::new(),
    };
    let connect = async_nats::ConnectOptions::new()
        .name("lighthouse-status")
        .connection_timeout(Duration::from_secs(2))
        .connect(lighthouse_nats::seed_urls(url));
    let client = match connect.await {
        Ok(client) => client,
        Err(e) => {
            status.problems.push(format!("NATS unreachable: {e}"));
            return status;
        }
    };
    let js = async_nats::jetstream::new(client);
    let topology = match Topology::embedded() {
        Ok(t) => t,
        Err(e) => {
            status.problems.push(e.to_string());
            return status;
        }
    };
    for config in &topology.streams {
        // A missing stream is reported by the drift check below.
        if let Ok(mut stream) = js.get_stream(&config.name).await {
            match stream.info().await {
                Ok(info) => status.streams.push(StreamStatus {
                    name: config.name.clone(),
                    messages: info.state.messages,
                    consumers: info.state.consumer_count,
                }),
                Err(e) => status.problems.push(format!("stream {}: {e}", config.name)),
            }
        }
    }
    // Missing or hand-edited streams and consumers: the files in nats/ are the truth.
    for drift in topology.drift(&js).await {
        if !status.problems.iter().any(|p| p.starts_with(&drift)) {
            status.problems.push(drift);
        }
    }
    match presence::list(&js).await {
        Ok(workers) => {
            let mut urls: Vec<String> = workers
                .iter()
                .filter_map(|w| w.metrics_url.clone())
                .collect();
            urls.sort();
            urls.dedup();
            status.metrics_urls = urls;
            status.workers = workers;
        }
        Err(e) => status.problems.push(format!("worker presence: {e}")),
    }
    if !status
        .workers
        .iter()
        .any(|w| w.kind == WorkerKind::Validator)
    {
        status.problems.push("no validator is running".to_owned());
    }
    status.healthy = status.problems.is_empty();
    status
}

pub fn render_status(status: &Status) -> String {
    let mut out = format!(
        "{} {}\n",
        if status.healthy {
            "healthy"
        } else {
            "UNHEALTHY"
        },
        status.nats_url
    );
    for s in &status.streams {
        out += &format!(
            "  stream {:<12} {:>9} messages {:>3} consumers\n",
            s.name, s.messages, s.consumers
        );
    }
    for w in &status.workers {
        out += &format!(
            "  {} {} pid {} processed {} dead-lettered {}\n",
            w.kind, w.id, w.pid, w.processed, w.dead_lettered
        );
    }
    for url in &status.metrics_urls {
        out += &format!("  metrics {url}\n");
    }
    for s in &status.services {
        out += &format!(
            "  {} pid {} {} restarts {}\n",
            s.name,
            s.pid,
            if s.running { "running" } else { "DOWN" },
            s.restarts
        );
    }
    for p in &status.problems {
        out += &format!("  problem: {p}\n");
    }
    out
}

/// The last `n` decisions of the audit log, oldest first.
pub async fn last_decisions(url: &str, n: usize) -> anyhow::Result<Vec<Decision>> {
    let client = lighthouse_nats::connect(url, "lighthouse-decisions")
        .await
        .with_context(|| format!("connecting to {url}"))?;
    let js = async_nats::jetstream::new(client);
    let mut stream = js.get_stream(DECISION_STREAM).await?;
    let state = stream.info().await?.state.clone();
    let mut out = Vec::new();
    let mut seq = state.last_sequence;
    while out.len() < n && seq >= state.first_sequence && seq > 0 {
        // Deleted or expired sequences are simply skipped.
        if let Ok(message) = stream.direct_get(seq).await
            && let Ok(decision) = decode::<Decision>(&message.payload)
        {
            out.push(decision);
        }
        seq -= 1;
    }
    out.reverse();
    Ok(out)
}

/// Dead-lettered messages so far.
pub async fn dead_letters(js: &async_nats::jetstream::Context) -> anyhow::Result<u64> {
    Ok(js
        .get_stream(DLQ_STREAM)
        .await?
        .info()
        .await?
        .state
        .messages)
}

pub fn render_decision(d: &Decision) -> String {
    let when = time_of(d.env.ts_us);
    format!(
        "{when} {:<8} {:<8} {}/{} {} {} — {} ({} µs, {})",
        format!("{:?}", d.verdict).to_lowercase(),
        format!("{:?}", d.tier).to_lowercase(),
        d.env.project,
        d.env.agent,
        d.cmd_id,
        d.rule_id.as_deref().unwrap_or("-"),
        d.reason,
        d.latency_us,
        d.decided_by
    )
}

fn time_of(us: u64) -> String {
    let secs = (us / 1_000_000) as i64;
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| us.to_string())
}
