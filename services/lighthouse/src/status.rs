//! `lighthouse status` and `lighthouse decisions`: what an operator asks first.

use anyhow::Context as _;
use lighthouse_nats::presence::{self, Presence, WorkerKind};
use lighthouse_nats::topology::{CMD_STREAM, DECISION_STREAM, DLQ_STREAM, Topology};
use lighthouse_schemas::{Command, Decision, decode};
use serde::Serialize;
use std::time::Duration;

#[derive(Debug, Serialize)]
pub struct Status {
    pub nats_url: String,
    pub healthy: bool,
    pub problems: Vec<String>,
    pub streams: Vec<StreamStatus>,
    pub workers: Vec<Presence>,
    /// Experts announced in `lh_experts` (watching now, within the bucket's TTL).
    pub experts: Vec<lighthouse_schemas::ExpertPresence>,
    /// `/metrics` of every present worker that serves one (`metrics.listen`).
    pub metrics_urls: Vec<String>,
    /// What a running `lighthouse up` supervises (its nats-server and worker tasks):
    /// pid, running, restarts, last exit.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<lighthouse_nats::supervise::ServiceState>,
    /// The hook's spool in this state dir: entries waiting to be published, and entries
    /// set aside (refused for good or unreadable) with a `.reason` file beside each.
    pub spool: SpoolStatus,
}

#[derive(Debug, Default, Serialize)]
pub struct SpoolStatus {
    pub pending: usize,
    pub set_aside: Vec<String>,
}

