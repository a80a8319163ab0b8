//! Faults (issue 10: nothing lost, nothing hung): real nats-server, real worker
//! processes, faults injected for real (a stream refusing writes, poisoned records,
//! garbage on every consumed subject, oversize fields, a full store).
//!
//! Each test asserts that every command ends in exactly one place (one decision, or a
//! dead letter with its reason) and that nothing is decided twice. The time limits only
//! stop a hang; no test asserts a speed.

use crate::util::*;
use async_nats::jetstream::{self, kv, stream::DiscardPolicy};
use lighthouse_schemas::{
    AgentKind, Command as LhCommand, Envelope, Token, Verdict, Vote, encode, now_us, subject,
};
use serde_json::json;
use std::process::Stdio;
use std::time::Duration;

pub(crate) const LIMIT: Duration = Duration::from_secs(60);

pub(crate) fn command(id: &str, agent: &str, shell: &str) -> LhCommand {
    LhCommand {
        env: Envelope::new(id, now_us(), "proj", agent, id),
        tool_name: "Bash".into(),
        tool_input: json!({ "command": shell }),
        cwd: "/work/proj".into(),
        session_id: "s".into(),
        tool_use_id: Some(id.into()),
        agent_kind: AgentKind::ClaudeCode,
        permission_mode: None,
        git_branch: None,
    }
}

pub(crate) async fn publish(js: &jetstream::Context, c: &LhCommand) {
    let subject = subject::command(&Token::encode(&c.env.project), &Token::encode(&c.env.agent));
    lighthouse_nats::publish::publish_once(
        js,
        subject,
        &c.env.id,
        encode(c).unwrap().into(),
        false,
    )
    .await
    .unwrap();
}

pub(crate) fn decision_subject(c: &LhCommand) -> String {
    subject::decision(
        &Token::encode(&c.env.project),
        &Token::encode(&c.env.agent),
        &Token::encode(&c.env.id),
    )
}

/// How many decisions each of `ids` has in the audit log.
pub(crate) async fn decisions_per_command(js: &jetstream::Context, ids: &[String]) -> Vec<usize> {
    let all = all_decisions(js).await;
    ids.iter()
        .map(|id| all.iter().filter(|(_, d)| &d.cmd_id == id).count())
        .collect()
}

/// Dead letters stored under `lh.dlq.<source>`, with their headers.
pub(crate) async fn dead_letters(
    js: &jetstream::Context,
    source: &str,
) -> Vec<async_nats::HeaderMap> {
    let stream = js.get_stream("LH_DLQ").await.unwrap();
    let last = stream.get_info().await.unwrap().state.last_sequence;
    let wanted = subject::dead_letter(source);
    let mut out = Vec::new();
    for seq in 1..=last {
        if let Ok(m) = stream.direct_get(seq).await
            && m.subject.as_str() == wanted
        {
            out.push(m.headers);
        }
    }
    out
}

pub(crate) fn header<'a>(h: &'a async_nats::HeaderMap, name: &str) -> &'a str {
    h.get(name).map(|v| v.as_str()).unwrap_or("")
}

