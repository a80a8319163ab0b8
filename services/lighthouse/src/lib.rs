//! The `lighthouse` command: argument parsing and dispatch, and the operator commands.
//!
//! Layout: [`cli`] parses arguments and dispatches; each operator command lives in its
//! own module with its logic testable without a terminal ([`up`], [`status`],
//! [`audit`], [`replay`], [`expert`], [`backup`], [`trust`] …). The hook
//! (`lighthouse_hook`), the workers (validator, aggregator, annotator, projector), the
//! MCP server and the benchmarks (`lighthouse_bench`) are libraries this crate calls;
//! [`settings`] layers defaults, file and env.

pub mod annotate;
pub mod audit;
pub mod audit_query;
pub mod backup;
pub mod cli;
pub mod errors;
pub mod exception;
pub mod expert;
pub mod mcp;
pub mod probe;
pub mod replay;
pub mod status;
pub mod tls;
pub mod trust;
pub mod up;
pub mod watch;
pub mod workers;

/// The hook and what it shares with the CLI (file ingestion, spools, installers) live
/// in `lighthouse-hook`; re-exported so `crate::hook::…` keeps working.
pub use lighthouse_bench as bench;
pub use lighthouse_hook::{files, hook, install, post_tool, relay, spool, sync};

/// Settings live in `lighthouse-config`; re-exported so `crate::settings::…` keeps working.
pub use lighthouse_config::settings;
