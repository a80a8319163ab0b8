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
    /// The git branch checked out where the agent works, as the hook read it on the
    /// agent's machine (validators cannot): a push that names no branch pushes it.
    /// Absent when unknown, and then left out of the encoding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_branch: Option<String>,
}

impl Command {
    /// A digest of what the policy decides on (tool, input, working directory, and the
    /// branch when known): the same command id with another payload has another digest.
    pub fn payload_digest(&self) -> String {
        use sha2::{Digest, Sha256};
        let (tool, input, cwd) = (&self.tool_name, &self.tool_input, &self.cwd);
        let canonical = match &self.git_branch {
            None => serde_json::to_vec(&(tool, input, cwd)),
            Some(branch) => serde_json::to_vec(&(tool, input, cwd, branch)),
        }
        .unwrap_or_default();
        hex::encode(&Sha256::digest(&canonical)[..16])
    }

    /// This command shrunk to fit a message: the tool input becomes
    /// `{"lighthouse_reduced": {sha256, bytes, head}}` (the digest and size of the whole
    /// input as JSON, and its first `keep` bytes), and free-text fields over `keep` are
    /// cut. What the policy decided on stays identifiable by its digest; nothing is
    /// dropped silently. Used only for the record: decisions are made on the whole input.
    pub fn reduced(&self, keep: usize) -> Command {
        use sha2::{Digest, Sha256};
        let text = self.tool_input.to_string();
        let cut = |s: &str| s[..floor_char_boundary(s, keep)].to_owned();
        Command {
            tool_input: serde_json::json!({
                "lighthouse_reduced": {
                    "sha256": hex::encode(Sha256::digest(text.as_bytes())),
                    "bytes": text.len(),
                    "head": cut(&text),
                }
            }),
            cwd: cut(&self.cwd),
            session_id: cut(&self.session_id),
            permission_mode: self.permission_mode.as_deref().map(cut),
            ..self.clone()
        }
    }
}

/// The largest index `<= max` on a char boundary of `s`.
fn floor_char_boundary(s: &str, max: usize) -> usize {
    if max >= s.len() {
        return s.len();
    }
    (0..=max)
        .rev()
        .find(|&i| s.is_char_boundary(i))
        .unwrap_or(0)
}

impl Message for Command {
    const KIND: &'static str = "command";
    fn envelope(&self) -> &Envelope {
        &self.env
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MAX_MESSAGE_BYTES, encode};

    fn command(tool_input: serde_json::Value) -> Command {
        Command {
            env: Envelope::new("c1", 1, "p", "a", "c1"),
            tool_name: "mcp__data__load".into(),
            tool_input,
            cwd: "/work/é".into(),
            session_id: "s".into(),
            tool_use_id: None,
            agent_kind: AgentKind::ClaudeCode,
            permission_mode: None,
            git_branch: None,
        }
    }

    #[test]
    fn a_reduced_command_fits_and_names_the_whole_input() {
        // Small floats take 4 bytes as JSON and 9 as MessagePack: 700 KB of them does
        // not encode under the message limit.
        let floats: Vec<f64> = (0..180_000).map(|i| f64::from(i % 9) / 10.0).collect();
        let big = command(serde_json::json!({ "values": floats }));
        assert!(big.tool_input.to_string().len() < MAX_MESSAGE_BYTES);
        assert!(encode(&big).is_err(), "the case this exists for");
        let small = big.reduced(4096);
        assert!(encode(&small).is_ok());
        let reduced = &small.tool_input["lighthouse_reduced"];
        assert_eq!(
            reduced["bytes"].as_u64().unwrap() as usize,
            big.tool_input.to_string().len()
        );
        assert_eq!(reduced["sha256"].as_str().unwrap().len(), 64);
        assert!(
            reduced["head"]
                .as_str()
                .unwrap()
                .starts_with("{\"values\":[0.0,0.1")
        );
        assert_ne!(small.payload_digest(), big.payload_digest());
        assert_eq!((small.env, small.tool_name), (big.env, big.tool_name));
    }

    #[test]
    fn cuts_fall_on_char_boundaries() {
        let c = command(serde_json::json!("ééé")).reduced(4);
        assert_eq!(c.cwd, "/wor");
        assert_eq!(c.tool_input["lighthouse_reduced"]["head"], "\"é");
        let c = command(serde_json::json!(1)).reduced(7);
        assert_eq!(c.cwd, "/work/");
    }
}
