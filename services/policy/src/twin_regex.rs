//! Regexes with an ASCII twin: the same pattern with every class cut down to ASCII.
//!
//! Why: the regex crate's lazy DFA builds its states on first use, and a Unicode class
//! (`\w`, `\b`, `(?i)`) makes each new state cost from tens of microseconds to a few
//! milliseconds, so the first calls down a path were 10–100× slower than later ones.
//! Nearly every command is ASCII, and on ASCII text the twin matches exactly where the
//! full pattern does (same matches, same groups): a class can only ever be tested
//! against an ASCII character there, a non-ASCII literal can never match, and a Unicode
//! word boundary between ASCII characters is the ASCII one. Text with any non-ASCII
//! byte still goes to the full pattern. Both compile on first use (the full one always,
//! so a pattern over the size limit matches nothing, as before); workers compile both
//! up front ([`TwinRegex::compile`]).
//!
//! This serves the engine's own literal patterns (captures, positions); rule patterns
//! from packs only ask "does it match" and use the rules module's `LazyRegex`, which also
//! skips compiling when the text lacks the pattern's literals.

use crate::dense::Dense;
use regex::{Captures, Match, Regex};
use regex_syntax::hir::{
    self, Class, ClassBytes, ClassBytesRange, ClassUnicode, ClassUnicodeRange, Hir, HirKind, Look,
};
use std::borrow::Cow;
use std::sync::OnceLock;

/// The regex crate's own default, for the engine's literal patterns.
const DEFAULT_SIZE_LIMIT: usize = 10 * (1 << 20);

/// A pattern compiled on first use, in full and as its ASCII twin.
#[derive(Debug)]
pub struct TwinRegex {
    pattern: String,
    size_limit: usize,
    full: OnceLock<Option<Regex>>,
    ascii: OnceLock<Option<Regex>>,
    /// The twin as a full DFA, built by [`TwinRegex::compile`] only: it answers whether
    /// ASCII text matches at all, so most searches never touch the lazy DFA.
    dense: OnceLock<Option<Dense>>,
}

impl TwinRegex {
    /// `pattern` must have passed a syntax check; one that still fails to compile
    /// (only a size limit can do that) matches nothing.
    pub fn new(pattern: impl Into<String>, size_limit: usize) -> TwinRegex {
        TwinRegex {
            pattern: pattern.into(),
            size_limit,
            full: OnceLock::new(),
            ascii: OnceLock::new(),
            dense: OnceLock::new(),
        }
    }

    /// A pattern already compiled in full (the engine's literal patterns); its twin
    /// still compiles on first use.
    pub fn from_full(full: Regex) -> TwinRegex {
        TwinRegex {
            pattern: full.as_str().to_owned(),
            size_limit: DEFAULT_SIZE_LIMIT,
            full: OnceLock::from(Some(full)),
            ascii: OnceLock::new(),
            dense: OnceLock::new(),
        }
    }

    fn full(&self) -> Option<&Regex> {
        self.full
            .get_or_init(|| build(&self.pattern, self.size_limit))
            .as_ref()
    }

    fn ascii(&self) -> Option<&Regex> {
        self.ascii
            .get_or_init(|| {
                let twin = ascii_pattern(&self.pattern)?;
                build(&twin, self.size_limit)
            })
            .as_ref()
    }

    /// Compiles both forms now; false when the full pattern does not compile. The
    /// ASCII form also runs over [`samples`] of its own matches, so the lazy DFA states
    /// along them are built here rather than by the first calls.
    pub fn compile(&self) -> bool {
        let full = self.full().is_some();
        if let Some(r) = self.ascii() {
            for t in samples_of(&self.pattern) {
                let _ = r.is_match(&t);
                let _ = r.find_iter(&t).count();
            }
            if full {
                self.dense.get_or_init(|| Dense::build(r.as_str(), true));
            }
        }
        full
    }

    /// Whether the DFA answers for `text`, and its answer.
    fn dense_match(&self, text: &str) -> Option<bool> {
        match self.dense.get() {
            Some(Some(d)) if text.is_ascii() => d.is_match(text.as_bytes()),
            _ => None,
        }
    }

    /// [`TwinRegex::pick`], or `None` when the DFA rules out any match.
    fn pick_matching(&self, text: &str) -> Option<&Regex> {
        if self.dense_match(text) == Some(false) {
            return None;
        }
        self.pick(text)
    }

    /// The form to run on `text`: the twin for ASCII text (when it could be built).
    /// `None` when the full pattern does not compile: then the twin is not used either,
    /// so such a pattern matches nothing, whatever the text.
    pub fn pick(&self, text: &str) -> Option<&Regex> {
        let full = self.full()?;
        if text.is_ascii()
            && let Some(r) = self.ascii()
        {
            return Some(r);
        }
        Some(full)
    }

