//! `lighthouse bench pipeline`: every figure next to the raw transport it rides on,
//! measured in the same run against the same server.
//!
//! 1. raw JetStream: sequential publish+ack latency, pipelined publish throughput;
//! 2. command → decision latency at a steady 1k commands/s (one validator process);
//! 3. maximum sustained commands/s with one, then two validator processes;
//! 4. the hook as the agent runs it: process spawn → answer on stdout.

use anyhow::{Context as _, bail};
use futures::StreamExt;
use hdrhistogram::Histogram;
use lighthouse_config::Settings;
use lighthouse_nats::server::{ServerOptions, ServerProcess, ensure_binary};
use lighthouse_nats::topology::Topology;
use lighthouse_schemas::{AgentKind, Command, Envelope, Token, encode, now_us, subject};
use serde::Serialize;
use std::collections::HashMap;
use std::future::IntoFuture;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct PipelineArgs {
    pub commands: usize,
    pub seconds: u64,
    pub hooks: usize,
}

#[derive(Debug, Serialize)]
pub struct PipelineReport {
    pub raw_publish_ack_p50_ms: f64,
    pub raw_publish_ack_p99_ms: f64,
    pub raw_publish_per_s: f64,
    pub decision_p50_ms: f64,
    pub decision_p99_ms: f64,
    pub decision_rate_per_s: f64,
    /// One validator whose runtime uses every core (how `lighthouse up` runs it).
    pub throughput_1_replica_all_cores: f64,
    /// One single-threaded replica (a one-CPU pod).
    pub throughput_1_replica: f64,
    /// Two single-threaded replicas.
    pub throughput_2_replicas: f64,
    /// Which binary ran as the hook: `lighthouse-hook` when it sits beside this one.
    pub hook_binary: String,
    /// Calls timed per hook path, each followed by a spawn of `/bin/true`.
    pub hook_calls: usize,
    pub hook_roundtrip_p50_ms: f64,
    pub hook_roundtrip_p99_ms: f64,
    /// `/bin/true`'s p99 over the spawns between this path's calls: a tail the floor
    /// shares came from the machine, not the hook.
    pub hook_roundtrip_floor_p99_ms: f64,
    /// From the hook's `main` to its answer written: the rest of a call is the
    /// process starting and ending.
    pub hook_roundtrip_inside_p50_ms: f64,
    pub hook_roundtrip_inside_p99_ms: f64,
    pub hook_peak_rss_mb: f64,
    /// The same hook asking through `up`'s relay (its own route to the server cut).
    pub hook_relay_p50_ms: f64,
    pub hook_relay_p99_ms: f64,
    pub hook_relay_floor_p99_ms: f64,
    pub hook_relay_inside_p50_ms: f64,
    pub hook_relay_inside_p99_ms: f64,
    /// The same hook with no server to reach (connection refused): the local policy
    /// decides and the call is spooled.
    pub hook_fallback_p50_ms: f64,
    pub hook_fallback_p99_ms: f64,
    pub hook_fallback_floor_p99_ms: f64,
    pub hook_fallback_inside_p50_ms: f64,
    pub hook_fallback_inside_p99_ms: f64,
    /// The floor no hook can beat: spawning `/bin/true` and waiting for it, after each
    /// hook call of every path.
    pub spawn_floor_p50_ms: f64,
    pub spawn_floor_p99_ms: f64,
    pub validator_peak_rss_mb: f64,
    /// decision p99 / raw publish+ack p99: what the pipeline costs over the transport.
    pub decision_p99_over_raw_p99: f64,
    /// throughput with 1 replica / raw pipelined publish rate.
    pub throughput_1_over_raw: f64,
    pub throughput_2_over_1: f64,
    /// The all-cores validator again, with `/metrics` served and OTLP tracing on for
    /// `observed_sample_ratio` of the commands (`tracing.sample_ratio`).
    pub observed_sample_ratio: f64,
    pub observed_decision_p99_ms: f64,
    pub observed_throughput_all_cores: f64,
    /// The plain validator measured again after the observed runs.
    pub plain_again_decision_p99_ms: f64,
    pub plain_again_throughput_all_cores: f64,
    /// Observed / plain (the mean of the runs before and after): the cost of metrics
    /// and tracing (target: within 5%).
    pub observed_p99_over_plain: f64,
    pub observed_throughput_over_plain: f64,
    /// The same with every command traced (`tracing.sample_ratio = 1.0`).
    pub traced_all_decision_p99_ms: f64,
    pub traced_all_throughput_all_cores: f64,
    pub traced_all_p99_over_plain: f64,
    pub traced_all_throughput_over_plain: f64,
}

