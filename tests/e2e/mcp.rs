//! `lighthouse mcp` with a real MCP client (the official Python SDK, `mcp` from PyPI,
//! `tests/clients/mcp_expert.py`) against a real nats-server, validator and aggregator:
//! the client lists the tools, takes an escalation, reads its context, annotates, votes,
//! and sees the decision the hook then answers with. Over stdio and streamable HTTP.

use crate::util::*;
use lighthouse_schemas::{Tier, Token, Verdict};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

fn script() -> PathBuf {
    lighthouse_tests::workspace_root().join("tests/clients/mcp_expert.py")
}

/// The client's environment: the pipeline's, so the `lighthouse mcp` it spawns (stdio)
/// talks to the test's server.
fn python(p: &Pipeline) -> Command {
    let mut cmd = Command::new("python3");
    cmd.env(
        "LIGHTHOUSE_CONFIG",
        p.state.path().join("no-such-config.toml"),
    )
    .env("LIGHTHOUSE__STATE_DIR", p.state.path())
    .env("LIGHTHOUSE__NATS__URL", p.server.url())
    .env("LIGHTHOUSE_LOG", "warn")
    .stdin(Stdio::null())
    .stdout(Stdio::piped());
    cmd
}

/// The JSON lines a child prints, as they come.
fn lines(child: &mut std::process::Child) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// The next step the client reports (panics past [`LIMIT`]).
fn step(rx: &mpsc::Receiver<String>, name: &str) -> Value {
    loop {
        let line = rx
            .recv_timeout(LIMIT)
            .unwrap_or_else(|_| panic!("the MCP client never reported {name}"));
        let Ok(v) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        if v["step"] == name {
            return v;
        }
        assert_ne!(v["step"], "no_escalation", "the client saw no escalation");
    }
}

fn project(dir: &Path) -> PathBuf {
    let root = dir.join("shop");
    std::fs::create_dir_all(root.join(".git")).unwrap();
    std::fs::write(
        root.join("app.py"),
        "def connect():\n    key = None\n    return key\n",
    )
    .unwrap();
    root
}

