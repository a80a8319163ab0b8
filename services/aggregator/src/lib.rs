//! Escalation aggregator: expert votes and deadlines in, the one final decision out.
//!
//! - [`consensus`]: pure — tallies votes against the escalation's consensus rule,
//!   decides whether experts present can still reach it, and writes the final
//!   [`Decision`](lighthouse_schemas::Decision) naming voters and reasons;
//! - [`worker`]: the NATS side — partitioned vote consumers on `LH_VOTE`, the durable
//!   deadline timer on `LH_ESC`, expert presence from `lh_experts`, exactly-once
//!   publication of the decision.
//!
//! Any number of replicas can run; a killed one resumes from the streams.

pub mod consensus;
pub mod service;
pub mod worker;

pub use consensus::Fallback;
pub use worker::{AggregatorConfig, AggregatorError, run};
