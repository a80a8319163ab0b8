//! Round trips and golden fixtures for the escalation messages.
//!
//! Each fixture in `schemas/fixtures/<kind>.v1.msgpack` is the committed encoding of a
//! fixed sample: decoding it must give the sample back (old payloads stay readable) and
//! encoding the sample must give the same bytes (the wire format did not drift). Run with
//! `LIGHTHOUSE_BLESS=1` to rewrite the fixtures after a deliberate change.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the report

use lighthouse_schemas::{
    AgentKind, Choice, Command, ConsensusRule, Decision, Envelope, Escalation, EscalationContext,
    Message, RecentDecision, Risk, Tier, Verdict, Vote, Voter, decode, encode,
};
use serde_json::json;
use std::path::PathBuf;

fn command() -> Command {
    Command {
        env: Envelope::new(
            "toolu_01",
            1_700_000_000_000_000,
            "web",
            "claude-code",
            "toolu_01",
        ),
        tool_name: "Write".into(),
        tool_input: json!({"file_path": "/work/web/deploy.sh", "content": "echo hi\n"}),
        cwd: "/work/web".into(),
        session_id: "s-1".into(),
        tool_use_id: Some("toolu_01".into()),
        agent_kind: AgentKind::ClaudeCode,
        permission_mode: Some("default".into()),
        git_branch: None,
    }
}

fn escalation() -> Escalation {
    let mut env = Envelope::new(
        "toolu_01.security",
        1_700_000_000_000_500,
        "web",
        "claude-code",
        "toolu_01",
    );
    env.causation_id = Some("toolu_01".into());
    Escalation {
        env,
        cmd_id: "toolu_01".into(),
        command: command(),
        rule_id: Some("tool.unknown".into()),
        reason: "no rule covers this tool".into(),
        risk: Risk::High,
        specialty: "security".into(),
        required: vec!["security".into(), "architecture".into()],
        consensus: ConsensusRule {
            min_approvals: 2,
            min_specialties: 2,
            must_approve: vec![],
            rejections_to_deny: 1,
        },
        deadline_us: 1_700_000_030_000_500,
        context: EscalationContext {
            recent_decisions: vec![RecentDecision {
                cmd_id: "toolu_00".into(),
                verdict: Verdict::Allow,
                reason: "read-only tool".into(),
                rule_id: Some("tool.read_only".into()),
                ts_us: 1_699_999_999_000_000,
                decided_by: "v1".into(),
            }],
            files: vec!["/work/web/deploy.sh".into()],
        },
        traceparent: None,
    }
}

fn vote() -> Vote {
    Vote {
        env: Envelope::new(
            "toolu_01.alice",
            1_700_000_001_000_000,
            "web",
            "claude-code",
            "toolu_01",
        ),
        cmd_id: "toolu_01".into(),
        expert: "alice".into(),
        specialty: "security".into(),
        choice: Choice::Approve,
        reasoning: "writes a script, runs nothing".into(),
        suggestions: vec!["add set -e".into()],
        confidence: Some(0.75),
    }
}

fn expert_decision() -> Decision {
    Decision {
        env: Envelope::new(
            "toolu_01",
            1_700_000_002_000_000,
            "web",
            "claude-code",
            "toolu_01",
        ),
        cmd_id: "toolu_01".into(),
        verdict: Verdict::Allow,
        reason: "approved by alice (security)".into(),
        rule_id: Some("tool.unknown".into()),
        risk: Some(Risk::High),
        tier: Tier::Expert,
        latency_us: 2_000_000,
        decided_by: "alice".into(),
        voters: vec![Voter::from(&vote())],
        provenance: Default::default(),
        exception: None,
    }
}

fn check<M: Message + PartialEq + std::fmt::Debug>(sample: M, name: &str) {
    let bytes = encode(&sample).unwrap();
    assert_eq!(decode::<M>(&bytes).unwrap(), sample, "round trip of {name}");
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(format!("{name}.v1.msgpack"));
    if std::env::var_os("LIGHTHOUSE_BLESS").is_some() {
        std::fs::write(&path, &bytes).unwrap();
    }
    let golden = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with LIGHTHOUSE_BLESS=1)", path.display()));
    assert_eq!(
        decode::<M>(&golden).unwrap(),
        sample,
        "{name} fixture decodes"
    );
    assert_eq!(golden, bytes, "{name} encoding drifted from its fixture");
}

#[test]
fn escalation_round_trips_and_matches_its_fixture() {
    check(escalation(), Escalation::KIND);
}

#[test]
fn vote_round_trips_and_matches_its_fixture() {
    check(vote(), Vote::KIND);
}

#[test]
fn expert_decision_round_trips_and_matches_its_fixture() {
    check(expert_decision(), "decision-expert");
}

#[test]
fn decisions_without_voters_still_decode() {
    // A decision written before `voters` existed: the field defaults to empty.
    let mut old = serde_json::to_value(expert_decision()).unwrap();
    old.as_object_mut().unwrap().remove("voters");
    let bytes = rmp_serde::to_vec_named(&old).unwrap();
    assert!(decode::<Decision>(&bytes).unwrap().voters.is_empty());
}

#[test]
fn votes_with_unknown_choices_are_refused() {
    let mut v = serde_json::to_value(vote()).unwrap();
    v["choice"] = json!("maybe");
    let bytes = rmp_serde::to_vec_named(&v).unwrap();
    assert!(decode::<Vote>(&bytes).is_err());
}
