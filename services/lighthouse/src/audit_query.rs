//! `lighthouse audit` queries: who decided what, and why, over `LH_DECISION`.
//!
//! - [`query`]: the decisions matching a [`Filter`], read in stream order with one
//!   ordered consumer (the subject filter narrows by project and agent on the server;
//!   `--since` starts the read at that time; `--until` ends it), printed as a table,
//!   JSON lines or CSV, with a progress bar on a terminal;
//! - [`show`]: one command's whole story: the command as the agent sent it, how the policy
//!   reads it, the escalation, every vote and expert, the decision, timings.

use async_nats::jetstream;
use indicatif::{ProgressBar, ProgressStyle};
use lighthouse_nats::scan::{self, From};
use lighthouse_nats::topology::{CMD_STREAM, DECISION_STREAM, ESCALATIONS_BUCKET, VOTE_STREAM};
use lighthouse_schemas::{Command, Decision, Escalation, Tier, Token, Verdict, Vote, decode};
use serde::Serialize;
use serde_json::{Value, json};
use std::io::Write;
use std::ops::ControlFlow;
use time::OffsetDateTime;

/// Which decisions a query keeps. Empty fields match everything.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub agent: Option<String>,
    pub project: Option<String>,
    pub verdict: Option<Verdict>,
    /// A rule id, or a prefix ending in `*` (`secret.*`).
    pub rule: Option<String>,
    pub tier: Option<Tier>,
    pub since: Option<OffsetDateTime>,
    pub until: Option<OffsetDateTime>,
}

impl Filter {
    /// The subject filter the server applies: project and agent narrow it.
    pub fn subject(&self) -> String {
        let token = |v: &Option<String>| {
            v.as_deref()
                .map_or_else(|| "*".to_owned(), |s| Token::encode(s).to_string())
        };
        format!(
            "lh.decision.{}.{}.*",
            token(&self.project),
            token(&self.agent)
        )
    }

    /// Whether a decision stored at `stored` matches.
    pub fn matches(&self, d: &Decision, stored: OffsetDateTime) -> bool {
        let rule = match (&self.rule, &d.rule_id) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(want), Some(have)) => match want.strip_suffix('*') {
                Some(prefix) => have.starts_with(prefix),
                None => want == have,
            },
        };
        rule && self.verdict.is_none_or(|v| v == d.verdict)
            && self.tier.is_none_or(|t| t == d.tier)
            && self.project.as_ref().is_none_or(|p| *p == d.env.project)
            && self.agent.as_ref().is_none_or(|a| *a == d.env.agent)
            && self.since.is_none_or(|s| stored >= s)
            && self.until.is_none_or(|u| stored <= u)
    }
}

/// How a query prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    Csv,
}

/// One row of a query, as JSON and CSV print it.
#[derive(Debug, Serialize)]
pub struct Row<'a> {
    pub seq: u64,
    pub stored: String,
    pub project: &'a str,
    pub agent: &'a str,
    pub cmd_id: &'a str,
    pub verdict: Verdict,
    pub tier: Tier,
    pub rule_id: Option<&'a str>,
    pub reason: &'a str,
    pub decided_by: &'a str,
    pub latency_us: u64,
    pub experts: String,
}

fn rfc3339(t: OffsetDateTime) -> String {
    lighthouse_mcp::files::rfc3339(t)
}

fn parse_enum<T: serde::de::DeserializeOwned>(
    what: &str,
    s: &str,
    one_of: &str,
) -> anyhow::Result<T> {
    serde_json::from_value(Value::String(s.to_lowercase()))
        .map_err(|_| anyhow::anyhow!("unknown {what} {s:?}: {one_of}"))
}

pub fn parse_verdict(s: &str) -> anyhow::Result<Verdict> {
    parse_enum("verdict", s, "allow, deny or escalate")
}

pub fn parse_tier(s: &str) -> anyhow::Result<Tier> {
    parse_enum("tier", s, "policy, cache, expert, fallback or deadline")
}

