//! The MCP face of the [`Desk`]: one tool per expert action (rmcp's tool router).
//!
//! Every answer is one text block holding JSON. Tool failures the caller should read
//! (no such escalation, a specialty this server does not hold) come back as tool errors
//! (`isError`), never as protocol errors.

use crate::desk::{Ballot, Desk, NoteArgs, Refused};
use crate::files::Which;
use lighthouse_schemas::Choice;
use lighthouse_schemas::msg::Severity;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock, Implementation, ServerCapabilities, ServerConfig};
use rmcp::{ErrorData, ServerHandler, schemars, tool, tool_handler, tool_router};
use serde::Deserialize;
use serde_json::Value;
use std::time::Duration;

/// One MCP session (the streamable HTTP transport makes one per client session).
#[derive(Debug, Clone)]
pub struct Session {
    desk: Desk,
    tool_router: ToolRouter<Session>,
}

fn answer(result: anyhow::Result<Value>) -> Result<CallToolResult, ErrorData> {
    match result {
        Ok(v) => Ok(CallToolResult::success(vec![ContentBlock::text(
            serde_json::to_string_pretty(&v).unwrap_or_default(),
        )])),
        Err(e) => {
            let message = match e.downcast_ref::<Refused>() {
                Some(r) => r.0.clone(),
                None => format!("lighthouse: {e:#}"),
            };
            Ok(CallToolResult::error(vec![ContentBlock::text(message)]))
        }
    }
}

