//! The agents' hook protocols, as pure functions: parse a client's hook input into one
//! [`Call`], render one [`Answer`] in that client's own output.
//!
//! Every client is driven through the same pipeline; only these modules differ. What
//! each real client does with a hook's output was measured with the real binaries
//! (see `tests/clients/`):
//!
//! | client | gate event | blocks on | runs anyway on |
//! |---|---|---|---|
//! | Claude Code 2.1.332 | `PreToolUse` | `permissionDecision: deny` (JSON), exit 2 | exit 1, garbage |
//! | Codex CLI 0.171.0 | `PreToolUse` | `permissionDecision: deny`, `{"decision":"block"}`, exit 2 | `allow`, `ask` (unsupported: "hook failed"), exit 1, garbage |
//! | Gemini CLI 0.61.0 | `BeforeTool` | `{"decision":"deny"}`, exit 2 | Claude-shaped output, exit 1, garbage; `{"decision":"ask"}` waits forever in `-p` runs |
//!
//! So Codex and Gemini only ever get "allow" (no output) or "deny" (JSON, and exit 2
//! with the reason on stderr, which both honour): an escalation nobody resolved is a
//! deny whose reason says how to get the call approved.

pub mod claude;
pub mod codex;
pub mod gemini;

use lighthouse_schemas::{AgentKind, Verdict};
use serde_json::Value;
use sha2::{Digest, Sha256};
use thiserror::Error;

/// The agent CLIs Lighthouse speaks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Client {
    Claude,
    Codex,
    Gemini,
}

impl Client {
    pub const ALL: [Client; 3] = [Client::Claude, Client::Codex, Client::Gemini];

    /// The client named on the command line (`lighthouse hook <name>`).
    pub fn from_name(name: &str) -> Option<Client> {
        match name {
            "claude" => Some(Client::Claude),
            "codex" => Some(Client::Codex),
            "gemini" => Some(Client::Gemini),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Client::Claude => "claude",
            Client::Codex => "codex",
            Client::Gemini => "gemini",
        }
    }

    pub fn agent_kind(self) -> AgentKind {
        match self {
            Client::Claude => AgentKind::ClaudeCode,
            Client::Codex => AgentKind::CodexCli,
            Client::Gemini => AgentKind::GeminiCli,
        }
    }

    /// Whether the client can put a call before its user ("ask"). Codex and Gemini
    /// cannot: Codex runs an "ask", Gemini waits forever in a headless run.
    pub fn can_ask(self) -> bool {
        matches!(self, Client::Claude)
    }
}

/// Which moment of a tool call the hook was called for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Event {
    /// Before the tool runs: the gate.
    PreTool,
    /// After the tool ran: files it wrote, notes on files it read.
    PostTool,
    /// Anything else the client sends; answered with nothing.
    Other,
}

/// One tool call, in Lighthouse's terms: tool names and inputs are Claude Code's (the
/// policy's vocabulary), whatever the client called them.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Call {
    pub event: Event,
    /// Canonical tool name (`Bash`, `Write`, `Edit`, `Read`, …).
    pub tool_name: String,
    /// The tool's name as the client gave it.
    pub client_tool: String,
    /// Canonical input (`command`, `file_path`, `content`, `old_string` …).
    pub tool_input: Value,
    pub cwd: String,
    pub session_id: String,
    pub tool_use_id: Option<String>,
    pub permission_mode: Option<String>,
}

