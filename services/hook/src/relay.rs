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
//! After a tool ran, the hook spools the file versions it found and asks the relay to
//! publish the spool and fetch the experts' notes on a file the model read
//! ([`Record`]): the same open connection, so the call after the tool is as quick.
//!
//! Wire format: one request and one reply per connection, each a 4-byte big-endian
//! length and a MessagePack body ([`Request`], [`Reply`]). The hook's side is
//! `relay_client`.

use crate::ask::{Waits, ask_pipeline, late_approval_record};
use crate::files::FileSpool;
use lighthouse_schemas::{Command, Decision, Verdict};
use serde::{Deserialize, Serialize};
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

/// After a tool ran: publish the versions the hook spooled, and the notes on a file.
#[derive(Debug, Serialize, Deserialize)]
pub struct Record {
    /// The hook spooled file versions: publish the spool, within `flush_ms`.
    pub flush: bool,
    pub flush_ms: u64,
    /// A file the model read (absolute), and its project: return the notes on it.
    pub notes_on: Option<PathBuf>,
    pub project: String,
}

/// What a hook asks the relay.
#[derive(Debug, Deserialize)]
pub enum Request {
    Decide(Box<Ask>),
    Record(Record),
}

/// [`Request`] as the hook writes it, borrowing what it sends (the same wire form).
#[derive(Debug, Serialize)]
pub(crate) enum Outgoing<'a> {
    Decide(&'a Ask),
    Record(&'a Record),
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
    /// A [`Record`] done: the spool published as far as it went (the rest waits in
    /// it), and the notes on the file read.
    Recorded { notes: Option<String> },
}

/// Largest request the relay reads: the hook's input bound plus room for the envelope.
fn max_request(max_input_bytes: usize) -> usize {
    max_input_bytes.saturating_mul(2) + 64 * 1024
}

/// Largest reply the hook reads (a decision and notes, bounded by the notes' budget).
pub(crate) const MAX_REPLY: usize = 4 * 1024 * 1024;

/// Most calls the relay holds at once (each holds its request, up to the hook's input
/// bound); past it, hooks are told to ask the server themselves.
const MAX_IN_FLIGHT: usize = 256;

/// How long the relay waits for a connected hook to send its request.
const REQUEST_WAIT: Duration = Duration::from_secs(2);

/// `body` behind its length, as one frame (shared with the hook's side).
pub(crate) fn frame(body: &[u8]) -> std::io::Result<Vec<u8>> {
    let len = u32::try_from(body.len()).map_err(std::io::Error::other)?;
    let mut frame = Vec::with_capacity(4 + body.len());
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(body);
    Ok(frame)
}

/// The body length a frame's header announces, refused past `max`.
pub(crate) fn body_len(header: [u8; 4], max: usize) -> std::io::Result<usize> {
    let len = u32::from_be_bytes(header) as usize;
    if len > max {
        return Err(std::io::Error::other(format!(
            "frame of {len} bytes, over {max}"
        )));
    }
    Ok(len)
}

async fn write_frame(stream: &mut UnixStream, body: &[u8]) -> std::io::Result<()> {
    stream.write_all(&frame(body)?).await
}

async fn read_frame(stream: &mut UnixStream, max: usize) -> std::io::Result<Vec<u8>> {
    let mut header = [0u8; 4];
    stream.read_exact(&mut header).await?;
    let mut body = vec![0u8; body_len(header, max)?];
    stream.read_exact(&mut body).await?;
    Ok(body)
}

/// Serves hooks on `socket` until `shutdown` resolves, asking the pipeline through
/// `nats` (the agent's connection) and publishing the file versions hooks leave in
/// `spool`. Replaces a stale socket file; removes it on the way out.
pub async fn serve(
    socket: PathBuf,
    nats: async_nats::Client,
    spool: FileSpool,
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
    // One flush of the spool at a time: two would publish the same entries twice.
    let spool = std::sync::Arc::new(tokio::sync::Mutex::new(spool));
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((mut stream, _)) => {
                    let (nats, spool) = (nats.clone(), spool.clone());
                    let permit = in_flight.clone().try_acquire_owned();
                    tokio::spawn(async move {
                        let served = match permit {
                            Ok(_permit) => serve_one(stream, &nats, &spool, max_input_bytes).await,
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
    spool: &tokio::sync::Mutex<FileSpool>,
    max_input_bytes: usize,
) -> std::io::Result<()> {
    let body = tokio::time::timeout(
        REQUEST_WAIT,
        read_frame(&mut stream, max_request(max_input_bytes)),
    )
    .await
    .map_err(|_| std::io::Error::other("no request in time"))??;
    let reply = match rmp_serde::from_slice::<Request>(&body) {
        Ok(Request::Decide(ask)) => answer(nats, *ask, &mut stream).await?,
        Ok(Request::Record(record)) => self::record(nats, spool, record).await,
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

/// Publishes what hooks spooled (one flush at a time, within the hook's budget; what
/// does not go now stays spooled for the next), then looks up the notes asked for.
async fn record(
    nats: &async_nats::Client,
    spool: &tokio::sync::Mutex<FileSpool>,
    record: Record,
) -> Reply {
    if nats.connection_state() != async_nats::connection::State::Connected {
        return Reply::Offline("the relay is not connected to NATS".to_owned());
    }
    if record.flush {
        let js = async_nats::jetstream::new(nats.clone());
        let flushed = tokio::time::timeout(Duration::from_millis(record.flush_ms), async {
            spool.lock().await.flush(&js).await
        });
        if flushed.await.is_err() {
            tracing::warn!(budget_ms = record.flush_ms, "hook_relay_flush_unfinished");
        }
    }
    let notes = match &record.notes_on {
        Some(path) => crate::notes::notes_on(nats, path, &record.project).await,
        None => None,
    };
    Reply::Recorded { notes }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lighthouse_schemas::Envelope;

    /// What the hook writes is what the relay reads, for both kinds of request.
    #[test]
    fn outgoing_requests_read_back_as_requests() {
        let ask = Ask {
            command: Command {
                env: Envelope::new("c1", 1, "p", "a", "c1"),
                tool_name: "Bash".into(),
                tool_input: serde_json::json!({"command": "ls"}),
                cwd: "/p".into(),
                session_id: "s".into(),
                tool_use_id: Some("c1".into()),
                agent_kind: lighthouse_schemas::AgentKind::ClaudeCode,
                permission_mode: None,
                git_branch: None,
            },
            fast_ms: 100,
            experts_ms: 200,
            sample_ratio: 0.5,
            late_approval: true,
            notes_on: Some("/p/a.rs".into()),
        };
        let body = rmp_serde::to_vec_named(&Outgoing::Decide(&ask)).unwrap();
        match rmp_serde::from_slice::<Request>(&body).unwrap() {
            Request::Decide(read) => {
                assert_eq!(read.command.env.id, "c1");
                assert_eq!((read.fast_ms, read.experts_ms), (100, 200));
                assert_eq!(read.notes_on, ask.notes_on);
            }
            other => panic!("{other:?}"),
        }
        let record = Record {
            flush: true,
            flush_ms: 300,
            notes_on: Some("/p/b.rs".into()),
            project: "p".into(),
        };
        let body = rmp_serde::to_vec_named(&Outgoing::Record(&record)).unwrap();
        match rmp_serde::from_slice::<Request>(&body).unwrap() {
            Request::Record(read) => {
                assert!(read.flush);
                assert_eq!(read.flush_ms, 300);
                assert_eq!(read.notes_on, record.notes_on);
                assert_eq!(read.project, "p");
            }
            other => panic!("{other:?}"),
        }
        // A bare `Ask` (an older hook) is not a request: the relay answers Offline.
        let bare = rmp_serde::to_vec_named(&ask).unwrap();
        assert!(rmp_serde::from_slice::<Request>(&bare).is_err());
    }
}
