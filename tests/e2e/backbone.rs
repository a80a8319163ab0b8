//! The command path from hook to decision (issue: backbone).

use crate::util::*;
use async_nats::jetstream;
use lighthouse_schemas::{
    AgentKind, Command as LhCommand, Envelope, Tier, Token, Verdict, encode, now_us, subject,
};
use serde_json::json;
use std::process::Stdio;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread")]
async fn hook_gets_the_pipelines_decision() {
    let mut p = Pipeline::start();
    p.spawn_validator("v1");
    p.wait_for_validators(1).await;

    let (deny, _) = p.hook(&bash("rm -rf /", "toolu_deny"));
    assert_eq!(permission(&deny), "deny", "{deny}");
    assert!(!reason(&deny).contains("decided locally"), "{deny}");
    let (allow, _) = p.hook(&pre_tool_use(
        "Read",
        json!({"file_path": "/work/demo-project/README.md"}),
        "toolu_read",
    ));
    assert_eq!(permission(&allow), "allow", "{allow}");
    let (ask, _) = p.hook(&bash("git reset --hard HEAD~3", "toolu_ask"));
    assert_eq!(permission(&ask), "ask", "{ask}");

    let decisions = all_decisions(&p.js().await).await;
    let deny = decisions
        .iter()
        .find(|(_, d)| d.cmd_id == "toolu_deny")
        .expect("deny decision in the audit log");
    assert_eq!(deny.1.verdict, Verdict::Deny);
    assert_eq!(deny.1.tier, Tier::Policy);
    assert_eq!(deny.1.decided_by, "v1");
    assert_eq!(
        deny.0, "lh.decision.demo-project.claude-code.toolu_deny",
        "decision subject follows the contract"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_tool_use_id_gets_one_decision() {
    let mut p = Pipeline::start();
    p.spawn_validator("v1");
    p.wait_for_validators(1).await;
    let payload = bash("git push --force origin main", "toolu_twice");
    let (first, _) = p.hook(&payload);
    let (second, _) = p.hook(&payload);
    assert_eq!(permission(&first), "deny");
    assert_eq!(first, second, "a retry returns the recorded decision");
    let js = p.js().await;
    assert_eq!(stream_messages(&js, "LH_CMD").await, 1);
    let decisions = all_decisions(&js).await;
    assert_eq!(
        decisions
            .iter()
            .filter(|(_, d)| d.cmd_id == "toolu_twice")
            .count(),
        1
    );
}

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
        git_branch: None,
    }
}

async fn publish(js: &jetstream::Context, c: &LhCommand) -> Result<(), async_nats::Error> {
    let subject = subject::command(&Token::encode(&c.env.project), &Token::encode(&c.env.agent));
    let msg = jetstream::message::PublishMessage::build()
        .payload(encode(c).unwrap().into())
        .message_id(&c.env.id);
    js.send_publish(subject, msg).await?.await?;
    Ok(())
}

/// Every acked command gets exactly one decision, across a crash of the server.
#[tokio::test(flavor = "multi_thread")]
async fn server_crash_loses_no_acked_command() {
    let mut p = Pipeline::start();
    p.spawn_validator("v1");
    p.wait_for_validators(1).await;
    let mut acked = Vec::new();
    let mut js = p.js().await;
    for i in 0..600 {
        if i == 300 {
            tokio::task::block_in_place(|| p.server.kill_and_restart());
            js = p.js().await;
        }
        let c = command(&format!("crash-{i}"), &format!("a{}", i % 5), "ls -la");
        // A publish that was not acked is the client's to retry; only acked ones count.
        if publish(&js, &c).await.is_ok() {
            acked.push(c.env.id.clone());
        }
    }
    assert!(acked.len() >= 590, "only {} publishes acked", acked.len());
    eventually(Duration::from_secs(60), || async {
        let decided = all_decisions(&js).await;
        acked
            .iter()
            .all(|id| decided.iter().any(|(_, d)| &d.cmd_id == id))
    })
    .await;
    let decided = all_decisions(&js).await;
    for id in &acked {
        assert_eq!(
            decided.iter().filter(|(_, d)| &d.cmd_id == id).count(),
            1,
            "{id}"
        );
    }
}

