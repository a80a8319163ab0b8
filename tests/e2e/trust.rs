//! The trust boundary: identities per role, least privilege enforced by the server,
//! policy loosening only by an admin's signature, a hook that fails closed, command ids
//! bound to their payloads, and a decision log anyone can verify.

use crate::up::Up;
use crate::util::*;
use async_nats::jetstream;
use lighthouse::settings::Settings;
use lighthouse_nats::auth::{ClientAuth, identity_file};
use lighthouse_tests::NatsServer;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;
use tokio::sync::mpsc;

const LIMIT: Duration = Duration::from_secs(30);

/// A server run with `lighthouse up`'s identities and permissions.
struct Secured {
    server: NatsServer,
    ids: PathBuf,
    _dir: tempfile::TempDir,
}

impl Secured {
    async fn start() -> Secured {
        Secured::start_with(&["alice"], &[]).await
    }

    /// Identities for the `experts` (each granted security), `granters` among them
    /// allowed to grant exceptions.
    async fn start_with(experts: &[&str], granters: &[&str]) -> Secured {
        let dir = tempfile::tempdir().unwrap();
        let ids = dir.path().join("identities");
        let settings = Settings::load_from(None, Vec::new()).unwrap();
        let roster: BTreeMap<String, Vec<String>> = experts
            .iter()
            .map(|e| ((*e).to_owned(), vec!["security".to_owned()]))
            .collect();
        let granters: Vec<String> = granters.iter().map(|g| (*g).to_owned()).collect();
        let grants =
            lighthouse::trust::ensure_identities(&ids, "claude-code", &roster, &granters).unwrap();
        let conf = lighthouse::trust::authorization(&settings, &grants).unwrap();
        let server = NatsServer::start_with_config(&conf);
        let s = Secured {
            server,
            ids,
            _dir: dir,
        };
        let ops = s.js("ops").await;
        lighthouse_nats::topology::Topology::embedded()
            .unwrap()
            .apply(&ops)
            .await
            .unwrap();
        lighthouse_nats::experts::ensure(&ops, &["security".into(), "human".into()])
            .await
            .unwrap();
        s
    }

    fn auth(&self, role: &str) -> ClientAuth {
        ClientAuth {
            nkey: Some(identity_file(&self.ids, role)),
            ..Default::default()
        }
    }

    async fn js(&self, role: &str) -> jetstream::Context {
        let client = lighthouse_nats::connect_as(&self.server.url(), "test", &self.auth(role))
            .await
            .unwrap_or_else(|e| panic!("{role} refused: {e}"));
        jetstream::new(client)
    }

    async fn probe(&self, role: &str) -> Probe {
        let (tx, rx) = mpsc::unbounded_channel();
        let options = lighthouse_nats::options_for(&self.server.url(), &self.auth(role))
            .unwrap()
            .event_callback(move |event| {
                let tx = tx.clone();
                async move {
                    if let async_nats::Event::ServerError(e) = event {
                        let _ = tx.send(e.to_string());
                    }
                }
            });
        let client = options.connect(self.server.url()).await.unwrap();
        Probe {
            role: role.to_owned(),
            client,
            errors: rx,
        }
    }
}

/// A role's connection that records the server's refusals.
struct Probe {
    role: String,
    client: async_nats::Client,
    errors: mpsc::UnboundedReceiver<String>,
}

impl Probe {
    /// Waits for the server's "Permissions Violation" naming `subject`.
    async fn refused(&mut self, what: &str, subject: &str) {
        let wait = async {
            while let Some(e) = self.errors.recv().await {
                if e.contains("Permissions Violation") && e.contains(subject) {
                    return;
                }
            }
        };
        tokio::time::timeout(LIMIT, wait)
            .await
            .unwrap_or_else(|_| panic!("{}: {what} ({subject}) was not refused", self.role));
    }

    async fn publish_refused(&mut self, subject: &str) {
        let _ = self.client.publish(subject.to_owned(), "x".into()).await;
        let _ = self.client.flush().await;
        self.refused("publish", subject).await;
    }

