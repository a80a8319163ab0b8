use super::{Envelope, Message, Risk, Voter};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What happens to a tool call.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Allow,
    Deny,
    /// Needs expert review; the agent's "ask" until experts answer.
    Escalate,
}

impl Verdict {
    /// How much it holds a call back: allow 0, escalate 1, deny 2 (the stricter of two
    /// verdicts is the one with the higher number).
    pub fn strictness(self) -> u8 {
        match self {
            Verdict::Allow => 0,
            Verdict::Escalate => 1,
            Verdict::Deny => 2,
        }
    }
}

/// Which part of Lighthouse made a decision.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// The policy engine in a validator.
    Policy,
    /// A validator's cache of earlier policy results.
    Cache,
    /// Expert votes, combined by the aggregator.
    Expert,
    /// The hook's local policy, used when the pipeline could not answer in time.
    Fallback,
    /// An escalation whose deadline passed without consensus.
    Deadline,
    /// A scoped exception a human granted (named in [`Decision::exception`]) allowed a
    /// call the policy would have escalated.
    Exception,
}

/// The one decision for one command, published on
/// `lh.decision.<project>.<agent>.<cmd_id>` (stream `LH_DECISION`, the audit log).
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
pub struct Decision {
    pub env: Envelope,
    /// Id of the command decided (also `env.correlation_id`).
    pub cmd_id: String,
    pub verdict: Verdict,
    /// Why, in words the agent and an auditor can read.
    pub reason: String,
    /// The policy rule that decided, when one did.
    #[serde(default)]
    pub rule_id: Option<String>,
    #[serde(default)]
    pub risk: Option<Risk>,
    pub tier: Tier,
    /// Time from the command's creation to this decision, in microseconds.
    pub latency_us: u64,
    /// Who decided: a worker id, expert ids, or `hook-fallback`.
    pub decided_by: String,
    /// For escalated calls: every expert who voted, what and why (empty otherwise).
    #[serde(default)]
    pub voters: Vec<Voter>,
    /// What exactly was decided, under which policy, and who vouches for it.
    #[serde(default)]
    pub provenance: Provenance,
    /// The exception that changed this decision (tier `exception`), by id. Left out of
    /// the encoding when absent, so decisions without one encode (and verify) exactly
    /// as before the field existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exception: Option<String>,
}

/// Binds a decision to its payload, its policy and its maker.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq, Default)]
pub struct Provenance {
    /// [`Command::payload_digest`](super::Command::payload_digest) of the command
    /// decided: a reused command id with another payload never matches it.
    #[serde(default)]
    pub cmd_digest: String,
    /// Version of the policy that decided (a hash of its packs).
    #[serde(default)]
    pub policy_version: String,
    /// The packs that policy was built from, in layering order (`name@hash`).
    #[serde(default)]
    pub packs: Vec<String>,
    /// Public NKey of the identity that made the decision (a validator, the aggregator,
    /// or the agent's own hook for tier `fallback`).
    #[serde(default)]
    pub signer: String,
    /// Ed25519 signature by `signer` (base64url) over the MessagePack encoding of this
    /// decision with `signature` empty.
    #[serde(default)]
    pub signature: String,
}

impl Decision {
    /// Whether this final decision left its command unresolved: no expert consensus
    /// before the deadline, or nobody present to give one. Experts may still approve
    /// such a command late (see [`crate::subject::late_approval`]).
    pub fn unresolved(&self) -> bool {
        self.tier == Tier::Deadline
    }
}

impl Message for Decision {
    const KIND: &'static str = "decision";
    fn envelope(&self) -> &Envelope {
        &self.env
    }
}
