//! The durable store and its recovery: `lighthouse backup` of a running pipeline,
//! the store wiped, `lighthouse restore` into a fresh server, and the same decision log,
//! the same files in the FUSE view and the same annotations after it. Needs root and
//! /dev/fuse (the projector).

use crate::fuse::{Projector, Workspace, apply_topology, post_tool, visible};
use crate::util::*;
use async_nats::jetstream;
use futures::StreamExt;
use lighthouse_schemas::{
    AgentKind, Command as LhCommand, Decision, Envelope, Token, decode, encode, now_us, subject,
};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

/// Every message of `stream` in order: (subject, payload).
async fn raw_log(js: &jetstream::Context, stream: &str) -> Vec<(String, Vec<u8>)> {
    let stream = js.get_stream(stream).await.unwrap();
    let n = stream.get_info().await.unwrap().state.messages as usize;
    let mut out = Vec::with_capacity(n);
    if n == 0 {
        return out;
    }
    let consumer = stream
        .create_consumer(jetstream::consumer::pull::OrderedConfig::default())
        .await
        .unwrap();
    let mut messages = consumer.messages().await.unwrap();
    while out.len() < n {
        let m = tokio::time::timeout(Duration::from_secs(10), messages.next())
            .await
            .expect("stream readable")
            .unwrap()
            .unwrap();
        out.push((m.subject.to_string(), m.payload.to_vec()));
    }
    out
}

fn command(id: &str, shell: &str) -> LhCommand {
    LhCommand {
        env: Envelope::new(id, now_us(), "busy", "agent-1", id),
        tool_name: "Bash".into(),
        tool_input: json!({ "command": shell }),
        cwd: "/work/busy".into(),
        session_id: "s".into(),
        tool_use_id: Some(id.into()),
        agent_kind: AgentKind::ClaudeCode,
        permission_mode: None,
        git_branch: None,
    }
}

