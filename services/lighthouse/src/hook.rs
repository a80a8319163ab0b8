//! `lighthouse hook claude`: Claude Code's hook, one process per tool call.
//!
//! PreToolUse: publish the command, wait for its decision, answer in Claude Code's
//! protocol. When the local policy escalates, the wait is `hook.escalation_wait_ms`
//! (experts vote) instead of `hook.decision_timeout_ms`. Whatever fails (no server, no
//! validator, a slow pipeline), the answer still comes in time from the same policy
//! code run locally, and the command plus that local decision are spooled for the
//! audit log.

use crate::settings::Settings;
use crate::spool::Spool;
use futures::StreamExt;
use lighthouse_nats::publish::{Published, publish_once};
use lighthouse_nats::read::recorded_decision;
use lighthouse_policy::Policy;
use lighthouse_schemas::{
    AgentKind, Command, Decision, Envelope, Tier, Token, Verdict, decode, encode, now_us, subject,
};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::Path;
use std::time::Duration;
use thiserror::Error;

/// The fields of Claude Code's hook payload we use; everything else is ignored.
#[derive(Debug, Clone, Deserialize)]
pub struct HookInput {
    pub hook_event_name: String,
    #[serde(default)]
    pub session_id: String,
    #[serde(default)]
    pub cwd: String,
    #[serde(default)]
    pub permission_mode: Option<String>,
    #[serde(default)]
    pub tool_name: String,
    #[serde(default)]
    pub tool_input: Value,
    #[serde(default)]
    pub tool_use_id: Option<String>,
}

#[derive(Debug, Error)]
pub enum InputError {
    #[error("hook input is over {0} bytes")]
    TooLarge(usize),
    #[error("cannot read hook input: {0}")]
    Read(#[from] std::io::Error),
    #[error("hook input is not Claude Code hook JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("hook input has no tool_name")]
    NoTool,
}

/// Reads at most `max` bytes of stdin; more is an error, never a truncated payload.
pub fn read_bounded(mut input: impl Read, max: usize) -> Result<Vec<u8>, InputError> {
    let mut buf = Vec::new();
    input.by_ref().take(max as u64 + 1).read_to_end(&mut buf)?;
    if buf.len() > max {
        return Err(InputError::TooLarge(max));
    }
    Ok(buf)
}

pub fn parse_input(raw: &[u8]) -> Result<HookInput, InputError> {
    let input: HookInput = serde_json::from_slice(raw)?;
    if input.hook_event_name == "PreToolUse" && input.tool_name.is_empty() {
        return Err(InputError::NoTool);
    }
    Ok(input)
}

/// The project a call belongs to: configured, else the nearest enclosing directory
/// holding `.git` or `.lighthouse`, else the working directory itself (see
/// [`lighthouse_config::project`]: paths are canonicalised, as for file events).
pub fn project_for(cwd: &str, configured: Option<&str>) -> String {
    lighthouse_config::project::name_of(Path::new(cwd), configured)
}

/// The nearest enclosing directory holding `.git` or `.lighthouse`, else `dir`.
pub fn project_root(dir: &Path) -> std::path::PathBuf {
    lighthouse_config::project::root(dir)
}

/// The command id: the agent's `tool_use_id`, else a hash of the exact payload (so a
/// retried hook maps to the same command).
pub fn command_id(input: &HookInput, raw: &[u8]) -> String {
    match &input.tool_use_id {
        Some(id) if !id.is_empty() => id.clone(),
        _ => format!("h-{}", &hex::encode(Sha256::digest(raw))[..32]),
    }
}

pub fn build_command(input: &HookInput, id: String, project: String, agent: String) -> Command {
    Command {
        env: Envelope::new(id.clone(), now_us(), project, agent, id),
        tool_name: input.tool_name.clone(),
        tool_input: input.tool_input.clone(),
        cwd: input.cwd.clone(),
        session_id: input.session_id.clone(),
        tool_use_id: input.tool_use_id.clone(),
        agent_kind: AgentKind::ClaudeCode,
        permission_mode: input.permission_mode.clone(),
    }
}

/// Claude Code's PreToolUse answer. Escalate is "ask": the user decides.
pub fn claude_answer(verdict: Verdict, reason: &str) -> Value {
    let decision = match verdict {
        Verdict::Allow => "allow",
        Verdict::Deny => "deny",
        Verdict::Escalate => "ask",
    };
    json!({
        "hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": decision,
            "permissionDecisionReason": reason,
        }
    })
}

