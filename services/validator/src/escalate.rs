//! Turning the policy's Escalate into escalations for experts (pure).
//!
//! Which specialties are asked and which consensus settles the call depend on the risk
//! the policy assigned; both are configuration ([`EscalationPolicy`]) and both travel in
//! the [`Escalation`] itself, so the aggregator applies exactly what was asked.

use lighthouse_schemas::{
    Command, ConsensusRule, Decision, Envelope, Escalation, EscalationContext, Risk,
};
use serde_json::Value;
use std::time::Duration;

pub use lighthouse_config::RiskTable;

/// How escalations are built.
#[derive(Debug, Clone, PartialEq)]
pub struct EscalationPolicy {
    /// How long experts get before the aggregator decides without them.
    pub deadline: Duration,
    /// Specialties asked, by risk.
    pub required: RiskTable<Vec<String>>,
    /// What settles the call, by risk.
    pub consensus: RiskTable<ConsensusRule>,
    /// How many of the agent's recent decisions go into the context (0 = none).
    pub context_decisions: usize,
}

impl From<&lighthouse_config::EscalationSettings> for EscalationPolicy {
    fn from(settings: &lighthouse_config::EscalationSettings) -> Self {
        EscalationPolicy {
            deadline: settings.deadline(),
            required: settings.required.clone(),
            consensus: settings.consensus_rules(),
            context_decisions: settings.context_decisions,
        }
    }
}

impl Default for EscalationPolicy {
    /// Low and medium: one security approval. High: approvals from security and
    /// architecture. Critical: security and a human, the human's approval required.
    /// Any rejection denies.
    fn default() -> Self {
        let two = ConsensusRule {
            min_approvals: 2,
            min_specialties: 2,
            must_approve: Vec::new(),
            rejections_to_deny: 1,
        };
        EscalationPolicy {
            deadline: Duration::from_secs(30),
            required: RiskTable {
                low: vec!["security".into()],
                medium: vec!["security".into()],
                high: vec!["security".into(), "architecture".into()],
                critical: vec!["security".into(), "human".into()],
            },
            consensus: RiskTable {
                low: ConsensusRule::single(),
                medium: ConsensusRule::single(),
                high: two.clone(),
                critical: ConsensusRule {
                    must_approve: vec!["human".into()],
                    ..two
                },
            },
            context_decisions: 5,
        }
    }
}

/// Most paths listed in an escalation's context.
pub const MAX_FILES: usize = 32;
/// Longest path kept (longer ones are cut).
const MAX_PATH_LEN: usize = 1024;

/// The paths a tool call touches, from the fields agents use for them (`file_path`,
/// `path`, `notebook_path`, and those of `edits`/`files` arrays). Bounded in count and
/// length: this goes to every expert.
pub fn files_of(tool_input: &Value) -> Vec<String> {
    const KEYS: &[&str] = &["file_path", "path", "notebook_path", "filePath"];
    let mut out: Vec<String> = Vec::new();
    let mut push = |v: &Value| {
        if let Some(path) = v.as_str()
            && !path.is_empty()
            && out.len() < MAX_FILES
        {
            let path: String = path.chars().take(MAX_PATH_LEN).collect();
            if !out.contains(&path) {
                out.push(path);
            }
        }
    };
    let Some(object) = tool_input.as_object() else {
        return Vec::new();
    };
    for key in KEYS {
        if let Some(v) = object.get(*key) {
            push(v);
        }
    }
    for list in ["edits", "files"] {
        if let Some(items) = object.get(list).and_then(Value::as_array) {
            for item in items.iter().take(MAX_FILES) {
                push(item);
                for key in KEYS {
                    if let Some(v) = item.get(*key) {
                        push(v);
                    }
                }
            }
        }
    }
    out
}

/// The escalation for `command`, addressed to its first required specialty (copies for
/// the others differ only in [`Escalation::specialty`] and the envelope id: see
/// [`for_specialty`]). `decision` is the policy's Escalate decision.
pub fn escalation(
    policy: &EscalationPolicy,
    command: &Command,
    decision: &Decision,
    context: EscalationContext,
    now_us: u64,
) -> Escalation {
    let risk = decision.risk.unwrap_or(Risk::Medium);
    let mut required = policy.required.get(risk).clone();
    required.dedup();
    if required.is_empty() {
        // A configuration that asks nobody would leave the call to its deadline.
        required.push("security".into());
    }
    let cmd_id = command.env.id.clone();
    let specialty = required[0].clone();
    let mut env = Envelope::new(
        escalation_id(&cmd_id, &specialty),
        now_us,
        command.env.project.clone(),
        command.env.agent.clone(),
        cmd_id.clone(),
    );
    env.causation_id = Some(cmd_id.clone());
    Escalation {
        env,
        cmd_id,
        command: command.clone(),
        rule_id: decision.rule_id.clone(),
        reason: decision.reason.clone(),
        risk,
        specialty,
        required,
        consensus: policy.consensus.get(risk).clone(),
        deadline_us: now_us.saturating_add(policy.deadline.as_micros() as u64),
        context,
        traceparent: None,
    }
}

