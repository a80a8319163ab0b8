//! What the MCP tools do, without MCP: an expert's desk over the streams. Every method
//! acts as the one [`Identity`] the server was started with.

use crate::files::{self, Which};
use async_nats::jetstream;
use lighthouse_nats::publish::{Published, publish_once};
use lighthouse_nats::read::{Start, read_filtered};
use lighthouse_nats::scan::{self, From};
use lighthouse_nats::topology::{DECISION_STREAM, ESCALATIONS_BUCKET, VOTE_STREAM};
use lighthouse_policy::Policy;
use lighthouse_schemas::msg::{Annotation, Severity};
use lighthouse_schemas::{
    Choice, Decision, Escalation, Tier, Token, Verdict, Vote, decode, encode, now_us, subject,
};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How far back the pending list looks for open escalations.
const LOOKBACK: time::Duration = time::Duration::hours(24);
/// Most escalation records the pending list reads.
const MAX_SCANNED: usize = 2_000;
/// How often waits look again.
const POLL: Duration = Duration::from_millis(200);

/// Who every session of the server acts as. Set by the operator (settings, flags),
/// never by a tool argument.
#[derive(Debug, Clone)]
pub struct Identity {
    pub expert: String,
    pub specialties: Vec<String>,
    /// `llm`, `human`, `script`: for operators reading `lh_experts`.
    pub kind: String,
}

/// The server's state, shared by its sessions.
#[derive(Clone)]
pub struct Desk {
    pub js: jetstream::Context,
    pub identity: Arc<Identity>,
    /// Longest a tool waits before it answers `pending`.
    pub wait: Duration,
    /// Longest the permission prompt waits for experts.
    pub permission_wait: Duration,
    /// How the built-in policy reads a command (for explanations and the prompt's local
    /// fallback).
    pub policy: Arc<Policy>,
    /// How many earlier decisions of the agent an escalation's context shows.
    pub context_decisions: usize,
}

impl std::fmt::Debug for Desk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Desk")
            .field("identity", &self.identity)
            .finish_non_exhaustive()
    }
}

/// A tool's failure the caller should read (wrong arguments, nothing found).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

fn refuse<T>(message: impl Into<String>) -> anyhow::Result<T> {
    Err(Refused(message.into()).into())
}

fn when(us: u64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(us as i128 * 1000)
        .map(files::rfc3339)
        .unwrap_or_default()
}

fn words<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// One line of a command, for lists: the shell command, or the tool and its target.
pub fn summary(tool_name: &str, input: &Value) -> String {
    let field = |k: &str| input.get(k).and_then(Value::as_str);
    let text = match (field("command"), field("file_path").or(field("path"))) {
        (Some(c), _) => c.to_owned(),
        (None, Some(p)) => format!("{tool_name} {p}"),
        _ => format!("{tool_name} {input}"),
    };
    text.chars().take(300).collect()
}

/// An open escalation, as the pending list shows it.
#[derive(Debug, Clone, Serialize)]
pub struct PendingItem {
    pub cmd_id: String,
    pub project: String,
    pub agent: String,
    pub tool: String,
    pub summary: String,
    pub risk: String,
    pub rule_id: Option<String>,
    pub reason: String,
    /// Which of this expert's specialties it is addressed to.
    pub specialties: Vec<String>,
    pub deadline: String,
    pub seconds_left: u64,
    /// This expert already voted on it.
    pub voted: bool,
}

impl Desk {
    fn cmd_key(cmd_id: &str) -> String {
        Token::encode(cmd_id).kv_key()
    }

    /// The escalation recorded for `cmd_id`, if any.
    pub async fn escalation(&self, cmd_id: &str) -> anyhow::Result<Option<Escalation>> {
        let store = self.js.get_key_value(ESCALATIONS_BUCKET).await?;
        Ok(match store.get(Self::cmd_key(cmd_id)).await? {
            Some(bytes) => Some(decode::<Escalation>(&bytes)?),
            None => None,
        })
    }

