//! The `lighthouse` command: the agent hook, the one-machine pipeline (`up`), operator
//! commands, the workers, and the benchmarks.
//!
//! Layout: [`cli`] parses arguments and dispatches; each subcommand lives in its own
//! module with its logic testable without a terminal ([`hook`], [`up`], [`status`],
//! [`install`], [`expert`], [`bench`], [`bench_escalation`]); [`settings`] layers
//! defaults, file and env.

pub mod annotate;
pub mod audit;
pub mod audit_query;
pub mod backup;
pub mod bench;
pub mod bench_escalation;
pub mod bench_fuse;
pub mod bench_soak;
pub mod cli;
pub mod errors;
pub mod exception;
pub mod expert;
pub mod mcp;
pub mod probe;
pub mod replay;
pub mod status;
pub mod sync;
pub mod tls;
pub mod trust;
pub mod up;
pub mod watch;
pub mod workers;

/// The hook and what it shares with the CLI (file ingestion, spools, installers) live
/// in `lighthouse-hook`; re-exported so `crate::hook::…` keeps working.
pub use lighthouse_hook::{files, hook, install, post_tool, spool};

/// Settings live in `lighthouse-config`; re-exported so `crate::settings::…` keeps working.
pub use lighthouse_config::settings;
