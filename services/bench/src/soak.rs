//! `lighthouse bench soak`: steady load through the whole pipeline for minutes, with
//! faults injected on a schedule, and an account at the end of every command.
//!
//! Its own nats-server, two validator processes and an aggregator (escalations without
//! experts are answered by it at once). A publisher sends commands at a steady rate (a
//! mix of allowed, denied and escalated calls), retrying a failed publish with the same
//! id (deduplicated by the server); one real hook process a second rides along. Every
//! minute the schedule injects, in turn:
//!
//! | at (s of each minute) | fault | phase |
//! |---|---|---|
//! | 15 | SIGKILL one validator; a new one starts 7 s later | `validator_killed` |
//! | 30 | `LH_DECISION` refuses writes for 6 s (as a full store) | `decisions_refused` |
//! | 45 | SIGKILL the nats-server; started again at once on the same port and store | `server_restart` |
//!
//! At the end it waits for the validators to drain, then reads both streams: commands
//! sent (acked by `LH_CMD`), decided (distinct decision subjects), dead-lettered, lost
//! (a stored command with neither a decision nor a dead letter) and duplicated (a
//! command with more than one decision message). Latency is publish → decision seen
//! on a core subscription, per phase; RSS of every process is sampled over time.

use anyhow::{Context as _, bail};
use futures::StreamExt;
use hdrhistogram::Histogram;
use lighthouse_config::Settings;
use lighthouse_nats::server::{ServerOptions, ServerProcess, ensure_binary};
use lighthouse_nats::topology::Topology;
use lighthouse_schemas::{AgentKind, Command, Envelope, Token, encode, now_us, subject};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::future::IntoFuture;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct SoakArgs {
    /// How long the load runs.
    pub duration: Duration,
    /// Commands per second.
    pub rate: u64,
    /// Inject the fault schedule (else steady load only).
    pub faults: bool,
}

#[derive(Debug, Serialize)]
pub struct SoakReport {
    pub seconds: f64,
    pub rate_target_per_s: u64,
    /// Commands the publisher got an ack for.
    pub sent: u64,
    /// Commands `LH_CMD` never acked, after retrying for a minute past the load (the
    /// publisher's loss, not the pipeline's: an agent's hook would have decided them
    /// locally and spooled them).
    pub unacked: u64,
    /// Commands stored in `LH_CMD` (the publisher's and the hooks').
    pub stored: u64,
    /// Stored commands with a decision.
    pub decided: u64,
    /// Dead letters in `LH_DLQ`.
    pub dead_lettered: u64,
    /// Stored commands with neither a decision nor a dead letter after the drain.
    pub lost: u64,
    /// Commands with more than one decision message.
    pub duplicated: u64,
    /// Decisions per second over the load's duration (the drain after it excluded).
    pub throughput_per_s: f64,
    pub phases: Vec<PhaseFigures>,
    pub hooks: HookFigures,
    pub faults: Vec<String>,
    pub rss: Vec<RssSample>,
    /// Highest RSS seen per process kind, MiB.
    pub peak_rss_mb: HashMap<String, f64>,
}

