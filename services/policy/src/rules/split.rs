//! Rule patterns with a long counted gap (`\b(remove|disable|…)\b[^.\n]{0,80}(hook|…)`),
//! matched piece by piece first.
//!
//! Why: the lazy DFA of such a pattern builds a new state for nearly every byte of text
//! it has not seen, each costly (the gap's counter times every partial match), so the
//! first look at a prompt or a script cost 50–100 µs per pattern. A match of
//! `A GAP B` needs a match of `A` and a match of `B` somewhere in the same text (the
//! same haystack, so `\b` and anchors judge alike): when one of them is missing, the
//! alternative cannot match and its DFA never runs. Only when every piece is present
//! does the alternative itself decide. Alternatives without a long gap are matched
//! together, as one pattern, exactly as before.

use crate::dense::Dense;
use regex::bytes::{Regex, RegexBuilder};
use regex_syntax::hir::{Hir, HirKind};
use std::sync::OnceLock;

/// A counted repetition this long (its upper bound, or its lower one when unbounded)
/// is a gap worth splitting at.
const LONG: u32 = 16;

/// One part of a split pattern: its lazy form, and a full DFA once precompiled.
#[derive(Debug)]
struct Part {
    regex: Regex,
    dense: OnceLock<Option<Dense>>,
}

impl Part {
    fn is_match(&self, text: &[u8]) -> bool {
        if let Some(Some(d)) = self.dense.get()
            && let Some(m) = d.is_match(text)
        {
            return m;
        }
        self.regex.is_match(text)
    }

    fn precompile(&self) {
        self.dense
            .get_or_init(|| Dense::build(self.regex.as_str(), false));
    }
}

/// One alternative with a long gap: the pieces around its gaps, and itself.
#[derive(Debug)]
struct Gapped {
    pieces: Vec<Part>,
    whole: Part,
}

/// A pattern's ASCII form, split at long gaps (see the module docs).
#[derive(Debug)]
pub(super) struct Split {
    /// The alternatives without a long gap, as one pattern (`None` if there are none).
    rest: Option<Part>,
    gapped: Vec<Gapped>,
}

impl Split {
    /// `None` when no alternative of `pattern` has a long gap (or it does not compile
    /// piecewise): then the pattern is matched whole, as before.
    pub(super) fn of(pattern: &str, size_limit: usize) -> Option<Split> {
        let hir = regex_syntax::ParserBuilder::new()
            .unicode(false)
            .utf8(false)
            .build()
            .parse(pattern)
            .ok()?;
        let alternatives: Vec<&Hir> = match hir.kind() {
            HirKind::Alternation(subs) => subs.iter().collect(),
            _ => vec![&hir],
        };
        let compile = |h: &Hir| {
            let regex = RegexBuilder::new(&h.to_string())
                .unicode(false)
                .size_limit(size_limit)
                .build()
                .ok()?;
            Some(Part {
                regex,
                dense: OnceLock::new(),
            })
        };
        let mut rest = Vec::new();
        let mut gapped = Vec::new();
        for alt in alternatives {
            match pieces(alt) {
                Some(parts) => gapped.push(Gapped {
                    pieces: parts.iter().map(compile).collect::<Option<_>>()?,
                    whole: compile(alt)?,
                }),
                None => rest.push(alt.clone()),
            }
        }
        if gapped.is_empty() {
            return None;
        }
        let rest = match rest.len() {
            0 => None,
            _ => Some(compile(&Hir::alternation(rest))?),
        };
        Some(Split { rest, gapped })
    }

    /// Builds each part's full DFA (those within the size limit).
    pub(super) fn precompile(&self) {
        let gapped = self
            .gapped
            .iter()
            .flat_map(|g| g.pieces.iter().chain([&g.whole]));
        for p in self.rest.iter().chain(gapped) {
            p.precompile();
        }
    }

    /// `text` must be ASCII.
    pub(super) fn is_match(&self, text: &[u8]) -> bool {
        self.rest.as_ref().is_some_and(|r| r.is_match(text))
            || self
                .gapped
                .iter()
                .any(|g| g.pieces.iter().all(|p| p.is_match(text)) && g.whole.is_match(text))
    }
}

/// The parts of `h` around its long gaps, when it is a sequence that has one.
fn pieces(h: &Hir) -> Option<Vec<Hir>> {
    let mut h = h;
    while let HirKind::Capture(c) = h.kind() {
        h = &c.sub;
    }
    let HirKind::Concat(subs) = h.kind() else {
        return None;
    };
    let long =
        |s: &Hir| matches!(s.kind(), HirKind::Repetition(r) if r.max.unwrap_or(r.min) >= LONG);
    if !subs.iter().any(long) {
        return None;
    }
    let parts: Vec<Hir> = subs
        .split(|s| long(s))
        .filter(|run| !run.is_empty())
        .map(|run| Hir::concat(run.to_vec()))
        .collect();
    (!parts.is_empty()).then_some(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_only_at_long_gaps_and_matches_alike() {
        let p = r"(?:(?i)\b(remove|disable)\b(?:[^.\n]|\.\S){0,80}(\.claude\b|\blighthouse\b))|(?:(?i)disableAllHooks)";
        let split = Split::of(p, 1 << 22).expect("has a gap");
        assert_eq!(split.gapped.len(), 1);
        assert_eq!(split.gapped[0].pieces.len(), 2);
        let whole = RegexBuilder::new(p).unicode(false).build().unwrap();
        for t in [
            "Remove the PreToolUse hook. Then lighthouse",
            "remove the lighthouse hook",
            "please REMOVE x from .claude/settings.json",
            "lighthouse: remove",
            "set disableAllHooks to true",
            "removed lighthouse",
            "",
        ] {
            assert_eq!(
                split.is_match(t.as_bytes()),
                whole.is_match(t.as_bytes()),
                "{t}"
            );
        }
        assert!(Split::of(r"\bfoo\s+bar", 1 << 22).is_none());
        assert!(Split::of(r"[a-z]{0,8}x", 1 << 22).is_none());
    }
}
