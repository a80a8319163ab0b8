//! Escalation to experts (issue #4): real validator, aggregator and expert processes
//! (the `lighthouse` binary and a Python expert) against a real nats-server.
//!
//! No test asserts how fast anything is; the bounds below only stop a hang.

use crate::util::*;
use async_nats::jetstream;
use lighthouse_schemas::{Decision, Escalation, Tier, Token, Verdict, decode};
use lighthouse_tests::NatsServer;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The hook never waits longer than this for experts in these tests.
const HOOK_WAIT_MS: u64 = 25_000;
const LIMIT: Duration = Duration::from_secs(30);

/// A pipeline with its own config file, and the processes started against it.
pub(crate) struct Esc {
    pub(crate) p: Pipeline,
    config: PathBuf,
    procs: Procs,
    /// stdout of each `expert watch`, by expert id.
    watch_output: Vec<(String, Arc<Mutex<String>>)>,
}

impl Esc {
    /// A fresh server; `config` is TOML layered over the defaults.
    pub(crate) fn start(config: &str) -> Esc {
        Esc::on(NatsServer::start(), config)
    }

    pub(crate) fn on(server: NatsServer, config: &str) -> Esc {
        let state = tempfile::tempdir().unwrap();
        let path = state.path().join("config.toml");
        std::fs::write(
            &path,
            format!("[hook]\nescalation_wait_ms = {HOOK_WAIT_MS}\n{config}\n"),
        )
        .unwrap();
        Esc {
            p: Pipeline {
                server,
                state,
                validators: Procs::default(),
            },
            config: path,
            procs: Procs::default(),
            watch_output: Vec::new(),
        }
    }

    pub(crate) fn cmd(&self) -> Command {
        let mut cmd = self.p.cmd();
        cmd.env("LIGHTHOUSE_CONFIG", &self.config);
        cmd
    }

    pub(crate) fn spawn(&mut self, args: &[&str]) {
        let child = self.cmd().args(args).stdout(Stdio::null()).spawn().unwrap();
        self.procs.0.push(child);
    }

    /// Aggregator and validator processes. The validator starts once the aggregator is
    /// present: it loads who is present before its own heartbeat, so once it is present
    /// it knows an aggregator runs (and escalates rather than deciding alone).
    pub(crate) async fn workers(&mut self) {
        self.spawn(&["aggregator", "--id", "agg1"]);
        self.wait_for_workers("aggregator", 1).await;
        self.spawn(&["validator", "--id", "v1"]);
        self.wait_for_workers("validator", 1).await;
    }

    /// The aggregator [`Esc::workers`] started (it is the first process).
    pub(crate) fn aggregator_pid(&self) -> nix::unistd::Pid {
        nix::unistd::Pid::from_raw(self.procs.0[0].id() as i32)
    }

    pub(crate) async fn wait_for_workers(&self, kind: &str, n: usize) {
        let js = self.p.js().await;
        eventually(LIMIT, || async {
            lighthouse_nats::presence::list(&js)
                .await
                .map(|p| p.iter().filter(|w| w.kind == kind).count() >= n)
                .unwrap_or(false)
        })
        .await;
    }

