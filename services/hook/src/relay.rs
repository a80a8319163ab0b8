//! The hook relay: a long-lived process (run by `lighthouse up`) that keeps the agent's
//! NATS connection open, so a hook call asks the pipeline over a Unix socket instead of
//! connecting, authenticating and subscribing afresh for every tool call.
//!
//! The relay is a convenience, never a trust root. Its socket lives in the state dir,
//! where an agent that got around the policy could put its own listener, so the hook
//! believes only decisions signed by the identity allowed to make them (the validator
//! for policy decisions, the aggregator for experts' and deadlines') and bound to this
//! very payload. Anything else — no relay, a relay that is offline, slow, or answers
//! something unsigned — and the hook asks the pipeline itself or decides locally, as
//! without a relay.
//!
//! Wire format: one request and one reply per connection, each a 4-byte big-endian
//! length and a MessagePack body ([`Ask`], [`Reply`]).

use crate::ask::{Waits, ask_pipeline, late_approval_record};
use crate::binding::binds;
use lighthouse_schemas::{Command, Decision, Tier, Verdict};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};

/// The relay's socket in a state dir.
pub fn socket_path(state_dir: &Path) -> PathBuf {
    state_dir.join("hook.sock")
}

/// What the hook asks the relay: decide this command within these waits.
#[derive(Debug, Serialize, Deserialize)]
pub struct Ask {
    pub command: Command,
    /// How long the pipeline's own decision may take.
    pub fast_ms: u64,
    /// How long a call with experts may wait for their verdict.
    pub experts_ms: u64,
    pub sample_ratio: f64,
    /// Look for a late experts' approval of an unresolved escalation (clients that
    /// cannot ask retry a call once it is approved).
    pub late_approval: bool,
    /// A file the agent is about to change: return the experts' notes on it.
    pub notes_on: Option<PathBuf>,
}

/// The relay's answer: [`Reply::WithExperts`] first when the call waits for experts
/// (so the hook knows to wait that long), then one of the others.
#[derive(Debug, Serialize, Deserialize)]
pub enum Reply {
    /// The stored decision, and what else was asked for.
    Decided {
        decision: Box<Decision>,
        approval: Option<Box<Decision>>,
        notes: Option<String>,
    },
    /// The validator escalated the call: experts are asked, and the decision may take
    /// until the escalation's deadline (at most the experts' wait).
    WithExperts,
    /// The relay has no connection to the pipeline: ask it directly.
    Offline(String),
    /// The pipeline gave no decision in time (or refused the command).
    NoDecision(String),
}

/// Largest request the relay reads: the hook's input bound plus room for the envelope.
fn max_request(max_input_bytes: usize) -> usize {
    max_input_bytes.saturating_mul(2) + 64 * 1024
}

/// Largest reply the hook reads (a decision and notes, bounded by the notes' budget).
const MAX_REPLY: usize = 4 * 1024 * 1024;

/// Most calls the relay holds at once (each holds its request, up to the hook's input
/// bound); past it, hooks are told to ask the server themselves.
const MAX_IN_FLIGHT: usize = 256;

/// How long the relay waits for a connected hook to send its request.
const REQUEST_WAIT: Duration = Duration::from_secs(2);

async fn write_frame(stream: &mut UnixStream, body: &[u8]) -> std::io::Result<()> {
    let len = u32::try_from(body.len()).map_err(std::io::Error::other)?;
    let mut frame = Vec::with_capacity(4 + body.len());
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(body);
    stream.write_all(&frame).await
}

async fn read_frame(stream: &mut UnixStream, max: usize) -> std::io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    stream.read_exact(&mut len).await?;
    let len = u32::from_be_bytes(len) as usize;
    if len > max {
        return Err(std::io::Error::other(format!(
            "frame of {len} bytes, over {max}"
        )));
    }
    let mut body = vec![0u8; len];
    stream.read_exact(&mut body).await?;
    Ok(body)
}