    pub fn is_match(&self, text: &str) -> bool {
        if let Some(m) = self.dense_match(text) {
            return m;
        }
        self.pick(text).is_some_and(|r| r.is_match(text))
    }

    pub fn find_iter<'h>(&self, text: &'h str) -> impl Iterator<Item = Match<'h>> {
        self.pick_matching(text)
            .into_iter()
            .flat_map(move |r| r.find_iter(text))
    }

    pub fn captures_iter<'h>(&self, text: &'h str) -> impl Iterator<Item = Captures<'h>> {
        self.pick_matching(text)
            .into_iter()
            .flat_map(move |r| r.captures_iter(text))
    }

    pub fn replace_all<'h>(&self, text: &'h str, with: &str) -> Cow<'h, str> {
        match self.pick_matching(text) {
            Some(r) => r.replace_all(text, with),
            None => Cow::Borrowed(text),
        }
    }
}

/// Most example strings kept per syntax node (bounds the warm-up of a large pattern).
const MAX_SAMPLES: usize = 48;

/// Example matches of `pattern` (every branch of every alternation at least once, each
/// repetition as few times as it allows), each inside a line of ordinary code
/// (`x = f(…)`): running the pattern over them walks its match paths. Derived from the
/// pattern alone; anchors and word boundaries may keep some from matching, which only
/// makes the warm-up shorter.
fn samples_of(pattern: &str) -> Vec<String> {
    let Some(hir) = crate::needles::ascii_hir(pattern) else {
        return Vec::new();
    };
    samples(&hir)
        .into_iter()
        .filter_map(|s| String::from_utf8(s).ok())
        .map(|s| format!("import os; x = {s}('a', b=1); y = 2\n"))
        .collect()
}

/// Example strings of `h`, each as short as its repetitions allow.
fn samples(h: &Hir) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = match h.kind() {
        HirKind::Empty | HirKind::Look(_) => vec![Vec::new()],
        HirKind::Literal(hir::Literal(bytes)) => vec![bytes.to_vec()],
        HirKind::Class(Class::Bytes(c)) => {
            let mut v: Vec<Vec<u8>> = c
                .ranges()
                .first()
                .zip(c.ranges().last())
                .map(|(a, z)| vec![vec![a.start()], vec![z.end()]])
                .unwrap_or_default();
            v.dedup();
            v
        }
        HirKind::Class(Class::Unicode(c)) => {
            let mut v: Vec<Vec<u8>> = c
                .ranges()
                .first()
                .zip(c.ranges().last())
                .map(|(a, z)| {
                    vec![
                        a.start().to_string().into_bytes(),
                        z.end().to_string().into_bytes(),
                    ]
                })
                .unwrap_or_default();
            v.dedup();
            v
        }
        HirKind::Capture(c) => samples(&c.sub),
        HirKind::Repetition(r) => {
            let times = (r.min as usize).clamp(1, 16);
            let mut v: Vec<Vec<u8>> = samples(&r.sub)
                .into_iter()
                .map(|one| one.repeat(times))
                .collect();
            if r.min == 0 {
                v.insert(0, Vec::new());
            }
            v
        }
        HirKind::Alternation(subs) => subs.iter().flat_map(samples).collect(),
        HirKind::Concat(subs) => {
            // Each part's first sample, and every other sample of one part at a time.
            let parts: Vec<Vec<Vec<u8>>> = subs.iter().map(samples).collect();
            if parts.iter().any(Vec::is_empty) {
                return Vec::new();
            }
            let base: Vec<&[u8]> = parts.iter().map(|p| p[0].as_slice()).collect();
            let mut v = vec![base.concat()];
            for (i, part) in parts.iter().enumerate() {
                for alt in part.iter().skip(1) {
                    let mut one = base.clone();
                    one[i] = alt;
                    v.push(one.concat());
                }
            }
            v
        }
    };
    out.truncate(MAX_SAMPLES);
    out
}

fn build(pattern: &str, size_limit: usize) -> Option<Regex> {
    regex::RegexBuilder::new(pattern)
        .size_limit(size_limit)
        .build()
        .ok()
}

/// The ASCII twin of `pattern`, as a pattern; `None` if it does not parse.
fn ascii_pattern(pattern: &str) -> Option<String> {
    // The parser's defaults are the regex crate's (Unicode on, UTF-8 only).
    let hir = regex_syntax::ParserBuilder::new()
        .build()
        .parse(pattern)
        .ok()?;
    // Printing an `Hir` yields a pattern that parses back to the same `Hir`.
    Some(ascii_only(&hir).to_string())
}

