//! Recording helpers the workers call at the points where something is final: a
//! decision stored first on its subject, an escalation settled, a vote counted. Without
//! an installed recorder (tests, the hook) they cost a relaxed atomic load.

use crate::names;
use lighthouse_schemas::{Decision, Tier, Verdict};
use std::sync::Mutex;

/// The label value of a verdict (`allow`, `deny`, `escalate`).
pub fn verdict_label(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Allow => "allow",
        Verdict::Deny => "deny",
        Verdict::Escalate => "escalate",
    }
}

/// The label value of a tier (`policy`, `cache`, `expert`, `fallback`, `deadline`,
/// `exception`).
pub fn tier_label(tier: Tier) -> &'static str {
    match tier {
        Tier::Policy => "policy",
        Tier::Cache => "cache",
        Tier::Expert => "expert",
        Tier::Fallback => "fallback",
        Tier::Deadline => "deadline",
        Tier::Exception => "exception",
    }
}

/// A decision this process stored first on its subject (never a duplicate).
pub fn decision(d: &Decision) {
    let (verdict, tier) = (verdict_label(d.verdict), tier_label(d.tier));
    metrics::counter!(names::DECISIONS, "verdict" => verdict, "tier" => tier).increment(1);
    let rule = d.rule_id.clone().unwrap_or_else(|| "none".to_owned());
    metrics::counter!(names::RULE_DECISIONS, "rule" => rule, "verdict" => verdict).increment(1);
    metrics::histogram!(names::DECISION_LATENCY, "tier" => tier).record(d.latency_us as f64 / 1e6);
}

/// A hook's fallback decision recorded from its spool: counted as a decision too.
pub fn fallback_recorded(d: &Decision) {
    metrics::counter!(names::FALLBACK_DECISIONS).increment(1);
    decision(d);
}

/// How an escalation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EscalationOutcome {
    Approved,
    Rejected,
    /// Its deadline passed without consensus.
    Expired,
    /// No expert present could ever have reached consensus.
    NobodyPresent,
}

impl EscalationOutcome {
    pub fn label(self) -> &'static str {
        match self {
            EscalationOutcome::Approved => "approved",
            EscalationOutcome::Rejected => "rejected",
            EscalationOutcome::Expired => "expired",
            EscalationOutcome::NobodyPresent => "nobody_present",
        }
    }
}

/// An escalation settled (its decision stored first): one count per asked specialty.
pub fn escalation_settled(specialties: &[String], outcome: EscalationOutcome) {
    for specialty in specialties {
        metrics::counter!(names::ESCALATIONS, "specialty" => specialty.clone(), "outcome" => outcome.label())
            .increment(1);
    }
}

/// An expert's vote arrived `seconds` after its escalation.
pub fn expert_response(specialty: &str, seconds: f64) {
    metrics::histogram!(names::EXPERT_RESPONSE, "specialty" => specialty.to_owned())
        .record(seconds.max(0.0));
}

/// The policy version this process decides with; the previous one drops to 0.
pub fn policy_version(version: &str) {
    static CURRENT: Mutex<Option<String>> = Mutex::new(None);
    let Ok(mut current) = CURRENT.lock() else {
        return;
    };
    if current.as_deref() == Some(version) {
        return;
    }
    if let Some(old) = current.take() {
        metrics::gauge!(names::POLICY_INFO, "version" => old).set(0.0);
    }
    metrics::gauge!(names::POLICY_INFO, "version" => version.to_owned()).set(1.0);
    *current = Some(version.to_owned());
}

/// The projector's lag on `stream`: age of the message just applied, 0 when caught up.
pub fn projector_lag(stream: &'static str, seconds: f64) {
    metrics::gauge!(names::PROJECTOR_LAG, "stream" => stream).set(seconds.max(0.0));
}
