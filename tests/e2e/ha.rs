//! High availability: the production topology as processes on this machine. A 3-node
//! JetStream cluster on loopback (R3 streams), two validators, an aggregator, an
//! annotator and the projector, every client given all three seed URLs; hooks run
//! throughout while one NATS node and one validator are killed with SIGKILL and brought
//! back, then every node is restarted in turn. Every hook answers, and every command
//! ends with exactly one decision.

use crate::fuse::Projector;
use crate::util::*;
use async_nats::jetstream;
use futures::StreamExt;
use lighthouse_schemas::{Decision, decode};
use lighthouse_tests::Cluster;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One hook call as the agent saw it.
#[derive(Debug, Clone)]
struct Answer {
    id: String,
    permission: Option<String>,
    elapsed: Duration,
}

/// Hooks run back to back by a few threads until stopped.
struct Load {
    stop: Arc<AtomicBool>,
    answered: Arc<AtomicUsize>,
    answers: Arc<Mutex<Vec<Answer>>>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Load {
    fn start(state: &Path, url: &str, threads: usize) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let answered = Arc::new(AtomicUsize::new(0));
        let answers = Arc::new(Mutex::new(Vec::new()));
        let shells = ["ls -la", "cargo test", "rm -rf /", "git status"];
        let threads = (0..threads)
            .map(|t| {
                let (stop, answered, answers) = (stop.clone(), answered.clone(), answers.clone());
                let (state, url) = (state.to_owned(), url.to_owned());
                std::thread::spawn(move || {
                    // Bounded: a thread never runs more than this many hooks.
                    for i in 0..5_000 {
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                        let id = format!("toolu_ha_{t}_{i}");
                        let payload = bash(shells[i % shells.len()], &id);
                        let (out, elapsed) =
                            run_with_stdin(&mut lighthouse(&state, &url), &payload.to_string());
                        let answer: Option<Value> = out
                            .status
                            .success()
                            .then(|| serde_json::from_slice(&out.stdout).ok())
                            .flatten();
                        let permission = answer.as_ref().map(|a| permission(a).to_owned());
                        answers.lock().unwrap().push(Answer {
                            id,
                            permission,
                            elapsed,
                        });
                        answered.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        Load {
            stop,
            answered,
            answers,
            threads,
        }
    }

    /// Waits until `n` more hooks have answered (the pipeline is being exercised).
    async fn progress(&self, n: usize) {
        let target = self.answered.load(Ordering::Relaxed) + n;
        let answered = self.answered.clone();
        eventually(Duration::from_secs(60), || {
            let ok = answered.load(Ordering::Relaxed) >= target;
            async move { ok }
        })
        .await;
    }

    fn finish(self) -> Vec<Answer> {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads {
            t.join().unwrap();
        }
        std::mem::take(&mut *self.answers.lock().unwrap())
    }
}

fn spawn(state: &Path, url: &str, args: &[&str]) -> Child {
    lighthouse(state, url)
        .args(args)
        .stdout(Stdio::null())
        .spawn()
        .unwrap()
}

/// Starts a worker and waits for its heartbeat; a worker that exits first (its start-up
/// met a leader election) is started again, as compose's and Kubernetes' restart
/// policies would.
async fn start_worker(
    js: &jetstream::Context,
    state: &Path,
    url: &str,
    kind: &str,
    id: &str,
) -> Child {
    for _ in 0..5 {
        let mut child = spawn(state, url, &[kind, "--id", id]);
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                break;
            }
            let present = lighthouse_nats::presence::list(js)
                .await
                .is_ok_and(|p| p.iter().any(|w| w.kind == kind && w.id == id));
            if present {
                return child;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        eprintln!("ha: {kind} {id} did not come up; starting it again");
    }
    panic!("{kind} {id} never came up");
}

/// The name of the server leading `stream`'s raft group.
async fn leader(js: &jetstream::Context, stream: &str) -> Option<String> {
    let mut s = js.get_stream(stream).await.ok()?;
    let info = s.info().await.ok()?;
    info.cluster.as_ref()?.leader.clone()
}

/// Waits until `stream` has a leader and both followers are current (a node that came
/// back has caught up), so the next restart never takes the quorum away.
async fn replicated(js: &jetstream::Context, stream: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last = String::new();
    while Instant::now() < deadline {
        match js.get_stream(stream).await {
            Ok(mut s) => match s.info().await {
                Ok(info) => {
                    if info.cluster.as_ref().is_some_and(|c| {
                        c.leader.is_some()
                            && c.replicas.len() == 2
                            && c.replicas.iter().all(|r| r.current)
                    }) {
                        return;
                    }
                    last = format!("{:?}", info.cluster);
                }
                Err(e) => last = e.to_string(),
            },
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{stream} not replicated on three current nodes: {last}");
}

/// Every decision in the log, read again until the cluster answers.
async fn decisions(js: &jetstream::Context) -> Vec<Decision> {
    for _ in 0..20 {
        let read = async {
            let stream = js.get_stream("LH_DECISION").await?;
            let n = stream.get_info().await?.state.messages as usize;
            let consumer = stream
                .create_consumer(jetstream::consumer::pull::OrderedConfig::default())
                .await?;
            let mut messages = consumer.messages().await?;
            let mut out = Vec::with_capacity(n);
            while out.len() < n {
                let m = tokio::time::timeout(Duration::from_secs(10), messages.next())
                    .await?
                    .ok_or("stream ended")??;
                out.push(decode::<Decision>(&m.payload)?);
            }
            Ok::<_, async_nats::Error>(out)
        };
        match read.await {
            Ok(out) => return out,
            Err(e) => eprintln!("ha: reading the decision log: {e}; again"),
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("the decision log could not be read");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_three_node_cluster_loses_a_node_and_a_validator_and_every_call_is_decided_once() {
    let started = Instant::now();
    let mut cluster = Cluster::start(3);
    let url = cluster.urls().join(",");
    let state = tempfile::tempdir().unwrap();
    let st = state.path();

    // R3 everything, once the cluster has elected a meta leader.
    eventually(Duration::from_secs(30), || {
        let ok = lighthouse(st, &url)
            .args(["nats", "apply", "--replicas", "3"])
            .output()
            .is_ok_and(|o| o.status.success());
        async move { ok }
    })
    .await;
    let js = jetstream::new(lighthouse_nats::connect(&url, "ha-test").await.unwrap());
    for stream in ["LH_CMD", "LH_DECISION", "LH_FS", "LH_ANNOT", "KV_lh_policy"] {
        let mut s = js.get_stream(stream).await.unwrap();
        assert_eq!(s.info().await.unwrap().config.num_replicas, 3, "{stream}");
    }

    let mut workers = Procs::default();
    workers
        .0
        .push(start_worker(&js, st, &url, "validator", "v1").await);
    workers
        .0
        .push(start_worker(&js, st, &url, "validator", "v2").await);
    workers
        .0
        .push(start_worker(&js, st, &url, "aggregator", "ag1").await);
    workers
        .0
        .push(spawn(st, &url, &["annotator", "--id", "an1"]));
    let mount = tempfile::tempdir().unwrap();
    let _projector = Projector::start_with(lighthouse(st, &url), &mount.path().join("view"));

    eprintln!("ha: load starts");
    let load = Load::start(st, &url, 3);
    load.progress(30).await;

    // kill -9 the node leading the command stream, and a validator, under load.
    let victim = leader(&js, "LH_CMD")
        .await
        .and_then(|name| name.strip_prefix("lh-")?.parse::<usize>().ok())
        .unwrap_or(0);
    eprintln!("ha: kill -9 of node lh-{victim} (leads LH_CMD) and validator v1");
    tokio::task::block_in_place(|| cluster.servers[victim].kill());
    let v1 = workers.0.remove(0);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(v1.id() as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let mut v1 = v1;
    let _ = v1.wait();
    load.progress(60).await;

    // Both come back.
    eprintln!("ha: both come back");
    tokio::task::block_in_place(|| cluster.servers[victim].start_again());
    workers
        .0
        .push(start_worker(&js, st, &url, "validator", "v1-again").await);
    replicated(&js, "LH_CMD").await;
    replicated(&js, "LH_DECISION").await;
    load.progress(30).await;

    // Rolling restart: each node in turn, the next only once the last has caught up.
    for i in 0..cluster.servers.len() {
        eprintln!("ha: rolling restart of lh-{i}");
        tokio::task::block_in_place(|| cluster.servers[i].restart());
        replicated(&js, "LH_CMD").await;
        replicated(&js, "LH_DECISION").await;
        load.progress(20).await;
    }

    let answers = load.finish();
    eprintln!("ha: load stopped");
    // A hook that decided locally spooled its call; the next hook that reaches the
    // pipeline publishes the spool. Run hooks until it is empty, each with time to
    // flush (50 ms by default: right after a rolling restart a replicated publish can
    // take longer, and the spool would only shrink by luck).
    let spooled = || {
        std::fs::read_dir(st.join("spool")).map_or(0, |d| {
            d.filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
                .count()
        })
    };
    // A hook flushes only once the pipeline answers it: after the restarts the
    // validators may still be working off the load's backlog (on a busy machine, for
    // many seconds), and a hook that times out spools its own call too. So keep
    // calling, with pauses, for up to two minutes.
    let flushing = Instant::now();
    let mut i = 0;
    while spooled() > 0 && flushing.elapsed() < Duration::from_secs(120) {
        let mut flusher = lighthouse(st, &url);
        flusher.env("LIGHTHOUSE__HOOK__SPOOL_FLUSH_MS", "2000");
        run_hook(flusher, &bash("ls", &format!("toolu_flush_{i}")));
        i += 1;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(spooled(), 0, "spool never flushed ({i} hooks)");

    // Every hook answered, in the agent's protocol.
    let failed: Vec<&Answer> = answers
        .iter()
        .filter(|a| !matches!(a.permission.as_deref(), Some("allow" | "deny" | "ask")))
        .collect();
    assert!(failed.is_empty(), "hooks without an answer: {failed:?}");

    // Every call decided exactly once.
    eventually(Duration::from_secs(60), || async {
        stream_messages(&js, "LH_DECISION").await >= stream_messages(&js, "LH_CMD").await
    })
    .await;
    let decisions = decisions(&js).await;
    let mut per_command: BTreeMap<&str, usize> = BTreeMap::new();
    for d in &decisions {
        *per_command.entry(d.cmd_id.as_str()).or_default() += 1;
    }
    let twice: Vec<_> = per_command.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "decided more than once: {twice:?}");
    let missing: Vec<&str> = answers
        .iter()
        .map(|a| a.id.as_str())
        .filter(|id| !per_command.contains_key(id))
        .collect();
    assert!(missing.is_empty(), "never recorded: {missing:?}");

    let fallback = decisions
        .iter()
        .filter(|d| d.decided_by == "hook-fallback")
        .count();
    let slowest = answers.iter().max_by_key(|a| a.elapsed);
    eprintln!(
        "ha: {} hooks answered, {} decided by the hook's fallback, slowest answer {:?}, \
         {} decisions, test ran {:?}",
        answers.len(),
        fallback,
        slowest.map(|a| (&a.id, a.elapsed)),
        decisions.len(),
        started.elapsed()
    );
}
