//! Validator worker: the fast path from command to decision.
//!
//! - [`decide`]: pure — a [`Command`](lighthouse_schemas::Command) and a policy in, a
//!   [`Decision`](lighthouse_schemas::Decision) out. The hook's fallback uses it too.
//! - [`worker`]: the NATS side — pulls every `LH_CMD` partition, decides, publishes the
//!   decision exactly once, acks; undecodable commands go to the dead letter stream.

pub mod book;
pub mod decide;
pub mod worker;

pub use decide::{decide, decide_cached};
pub use worker::{ValidatorConfig, ValidatorError, run};
