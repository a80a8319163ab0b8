//! Rules as data: policy packs in TOML, compiled into matchers.
//!
//! A pack holds command specs (how a command's flags canonicalise, which options take
//! values), rules (conditions over an effective command → verdict) and tool defaults.
//! Packs layer in order: a later rule with the same id replaces an earlier one, `disable`
//! drops ids, a later command spec or tool default for the same name wins. Across all
//! rules that match a call, deny beats escalate beats allow.

use crate::PolicyError;
use crate::dense::Dense;
use crate::paths::{self, Base, Classes};
use crate::shell::{Effective, RedirectKind};
use crate::targets;
use crate::twin_regex::TwinRegex;
use lighthouse_schemas::{Risk, Verdict};
use regex::Regex;
use serde::Deserialize;
use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, OnceLock};

mod gate;
mod split;

/// Largest pack accepted (packs come from projects and a KV bucket too).
pub const MAX_PACK: usize = 1024 * 1024;

/// One policy pack as written.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PackFile {
    #[serde(default)]
    pub pack: PackMeta,
    /// Rule ids from earlier packs to drop.
    #[serde(default)]
    pub disable: Vec<String>,
    #[serde(default)]
    pub command: Vec<CommandSpec>,
    #[serde(default)]
    pub tool: Vec<ToolDefault>,
    /// Boxed: a spec is most of a kilobyte, and a list of them grown step by step as
    /// it is read (JSON does not say how long it is) cost a cold hook 0.6 MB of copies.
    #[serde(default)]
    pub rule: Vec<Box<RuleSpec>>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PackMeta {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
}

/// How a command's arguments read.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CommandSpec {
    /// Command names (`rm`) or `command subcommand` (`git push`).
    pub names: Vec<String>,
    /// Flag aliases to canonical names: `r = "recursive"`, `R = "recursive"`.
    #[serde(default)]
    pub flags: HashMap<String, String>,
    /// Options (short, long or canonical) that take a value.
    #[serde(default)]
    pub values: Vec<String>,
    /// The first operand is a pattern or script, not a path (grep, sed, awk).
    #[serde(default)]
    pub pattern_first: bool,
    /// No operand is a path (echo, printf).
    #[serde(default)]
    pub no_paths: bool,
    /// The first operand names a subcommand (`git push`).
    #[serde(default)]
    pub subcommands: bool,
    /// Options are words after one dash (`find -name x`), not clusters of letters.
    #[serde(default)]
    pub single_dash_long: bool,
    /// Facts about the command (`net`, `mutates`, …) that rules can test.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Options whose value is a file the command writes (`curl -o`, `sort -o`).
    #[serde(default)]
    pub writes: Vec<String>,
    /// Without a directory named, it serves the working directory (`python3 -m
    /// http.server` after `cd ~` serves the home directory).
    #[serde(default)]
    pub serves_cwd: bool,
    /// Long options the command also accepts by any unambiguous prefix (git's
    /// parse-options: `--force-w` is `--force-with-lease`, `--har` is `--hard`).
    #[serde(default)]
    pub abbrev: Vec<String>,
}

/// A [`CommandSpec`] with sets for the per-argument lookups.
#[derive(Debug, Clone)]
struct Spec {
    flags: HashMap<String, String>,
    values: HashSet<String>,
    writes: HashSet<String>,
    pattern_first: bool,
    no_paths: bool,
    subcommands: bool,
    single_dash_long: bool,
    serves_cwd: bool,
    tags: Vec<String>,
    abbrev: Vec<String>,
}

impl From<&CommandSpec> for Spec {
    fn from(c: &CommandSpec) -> Spec {
        Spec {
            flags: c.flags.clone(),
            values: c.values.iter().cloned().collect(),
            writes: c.writes.iter().cloned().collect(),
            pattern_first: c.pattern_first,
            no_paths: c.no_paths,
            subcommands: c.subcommands,
            single_dash_long: c.single_dash_long,
            serves_cwd: c.serves_cwd,
            tags: c.tags.clone(),
            abbrev: c.abbrev.clone(),
        }
    }
}

impl Spec {
    /// The long option an abbreviation stands for, when it names exactly one of
    /// `abbrev`. An exact name or an ambiguous prefix (which git refuses) stays as is.
    fn unabbreviate(&self, name: &str) -> Option<&str> {
        if self.abbrev.is_empty() || name.is_empty() || self.abbrev.iter().any(|a| a == name) {
            return None;
        }
        let mut hits = self.abbrev.iter().filter(|a| a.starts_with(name));
        let first = hits.next()?;
        hits.next().is_none().then_some(first.as_str())
    }
}

/// What a tool gets when no rule matched it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolDefault {
    /// Tool name; a trailing `*` matches a prefix (`mcp__*`).
    pub name: String,
    pub verdict: Verdict,
    #[serde(default = "default_risk")]
    pub risk: Risk,
    #[serde(default)]
    pub reason: String,
}

fn default_risk() -> Risk {
    Risk::Medium
}