/// A decision's reason as the agent reads it.
pub fn describe(decision: &Decision) -> String {
    let rule = decision
        .rule_id
        .as_deref()
        .map(|r| format!(" [{r}]"))
        .unwrap_or_default();
    let tier = match decision.tier {
        Tier::Fallback => " (Lighthouse pipeline unreachable; decided locally)",
        _ => "",
    };
    format!("Lighthouse: {}{rule}{tier}", decision.reason)
}

/// Runs the hook: reads stdin, answers on stdout. Always exits 0 with an answer, so
/// Claude Code never proceeds on a hook crash.
pub fn run(settings: &Settings, stdin: impl Read) -> Value {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    // Connect before reading the payload: async-nats waits for a timer tick before its
    // first attempt, and reading and parsing the payload fit in that wait.
    let early = runtime.as_ref().ok().map(|rt| {
        let task = rt.spawn(connect(settings.nats_url(), connect_limit(settings)));
        rt.block_on(tokio::task::yield_now());
        task
    });
    let raw = match read_bounded(stdin, settings.hook.max_input_bytes) {
        Ok(raw) => raw,
        Err(e) => return claude_answer(Verdict::Deny, &format!("Lighthouse: {e}")),
    };
    let input = match parse_input(&raw) {
        Ok(input) => input,
        Err(e) => return claude_answer(Verdict::Deny, &format!("Lighthouse: {e}")),
    };
    if input.hook_event_name != "PreToolUse" {
        if let Some(task) = early {
            task.abort();
        }
        // No decision to make; PostToolUse publishes written files, silently.
        if input.hook_event_name == "PostToolUse" {
            crate::post_tool::run(settings, &input);
        }
        return Value::Null;
    }
    match (runtime, early) {
        (Ok(rt), Some(task)) => rt.block_on(pre_tool_use(settings, input, &raw, task)),
        (Err(e), _) => fallback_answer(settings, &input, &raw, &e.to_string()),
        (Ok(_), None) => fallback_answer(settings, &input, &raw, "no connection task"),
    }
}

/// How long the connect (handshake included) may take.
fn connect_limit(settings: &Settings) -> Duration {
    Duration::from_millis(settings.hook.connect_timeout_ms)
        .min(Duration::from_millis(settings.hook.decision_timeout_ms))
}

/// Connects as the configured user. The handshake, not just TCP, is bounded: a server
/// that accepts and stays silent must not hold the agent.
async fn connect(url: String, limit: Duration) -> Result<async_nats::Client, String> {
    let connect = lighthouse_nats::with_url_credentials(async_nats::ConnectOptions::new(), &url)
        .name("lighthouse-hook")
        .connection_timeout(limit)
        .connect(lighthouse_nats::seed_urls(&url));
    match tokio::time::timeout(limit, connect).await {
        Ok(Ok(client)) => Ok(client),
        Ok(Err(e)) => Err(format!("connect: {e}")),
        Err(_) => Err("connect timed out".to_owned()),
    }
}

/// No async runtime: decide locally, and spool like any other fallback so the audit
/// log still gets the call.
fn fallback_answer(settings: &Settings, input: &HookInput, raw: &[u8], why: &str) -> Value {
    let project = project_for(&input.cwd, settings.hook.project.as_deref());
    let command = build_command(
        input,
        command_id(input, raw),
        project,
        settings.hook.agent.clone(),
    );
    let spool = Spool::new(&settings.state_dir());
    answer_locally(settings, &spool, &command, why)
}

/// Claude Code's answer for a decision. An escalation still unresolved (no expert
/// consensus in time, or nobody to ask) is the agent's "ask", or a deny in strict mode.
pub fn answer_for(decision: &Decision, strict: bool) -> Value {
    match decision.verdict {
        Verdict::Escalate if strict => claude_answer(
            Verdict::Deny,
            &format!(
                "{} (strict mode: denied without expert approval)",
                describe(decision)
            ),
        ),
        verdict => claude_answer(verdict, &describe(decision)),
    }
}