/// Serves hooks on `socket` until `shutdown` resolves, asking the pipeline through
/// `nats` (the agent's connection). Replaces a stale socket file; removes it on the way
/// out.
pub async fn serve(
    socket: PathBuf,
    nats: async_nats::Client,
    max_input_bytes: usize,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::remove_file(&socket);
    let listener = UnixListener::bind(&socket)?;
    // Only the agent's user may ask (it holds the same credentials anyway).
    std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o600))?;
    tracing::info!(socket = %socket.display(), "hook_relay_listening");
    let in_flight = std::sync::Arc::new(tokio::sync::Semaphore::new(MAX_IN_FLIGHT));
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((mut stream, _)) => {
                    let nats = nats.clone();
                    let permit = in_flight.clone().try_acquire_owned();
                    tokio::spawn(async move {
                        let served = match permit {
                            Ok(_permit) => serve_one(stream, &nats, max_input_bytes).await,
                            // Full: the hook asks the server itself.
                            Err(_) => send(&mut stream, &Reply::Offline("the relay is full".into())).await,
                        };
                        if let Err(e) = served {
                            tracing::debug!(error = %e, "hook_relay_request_failed");
                        }
                    });
                }
                Err(e) => {
                    tracing::warn!(error = %e, "hook_relay_accept_failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
    let _ = std::fs::remove_file(&socket);
    Ok(())
}

async fn serve_one(
    mut stream: UnixStream,
    nats: &async_nats::Client,
    max_input_bytes: usize,
) -> std::io::Result<()> {
    let body = tokio::time::timeout(
        REQUEST_WAIT,
        read_frame(&mut stream, max_request(max_input_bytes)),
    )
    .await
    .map_err(|_| std::io::Error::other("no request in time"))??;
    let reply = match rmp_serde::from_slice::<Ask>(&body) {
        Ok(ask) => answer(nats, ask, &mut stream).await?,
        Err(e) => Reply::Offline(format!("unreadable request: {e}")),
    };
    send(&mut stream, &reply).await
}

async fn send(stream: &mut UnixStream, reply: &Reply) -> std::io::Result<()> {
    let body = rmp_serde::to_vec_named(reply).map_err(std::io::Error::other)?;
    write_frame(stream, &body).await
}

/// Asks the pipeline as the hook would, over the relay's open connection; tells the
/// hook on `stream` when the call goes to experts.
async fn answer(
    nats: &async_nats::Client,
    ask: Ask,
    stream: &mut UnixStream,
) -> std::io::Result<Reply> {
    if nats.connection_state() != async_nats::connection::State::Connected {
        return Ok(Reply::Offline(
            "the relay is not connected to NATS".to_owned(),
        ));
    }
    let started = Instant::now();
    let waits = Waits::after(started, ask.fast_ms, ask.experts_ms);
    let (experts_tx, mut experts_rx) = tokio::sync::mpsc::unbounded_channel();
    let asking = tokio::time::timeout_at(
        waits.last().into(),
        ask_pipeline(nats, &ask.command, waits, ask.sample_ratio, |_| {
            let _ = experts_tx.send(());
        }),
    );
    tokio::pin!(asking);
    let mut told = false;
    let asked = loop {
        tokio::select! {
            asked = &mut asking => break asked,
            Some(()) = experts_rx.recv(), if !told => {
                told = true;
                send(stream, &Reply::WithExperts).await?;
            }
        }
    };
    let decision = match asked {
        Ok(Ok(decision)) => decision,
        Ok(Err(why)) => return Ok(Reply::NoDecision(why)),
        Err(_) => {
            let why = "no decision before the hook's deadline".to_owned();
            return Ok(Reply::NoDecision(why));
        }
    };
    let approval = if ask.late_approval && decision.verdict == Verdict::Escalate {
        late_approval_record(nats, &ask.command).await
    } else {
        None
    };
    let notes = match (&ask.notes_on, decision.verdict) {
        (Some(path), v) if v != Verdict::Deny => {
            crate::notes::notes_on(nats, path, &ask.command.env.project).await
        }
        _ => None,
    };
    Ok(Reply::Decided {
        decision: Box::new(decision),
        approval: approval.map(Box::new),
        notes,
    })
}

/// Why the hook got no usable answer from the relay.
#[derive(Debug)]
pub enum Miss {
    /// No relay, or one that cannot help: ask the pipeline directly.
    Unavailable(String),
    /// The pipeline had no decision in time: decide locally.
    NoDecision(String),
}

/// What the hook takes from the relay: a decision it can trust, and what came with it.
#[derive(Debug)]
pub struct Relayed {
    pub decision: Decision,
    /// An experts' approval recorded after the decision (escalations only).
    pub approval: Option<Decision>,
    pub notes: Option<String>,
}

/// How long past a wait the hook gives the relay: its look-ups after the decision (a
/// late approval, the notes on a file) have budgets of their own.
const AFTER_WAIT: Duration = Duration::from_millis(700);

/// Asks the relay at `socket`: the decision by `waits.fast`, or by `waits.experts` once
/// the relay says experts were asked (plus [`AFTER_WAIT`]). Checks what comes back (see
/// the module docs: only decisions signed by their role's key in `keys`, bound to the
/// command).
pub async fn ask(
    socket: &Path,
    ask: &Ask,
    waits: Waits,
    keys: &BTreeMap<String, String>,
) -> Result<Relayed, Miss> {
    let unavailable = |e: &dyn std::fmt::Display| Miss::Unavailable(format!("hook relay: {e}"));
    let late = || Miss::NoDecision("the hook relay gave no decision in time".to_owned());
    let mut stream = tokio::time::timeout_at(waits.fast.into(), UnixStream::connect(socket))
        .await
        .map_err(|_| late())?
        .map_err(|e| unavailable(&e))?;
    let body = rmp_serde::to_vec_named(ask).map_err(|e| unavailable(&e))?;
    let sent = tokio::time::timeout_at(waits.fast.into(), write_frame(&mut stream, &body));
    sent.await
        .map_err(|_| late())?
        .map_err(|e| unavailable(&e))?;
    let mut until = waits.fast + AFTER_WAIT;
    let reply = loop {
        let body = tokio::time::timeout_at(until.into(), read_frame(&mut stream, MAX_REPLY))
            .await
            .map_err(|_| late())?
            .map_err(|e| unavailable(&e))?;
        match rmp_serde::from_slice::<Reply>(&body).map_err(|e| unavailable(&e))? {
            Reply::WithExperts => until = waits.last() + AFTER_WAIT,
            reply => break reply,
        }
    };
    match reply {
        Reply::Decided {
            decision,
            approval,
            notes,
        } => {
            let command = &ask.command;
            if !trusted(&decision, command, keys) {
                return Err(unavailable(
                    &"its decision is not signed by a pipeline identity",
                ));
            }
            let approval = approval
                .map(|a| *a)
                .filter(|a| is_late_approval(a, command) && trusted(a, command, keys));
            Ok(Relayed {
                decision: *decision,
                approval,
                notes,
            })
        }
        Reply::WithExperts => Err(late()),
        Reply::Offline(why) => Err(unavailable(&why)),
        Reply::NoDecision(why) => Err(Miss::NoDecision(why)),
    }
}

/// A decision the hook may act on: about this payload, made by the pipeline (never a
/// fallback record, which an agent's key can sign), and signed by the key of the role
/// that may make it.
fn trusted(decision: &Decision, command: &Command, keys: &BTreeMap<String, String>) -> bool {
    decision.tier != Tier::Fallback
        && decision.cmd_id == command.env.id
        && binds(decision, command)
        && lighthouse_nats::auth::signed_by_its_role(decision, keys)
}

/// An experts' Allow recorded for this command (a late approval is never anything else).
fn is_late_approval(approval: &Decision, command: &Command) -> bool {
    approval.verdict == Verdict::Allow
        && approval.tier == Tier::Expert
        && approval.env.project == command.env.project
        && approval.env.agent == command.env.agent
}

#[cfg(test)]
mod tests {
    use super::*;
    use lighthouse_schemas::Envelope;

    fn command() -> Command {
        Command {
            env: Envelope::new("c1", 1, "p", "a", "c1"),
            tool_name: "Bash".into(),
            tool_input: serde_json::json!({"command": "ls"}),
            cwd: "/tmp".into(),
            session_id: "s".into(),
            tool_use_id: Some("c1".into()),
            agent_kind: lighthouse_schemas::AgentKind::ClaudeCode,
            permission_mode: None,
        }
    }

    fn decision(command: &Command, tier: Tier, key: &nkeys::KeyPair) -> Decision {
        let mut d = lighthouse_validator::decide(
            &lighthouse_policy::Policy::builtin(),
            command,
            None,
            tier,
            "w",
            1,
        );
        lighthouse_nats::auth::sign_decision(&mut d, key).unwrap();
        d
    }

    fn keys(validator: &nkeys::KeyPair, agent: &nkeys::KeyPair) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("validator".to_owned(), validator.public_key()),
            ("agent".to_owned(), agent.public_key()),
        ])
    }

    #[test]
    fn only_the_pipelines_signed_decision_on_this_payload_is_trusted() {
        let (validator, agent) = (nkeys::KeyPair::new_user(), nkeys::KeyPair::new_user());
        let keys = keys(&validator, &agent);
        let c = command();
        assert!(trusted(&decision(&c, Tier::Policy, &validator), &c, &keys));
        // The agent's own key: a fallback record, or a policy tier it could forge.
        assert!(!trusted(&decision(&c, Tier::Fallback, &agent), &c, &keys));
        assert!(!trusted(&decision(&c, Tier::Policy, &agent), &c, &keys));
        // A validator's decision for another payload under the same id.
        let mut other = c.clone();
        other.tool_input = serde_json::json!({"command": "rm -rf ~/"});
        assert!(!trusted(
            &decision(&other, Tier::Policy, &validator),
            &c,
            &keys
        ));
        // Tampered after signing.
        let mut tampered = decision(&c, Tier::Policy, &validator);
        tampered.reason.push('!');
        assert!(!trusted(&tampered, &c, &keys));
        // No keys on record: nothing is trusted.
        let d = decision(&c, Tier::Policy, &validator);
        assert!(!trusted(&d, &c, &BTreeMap::new()));
    }
}
