//! Claude Code: `PreToolUse` answers with `hookSpecificOutput.permissionDecision`
//! (`allow`, `deny`, `ask`); `PostToolUse` can add `additionalContext`, which reaches
//! the model with the tool's result (before its next step).

use super::{Answer, Output};
use lighthouse_schemas::Verdict;
use serde_json::{Value, json};

/// The PreToolUse answer. An unresolved escalation is "ask" (the user decides), or a
/// deny in strict mode.
pub fn pre(answer: &Answer, strict: bool) -> Output {
    let (decision, reason) = match answer.verdict {
        Verdict::Allow => ("allow", answer.reason.clone()),
        Verdict::Deny => ("deny", answer.reason.clone()),
        Verdict::Escalate if strict => (
            "deny",
            format!(
                "{} (strict mode: denied without expert approval)",
                answer.reason
            ),
        ),
        Verdict::Escalate => ("ask", answer.reason.clone()),
    };
    let mut out = json!({
        "hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": decision,
            "permissionDecisionReason": reason,
        }
    });
    if let Some(context) = &answer.context {
        out["hookSpecificOutput"]["additionalContext"] = Value::String(context.clone());
    }
    Output {
        stdout: Some(out.to_string()),
        stderr: None,
        code: 0,
    }
}

/// The PostToolUse answer: context for the model, or nothing.
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

    fn answer(verdict: Verdict) -> Answer {
        Answer {
            verdict,
            reason: "why".into(),
            cmd_id: "toolu_1".into(),
            context: None,
        }
    }

    fn decision(out: &Output) -> Value {
        let v: Value = serde_json::from_str(out.stdout.as_deref().unwrap()).unwrap();
        v["hookSpecificOutput"].clone()
    }

    #[test]
    fn verdicts_map_to_permission_decisions() {
        assert_eq!(
            decision(&pre(&answer(Verdict::Allow), false))["permissionDecision"],
            "allow"
        );
        assert_eq!(
            decision(&pre(&answer(Verdict::Deny), false))["permissionDecision"],
            "deny"
        );
        let ask = decision(&pre(&answer(Verdict::Escalate), false));
        assert_eq!(ask["permissionDecision"], "ask");
        assert_eq!(ask["permissionDecisionReason"], "why");
        assert_eq!(ask["hookEventName"], "PreToolUse");
        assert_eq!(
            decision(&pre(&answer(Verdict::Escalate), true))["permissionDecision"],
            "deny"
        );
    }

    #[test]
    fn context_rides_along() {
        let mut a = answer(Verdict::Allow);
        a.context = Some("experts: use a transaction".into());
        assert_eq!(
            decision(&pre(&a, false))["additionalContext"],
            "experts: use a transaction"
        );
        assert_eq!(post(None), Output::SILENT);
        let v: Value = serde_json::from_str(post(Some("note")).stdout.as_deref().unwrap()).unwrap();
        assert_eq!(v["hookSpecificOutput"]["hookEventName"], "PostToolUse");
        assert_eq!(v["hookSpecificOutput"]["additionalContext"], "note");
    }
}