#[derive(Debug, Serialize)]
pub struct PhaseFigures {
    pub phase: String,
    pub commands: u64,
    /// Commands whose decision the latency subscription saw (it misses those decided
    /// while it reconnects after a server restart).
    pub sampled: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

#[derive(Debug, Default, Serialize)]
pub struct HookFigures {
    pub calls: u64,
    /// Answered by the hook's local policy (the pipeline gave no decision in time).
    pub fell_back: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct RssSample {
    pub t_s: u64,
    /// MiB per process (`validator-1`, `aggregator`, `nats-server`, …).
    pub mb: Vec<(String, f64)>,
}

impl SoakReport {
    pub fn render(&self) -> String {
        let mut out = format!(
            "soak            {:.0} s at {}/s target: sent {} (never acked {}), stored {}, decided {}, dead-lettered {}, LOST {}, DUPLICATED {}\n\
             throughput      {:.0} decisions/s\n",
            self.seconds,
            self.rate_target_per_s,
            self.sent,
            self.unacked,
            self.stored,
            self.decided,
            self.dead_lettered,
            self.lost,
            self.duplicated,
            self.throughput_per_s,
        );
        for p in &self.phases {
            out.push_str(&format!(
                "phase {:<18} {:>7} commands  decision p50 {:>8.2} ms  p99 {:>9.2} ms  max {:>9.2} ms  ({} sampled)\n",
                p.phase, p.commands, p.p50_ms, p.p99_ms, p.max_ms, p.sampled
            ));
        }
        out.push_str(&format!(
            "hook            {} calls, {} answered locally, p50 {:.1} ms  p99 {:.1} ms  max {:.1} ms\n",
            self.hooks.calls,
            self.hooks.fell_back,
            self.hooks.p50_ms,
            self.hooks.p99_ms,
            self.hooks.max_ms
        ));
        for f in &self.faults {
            out.push_str(&format!("fault           {f}\n"));
        }
        out.push_str("rss (MiB)       t_s");
        if let Some(first) = self.rss.first() {
            for (name, _) in &first.mb {
                out.push_str(&format!("  {name:>12}"));
            }
        }
        out.push('\n');
        for s in &self.rss {
            out.push_str(&format!("                {:>3}", s.t_s));
            for (_, mb) in &s.mb {
                out.push_str(&format!("  {mb:>12.1}"));
            }
            out.push('\n');
        }
        let mut peaks: Vec<_> = self.peak_rss_mb.iter().collect();
        peaks.sort_by(|a, b| a.0.cmp(b.0));
        out.push_str("peak rss (MiB)  ");
        for (name, mb) in peaks {
            out.push_str(&format!("{name} {mb:.1}  "));
        }
        out.push('\n');
        out
    }
}

/// The phase a moment of the run belongs to (see the module table).
fn phase_at(elapsed: Duration, faults: bool) -> &'static str {
    if !faults {
        return "steady";
    }
    match elapsed.as_secs() % 60 {
        15..22 => "validator_killed",
        30..36 => "decisions_refused",
        45..50 => "server_restart",
        _ => "steady",
    }
}

const PHASES: [&str; 4] = [
    "steady",
    "validator_killed",
    "decisions_refused",
    "server_restart",
];

fn histogram() -> Histogram<u64> {
    crate::histogram(600_000_000)
}

fn ms(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1000.0
}

/// Resident set size of a process, from /proc (VmRSS), in KiB.
fn rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// The worker processes, by name; killed on drop.
struct Workers {
    exe: std::path::PathBuf,
    url: String,
    state: std::path::PathBuf,
    children: Vec<(String, Child)>,
}

impl Workers {
    fn spawn(&mut self, name: &str, args: &[&str]) -> anyhow::Result<()> {
        let child = std::process::Command::new(&self.exe)
            .args(args)
            .env("LIGHTHOUSE__NATS__URL", &self.url)
            .env("LIGHTHOUSE__STATE_DIR", &self.state)
            .env("LIGHTHOUSE_CONFIG", self.state.join("no-config.toml"))
            .env("LIGHTHOUSE_LOG", "error")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .with_context(|| format!("spawning {name}"))?;
        self.children.push((name.to_owned(), child));
        Ok(())
    }

