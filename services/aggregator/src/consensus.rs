//! Consensus: votes and a rule in, a resolution out. Pure, unit-tested without NATS.
//!
//! One expert, one vote: the first vote of each expert counts (later ones, and
//! duplicates, are ignored), and only votes from the specialties the escalation asked
//! count towards the rule. Rejections are checked before approvals, so a call with
//! both a qualifying rejection and enough approvals is denied.

use lighthouse_schemas::{
    Choice, ConsensusRule, Decision, Envelope, Escalation, Tier, Verdict, Vote, Voter,
};
use std::collections::{BTreeSet, HashSet};
use std::time::Duration;

pub use lighthouse_config::{ExpertRoster, Fallback};

/// Whether `expert` may vote as `specialty` under `roster`.
pub fn verified(roster: &ExpertRoster, expert: &str, specialty: &str) -> bool {
    roster.is_empty()
        || roster
            .get(expert)
            .is_some_and(|allowed| allowed.iter().any(|s| s == specialty))
}

/// Marks the specialty of each vote the roster does not vouch for, so it is recorded
/// with the decision but matches no required specialty and counts for nothing.
pub fn verify(votes: Vec<Vote>, roster: &ExpertRoster) -> Vec<Vote> {
    votes
        .into_iter()
        .map(|mut v| {
            if !verified(roster, &v.expert, &v.specialty) {
                v.specialty = format!("{} (unverified)", v.specialty);
            }
            v
        })
        .collect()
}

/// Where the votes stand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tally {
    Approved,
    Rejected,
    Pending,
}

/// How an escalation ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// Consensus reached: approved or rejected by the experts.
    Consensus(Tally),
    /// The deadline passed without consensus.
    DeadlinePassed,
    /// No expert present could ever reach consensus: these specialties are missing.
    NobodyPresent(Vec<String>),
}

/// The votes that count: first per expert, from a required specialty, in order.
pub fn counted<'a>(votes: &'a [Vote], required: &[String]) -> Vec<&'a Vote> {
    let mut seen = HashSet::new();
    votes
        .iter()
        .filter(|v| required.is_empty() || required.contains(&v.specialty))
        .filter(|v| seen.insert(v.expert.as_str()))
        .collect()
}

/// Where `votes` leave `rule`.
pub fn tally(rule: &ConsensusRule, required: &[String], votes: &[Vote]) -> Tally {
    let counted = counted(votes, required);
    let rejections = counted
        .iter()
        .filter(|v| v.choice == Choice::Reject)
        .count();
    if rejections >= rule.rejections_to_deny.max(1) as usize {
        return Tally::Rejected;
    }
    let approvals: Vec<&&Vote> = counted
        .iter()
        .filter(|v| v.choice == Choice::Approve)
        .collect();
    let specialties: BTreeSet<&str> = approvals.iter().map(|v| v.specialty.as_str()).collect();
    let enough = approvals.len() >= rule.min_approvals.max(1) as usize
        && specialties.len() >= rule.min_specialties as usize
        && rule
            .must_approve
            .iter()
            .all(|s| specialties.contains(s.as_str()));
    if enough {
        Tally::Approved
    } else {
        Tally::Pending
    }
}

/// The required specialties with nobody present, when the experts present could never
/// reach `rule`'s approval; `None` when consensus is still possible. `present` holds
/// (specialty, expert) pairs.
pub fn unreachable(
    rule: &ConsensusRule,
    required: &[String],
    present: &[(String, String)],
) -> Option<Vec<String>> {
    let here: Vec<&(String, String)> = present
        .iter()
        .filter(|(s, _)| required.is_empty() || required.contains(s))
        .collect();
    let specialties: BTreeSet<&str> = here.iter().map(|(s, _)| s.as_str()).collect();
    let experts: BTreeSet<&str> = here.iter().map(|(_, e)| e.as_str()).collect();
    let possible = experts.len() >= rule.min_approvals.max(1) as usize
        && specialties.len() >= rule.min_specialties as usize
        && rule
            .must_approve
            .iter()
            .all(|s| specialties.contains(s.as_str()));
    if possible {
        return None;
    }
    let mut missing: Vec<String> = Vec::new();
    for s in required.iter().chain(rule.must_approve.iter()) {
        if !specialties.contains(s.as_str()) && !missing.contains(s) {
            missing.push(s.clone());
        }
    }
    Some(missing)
}

