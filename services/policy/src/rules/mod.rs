//! Rules as data: policy packs in TOML, compiled into matchers.
//!
//! A pack holds command specs (how a command's flags canonicalise, which options take
//! values), rules (conditions over an effective command → verdict) and tool defaults.
//! Packs layer in order: a later rule with the same id replaces an earlier one, `disable`
//! drops ids, a later command spec or tool default for the same name wins. Across all
//! rules that match a call, deny beats escalate beats allow.

mod facts;
mod file;
mod gate;
mod guard_facts;
mod pack;
mod pattern;
mod rule;
mod set;
mod split;

pub use facts::Facts;
pub use file::{CommandSpec, PackFile, PackMeta, RuleSpec, ToolDefault};
pub(crate) use pack::PackSource;
pub use pack::{MAX_PACK, PolicyPack};
pub use pattern::LazyRegex;
pub use rule::{NamePat, Rule};
pub(crate) use set::CompiledPack;
pub use set::RuleSet;
