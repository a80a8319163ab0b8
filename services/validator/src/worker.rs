//! The validator's NATS loop.

use crate::book::{self, Book};
use crate::decide::decide_cached;
use crate::escalate::{self, EscalationPolicy};
use crate::exception;
use arc_swap::ArcSwap;
use async_nats::jetstream::{self, kv};
use futures::StreamExt;
use lighthouse_nats::dead_letter;
use lighthouse_nats::memory::{self, MemoryLimits};
use lighthouse_nats::presence::{self, Presence};
use lighthouse_nats::publish::{DECIDED_LOCALLY, Published, publish_once};
use lighthouse_nats::roster::{Roster, RosterError};
use lighthouse_nats::supervise::{Helper, HelperEnded, spawn_helper};
use lighthouse_nats::topology::{
    CMD_STREAM, DECISION_STREAM, ESCALATIONS_BUCKET, FALLBACK_STREAM, RECORDER_GROUP, Topology,
    TopologyError, VALIDATOR_GROUP,
};
use lighthouse_nats::worker::{ConsumeOptions, Delivery, Outcome, WorkerStats, consume_group};
use lighthouse_schemas::{
    Command, Decision, Escalation, EscalationContext, RecentDecision, Token, Verdict, decode,
    encode, now_us, subject,
};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use thiserror::Error;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

/// Everything a validator needs besides its NATS client.
#[derive(Debug, Clone)]
pub struct ValidatorConfig {
    /// Unique per replica; appears as `decided_by` in every decision it makes.
    pub worker_id: String,
    /// Home directory used to resolve `~` in commands.
    pub home: Option<String>,
    pub consume: ConsumeOptions,
    /// How Escalate verdicts become expert escalations.
    pub escalation: EscalationPolicy,
    /// Signs every decision it makes (its identity's NKey); `None` leaves them
    /// unsigned, which `lighthouse audit verify` reports.
    pub signer: Option<lighthouse_nats::auth::Signer>,
    /// Public keys whose signature admits a policy pack that loosens the policy.
    pub admin_keys: Vec<String>,
    /// Memory ceiling and the budgets under it (cache, messages in flight).
    pub memory: MemoryLimits,
    /// Bounds on the scoped exceptions it holds.
    pub exceptions: ExceptionLimits,
    /// How old a command must be before the hook may have answered it locally (its
    /// decision timeout, at most [`STALE_AFTER_MAX`]): such a command's fallback record,
    /// if stored, is what the agent was told, so it is looked up first.
    pub stale_after: Duration,
}

/// How many exceptions a validator holds, and the longest one it honours.
#[derive(Debug, Clone, Copy)]
pub struct ExceptionLimits {
    pub max_live: usize,
    pub max_lifetime: Duration,
}

