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

const LIMIT: Duration = Duration::from_secs(60);

fn command(id: &str, agent: &str, shell: &str) -> LhCommand {
    LhCommand {
        env: Envelope::new(id, now_us(), "proj", agent, id),
        tool_name: "Bash".into(),
        tool_input: json!({ "command": shell }),
        cwd: "/work/proj".into(),
        session_id: "s".into(),
        tool_use_id: Some(id.into()),
        agent_kind: AgentKind::ClaudeCode,
        permission_mode: None,
    }
}

async fn publish(js: &jetstream::Context, c: &LhCommand) {
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

fn decision_subject(c: &LhCommand) -> String {
    subject::decision(
        &Token::encode(&c.env.project),
        &Token::encode(&c.env.agent),
        &Token::encode(&c.env.id),
    )
}

/// How many decisions each of `ids` has in the audit log.
async fn decisions_per_command(js: &jetstream::Context, ids: &[String]) -> Vec<usize> {
    let all = all_decisions(js).await;
    ids.iter()
        .map(|id| all.iter().filter(|(_, d)| &d.cmd_id == id).count())
        .collect()
}

/// Dead letters stored under `lh.dlq.<source>`, with their headers.
async fn dead_letters(js: &jetstream::Context, source: &str) -> Vec<async_nats::HeaderMap> {
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

fn header<'a>(h: &'a async_nats::HeaderMap, name: &str) -> &'a str {
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
    p.spawn_validator("v1");
    let mut workers = Procs::default();
    for args in [
        ["aggregator", "--id", "agg1"].as_slice(),
        ["annotator", "--id", "ann1"].as_slice(),
    ] {
        workers
            .0
            .push(p.cmd().args(args).stdout(Stdio::null()).spawn().unwrap());
    }
    p.wait_for_validators(1).await;
    let js = p.js().await;
    eventually(LIMIT, || async {
        lighthouse_nats::presence::list(&js).await.is_ok_and(|w| {
            w.iter().any(|w| w.kind == "aggregator") && w.iter().any(|w| w.kind == "annotator")
        })
    })
    .await;
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

/// `lighthouse up` keeps its nats-server alive: killed with SIGKILL, it is started
/// again on the same port and store, `status` reports the restart, and the hook is
/// answered by the pipeline again. SIGTERM still stops everything.
#[tokio::test(flavor = "multi_thread")]
async fn up_restarts_a_dead_nats_server_and_status_says_so() {
    let data = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let bin = lighthouse_tests::nats_server_binary();
    let mut up = std::process::Command::new(LIGHTHOUSE)
        .args(["up", "--port", "0", "--data-dir"])
        .arg(data.path())
        .env("LIGHTHOUSE_CONFIG", state.path().join("none.toml"))
        .env("LIGHTHOUSE__STATE_DIR", state.path())
        .env("LIGHTHOUSE__NATS__SERVER_BIN", &bin)
        .env("LIGHTHOUSE__UP__MONITOR_PORT", "0")
        .env("LIGHTHOUSE_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = up.stdout.take().unwrap();
    let ready = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line).unwrap();
        line
    });
    let line = tokio::time::timeout(LIMIT, ready).await.unwrap().unwrap();
    assert!(line.starts_with("lighthouse ready"), "{line}");
    let isolated = |args: &[&str]| {
        let mut c = std::process::Command::new(LIGHTHOUSE);
        c.args(args)
            .env("LIGHTHOUSE_CONFIG", state.path().join("none.toml"))
            .env("LIGHTHOUSE__STATE_DIR", state.path())
            .env("LIGHTHOUSE_LOG", "error");
        c
    };
    let status = || {
        let out = isolated(&["status", "--json"]).output().unwrap();
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap_or_default()
    };
    let server = |s: &serde_json::Value| {
        s["services"]
            .as_array()
            .and_then(|a| a.iter().find(|s| s["name"] == "nats-server").cloned())
            .unwrap_or_default()
    };
    eventually(LIMIT, || async { status()["healthy"] == true }).await;
    let first = server(&status());
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
        let s = status();
        s["healthy"] == true && server(&s)["restarts"] == 1
    })
    .await;
    let again = server(&status());
    assert_ne!(again["pid"], first["pid"]);
    assert!(again["last_exit"].as_str().unwrap_or("").contains("signal"));
    // The pipeline answers again (not the hook's local fallback).
    let (answer, _) = run_hook(isolated(&[]), &bash("rm -rf ~/", "toolu_after_restart"));
    assert_eq!(permission(&answer), "deny");
    let tries = std::sync::atomic::AtomicUsize::new(0);
    eventually(LIMIT, || async {
        let n = tries.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (answer, _) = run_hook(isolated(&[]), &bash("ls", &format!("toolu_again_{n}")));
        !reason(&answer).contains("decided locally")
    })
    .await;

    // SIGTERM: everything stops, the restarted server included.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(up.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let exit = tokio::task::spawn_blocking(move || up.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(exit.success(), "{exit:?}");
    let restarted = again["pid"].as_u64().unwrap() as i32;
    assert!(
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(restarted), None).is_err(),
        "the restarted nats-server is gone"
    );
}