/// Longest single timer wait; a longer deadline is re-armed after it.
pub const MAX_TIMER: Duration = Duration::from_secs(3600);

/// What an escalation's timer delivery does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimerStep {
    /// Nothing settled yet: come back after this long (never past the deadline).
    Wait(Duration),
    /// Settle it now.
    Resolve(Resolution),
}

/// The deadline decision, pure: where the votes stand (`tally`), the time now and the
/// deadline (microseconds since the epoch), and which specialties nobody present could
/// give (`missing`, asked only while the call is still open and in time).
pub fn timer_step(
    tally: Tally,
    now_us: u64,
    deadline_us: u64,
    missing: impl FnOnce() -> Option<Vec<String>>,
) -> TimerStep {
    match tally {
        Tally::Pending if now_us >= deadline_us => TimerStep::Resolve(Resolution::DeadlinePassed),
        Tally::Pending => match missing() {
            Some(missing) => TimerStep::Resolve(Resolution::NobodyPresent(missing)),
            None => TimerStep::Wait(Duration::from_micros(deadline_us - now_us).min(MAX_TIMER)),
        },
        settled => TimerStep::Resolve(Resolution::Consensus(settled)),
    }
}

/// The final decision for `escalation`. `worker_id` signs fallbacks; consensus
/// decisions are signed by the experts who settled them.
/// An approval reached after the command went unresolved, as recorded beside its
/// decision: it says so, so the agent and an auditor read it right.
pub fn late(mut approved: Decision) -> Decision {
    approved.reason = format!(
        "{} after the call went unresolved; a retry of the same call may run",
        approved.reason
    );
    approved
}