/// `h` restricted to ASCII haystacks (see the module docs).
fn ascii_only(h: &Hir) -> Hir {
    match h.kind() {
        HirKind::Empty => Hir::empty(),
        HirKind::Literal(hir::Literal(bytes)) if bytes.is_ascii() => Hir::literal(bytes.clone()),
        HirKind::Literal(_) => Hir::fail(),
        HirKind::Class(Class::Unicode(c)) => {
            let mut c = c.clone();
            c.intersect(&ClassUnicode::new([ClassUnicodeRange::new('\0', '\x7f')]));
            Hir::class(Class::Unicode(c))
        }
        HirKind::Class(Class::Bytes(c)) => {
            let mut c = c.clone();
            c.intersect(&ClassBytes::new([ClassBytesRange::new(0, 0x7f)]));
            Hir::class(Class::Bytes(c))
        }
        HirKind::Look(l) => Hir::look(ascii_look(*l)),
        HirKind::Repetition(r) => Hir::repetition(hir::Repetition {
            sub: Box::new(ascii_only(&r.sub)),
            ..r.clone()
        }),
        HirKind::Capture(c) => Hir::capture(hir::Capture {
            index: c.index,
            name: c.name.clone(),
            sub: Box::new(ascii_only(&c.sub)),
        }),
        HirKind::Concat(subs) => Hir::concat(subs.iter().map(ascii_only).collect()),
        HirKind::Alternation(subs) => Hir::alternation(subs.iter().map(ascii_only).collect()),
    }
}

/// Word boundaries between ASCII characters are the same in both senses.
fn ascii_look(l: Look) -> Look {
    match l {
        Look::WordUnicode => Look::WordAscii,
        Look::WordUnicodeNegate => Look::WordAsciiNegate,
        Look::WordStartUnicode => Look::WordStartAscii,
        Look::WordEndUnicode => Look::WordEndAscii,
        Look::WordStartHalfUnicode => Look::WordStartHalfAscii,
        Look::WordEndHalfUnicode => Look::WordEndHalfAscii,
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATTERNS: &[&str] = &[
        r"^\+?(refs/heads/)?(main|release[/_-][\w./-]+)$",
        r"(?i)\b(secret|token|passw(or)?d|api_?key)\b",
        r"(?i)drop\s+(table|database)",
        r"(?i)ſ|k",
        r"\bexec\s*\(|\beval\s*[\(`]",
        r"[^a-z]+\W\S\D.",
        r"(?m)^\s*rm\s+-rf\s*$",
        r"(?P<name>[A-Za-z_]\w*)\s*=\s*(?:'([^'\\]*)'|\x22([^\x22\\]*)\x22)",
        r"é|\x{212A}|\p{Greek}+x",
        r"\B-\w+\b",
        r"(?i)\bKEY\b",
    ];

    const TEXTS: &[&str] = &[
        "git push --force origin release/2.3",
        "+refs/heads/main",
        "release_x.y",
        "echo $API_KEY; export Password=1",
        "DROP  TABLE users",
        "s k K S",
        "exec (x); eval`y`",
        "abc",
        "  rm -rf  \nrm -rf",
        "name = 'v' other=\"w\"",
        "x-yz -flag",
        "a key;KEY_ b",
        "",
    ];

    #[test]
    fn twin_matches_like_the_full_pattern_on_ascii() {
        for p in PATTERNS {
            let full = Regex::new(p).unwrap();
            let twin = Regex::new(&ascii_pattern(p).unwrap()).unwrap();
            for t in TEXTS {
                let a: Vec<_> = full
                    .captures_iter(t)
                    .map(|c| c.iter().map(|m| m.map(|m| m.range())).collect::<Vec<_>>())
                    .collect();
                let b: Vec<_> = twin
                    .captures_iter(t)
                    .map(|c| c.iter().map(|m| m.map(|m| m.range())).collect::<Vec<_>>())
                    .collect();
                assert_eq!(a, b, "{p} on {t:?} (twin {twin})");
            }
        }
    }

    #[test]
    fn non_ascii_text_uses_the_full_pattern() {
        let r = TwinRegex::new(r"(?i)^\w+$", DEFAULT_SIZE_LIMIT);
        assert!(r.is_match("héllo"));
        assert!(r.is_match("ſ"));
        assert!(r.is_match("hello"));
        assert!(!r.is_match("he llo"));
        assert!(r.compile());
    }

    #[test]
    fn twins_are_ascii_classes() {
        let twin = ascii_pattern(r"(?i)\w").unwrap();
        assert!(twin.is_ascii(), "{twin}");
        assert!(!twin.contains("(?i)"), "{twin}");
    }

    #[test]
    fn a_pattern_over_the_limit_matches_nothing() {
        let r = TwinRegex::new(r"\w{1000}", 1000);
        assert!(!r.is_match("x"));
        assert!(!r.compile());
        assert_eq!(r.find_iter("x").count(), 0);
        assert_eq!(r.replace_all("x", "y"), "x");
    }
}