/// The sampling the observability cost is measured at: what a busy cluster runs with
/// (`tracing.sample_ratio`); every command traced is measured beside it.
const OBSERVED_SAMPLE_RATIO: f64 = 0.01;

/// The pause between the last throughput run and the hook's figures.
const SETTLE: Duration = Duration::from_secs(3);

impl PipelineReport {
    pub fn render(&self) -> String {
        format!(
            "raw JetStream   publish+ack p50 {:.3} ms  p99 {:.3} ms   pipelined {:.0} msg/s\n\
             decision @1k/s  p50 {:.3} ms  p99 {:.3} ms  (achieved {:.0}/s; p99 = {:.2}× raw p99)\n\
             throughput      1 validator (all cores) {:.0}/s;  one-thread replicas: 1 → {:.0}/s ({:.2}× raw), 2 → {:.0}/s ({:.2}× of 1)\n\
             hook round trip p50 {:.2} ms  p99 {:.2} ms   floor p99 {:.2} ms   main→answer p50 {:.2} p99 {:.2} ms   peak RSS {:.1} MB  ({})\n\
             hook via relay  p50 {:.2} ms  p99 {:.2} ms   floor p99 {:.2} ms   main→answer p50 {:.2} p99 {:.2} ms   (up's open connection; decisions signature-checked)\n\
             hook fallback   p50 {:.2} ms  p99 {:.2} ms   floor p99 {:.2} ms   main→answer p50 {:.2} p99 {:.2} ms   (no server: local policy, spooled)\n\
             spawn floor     p50 {:.2} ms  p99 {:.2} ms   (/bin/true after each of the {} calls per hook path; \"floor p99\": that path's; \"main→answer\": the hook's own time, without the process's start and end)\n\
             validator       peak RSS {:.1} MB\n\
             observability   off: p99 {:.3} ms, {:.0}/s (all cores), after: p99 {:.3} ms, {:.0}/s;  on (metrics + OTLP traces of {:.0}% of commands): p99 {:.3} ms, {:.0}/s  → p99 {:.2}×, throughput {:.2}×\n\
             every traced    p99 {:.3} ms, {:.0}/s  → p99 {:.2}×, throughput {:.2}×\n",
            self.raw_publish_ack_p50_ms,
            self.raw_publish_ack_p99_ms,
            self.raw_publish_per_s,
            self.decision_p50_ms,
            self.decision_p99_ms,
            self.decision_rate_per_s,
            self.decision_p99_over_raw_p99,
            self.throughput_1_replica_all_cores,
            self.throughput_1_replica,
            self.throughput_1_over_raw,
            self.throughput_2_replicas,
            self.throughput_2_over_1,
            self.hook_roundtrip_p50_ms,
            self.hook_roundtrip_p99_ms,
            self.hook_roundtrip_floor_p99_ms,
            self.hook_roundtrip_inside_p50_ms,
            self.hook_roundtrip_inside_p99_ms,
            self.hook_peak_rss_mb,
            self.hook_binary,
            self.hook_relay_p50_ms,
            self.hook_relay_p99_ms,
            self.hook_relay_floor_p99_ms,
            self.hook_relay_inside_p50_ms,
            self.hook_relay_inside_p99_ms,
            self.hook_fallback_p50_ms,
            self.hook_fallback_p99_ms,
            self.hook_fallback_floor_p99_ms,
            self.hook_fallback_inside_p50_ms,
            self.hook_fallback_inside_p99_ms,
            self.spawn_floor_p50_ms,
            self.spawn_floor_p99_ms,
            self.hook_calls,
            self.validator_peak_rss_mb,
            self.decision_p99_ms,
            self.throughput_1_replica_all_cores,
            self.plain_again_decision_p99_ms,
            self.plain_again_throughput_all_cores,
            self.observed_sample_ratio * 100.0,
            self.observed_decision_p99_ms,
            self.observed_throughput_all_cores,
            self.observed_p99_over_plain,
            self.observed_throughput_over_plain,
            self.traced_all_decision_p99_ms,
            self.traced_all_throughput_all_cores,
            self.traced_all_p99_over_plain,
            self.traced_all_throughput_over_plain,
        )
    }
}