fn seconds(s: Option<f64>) -> Duration {
    Duration::from_secs_f64(s.unwrap_or(0.0).clamp(0.0, 600.0))
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct ListArgs {
    /// When nothing is pending, wait up to this many seconds for an escalation
    /// (bounded by the server; an empty list then means "none yet, ask again").
    #[serde(default)]
    pub wait_seconds: Option<f64>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct CmdArgs {
    /// The escalated command's id (`cmd_id` from list_escalations).
    pub cmd_id: String,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct DecisionArgs {
    pub cmd_id: String,
    /// Wait up to this many seconds for the decision (bounded by the server); past that
    /// the answer is `{"status":"pending"}` and the caller asks again.
    #[serde(default)]
    pub wait_seconds: Option<f64>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum VoteChoice {
    Approve,
    Reject,
    Abstain,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct VoteArgs {
    pub cmd_id: String,
    /// approve, reject or abstain.
    pub choice: VoteChoice,
    /// Why: the agent reads it, the audit log keeps it.
    pub reason: String,
    /// What the agent could do instead (shown to it with a rejection).
    #[serde(default)]
    pub suggestions: Vec<String>,
    /// 0.0 to 1.0.
    #[serde(default)]
    pub confidence: Option<f32>,
    /// Which of this server's specialties to vote as (default: the first the
    /// escalation asks for).
    #[serde(default)]
    pub specialty: Option<String>,
    /// Wait up to this many seconds for the decision after voting.
    #[serde(default)]
    pub wait_seconds: Option<f64>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct FileArgs {
    pub project: String,
    /// Project-relative path, `/`-separated.
    pub path: String,
    /// A version: its LH_FS sequence number, or 6+ hex digits of its SHA-256.
    #[serde(default)]
    pub version: Option<String>,
    /// Or a time: the version current then (RFC 3339, or an age like 15m, 2h, 3d).
    #[serde(default)]
    pub at: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct HistoryArgs {
    pub project: String,
    pub path: String,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct AnnotateArgs {
    pub project: String,
    pub path: String,
    /// 1-based line inside the definition to annotate; the note follows that
    /// definition through later edits.
    pub line: usize,
    pub message: String,
    /// e.g. security, performance, architecture.
    pub category: String,
    /// info, low, medium, high or critical (default medium).
    #[serde(default)]
    pub severity: Option<String>,
    /// The version annotated (default: the latest).
    #[serde(default)]
    pub version: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct PermissionArgs {
    /// The tool Claude Code is about to run.
    pub tool_name: String,
    /// Its input.
    #[serde(default)]
    pub input: Value,
    /// Claude Code's id for the call (the hook's command id).
    #[serde(default)]
    pub tool_use_id: Option<String>,
}

#[tool_router]
impl Session {
    pub fn new(desk: Desk) -> Session {
        Session {
            desk,
            tool_router: Self::tool_router(),
        }
    }

    #[tool(
        description = "Open escalations addressed to this expert's specialties: commands an AI coding agent wants to run that policy sent to experts. Each has a cmd_id, the command summary, risk, reason and seconds left. Optionally waits for one to arrive."
    )]
    async fn list_escalations(
        &self,
        Parameters(a): Parameters<ListArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        answer(
            self.desk
                .pending_wait(seconds(a.wait_seconds))
                .await
                .map(|items| serde_json::json!({"expert": self.desk.identity.expert, "specialties": self.desk.identity.specialties, "pending": items})),
        )
    }

    #[tool(
        description = "Everything needed to judge one escalation: the command and how policy reads it (normalised), why it was escalated, the agent's recent decisions, each file it touches at the version in question with the diff the call would make and the file's expert annotations, votes so far, and the decision if made."
    )]
    async fn get_escalation(
        &self,
        Parameters(a): Parameters<CmdArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        answer(self.desk.context(&a.cmd_id).await)
    }

    #[tool(
        description = "Vote on an escalation as this server's expert: approve, reject or abstain, with a reason (and suggestions for the agent). Returns the decision if it is made within wait_seconds, else status pending: then poll get_decision."
    )]
    async fn vote(&self, Parameters(a): Parameters<VoteArgs>) -> Result<CallToolResult, ErrorData> {
        let choice = match a.choice {
            VoteChoice::Approve => Choice::Approve,
            VoteChoice::Reject => Choice::Reject,
            VoteChoice::Abstain => Choice::Abstain,
        };
        answer(
            self.desk
                .vote(Ballot {
                    cmd_id: a.cmd_id,
                    choice,
                    reason: a.reason,
                    suggestions: a.suggestions,
                    confidence: a.confidence,
                    specialty: a.specialty,
                    wait: seconds(a.wait_seconds.or(Some(5.0))),
                })
                .await,
        )
    }

    #[tool(
        description = "The final decision on a command, waiting up to wait_seconds for it. Answers status decided (with verdict, reason, voters) or status pending (ask again)."
    )]
    async fn get_decision(
        &self,
        Parameters(a): Parameters<DecisionArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        answer(self.desk.decision(&a.cmd_id, seconds(a.wait_seconds)).await)
    }

    #[tool(
        description = "A project file as the agent wrote it: the latest version, a version (LH_FS sequence or content hash prefix) or the version current at a time."
    )]
    async fn read_file(
        &self,
        Parameters(a): Parameters<FileArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        let which = match Which::parse(a.version.as_deref(), a.at.as_deref()) {
            Ok(w) => w,
            Err(e) => return answer(Err(Refused(e.to_string()).into())),
        };
        answer(self.desk.read_file(&a.project, &a.path, which).await)
    }

    #[tool(
        description = "Every version of a project file on the log: sequence, time, hash, size, which tool and command wrote it."
    )]
    async fn file_history(
        &self,
        Parameters(a): Parameters<HistoryArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        answer(self.desk.history(&a.project, &a.path).await)
    }

    #[tool(
        description = "Annotate the definition (function, class, method…) at a line of a project file, as this expert. The note is anchored to the code, follows it through edits, and is shown to agents that edit the file."
    )]
    async fn annotate_file(
        &self,
        Parameters(a): Parameters<AnnotateArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        let severity = match a.severity.as_deref().map(str::to_lowercase) {
            None => Severity::Medium,
            Some(s) => match serde_json::from_value(Value::String(s.clone())) {
                Ok(s) => s,
                Err(_) => {
                    return answer(Err(Refused(format!(
                        "severity {s:?}: info, low, medium, high or critical"
                    ))
                    .into()));
                }
            },
        };
        answer(
            self.desk
                .annotate(NoteArgs {
                    project: a.project,
                    path: a.path,
                    line: a.line,
                    message: a.message,
                    category: a.category,
                    severity,
                    version: a.version,
                })
                .await,
        )
    }

    #[tool(
        description = "Permission prompt for Claude Code (--permission-prompt-tool mcp__lighthouse__permission_prompt): answers what Lighthouse decided about the call, waiting while experts review it; without a recorded decision the policy decides and anything needing experts is denied."
    )]
    async fn permission_prompt(
        &self,
        Parameters(a): Parameters<PermissionArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        let verdict = self
            .desk
            .permission(&a.tool_name, &a.input, a.tool_use_id.as_deref())
            .await;
        Ok(CallToolResult::success(vec![ContentBlock::text(
            verdict.to_string(),
        )]))
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Session {
    fn get_info(&self) -> ServerConfig {
        let id = &self.desk.identity;
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("lighthouse", env!("CARGO_PKG_VERSION")))
            .with_instructions(format!(
                "Lighthouse expert desk. You act as expert `{}` ({}). AI coding agents' risky commands wait for your review: list_escalations, get_escalation, then vote with a reason. Waits are bounded: a `pending` answer means ask again.",
                id.expert,
                id.specialties.join(", ")
            ))
    }
}