/// `LH_DECISION` refuses writes (as with a full store) while commands arrive: they are
/// retried with backoff, none is dropped at a delivery limit, none is dead-lettered,
/// and once writes are accepted again the whole backlog is decided exactly once.
#[tokio::test(flavor = "multi_thread")]
async fn a_decision_stream_refusing_writes_delays_decisions_and_loses_none() {
    let mut p = Pipeline::start();
    p.spawn_validator("v1");
    p.wait_for_validators(1).await;
    let js = p.js().await;
    let first = command("before-outage", "a0", "ls");
    publish(&js, &first).await;
    eventually(LIMIT, || async {
        stream_messages(&js, "LH_DECISION").await == 1
    })
    .await;

    // Refuse every new decision: the stream may hold only what it holds.
    let stream = js.get_stream("LH_DECISION").await.unwrap();
    let original = stream.cached_info().config.clone();
    let mut full = original.clone();
    full.max_messages = 1;
    full.discard = DiscardPolicy::New;
    js.update_stream(&full).await.unwrap();

    let ids: Vec<String> = (0..50).map(|i| format!("outage-{i}")).collect();
    for (i, id) in ids.iter().enumerate() {
        publish(&js, &command(id, &format!("a{}", i % 5), "cargo test")).await;
    }
    // Each command fails several times (the old loop gave up after max_deliver), and
    // the consumer keeps them: nothing is acked, Termed or dead-lettered meanwhile.
    eventually(LIMIT, || async {
        lighthouse_nats::presence::list(&js).await.is_ok_and(|w| {
            w.iter()
                .any(|w| w.kind == "validator" && w.retried >= 4 * ids.len() as u64)
        })
    })
    .await;
    assert_eq!(stream_messages(&js, "LH_DECISION").await, 1);
    assert_eq!(stream_messages(&js, "LH_DLQ").await, 0);

    // The cause clears: the backlog is decided, once each.
    js.update_stream(&original).await.unwrap();
    eventually(LIMIT, || async {
        stream_messages(&js, "LH_DECISION").await == 51
    })
    .await;
    assert!(
        decisions_per_command(&js, &ids)
            .await
            .iter()
            .all(|n| *n == 1)
    );
    assert_eq!(stream_messages(&js, "LH_DLQ").await, 0);
}

/// A command id too long for a header (and one holding a line break) is still decided:
/// its `Nats-Msg-Id` is a digest, its subject token is bounded.
#[tokio::test(flavor = "multi_thread")]
async fn oversize_and_odd_command_ids_are_decided() {
    let mut p = Pipeline::start();
    p.spawn_validator("v1");
    p.wait_for_validators(1).await;
    let js = p.js().await;
    let long = command(
        &format!("toolu_{}", "x".repeat(64 * 1024)),
        "a1",
        "rm -rf /",
    );
    let crlf = command("toolu_a\r\nNats-Expected-Stream: NOPE", "a1", "ls");
    publish(&js, &long).await;
    publish(&js, &crlf).await;
    for c in [&long, &crlf] {
        let subject = decision_subject(c);
        eventually(LIMIT, || async {
            lighthouse_nats::read::recorded_decision(&js, &subject)
                .await
                .is_some()
        })
        .await;
    }
    let decided = lighthouse_nats::read::recorded_decision(&js, &decision_subject(&long))
        .await
        .unwrap();
    assert_eq!(decided.verdict, Verdict::Deny);
    assert_eq!(decided.cmd_id, long.env.id);
}

