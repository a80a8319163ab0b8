//! `lighthouse expert`: the expert side of escalations, for humans at a terminal.
//!
//! - `watch --specialty S [--id NAME]`: announces the expert in `lh_experts` (so the
//!   aggregator waits for it), pulls the specialty's shared consumer on `LH_ESC` and
//!   prints each open escalation with its context;
//! - `approve|reject CMD_ID --reason …`: publishes a [`Vote`] on
//!   `lh.vote.<cmd_id>.<expert>`.
//!
//! Any NATS client in any language can do the same (see `examples/python-expert/`).

use crate::settings::Settings;
use async_nats::jetstream::{self, consumer::PullConsumer};
use futures::StreamExt;
use lighthouse_nats::publish::publish_once;
use lighthouse_nats::topology::{ESC_STREAM, EXPERTS_BUCKET};
use lighthouse_schemas::{Choice, Escalation, Token, Vote, decode, encode, now_us, subject};
use std::io::Write;
use std::time::Duration;
use tracing::Instrument as _;

/// The expert id: `--id`, else the user's name (`$USER`). Without either there is no
/// name to vote under, and a made-up one would let two people pass as one.
pub fn expert_id(given: Option<String>) -> anyhow::Result<String> {
    given
        .filter(|id| !id.is_empty())
        .or_else(|| std::env::var("USER").ok().filter(|u| !u.is_empty()))
        .ok_or_else(|| {
            crate::errors::usage("no expert id: $USER is not set; give one with --id NAME")
        })
}

/// Refuses a specialty the configuration does not know (an expert watching one would
/// wait forever), naming the valid ones.
pub fn known_specialty(settings: &Settings, specialty: &str) -> anyhow::Result<()> {
    let known = &settings.escalation.specialties;
    if known.iter().any(|s| s == specialty) {
        return Ok(());
    }
    Err(crate::errors::usage(format!(
        "unknown specialty {specialty:?}: use one of {} (setting escalation.specialties)",
        known.join(", ")
    )))
}

/// The (specialty, expert) pairs present now, from the experts bucket.
pub async fn present(js: &jetstream::Context) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let Ok(store) = js.get_key_value(EXPERTS_BUCKET).await else {
        return out;
    };
    let Ok(mut keys) = store.keys().await else {
        return out;
    };
    while let Some(Ok(key)) = keys.next().await {
        if let Some((specialty, expert)) = subject::parse_expert_key(&key)
            && let (Some(specialty), Some(expert)) = (specialty.decode(), expert.decode())
        {
            out.push((specialty, expert));
        }
    }
    out
}

/// Whether the command already has its final decision.
pub async fn decided(js: &jetstream::Context, escalation: &Escalation) -> bool {
    decision_of(js, escalation).await.is_some()
}

/// The decision recorded for an escalated command, if any.
pub async fn decision_of(
    js: &jetstream::Context,
    escalation: &Escalation,
) -> Option<lighthouse_schemas::Decision> {
    let target = subject::decision(
        &Token::encode(&escalation.command.env.project),
        &Token::encode(&escalation.command.env.agent),
        &Token::encode(&escalation.cmd_id),
    );
    lighthouse_nats::read::recorded_decision(js, &target).await
}

/// An escalation as a human reads it. The first line is stable for scripts:
/// `ESCALATION cmd_id=… project=… agent=… risk=… specialty=…`.
pub fn render(e: &Escalation, expert: &str, now_us: u64) -> String {
    let input = serde_json::to_string(&e.command.tool_input).unwrap_or_default();
    let input: String = input.chars().take(2000).collect();
    let left = e.deadline_us.saturating_sub(now_us) as f64 / 1e6;
    let risk = serde_json::to_value(e.risk)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let mut out = format!(
        "ESCALATION cmd_id={} project={} agent={} risk={risk} specialty={}\n",
        e.cmd_id, e.command.env.project, e.command.env.agent, e.specialty
    );
    out.push_str(&format!("  tool:     {} {input}\n", e.command.tool_name));
    out.push_str(&format!("  cwd:      {}\n", e.command.cwd));
    out.push_str(&format!(
        "  why:      {} [{}]\n",
        e.reason,
        e.rule_id.as_deref().unwrap_or("-")
    ));
    out.push_str(&format!(
        "  needs:    {} approval(s) from {} specialty(ies) of {}{}; {} rejection(s) deny; {left:.0}s left\n",
        e.consensus.min_approvals,
        e.consensus.min_specialties,
        e.required.join(", "),
        if e.consensus.must_approve.is_empty() {
            String::new()
        } else {
            format!(" (must approve: {})", e.consensus.must_approve.join(", "))
        },
        e.consensus.rejections_to_deny,
    ));
    if !e.context.files.is_empty() {
        out.push_str(&format!("  files:    {}\n", e.context.files.join(" ")));
    }
    for d in &e.context.recent_decisions {
        out.push_str(&format!(
            "  before:   {} {:?} by {}: {}\n",
            d.cmd_id, d.verdict, d.decided_by, d.reason
        ));
    }
    out.push_str(&format!(
        "  vote:     lighthouse expert approve|reject {} --specialty {} --id {expert} --reason '…'\n",
        e.cmd_id, e.specialty
    ));
    out
}

