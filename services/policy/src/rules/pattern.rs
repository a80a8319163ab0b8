//! Rule patterns ([`LazyRegex`]): checked when a pack loads, compiled on first use, in
//! an ASCII form, split at long gaps or read as a built-in DFA; with their needles.
//! Separate because it is all about making regexes cheap, not about what rules mean.

use super::split;
use crate::PolicyError;
use crate::dense::Dense;
use regex::Regex;
use std::sync::{Arc, OnceLock};

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
    pub(super) pattern: String,
    compiled: OnceLock<Option<Regex>>,
    ascii: OnceLock<Option<regex::bytes::Regex>>,
    needles: OnceLock<Needles>,
    /// The ASCII form split at long counted gaps, when it has any ([`split`]).
    /// Boxed, like `dense`: a cold start builds hundreds of these and fills neither,
    /// and inline they made each one 1.8 KB of fresh memory to fault in.
    split: OnceLock<Option<Box<split::Split>>>,
    /// The ASCII form as a full DFA ([`Dense`]): a built-in pattern's is read from the
    /// binary when a call first needs it; others are built by
    /// [`RuleSet::precompile`](super::RuleSet::precompile) only.
    pub(super) dense: OnceLock<Option<Box<Dense>>>,
}

/// Texts every rule pattern is run over once compiled (whole and word by word), so its
/// search cache and the lazy DFA states ordinary command lines reach are built before
/// the first call, not during it.
pub(super) const WARM_TEXTS: &[&str] = &[
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

    pub(super) fn split(&self) -> Option<&split::Split> {
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
    /// another pattern, so [`RuleSet::precompile`](super::RuleSet::precompile) can still
    /// build one.
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

/// Checks each pattern's syntax (cheap, but not free:
/// [`PolicyPack::parse`](super::PolicyPack::parse) does it once per pack, not every time a
/// rule set is built from it).
pub(super) fn check_syntax(pats: &[String], pack: &str, rule: &str) -> Result<(), PolicyError> {
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
pub(super) fn regexes(pats: &[String]) -> Vec<Arc<LazyRegex>> {
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