fn ms(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1000.0
}

fn histogram() -> Histogram<u64> {
    crate::histogram(60_000_000)
}

/// Kills child processes when the benchmark ends, however it ends.
struct Children(Vec<Child>);

impl Children {
    fn peak_rss_mb(&self) -> f64 {
        self.0
            .iter()
            .filter_map(|c| peak_rss_kb(c.id()))
            .max()
            .unwrap_or(0) as f64
            / 1024.0
    }
}

impl Drop for Children {
    fn drop(&mut self) {
        for child in &mut self.0 {
            // SIGTERM first: a validator deletes its presence key as it stops.
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(child.id() as i32),
                nix::sys::signal::Signal::SIGTERM,
            );
        }
        for child in &mut self.0 {
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline && matches!(child.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A benchmark's own nats-server (in a temp dir, killed on drop) and a client to it.
pub struct BenchServer {
    pub dir: tempfile::TempDir,
    pub server: ServerProcess,
    pub url: String,
    pub client: async_nats::Client,
}

impl BenchServer {
    pub async fn start(settings: &Settings) -> anyhow::Result<BenchServer> {
        let dir = tempfile::tempdir()?;
        let binary = ensure_binary(
            settings.nats.server_bin.as_deref(),
            &settings.up_tools_dir(),
        )?;
        let server = ServerProcess::start(ServerOptions {
            binary,
            data_dir: dir.path().join("nats"),
            port: None,
            monitor_port: None,
            host: "127.0.0.1".into(),
            extra_args: Vec::new(),
        })?;
        let url = server.client_url.clone();
        let client = lighthouse_nats::connect(&url, "lighthouse-bench").await?;
        eprintln!("bench: nats-server at {url}");
        Ok(BenchServer {
            dir,
            server,
            url,
            client,
        })
    }
}

pub async fn pipeline(settings: &Settings, args: PipelineArgs) -> anyhow::Result<PipelineReport> {
    let BenchServer {
        dir,
        server,
        url,
        client,
    } = BenchServer::start(settings).await?;
    let js = async_nats::jetstream::new(client.clone());

    let (raw_p50, raw_p99, raw_rate) = raw_transport(&js).await?;
    eprintln!("bench: raw publish+ack p99 {raw_p99:.3} ms, pipelined {raw_rate:.0}/s");

    Topology::embedded()?.apply(&js).await?;
    let exe = std::env::current_exe()?;
    let state = dir.path().join("state");
    // Validators sign their decisions, as under `up`: the hook checks what the relay
    // brings against the keys recorded here.
    let identities = state.join("identities");
    let validator_key = lighthouse_nats::auth::Identity::ensure(&identities, "validator")?;
    lighthouse_nats::auth::write_public_keys(
        &identities,
        &std::collections::BTreeMap::from([("validator", validator_key.public_key.as_str())]),
    )?;
    let decisions = Decisions::subscribe(&client).await?;
    // A validator as `lighthouse up` runs it: one runtime thread per core.
    let all_cores = Children(vec![spawn_validator(
        &exe,
        &url,
        &state,
        "bench-0",
        None,
        &[],
    )?]);
    wait_for_validators(&js, 1).await?;
    let (d_p50, d_p99, d_rate) = steady_latency(&js, &decisions, args.seconds, "lat-").await?;
    eprintln!("bench: decision p50 {d_p50:.3} ms p99 {d_p99:.3} ms at {d_rate:.0}/s");
    let t_all = max_throughput(&js, &decisions, args.commands, "t0").await?;
    eprintln!("bench: 1 validator on all cores {t_all:.0} commands/s");
    let all_cores_rss = all_cores.peak_rss_mb();
    drop(all_cores);
    wait_for_validators_exactly(&js, 0).await?;

    // The same validator with metrics served and spans exported over OTLP/HTTP (to a
    // sink that accepts and drops them): what observability costs, at the sampling a
    // busy cluster runs with and with every command traced.
    let sink = otlp_sink().await?;
    let observe = |ratio: f64| {
        [
            ("LIGHTHOUSE__METRICS__LISTEN", "127.0.0.1:0".to_owned()),
            (
                "LIGHTHOUSE__TRACING__OTLP_ENDPOINT",
                format!("http://{sink}/v1/traces"),
            ),
            ("LIGHTHOUSE__TRACING__SAMPLE_RATIO", ratio.to_string()),
        ]
    };
    // Off again after them: runs follow each other onto ever larger streams (which
    // refuse purging), so the plain figure the ratios use brackets the observed runs.
    let mut observed = Vec::new();
    for (ratio, tag) in [
        (Some(OBSERVED_SAMPLE_RATIO), "obs"),
        (Some(1.0), "obsall"),
        (None, "off2"),
    ] {
        let env = ratio.map(observe);
        let validator = Children(vec![spawn_validator(
            &exe,
            &url,
            &state,
            &format!("bench-{tag}"),
            None,
            env.as_ref().map_or(&[][..], |e| &e[..]),
        )?]);
        wait_for_validators(&js, 1).await?;
        // Fresh ids: the same ids would be deduplicated and answered by the first run.
        let (_, p99, _) = steady_latency(&js, &decisions, args.seconds, &format!("{tag}-")).await?;
        let rate = max_throughput(&js, &decisions, args.commands, &format!("t{tag}")).await?;
        match ratio {
            Some(ratio) => eprintln!(
                "bench: with metrics and {:.0}% of commands traced: decision p99 {p99:.3} ms, 1 validator on all cores {rate:.0} commands/s",
                ratio * 100.0
            ),
            None => eprintln!(
                "bench: off again: decision p99 {p99:.3} ms, 1 validator on all cores {rate:.0} commands/s"
            ),
        }
        drop(validator);
        wait_for_validators_exactly(&js, 0).await?;
        observed.push((p99, rate));
    }
    let [(o_p99, t_obs), (every_p99, t_every), (off2_p99, t_off2)] = observed[..] else {
        bail!("observability runs missing");
    };
    let (plain_p99, plain_rate) = ((d_p99 + off2_p99) / 2.0, (t_all + t_off2) / 2.0);

    // Scale-out: replicas of one thread each, as one-CPU pods.
    let mut children = Children(Vec::new());
    children.0.push(spawn_validator(
        &exe,
        &url,
        &state,
        "bench-1",
        Some(1),
        &[],
    )?);
    wait_for_validators(&js, 1).await?;
    let t1 = max_throughput(&js, &decisions, args.commands, "t1").await?;
    eprintln!("bench: 1 one-thread validator {t1:.0} commands/s");
    children.0.push(spawn_validator(
        &exe,
        &url,
        &state,
        "bench-2",
        Some(1),
        &[],
    )?);
    wait_for_validators(&js, 2).await?;
    let t2 = max_throughput(&js, &decisions, args.commands, "t2").await?;
    eprintln!("bench: 2 one-thread validators {t2:.0} commands/s");

    // The hook, once the pipeline has settled: for about a second after a throughput run
    // the server and validators are still busy with it (the first calls took 5-18 ms,
    // which says nothing of the hook).
    tokio::time::sleep(SETTLE).await;
    // The lean hook binary when it was built beside this one (as installed), else this.
    let hook_exe = exe.with_file_name("lighthouse-hook");
    let hook_exe = if hook_exe.is_file() {
        hook_exe
    } else {
        exe.clone()
    };
    let mut floor = histogram();
    let direct = hook_roundtrip(&hook_exe, &url, &state, args.hooks, false, &mut floor).await?;
    let unreachable = "nats://127.0.0.1:1";
    // With `up`'s relay beside it, and the hook's own route to the server cut: every
    // answer that is not "decided locally" came through the relay.
    let relayed = {
        let relay = lighthouse_nats::connect(&url, "lighthouse-hook-relay").await?;
        let stop = tokio_util::sync::CancellationToken::new();
        let serving = tokio::spawn(lighthouse_hook::relay::serve(
            lighthouse_hook::relay::socket_path(&state),
            relay,
            lighthouse_hook::files::FileSpool::new(&state),
            settings.hook.max_input_bytes,
            stop.clone().cancelled_owned(),
        ));
        let measured = hook_roundtrip(
            &hook_exe,
            unreachable,
            &state,
            args.hooks,
            false,
            &mut floor,
        )
        .await;
        stop.cancel();
        serving.await??;
        measured?
    };
    let fallback =
        hook_roundtrip(&hook_exe, unreachable, &state, args.hooks, true, &mut floor).await?;
    let validator_rss = children.peak_rss_mb().max(all_cores_rss);
    drop(children);
    drop(server);
    Ok(PipelineReport {
        raw_publish_ack_p50_ms: raw_p50,
        raw_publish_ack_p99_ms: raw_p99,
        raw_publish_per_s: raw_rate,
        decision_p50_ms: d_p50,
        decision_p99_ms: d_p99,
        decision_rate_per_s: d_rate,
        throughput_1_replica_all_cores: t_all,
        throughput_1_replica: t1,
        throughput_2_replicas: t2,
        hook_binary: hook_exe.display().to_string(),
        hook_calls: args.hooks,
        hook_fallback_p50_ms: fallback.p50,
        hook_fallback_p99_ms: fallback.p99,
        hook_fallback_floor_p99_ms: fallback.floor_p99,
        hook_fallback_inside_p50_ms: fallback.inside_p50,
        hook_fallback_inside_p99_ms: fallback.inside_p99,
        spawn_floor_p50_ms: ms(&floor, 0.5),
        spawn_floor_p99_ms: ms(&floor, 0.99),
        hook_roundtrip_p50_ms: direct.p50,
        hook_roundtrip_p99_ms: direct.p99,
        hook_roundtrip_floor_p99_ms: direct.floor_p99,
        hook_roundtrip_inside_p50_ms: direct.inside_p50,
        hook_roundtrip_inside_p99_ms: direct.inside_p99,
        hook_relay_p50_ms: relayed.p50,
        hook_relay_p99_ms: relayed.p99,
        hook_relay_floor_p99_ms: relayed.floor_p99,
        hook_relay_inside_p50_ms: relayed.inside_p50,
        hook_relay_inside_p99_ms: relayed.inside_p99,
        hook_peak_rss_mb: direct.peak_rss_mb,
        validator_peak_rss_mb: validator_rss,
        decision_p99_over_raw_p99: d_p99 / raw_p99.max(f64::EPSILON),
        throughput_1_over_raw: t1 / raw_rate.max(f64::EPSILON),
        throughput_2_over_1: t2 / t1.max(f64::EPSILON),
        observed_sample_ratio: OBSERVED_SAMPLE_RATIO,
        observed_decision_p99_ms: o_p99,
        observed_throughput_all_cores: t_obs,
        plain_again_decision_p99_ms: off2_p99,
        plain_again_throughput_all_cores: t_off2,
        observed_p99_over_plain: o_p99 / plain_p99.max(f64::EPSILON),
        observed_throughput_over_plain: t_obs / plain_rate.max(f64::EPSILON),
        traced_all_decision_p99_ms: every_p99,
        traced_all_throughput_all_cores: t_every,
        traced_all_p99_over_plain: every_p99 / plain_p99.max(f64::EPSILON),
        traced_all_throughput_over_plain: t_every / plain_rate.max(f64::EPSILON),
    })
}

/// Sequential publish+ack latency and pipelined publish rate on a plain file stream
/// configured like `LH_CMD`.
async fn raw_transport(js: &async_nats::jetstream::Context) -> anyhow::Result<(f64, f64, f64)> {
    js.create_or_update_stream(async_nats::jetstream::stream::Config {
        name: "BENCH_RAW".into(),
        subjects: vec!["bench.raw.>".into()],
        duplicate_window: Duration::from_secs(120),
        ..Default::default()
    })
    .await?;
    let payload = bytes::Bytes::from(vec![b'x'; 300]);
    let mut h = histogram();
    for _ in 0..2_000 {
        let t = Instant::now();
        js.publish("bench.raw.lat", payload.clone()).await?.await?;
        h.record(t.elapsed().as_micros() as u64)?;
    }
    let n = 50_000;
    let start = Instant::now();
    let mut acks = futures::stream::FuturesUnordered::new();
    for _ in 0..n {
        acks.push(
            js.publish("bench.raw.rate", payload.clone())
                .await?
                .into_future(),
        );
        while acks.len() >= 4_096 {
            acks.next().await.transpose()?;
        }
    }
    while let Some(ack) = acks.next().await {
        ack?;
    }
    let rate = n as f64 / start.elapsed().as_secs_f64();
    js.delete_stream("BENCH_RAW").await?;
    Ok((ms(&h, 0.5), ms(&h, 0.99), rate))
}

/// An OTLP/HTTP endpoint that accepts every export and drops it; its address.
async fn otlp_sink() -> anyhow::Result<std::net::SocketAddr> {
    use hyper_util::rt::TokioIo;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let service = hyper::service::service_fn(|_req| async {
                    Ok::<_, std::convert::Infallible>(hyper::Response::new(
                        http_body_util::Full::new(hyper::body::Bytes::new()),
                    ))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(addr)
}

fn spawn_validator(
    exe: &std::path::Path,
    url: &str,
    state: &std::path::Path,
    id: &str,
    threads: Option<usize>,
    env: &[(&str, String)],
) -> anyhow::Result<Child> {
    let mut cmd = std::process::Command::new(exe);
    cmd.envs(env.iter().map(|(k, v)| (k, v)));
    cmd.args(["validator", "--id", id]);
    if let Some(n) = threads {
        cmd.args(["--threads", &n.to_string()]);
    }
    cmd.env("LIGHTHOUSE__NATS__URL", url)
        .env("LIGHTHOUSE__STATE_DIR", state)
        .env("LIGHTHOUSE_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .context("spawning a validator")
}

async fn wait_for_validators_exactly(
    js: &async_nats::jetstream::Context,
    n: usize,
) -> anyhow::Result<()> {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        let present = lighthouse_nats::presence::list(js)
            .await
            .unwrap_or_default();
        if present
            .iter()
            .filter(|p| p.kind == lighthouse_nats::presence::WorkerKind::Validator)
            .count()
            == n
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("validator count did not settle at {n} within 20 s")
}

async fn wait_for_validators(js: &async_nats::jetstream::Context, n: usize) -> anyhow::Result<()> {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        let present = lighthouse_nats::presence::list(js)
            .await
            .unwrap_or_default();
        if present
            .iter()
            .filter(|p| p.kind == lighthouse_nats::presence::WorkerKind::Validator)
            .count()
            >= n
        {
            // Give the new replica's pull requests time to reach every partition.
            tokio::time::sleep(Duration::from_millis(300)).await;
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("{n} validators did not come up within 20 s")
}

/// Records when each decision arrives, by command id (the subject's last token), and
/// how many arrived per run: ids are `<run><n>`, and a run's count is kept as they
/// come, so waiting on a run never scans every id seen so far.
#[derive(Clone)]
struct Decisions {
    seen: Arc<Mutex<Arrivals>>,
}

#[derive(Default)]
struct Arrivals {
    at: HashMap<String, Instant>,
    per_run: HashMap<String, usize>,
}

impl Decisions {
    async fn subscribe(client: &async_nats::Client) -> anyhow::Result<Decisions> {
        let mut sub = client.subscribe(subject::DECISION_ALL).await?;
        let seen: Arc<Mutex<Arrivals>> = Arc::default();
        let sink = seen.clone();
        tokio::spawn(async move {
            while let Some(message) = sub.next().await {
                let now = Instant::now();
                if let Some(id) = message.subject.rsplit('.').next()
                    && let Ok(mut seen) = sink.lock()
                    && seen.at.insert(id.to_owned(), now).is_none()
                {
                    let run = id.trim_end_matches(|c: char| c.is_ascii_digit());
                    *seen.per_run.entry(run.to_owned()).or_default() += 1;
                }
            }
        });
        Ok(Decisions { seen })
    }

    /// Decisions arrived for the ids `<run><n>`.
    fn count_of(&self, run: &str) -> usize {
        self.seen
            .lock()
            .map(|s| s.per_run.get(run).copied().unwrap_or(0))
            .unwrap_or(0)
    }

    fn get(&self, id: &str) -> Option<Instant> {
        self.seen.lock().ok()?.at.get(id).copied()
    }
}

fn bench_command(id: &str, n: usize) -> Command {
    let agent = format!("agent-{}", n % 16);
    let tool = if n.is_multiple_of(2) { "Bash" } else { "Read" };
    let input = if n.is_multiple_of(2) {
        serde_json::json!({"command": format!("cargo test -p crate{}", n % 7)})
    } else {
        serde_json::json!({"file_path": format!("/work/proj/src/f{}.rs", n % 50)})
    };
    Command {
        env: Envelope::new(id, now_us(), "bench", agent, id),
        tool_name: tool.into(),
        tool_input: input,
        cwd: "/work/proj".into(),
        session_id: "bench".into(),
        tool_use_id: Some(id.into()),
        agent_kind: AgentKind::ClaudeCode,
        permission_mode: None,
        git_branch: None,
    }
}

async fn publish_command(
    js: &async_nats::jetstream::Context,
    command: &Command,
) -> anyhow::Result<async_nats::jetstream::context::PublishAckFuture> {
    let subject = subject::command(
        &Token::encode(&command.env.project),
        &Token::encode(&command.env.agent),
    );
    let message = async_nats::jetstream::message::PublishMessage::build()
        .payload(encode(command)?.into())
        .message_id(&command.env.id);
    Ok(js.send_publish(subject, message).await?)
}

async fn wait_for(
    decisions: &Decisions,
    prefix: &str,
    n: usize,
    limit: Duration,
) -> anyhow::Result<()> {
    let start = Instant::now();
    while decisions.count_of(prefix) < n {
        if start.elapsed() > limit {
            bail!(
                "only {} of {n} decisions arrived within {limit:?}",
                decisions.count_of(prefix)
            );
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok(())
}

async fn steady_latency(
    js: &async_nats::jetstream::Context,
    decisions: &Decisions,
    seconds: u64,
    prefix: &str,
) -> anyhow::Result<(f64, f64, f64)> {
    let n = (seconds * 1_000) as usize;
    let mut sent = Vec::with_capacity(n);
    let mut acks = futures::stream::FuturesUnordered::new();
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let start = Instant::now();
    for i in 0..n {
        tick.tick().await;
        let id = format!("{prefix}{i}");
        let command = bench_command(&id, i);
        let t = Instant::now();
        acks.push(publish_command(js, &command).await?.into_future());
        sent.push((id, t));
        while let Some(Some(ack)) = futures::FutureExt::now_or_never(acks.next()) {
            ack?;
        }
    }
    while let Some(ack) = acks.next().await {
        ack?;
    }
    let rate = n as f64 / start.elapsed().as_secs_f64();
    wait_for(decisions, prefix, n, Duration::from_secs(30)).await?;
    let mut h = histogram();
    for (id, t) in &sent {
        if let Some(at) = decisions.get(id) {
            h.record(at.saturating_duration_since(*t).as_micros().max(1) as u64)?;
        }
    }
    Ok((ms(&h, 0.5), ms(&h, 0.99), rate))
}

async fn max_throughput(
    js: &async_nats::jetstream::Context,
    decisions: &Decisions,
    n: usize,
    prefix: &str,
) -> anyhow::Result<f64> {
    let start = Instant::now();
    let mut acks = futures::stream::FuturesUnordered::new();
    for i in 0..n {
        let command = bench_command(&format!("{prefix}-{i}"), i);
        acks.push(publish_command(js, &command).await?.into_future());
        while acks.len() >= 4_096 {
            acks.next().await.transpose()?;
        }
    }
    while let Some(ack) = acks.next().await {
        ack?;
    }
    wait_for(
        decisions,
        &format!("{prefix}-"),
        n,
        Duration::from_secs(120),
    )
    .await?;
    Ok(n as f64 / start.elapsed().as_secs_f64())
}

/// One hook path's figures, in ms.
struct HookFigures {
    p50: f64,
    p99: f64,
    /// `/bin/true`'s p99 over the spawns between these calls.
    floor_p99: f64,
    /// The hook's own report: from its `main` to its answer written.
    inside_p50: f64,
    inside_p99: f64,
    peak_rss_mb: f64,
}

/// Times `n` hook calls, each followed by a spawn of `/bin/true` (recorded in `floor`
/// too): the floor measured in the same window, so a slow spell of the machine shows
/// in both.
async fn hook_roundtrip(
    exe: &std::path::Path,
    url: &str,
    state: &std::path::Path,
    n: usize,
    fallback: bool,
    floor: &mut Histogram<u64>,
) -> anyhow::Result<HookFigures> {
    let mut h = histogram();
    let mut inside = histogram();
    let mut window = histogram();
    let mut peak_kb = 0u64;
    let cwd = std::env::temp_dir();
    for i in 0..n {
        let payload = serde_json::json!({
            "session_id": "bench", "hook_event_name": "PreToolUse", "cwd": cwd,
            "tool_name": "Bash", "tool_input": {"command": "git status"},
            "tool_use_id": format!("hook-{i}-{}", now_us()),
        })
        .to_string();
        let mut command = std::process::Command::new(exe);
        command
            .env("LIGHTHOUSE__NATS__URL", url)
            .env("LIGHTHOUSE__STATE_DIR", state)
            .env("LIGHTHOUSE_REPORT_USAGE", "1");
        let (elapsed, output) = run_hook(command, payload).await?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        if !stdout.contains("permissionDecision") {
            bail!("hook gave no answer: {stdout}");
        }
        if stdout.contains("decided locally") != fallback {
            bail!("hook answered by the wrong path (fallback expected: {fallback}): {stdout}");
        }
        h.record(elapsed.as_micros() as u64)?;
        let Some(usage) = Usage::reported(&output.stderr) else {
            bail!(
                "hook reported no usage: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        };
        inside.record(usage.answered_us.max(1))?;
        peak_kb = peak_kb.max(usage.peak_rss_kb);
        window.record(spawn_true().await?.as_micros().max(1) as u64)?;
    }
    floor.add(&window)?;
    Ok(HookFigures {
        p50: ms(&h, 0.5),
        p99: ms(&h, 0.99),
        floor_p99: ms(&window, 0.99),
        inside_p50: ms(&inside, 0.5),
        inside_p99: ms(&inside, 0.99),
        peak_rss_mb: peak_kb as f64 / 1024.0,
    })
}

/// What a hook run with `LIGHTHOUSE_REPORT_USAGE` says of itself on stderr.
#[derive(Debug, PartialEq)]
struct Usage {
    answered_us: u64,
    peak_rss_kb: u64,
}

impl Usage {
    fn reported(stderr: &[u8]) -> Option<Usage> {
        let line = String::from_utf8_lossy(stderr)
            .lines()
            .find_map(|l| l.strip_prefix("lighthouse-usage ").map(str::to_owned))?;
        let field = |name: &str| {
            line.split_whitespace()
                .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))?
                .parse()
                .ok()
        };
        Some(Usage {
            answered_us: field("answered_us")?,
            peak_rss_kb: field("peak_rss_kb")?,
        })
    }
}

/// Spawning `/bin/true` and waiting for it: the process-spawn floor.
async fn spawn_true() -> anyhow::Result<Duration> {
    let timed = tokio::task::spawn_blocking(|| {
        let t = Instant::now();
        std::process::Command::new("/bin/true").status()?;
        Ok::<_, std::io::Error>(t.elapsed())
    })
    .await??;
    Ok(timed)
}

/// Runs `command` as `hook claude` with `payload` on stdin: how long it took, and
/// what it printed.
pub(crate) async fn run_hook(
    mut command: std::process::Command,
    payload: String,
) -> anyhow::Result<(Duration, std::process::Output)> {
    // `lighthouse-hook claude`, or `lighthouse hook claude`.
    let lean = std::path::Path::new(command.get_program())
        .file_name()
        .is_some_and(|n| n == "lighthouse-hook");
    let args: &[&str] = if lean {
        &["claude"]
    } else {
        &["hook", "claude"]
    };
    let timed = tokio::task::spawn_blocking(move || {
        let t = Instant::now();
        let mut child = command
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        if let Some(mut stdin) = child.stdin.take() {
            std::io::Write::write_all(&mut stdin, payload.as_bytes())?;
        }
        let output = child.wait_with_output()?;
        Ok::<_, std::io::Error>((t.elapsed(), output))
    })
    .await??;
    Ok(timed)
}

/// Peak resident set size of a process, from /proc (VmHWM), in KiB.
pub fn peak_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::Usage;

    #[test]
    fn a_hooks_usage_line_is_read_among_its_other_output() {
        let stderr = b"a warning\nlighthouse-usage answered_us=1234 peak_rss_kb=6100\n";
        assert_eq!(
            Usage::reported(stderr),
            Some(Usage {
                answered_us: 1234,
                peak_rss_kb: 6100
            })
        );
    }

    #[test]
    fn a_missing_or_garbled_usage_line_is_none() {
        assert_eq!(Usage::reported(b"nothing here\n"), None);
        assert_eq!(
            Usage::reported(b"lighthouse-usage answered_us=x peak_rss_kb=1\n"),
            None
        );
        assert_eq!(Usage::reported(b"lighthouse-usage peak_rss_kb=1\n"), None);
    }
}