/// Every file under `dir`, relative path → contents.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let path = e.path();
            if e.file_type().unwrap().is_dir() {
                todo.push(path);
            } else {
                let rel = path
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

fn lighthouse_ok(p: &Pipeline, args: &[&str]) -> String {
    let out = p.cmd().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "lighthouse {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn spawn_worker(p: &mut Pipeline, kind: &str, id: &str) {
    let child = p
        .cmd()
        .args([kind, "--id", id])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    p.validators.0.push(child);
}

/// Commands in LH_CMD without a decision in LH_DECISION.
async fn undecided(js: &jetstream::Context) -> Vec<String> {
    let decided: std::collections::BTreeSet<String> = raw_log(js, "LH_DECISION")
        .await
        .iter()
        .map(|(_, p)| decode::<Decision>(p).unwrap().cmd_id)
        .collect();
    raw_log(js, "LH_CMD")
        .await
        .iter()
        .map(|(_, p)| decode::<LhCommand>(p).unwrap().env.id)
        .filter(|id| !decided.contains(id))
        .collect()
}

/// Waits until every command in LH_CMD has its decision.
async fn all_decided(js: &jetstream::Context) {
    eventually(Duration::from_secs(60), || async {
        undecided(js).await.is_empty()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn backup_of_a_busy_pipeline_restores_the_same_log_view_and_annotations() {
    let mut p = Pipeline::start();
    apply_topology(&p);
    p.spawn_validator("v1");
    spawn_worker(&mut p, "annotator", "a1");
    p.wait_for_validators(1).await;
    let ws = Workspace::new();
    let projector = Projector::start(&p, &ws.mount());
    let project = ws.project();

    // Files written through the hook, one annotated; a few hook decisions.
    std::fs::create_dir_all(project.join("app")).unwrap();
    let db = project.join("app/db.py");
    let source = "import sqlite3\n\n\ndef find_user(db, name):\n    q = f\"select * from users where name = '{name}'\"\n    return db.execute(q)\n";
    std::fs::write(&db, source).unwrap();
    post_tool(&p, &project, "Write", db.to_str().unwrap(), "toolu_w1");
    std::fs::write(project.join("README.md"), "# demo\n").unwrap();
    post_tool(
        &p,
        &project,
        "Write",
        project.join("README.md").to_str().unwrap(),
        "toolu_w2",
    );
    lighthouse_ok(
        &p,
        &[
            "annotate",
            "--line",
            "5",
            "--category",
            "security",
            "--expert",
            "sec-bot",
            "--message",
            "string-built SQL is injectable",
            db.to_str().unwrap(),
        ],
    );
    visible(&ws.current().join("app/db.py"), source).await;
    let md = ws.mount().join("demo/annotations/app/db.py.md");
    eventually(Duration::from_secs(10), || {
        let ok = std::fs::read_to_string(&md).is_ok_and(|t| t.contains("injectable"));
        async move { ok }
    })
    .await;
    for (i, shell) in ["ls -la", "rm -rf /", "cargo test"].iter().enumerate() {
        let (answer, _) = p.hook(&bash(shell, &format!("toolu_h{i}")));
        assert_ne!(permission(&answer), "<none>");
    }

    // Busy: commands keep arriving while the backup runs.
    let js = p.js().await;
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicUsize::new(0));
    let publisher = {
        let (js, stop, sent) = (js.clone(), stop.clone(), sent.clone());
        tokio::spawn(async move {
            let shells = ["ls", "git push --force", "cat /etc/shadow", "make"];
            for i in 0..50_000 {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let c = command(&format!("busy-{i}"), shells[i % shells.len()]);
                let msg = jetstream::message::PublishMessage::build()
                    .payload(encode(&c).unwrap().into())
                    .message_id(&c.env.id);
                let subject = subject::command(&Token::encode("busy"), &Token::encode("agent-1"));
                js.send_publish(subject, msg).await.unwrap().await.unwrap();
                sent.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    eventually(Duration::from_secs(10), || {
        let n = sent.load(Ordering::Relaxed);
        async move { n >= 200 }
    })
    .await;
    let backups = tempfile::tempdir().unwrap();
    let busy_dir = backups.path().join("busy");
    let busy_arg = busy_dir.to_str().unwrap().to_owned();
    let cmd = p.cmd();
    let before = sent.load(Ordering::Relaxed);
    tokio::task::spawn_blocking(move || {
        let mut cmd = cmd;
        let out = cmd.args(["backup", &busy_arg]).output().unwrap();
        assert!(out.status.success(), "backup: {out:?}");
    })
    .await
    .unwrap();
    let after = sent.load(Ordering::Relaxed);
    stop.store(true, Ordering::Relaxed);
    publisher.await.unwrap();
    assert!(
        after > before,
        "commands kept arriving while the backup ran"
    );
    all_decided(&js).await;

    // Quiet: a second backup of the settled pipeline.
    let quiet_dir = backups.path().join("quiet");
    lighthouse_ok(&p, &["backup", quiet_dir.to_str().unwrap()]);
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(quiet_dir.join("manifest.json")).unwrap()).unwrap();
    let saved: Vec<&str> = manifest["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    for want in [
        "LH_CMD",
        "LH_DECISION",
        "LH_FS",
        "LH_ANNOT",
        "KV_lh_policy",
        "OBJ_lh_fs_blobs",
    ] {
        assert!(saved.contains(&want), "{want} not in the backup: {saved:?}");
    }

    let decisions = raw_log(&js, "LH_DECISION").await;
    let view = tree(&ws.current());
    let annotations = lighthouse_ok(&p, &["annotations", "--json", db.to_str().unwrap()]);
    assert!(view.len() >= 2 && decisions.len() > 200);
    assert!(annotations.contains("injectable"));
    let by_subject: BTreeMap<String, Vec<u8>> = decisions.iter().cloned().collect();

    // The store is wiped: workers, projector and server go, with the server's directory.
    drop(projector);
    drop(p);

    // The busy backup, restored: consistent (every saved decision byte for byte, every
    // pending command decided once, as the original decided it).
    {
        let mut q = Pipeline::start();
        lighthouse_ok(&q, &["restore", busy_dir.to_str().unwrap()]);
        lighthouse_ok(&q, &["nats", "apply"]);
        q.spawn_validator("v2");
        let js = q.js().await;
        let saved_decisions = stream_messages(&js, "LH_DECISION").await as usize;
        all_decided(&js).await;
        let restored = raw_log(&js, "LH_DECISION").await;
        let mut decided = BTreeMap::new();
        for (i, (subject, payload)) in restored.iter().enumerate() {
            let d: Decision = decode(payload).unwrap();
            assert!(
                decided.insert(d.cmd_id.clone(), ()).is_none(),
                "two decisions for {}",
                d.cmd_id
            );
            let original = by_subject
                .get(subject)
                .unwrap_or_else(|| panic!("{subject}: decided after restore, never before"));
            if i < saved_decisions {
                assert_eq!(payload, original, "{subject} changed in the backup");
            } else {
                let before: Decision = decode(original).unwrap();
                assert_eq!(d.verdict, before.verdict, "{subject} decided differently");
            }
        }
        // Decisions were saved after commands, so the log may hold decisions of commands
        // that came after the command snapshot, but never a command without its decision.
        assert!(stream_messages(&js, "LH_CMD").await > 0);
        assert_eq!(undecided(&js).await, Vec::<String>::new());
    }

    // The settled backup, restored: the same log, view and annotations.
    let mut r = Pipeline::start();
    lighthouse_ok(&r, &["restore", quiet_dir.to_str().unwrap()]);
    // Restoring onto a store that has the streams is refused, never merged.
    let again = r
        .cmd()
        .args(["restore", quiet_dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!again.status.success(), "a second restore must be refused");
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exist"));
    lighthouse_ok(&r, &["nats", "apply"]);
    r.spawn_validator("v3");
    spawn_worker(&mut r, "annotator", "a3");
    let ws2 = Workspace::new();
    let _projector = Projector::start(&r, &ws2.mount());
    let js = r.js().await;
    assert_eq!(raw_log(&js, "LH_DECISION").await, decisions, "decision log");
    visible(&ws2.current().join("app/db.py"), source).await;
    assert_eq!(tree(&ws2.current()), view, "files in the FUSE view");
    assert_eq!(
        lighthouse_ok(&r, &["annotations", "--json", db.to_str().unwrap()]),
        annotations,
        "annotations"
    );
    // The restored pipeline still works: a new call is decided and recorded once.
    let (answer, _) = r.hook(&bash("ls", "toolu_after_restore"));
    assert_eq!(permission(&answer), "allow");
    all_decided(&js).await;
    assert_eq!(raw_log(&js, "LH_DECISION").await.len(), decisions.len() + 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_damaged_backup_is_refused_before_anything_is_restored() {
    let p = Pipeline::start();
    apply_topology(&p);
    let dir = tempfile::tempdir().unwrap();
    let backup = dir.path().join("b");
    lighthouse_ok(&p, &["backup", backup.to_str().unwrap()]);
    // A backup never overwrites another.
    let out = p
        .cmd()
        .args(["backup", backup.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let snapshot = backup.join("LH_DECISION.snapshot");
    let mut bytes = std::fs::read(&snapshot).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&snapshot, bytes).unwrap();
    let fresh = Pipeline::start();
    let out = fresh
        .cmd()
        .args(["restore", backup.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("damaged"),
        "{out:?}"
    );
    let js = fresh.js().await;
    assert_eq!(
        js.stream_names().count().await,
        0,
        "nothing restored from a damaged backup"
    );
}