#[derive(Debug, Error)]
pub enum InputError {
    #[error("hook input is over {0} bytes")]
    TooLarge(usize),
    #[error("cannot read hook input: {0}")]
    Read(#[from] std::io::Error),
    #[error("hook input is not {0} hook JSON: {1}")]
    Json(&'static str, serde_json::Error),
    #[error("hook input has no tool_name")]
    NoTool,
}

/// The fields every client sends (each names a few differently; serde aliases cover
/// them). Everything else is ignored.
#[derive(Debug, serde::Deserialize)]
struct RawInput {
    #[serde(default)]
    hook_event_name: String,
    #[serde(default)]
    session_id: String,
    #[serde(default)]
    cwd: String,
    #[serde(default)]
    permission_mode: Option<String>,
    #[serde(default)]
    tool_name: String,
    #[serde(default)]
    tool_input: Value,
    #[serde(default)]
    tool_use_id: Option<String>,
}

/// Parses a client's hook payload.
pub fn parse(client: Client, raw: &[u8]) -> Result<Call, InputError> {
    let input: RawInput =
        serde_json::from_slice(raw).map_err(|e| InputError::Json(client.name(), e))?;
    let event = match (client, input.hook_event_name.as_str()) {
        (Client::Gemini, "BeforeTool") | (Client::Claude | Client::Codex, "PreToolUse") => {
            Event::PreTool
        }
        (Client::Gemini, "AfterTool") | (Client::Claude | Client::Codex, "PostToolUse") => {
            Event::PostTool
        }
        _ => Event::Other,
    };
    if event == Event::PreTool && input.tool_name.is_empty() {
        return Err(InputError::NoTool);
    }
    let (tool_name, tool_input) = match client {
        Client::Gemini => gemini::canonical(&input.tool_name, input.tool_input.clone()),
        Client::Claude | Client::Codex => (input.tool_name.clone(), input.tool_input.clone()),
    };
    let cwd = run_dir(input.cwd, &tool_name, &tool_input);
    Ok(Call {
        event,
        tool_name,
        client_tool: input.tool_name,
        tool_input,
        cwd,
        session_id: input.session_id,
        tool_use_id: input.tool_use_id.filter(|id| !id.is_empty()),
        permission_mode: input.permission_mode,
    })
}

/// Where a shell command runs: the call's directory, or the one its input names (Gemini's
/// `dir_path`, formerly `directory`; Codex's `workdir`), relative to it. Paths are judged
/// there: `echo {} > settings.json` run in `.gemini` writes `.gemini/settings.json`.
fn run_dir(cwd: String, tool: &str, input: &Value) -> String {
    if tool != "Bash" {
        return cwd;
    }
    let named = ["dir_path", "directory", "workdir"]
        .iter()
        .find_map(|field| input.get(*field)?.as_str())
        .filter(|dir| !dir.is_empty());
    match named {
        // An absolute directory replaces the call's (as `Path::join` does).
        Some(dir) => std::path::Path::new(&cwd)
            .join(dir)
            .to_string_lossy()
            .into_owned(),
        None => cwd,
    }
}

/// Longest client-given call id used as the command id (Claude Code's are ~30 bytes).
const MAX_CALL_ID: usize = 1024;

/// The command id of a call. Claude Code's `tool_use_id` names the call. Codex and
/// Gemini answer an unresolved escalation with a deny whose remedy is "approve, then
/// retry": the retry is a new call, so their id is bound to what the call does (the
/// session, directory, tool and input), and a retry of the same call finds the
/// decision experts made. Without any id, a hash of the exact payload.
pub fn command_id(client: Client, call: &Call, raw: &[u8]) -> String {
    match (client, &call.tool_use_id) {
        (Client::Claude, Some(id)) if id.len() <= MAX_CALL_ID => id.clone(),
        // An id that could crowd the command out of a message: its digest names it.
        (Client::Claude, Some(id)) => format!("t-{}", &hex::encode(Sha256::digest(id))[..32]),
        (Client::Claude, None) => format!("h-{}", &hex::encode(Sha256::digest(raw))[..32]),
        (Client::Codex | Client::Gemini, _) => {
            let mut h = Sha256::new();
            for part in [
                client.name(),
                &call.session_id,
                &call.cwd,
                &call.tool_name,
                &call.tool_input.to_string(),
            ] {
                h.update((part.len() as u64).to_le_bytes());
                h.update(part.as_bytes());
            }
            format!(
                "{}-{}",
                &client.name()[..2],
                &hex::encode(h.finalize())[..32]
            )
        }
    }
}

/// What the hook tells the agent about one call.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub verdict: Verdict,
    /// Why, for the agent (and, on a deny, for the model).
    pub reason: String,
    /// The command id, for the remedy of an unresolved escalation.
    pub cmd_id: String,
    /// Extra context for the model (experts' notes, an approval's suggestions).
    pub context: Option<String>,
}

/// What the hook process prints and how it exits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    pub stdout: Option<String>,
    pub stderr: Option<String>,
    pub code: u8,
}

impl Output {
    /// Nothing to say: the call goes on.
    pub const SILENT: Output = Output {
        stdout: None,
        stderr: None,
        code: 0,
    };
}

/// Renders a pre-tool answer. `strict` turns an unresolved escalation into a deny for
/// clients that could ask.
pub fn render_pre(client: Client, answer: &Answer, strict: bool) -> Output {
    match client {
        Client::Claude => claude::pre(answer, strict),
        Client::Codex => codex::pre(answer),
        Client::Gemini => gemini::pre(answer),
    }
}

/// Renders a post-tool answer: context for the model, if any.
pub fn render_post(client: Client, context: Option<&str>) -> Output {
    match client {
        Client::Claude => claude::post(context),
        Client::Codex => codex::post(context),
        Client::Gemini => gemini::post(context),
    }
}

/// A payload the hook cannot read: denied, in the client's protocol.
pub fn render_refusal(client: Client, reason: &str) -> Output {
    render_pre(
        client,
        &Answer {
            verdict: Verdict::Deny,
            reason: reason.to_owned(),
            cmd_id: String::new(),
            context: None,
        },
        true,
    )
}

/// The deny reason of an escalation no expert resolved, for clients that cannot ask:
/// what happened and exactly how to get the call approved.
pub fn unresolved_reason(answer: &Answer) -> String {
    format!(
        "{} — held for expert review and not approved. Command id: {id}. To run it, an \
         expert approves it (`lighthouse expert approve {id} --reason \"…\"`, or any expert \
         client voting on lh.vote.{id}.<expert>); then retry exactly the same call in this \
         session. Do not work around this with another command.",
        answer.reason,
        id = answer.cmd_id
    )
}