    /// The final decision of an escalated command, if it has one.
    pub async fn decision_of(&self, e: &Escalation) -> Option<Decision> {
        let target = subject::decision(
            &Token::encode(&e.command.env.project),
            &Token::encode(&e.command.env.agent),
            &Token::encode(&e.cmd_id),
        );
        lighthouse_nats::read::recorded_decision(&self.js, &target).await
    }

    /// The decision of any command, by id alone (any project, any agent).
    pub async fn decision_by_id(&self, cmd_id: &str) -> Option<Decision> {
        let filter = format!("lh.decision.*.*.{}", Token::encode(cmd_id));
        let found = read_filtered(
            &self.js,
            DECISION_STREAM,
            &filter,
            Start::First,
            1,
            Duration::from_secs(5),
        )
        .await
        .ok()?;
        found.first().and_then(|m| decode(&m.payload).ok())
    }

    /// Every vote stored on `cmd_id`, oldest first.
    pub async fn votes(&self, cmd_id: &str) -> Vec<Vote> {
        read_filtered(
            &self.js,
            VOTE_STREAM,
            &subject::votes_for(&Token::encode(cmd_id)),
            Start::First,
            256,
            Duration::from_secs(5),
        )
        .await
        .map(|v| v.iter().filter_map(|m| decode(&m.payload).ok()).collect())
        .unwrap_or_default()
    }

    /// Open escalations addressed to this expert's specialties (undecided, before their
    /// deadline), oldest first. Read from the `lh_escalations` bucket (one record per
    /// command, naming every specialty asked), which an expert identity may read; the
    /// specialty's `LH_ESC` consumer is shared with the other experts and stays theirs.
    pub async fn pending(&self) -> anyhow::Result<Vec<PendingItem>> {
        let since = time::OffsetDateTime::now_utc() - LOOKBACK;
        let mine = &self.identity.specialties;
        let mut open: BTreeMap<String, (Escalation, Vec<String>)> = BTreeMap::new();
        let found = scan::collect(
            &self.js,
            &format!("KV_{ESCALATIONS_BUCKET}"),
            &format!("$KV.{ESCALATIONS_BUCKET}.>"),
            From::Time(since),
            MAX_SCANNED,
        )
        .await?;
        for m in found {
            // Deletes and purges carry no payload: nothing to decode.
            let Ok(e) = decode::<Escalation>(&m.payload) else {
                continue;
            };
            let asked: Vec<String> = e
                .required
                .iter()
                .filter(|s| mine.contains(s))
                .cloned()
                .collect();
            if !asked.is_empty() {
                open.insert(e.cmd_id.clone(), (e, asked));
            }
        }
        let now = now_us();
        let mut items = Vec::new();
        for (cmd_id, (e, specialties)) in open {
            if e.deadline_us <= now || self.decision_of(&e).await.is_some() {
                continue;
            }
            let voted = self
                .votes(&cmd_id)
                .await
                .iter()
                .any(|v| v.expert == self.identity.expert);
            items.push(PendingItem {
                cmd_id,
                project: e.command.env.project.clone(),
                agent: e.command.env.agent.clone(),
                tool: e.command.tool_name.clone(),
                summary: summary(&e.command.tool_name, &e.command.tool_input),
                risk: words(&e.risk),
                rule_id: e.rule_id.clone(),
                reason: e.reason.clone(),
                specialties,
                deadline: when(e.deadline_us),
                seconds_left: (e.deadline_us - now) / 1_000_000,
                voted,
            });
        }
        Ok(items)
    }

    /// [`Desk::pending`], waiting up to `wait` (bounded by the server's limit) for one to
    /// arrive when there are none.
    pub async fn pending_wait(&self, wait: Duration) -> anyhow::Result<Vec<PendingItem>> {
        let until = Instant::now() + wait.min(self.wait);
        loop {
            let items = self.pending().await?;
            if !items.is_empty() || Instant::now() >= until {
                return Ok(items);
            }
            tokio::time::sleep(POLL * 5).await;
        }
    }

