//! Worker binaries as child processes: isolated from the developer's configuration,
//! stopped with SIGTERM the way Kubernetes stops a pod, killed on drop.

use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// A running worker binary (`lighthouse-validator`, …) against one server.
#[derive(Debug)]
pub struct Worker {
    child: Child,
    _state: TempDir,
}

impl Worker {
    /// Starts `binary` with `nats.url` = `url`, its own state dir, no config file, and
    /// `env` (`LIGHTHOUSE__…` pairs) on top.
    pub fn start(binary: &Path, url: &str, env: &[(&str, &str)]) -> Worker {
        let state = tempfile::tempdir().expect("state dir");
        let mut command = Command::new(binary);
        command
            .env(
                "LIGHTHOUSE_CONFIG",
                state.path().join("no-such-config.toml"),
            )
            .env("LIGHTHOUSE__STATE_DIR", state.path())
            .env("LIGHTHOUSE__NATS__URL", url)
            .env("LIGHTHOUSE_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        for (key, value) in env {
            command.env(key, value);
        }
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", binary.display()));
        Worker {
            child,
            _state: state,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM (what Kubernetes sends to stop a pod).
    pub fn sigterm(&self) {
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        )
        .expect("SIGTERM delivered");
    }

    /// Its exit status, waiting up to `limit` for it (panics if it is still running).
    pub fn wait(&mut self, limit: Duration) -> ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("waitpid") {
                return status;
            }
            assert!(
                start.elapsed() < limit,
                "worker {} still running after {limit:?}",
                self.child.id()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `check` every 20 ms until it holds; panics after `limit`.
pub async fn until(limit: Duration, mut check: impl AsyncFnMut() -> bool) {
    let start = Instant::now();
    while !check().await {
        assert!(
            start.elapsed() < limit,
            "condition not met within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `(messages, distinct subjects)` in `LH_DECISION`: equal when no command was decided
/// twice (a decision's subject names its command).
pub async fn decision_counts(js: &async_nats::jetstream::Context) -> (u64, u64) {
    let state = js
        .get_stream("LH_DECISION")
        .await
        .expect("LH_DECISION exists")
        .get_info()
        .await
        .expect("stream info")
        .state;
    (state.messages, state.subjects_count)
}

/// A Bash command `shell` from agent `a<i % 8>` of project `proj`, id `<prefix>-<i>`.
pub fn bash_command(prefix: &str, i: usize, shell: &str) -> lighthouse_schemas::Command {
    let id = format!("{prefix}-{i}");
    lighthouse_schemas::Command {
        env: lighthouse_schemas::Envelope::new(
            id.clone(),
            lighthouse_schemas::now_us(),
            "proj",
            format!("a{}", i % 8),
            id.clone(),
        ),
        tool_name: "Bash".into(),
        tool_input: serde_json::json!({ "command": shell }),
        cwd: "/work/proj".into(),
        session_id: "s".into(),
        tool_use_id: Some(id),
        agent_kind: lighthouse_schemas::AgentKind::ClaudeCode,
        permission_mode: None,
        git_branch: None,
    }
}

/// Publishes `commands` on their `lh.cmd.<project>.<agent>` subjects (ids as
/// `Nats-Msg-Id`) and waits for every ack.
pub async fn publish_commands(
    js: &async_nats::jetstream::Context,
    commands: &[lighthouse_schemas::Command],
) {
    use lighthouse_schemas::{Token, encode, subject};
    let mut acks = Vec::with_capacity(commands.len());
    for c in commands {
        let target = subject::command(&Token::encode(&c.env.project), &Token::encode(&c.env.agent));
        let msg = async_nats::jetstream::message::PublishMessage::build()
            .payload(encode(c).expect("encodes").into())
            .message_id(&c.env.id);
        acks.push(js.send_publish(target, msg).await.expect("published"));
    }
    for ack in acks {
        ack.await.expect("acked");
    }
}