#[derive(Debug, Error)]
pub enum ValidatorError {
    #[error("topology: {0}")]
    Topology(#[from] TopologyError),
    #[error("no consumer group {VALIDATOR_GROUP} on {CMD_STREAM} in nats/consumers")]
    NoGroup,
    #[error("watching aggregator presence: {0}")]
    Roster(#[from] RosterError),
    #[error("opening KV bucket {ESCALATIONS_BUCKET}: {0}")]
    Escalations(async_nats::Error),
    #[error(transparent)]
    Worker(#[from] lighthouse_nats::worker::WorkerError),
    #[error(transparent)]
    Helper(#[from] HelperEnded),
}

/// What the escalation path needs, shared by every message handler.
struct Escalator {
    /// Open escalations by command id (see [`ESCALATIONS_BUCKET`]).
    store: kv::Store,
    /// Present aggregators: without one, nobody would ever answer an escalation, so the
    /// validator publishes the policy's Escalate ("ask") as the decision instead.
    workers: Roster,
    /// Context for experts: what each agent did just before.
    recent: Arc<RecentDecisions>,
    /// Live scoped exceptions: one covering a call allows it instead of escalating.
    exceptions: Arc<Mutex<exception::Live>>,
}

/// How long a worker key counts as present (the `lh_workers` TTL).
const WORKER_TTL: Duration = Duration::from_secs(15);

/// Runs one validator replica until `shutdown`. Applies the topology first, so a
/// validator started against an empty server works.
pub async fn run(
    client: async_nats::Client,
    config: ValidatorConfig,
    shutdown: CancellationToken,
) -> Result<(), ValidatorError> {
    // Ours to cancel too: a consume loop that fails stops the helpers below with it,
    // and so does returning early (a bucket missing below), whichever way it returns.
    let shutdown = shutdown.child_token();
    let _stop_helpers = shutdown.clone().drop_guard();
    let js = async_nats::jetstream::new(client);
    let topology = Topology::embedded()?;
    topology
        .ensure_present(&js, &[CMD_STREAM, FALLBACK_STREAM])
        .await?;
    let group = topology
        .group(CMD_STREAM, VALIDATOR_GROUP)
        .ok_or(ValidatorError::NoGroup)?
        .clone();
    let stats = Arc::new(WorkerStats::default());
    // One evaluation cache for every policy, weighed in bytes; the guard empties it if
    // the process nears its memory ceiling anyway.
    let cache = lighthouse_policy::eval_cache(config.memory.cache_bytes);
    let sheds = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let guard = {
        let cache = cache.clone();
        spawn_helper(
            "memory guard",
            &shutdown,
            memory::guard(
                config.memory,
                move || cache.invalidate_all(),
                sheds.clone(),
                shutdown.clone(),
            ),
        )
    };
    // Policies hot-reload from the lh_policy bucket; decisions read the current book.
    let policy = Arc::new(ArcSwap::from_pointee(Book::builtin(&cache)));
    let follower = spawn_helper(
        "policy follower",
        &shutdown,
        book::follow(
            js.clone(),
            policy.clone(),
            Arc::new(config.admin_keys.clone()),
            shutdown.clone(),
        ),
    );
    // Scoped exceptions: kept current from their bucket, consulted on Escalate.
    let exceptions = Arc::new(Mutex::new(exception::Live::new(
        config.exceptions.max_live,
        config.exceptions.max_lifetime.as_micros() as u64,
    )));
    let exception_follower = spawn_helper(
        "exception follower",
        &shutdown,
        exception::follow(js.clone(), exceptions.clone(), shutdown.clone()),
    );
    let (workers, roster) = Roster::watch(
        &js,
        lighthouse_nats::presence::BUCKET,
        WORKER_TTL,
        shutdown.clone(),
    )
    .await?;
    let escalator = Arc::new(Escalator {
        store: js
            .get_key_value(ESCALATIONS_BUCKET)
            .await
            .map_err(|e| ValidatorError::Escalations(e.into()))?,
        workers,
        recent: Arc::default(),
        exceptions,
    });
    let recent = escalator
        .recent
        .clone()
        .follow(js.clone(), shutdown.clone())
        .await;
    let started_ms = now_us() / 1000;
    info!(worker_id = %config.worker_id, partitions = group.partitions, "validator started");

    let heartbeat = {
        let (stats, id, limits) = (stats.clone(), config.worker_id.clone(), config.memory);
        let book = policy.clone();
        let (cache, sheds) = (cache.clone(), sheds.clone());
        presence::spawn_heartbeat(&js, &shutdown, move || {
            let version = book.load().default.policy().version().to_owned();
            lighthouse_telemetry::record::policy_version(&version);
            Presence {
                version,
                problems: book.load().errors.clone(),
                memory: Some(memory::MemoryReport {
                    max_rss_bytes: limits.max_rss_bytes,
                    rss_bytes: memory::rss_bytes(),
                    peak_rss_bytes: memory::peak_rss_bytes(),
                    cache_budget_bytes: limits.cache_bytes,
                    cache_bytes: {
                        cache.run_pending_tasks();
                        cache.weighted_size()
                    },
                    inflight_budget_bytes: limits.inflight_bytes,
                    sheds: sheds.load(Ordering::Relaxed),
                }),
                ..stats.counted_in(Presence::of_this_process(
                    presence::WorkerKind::Validator,
                    &id,
                    started_ms,
                ))
            }
        })
    };

    let handler = {
        let (js, config) = (js.clone(), Arc::new(config.clone()));
        move |delivery: Delivery| {
            let (js, policy, config, escalator) = (
                js.clone(),
                policy.clone(),
                config.clone(),
                escalator.clone(),
            );
            async move { handle(&js, &policy, &config, &escalator, delivery).await }
        }
    };
    let consume = ConsumeOptions {
        inflight_bytes: config.memory.inflight_bytes as usize,
        ..config.consume.clone()
    };
    let recorder = topology
        .group(FALLBACK_STREAM, RECORDER_GROUP)
        .ok_or(ValidatorError::NoGroup)?
        .clone();
    let record = {
        let js = js.clone();
        move |delivery: Delivery| {
            let js = js.clone();
            async move { record_fallback(&js, delivery).await }
        }
    };
    let recorder_options = ConsumeOptions {
        concurrency: 16,
        batch: 64,
        ..consume.clone()
    };
    // Either loop ending (a deleted consumer, a failure) stops the other: the worker
    // exits and its supervisor starts it again.
    let commands = {
        let (js, shutdown) = (js.clone(), shutdown.clone());
        let stats = stats.clone();
        async move {
            let r = consume_group(js, group, consume, stats, handler, shutdown.clone()).await;
            shutdown.cancel();
            r
        }
    };
    let fallbacks = {
        let shutdown = shutdown.clone();
        async move {
            let r = consume_group(
                js,
                recorder,
                recorder_options,
                stats,
                record,
                shutdown.clone(),
            )
            .await;
            shutdown.cancel();
            r
        }
    };
    // A helper that dies (a panic) cancels `shutdown`: the loops stop, and its end is
    // the validator's error, so it is started again rather than deciding without
    // current policies or exceptions, or looking absent.
    let (consumed, recorded) = tokio::join!(commands, fallbacks);
    let mut helpers = Vec::new();
    for helper in [heartbeat, follower, exception_follower, guard, roster]
        .into_iter()
        .chain(recent)
    {
        helpers.push(helper.join().await);
    }
    info!(worker_id = %config.worker_id, "validator stopped");
    consumed?;
    recorded?;
    helpers.into_iter().collect::<Result<(), _>>()?;
    Ok(())
}

async fn handle(
    js: &async_nats::jetstream::Context,
    policy: &ArcSwap<Book>,
    config: &ValidatorConfig,
    escalator: &Escalator,
    delivery: Delivery,
) -> Outcome {
    let Some(parsed) = subject::parse_command(&delivery.message.subject) else {
        return Outcome::Poison(format!(
            "not a command subject: {}",
            delivery.message.subject
        ));
    };
    let command: Command = match decode(&delivery.message.payload) {
        Ok(command) => command,
        Err(e) => return Outcome::Poison(e.to_string()),
    };
    // The subject is what the publisher was allowed to publish on; the payload must
    // agree with it, or one agent could file commands in another's name.
    if Token::encode(&command.env.project) != parsed.project
        || Token::encode(&command.env.agent) != parsed.agent
    {
        return Outcome::Poison(format!(
            "payload names project {:?} agent {:?} but was published on {}",
            command.env.project, command.env.agent, delivery.message.subject
        ));
    }
    tracing::Span::current().record("cmd_id", command.env.id.as_str());
    // A command the hook stopped waiting for may already have the hook's own decision
    // on record (a fallback record in LH_FALLBACK): that one is what the agent was
    // told, so it becomes the decision. Only stale commands, and those the hook marks
    // as decided locally (its spool), pay this lookup.
    let decided_locally = delivery
        .message
        .headers
        .as_ref()
        .is_some_and(|h| h.get(DECIDED_LOCALLY).is_some());
    if (decided_locally
        || now_us().saturating_sub(command.env.ts_us) > config.stale_after.as_micros() as u64)
        && let Some(record) = fallback_record(js, &parsed, &command.env.id).await
    {
        let target = subject::decision(
            &parsed.project,
            &parsed.agent,
            &Token::encode(&command.env.id),
        );
        return match publish_once(js, target, &command.env.id, record, true).await {
            Ok(_) => Outcome::Done,
            Err(e) => {
                warn!(error = %e, "fallback_record_failed");
                Outcome::from_publish(&e, Duration::from_millis(200))
            }
        };
    }
    let book = policy.load();
    let decision = decide_cached(
        book.for_project(parsed.project.as_str()),
        &command,
        config.home.as_deref(),
        &config.worker_id,
        now_us(),
    );
    let mut decision = decision;
    if decision.verdict == Verdict::Escalate {
        except(escalator, &command, &mut decision);
    }
    if decision.verdict == Verdict::Escalate && escalator.workers.any("aggregator.") {
        // The final decision comes from the aggregator once experts have voted.
        match escalate(js, config, escalator, &command, &decision).await {
            Ok(()) => return Outcome::Done,
            Err(EscalateError::Transient(why)) => {
                warn!(error = %why, "escalation_publish_failed");
                return Outcome::retry(Duration::from_millis(200), why);
            }
            // Experts can never see it (too large, no stream, no permission): the
            // policy's own Escalate ("ask") is the decision, with the reason.
            Err(EscalateError::Permanent(why)) => {
                warn!(error = %why, "escalation_impossible");
                decision.reason = format!("{} (not escalated to experts: {why})", decision.reason);
            }
        }
    }
    if let Some(signer) = &config.signer
        && let Err(e) = signer.sign(&mut decision)
    {
        return Outcome::Permanent(format!("cannot sign its decision: {e}"));
    }
    let payload = match encode(&decision) {
        Ok(payload) => payload,
        Err(e) => return Outcome::Permanent(format!("cannot encode its decision: {e}")),
    };
    let target = subject::decision(
        &parsed.project,
        &parsed.agent,
        &Token::encode(&command.env.id),
    );
    // Redeliveries and replicas racing on one command all land here; the server keeps
    // the first decision and refuses the rest, so the outcome is the same: done.
    match publish_once(js, target.clone(), &command.env.id, payload.into(), true).await {
        Ok(Published::Stored(_)) => {
            lighthouse_telemetry::record::decision(&decision);
            Outcome::Done
        }
        Ok(Published::AlreadyExists) if delivery.delivered == 1 => {
            // Decided before its first delivery: a hook's fallback decision, recorded
            // from its spool ahead of the command. Counted here, once, by whoever
            // validates the command (one extra read, only for such commands).
            if let Some(recorded) = lighthouse_nats::read::recorded_decision(js, &target).await
                && recorded.tier == lighthouse_schemas::Tier::Fallback
            {
                lighthouse_telemetry::record::fallback_recorded(&recorded);
            }
            Outcome::Done
        }
        Ok(_) => Outcome::Done,
        Err(e) => {
            warn!(error = %e, "decision_publish_failed");
            Outcome::from_publish(&e, Duration::from_millis(200))
        }
    }
}

/// Applies the exception covering `command`, if one does (only on the Escalate path:
/// the normalised-command key costs a second parse).
fn except(escalator: &Escalator, command: &Command, decision: &mut Decision) {
    if escalator.exceptions.lock().map_or(true, |t| t.is_empty()) {
        return;
    }
    // The key is computed outside the lock: other handlers keep deciding meanwhile.
    let call = lighthouse_policy::Call {
        tool_name: &command.tool_name,
        tool_input: &command.tool_input,
        cwd: &command.cwd,
        home: None,
        branch: command.git_branch.as_deref(),
    };
    let Some(print) = lighthouse_policy::fingerprint(&call) else {
        return;
    };
    let Ok(table) = escalator.exceptions.lock() else {
        return;
    };
    if let Some(e) = table.find(command, &print, decision.rule_id.as_deref(), now_us()) {
        info!(exception = %e.env.id, "exception_applied");
        exception::apply(decision, e);
    }
}

/// Why an escalation was not published.
#[derive(Debug, Error)]
enum EscalateError {
    /// Retry later: a timeout, a KV hiccup.
    #[error("{0}")]
    Transient(String),
    /// It can never be published as it stands.
    #[error("{0}")]
    Permanent(String),
}

impl From<lighthouse_nats::publish::PublishError> for EscalateError {
    fn from(e: lighthouse_nats::publish::PublishError) -> Self {
        if e.is_transient() {
            EscalateError::Transient(e.to_string())
        } else {
            EscalateError::Permanent(e.to_string())
        }
    }
}

/// The most a command's age may reach before the validator looks for the hook's own
/// decision first (hooks configured with a longer wait than the validator knows of).
pub const STALE_AFTER_MAX: Duration = Duration::from_secs(1);

/// The hook's fallback record for a command, if one is stored.
async fn fallback_record(
    js: &async_nats::jetstream::Context,
    parsed: &subject::CommandSubject,
    cmd_id: &str,
) -> Option<bytes::Bytes> {
    let subject = subject::fallback(&parsed.project, &parsed.agent, &Token::encode(cmd_id));
    let stream = js.get_stream_no_info(FALLBACK_STREAM).await.ok()?;
    let message = stream.direct_get_last_for_subject(subject).await.ok()?;
    let decision: Decision = decode(&message.payload).ok()?;
    (decision.tier == lighthouse_schemas::Tier::Fallback && decision.cmd_id == cmd_id)
        .then_some(message.payload)
}

/// Records a hook's local decision (`lh.fallback.<project>.<agent>.<cmd_id>`) as the
/// command's decision, unless one is already there. The agent may publish fallback
/// records but never decisions: only what passes these checks reaches the audit log,
/// byte for byte as the hook signed it, and always as tier `fallback`.
async fn record_fallback(js: &async_nats::jetstream::Context, delivery: Delivery) -> Outcome {
    let subject_name = delivery.message.subject.to_string();
    let Some((project, agent, cmd)) = subject::parse_fallback(&subject_name) else {
        return Outcome::Poison(format!("not a fallback subject: {subject_name}"));
    };
    let decision: Decision = match decode(&delivery.message.payload) {
        Ok(d) => d,
        Err(e) => return Outcome::Poison(e.to_string()),
    };
    if Token::encode(&decision.env.project) != project
        || Token::encode(&decision.env.agent) != agent
        || Token::encode(&decision.cmd_id) != cmd
    {
        return Outcome::Poison(format!(
            "fallback record for {:?}/{:?}/{:?} published on {subject_name}",
            decision.env.project, decision.env.agent, decision.cmd_id
        ));
    }
    if decision.tier != lighthouse_schemas::Tier::Fallback {
        return Outcome::Poison(format!(
            "a hook's record must be tier fallback, not {:?}",
            decision.tier
        ));
    }
    let target = subject::decision(&project, &agent, &cmd);
    match publish_once(
        js,
        target,
        &decision.cmd_id,
        delivery.message.payload.clone(),
        true,
    )
    .await
    {
        Ok(_) => Outcome::Done,
        Err(e) => {
            warn!(error = %e, "fallback_record_failed");
            Outcome::from_publish(&e, Duration::from_millis(200))
        }
    }
}

/// Publishes one escalation per required specialty. The first attempt records the
/// escalation under its command id; a redelivery (or a second replica) finds it there
/// and republishes the same events, so deadlines never move and `Nats-Msg-Id`
/// deduplicates the copies. A recorded escalation that does not decode is
/// dead-lettered and replaced by this one.
async fn escalate(
    js: &jetstream::Context,
    config: &ValidatorConfig,
    escalator: &Escalator,
    command: &Command,
    decision: &Decision,
) -> Result<(), EscalateError> {
    let transient = |e: &dyn std::fmt::Display| EscalateError::Transient(e.to_string());
    let key = Token::encode(&command.env.id).kv_key();
    let context = EscalationContext {
        recent_decisions: escalator
            .recent
            .of(command, config.escalation.context_decisions),
        files: escalate::files_of(&command.tool_input),
    };
    let mut fresh = escalate::escalation(&config.escalation, command, decision, context, now_us());
    fresh.traceparent = lighthouse_telemetry::trace::current_traceparent();
    // Every copy must encode (size bound included) before anything is recorded.
    let encoded = encode(&fresh).map_err(|e| EscalateError::Permanent(e.to_string()))?;
    // Create, not put: on a redelivery, or when another replica got here first, the
    // escalation already recorded is the one that stands (with its deadline).
    let escalation = match escalator.store.create(&key, encoded.clone().into()).await {
        Ok(_) => fresh,
        Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => {
            match escalator
                .store
                .entry(&key)
                .await
                .map_err(|e| transient(&e))?
            {
                Some(entry) if entry.operation == kv::Operation::Put => {
                    match decode::<Escalation>(&entry.value) {
                        Ok(recorded) => recorded,
                        Err(why) => {
                            repair(js, escalator, &key, &entry, &why.to_string(), encoded).await?;
                            fresh
                        }
                    }
                }
                // Deleted meanwhile: this escalation stands.
                _ => fresh,
            }
        }
        Err(e) => return Err(transient(&e)),
    };
    let project = Token::encode(&command.env.project);
    for specialty in &escalation.required {
        let copy = escalate::for_specialty(&escalation, specialty);
        let target = subject::escalation(&project, &Token::encode(specialty));
        let payload = encode(&copy).map_err(|e| EscalateError::Permanent(e.to_string()))?;
        publish_once(js, target, &copy.env.id, payload.into(), false).await?;
    }
    // Tell the waiting hook to wait for experts rather than fall back at its fast-path
    // deadline. Best effort: a hook that misses it finds the recorded escalation.
    let notice = subject::pending(
        &project,
        &Token::encode(&command.env.agent),
        &Token::encode(&command.env.id),
    );
    let notice_payload =
        encode(&escalation).map_err(|e| EscalateError::Permanent(e.to_string()))?;
    if let Err(e) = js.client().publish(notice, notice_payload.into()).await {
        debug!(error = %e, "pending_notice_failed");
    }
    Ok(())
}

/// A recorded escalation that does not decode: dead-letter it (nothing is lost, the
/// reason is kept), then put `fresh` in its place, only if nobody changed it meanwhile.
async fn repair(
    js: &jetstream::Context,
    escalator: &Escalator,
    key: &str,
    entry: &kv::Entry,
    why: &str,
    fresh: Vec<u8>,
) -> Result<(), EscalateError> {
    let reason = format!("recorded escalation does not decode: {why}");
    dead_letter::publish_kv_record(js, entry, &reason).await?;
    escalator
        .store
        .update(key, fresh.into(), entry.revision)
        .await
        .map_err(|e| EscalateError::Transient(format!("replacing a poisoned escalation: {e}")))?;
    Ok(())
}

/// Most agents whose recent decisions are kept (then the table starts over).
const MAX_AGENTS: usize = 10_000;
/// Most decisions kept per agent.
const MAX_RECENT: usize = 32;
/// How far back a starting validator loads decisions, and at most how many.
const PRIME_WINDOW: Duration = Duration::from_secs(600);
const PRIME_MAX: usize = 10_000;

/// Every agent's last few decisions: the last minutes of `LH_DECISION` when the
/// validator starts, then every decision as it is published. Best effort by design: an expert can judge without them, and reading them
/// back from `LH_DECISION` per escalation (a filtered scan of a busy stream) cost more
/// than the rest of the escalation path together.
#[derive(Default)]
struct RecentDecisions {
    by_agent: Mutex<HashMap<(String, String), VecDeque<RecentDecision>>>,
}

impl RecentDecisions {
    /// Loads the last minutes of `LH_DECISION` (so a restarted validator still has
    /// context) before returning, then follows every decision until `shutdown`, in the
    /// helper returned (none when it cannot subscribe: best effort).
    async fn follow(
        self: Arc<Self>,
        js: jetstream::Context,
        shutdown: CancellationToken,
    ) -> Option<Helper> {
        // Subscribed before loading, so nothing falls between the two.
        let mut decisions = match js.client().subscribe(subject::DECISION_ALL).await {
            Ok(sub) => sub,
            Err(e) => {
                warn!(error = %e, "recent_decisions_unavailable");
                return None;
            }
        };
        let since = time::OffsetDateTime::now_utc() - PRIME_WINDOW;
        match lighthouse_nats::read::read_filtered(
            &js,
            DECISION_STREAM,
            subject::DECISION_ALL,
            lighthouse_nats::read::Start::Time(since),
            PRIME_MAX,
            Duration::from_secs(5),
        )
        .await
        {
            Ok(stored) => {
                for message in stored {
                    if let Ok(decision) = decode::<Decision>(&message.payload) {
                        self.record(decision);
                    }
                }
            }
            Err(e) => warn!(error = %e, "recent_decisions_not_loaded"),
        }
        let stop = shutdown.clone();
        Some(spawn_helper(
            "recent decisions follower",
            &stop,
            async move {
                loop {
                    tokio::select! {
                        message = decisions.next() => match message {
                            Some(message) => {
                                if let Ok(decision) = decode::<Decision>(&message.payload) {
                                    self.record(decision);
                                }
                            }
                            None => break,
                        },
                        _ = shutdown.cancelled() => break,
                    }
                }
            },
        ))
    }

    fn record(&self, d: Decision) {
        let Ok(mut by_agent) = self.by_agent.lock() else {
            return;
        };
        if by_agent.len() >= MAX_AGENTS {
            by_agent.clear();
        }
        let recent = by_agent
            .entry((d.env.project.clone(), d.env.agent.clone()))
            .or_default();
        // Loaded at start and then seen live: keep one.
        if recent.iter().any(|r| r.cmd_id == d.cmd_id) {
            return;
        }
        if recent.len() >= MAX_RECENT {
            recent.pop_front();
        }
        recent.push_back(RecentDecision {
            cmd_id: d.cmd_id,
            verdict: d.verdict,
            reason: d.reason,
            rule_id: d.rule_id,
            ts_us: d.env.ts_us,
            decided_by: d.decided_by,
        });
    }

    /// The agent's last `limit` decisions before `command`, newest last.
    fn of(&self, command: &Command, limit: usize) -> Vec<RecentDecision> {
        let Ok(by_agent) = self.by_agent.lock() else {
            return Vec::new();
        };
        let key = (command.env.project.clone(), command.env.agent.clone());
        let Some(recent) = by_agent.get(&key) else {
            return Vec::new();
        };
        let earlier: Vec<&RecentDecision> = recent
            .iter()
            .filter(|d| d.cmd_id != command.env.id)
            .collect();
        let skip = earlier.len().saturating_sub(limit);
        earlier.into_iter().skip(skip).cloned().collect()
    }
}