/// One rule as written. Every condition given must hold.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    pub id: String,
    pub verdict: Option<Verdict>,
    /// The verdict when the command's target is production (a host, database, bucket,
    /// namespace, context, profile, workspace or environment named prod/production/live).
    pub production: Option<Verdict>,
    /// A fact for chain rules, not a decision: it never decides a call by itself.
    #[serde(default)]
    pub mark: bool,
    /// Rule ids (`*` suffix for prefixes) that must each have matched some command of
    /// the same command line: the rule judges the whole chain (`reset --hard` *and*
    /// `clean -f`; a secret read *and* a send).
    #[serde(default)]
    pub chain_all: Vec<String>,
    pub risk: Option<Risk>,
    #[serde(default)]
    pub reason: String,
    /// A safer command to suggest (it must itself pass the policy).
    pub alternative: Option<String>,
    /// Effective command or tool names; `*` suffix for prefixes; empty = any.
    #[serde(default)]
    pub commands: Vec<String>,
    #[serde(default)]
    pub not_commands: Vec<String>,
    /// Subcommand (first operand of a `subcommands` command).
    #[serde(default)]
    pub sub: Vec<String>,
    #[serde(default)]
    pub flags_all: Vec<String>,
    #[serde(default)]
    pub flags_any: Vec<String>,
    #[serde(default)]
    pub flags_none: Vec<String>,
    /// Path classes of any operand or option value.
    #[serde(default)]
    pub paths_any: Vec<String>,
    /// Path classes no operand or option value may have.
    #[serde(default)]
    pub paths_none: Vec<String>,
    /// Path classes of the last operand (the destination of cp, mv, ln, …).
    #[serde(default)]
    pub dest_any: Vec<String>,
    /// Path classes of the operands before the last (the sources of cp, mv, …).
    #[serde(default)]
    pub src_any: Vec<String>,
    /// Path classes of files written by redirects or by interpreter code.
    #[serde(default)]
    pub writes_any: Vec<String>,
    /// Path classes no file written by a redirect or interpreter code may have.
    #[serde(default)]
    pub writes_none: Vec<String>,
    /// Path classes of the files read upstream in the pipeline.
    #[serde(default)]
    pub stdin_paths_any: Vec<String>,
    /// Regexes; one must match some operand or option value.
    #[serde(default)]
    pub args_any: Vec<String>,
    /// Regexes; none may match any operand or option value.
    #[serde(default)]
    pub args_none: Vec<String>,
    /// Regexes over the whole command line, its inline code and known stdin.
    #[serde(default)]
    pub text_any: Vec<String>,
    /// Regexes; none may match the text `text_any` sees (`UPDATE … SET` without `WHERE`).
    #[serde(default)]
    pub text_none: Vec<String>,
    /// Regexes; one must match an operand (not an option value, not the subcommand).
    #[serde(default)]
    pub operands_any: Vec<String>,
    #[serde(default)]
    pub tags_any: Vec<String>,
    #[serde(default)]
    pub tags_all: Vec<String>,
    #[serde(default)]
    pub tags_none: Vec<String>,
    /// Commands whose output is being run as code (`curl` for `curl … | sh`).
    #[serde(default)]
    pub script_from_any: Vec<String>,
    /// Commands upstream in the pipeline (`env` for `env | curl -d @- …`).
    #[serde(default)]
    pub stdin_from_any: Vec<String>,
}

/// A parsed pack, ready to layer.
#[derive(Debug, Clone)]
pub struct PolicyPack {
    pub name: String,
    /// The SHA-256 of the text it came from, hex: what the policy's version and the
    /// pack's label are made of (a built-in pack's was computed when the crate was
    /// built).
    pub(crate) digest: String,
    /// Restricted packs (a project's own `.lighthouse/policy.toml`) may only tighten:
    /// their `disable` list, rule overrides, redefinitions of known commands and
    /// looser tool defaults are ignored. The repository an agent works in must not be
    /// able to switch the guard off.
    pub restricted: bool,
    pub(crate) file: PackFile,
}

impl PolicyPack {
    /// `name@<12 hex of its text's SHA-256>` (plus ` (restricted)`): how a policy, and
    /// every decision it makes, names the pack.
    pub fn label(&self) -> String {
        self.source().label()
    }

    /// What the policy's version and labels are computed from.
    pub(crate) fn source(&self) -> PackSource {
        PackSource {
            name: self.name.clone(),
            digest: self.digest.clone(),
            restricted: self.restricted,
        }
    }

    /// Parses a pack from TOML; the name identifies it in errors and explanations.
    pub fn parse(name: &str, toml_text: &str) -> Result<PolicyPack, PolicyError> {
        if toml_text.len() > MAX_PACK {
            return Err(PolicyError::Pack {
                pack: name.to_owned(),
                message: format!("pack larger than {MAX_PACK} bytes"),
            });
        }
        let file: PackFile = toml::from_str(toml_text).map_err(|e| PolicyError::Pack {
            pack: name.to_owned(),
            message: e.to_string(),
        })?;
        let pack = PolicyPack {
            name: name.to_owned(),
            digest: digest_of(toml_text),
            restricted: false,
            file,
        };
        // Check every rule now so a bad one fails at load time, not at the first call.
        for r in &pack.file.rule {
            Rule::validate(r, &pack.name)?;
        }
        Ok(pack)
    }

    /// Parses a pack that may only add restrictions (see [`PolicyPack::restricted`]).
    pub fn parse_restricted(name: &str, toml_text: &str) -> Result<PolicyPack, PolicyError> {
        let mut p = PolicyPack::parse(name, toml_text)?;
        p.restricted = true;
        Ok(p)
    }

    pub fn rule_ids(&self) -> impl Iterator<Item = &str> {
        self.file.rule.iter().map(|r| r.id.as_str())
    }

