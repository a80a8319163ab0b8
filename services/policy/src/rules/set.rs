//! Compiled packs layered into one [`RuleSet`]: later packs override earlier ones,
//! restricted packs only tighten; then the rules a command's facts match, and the
//! default for a tool. Separate from compiling one rule ([`super::rule`]) and from
//! reading a command's facts ([`super::facts`]).

use super::facts::{self, Facts, SECRET_VAR, Spec};
use super::file::{RuleSpec, ToolDefault};
use super::gate;
use super::pack::PolicyPack;
#[cfg(test)]
use super::pattern::LazyRegex;
use super::pattern::WARM_TEXTS;
use super::rule::{NamePat, Rule};
use crate::PolicyError;
use crate::dense::Dense;
use crate::paths::Base;
use crate::shell::Effective;
use std::collections::HashMap;
use std::sync::Arc;

/// Compiled packs.
#[derive(Debug, Default)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
    /// Rule indexes by exact command name.
    by_name: HashMap<String, Vec<usize>>,
    /// Rules with no name, or a prefix pattern.
    wildcard: Vec<usize>,
    specs: HashMap<String, Arc<Spec>>,
    tools: Vec<ToolDefault>,
    /// `tools`' name patterns, in the same order.
    tool_pats: Vec<NamePat>,
    /// Each rule's first, cheap test (same order as `rules`), over these names' bits.
    gates: Vec<gate::Gate>,
    gate_names: gate::Names,
}

/// One pack's rules and command specs, compiled. Independent of the other packs, so
/// packs compile in parallel ([`crate::builtin`]); [`RuleSet::layer`] orders them.
pub(crate) struct CompiledPack {
    rules: Vec<Rule>,
    /// One per `file.command`, in the same order.
    specs: Vec<Arc<Spec>>,
}

impl CompiledPack {
    pub(crate) fn of(p: &PolicyPack) -> Result<CompiledPack, PolicyError> {
        CompiledPack::with_rules(p, p.file.rule.clone())
    }

    /// Compiles `p`, moving its rules out of it: for a pack kept only for its name,
    /// digest and layering lists (see [`crate::builtin`]).
    pub(crate) fn taking_rules(p: &mut PolicyPack) -> Result<CompiledPack, PolicyError> {
        let rules = std::mem::take(&mut p.file.rule);
        CompiledPack::with_rules(p, rules)
    }

    #[expect(clippy::vec_box, reason = "the list as PackFile holds it (see there)")]
    fn with_rules(p: &PolicyPack, rules: Vec<Box<RuleSpec>>) -> Result<CompiledPack, PolicyError> {
        // Sized up front (collecting results grows the list step by step).
        let mut compiled = Vec::with_capacity(rules.len());
        for s in rules {
            compiled.push(Rule::compile(*s, &p.name)?);
        }
        Ok(CompiledPack {
            rules: compiled,
            specs: p
                .file
                .command
                .iter()
                .map(|c| Arc::new(Spec::from(c)))
                .collect(),
        })
    }
}

impl RuleSet {
    pub fn build(packs: &[PolicyPack]) -> Result<RuleSet, PolicyError> {
        let compiled = packs
            .iter()
            .map(CompiledPack::of)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(RuleSet::layer(packs, compiled))
    }

    /// The rule set of `packs` layered in order, from each one's [`CompiledPack`].
    pub(crate) fn layer(packs: &[PolicyPack], compiled: Vec<CompiledPack>) -> RuleSet {
        // Room for every rule at once: a rule is half a kilobyte, and growing the list
        // step by step faulted in three times the memory it ends with.
        let total = compiled.iter().map(|c| c.rules.len()).sum();
        let mut rules: Vec<Rule> = Vec::with_capacity(total);
        // Where each rule id sits in `rules`: a search per rule made layering quadratic.
        let mut slots: HashMap<String, usize> = HashMap::with_capacity(total);
        let mut specs: HashMap<String, Arc<Spec>> = HashMap::new();
        let mut tools: Vec<ToolDefault> = Vec::new();
        for (p, done) in packs.iter().zip(compiled) {
            if !p.restricted && !p.file.disable.is_empty() {
                rules.retain(|r| !p.file.disable.contains(&r.id));
                slots = rules
                    .iter()
                    .enumerate()
                    .map(|(i, r)| (r.id.clone(), i))
                    .collect();
            }
            for mut rule in done.rules {
                rule.restricted = p.restricted;
                match slots.get(&rule.id) {
                    Some(_) if p.restricted => {}
                    Some(&i) => rules[i] = rule,
                    None => {
                        slots.insert(rule.id.clone(), rules.len());
                        rules.push(rule);
                    }
                }
            }
            for (c, spec) in p.file.command.iter().zip(done.specs) {
                for n in &c.names {
                    if p.restricted && specs.contains_key(n) {
                        continue;
                    }
                    specs.insert(n.clone(), spec.clone());
                }
            }
            // Later tool defaults take precedence: put them first.
            for t in p.file.tool.iter().rev() {
                if p.restricted {
                    let current = tools
                        .iter()
                        .find(|d| NamePat::new(&d.name).matches(&t.name))
                        .map(|d| d.verdict.strictness())
                        .unwrap_or(0);
                    if t.verdict.strictness() < current {
                        continue;
                    }
                }
                tools.insert(0, t.clone());
            }
        }
        let mut by_name: HashMap<String, Vec<usize>> = HashMap::with_capacity(rules.len());
        let mut wildcard = Vec::new();
        for (i, r) in rules.iter().enumerate() {
            if r.is_chain() {
                continue;
            }
            if r.commands.is_empty() || r.commands.iter().any(|c| c.prefix || c.text.contains('*'))
            {
                wildcard.push(i);
            }
            for c in r
                .commands
                .iter()
                .filter(|c| !c.prefix && !c.text.contains('*'))
            {
                by_name.entry(c.text.clone()).or_default().push(i);
            }
        }
        let mut gate_names = gate::Names::default();
        let gates = rules.iter().map(|r| gate_names.gate(r)).collect();
        RuleSet {
            rules,
            by_name,
            wildcard,
            gates,
            gate_names,
            specs,
            tool_pats: tools.iter().map(|t| NamePat::new(&t.name)).collect(),
            tools,
        }
    }

