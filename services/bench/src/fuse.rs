//! `lighthouse bench fuse`: the FUSE view against the same tree on local disk, in one
//! run, with the same commands an expert would type.
//!
//! 1. a generated tree of source files, imported with `sync`;
//! 2. `grep -r`, `find -name` and `cat` of every file, on the local tree and through
//!    the mount: cold (page cache dropped, and for the mount a freshly started
//!    projector; once with its content cache primed by the rebuild, once without) and
//!    warm (the median of three more runs);
//! 3. event-to-visible latency: publish a new version, poll the file through the mount
//!    until it shows the new bytes;
//! 4. the projector's peak RSS (VmHWM) for that tree.

use anyhow::{Context as _, bail};
use hdrhistogram::Histogram;
use lighthouse_hook::files::{Origin, Project, publish, read_version};
use lighthouse_nats::topology::Topology;
use serde::Serialize;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lighthouse_config::Settings;

#[derive(Debug, Clone)]
pub struct FuseArgs {
    pub files: usize,
    pub events: usize,
}

/// One command on both trees.
#[derive(Debug, Clone, Serialize)]
pub struct Timing {
    pub op: String,
    pub local_cold_ms: f64,
    pub fuse_cold_ms: f64,
    /// Cold, and the projector's content cache not primed: every file is a direct get.
    pub fuse_cold_unprimed_ms: f64,
    pub local_warm_ms: f64,
    pub fuse_warm_ms: f64,
    pub cold_ratio: f64,
    pub cold_unprimed_ratio: f64,
    pub warm_ratio: f64,
}

#[derive(Debug, Serialize)]
pub struct FuseReport {
    pub files: usize,
    pub tree_bytes: u64,
    /// Whether `drop_caches` worked (root); without it "cold" is only a fresh mount.
    pub page_cache_dropped: bool,
    pub timings: Vec<Timing>,
    pub event_visible_p50_ms: f64,
    pub event_visible_p99_ms: f64,
    pub projector_peak_rss_mb: f64,
    pub projector_rebuild_ms: f64,
}

impl FuseReport {
    pub fn render(&self) -> String {
        let mut out = format!(
            "tree            {} files, {:.1} MiB (page cache dropped for cold runs: {})\n",
            self.files,
            self.tree_bytes as f64 / (1 << 20) as f64,
            self.page_cache_dropped
        );
        out.push_str(
            "op            local cold   fuse cold  ratio   unprimed  ratio |  local warm   fuse warm  ratio\n",
        );
        for t in &self.timings {
            out.push_str(&format!(
                "{:<12} {:>8.1} ms {:>8.1} ms {:>5.2}× {:>7.1} ms {:>5.2}× | {:>8.1} ms {:>8.1} ms {:>5.2}×\n",
                t.op,
                t.local_cold_ms,
                t.fuse_cold_ms,
                t.cold_ratio,
                t.fuse_cold_unprimed_ms,
                t.cold_unprimed_ratio,
                t.local_warm_ms,
                t.fuse_warm_ms,
                t.warm_ratio
            ));
        }
        out.push_str(&format!(
            "event→visible   p50 {:.2} ms  p99 {:.2} ms\nprojector       peak RSS {:.1} MB, rebuild + mount {:.0} ms\n",
            self.event_visible_p50_ms,
            self.event_visible_p99_ms,
            self.projector_peak_rss_mb,
            self.projector_rebuild_ms
        ));
        out
    }
}

/// Kills the projector when the benchmark ends, however it ends.
struct ProjectorChild(Option<Child>, PathBuf);

