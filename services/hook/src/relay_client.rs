//! The hook's side of the relay ([`crate::relay`]): one request, one or two replies,
//! in plain blocking I/O bounded by the call's deadlines. No async runtime is built
//! for a call the relay answers: the hook runs once per tool call, and the runtime,
//! its driver and its code pages were a measurable share of that call.

use crate::ask::Waits;
use crate::binding::{is_late_approval, trusted};
use crate::relay::{Ask, MAX_REPLY, Outgoing, Record, Reply, body_len, frame};
use lighthouse_schemas::Decision;
use socket2::{Domain, SockAddr, Socket, Type};
use std::collections::BTreeMap;
use std::io::{ErrorKind, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

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

/// A request sent to the relay, its reply not read yet: the hook does its own chores
/// (the shell marker, the keys to check the reply) while the pipeline decides.
pub struct Sent<'a> {
    stream: UnixStream,
    ask: &'a Ask,
    waits: Waits,
}

fn unavailable(e: &dyn std::fmt::Display) -> Miss {
    Miss::Unavailable(format!("hook relay: {e}"))
}

fn late() -> Miss {
    Miss::NoDecision("the hook relay gave no decision in time".to_owned())
}

fn fail(e: std::io::Error) -> Miss {
    match e.kind() {
        ErrorKind::TimedOut => late(),
        _ => unavailable(&e),
    }
}

/// Sends `ask` to the relay at `socket`, within `waits.fast`.
pub fn send<'a>(socket: &Path, ask: &'a Ask, waits: Waits) -> Result<Sent<'a>, Miss> {
    let mut stream = connect(socket, waits.fast).map_err(fail)?;
    let body = rmp_serde::to_vec_named(&Outgoing::Decide(ask)).map_err(|e| unavailable(&e))?;
    write_frame(&mut stream, &body, waits.fast).map_err(fail)?;
    Ok(Sent { stream, ask, waits })
}

/// Asks the relay to publish the spooled file versions and fetch the notes `record`
/// names, by `until`; returns the notes.
pub fn record(socket: &Path, record: &Record, until: Instant) -> Result<Option<String>, Miss> {
    let mut stream = connect(socket, until).map_err(fail)?;
    let body = rmp_serde::to_vec_named(&Outgoing::Record(record)).map_err(|e| unavailable(&e))?;
    write_frame(&mut stream, &body, until).map_err(fail)?;
    let body = read_frame(&mut stream, MAX_REPLY, until).map_err(fail)?;
    match rmp_serde::from_slice::<Reply>(&body).map_err(|e| unavailable(&e))? {
        Reply::Recorded { notes } => Ok(notes),
        Reply::Offline(why) => Err(unavailable(&why)),
        other => Err(unavailable(&format!("unexpected reply {other:?}"))),
    }
}

impl Sent<'_> {
    /// The relay's answer: the decision by `waits.fast`, or by `waits.experts` once the
    /// relay says experts were asked (plus [`AFTER_WAIT`]). Checks what comes back (see
    /// [`crate::relay`]: only decisions signed by their role's key in `keys`, bound to
    /// the command).
    pub fn answer(mut self, keys: &BTreeMap<String, String>) -> Result<Relayed, Miss> {
        let mut until = self.waits.fast + AFTER_WAIT;
        let reply = loop {
            let body = read_frame(&mut self.stream, MAX_REPLY, until).map_err(fail)?;
            match rmp_serde::from_slice::<Reply>(&body).map_err(|e| unavailable(&e))? {
                Reply::WithExperts => until = self.waits.last() + AFTER_WAIT,
                reply => break reply,
            }
        };
        match reply {
            Reply::Decided {
                decision,
                approval,
                notes,
            } => {
                let command = &self.ask.command;
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
            Reply::Recorded { .. } => Err(unavailable(&"a reply to another request")),
        }
    }
}