/// A validator killed with work in flight: the survivor finishes it, once each.
#[tokio::test(flavor = "multi_thread")]
async fn killed_worker_leaves_nothing_undecided() {
    let mut p = Pipeline::start();
    let victim = p.spawn_validator("victim");
    p.wait_for_validators(1).await;
    let js = p.js().await;
    let n = 3_000;
    for i in 0..n {
        let c = command(&format!("batch-{i}"), &format!("a{}", i % 8), "cargo build");
        publish(&js, &c).await.unwrap();
        if i == 1_000 {
            nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(victim as i32),
                nix::sys::signal::Signal::SIGKILL,
            )
            .unwrap();
        }
    }
    p.spawn_validator("survivor");
    eventually(Duration::from_secs(60), || async {
        stream_messages(&js, "LH_DECISION").await >= n
    })
    .await;
    // Every command acked: no redelivery can (wrongly) add a second decision later.
    eventually(Duration::from_secs(60), || all_acked(&js, "LH_CMD")).await;
    let decided = all_decisions(&js).await;
    assert_eq!(decided.len() as u64, n, "exactly one decision per command");
    let mut ids: Vec<_> = decided.iter().map(|(_, d)| d.cmd_id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len() as u64, n);
}

#[tokio::test(flavor = "multi_thread")]
async fn garbage_goes_to_the_dead_letter_and_work_goes_on() {
    let mut p = Pipeline::start();
    p.spawn_validator("v1");
    p.wait_for_validators(1).await;
    let js = p.js().await;
    js.publish("lh.cmd.proj.mallory", "\u{1}not msgpack".into())
        .await
        .unwrap()
        .await
        .unwrap();
    // A well-formed command naming another agent than its subject is refused too.
    let forged = command("forged", "alice", "ls");
    let msg = jetstream::message::PublishMessage::build().payload(encode(&forged).unwrap().into());
    js.send_publish("lh.cmd.proj.mallory", msg)
        .await
        .unwrap()
        .await
        .unwrap();
    publish(&js, &command("after-garbage", "a1", "ls"))
        .await
        .unwrap();
    eventually(Duration::from_secs(20), || async {
        all_decisions(&js)
            .await
            .iter()
            .any(|(_, d)| d.cmd_id == "after-garbage")
    })
    .await;
    eventually(Duration::from_secs(10), || async {
        stream_messages(&js, "LH_DLQ").await == 2
    })
    .await;
    let dlq = js.get_stream("LH_DLQ").await.unwrap();
    let first = dlq.direct_get(1).await.unwrap();
    let headers = first.headers;
    assert!(
        headers
            .get("Lh-Reason")
            .unwrap()
            .as_str()
            .contains("not a Lighthouse command")
    );
    assert_eq!(headers.get("Lh-Stream").unwrap().as_str(), "LH_CMD");
    assert_eq!(first.payload.as_ref(), b"\x01not msgpack");
    let second = dlq.direct_get(2).await.unwrap();
    assert!(
        second
            .headers
            .get("Lh-Reason")
            .unwrap()
            .as_str()
            .contains("published on lh.cmd.proj.mallory")
    );
    assert!(
        !all_decisions(&js)
            .await
            .iter()
            .any(|(_, d)| d.cmd_id == "forged")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_server_the_hook_answers_locally_and_spools() {
    let state = tempfile::tempdir().unwrap();
    let dead = format!("nats://127.0.0.1:{}", lighthouse_tests::free_port());
    let run = |payload| run_hook(lighthouse(state.path(), &dead), &payload);

    let (deny, took) = run(bash("rm -rf /", "toolu_off1"));
    assert_eq!(permission(&deny), "deny", "{deny}");
    assert!(reason(&deny).contains("decided locally"), "{deny}");
    // Not a speed goal: a guard that hangs is a broken guard.
    assert!(took < Duration::from_secs(10), "{took:?}");
    let (ask, _) = run(bash("git reset --hard HEAD~3", "toolu_off2"));
    assert_eq!(permission(&ask), "ask", "escalate maps to ask: {ask}");
    let (allow, _) = run(pre_tool_use("Grep", json!({"pattern": "x"}), "toolu_off3"));
    assert_eq!(permission(&allow), "allow");
    let spooled = std::fs::read_dir(state.path().join("spool"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "json")
        })
        .count();
    assert_eq!(spooled, 3);

    // Once a pipeline is reachable, the next hook publishes the spool.
    let mut p = Pipeline::start();
    p.spawn_validator("v1");
    p.wait_for_validators(1).await;
    // With time to flush: the default budget (tens of ms) is for an agent's hot path,
    // and on a busy machine three publishes can outlast it (the rest would wait for
    // the next hook, which this test does not run).
    let mut online = lighthouse(state.path(), &p.server.url());
    online.env("LIGHTHOUSE__HOOK__SPOOL_FLUSH_MS", "5000");
    let (later, _) = run_hook(
        online,
        &pre_tool_use("Read", json!({"file_path": "README.md"}), "toolu_online"),
    );
    assert_eq!(permission(&later), "allow", "{later}");
    let js = p.js().await;
    eventually(Duration::from_secs(20), || async {
        all_decisions(&js).await.len() == 4
    })
    .await;
    let decided = all_decisions(&js).await;
    let off1 = decided
        .iter()
        .find(|(_, d)| d.cmd_id == "toolu_off1")
        .unwrap();
    assert_eq!(
        off1.1.tier,
        Tier::Fallback,
        "the recorded decision is the one given"
    );
    assert_eq!(off1.1.verdict, Verdict::Deny);
    // The spooled commands reach LH_CMD too; the validator adds no second decision.
    eventually(Duration::from_secs(10), || async {
        stream_messages(&js, "LH_CMD").await == 4
    })
    .await;
    // Once the validator has acked them all, a second decision would be there.
    eventually(Duration::from_secs(30), || all_acked(&js, "LH_CMD")).await;
    assert_eq!(all_decisions(&js).await.len(), 4);
    // Each call flushes within its budget (`hook.spool_flush_ms`): on a busy machine an
    // entry already published may still be on disk. Later calls clear it, adding nothing.
    let spooled = || {
        std::fs::read_dir(state.path().join("spool"))
            .unwrap()
            .any(|e| e.unwrap().path().extension().is_some_and(|x| x == "json"))
    };
    for n in 0..10 {
        if !spooled() {
            break;
        }
        let id = format!("toolu_online{n}");
        let read = pre_tool_use("Read", json!({"file_path": "README.md"}), &id);
        run_hook(lighthouse(state.path(), &p.server.url()), &read);
    }
    assert!(!spooled(), "the spool is never emptied");
    let decided = all_decisions(&js).await;
    for id in ["toolu_off1", "toolu_off2", "toolu_off3"] {
        let n = decided.iter().filter(|(_, d)| d.cmd_id == id).count();
        assert_eq!(n, 1, "{id}: one decision, however often its entry was sent");
    }
}

/// A server that accepts connections but never speaks: the hook must not hang.
#[tokio::test(flavor = "multi_thread")]
async fn a_silent_server_cannot_make_the_hook_hang() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("nats://{}", listener.local_addr().unwrap());
    let state = tempfile::tempdir().unwrap();
    let mut cmd = lighthouse(state.path(), &url);
    cmd.env("LIGHTHOUSE__HOOK__DECISION_TIMEOUT_MS", "500");
    let (answer, took) = run_hook(cmd, &bash("rm -rf ~", "toolu_silent"));
    assert_eq!(permission(&answer), "deny", "{answer}");
    assert!(took < Duration::from_secs(10), "{took:?}");
    drop(listener);
}

