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
}
