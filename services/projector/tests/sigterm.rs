//! The `lighthouse-projector` binary: no mount point is a configuration error (exit 64,
//! before connecting); SIGTERM while the view is being read unmounts it and exits 0
//! within the grace period.

use async_nats::jetstream;
use lighthouse_nats::topology::Topology;
use lighthouse_schemas::{Envelope, FileContent, FileVersion, Token, encode, now_us, subject};
use lighthouse_tests::NatsServer;
use lighthouse_tests::process::{Worker, until};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

const BINARY: &str = env!("CARGO_BIN_EXE_lighthouse-projector");
const GRACE_MS: u64 = 10_000;

fn mounted(path: &Path) -> bool {
    let shown = path.to_string_lossy().into_owned();
    std::fs::read_to_string("/proc/self/mounts")
        .unwrap_or_default()
        .lines()
        .any(|l| l.split(' ').nth(1) == Some(shown.as_str()))
}

#[test]
fn no_mount_point_exits_64_before_connecting() {
    // Nothing listens on port 1: a worker that tried to connect would fail differently.
    let mut worker = Worker::start(Path::new(BINARY), "nats://127.0.0.1:1", &[]);
    let status = worker.wait(Duration::from_secs(30));
    assert_eq!(status.code(), Some(64));
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_while_read_unmounts_and_exits_0() {
    let server = NatsServer::start();
    let js = jetstream::new(async_nats::connect(server.url()).await.unwrap());
    Topology::embedded().unwrap().apply(&js).await.unwrap();
    for i in 0..200 {
        let path = format!("src/f{i}.rs");
        let content = format!("fn f{i}() {{}}\n").into_bytes();
        let version = FileVersion {
            env: Envelope::new(format!("fv-{i}"), now_us(), "proj", "a", format!("t-{i}")),
            path: path.clone(),
            size: content.len() as u64,
            content: FileContent::Inline(content),
            sha256: String::new(),
            mtime_us: now_us(),
            executable: false,
            tool: "Write".into(),
            tool_use_id: None,
        };
        let target = subject::file(&Token::encode("proj"), &Token::encode(&path));
        js.publish(target, encode(&version).unwrap().into())
            .await
            .unwrap()
            .await
            .unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let mount = dir.path().join("view");
    let shown = mount.to_string_lossy().into_owned();
    let grace = GRACE_MS.to_string();
    let mut worker = Worker::start(
        Path::new(BINARY),
        &server.url(),
        &[
            ("LIGHTHOUSE__PROJECTOR__MOUNT", shown.as_str()),
            ("LIGHTHOUSE__SERVICE__GRACE_MS", grace.as_str()),
        ],
    );
    let file = mount.join("proj/current/src/f199.rs");
    until(Duration::from_secs(60), async || file.exists()).await;

    // Readers keep the view busy while it is stopped.
    let stop = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicUsize::new(0));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (stop, reads, root) = (stop.clone(), reads.clone(), mount.join("proj/current/src"));
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if let Ok(entries) = std::fs::read_dir(&root) {
                        for entry in entries.flatten() {
                            let _ = std::fs::read(entry.path());
                        }
                    }
                    reads.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    until(Duration::from_secs(30), async || {
        reads.load(Ordering::Relaxed) >= 2
    })
    .await;
    worker.sigterm();
    let status = worker.wait(Duration::from_millis(GRACE_MS) + Duration::from_secs(5));
    stop.store(true, Ordering::Relaxed);
    for reader in readers {
        reader.join().unwrap();
    }
    assert!(status.success(), "projector exit {status:?}");
    assert!(!mounted(&mount), "the view is unmounted");
}