    /// `lighthouse expert watch`, its stdout collected; returns once it is present.
    pub(crate) async fn watch(&mut self, specialty: &str, id: &str) {
        let mut child = self
            .cmd()
            .args(["expert", "watch", "--specialty", specialty, "--id", id])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let out = Arc::new(Mutex::new(String::new()));
        let sink = out.clone();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let mut s = sink.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        });
        self.procs.0.push(child);
        self.watch_output.push((id.to_owned(), out));
        self.wait_for_expert(specialty, id).await;
    }

    pub(crate) async fn wait_for_expert(&self, specialty: &str, id: &str) {
        let js = self.p.js().await;
        let key =
            lighthouse_schemas::subject::expert_key(&Token::encode(specialty), &Token::encode(id));
        eventually(LIMIT, || async {
            match js.get_key_value("lh_experts").await {
                Ok(kv) => matches!(kv.get(&key).await, Ok(Some(_))),
                Err(_) => false,
            }
        })
        .await;
        eventually(LIMIT, || expert_pulling(&js, specialty)).await;
    }

    pub(crate) fn watched(&self, id: &str) -> String {
        self.watch_output
            .iter()
            .find(|(i, _)| i == id)
            .map(|(_, o)| o.lock().unwrap().clone())
            .unwrap_or_default()
    }

    pub(crate) fn hook(&self, payload: &Value) -> Value {
        run_hook(self.cmd(), payload).0
    }

    /// Runs the hook in a thread (it blocks until the experts or the deadline answer).
    pub(crate) fn hook_in_background(&self, payload: Value) -> std::thread::JoinHandle<Value> {
        let cmd = self.cmd();
        std::thread::spawn(move || run_hook(cmd, &payload).0)
    }

    /// The escalation recorded for `cmd_id`, once the validator has made it.
    pub(crate) async fn escalation(&self, cmd_id: &str) -> Escalation {
        let js = self.p.js().await;
        let key = Token::encode(cmd_id);
        let started = std::time::Instant::now();
        loop {
            if let Ok(kv) = js.get_key_value("lh_escalations").await
                && let Ok(Some(bytes)) = kv.get(key.kv_key()).await
            {
                return decode::<Escalation>(&bytes).unwrap();
            }
            assert!(started.elapsed() < LIMIT, "no escalation for {cmd_id}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub(crate) fn vote(&self, choice: &str, cmd_id: &str, specialty: &str, id: &str, reason: &str) {
        let out = self
            .cmd()
            .args([
                "expert",
                choice,
                cmd_id,
                "--specialty",
                specialty,
                "--id",
                id,
            ])
            .args(["--reason", reason, "--suggest", "try the staging target"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "vote failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub(crate) async fn decisions_for(&self, cmd_id: &str) -> Vec<Decision> {
        all_decisions(&self.p.js().await)
            .await
            .into_iter()
            .filter(|(_, d)| d.cmd_id == cmd_id)
            .map(|(_, d)| d)
            .collect()
    }

    /// Every vote stored has been handled by an aggregator (nothing pending, nothing
    /// in flight), so "no decision yet" is a fact and not a race.
    pub(crate) async fn votes_settled(&self, stored: u64) {
        let js = self.p.js().await;
        eventually(LIMIT, || async {
            if stream_messages(&js, "LH_VOTE").await < stored {
                return false;
            }
            let stream = js.get_stream("LH_VOTE").await.unwrap();
            for p in 0..4 {
                let mut c: jetstream::consumer::PullConsumer = stream
                    .get_consumer(&format!("aggregator-{p}"))
                    .await
                    .unwrap();
                let info = c.info().await.unwrap();
                if info.num_pending > 0 || info.num_ack_pending > 0 {
                    return false;
                }
            }
            true
        })
        .await;
    }
}

pub(crate) fn join(hook: std::thread::JoinHandle<Value>) -> Value {
    tokio::task::block_in_place(|| hook.join().expect("hook thread"))
}

fn write(path: &str, id: &str) -> Value {
    pre_tool_use(
        "Write",
        json!({"file_path": path, "content": "#!/bin/sh\nmake deploy\n"}),
        id,
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn escalation_approve_path() {
    let mut e = Esc::start("");
    e.workers().await;
    e.watch("security", "alice").await;
    // An earlier call, so the escalation's context has history.
    let read = e.hook(&pre_tool_use(
        "Read",
        json!({"file_path": "/work/demo-project/README.md"}),
        "toolu_before",
    ));
    assert_eq!(permission(&read), "allow");

    let hook = e.hook_in_background(write("/work/other-project/run.sh", "toolu_ok"));
    let esc = e.escalation("toolu_ok").await;
    assert_eq!(esc.required, vec!["security"]);
    assert_eq!(esc.context.files, vec!["/work/other-project/run.sh"]);
    assert!(
        esc.context
            .recent_decisions
            .iter()
            .any(|d| d.cmd_id == "toolu_before"),
        "{:?}",
        esc.context
    );
    e.vote(
        "approve",
        "toolu_ok",
        "security",
        "alice",
        "only writes a script",
    );
    let answer = join(hook);
    assert_eq!(permission(&answer), "allow", "{answer}");
    assert!(reason(&answer).contains("only writes a script"), "{answer}");
    assert!(
        e.watched("alice").contains("ESCALATION cmd_id=toolu_ok"),
        "watch output: {}",
        e.watched("alice")
    );

    let decisions = e.decisions_for("toolu_ok").await;
    assert_eq!(decisions.len(), 1);
    let d = &decisions[0];
    assert_eq!((d.verdict, d.tier), (Verdict::Allow, Tier::Expert));
    assert_eq!(d.decided_by, "alice");
    assert_eq!(d.voters.len(), 1);
    assert_eq!(d.voters[0].suggestions, vec!["try the staging target"]);

    // A late rejection is refused (exit 1, saying why) and changes nothing.
    e.watch("security", "bob").await;
    let out = e
        .cmd()
        .args(["expert", "reject", "toolu_ok", "--specialty", "security"])
        .args(["--id", "bob", "--reason", "too late"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("toolu_ok")
            && (err.contains("already decided") || err.contains("no open escalation")),
        "{err}"
    );
    let after = e.decisions_for("toolu_ok").await;
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].verdict, Verdict::Allow);
}

#[tokio::test(flavor = "multi_thread")]
async fn escalation_reject_path() {
    let mut e = Esc::start("");
    e.workers().await;
    e.watch("security", "alice").await;
    let hook = e.hook_in_background(bash("git reset --hard HEAD~3", "toolu_no"));
    e.escalation("toolu_no").await;
    e.vote(
        "reject",
        "toolu_no",
        "security",
        "alice",
        "would deploy to production",
    );
    let answer = join(hook);
    assert_eq!(permission(&answer), "deny", "{answer}");
    assert!(
        reason(&answer).contains("would deploy to production"),
        "{answer}"
    );
    assert!(
        reason(&answer).contains("try the staging target"),
        "{answer}"
    );
    let decisions = e.decisions_for("toolu_no").await;
    assert_eq!(decisions.len(), 1);
    assert_eq!(
        (decisions[0].verdict, decisions[0].tier),
        (Verdict::Deny, Tier::Expert)
    );
}

const TWO_SPECIALTIES: &str = r#"
[escalation.required]
medium = ["security", "architecture"]
[escalation.consensus.medium]
min_approvals = 2
min_specialties = 2
must_approve = []
rejections_to_deny = 1
"#;

#[tokio::test(flavor = "multi_thread")]
async fn escalation_needs_two_specialties() {
    let mut e = Esc::start(TWO_SPECIALTIES);
    e.workers().await;
    e.watch("security", "alice").await;
    e.watch("architecture", "bob").await;
    let hook = e.hook_in_background(bash("git reset --hard HEAD~3", "toolu_two"));
    let esc = e.escalation("toolu_two").await;
    assert_eq!(esc.required, vec!["security", "architecture"]);
    // One escalation per specialty: each specialty's consumer gets its own copy.
    let js = e.p.js().await;
    eventually(LIMIT, || async {
        stream_messages(&js, "LH_ESC").await == 2
    })
    .await;

    e.vote("approve", "toolu_two", "security", "alice", "safe");
    e.votes_settled(1).await;
    assert!(
        e.decisions_for("toolu_two").await.is_empty(),
        "one specialty must not settle it"
    );
    e.vote(
        "approve",
        "toolu_two",
        "architecture",
        "bob",
        "fits the design",
    );
    let answer = join(hook);
    assert_eq!(permission(&answer), "allow", "{answer}");
    let decisions = e.decisions_for("toolu_two").await;
    assert_eq!(decisions.len(), 1);
    let mut voters: Vec<&str> = decisions[0]
        .voters
        .iter()
        .map(|v| v.expert.as_str())
        .collect();
    voters.sort();
    assert_eq!(voters, vec!["alice", "bob"]);
    // Both watchers saw their own copy.
    assert!(e.watched("alice").contains("specialty=security"));
    assert!(e.watched("bob").contains("specialty=architecture"));
}

#[tokio::test(flavor = "multi_thread")]
async fn escalation_deadline_falls_back_to_ask_or_strict_deny() {
    let mut e = Esc::start("[escalation]\ndeadline_ms = 1500\n");
    e.workers().await;
    e.watch("security", "alice").await;
    let ask = e.hook(&bash("git reset --hard HEAD~3", "toolu_late"));
    let (ask_again, _) = run_hook(e.cmd(), &bash("git reset --hard HEAD~3", "toolu_late"));
    assert_eq!(permission(&ask), "ask", "{ask}");
    assert_eq!(ask, ask_again, "a retry gets the recorded decision");
    assert!(!reason(&ask).contains("decided locally"), "{ask}");
    let d = e.decisions_for("toolu_late").await;
    assert_eq!(d.len(), 1);
    assert_eq!(
        (d[0].verdict, d[0].tier),
        (Verdict::Escalate, Tier::Deadline)
    );

    let mut strict = e.cmd();
    strict.env("LIGHTHOUSE__HOOK__STRICT", "true");
    let (deny, _) = run_hook(strict, &bash("git reset --hard HEAD~3", "toolu_strict"));
    assert_eq!(permission(&deny), "deny", "{deny}");
    assert!(reason(&deny).contains("strict mode"), "{deny}");
}

#[tokio::test(flavor = "multi_thread")]
async fn escalation_without_experts_resolves_at_once() {
    let mut e = Esc::start("");
    e.workers().await;
    let answer = e.hook(&bash("git reset --hard HEAD~3", "toolu_alone"));
    assert_eq!(permission(&answer), "ask", "{answer}");
    // Answered by the aggregator (not the hook's own timeout and local policy).
    assert!(
        reason(&answer).contains("no security expert present"),
        "{answer}"
    );
    let d = e.decisions_for("toolu_alone").await;
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].tier, Tier::Deadline);
}

#[tokio::test(flavor = "multi_thread")]
async fn escalation_survives_an_aggregator_restart() {
    let mut e = Esc::start("");
    let mut aggregator = e
        .cmd()
        .args(["aggregator", "--id", "agg-a"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    e.wait_for_workers("aggregator", 1).await;
    e.spawn(&["validator", "--id", "v1"]);
    e.wait_for_workers("validator", 1).await;
    e.watch("security", "alice").await;
    let hook = e.hook_in_background(bash("git reset --hard HEAD~3", "toolu_restart"));
    e.escalation("toolu_restart").await;
    // The aggregator has bound the escalation's timer; kill it before anyone votes.
    let js = e.p.js().await;
    eventually(LIMIT, || async {
        let stream = js.get_stream("LH_ESC").await.unwrap();
        let mut c: jetstream::consumer::PullConsumer =
            stream.get_consumer("aggregator-esc").await.unwrap();
        c.info().await.unwrap().num_pending == 0
    })
    .await;
    aggregator.kill().unwrap();
    aggregator.wait().unwrap();

    e.vote("approve", "toolu_restart", "security", "alice", "fine");
    assert!(
        e.decisions_for("toolu_restart").await.is_empty(),
        "no aggregator runs"
    );
    e.spawn(&["aggregator", "--id", "agg-b"]);
    let answer = join(hook);
    assert_eq!(permission(&answer), "allow", "{answer}");
    let d = e.decisions_for("toolu_restart").await;
    assert_eq!(d.len(), 1);
    assert_eq!((d[0].verdict, d[0].tier), (Verdict::Allow, Tier::Expert));
}

const TWO_APPROVALS: &str = r#"
[escalation.consensus.medium]
min_approvals = 2
min_specialties = 1
must_approve = []
rejections_to_deny = 1
"#;

#[tokio::test(flavor = "multi_thread")]
async fn escalation_counts_duplicate_votes_once() {
    let mut e = Esc::start(TWO_APPROVALS);
    e.workers().await;
    e.watch("security", "alice").await;
    e.watch("security", "bob").await;
    let hook = e.hook_in_background(bash("git reset --hard HEAD~3", "toolu_dup"));
    e.escalation("toolu_dup").await;
    e.vote("approve", "toolu_dup", "security", "alice", "ok");
    e.vote("approve", "toolu_dup", "security", "alice", "ok, again");
    e.votes_settled(2).await;
    assert!(
        e.decisions_for("toolu_dup").await.is_empty(),
        "one expert voting twice is one approval"
    );
    e.vote("approve", "toolu_dup", "security", "bob", "ok too");
    let answer = join(hook);
    assert_eq!(permission(&answer), "allow", "{answer}");
    let d = e.decisions_for("toolu_dup").await;
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].voters.len(), 2, "{:?}", d[0].voters);
    assert_eq!(d[0].voters[0].reasoning, "ok", "the first vote counts");
}

#[tokio::test(flavor = "multi_thread")]
async fn forged_votes_are_refused_by_the_server() {
    // The identities and permissions `lighthouse up` makes, for experts alice and bob.
    let state = tempfile::tempdir().unwrap();
    let ids = state.path().join("identities");
    let settings = lighthouse::settings::Settings::load_from(None, Vec::new()).unwrap();
    let roster = std::collections::BTreeMap::from([
        ("alice".to_owned(), vec!["security".to_owned()]),
        ("bob".to_owned(), vec!["security".to_owned()]),
    ]);
    let grants = lighthouse::trust::ensure_identities(&ids, "claude-code", &roster, &[]).unwrap();
    let server = NatsServer::start_with_config(
        &lighthouse::trust::authorization(&settings, &grants).unwrap(),
    );
    let connect = |role: &str| {
        let auth = lighthouse_nats::auth::ClientAuth {
            nkey: Some(lighthouse_nats::auth::identity_file(&ids, role)),
            ..Default::default()
        };
        let url = server.url();
        async move { lighthouse_nats::connect_as(&url, "test", &auth).await }
    };
    let log =
        || std::fs::read_to_string(server.store_dir().join("nats-server.log")).unwrap_or_default();
    let admin = jetstream::new(
        connect("ops")
            .await
            .unwrap_or_else(|e| panic!("ops refused ({e}); server log:\n{}", log())),
    );
    lighthouse_nats::topology::Topology::embedded()
        .unwrap()
        .apply(&admin)
        .await
        .unwrap();
    assert!(
        async_nats::connect(format!("nats://127.0.0.1:{}", server.port()))
            .await
            .is_err(),
        "anonymous clients are refused"
    );

    let alice = connect("expert-alice").await.unwrap();
    let mut js = jetstream::new(alice.clone());
    js.set_timeout(Duration::from_secs(2));
    let as_bob = async {
        js.publish("lh.vote.toolu_x.bob", "forged".into())
            .await?
            .await
    };
    assert!(as_bob.await.is_err(), "alice may not vote as bob");
    let decision = async {
        js.publish("lh.decision.p.a.toolu_x", "forged".into())
            .await?
            .await
    };
    assert!(
        decision.await.is_err(),
        "an expert may not publish decisions"
    );
    js.publish("lh.vote.toolu_x.alice", "own vote".into())
        .await
        .unwrap()
        .await
        .expect("alice may vote as herself");

    // The CLI logs in with alice's key: as alice it votes as alice only.
    let alice_key = lighthouse_nats::auth::identity_file(&ids, "expert-alice");
    let cli = |id: &str| {
        tokio::task::block_in_place(|| {
            lighthouse(state.path(), &server.url())
                .env("LIGHTHOUSE__NATS__NKEY", &alice_key)
                .args(["expert", "approve", "toolu_y", "--reason", "ok"])
                .args(["--specialty", "security", "--id", id])
                .output()
                .unwrap()
        })
    };
    // Nothing escalated toolu_y: the CLI refuses before publishing (the server's own
    // refusal of a vote as bob is checked with raw publishes above).
    let out = cli("alice");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("toolu_y"), "{err}");
    assert!(!cli("bob").status.success(), "alice cannot vote as bob");

    // Only alice's own vote was stored: nothing in bob's name.
    assert_eq!(stream_messages(&admin, "LH_VOTE").await, 1);
    assert_eq!(stream_messages(&admin, "LH_DECISION").await, 0);
    let stream = admin.get_stream("LH_VOTE").await.unwrap();
    let stored = stream.direct_get(1).await.unwrap();
    assert!(
        stored.subject.starts_with("lh.vote.") && stored.subject.contains(".alice."),
        "{}",
        stored.subject
    );
}

/// `nats-py` and `msgpack` for the Python expert, installed once if missing.
fn python_with_deps() -> Option<&'static str> {
    static READY: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let ready = READY.get_or_init(|| {
        let has = || {
            Command::new("python3")
                .args(["-c", "import nats, msgpack"])
                .status()
                .is_ok_and(|s| s.success())
        };
        if !has() {
            let _ = Command::new("python3")
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                ])
                .args(["nats-py", "msgpack"])
                .status();
        }
        has()
    });
    ready.then_some("python3")
}