    /// Everything an expert needs to judge one escalation.
    pub async fn context(&self, cmd_id: &str) -> anyhow::Result<Value> {
        let Some(e) = self.escalation(cmd_id).await? else {
            return refuse(format!("no escalation {cmd_id}"));
        };
        let c = &e.command;
        // How the policy reads the call, in the same words as `lighthouse explain`.
        let payload = lighthouse_policy::cli::HookPayload::from(c);
        let mut explanation = Vec::new();
        let evaluation =
            lighthouse_policy::cli::explain_payload(&self.policy, &payload, None, &mut explanation)
                .ok();
        // The agent's recent decisions: the ones the validator attached, and any since.
        let recent = scan::collect(
            &self.js,
            DECISION_STREAM,
            &subject::decisions_of(&Token::encode(&c.env.project), &Token::encode(&c.env.agent)),
            From::Time(time::OffsetDateTime::now_utc() - LOOKBACK),
            self.context_decisions.max(1),
        )
        .await
        .unwrap_or_default();
        let recent: Vec<Value> = recent
            .iter()
            .filter_map(|m| decode::<Decision>(&m.payload).ok())
            .map(|d| {
                json!({
                    "cmd_id": d.cmd_id, "verdict": d.verdict, "tier": d.tier,
                    "reason": d.reason, "rule_id": d.rule_id, "decided_by": d.decided_by,
                    "when": when(d.env.ts_us),
                })
            })
            .collect();
        let mut file_views = Vec::new();
        for path in &e.context.files {
            file_views.push(self.file_context(&e, path).await);
        }
        let votes: Vec<Value> = self
            .votes(cmd_id)
            .await
            .iter()
            .map(|v| {
                json!({"expert": v.expert, "specialty": v.specialty, "choice": v.choice,
                       "reasoning": v.reasoning, "suggestions": v.suggestions})
            })
            .collect();
        let decision = self.decision_of(&e).await;
        let now = now_us();
        Ok(json!({
            "cmd_id": e.cmd_id,
            "project": c.env.project,
            "agent": c.env.agent,
            "session_id": c.session_id,
            "command": {
                "tool_name": c.tool_name, "tool_input": c.tool_input, "cwd": c.cwd,
                "agent_kind": c.agent_kind, "permission_mode": c.permission_mode,
                "when": when(c.env.ts_us),
            },
            "escalated_because": {"reason": e.reason, "rule_id": e.rule_id, "risk": e.risk},
            "explanation": String::from_utf8_lossy(&explanation),
            "normalized": evaluation.map(|ev| ev.normalized).unwrap_or_default(),
            "specialty": e.specialty,
            "required": e.required,
            "consensus": e.consensus,
            "deadline": when(e.deadline_us),
            "seconds_left": e.deadline_us.saturating_sub(now) / 1_000_000,
            "recent_decisions": if recent.is_empty() {
                serde_json::to_value(&e.context.recent_decisions).unwrap_or_default()
            } else { Value::Array(recent) },
            "files": file_views,
            "votes": votes,
            "decision": decision,
            "your_identity": {"expert": self.identity.expert, "specialties": self.identity.specialties},
        }))
    }

