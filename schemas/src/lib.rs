//! The Lighthouse wire contract: message types, subject builders and the codec.
//!
//! Everything another process (in any language) needs to talk to Lighthouse over NATS
//! is defined here and nowhere else:
//!
//! - [`token`]: turns any project, agent or id into a safe, bounded subject token;
//! - [`subject`]: typed builders for every public subject (`lh.cmd.…`, `lh.decision.…`,
//!   `lh.fs.…`);
//! - [`msg`]: the versioned messages (an [`msg::Envelope`] travels in each);
//! - [`codec`]: MessagePack with named fields, bounded, version-checked before decoding.
//!
//! This crate is pure: no async runtime, no NATS client. JSON Schemas for non-Rust
//! clients are generated from these types into `schemas/json/` (see the tests).

pub mod codec;
pub mod msg;
pub mod subject;
pub mod token;

pub use codec::{CodecError, MAX_MESSAGE_BYTES, decode, encode};
pub use msg::{
    AgentKind, Choice, Command, ConsensusRule, Decision, Envelope, Escalation, EscalationContext,
    Exception, ExceptionScope, ExpertPresence, FileContent, FileVersion, Message, Provenance,
    RecentDecision, Revocation, Risk, SCHEMA_VERSION, Tier, Verdict, Vote, Voter, now_us,
};
pub use token::Token;
