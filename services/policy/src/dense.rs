//! Fully built DFAs that answer "does it match" on ASCII text.
//!
//! Why: the regex crate's lazy DFA builds each state the first time a text leads to it,
//! at 0.5–2 µs a state, so the first look at a new command, prompt or script cost tens
//! of microseconds per pattern, and a long-running worker kept paying it for every new
//! text. A dense DFA is built once (in [`crate::Policy::precompile`], never in a one-shot
//! hook) and then costs a table look-up per byte. Patterns whose DFA would exceed
//! [`SIZE_LIMIT`] are left to the lazy form, as before.
//!
//! The built-in patterns' DFAs are built with the crate: `build.rs` includes this file,
//! serializes each one, and the crate reads them in place ([`Dense::read`]).
//! A hook's first call then checks a table instead of compiling a regex (0.05–0.2 ms
//! each, cold), and validators start without building them.

use regex_automata::Input;
use regex_automata::dfa::{Automaton, StartKind, dense};
use regex_automata::nfa::thompson;
use regex_syntax::hir::{Hir, HirKind};

/// Largest DFA built per pattern (and largest determinisation working set).
const SIZE_LIMIT: usize = 1 << 18;

/// A pattern's ASCII form as a full DFA (see the module docs).
#[derive(Debug)]
pub(crate) enum Dense {
    Built(dense::DFA<Vec<u32>>),
    /// Read in place from bytes built into the binary.
    Read(dense::DFA<&'static [u32]>),
}

impl Dense {
    /// `unicode`: the pattern is written for the Unicode-mode parser (an ASCII twin);
    /// otherwise it is read with Unicode off, over bytes. `None` when over the limit or
    /// not expressible as a DFA.
    pub(crate) fn build(pattern: &str, unicode: bool) -> Option<Dense> {
        let hir = regex_syntax::ParserBuilder::new()
            .unicode(unicode)
            .utf8(unicode)
            .build()
            .parse(pattern)
            .ok()?;
        if long_count(&hir) {
            return None;
        }
        let nfa = thompson::Compiler::new()
            .configure(thompson::Config::new().utf8(unicode))
            .build_from_hir(&hir)
            .ok()?;
        let dfa = dense::Builder::new()
            .configure(
                dense::DFA::config()
                    .start_kind(StartKind::Unanchored)
                    .dfa_size_limit(Some(SIZE_LIMIT))
                    .determinize_size_limit(Some(SIZE_LIMIT)),
            )
            .build_from_nfa(&nfa)
            .ok()?;
        Some(Dense::Built(dfa))
    }

    /// A DFA serialized by [`Dense::to_bytes`] (on a machine of the same byte order),
    /// checked and read without copying; `None` if the bytes are not one.
    pub(crate) fn read(bytes: &'static [u8]) -> Option<Dense> {
        dense::DFA::from_bytes(bytes)
            .ok()
            .map(|(dfa, _)| Dense::Read(dfa))
    }

    /// The DFA serialized in this machine's byte order, for [`Dense::read`] (the bytes
    /// must be read from an address aligned for `u32`).
    #[cfg_attr(not(test), allow(dead_code))] // for build.rs and the tests
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let (bytes, pad) = match self {
            Dense::Built(dfa) => dfa.to_bytes_native_endian(),
            Dense::Read(dfa) => dfa.to_bytes_native_endian(),
        };
        bytes[pad..].to_vec()
    }

    /// Whether the pattern matches somewhere in `text` (ASCII only); `None` if the DFA
    /// could not decide (it then defers to the regex).
    pub(crate) fn is_match(&self, text: &[u8]) -> Option<bool> {
        debug_assert!(text.is_ascii());
        let input = Input::new(text).earliest(true);
        let found = match self {
            Dense::Built(dfa) => dfa.try_search_fwd(&input),
            Dense::Read(dfa) => dfa.try_search_fwd(&input),
        };
        found.ok().map(|m| m.is_some())
    }
}

/// A counted repetition this long (`x{20,}`, `[^.]{0,80}`) makes an unanchored DFA too
/// large for the limit; it is cheaper to see so than to find out by building.
const LONG_COUNT: u32 = 16;

fn long_count(h: &Hir) -> bool {
    match h.kind() {
        HirKind::Repetition(r) => r.max.unwrap_or(r.min) >= LONG_COUNT || long_count(&r.sub),
        HirKind::Capture(c) => long_count(&c.sub),
        HirKind::Concat(subs) | HirKind::Alternation(subs) => subs.iter().any(long_count),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_the_regex_on_ascii() {
        for (p, unicode) in [
            (r"(?i)\bdrop\s+(table|database)\b", false),
            (r"^\+?(refs/heads/)?(main|release[/_-][\w./-]+)$", false),
            (r"(?-u:\b)exec\s*\(", true),
            (r"x*", false),
        ] {
            let d = Dense::build(p, unicode).expect("builds");
            let r = regex::bytes::RegexBuilder::new(p)
                .unicode(unicode)
                .build()
                .expect("compiles");
            for t in [
                "DROP  TABLE x",
                "dropped table",
                "release/2.x",
                "main",
                "exec (",
                "",
                "y",
            ] {
                assert_eq!(
                    d.is_match(t.as_bytes()),
                    Some(r.is_match(t.as_bytes())),
                    "{p} {t}"
                );
            }
        }
    }

    #[test]
    fn too_large_is_none() {
        assert!(Dense::build(r"[a-z]{0,80}[0-9]{0,80}x[a-z]{0,80}y", false).is_none());
    }
}