#[tokio::test(flavor = "multi_thread")]
async fn python_expert_votes_from_the_contract_alone() {
    let python = python_with_deps().expect("python3 with nats-py and msgpack");
    // Its subject tokens are Lighthouse's, byte for byte.
    let names = ["toolu_01", "a.b", "ü/é x", "", "~=", &"p".repeat(100)];
    let dir = lighthouse_tests::workspace_root().join("examples/python-expert");
    let out = Command::new(python)
        .current_dir(&dir)
        .args([
            "-c",
            "import sys, expert\nfor n in sys.argv[1:]: print(expert.token(n))",
        ])
        .args(names)
        .output()
        .unwrap();
    let tokens: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    let expected: Vec<String> = names.iter().map(|n| Token::encode(n).to_string()).collect();
    assert_eq!(tokens, expected, "{}", String::from_utf8_lossy(&out.stderr));

    let mut e = Esc::start("");
    e.workers().await;
    let script = lighthouse_tests::workspace_root().join("examples/python-expert/expert.py");
    let child = Command::new(python)
        .arg(script)
        .args(["--url", &e.p.server.url(), "--specialty", "security"])
        .args(["--id", "py-bot"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    e.procs.0.push(child);
    e.wait_for_expert("security", "py-bot").await;

    let ok = e.hook(&bash("git reset --hard HEAD~3", "toolu_py_ok"));
    assert_eq!(permission(&ok), "allow", "{ok}");
    let no = e.hook(&bash("rm -rf /work/other/build", "toolu_py_no"));
    assert_eq!(permission(&no), "deny", "{no}");
    assert!(reason(&no).contains("py-bot"), "{no}");
    let d = e.decisions_for("toolu_py_ok").await;
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].voters[0].expert, "py-bot");
    assert_eq!(d[0].tier, Tier::Expert);
}

