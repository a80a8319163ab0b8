//! Tracing for a Lighthouse process: logs (text or JSON) filtered by `LIGHTHOUSE_LOG`,
//! and, when an OTLP endpoint is configured, spans exported over OTLP/HTTP with their
//! context carried in NATS headers (W3C `traceparent`).
//!
//! Each consumed message gets one span, named after its stage (`validate`, `vote`,
//! `escalation`, `annotate`), child of the context its headers carry, with the subject,
//! stream sequence, command id and trace id as fields; everything published inside it
//! carries its context on. So a command's trace reads hook → validate → (escalation →
//! expert vote → vote) → decision.

use async_nats::HeaderMap;
use lighthouse_nats::trace::{TRACEPARENT, fresh_traceparent, is_sampled, trace_id_of};
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use std::sync::OnceLock;
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogFormat {
    #[default]
    Text,
    /// One JSON object per line, with the current span's fields (trace id, subject, …).
    Json,
}

impl std::str::FromStr for LogFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "" | "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            other => Err(format!("log format {other:?}: expected text or json")),
        }
    }
}

/// What [`init`] sets up.
#[derive(Debug, Clone)]
pub struct TraceConfig {
    /// `service.name` of exported spans (`lighthouse-validator`, …).
    pub service: String,
    pub log_format: LogFormat,
    /// OTLP/HTTP traces endpoint (`http://collector:4318/v1/traces`); empty: no export.
    pub otlp_endpoint: String,
    /// Send OTLP as JSON (`http/json`) instead of protobuf (`http/protobuf`).
    pub otlp_json: bool,
    /// Filter used when `LIGHTHOUSE_LOG` is unset.
    pub default_filter: String,
    /// Share of traces started here that are sampled; a trace begun elsewhere (the
    /// hook's `traceparent`) keeps the sampling decision its root made.
    pub sample_ratio: f64,
}

/// Flushes and stops the exporter when dropped (at the end of main).
#[derive(Debug, Default)]
pub struct TraceGuard {
    provider: Option<SdkTracerProvider>,
}

impl Drop for TraceGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take() {
            let _ = provider.shutdown();
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    #[error("OTLP exporter for {endpoint}: {source}")]
    Exporter {
        endpoint: String,
        source: opentelemetry_otlp::ExporterBuildError,
    },
    #[error("a global tracing subscriber is already set")]
    AlreadySet,
}

/// Installs the global subscriber (call once, in main). Logs go to stderr.
pub fn init(config: &TraceConfig) -> Result<TraceGuard, TraceError> {
    let filter = || {
        EnvFilter::try_from_env("LIGHTHOUSE_LOG").unwrap_or_else(|_| {
            EnvFilter::new(if config.default_filter.is_empty() {
                "info"
            } else {
                &config.default_filter
            })
        })
    };
    let fmt = match config.log_format {
        // Colour only on a terminal: redirected logs (files, journald, CI) stay plain.
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .with_writer(std::io::stderr)
            .boxed(),
    };
    let endpoint = config.otlp_endpoint.trim();
    if endpoint.is_empty() {
        return tracing_subscriber::registry()
            .with(fmt.with_filter(filter()))
            .try_init()
            .map(|()| TraceGuard::default())
            .map_err(|_| TraceError::AlreadySet);
    }
    use opentelemetry_otlp::WithExportConfig as _;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(if config.otlp_json {
            opentelemetry_otlp::Protocol::HttpJson
        } else {
            opentelemetry_otlp::Protocol::HttpBinary
        })
        .with_endpoint(endpoint)
        .build()
        .map_err(|source| TraceError::Exporter {
            endpoint: endpoint.to_owned(),
            source,
        })?;
    use opentelemetry_sdk::trace::Sampler;
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
            config.sample_ratio,
        ))))
        .with_resource(
            opentelemetry_sdk::Resource::builder()
                .with_service_name(config.service.clone())
                .build(),
        )
        .build();
    let tracer = provider.tracer("lighthouse");
    // Spans are exported whatever the log filter says; lighthouse spans are few (one
    // per message and stage) and the filter keeps libraries' spans out.
    let otel = tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_filter(EnvFilter::new(format!(
            "lighthouse=info,{UNSAMPLED}=off,warn"
        )));
    tracing_subscriber::registry()
        .with(fmt.with_filter(filter()))
        .with(otel)
        .try_init()
        .map_err(|_| TraceError::AlreadySet)?;
    let _ = SAMPLE_RATIO.set(config.sample_ratio);
    lighthouse_nats::trace::install(message_span, inject);
    Ok(TraceGuard {
        provider: Some(provider),
    })
}

