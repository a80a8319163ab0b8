//! Findings: each candidate decision for a call (the rule or built-in reason behind a
//! verdict), and how the most severe of them is chosen. Separate because the Bash and
//! the other tools' paths both collect findings and decide among them alike.

use crate::rules::{Facts, Rule};
use crate::shell;
use lighthouse_schemas::{Risk, Verdict};

/// A candidate decision: the rule (or built-in reason) behind a verdict.
#[derive(Debug, Clone)]
pub(crate) struct Finding {
    pub(crate) verdict: Verdict,
    pub(crate) risk: Risk,
    pub(crate) rule_id: String,
    pub(crate) reason: String,
    pub(crate) alternative: Option<String>,
}

impl Finding {
    /// The policy's answer this finding decides, explained by `normalized`.
    pub(crate) fn into_evaluation(self, normalized: Vec<String>) -> crate::Evaluation {
        crate::Evaluation {
            verdict: self.verdict,
            rule_id: Some(self.rule_id),
            reason: self.reason,
            risk: self.risk,
            alternative: self.alternative,
            normalized,
        }
    }

    pub(crate) fn from_rule(r: &Rule, f: &Facts) -> Finding {
        let verdict = r.verdict_for(f);
        let reason = match (&f.production_by, verdict != r.verdict) {
            (Some(by), true) => format!("{} on production (`{}`)", r.reason, shell::shown(by)),
            _ => r.reason.clone(),
        };
        Finding {
            verdict,
            risk: if verdict == Verdict::Deny && r.verdict != Verdict::Deny {
                Risk::Critical
            } else {
                r.risk
            },
            rule_id: r.id.clone(),
            reason,
            alternative: r.alternative.clone(),
        }
    }
    pub(crate) fn new(
        verdict: Verdict,
        risk: Risk,
        id: &str,
        reason: impl Into<String>,
    ) -> Finding {
        Finding {
            verdict,
            risk,
            rule_id: id.to_owned(),
            reason: reason.into(),
            alternative: None,
        }
    }
}

/// Most severe first; among equals the higher risk, then the first found.
pub(crate) fn decide(findings: Vec<Finding>) -> Option<Finding> {
    let mut best: Option<Finding> = None;
    for f in findings {
        let better = match &best {
            None => true,
            Some(b) => (f.verdict.strictness(), f.risk) > (b.verdict.strictness(), b.risk),
        };
        if better {
            best = Some(f);
        }
    }
    best
}
