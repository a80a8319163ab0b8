//! Versioned messages. Each carries an [`Envelope`] under the field `env`.
//!
//! Rules for evolving them: new fields get `#[serde(default)]` (old readers ignore them,
//! new readers fill them in); a breaking change bumps [`SCHEMA_VERSION`], which the codec
//! checks before decoding anything else.

mod annotation;
mod command;
mod decision;
mod escalation;
mod exception;
mod file;

pub use annotation::{Anchor, Annotation, AnnotationStatus, Severity};
pub use command::{AgentKind, Command};
pub use decision::{Decision, Provenance, Tier, Verdict};
pub use escalation::{
    Choice, ConsensusRule, Escalation, EscalationContext, ExpertPresence, RecentDecision, Vote,
    Voter,
};
pub use exception::{Exception, ExceptionScope, Revocation};
pub use file::{FileContent, FileVersion, INLINE_MAX_BYTES, is_safe_relative_path};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize, de::DeserializeOwned};

/// Version of the payload format written by this build.
pub const SCHEMA_VERSION: u16 = 1;

/// Metadata every message carries.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    /// Payload schema version ([`SCHEMA_VERSION`] when written by this build).
    pub v: u16,
    /// Unique id of this message; also its `Nats-Msg-Id`, so republishing is harmless.
    pub id: String,
    /// Creation time, microseconds since the Unix epoch (latencies are computed from it).
    pub ts_us: u64,
    /// Project the message belongs to (the raw name, not the subject token).
    pub project: String,
    /// Agent that caused it (the raw name, not the subject token).
    pub agent: String,
    /// Id of the command this message is about: ties a decision, votes and escalations
    /// back to the tool call that started them.
    pub correlation_id: String,
    /// Id of the message that directly caused this one, when there is one.
    #[serde(default)]
    pub causation_id: Option<String>,
}

impl Envelope {
    /// A fresh envelope for a message about `correlation_id`.
    pub fn new(
        id: impl Into<String>,
        ts_us: u64,
        project: impl Into<String>,
        agent: impl Into<String>,
        correlation_id: impl Into<String>,
    ) -> Self {
        Envelope {
            v: SCHEMA_VERSION,
            id: id.into(),
            ts_us,
            project: project.into(),
            agent: agent.into(),
            correlation_id: correlation_id.into(),
            causation_id: None,
        }
    }
}

/// A message type of the contract.
pub trait Message: Serialize + DeserializeOwned + JsonSchema {
    /// Name used in dead letters, JSON Schema file names and fixtures.
    const KIND: &'static str;
    fn envelope(&self) -> &Envelope;
}

/// How dangerous a call is judged to be; drives escalation consensus rules.
#[derive(
    Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash,
)]
#[serde(rename_all = "snake_case")]
pub enum Risk {
    Low,
    Medium,
    High,
    Critical,
}

/// Microseconds since the Unix epoch, for envelopes and latencies.
pub fn now_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}