#[tokio::test(flavor = "multi_thread")]
async fn mcp_expert_takes_an_escalation_and_votes() {
    assert!(
        Command::new("python3")
            .args(["-c", "import mcp"])
            .status()
            .is_ok_and(|s| s.success()),
        "the Python MCP SDK is missing: scripts/test installs it (pip install mcp)"
    );
    let mut p = Pipeline::start();
    let mut procs = Procs::default();
    procs.0.push(
        p.cmd()
            .args(["aggregator", "--id", "agg1"])
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let js = p.js().await;
    eventually(LIMIT, || async {
        lighthouse_nats::presence::list(&js)
            .await
            .is_ok_and(|w| w.iter().any(|w| w.kind == "aggregator"))
    })
    .await;
    p.spawn_validator("v1");
    p.wait_for_validators(1).await;

    let dir = tempfile::tempdir().unwrap();
    let root = project(dir.path());
    let synced = p.cmd().arg("sync").arg(&root).output().unwrap();
    assert!(synced.status.success(), "{synced:?}");

    // The client spawns `lighthouse mcp` over stdio and reports when it is ready.
    let mut client = python(&p)
        .arg(script())
        .args(["stdio", LIGHTHOUSE, "mcp-bot", "security"])
        .spawn()
        .unwrap();
    let rx = lines(&mut client);
    procs.0.push(client);
    let tools = step(&rx, "tools");
    for tool in [
        "list_escalations",
        "get_escalation",
        "vote",
        "get_decision",
        "read_file",
        "file_history",
        "annotate_file",
        "permission_prompt",
    ] {
        assert!(
            tools["names"].as_array().unwrap().iter().any(|n| n == tool),
            "{tools}"
        );
    }
    step(&rx, "ready");
    // Present as the one identity the server was started with.
    let key = lighthouse_schemas::subject::expert_key(
        &Token::encode("security"),
        &Token::encode("mcp-bot"),
    );
    eventually(LIMIT, || async {
        match js.get_key_value("lh_experts").await {
            Ok(kv) => matches!(kv.get(&key).await, Ok(Some(_))),
            Err(_) => false,
        }
    })
    .await;

    // An edit that writes an access key: escalated to security.
    let file = root.join("app.py");
    let mut payload = pre_tool_use(
        "Edit",
        json!({"file_path": file, "old_string": "key = None", "new_string": "key = 'AKIAABCDEFGHIJKLMNOP'"}),
        "toolu_mcp",
    );
    payload["cwd"] = json!(root);
    let mut hook = p.cmd();
    hook.env("LIGHTHOUSE__HOOK__ESCALATION_WAIT_MS", "50000");
    let hook = std::thread::spawn(move || run_hook(hook, &payload).0);

    let pending = step(&rx, "pending");
    assert_eq!(pending["item"]["cmd_id"], "toolu_mcp", "{pending}");
    assert_eq!(pending["item"]["project"], "shop", "{pending}");
    let context = step(&rx, "context")["context"].clone();
    assert_eq!(context["command"]["tool_name"], "Edit", "{context}");
    assert!(
        context["explanation"].as_str().unwrap().contains("policy:"),
        "{context}"
    );
    assert_eq!(
        context["escalated_because"]["rule_id"], "secret.key_material_written",
        "{context}"
    );
    let f = &context["files"][0];
    assert_eq!(f["project_path"], "app.py", "{context}");
    assert!(f["version"]["seq"].as_u64().unwrap() > 0, "{context}");
    assert!(
        f["diff"]
            .as_str()
            .unwrap()
            .contains("+    key = 'AKIAABCDEFGHIJKLMNOP'"),
        "{context}"
    );
    let wrong = step(&rx, "wrong_specialty");
    assert!(
        wrong["answer"]["error"]
            .as_str()
            .is_some_and(|e| e.contains("reviews as security")),
        "{wrong}"
    );
    let note = step(&rx, "annotated");
    assert_eq!(
        note["answer"]["annotation"]["definition"], "function connect",
        "{note}"
    );
    let read = step(&rx, "read");
    assert!(
        read["answer"]["content"]["text"]
            .as_str()
            .is_some_and(|t| t.contains("key = None")),
        "{read}"
    );
    let decision = step(&rx, "decision");
    assert_eq!(decision["answer"]["status"], "decided", "{decision}");
    assert_eq!(
        decision["answer"]["decision"]["verdict"], "allow",
        "{decision}"
    );

    // The hook answers with the expert's decision; the audit log names the expert.
    let answer = tokio::task::block_in_place(|| hook.join().unwrap());
    assert_eq!(permission(&answer), "allow", "{answer}");
    assert!(
        reason(&answer).contains("approved by the MCP expert"),
        "{answer}"
    );
    let recorded: Vec<_> = all_decisions(&js)
        .await
        .into_iter()
        .map(|(_, d)| d)
        .filter(|d| d.cmd_id == "toolu_mcp")
        .collect();
    assert_eq!(recorded.len(), 1);
    assert_eq!(
        (recorded[0].verdict, recorded[0].tier),
        (Verdict::Allow, Tier::Expert)
    );
    assert_eq!(recorded[0].voters[0].expert, "mcp-bot");
    assert_eq!(
        recorded[0].voters[0].suggestions,
        vec!["load it from the environment"]
    );

    // Claude Code's permission prompt: the recorded decision, else the policy.
    let prompt = step(&rx, "permission");
    assert_eq!(prompt["answer"]["behavior"], "allow", "{prompt}");
    assert_eq!(
        prompt["answer"]["updatedInput"]["new_string"], "key = 'AKIAABCDEFGHIJKLMNOP'",
        "{prompt}"
    );
    let unknown = step(&rx, "permission_unknown");
    assert_eq!(unknown["answer"]["behavior"], "deny", "{unknown}");

    // Streamable HTTP: another identity, the same tools.
    let mut server = p
        .cmd()
        .args(["mcp", "--listen", "127.0.0.1:0", "--expert", "web-bot"])
        .args(["--specialty", "security"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let server_lines = lines(&mut server);
    procs.0.push(server);
    let listening = server_lines.recv_timeout(LIMIT).unwrap();
    let url = listening
        .split("url=")
        .nth(1)
        .unwrap_or_else(|| panic!("no url in {listening:?}"))
        .to_owned();
    let mut http = python(&p)
        .arg(script())
        .args(["http", &url, "shop", "app.py"])
        .spawn()
        .unwrap();
    let http_lines = lines(&mut http);
    procs.0.push(http);
    let init = step(&http_lines, "initialized");
    assert_eq!(init["server"], "lighthouse", "{init}");
    assert!(
        init["instructions"]
            .as_str()
            .is_some_and(|i| i.contains("web-bot")),
        "{init}"
    );
    let history = step(&http_lines, "history");
    assert!(
        !history["answer"]["versions"].as_array().unwrap().is_empty(),
        "{history}"
    );
    let listed = step(&http_lines, "listed");
    assert_eq!(listed["answer"]["expert"], "web-bot", "{listed}");
}