/// The policy the hook decides with when alone: built-in packs plus the project's own
/// `.lighthouse/policy.toml` (restricted: it can only tighten). Validators get the
/// same project pack through `lighthouse policy push`.
pub fn local_policy(cwd: &Path) -> Policy {
    let file = project_root(cwd).join(".lighthouse/policy.toml");
    let Ok(text) = std::fs::read_to_string(&file) else {
        return Policy::builtin();
    };
    let layered = lighthouse_policy::PolicyPack::parse_restricted("project", &text).and_then(|p| {
        let mut packs = Policy::builtin_packs()?;
        packs.push(p);
        Policy::from_packs(&packs)
    });
    layered.unwrap_or_else(|e| {
        tracing::warn!(file = %file.display(), error = %e, "project_policy_ignored");
        Policy::builtin()
    })
}

fn decide_locally(command: &Command) -> Decision {
    let home = crate::settings::home_dir();
    lighthouse_validator::decide(
        &local_policy(Path::new(&command.cwd)),
        command,
        home.as_deref().and_then(Path::to_str),
        Tier::Fallback,
        "hook-fallback",
        now_us(),
    )
}

async fn pre_tool_use(
    settings: &Settings,
    input: HookInput,
    raw: &[u8],
    connecting: tokio::task::JoinHandle<Result<async_nats::Client, String>>,
) -> Value {
    let started = std::time::Instant::now();
    let project = project_for(&input.cwd, settings.hook.project.as_deref());
    let command = build_command(
        &input,
        command_id(&input, raw),
        project,
        settings.hook.agent.clone(),
    );
    let spool = Spool::new(&settings.state_dir());
    let deadline = Duration::from_millis(settings.hook.decision_timeout_ms);
    let escalation_wait = Duration::from_millis(settings.hook.escalation_wait_ms);
    // The task bounds itself; this bound only guards against a task that never ends.
    let client = match tokio::time::timeout(connect_limit(settings), connecting).await {
        Ok(Ok(Ok(client))) => client,
        Ok(Ok(Err(why))) => return answer_locally(settings, &spool, &command, &why),
        Ok(Err(e)) => return answer_locally(settings, &spool, &command, &e.to_string()),
        Err(_) => return answer_locally(settings, &spool, &command, "connect timed out"),
    };
    let waits = Waits {
        fast: started + deadline,
        experts: started + escalation_wait,
    };
    let overall = waits.experts.max(waits.fast);
    match tokio::time::timeout_at(overall.into(), ask_pipeline(&client, &command, waits)).await {
        Ok(Ok(decision)) => {
            let mut answer = answer_for(&decision, settings.hook.strict);
            if decision.verdict != Verdict::Deny
                && let Some(notes) = open_annotations(&client, &input, &command).await
            {
                answer["hookSpecificOutput"]["additionalContext"] = Value::String(notes);
            }
            // Earlier fallbacks go to the audit log now that the pipeline answers.
            if !spool.pending().is_empty() {
                let js = async_nats::jetstream::new(client);
                let budget = Duration::from_millis(settings.hook.spool_flush_ms);
                let _ = tokio::time::timeout(budget, spool.flush(&js)).await;
            }
            answer
        }
        Ok(Err(why)) => record_fallback(settings, &client, &spool, &command, &why).await,
        Err(_) => {
            let why = format!("no decision within {deadline:?}");
            record_fallback(settings, &client, &spool, &command, &why).await
        }
    }
}

/// Tools that change a file, and the input field naming it.
const EDITING_TOOLS: &[(&str, &str)] = &[
    ("Write", "file_path"),
    ("Edit", "file_path"),
    ("MultiEdit", "file_path"),
    ("NotebookEdit", "notebook_path"),
];

/// How long the hook may spend looking up annotations of the file being edited.
const ANNOTATION_BUDGET: Duration = Duration::from_millis(250);

