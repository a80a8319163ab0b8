//! `lighthouse audit`: is the decision log what the deciders wrote?
//!
//! `verify` reads `LH_DECISION` (or an `export` of it) and checks every decision: its
//! signature, that its signer is the identity allowed to make that kind of decision
//! (validators for policy/cache, the aggregator for expert/deadline, the agent's own
//! hook for fallback records, and nothing else), that it sits on its own command's
//! subject, that each command has exactly one decision, and that no message is missing
//! from the stream. Against a live server it also lists commands with no decision.

use async_nats::jetstream::{self, consumer};
use base64::Engine as _;
use futures::StreamExt;
use lighthouse_nats::topology::{CMD_STREAM, DECISION_STREAM};
use lighthouse_schemas::{Command, Decision, Tier, Token, Verdict, decode, subject};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::Duration;

/// One stored message, as `audit export` writes it (one JSON object per line).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Stored {
    pub seq: u64,
    pub subject: String,
    /// The MessagePack payload, base64.
    pub payload: String,
}

/// What `verify` found.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub decisions: usize,
    pub signed_by: BTreeMap<String, usize>,
    /// Commands (in `LH_CMD`, same window) without a decision.
    pub undecided: Vec<String>,
    /// Everything wrong, one line each.
    pub problems: Vec<String>,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.problems.is_empty() && self.undecided.is_empty()
    }

    pub fn render(&self) -> String {
        let mut out = format!(
            "{} {} decisions checked\n",
            if self.ok() { "ok" } else { "FAILED" },
            self.decisions
        );
        for (role, n) in &self.signed_by {
            out += &format!("  signed by {role}: {n}\n");
        }
        for c in &self.undecided {
            out += &format!("  undecided: {c}\n");
        }
        for p in &self.problems {
            out += &format!("  problem: {p}\n");
        }
        out
    }
}

/// Reads every message of `stream` stored since `since` (all when `None`).
pub async fn read_stream(
    js: &jetstream::Context,
    stream: &str,
    since: Option<time::OffsetDateTime>,
) -> anyhow::Result<Vec<Stored>> {
    let mut s = js.get_stream(stream).await?;
    let info = s.info().await?;
    if info.state.messages == 0 {
        return Ok(Vec::new());
    }
    let deliver_policy = match since {
        Some(t) => consumer::DeliverPolicy::ByStartTime { start_time: t },
        None => consumer::DeliverPolicy::All,
    };
    let c = s
        .create_consumer(consumer::pull::OrderedConfig {
            deliver_policy,
            ..Default::default()
        })
        .await?;
    let mut messages = c.messages().await?;
    let mut out = Vec::new();
    loop {
        let next = tokio::time::timeout(Duration::from_secs(2), messages.next()).await;
        let Ok(Some(m)) = next else { break };
        let m = m?;
        let info = m.info().map_err(|e| anyhow::anyhow!("{e}"))?;
        out.push(Stored {
            seq: info.stream_sequence,
            subject: m.subject.to_string(),
            payload: base64::engine::general_purpose::STANDARD.encode(&m.payload),
        });
        if info.pending == 0 {
            break;
        }
    }
    Ok(out)
}

/// Checks `decisions` (and, when given, that every command has one). `keys` are the
/// public keys by role (`<state_dir>/identities/public.json`).
pub fn verify(
    decisions: &[Stored],
    commands: Option<&[Stored]>,
    keys: &BTreeMap<String, String>,
) -> Report {
    let mut report = Report::default();
    let roles: HashMap<&str, &str> = keys
        .iter()
        .map(|(role, key)| (key.as_str(), role.as_str()))
        .collect();
    let mut per_command: HashMap<String, usize> = HashMap::new();
    let mut unresolved = std::collections::HashSet::new();
    let mut late_approvals = Vec::new();
    let mut last_seq = None;
    for stored in decisions {
        report.decisions += 1;
        if let Some(last) = last_seq
            && stored.seq != last + 1
        {
            report.problems.push(format!(
                "seq {}: messages {}..{} are missing from the log",
                stored.seq,
                last + 1,
                stored.seq - 1
            ));
        }
        last_seq = Some(stored.seq);
        let at = format!("seq {} ({})", stored.seq, stored.subject);
        let bytes = match base64::engine::general_purpose::STANDARD.decode(&stored.payload) {
            Ok(b) => b,
            Err(e) => {
                report.problems.push(format!("{at}: not base64: {e}"));
                continue;
            }
        };
        let decision: Decision = match decode(&bytes) {
            Ok(d) => d,
            Err(e) => {
                report.problems.push(format!("{at}: undecodable: {e}"));
                continue;
            }
        };
        *per_command.entry(stored.subject.clone()).or_default() += 1;
        let expected = subject::decision(
            &Token::encode(&decision.env.project),
            &Token::encode(&decision.env.agent),
            &Token::encode(&decision.cmd_id),
        );
        let late = format!("{expected}.late");
        if stored.subject == late {
            // A late approval: the aggregator's Allow beside an unresolved decision.
            if (decision.verdict, decision.tier) != (Verdict::Allow, Tier::Expert) {
                report.problems.push(format!(
                    "{at}: a late approval must be the experts' Allow, not {:?}/{:?}",
                    decision.verdict, decision.tier
                ));
            }
            late_approvals.push((at.clone(), expected.clone()));
        } else if expected != stored.subject {
            report.problems.push(format!(
                "{at}: decision for {:?} stored on another command's subject",
                decision.cmd_id
            ));
        } else if decision.unresolved() {
            unresolved.insert(expected.clone());
        }
        // Tier `exception` and a named exception go together: an Allow the policy did
        // not give must say whose standing approval gave it.
        if (decision.tier == Tier::Exception) != decision.exception.is_some() {
            report.problems.push(format!(
                "{at}: tier {:?} with exception {:?}: an exception decision names its exception, and only it",
                decision.tier, decision.exception
            ));
        }
        match lighthouse_nats::auth::verify_decision(&decision) {
            Ok(signer) => {
                let want = lighthouse_nats::auth::signing_role(decision.tier);
                match roles.get(signer.as_str()) {
                    Some(role) if *role == want => {
                        *report.signed_by.entry((*role).to_owned()).or_default() += 1;
                    }
                    Some(role) => report.problems.push(format!(
                        "{at}: tier {:?} signed by {role}; only the {want} may make it",
                        decision.tier
                    )),
                    None => report
                        .problems
                        .push(format!("{at}: signed by unknown key {signer}")),
                }
            }
            Err(why) => report
                .problems
                .push(format!("{at}: {why} (tampered, or written without a key)")),
        }
    }
    for (at, decision) in &late_approvals {
        if !unresolved.contains(decision) {
            report.problems.push(format!(
                "{at}: a late approval without an unresolved decision on {decision}"
            ));
        }
    }
    for (subject, n) in &per_command {
        if *n > 1 {
            report
                .problems
                .push(format!("{subject}: {n} decisions for one command"));
        }
    }
    if let Some(commands) = commands {
        for stored in commands {
            let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(&stored.payload)
            else {
                continue;
            };
            let Ok(command) = decode::<Command>(&bytes) else {
                continue;
            };
            let target = subject::decision(
                &Token::encode(&command.env.project),
                &Token::encode(&command.env.agent),
                &Token::encode(&command.env.id),
            );
            if !per_command.contains_key(&target) {
                report.undecided.push(command.env.id.clone());
            }
        }
    }
    report
}