/// The stage a subject belongs to: the span's name.
pub fn stage_of(subject: &str) -> &'static str {
    let mut tokens = subject.split('.');
    match (tokens.next(), tokens.next()) {
        (Some("lh"), Some("cmd")) => "validate",
        (Some("lh"), Some("esc")) => "escalation",
        (Some("lh"), Some("vote")) => "vote",
        (Some("lh"), Some("fs")) => "annotate",
        (Some("lh"), Some("decision")) => "decision",
        _ => "message",
    }
}

/// `tracing.sample_ratio`, for traces that start at a consumed message.
static SAMPLE_RATIO: OnceLock<f64> = OnceLock::new();

/// Target of the spans of unsampled messages: logged like the others, never exported
/// (the OpenTelemetry layer's filter turns it off, so they cost what spans cost with
/// tracing off).
const UNSAMPLED: &str = "lighthouse::unsampled";

/// The span of one consumed message, child of the context in its headers. A message
/// without one starts a trace, sampled by `tracing.sample_ratio` as the hook samples;
/// an unsampled trace gets a plain span and its context is passed on as it came.
fn message_span(
    message: &async_nats::Message,
    stream_sequence: u64,
    delivered: i64,
) -> (Span, Option<String>) {
    let incoming = message
        .headers
        .as_ref()
        .and_then(|h| h.get(TRACEPARENT))
        .map(|v| v.as_str())
        .filter(|tp| trace_id_of(tp).is_some());
    let context = match incoming {
        Some(tp) => tp.to_owned(),
        None => fresh_traceparent(SAMPLE_RATIO.get().copied().unwrap_or(1.0)),
    };
    if !is_sampled(&context) {
        let span = tracing::info_span!(
            target: UNSAMPLED,
            "message",
            subject = %message.subject,
            stream_sequence,
            delivered,
            cmd_id = tracing::field::Empty,
            trace_id = trace_id_of(&context).unwrap_or_default(),
        );
        return (span, Some(context));
    }
    let span = tracing::info_span!(
        target: "lighthouse",
        "message",
        otel.name = stage_of(message.subject.as_str()),
        otel.kind = "consumer",
        subject = %message.subject,
        stream_sequence,
        delivered,
        cmd_id = tracing::field::Empty,
        trace_id = tracing::field::Empty,
    );
    let mut headers = HeaderMap::new();
    headers.insert(TRACEPARENT, context.as_str());
    let parent = TraceContextPropagator::new().extract(&Headers(&headers));
    if parent.span().span_context().is_valid() {
        let _ = span.set_parent(parent);
    }
    span.record("trace_id", trace_id_of(&context).unwrap_or_default());
    (span, None)
}

/// Writes the current span's context as `traceparent`.
fn inject(headers: &mut HeaderMap) {
    let context = Span::current().context();
    if context.span().span_context().is_valid() {
        TraceContextPropagator::new().inject_context(&context, &mut HeadersMut(headers));
    }
}

/// Opens a span for a stage that is not a consumed message (the expert's vote), child
/// of `traceparent` when one is given.
pub fn stage_span(stage: &'static str, traceparent: Option<&str>) -> Span {
    let span = tracing::info_span!(target: "lighthouse", "stage", otel.name = stage, cmd_id = tracing::field::Empty);
    if let Some(traceparent) = traceparent {
        let mut headers = HeaderMap::new();
        headers.insert(TRACEPARENT, traceparent);
        let parent = TraceContextPropagator::new().extract(&Headers(&headers));
        if parent.span().span_context().is_valid() {
            let _ = span.set_parent(parent);
        }
    }
    span
}

/// The current span's context as a `traceparent` value, when tracing is on.
pub fn current_traceparent() -> Option<String> {
    let mut headers = HeaderMap::new();
    inject(&mut headers);
    headers.get(TRACEPARENT).map(|v| v.as_str().to_owned())
}

struct Headers<'a>(&'a HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(|v| v.as_str())
    }
    fn keys(&self) -> Vec<&str> {
        self.0.iter().map(|(k, _)| k.as_ref()).collect()
    }
}

struct HeadersMut<'a>(&'a mut HeaderMap);

impl Injector for HeadersMut<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0.insert(key, value.as_str());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_follow_the_subject_contract() {
        assert_eq!(stage_of("lh.cmd.p.a.0"), "validate");
        assert_eq!(stage_of("lh.esc.p.security"), "escalation");
        assert_eq!(stage_of("lh.vote.c1.alice"), "vote");
        assert_eq!(stage_of("lh.fs.p.f"), "annotate");
        assert_eq!(stage_of("other"), "message");
    }

    #[test]
    fn log_formats_parse() {
        assert_eq!("json".parse::<LogFormat>(), Ok(LogFormat::Json));
        assert_eq!("".parse::<LogFormat>(), Ok(LogFormat::Text));
        assert!("yaml".parse::<LogFormat>().is_err());
    }
}
