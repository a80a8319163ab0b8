//! Validator worker: the fast path from command to decision.
//!
//! - [`decide`]: pure — a [`Command`](lighthouse_schemas::Command) and a policy in, a
//!   [`Decision`](lighthouse_schemas::Decision) out. The hook's fallback uses it too.
//! - [`escalate`]: pure — the policy's Escalate becomes escalations for experts, with
//!   specialties and consensus chosen by risk.
//! - [`exception`]: scoped exceptions — which granted exception turns an Escalate into
//!   Allow (pure), and the table of live ones kept from the `lh_exceptions` bucket.
//! - [`worker`]: the NATS side — pulls every `LH_CMD` partition, decides, publishes the
//!   decision exactly once (or, for Escalate while an aggregator runs, one escalation
//!   per required specialty), acks; undecodable commands go to the dead letter stream.

pub mod book;
pub mod decide;
pub mod escalate;
pub mod exception;
pub mod service;
pub mod worker;

pub use decide::{decide, decide_cached};
pub use escalate::{EscalationPolicy, RiskTable};
pub use worker::{ValidatorConfig, ValidatorError, run};