fn timed_out() -> std::io::Error {
    std::io::Error::new(ErrorKind::TimedOut, "deadline passed")
}

/// The time left until `until`, or a timeout error once it has passed.
fn left(until: Instant) -> std::io::Result<Duration> {
    let left = until.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(timed_out());
    }
    Ok(left)
}

/// Connects within the deadline. A listener that never accepts fills its backlog:
/// the connect then fails at once (non-blocking) instead of holding the hook.
fn connect(socket: &Path, until: Instant) -> std::io::Result<UnixStream> {
    let address = SockAddr::unix(socket)?;
    let raw = Socket::new(Domain::UNIX, Type::STREAM, None)?;
    raw.connect_timeout(&address, left(until)?)?;
    raw.set_nonblocking(false)?;
    Ok(raw.into())
}

fn write_frame(stream: &mut UnixStream, body: &[u8], until: Instant) -> std::io::Result<()> {
    let frame = frame(body)?;
    let mut sent = 0;
    while sent < frame.len() {
        stream.set_write_timeout(Some(left(until)?))?;
        match stream.write(&frame[sent..]) {
            Ok(0) => return Err(ErrorKind::WriteZero.into()),
            Ok(n) => sent += n,
            Err(e) => retry_or_fail(e)?,
        }
    }
    Ok(())
}

fn read_frame(stream: &mut UnixStream, max: usize, until: Instant) -> std::io::Result<Vec<u8>> {
    let mut header = [0u8; 4];
    read_exact(stream, &mut header, until)?;
    let mut body = vec![0u8; body_len(header, max)?];
    read_exact(stream, &mut body, until)?;
    Ok(body)
}

/// `read_exact`, each read bounded by the time left until `until`.
fn read_exact(stream: &mut UnixStream, buf: &mut [u8], until: Instant) -> std::io::Result<()> {
    let mut got = 0;
    while got < buf.len() {
        stream.set_read_timeout(Some(left(until)?))?;
        match stream.read(&mut buf[got..]) {
            Ok(0) => return Err(ErrorKind::UnexpectedEof.into()),
            Ok(n) => got += n,
            Err(e) => retry_or_fail(e)?,
        }
    }
    Ok(())
}

/// A socket timeout (reported as `WouldBlock` on Linux) is the deadline passing; an
/// interrupted call is retried; anything else is the relay failing.
fn retry_or_fail(e: std::io::Error) -> std::io::Result<()> {
    match e.kind() {
        ErrorKind::Interrupted => Ok(()),
        ErrorKind::WouldBlock | ErrorKind::TimedOut => Err(timed_out()),
        _ => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::binding::tests::command;

    /// Asks the relay at `socket` for [`command`], both waits 50 ms, no keys on record.
    fn ask_with_50ms(socket: &Path) -> Result<Relayed, Miss> {
        let ask = Ask {
            command: command(),
            fast_ms: 50,
            experts_ms: 50,
            sample_ratio: 0.0,
            late_approval: false,
            notes_on: None,
        };
        send(socket, &ask, Waits::after(Instant::now(), 50, 50))?.answer(&BTreeMap::new())
    }

    #[test]
    fn a_listener_that_never_answers_costs_only_the_wait() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("hook.sock");
        // Accepts (the kernel does) and never replies.
        let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
        let started = Instant::now();
        let miss = ask_with_50ms(&socket).unwrap_err();
        assert!(matches!(miss, Miss::NoDecision(_)), "{miss:?}");
        // The fast wait (50 ms) plus the relay's grace, not more.
        assert!(started.elapsed() < Duration::from_millis(50) + AFTER_WAIT + AFTER_WAIT);
    }

    #[test]
    fn no_listener_sends_the_hook_to_the_server() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("hook.sock");
        std::fs::write(&socket, b"not a socket").unwrap();
        let miss = ask_with_50ms(&socket).unwrap_err();
        assert!(matches!(miss, Miss::Unavailable(_)), "{miss:?}");
    }
}