    /// Compiles every rule's patterns now; returns the ids of rules whose patterns
    /// could not be compiled (they would never match).
    pub fn precompile(&self) -> Vec<String> {
        let _ = SECRET_VAR.compile();
        let mut failed = Vec::new();
        for r in &self.rules {
            for l in r
                .args_any
                .iter()
                .chain(&r.args_none)
                .chain(&r.text_any)
                .chain(&r.text_none)
                .chain(&r.operands_any)
            {
                // Both forms, so that no call pays for either.
                let ascii = l.get_ascii().is_some();
                match l.split() {
                    Some(split) => split.precompile(),
                    // Only where the ASCII form compiles: the DFA stands in for it.
                    None if ascii => {
                        l.dense.get_or_init(|| {
                            crate::builtin::dense(&l.pattern)
                                .or_else(|| Dense::build(&l.pattern, false))
                                .map(Box::new)
                        });
                    }
                    None => {}
                }
                if l.get().is_none() && !failed.contains(&r.id) {
                    failed.push(r.id.clone());
                }
                // Whole lines for `text_*`, single words for `args_*`: a search the
                // pattern's length bounds rule out never builds its cache.
                for t in WARM_TEXTS {
                    let _ = l.is_match(t);
                    for w in t.split_whitespace() {
                        let _ = l.is_match(w);
                    }
                }
            }
        }
        failed
    }

    /// Every rule's pattern lists, with the rule id.
    #[cfg(test)]
    pub(crate) fn patterns(&self) -> impl Iterator<Item = (&str, &LazyRegex)> {
        self.rules.iter().flat_map(|r| {
            r.args_any
                .iter()
                .chain(&r.args_none)
                .chain(&r.text_any)
                .chain(&r.text_none)
                .chain(&r.operands_any)
                .map(move |l| (r.id.as_str(), &**l))
        })
    }

    /// Rules that judge a whole command line.
    pub fn chain_rules(&self) -> impl Iterator<Item = &Rule> {
        self.rules.iter().filter(|r| r.is_chain())
    }

    /// The default for a tool no rule matched.
    pub fn tool_default(&self, tool: &str) -> Option<&ToolDefault> {
        self.tools
            .iter()
            .zip(&self.tool_pats)
            .find(|(_, p)| p.matches(tool))
            .map(|(t, _)| t)
    }

    /// Every rule that matches `f`.
    pub fn matching(&self, f: &Facts) -> Vec<&Rule> {
        let bits = self.gate_names.bits(f);
        self.matching_where(f, |i| self.gates.get(i).is_none_or(|g| g.admits(f, bits)))
    }

    /// [`RuleSet::matching`] without the gates (tests check they change nothing).
    #[cfg(test)]
    pub(super) fn matching_ungated(&self, f: &Facts) -> Vec<&Rule> {
        self.matching_where(f, |_| true)
    }

    /// The rules that match `f`, trying only those `admit`ted (by index).
    fn matching_where(&self, f: &Facts, admit: impl Fn(usize) -> bool) -> Vec<&Rule> {
        let mut out = Vec::new();
        if let Some(ix) = self.by_name.get(&f.name) {
            for &i in ix {
                if let Some(r) = self.rules.get(i)
                    && admit(i)
                    && r.matches(f)
                {
                    out.push(r);
                }
            }
        }
        for &i in &self.wildcard {
            if let Some(r) = self.rules.get(i) {
                if !admit(i) {
                    continue;
                }
                let named = r.commands.is_empty() || r.commands.iter().any(|c| c.matches(&f.name));
                if named && r.matches(f) && !out.iter().any(|o| o.id == r.id) {
                    out.push(r);
                }
            }
        }
        out
    }

    /// Reads an effective command the way the rules see it.
    pub fn facts(&self, e: &Effective, base: Base<'_>) -> Facts {
        facts::read(&self.specs, e, base)
    }
}
