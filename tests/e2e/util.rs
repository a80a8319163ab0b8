//! Helpers for the end-to-end tests: the real `lighthouse` binary as child processes
//! against a real nats-server.

use async_nats::jetstream;
use futures::StreamExt;
use lighthouse_schemas::{Decision, decode};
use lighthouse_tests::NatsServer;
use serde_json::{Value, json};
use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

pub const LIGHTHOUSE: &str = env!("CARGO_BIN_EXE_lighthouse");

/// A `lighthouse` command isolated from the developer's own config and state.
pub fn lighthouse(state: &Path, url: &str) -> Command {
    let mut cmd = Command::new(LIGHTHOUSE);
    cmd.env("LIGHTHOUSE_CONFIG", state.join("no-such-config.toml"))
        .env("LIGHTHOUSE__STATE_DIR", state)
        .env("LIGHTHOUSE__NATS__URL", url)
        .env("LIGHTHOUSE_LOG", "warn")
        .stdin(Stdio::null());
    cmd
}

/// Kills its processes on drop, so a failing test leaves nothing behind.
#[derive(Default)]
pub struct Procs(pub Vec<Child>);

impl Drop for Procs {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A server, a state dir and the validators started against them.
pub struct Pipeline {
    pub server: NatsServer,
    pub state: TempDir,
    pub validators: Procs,
}

impl Pipeline {
    pub fn start() -> Pipeline {
        Pipeline {
            server: NatsServer::start(),
            state: tempfile::tempdir().unwrap(),
            validators: Procs::default(),
        }
    }

    /// A `lighthouse` command against this pipeline. Its server is unauthenticated and
    /// no keys are on record, so hooks are told to believe it (`hook.trust_unsigned`),
    /// as a development setup would be.
    pub fn cmd(&self) -> Command {
        let mut cmd = lighthouse(self.state.path(), &self.server.url());
        cmd.env("LIGHTHOUSE__HOOK__TRUST_UNSIGNED", "true");
        cmd
    }

    pub fn spawn_validator(&mut self, id: &str) -> u32 {
        let child = self
            .cmd()
            .args(["validator", "--id", id])
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let pid = child.id();
        self.validators.0.push(child);
        pid
    }

    pub async fn js(&self) -> jetstream::Context {
        jetstream::new(async_nats::connect(self.server.url()).await.unwrap())
    }

    /// Waits until `n` validators report presence (they have bound their consumers).
    /// A bound, not a speed check: idle, a validator reports in well under a second,
    /// but CI runs many pipelines at once on two cores (20 s once ran out there).
    pub async fn wait_for_validators(&self, n: usize) {
        let js = self.js().await;
        eventually(Duration::from_secs(60), || async {
            lighthouse_nats::presence::list(&js)
                .await
                .map(|p| p.iter().filter(|w| w.kind == "validator").count() >= n)
                .unwrap_or(false)
        })
        .await;
    }

