//! The FUSE view (issue #5): real hook processes publish files, a real projector process
//! mounts them, and real grep/find/cat read them. Needs root and /dev/fuse.

use crate::util::*;
use async_nats::jetstream;
use lighthouse_schemas::{
    Decision, Envelope, FileContent, FileVersion, Tier, Token, Verdict, encode, now_us, subject,
};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tempfile::TempDir;

/// How long anything may take to become visible before a test fails (a hang bound,
/// not a speed claim).
const VISIBLE: Duration = Duration::from_secs(10);

/// A running `lighthouse projector`; SIGTERM on drop, and the mount is cleared.
pub(crate) struct Projector {
    child: Option<Child>,
    mount: PathBuf,
}

impl Projector {
    pub(crate) fn start(p: &Pipeline, mount: &Path) -> Projector {
        Projector::start_with(p.cmd(), mount)
    }

    /// Starts `lighthouse projector` from a prepared `lighthouse` command.
    pub(crate) fn start_with(mut cmd: Command, mount: &Path) -> Projector {
        let mut child = cmd
            .args(["projector", "--mount"])
            .arg(mount)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let projector = Projector {
            child: Some(child),
            mount: mount.to_owned(),
        };
        let line = rx.recv_timeout(Duration::from_secs(60)).unwrap_or_default();
        assert!(
            line.contains("mounted"),
            "projector did not mount: {line:?}"
        );
        projector
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(child.id() as i32),
                nix::sys::signal::Signal::SIGTERM,
            );
            for _ in 0..200 {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGKILL: leaves whatever a crash leaves.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Projector {
    fn drop(&mut self) {
        self.stop();
        lighthouse_projector::mount::clear_stale(&self.mount);
    }
}

fn mounted(mount: &Path) -> bool {
    lighthouse_projector::mount::is_mounted(mount)
}

/// A project directory (with `.git`) inside a temp dir, and a mount point beside it.
pub(crate) struct Workspace {
    dir: TempDir,
}

impl Workspace {
    pub(crate) fn new() -> Workspace {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("demo/.git")).unwrap();
        Workspace { dir }
    }
    pub(crate) fn project(&self) -> PathBuf {
        self.dir.path().join("demo").canonicalize().unwrap()
    }
    pub(crate) fn mount(&self) -> PathBuf {
        self.dir.path().join("mnt")
    }
    pub(crate) fn current(&self) -> PathBuf {
        self.mount().join("demo/current")
    }
}

pub(crate) fn apply_topology(p: &Pipeline) {
    let out = p.cmd().args(["nats", "apply"]).output().unwrap();
    assert!(out.status.success(), "{out:?}");
}

/// Runs PostToolUse for a tool call that wrote `file`; the hook must print nothing.
pub(crate) fn post_tool(p: &Pipeline, cwd: &Path, tool: &str, file: &str, id: &str) {
    let field = if tool == "NotebookEdit" {
        "notebook_path"
    } else {
        "file_path"
    };
    let payload = json!({
        "session_id": "s-test",
        "cwd": cwd,
        "hook_event_name": "PostToolUse",
        "tool_name": tool,
        "tool_input": { field: file },
        "tool_response": { "success": true },
        "tool_use_id": id,
    });
    let (out, _) = run_with_stdin(&mut p.cmd(), &payload.to_string());
    assert!(out.status.success(), "PostToolUse exit {:?}", out.status);
    assert!(
        out.stdout.is_empty(),
        "PostToolUse printed {:?}",
        String::from_utf8_lossy(&out.stdout)
    );
}

pub(crate) async fn visible(path: &Path, expected: &str) {
    let path = path.to_owned();
    let expected = expected.to_owned();
    eventually(VISIBLE, || {
        let ok = std::fs::read(&path).is_ok_and(|b| b == expected.as_bytes());
        async move { ok }
    })
    .await;
}

async fn gone(path: &Path) {
    let path = path.to_owned();
    eventually(VISIBLE, || {
        let ok = !path.exists();
        async move { ok }
    })
    .await;
}

fn run(program: &str, args: &[&str], dir: &Path) -> String {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

async fn publish_raw(js: &jetstream::Context, subject: String, payload: Vec<u8>) {
    js.publish(subject, payload.into())
        .await
        .unwrap()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn hook_writes_show_up_with_history_and_real_tools_read_them() {
    let p = Pipeline::start();
    apply_topology(&p);
    let ws = Workspace::new();
    let root = ws.project();
    std::fs::create_dir_all(root.join("src/nested dir")).unwrap();
    let _projector = Projector::start(&p, &ws.mount());

    let versions = [
        ("Write", "fn main() {}\n"),
        ("Edit", "fn main() { println!(\"two\"); }\n"),
        (
            "MultiEdit",
            "fn main() { println!(\"three\"); } // FIXME_MARK\n",
        ),
    ];
    for (i, (tool, text)) in versions.iter().enumerate() {
        std::fs::write(root.join("src/main.rs"), text).unwrap();
        // Relative to the cwd, as agents sometimes give it.
        post_tool(
            &p,
            &root.join("src"),
            tool,
            "main.rs",
            &format!("toolu_v{i}"),
        );
        visible(&ws.current().join("src/main.rs"), text).await;
    }
    let unicode = "src/nested dir/naïve café ☕.txt";
    std::fs::write(root.join(unicode), "unicode and spaces\n").unwrap();
    post_tool(
        &p,
        &root,
        "Write",
        root.join(unicode).to_str().unwrap(),
        "toolu_u",
    );
    visible(&ws.current().join(unicode), "unicode and spaces\n").await;

    // Over 512 KiB the bytes travel through the object store; the view reads them back.
    let big: String = (0..70_000).map(|i| format!("{i:09}\n")).collect();
    std::fs::write(root.join("big.log"), &big).unwrap();
    post_tool(&p, &root, "Write", "big.log", "toolu_big");
    visible(&ws.current().join("big.log"), &big).await;
    let blobs = stream_messages(&p.js().await, "OBJ_lh_fs_blobs").await;
    assert!(
        blobs >= 2,
        "chunks and metadata in the object store: {blobs}"
    );

    // Sizes and mtimes come through stat.
    let meta = std::fs::metadata(ws.current().join("src/main.rs")).unwrap();
    assert_eq!(meta.len(), versions[2].1.len() as u64);
    let disk = std::fs::metadata(root.join("src/main.rs")).unwrap();
    assert_eq!(
        meta.modified()
            .unwrap()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
        disk.modified()
            .unwrap()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    );

    // History: one directory per version, each the project as of then.
    let history = ws.mount().join("demo/history");
    // Only the index is listed, so grep -r over the mount does not walk every version.
    let listed: Vec<_> = std::fs::read_dir(&history)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(listed, ["versions.txt"]);
    let index = std::fs::read_to_string(history.join("versions.txt")).unwrap();
    let seqs: Vec<u64> = index
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split('\t').next().unwrap().parse().unwrap())
        .collect();
    assert!(index.contains("\tsrc/main.rs\n"), "{index}");
    assert_eq!(seqs.len(), 5, "{seqs:?}");
    for (i, (_, text)) in versions.iter().enumerate() {
        let old = history.join(seqs[i].to_string()).join("src/main.rs");
        assert_eq!(std::fs::read_to_string(&old).unwrap(), *text);
    }
    assert!(!history.join(seqs[0].to_string()).join(unicode).exists());
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let at_now = history.join(format!("@{now}")).join("src/main.rs");
    assert_eq!(std::fs::read_to_string(at_now).unwrap(), versions[2].1);
    assert!(!history.join("@2001-01-01T00:00:00Z/src/main.rs").exists());

    // Real tools, real processes.
    let grep = run("grep", &["-r", "-l", "FIXME_MARK", "."], &ws.current());
    assert_eq!(grep.trim(), "./src/main.rs");
    let find = run("find", &[".", "-name", "*.txt"], &ws.current());
    assert_eq!(find.trim(), format!("./{unicode}"));
    let cat = run("cat", &[unicode], &ws.current());
    assert_eq!(cat, "unicode and spaces\n");

    // Read-only, whatever the call.
    for result in [
        std::fs::write(ws.current().join("src/main.rs"), "x"),
        std::fs::write(ws.current().join("new.txt"), "x"),
        std::fs::create_dir(ws.current().join("d")),
        std::fs::remove_file(ws.current().join("src/main.rs")),
        std::fs::rename(ws.current().join("src/main.rs"), ws.current().join("m.rs")),
    ] {
        let err = result.expect_err("writes must fail");
        assert_eq!(err.raw_os_error(), Some(30), "EROFS expected, got {err}");
    }

    // A deletion is a version too: the file leaves current/, stays in history.
    std::fs::remove_file(root.join("src/main.rs")).unwrap();
    post_tool(&p, &root, "Edit", "src/main.rs", "toolu_del");
    gone(&ws.current().join("src/main.rs")).await;
    // The kernel had the listing of src/ cached (grep -r read it): it must be dropped.
    let listed = run("ls", &["-A", "src"], &ws.current());
    assert_eq!(listed.trim(), "nested dir", "{listed}");
    assert!(
        history
            .join(seqs[2].to_string())
            .join("src/main.rs")
            .exists()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn escapes_are_refused_and_secrets_masked() {
    let p = Pipeline::start();
    apply_topology(&p);
    let ws = Workspace::new();
    let root = ws.project();
    std::fs::write(ws.dir.path().join("outside.txt"), "outside\n").unwrap();
    std::os::unix::fs::symlink(ws.dir.path().join("outside.txt"), root.join("link.txt")).unwrap();
    std::fs::write(root.join(".env"), "API_KEY=hunter2-secret\n").unwrap();
    std::fs::write(root.join("ok.txt"), "ok\n").unwrap();
    let _projector = Projector::start(&p, &ws.mount());

    for (i, file) in ["../outside.txt", "/etc/passwd", "link.txt"]
        .iter()
        .enumerate()
    {
        post_tool(&p, &root, "Write", file, &format!("toolu_bad{i}"));
    }
    post_tool(&p, &root, "Write", ".env", "toolu_env");
    post_tool(&p, &root, "Write", "ok.txt", "toolu_ok");
    visible(&ws.current().join("ok.txt"), "ok\n").await;
    let js = p.js().await;
    // Only .env (masked) and ok.txt were published.
    assert_eq!(stream_messages(&js, "LH_FS").await, 2);

    let masked = std::fs::read_to_string(ws.current().join(".env")).unwrap();
    assert!(masked.contains("masked"), "{masked}");
    assert!(!masked.contains("hunter2"), "{masked}");
    let out = Command::new("grep")
        .args(["-r", "hunter2"])
        .arg(ws.mount())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "the secret is nowhere in the view"
    );

    // A hostile publisher cannot put a file outside its project or the view.
    for path in ["../../escaped.txt", "/etc/evil", "a/../../b", "./x"] {
        let mut v = FileVersion {
            env: Envelope::new(path, now_us(), "demo", "evil", "x"),
            path: path.into(),
            content: FileContent::Inline(b"evil\n".to_vec()),
            sha256: String::new(),
            size: 5,
            mtime_us: 0,
            executable: false,
            tool: "Write".into(),
            tool_use_id: None,
        };
        let subject = subject::file(&Token::encode("demo"), &Token::encode(path));
        publish_raw(&js, subject.clone(), encode(&v).unwrap()).await;
        v.env.project = "../..".into();
        publish_raw(&js, subject, encode(&v).unwrap()).await;
    }
    // A marker published after them: once it shows, they have all been seen.
    let marker = FileVersion {
        env: Envelope::new("marker", now_us(), "demo", "t", "x"),
        path: "marker.txt".into(),
        content: FileContent::Inline(b"m\n".to_vec()),
        sha256: String::new(),
        size: 2,
        mtime_us: 0,
        executable: false,
        tool: "Write".into(),
        tool_use_id: None,
    };
    publish_raw(
        &js,
        subject::file(&Token::encode("demo"), &Token::encode("marker.txt")),
        encode(&marker).unwrap(),
    )
    .await;
    visible(&ws.current().join("marker.txt"), "m\n").await;
    let mut names: Vec<String> = std::fs::read_dir(ws.mount())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, [".status.json", "demo"]);
    let find = run("find", &["."], &ws.current());
    assert!(
        !find.contains("evil") && !find.contains("escaped"),
        "{find}"
    );
    assert!(!ws.dir.path().join("escaped.txt").exists());
    // `..` inside the mount stays inside the mount.
    let up = std::fs::canonicalize(ws.current().join("../../..")).unwrap();
    assert_eq!(up, ws.dir.path().canonicalize().unwrap());
    let status: Value =
        serde_json::from_slice(&std::fs::read(ws.mount().join(".status.json")).unwrap()).unwrap();
    assert!(
        status["streams"]["LH_FS"]["rejected"].as_u64().unwrap() >= 8,
        "{status}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sync_large_directories_and_restart_rebuilds_the_same_view() {
    let p = Pipeline::start();
    apply_topology(&p);
    let ws = Workspace::new();
    let root = ws.project();
    let big = root.join("big dir");
    std::fs::create_dir_all(&big).unwrap();
    for i in 0..3000 {
        std::fs::write(big.join(format!("f{i:04} é.txt")), format!("file {i}\n")).unwrap();
    }
    std::fs::write(root.join(".gitignore"), "ignored/\n").unwrap();
    std::fs::write(root.join(".lighthouseignore"), "*.tmp\n").unwrap();
    std::fs::create_dir_all(root.join("ignored")).unwrap();
    std::fs::write(root.join("ignored/x.txt"), "no\n").unwrap();
    std::fs::write(root.join("scratch.tmp"), "no\n").unwrap();
    let out = p
        .cmd()
        .args(["sync", "--json"])
        .arg(&root)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["published"], 3002, "{report}");
    // A second sync finds nothing new.
    let out = p
        .cmd()
        .args(["sync", "--json"])
        .arg(&root)
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (report["published"].as_u64(), report["unchanged"].as_u64()),
        (Some(0), Some(3002))
    );

    let mut projector = Projector::start(&p, &ws.mount());
    let listing = |ws: &Workspace| {
        let mut names: Vec<String> = std::fs::read_dir(ws.current().join("big dir"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    };
    let before = listing(&ws);
    assert_eq!(before.len(), 3000);
    assert_eq!(before[0], "f0000 é.txt");
    assert!(!ws.current().join("ignored").exists());
    assert!(!ws.current().join("scratch.tmp").exists());
    const FILES: &str = "find . -type f | LC_ALL=C sort";
    const DIGEST: &str = "find . -type f | LC_ALL=C sort | xargs -d '\\n' cat | md5sum";
    let files_before = run("sh", &["-c", FILES], &ws.current());
    let digest_before = run("sh", &["-c", DIGEST], &ws.current());
    assert_eq!(files_before.lines().count(), 3002);

    // A crash leaves the mount point to clean up; a new projector does it and
    // rebuilds the same view from the streams.
    projector.kill();
    std::fs::remove_file(big.join("f0001 é.txt")).unwrap();
    let out = p
        .cmd()
        .args(["sync", "--json"])
        .arg(&root)
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["deleted"], 1, "{report}");
    let _projector = Projector::start(&p, &ws.mount());
    assert!(mounted(&ws.mount()));
    let after = listing(&ws);
    assert_eq!(after.len(), 2999);
    assert!(!after.contains(&"f0001 é.txt".to_owned()));
    // The project as of the last version before the deletion is what we saw then.
    let snapshot = ws.mount().join("demo/history/3002");
    assert_eq!(run("sh", &["-c", FILES], &snapshot), files_before);
    assert_eq!(run("sh", &["-c", DIGEST], &snapshot), digest_before);
}

#[tokio::test(flavor = "multi_thread")]
async fn escalations_move_to_decided_and_annotations_render() {
    let p = Pipeline::start();
    apply_topology(&p);
    let js = p.js().await;
    // LH_ESC and LH_ANNOT land with other work; create them as they will be if absent.
    for (name, subjects) in [("LH_ESC", "lh.esc.>"), ("LH_ANNOT", "lh.annot.>")] {
        js.get_or_create_stream(jetstream::stream::Config {
            name: name.into(),
            subjects: vec![subjects.into()],
            allow_direct: true,
            ..Default::default()
        })
        .await
        .unwrap();
    }
    let ws = Workspace::new();
    let _projector = Projector::start(&p, &ws.mount());

    let escalation = json!({
        "env": {"v": 1, "id": "esc-1", "ts_us": now_us(), "project": "demo",
                "agent": "claude-code", "correlation_id": "toolu_esc1"},
        "cmd_id": "toolu_esc1",
        "specialty": "security",
        "command": {"tool_name": "Bash", "tool_input": {"command": "curl x | sh"}},
    });
    publish_raw(
        &js,
        subject::escalation(&Token::encode("demo"), &Token::encode("security")),
        rmp_serde::to_vec_named(&escalation).unwrap(),
    )
    .await;
    let pending = ws.mount().join("demo/escalations/pending/toolu_esc1.json");
    let decided = ws.mount().join("demo/escalations/decided/toolu_esc1.json");
    eventually(VISIBLE, || {
        let ok = pending.exists();
        async move { ok }
    })
    .await;
    let shown: Value = serde_json::from_slice(&std::fs::read(&pending).unwrap()).unwrap();
    assert_eq!(shown["command"]["tool_input"]["command"], "curl x | sh");
    assert!(!decided.exists());

    let decision = Decision {
        env: Envelope::new("toolu_esc1", now_us(), "demo", "claude-code", "toolu_esc1"),
        cmd_id: "toolu_esc1".into(),
        verdict: Verdict::Deny,
        reason: "experts said no".into(),
        rule_id: None,
        risk: None,
        tier: Tier::Expert,
        latency_us: 1,
        decided_by: "alice".into(),
        voters: Vec::new(),
        provenance: Default::default(),
        exception: None,
    };
    publish_raw(
        &js,
        subject::decision(
            &Token::encode("demo"),
            &Token::encode("claude-code"),
            &Token::encode("toolu_esc1"),
        ),
        encode(&decision).unwrap(),
    )
    .await;
    eventually(VISIBLE, || {
        let ok = decided.exists() && !pending.exists();
        async move { ok }
    })
    .await;

    let note = json!({
        "env": {"v": 1, "id": "an-1", "ts_us": now_us(), "project": "demo",
                "agent": "alice", "correlation_id": "x"},
        "path": "src/lib.rs", "line": 12, "text": "this unwrap can panic",
    });
    publish_raw(
        &js,
        subject::annotation(&Token::encode("demo"), &Token::encode("src/lib.rs")),
        rmp_serde::to_vec_named(&note).unwrap(),
    )
    .await;
    let md = ws.mount().join("demo/annotations/src/lib.rs.md");
    eventually(VISIBLE, || {
        let ok = std::fs::read_to_string(&md).is_ok_and(|t| t.contains("this unwrap can panic"));
        async move { ok }
    })
    .await;
    assert!(std::fs::read_to_string(&md).unwrap().contains("line 12"));
}

#[tokio::test(flavor = "multi_thread")]
async fn post_tool_never_blocks_and_spools_while_nats_is_down() {
    let p = Pipeline::start();
    apply_topology(&p);
    let ws = Workspace::new();
    let root = ws.project();
    std::fs::write(root.join("offline.txt"), "written offline\n").unwrap();
    // A port nobody listens on: the hook gives up fast, prints nothing, spools.
    let dead = format!("nats://127.0.0.1:{}", lighthouse_tests::free_port());
    let payload = json!({
        "cwd": root, "hook_event_name": "PostToolUse", "tool_name": "Write",
        "tool_input": {"file_path": "offline.txt"}, "tool_use_id": "toolu_off",
    });
    let (out, elapsed) =
        run_with_stdin(&mut lighthouse(p.state.path(), &dead), &payload.to_string());
    assert!(out.status.success());
    assert!(out.stdout.is_empty());
    assert!(elapsed < Duration::from_secs(30), "hang bound: {elapsed:?}");
    let spooled = std::fs::read_dir(p.state.path().join("spool-fs"))
        .unwrap()
        .count();
    assert_eq!(spooled, 1);

    // The next hook that reaches the server publishes the spooled version too.
    let _projector = Projector::start(&p, &ws.mount());
    std::fs::write(root.join("online.txt"), "online\n").unwrap();
    post_tool(&p, &root, "Write", "online.txt", "toolu_on");
    visible(&ws.current().join("online.txt"), "online\n").await;
    visible(&ws.current().join("offline.txt"), "written offline\n").await;
    let left = std::fs::read_dir(p.state.path().join("spool-fs"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "msgpack")
        })
        .count();
    assert_eq!(left, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn up_mounts_the_view_and_sigterm_unmounts_it() {
    let p = Pipeline::start();
    let ws = Workspace::new();
    let mut child = p
        .cmd()
        .args(["up", "--nats-url", &p.server.url(), "--mount"])
        .arg(ws.mount())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let mut stderr = child.stderr.take().unwrap();
    let log = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut text);
        text
    });
    let line = rx.recv_timeout(Duration::from_secs(60)).unwrap_or_default();
    let mut guard = Projector {
        child: Some(child),
        mount: ws.mount(),
    };
    assert!(line.starts_with("lighthouse ready"), "{line:?}");
    // Ready means browsable: the view is mounted before the line is printed.
    assert!(mounted(&ws.mount()));
    let status: Value =
        serde_json::from_slice(&std::fs::read(ws.mount().join(".status.json")).unwrap()).unwrap();
    assert_eq!(status["streams"]["LH_FS"]["exists"], true, "{status}");
    // `ls -l` asks for extended attributes (SELinux labels, ACLs): answered quietly.
    let listing = run("ls", &["-la", "."], &ws.mount());
    assert!(listing.contains(".status.json"), "{listing}");
    let js = p.js().await;
    eventually(VISIBLE, || async {
        lighthouse_nats::presence::list(&js)
            .await
            .is_ok_and(|w| w.iter().any(|w| w.kind == "projector"))
    })
    .await;
    let mut child = guard.child.take().unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let mut status = None;
    for _ in 0..400 {
        status = child.try_wait().unwrap();
        if status.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    guard.child = Some(child);
    let status = status.expect("up exits within 20 s of SIGTERM");
    assert!(status.success(), "clean exit, not a kill: {status:?}");
    assert!(!mounted(&ws.mount()), "SIGTERM unmounts");
    let log = log.join().unwrap();
    assert!(!log.contains("Not Implemented"), "{log}");
    // Redirected logs carry no colour codes.
    assert!(!log.contains('\u{1b}'), "{log}");
}

/// Issue 6 end to end: an annotation made through the CLI follows its function through
/// a series of edits (re-anchored by the annotator as files change on LH_FS), shows up
/// in the FUSE view, and orphans when the function is deleted.
#[tokio::test(flavor = "multi_thread")]
async fn annotations_follow_their_code_through_edits_into_the_view() {
    let mut p = Pipeline::start();
    apply_topology(&p);
    let annotator = p
        .cmd()
        .args(["annotator", "--id", "a1"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    p.validators.0.push(annotator);
    let ws = Workspace::new();
    let _projector = Projector::start(&p, &ws.mount());
    let project = ws.project();
    std::fs::create_dir_all(project.join("app")).unwrap();
    let file = project.join("app/db.py");
    let v1 = "import sqlite3\n\n\ndef find_user(db, name):\n    q = f\"select * from users where name = '{name}'\"\n    return db.execute(q)\n";
    std::fs::write(&file, v1).unwrap();
    post_tool(&p, &project, "Write", file.to_str().unwrap(), "toolu_w1");

    let out = p
        .cmd()
        .args(["annotate", "--line", "5", "--category", "security"])
        .args(["--severity", "high", "--expert", "sec-bot"])
        .args(["--message", "string-built SQL is injectable"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let md = ws.mount().join("demo/annotations/app/db.py.md");
    let shows = |needle: &'static str| {
        let md = md.clone();
        async move {
            eventually(VISIBLE, || {
                let ok = std::fs::read_to_string(&md).is_ok_and(|t| t.contains(needle));
                async move { ok }
            })
            .await
        }
    };
    shows("string-built SQL is injectable").await;
    shows("line 4").await;

    // The agent inserts code above and reformats: the note moves with the function.
    let v2 = format!(
        "import sqlite3\nimport logging\n\nlog = logging.getLogger(__name__)\n\n\ndef connect(path):\n    return sqlite3.connect(path)\n\n\n{}",
        &v1["import sqlite3\n\n\n".len()..]
    );
    std::fs::write(&file, &v2).unwrap();
    post_tool(&p, &project, "Edit", file.to_str().unwrap(), "toolu_e1");
    shows("line 11").await;
    let out = p
        .cmd()
        .args(["annotations", "--json"])
        .arg(&file)
        .output()
        .unwrap();
    let notes: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        notes.as_array().unwrap().len(),
        1,
        "one note, its latest state"
    );
    assert_eq!(notes[0]["line"], 11, "{notes}");
    assert_eq!(notes[0]["status"], "found");

    // The function is deleted: the note is orphaned, never moved to `connect`.
    let v3 = "import sqlite3\n\n\ndef connect(path):\n    return sqlite3.connect(path)\n";
    std::fs::write(&file, v3).unwrap();
    post_tool(&p, &project, "Edit", file.to_str().unwrap(), "toolu_e2");
    shows("orphaned").await;
}