/// Prints every decision matching `filter`; returns how many matched and were read.
pub async fn query(
    js: &jetstream::Context,
    filter: &Filter,
    format: Format,
    progress: bool,
    mut out: impl Write,
) -> anyhow::Result<(u64, u64)> {
    let from = filter.since.map_or(From::First, From::Time);
    let bar = ProgressBar::hidden();
    if progress {
        bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {pos}/{len} decisions read {per_sec} {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
    }
    let mut header = true;
    let mut matched = 0u64;
    let mut failed: Option<std::io::Error> = None;
    let read = scan::scan(
        js,
        DECISION_STREAM,
        &filter.subject(),
        from,
        |extent| bar.set_length(extent.matching),
        |m| {
            bar.inc(1);
            if filter.until.is_some_and(|u| m.time > u) {
                return ControlFlow::Break(());
            }
            let Ok(d) = decode::<Decision>(&m.payload) else {
                return ControlFlow::Continue(());
            };
            if !filter.matches(&d, m.time) {
                return ControlFlow::Continue(());
            }
            matched += 1;
            let row = Row {
                seq: m.seq,
                stored: rfc3339(m.time),
                project: &d.env.project,
                agent: &d.env.agent,
                cmd_id: &d.cmd_id,
                verdict: d.verdict,
                tier: d.tier,
                rule_id: d.rule_id.as_deref(),
                reason: &d.reason,
                decided_by: &d.decided_by,
                latency_us: d.latency_us,
                experts: d
                    .voters
                    .iter()
                    .map(|v| format!("{}:{}", v.expert, words(&v.choice)))
                    .collect::<Vec<_>>()
                    .join(" "),
            };
            let written = match format {
                // Row by row (the header once), so a long query streams.
                Format::Csv => {
                    let mut w = csv::WriterBuilder::new()
                        .has_headers(std::mem::take(&mut header))
                        .from_writer(Vec::new());
                    w.serialize(&row)
                        .map_err(std::io::Error::other)
                        .and_then(|()| {
                            w.into_inner()
                                .map_err(|e| std::io::Error::other(e.to_string()))
                        })
                        .and_then(|bytes| out.write_all(&bytes))
                }
                Format::Json => serde_json::to_string(&row)
                    .map_err(std::io::Error::other)
                    .and_then(|line| writeln!(out, "{line}")),
                Format::Table => writeln!(out, "{}", crate::status::render_decision(&d, None)),
            };
            match written {
                Ok(()) => ControlFlow::Continue(()),
                Err(e) => {
                    failed = Some(e);
                    ControlFlow::Break(())
                }
            }
        },
    )
    .await;
    bar.finish_and_clear();
    let read = read?;
    if let Some(e) = failed {
        // A closed pipe (`| head`) ends the query quietly.
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            return Err(e.into());
        }
    }
    out.flush().ok();
    Ok((matched, read))
}

fn words<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn when(us: u64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(us as i128 * 1000)
        .map(rfc3339)
        .unwrap_or_default()
}

/// The decision of `cmd_id` (any project, any agent), with its stream sequence.
pub async fn find_decision(
    js: &jetstream::Context,
    cmd_id: &str,
) -> anyhow::Result<Option<(scan::Scanned, Decision)>> {
    let filter = format!("lh.decision.*.*.{}", Token::encode(cmd_id));
    let found = scan::collect(js, DECISION_STREAM, &filter, From::First, 1).await?;
    Ok(found
        .into_iter()
        .next()
        .and_then(|m| decode(&m.payload).ok().map(|d| (m, d))))
}

/// The command as the agent sent it: looked for in `LH_CMD` under its agent's subject,
/// from just before it was made.
async fn find_command(js: &jetstream::Context, d: &Decision) -> Option<(u64, Command)> {
    let made_us = d.env.ts_us.saturating_sub(d.latency_us);
    let start =
        OffsetDateTime::from_unix_timestamp_nanos((made_us as i128 - 5_000_000) * 1000).ok()?;
    let filter = format!(
        "lh.cmd.{}.{}.*",
        Token::encode(&d.env.project),
        Token::encode(&d.env.agent)
    );
    let mut found = None;
    let mut looked = 0u32;
    scan::scan(
        js,
        CMD_STREAM,
        &filter,
        From::Time(start),
        |_| {},
        |m| {
            looked += 1;
            if let Ok(c) = decode::<Command>(&m.payload)
                && c.env.id == d.cmd_id
            {
                found = Some((m.seq, c));
                return ControlFlow::Break(());
            }
            // Bounded: a command is published before its decision.
            if looked > 100_000 || m.time.unix_timestamp_nanos() / 1000 > d.env.ts_us as i128 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        },
    )
    .await
    .ok()?;
    found
}