impl ProjectorChild {
    fn start(
        exe: &Path,
        url: &str,
        state: &Path,
        mount: &Path,
        prime: bool,
    ) -> anyhow::Result<Self> {
        let mut child = Command::new(exe)
            .args(["projector", "--mount"])
            .arg(mount)
            .env("LIGHTHOUSE_CONFIG", state.join("no-config.toml"))
            .env("LIGHTHOUSE__NATS__URL", url)
            .env("LIGHTHOUSE__STATE_DIR", state)
            .env("LIGHTHOUSE__PROJECTOR__PRIME_CACHE", prime.to_string())
            .env("LIGHTHOUSE_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .context("spawning the projector")?;
        let stdout = child.stdout.take().context("projector stdout")?;
        let mut guard = ProjectorChild(Some(child), mount.to_owned());
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        match rx.recv_timeout(Duration::from_secs(120)) {
            Ok(line) if line.contains("mounted") => Ok(guard),
            _ => {
                guard.stop();
                bail!("the projector did not mount within 120 s")
            }
        }
    }

    fn pid(&self) -> Option<u32> {
        self.0.as_ref().map(Child::id)
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(child.id() as i32),
                nix::sys::signal::Signal::SIGTERM,
            );
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(10) {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
            lighthouse_projector::mount::clear_stale(&self.1);
        }
    }
}

