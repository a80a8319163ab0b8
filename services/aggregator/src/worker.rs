//! The aggregator's NATS loops: votes in, deadlines kept, one final decision out.
//!
//! Nothing lives only in memory. The open escalation is in the `lh_escalations` bucket
//! (written by the validator before any expert could vote), the votes are in `LH_VOTE`,
//! the decision in `LH_DECISION`:
//!
//! - each vote re-tallies its command from `LH_VOTE` and, on consensus, publishes the
//!   decision with `first_on_subject`, so racing replicas and redeliveries still store
//!   exactly one decision, and a late vote is stored but changes nothing;
//! - each escalation is the durable deadline timer: it is Nak'ed with a delay until its
//!   deadline, the server redelivers it then (whichever aggregator is running), and it
//!   is acked once a decision exists. A killed aggregator loses nothing: unacked votes
//!   and timers come back to the next one.

use crate::consensus::{self, Fallback, Resolution, Tally, TimerStep};
use async_nats::jetstream::{self, kv};
use lighthouse_nats::presence::{self, Presence};
use lighthouse_nats::publish::{Published, publish_once};
use lighthouse_nats::read::{ReadError, Start};
use lighthouse_nats::roster::{Roster, RosterError};
use lighthouse_nats::supervise::HelperEnded;
use lighthouse_nats::topology::{
    AGGREGATOR_GROUP, DECISION_STREAM, ESC_STREAM, ESCALATIONS_BUCKET, EXPERTS_BUCKET, Topology,
    TopologyError, VOTE_STREAM,
};
use lighthouse_nats::worker::{
    ConsumeOptions, Delivery, Outcome, WorkerError, WorkerStats, consume_group,
};
use lighthouse_schemas::{Escalation, Token, Vote, decode, encode, now_us, subject};
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument as _, info, warn};

/// Everything an aggregator needs besides its NATS client.
#[derive(Debug, Clone)]
pub struct AggregatorConfig {
    /// Unique per replica; signs fallback decisions.
    pub worker_id: String,
    /// What an escalation without consensus becomes.
    pub fallback: Fallback,
    /// Which specialties each expert may vote as (empty: trust every claim).
    pub experts: consensus::ExpertRoster,
    /// Specialties whose expert consumer on `LH_ESC` is created at start (the built-in
    /// ones come with the topology).
    pub specialties: Vec<String>,
    pub consume: ConsumeOptions,
    /// Signs every final decision (its identity's NKey); `None` leaves them unsigned.
    pub signer: Option<lighthouse_nats::auth::Signer>,
}