/// Garbage on every subject a worker consumes (commands, votes, escalations, file
/// versions) and a poisoned `lh_escalations` record: each is dead-lettered once with
/// its reason, and real work around it is still decided.
#[tokio::test(flavor = "multi_thread")]
async fn poison_on_every_consumed_subject_and_bucket_is_dead_lettered() {
    let mut p = Pipeline::start();
    let mut workers = Procs::default();
    for args in [
        ["aggregator", "--id", "agg1"].as_slice(),
        ["annotator", "--id", "ann1"].as_slice(),
    ] {
        workers
            .0
            .push(p.cmd().args(args).stdout(Stdio::null()).spawn().unwrap());
    }
    let js = p.js().await;
    eventually(LIMIT, || async {
        lighthouse_nats::presence::list(&js).await.is_ok_and(|w| {
            w.iter().any(|w| w.kind == "aggregator") && w.iter().any(|w| w.kind == "annotator")
        })
    })
    .await;
    // The validator starts once the aggregator is present: it loads who is present
    // before its first command, so it surely escalates the command below. Started
    // first, it might still answer that command alone before its presence watch
    // caught up, and never meet the poisoned record.
    p.spawn_validator("v1");
    p.wait_for_validators(1).await;
    let garbage = || b"\x01not msgpack".to_vec();
    for subject in [
        "lh.cmd.proj.mallory",
        "lh.vote.cmd1.mallory",
        "lh.esc.proj.security",
        "lh.fs.proj.src~2fmain~2ers",
    ] {
        js.publish(subject, garbage().into())
            .await
            .unwrap()
            .await
            .unwrap();
    }
    // A poisoned escalation record, met by the validator (it escalates this command:
    // an aggregator is present) and replaced by a good one.
    let escalated = command("poisoned-esc", "a1", "git reset --hard HEAD~3");
    let escalations = js.get_key_value("lh_escalations").await.unwrap();
    escalations
        .put(Token::encode(&escalated.env.id).kv_key(), garbage().into())
        .await
        .unwrap();
    publish(&js, &escalated).await;
    // A poisoned record met by a vote.
    let voted = Token::encode("poisoned-vote");
    escalations
        .put(voted.kv_key(), garbage().into())
        .await
        .unwrap();
    let vote = Vote {
        env: Envelope::new("v-1", now_us(), "proj", "a1", "poisoned-vote"),
        cmd_id: "poisoned-vote".into(),
        expert: "eve".into(),
        specialty: "security".into(),
        choice: lighthouse_schemas::Choice::Approve,
        reasoning: "fine".into(),
        suggestions: Vec::new(),
        confidence: None,
    };
    js.publish(
        subject::vote(&voted, &Token::encode("eve")),
        encode(&vote).unwrap().into(),
    )
    .await
    .unwrap()
    .await
    .unwrap();
    let after = command("after-poison", "a2", "ls");
    publish(&js, &after).await;

    // Work goes on: both commands decided (no expert is present: "ask" at once).
    for c in [&after, &escalated] {
        let subject = decision_subject(c);
        eventually(LIMIT, || async {
            lighthouse_nats::read::recorded_decision(&js, &subject)
                .await
                .is_some()
        })
        .await;
    }
    // One dead letter per poison, each with its source and reason.
    for (source, kind, count) in [
        ("LH_CMD", "poison", 1),
        ("LH_VOTE", "poison", 1),
        ("LH_ESC", "poison", 1),
        ("LH_FS", "poison", 1),
        ("KV_lh_escalations", "poison_record", 2),
    ] {
        eventually(LIMIT, || async {
            dead_letters(&js, source).await.len() >= count
        })
        .await;
        let letters = dead_letters(&js, source).await;
        assert_eq!(letters.len(), count, "{source}");
        for h in &letters {
            assert_eq!(header(h, "Lh-Reason-Kind"), kind, "{source}");
            assert!(!header(h, "Lh-Reason").is_empty(), "{source}");
            assert_eq!(header(h, "Lh-Payload-Len"), "12", "{source}");
        }
    }
    // The record the validator met was replaced by the real escalation; the one the
    // vote met was removed.
    let entry = escalations
        .entry(Token::encode(&escalated.env.id).kv_key())
        .await
        .unwrap()
        .unwrap();
    assert!(lighthouse_schemas::decode::<lighthouse_schemas::Escalation>(&entry.value).is_ok());
    let removed = escalations.entry(voted.kv_key()).await.unwrap();
    assert!(removed.is_none_or(|e| e.operation != kv::Operation::Put));
    // Each command decided exactly once.
    assert_eq!(
        decisions_per_command(&js, &[after.env.id.clone(), escalated.env.id.clone()]).await,
        vec![1, 1]
    );
}

/// A `lighthouse up` child with its own data and state dirs, killed on drop.
pub(crate) struct Up {
    child: Option<std::process::Child>,
    pub nats_url: String,
    data: tempfile::TempDir,
    state: tempfile::TempDir,
}

impl Up {
    pub async fn start() -> Up {
        Up::start_in(tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()).await
    }

    /// Starts on these data and state dirs (a restart keeps them).
    pub async fn start_in(data: tempfile::TempDir, state: tempfile::TempDir) -> Up {
        let config = state.path().join("none.toml");
        let (child, line) = crate::up::spawn(data.path(), state.path(), &config, &[]).await;
        let nats_url = line
            .split_whitespace()
            .find_map(|f| f.strip_prefix("nats_url="))
            .expect("the ready line names the server")
            .to_owned();
        Up {
            child: Some(child),
            nats_url,
            data,
            state,
        }
    }

    pub fn state_dir(&self) -> &std::path::Path {
        self.state.path()
    }

    /// A `lighthouse` command that finds this `up` through its state dir.
    pub fn cmd(&self, args: &[&str]) -> std::process::Command {
        let mut c = std::process::Command::new(LIGHTHOUSE);
        c.args(args)
            .env("LIGHTHOUSE_CONFIG", self.state.path().join("none.toml"))
            .env("LIGHTHOUSE__STATE_DIR", self.state.path())
            .env("LIGHTHOUSE_LOG", "error");
        c
    }

