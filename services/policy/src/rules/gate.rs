//! A cheap first test for each rule: what a command's facts must have for the rule to
//! possibly match (tags, flags, path classes, upstream commands), as bit masks.
//!
//! Every command is tested against dozens of rules, and most fail on a tag or flag
//! they require: with tags and flags as bits, that failure costs a few instructions
//! instead of string lookups. A gate only ever rejects a rule whose full test would
//! fail too (it checks a subset of the same conditions), so the full test still
//! decides every rule the gate lets through. Names beyond the masks' width are not
//! gated at all.

use super::{Facts, Rule};
use crate::paths::Classes;
use std::collections::HashMap;

/// Tag and flag names the rules test, each given a bit (at most 128 of each).
#[derive(Debug, Default)]
pub(super) struct Names {
    tags: HashMap<String, u32>,
    flags: HashMap<String, u32>,
}

/// A command's tags and flags as bits of [`Names`].
#[derive(Debug, Clone, Copy)]
pub(super) struct FactBits {
    tags: u128,
    flags: u128,
}

/// What a rule requires, as bits; zero masks require nothing.
#[derive(Debug, Default, Clone)]
pub(super) struct Gate {
    tags_all: u128,
    tags_any: u128,
    tags_none: u128,
    flags_all: u128,
    flags_any: u128,
    flags_none: u128,
    paths_any: Classes,
    paths_none: Classes,
    dest_any: Classes,
    src_any: Classes,
    writes_any: Classes,
    stdin_paths_any: Classes,
    script_from: bool,
    stdin_from: bool,
}

fn intern(table: &mut HashMap<String, u32>, name: &str) -> Option<u128> {
    let next = u32::try_from(table.len()).ok()?;
    let bit = *table.entry(name.to_owned()).or_insert(next);
    (bit < 128).then(|| 1u128 << bit)
}

/// The bits of `names`, or `None` when one has no bit (then the condition is not gated).
fn mask(table: &mut HashMap<String, u32>, names: &[String]) -> Option<u128> {
    names
        .iter()
        .try_fold(0u128, |m, n| Some(m | intern(table, n)?))
}

impl Names {
    /// The gate of `r`, giving bits to the names it tests.
    pub(super) fn gate(&mut self, r: &Rule) -> Gate {
        Gate {
            tags_all: mask(&mut self.tags, &r.tags_all).unwrap_or(0),
            tags_any: mask(&mut self.tags, &r.tags_any).unwrap_or(0),
            tags_none: mask(&mut self.tags, &r.tags_none).unwrap_or(0),
            flags_all: mask(&mut self.flags, &r.flags_all).unwrap_or(0),
            flags_any: mask(&mut self.flags, &r.flags_any).unwrap_or(0),
            flags_none: mask(&mut self.flags, &r.flags_none).unwrap_or(0),
            paths_any: r.paths_any,
            paths_none: r.paths_none,
            dest_any: r.dest_any,
            src_any: r.src_any,
            writes_any: r.writes_any,
            stdin_paths_any: r.stdin_paths_any,
            script_from: !r.script_from_any.is_empty(),
            stdin_from: !r.stdin_from_any.is_empty(),
        }
    }

    pub(super) fn bits(&self, f: &Facts) -> FactBits {
        let of = |table: &HashMap<String, u32>, names: &mut dyn Iterator<Item = &String>| {
            names
                .filter_map(|n| table.get(n))
                .filter(|b| **b < 128)
                .fold(0u128, |m, b| m | 1u128 << b)
        };
        FactBits {
            tags: of(&self.tags, &mut f.tags.iter()),
            flags: of(&self.flags, &mut f.flags.iter()),
        }
    }
}

impl Gate {
    /// False only when the rule cannot match `f` (`bits` are `f`'s).
    pub(super) fn admits(&self, f: &Facts, bits: FactBits) -> bool {
        let any = |want: Classes, have: Classes| want.is_empty() || have.intersects(want);
        bits.tags & self.tags_all == self.tags_all
            && (self.tags_any == 0 || bits.tags & self.tags_any != 0)
            && bits.tags & self.tags_none == 0
            && bits.flags & self.flags_all == self.flags_all
            && (self.flags_any == 0 || bits.flags & self.flags_any != 0)
            && bits.flags & self.flags_none == 0
            && any(self.paths_any, f.paths)
            && !f.paths.intersects(self.paths_none)
            && any(self.dest_any, f.dest)
            && any(self.src_any, f.src)
            && any(self.writes_any, f.writes)
            && any(self.stdin_paths_any, f.stdin_paths)
            && (!self.script_from || !f.script_from.is_empty())
            && (!self.stdin_from || !f.stdin_from.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::super::RuleSet;
    use crate::paths::Base;
    use crate::shell::{Env, normalize};

    /// Gated and ungated matching agree on every command of the corpus.
    #[test]
    fn gates_change_no_match() {
        let rules = RuleSet::build(&crate::builtin::packs().unwrap()).unwrap();
        let base = Base {
            cwd: "/home/dev/project",
            branch: None,
            home: Some("/home/dev"),
        };
        let env = Env {
            cwd: base.cwd,
            home: base.home,
        };
        let (mut commands, mut matched) = (0, 0);
        for input in crate::corpus_inputs() {
            let Some(cmd) = input["command"].as_str() else {
                continue;
            };
            for e in normalize(cmd, env).commands {
                let facts = rules.facts(&e, base);
                let ids = |rs: Vec<&super::Rule>| -> Vec<String> {
                    rs.iter().map(|r| r.id.clone()).collect()
                };
                let gated = ids(rules.matching(&facts));
                assert_eq!(gated, ids(rules.matching_ungated(&facts)), "{cmd}");
                commands += 1;
                matched += usize::from(!gated.is_empty());
            }
        }
        // Enough commands, and enough that match something, for the check to mean much.
        assert!(
            commands > 2000 && matched > 1000,
            "{commands} commands, {matched} matched"
        );
    }
}
