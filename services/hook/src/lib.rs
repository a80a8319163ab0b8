//! The agent hook: one short process per tool call, for Claude Code, Codex CLI and
//! Gemini CLI.
//!
//! Layout: [`protocol`] parses each client's hook input into one call and renders one
//! answer in that client's protocol (pure functions, one module per client).

pub mod protocol;
