//! `lighthouse up` as a user runs it, isolated in temp dirs, for the tests that need the
//! whole default pipeline (identities, permissions, the hook relay).

use crate::util::*;
use async_nats::jetstream;
use lighthouse_nats::auth::{ClientAuth, identity_file};
use serde_json::Value;
use std::io::BufRead;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// How long `up` may take to be ready and healthy.
const LIMIT: Duration = Duration::from_secs(30);

/// `lighthouse up` with its defaults (plus `extra` args), isolated in temp dirs.
pub(crate) struct Up {
    pub child: Child,
    pub state: tempfile::TempDir,
    _data: tempfile::TempDir,
    pub config: PathBuf,
}

impl Up {
    pub(crate) async fn start(extra: &[&str], config: &str) -> Up {
        let up = Up::launch(extra, config, |_| {}).await;
        // Ready means the workers run; healthy means the validator reported in.
        eventually(LIMIT, || async {
            up.cli(&["status"]).status().unwrap().success()
        })
        .await;
        up
    }

    /// `up` on a state dir `prepare` has had first, up to its ready line (not waited
    /// for until healthy).
    pub(crate) async fn launch(
        extra: &[&str],
        config: &str,
        prepare: impl FnOnce(&std::path::Path),
    ) -> Up {
        let data = tempfile::tempdir().unwrap();
        let state = tempfile::tempdir().unwrap();
        let config_path = state.path().join("config.toml");
        std::fs::write(&config_path, config).unwrap();
        prepare(state.path());
        let (child, _) = spawn(data.path(), state.path(), &config_path, extra).await;
        Up {
            child,
            state,
            _data: data,
            config: config_path,
        }
    }

    /// A `lighthouse` command finding this pipeline as a user's shell would.
    pub(crate) fn cli(&self, args: &[&str]) -> Command {
        let mut c = Command::new(LIGHTHOUSE);
        c.args(args)
            .env("LIGHTHOUSE_CONFIG", &self.config)
            .env("LIGHTHOUSE__STATE_DIR", self.state.path())
            // Two cores run many pipelines at once here: a slow connect must not turn
            // the pipeline's answer into the hook's local one.
            .env("LIGHTHOUSE__HOOK__CONNECT_TIMEOUT_MS", "2000")
            .env("LIGHTHOUSE_LOG", "warn")
            .stdin(Stdio::null());
        c
    }

    pub(crate) fn hook(&self, payload: &Value) -> Value {
        run_hook(self.cli(&[]), payload).0
    }

    pub(crate) fn ids(&self) -> PathBuf {
        self.state.path().join("identities")
    }

    pub(crate) fn url(&self) -> String {
        let up: Value =
            serde_json::from_slice(&std::fs::read(self.state.path().join("up.json")).unwrap())
                .unwrap();
        up["nats_url"].as_str().unwrap().to_owned()
    }

    pub(crate) async fn js(&self, role: &str) -> jetstream::Context {
        let auth = ClientAuth {
            nkey: Some(identity_file(&self.ids(), role)),
            ..Default::default()
        };
        jetstream::new(
            lighthouse_nats::connect_as(&self.url(), "test", &auth)
                .await
                .unwrap(),
        )
    }

    pub(crate) async fn decision_of(&self, cmd_prefix: &str) -> Vec<lighthouse_schemas::Decision> {
        all_decisions(&self.js("ops").await)
            .await
            .into_iter()
            .map(|(_, d)| d)
            .filter(|d| d.cmd_id.starts_with(cmd_prefix))
            .collect()
    }
}

/// Starts `lighthouse up` (plus `extra` args) on these dirs and this config file, and
/// waits for its ready line (returned; it names the server).
pub(crate) async fn spawn(
    data: &std::path::Path,
    state: &std::path::Path,
    config: &std::path::Path,
    extra: &[&str],
) -> (Child, String) {
    let mut child = Command::new(LIGHTHOUSE)
        .args(["up", "--port", "0", "--data-dir"])
        .arg(data)
        .args(extra)
        .env("LIGHTHOUSE_CONFIG", config)
        .env("LIGHTHOUSE__STATE_DIR", state)
        .env(
            "LIGHTHOUSE__NATS__SERVER_BIN",
            lighthouse_tests::nats_server_binary(),
        )
        .env("LIGHTHOUSE__UP__MONITOR_PORT", "0")
        .env("LIGHTHOUSE_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let line = ready_line(child.stdout.take().unwrap()).await;
    assert!(line.starts_with("lighthouse ready"), "{line}");
    (child, line)
}

/// The first line `up` prints on `stdout` (its ready line), within a minute.
pub(crate) async fn ready_line(stdout: std::process::ChildStdout) -> String {
    let ready = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .unwrap();
        line
    });
    tokio::time::timeout(Duration::from_secs(60), ready)
        .await
        .expect("ready line")
        .unwrap()
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let _ = self.child.wait();
    }
}
