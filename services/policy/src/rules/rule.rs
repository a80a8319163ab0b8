//! One compiled rule ([`Rule`]): built from its spec, and its full test against a
//! command's [`Facts`]; with the name patterns ([`NamePat`]) rules use for commands,
//! tools and rule ids. Separate from how facts are read ([`super::facts`]) and from
//! how rules are layered and looked up ([`super::set`]).

use super::facts::Facts;
use super::file::RuleSpec;
use super::pattern::{LazyRegex, check_syntax, regexes};
use crate::PolicyError;
use crate::paths::{self, Classes};
use lighthouse_schemas::{Risk, Verdict};
use std::sync::Arc;

/// A name pattern: exact, or with `*` standing for any text (`mcp__*`, `mcp__*__get_*`).
#[derive(Debug, Clone)]
pub struct NamePat {
    pub(super) text: String,
    pub(super) prefix: bool,
    /// With inner stars, the text between them (split once here: rules are matched
    /// against every command); empty otherwise.
    pieces: Vec<String>,
}

impl NamePat {
    pub fn new(s: &str) -> NamePat {
        let (text, prefix) = match s.strip_suffix('*') {
            Some(p) => (p, true),
            None => (s, false),
        };
        let pieces = if text.contains('*') {
            text.split('*').map(str::to_owned).collect()
        } else {
            Vec::new()
        };
        NamePat {
            text: text.to_owned(),
            prefix,
            pieces,
        }
    }
    pub fn matches(&self, name: &str) -> bool {
        if self.pieces.is_empty() {
            return if self.prefix {
                name.starts_with(&self.text)
            } else {
                name == self.text
            };
        }
        // Inner stars: the pieces in order, the first anchored at the start and (unless
        // the pattern ends in `*`) the last at the end.
        let pieces = &self.pieces;
        let mut rest = name;
        for (i, piece) in pieces.iter().enumerate() {
            if i == 0 {
                let Some(r) = rest.strip_prefix(piece.as_str()) else {
                    return false;
                };
                rest = r;
            } else if i == pieces.len() - 1 && !self.prefix {
                return rest.ends_with(piece);
            } else {
                let Some(p) = rest.find(piece.as_str()) else {
                    return false;
                };
                rest = &rest[p + piece.len()..];
            }
        }
        true
    }
}

/// A compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub verdict: Verdict,
    /// Verdict when the target is production (see [`RuleSpec::production`]).
    pub production: Option<Verdict>,
    /// A fact for chain rules only.
    pub mark: bool,
    /// Rule-id patterns that must all have matched in the chain.
    pub chain_all: Vec<NamePat>,
    pub risk: Risk,
    pub reason: String,
    pub alternative: Option<String>,
    pub pack: String,
    /// From a restricted pack (a project's own): it may add a verdict, never take the
    /// place of a default (see [`crate::PolicyPack::restricted`]).
    pub restricted: bool,
    pub(super) commands: Vec<NamePat>,
    not_commands: Vec<NamePat>,
    pub(super) sub: Vec<String>,
    pub(super) flags_all: Vec<String>,
    pub(super) flags_any: Vec<String>,
    pub(super) flags_none: Vec<String>,
    pub(super) paths_any: Classes,
    pub(super) paths_none: Classes,
    pub(super) dest_any: Classes,
    pub(super) src_any: Classes,
    pub(super) writes_any: Classes,
    writes_none: Classes,
    pub(super) stdin_paths_any: Classes,
    pub(super) args_any: Vec<Arc<LazyRegex>>,
    pub(super) args_none: Vec<Arc<LazyRegex>>,
    pub(super) text_any: Vec<Arc<LazyRegex>>,
    pub(super) text_none: Vec<Arc<LazyRegex>>,
    pub(super) operands_any: Vec<Arc<LazyRegex>>,
    pub(super) tags_any: Vec<String>,
    pub(super) tags_all: Vec<String>,
    pub(super) tags_none: Vec<String>,
    pub(super) script_from_any: Vec<NamePat>,
    pub(super) stdin_from_any: Vec<NamePat>,
}

fn classes(names: &[String], pack: &str, rule: &str) -> Result<Classes, PolicyError> {
    let mut c = Classes::empty();
    for n in names {
        c |= Classes::from_name(n).ok_or_else(|| PolicyError::Rule {
            pack: pack.to_owned(),
            rule: rule.to_owned(),
            message: format!(
                "unknown path class `{n}` (known: {})",
                paths::NAMES.join(", ")
            ),
        })?;
    }
    Ok(c)
}

impl Rule {
    /// Everything [`Rule::compile`] checks, plus the syntax of every pattern.
    pub(super) fn validate(s: &RuleSpec, pack: &str) -> Result<(), PolicyError> {
        for pats in [
            &s.args_any,
            &s.args_none,
            &s.text_any,
            &s.text_none,
            &s.operands_any,
        ] {
            check_syntax(pats, pack, &s.id)?;
        }
        Rule::compile(s.clone(), pack).map(drop)
    }