impl Drop for ProjectorChild {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Deterministic pseudo-source: identifiers, comments, a needle in every 7th file.
fn source_text(i: usize) -> String {
    let mut s = format!("// file {i}\nuse std::collections::HashMap;\n\n");
    let lines = 40 + (i * 7919) % 120;
    for l in 0..lines {
        s.push_str(&format!(
            "pub fn item_{i}_{l}(x: u64) -> u64 {{ x.wrapping_mul({}) ^ 0x{:x} }}\n",
            l + 3,
            (i * 31 + l) * 2654435761 % 1_000_003
        ));
    }
    if i.is_multiple_of(7) {
        s.push_str("// NEEDLE_TODO: review this\n");
    }
    s
}

fn generate(root: &Path, files: usize) -> anyhow::Result<u64> {
    std::fs::create_dir_all(root.join(".lighthouse"))?;
    let mut bytes = 0;
    for i in 0..files {
        let dir = root.join(format!("crate_{:02}/src/mod_{:02}", i % 25, (i / 25) % 8));
        std::fs::create_dir_all(&dir)?;
        let ext = if i.is_multiple_of(5) { "md" } else { "rs" };
        let text = source_text(i);
        bytes += text.len() as u64;
        std::fs::write(dir.join(format!("file_{i:05}.{ext}")), text)?;
    }
    Ok(bytes)
}

fn drop_caches() -> bool {
    // SAFETY of data: sync first so dropping clean pages loses nothing.
    let _ = Command::new("sync").status();
    std::fs::write("/proc/sys/vm/drop_caches", "3\n").is_ok()
}

fn time_shell(script: &str, dir: &Path) -> anyhow::Result<f64> {
    let start = Instant::now();
    let status = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg("bench")
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()?;
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    // grep exits 1 when nothing matched; anything else is a broken run.
    if status.code().is_none_or(|c| c > 1) {
        bail!("`{script}` failed on {}: {status}", dir.display());
    }
    Ok(ms)
}

/// Warm figure: the median of three runs right after the cold one (two cores make
/// single runs noisy).
fn warm(script: &str, dir: &Path) -> anyhow::Result<f64> {
    let mut runs = [
        time_shell(script, dir)?,
        time_shell(script, dir)?,
        time_shell(script, dir)?,
    ];
    runs.sort_by(f64::total_cmp);
    Ok(runs[1])
}

const OPS: &[(&str, &str)] = &[
    ("grep -r", "grep -r -c NEEDLE_TODO \"$1\""),
    ("find -name", "find \"$1\" -name '*.md'"),
    (
        "cat all",
        "find \"$1\" -type f -print0 | xargs -0 -n 256 cat",
    ),
];

pub async fn fuse(settings: &Settings, args: FuseArgs) -> anyhow::Result<FuseReport> {
    let crate::pipeline::BenchServer {
        dir,
        server,
        url,
        client,
    } = crate::pipeline::BenchServer::start(settings).await?;
    let js = async_nats::jetstream::new(client.clone());
    Topology::embedded()?.apply(&js).await?;

    let local_root = dir.path().join("bench-proj");
    let tree_bytes = generate(&local_root, args.files)?;
    let report =
        lighthouse_hook::sync::sync(&js, &local_root, None, "bench", 64 << 20, &()).await?;
    eprintln!(
        "bench: generated and synced {} files ({} published)",
        report.scanned, report.published
    );
    let exe = std::env::current_exe()?;
    let state = dir.path().join("state");
    let mount = dir.path().join("mnt");
    let fuse_root = mount.join("bench-proj").join("current");

    let mut timings = Vec::new();
    let mut dropped = true;
    let mut rebuild_ms = 0.0;
    for (op, script) in OPS {
        dropped &= drop_caches();
        let local_cold = time_shell(script, &local_root)?;
        let local_warm = warm(script, &local_root)?;
        let start = Instant::now();
        let mut projector = ProjectorChild::start(&exe, &url, &state, &mount, true)?;
        rebuild_ms = start.elapsed().as_secs_f64() * 1000.0;
        dropped &= drop_caches();
        let fuse_cold = time_shell(script, &fuse_root)?;
        let fuse_warm = warm(script, &fuse_root)?;
        projector.stop();
        let mut projector = ProjectorChild::start(&exe, &url, &state, &mount, false)?;
        dropped &= drop_caches();
        let fuse_unprimed = time_shell(script, &fuse_root)?;
        projector.stop();
        eprintln!(
            "bench: {op}: local {local_cold:.1}/{local_warm:.1} ms, fuse {fuse_cold:.1}/{fuse_warm:.1} ms"
        );
        timings.push(Timing {
            op: (*op).to_owned(),
            local_cold_ms: local_cold,
            fuse_cold_ms: fuse_cold,
            fuse_cold_unprimed_ms: fuse_unprimed,
            cold_unprimed_ratio: fuse_unprimed / local_cold.max(f64::EPSILON),
            local_warm_ms: local_warm,
            fuse_warm_ms: fuse_warm,
            cold_ratio: fuse_cold / local_cold.max(f64::EPSILON),
            warm_ratio: fuse_warm / local_warm.max(f64::EPSILON),
        });
    }

    // Event → visible through the mount, on a fresh projector that also did the work
    // above once more (so its peak RSS reflects browsing the whole tree).
    let projector = ProjectorChild::start(&exe, &url, &state, &mount, true)?;
    time_shell(OPS[2].1, &fuse_root)?;
    let project = Project::enclosing(&local_root, None)?;
    let origin = Origin {
        agent: "bench".into(),
        tool: "Write".into(),
        tool_use_id: None,
    };
    let mut h = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let probe_local = local_root.join("crate_00/src/probe.txt");
    let probe_fuse = fuse_root.join("crate_00/src/probe.txt");
    for i in 0..args.events {
        let text = format!("probe version {i}\n");
        std::fs::File::create(&probe_local)?.write_all(text.as_bytes())?;
        let mut origin = origin.clone();
        origin.tool_use_id = Some(format!("bench-probe-{i}"));
        let version = read_version(&project, "crate_00/src/probe.txt", &origin, 1 << 20)?;
        let start = Instant::now();
        publish(&js, version).await?;
        loop {
            if std::fs::read(&probe_fuse).is_ok_and(|b| b == text.as_bytes()) {
                break;
            }
            if start.elapsed() > Duration::from_secs(10) {
                bail!("version {i} not visible through the mount within 10 s");
            }
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        h.record(start.elapsed().as_micros() as u64)?;
    }
    let rss = projector
        .pid()
        .and_then(crate::pipeline::peak_rss_kb)
        .unwrap_or(0) as f64
        / 1024.0;
    drop(projector);
    drop(server);
    Ok(FuseReport {
        files: args.files,
        tree_bytes,
        page_cache_dropped: dropped,
        timings,
        event_visible_p50_ms: h.value_at_quantile(0.5) as f64 / 1000.0,
        event_visible_p99_ms: h.value_at_quantile(0.99) as f64 / 1000.0,
        projector_peak_rss_mb: rss,
        projector_rebuild_ms: rebuild_ms,
    })
}