/// Adds the spool of `state_dir`; an entry set aside is a problem (a human must look).
pub fn add_spool(status: &mut Status, state_dir: &std::path::Path) {
    let spool = crate::spool::Spool::new(state_dir);
    status.spool = SpoolStatus {
        pending: spool.pending().len(),
        set_aside: spool
            .set_aside_entries()
            .iter()
            .map(|p| p.display().to_string())
            .collect(),
    };
    if let Some(first) = status.spool.set_aside.first() {
        status.problems.push(format!(
            "{} spooled call(s) could not be recorded and were set aside (first: {first}; its .reason says why)",
            status.spool.set_aside.len()
        ));
    }
    status.healthy = status.problems.is_empty();
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
pub async fn status(url: &str, auth: &lighthouse_nats::auth::ClientAuth) -> Status {
    let mut status = Status {
        nats_url: url.to_owned(),
        healthy: false,
        problems: Vec::new(),
        spool: SpoolStatus::default(),
        streams: Vec::new(),
        workers: Vec::new(),
        experts: Vec::new(),
        services: Vec::new(),
        metrics_urls: Vec::new(),
    };
    let options = match lighthouse_nats::options_for(url, auth) {
        Ok(options) => options,
        Err(e) => {
            status.problems.push(format!("credentials: {e}"));
            return status;
        }
    };
    let connect = options
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
    for w in &status.workers {
        for p in &w.problems {
            let problem = format!("{} {}: {p}", w.kind, w.id);
            if !status.problems.contains(&problem) {
                status.problems.push(problem);
            }
        }
    }
    status.experts = experts(&js).await;
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
    if status.experts.is_empty() && !status.streams.is_empty() {
        out += "  experts: none watching (escalations wait for `lighthouse expert watch`)\n";
    }
    for e in &status.experts {
        out += &format!("  expert {} as {} ({})\n", e.expert, e.specialty, e.kind);
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
    if status.spool.pending > 0 {
        out += &format!(
            "  spool: {} call(s) decided locally, waiting to be recorded\n",
            status.spool.pending
        );
    }
    for p in &status.problems {
        out += &format!("  problem: {p}\n");
    }
    out
}

/// The experts present now, by specialty then id.
async fn experts(js: &async_nats::jetstream::Context) -> Vec<lighthouse_schemas::ExpertPresence> {
    use futures::StreamExt as _;
    let mut out = Vec::new();
    let Ok(store) = js
        .get_key_value(lighthouse_nats::topology::EXPERTS_BUCKET)
        .await
    else {
        return out;
    };
    let Ok(mut keys) = store.keys().await else {
        return out;
    };
    while let Some(Ok(key)) = keys.next().await {
        if let Ok(Some(value)) = store.get(&key).await
            && let Ok(presence) = serde_json::from_slice(&value)
        {
            out.push(presence);
        }
    }
    out.sort_by(|a: &lighthouse_schemas::ExpertPresence, b| {
        (&a.specialty, &a.expert).cmp(&(&b.specialty, &b.expert))
    });
    out
}

/// A decision with the call it decided (when `LH_CMD` still holds it).
#[derive(Debug, Serialize)]
pub struct Decided {
    #[serde(flatten)]
    pub decision: Decision,
    /// The tool and its main argument: `Bash: rm -rf ~`, `Write: src/main.rs`.
    pub command: Option<String>,
}

/// How many `LH_CMD` messages `decisions` reads back, at most, to find the calls.
const COMMAND_LOOKBACK: u64 = 10_000;

/// The last `n` decisions of the audit log, oldest first, with the calls they decided.
pub async fn last_decided(
    url: &str,
    auth: &lighthouse_nats::auth::ClientAuth,
    n: usize,
) -> anyhow::Result<Vec<Decided>> {
    let decisions = last_decisions(url, auth, n).await?;
    let client = lighthouse_nats::connect_as(url, "lighthouse-decisions", auth)
        .await
        .with_context(|| format!("connecting to {url}"))?;
    let js = async_nats::jetstream::new(client);
    let mut wanted: std::collections::HashMap<String, Option<String>> =
        decisions.iter().map(|d| (d.cmd_id.clone(), None)).collect();
    if let Ok(mut stream) = js.get_stream(CMD_STREAM).await
        && let Ok(info) = stream.info().await
    {
        let state = info.state.clone();
        let floor = state
            .first_sequence
            .max(state.last_sequence.saturating_sub(COMMAND_LOOKBACK));
        let mut missing = wanted.len();
        let mut seq = state.last_sequence;
        while missing > 0 && seq >= floor && seq > 0 {
            if let Ok(message) = stream.direct_get(seq).await
                && let Ok(command) = decode::<Command>(&message.payload)
            {
                for id in [&command.env.id, &command.env.correlation_id] {
                    if let Some(slot) = wanted.get_mut(id)
                        && slot.is_none()
                    {
                        *slot = Some(summarize(&command));
                        missing -= 1;
                    }
                }
            }
            seq -= 1;
        }
    }
    Ok(decisions
        .into_iter()
        .map(|d| {
            let command = wanted.get(&d.cmd_id).cloned().flatten();
            Decided {
                decision: d,
                command,
            }
        })
        .collect())
}

/// A call in one line: the tool and its main argument.
pub fn summarize(c: &Command) -> String {
    let input = &c.tool_input;
    let main = ["command", "file_path", "path", "pattern", "url", "prompt"]
        .iter()
        .find_map(|k| input.get(*k).and_then(|v| v.as_str()))
        .map(str::to_owned)
        .unwrap_or_else(|| serde_json::to_string(input).unwrap_or_default());
    let main: String = main.chars().take(200).collect();
    format!("{}: {}", c.tool_name, main.replace('\n', "⏎"))
}

/// The last `n` decisions of the audit log, oldest first.
pub async fn last_decisions(
    url: &str,
    auth: &lighthouse_nats::auth::ClientAuth,
    n: usize,
) -> anyhow::Result<Vec<Decision>> {
    let client = lighthouse_nats::connect_as(url, "lighthouse-decisions", auth)
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

/// One line per decision: when, verdict, tier, project/agent, command id, the call
/// (when known), the rule, why, how long, who.
pub fn render_decided(d: &Decided) -> String {
    render_decision(&d.decision, d.command.as_deref())
}

pub fn render_decision(d: &Decision, command: Option<&str>) -> String {
    let when = time_of(d.env.ts_us);
    format!(
        "{when} {:<8} {:<8} {}/{} {} [{}] {} — {} ({} µs, {})",
        format!("{:?}", d.verdict).to_lowercase(),
        format!("{:?}", d.tier).to_lowercase(),
        d.env.project,
        d.env.agent,
        d.cmd_id,
        command.unwrap_or("call no longer in LH_CMD"),
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
