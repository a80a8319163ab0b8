//! Asking the pipeline over an open connection: publish the command, wait for its
//! stored decision (longer when experts were asked) as `LH_DECISION` republishes it on
//! `lh.recorded.…`. The hook and the relay both ask this way.

use futures::StreamExt;
use lighthouse_nats::publish::{Published, publish_once_with};
use lighthouse_nats::read::recorded_decision;
use lighthouse_schemas::{Command, Decision, Token, Verdict, decode, encode, now_us, subject};
use std::time::Duration;

/// How long a retried escalation may spend looking for an approval that came late.
const LATE_APPROVAL_BUDGET: Duration = Duration::from_millis(300);

/// The late approval on record for `command`, if any (within its budget).
pub async fn late_approval_record(
    nats: &async_nats::Client,
    command: &Command,
) -> Option<Decision> {
    let js = async_nats::jetstream::new(nats.clone());
    let target = subject::late_approval(
        &Token::encode(&command.env.project),
        &Token::encode(&command.env.agent),
        &Token::encode(&command.env.id),
    );
    tokio::time::timeout(LATE_APPROVAL_BUDGET, recorded_decision(&js, &target))
        .await
        .ok()?
}

/// Publishes the command and waits for its decision (the caller bounds the wait).
/// `with_experts` hears when the wait goes on past `waits.fast` for experts, and until
/// when.
pub async fn ask_pipeline(
    client: &async_nats::Client,
    command: &Command,
    waits: Waits,
    trace_ratio: f64,
    with_experts: impl Fn(std::time::Instant),
) -> Result<Decision, String> {
    let project = Token::encode(&command.env.project);
    let agent = Token::encode(&command.env.agent);
    let cmd = Token::encode(&command.env.id);
    let decision_subject = subject::decision(&project, &agent, &cmd);
    // Subscribe before publishing, so neither the decision nor the notice that experts
    // were asked can slip past us.
    let mut recorded = client
        .subscribe(subject::recorded_decision(&project, &agent, &cmd))
        .await
        .map_err(|e| format!("subscribe: {e}"))?;
    let mut decisions = client
        .subscribe(decision_subject.clone())
        .await
        .map_err(|e| format!("subscribe: {e}"))?;
    let mut pending = client
        .subscribe(subject::pending(&project, &agent, &cmd))
        .await
        .map_err(|e| format!("subscribe: {e}"))?;
    let js = async_nats::jetstream::new(client.clone());
    // A call no message can carry fails here: the caller decides it locally on the
    // whole input and records it reduced (see `local_record`).
    let payload = encode(command).map_err(|e| e.to_string())?;
    // The root of the command's trace, sampled or not: validators, experts and the
    // aggregator continue it (only a header here; the hook links no tracing exporter).
    let mut headers = async_nats::HeaderMap::new();
    headers.insert(
        lighthouse_nats::trace::TRACEPARENT,
        lighthouse_nats::trace::fresh_traceparent(trace_ratio).as_str(),
    );
    // The publish shares the fast-path budget: a server that takes the connection and
    // drops the publish costs the agent no more than a silent pipeline.
    let publish = publish_once_with(
        &js,
        subject::command(&project, &agent),
        &command.env.id,
        payload.into(),
        false,
        headers,
    );
    let published = tokio::time::timeout_at(waits.fast.into(), publish)
        .await
        .map_err(|_| "the command was not stored before the hook's deadline".to_owned())?
        .map_err(|e| e.to_string())?;
    let retried = matches!(published, Published::Duplicate(_));
    if retried {
        // A retry of a command already seen: its decision may already be on record.
        let recorded =
            tokio::time::timeout_at(waits.fast.into(), recorded_decision(&js, &decision_subject));
        if let Ok(Some(decision)) = recorded.await {
            return Ok(decision);
        }
    }
    // The fast path answers within `waits.fast`. Past it, the wait goes on only for a
    // call that is with experts: the validator said so. A fresh call with neither a
    // decision nor that notice by then has no live validator (or one too slow to
    // count on): it is answered now, not after the experts' window. A retry of a call
    // still with experts gets no new notice, so the local policy stands in for it
    // (loaded only here, off the fast path).
    let mut until = waits.fast;
    let mut asked_locally = false;
    // Set when a decision was heard as published but its stored copy has not come yet.
    let mut read_back_at: Option<std::time::Instant> = None;
    loop {
        let read_back = read_back_at.unwrap_or(until);
        tokio::select! {
            // The stream republishes what it stored, so this is the recorded decision.
            message = recorded.next() => {
                let message = message.ok_or("subscription closed before the decision arrived")?;
                return decode(&message.payload).map_err(|e| e.to_string());
            }
            message = decisions.next() => {
                message.ok_or("subscription closed before the decision arrived")?;
                read_back_at.get_or_insert_with(|| std::time::Instant::now() + RECORDED_GRACE);
            }
            // No stored copy after the grace: a stream without `republish` (not yet
            // re-applied), or a decision it refused (full, or a second one for the
            // command). Read back what it holds.
            _ = tokio::time::sleep_until(read_back.into()), if read_back_at.is_some() => {
                read_back_at = None;
                if let Some(stored) = stored_decision(&js, &decision_subject, until).await {
                    return Ok(stored);
                }
                tracing::debug!(cmd_id = %command.env.id, "decision_not_stored");
            }
            Some(notice) = pending.next() => {
                until = experts_until(&notice.payload, waits);
                with_experts(until);
            }
            _ = tokio::time::sleep_until(until.into()) => {
                if retried && until == waits.fast && !asked_locally {
                    asked_locally = true;
                    if crate::local::decide_locally(command).verdict == Verdict::Escalate {
                        until = waits.experts;
                        with_experts(until);
                        continue;
                    }
                }
                return Err("no decision before the hook's deadline".to_owned());
            }
        }
    }
}