    /// How layering this pack over `earlier` would loosen the policy: disabled rules,
    /// allow rules, replaced rules (a replacement can narrow or soften what it
    /// matched), redefined commands (they change how arguments read), and tool
    /// defaults softer than before. Empty: the pack only tightens. Loosening is a human
    /// act: validators accept such a pack only with an admin signature.
    pub fn loosening(&self, earlier: &[PolicyPack]) -> Vec<String> {
        let mut out = Vec::new();
        let known_rules: HashMap<&str, Verdict> = earlier
            .iter()
            .flat_map(|p| p.file.rule.iter())
            .filter_map(|r| Some((r.id.as_str(), r.verdict?)))
            .collect();
        let known_commands: HashSet<&str> = earlier
            .iter()
            .flat_map(|p| p.file.command.iter())
            .flat_map(|c| c.names.iter().map(String::as_str))
            .collect();
        for id in &self.file.disable {
            out.push(format!("disables rule {id}"));
        }
        for r in &self.file.rule {
            match (r.verdict, known_rules.get(r.id.as_str())) {
                (Some(Verdict::Allow), _) => out.push(format!("adds allow rule {}", r.id)),
                (_, Some(_)) => out.push(format!("replaces rule {}", r.id)),
                _ => {}
            }
        }
        for c in &self.file.command {
            for n in &c.names {
                if known_commands.contains(n.as_str()) {
                    out.push(format!("redefines command {n}"));
                }
            }
        }
        for t in &self.file.tool {
            let current = earlier
                .iter()
                .flat_map(|p| p.file.tool.iter())
                .filter(|d| NamePat::new(&d.name).matches(&t.name))
                .map(|d| severity(d.verdict))
                .max();
            let looser = match current {
                Some(current) => severity(t.verdict) < current,
                None => t.verdict == Verdict::Allow,
            };
            if looser {
                out.push(format!("softens the default for tool {}", t.name));
            }
        }
        out
    }
}

/// A pack's name, text digest and kind: what identifies it in versions and labels.
#[derive(Debug, Clone)]
pub(crate) struct PackSource {
    pub name: String,
    /// See [`PolicyPack::digest`].
    pub digest: String,
    pub restricted: bool,
}

impl PackSource {
    /// See [`PolicyPack::label`].
    pub fn label(&self) -> String {
        let kind = if self.restricted { " (restricted)" } else { "" };
        format!("{}@{}{kind}", self.name, &self.digest[..12])
    }
}