    /// Builds a rule from a spec whose patterns were checked when its pack loaded (its
    /// lists move into the rule: a cold hook allocates each string once).
    pub(super) fn compile(s: RuleSpec, pack: &str) -> Result<Rule, PolicyError> {
        let err = |m: &str| PolicyError::Rule {
            pack: pack.to_owned(),
            rule: s.id.clone(),
            message: m.to_owned(),
        };
        if s.id.is_empty() {
            return Err(err("rule without id"));
        }
        let verdict = match (s.verdict, s.mark) {
            (Some(v), _) => v,
            (None, true) => Verdict::Allow,
            (None, false) => return Err(err("rule without verdict")),
        };
        if s.mark && (s.production.is_some() || !s.chain_all.is_empty()) {
            return Err(err("a mark has no verdict of its own"));
        }
        let names = |list: &[String]| list.iter().map(|c| NamePat::new(c)).collect();
        let paths_any = classes(&s.paths_any, pack, &s.id)?;
        let paths_none = classes(&s.paths_none, pack, &s.id)?;
        let dest_any = classes(&s.dest_any, pack, &s.id)?;
        let src_any = classes(&s.src_any, pack, &s.id)?;
        let writes_any = classes(&s.writes_any, pack, &s.id)?;
        let writes_none = classes(&s.writes_none, pack, &s.id)?;
        let stdin_paths_any = classes(&s.stdin_paths_any, pack, &s.id)?;
        let reason = if s.reason.is_empty() {
            s.id.clone()
        } else {
            s.reason
        };
        Ok(Rule {
            verdict,
            production: s.production,
            mark: s.mark,
            chain_all: names(&s.chain_all),
            risk: s.risk.unwrap_or(Risk::Medium),
            reason,
            alternative: s.alternative,
            pack: pack.to_owned(),
            restricted: false,
            commands: names(&s.commands),
            not_commands: names(&s.not_commands),
            sub: s.sub,
            flags_all: s.flags_all,
            flags_any: s.flags_any,
            flags_none: s.flags_none,
            paths_any,
            paths_none,
            dest_any,
            src_any,
            writes_any,
            writes_none,
            stdin_paths_any,
            args_any: regexes(&s.args_any),
            args_none: regexes(&s.args_none),
            text_any: regexes(&s.text_any),
            text_none: regexes(&s.text_none),
            operands_any: regexes(&s.operands_any),
            tags_any: s.tags_any,
            tags_all: s.tags_all,
            tags_none: s.tags_none,
            script_from_any: names(&s.script_from_any),
            stdin_from_any: names(&s.stdin_from_any),
            id: s.id,
        })
    }

    pub(super) fn matches(&self, f: &Facts) -> bool {
        if self.verdict != Verdict::Allow && f.tags.contains(crate::shell::HELP_ONLY) {
            return false;
        }
        if self.not_commands.iter().any(|p| p.matches(&f.name)) {
            return false;
        }
        if !self.sub.is_empty() && !f.sub.as_ref().is_some_and(|s| self.sub.contains(s)) {
            return false;
        }
        if !self.flags_all.iter().all(|x| f.flags.contains(x)) {
            return false;
        }
        if !self.flags_any.is_empty() && !self.flags_any.iter().any(|x| f.flags.contains(x)) {
            return false;
        }
        if self.flags_none.iter().any(|x| f.flags.contains(x)) {
            return false;
        }
        if !self.paths_any.is_empty() && !f.paths.intersects(self.paths_any) {
            return false;
        }
        if f.paths.intersects(self.paths_none) {
            return false;
        }
        if !self.dest_any.is_empty() && !f.dest.intersects(self.dest_any) {
            return false;
        }
        if !self.src_any.is_empty() && !f.src.intersects(self.src_any) {
            return false;
        }
        if !self.writes_any.is_empty() && !f.writes.intersects(self.writes_any) {
            return false;
        }
        if f.writes.intersects(self.writes_none) {
            return false;
        }
        if !self.stdin_paths_any.is_empty() && !f.stdin_paths.intersects(self.stdin_paths_any) {
            return false;
        }
        if !self.tags_all.iter().all(|t| f.tags.contains(t)) {
            return false;
        }
        if !self.tags_any.is_empty() && !self.tags_any.iter().any(|t| f.tags.contains(t)) {
            return false;
        }
        if self.tags_none.iter().any(|t| f.tags.contains(t)) {
            return false;
        }
        if !self.script_from_any.is_empty()
            && !f
                .script_from
                .iter()
                .any(|s| self.script_from_any.iter().any(|p| p.matches(s)))
        {
            return false;
        }
        if !self.stdin_from_any.is_empty()
            && !f
                .stdin_from
                .iter()
                .any(|s| self.stdin_from_any.iter().any(|p| p.matches(s)))
        {
            return false;
        }
        if !self.args_any.is_empty()
            && !f
                .args
                .iter()
                .any(|a| self.args_any.iter().any(|r| r.is_match(a)))
        {
            return false;
        }
        if self
            .args_none
            .iter()
            .any(|r| f.args.iter().any(|a| r.is_match(a)))
        {
            return false;
        }
        if !self.text_any.is_empty() && !self.text_any.iter().any(|r| r.is_match(&f.text)) {
            return false;
        }
        if self.text_none.iter().any(|r| r.is_match(&f.text)) {
            return false;
        }
        if !self.operands_any.is_empty()
            && !f
                .operands
                .iter()
                .any(|a| self.operands_any.iter().any(|r| r.is_match(a)))
        {
            return false;
        }
        true
    }

    /// The verdict for a call whose facts matched this rule.
    pub fn verdict_for(&self, f: &Facts) -> Verdict {
        match self.production {
            Some(v) if f.production => v,
            _ => self.verdict,
        }
    }

    /// Whether this rule judges a whole command line (see [`RuleSpec::chain_all`]).
    pub fn is_chain(&self) -> bool {
        !self.chain_all.is_empty()
    }

    /// For a chain rule: whether every pattern matched some rule id in `seen`.
    pub fn chain_matches(&self, seen: &[&str]) -> bool {
        self.is_chain()
            && self
                .chain_all
                .iter()
                .all(|p| seen.iter().any(|id| p.matches(id)))
    }
}