/// The copy of `escalation` addressed to `specialty`.
pub fn for_specialty(escalation: &Escalation, specialty: &str) -> Escalation {
    let mut copy = escalation.clone();
    copy.specialty = specialty.to_owned();
    copy.env.id = escalation_id(&escalation.cmd_id, specialty);
    copy
}

/// `<cmd_id>.<specialty>`: the envelope id and `Nats-Msg-Id` of one escalation copy.
pub fn escalation_id(cmd_id: &str, specialty: &str) -> String {
    format!("{cmd_id}.{specialty}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use lighthouse_schemas::{AgentKind, Tier, Verdict};
    use serde_json::json;

    #[test]
    fn the_default_settings_are_the_default_policy() {
        let settings = lighthouse_config::Settings::load_from(None, Vec::new()).unwrap();
        assert_eq!(
            EscalationPolicy::from(&settings.escalation),
            EscalationPolicy::default()
        );
    }

    fn command(input: Value) -> Command {
        Command {
            env: Envelope::new("c1", 1_000, "p", "a", "c1"),
            tool_name: "Write".into(),
            tool_input: input,
            cwd: "/w".into(),
            session_id: "s".into(),
            tool_use_id: None,
            agent_kind: AgentKind::ClaudeCode,
            permission_mode: None,
            git_branch: None,
        }
    }

    fn escalate(risk: Risk) -> Decision {
        Decision {
            env: Envelope::new("c1", 2_000, "p", "a", "c1"),
            cmd_id: "c1".into(),
            verdict: Verdict::Escalate,
            reason: "why".into(),
            rule_id: Some("r".into()),
            risk: Some(risk),
            tier: Tier::Policy,
            latency_us: 1_000,
            decided_by: "v".into(),
            voters: Vec::new(),
            provenance: Default::default(),
            exception: None,
        }
    }

    #[test]
    fn specialties_and_consensus_follow_risk() {
        let policy = EscalationPolicy::default();
        let c = command(json!({}));
        let low = escalation(&policy, &c, &escalate(Risk::Low), Default::default(), 5);
        assert_eq!(low.required, vec!["security"]);
        assert_eq!(low.consensus, ConsensusRule::single());
        let high = escalation(&policy, &c, &escalate(Risk::High), Default::default(), 5);
        assert_eq!(high.required, vec!["security", "architecture"]);
        assert_eq!(high.consensus.min_specialties, 2);
        let critical = escalation(
            &policy,
            &c,
            &escalate(Risk::Critical),
            Default::default(),
            5,
        );
        assert_eq!(critical.required, vec!["security", "human"]);
        assert_eq!(critical.consensus.must_approve, vec!["human"]);
        assert_eq!(critical.deadline_us, 5 + 30_000_000);
        assert_eq!(critical.env.id, "c1.security");
        let human = for_specialty(&critical, "human");
        assert_eq!(
            (human.env.id.as_str(), human.specialty.as_str()),
            ("c1.human", "human")
        );
        assert_eq!(human.deadline_us, critical.deadline_us);
    }

    #[test]
    fn an_empty_specialty_list_still_asks_security() {
        let mut policy = EscalationPolicy::default();
        policy.required.medium.clear();
        let e = escalation(
            &policy,
            &command(json!({})),
            &escalate(Risk::Medium),
            Default::default(),
            0,
        );
        assert_eq!(e.required, vec!["security"]);
    }

    #[test]
    fn files_come_from_the_tool_input_and_are_bounded() {
        assert_eq!(
            files_of(&json!({"file_path": "/w/a.rs", "content": "x"})),
            vec!["/w/a.rs"]
        );
        assert_eq!(
            files_of(
                &json!({"edits": [{"file_path": "/w/b"}, {"file_path": "/w/b"}], "path": "/w/c"})
            ),
            vec!["/w/c", "/w/b"]
        );
        let many: Vec<Value> = (0..100)
            .map(|i| json!({"file_path": format!("/f{i}")}))
            .collect();
        assert_eq!(files_of(&json!({"edits": many})).len(), MAX_FILES);
        assert!(files_of(&json!("not an object")).is_empty());
        assert!(files_of(&json!({"file_path": 3})).is_empty());
        let long = "x".repeat(5000);
        assert_eq!(files_of(&json!({"path": long}))[0].len(), MAX_PATH_LEN);
    }
}