/// Experts' open notes on the file the agent is about to edit, as markdown for the
/// model (Claude Code passes `additionalContext` to it).
async fn open_annotations(
    client: &async_nats::Client,
    input: &HookInput,
    command: &Command,
) -> Option<String> {
    let field = EDITING_TOOLS
        .iter()
        .find(|(tool, _)| *tool == input.tool_name)?
        .1;
    let path = input.tool_input.get(field)?.as_str()?;
    let path = Path::new(&input.cwd).join(path);
    let file = crate::annotate::locate(&path, Some(&command.env.project)).ok()?;
    let js = async_nats::jetstream::new(client.clone());
    let all = tokio::time::timeout(ANNOTATION_BUDGET, crate::annotate::load(&js, &file))
        .await
        .ok()?
        .ok()?;
    let open = lighthouse_anchor::annotations::open(&all);
    (!open.is_empty()).then(|| {
        format!(
            "Lighthouse: experts left notes on this file; keep them in mind.\n\n{}",
            lighthouse_anchor::annotations::render_markdown(&file.path, &open)
        )
    })
}

/// How long a hook that is already late may spend recording its local decision.
const RECORD_BUDGET: Duration = Duration::from_millis(300);

/// The server is reachable but gave no decision in time (no validator, overload):
/// decide locally and record that decision right away, so the audit log holds what
/// the agent was told. If a validator's decision landed first, that one is the
/// decision and the agent gets it.
async fn record_fallback(
    settings: &Settings,
    client: &async_nats::Client,
    spool: &Spool,
    command: &Command,
    why: &str,
) -> Value {
    tracing::warn!(reason = why, "hook_fallback");
    let local = decide_locally(command);
    let js = async_nats::jetstream::new(client.clone());
    let subject = subject::decision(
        &Token::encode(&command.env.project),
        &Token::encode(&command.env.agent),
        &Token::encode(&command.env.id),
    );
    // The command may not have reached LH_CMD (that may be what failed): record both.
    let record = crate::spool::record(&js, command, &local);
    match tokio::time::timeout(RECORD_BUDGET, record).await {
        Ok(Ok(Published::AlreadyExists)) => match recorded_decision(&js, &subject).await {
            Some(recorded) => answer_for(&recorded, settings.hook.strict),
            None => answer_for(&local, settings.hook.strict),
        },
        Ok(Ok(_)) => answer_for(&local, settings.hook.strict),
        _ => answer_locally(settings, spool, command, why),
    }
}

fn answer_locally(settings: &Settings, spool: &Spool, command: &Command, why: &str) -> Value {
    // Decided now (not when the wait began): the audit log shows when it really was.
    let decision = decide_locally(command);
    if let Err(e) = spool.push(command, &decision) {
        tracing::warn!(error = %e, "spool_write_failed");
    }
    tracing::warn!(reason = why, "hook_fallback");
    answer_for(&decision, settings.hook.strict)
}

/// Publishes the command and waits for its decision (the caller bounds the wait).
pub async fn ask_pipeline(
    client: &async_nats::Client,
    command: &Command,
    waits: Waits,
) -> Result<Decision, String> {
    let project = Token::encode(&command.env.project);
    let agent = Token::encode(&command.env.agent);
    let cmd = Token::encode(&command.env.id);
    let decision_subject = subject::decision(&project, &agent, &cmd);
    // Subscribe before publishing, so neither the decision nor the notice that experts
    // were asked can slip past us.
    let mut decisions = client
        .subscribe(decision_subject.clone())
        .await
        .map_err(|e| format!("subscribe: {e}"))?;
    let mut pending = client
        .subscribe(subject::pending(&project, &agent, &cmd))
        .await
        .map_err(|e| format!("subscribe: {e}"))?;
    let js = async_nats::jetstream::new(client.clone());
    let payload = encode(command).map_err(|e| e.to_string())?;
    let published = publish_once(
        &js,
        subject::command(&project, &agent),
        &command.env.id,
        payload.into(),
        false,
    )
    .await
    .map_err(|e| e.to_string())?;
    if let Published::Duplicate(_) = published {
        // A retry of a command already seen: its decision may already be on record.
        if let Some(decision) = recorded_decision(&js, &decision_subject).await {
            return Ok(decision);
        }
    }
    // The fast path answers within `waits.fast`. Past it, the wait goes on only for a
    // call that is with experts: the validator said so, or (if that notice was missed)
    // the local policy escalates it too. Loading the policy only here keeps it off the
    // fast path.
    let mut until = waits.fast;
    let mut asked_locally = false;
    loop {
        tokio::select! {
            message = decisions.next() => {
                let message = message.ok_or("subscription closed before the decision arrived")?;
                return decode(&message.payload).map_err(|e| e.to_string());
            }
            Some(_) = pending.next() => until = waits.experts,
            _ = tokio::time::sleep_until(until.into()) => {
                if until == waits.fast && !asked_locally {
                    asked_locally = true;
                    if decide_locally(command).verdict == Verdict::Escalate {
                        until = waits.experts;
                        continue;
                    }
                }
                return Err("no decision before the hook's deadline".to_owned());
            }
        }
    }
}