    pub fn status(&self) -> serde_json::Value {
        let out = self.cmd(&["status", "--json"]).output().unwrap();
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap_or_default()
    }

    /// What `status` says about one supervised service (`nats-server`, `validator` …).
    pub fn service(status: &serde_json::Value, name: &str) -> serde_json::Value {
        status["services"]
            .as_array()
            .and_then(|a| a.iter().find(|s| s["name"] == name).cloned())
            .unwrap_or_default()
    }

    /// JetStream as ops (the identity `up` wrote; its server admits no one else).
    pub async fn js(&self) -> jetstream::Context {
        let auth = lighthouse_nats::auth::ClientAuth {
            nkey: Some(lighthouse_nats::auth::identity_file(
                &self.state.path().join("identities"),
                "ops",
            )),
            ..Default::default()
        };
        let client = lighthouse_nats::connect_as(&self.nats_url, "test-ops", &auth)
            .await
            .unwrap();
        jetstream::new(client)
    }

    /// Hook calls until one is answered by the pipeline, not the hook's local fallback.
    pub async fn until_pipeline_answers(&self, tag: &str) {
        let tries = std::sync::atomic::AtomicUsize::new(0);
        eventually(LIMIT, || async {
            let n = tries.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let (answer, _) = run_hook(self.cmd(&[]), &bash("ls", &format!("toolu_{tag}_{n}")));
            !reason(&answer).contains("decided locally")
        })
        .await;
    }

    /// SIGKILL, as a crash: nothing of `up` runs its cleanup. Returns its dirs.
    pub fn crash(mut self) -> (tempfile::TempDir, tempfile::TempDir) {
        let mut child = self.child.take().unwrap();
        let _ = child.kill();
        let _ = child.wait();
        let (data, state) = (
            std::mem::replace(&mut self.data, tempfile::tempdir().unwrap()),
            std::mem::replace(&mut self.state, tempfile::tempdir().unwrap()),
        );
        (data, state)
    }

    /// SIGTERM, then its exit status.
    pub async fn stop(mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().unwrap();
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        )
        .unwrap();
        tokio::task::spawn_blocking(move || child.wait())
            .await
            .unwrap()
            .unwrap()
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// `lighthouse up` keeps its nats-server alive: killed with SIGKILL, it is started
/// again on the same port and store, `status` reports the restart, and the hook is
/// answered by the pipeline again. SIGTERM still stops everything.
#[tokio::test(flavor = "multi_thread")]
async fn up_restarts_a_dead_nats_server_and_status_says_so() {
    let up = Up::start().await;
    eventually(LIMIT, || async { up.status()["healthy"] == true }).await;
    let first = Up::service(&up.status(), "nats-server");
    let pid = first["pid"]
        .as_u64()
        .expect("status names the server's pid") as i32;
    assert_eq!(first["restarts"], 0);

    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    eventually(LIMIT, || async {
        let s = up.status();
        s["healthy"] == true && Up::service(&s, "nats-server")["restarts"] == 1
    })
    .await;
    let again = Up::service(&up.status(), "nats-server");
    assert_ne!(again["pid"], first["pid"]);
    assert!(again["last_exit"].as_str().unwrap_or("").contains("signal"));
    // The pipeline answers again (not the hook's local fallback).
    let (answer, _) = run_hook(up.cmd(&[]), &bash("rm -rf ~/", "toolu_after_restart"));
    assert_eq!(permission(&answer), "deny");
    up.until_pipeline_answers("again").await;

    // SIGTERM: everything stops, the restarted server included.
    let exit = up.stop().await;
    assert!(exit.success(), "{exit:?}");
    let restarted = again["pid"].as_u64().unwrap() as i32;
    assert!(
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(restarted), None).is_err(),
        "the restarted nats-server is gone"
    );
}