    /// One file a call touches: the version on the log when the call was made, the diff
    /// the call would make, the file's annotations.
    async fn file_context(&self, e: &Escalation, path: &str) -> Value {
        let c = &e.command;
        let project = &c.env.project;
        let rel = files::locate(&self.js, project, path, &c.cwd).await;
        let versions = files::history(&self.js, project, &rel)
            .await
            .unwrap_or_default();
        let at = time::OffsetDateTime::from_unix_timestamp_nanos(c.env.ts_us as i128 * 1000)
            .unwrap_or(time::OffsetDateTime::now_utc());
        let base = Which::At(at).pick(&versions);
        let (before, text) = match base {
            Some(v) => {
                let bytes = files::content(&self.js, &v.file).await.ok().flatten();
                let text = files::text_of(&v.file, bytes.as_deref());
                (text.text.clone(), Some(text))
            }
            None => (None, None),
        };
        let after = files::proposed(&c.tool_name, &c.tool_input, before.as_deref());
        let diff = after
            .as_deref()
            .map(|a| files::unified_diff(&rel, before.as_deref().unwrap_or(""), a));
        let annotations = lighthouse_annotator::store::load(
            &self.js,
            &lighthouse_annotator::ProjectFile {
                project: project.clone(),
                path: rel.clone(),
            },
        )
        .await
        .unwrap_or_default();
        json!({
            "path": path,
            "project_path": rel,
            "version": base.map(|v| &v.info),
            "versions": versions.len(),
            "content": text,
            "diff": diff,
            "annotations": annotations.iter().map(annotation_view).collect::<Vec<_>>(),
        })
    }

    /// Casts this expert's vote, then waits (bounded) for the decision.
    pub async fn vote(&self, ballot: Ballot) -> anyhow::Result<Value> {
        if ballot.reason.trim().is_empty() {
            return refuse("a vote needs a reason: the agent and the audit log read it");
        }
        let Some(e) = self.escalation(&ballot.cmd_id).await? else {
            return refuse(format!("no escalation {}", ballot.cmd_id));
        };
        let mine = &self.identity.specialties;
        let asked: Vec<&String> = e.required.iter().filter(|s| mine.contains(s)).collect();
        let specialty = match &ballot.specialty {
            Some(s) if !mine.contains(s) => {
                return refuse(format!(
                    "this server reviews as {}, not {s}",
                    mine.join(", ")
                ));
            }
            Some(s) if !e.required.contains(s) => {
                return refuse(format!(
                    "{} asks {}, not {s}",
                    e.cmd_id,
                    e.required.join(", ")
                ));
            }
            Some(s) => s.clone(),
            None => match asked.first() {
                Some(s) => (*s).clone(),
                None => {
                    return refuse(format!(
                        "{} asks {}; this server reviews as {}",
                        e.cmd_id,
                        e.required.join(", "),
                        mine.join(", ")
                    ));
                }
            },
        };
        if let Some(d) = self.decision_of(&e).await
            && !d.unresolved()
        {
            return Ok(
                json!({"status": "decided", "vote": "not cast: already decided", "decision": decision_view(&d)}),
            );
        }
        let vote = Vote {
            reasoning: ballot.reason,
            suggestions: ballot.suggestions,
            confidence: ballot.confidence.map(|c| c.clamp(0.0, 1.0)),
            ..Vote::on(
                &e,
                uuid::Uuid::now_v7().to_string(),
                now_us(),
                &self.identity.expert,
                &specialty,
                ballot.choice,
            )
        };
        let target = subject::vote(
            &Token::encode(&e.cmd_id),
            &Token::encode(&self.identity.expert),
        );
        let seq = match publish_once(&self.js, target, &vote.env.id, encode(&vote)?.into(), false)
            .await?
        {
            Published::Stored(seq) | Published::Duplicate(seq) => seq,
            Published::AlreadyExists => 0,
        };
        let mut answer = self.wait_decision(&e, ballot.wait).await;
        answer["vote"] = json!({"expert": vote.expert, "specialty": specialty,
                                 "choice": vote.choice, "sequence": seq});
        Ok(answer)
    }

    /// The decision of an escalated command, waiting up to `wait` (bounded) for it.
    pub async fn decision(&self, cmd_id: &str, wait: Duration) -> anyhow::Result<Value> {
        match self.escalation(cmd_id).await? {
            Some(e) => Ok(self.wait_decision(&e, wait).await),
            None => match self.decision_by_id(cmd_id).await {
                Some(d) => Ok(json!({"status": "decided", "decision": decision_view(&d)})),
                None => refuse(format!("no escalation or decision {cmd_id}")),
            },
        }
    }

