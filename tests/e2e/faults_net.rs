//! Faults between the processes (issue 10): a server that accepts connections and never
//! answers, a partition that stalls a worker's connection mid-batch, an expert that
//! claims an escalation and never votes. Real nats-server, real worker and hook
//! processes; the network faults come from `lighthouse_tests::proxy`.
//!
//! Each test asserts that every call is answered within its bound (fail-closed), that
//! nothing is lost and that nothing is decided twice. Time limits only stop a hang.

use crate::faults::{HOOK_BOUND, LIMIT, decisions_per_command, scaled};
use crate::util::*;
use async_nats::jetstream;
use lighthouse_schemas::{Tier, Verdict};
use lighthouse_tests::proxy::{Mode, Proxy};
use std::process::Stdio;
use std::time::Duration;

/// Spool entries waiting (quarantined ones live in a sub-directory).
fn spooled(state: &std::path::Path) -> usize {
    std::fs::read_dir(state.join("spool"))
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
                .count()
        })
        .unwrap_or(0)
}

/// The hook's server accepts connections and never answers (a blackhole). Each call is
/// answered within its bound by the local policy, fail-closed, and spooled; when the
/// network heals, the next calls are answered by the pipeline and flush the spool:
/// every call is on record exactly once, with the verdict the agent was given.
#[tokio::test(flavor = "multi_thread")]
async fn a_blackholed_server_holds_no_hook_and_loses_no_call() {
    let mut p = Pipeline::start();
    p.spawn_validator("v1");
    p.wait_for_validators(1).await;
    let proxy = Proxy::start(p.server.port(), Mode::Blackhole);
    let via_proxy = || lighthouse(p.state.path(), &proxy.url());
    let calls = scaled(2, 20);
    let mut ids = Vec::new();
    for i in 0..calls {
        for (shell, verdict) in [("rm -rf ~/", "deny"), ("ls", "allow")] {
            let id = format!("toolu_hole_{verdict}_{i}");
            let (answer, took) = run_hook(via_proxy(), &bash(shell, &id));
            assert!(took < HOOK_BOUND, "{id} answered after {took:?}");
            assert_eq!(permission(&answer), verdict, "{answer}");
            assert!(reason(&answer).contains("decided locally"), "{answer}");
            ids.push(id);
        }
    }
    assert_eq!(spooled(p.state.path()), ids.len());

    proxy.set_mode(Mode::Forward);
    let tries = std::sync::atomic::AtomicUsize::new(0);
    eventually(LIMIT, || async {
        let n = tries.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (answer, _) = run_hook(via_proxy(), &bash("ls", &format!("toolu_healed_{n}")));
        !reason(&answer).contains("decided locally") && spooled(p.state.path()) == 0
    })
    .await;
    let js = p.js().await;
    eventually(LIMIT, || async { all_acked(&js, "LH_CMD").await }).await;
    assert!(
        decisions_per_command(&js, &ids)
            .await
            .iter()
            .all(|n| *n == 1)
    );
    for (_, d) in all_decisions(&js).await {
        if ids.contains(&d.cmd_id) {
            assert_eq!(d.tier, Tier::Fallback, "{}", d.cmd_id);
            let expected = if d.cmd_id.contains("deny") {
                Verdict::Deny
            } else {
                Verdict::Allow
            };
            assert_eq!(d.verdict, expected, "{}", d.cmd_id);
        }
    }
    let (messages, subjects) = lighthouse_tests::process::decision_counts(&js).await;
    assert_eq!(messages, subjects, "a command was decided twice");
}