/// Live verification: reads both streams from the server.
pub async fn verify_live(
    js: &jetstream::Context,
    since: Option<time::OffsetDateTime>,
    keys: &BTreeMap<String, String>,
) -> anyhow::Result<Report> {
    let decisions = read_stream(js, DECISION_STREAM, since).await?;
    let commands = read_stream(js, CMD_STREAM, since).await?;
    Ok(verify(&decisions, Some(&commands), keys))
}

/// Writes an export (one [`Stored`] per line).
pub fn write_export(path: &Path, stored: &[Stored]) -> anyhow::Result<()> {
    let mut text = String::new();
    for s in stored {
        text.push_str(&serde_json::to_string(s)?);
        text.push('\n');
    }
    std::fs::write(path, text)?;
    Ok(())
}

pub fn read_export(path: &Path) -> anyhow::Result<Vec<Stored>> {
    let text = std::fs::read_to_string(path)?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| Ok(serde_json::from_str(l)?))
        .collect()
}

/// `--since`: RFC 3339, or a duration back from now (`90s`, `15m`, `2h`, `7d`).
pub fn parse_since(text: &str) -> Result<time::OffsetDateTime, String> {
    lighthouse_mcp::files::parse_time(text).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use lighthouse_schemas::{Envelope, encode};

    fn stored(seq: u64, subject: &str, verdict: Verdict, tier: Tier) -> Stored {
        let decision = Decision {
            env: Envelope::new("c1", 1, "p", "a", "c1"),
            cmd_id: "c1".into(),
            verdict,
            reason: "test".into(),
            rule_id: None,
            risk: None,
            tier,
            latency_us: 0,
            decided_by: "test".into(),
            voters: Vec::new(),
            exception: None,
            provenance: Default::default(),
        };
        Stored {
            seq,
            subject: subject.into(),
            payload: base64::engine::general_purpose::STANDARD.encode(encode(&decision).unwrap()),
        }
    }

    #[test]
    fn a_late_approval_stands_only_beside_an_unresolved_decision() {
        let on = "lh.decision.p.a.c1";
        let late = "lh.decision.p.a.c1.late";
        let about = |report: &Report, what: &str| report.problems.iter().any(|p| p.contains(what));
        let ok = verify(
            &[
                stored(1, on, Verdict::Escalate, Tier::Deadline),
                stored(2, late, Verdict::Allow, Tier::Expert),
            ],
            None,
            &BTreeMap::new(),
        );
        assert!(
            !about(&ok, "another command's subject"),
            "{:?}",
            ok.problems
        );
        assert!(!about(&ok, "late approval"), "{:?}", ok.problems);
        assert!(
            !about(&ok, "decisions for one command"),
            "{:?}",
            ok.problems
        );
        let orphan = verify(
            &[
                stored(1, on, Verdict::Deny, Tier::Expert),
                stored(2, late, Verdict::Allow, Tier::Expert),
            ],
            None,
            &BTreeMap::new(),
        );
        assert!(
            about(&orphan, "without an unresolved decision"),
            "{:?}",
            orphan.problems
        );
        let forged = verify(
            &[
                stored(1, on, Verdict::Escalate, Tier::Deadline),
                stored(2, late, Verdict::Allow, Tier::Policy),
            ],
            None,
            &BTreeMap::new(),
        );
        assert!(
            about(&forged, "must be the experts' Allow"),
            "{:?}",
            forged.problems
        );
    }
}
