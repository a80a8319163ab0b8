//! The pure decision step shared by validators and the hook's local fallback.

use lighthouse_policy::{CachedPolicy, Call, Evaluation, Policy};
use lighthouse_schemas::{Command, Decision, Envelope, Tier};

/// The call as the policy sees it. The agent's home is the one its cwd lies in when
/// that tells (`/home/<u>/…`): a validator runs elsewhere, as another user.
fn call<'a>(command: &'a Command, home: Option<&'a str>) -> Call<'a> {
    Call {
        tool_name: &command.tool_name,
        tool_input: &command.tool_input,
        cwd: &command.cwd,
        home: lighthouse_policy::home_from_cwd(&command.cwd).or(home),
        branch: command.git_branch.as_deref(),
    }
}

/// Decides `command` with `policy`. `now_us` is the decision time; the decision's
/// latency is measured from the command's creation.
pub fn decide(
    policy: &Policy,
    command: &Command,
    home: Option<&str>,
    tier: Tier,
    decided_by: &str,
    now_us: u64,
) -> Decision {
    let evaluation = policy.evaluate(&call(command, home));
    let mut decision = assemble(evaluation, command, tier, decided_by, now_us);
    stamp(&mut decision, policy);
    decision
}

/// [`decide`] through a cache; a hit is reported as tier `cache`.
pub fn decide_cached(
    policy: &CachedPolicy,
    command: &Command,
    home: Option<&str>,
    decided_by: &str,
    now_us: u64,
) -> Decision {
    let cached = policy.evaluate(&call(command, home));
    let tier = if cached.from_cache {
        Tier::Cache
    } else {
        Tier::Policy
    };
    let mut decision = assemble(cached.evaluation, command, tier, decided_by, now_us);
    stamp(&mut decision, policy.policy());
    decision
}

/// Names the policy (version and packs) a decision came from.
fn stamp(decision: &mut Decision, policy: &Policy) {
    decision.provenance.policy_version = policy.version().to_owned();
    decision.provenance.packs = policy.packs().to_vec();
}

fn assemble(
    evaluation: Evaluation,
    command: &Command,
    tier: Tier,
    decided_by: &str,
    now_us: u64,
) -> Decision {
    // The agent reads the reason: a safer way forward is part of it.
    let reason = match &evaluation.alternative {
        Some(alt) => format!("{} (instead: {alt})", evaluation.reason),
        None => evaluation.reason,
    };
    let cmd_id = command.env.id.clone();
    let mut env = Envelope::new(
        cmd_id.clone(),
        now_us,
        command.env.project.clone(),
        command.env.agent.clone(),
        cmd_id.clone(),
    );
    env.causation_id = Some(cmd_id.clone());
    Decision {
        env,
        cmd_id,
        verdict: evaluation.verdict,
        reason,
        rule_id: evaluation.rule_id,
        risk: Some(evaluation.risk),
        tier,
        latency_us: now_us.saturating_sub(command.env.ts_us),
        decided_by: decided_by.to_owned(),
        voters: Vec::new(),
        provenance: lighthouse_schemas::Provenance {
            cmd_digest: command.payload_digest(),
            ..Default::default()
        },
        exception: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lighthouse_schemas::{AgentKind, Verdict};
    use serde_json::json;

    fn command(tool: &str, input: serde_json::Value) -> Command {
        Command {
            env: Envelope::new("toolu_1", 1_000, "proj", "claude", "toolu_1"),
            tool_name: tool.to_owned(),
            tool_input: input,
            cwd: "/work/proj".to_owned(),
            session_id: "s1".to_owned(),
            tool_use_id: Some("toolu_1".to_owned()),
            agent_kind: AgentKind::ClaudeCode,
            permission_mode: None,
            git_branch: None,
        }
    }

    #[test]
    fn decisions_carry_the_command_identity_and_latency() {
        let policy = Policy::builtin();
        let d = decide(
            &policy,
            &command("Bash", json!({"command": "rm -rf /"})),
            Some("/root"),
            Tier::Policy,
            "validator-a",
            1_250,
        );
        assert_eq!(d.verdict, Verdict::Deny);
        assert_eq!(d.cmd_id, "toolu_1");
        assert_eq!(d.env.correlation_id, "toolu_1");
        assert_eq!(d.latency_us, 250);
        assert_eq!(d.decided_by, "validator-a");
        assert!(d.rule_id.is_some());
    }

    #[test]
    fn a_repeated_call_is_served_from_the_cache() {
        let policy = CachedPolicy::new(Policy::builtin(), 100);
        let c = command("Bash", json!({"command": "git status"}));
        let first = decide_cached(&policy, &c, Some("/root"), "v", 2_000);
        let second = decide_cached(&policy, &c, Some("/root"), "v", 3_000);
        assert_eq!(first.tier, Tier::Policy);
        assert_eq!(second.tier, Tier::Cache);
        assert_eq!(first.verdict, second.verdict);
    }

    #[test]
    fn read_only_tools_are_allowed() {
        let d = decide(
            &Policy::builtin(),
            &command("Read", json!({"file_path": "/work/proj/src/main.rs"})),
            None,
            Tier::Policy,
            "v",
            2_000,
        );
        assert_eq!(d.verdict, Verdict::Allow);
    }
}
