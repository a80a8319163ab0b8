//! Escalations to experts and the votes they answer with.

use super::{Command, Envelope, Message, Risk, Verdict};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How many approvals (and from whom) settle an escalation, and how many rejections
/// deny it. Carried in every [`Escalation`], so the aggregator applies exactly the rule
/// the validator chose, and experts can see what is needed.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
pub struct ConsensusRule {
    /// Approvals needed, each from a distinct expert.
    pub min_approvals: u32,
    /// Distinct specialties the approvals must come from.
    pub min_specialties: u32,
    /// Specialties that must each contribute at least one approval (`human` for
    /// critical calls).
    #[serde(default)]
    pub must_approve: Vec<String>,
    /// Rejections (from distinct experts) that deny the call; 1 = any rejection denies.
    pub rejections_to_deny: u32,
}

impl ConsensusRule {
    /// One approval from anyone; any rejection denies.
    pub fn single() -> ConsensusRule {
        ConsensusRule {
            min_approvals: 1,
            min_specialties: 1,
            must_approve: Vec::new(),
            rejections_to_deny: 1,
        }
    }
}

/// One earlier decision for the same agent, so an expert sees what led here.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
pub struct RecentDecision {
    pub cmd_id: String,
    pub verdict: Verdict,
    pub reason: String,
    #[serde(default)]
    pub rule_id: Option<String>,
    /// When it was decided, microseconds since the Unix epoch.
    pub ts_us: u64,
    pub decided_by: String,
}

/// What an expert needs besides the command itself.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Default)]
pub struct EscalationContext {
    /// The agent's last few decisions (newest last), bounded by the validator.
    #[serde(default)]
    pub recent_decisions: Vec<RecentDecision>,
    /// Files the call touches, as paths from its `tool_input`.
    #[serde(default)]
    pub files: Vec<String>,
}

/// A tool call sent to experts, published on `lh.esc.<project>.<specialty>` (stream
/// `LH_ESC`), one per required specialty (`Nats-Msg-Id` = `<cmd_id>.<specialty>`).
/// Experts answer with a [`Vote`]; the aggregator publishes the final decision.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
pub struct Escalation {
    pub env: Envelope,
    /// Id of the escalated command (also `env.correlation_id`).
    pub cmd_id: String,
    /// The full command as the agent sent it.
    pub command: Command,
    /// The policy rule that escalated, when one did.
    #[serde(default)]
    pub rule_id: Option<String>,
    /// The policy's reason for escalating.
    pub reason: String,
    pub risk: Risk,
    /// The specialty this copy is addressed to (the subject's last token, decoded).
    pub specialty: String,
    /// Every specialty asked about this command.
    pub required: Vec<String>,
    pub consensus: ConsensusRule,
    /// When the aggregator stops waiting, microseconds since the Unix epoch.
    pub deadline_us: u64,
    #[serde(default)]
    pub context: EscalationContext,
    /// W3C trace context of the validation that escalated (when tracing is on), so an
    /// expert voting from another process continues the command's trace. The message's
    /// own `traceparent` header carries the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
}

impl Message for Escalation {
    const KIND: &'static str = "escalation";
    fn envelope(&self) -> &Envelope {
        &self.env
    }
}

/// An expert's answer.
#[derive(
    Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord,
)]
#[serde(rename_all = "snake_case")]
pub enum Choice {
    Approve,
    Reject,
    /// Seen, but no opinion: counts towards nothing, is recorded with the decision.
    Abstain,
}

/// One expert's vote on one escalated command, published on
/// `lh.vote.<cmd_id>.<expert>` (stream `LH_VOTE`). The server only lets expert `<name>`
/// publish `lh.vote.*.<name>`; the aggregator refuses a payload whose `expert` differs
/// from the subject.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
pub struct Vote {
    pub env: Envelope,
    /// Id of the command voted on (also `env.correlation_id`).
    pub cmd_id: String,
    /// The voting expert's id (the subject's last token, decoded).
    pub expert: String,
    /// The specialty the expert votes as.
    pub specialty: String,
    pub choice: Choice,
    /// Why, in words the agent and an auditor can read.
    pub reasoning: String,
    /// What the agent could do instead.
    #[serde(default)]
    pub suggestions: Vec<String>,
    /// The expert's confidence, 0.0 to 1.0, when it gives one.
    #[serde(default)]
    pub confidence: Option<f32>,
}

impl Vote {
    /// `expert`'s vote as `specialty` on `escalation`, with id `id`: addressed to the
    /// escalated command (its project, agent and id), caused by the escalation. The
    /// reasons, suggestions and confidence are the caller's to fill in.
    pub fn on(
        escalation: &Escalation,
        id: String,
        now_us: u64,
        expert: &str,
        specialty: &str,
        choice: Choice,
    ) -> Vote {
        let mut env = Envelope::new(
            id,
            now_us,
            escalation.command.env.project.clone(),
            escalation.command.env.agent.clone(),
            escalation.cmd_id.clone(),
        );
        env.causation_id = Some(escalation.env.id.clone());
        Vote {
            env,
            cmd_id: escalation.cmd_id.clone(),
            expert: expert.to_owned(),
            specialty: specialty.to_owned(),
            choice,
            reasoning: String::new(),
            suggestions: Vec::new(),
            confidence: None,
        }
    }
}

impl Message for Vote {
    const KIND: &'static str = "vote";
    fn envelope(&self) -> &Envelope {
        &self.env
    }
}

/// One expert's vote as recorded in the final [`Decision`](super::Decision).
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
pub struct Voter {
    pub expert: String,
    pub specialty: String,
    pub choice: Choice,
    pub reasoning: String,
    #[serde(default)]
    pub suggestions: Vec<String>,
}

impl From<&Vote> for Voter {
    fn from(vote: &Vote) -> Voter {
        Voter {
            expert: vote.expert.clone(),
            specialty: vote.specialty.clone(),
            choice: vote.choice,
            reasoning: vote.reasoning.clone(),
            suggestions: vote.suggestions.clone(),
        }
    }
}

/// What an expert writes (as JSON) under `<specialty>.<expert>` in the `lh_experts` KV
/// bucket, refreshed every few seconds; the bucket's TTL removes experts that stopped.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
pub struct ExpertPresence {
    pub expert: String,
    pub specialty: String,
    /// `human`, `llm`, `script`, … (free text, for operators).
    #[serde(default)]
    pub kind: String,
    /// When this heartbeat was written, microseconds since the Unix epoch.
    pub ts_us: u64,
}