/// `lighthouse up` killed with SIGKILL leaves its nats-server running (re-parented,
/// still on the store). Started again on the same dirs, `up` stops that orphan before
/// starting its own server (two servers on one store would corrupt it), and the
/// pipeline answers again with the calls decided before the crash still on record.
#[tokio::test(flavor = "multi_thread")]
async fn up_started_after_a_crash_stops_the_orphaned_server_and_carries_on() {
    let up = Up::start().await;
    eventually(LIMIT, || async { up.status()["healthy"] == true }).await;
    up.until_pipeline_answers("before").await;
    let orphan = Up::service(&up.status(), "nats-server")["pid"]
        .as_u64()
        .expect("status names the server's pid") as i32;
    let (data, state) = up.crash();
    let orphan_pid = nix::unistd::Pid::from_raw(orphan);
    assert!(
        nix::sys::signal::kill(orphan_pid, None).is_ok(),
        "the server outlived its up"
    );

    let up = Up::start_in(data, state).await;
    assert!(
        std::fs::read_to_string(format!("/proc/{orphan}/stat"))
            .map(|s| s.contains(") Z "))
            .unwrap_or(true),
        "the orphaned server was stopped"
    );
    eventually(LIMIT, || async { up.status()["healthy"] == true }).await;
    up.until_pipeline_answers("after").await;
    let js = up.js().await;
    let decided: Vec<String> = all_decisions(&js)
        .await
        .into_iter()
        .map(|(_, d)| d.cmd_id)
        .collect();
    assert!(
        decided.iter().any(|id| id.starts_with("toolu_before_")),
        "the calls before the crash are still on record"
    );
    let exit = up.stop().await;
    assert!(exit.success(), "{exit:?}");
}

/// `lighthouse up` keeps its worker tasks alive. The validator's consumers are deleted
/// under it: the server keeps answering "no such consumer", the validator gives up
/// (`consumer … no longer exists`), `up` starts it again, its start re-applies the
/// topology, and the pipeline answers again. `status` reports the restart. The new
/// consumers replay the whole command stream: nothing is decided a second time.
#[tokio::test(flavor = "multi_thread")]
async fn up_restarts_a_failed_worker_and_status_says_so() {
    let up = Up::start().await;
    eventually(LIMIT, || async { up.status()["healthy"] == true }).await;
    let status = up.status();
    for name in ["validator", "aggregator", "annotator"] {
        let s = Up::service(&status, name);
        assert_eq!(
            (&s["running"], &s["restarts"]),
            (&json!(true), &json!(0)),
            "{name}"
        );
    }
    up.until_pipeline_answers("before").await;
    let js = up.js().await;
    let stream = js.get_stream("LH_CMD").await.unwrap();
    for p in 0..4 {
        stream
            .delete_consumer(&format!("validator-{p}"))
            .await
            .unwrap();
    }
    eventually(LIMIT, || async {
        let s = up.status();
        let v = Up::service(&s, "validator");
        s["healthy"] == true && v["running"] == true && v["restarts"].as_u64() >= Some(1)
    })
    .await;
    let v = Up::service(&up.status(), "validator");
    let exit = v["last_exit"].as_str().unwrap_or("");
    assert!(exit.contains("no longer exists"), "{v}");
    // The other workers were left alone.
    assert_eq!(Up::service(&up.status(), "aggregator")["restarts"], 0);
    up.until_pipeline_answers("after").await;
    // Every command was replayed to the new consumers and acked; each has one decision.
    eventually(LIMIT, || async { all_acked(&js, "LH_CMD").await }).await;
    let decisions = all_decisions(&js).await;
    let mut ids: Vec<&str> = decisions.iter().map(|(_, d)| d.cmd_id.as_str()).collect();
    let total = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), total, "a command was decided twice");
    assert!(stream_messages(&js, "LH_CMD").await as usize <= total);

    let exit = up.stop().await;
    assert!(exit.success(), "{exit:?}");
}

/// How long a hook call may take when the pipeline cannot decide: the configured
/// decision timeout (2 s by default) plus generous slack for process start and a
/// loaded machine. Only a hang fails this; it is not a speed check.
pub(crate) const HOOK_BOUND: Duration = Duration::from_secs(2 + 8);

