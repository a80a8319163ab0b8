use super::{Envelope, Message};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Which coding agent produced a command (each speaks its own hook protocol).
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum AgentKind {
    ClaudeCode,
    CodexCli,
    GeminiCli,
    /// Any other client, by its own name.
    Other(String),
}

/// A tool call an agent is about to make, published on `lh.cmd.<project>.<agent>`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
pub struct Command {
    pub env: Envelope,
    /// The agent's tool name: `Bash`, `Write`, `Edit`, `Read`, `mcp__server__tool`, …
    pub tool_name: String,
    /// The tool's input exactly as the agent gave it (structured, not a string).
    pub tool_input: serde_json::Value,
    /// Working directory of the agent when it made the call.
    pub cwd: String,
    /// The agent's session id.
    pub session_id: String,
    /// The agent's id for this call, when it gives one (Claude Code does).
    #[serde(default)]
    pub tool_use_id: Option<String>,
    pub agent_kind: AgentKind,
    /// The agent's permission mode (`default`, `plan`, `acceptEdits`, `bypassPermissions`).
    #[serde(default)]
    pub permission_mode: Option<String>,
}

impl Command {
    /// A digest of what the policy decides on (tool, input, working directory): the
    /// same command id with another payload has another digest.
    pub fn payload_digest(&self) -> String {
        use sha2::{Digest, Sha256};
        let canonical =
            serde_json::to_vec(&(&self.tool_name, &self.tool_input, &self.cwd)).unwrap_or_default();
        hex::encode(&Sha256::digest(&canonical)[..16])
    }
}

impl Message for Command {
    const KIND: &'static str = "command";
    fn envelope(&self) -> &Envelope {
        &self.env
    }
}