/// Runs `expert watch` until SIGINT/SIGTERM.
pub async fn watch(settings: &Settings, specialty: String, expert: String) -> anyhow::Result<()> {
    let client = settings
        .connect_as(
            &lighthouse_nats::auth::expert_role(&expert),
            "lighthouse-expert",
        )
        .await?;
    let js = jetstream::new(client.clone());
    let names = lighthouse_nats::experts::ensure(&js, std::slice::from_ref(&specialty)).await?;
    let consumer: PullConsumer = js
        .get_stream(ESC_STREAM)
        .await?
        .get_consumer(&names[0])
        .await
        .map_err(|e| anyhow::anyhow!("binding consumer {}: {e}", names[0]))?;
    // Cancelled by the heartbeat should it die (a panic): watching on while looking
    // absent would let escalations be decided without this expert.
    let stop = tokio_util::sync::CancellationToken::new();
    let presence = lighthouse_nats::supervise::spawn_helper(
        "expert presence",
        &stop,
        lighthouse_nats::experts::heartbeat(
            js.clone(),
            expert.clone(),
            vec![specialty.clone()],
            "human".to_owned(),
            stop.clone(),
        ),
    );
    eprintln!("lighthouse: watching {specialty} escalations as {expert} (Ctrl-C to stop)");
    let mut messages = consumer.messages().await?;
    let stopped = lighthouse_service::shutdown();
    let result = loop {
        tokio::select! {
            _ = stopped.cancelled() => break Ok(()),
            // The presence ended; its error is returned below.
            _ = stop.cancelled() => break Ok(()),
            next = messages.next() => {
                let Some(message) = next else { break Err(anyhow::anyhow!("escalation stream ended")) };
                let message = match message {
                    Ok(m) => m,
                    Err(e) => { tracing::warn!(error = %e, "escalation_pull_error"); continue; }
                };
                match decode::<Escalation>(&message.payload) {
                    Ok(e) if now_us() < e.deadline_us && !decided(&js, &e).await => {
                        // The aggregator answers at once when the experts present could
                        // never agree: such an escalation is not waiting for anyone.
                        let here = present(&js).await;
                        let missing = lighthouse_aggregator::consensus::unreachable(
                            &e.consensus,
                            &e.required,
                            &here,
                        );
                        let mut out = std::io::stdout().lock();
                        match missing {
                            None => {
                                let _ = write!(out, "{}", render(&e, &expert, now_us()));
                            }
                            Some(missing) => {
                                let _ = writeln!(
                                    out,
                                    "ANSWERED cmd_id={} project={} agent={}: no {} expert present, decided without a vote",
                                    e.cmd_id,
                                    e.command.env.project,
                                    e.command.env.agent,
                                    missing.join("/")
                                );
                            }
                        }
                        let _ = out.flush();
                    }
                    Ok(_) => {} // decided or expired: nothing for a human to do
                    Err(e) => {
                        // Kept with its reason; Termed only once the dead letter is stored.
                        tracing::warn!(error = %e, "undecodable_escalation");
                        let sequence = message.info().ok().map(|i| i.stream_sequence);
                        let letter = lighthouse_nats::dead_letter::DeadLetter {
                            source: ESC_STREAM,
                            sequence,
                            subject: message.subject.as_str(),
                            kind: lighthouse_nats::dead_letter::Kind::Poison,
                            reason: &e.to_string(),
                            payload: message.payload.clone(),
                        };
                        let ack = match lighthouse_nats::dead_letter::publish(&js, letter).await {
                            Ok(_) => message.ack_with(jetstream::AckKind::Term).await,
                            Err(e) => {
                                tracing::warn!(error = %e, "dead_letter_failed; will retry");
                                message
                                    .ack_with(jetstream::AckKind::Nak(Some(Duration::from_secs(1))))
                                    .await
                            }
                        };
                        if let Err(e) = ack {
                            tracing::warn!(error = %e, "escalation_ack_failed");
                        }
                        continue;
                    }
                }
                // Shown (or moot): the shared consumer moves on to the next one.
                if let Err(e) = message.ack().await {
                    tracing::warn!(error = %e, "escalation_ack_failed");
                }
            }
        }
    };
    stop.cancel();
    let presence = presence.join().await;
    let _ = tokio::time::timeout(Duration::from_secs(5), client.drain()).await;
    result?;
    Ok(presence?)
}