/// The escalation streams and consumers on a live server are what `nats/` says.
#[tokio::test(flavor = "multi_thread")]
async fn escalation_topology_on_the_server_matches_the_files() {
    let server = NatsServer::start();
    let js = jetstream::new(async_nats::connect(server.url()).await.unwrap());
    let topology = lighthouse_nats::topology::Topology::embedded().unwrap();
    // Twice: applying is idempotent.
    topology.apply(&js).await.unwrap();
    topology.apply(&js).await.unwrap();
    for name in ["LH_ESC", "LH_VOTE"] {
        let want = topology.stream(name).unwrap();
        let mut stream = js.get_stream(name).await.unwrap();
        let live = stream.info().await.unwrap().config.clone();
        assert_eq!(live.subjects, want.subjects, "{name}");
        assert_eq!(
            live.subject_transform.as_ref().map(|t| &t.destination),
            want.subject_transform.as_ref().map(|t| &t.destination),
            "{name}"
        );
        assert_eq!(live.duplicate_window, want.duplicate_window, "{name}");
        let groups: Vec<_> = topology
            .groups
            .iter()
            .filter(|g| g.stream == name)
            .collect();
        assert!(!groups.is_empty(), "{name} has consumers");
        for group in groups {
            for p in 0..group.partitions {
                let want = group.consumer(p).unwrap();
                let durable = want.durable_name.clone().unwrap();
                let mut consumer: jetstream::consumer::PullConsumer =
                    stream.get_consumer(&durable).await.unwrap();
                let live = consumer.info().await.unwrap().config.clone();
                assert_eq!(live.filter_subject, want.filter_subject, "{durable}");
                assert_eq!(live.ack_wait, want.ack_wait, "{durable}");
                assert_eq!(live.max_deliver, want.max_deliver, "{durable}");
            }
        }
    }
    for bucket in ["lh_experts", "lh_escalations"] {
        js.get_key_value(bucket).await.unwrap();
    }
}