#[test]
fn malformed_hook_input_fails_closed_with_a_reason() {
    let state = tempfile::tempdir().unwrap();
    let dead = format!("nats://127.0.0.1:{}", lighthouse_tests::free_port());
    for input in ["", "{", "[1,2]", "{\"hook_event_name\":\"PreToolUse\"}"] {
        let (out, _) = run_with_stdin(&mut lighthouse(state.path(), &dead), input);
        assert!(out.status.success());
        let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(permission(&answer), "deny", "{input:?}: {answer}");
        assert!(reason(&answer).starts_with("Lighthouse: "), "{answer}");
    }
    let huge = format!(
        "{{\"hook_event_name\":\"PreToolUse\",\"tool_name\":\"Bash\",\"x\":\"{}\"}}",
        "a".repeat(2 * 1024 * 1024)
    );
    let (out, _) = run_with_stdin(&mut lighthouse(state.path(), &dead), &huge);
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(permission(&answer), "deny");
    assert!(reason(&answer).contains("over"), "{answer}");
}

#[tokio::test(flavor = "multi_thread")]
async fn up_runs_the_pipeline_and_hooks_find_it() {
    let data = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let none = state.path().join("none.toml");
    let (mut up, line) = crate::up::spawn(data.path(), state.path(), &none, &[]).await;
    assert!(
        line.starts_with("lighthouse ready nats_url=nats://127.0.0.1:"),
        "{line}"
    );

    // No URL given: the hook and status find the pipeline through up.json.
    let isolated = |args: &[&str]| {
        let mut c = std::process::Command::new(LIGHTHOUSE);
        c.args(args)
            .env("LIGHTHOUSE_CONFIG", state.path().join("none.toml"))
            .env("LIGHTHOUSE__STATE_DIR", state.path())
            .env("LIGHTHOUSE_LOG", "warn");
        c
    };
    let mut healthy = false;
    for _ in 0..100 {
        let out = isolated(&["status", "--json"]).output().unwrap();
        if out.status.success() {
            let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            assert!(
                s["nats_url"]
                    .as_str()
                    .unwrap()
                    .starts_with("nats://127.0.0.1:")
            );
            assert_eq!(s["healthy"], true);
            healthy = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(healthy, "status never healthy");
    let (answer, _) = run_hook(isolated(&[]), &bash("rm -rf ~/", "toolu_up"));
    assert_eq!(permission(&answer), "deny");
    assert!(!reason(&answer).contains("decided locally"), "{answer}");
    let out = isolated(&["decisions", "--last", "5", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("toolu_up"), "{text}");

    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(up.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = tokio::task::spawn_blocking(move || up.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "up exit {status:?}");
    assert!(!state.path().join("up.json").exists());
    let out = isolated(&["status"]).output().unwrap();
    assert!(
        !out.status.success(),
        "status after shutdown must be unhealthy"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn status_is_unhealthy_without_a_validator() {
    let p = Pipeline::start();
    let out = p.cmd().args(["nats", "apply"]).output().unwrap();
    assert!(out.status.success());
    let out = p.cmd().args(["status", "--json"]).output().unwrap();
    assert!(!out.status.success());
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s["healthy"], false);
    assert!(s["problems"].to_string().contains("no validator"));
}

/// PATH with the lighthouse binary first: a project install names it by that name.
fn lighthouse_on_path() -> String {
    let bin = std::path::Path::new(LIGHTHOUSE).parent().unwrap();
    format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

#[test]
fn install_claude_merges_idempotently() {
    let project = tempfile::tempdir().unwrap();
    let settings = project.path().join(".claude/settings.json");
    std::fs::create_dir_all(settings.parent().unwrap()).unwrap();
    std::fs::write(
        &settings,
        r#"{"permissions":{"allow":["Bash(ls:*)"]},"hooks":{"PreToolUse":[{"matcher":"Bash","hooks":[{"type":"command","command":"other"}]}]}}"#,
    )
    .unwrap();
    for _ in 0..2 {
        let out = std::process::Command::new(LIGHTHOUSE)
            .args(["install", "claude", "--project"])
            .current_dir(project.path())
            .env("LIGHTHOUSE_CONFIG", project.path().join("none.toml"))
            .env("PATH", lighthouse_on_path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
    }
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&settings).unwrap()).unwrap();
    assert_eq!(v["permissions"]["allow"][0], "Bash(ls:*)");
    let pre = v["hooks"]["PreToolUse"].as_array().unwrap();
    assert_eq!(pre.len(), 2);
    let command = pre[1]["hooks"][0]["command"].as_str().unwrap();
    assert!(
        command.ends_with("lighthouse hook claude") || command.ends_with("lighthouse-hook claude"),
        "{command}"
    );
    assert_eq!(pre[1]["hooks"][0]["onFailure"], "block");
    assert_eq!(v["hooks"]["PostToolUse"].as_array().unwrap().len(), 1);
}

/// A typo in the hook's configuration must block the call, in each client's blocking form:
/// exit 64 would be a non-blocking error and the client would run the command.
#[test]
fn hook_with_bad_configuration_fails_closed() {
    for client in ["claude", "codex", "gemini"] {
        let state = tempfile::tempdir().unwrap();
        let mut child = lighthouse(state.path(), "nats://127.0.0.1:1")
            .env("LIGHTHOUSE__HOOK__NO_SUCH_KEY", "1")
            .args(["hook", client])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write as _;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(br#"{"hook_event_name":"PreToolUse","session_id":"s","tool_use_id":"t","cwd":"/tmp","tool_name":"Bash","tool_input":{"command":"ls"}}"#)
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        match out.status.code() {
            Some(0) => assert!(stdout.contains("deny"), "{client}: {stdout}"),
            Some(2) => {}
            other => panic!("{client}: exit {other:?} lets the call run; stdout {stdout}"),
        }
        assert!(stdout.contains("deny"), "{client}: {stdout}");
    }
}

#[test]
fn bad_configuration_exits_64_before_touching_nats() {
    let state = tempfile::tempdir().unwrap();
    let out = lighthouse(state.path(), "nats://127.0.0.1:1")
        .env("LIGHTHOUSE__HOOK__NO_SUCH_KEY", "1")
        .args(["status"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&out.stderr).contains("configuration"));
}

#[tokio::test(flavor = "multi_thread")]
async fn live_server_matches_the_nats_files() {
    let p = Pipeline::start();
    let out = p.cmd().args(["nats", "apply"]).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    // Applying twice is harmless.
    let out = p.cmd().args(["nats", "apply"]).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let js = p.js().await;
    let topology = lighthouse_nats::topology::Topology::embedded().unwrap();
    assert_eq!(topology.drift(&js).await, Vec::<String>::new());
    // A hand-edited stream is noticed.
    let mut config = js
        .get_stream("LH_CMD")
        .await
        .unwrap()
        .get_info()
        .await
        .unwrap()
        .config;
    config.max_age = Duration::from_secs(3600);
    js.update_stream(config).await.unwrap();
    let drift = topology.drift(&js).await;
    assert_eq!(
        drift,
        vec!["stream LH_CMD: max_age differs from nats/".to_owned()]
    );
}

/// A waiting hook takes a decision as the log stored it: `LH_DECISION` republishes what
/// it stored on `lh.recorded.…`, and a second decision for the same command, which the
/// stream refuses, is heard as published but never arrives there.
#[tokio::test(flavor = "multi_thread")]
async fn the_decision_log_republishes_only_what_it_stored() {
    use futures::StreamExt;
    use lighthouse_nats::publish::{Published, publish_once};
    let p = Pipeline::start();
    let nats = async_nats::connect(p.server.url()).await.unwrap();
    let js = jetstream::new(nats.clone());
    let topology = lighthouse_nats::topology::Topology::embedded().unwrap();
    topology.apply(&js).await.unwrap();
    let (project, agent, cmd) = (
        Token::encode("p"),
        Token::encode("claude-code"),
        Token::encode("rec-1"),
    );
    let on_log = subject::decision(&project, &agent, &cmd);
    let mut recorded = nats
        .subscribe(subject::recorded_decision(&project, &agent, &cmd))
        .await
        .unwrap();
    let mut published = nats.subscribe(on_log.clone()).await.unwrap();
    for (id, body, stored) in [("rec-1-a", "first", true), ("rec-1-b", "second", false)] {
        let outcome = publish_once(&js, on_log.clone(), id, body.into(), true)
            .await
            .unwrap();
        assert_eq!(
            matches!(outcome, Published::Stored(_)),
            stored,
            "{outcome:?}"
        );
    }
    for body in ["first", "second"] {
        let heard = tokio::time::timeout(Duration::from_secs(5), published.next());
        assert_eq!(heard.await.unwrap().unwrap().payload, body);
    }
    let heard = tokio::time::timeout(Duration::from_secs(5), recorded.next());
    let heard = heard.await.unwrap().unwrap();
    assert_eq!(heard.payload, "first");
    assert_eq!(
        heard.headers.unwrap().get("Nats-Subject").unwrap().as_str(),
        on_log
    );
    let more = tokio::time::timeout(Duration::from_millis(500), recorded.next());
    assert!(more.await.is_err(), "the refused decision was republished");
}

/// NATS is up but no validator runs: the hook answers locally in time and records
/// that very decision (a fallback record: the agent may not publish decisions), and the
/// first validator to come makes it the command's decision, so the audit log holds what
/// the agent was told.
#[tokio::test(flavor = "multi_thread")]
async fn without_validators_the_fallback_decision_is_recorded() {
    let p = Pipeline::start();
    assert!(
        p.cmd()
            .args(["nats", "apply"])
            .output()
            .unwrap()
            .status
            .success()
    );
    let mut cmd = p.cmd();
    cmd.env("LIGHTHOUSE__HOOK__DECISION_TIMEOUT_MS", "300");
    let (answer, took) = run_hook(cmd, &bash("dd if=/dev/zero of=/dev/sda", "toolu_noval"));
    assert_eq!(permission(&answer), "deny", "{answer}");
    assert!(took < Duration::from_secs(10));
    let js = p.js().await;
    assert_eq!(stream_messages(&js, "LH_FALLBACK").await, 1);
    // The validator shares the hook's settings: a command older than the hook's
    // decision timeout may have been answered locally, so its record is looked up first.
    let mut validator = p.cmd();
    validator
        .env("LIGHTHOUSE__HOOK__DECISION_TIMEOUT_MS", "300")
        .args(["validator", "--id", "v1"])
        .stdout(std::process::Stdio::null());
    let _validator = Procs(vec![validator.spawn().unwrap()]);
    eventually(Duration::from_secs(20), || async {
        stream_messages(&js, "LH_DECISION").await == 1
    })
    .await;
    let decided = all_decisions(&js).await;
    assert_eq!(decided.len(), 1);
    assert_eq!(decided[0].1.tier, Tier::Fallback);
    assert_eq!(decided[0].1.cmd_id, "toolu_noval");
    assert_eq!(stream_messages(&js, "LH_CMD").await, 1);
    // Nothing was left to spool: it is all on the log already.
    assert!(
        !p.state.path().join("spool").exists()
            || std::fs::read_dir(p.state.path().join("spool"))
                .unwrap()
                .next()
                .is_none()
    );
}