/// A half-open server: the handshake works, then every publish is dropped (and nothing
/// the hook sends after it arrives). The hook cannot tell this from a slow pipeline;
/// it still answers within its bound, fail-closed, spools the call, and once the server
/// works again the call is on record exactly once.
#[tokio::test(flavor = "multi_thread")]
async fn a_server_dropping_publishes_holds_no_hook_and_loses_no_call() {
    let mut p = Pipeline::start();
    p.spawn_validator("v1");
    p.wait_for_validators(1).await;
    let proxy = Proxy::start(p.server.port(), Mode::DropPublishes);
    let via_proxy = || lighthouse(p.state.path(), &proxy.url());
    let mut ids = Vec::new();
    for (shell, verdict) in [("rm -rf ~/", "deny"), ("ls", "allow")] {
        let id = format!("toolu_halfopen_{verdict}");
        let (answer, took) = run_hook(via_proxy(), &bash(shell, &id));
        assert!(took < HOOK_BOUND, "{id} answered after {took:?}");
        assert_eq!(permission(&answer), verdict, "{answer}");
        assert!(reason(&answer).contains("decided locally"), "{answer}");
        ids.push(id);
    }
    proxy.set_mode(Mode::Forward);
    let tries = std::sync::atomic::AtomicUsize::new(0);
    eventually(LIMIT, || async {
        let n = tries.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (answer, _) = run_hook(via_proxy(), &bash("ls", &format!("toolu_whole_{n}")));
        !reason(&answer).contains("decided locally") && spooled(p.state.path()) == 0
    })
    .await;
    let js = p.js().await;
    eventually(LIMIT, || async { all_acked(&js, "LH_CMD").await }).await;
    assert_eq!(decisions_per_command(&js, &ids).await, vec![1, 1]);
    let (messages, subjects) = lighthouse_tests::process::decision_counts(&js).await;
    assert_eq!(messages, subjects, "a command was decided twice");
}