/// A vote whose payload names another expert than its subject is kept in the dead
/// letter stream with the reason, and counts for nothing.
#[tokio::test(flavor = "multi_thread")]
async fn votes_naming_someone_else_are_dead_lettered() {
    let mut e = Esc::start("");
    e.workers().await;
    e.watch("security", "alice").await;
    let hook = e.hook_in_background(bash("git reset --hard HEAD~3", "toolu_forge"));
    let esc = e.escalation("toolu_forge").await;
    let js = e.p.js().await;
    let forged = lighthouse_schemas::Vote {
        env: lighthouse_schemas::Envelope::new("forged-1", 1, "p", "a", "toolu_forge"),
        cmd_id: "toolu_forge".into(),
        expert: "alice".into(),
        specialty: "security".into(),
        choice: lighthouse_schemas::Choice::Approve,
        reasoning: "mallory pretending".into(),
        suggestions: vec![],
        confidence: None,
    };
    // Published on mallory's subject (which the server would let mallory use), but
    // naming alice in the payload.
    let target =
        lighthouse_schemas::subject::vote(&Token::encode("toolu_forge"), &Token::encode("mallory"));
    js.publish(target, lighthouse_schemas::encode(&forged).unwrap().into())
        .await
        .unwrap()
        .await
        .unwrap();
    eventually(LIMIT, || async {
        stream_messages(&js, "LH_DLQ").await == 1
    })
    .await;
    let dlq = js.get_stream("LH_DLQ").await.unwrap();
    let letter = dlq.direct_get(1).await.unwrap();
    let why = letter.headers.get("Lh-Reason").unwrap().to_string();
    assert!(why.contains("mallory"), "{why}");
    assert!(e.decisions_for("toolu_forge").await.is_empty());

    e.vote(
        "reject",
        &esc.cmd_id,
        "security",
        "alice",
        "the real alice says no",
    );
    let answer = join(hook);
    assert_eq!(permission(&answer), "deny", "{answer}");
}