/// `long` when `LIGHTHOUSE_FAULTS_LONG=1`, else `short`.
pub(crate) fn scaled(short: usize, long: usize) -> usize {
    if std::env::var("LIGHTHOUSE_FAULTS_LONG").is_ok_and(|v| v == "1") {
        long
    } else {
        short
    }
}

/// Makes `stream` refuse new messages, as a full store does (its limit is what it
/// holds, and new messages are discarded); returns its config to restore.
async fn fill(js: &jetstream::Context, name: &str) -> jetstream::stream::Config {
    let mut stream = js.get_stream(name).await.unwrap();
    let original = stream.info().await.unwrap().config.clone();
    let held = stream.info().await.unwrap().state.messages as i64;
    let mut full = original.clone();
    full.max_messages = held.max(1);
    full.discard = DiscardPolicy::New;
    js.update_stream(&full).await.unwrap();
    original
}

/// One hook call: its answer, checked to come fail-closed within [`HOOK_BOUND`].
fn hook_within_bound(cmd: std::process::Command, shell: &str, id: &str) -> serde_json::Value {
    let (answer, took) = run_hook(cmd, &bash(shell, id));
    assert!(took < HOOK_BOUND, "{id} answered after {took:?}");
    answer
}

/// A full store: first `LH_DECISION` refuses new messages (commands are accepted,
/// decisions are not), then `LH_CMD` too. Every hook call is answered within its bound
/// by the local policy, fail-closed (a dangerous call is denied); nothing is dead-
/// lettered or dropped meanwhile. Once space is freed, every call reaches the audit log
/// with exactly one decision (the validator's retry or the hook's spooled one, whichever
/// is first), and every command is acked.
#[tokio::test(flavor = "multi_thread")]
async fn a_full_store_answers_hooks_fail_closed_and_loses_no_call() {
    let mut p = Pipeline::start();
    p.spawn_validator("v1");
    p.wait_for_validators(1).await;
    let js = p.js().await;
    let (warm, _) = p.hook(&bash("ls", "toolu_warm"));
    assert!(!reason(&warm).contains("decided locally"), "{warm}");
    let calls = scaled(2, 10);

    let decisions = fill(&js, "LH_DECISION").await;
    let mut ids = Vec::new();
    for phase in ["decisions_full", "both_full"] {
        if phase == "both_full" {
            fill(&js, "LH_CMD").await;
        }
        for i in 0..calls {
            let (deny, allow) = (
                format!("toolu_{phase}_rm_{i}"),
                format!("toolu_{phase}_ls_{i}"),
            );
            let answer = hook_within_bound(p.cmd(), "rm -rf ~/", &deny);
            assert_eq!(permission(&answer), "deny", "{answer}");
            // With only decisions refused, the validator's decision still reaches the
            // waiting hook over core NATS (the stream refused to store it; the
            // validator retries until it is stored): either answer is fail-closed.
            if phase == "both_full" {
                assert!(reason(&answer).contains("decided locally"), "{answer}");
            }
            let answer = hook_within_bound(p.cmd(), "ls", &allow);
            assert_eq!(permission(&answer), "allow", "{answer}");
            ids.extend([deny, allow]);
        }
    }
    assert_eq!(stream_messages(&js, "LH_DLQ").await, 0);
    let spool = p.state.path().join("spool");
    assert!(
        std::fs::read_dir(&spool).unwrap().count() >= 2 * calls,
        "the calls no stream took are spooled"
    );

    // Space again: the next call the pipeline answers flushes the spool.
    js.update_stream(&decisions).await.unwrap();
    let commands = js.get_stream("LH_CMD").await.unwrap();
    let mut restored = commands.cached_info().config.clone();
    restored.max_messages = -1;
    restored.discard = DiscardPolicy::Old;
    js.update_stream(&restored).await.unwrap();
    let n = std::sync::atomic::AtomicUsize::new(0);
    eventually(LIMIT, || async {
        let i = n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        p.hook(&bash("ls", &format!("toolu_after_{i}")));
        std::fs::read_dir(&spool)
            .map(|d| d.filter_map(Result::ok).all(|e| e.path().is_dir()))
            .unwrap_or(true)
    })
    .await;
    eventually(LIMIT, || async { all_acked(&js, "LH_CMD").await }).await;
    let all = all_decisions(&js).await;
    for id in &ids {
        let mine: Vec<_> = all.iter().filter(|(_, d)| &d.cmd_id == id).collect();
        assert_eq!(mine.len(), 1, "{id}: {mine:?}");
        let expected = if id.contains("_rm_") {
            Verdict::Deny
        } else {
            Verdict::Allow
        };
        assert_eq!(mine[0].1.verdict, expected, "{id}");
    }
    let (messages, subjects) = lighthouse_tests::process::decision_counts(&js).await;
    assert_eq!(messages, subjects, "a command was decided twice");
    assert_eq!(stream_messages(&js, "LH_DLQ").await, 0);
}