/// How long a decision heard as published may take to come back as stored before the
/// hook reads it back: the server republishes it right after storing it.
const RECORDED_GRACE: Duration = Duration::from_millis(2);

/// How long past its deadline an escalation's decision may take to arrive (the
/// aggregator's timer, then its publish).
const DEADLINE_GRACE: Duration = Duration::from_secs(2);

/// Until when to wait for experts, from the validator's notice (the escalation): its
/// deadline plus [`DEADLINE_GRACE`], never past `waits.experts`.
fn experts_until(notice: &[u8], waits: Waits) -> std::time::Instant {
    let Ok(escalation) = decode::<lighthouse_schemas::Escalation>(notice) else {
        return waits.experts;
    };
    let left = Duration::from_micros(escalation.deadline_us.saturating_sub(now_us()));
    waits
        .experts
        .min(std::time::Instant::now() + left + DEADLINE_GRACE)
}

/// The decision stored on `subject`, read back until `until`: the stream stores a
/// message just after its subscribers see it, so a first miss is retried soon (the
/// store lags by tens of microseconds, not milliseconds), then less and less often.
async fn stored_decision(
    js: &async_nats::jetstream::Context,
    subject: &str,
    until: std::time::Instant,
) -> Option<Decision> {
    let mut pause = Duration::from_micros(200);
    loop {
        let read = tokio::time::timeout_at(until.into(), recorded_decision(js, subject));
        match read.await {
            Ok(Some(decision)) => return Some(decision),
            Ok(None) if std::time::Instant::now() + pause < until => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            _ => return None,
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

impl Waits {
    /// The waits of a call that started at `started`, in milliseconds after it.
    pub fn after(started: std::time::Instant, fast_ms: u64, experts_ms: u64) -> Waits {
        Waits {
            fast: started + Duration::from_millis(fast_ms),
            experts: started + Duration::from_millis(experts_ms),
        }
    }

    /// The later of the two: no wait goes past it.
    pub fn last(&self) -> std::time::Instant {
        self.fast.max(self.experts)
    }
}