pub fn final_decision(
    escalation: &Escalation,
    resolution: &Resolution,
    votes: &[Vote],
    fallback: Fallback,
    worker_id: &str,
    now_us: u64,
) -> Decision {
    let counted = counted(votes, &escalation.required);
    // Every vote is listed, even uncounted ones: the audit log shows who said what.
    let mut seen = HashSet::new();
    let voters: Vec<Voter> = votes
        .iter()
        .filter(|v| seen.insert(v.expert.as_str()))
        .map(Voter::from)
        .collect();
    let describe = |choice: Choice| -> (String, String) {
        let who: Vec<&&Vote> = counted.iter().filter(|v| v.choice == choice).collect();
        let ids = who
            .iter()
            .map(|v| v.expert.as_str())
            .collect::<Vec<_>>()
            .join(",");
        let text = who
            .iter()
            .map(|v| {
                let mut s = format!("{} ({}): {}", v.expert, v.specialty, v.reasoning);
                if !v.suggestions.is_empty() {
                    s.push_str(&format!(" [suggests: {}]", v.suggestions.join("; ")));
                }
                s
            })
            .collect::<Vec<_>>()
            .join("; ");
        (ids, text)
    };
    let fallback_verdict = match fallback {
        Fallback::Ask => Verdict::Escalate,
        Fallback::Deny => Verdict::Deny,
    };
    let (verdict, tier, reason, decided_by) = match resolution {
        Resolution::Consensus(Tally::Approved) => {
            let (ids, text) = describe(Choice::Approve);
            (
                Verdict::Allow,
                Tier::Expert,
                format!("approved by {text}"),
                ids,
            )
        }
        Resolution::Consensus(Tally::Rejected) => {
            let (ids, text) = describe(Choice::Reject);
            (
                Verdict::Deny,
                Tier::Expert,
                format!("rejected by {text}"),
                ids,
            )
        }
        Resolution::Consensus(Tally::Pending) | Resolution::DeadlinePassed => {
            let secs = escalation.deadline_us.saturating_sub(escalation.env.ts_us) as f64 / 1e6;
            let votes = if voters.is_empty() {
                "no votes".to_owned()
            } else {
                voters
                    .iter()
                    .map(|v| {
                        format!(
                            "{} ({}) {:?}: {}",
                            v.expert, v.specialty, v.choice, v.reasoning
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("; ")
            };
            (
                fallback_verdict,
                Tier::Deadline,
                format!(
                    "no expert consensus within {secs:.0}s ({votes}); {}",
                    escalation.reason
                ),
                worker_id.to_owned(),
            )
        }
        Resolution::NobodyPresent(missing) => (
            fallback_verdict,
            Tier::Deadline,
            format!(
                "no {} expert present to review this; {}",
                missing.join("/"),
                escalation.reason
            ),
            worker_id.to_owned(),
        ),
    };
    let cmd_id = escalation.cmd_id.clone();
    let mut env = Envelope::new(
        cmd_id.clone(),
        now_us,
        escalation.command.env.project.clone(),
        escalation.command.env.agent.clone(),
        cmd_id.clone(),
    );
    env.causation_id = Some(escalation.env.id.clone());
    Decision {
        env,
        cmd_id,
        verdict,
        reason,
        rule_id: escalation.rule_id.clone(),
        risk: Some(escalation.risk),
        tier,
        latency_us: now_us.saturating_sub(escalation.command.env.ts_us),
        decided_by,
        voters,
        provenance: lighthouse_schemas::Provenance {
            cmd_digest: escalation.command.payload_digest(),
            ..Default::default()
        },
        exception: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lighthouse_schemas::{AgentKind, Command, Risk};

    /// The durable timer as the aggregator runs it (Nak with the returned delay, the
    /// server redelivers), on tokio's clock: `tally_at` says where the votes stand at
    /// each wake-up. Returns the resolution, the paused time it took and the wake-ups.
    async fn run_timer(
        deadline: Duration,
        tally_at: impl Fn(Duration) -> Tally,
        missing: Option<Vec<String>>,
    ) -> (Resolution, Duration, usize) {
        const EPOCH_US: u64 = 1_700_000_000_000_000;
        let start = tokio::time::Instant::now();
        let deadline_us = EPOCH_US + deadline.as_micros() as u64;
        let mut wakes = 0;
        loop {
            let elapsed = start.elapsed();
            let now_us = EPOCH_US + elapsed.as_micros() as u64;
            match timer_step(tally_at(elapsed), now_us, deadline_us, || missing.clone()) {
                TimerStep::Wait(wait) => {
                    wakes += 1;
                    tokio::time::sleep(wait).await;
                }
                TimerStep::Resolve(resolution) => return (resolution, elapsed, wakes),
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_deadline_resolves_at_the_deadline_not_before() {
        let (resolution, at, wakes) =
            run_timer(Duration::from_secs(30), |_| Tally::Pending, None).await;
        assert_eq!(resolution, Resolution::DeadlinePassed);
        assert_eq!(at, Duration::from_secs(30));
        assert_eq!(wakes, 1, "one timer, armed once");
    }

    #[tokio::test(start_paused = true)]
    async fn long_deadlines_are_rearmed_in_bounded_steps() {
        let deadline = Duration::from_secs(9_000); // 2.5 h
        let (resolution, at, wakes) = run_timer(deadline, |_| Tally::Pending, None).await;
        assert_eq!(resolution, Resolution::DeadlinePassed);
        assert_eq!(at, deadline);
        assert_eq!(wakes, 3, "1 h + 1 h + 0.5 h");
    }

    #[tokio::test(start_paused = true)]
    async fn consensus_before_the_deadline_wins_over_it() {
        let (resolution, at, _) = run_timer(
            Duration::from_secs(30),
            |t| {
                if t >= Duration::from_secs(10) {
                    Tally::Approved
                } else {
                    Tally::Pending
                }
            },
            None,
        )
        .await;
        assert_eq!(resolution, Resolution::Consensus(Tally::Approved));
        assert_eq!(at, Duration::from_secs(30), "seen when the timer fires");
    }

    #[tokio::test(start_paused = true)]
    async fn nobody_present_resolves_at_once() {
        let (resolution, at, wakes) = run_timer(
            Duration::from_secs(30),
            |_| Tally::Pending,
            Some(vec!["human".into()]),
        )
        .await;
        assert_eq!(resolution, Resolution::NobodyPresent(vec!["human".into()]));
        assert_eq!((at, wakes), (Duration::ZERO, 0));
    }

    #[test]
    fn a_passed_deadline_is_not_asked_who_is_present() {
        let step = timer_step(Tally::Pending, 100, 100, || panic!("not asked"));
        assert_eq!(step, TimerStep::Resolve(Resolution::DeadlinePassed));
        let step = timer_step(Tally::Rejected, 0, 100, || panic!("not asked"));
        assert_eq!(
            step,
            TimerStep::Resolve(Resolution::Consensus(Tally::Rejected))
        );
    }

    fn vote(expert: &str, specialty: &str, choice: Choice) -> Vote {
        Vote {
            env: Envelope::new(format!("c.{expert}"), 10, "p", "a", "c"),
            cmd_id: "c".into(),
            expert: expert.into(),
            specialty: specialty.into(),
            choice,
            reasoning: format!("{expert} says so"),
            suggestions: vec![],
            confidence: None,
        }
    }

    fn rule(min_approvals: u32, min_specialties: u32, must: &[&str]) -> ConsensusRule {
        ConsensusRule {
            min_approvals,
            min_specialties,
            must_approve: must.iter().map(|s| s.to_string()).collect(),
            rejections_to_deny: 1,
        }
    }

    fn req(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| s.to_string()).collect()
    }

    use Choice::*;

    #[test]
    fn one_approval_settles_a_low_risk_call() {
        let r = ConsensusRule::single();
        assert_eq!(tally(&r, &req(&["security"]), &[]), Tally::Pending);
        assert_eq!(
            tally(&r, &req(&["security"]), &[vote("a", "security", Approve)]),
            Tally::Approved
        );
        assert_eq!(
            tally(&r, &req(&["security"]), &[vote("a", "security", Abstain)]),
            Tally::Pending
        );
    }

    #[test]
    fn any_rejection_denies_even_after_approvals() {
        let r = ConsensusRule::single();
        let votes = [
            vote("a", "security", Approve),
            vote("b", "security", Reject),
        ];
        assert_eq!(tally(&r, &req(&["security"]), &votes), Tally::Rejected);
    }

    #[test]
    fn high_risk_needs_two_distinct_specialties() {
        let r = rule(2, 2, &[]);
        let need = req(&["security", "architecture"]);
        let same = [
            vote("a", "security", Approve),
            vote("b", "security", Approve),
        ];
        assert_eq!(tally(&r, &need, &same), Tally::Pending);
        let two = [
            vote("a", "security", Approve),
            vote("b", "architecture", Approve),
        ];
        assert_eq!(tally(&r, &need, &two), Tally::Approved);
    }

    #[test]
    fn critical_needs_a_human_approval() {
        let r = rule(2, 2, &["human"]);
        let need = req(&["security", "human", "architecture"]);
        let no_human = [
            vote("a", "security", Approve),
            vote("b", "architecture", Approve),
        ];
        assert_eq!(tally(&r, &need, &no_human), Tally::Pending);
        let human = [vote("a", "security", Approve), vote("h", "human", Approve)];
        assert_eq!(tally(&r, &need, &human), Tally::Approved);
    }

    #[test]
    fn duplicate_and_changed_votes_count_once_as_first_cast() {
        let r = rule(2, 1, &[]);
        let need = req(&["security"]);
        let twice = [
            vote("a", "security", Approve),
            vote("a", "security", Approve),
        ];
        assert_eq!(tally(&r, &need, &twice), Tally::Pending);
        let flip = [
            vote("a", "security", Approve),
            vote("a", "security", Reject),
        ];
        assert_eq!(tally(&r, &need, &flip), Tally::Pending);
    }

    #[test]
    fn votes_from_specialties_not_asked_do_not_count() {
        let r = ConsensusRule::single();
        let votes = [
            vote("p", "performance", Reject),
            vote("p2", "performance", Approve),
        ];
        assert_eq!(tally(&r, &req(&["security"]), &votes), Tally::Pending);
    }

    #[test]
    fn unverified_specialty_claims_count_for_nothing() {
        let roster: ExpertRoster = [
            ("alice".to_string(), req(&["security"])),
            ("hank".to_string(), req(&["human"])),
        ]
        .into();
        let r = rule(2, 2, &["human"]);
        let need = req(&["security", "human"]);
        let claims = verify(
            vec![
                vote("alice", "security", Approve),
                vote("alice2", "human", Approve),
            ],
            &roster,
        );
        assert_eq!(claims[1].specialty, "human (unverified)");
        assert_eq!(tally(&r, &need, &claims), Tally::Pending);
        let real = verify(
            vec![
                vote("alice", "security", Approve),
                vote("hank", "human", Approve),
            ],
            &roster,
        );
        assert_eq!(tally(&r, &need, &real), Tally::Approved);
        assert!(
            verified(&ExpertRoster::new(), "anyone", "human"),
            "empty roster trusts"
        );
    }

    #[test]
    fn reachability_follows_who_is_present() {
        let present = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(s, e)| (s.to_string(), e.to_string()))
                .collect()
        };
        let single = ConsensusRule::single();
        assert_eq!(
            unreachable(&single, &req(&["security"]), &[]),
            Some(req(&["security"]))
        );
        assert_eq!(
            unreachable(
                &single,
                &req(&["security"]),
                &present(&[("performance", "p")])
            ),
            Some(req(&["security"]))
        );
        assert_eq!(
            unreachable(&single, &req(&["security"]), &present(&[("security", "a")])),
            None
        );
        let critical = rule(2, 2, &["human"]);
        let need = req(&["security", "human"]);
        assert_eq!(
            unreachable(
                &critical,
                &need,
                &present(&[("security", "a"), ("security", "b")])
            ),
            Some(req(&["human"]))
        );
        assert_eq!(
            unreachable(
                &critical,
                &need,
                &present(&[("security", "a"), ("human", "h")])
            ),
            None
        );
    }

    fn escalation() -> Escalation {
        let command = Command {
            env: Envelope::new("c", 1_000, "p", "a", "c"),
            tool_name: "Bash".into(),
            tool_input: serde_json::json!({"command": "make deploy"}),
            cwd: "/w".into(),
            session_id: "s".into(),
            tool_use_id: None,
            agent_kind: AgentKind::ClaudeCode,
            permission_mode: None,
            git_branch: None,
        };
        Escalation {
            env: Envelope::new("c.security", 2_000, "p", "a", "c"),
            cmd_id: "c".into(),
            command,
            rule_id: Some("bash.unreviewed".into()),
            reason: "no rule allows this command".into(),
            risk: Risk::Medium,
            specialty: "security".into(),
            required: req(&["security"]),
            consensus: ConsensusRule::single(),
            deadline_us: 30_002_000,
            context: Default::default(),
            traceparent: None,
        }
    }

    #[test]
    fn final_decisions_name_voters_and_reasons() {
        let e = escalation();
        let mut rejection = vote("bob", "security", Reject);
        rejection.suggestions = vec!["use make deploy-staging".into()];
        let votes = [vote("alice", "performance", Approve), rejection];
        let d = final_decision(
            &e,
            &Resolution::Consensus(Tally::Rejected),
            &votes,
            Fallback::Ask,
            "agg",
            5_000,
        );
        assert_eq!((d.verdict, d.tier), (Verdict::Deny, Tier::Expert));
        assert_eq!(d.decided_by, "bob");
        assert!(d.reason.contains("bob says so"), "{}", d.reason);
        assert!(d.reason.contains("deploy-staging"), "{}", d.reason);
        assert_eq!(d.voters.len(), 2, "uncounted votes are still recorded");
        assert_eq!(d.latency_us, 4_000);
        assert_eq!(d.env.correlation_id, "c");
        assert_eq!(d.rule_id.as_deref(), Some("bash.unreviewed"));
    }

    #[test]
    fn fallbacks_follow_configuration() {
        let e = escalation();
        let ask = final_decision(
            &e,
            &Resolution::DeadlinePassed,
            &[],
            Fallback::Ask,
            "agg",
            9,
        );
        assert_eq!((ask.verdict, ask.tier), (Verdict::Escalate, Tier::Deadline));
        assert!(ask.reason.contains("within 30s"), "{}", ask.reason);
        assert_eq!(ask.decided_by, "agg");
        let deny = final_decision(
            &e,
            &Resolution::NobodyPresent(req(&["security"])),
            &[],
            Fallback::Deny,
            "agg",
            9,
        );
        assert_eq!((deny.verdict, deny.tier), (Verdict::Deny, Tier::Deadline));
        assert!(
            deny.reason.contains("no security expert present"),
            "{}",
            deny.reason
        );
    }
}