const HUMAN_REQUIRED: &str = r#"
[escalation.required]
medium = ["security", "human"]
[escalation.consensus.medium]
min_approvals = 2
min_specialties = 2
must_approve = ["human"]
rejections_to_deny = 1
[escalation.experts]
alice = ["security"]
hank = ["human"]
"#;

/// With an expert roster, claiming a specialty is not enough: only the configured
/// human's approval settles a call that needs a human.
#[tokio::test(flavor = "multi_thread")]
async fn only_rostered_experts_count_for_their_specialty() {
    let mut e = Esc::start(HUMAN_REQUIRED);
    e.workers().await;
    e.watch("security", "alice").await;
    e.watch("human", "hank").await;
    let hook = e.hook_in_background(bash("git reset --hard HEAD~3", "toolu_human"));
    e.escalation("toolu_human").await;
    e.vote("approve", "toolu_human", "security", "alice", "looks fine");
    e.vote(
        "approve",
        "toolu_human",
        "human",
        "bob",
        "I am totally human",
    );
    e.votes_settled(2).await;
    assert!(
        e.decisions_for("toolu_human").await.is_empty(),
        "bob is not the configured human"
    );
    e.vote(
        "approve",
        "toolu_human",
        "human",
        "hank",
        "approved by a person",
    );
    let answer = join(hook);
    assert_eq!(permission(&answer), "allow", "{answer}");
    let d = e.decisions_for("toolu_human").await;
    assert_eq!(d.len(), 1);
    let bob = d[0].voters.iter().find(|v| v.expert == "bob").unwrap();
    assert_eq!(bob.specialty, "human (unverified)");
}