/// Everything about one command, as JSON.
pub async fn show(
    js: &jetstream::Context,
    policy: &lighthouse_policy::Policy,
    cmd_id: &str,
    keys: Option<&std::collections::BTreeMap<String, String>>,
) -> anyhow::Result<Value> {
    let Some((message, d)) = find_decision(js, cmd_id).await? else {
        anyhow::bail!("no decision for {cmd_id} in {DECISION_STREAM}");
    };
    let (seq, stored) = (message.seq, message.time);
    // The signature, checked as `audit verify` checks every decision.
    let signature = keys.map(|keys| {
        use base64::Engine as _;
        let one = crate::audit::Stored {
            seq: message.seq,
            subject: message.subject.clone(),
            payload: base64::engine::general_purpose::STANDARD.encode(&message.payload),
        };
        let report = crate::audit::verify(std::slice::from_ref(&one), None, keys);
        json!({
            "verified": report.problems.is_empty(),
            "signed_by": report.signed_by.keys().collect::<Vec<_>>(),
            "problems": report.problems,
        })
    });
    let command = find_command(js, &d).await;
    let escalation: Option<Escalation> = match js.get_key_value(ESCALATIONS_BUCKET).await {
        Ok(kv) => match kv.get(Token::encode(cmd_id).kv_key()).await {
            Ok(Some(bytes)) => decode(&bytes).ok(),
            _ => None,
        },
        Err(_) => None,
    };
    let votes: Vec<Vote> = scan::collect(
        js,
        VOTE_STREAM,
        &lighthouse_schemas::subject::votes_for(&Token::encode(cmd_id)),
        From::First,
        1_000,
    )
    .await
    .map(|v| v.iter().filter_map(|m| decode(&m.payload).ok()).collect())
    .unwrap_or_default();
    let source = command
        .as_ref()
        .map(|(_, c)| c)
        .or(escalation.as_ref().map(|e| &e.command));
    // Explained by the policy that decided, when its packs are still in the bucket's
    // history; else by the current one (and the output says which).
    let deciding = match lighthouse_validator::book::revisions(js).await {
        Ok(revisions) => lighthouse_validator::book::rebuild(
            &revisions,
            Token::encode(&d.env.project).as_str(),
            &d.provenance.packs,
            &d.provenance.policy_version,
        ),
        Err(_) => None,
    };
    let explained_with = if deciding.is_some() {
        "deciding"
    } else {
        "current"
    };
    let version_now = policy.version().to_owned();
    let policy = deciding.as_ref().unwrap_or(policy);
    let exception = match &d.exception {
        Some(id) => crate::exception::named(js, id).await,
        None => None,
    };
    let (explanation, normalized) = match source {
        Some(c) => {
            let payload = lighthouse_policy::cli::HookPayload::from(c);
            let mut text = Vec::new();
            let e = lighthouse_policy::cli::explain_payload(policy, &payload, None, &mut text).ok();
            (
                Some(String::from_utf8_lossy(&text).into_owned()),
                e.map(|e| e.normalized).unwrap_or_default(),
            )
        }
        None => (None, Vec::new()),
    };
    let made_us = d.env.ts_us.saturating_sub(d.latency_us);
    // Experts who approved an unresolved call afterwards (a retry of it may run).
    let late = match d.unresolved() {
        true => lighthouse_nats::read::recorded_decision(js, &format!("{}.late", message.subject))
            .await
            .map(|l| json!({"reason": l.reason, "voters": l.voters, "decided": when(l.env.ts_us)})),
        false => None,
    };
    Ok(json!({
        "cmd_id": d.cmd_id,
        "project": d.env.project,
        "agent": d.env.agent,
        "command": source.map(|c| json!({
            "tool_name": c.tool_name, "tool_input": c.tool_input, "cwd": c.cwd,
            "session_id": c.session_id, "agent_kind": c.agent_kind,
            "permission_mode": c.permission_mode,
        })),
        "command_seq": command.as_ref().map(|(s, _)| *s),
        "explanation": explanation,
        "normalized": normalized,
        "policy_version_now": version_now,
        "policy_version": d.provenance.policy_version,
        "explained_with": explained_with,
        "exception": exception,
        "signature": signature,
        "escalation": escalation.as_ref().map(|e| json!({
            "reason": e.reason, "rule_id": e.rule_id, "risk": e.risk,
            "required": e.required, "consensus": e.consensus, "deadline": when(e.deadline_us),
        })),
        "votes": votes.iter().map(|v| json!({
            "expert": v.expert, "specialty": v.specialty, "choice": v.choice,
            "reasoning": v.reasoning, "suggestions": v.suggestions,
            "confidence": v.confidence, "when": when(v.env.ts_us),
        })).collect::<Vec<_>>(),
        "decision": {
            "verdict": d.verdict, "tier": d.tier, "reason": d.reason, "rule_id": d.rule_id,
            "risk": d.risk, "decided_by": d.decided_by, "voters": d.voters,
            "exception": d.exception,
            "seq": seq, "stored": rfc3339(stored),
        },
        "late_approval": late,
        "timings": {
            "command_made": when(made_us),
            "decided": when(d.env.ts_us),
            "latency_us": d.latency_us,
        },
    }))
}