/// When the hook stops waiting: `fast` for the pipeline's own decision, `experts` for
/// a call escalated to expert review (within Claude Code's hook timeout).
#[derive(Debug, Clone, Copy)]
pub struct Waits {
    pub fast: std::time::Instant,
    pub experts: std::time::Instant,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_is_bounded() {
        let big = [b' '; 100];
        assert!(matches!(
            read_bounded(&big[..], 99),
            Err(InputError::TooLarge(99))
        ));
        assert_eq!(read_bounded(&big[..], 100).unwrap().len(), 100);
    }

    #[test]
    fn unknown_fields_are_ignored_and_missing_tool_is_an_error() {
        let ok = br#"{"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"ls"},"new_field":1}"#;
        assert_eq!(parse_input(ok).unwrap().tool_name, "Bash");
        let no_tool = br#"{"hook_event_name":"PreToolUse"}"#;
        assert!(matches!(parse_input(no_tool), Err(InputError::NoTool)));
        assert!(parse_input(b"not json").is_err());
    }

    #[test]
    fn command_ids_prefer_tool_use_id_and_hash_stably_otherwise() {
        let raw = br#"{"hook_event_name":"PreToolUse","tool_name":"Bash"}"#;
        let mut input = parse_input(raw).unwrap();
        let a = command_id(&input, raw);
        assert_eq!(a, command_id(&input, raw));
        assert!(a.starts_with("h-"));
        input.tool_use_id = Some("toolu_9".into());
        assert_eq!(command_id(&input, raw), "toolu_9");
    }

    #[test]
    fn answers_speak_claude_codes_protocol() {
        let a = claude_answer(Verdict::Escalate, "why");
        assert_eq!(a["hookSpecificOutput"]["permissionDecision"], "ask");
        assert_eq!(a["hookSpecificOutput"]["hookEventName"], "PreToolUse");
        assert_eq!(a["hookSpecificOutput"]["permissionDecisionReason"], "why");
    }

    #[test]
    fn strict_mode_turns_unresolved_escalations_into_denials() {
        let mut d = decide_locally(&build_command(
            &parse_input(br#"{"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"git reset --hard HEAD~3"}}"#).unwrap(),
            "c".into(),
            "p".into(),
            "a".into(),
        ));
        assert_eq!(d.verdict, Verdict::Escalate);
        assert_eq!(
            answer_for(&d, false)["hookSpecificOutput"]["permissionDecision"],
            "ask"
        );
        assert_eq!(
            answer_for(&d, true)["hookSpecificOutput"]["permissionDecision"],
            "deny"
        );
        d.verdict = Verdict::Allow;
        assert_eq!(
            answer_for(&d, true)["hookSpecificOutput"]["permissionDecision"],
            "allow"
        );
    }

    #[test]
    fn project_is_the_enclosing_repository() {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("my-repo");
        std::fs::create_dir_all(repo.join(".git")).unwrap();
        std::fs::create_dir_all(repo.join("src/deep")).unwrap();
        let cwd = repo.join("src/deep");
        assert_eq!(project_for(cwd.to_str().unwrap(), None), "my-repo");
        assert_eq!(project_for(cwd.to_str().unwrap(), Some("named")), "named");
    }
}
