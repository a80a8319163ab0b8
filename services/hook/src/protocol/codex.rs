//! Codex CLI: a Claude-shaped `PreToolUse`/`PostToolUse` protocol that enforces only
//! denials. Measured with codex-cli 0.171.0: `permissionDecision: "deny"`, a top-level
//! `{"decision":"block"}` and exit 2 (reason on stderr) block the call; `allow` and
//! `ask` are "unsupported" (the hook counts as failed and the call runs), as do exit 1
//! and unparsable output. So: allow is silence, and everything else is a deny.

use super::{Answer, Output, deny_with_exit_2, unresolved_reason};
use lighthouse_schemas::Verdict;
use serde_json::json;

pub fn pre(answer: &Answer) -> Output {
    let reason = match answer.verdict {
        Verdict::Allow => return Output::SILENT,
        Verdict::Deny => answer.reason.clone(),
        Verdict::Escalate => unresolved_reason(answer),
    };
    deny_with_exit_2(
        json!({
            "hookSpecificOutput": {
                "hookEventName": "PreToolUse",
                "permissionDecision": "deny",
                "permissionDecisionReason": reason,
            }
        }),
        &reason,
    )
}

/// Codex's PostToolUse takes `additionalContext` like Claude Code's.
pub fn post(context: Option<&str>) -> Output {
    match context {
        Some(context) => Output {
            stdout: Some(
                json!({
                    "hookSpecificOutput": {
                        "hookEventName": "PostToolUse",
                        "additionalContext": context,
                    }
                })
                .to_string(),
            ),
            stderr: None,
            code: 0,
        },
        None => Output::SILENT,
    }
}

/// Files an `apply_patch` call names (added, updated, deleted or moved to), from the
/// patch text: Codex applies patches itself, so no `file_path` field says which.
pub fn patched_files(patch: &str) -> Vec<String> {
    let mut files: Vec<String> = Vec::new();
    for line in patch.lines() {
        let line = line.trim_start();
        for prefix in [
            "*** Add File: ",
            "*** Update File: ",
            "*** Delete File: ",
            "*** Move to: ",
        ] {
            if let Some(path) = line.strip_prefix(prefix) {
                let path = path.trim();
                if !path.is_empty() && !files.iter().any(|f| f == path) {
                    files.push(path.to_owned());
                }
            }
        }
    }
    files
}

/// The patch text of a Codex call, when it is one: the `apply_patch` tool's input, or
/// a shell command that runs `apply_patch` (Codex intercepts those and applies them).
pub fn patch_text(tool_name: &str, tool_input: &serde_json::Value) -> Option<String> {
    let text = match tool_name {
        "apply_patch" => tool_input
            .get("input")
            .or_else(|| tool_input.get("patch"))
            .or_else(|| tool_input.get("command"))?,
        "Bash" => tool_input.get("command")?,
        _ => return None,
    };
    let text = match text {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p.as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        _ => return None,
    };
    text.contains("*** Begin Patch").then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn answer(verdict: Verdict) -> Answer {
        Answer {
            verdict,
            reason: "Lighthouse: risky".into(),
            cmd_id: "co-123".into(),
            context: None,
        }
    }

    #[test]
    fn allow_is_silent_and_everything_else_denies_with_exit_2() {
        assert_eq!(pre(&answer(Verdict::Allow)), Output::SILENT);
        let deny = pre(&answer(Verdict::Deny));
        assert_eq!(deny.code, 2);
        assert_eq!(deny.stderr.as_deref(), Some("Lighthouse: risky"));
        let v: Value = serde_json::from_str(deny.stdout.as_deref().unwrap()).unwrap();
        assert_eq!(v["hookSpecificOutput"]["permissionDecision"], "deny");
    }

    #[test]
    fn an_unresolved_escalation_says_how_to_get_approved() {
        let out = pre(&answer(Verdict::Escalate));
        assert_eq!(out.code, 2);
        let reason = out.stderr.unwrap();
        assert!(
            reason.contains("lighthouse expert approve co-123"),
            "{reason}"
        );
        assert!(reason.contains("retry"), "{reason}");
        assert!(out.stdout.unwrap().contains("\"deny\""));
    }

    #[test]
    fn patches_name_their_files() {
        let cmd = "apply_patch <<'EOF'\n*** Begin Patch\n*** Add File: a.txt\n+hi\n*** Update File: src/b.rs\n*** Move to: src/c.rs\n@@\n-x\n+y\n*** Delete File: old.txt\n*** End Patch\nEOF\n";
        let text = patch_text("Bash", &serde_json::json!({"command": cmd})).unwrap();
        assert_eq!(
            patched_files(&text),
            ["a.txt", "src/b.rs", "src/c.rs", "old.txt"]
        );
        assert_eq!(
            patch_text("Bash", &serde_json::json!({"command": "ls"})),
            None
        );
        assert!(
            patch_text(
                "apply_patch",
                &serde_json::json!({"input": "*** Begin Patch\n*** End Patch"})
            )
            .is_some()
        );
    }
}