#[derive(Debug, Error)]
pub enum AggregatorError {
    #[error("topology: {0}")]
    Topology(#[from] TopologyError),
    #[error("no consumer group {AGGREGATOR_GROUP} on {0} in nats/consumers")]
    NoGroup(&'static str),
    #[error("watching expert presence: {0}")]
    Roster(#[from] RosterError),
    #[error("opening KV bucket {ESCALATIONS_BUCKET}: {0}")]
    Escalations(async_nats::Error),
    #[error(transparent)]
    Worker(#[from] WorkerError),
    #[error(transparent)]
    ExpertConsumers(#[from] lighthouse_nats::experts::ExpertConsumerError),
    #[error(transparent)]
    Helper(#[from] HelperEnded),
}

/// How long an expert heartbeat counts (the `lh_experts` TTL).
pub const EXPERT_TTL: Duration = Duration::from_secs(15);
/// Most votes read for one command.
const MAX_VOTES: usize = 256;

struct State {
    js: jetstream::Context,
    config: AggregatorConfig,
    escalations: kv::Store,
    experts: Roster,
}

/// Runs one aggregator replica until `shutdown`. Applies the topology first, and
/// creates the expert consumers of the configured specialties.
pub async fn run(
    client: async_nats::Client,
    config: AggregatorConfig,
    shutdown: CancellationToken,
) -> Result<(), AggregatorError> {
    // Ours to cancel too: one consume loop failing stops the other and the helpers, and
    // so does returning early, whichever way it returns.
    let shutdown = shutdown.child_token();
    let _stop_helpers = shutdown.clone().drop_guard();
    let js = jetstream::new(client);
    let topology = Topology::embedded()?;
    topology
        .ensure_present(&js, &[VOTE_STREAM, ESC_STREAM])
        .await?;
    // The expert consumers exist when ops set up the topology; only a bare development
    // server gets them created here.
    lighthouse_nats::experts::ensure(&js, &config.specialties).await?;
    let votes = topology
        .group(VOTE_STREAM, AGGREGATOR_GROUP)
        .ok_or(AggregatorError::NoGroup(VOTE_STREAM))?
        .clone();
    let timers = topology
        .group(ESC_STREAM, AGGREGATOR_GROUP)
        .ok_or(AggregatorError::NoGroup(ESC_STREAM))?
        .clone();
    let (experts, roster) =
        Roster::watch(&js, EXPERTS_BUCKET, EXPERT_TTL, shutdown.clone()).await?;
    let state = Arc::new(State {
        js: js.clone(),
        config: config.clone(),
        escalations: js
            .get_key_value(ESCALATIONS_BUCKET)
            .await
            .map_err(|e| AggregatorError::Escalations(e.into()))?,
        experts,
    });
    let vote_stats = Arc::new(WorkerStats::default());
    let timer_stats = Arc::new(WorkerStats::default());
    let started_ms = now_us() / 1000;
    info!(worker_id = %config.worker_id, partitions = votes.partitions, "aggregator started");

    let heartbeat = {
        let (votes, timers, id) = (
            vote_stats.clone(),
            timer_stats.clone(),
            config.worker_id.clone(),
        );
        presence::spawn_heartbeat(&js, &shutdown, move || {
            let me = Presence::of_this_process(presence::WorkerKind::Aggregator, &id, started_ms);
            votes.counted_in(timers.counted_in(me))
        })
    };

    let on_vote = {
        let state = state.clone();
        move |delivery: Delivery| {
            let state = state.clone();
            async move { handle_vote(&state, delivery).await }
        }
    };
    let on_escalation = {
        let state = state.clone();
        move |delivery: Delivery| {
            let state = state.clone();
            async move { handle_escalation(&state, delivery).await }
        }
    };
    let stop_all = |result: Result<(), WorkerError>| {
        if result.is_err() {
            shutdown.cancel();
        }
        result
    };
    let (votes, timers) = tokio::join!(
        async {
            stop_all(
                consume_group(
                    js.clone(),
                    votes,
                    config.consume.clone(),
                    vote_stats,
                    on_vote,
                    shutdown.clone(),
                )
                .await,
            )
        },
        async {
            stop_all(
                consume_group(
                    js.clone(),
                    timers,
                    config.consume.clone(),
                    timer_stats,
                    on_escalation,
                    shutdown.clone(),
                )
                .await,
            )
        },
    );
    // A helper that died (a panic) cancelled `shutdown` to get here: its end is the
    // aggregator's error, so it is started again rather than looking absent, or
    // counting experts from a roster that no longer follows the bucket.
    shutdown.cancel();
    let (heartbeat, roster) = (heartbeat.join().await, roster.join().await);
    info!(worker_id = %config.worker_id, "aggregator stopped");
    votes?;
    timers?;
    heartbeat?;
    roster?;
    Ok(())
}

/// A vote arrived: re-tally its command and publish the decision on consensus.
async fn handle_vote(state: &State, delivery: Delivery) -> Outcome {
    let Some(parsed) = subject::parse_vote(&delivery.message.subject) else {
        return Outcome::Poison(format!("not a vote subject: {}", delivery.message.subject));
    };
    let vote: Vote = match decode(&delivery.message.payload) {
        Ok(vote) => vote,
        Err(e) => return Outcome::Poison(e.to_string()),
    };
    // The subject is what the server let this expert publish on; a payload naming
    // someone else is a forgery.
    if Token::encode(&vote.expert) != parsed.expert || Token::encode(&vote.cmd_id) != parsed.cmd_id
    {
        return Outcome::Poison(format!(
            "payload names expert {:?} command {:?} but was published on {}",
            vote.expert, vote.cmd_id, delivery.message.subject
        ));
    }
    tracing::Span::current().record("cmd_id", vote.cmd_id.as_str());
    // Independent reads: done at once, they cost one round trip instead of two.
    let (escalation, votes) = tokio::join!(
        open_escalation(state, &parsed.cmd_id),
        votes_for(state, &parsed.cmd_id)
    );
    let escalation = match escalation {
        Ok(Some(escalation)) => escalation,
        // A vote on a command never escalated (or long expired): stored, nothing to do.
        Ok(None) => return Outcome::Done,
        Err(Lookup::Unreadable(e)) => {
            warn!(error = %e, "escalation_lookup_failed");
            return Outcome::retry(Duration::from_millis(200), e);
        }
        // The record is garbage: keep it as a dead letter and remove it. The vote
        // stays stored, and the escalation's own timer (its LH_ESC message) tallies
        // every vote at the deadline, so the command is still decided.
        Err(Lookup::Poisoned(entry, why)) => {
            let reason = format!("recorded escalation does not decode: {why}");
            return match lighthouse_nats::dead_letter::publish_kv_record(&state.js, &entry, &reason)
                .await
            {
                Ok(_) => {
                    if let Err(e) = state.escalations.delete(&entry.key).await {
                        warn!(error = %e, "poisoned_escalation_not_removed");
                    }
                    Outcome::Done
                }
                Err(e) => Outcome::retry(Duration::from_millis(500), e),
            };
        }
    };
    if delivery.delivered == 1 {
        let waited_us = vote.env.ts_us.saturating_sub(escalation.env.ts_us);
        lighthouse_telemetry::record::expert_response(&vote.specialty, waited_us as f64 / 1e6);
    }
    let votes = match votes {
        Ok(votes) => consensus::verify(votes, &state.config.experts),
        Err(e) => {
            warn!(error = %e, "votes_unreadable");
            return Outcome::retry(Duration::from_millis(200), e);
        }
    };
    match consensus::tally(&escalation.consensus, &escalation.required, &votes) {
        Tally::Pending => Outcome::Done,
        settled => settle(state, &escalation, &Resolution::Consensus(settled), &votes).await,
    }
}

/// An escalation arrived, or its timer fired: resolve it if its deadline passed or
/// nobody present could answer, else re-arm the timer.
async fn handle_escalation(state: &State, delivery: Delivery) -> Outcome {
    let escalation: Escalation = match decode(&delivery.message.payload) {
        Ok(escalation) => escalation,
        Err(e) => return Outcome::Poison(e.to_string()),
    };
    tracing::Span::current().record("cmd_id", escalation.cmd_id.as_str());
    // One timer per command: the copy for the first specialty.
    if escalation.required.first() != Some(&escalation.specialty) {
        return Outcome::Done;
    }
    let present = || {
        consensus::unreachable(
            &escalation.consensus,
            &escalation.required,
            &present_experts(&state.experts, &state.config.experts),
        )
    };
    let now = now_us();
    if delivery.delivered == 1 && now < escalation.deadline_us {
        // Just escalated. A vote that already settled it published the decision
        // itself, so no lookups are needed here; only who is present matters: arm the
        // timer, or resolve at once when nobody present could ever approve.
        return match consensus::timer_step(Tally::Pending, now, escalation.deadline_us, present) {
            TimerStep::Wait(wait) => Outcome::Later(wait),
            TimerStep::Resolve(resolution) => settle(state, &escalation, &resolution, &[]).await,
        };
    }
    match decided(state, &escalation).await {
        Ok(true) => return Outcome::Done,
        Ok(false) => {}
        Err(e) => {
            warn!(error = %e, "decision_lookup_failed");
            return Outcome::retry(Duration::from_millis(500), e);
        }
    }
    let cmd = Token::encode(&escalation.cmd_id);
    let votes = match votes_for(state, &cmd).await {
        Ok(votes) => consensus::verify(votes, &state.config.experts),
        Err(e) => {
            warn!(error = %e, "votes_unreadable");
            return Outcome::retry(Duration::from_millis(500), e);
        }
    };
    let tally = consensus::tally(&escalation.consensus, &escalation.required, &votes);
    match consensus::timer_step(tally, now_us(), escalation.deadline_us, present) {
        TimerStep::Wait(wait) => Outcome::Later(wait),
        TimerStep::Resolve(resolution) => settle(state, &escalation, &resolution, &votes).await,
    }
}

/// Publishes the final decision; a decision already there (another replica, a vote
/// racing the deadline) is the one that stands.
async fn settle(
    state: &State,
    escalation: &Escalation,
    resolution: &Resolution,
    votes: &[Vote],
) -> Outcome {
    let mut decision = consensus::final_decision(
        escalation,
        resolution,
        votes,
        state.config.fallback,
        &state.config.worker_id,
        now_us(),
    );
    if let Some(signer) = &state.config.signer
        && let Err(e) = signer.sign(&mut decision)
    {
        return Outcome::Permanent(format!("cannot sign its decision: {e}"));
    }
    let payload = match encode(&decision) {
        Ok(payload) => payload,
        Err(e) => return Outcome::Permanent(format!("cannot encode its decision: {e}")),
    };
    let span = tracing::info_span!(
        target: "lighthouse",
        "decide",
        otel.name = "decide",
        cmd_id = %escalation.cmd_id,
        verdict = ?decision.verdict,
        tier = ?decision.tier,
    );
    match publish_once(
        &state.js,
        decision_subject(escalation),
        &escalation.cmd_id,
        payload.into(),
        true,
    )
    .instrument(span)
    .await
    {
        Ok(Published::AlreadyExists)
            if matches!(resolution, Resolution::Consensus(Tally::Approved)) =>
        {
            late_approval(state, escalation, decision).await
        }
        Ok(published) => {
            if let Published::Stored(_) = published {
                lighthouse_telemetry::record::decision(&decision);
                lighthouse_telemetry::record::escalation_settled(
                    &escalation.required,
                    outcome_of(resolution),
                );
            }
            info!(cmd_id = %escalation.cmd_id, verdict = ?decision.verdict, tier = ?decision.tier, ?published, "escalation_decided");
            Outcome::Done
        }
        Err(e) => {
            warn!(error = %e, "decision_publish_failed");
            Outcome::from_publish(&e, Duration::from_millis(200))
        }
    }
}

/// Experts approved a command whose decision is already there. When that decision
/// left it unresolved (its deadline passed, or nobody could answer), the approval is
/// recorded beside it on [`subject::late_approval`], once: the decision stands, and a
/// client that cannot ask (Codex, Gemini) may run a retry of the same call.
async fn late_approval(
    state: &State,
    escalation: &Escalation,
    approved: lighthouse_schemas::Decision,
) -> Outcome {
    let recorded =
        lighthouse_nats::read::recorded_decision(&state.js, &decision_subject(escalation)).await;
    match recorded {
        Some(decision) if decision.unresolved() => {}
        // Decided by consensus, or the policy: nothing to amend.
        Some(_) => return Outcome::Done,
        None => return Outcome::retry(Duration::from_millis(200), "decision unreadable"),
    }
    let mut late = consensus::late(approved);
    if let Some(signer) = &state.config.signer
        && let Err(e) = signer.sign(&mut late)
    {
        return Outcome::Permanent(format!("cannot sign its late approval: {e}"));
    }
    let payload = match encode(&late) {
        Ok(payload) => payload,
        Err(e) => return Outcome::Permanent(format!("cannot encode its late approval: {e}")),
    };
    let target = subject::late_approval(
        &Token::encode(&escalation.command.env.project),
        &Token::encode(&escalation.command.env.agent),
        &Token::encode(&escalation.cmd_id),
    );
    let msg_id = format!("{}.late", escalation.cmd_id);
    match publish_once(&state.js, target, &msg_id, payload.into(), true).await {
        Ok(published) => {
            info!(cmd_id = %escalation.cmd_id, ?published, "late_approval");
            Outcome::Done
        }
        Err(e) => {
            warn!(error = %e, "late_approval_publish_failed");
            Outcome::from_publish(&e, Duration::from_millis(200))
        }
    }
}

/// The metric label of how an escalation ended.
fn outcome_of(resolution: &Resolution) -> lighthouse_telemetry::record::EscalationOutcome {
    use lighthouse_telemetry::record::EscalationOutcome;
    match resolution {
        Resolution::Consensus(Tally::Approved) => EscalationOutcome::Approved,
        Resolution::Consensus(_) => EscalationOutcome::Rejected,
        Resolution::DeadlinePassed => EscalationOutcome::Expired,
        Resolution::NobodyPresent(_) => EscalationOutcome::NobodyPresent,
    }
}

fn decision_subject(escalation: &Escalation) -> String {
    subject::decision(
        &Token::encode(&escalation.command.env.project),
        &Token::encode(&escalation.command.env.agent),
        &Token::encode(&escalation.cmd_id),
    )
}

async fn decided(state: &State, escalation: &Escalation) -> Result<bool, async_nats::Error> {
    let stream = state.js.get_stream_no_info(DECISION_STREAM).await?;
    match stream
        .direct_get_last_for_subject(decision_subject(escalation))
        .await
    {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == jetstream::stream::DirectGetErrorKind::NotFound => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Why an open escalation could not be read.
enum Lookup {
    /// The bucket did not answer: retry.
    Unreadable(async_nats::Error),
    /// The record is there but does not decode.
    Poisoned(kv::Entry, String),
}

async fn open_escalation(state: &State, cmd: &Token) -> Result<Option<Escalation>, Lookup> {
    let entry = state
        .escalations
        .entry(cmd.kv_key())
        .await
        .map_err(|e| Lookup::Unreadable(e.into()))?;
    match entry {
        Some(entry) if entry.operation == kv::Operation::Put => match decode(&entry.value) {
            Ok(escalation) => Ok(Some(escalation)),
            Err(e) => Err(Lookup::Poisoned(entry, e.to_string())),
        },
        _ => Ok(None),
    }
}

/// Every genuine vote on a command, in the order the stream stored them. Votes whose
/// payload disagrees with their subject are skipped (they were dead-lettered).
async fn votes_for(state: &State, cmd: &Token) -> Result<Vec<Vote>, ReadError> {
    let messages = lighthouse_nats::read::read_filtered(
        &state.js,
        VOTE_STREAM,
        &subject::votes_for(cmd),
        Start::First,
        MAX_VOTES,
        Duration::from_secs(2),
    )
    .await?;
    Ok(messages
        .iter()
        .filter_map(|m| {
            let parsed = subject::parse_vote(&m.subject)?;
            let vote: Vote = decode(&m.payload).ok()?;
            (Token::encode(&vote.expert) == parsed.expert && &parsed.cmd_id == cmd).then_some(vote)
        })
        .collect())
}

/// (specialty, expert) pairs present now, decoded from the `lh_experts` keys; only
/// those the expert roster vouches for.
fn present_experts(roster: &Roster, experts: &consensus::ExpertRoster) -> Vec<(String, String)> {
    roster
        .present("")
        .iter()
        .filter_map(|key| subject::parse_expert_key(key))
        .filter_map(|(s, e)| Some((s.decode()?, e.decode()?)))
        .filter(|(s, e)| consensus::verified(experts, e, s))
        .collect()
}
