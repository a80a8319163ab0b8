//! The real agent CLIs (Claude Code, Codex CLI, Gemini CLI, pinned in
//! `tests/clients/package.json`), driven offline through `tests/clients/mock_model.py`,
//! with Lighthouse installed by its own `install` command and the pipeline running (a
//! real nats-server and validator). Each client gets one scripted session: a deny-class
//! command, an escalated one, an allowed one and a file write; for Claude Code also a
//! Read of an annotated file before its Edit. Claude Code runs under `lighthouse up`
//! (identities, permissions, the hook relay), the others against a bare pipeline.

use crate::up::Up;
use crate::util::*;
use async_nats::jetstream;
use lighthouse_schemas::{FileVersion, Token, decode, subject};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

fn clients_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/clients")
}

/// The pinned CLIs, installed with npm on first use (scripts/test does it up front).
fn client_bin(name: &str) -> PathBuf {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    let dir = clients_dir();
    INSTALLED.get_or_init(|| {
        if !dir.join("node_modules/.bin/claude").exists() {
            let status = Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
                .current_dir(&dir)
                .status()
                .expect("npm is needed for the client tests");
            assert!(status.success(), "npm ci in tests/clients failed");
        }
    });
    dir.join("node_modules/.bin").join(name)
}

/// The scripted model API, killed on drop.
struct Mock {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Mock {
    fn start(dir: &Path, script: &Value) -> Mock {
        let script_path = dir.join("script.json");
        std::fs::write(&script_path, script.to_string()).unwrap();
        let log = dir.join("requests.jsonl");
        let port_file = dir.join("port");
        let child = Command::new("python3")
            .arg(clients_dir().join("mock_model.py"))
            .args([&script_path, &log, &port_file])
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let start = Instant::now();
        let port = loop {
            if let Ok(text) = std::fs::read_to_string(&port_file)
                && let Ok(port) = text.trim().parse()
            {
                break port;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "mock did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        Mock { child, port, log }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Every request body the model was sent, in order.
    fn requests(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .map(|v| v["body"].clone())
            .collect()
    }
}

impl Drop for Mock {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A project (a git repo) and a home directory for one client session.
struct Session {
    dir: tempfile::TempDir,
}

impl Session {
    fn new() -> Session {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("home")).unwrap();
        std::fs::create_dir_all(dir.path().join("proj/.git")).unwrap();
        // The deny-class command would delete this if it ran.
        std::fs::write(dir.path().join("home/canary"), "alive").unwrap();
        Session { dir }
    }
    fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }
    fn proj(&self) -> PathBuf {
        self.dir.path().join("proj")
    }
    fn project_name(&self) -> String {
        lighthouse_config::project::name_of(&self.proj(), None)
    }
}

/// PATH with the lighthouse binaries first, so the installer registers a bare name.
fn path_with_lighthouse() -> String {
    let bin = Path::new(LIGHTHOUSE).parent().unwrap();
    format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// What the client is gated by: a bare pipeline (a server and a validator, no
/// credentials) or `lighthouse up` as a user runs it (credentials, the relay).
enum Gate {
    Bare(Box<Pipeline>),
    Up(Up),
}

impl Gate {
    /// A `lighthouse` command that finds this pipeline.
    fn cmd(&self) -> Command {
        match self {
            Gate::Bare(p) => p.cmd(),
            Gate::Up(up) => up.cli(&[]),
        }
    }

    /// The environment a process of the client (its hook, its MCP servers) finds the
    /// pipeline by.
    fn client_env(&self, s: &Session) -> Vec<(&'static str, String)> {
        let path = |p: &Path| p.display().to_string();
        match self {
            Gate::Bare(p) => vec![
                (
                    "LIGHTHOUSE_CONFIG",
                    path(&s.dir.path().join("no-config.toml")),
                ),
                ("LIGHTHOUSE__STATE_DIR", path(p.state.path())),
                ("LIGHTHOUSE__NATS__URL", p.server.url()),
            ],
            Gate::Up(up) => vec![
                ("LIGHTHOUSE_CONFIG", path(&up.config)),
                ("LIGHTHOUSE__STATE_DIR", path(up.state.path())),
            ],
        }
    }

    /// An expert this pipeline lets annotate: anyone on a bare one; under `up`, the one
    /// expert it knows (the local user).
    fn expert(&self) -> String {
        match self {
            Gate::Bare(_) => "sec-reviewer".to_owned(),
            Gate::Up(_) => {
                lighthouse::expert::expert_id(None).unwrap_or_else(|_| "expert".to_owned())
            }
        }
    }

    async fn js(&self) -> jetstream::Context {
        match self {
            Gate::Bare(p) => p.js().await,
            Gate::Up(up) => up.js("ops").await,
        }
    }
}

/// `lighthouse install <client> --project` in the session's project.
fn install(p: &Gate, s: &Session, client: &str) {
    let out = p
        .cmd()
        .args(["install", client, "--project"])
        .current_dir(s.proj())
        .env("HOME", s.home())
        .env("PATH", path_with_lighthouse())
        .output()
        .unwrap();
    assert!(out.status.success(), "install {client}: {out:?}");
}

/// The client process with the session's environment and the pipeline's settings.
fn client_cmd(p: &Gate, s: &Session, bin: &str) -> Command {
    let mut cmd = Command::new(client_bin(bin));
    cmd.current_dir(s.proj())
        .env_clear()
        .env("PATH", path_with_lighthouse())
        .env("HOME", s.home())
        .env("LANG", "C.UTF-8")
        .stdin(Stdio::null())
        .envs(p.client_env(s));
    cmd
}

fn run(mut cmd: Command) -> String {
    let out = cmd.output().unwrap();
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "client failed: {text}");
    text
}

/// The latest version of `rel` on LH_FS, if any.
async fn recorded(p: &Gate, s: &Session, rel: &str) -> Option<FileVersion> {
    let js = p.js().await;
    let stream = js.get_stream("LH_FS").await.ok()?;
    let subject = subject::file(&Token::encode(&s.project_name()), &Token::encode(rel));
    let message = stream.direct_get_last_for_subject(subject).await.ok()?;
    decode(&message.payload).ok()
}

/// The steps every client runs, in its own tool vocabulary: a deny-class command, an
/// escalated one, an allowed one that writes a file, then the client's file write.
fn shell_steps(tool: &str, field: &str, write: Value) -> Value {
    let step = |cmd: &str| json!({"name": tool, "input": {field: cmd}});
    json!([
        step("rm -rf ~"),
        step("git reset --hard HEAD~3; touch escalated-ran.txt"),
        step("echo made > allowed.txt"),
        write,
    ])
}

fn assert_gated(s: &Session) {
    assert!(
        s.home().join("canary").exists(),
        "the deny-class command ran"
    );
    assert!(
        !s.proj().join("escalated-ran.txt").exists(),
        "the escalated command ran unreviewed"
    );
    assert!(
        s.proj().join("allowed.txt").exists(),
        "the allowed command did not run"
    );
}

async fn pipeline() -> Gate {
    let mut p = Pipeline::start();
    p.spawn_validator("v-clients");
    p.wait_for_validators(1).await;
    Gate::Bare(Box::new(p))
}

#[tokio::test(flavor = "multi_thread")]
async fn claude_code_is_gated_and_sees_notes_before_it_edits() {
    let p = Gate::Up(Up::start(&[], "").await);
    let s = Session::new();
    install(&p, &s, "claude");
    let settings: Value =
        serde_json::from_slice(&std::fs::read(s.proj().join(".claude/settings.json")).unwrap())
            .unwrap();
    let hook = &settings["hooks"]["PreToolUse"][0]["hooks"][0];
    // A portable command name (whichever of the two is on PATH), never a build path.
    let command = hook["command"].as_str().unwrap();
    assert!(
        command == "lighthouse-hook claude" || command == "lighthouse hook claude",
        "{command}"
    );
    assert_eq!(hook["onFailure"], "block");
    // An expert's note on the function the agent will read, then edit.
    let file = s.proj().join("db.py");
    std::fs::write(
        &file,
        "def drop_users(conn):\n    conn.execute('DELETE FROM users')\n",
    )
    .unwrap();
    let out = p
        .cmd()
        .args(["annotate"])
        .arg(&file)
        .args([
            "--line",
            "1",
            "--message",
            "NOTE-7Q: keep the audit trigger",
            "--category",
            "security",
            "--expert",
            &p.expert(),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "annotate: {out:?}");
    // Anchored by the annotator before the agent reads the file.
    eventually(Duration::from_secs(30), || async {
        let out = p
            .cmd()
            .args(["annotations", "--json"])
            .arg(&file)
            .output()
            .unwrap();
        serde_json::from_slice::<Value>(&out.stdout)
            .is_ok_and(|notes| notes.as_array().is_some_and(|n| !n.is_empty()))
    })
    .await;

    let mut steps = shell_steps(
        "Bash",
        "command",
        json!({"name": "Write", "input": {"file_path": s.proj().join("notes.txt"), "content": "hello\n"}}),
    );
    let steps = steps.as_array_mut().unwrap();
    steps.push(json!({"name": "Read", "input": {"file_path": file}}));
    steps.push(json!({"name": "Edit", "input": {"file_path": file, "old_string": "DELETE FROM users", "new_string": "DELETE FROM users WHERE id = 1"}}));
    let mock = Mock::start(s.dir.path(), &json!({"steps": steps, "final": "done"}));
    let mut cmd = client_cmd(&p, &s, "claude");
    cmd.env("ANTHROPIC_BASE_URL", mock.url())
        .env("ANTHROPIC_API_KEY", "sk-test")
        .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
        .env("DISABLE_AUTOUPDATER", "1")
        .args(["-p", "do the steps", "--output-format", "json"]);
    let text = run(cmd);
    assert_gated(&s);
    assert!(
        std::fs::read_to_string(&file)
            .unwrap()
            .contains("WHERE id = 1"),
        "the allowed edit did not run: {text}"
    );
    for rel in ["allowed.txt", "notes.txt", "db.py"] {
        assert!(recorded(&p, &s, rel).await.is_some(), "{rel} not on LH_FS");
    }
    // The note reached the model before it asked for the edit: in the request whose
    // answer was the Edit (the last step), i.e. with the Read's result.
    let requests = mock.requests();
    let with_tools: Vec<&Value> = requests
        .iter()
        .filter(|r| r.get("tools").is_some())
        .collect();
    let edit_request = with_tools
        .iter()
        .find(|r| r.to_string().matches("tool_result").count() == steps.len() - 1)
        .expect("the model was asked for the edit");
    assert!(
        edit_request.to_string().contains("NOTE-7Q"),
        "the note did not reach the model before the edit"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn codex_cli_is_gated_and_escalations_are_denied_with_a_remedy() {
    let p = pipeline().await;
    let s = Session::new();
    install(&p, &s, "codex");
    let patch = "apply_patch <<'EOF'\n*** Begin Patch\n*** Add File: patched.txt\n+patched\n*** End Patch\nEOF\n";
    let mut steps = shell_steps(
        "exec_command",
        "cmd",
        json!({"name": "exec_command", "input": {"cmd": patch}}),
    );
    // A patch deleting the project's hook registration: the guard's own file (D10).
    let unhook = "apply_patch <<'EOF'\n*** Begin Patch\n*** Delete File: .codex/hooks.json\n*** End Patch\nEOF\n";
    if let Some(steps) = steps.as_array_mut() {
        steps.push(json!({"name": "exec_command", "input": {"cmd": unhook}}));
    }
    let mock = Mock::start(s.dir.path(), &json!({"steps": steps, "final": "done"}));
    let codex_home = s.home().join(".codex");
    std::fs::create_dir_all(&codex_home).unwrap();
    std::fs::write(
        codex_home.join("config.toml"),
        format!(
            "model = \"gpt-5.2-codex\"\nmodel_provider = \"mock\"\n[model_providers.mock]\nname = \"mock\"\nbase_url = \"{}/v1\"\nwire_api = \"responses\"\nenv_key = \"MOCK_API_KEY\"\n",
            mock.url()
        ),
    )
    .unwrap();
    let mut cmd = client_cmd(&p, &s, "codex");
    cmd.env("CODEX_HOME", &codex_home)
        .env("MOCK_API_KEY", "x")
        .args([
            "exec",
            "--skip-git-repo-check",
            // Trusts the project (its .codex/hooks.json) and the new hook for this run,
            // as a user does once with /hooks.
            "--trust",
            "--dangerously-bypass-hook-trust",
            "--dangerously-bypass-approvals-and-sandbox",
            "do the steps",
        ]);
    let text = run(cmd);
    assert_gated(&s);
    assert!(
        s.proj().join("patched.txt").exists(),
        "apply_patch did not run: {text}"
    );
    assert!(
        s.proj().join(".codex/hooks.json").exists(),
        "a patch deleted the hook registration: {text}"
    );
    // Codex 0.171 fires no PostToolUse for an apply_patch it intercepts from a shell
    // call, so only the shell-written file is checked here.
    assert!(
        recorded(&p, &s, "allowed.txt").await.is_some(),
        "allowed.txt not on LH_FS"
    );
    // The model was told how to get the escalated call approved.
    let last = mock.requests().last().cloned().unwrap().to_string();
    assert!(
        last.contains("lighthouse expert approve co-"),
        "no remedy in: {last}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn gemini_cli_is_gated_with_before_tool() {
    let p = pipeline().await;
    let s = Session::new();
    install(&p, &s, "gemini");
    let steps = shell_steps(
        "run_shell_command",
        "command",
        json!({"name": "write_file", "input": {"file_path": s.proj().join("written.txt"), "content": "hi\n"}}),
    );
    let mock = Mock::start(s.dir.path(), &json!({"steps": steps, "final": "done"}));
    std::fs::create_dir_all(s.home().join(".gemini")).unwrap();
    std::fs::write(
        s.home().join(".gemini/settings.json"),
        r#"{"security":{"auth":{"selectedType":"gemini-api-key"}}}"#,
    )
    .unwrap();
    let mut cmd = client_cmd(&p, &s, "gemini");
    cmd.env("GEMINI_API_KEY", "x")
        .env("GOOGLE_GEMINI_BASE_URL", mock.url())
        .env("GEMINI_CLI_TRUST_WORKSPACE", "true")
        .args(["-p", "do the steps", "--yolo", "-m", "gemini-2.5-flash"]);
    let text = run(cmd);
    assert_gated(&s);
    assert!(
        s.proj().join("written.txt").exists(),
        "write_file did not run: {text}"
    );
    for rel in ["allowed.txt", "written.txt"] {
        assert!(recorded(&p, &s, rel).await.is_some(), "{rel} not on LH_FS");
    }
    let last = mock.requests().last().cloned().unwrap().to_string();
    assert!(
        last.contains("lighthouse expert approve ge-"),
        "no remedy in: {last}"
    );
}

/// Headless Claude Code with `--permission-prompt-tool`: when the hook answers "ask" (an
/// escalation nobody approved), Claude Code asks `lighthouse mcp`'s permission_prompt
/// tool instead of failing, and Lighthouse's answer (here: not approved, so denied with
/// the reason) is what the model reads; the command never runs.
#[tokio::test(flavor = "multi_thread")]
async fn claude_code_asks_lighthouse_through_the_permission_prompt_tool() {
    let p = pipeline().await;
    let s = Session::new();
    install(&p, &s, "claude");
    let steps = json!([
        {"name": "Bash", "input": {"command": "git reset --hard HEAD~3; touch escalated-ran.txt"}},
    ]);
    let mock = Mock::start(s.dir.path(), &json!({"steps": steps, "final": "done"}));
    let mut env: serde_json::Map<String, Value> = p
        .client_env(&s)
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.into()))
        .collect();
    env.insert("PATH".into(), path_with_lighthouse().into());
    env.insert("LIGHTHOUSE__MCP__PERMISSION_WAIT_MS".into(), "5000".into());
    let mcp = json!({"mcpServers": {"lighthouse": {
        "command": "lighthouse",
        "args": ["mcp", "--expert", "prompt-bot", "--specialty", "security"],
        "env": env,
    }}});
    let config = s.dir.path().join("mcp.json");
    std::fs::write(&config, mcp.to_string()).unwrap();
    let mut cmd = client_cmd(&p, &s, "claude");
    cmd.env("ANTHROPIC_BASE_URL", mock.url())
        .env("ANTHROPIC_API_KEY", "sk-test")
        .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
        .env("DISABLE_AUTOUPDATER", "1")
        .args(["-p", "do the steps", "--output-format", "json"])
        .arg("--mcp-config")
        .arg(&config)
        .args([
            "--permission-prompt-tool",
            "mcp__lighthouse__permission_prompt",
        ]);
    let text = run(cmd);
    assert!(
        !s.proj().join("escalated-ran.txt").exists(),
        "the escalated command ran unreviewed: {text}"
    );
    // The tool result the model got back is Lighthouse's answer through the prompt tool.
    let requests = mock.requests();
    let results = requests
        .iter()
        .map(Value::to_string)
        .find(|r| r.contains("tool_result"))
        .unwrap_or_else(|| panic!("no tool result reached the model: {text}"));
    assert!(
        results.contains("Lighthouse: no expert approved this call")
            || results.contains("Lighthouse: this call needs expert approval"),
        "the permission prompt tool did not answer: {results}"
    );
}