/// A validator started after the agent's earlier calls still gives experts that
/// history: it loads the recent audit log when it starts.
#[tokio::test(flavor = "multi_thread")]
async fn a_restarted_validator_still_gives_experts_the_agents_history() {
    let mut e = Esc::start("");
    let mut first = e
        .cmd()
        .args(["validator", "--id", "v-old"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    e.wait_for_workers("validator", 1).await;
    let read = e.hook(&pre_tool_use(
        "Read",
        json!({"file_path": "/work/demo-project/src/lib.rs"}),
        "toolu_history",
    ));
    assert_eq!(permission(&read), "allow");
    first.kill().unwrap();
    first.wait().unwrap();

    e.spawn(&["aggregator", "--id", "agg1"]);
    e.wait_for_workers("aggregator", 1).await;
    e.spawn(&["validator", "--id", "v-new"]);
    e.watch("security", "alice").await;
    // v-new is present once its heartbeat is in, after it loaded the history.
    let js = e.p.js().await;
    eventually(LIMIT, || async {
        lighthouse_nats::presence::list(&js)
            .await
            .map(|p| p.iter().any(|w| w.id == "v-new"))
            .unwrap_or(false)
    })
    .await;
    let hook = e.hook_in_background(write("/work/other-project/src/lib.rs", "toolu_after"));
    let esc = e.escalation("toolu_after").await;
    assert!(
        esc.context
            .recent_decisions
            .iter()
            .any(|d| d.cmd_id == "toolu_history"),
        "{:?}",
        esc.context
    );
    e.vote("approve", "toolu_after", "security", "alice", "ok");
    assert_eq!(permission(&join(hook)), "allow");
}

/// Codex cannot ask: an escalation unresolved at its deadline is a deny naming the
/// command id and how to get it approved. An expert approves late with the CLI; the
/// aggregator applies the escalation's consensus rule and records the approval beside
/// the unresolved decision; the retry of the same call then runs. A late rejection
/// leaves the retry denied.
#[tokio::test(flavor = "multi_thread")]
async fn a_codex_retry_runs_after_a_late_approval_and_not_after_a_rejection() {
    let mut e = Esc::start("[escalation]\ndeadline_ms = 1500\n");
    e.workers().await;
    e.watch("security", "alice").await;
    let call = |shell: &str| {
        json!({
            "hook_event_name": "PreToolUse",
            "session_id": "s-codex",
            "cwd": "/work/demo-project",
            "tool_name": "Bash",
            "tool_input": { "command": shell },
            "tool_use_id": "call_1",
        })
    };
    for (shell, choice, runs) in [
        ("git reset --hard HEAD~3", "approve", true),
        ("git reset --hard HEAD~5", "reject", false),
    ] {
        let (code, stderr) = codex_hook(e.cmd(), &call(shell));
        assert_eq!(code, Some(2), "{stderr}");
        let id = stderr
            .split("lighthouse expert approve ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("no remedy in {stderr}"))
            .to_owned();
        let decided = e.decisions_for(&id).await;
        assert_eq!(decided.len(), 1, "{decided:?}");
        assert!(decided[0].unresolved(), "{:?}", decided[0]);

        e.vote(choice, &id, "security", "alice", "reviewed late");
        e.votes_settled(if runs { 1 } else { 2 }).await;
        let (code, stderr) = codex_hook(e.cmd(), &call(shell));
        let show = e
            .cmd()
            .args(["audit", "show", &id, "--json"])
            .output()
            .unwrap();
        let shown: Value = serde_json::from_slice(&show.stdout).unwrap_or_default();
        assert_eq!(
            shown["late_approval"].is_object(),
            runs,
            "{}",
            String::from_utf8_lossy(&show.stderr)
        );
        if runs {
            assert_eq!(code, Some(0), "the approved retry was blocked: {stderr}");
        } else {
            assert_eq!(code, Some(2), "the rejected retry ran");
        }
        // The unresolved decision stands either way.
        let decided = e.decisions_for(&id).await;
        let on_subject: Vec<_> = decided.iter().filter(|d| d.unresolved()).collect();
        assert_eq!(on_subject.len(), 1, "{decided:?}");
    }
}
