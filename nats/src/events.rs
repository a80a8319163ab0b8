//! Connection events every Lighthouse process handles the same way.
//!
//! The server refuses a publish the connection's permissions forbid by dropping it and
//! sending `-ERR 'Permissions Violation for Publish to "<subject>"'` on the side; the
//! publish itself only times out. [`on_event`] remembers recent violations so
//! the publish module can report such a timeout as permanent (`permission_denied`)
//! rather than retry it forever as if the server were slow.

use async_nats::{Event, ServerError};
use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Instant;
use tracing::{debug, warn};

/// Violations remembered (the newest win): enough for every subject a worker
/// publishes on, small enough to scan on each timed-out publish.
const REMEMBERED: usize = 64;

static DENIED: Mutex<VecDeque<(Instant, String)>> = Mutex::new(VecDeque::new());

/// The event callback of [`crate::connect`].
pub async fn on_event(event: Event) {
    match event {
        Event::ServerError(ServerError::Other(text)) => {
            if let Some(subject) = denied_publish_subject(&text) {
                record_denied(subject);
            }
            warn!(error = %text, "nats_server_error");
        }
        Event::ServerError(e) => warn!(error = %e, "nats_server_error"),
        Event::Disconnected => warn!("nats_disconnected"),
        Event::Connected => debug!("nats_connected"),
        Event::SlowConsumer(sid) => warn!(sid, "nats_slow_consumer"),
        other => debug!(event = %other, "nats_event"),
    }
}

/// The subject of a `Permissions Violation for Publish to "<subject>"` error.
pub fn denied_publish_subject(text: &str) -> Option<&str> {
    let lower = text.to_ascii_lowercase();
    let at = lower.find("permissions violation for publish to")?;
    let rest = &text[at..];
    let open = rest.find('"')?;
    let rest = &rest[open + 1..];
    let close = rest.find('"')?;
    Some(&rest[..close])
}

fn record_denied(subject: &str) {
    let Ok(mut denied) = DENIED.lock() else {
        return;
    };
    if denied.len() >= REMEMBERED {
        denied.pop_front();
    }
    denied.push_back((Instant::now(), subject.to_owned()));
}

/// Whether the server refused a publish on `subject` at or after `since`.
pub fn publish_denied_since(subject: &str, since: Instant) -> bool {
    DENIED.lock().is_ok_and(|denied| {
        denied
            .iter()
            .any(|(at, s)| *at >= since && s.as_str() == subject)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_violations_name_their_subject() {
        assert_eq!(
            denied_publish_subject("Permissions Violation for Publish to \"lh.decision.p.a.c\""),
            Some("lh.decision.p.a.c")
        );
        assert_eq!(denied_publish_subject("Authorization Violation"), None);
        let before = Instant::now();
        record_denied("lh.x");
        assert!(publish_denied_since("lh.x", before));
        assert!(!publish_denied_since("lh.y", before));
    }
}
