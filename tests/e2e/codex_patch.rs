//! Codex applies `apply_patch` itself and fires no PostToolUse for it: the hook notes
//! an allowed patch and the session's next hook call records the files it names.

use crate::util::*;
use lighthouse::files::FileSpool;
use lighthouse_schemas::{FileContent, FileVersion, Token, decode, subject};
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn a_codex_patch_is_recorded_by_the_sessions_next_call() {
    let mut p = Pipeline::start();
    p.spawn_validator("v1");
    p.wait_for_validators(1).await;
    let project = tempfile::tempdir().unwrap();
    std::fs::create_dir(project.path().join(".git")).unwrap();
    let cwd = project.path().to_str().unwrap().to_owned();
    let call = |event: &str, command: &str, id: &str| {
        json!({
            "hook_event_name": event,
            "session_id": "s-patch",
            "cwd": cwd,
            "tool_name": "Bash",
            "tool_input": { "command": command },
            "tool_use_id": id,
        })
    };
    let patch = "apply_patch <<'EOF'\n*** Begin Patch\n*** Add File: notes.txt\n+patched\n*** End Patch\nEOF\n";
    let (code, stderr) = codex_hook(p.cmd(), &call("PreToolUse", patch, "call_patch"));
    assert_eq!(code, Some(0), "the patch was not allowed: {stderr}");
    // Codex applies the patch; no PostToolUse follows.
    std::fs::write(project.path().join("notes.txt"), "patched\n").unwrap();
    let spool = FileSpool::new(p.state.path());
    assert!(spool.pending().is_empty());

    let (code, stderr) = codex_hook(p.cmd(), &call("PreToolUse", "ls", "call_next"));
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        spool.pending().len(),
        1,
        "the next call did not record the patch"
    );

    let js = p.js().await;
    assert_eq!(spool.flush(&js).await, 1);
    let name = project.path().file_name().unwrap().to_str().unwrap();
    let stream = js.get_stream("LH_FS").await.unwrap();
    let stored = stream
        .direct_get_last_for_subject(subject::file(
            &Token::encode(name),
            &Token::encode("notes.txt"),
        ))
        .await
        .unwrap();
    let version: FileVersion = decode(&stored.payload).unwrap();
    assert_eq!(version.content, FileContent::Inline(b"patched\n".to_vec()));
    // Recorded once: a third call finds no note left.
    let (code, _) = codex_hook(p.cmd(), &call("PreToolUse", "ls", "call_third"));
    assert_eq!(code, Some(0));
    assert!(spool.pending().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_codex_patch_to_the_guards_settings_is_denied() {
    let mut p = Pipeline::start();
    p.spawn_validator("v1");
    p.wait_for_validators(1).await;
    let project = tempfile::tempdir().unwrap();
    std::fs::create_dir(project.path().join(".git")).unwrap();
    let patch = "apply_patch <<'EOF'\n*** Begin Patch\n*** Update File: .codex/config.toml\n@@\n-[hooks]\n+[unhooked]\n*** End Patch\nEOF\n";
    let call = json!({
        "hook_event_name": "PreToolUse",
        "session_id": "s-guard",
        "cwd": project.path(),
        "tool_name": "Bash",
        "tool_input": { "command": patch },
        "tool_use_id": "call_unhook",
    });
    let (code, stderr) = codex_hook(p.cmd(), &call);
    assert_eq!(code, Some(2), "the patch was not blocked: {stderr}");
    assert!(stderr.contains("guard"), "{stderr}");
}