/// A deny both Codex and Gemini honour whatever else changes: the JSON answer on
/// stdout and exit 2 with the reason on stderr.
fn deny_with_exit_2(stdout: Value, reason: &str) -> Output {
    Output {
        stdout: Some(stdout.to_string()),
        stderr: Some(reason.to_owned()),
        code: 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_client_names_its_events() {
        let pre = parse(Client::Codex, br#"{"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"ls"},"tool_use_id":"call_1"}"#).unwrap();
        assert_eq!(pre.event, Event::PreTool);
        let before = parse(Client::Gemini, br#"{"hook_event_name":"BeforeTool","tool_name":"run_shell_command","tool_input":{"command":"ls"}}"#).unwrap();
        assert_eq!(before.event, Event::PreTool);
        assert_eq!(before.tool_name, "Bash");
        assert_eq!(before.client_tool, "run_shell_command");
        // A Claude-named event sent to the Gemini hook is not a gate.
        let other = parse(
            Client::Gemini,
            br#"{"hook_event_name":"PreToolUse","tool_name":"x"}"#,
        )
        .unwrap();
        assert_eq!(other.event, Event::Other);
        assert!(matches!(
            parse(Client::Gemini, br#"{"hook_event_name":"BeforeTool"}"#),
            Err(InputError::NoTool)
        ));
        assert!(parse(Client::Claude, b"nope").is_err());
    }

    #[test]
    fn a_shell_command_runs_in_the_directory_its_input_names() {
        let gemini = |input: &str| {
            let raw = format!(
                r#"{{"hook_event_name":"BeforeTool","cwd":"/p","tool_name":"run_shell_command","tool_input":{input}}}"#
            );
            parse(Client::Gemini, raw.as_bytes()).unwrap()
        };
        let call = gemini(r#"{"command":"echo {} > settings.json","dir_path":".gemini"}"#);
        assert_eq!(call.cwd, "/p/.gemini");
        // So the write is judged as the write of the client's settings it is.
        let command = crate::hook::build_command(
            Client::Gemini,
            &call,
            "ge-1".into(),
            "p".into(),
            "a".into(),
        );
        assert_eq!(
            crate::local::decide_locally(&command).verdict,
            Verdict::Deny
        );
        assert_eq!(gemini(r#"{"command":"ls","directory":"/etc"}"#).cwd, "/etc");
        assert_eq!(gemini(r#"{"command":"ls","dir_path":""}"#).cwd, "/p");
        assert_eq!(gemini(r#"{"command":"ls"}"#).cwd, "/p");
        let codex = parse(Client::Codex, br#"{"hook_event_name":"PreToolUse","cwd":"/p","tool_name":"Bash","tool_input":{"command":"ls","workdir":"sub"}}"#).unwrap();
        assert_eq!(codex.cwd, "/p/sub");
        // Only a shell command has a directory of its own.
        let write = parse(Client::Gemini, br#"{"hook_event_name":"BeforeTool","cwd":"/p","tool_name":"write_file","tool_input":{"file_path":"a","content":"x","dir_path":"/etc"}}"#).unwrap();
        assert_eq!(write.cwd, "/p");
    }

    #[test]
    fn codex_and_gemini_ids_are_bound_to_what_the_call_does() {
        let a = br#"{"hook_event_name":"PreToolUse","session_id":"s","cwd":"/p","tool_name":"Bash","tool_input":{"command":"git reset --hard"},"tool_use_id":"call_1"}"#;
        let b = br#"{"hook_event_name":"PreToolUse","session_id":"s","cwd":"/p","tool_name":"Bash","tool_input":{"command":"git reset --hard"},"tool_use_id":"call_2"}"#;
        let c = br#"{"hook_event_name":"PreToolUse","session_id":"s","cwd":"/p","tool_name":"Bash","tool_input":{"command":"git reset --soft"},"tool_use_id":"call_3"}"#;
        let id = |raw: &[u8]| command_id(Client::Codex, &parse(Client::Codex, raw).unwrap(), raw);
        assert_eq!(id(a), id(b), "a retry is the same command");
        assert_ne!(id(a), id(c));
        assert!(id(a).starts_with("co-"));
        let claude = parse(Client::Claude, a).unwrap();
        assert_eq!(command_id(Client::Claude, &claude, a), "call_1");
    }

    #[test]
    fn an_oversize_call_id_is_named_by_its_digest() {
        let raw = format!(
            r#"{{"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{{"command":"ls"}},"tool_use_id":"{}"}}"#,
            "x".repeat(MAX_CALL_ID + 1)
        );
        let call = parse(Client::Claude, raw.as_bytes()).unwrap();
        let id = command_id(Client::Claude, &call, raw.as_bytes());
        assert!(id.starts_with("t-") && id.len() == 34, "{id}");
    }

    #[test]
    fn refusals_block_in_every_protocol() {
        for client in Client::ALL {
            let out = render_refusal(client, "bad input");
            let text = out.stdout.unwrap_or_default();
            assert!(text.contains("deny"), "{client:?}: {text}");
        }
    }
}