/// A validator killed (SIGKILL) in the middle of a batch: what it held unacked is
/// redelivered after `ack_wait` to the other replica; every command is decided exactly
/// once, none is lost.
#[tokio::test(flavor = "multi_thread")]
async fn a_validator_killed_mid_batch_loses_nothing_and_decides_nothing_twice() {
    let mut p = Pipeline::start();
    let victim = p.spawn_validator("v1");
    p.spawn_validator("v2");
    p.wait_for_validators(2).await;
    let js = p.js().await;
    let total = scaled(2000, 20000);
    let commands: Vec<LhCommand> = (0..total)
        .map(|i| {
            let shell = if i % 3 == 0 { "rm -rf /" } else { "cargo test" };
            lighthouse_tests::process::bash_command("kill", i, shell)
        })
        .collect();
    let publisher = {
        let (js, commands) = (js.clone(), commands.clone());
        tokio::spawn(async move {
            for chunk in commands.chunks(50) {
                lighthouse_tests::process::publish_commands(&js, chunk).await;
            }
        })
    };
    // Mid-batch: some decided, most not yet.
    eventually(LIMIT, || async {
        stream_messages(&js, "LH_DECISION").await >= (total / 10) as u64
    })
    .await;
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(victim as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    publisher.await.unwrap();
    eventually(LIMIT, || async {
        stream_messages(&js, "LH_DECISION").await >= total as u64
    })
    .await;
    eventually(LIMIT, || async { all_acked(&js, "LH_CMD").await }).await;
    let ids: Vec<String> = commands.iter().map(|c| c.env.id.clone()).collect();
    assert!(
        decisions_per_command(&js, &ids)
            .await
            .iter()
            .all(|n| *n == 1)
    );
    let (messages, subjects) = lighthouse_tests::process::decision_counts(&js).await;
    assert_eq!((messages, subjects), (total as u64, total as u64));
    assert_eq!(stream_messages(&js, "LH_DLQ").await, 0);
}

/// `lighthouse bench soak`, briefly (the real run is minutes long and not part of the
/// suite): steady load with its first scheduled fault (a validator SIGKILLed at 15 s),
/// and an account in which nothing is lost or duplicated.
#[tokio::test(flavor = "multi_thread")]
async fn a_short_soak_loses_nothing_and_duplicates_nothing() {
    let state = tempfile::tempdir().unwrap();
    let out = tokio::task::spawn_blocking({
        let state = state.path().to_owned();
        move || {
            std::process::Command::new(LIGHTHOUSE)
                .args([
                    "bench",
                    "soak",
                    "--minutes",
                    "0.35",
                    "--rate",
                    "100",
                    "--json",
                ])
                .env("LIGHTHOUSE_CONFIG", state.join("none.toml"))
                .env("LIGHTHOUSE__STATE_DIR", &state)
                .env(
                    "LIGHTHOUSE__NATS__SERVER_BIN",
                    lighthouse_tests::nats_server_binary(),
                )
                .env("LIGHTHOUSE_LOG", "error")
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON report ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert!(out.status.success(), "{report}");
    assert_eq!(report["lost"], 0, "{report}");
    assert_eq!(report["duplicated"], 0, "{report}");
    assert!(report["sent"].as_u64().unwrap_or(0) > 0, "{report}");
    assert_eq!(report["decided"], report["stored"], "{report}");
    assert!(
        report["faults"].as_array().is_some_and(|f| f
            .iter()
            .any(|f| f.as_str().unwrap_or("").contains("SIGKILL"))),
        "{report}"
    );
}