    fn kill(&mut self, name: &str) {
        if let Some(at) = self.children.iter().position(|(n, _)| n == name) {
            let (_, mut child) = self.children.remove(at);
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn pids(&self) -> Vec<(String, u32)> {
        self.children
            .iter()
            .map(|(n, c)| (n.clone(), c.id()))
            .collect()
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        for (_, child) in &mut self.children {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(child.id() as i32),
                nix::sys::signal::Signal::SIGTERM,
            );
        }
        for (_, child) in &mut self.children {
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline && matches!(child.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A command of the mix: mostly allowed, one in ten denied, one in twenty escalated.
fn soak_command(id: &str, n: u64) -> Command {
    let agent = format!("agent-{}", n % 16);
    let (tool, input) = match n % 20 {
        0 => (
            "Bash",
            serde_json::json!({"command": "git reset --hard HEAD~1"}),
        ),
        1 | 11 => ("Bash", serde_json::json!({"command": "rm -rf /"})),
        k if k % 2 == 0 => (
            "Bash",
            serde_json::json!({"command": format!("cargo test -p crate{}", n % 7)}),
        ),
        _ => (
            "Read",
            serde_json::json!({"file_path": format!("/work/proj/src/f{}.rs", n % 50)}),
        ),
    };
    Command {
        env: Envelope::new(id, now_us(), "soak", agent, id),
        tool_name: tool.into(),
        tool_input: input,
        cwd: "/work/proj".into(),
        session_id: "soak".into(),
        tool_use_id: Some(id.into()),
        agent_kind: AgentKind::ClaudeCode,
        permission_mode: None,
        git_branch: None,
    }
}

/// When each command was sent and in which phase; when its decision was first seen.
#[derive(Default)]
struct Ledger {
    sent: HashMap<String, (Instant, &'static str)>,
    decided: HashMap<String, Instant>,
}

type Shared = Arc<Mutex<Ledger>>;

fn lock(ledger: &Shared) -> std::sync::MutexGuard<'_, Ledger> {
    ledger.lock().unwrap_or_else(|e| e.into_inner())
}

pub async fn soak(settings: &Settings, args: SoakArgs) -> anyhow::Result<SoakReport> {
    let dir = tempfile::tempdir()?;
    let binary = ensure_binary(
        settings.nats.server_bin.as_deref(),
        &settings.up_tools_dir(),
    )?;
    let mut server = ServerProcess::start(ServerOptions {
        binary,
        data_dir: dir.path().join("nats"),
        port: None,
        monitor_port: None,
        host: "127.0.0.1".into(),
        extra_args: Vec::new(),
    })?;
    let mut server_options = server.options.clone();
    server_options.port = Some(server.port());
    let url = server.client_url.clone();
    eprintln!("soak: nats-server at {url}");
    let client = lighthouse_nats::connect(&url, "lighthouse-soak").await?;
    let js = async_nats::jetstream::new(client.clone());
    Topology::embedded()?.apply(&js).await?;
    let state = dir.path().join("state");
    std::fs::create_dir_all(&state)?;
    let mut workers = Workers {
        exe: std::env::current_exe()?,
        url: url.clone(),
        state: state.clone(),
        children: Vec::new(),
    };
    // The aggregator first: a validator that sees it present escalates to it.
    workers.spawn("aggregator", &["aggregator", "--id", "soak-agg"])?;
    wait_for(&js, lighthouse_nats::presence::WorkerKind::Aggregator, 1).await?;
    workers.spawn("validator-1", &["validator", "--id", "soak-v1"])?;
    workers.spawn("validator-2", &["validator", "--id", "soak-v2"])?;
    wait_for(&js, lighthouse_nats::presence::WorkerKind::Validator, 2).await?;

    let ledger: Shared = Arc::default();
    // Decisions as they happen (a core subscription: it resumes after a reconnect).
    let mut decisions = client.subscribe(subject::DECISION_ALL).await?;
    let seen = ledger.clone();
    tokio::spawn(async move {
        while let Some(message) = decisions.next().await {
            let now = Instant::now();
            if let Some(id) = message.subject.rsplit('.').next() {
                lock(&seen).decided.entry(id.to_owned()).or_insert(now);
            }
        }
    });

    let start = Instant::now();
    let stop = tokio_util::sync::CancellationToken::new();
    let publisher = tokio::spawn(publish(
        js.clone(),
        ledger.clone(),
        args.clone(),
        start,
        stop.clone(),
    ));
    let hooks = tokio::spawn(hooks(
        workers.exe.clone(),
        url.clone(),
        state.clone(),
        start,
        stop.clone(),
    ));

    // The schedule, and RSS samples, until the run is over.
    let mut faults = Vec::new();
    let mut rss = Vec::new();
    let mut peak: HashMap<String, f64> = HashMap::new();
    let sample_every = (args.duration / 20).max(Duration::from_secs(5));
    let mut next_sample = Duration::ZERO;
    let mut refused: Option<async_nats::jetstream::stream::Config> = None;
    let mut last_action = None;
    while start.elapsed() < args.duration {
        let t = start.elapsed();
        if t >= next_sample {
            let mut mb = Vec::new();
            let mut pids = workers.pids();
            pids.push(("nats-server".into(), server.pid()));
            pids.sort();
            for (name, pid) in pids {
                let v = rss_kb(pid).unwrap_or(0) as f64 / 1024.0;
                let kind = name.split('-').next().unwrap_or(&name).to_owned();
                let p = peak.entry(kind).or_default();
                *p = p.max(v);
                mb.push((name, v));
            }
            rss.push(RssSample {
                t_s: t.as_secs(),
                mb,
            });
            next_sample += sample_every;
        }
        let second = t.as_secs();
        let action = (second / 60, second % 60);
        if args.faults && last_action != Some(action) {
            last_action = Some(action);
            match action.1 {
                15 => {
                    workers.kill("validator-1");
                    faults.push(format!("{second:>4} s  SIGKILL validator-1"));
                }
                22 => {
                    workers.spawn("validator-1", &["validator", "--id", "soak-v1"])?;
                    faults.push(format!("{second:>4} s  validator-1 started again"));
                }
                30 => {
                    refused = Some(refuse_decisions(&js).await?);
                    faults.push(format!("{second:>4} s  LH_DECISION refuses writes"));
                }
                36 => {
                    if let Some(config) = refused.take() {
                        js.update_stream(&config).await?;
                        faults.push(format!("{second:>4} s  LH_DECISION writable again"));
                    }
                }
                45 => {
                    server.kill();
                    let options = server_options.clone();
                    server = tokio::task::spawn_blocking(move || restart(options)).await??;
                    faults.push(format!(
                        "{second:>4} s  SIGKILL nats-server; started again (pid {})",
                        server.pid()
                    ));
                }
                _ => {}
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let run_seconds = start.elapsed().as_secs_f64();
    if let Some(config) = refused.take() {
        js.update_stream(&config).await?;
    }
    stop.cancel();
    let (sent, unacked) = publisher.await??;
    let hook_figures = hooks.await??;
    eprintln!("soak: load done after {run_seconds:.0} s; draining");

    // Every stored command handled: nothing pending or unacked on the validators.
    let drained = Instant::now();
    while !drained_all(&js).await {
        if drained.elapsed() > Duration::from_secs(180) {
            eprintln!("soak: validators did not drain within 180 s");
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let account = account(&js).await?;
    let throughput = account.decided as f64 / run_seconds;

    let ledger = lock(&ledger);
    let mut phases = Vec::new();
    for phase in PHASES {
        let mut h = histogram();
        let (mut commands, mut sampled) = (0, 0);
        for (id, (at, p)) in &ledger.sent {
            if *p != phase {
                continue;
            }
            commands += 1;
            if let Some(done) = ledger.decided.get(Token::encode(id).as_str()) {
                sampled += 1;
                let _ = h.record(done.saturating_duration_since(*at).as_micros().max(1) as u64);
            }
        }
        if commands > 0 {
            phases.push(PhaseFigures {
                phase: phase.to_owned(),
                commands,
                sampled,
                p50_ms: ms(&h, 0.5),
                p99_ms: ms(&h, 0.99),
                max_ms: h.max() as f64 / 1000.0,
            });
        }
    }
    drop(workers);
    drop(server);
    Ok(SoakReport {
        seconds: run_seconds,
        rate_target_per_s: args.rate,
        sent,
        unacked,
        stored: account.stored,
        decided: account.decided,
        dead_lettered: account.dead_lettered,
        lost: account.lost,
        duplicated: account.duplicated,
        throughput_per_s: throughput,
        phases,
        hooks: hook_figures,
        faults,
        rss,
        peak_rss_mb: peak,
    })
}

async fn wait_for(
    js: &async_nats::jetstream::Context,
    kind: lighthouse_nats::presence::WorkerKind,
    n: usize,
) -> anyhow::Result<()> {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(30) {
        let present = lighthouse_nats::presence::list(js)
            .await
            .unwrap_or_default();
        if present.iter().filter(|p| p.kind == kind).count() >= n {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("{n} {kind:?} workers did not come up within 30 s")
}

/// Makes `LH_DECISION` refuse new messages; returns its config to restore.
async fn refuse_decisions(
    js: &async_nats::jetstream::Context,
) -> anyhow::Result<async_nats::jetstream::stream::Config> {
    let mut stream = js.get_stream("LH_DECISION").await?;
    let info = stream.info().await?;
    let original = info.config.clone();
    let mut full = original.clone();
    full.max_messages = (info.state.messages as i64).max(1);
    full.discard = async_nats::jetstream::stream::DiscardPolicy::New;
    js.update_stream(&full).await?;
    Ok(original)
}

/// Starts the server again on its port; the kernel may hold the port briefly.
fn restart(options: ServerOptions) -> anyhow::Result<ServerProcess> {
    let mut last = None;
    for _ in 0..100 {
        match ServerProcess::start(options.clone()) {
            Ok(p) => return Ok(p),
            Err(e) => last = Some(e),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("nats-server did not start again: {last:?}")
}

/// Sends commands at `args.rate` until `stop`; a failed publish is retried with the
/// same id. Returns how many were acked, and how many never were.
async fn publish(
    js: async_nats::jetstream::Context,
    ledger: Shared,
    args: SoakArgs,
    start: Instant,
    stop: tokio_util::sync::CancellationToken,
) -> anyhow::Result<(u64, u64)> {
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / args.rate.max(1) as f64));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut acks = futures::stream::FuturesUnordered::new();
    let mut retry: Vec<(u64, Command)> = Vec::new();
    let mut acked = 0u64;
    let mut n = 0u64;
    let send = |command: Command, attempt: u64| {
        let js = js.clone();
        async move {
            let target = subject::command(
                &Token::encode(&command.env.project),
                &Token::encode(&command.env.agent),
            );
            let message = async_nats::jetstream::message::PublishMessage::build()
                .payload(encode(&command).unwrap_or_default().into())
                .message_id(&command.env.id);
            let result = match js.send_publish(target, message).await {
                Ok(ack) => ack
                    .into_future()
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            (command, attempt, result)
        }
    };
    let mut retry_tick = tokio::time::interval(Duration::from_millis(250));
    retry_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut draining_since: Option<Instant> = None;
    loop {
        if stop.is_cancelled() {
            // Nothing new; finish what is in flight and retry failures for a while.
            let since = *draining_since.get_or_insert_with(Instant::now);
            if (acks.is_empty() && retry.is_empty()) || since.elapsed() > Duration::from_secs(60) {
                break;
            }
        }
        tokio::select! {
            _ = tick.tick(), if !stop.is_cancelled() => {
                let id = format!("soak-{n}");
                let command = soak_command(&id, n);
                n += 1;
                let phase = phase_at(start.elapsed(), args.faults);
                lock(&ledger).sent.insert(id, (Instant::now(), phase));
                acks.push(send(command, 0));
            }
            Some((command, attempt, result)) = acks.next(), if !acks.is_empty() => {
                match result {
                    Ok(()) => acked += 1,
                    Err(_) => retry.push((attempt + 1, command)),
                }
            }
            // A timer that lives across iterations: a sleep made anew each time would
            // never fire while acks keep arriving.
            _ = retry_tick.tick(), if !retry.is_empty() => {
                for (attempt, command) in retry.drain(..) {
                    acks.push(send(command, attempt));
                }
            }
        }
    }
    let unacked = (retry.len() + acks.len()) as u64;
    if unacked > 0 {
        eprintln!("soak: {unacked} commands never acked by LH_CMD");
    }
    Ok((acked, unacked))
}

/// One real hook process a second until `stop`.
async fn hooks(
    exe: std::path::PathBuf,
    url: String,
    state: std::path::PathBuf,
    start: Instant,
    stop: tokio_util::sync::CancellationToken,
) -> anyhow::Result<HookFigures> {
    let mut h = histogram();
    let mut figures = HookFigures::default();
    let cwd = std::env::temp_dir();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut i = 0u64;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.cancelled() => break,
        }
        let payload = serde_json::json!({
            "session_id": "soak", "hook_event_name": "PreToolUse", "cwd": cwd,
            "tool_name": "Bash", "tool_input": {"command": "git status"},
            "tool_use_id": format!("hook-{i}-{}", start.elapsed().as_millis()),
        })
        .to_string();
        i += 1;
        let mut command = std::process::Command::new(&exe);
        command
            .env("LIGHTHOUSE__NATS__URL", &url)
            .env("LIGHTHOUSE__STATE_DIR", &state)
            .env("LIGHTHOUSE_CONFIG", state.join("no-config.toml"))
            .env("LIGHTHOUSE_LOG", "error");
        let (took, output) = crate::pipeline::run_hook(command, payload).await?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        if !stdout.contains("permissionDecision") {
            bail!("a hook gave no answer: {stdout}");
        }
        figures.calls += 1;
        if stdout.contains("decided locally") {
            figures.fell_back += 1;
        }
        let _ = h.record(took.as_micros().max(1) as u64);
    }
    if figures.calls > 0 {
        figures.p50_ms = ms(&h, 0.5);
        figures.p99_ms = ms(&h, 0.99);
        figures.max_ms = h.max() as f64 / 1000.0;
    }
    Ok(figures)
}

/// Whether every validator consumer has handled everything stored.
async fn drained_all(js: &async_nats::jetstream::Context) -> bool {
    let Ok(stream) = js.get_stream("LH_CMD").await else {
        return false;
    };
    for p in 0..4 {
        let Ok(mut c) = stream
            .get_consumer::<async_nats::jetstream::consumer::pull::Config>(&format!(
                "validator-{p}"
            ))
            .await
        else {
            return false;
        };
        match c.info().await {
            Ok(i) if i.num_pending == 0 && i.num_ack_pending == 0 => {}
            _ => return false,
        }
    }
    true
}

struct Account {
    stored: u64,
    decided: u64,
    dead_lettered: u64,
    lost: u64,
    duplicated: u64,
}

/// Every stored command against every decision and dead letter.
async fn account(js: &async_nats::jetstream::Context) -> anyhow::Result<Account> {
    let header = |h: &Option<async_nats::HeaderMap>, name: &str| {
        h.as_ref()
            .and_then(|h| h.get(name).map(|v| v.as_str().to_owned()))
    };
    // Command ids (the message's Nats-Msg-Id) by stream sequence.
    let mut commands = HashMap::new();
    for (seq, _, headers) in read_all(js, "LH_CMD").await? {
        if let Some(id) = header(&headers, "Nats-Msg-Id") {
            commands.insert(id, seq);
        }
    }
    // Decisions: lh.decision.<project>.<agent>.<cmd_id token>.
    let mut per_command: HashMap<String, u64> = HashMap::new();
    for (_, subject, _) in read_all(js, "LH_DECISION").await? {
        let token = subject.rsplit('.').next().unwrap_or_default().to_owned();
        *per_command.entry(token).or_default() += 1;
    }
    // Dead letters name their source stream and sequence.
    let letters = read_all(js, "LH_DLQ").await?;
    let dead: HashSet<u64> = letters
        .iter()
        .filter(|(_, _, h)| header(h, "Lh-Stream").as_deref() == Some("LH_CMD"))
        .filter_map(|(_, _, h)| header(h, "Lh-Stream-Seq")?.parse().ok())
        .collect();
    let mut decided = 0;
    let mut lost = 0;
    for (id, seq) in &commands {
        if per_command.contains_key(Token::encode(id).as_str()) {
            decided += 1;
        } else if !dead.contains(seq) {
            lost += 1;
        }
    }
    let duplicated = per_command.values().filter(|n| **n > 1).count() as u64;
    Ok(Account {
        stored: commands.len() as u64,
        decided,
        dead_lettered: letters.len() as u64,
        lost,
        duplicated,
    })
}

/// Sequence, subject and headers of every message in `name`.
async fn read_all(
    js: &async_nats::jetstream::Context,
    name: &str,
) -> anyhow::Result<Vec<(u64, String, Option<async_nats::HeaderMap>)>> {
    let stream = js.get_stream(name).await?;
    let total = stream.get_info().await?.state.messages as usize;
    let mut out = Vec::with_capacity(total);
    if total == 0 {
        return Ok(out);
    }
    let consumer = stream
        .create_consumer(async_nats::jetstream::consumer::pull::OrderedConfig::default())
        .await?;
    let mut messages = consumer.messages().await?;
    while out.len() < total {
        let message = tokio::time::timeout(Duration::from_secs(30), messages.next())
            .await
            .with_context(|| format!("reading {name}"))?
            .context("stream ended")??;
        let seq = message.info().map(|i| i.stream_sequence).unwrap_or(0);
        out.push((seq, message.subject.to_string(), message.headers.clone()));
    }
    Ok(out)
}