/// A vote, as an expert casts it.
#[derive(Debug, Clone)]
pub struct Ballot {
    pub cmd_id: String,
    pub choice: Choice,
    pub reasoning: String,
    pub specialty: String,
    pub expert: String,
    pub suggestions: Vec<String>,
}

/// Publishes a vote; returns its stream sequence.
pub async fn cast(settings: &Settings, ballot: Ballot) -> anyhow::Result<u64> {
    let client = settings
        .connect_as(
            &lighthouse_nats::auth::expert_role(&ballot.expert),
            "lighthouse-expert",
        )
        .await?;
    let js = jetstream::new(client.clone());
    let cmd = Token::encode(&ballot.cmd_id);
    let escalation = match js
        .get_key_value(lighthouse_nats::topology::ESCALATIONS_BUCKET)
        .await
    {
        // Keyed like the validator records it: a command id with `=` or non-ASCII
        // characters differs between its subject token and its KV key.
        Ok(store) => match store.get(cmd.kv_key()).await {
            Ok(Some(bytes)) => decode::<Escalation>(&bytes).ok(),
            _ => None,
        },
        Err(_) => None,
    };
    // A vote on a command nobody waits for would be recorded and never counted.
    let Some(escalation) = escalation else {
        let _ = tokio::time::timeout(Duration::from_secs(5), client.drain()).await;
        anyhow::bail!(
            "no open escalation {}: unknown id or already decided; \
             `lighthouse decisions` shows decided commands, `lighthouse expert watch` open ones",
            ballot.cmd_id
        );
    };
    // An unresolved decision (deadline passed, nobody present) still takes votes: a
    // late consensus lets a retry of the call run (`lh.decision.….late`).
    if decision_of(&js, &escalation)
        .await
        .is_some_and(|d| !d.unresolved())
    {
        let _ = tokio::time::timeout(Duration::from_secs(5), client.drain()).await;
        anyhow::bail!(
            "escalation {} is already decided; no vote is needed (`lighthouse decisions` shows the verdict)",
            ballot.cmd_id
        );
    }
    let vote = Vote {
        reasoning: ballot.reasoning.clone(),
        suggestions: ballot.suggestions.clone(),
        ..Vote::on(
            &escalation,
            uuid::Uuid::now_v7().to_string(),
            now_us(),
            &ballot.expert,
            &ballot.specialty,
            ballot.choice,
        )
    };
    let target = subject::vote(&cmd, &Token::encode(&ballot.expert));
    // The vote continues the command's trace (the escalation names it): its stage span
    // is the parent the aggregator's `vote` span finds in the headers.
    let span =
        lighthouse_telemetry::trace::stage_span("expert vote", escalation.traceparent.as_deref());
    span.record("cmd_id", ballot.cmd_id.as_str());
    let published = publish_once(&js, target, &vote.env.id, encode(&vote)?.into(), false)
        .instrument(span)
        .await?;
    let _ = tokio::time::timeout(Duration::from_secs(5), client.drain()).await;
    Ok(match published {
        lighthouse_nats::publish::Published::Stored(seq)
        | lighthouse_nats::publish::Published::Duplicate(seq) => seq,
        lighthouse_nats::publish::Published::AlreadyExists => 0,
    })
}
