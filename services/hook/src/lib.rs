//! The agent hook: one short process per tool call, for Claude Code, Codex CLI and
//! Gemini CLI (`lighthouse-hook <client>`, or `lighthouse hook <client>`).
//!
//! Layout, without cycles (each module uses only those listed before it):
//! - [`protocol`]: each client's hook input → one [`protocol::Call`], one
//!   [`protocol::Answer`] → that client's output (pure functions, one module per client);
//! - [`files`]: a file on disk → one `FileVersion` on `LH_FS`, exactly once;
//! - [`spool`]: local decisions kept until they can be published;
//! - [`notes`]: experts' annotations of a file, for the model;
//! - [`starts`]: when each shell command was let through, for the comparison after it;
//! - [`post_tool`]: after a call: the files it wrote, the notes on a file it read;
//! - [`local`]: the hook's own decision, on the built-in and the project's packs;
//! - [`guard_pids`]: whether a shell command signals one of the guard's processes by pid;
//! - [`guard_links`]: whether a file tool writes one of the guard's files by another name;
//! - [`regular`]: opening agent-reachable files only when they are plain files;
//! - [`ask`]: asking the pipeline over an open connection;
//! - [`relay`]: a long-lived process that asks the pipeline for hook calls over an open
//!   connection;
//! - [`relay_client`]: the hook's side of the relay, in blocking I/O (it checks the
//!   answers' signatures);
//! - [`hook`]: before a call: publish, wait for the decision, fall back locally;
//! - [`install`]: registers the hook in each client's settings;
//! - [`watchdog`]: a stuck hook still answers, with a refusal, before its client gives up;
//! - [`entry`]: the process: settings, stdin, stdout/stderr, exit code.
//!
//! The policy engine (tree-sitter) is linked in but only built when the hook decides
//! locally (no pipeline, or a late one); the fast path never touches it.

pub mod ask;
pub mod binding;
pub mod entry;
pub mod files;
pub mod guard_links;
pub mod guard_pids;
pub mod hook;
pub mod install;
pub mod local;
pub mod notes;
pub mod patches;
pub mod post_tool;
pub mod protocol;
pub mod relay;
pub mod relay_client;
pub mod spool;
pub mod starts;
pub mod sync;
pub mod watchdog;
