//! The hook binary's command line: a wrong one must block the call (exit 2 in every
//! client), never exit with a code a client treats as "run it".

use std::io::Write as _;
use std::process::{Command, Stdio};

const HOOK: &str = env!("CARGO_BIN_EXE_lighthouse-hook");

const PAYLOAD: &[u8] = br#"{"hook_event_name":"PreToolUse","session_id":"s","tool_use_id":"t","cwd":"/tmp","tool_name":"Bash","tool_input":{"command":"ls"}}"#;

#[test]
fn a_wrong_command_line_blocks_the_call_and_says_how_to_call_it() {
    let state = tempfile::tempdir().unwrap();
    for args in [
        &["claude", "extra"][..],
        &["bogus"][..],
        &[][..],
        &["--help"][..],
    ] {
        let mut child = Command::new(HOOK)
            .args(args)
            .env("LIGHTHOUSE_CONFIG", state.path().join("none.toml"))
            .env("LIGHTHOUSE__STATE_DIR", state.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The client may close stdin unread; the answer is the same.
        let _ = child.stdin.take().unwrap().write_all(PAYLOAD);
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.matches("usage: lighthouse-hook").count(), 1, "{err}");
        assert!(err.contains("blocked"), "{err}");
    }
}
