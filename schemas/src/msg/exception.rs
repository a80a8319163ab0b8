use super::{Envelope, Message};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Whose calls an exception covers, always within its project (`env.project`).
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum ExceptionScope {
    /// One agent session (`Command::session_id`).
    Session(String),
    /// One agent (`Command::env.agent`), in every session.
    Agent(String),
    /// Every agent and session of the project.
    Project,
}

/// A human's standing approval of one normalised call, granted from an escalation the
/// experts approved. Kept in the KV bucket `lh_exceptions` under
/// `<granter>.<id>` (the server lets a granter write only under its own name);
/// revoking writes a new revision, so the history stays.
///
/// `env.id` is the exception id, `env.ts_us` when it was granted, `env.correlation_id`
/// the command it was granted from.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
pub struct Exception {
    pub env: Envelope,
    pub scope: ExceptionScope,
    /// The tool of the call it covers.
    pub tool_name: String,
    /// The call's normalised-command key (`lighthouse_policy::fingerprint`), never its
    /// text: a reformatted command matches, another command does not.
    pub fingerprint: String,
    /// The policy rule whose escalation it answers: if the policy later escalates the
    /// call for another reason, the exception does not cover that.
    pub rule_id: Option<String>,
    /// What the normaliser made of the call, for people reading the list.
    #[serde(default)]
    pub normalized: Vec<String>,
    /// Identity that granted it (`ops` or an expert name): the first part of its key.
    pub granted_by: String,
    /// Why, in the granter's words.
    pub reason: String,
    /// After this (µs since the epoch) it no longer applies.
    pub expires_us: u64,
    #[serde(default)]
    pub revoked: Option<Revocation>,
}

/// Who withdrew an exception, when and why.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
pub struct Revocation {
    pub by: String,
    pub ts_us: u64,
    pub reason: String,
}

impl Exception {
    /// The command it was granted from.
    pub fn cmd_id(&self) -> &str {
        &self.env.correlation_id
    }

    /// Neither revoked nor expired at `now_us`.
    pub fn live(&self, now_us: u64) -> bool {
        self.revoked.is_none() && now_us < self.expires_us
    }
}

impl Message for Exception {
    const KIND: &'static str = "exception";
    fn envelope(&self) -> &Envelope {
        &self.env
    }
}