    async fn subscribe_refused(&mut self, subject: &str) {
        let _sub = self.client.subscribe(subject.to_owned()).await;
        let _ = self.client.flush().await;
        self.refused("subscribe", subject).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_role_is_refused_what_it_may_not_do() {
    let s = Secured::start().await;
    assert!(
        async_nats::connect(s.server.url()).await.is_err(),
        "anonymous clients are refused"
    );

    // Everything changing streams, consumers and the log, tried by every role but ops.
    let topology_changes = [
        "$JS.API.STREAM.PURGE.LH_DECISION",
        "$JS.API.STREAM.DELETE.LH_DLQ",
        "$JS.API.STREAM.UPDATE.LH_CMD",
        "$JS.API.STREAM.CREATE.LH_EVIL",
        "$JS.API.STREAM.MSG.DELETE.LH_DECISION",
        "$JS.API.CONSUMER.DELETE.LH_CMD.validator-0",
        "$JS.API.CONSUMER.DURABLE.CREATE.LH_ESC.expert-security",
        "$KV.lh_policy.central.evil",
    ];
    for role in [
        "agent",
        "validator",
        "aggregator",
        "annotator",
        "projector",
        "expert-alice",
    ] {
        let mut p = s.probe(role).await;
        for subject in topology_changes {
            p.publish_refused(subject).await;
        }
        p.subscribe_refused("_INBOX.>").await;
        p.subscribe_refused("_INBOX_ops.>").await;
    }

    let mut agent = s.probe("agent").await;
    for subject in [
        "lh.decision.p.claude-code.c1",
        "lh.recorded.p.claude-code.c1",
        "lh.cmd.p.another-agent",
        "lh.fallback.p.another-agent.c1",
        "lh.vote.c1.alice",
        "lh.esc.p.security",
        "$KV.lh_workers.validator.fake",
        "$KV.lh_experts.security.alice",
        "$JS.API.CONSUMER.MSG.NEXT.LH_CMD.validator-0",
        "$JS.API.CONSUMER.CREATE.LH_CMD.validator-0.lh.cmd.>",
        "$JS.API.DIRECT.GET.LH_DECISION",
        "$JS.API.DIRECT.GET.LH_DECISION.lh.decision.p.another-agent.c1",
        "$JS.API.DIRECT.GET.LH_CMD.lh.cmd.p.claude-code",
    ] {
        agent.publish_refused(subject).await;
    }
    for subject in [
        "lh.cmd.>",
        "lh.decision.>",
        "lh.decision.*.another-agent.>",
        "lh.recorded.>",
        "lh.recorded.*.another-agent.>",
        "lh.esc.>",
    ] {
        agent.subscribe_refused(subject).await;
    }

    let mut validator = s.probe("validator").await;
    for subject in [
        "lh.vote.c1.alice",
        "lh.cmd.p.claude-code",
        "$JS.API.CONSUMER.CREATE.LH_CMD.validator-0.lh.cmd.>",
        "$JS.API.CONSUMER.MSG.NEXT.LH_VOTE.aggregator-0",
        "$KV.lh_workers.aggregator.fake",
    ] {
        validator.publish_refused(subject).await;
    }
    let mut aggregator = s.probe("aggregator").await;
    for subject in [
        "lh.esc.p.security",
        "lh.cmd.p.claude-code",
        "$JS.API.CONSUMER.MSG.NEXT.LH_CMD.validator-0",
        "$JS.API.CONSUMER.CREATE.LH_ESC.expert-security",
    ] {
        aggregator.publish_refused(subject).await;
    }
    let mut annotator = s.probe("annotator").await;
    for subject in [
        "lh.decision.p.a.c",
        "$JS.API.STREAM.PURGE.LH_FS",
        "$JS.API.CONSUMER.CREATE.LH_FS.annotator.lh.fs.>",
    ] {
        annotator.publish_refused(subject).await;
    }
    let mut projector = s.probe("projector").await;
    for subject in [
        "lh.fs.p.key",
        "lh.decision.p.a.c",
        "$JS.API.CONSUMER.MSG.NEXT.LH_FS.annotator",
        "$JS.API.CONSUMER.CREATE.LH_FS.annotator.lh.fs.>",
    ] {
        projector.publish_refused(subject).await;
    }
    // alice is granted security only.
    let mut alice = s.probe("expert-alice").await;
    for subject in [
        "$JS.API.CONSUMER.MSG.NEXT.LH_ESC.expert-human",
        "$JS.API.CONSUMER.MSG.NEXT.LH_ESC.aggregator-esc",
        "$JS.ACK.LH_ESC.aggregator-esc.1.1.1.1.0",
        "$JS.API.CONSUMER.CREATE.LH_ESC.expert-security.lh.esc.>",
        "$JS.API.CONSUMER.CREATE.LH_ESC.expert-security",
        "lh.vote.c1.bob",
        "$KV.lh_experts.human.alice",
        "lh.decision.p.a.c",
    ] {
        alice.publish_refused(subject).await;
    }

    // What each may do still works.
    let agent_js = s.js("agent").await;
    agent_js
        .publish("lh.cmd.p.claude-code", "cmd".into())
        .await
        .unwrap()
        .await
        .expect("the agent publishes its own commands");
    // The agent hears its own decisions as the log stored them (the stream republishes
    // them; nobody may publish there).
    let mut recorded = agent_js
        .client()
        .subscribe("lh.recorded.p.claude-code.c9")
        .await
        .unwrap();
    s.js("validator")
        .await
        .publish("lh.decision.p.claude-code.c9", "decided".into())
        .await
        .unwrap()
        .await
        .expect("the validator records a decision");
    let heard = tokio::time::timeout(LIMIT, futures::StreamExt::next(&mut recorded));
    assert_eq!(heard.await.unwrap().unwrap().payload, "decided");
    let alice_js = s.js("expert-alice").await;
    alice_js
        .get_stream("LH_ESC")
        .await
        .unwrap()
        .get_consumer::<jetstream::consumer::pull::Config>("expert-security")
        .await
        .expect("alice reads her own specialty's queue");
    alice_js
        .publish("lh.vote.c1.alice", "vote".into())
        .await
        .unwrap()
        .await
        .expect("alice votes as herself");
    // Experts see the votes cast so far (the MCP server's `get_escalation` lists them).
    let votes = lighthouse_nats::read::read_filtered(
        &alice_js,
        "LH_VOTE",
        "lh.vote.c1.>",
        lighthouse_nats::read::Start::First,
        10,
        LIMIT,
    )
    .await
    .expect("alice reads the votes on an escalation");
    assert_eq!(votes.len(), 1, "alice sees her own vote");

    // The audit log and the command log refuse purges and deletes, even from ops.
    let ops = s.js("ops").await;
    for name in ["LH_DECISION", "LH_CMD"] {
        let stream = ops.get_stream(name).await.unwrap();
        assert!(stream.purge().await.is_err(), "{name} purged");
    }
    let cmd = ops.get_stream("LH_CMD").await.unwrap();
    assert!(
        cmd.delete_message(1).await.is_err(),
        "LH_CMD message deleted"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn only_ops_and_granting_experts_write_exceptions() {
    let s = Secured::start_with(&["alice", "bob"], &["alice"]).await;
    // The agent can never grant one, under any name; nor can a worker.
    for role in ["agent", "validator", "aggregator"] {
        let mut p = s.probe(role).await;
        for subject in [
            "$KV.lh_exceptions.ops.ex-1",
            "$KV.lh_exceptions.expert.alice.ex-1",
        ] {
            p.publish_refused(subject).await;
        }
    }
    // bob votes but does not grant; alice grants, as herself only.
    let mut bob = s.probe("expert-bob").await;
    bob.publish_refused("$KV.lh_exceptions.expert.bob.ex-1")
        .await;
    let mut alice = s.probe("expert-alice").await;
    for subject in [
        "$KV.lh_exceptions.expert.bob.ex-1",
        "$KV.lh_exceptions.ops.ex-1",
    ] {
        alice.publish_refused(subject).await;
    }
    let alice_js = s.js("expert-alice").await;
    let kv = alice_js
        .get_key_value("lh_exceptions")
        .await
        .expect("a granter opens the bucket");
    kv.put("expert.alice.ex-1", "x".into())
        .await
        .expect("alice writes her own grants");
    // The validators read what was granted.
    let validator = s.js("validator").await;
    let seen = validator
        .get_key_value("lh_exceptions")
        .await
        .unwrap()
        .get("expert.alice.ex-1")
        .await
        .expect("validators read exceptions");
    assert_eq!(seen.as_deref(), Some(&b"x"[..]));
}

pub(crate) fn bash_in(command: &str, id: &str, cwd: &Path) -> Value {
    let mut p = bash(command, id);
    p["cwd"] = Value::String(cwd.to_string_lossy().into_owned());
    p
}

#[tokio::test(flavor = "multi_thread")]
async fn the_self_disarm_chain_fails_under_the_default_up() {
    let up = Up::start(&[], "").await;
    let project = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(project.path().join(".git")).unwrap();
    let pack = project.path().join("pack.toml");
    let rules: Vec<String> = lighthouse_policy::Policy::builtin().rule_ids();
    let disable = serde_json::to_string(&rules).unwrap();
    let text = format!("disable = {disable}\n");
    let pack_path = pack.to_string_lossy().into_owned();

    // 1. Writing the pack is text, allowed; pushing it is not.
    let push = format!("lighthouse policy push {pack_path} --central x");
    let answer = up.hook(&bash_in(&push, "toolu_push", project.path()));
    assert_eq!(permission(&answer), "deny", "{answer}");
    for (command, id) in [
        (
            format!("cat {}", identity_file(&up.ids(), "ops").display()),
            "toolu_cat_ops",
        ),
        (
            format!(
                "LIGHTHOUSE__NATS__NKEY={} lighthouse status",
                identity_file(&up.ids(), "ops").display()
            ),
            "toolu_env_ops",
        ),
        ("lighthouse nats apply".to_owned(), "toolu_apply"),
        (
            "lighthouse expert approve toolu_x --reason ok --specialty human".to_owned(),
            "toolu_vote",
        ),
        ("nats kv put lh_policy central.x y".to_owned(), "toolu_kv"),
    ] {
        let answer = up.hook(&bash_in(&command, id, project.path()));
        assert_eq!(permission(&answer), "deny", "{command}: {answer}");
    }

    // 2. Pushed anyway (as if by a route the policy missed, even with ops' key): the
    // validators refuse an unsigned loosening pack, and say so in status.
    std::fs::write(&pack, &text).unwrap();
    let out = up
        .cli(&["policy", "push", &pack_path, "--central", "x"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    eventually(LIMIT, || async {
        let out = up.cli(&["status", "--json"]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).contains("refused: it loosens the policy")
    })
    .await;
    // 3. The payload still meets the whole policy.
    let answer = up.hook(&bash_in("rm -rf /", "toolu_rm_root", project.path()));
    assert_eq!(permission(&answer), "deny", "{answer}");
    assert!(!reason(&answer).contains("decided locally"), "{answer}");

    // Variant: a direct KV write with the agent's own identity.
    let agent = up.js("agent").await;
    let kv = async {
        agent
            .publish("$KV.lh_policy.central.y", text.clone().into())
            .await?
            .await
    };
    assert!(
        tokio::time::timeout(Duration::from_secs(10), kv)
            .await
            .map_or(true, |r| r.is_err()),
        "the agent wrote the policy bucket"
    );
    // Variant: re-creating the validators' consumer to skip commands.
    let stream = agent.get_stream("LH_CMD").await;
    assert!(stream.is_err(), "the agent may not even look at LH_CMD");
    let answer = up.hook(&bash_in("rm -rf /", "toolu_rm_root_2", project.path()));
    assert_eq!(permission(&answer), "deny", "{answer}");
    let decided = up.decision_of("toolu_rm_root").await;
    assert_eq!(decided.len(), 2, "{decided:?}");
    for d in decided {
        assert_eq!(d.verdict, lighthouse_schemas::Verdict::Deny);
        assert!(!d.provenance.packs.is_empty() && !d.provenance.policy_version.is_empty());
        assert!(
            !d.provenance.packs.iter().any(|p| p.starts_with("x@")),
            "{:?}",
            d.provenance.packs
        );
    }
}

/// The policy cannot know whose a pid is; the hook, on the agent's machine, can: a
/// signal to `up` or to its server by pid (learnt from `ps`) is denied and recorded once
/// as the hook's own decision, and the same form aimed at another process passes.
#[tokio::test(flavor = "multi_thread")]
async fn signalling_the_guard_by_pid_is_denied_and_recorded() {
    let up = Up::start(&[], "").await;
    let project = tempfile::tempdir().unwrap();
    let up_pid = up.child.id();
    // Its server: the nats-server whose parent is `up` (from each process's `stat`:
    // `pid (comm) state ppid …`).
    let server = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| std::fs::read_to_string(e.ok()?.path().join("stat")).ok())
        .find_map(|stat| {
            let (pid, rest) = stat.split_once(" (")?;
            let (comm, rest) = rest.rsplit_once(") ")?;
            let ppid = rest.split_whitespace().nth(1)?;
            (comm == "nats-server" && ppid == up_pid.to_string()).then(|| pid.to_owned())
        })
        .expect("up runs its nats-server as a child");
    for (command, id) in [
        (format!("kill -9 {up_pid}"), "toolu_kill_up"),
        (
            format!("ps aux | grep nats-server; kill -STOP {server}"),
            "toolu_stop_server",
        ),
    ] {
        let answer = up.hook(&bash_in(&command, id, project.path()));
        assert_eq!(permission(&answer), "deny", "{command}: {answer}");
        assert!(
            reason(&answer).contains("signals the guard's own process"),
            "{answer}"
        );
    }
    let mut other = Command::new("sleep").arg("30").spawn().unwrap();
    let command = format!("kill {}", other.id());
    let answer = up.hook(&bash_in(&command, "toolu_kill_other", project.path()));
    other.kill().unwrap();
    other.wait().unwrap();
    assert_eq!(permission(&answer), "allow", "{answer}");
    assert!(up.cli(&["status"]).status().unwrap().success());
    for id in ["toolu_kill_up", "toolu_stop_server"] {
        eventually(LIMIT, || async { !up.decision_of(id).await.is_empty() }).await;
        let decided = up.decision_of(id).await;
        assert_eq!(decided.len(), 1, "{decided:?}");
        assert_eq!(decided[0].verdict, lighthouse_schemas::Verdict::Deny);
        assert_eq!(decided[0].rule_id.as_deref(), Some("hook.guard_pid"));
    }
}

/// A file the policy sees as ordinary (`notes.json`) can be, on this machine, a hard
/// link or symlink to the agent's hook settings: the hook sees through it and refuses
/// the write, pipeline or not.
#[test]
fn a_write_through_a_link_to_the_guards_settings_is_refused() {
    let project = tempfile::tempdir().unwrap();
    let root = project.path().canonicalize().unwrap();
    std::fs::create_dir_all(root.join(".git")).unwrap();
    std::fs::create_dir_all(root.join(".claude")).unwrap();
    let settings = root.join(".claude/settings.json");
    std::fs::write(&settings, r#"{"hooks": {"PreToolUse": []}}"#).unwrap();
    std::fs::hard_link(&settings, root.join("notes.json")).unwrap();
    std::os::unix::fs::symlink(root.join(".claude"), root.join("conf")).unwrap();
    let state = tempfile::tempdir().unwrap();
    for (i, (tool, input)) in [
        ("Write", json!({"file_path": "notes.json", "content": "{}"})),
        (
            "Edit",
            json!({"file_path": "conf/settings.json", "old_string": "hooks", "new_string": "x"}),
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let mut payload = pre_tool_use(tool, input, &format!("toolu_link_{i}"));
        payload["cwd"] = Value::String(root.to_string_lossy().into_owned());
        let (answer, _) = run_hook(lighthouse(state.path(), "nats://127.0.0.1:1"), &payload);
        assert_eq!(permission(&answer), "deny", "{tool}: {answer}");
        assert!(reason(&answer).contains("by another name"), "{answer}");
    }
    // An ordinary file in the same project is written as before.
    let mut payload = pre_tool_use(
        "Write",
        json!({"file_path": "src/a.rs", "content": "x"}),
        "toolu_link_x",
    );
    payload["cwd"] = Value::String(root.to_string_lossy().into_owned());
    let (answer, _) = run_hook(lighthouse(state.path(), "nats://127.0.0.1:1"), &payload);
    assert_eq!(permission(&answer), "allow", "{answer}");
}

/// Only the agent's machine knows which branch is checked out: the hook sends it with a
/// shell call that may push, so a bare `git push --force` on main is denied (D5) and a
/// bare `git push` there escalated (E3), by the pipeline and by the hook alone alike;
/// on a feature branch the same calls escalate and pass.
#[tokio::test(flavor = "multi_thread")]
async fn a_bare_push_is_judged_on_the_branch_checked_out() {
    let up = Up::start(&[], "").await;
    let repo = tempfile::tempdir().unwrap();
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .args(args)
            .current_dir(repo.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {out:?}");
    };
    git(&["init", "-q", "-b", "main"]);
    let alone = tempfile::tempdir().unwrap();
    let hook_alone =
        |payload: &Value| run_hook(lighthouse(alone.path(), "nats://127.0.0.1:1"), payload).0;
    let mut n = 0;
    let mut expect = |command: &str, verdict: &str| {
        n += 1;
        let payload = bash_in(command, &format!("toolu_branch_{n}"), repo.path());
        let answer = up.hook(&payload);
        assert_eq!(permission(&answer), verdict, "{command}: {answer}");
        assert!(!reason(&answer).contains("decided locally"), "{answer}");
        let answer = hook_alone(&payload);
        assert_eq!(permission(&answer), verdict, "alone, {command}: {answer}");
    };
    expect("git push --force", "deny");
    expect("git push", "ask");
    git(&["checkout", "-q", "-b", "feature/x"]);
    expect("git push --force", "ask");
    expect("git push", "allow");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_loosening_pack_counts_only_with_an_admin_signature() {
    let keys = tempfile::tempdir().unwrap();
    let admin = keys.path().join("admin.nk");
    let out = Command::new(LIGHTHOUSE)
        .args(["admin", "keygen", "--out"])
        .arg(&admin)
        .env("LIGHTHOUSE_CONFIG", keys.path().join("none.toml"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let public = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    // Escalations settle fast here: `ask` comes back in about a second.
    let config = format!(
        "[hook]\nescalation_wait_ms = 3000\n[escalation]\ndeadline_ms = 1000\n[trust]\nadmin_keys = [\"{public}\"]\n"
    );
    let up = Up::start(&[], &config).await;
    let project = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(project.path().join(".git")).unwrap();
    // `git stash clear` escalates; an operator decides it is fine here.
    let probe = bash_in("git stash clear", "toolu_before", project.path());
    assert_eq!(permission(&up.hook(&probe)), "ask");
    let pack = keys.path().join("pack.toml");
    std::fs::write(&pack, "disable = [\"git.stash_drop_all\"]\n").unwrap();
    let pack_path = pack.to_string_lossy().into_owned();
    let out = up
        .cli(&["policy", "sign", &pack_path, "--key"])
        .arg(&admin)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let out = up
        .cli(&["policy", "push", &pack_path, "--central", "ops"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let mut n = 0;
    eventually(LIMIT, || {
        n += 1;
        let probe = bash_in(
            "git stash clear",
            &format!("toolu_after_{n}"),
            project.path(),
        );
        let answer = up.hook(&probe);
        async move { permission(&answer) == "allow" }
    })
    .await;
    // The same pack with one byte changed is refused.
    let tampered = std::fs::read_to_string(&pack)
        .unwrap()
        .replace("stash_drop_all", "stash_drop_alL");
    std::fs::write(&pack, tampered).unwrap();
    let out = up
        .cli(&["policy", "push", &pack_path, "--central", "ops"])
        .output()
        .unwrap();
    assert!(out.status.success());
    eventually(LIMIT, || async {
        let out = up.cli(&["status", "--json"]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).contains("does not match its contents")
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reused_tool_use_id_never_gets_another_payloads_decision() {
    let up = Up::start(&[], "").await;
    let project = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(project.path().join(".git")).unwrap();
    let first = up.hook(&bash_in("ls", "toolu_reused", project.path()));
    assert_eq!(permission(&first), "allow", "{first}");
    let second = up.hook(&bash_in("rm -rf /", "toolu_reused", project.path()));
    assert_eq!(permission(&second), "deny", "{second}");
    // Again, and a third payload: each answer is what the log holds for that payload.
    let third = up.hook(&bash_in("rm -rf ~", "toolu_reused", project.path()));
    assert_eq!(permission(&third), "deny", "{third}");
    let decided = up.decision_of("toolu_reused").await;
    assert_eq!(decided.len(), 3, "{decided:?}");
    let digests: std::collections::HashSet<_> =
        decided.iter().map(|d| &d.provenance.cmd_digest).collect();
    assert_eq!(digests.len(), 3, "one decision per payload");
    assert_eq!(
        decided
            .iter()
            .filter(|d| d.verdict == lighthouse_schemas::Verdict::Allow)
            .count(),
        1
    );

    // The audit log verifies; a copy with one decision altered does not.
    let out = up.cli(&["audit", "verify"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let export = up.state.path().join("export.jsonl");
    let out = up
        .cli(&["audit", "export", "--out"])
        .arg(&export)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let mut lines: Vec<lighthouse::audit::Stored> =
        lighthouse::audit::read_export(&export).unwrap();
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let victim = lines
        .iter_mut()
        .find(|s| {
            let d: lighthouse_schemas::Decision =
                lighthouse_schemas::decode(&b64.decode(&s.payload).unwrap()).unwrap();
            d.verdict == lighthouse_schemas::Verdict::Deny
        })
        .unwrap();
    let mut d: lighthouse_schemas::Decision =
        lighthouse_schemas::decode(&b64.decode(&victim.payload).unwrap()).unwrap();
    d.verdict = lighthouse_schemas::Verdict::Allow;
    victim.payload = b64.encode(lighthouse_schemas::encode(&d).unwrap());
    let altered_seq = victim.seq;
    let tampered = up.state.path().join("tampered.jsonl");
    lighthouse::audit::write_export(&tampered, &lines).unwrap();
    let out = up
        .cli(&["audit", "verify", "--from"])
        .arg(&tampered)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("seq {altered_seq} ")) && text.contains("signature does not match"),
        "{text}"
    );
    // A message removed from the copy is a gap.
    lines.remove(1);
    lighthouse::audit::write_export(&tampered, &lines).unwrap();
    let out = up
        .cli(&["audit", "verify", "--from"])
        .arg(&tampered)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("missing from the log"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_pipeline_runs_over_tls() {
    let up = Up::start(&["--tls"], "").await;
    let url = up.url();
    // Plain-text clients get nowhere, even with a valid identity.
    let plain = ClientAuth {
        nkey: Some(identity_file(&up.ids(), "ops")),
        ..Default::default()
    };
    let connect = lighthouse_nats::connect_as(&url, "plain", &plain);
    assert!(
        tokio::time::timeout(Duration::from_secs(10), connect)
            .await
            .map_or(true, |r| r.is_err()),
        "a plain-text client connected"
    );
    let answer = up.hook(&bash("rm -rf ~/", "toolu_tls"));
    assert_eq!(permission(&answer), "deny");
    assert!(!reason(&answer).contains("decided locally"), "{answer}");
    let answer = up.hook(&bash("ls", "toolu_tls_ls"));
    assert_eq!(permission(&answer), "allow", "{answer}");
}

/// Runs the real hook binary in a broken environment; the answer must be a deny.
fn broken_hook(state: &Path, env: &[(&str, &str)], config: Option<&str>) -> (Value, String) {
    let config_path = state.join("config.toml");
    if let Some(text) = config {
        std::fs::write(&config_path, text).unwrap();
    }
    let mut cmd = Command::new(LIGHTHOUSE);
    cmd.env("LIGHTHOUSE_CONFIG", &config_path)
        .env("LIGHTHOUSE__STATE_DIR", state)
        .env("LIGHTHOUSE_LOG", "off");
    for (k, v) in env {
        cmd.env(k, v);
    }
    // `ls` is allowed by the policy: a deny can only come from failing closed.
    let (out, _) = run_with_stdin(&mut cmd, &bash("ls", "toolu_b").to_string());
    assert!(
        out.status.code() == Some(0) || out.status.code() == Some(2),
        "{out:?}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if out.status.code() == Some(2) {
        return (Value::Null, stderr);
    }
    let answer: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("no JSON ({e}): {out:?}"));
    (answer, stderr)
}

/// A broken environment: its name, env vars, config file text.
type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, Option<&'a str>);

#[test]
fn the_hook_fails_closed_in_every_broken_environment() {
    let dead = format!("nats://127.0.0.1:{}", lighthouse_tests::free_port());
    let cases: Vec<Case> = vec![
        (
            "unknown env key",
            vec![("LIGHTHOUSE__HOOK__DEADLINE_MS", "1")],
            None,
        ),
        (
            "bad env value",
            vec![("LIGHTHOUSE__HOOK__DECISION_TIMEOUT_MS", "soon")],
            None,
        ),
        ("config not TOML", vec![], Some("this is [not toml")),
        (
            "mistyped config key",
            vec![],
            Some("[hook]\ndecision_timout_ms = 10\n"),
        ),
        (
            "bad config value",
            vec![],
            Some("[hook]\nstrict = \"maybe\"\n"),
        ),
        (
            "missing identity file",
            vec![
                ("LIGHTHOUSE__NATS__NKEY", "/nonexistent/agent.nk"),
                ("LIGHTHOUSE__NATS__URL", &dead),
            ],
            None,
        ),
    ];
    for (name, env, config) in cases {
        let state = tempfile::tempdir().unwrap();
        let (answer, stderr) = broken_hook(state.path(), &env, config);
        if answer.is_null() {
            assert!(stderr.contains("Lighthouse"), "{name}: {stderr}");
            continue;
        }
        assert_eq!(permission(&answer), "deny", "{name}: {answer}");
        assert!(
            reason(&answer).starts_with("Lighthouse: "),
            "{name}: {answer}"
        );
    }
    // Corrupt and unreadable state.
    let state = tempfile::tempdir().unwrap();
    std::fs::write(state.path().join("up.json"), "{ not json").unwrap();
    let (answer, _) = broken_hook(state.path(), &[], None);
    assert_eq!(permission(&answer), "deny", "corrupt up.json: {answer}");
    assert!(reason(&answer).contains("up.json"), "{answer}");
    let state = tempfile::tempdir().unwrap();
    let file = state.path().join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let (answer, _) = broken_hook(&file, &[], None);
    assert_eq!(permission(&answer), "deny", "state dir is a file: {answer}");
    // A FIFO where the state or an identity should be (an agent can make one): refused
    // as such at once, not held until the watchdog (later than a client's timeout).
    for (file, nkey) in [("up.json", false), ("agent.nk", true)] {
        let state = tempfile::tempdir().unwrap();
        let fifo = state.path().join(file);
        assert!(
            Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
        let fifo = fifo.to_str().unwrap();
        let env = [
            ("LIGHTHOUSE__NATS__NKEY", fifo),
            ("LIGHTHOUSE__NATS__URL", &dead),
        ];
        let env = if nkey { &env[..] } else { &[] };
        let (answer, _) = broken_hook(state.path(), env, None);
        assert_eq!(permission(&answer), "deny", "FIFO {file}: {answer}");
        assert!(reason(&answer).contains("not a regular file"), "{answer}");
    }
    // The pipeline unreachable and nowhere to record the call: even `ls` is refused.
    let state = tempfile::tempdir().unwrap();
    std::fs::write(state.path().join("spool"), "in the way").unwrap();
    let (answer, _) = broken_hook(state.path(), &[("LIGHTHOUSE__NATS__URL", &dead)], None);
    assert_eq!(permission(&answer), "deny", "unwritable spool: {answer}");
}

/// Under a real `up`: an expert listed in `exceptions.granters` grants with its own
/// identity, the exception decision is signed by the validator, and the log verifies.
#[tokio::test(flavor = "multi_thread")]
async fn a_granting_expert_grants_under_up_and_the_log_verifies() {
    let up = Up::start(
        &[],
        "[hook]\nescalation_wait_ms = 25000\n[escalation.experts]\nalice = [\"security\"]\n\
         [exceptions]\ngranters = [\"alice\"]\n",
    )
    .await;
    let project = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(project.path().join(".git")).unwrap();
    let watch = up
        .cli(&[
            "expert",
            "watch",
            "--specialty",
            "security",
            "--id",
            "alice",
        ])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let _watch = crate::util::Procs(vec![watch]);
    let ops = up.js("ops").await;
    let key = lighthouse_schemas::subject::expert_key(
        &lighthouse_schemas::Token::encode("security"),
        &lighthouse_schemas::Token::encode("alice"),
    );
    eventually(LIMIT, || async {
        match ops.get_key_value("lh_experts").await {
            Ok(kv) => matches!(kv.get(&key).await, Ok(Some(_))),
            Err(_) => false,
        }
    })
    .await;

    let payload = bash_in("git push origin main", "toolu_u1", project.path());
    let hook = {
        let cmd = up.cli(&[]);
        std::thread::spawn(move || run_hook(cmd, &payload).0)
    };
    eventually(LIMIT, || async {
        match ops.get_key_value("lh_escalations").await {
            Ok(kv) => matches!(kv.get("toolu_u1").await, Ok(Some(_))),
            Err(_) => false,
        }
    })
    .await;
    let out = up
        .cli(&["expert", "approve", "toolu_u1", "--specialty", "security"])
        .args(["--id", "alice", "--reason", "release branch is green"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let answer = tokio::task::block_in_place(|| hook.join().unwrap());
    assert_eq!(permission(&answer), "allow", "{answer}");
    // The MCP server, as alice, lists the votes cast so far (experts read LH_VOTE).
    let desk = lighthouse_mcp::desk::Desk {
        js: up.js("expert-alice").await,
        identity: std::sync::Arc::new(lighthouse_mcp::desk::Identity {
            expert: "alice".into(),
            specialties: vec!["security".into()],
            kind: "human".into(),
        }),
        wait: Duration::from_secs(1),
        permission_wait: Duration::from_secs(1),
        policy: std::sync::Arc::new(lighthouse_policy::Policy::builtin()),
        context_decisions: 0,
    };
    let votes = desk.votes("toolu_u1").await;
    assert_eq!(votes.len(), 1, "{votes:?}");
    assert_eq!(votes[0].expert, "alice");

    let out = up
        .cli(&["exception", "grant", "toolu_u1", "--scope", "session"])
        .args(["--reason", "release day", "--as", "alice", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let granted: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(granted["granted_by"], "expert-alice");
    let id = granted["id"].as_str().unwrap().to_owned();

    // The grant reaches the validator through its watch: the first call after it may
    // still escalate (the hook then asks at once, as configured here).
    let mut allowed = None;
    for i in 0..100 {
        let cmd_id = format!("toolu_u2_{i}");
        let mut hook = up.cli(&[]);
        hook.env("LIGHTHOUSE__HOOK__ESCALATION_WAIT_MS", "300");
        let answer = run_hook(
            hook,
            &bash_in("git  push   origin main", &cmd_id, project.path()),
        )
        .0;
        if permission(&answer) == "allow" {
            assert!(reason(&answer).contains(&id), "{answer}");
            allowed = Some(cmd_id);
            break;
        }
    }
    let allowed = allowed.expect("the exception never allowed the call");
    let d = up.decision_of(&allowed).await;
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].tier, lighthouse_schemas::Tier::Exception);
    assert_eq!(d[0].exception.as_deref(), Some(id.as_str()));

    let out = up.cli(&["audit", "verify"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let out = up.cli(&["audit", "show", &allowed]).output().unwrap();
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && shown.contains(&format!("exception {id}")),
        "{shown}"
    );
    assert!(shown.contains("signature verifies"), "{shown}");

    // alice lists and revokes her own grant with her own identity.
    let out = up
        .cli(&[
            "exception",
            "revoke",
            &id,
            "--reason",
            "released",
            "--as",
            "alice",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let out = up
        .cli(&["exception", "list", "--all", "--as", "alice"])
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && listed.contains("revoked by expert-alice"),
        "{listed}"
    );
}