/// A pack text's SHA-256, hex (see [`PolicyPack::digest`]).
pub(crate) fn digest_of(text: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// A name pattern: exact, or with `*` standing for any text (`mcp__*`, `mcp__*__get_*`).
#[derive(Debug, Clone)]
pub struct NamePat {
    text: String,
    prefix: bool,
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
    commands: Vec<NamePat>,
    not_commands: Vec<NamePat>,
    sub: Vec<String>,
    flags_all: Vec<String>,
    flags_any: Vec<String>,
    flags_none: Vec<String>,
    paths_any: Classes,
    paths_none: Classes,
    dest_any: Classes,
    src_any: Classes,
    writes_any: Classes,
    writes_none: Classes,
    stdin_paths_any: Classes,
    args_any: Vec<Arc<LazyRegex>>,
    args_none: Vec<Arc<LazyRegex>>,
    text_any: Vec<Arc<LazyRegex>>,
    text_none: Vec<Arc<LazyRegex>>,
    operands_any: Vec<Arc<LazyRegex>>,
    tags_any: Vec<String>,
    tags_all: Vec<String>,
    tags_none: Vec<String>,
    script_from_any: Vec<NamePat>,
    stdin_from_any: Vec<NamePat>,
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

/// A rule's pattern list, checked when the pack loads but compiled on first use: a hook
/// process decides one call, and should not pay for compiling every rule's regexes.
///
/// Most text a rule sees is ASCII. For that, the pattern is compiled with Unicode off
/// (ASCII `\s`, `\w`, `\b`, `.` and case folding, over bytes), which builds several
/// times faster than the Unicode form and matches ASCII text exactly alike: the classes
/// agree on ASCII, and an ASCII pattern folds no ASCII letter to anything outside
/// ASCII. Other text, and patterns that need Unicode (`\p{…}`), use the Unicode form.
///
/// Until the ASCII form is compiled, ASCII text is first checked for the literals every
/// match starts and ends with (from the pattern's syntax, a fraction of a compile): most
/// rules a call reaches cannot match it, and then nothing is compiled at all.
#[derive(Debug)]
pub struct LazyRegex {
    pattern: String,
    compiled: OnceLock<Option<Regex>>,
    ascii: OnceLock<Option<regex::bytes::Regex>>,
    needles: OnceLock<Needles>,
    /// The ASCII form split at long counted gaps, when it has any ([`split`]).
    /// Boxed, like `dense`: a cold start builds hundreds of these and fills neither,
    /// and inline they made each one 1.8 KB of fresh memory to fault in.
    split: OnceLock<Option<Box<split::Split>>>,
    /// The ASCII form as a full DFA ([`Dense`]): a built-in pattern's is read from the
    /// binary when a call first needs it; others are built by [`RuleSet::precompile`]
    /// only.
    dense: OnceLock<Option<Box<Dense>>>,
}

/// Texts every rule pattern is run over once compiled (whole and word by word), so its
/// search cache and the lazy DFA states ordinary command lines reach are built before
/// the first call, not during it.
const WARM_TEXTS: &[&str] = &[
    "git status",
    "git push --force origin main",
    "npm install --save-dev typescript",
    "cargo build --release 2>&1 | tail -20",
    "rm -rf ./build /tmp/cache ~/.cache/x",
    "curl -fsSL https://example.com/install.sh | sh",
    "docker run --rm -it -v $PWD:/src ubuntu:22.04 bash",
    "kubectl get pods -n default -o wide",
    "python3 -m pytest tests/ -x -q",
    "find . -name '*.log' -mtime +7 -delete",
    "echo \"export PATH=$HOME/bin:$PATH\" >> ~/.bashrc",
    "ssh user@host 'sudo systemctl restart nginx'",
    "psql -h db.internal -U admin -c 'SELECT * FROM users LIMIT 10;'",
    "aws s3 cp ./dist s3://bucket/path --recursive",
    "chmod 600 ~/.ssh/id_ed25519 && cat /etc/hosts",
    "import os, sys, json; print(open('/tmp/x').read())",
    " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~\n\t",
];

/// Largest compiled program accepted per pattern list.
const REGEX_SIZE_LIMIT: usize = 1 << 22;

impl LazyRegex {
    fn new(pattern: String) -> LazyRegex {
        LazyRegex {
            pattern,
            compiled: OnceLock::new(),
            ascii: OnceLock::new(),
            needles: OnceLock::new(),
            split: OnceLock::new(),
            dense: OnceLock::new(),
        }
    }

    fn split(&self) -> Option<&split::Split> {
        self.split
            .get_or_init(|| split::Split::of(&self.pattern, REGEX_SIZE_LIMIT).map(Box::new))
            .as_deref()
    }

    /// The pattern as compiled (a rule's list, joined).
    #[cfg(test)]
    pub(crate) fn pattern(&self) -> &str {
        &self.pattern
    }

    /// The pattern's needles ([`crate::needles`]): a built-in pattern's were computed
    /// when the crate was built.
    pub(crate) fn needles(&self) -> &Needles {
        self.needles
            .get_or_init(|| match crate::builtin::needles(&self.pattern) {
                Some(sets) => Needles::Built(sets),
                None => Needles::Computed(crate::needles::of(&self.pattern)),
            })
    }

    /// A built-in pattern's DFA, read from the binary on first use. Nothing is kept for
    /// another pattern, so [`RuleSet::precompile`] can still build one.
    fn built_in_dense(&self) -> Option<&Dense> {
        if let Some(known) = self.dense.get() {
            return known.as_deref();
        }
        let read = crate::builtin::dense(&self.pattern)?;
        self.dense.get_or_init(|| Some(Box::new(read))).as_deref()
    }

    /// The Unicode form (the pattern as written).
    pub(crate) fn get(&self) -> Option<&Regex> {
        self.compiled
            .get_or_init(|| {
                regex::RegexBuilder::new(&self.pattern)
                    .size_limit(REGEX_SIZE_LIMIT)
                    .build()
                    .ok()
            })
            .as_ref()
    }

    /// The form for ASCII text, when the pattern has one (see above).
    pub(crate) fn get_ascii(&self) -> Option<&regex::bytes::Regex> {
        self.ascii
            .get_or_init(|| {
                if !self.pattern.is_ascii() {
                    return None;
                }
                regex::bytes::RegexBuilder::new(&self.pattern)
                    .unicode(false)
                    .size_limit(REGEX_SIZE_LIMIT)
                    .build()
                    .ok()
            })
            .as_ref()
    }

    /// A pattern that cannot be compiled (only a size limit can cause that after the
    /// syntax check at load) matches nothing.
    pub fn is_match(&self, text: &str) -> bool {
        if text.is_ascii() {
            if let Some(Some(d)) = self.dense.get()
                && let Some(m) = d.is_match(text.as_bytes())
            {
                return m;
            }
            if self.ascii.get().is_none() && self.needles().rule_out(text) {
                return false;
            }
            if let Some(d) = self.built_in_dense()
                && let Some(m) = d.is_match(text.as_bytes())
            {
                return m;
            }
            if let Some(r) = self.get_ascii() {
                if let Some(split) = self.split() {
                    return split.is_match(text.as_bytes());
                }
                return r.is_match(text.as_bytes());
            }
        }
        self.get().is_some_and(|r| r.is_match(text))
    }
}

/// Checks each pattern's syntax (cheap, but not free: [`PolicyPack::parse`] does it once
/// per pack, not every time a rule set is built from it).
fn check_syntax(pats: &[String], pack: &str, rule: &str) -> Result<(), PolicyError> {
    for p in pats {
        // The syntax tree only: translating it (Unicode case folding of `(?i)` classes)
        // costs milliseconds per pattern, which is compile work we defer.
        regex_syntax::ast::parse::Parser::new()
            .parse(p)
            .map_err(|e| PolicyError::Rule {
                pack: pack.to_owned(),
                rule: rule.to_owned(),
                message: e.to_string(),
            })?;
    }
    Ok(())
}

/// Joins a rule's patterns into one lazily compiled alternation (one scan instead of
/// several).
fn regexes(pats: &[String]) -> Vec<Arc<LazyRegex>> {
    if pats.is_empty() {
        return Vec::new();
    }
    vec![Arc::new(LazyRegex::new(crate::needles::join(pats)))]
}

/// A pattern's needle sets: from the build for a built-in pattern, else computed.
#[derive(Debug)]
pub(crate) enum Needles {
    Built(&'static [&'static [&'static str]]),
    Computed(Vec<Vec<String>>),
}

impl Needles {
    /// Whether `text` lacks every literal of some set: then the pattern cannot match it.
    pub(crate) fn rule_out(&self, text: &str) -> bool {
        match self {
            Needles::Built(sets) => sets.iter().any(|set| !set.iter().any(|l| text.contains(l))),
            Needles::Computed(sets) => sets
                .iter()
                .any(|set| !set.iter().any(|l| text.contains(l.as_str()))),
        }
    }

    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        match self {
            Needles::Built(sets) => sets.is_empty(),
            Needles::Computed(sets) => sets.is_empty(),
        }
    }
}

impl Rule {
    /// Everything [`Rule::compile`] checks, plus the syntax of every pattern.
    fn validate(s: &RuleSpec, pack: &str) -> Result<(), PolicyError> {
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
    fn compile(s: RuleSpec, pack: &str) -> Result<Rule, PolicyError> {
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

    fn matches(&self, f: &Facts) -> bool {
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

/// What the rules see of one effective command.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub name: String,
    pub sub: Option<String>,
    pub flags: BTreeSet<String>,
    /// Operands and option values, as text.
    pub args: Vec<String>,
    pub paths: Classes,
    pub dest: Classes,
    pub src: Classes,
    pub writes: Classes,
    pub stdin_paths: Classes,
    pub tags: BTreeSet<String>,
    pub script_from: Vec<String>,
    pub stdin_from: Vec<String>,
    /// Whole command line plus inline code and known stdin, for `text_any`.
    pub text: String,
    /// Paths with their classes, for explanations.
    pub classified: Vec<(String, Classes)>,
    /// Operands only (no option values, no subcommand), for `operands_any`.
    pub operands: Vec<String>,
    /// The command's target is production (see [`crate::targets`]).
    pub production: bool,
    /// What named the target production, for explanations.
    pub production_by: Option<String>,
}

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
            for rule in done.rules {
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
                        .map(|d| severity(d.verdict))
                        .unwrap_or(0);
                    if severity(t.verdict) < current {
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
    fn matching_ungated(&self, f: &Facts) -> Vec<&Rule> {
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
    pub fn facts<'e>(&self, e: &'e Effective, base: Base<'_>) -> Facts {
        // After `cd`, relative paths resolve in the new directory, but the project (what
        // counts as inside) stays where the agent is.
        let moved = e.cwd.as_deref().filter(|c| *c != base.cwd);
        let mut f = Facts {
            name: e.name.clone(),
            tags: e.tags.iter().cloned().collect(),
            script_from: e.script_from.clone(),
            ..Facts::default()
        };
        let mut spec = self.specs.get(&e.name).cloned();
        if let Some(s) = &spec {
            f.tags.extend(s.tags.iter().cloned());
        }
        let mut operands: Vec<&str> = Vec::new();
        let mut values: Vec<&str> = Vec::new();
        // Values of options that name a file the command writes.
        let mut written: Vec<&str> = Vec::new();
        // Values of options that name a key the command signs with (`ssh -i KEY`).
        let mut identity: Vec<&str> = Vec::new();
        let signs_with = IDENTITY_COMMANDS.contains(&e.name.as_str());
        let mut end_opts = false;
        let mut sub_depth = 1;
        let mut i = 0;
        let args = &e.args;
        while i < args.len() {
            let t = args[i].text.as_str();
            let numeric = t.len() > 1
                && t.get(1..)
                    .is_some_and(|r| r.chars().all(|c| c.is_ascii_digit()));
            // `chmod -x file`: a mode, not an option.
            let mode =
                e.name == "chmod" && t.len() > 1 && t[1..].chars().all(|c| "rwxXst".contains(c));
            if end_opts
                || t == "-"
                || !t.starts_with('-')
                || (numeric && t.starts_with('-') && e.name != "kill")
                || mode
            {
                if spec.as_ref().is_some_and(|s| s.subcommands)
                    && (f.sub.is_none() || operands.is_empty())
                    && !(f.sub.is_some() && sub_depth > 1)
                {
                    // A second level (`uv pip install`) joins the first: `pip install`.
                    let sub = match f.sub.take() {
                        Some(first) => {
                            sub_depth += 1;
                            format!("{first} {t}")
                        }
                        None => t.to_owned(),
                    };
                    let key = format!("{} {}", e.name, sub);
                    f.sub = Some(sub);
                    if let Some(s2) = self.specs.get(&key) {
                        f.tags.extend(s2.tags.iter().cloned());
                        spec = Some(s2.clone());
                    } else if sub_depth == 1 && !spec.as_ref().is_some_and(|s| s.single_dash_long) {
                        spec = None;
                    } else if let Some(s) = spec.as_mut() {
                        // A second level, or a tool whose options read alike everywhere
                        // (`terraform destroy -var-file=…`): keep reading them as before.
                        let mut flat = (**s).clone();
                        flat.subcommands = false;
                        *s = Arc::new(flat);
                    }
                } else {
                    operands.push(t);
                }
                i += 1;
                continue;
            }
            if t == "--" {
                end_opts = true;
                i += 1;
                continue;
            }
            // Without a spec, `-name=value` (a name of two or more letters) is a long
            // option with a value, not a cluster of one-letter flags: `flyway
            // -url=jdbc:…prod… clean` names its target in the value.
            let single_long = (spec.as_ref().is_some_and(|s| s.single_dash_long) && t.len() > 2)
                || (spec.is_none() && is_single_dash_assignment(t));
            if let Some(long) = t
                .strip_prefix("--")
                .or_else(|| t.strip_prefix('-').filter(|_| single_long))
            {
                let (name, val) = match long.split_once('=') {
                    Some((n, v)) => (n, Some(v)),
                    None => (long, None),
                };
                let full = spec
                    .as_ref()
                    .and_then(|s| s.unabbreviate(name).map(str::to_owned));
                let name = full.as_deref().unwrap_or(name);
                let canon = spec
                    .as_ref()
                    .and_then(|s| s.flags.get(name).cloned())
                    .unwrap_or_else(|| name.to_owned());
                let takes = spec
                    .as_ref()
                    .is_some_and(|s| s.values.contains(name) || s.values.contains(&canon));
                let writes = spec
                    .as_ref()
                    .is_some_and(|s| s.writes.contains(name) || s.writes.contains(&canon));
                f.flags.insert(canon);
                if let Some(v) = val {
                    values.push(v);
                    if writes {
                        written.push(v);
                    }
                } else if takes && let Some(v) = args.get(i + 1) {
                    values.push(&v.text);
                    if writes {
                        written.push(&v.text);
                    }
                    i += 1;
                }
                i += 1;
                continue;
            }
            let cluster = &t[1..];
            let mut consumed = false;
            for (pos, ch) in cluster.char_indices() {
                let mut buf = [0u8; 4];
                let key: &str = ch.encode_utf8(&mut buf);
                let canon = spec
                    .as_ref()
                    .and_then(|s| s.flags.get(key).cloned())
                    .unwrap_or_else(|| key.to_owned());
                let takes = spec
                    .as_ref()
                    .is_some_and(|s| s.values.contains(key) || s.values.contains(&canon));
                let writes = spec
                    .as_ref()
                    .is_some_and(|s| s.writes.contains(key) || s.writes.contains(&canon));
                f.flags.insert(canon);
                if takes {
                    let rest = &cluster[pos + ch.len_utf8()..];
                    let v = if !rest.is_empty() {
                        Some(rest)
                    } else {
                        consumed = args.get(i + 1).is_some();
                        args.get(i + 1).map(|v| v.text.as_str())
                    };
                    if let Some(v) = v {
                        values.push(v);
                        if writes {
                            written.push(v);
                        }
                        if signs_with && is_identity_option(key, v) {
                            identity.push(v);
                        }
                    }
                    break;
                }
            }
            i += if consumed { 2 } else { 1 };
        }
        let no_paths = spec.as_ref().is_some_and(|s| s.no_paths);
        let pattern_first = spec.as_ref().is_some_and(|s| s.pattern_first)
            && !["expression", "regexp", "file", "e", "f"]
                .iter()
                .any(|p| f.flags.contains(*p));
        // The same word is often classified several times (as a path, then as the
        // destination or a source): remember each answer for this command.
        let seen: RefCell<Vec<(&'e str, Classes)>> = RefCell::new(Vec::new());
        let classify = |t: &'e str| {
            if let Some((_, c)) = seen.borrow().iter().find(|(k, _)| *k == t) {
                return *c;
            }
            let mut c = match moved {
                Some(dir) if !t.starts_with('/') && !t.starts_with('~') => {
                    paths::classify(&format!("{}/{t}", dir.trim_end_matches('/')), base)
                }
                _ => paths::classify(t, base),
            };
            if e.name == "rm"
                && c.intersects(Classes::PROJECT_SOURCE)
                && paths::dotnet_bin(t, &operands)
            {
                c = c.without(Classes::PROJECT_SOURCE) | Classes::BUILD_OUTPUT;
            }
            seen.borrow_mut().push((t, c));
            c
        };
        if !no_paths {
            let skip = usize::from(pattern_first);
            // `git show HEAD~1:.env` reads `.env` as of a revision.
            let blobs = e.name == "git"
                && matches!(
                    f.sub.as_deref(),
                    Some("show" | "cat-file" | "diff" | "grep")
                );
            for t in operands.iter().skip(skip).chain(values.iter()) {
                // A key ssh signs with is read on this machine and never sent: it is
                // no secret leaving (`ssh -i ~/.ssh/id_ed25519 host`), only where it is.
                // The very option value (by address): the same text as an operand
                // (`scp -i K K host:`) is a file copied.
                if identity.iter().any(|x| std::ptr::eq(*x, *t)) {
                    for cand in path_candidates(t) {
                        let c = without_secret(classify(cand));
                        f.paths |= c;
                        f.classified.push((cand.to_owned(), c));
                    }
                    continue;
                }
                let blob = t
                    .split_once(':')
                    .map(|(_, p)| p.trim_start_matches("./"))
                    .filter(|p| blobs && !p.is_empty() && !p.starts_with('/'));
                for cand in path_candidates(t).chain(blob) {
                    let c = classify(cand);
                    f.paths |= c;
                    f.classified.push((cand.to_owned(), c));
                }
            }
            let ops: Vec<&str> = operands.iter().skip(skip).copied().collect();
            let names_dir = f.flags.contains("directory")
                || ops.iter().any(|t| path_candidates(t).next().is_some());
            if spec.as_ref().is_some_and(|s| s.serves_cwd) && !names_dir {
                let c = classify(".");
                f.paths |= c;
                f.classified.push((".".to_owned(), c));
            }
            if let Some((last, before)) = ops.split_last() {
                if !before.is_empty()
                    || matches!(e.name.as_str(), "tee" | "sponge" | "touch" | "truncate")
                {
                    for cand in path_candidates(last) {
                        f.dest |= classify(cand);
                    }
                }
                for t in before {
                    for cand in path_candidates(t) {
                        f.src |= classify(cand);
                    }
                }
            }
        }
        for r in &e.redirects {
            let c = classify(&r.target.text);
            match r.kind {
                RedirectKind::Write | RedirectKind::Append => {
                    f.writes |= c;
                    f.classified.push((format!(">{}", r.target.text), c));
                }
                RedirectKind::Read => {
                    f.paths |= c;
                    f.classified.push((format!("<{}", r.target.text), c));
                }
                RedirectKind::Dup => {}
            }
        }
        for w in &written {
            let c = classify(w);
            f.writes |= c;
            f.classified.push((format!(">{w}"), c));
        }
        // A file-transfer client's own script (`lftp -e 'put .env; bye'`, `smbclient -c
        // 'put .env'`): the files it puts are local files sent off the machine.
        if TRANSFER_SCRIPTED.contains(&e.name.as_str()) {
            for &v in &values {
                for file in script_uploads(v) {
                    let c = classify(file);
                    f.paths |= c;
                    f.classified.push((file.to_owned(), c));
                    f.tags.insert("script_upload".to_owned());
                }
            }
        }
        if let Some(s) = &e.stdin {
            f.stdin_from = s.producers.clone();
            for p in &s.paths {
                if paths::looks_like_path(&p.text) {
                    f.stdin_paths |= classify(&p.text);
                }
            }
        }
        // Data pulled in by substitutions (`-d "$(cat ~/.ssh/id_rsa)"`) counts as input.
        for w in &e.args {
            for p in &w.inputs {
                if paths::looks_like_path(p) {
                    f.stdin_paths |= classify(p);
                }
            }
            if w.vars.iter().any(|v| SECRET_VAR.is_match(v)) {
                f.tags.insert("secret_var".to_owned());
            }
            // The whole environment in a word (`-d "$(env)"`, `$(cat /proc/self/environ)`):
            // every token and key in it rides along.
            if w.subst.iter().any(|s| ENV_DUMPERS.contains(&s.as_str()))
                || w.inputs.iter().any(|p| is_environ_file(p))
            {
                f.tags.insert("env_in_word".to_owned());
            }
            // Words made of the unfiltered process list's output (`ps aux | awk … |
            // xargs kill`, `kill $(ps -eo pid=)`): they may name every process. A grep
            // in between picks some (`ps -ef | grep vite | … | xargs kill`).
            if w.subst.iter().any(|s| s == "ps")
                && !w
                    .subst
                    .iter()
                    .any(|s| matches!(s.as_str(), "grep" | "egrep" | "fgrep" | "rg" | "ag"))
            {
                f.tags.insert("from_process_list".to_owned());
            }
        }
        // A process pattern is a regex (`pkill -f 'lighth[o]use'`); pids looked up by
        // `pgrep`/`pidof` in a substitution are what `kill` signals.
        if matches!(e.name.as_str(), "pkill" | "pgrep" | "pidof" | "killall")
            && operands.iter().any(|o| crate::procpat::names_guard(o))
        {
            f.tags.insert("names_guard_process".to_owned());
        }
        if e.args
            .iter()
            .any(|w| w.subst.iter().any(|s| s == "pgrep" || s == "pidof"))
        {
            f.tags.insert("pids_from_lookup".to_owned());
        }
        // `tee`, `sponge` and `dd of=` write through their operands.
        if e.name == "tee" || e.name == "sponge" {
            f.writes |= f.paths;
        }
        if e.name == "dd" {
            for t in &operands {
                if let Some(p) = t.strip_prefix("of=") {
                    f.writes |= classify(p);
                }
            }
        }
        f.args = operands
            .iter()
            .chain(values.iter())
            .map(|s| (*s).to_owned())
            .collect();
        f.operands = operands.iter().map(|s| (*s).to_owned()).collect();
        // Production awareness: operands, option values, unresolved variable names and
        // environment settings name the target.
        let named = operands
            .iter()
            .chain(values.iter())
            .copied()
            .chain(
                e.args
                    .iter()
                    .flat_map(|w| w.vars.iter().chain(&w.named).map(String::as_str)),
            )
            // What its producers named: it acts on their results.
            .chain(
                e.stdin
                    .iter()
                    .flat_map(|s| s.named.iter().map(String::as_str)),
            )
            .chain(
                e.env
                    .iter()
                    .filter(|(k, _)| targets::is_selector_var(k))
                    .map(|(_, v)| v.as_str()),
            )
            // A directory the chain moved into below the agent's own (`cd infra/prod &&
            // terraform destroy`): tools read their target from it. Only the part below
            // the agent's directory: the user's own path names nothing.
            .chain(moved.and_then(|c| {
                c.strip_prefix(base.cwd)
                    .filter(|rest| rest.starts_with('/'))
            }));
        for t in named {
            if targets::classify(t) == targets::Target::Production {
                f.production = true;
                f.production_by = Some(t.to_owned());
                break;
            }
        }
        if let Some(sub) = &f.sub {
            f.args.insert(0, sub.clone());
        }
        let mut text = String::with_capacity(64);
        text.push_str(&e.name);
        for a in &e.args {
            text.push(' ');
            text.push_str(&a.text);
        }
        for r in &e.redirects {
            text.push_str(if r.kind == RedirectKind::Read {
                " <"
            } else {
                " >"
            });
            text.push_str(&r.target.text);
        }
        if let Some(code) = &e.code {
            text.push('\n');
            text.push_str(code);
        }
        if let Some(t) = e.stdin.as_ref().and_then(|s| s.text.as_ref()) {
            text.push('\n');
            text.push_str(t);
        }
        // What substitutions read (`kill $(pgrep -f lighthouse)`), for text rules.
        for w in &e.args {
            for i in &w.inputs {
                text.push(' ');
                text.push_str(i);
            }
        }
        f.text = if crate::sql::is_client(&e.name) {
            crate::sql::blank_literals(&text)
        } else {
            text
        };
        f
    }
}

/// Commands that authenticate with a private key named by `-i` (or `-o IdentityFile=`):
/// the key signs a challenge locally, it is not data the command sends. A key given
/// as a file to copy (`scp ~/.ssh/id_rsa host:`) is an operand and still a secret.
const IDENTITY_COMMANDS: &[&str] = &["ssh", "scp", "sftp", "autossh"];

/// Whether option `key` with value `v` names the identity file of an ssh-family command.
fn is_identity_option(key: &str, v: &str) -> bool {
    key == "i"
        || (key == "o"
            && v.get(..13)
                .is_some_and(|p| p.eq_ignore_ascii_case("identityfile=")))
}

/// `-name=value` with a name of at least two option characters (`-url=…`, `-Dk=v`).
fn is_single_dash_assignment(t: &str) -> bool {
    t.strip_prefix('-')
        .filter(|r| !r.starts_with('-'))
        .and_then(|r| r.split_once('='))
        .is_some_and(|(name, _)| {
            name.len() >= 2
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        })
}

/// `c` without the `secret` attribute (location classes kept).
fn without_secret(c: Classes) -> Classes {
    c.names()
        .into_iter()
        .filter(|n| *n != "secret")
        .filter_map(Classes::from_name)
        .fold(Classes::empty(), |a, b| a | b)
}

/// Environment variable names that usually hold credentials.
static SECRET_VAR: std::sync::LazyLock<TwinRegex> = std::sync::LazyLock::new(|| {
    crate::interp::static_regex(
        r"(?i)(secret|token|passw(or)?d|api_?key|private_?key|credential|access_?key|session_?key|_pat$|^pat_|client_?secret)",
    )
});

fn severity(v: Verdict) -> u8 {
    match v {
        Verdict::Allow => 0,
        Verdict::Escalate => 1,
        Verdict::Deny => 2,
    }
}

/// The parts of one word that may name a file: the word, `of=PATH`, `@PATH`.
/// File-transfer clients that run a script of their own commands (`-e`/`-c`).
const TRANSFER_SCRIPTED: &[&str] = &["lftp", "smbclient"];

/// The local files a transfer script puts (`put a; mput b c; mirror -R dir`).
fn script_uploads(script: &str) -> impl Iterator<Item = &str> {
    script
        .split([';', '\n', '&', '|'])
        .filter_map(|stmt| {
            let mut words = stmt.split_whitespace();
            let verb = words.next()?;
            let mirror = verb == "mirror";
            let puts = matches!(verb, "put" | "mput" | "reput" | "append" | "rput");
            let reverse = mirror
                && stmt
                    .split_whitespace()
                    .any(|w| w == "-R" || w == "--reverse");
            (puts || reverse).then_some(words)
        })
        .flatten()
        .filter(|w| !w.starts_with('-'))
}

/// Commands that print the whole environment (`env`, `printenv`, `export -p`, `set`).
const ENV_DUMPERS: &[&str] = &["env", "printenv", "export", "set", "declare", "compgen"];

/// `/proc/self/environ`, `/proc/1/environ`: a process's environment.
fn is_environ_file(p: &str) -> bool {
    p.strip_prefix("/proc/")
        .and_then(|r| r.split_once('/'))
        .is_some_and(|(_, rest)| rest == "environ")
}

fn path_candidates(t: &str) -> impl Iterator<Item = &str> {
    let mut v: Vec<&str> = Vec::with_capacity(2);
    // Numbers (`truncate -s 0`, `-n 3`) are sizes and counts, not files.
    if t.bytes().any(|b| b.is_ascii_digit())
        && t.bytes()
            .all(|b| b.is_ascii_digit() || b == b'.' || b == b'+' || b == b'-')
    {
        return v.into_iter();
    }
    if paths::looks_like_path(t) {
        v.push(t);
    }
    // `key=@file` reads the file whatever the key (`gh api -F 'files[a.txt][content]=@.env'`).
    if let Some((k, val)) = t.split_once('=')
        && !k.is_empty()
        && (k
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            || (val.starts_with('@') && !k.contains(char::is_whitespace)))
    {
        let val = val.strip_prefix('@').unwrap_or(val);
        if paths::looks_like_path(val) {
            v.push(val);
        }
    }
    if let Some(p) = t.strip_prefix('@')
        && paths::looks_like_path(p)
    {
        v.push(p);
    }
    // `~/.ssh:/root/.ssh` (a volume), `/src:/dst`: the local side is a path too.
    if let Some((left, _)) = t.split_once(':')
        && (left.starts_with('/') || left.starts_with('~'))
        && paths::looks_like_path(left)
    {
        v.push(left);
    }
    v.into_iter()
}