/// [`show`] for people.
pub fn render_show(v: &Value) -> String {
    let s = |p: &str| {
        v.pointer(p)
            .map(|x| match x {
                Value::String(s) => s.clone(),
                Value::Null => "-".to_owned(),
                other => other.to_string(),
            })
            .unwrap_or_else(|| "-".to_owned())
    };
    let mut out = String::new();
    out.push_str(&format!(
        "command   {} ({}/{}), LH_CMD seq {}\n",
        s("/cmd_id"),
        s("/project"),
        s("/agent"),
        s("/command_seq")
    ));
    out.push_str(&format!(
        "tool      {} {}\n  cwd     {}\n",
        s("/command/tool_name"),
        s("/command/tool_input"),
        s("/command/cwd")
    ));
    out.push_str(&format!(
        "decision  {} by {} (tier {}, rule {}): {}\n  LH_DECISION seq {} at {}\n",
        s("/decision/verdict"),
        s("/decision/decided_by"),
        s("/decision/tier"),
        s("/decision/rule_id"),
        s("/decision/reason"),
        s("/decision/seq"),
        s("/decision/stored"),
    ));
    out.push_str(&format!(
        "timings   made {} → decided {} ({} µs)\n",
        s("/timings/command_made"),
        s("/timings/decided"),
        s("/timings/latency_us")
    ));
    if v["escalation"].is_object() {
        out.push_str(&format!(
            "escalated {} [{}], risk {}, asked {}, deadline {}\n",
            s("/escalation/reason"),
            s("/escalation/rule_id"),
            s("/escalation/risk"),
            s("/escalation/required"),
            s("/escalation/deadline")
        ));
    }
    for vote in v["votes"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "vote      {} ({}) {} at {}: {}{}\n",
            vote["expert"].as_str().unwrap_or("?"),
            vote["specialty"].as_str().unwrap_or("?"),
            vote["choice"].as_str().unwrap_or("?"),
            vote["when"].as_str().unwrap_or("?"),
            vote["reasoning"].as_str().unwrap_or(""),
            match vote["suggestions"].as_array() {
                Some(a) if !a.is_empty() => format!(" (suggests: {})", Value::Array(a.clone())),
                _ => String::new(),
            }
        ));
    }
    if let Some(reason) = v["late_approval"]["reason"].as_str() {
        out.push_str(&format!(
            "late      {reason} ({})\n",
            v["late_approval"]["decided"].as_str().unwrap_or("?")
        ));
    }
    if let Some(id) = v["decision"]["exception"].as_str() {
        let x = &v["exception"];
        out.push_str(&format!(
            "exception {id}: granted by {} for {}, {} until {} ({}){}\n",
            x["granted_by"].as_str().unwrap_or("?"),
            x["scope"],
            x["reason"].as_str().unwrap_or("?"),
            x["expires"].as_str().unwrap_or("?"),
            x["status"].as_str().unwrap_or("record not found"),
            match x["revoked"]["by"].as_str() {
                Some(by) => format!(", revoked by {by}"),
                None => String::new(),
            }
        ));
    }
    out.push_str(&match v["explained_with"].as_str() {
        Some("deciding") => format!(
            "policy    {} (the one that decided)\n",
            s("/policy_version")
        ),
        _ => format!(
            "policy    {} (now; the deciding {} is no longer in lh_policy's history)\n",
            s("/policy_version_now"),
            s("/policy_version")
        ),
    });
    if v["signature"].is_object() {
        out.push_str(&format!(
            "signature {} (signed by {}){}\n",
            if v["signature"]["verified"] == true {
                "verifies"
            } else {
                "DOES NOT VERIFY"
            },
            s("/signature/signed_by"),
            match v["signature"]["problems"].as_array() {
                Some(p) if !p.is_empty() => format!(": {}", Value::Array(p.clone())),
                _ => String::new(),
            }
        ));
    }
    if let Some(text) = v["explanation"].as_str() {
        out.push_str("explained\n");
        for line in text.lines() {
            out.push_str(&format!("  {line}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use lighthouse_schemas::Envelope;

    fn decision(
        project: &str,
        agent: &str,
        verdict: Verdict,
        tier: Tier,
        rule: Option<&str>,
    ) -> Decision {
        Decision {
            env: Envelope::new("d", 1, project, agent, "c"),
            cmd_id: "c".into(),
            verdict,
            reason: "r".into(),
            rule_id: rule.map(str::to_owned),
            risk: None,
            tier,
            latency_us: 1,
            decided_by: "v".into(),
            voters: Vec::new(),
            provenance: Default::default(),
            exception: None,
        }
    }

    #[test]
    fn filters_narrow_by_every_field() {
        let now = OffsetDateTime::now_utc();
        let d = decision(
            "shop",
            "claude-code",
            Verdict::Deny,
            Tier::Policy,
            Some("secret.env_file"),
        );
        let all = Filter::default();
        assert!(all.matches(&d, now));
        assert_eq!(all.subject(), "lh.decision.*.*.*");
        let f = Filter {
            project: Some("shop".into()),
            agent: Some("claude-code".into()),
            verdict: Some(Verdict::Deny),
            rule: Some("secret.*".into()),
            tier: Some(Tier::Policy),
            since: Some(now - time::Duration::hours(1)),
            until: Some(now + time::Duration::hours(1)),
        };
        assert!(f.matches(&d, now));
        assert_eq!(f.subject(), "lh.decision.shop.claude-code.*");
        for miss in [
            Filter {
                verdict: Some(Verdict::Allow),
                ..f.clone()
            },
            Filter {
                tier: Some(Tier::Expert),
                ..f.clone()
            },
            Filter {
                rule: Some("secret".into()),
                ..f.clone()
            },
            Filter {
                rule: Some("db.*".into()),
                ..f.clone()
            },
            Filter {
                project: Some("other".into()),
                ..f.clone()
            },
            Filter {
                since: Some(now + time::Duration::seconds(1)),
                ..f.clone()
            },
            Filter {
                until: Some(now - time::Duration::seconds(1)),
                ..f.clone()
            },
        ] {
            assert!(!miss.matches(&d, now), "{miss:?}");
        }
        let no_rule = decision("shop", "a", Verdict::Allow, Tier::Cache, None);
        assert!(
            !Filter {
                rule: Some("x".into()),
                ..Filter::default()
            }
            .matches(&no_rule, now)
        );
        assert_eq!(parse_verdict("DENY").unwrap(), Verdict::Deny);
        assert!(parse_tier("nope").is_err());
    }
}