    async fn wait_decision(&self, e: &Escalation, wait: Duration) -> Value {
        let until = Instant::now() + wait.min(self.wait);
        loop {
            if let Some(d) = self.decision_of(e).await {
                return json!({"status": "decided", "decision": decision_view(&d)});
            }
            if Instant::now() >= until {
                let votes = self.votes(&e.cmd_id).await;
                return json!({
                    "status": "pending",
                    "votes_so_far": votes.len(),
                    "seconds_left": e.deadline_us.saturating_sub(now_us()) / 1_000_000,
                    "next": "call get_decision again to keep waiting",
                });
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Every version of a project file.
    pub async fn history(&self, project: &str, path: &str) -> anyhow::Result<Value> {
        let versions = files::history(&self.js, project, path).await?;
        if versions.is_empty() {
            return refuse(format!("{project} has no file {path} on the log"));
        }
        Ok(json!({
            "project": project, "path": path,
            "versions": versions.iter().map(|v| &v.info).collect::<Vec<_>>(),
        }))
    }

    /// One version of a project file, with its text.
    pub async fn read_file(
        &self,
        project: &str,
        path: &str,
        which: Which,
    ) -> anyhow::Result<Value> {
        let versions = files::history(&self.js, project, path).await?;
        let Some(v) = which.pick(&versions) else {
            return refuse(if versions.is_empty() {
                format!("{project} has no file {path} on the log")
            } else {
                format!(
                    "{path} has no such version ({} versions; see file_history)",
                    versions.len()
                )
            });
        };
        let bytes = files::content(&self.js, &v.file).await?;
        Ok(json!({
            "project": project, "path": path, "version": v.info,
            "content": files::text_of(&v.file, bytes.as_deref()),
        }))
    }

    /// Annotates the definition at `line` of a file's latest version (or the one named),
    /// as this expert.
    pub async fn annotate(&self, note: NoteArgs) -> anyhow::Result<Value> {
        let versions = files::history(&self.js, &note.project, &note.path).await?;
        let Some(v) = Which::parse(note.version.as_deref(), None)?.pick(&versions) else {
            return refuse(format!(
                "{} has no such version of {} on the log",
                note.project, note.path
            ));
        };
        let bytes = files::content(&self.js, &v.file).await?;
        let Some(text) = files::text_of(&v.file, bytes.as_deref()).text.filter(|_| {
            bytes
                .as_ref()
                .is_some_and(|b| b.len() <= lighthouse_anchor::MAX_SOURCE_BYTES)
        }) else {
            return refuse(format!("{}: no readable source to anchor to", note.path));
        };
        let lang = match lighthouse_anchor::Language::from_path(std::path::Path::new(&note.path)) {
            Ok(l) => l,
            Err(e) => return refuse(format!("{}: {e}", note.path)),
        };
        let annotation = lighthouse_anchor::annotations::annotate(
            lighthouse_anchor::annotations::Note {
                id: format!("an-{}", uuid::Uuid::now_v7()),
                project: note.project.clone(),
                path: note.path.clone(),
                expert: self.identity.expert.clone(),
                category: note.category,
                severity: note.severity,
                message: note.message,
            },
            &text,
            lang,
            note.line,
        );
        let annotation = match annotation {
            Ok(a) => a,
            Err(e) => return refuse(format!("{}:{}: {e}", note.path, note.line)),
        };
        lighthouse_annotator::store::publish(&self.js, &annotation).await?;
        Ok(json!({"annotation": annotation_view(&annotation), "version": v.info}))
    }

    /// Claude Code's `--permission-prompt-tool`: what Lighthouse decided about this call
    /// (waiting for experts while an escalation is open), else what the policy says.
    /// Answers `{"behavior":"allow","updatedInput":…}` or `{"behavior":"deny","message":…}`.
    pub async fn permission(
        &self,
        tool_name: &str,
        input: &Value,
        tool_use_id: Option<&str>,
    ) -> Value {
        let allow = || json!({"behavior": "allow", "updatedInput": input});
        let deny = |message: String| json!({"behavior": "deny", "message": message});
        if let Some(id) = tool_use_id.filter(|i| !i.is_empty()) {
            let started = Instant::now();
            let mut open = false;
            while started.elapsed() < self.permission_wait {
                let decision = match self.escalation(id).await.ok().flatten() {
                    Some(e) => {
                        open = true;
                        self.decision_of(&e).await
                    }
                    None => self.decision_by_id(id).await,
                };
                match decision {
                    Some(d) => {
                        return match d.verdict {
                            Verdict::Allow => allow(),
                            Verdict::Deny => {
                                deny(format!("Lighthouse denied this call: {}", d.reason))
                            }
                            Verdict::Escalate => deny(format!(
                                "Lighthouse: no expert approved this call in time ({}); it was not run",
                                d.reason
                            )),
                        };
                    }
                    // Nothing recorded and nobody asked: the policy decides below.
                    None if !open && started.elapsed() >= Duration::from_secs(2) => break,
                    None => tokio::time::sleep(POLL).await,
                }
            }
            if open {
                return deny(format!(
                    "Lighthouse: experts have not answered about {id} yet; it was not run. Try again later."
                ));
            }
        }
        let cwd = std::env::current_dir()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        let payload = lighthouse_policy::cli::HookPayload {
            hook_event_name: Some("PreToolUse".to_owned()),
            tool_name: Some(tool_name.to_owned()),
            tool_input: Some(input.clone()),
            cwd: Some(cwd),
            session_id: None,
            tool_use_id: tool_use_id.map(str::to_owned),
        };
        let home = std::env::var("HOME").ok();
        let e = lighthouse_policy::cli::decide(&self.policy, &payload, home.as_deref());
        match e.verdict {
            Verdict::Allow => allow(),
            Verdict::Deny => deny(format!("Lighthouse policy denies this call: {}", e.reason)),
            Verdict::Escalate => deny(format!(
                "Lighthouse: this call needs expert approval ({}) and none was recorded; it was not run",
                e.reason
            )),
        }
    }
}

/// A vote as a tool asks for it; the expert is the server's identity.
#[derive(Debug, Clone)]
pub struct Ballot {
    pub cmd_id: String,
    pub choice: Choice,
    pub reason: String,
    pub suggestions: Vec<String>,
    pub confidence: Option<f32>,
    /// One of the server's specialties; default: the first the escalation asks.
    pub specialty: Option<String>,
    /// How long to wait for the decision after voting.
    pub wait: Duration,
}

/// An annotation as a tool asks for it.
#[derive(Debug, Clone)]
pub struct NoteArgs {
    pub project: String,
    pub path: String,
    pub line: usize,
    pub message: String,
    pub category: String,
    pub severity: Severity,
    pub version: Option<String>,
}

fn decision_view(d: &Decision) -> Value {
    json!({
        "cmd_id": d.cmd_id, "verdict": d.verdict, "tier": d.tier, "reason": d.reason,
        "rule_id": d.rule_id, "decided_by": d.decided_by, "voters": d.voters,
        "when": when(d.env.ts_us), "by_experts": d.tier == Tier::Expert,
    })
}

fn annotation_view(a: &Annotation) -> Value {
    json!({
        "id": a.env.id, "expert": a.expert, "category": a.category, "severity": a.severity,
        "message": a.message, "definition": format!("{} {}", a.anchor.kind, a.anchor.name),
        "status": a.status, "line": a.line, "end_line": a.end_line,
    })
}
