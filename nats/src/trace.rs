//! Trace context in NATS headers (W3C `traceparent`), without any tracing exporter.
//!
//! The hook writes a fresh `traceparent` on the command it publishes ([`fresh_traceparent`]);
//! a process with tracing configured installs two functions here at start
//! ([`install`]): one that opens each consumed message's span as a child of the context
//! in its headers, and one that writes the current span's context into outgoing headers.
//! The consume loop and the publish module call them, so workers propagate context
//! without knowing about OpenTelemetry; without them the loop opens a plain span and
//! publishes carry no context.

use async_nats::HeaderMap;
use std::sync::OnceLock;
use tracing::Span;

/// The W3C trace-context header.
pub const TRACEPARENT: &str = "traceparent";

/// Opens the span of one consumed message — (message, stream sequence, delivery count)
/// — and says how its context goes on: `None` when the span carries it, or the
/// `traceparent` of a trace that is not sampled, passed on as it came ([`handling`]):
/// such a message costs no more than with tracing off, and later stages skip it too.
pub type MessageSpan = fn(&async_nats::Message, u64, i64) -> (Span, Option<String>);
/// Writes the current span's context into outgoing headers.
pub type Inject = fn(&mut HeaderMap);

static HOOKS: OnceLock<(MessageSpan, Inject)> = OnceLock::new();

tokio::task_local! {
    /// The unsampled context of the message being handled (see [`MessageSpan`]).
    static PASS_ON: Option<String>;
}

/// Installs the span and inject functions for this process (the first call wins).
pub fn install(span: MessageSpan, inject: Inject) -> bool {
    HOOKS.set((span, inject)).is_ok()
}

/// The span a consumed message is handled in: subject, stream sequence, delivery count,
/// and `cmd_id` (recorded by the handler once it has decoded the message).
pub fn message_span(
    message: &async_nats::Message,
    stream_sequence: u64,
    delivered: i64,
) -> (Span, Option<String>) {
    match HOOKS.get() {
        Some((span, _)) => span(message, stream_sequence, delivered),
        None => (
            tracing::info_span!(
                "message",
                subject = %message.subject,
                stream_sequence,
                delivered,
                cmd_id = tracing::field::Empty,
            ),
            None,
        ),
    }
}

/// Runs a message's handling with the context [`message_span`] said to pass on.
pub async fn handling<F: std::future::Future>(pass_on: Option<String>, handler: F) -> F::Output {
    PASS_ON.scope(pass_on, handler).await
}

/// Adds the current trace context to `headers` (nothing when tracing is off): an
/// unsampled message's own, else the current span's.
pub fn inject(headers: &mut HeaderMap) {
    if let Ok(Some(traceparent)) = PASS_ON.try_with(Option::clone) {
        headers.insert(TRACEPARENT, traceparent.as_str());
        return;
    }
    if let Some((_, inject)) = HOOKS.get() {
        inject(headers);
    }
}

/// Whether a well-formed `traceparent` says its trace is sampled (flag bit 0).
pub fn is_sampled(traceparent: &str) -> bool {
    trace_id_of(traceparent).is_some()
        && traceparent
            .rsplit('-')
            .next()
            .and_then(|flags| u8::from_str_radix(flags, 16).ok())
            .is_some_and(|flags| flags & 1 == 1)
}

/// Whether [`install`] was called (publishes then carry context).
pub fn installed() -> bool {
    HOOKS.get().is_some()
}

/// A new root context for a command: `00-<32 hex trace id>-<16 hex span id>-<flags>`,
/// sampled (flags `01`) for a `ratio` share of trace ids, by the rule OpenTelemetry's
/// `TraceIdRatioBased` sampler applies, so every stage agrees with the root.
pub fn fresh_traceparent(ratio: f64) -> String {
    // Every bit random (a UUID's fixed version and variant bits would skew the rule);
    // an all-zero id is invalid.
    let trace = rand::random::<u128>().max(1);
    let span = rand::random::<u64>().max(1);
    let flags = if sampled(trace, ratio) { "01" } else { "00" };
    format!("00-{trace:032x}-{span:016x}-{flags}")
}

/// Whether a trace id falls in the sampled `ratio` (its low 64 bits, shifted right
/// once, under `ratio × 2⁶³`: OpenTelemetry's rule).
fn sampled(trace_id: u128, ratio: f64) -> bool {
    let bound = (ratio.clamp(0.0, 1.0) * (1u64 << 63) as f64) as u64;
    ((trace_id as u64) >> 1) < bound
}

/// The trace id of a `traceparent` value, when it is well-formed.
pub fn trace_id_of(traceparent: &str) -> Option<&str> {
    let mut parts = traceparent.split('-');
    let (version, trace, span, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    (hex(version, 2) && hex(trace, 32) && hex(span, 16) && hex(flags, 2) && parts.next().is_none())
        .then_some(trace)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampling_follows_the_ratio() {
        let sampled = |ratio| {
            (0..2000)
                .filter(|_| fresh_traceparent(ratio).ends_with("-01"))
                .count()
        };
        assert_eq!(sampled(1.0), 2000);
        assert_eq!(sampled(0.0), 0);
        // 2000 draws at 10 %: 200 expected, far outside this band only by a defect.
        assert!((100..300).contains(&sampled(0.1)), "{}", sampled(0.1));
    }

    #[tokio::test]
    async fn an_unsampled_context_is_passed_on_as_it_came() {
        let unsampled = fresh_traceparent(0.0);
        let passed = handling(Some(unsampled.clone()), async {
            let mut headers = HeaderMap::new();
            inject(&mut headers);
            headers.get(TRACEPARENT).map(|v| v.as_str().to_owned())
        })
        .await;
        assert_eq!(passed, Some(unsampled));
        // Outside a handling scope (and with no tracing installed) nothing is added.
        let mut headers = HeaderMap::new();
        inject(&mut headers);
        assert!(headers.get(TRACEPARENT).is_none());
    }

    #[test]
    fn fresh_contexts_are_valid_and_distinct() {
        let (a, b) = (fresh_traceparent(1.0), fresh_traceparent(1.0));
        assert_ne!(a, b);
        assert_eq!(trace_id_of(&a).map(str::len), Some(32));
        assert!(a.starts_with("00-") && a.ends_with("-01"));
        assert_eq!(trace_id_of("00-abc-def-01"), None);
        assert!(is_sampled(&a) && !is_sampled(&fresh_traceparent(0.0)));
        assert!(!is_sampled("00-abc-def-01"));
        assert_eq!(trace_id_of("nonsense"), None);
    }
}
