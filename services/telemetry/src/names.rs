//! Every metric Lighthouse exports: name, kind, labels and help text, in one table.
//!
//! Alert rules (`deploy/prometheus/alerts.yml`) and the Grafana board
//! (`deploy/grafana/lighthouse.json`) may only use names from this table (or the
//! exporters' own: `process_*`, `up`, `gnatsd_*`); a test checks that, and the scrape
//! test checks a running `lighthouse up` serves them.

/// What kind of series a metric is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// One exported metric.
#[derive(Debug, Clone, Copy)]
pub struct Metric {
    pub name: &'static str,
    pub kind: Kind,
    pub labels: &'static [&'static str],
    pub help: &'static str,
}

pub const DECISIONS: &str = "lighthouse_decisions_total";
pub const RULE_DECISIONS: &str = "lighthouse_rule_decisions_total";
pub const DECISION_LATENCY: &str = "lighthouse_decision_latency_seconds";
pub const ESCALATIONS: &str = "lighthouse_escalations_total";
pub const EXPERT_RESPONSE: &str = "lighthouse_expert_response_seconds";
pub const FALLBACK_DECISIONS: &str = "lighthouse_fallback_decisions_total";
pub const DEAD_LETTERS: &str = "lighthouse_dead_letters_total";
pub const MESSAGES: &str = "lighthouse_messages_total";
pub const CONSUMER_PENDING: &str = "lighthouse_consumer_pending";
pub const CONSUMER_ACK_PENDING: &str = "lighthouse_consumer_ack_pending";
pub const PROJECTOR_LAG: &str = "lighthouse_projector_lag_seconds";
pub const POLICY_INFO: &str = "lighthouse_policy_info";
pub const WORKERS_PRESENT: &str = "lighthouse_workers_present";
pub const STREAM_MESSAGES: &str = "lighthouse_stream_messages";
pub const STREAM_BYTES: &str = "lighthouse_stream_bytes";
pub const STREAM_MAX_MESSAGES: &str = "lighthouse_stream_max_messages";
pub const STREAM_MAX_BYTES: &str = "lighthouse_stream_max_bytes";
pub const JETSTREAM_STORAGE: &str = "lighthouse_jetstream_storage_bytes";
pub const JETSTREAM_STORAGE_LIMIT: &str = "lighthouse_jetstream_storage_limit_bytes";
pub const MEMORY_LIMIT: &str = "lighthouse_memory_limit_bytes";
pub const READY: &str = "lighthouse_ready";
pub const PROCESS_RESIDENT_MEMORY: &str = "process_resident_memory_bytes";

/// The table. Process metrics (`process_*`) come from `metrics-process`.
pub const METRICS: &[Metric] = &[
    Metric {
        name: DECISIONS,
        kind: Kind::Counter,
        labels: &["verdict", "tier"],
        help: "Decisions recorded on LH_DECISION by this process (first on their subject).",
    },
    Metric {
        name: RULE_DECISIONS,
        kind: Kind::Counter,
        labels: &["rule", "verdict"],
        help: "Decisions recorded, by the policy rule that decided (`none` when no rule did).",
    },
    Metric {
        name: DECISION_LATENCY,
        kind: Kind::Histogram,
        labels: &["tier"],
        help: "Time from a command's creation by the hook to its recorded decision.",
    },
    Metric {
        name: ESCALATIONS,
        kind: Kind::Counter,
        labels: &["specialty", "outcome"],
        help: "Settled escalations per asked specialty: approved, rejected, expired, nobody_present.",
    },
    Metric {
        name: EXPERT_RESPONSE,
        kind: Kind::Histogram,
        labels: &["specialty"],
        help: "Time from an escalation to an expert's vote on it.",
    },
    Metric {
        name: FALLBACK_DECISIONS,
        kind: Kind::Counter,
        labels: &[],
        help: "Hook fallback decisions recorded from a spool (the pipeline did not answer in time).",
    },
    Metric {
        name: DEAD_LETTERS,
        kind: Kind::Counter,
        labels: &["stream", "reason"],
        help: "Messages moved to LH_DLQ, by source stream and reason kind.",
    },
    Metric {
        name: MESSAGES,
        kind: Kind::Counter,
        labels: &["stream", "outcome"],
        help: "Messages handled by consume loops: done, retry, dead_letter.",
    },
    Metric {
        name: CONSUMER_PENDING,
        kind: Kind::Gauge,
        labels: &["stream", "consumer"],
        help: "Messages not yet delivered to the durable consumer.",
    },
    Metric {
        name: CONSUMER_ACK_PENDING,
        kind: Kind::Gauge,
        labels: &["stream", "consumer"],
        help: "Messages delivered to the consumer and not yet acknowledged.",
    },
    Metric {
        name: PROJECTOR_LAG,
        kind: Kind::Gauge,
        labels: &["stream"],
        help: "Age of the last message the projector applied while more were pending (0 when caught up).",
    },
    Metric {
        name: POLICY_INFO,
        kind: Kind::Gauge,
        labels: &["version"],
        help: "1 for the policy version this validator decides with.",
    },
    Metric {
        name: WORKERS_PRESENT,
        kind: Kind::Gauge,
        labels: &["kind"],
        help: "Workers with a live presence key in lh_workers, by kind.",
    },
    Metric {
        name: STREAM_MESSAGES,
        kind: Kind::Gauge,
        labels: &["stream"],
        help: "Messages stored in the stream.",
    },
    Metric {
        name: STREAM_BYTES,
        kind: Kind::Gauge,
        labels: &["stream"],
        help: "Bytes stored in the stream.",
    },
    Metric {
        name: STREAM_MAX_MESSAGES,
        kind: Kind::Gauge,
        labels: &["stream"],
        help: "The stream's max_msgs (-1: unlimited).",
    },
    Metric {
        name: STREAM_MAX_BYTES,
        kind: Kind::Gauge,
        labels: &["stream"],
        help: "The stream's max_bytes (-1: unlimited).",
    },
    Metric {
        name: JETSTREAM_STORAGE,
        kind: Kind::Gauge,
        labels: &[],
        help: "File storage the account's streams use.",
    },
    Metric {
        name: JETSTREAM_STORAGE_LIMIT,
        kind: Kind::Gauge,
        labels: &[],
        help: "The account's file storage limit (-1: unlimited).",
    },
    Metric {
        name: MEMORY_LIMIT,
        kind: Kind::Gauge,
        labels: &[],
        help: "This process's memory ceiling: its cgroup's memory.max (absent when unlimited).",
    },
    Metric {
        name: READY,
        kind: Kind::Gauge,
        labels: &[],
        help: "1 when /readyz answers 200: NATS connected and every consumer bound.",
    },
    Metric {
        name: PROCESS_RESIDENT_MEMORY,
        kind: Kind::Gauge,
        labels: &[],
        help: "Resident set size (from metrics-process).",
    },
];

/// The metric of that name, if Lighthouse exports it.
pub fn find(name: &str) -> Option<&'static Metric> {
    METRICS.iter().find(|m| m.name == name)
}

/// Registers every description with the installed recorder (shown as `# HELP`).
pub fn describe() {
    for m in METRICS {
        match m.kind {
            Kind::Counter => metrics::describe_counter!(m.name, m.help),
            Kind::Gauge => metrics::describe_gauge!(m.name, m.help),
            Kind::Histogram => metrics::describe_histogram!(m.name, metrics::Unit::Seconds, m.help),
        }
    }
}