/// A validator's connection stalls both ways in the middle of a batch (a partition TCP
/// does not notice: what was in flight is held, not dropped). What it held unacked goes
/// to the other validator after `ack_wait`; when the partition heals, the stalled
/// validator's late work is refused (the decision subjects are taken). Every command
/// is decided exactly once and acked.
#[tokio::test(flavor = "multi_thread")]
async fn a_validator_partitioned_mid_batch_loses_nothing_and_decides_nothing_twice() {
    let mut p = Pipeline::start();
    let proxy = Proxy::start(p.server.port(), Mode::Forward);
    let child = lighthouse(p.state.path(), &proxy.url())
        .args(["validator", "--id", "behind-proxy"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    p.validators.0.push(child);
    p.spawn_validator("direct");
    p.wait_for_validators(2).await;
    let js = p.js().await;
    // Warm-up until the validator behind the proxy has decided something: its consume
    // loop runs, so it has pull requests waiting at the server when the partition
    // starts (present alone, it may not have pulled yet, and then the partition would
    // catch nothing).
    let mut warm = Vec::new();
    eventually(LIMIT, || {
        let batch: Vec<_> = (warm.len()..warm.len() + 20)
            .map(|i| lighthouse_tests::process::bash_command("warm", i, "ls"))
            .collect();
        warm.extend(batch.iter().cloned());
        let js = js.clone();
        async move {
            lighthouse_tests::process::publish_commands(&js, &batch).await;
            tokio::time::sleep(Duration::from_millis(500)).await;
            lighthouse_nats::presence::list(&js)
                .await
                .is_ok_and(|w| w.iter().any(|w| w.id == "behind-proxy" && w.processed > 0))
        }
    })
    .await;
    let decided_before = warm.len() as u64;
    eventually(LIMIT, || async {
        stream_messages(&js, "LH_DECISION").await >= decided_before
    })
    .await;
    let total = scaled(400, 4000);
    let commands: Vec<_> = (0..total)
        .map(|i| lighthouse_tests::process::bash_command("part", i, "cargo test"))
        .collect();

    // The partition starts with the batch: the stalled validator's open pull requests
    // take part of it and hold it.
    proxy.set_mode(Mode::Blackhole);
    lighthouse_tests::process::publish_commands(&js, &commands).await;
    eventually(LIMIT, || async {
        stream_messages(&js, "LH_DECISION").await >= decided_before + total as u64
    })
    .await;
    let redelivered = deliveries(&js).await > decided_before + total as u64;

    proxy.set_mode(Mode::Forward);
    // The healed validator works again: a second batch, decided too.
    let more: Vec<_> = (0..total / 4)
        .map(|i| lighthouse_tests::process::bash_command("healed", i, "ls"))
        .collect();
    lighthouse_tests::process::publish_commands(&js, &more).await;
    eventually(LIMIT, || async {
        stream_messages(&js, "LH_DECISION").await >= decided_before + (total + more.len()) as u64
    })
    .await;
    eventually(LIMIT, || async { all_acked(&js, "LH_CMD").await }).await;
    let ids: Vec<String> = warm
        .iter()
        .chain(&commands)
        .chain(&more)
        .map(|c| c.env.id.clone())
        .collect();
    assert!(
        decisions_per_command(&js, &ids)
            .await
            .iter()
            .all(|n| *n == 1)
    );
    let (messages, subjects) = lighthouse_tests::process::decision_counts(&js).await;
    assert_eq!((messages, subjects), (ids.len() as u64, ids.len() as u64));
    assert_eq!(stream_messages(&js, "LH_DLQ").await, 0);
    // The partition did catch part of the batch (else this test tested nothing).
    assert!(redelivered, "the stalled validator held no message");
}

/// Deliveries made by the validator consumers, redeliveries included.
async fn deliveries(js: &jetstream::Context) -> u64 {
    let stream = js.get_stream("LH_CMD").await.unwrap();
    let mut sum = 0;
    for p in 0..4 {
        let mut c: jetstream::consumer::PullConsumer = stream
            .get_consumer(&format!("validator-{p}"))
            .await
            .unwrap();
        sum += c.info().await.unwrap().delivered.consumer_sequence;
    }
    sum
}

/// An expert that claims an escalation and never votes: `lighthouse expert watch` is
/// present, pulls the escalation from its specialty's shared consumer, and is frozen
/// (SIGSTOP) before it can do anything with it. The escalation's deadline still turns
/// the call into exactly one decision, and the hook gets it in time; a vote that comes
/// after the deadline changes nothing.
#[tokio::test(flavor = "multi_thread")]
async fn a_stuck_expert_cannot_hold_a_call_past_its_deadline() {
    const DEADLINE_MS: u64 = 3000;
    let p = Pipeline::start();
    let config = p.state.path().join("config.toml");
    std::fs::write(
        &config,
        format!("[hook]\nescalation_wait_ms = 25000\n[escalation]\ndeadline_ms = {DEADLINE_MS}\n"),
    )
    .unwrap();
    let cmd = || {
        let mut c = p.cmd();
        c.env("LIGHTHOUSE_CONFIG", &config);
        c
    };
    let js = p.js().await;
    let present = |kind: &'static str| {
        let js = js.clone();
        async move {
            lighthouse_nats::presence::list(&js)
                .await
                .is_ok_and(|w| w.iter().any(|w| w.kind == kind))
        }
    };
    let mut procs = Procs::default();
    procs.0.push(
        cmd()
            .args(["aggregator", "--id", "agg1"])
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    eventually(LIMIT, || present("aggregator")).await;
    procs.0.push(
        cmd()
            .args(["validator", "--id", "v1"])
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    eventually(LIMIT, || present("validator")).await;
    let expert = cmd()
        .args([
            "expert",
            "watch",
            "--specialty",
            "security",
            "--id",
            "stuck",
        ])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let expert_pid = nix::unistd::Pid::from_raw(expert.id() as i32);
    procs.0.push(expert);
    // Present, and its pull request is open at the server.
    eventually(LIMIT, || async {
        let Ok(stream) = js.get_stream("LH_ESC").await else {
            return false;
        };
        let Ok(mut c) = stream
            .get_consumer::<jetstream::consumer::pull::Config>("expert-security")
            .await
        else {
            return false;
        };
        let experts = js.get_key_value("lh_experts").await.unwrap();
        let key = lighthouse_schemas::subject::expert_key(
            &lighthouse_schemas::Token::encode("security"),
            &lighthouse_schemas::Token::encode("stuck"),
        );
        matches!(experts.get(&key).await, Ok(Some(_)))
            && c.info().await.is_ok_and(|i| i.num_waiting > 0)
    })
    .await;
    nix::sys::signal::kill(expert_pid, nix::sys::signal::Signal::SIGSTOP).unwrap();

    let id = "toolu_stuck_expert";
    let (answer, took) = run_hook(cmd(), &bash("git reset --hard HEAD~3", id));
    assert!(
        took < Duration::from_millis(DEADLINE_MS) + HOOK_BOUND,
        "answered after {took:?}"
    );
    assert_eq!(permission(&answer), "ask", "{answer}");
    assert!(!reason(&answer).contains("decided locally"), "{answer}");
    // The frozen expert did claim it: delivered to it, never acked.
    let stream = js.get_stream("LH_ESC").await.unwrap();
    let mut consumer: jetstream::consumer::PullConsumer =
        stream.get_consumer("expert-security").await.unwrap();
    let info = consumer.info().await.unwrap();
    assert!(
        info.delivered.stream_sequence > 0 && info.ack_floor.stream_sequence == 0,
        "{info:?}"
    );
    // The command's decisions (its late approval, if any, is on `<subject>.late`).
    let decided = |js: jetstream::Context| async move {
        all_decisions(&js)
            .await
            .into_iter()
            .filter(|(s, d)| d.cmd_id == id && !s.ends_with(".late"))
            .map(|(_, d)| d)
            .collect::<Vec<_>>()
    };
    let d = decided(js.clone()).await;
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(
        (d[0].verdict, d[0].tier),
        (Verdict::Escalate, Tier::Deadline)
    );

    // It wakes and approves, late: still the one decision, unresolved; the approval is
    // recorded beside it (a Codex or Gemini retry of the call may then run).
    nix::sys::signal::kill(expert_pid, nix::sys::signal::Signal::SIGCONT).unwrap();
    let vote = lighthouse_schemas::Vote {
        env: lighthouse_schemas::Envelope::new(
            "late-vote",
            lighthouse_schemas::now_us(),
            d[0].env.project.clone(),
            d[0].env.agent.clone(),
            id,
        ),
        cmd_id: id.into(),
        expert: "stuck".into(),
        specialty: "security".into(),
        choice: lighthouse_schemas::Choice::Approve,
        reasoning: "late".into(),
        suggestions: Vec::new(),
        confidence: None,
    };
    js.publish(
        lighthouse_schemas::subject::vote(
            &lighthouse_schemas::Token::encode(id),
            &lighthouse_schemas::Token::encode("stuck"),
        ),
        lighthouse_schemas::encode(&vote).unwrap().into(),
    )
    .await
    .unwrap()
    .await
    .unwrap();
    eventually(LIMIT, || async {
        stream_messages(&js, "LH_VOTE").await == 1 && all_acked(&js, "LH_VOTE").await
    })
    .await;
    let d = decided(js.clone()).await;
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].tier, Tier::Deadline);
    let late = lighthouse_schemas::subject::late_approval(
        &lighthouse_schemas::Token::encode(&d[0].env.project),
        &lighthouse_schemas::Token::encode(&d[0].env.agent),
        &lighthouse_schemas::Token::encode(id),
    );
    eventually(LIMIT, || async {
        lighthouse_nats::read::recorded_decision(&js, &late)
            .await
            .is_some_and(|a| a.verdict == Verdict::Allow && a.reason.contains("unresolved"))
    })
    .await;
}