    pub fn hook(&self, payload: &Value) -> (Value, Duration) {
        run_hook(self.cmd(), payload)
    }
}

/// Runs `lighthouse hook claude` with `payload` on stdin; returns its answer.
pub fn run_hook(mut cmd: Command, payload: &Value) -> (Value, Duration) {
    let (out, elapsed) = run_with_stdin(&mut cmd, &payload.to_string());
    assert!(out.status.success(), "hook exit status {:?}", out.status);
    let text = String::from_utf8_lossy(&out.stdout);
    let answer = serde_json::from_str(text.trim())
        .unwrap_or_else(|e| panic!("hook printed no JSON ({e}): {text:?}"));
    (answer, elapsed)
}

pub fn run_with_stdin(cmd: &mut Command, stdin: &str) -> (Output, Duration) {
    let start = Instant::now();
    let mut child = spawn_piped(cmd.args(["hook", "claude"]));
    // The hook stops reading at its size bound; a broken pipe then is expected.
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    let out = child.wait_with_output().unwrap();
    (out, start.elapsed())
}

/// `cmd` started with stdin, stdout and stderr piped.
pub fn spawn_piped(cmd: &mut Command) -> std::process::Child {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

pub fn pre_tool_use(tool: &str, input: Value, id: &str) -> Value {
    json!({
        "session_id": "s-test",
        "transcript_path": "/tmp/t.jsonl",
        "cwd": "/work/demo-project",
        "permission_mode": "default",
        "hook_event_name": "PreToolUse",
        "tool_name": tool,
        "tool_input": input,
        "tool_use_id": id,
    })
}

pub fn bash(command: &str, id: &str) -> Value {
    pre_tool_use("Bash", json!({ "command": command }), id)
}

pub fn permission(answer: &Value) -> &str {
    answer["hookSpecificOutput"]["permissionDecision"]
        .as_str()
        .unwrap_or("<none>")
}

pub fn reason(answer: &Value) -> &str {
    answer["hookSpecificOutput"]["permissionDecisionReason"]
        .as_str()
        .unwrap_or("")
}

/// Polls `check` until it holds or `limit` passes (then panics).
pub async fn eventually<F, Fut>(limit: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !check().await {
        assert!(
            start.elapsed() < limit,
            "condition not met within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every decision in the audit log, in order.
pub async fn all_decisions(js: &jetstream::Context) -> Vec<(String, Decision)> {
    let stream = js.get_stream("LH_DECISION").await.unwrap();
    let consumer = stream
        .create_consumer(jetstream::consumer::pull::OrderedConfig::default())
        .await
        .unwrap();
    let pending = stream.get_info().await.unwrap().state.messages as usize;
    let mut out = Vec::with_capacity(pending);
    if pending == 0 {
        return out;
    }
    let mut messages = consumer.messages().await.unwrap();
    while out.len() < pending {
        let m = tokio::time::timeout(Duration::from_secs(10), messages.next())
            .await
            .expect("audit log readable")
            .unwrap()
            .unwrap();
        out.push((m.subject.to_string(), decode(&m.payload).unwrap()));
    }
    out
}

pub async fn stream_messages(js: &jetstream::Context, name: &str) -> u64 {
    js.get_stream(name)
        .await
        .unwrap()
        .get_info()
        .await
        .unwrap()
        .state
        .messages
}

/// Whether every consumer on `stream` has acked all it was given: nothing pending,
/// nothing delivered and unacked. Then no redelivery can add anything (a second
/// decision, say) later.
pub async fn all_acked(js: &jetstream::Context, stream: &str) -> bool {
    let Ok(stream) = js.get_stream(stream).await else {
        return false;
    };
    let mut names = stream.consumer_names();
    let mut seen = 0;
    while let Some(Ok(name)) = names.next().await {
        let Ok(mut consumer) = stream
            .get_consumer::<jetstream::consumer::pull::Config>(&name)
            .await
        else {
            return false;
        };
        match consumer.info().await {
            Ok(info) if info.num_pending == 0 && info.num_ack_pending == 0 => seen += 1,
            _ => return false,
        }
    }
    seen > 0
}

/// Whether an expert's pull on its specialty's shared consumer (`LH_ESC`) is open at
/// the server: the expert is ready for an escalation. Tests wait on this, not a sleep.
pub async fn expert_pulling(js: &jetstream::Context, specialty: &str) -> bool {
    let Ok(stream) = js.get_stream("LH_ESC").await else {
        return false;
    };
    let durable = lighthouse_nats::experts::durable(specialty);
    let Ok(mut consumer) = stream
        .get_consumer::<jetstream::consumer::pull::Config>(&durable)
        .await
    else {
        return false;
    };
    consumer.info().await.is_ok_and(|i| i.num_waiting > 0)
}

/// `lighthouse hook codex` with `payload` on stdin: exit code and stderr.
pub fn codex_hook(mut cmd: Command, payload: &Value) -> (Option<i32>, String) {
    let mut child = cmd
        .args(["hook", "codex"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _ = child
        .stdin
        .take()
        .unwrap()
        .write_all(payload.to_string().as_bytes());
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
