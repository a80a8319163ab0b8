//! The policy engine: decides a tool call (allow, deny, escalate) in microseconds.
//!
//! It is a pure library: the validator worker and the hook's local fallback link the
//! same code, so a call denied by the pipeline is also denied when the pipeline is down.
//!
//! This first policy is deliberately small (the shell-aware engine replaces it): it
//! denies the canonical catastrophes, allows read-only tools and escalates the rest.

use lighthouse_schemas::{Risk, Verdict};
use serde_json::Value;

/// One tool call as the policy sees it.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    pub tool_name: &'a str,
    pub tool_input: &'a Value,
    /// The agent's working directory (relative paths resolve against it).
    pub cwd: &'a str,
    /// The user's home directory, when known (`~` and `$HOME` resolve to it).
    pub home: Option<&'a str>,
}

/// The policy's answer, with enough to explain it.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    pub verdict: Verdict,
    pub rule_id: Option<String>,
    pub reason: String,
    pub risk: Risk,
}

/// A loaded policy.
#[derive(Debug, Clone, Default)]
pub struct Policy {}

const READ_ONLY_TOOLS: &[&str] = &["Read", "Glob", "Grep", "LS", "TodoWrite", "WebSearch"];

impl Policy {
    /// The built-in rules.
    pub fn builtin() -> Policy {
        Policy {}
    }

    /// Identifies the rule set; part of every cache key.
    pub fn version(&self) -> &str {
        "builtin-0"
    }

    pub fn evaluate(&self, call: &Call<'_>) -> Evaluation {
        if READ_ONLY_TOOLS.contains(&call.tool_name) {
            return verdict(
                Verdict::Allow,
                "tool.read_only",
                "read-only tool",
                Risk::Low,
            );
        }
        if call.tool_name != "Bash" {
            return verdict(
                Verdict::Escalate,
                "tool.unknown",
                "no rule covers this tool",
                Risk::Medium,
            );
        }
        let Some(command) = call.tool_input.get("command").and_then(Value::as_str) else {
            return verdict(
                Verdict::Escalate,
                "bash.no_command",
                "Bash call without a command string",
                Risk::Medium,
            );
        };
        first_policy_bash(command)
    }
}

fn verdict(verdict: Verdict, rule: &str, reason: &str, risk: Risk) -> Evaluation {
    Evaluation {
        verdict,
        rule_id: Some(rule.to_owned()),
        reason: reason.to_owned(),
        risk,
    }
}

fn first_policy_bash(command: &str) -> Evaluation {
    let words: Vec<&str> = command.split_whitespace().collect();
    let has = |w: &str| words.contains(&w);
    let rm_recursive = words.first().is_some_and(|w| w.ends_with("rm"))
        && words
            .iter()
            .any(|w| w.starts_with('-') && w.contains(['r', 'R']));
    if rm_recursive && ["/", "/*", "~", "~/", "$HOME"].iter().any(|t| has(t)) {
        return verdict(
            Verdict::Deny,
            "fs.rm_root_or_home",
            "recursive delete of / or home",
            Risk::Critical,
        );
    }
    if command.contains(":(){") || command.contains(":(){ :|:& };:") {
        return verdict(Verdict::Deny, "proc.fork_bomb", "fork bomb", Risk::Critical);
    }
    if words
        .iter()
        .any(|w| w.starts_with("of=/dev/sd") || w.starts_with("of=/dev/nvme"))
        || words.first().is_some_and(|w| w.starts_with("mkfs"))
    {
        return verdict(
            Verdict::Deny,
            "disk.overwrite",
            "overwrites a disk",
            Risk::Critical,
        );
    }
    let force = has("--force") || has("-f");
    if words.starts_with(&["git", "push"]) && force && (has("main") || has("master")) {
        return verdict(
            Verdict::Deny,
            "git.force_push_main",
            "force-push to the main branch",
            Risk::High,
        );
    }
    verdict(
        Verdict::Escalate,
        "bash.unreviewed",
        "no rule allows this command",
        Risk::Medium,
    )
}
