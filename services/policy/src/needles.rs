//! A pattern's needles: sets of literals (those every match starts with, those it ends
//! with) such that ASCII text the pattern matches holds one of each set. A call whose
//! text lacks a set skips the pattern without compiling it.
//!
//! `build.rs` includes this file too and computes the needles of every built-in
//! pattern at build time, so a hook's cold start parses none of them; hence this
//! module uses nothing but `regex_syntax`.

/// A rule's pattern list as one alternation: one scan instead of several.
pub fn join(pats: &[String]) -> String {
    // One allocation per list: rule sets are built on every cold start.
    let mut joined = String::with_capacity(pats.iter().map(|p| p.len() + 5).sum());
    for p in pats {
        if !joined.is_empty() {
            joined.push('|');
        }
        joined.push_str("(?:");
        joined.push_str(p);
        joined.push(')');
    }
    joined
}

/// The needles of `pattern`: empty when it is not ASCII, and sets without a finite form
/// are left out.
pub fn of(pattern: &str) -> Vec<Vec<String>> {
    use regex_syntax::hir::literal::{ExtractKind, Extractor};
    if !pattern.is_ascii() {
        return Vec::new();
    }
    let Some(hir) = ascii_hir(pattern) else {
        return Vec::new();
    };
    [ExtractKind::Prefix, ExtractKind::Suffix]
        .into_iter()
        .filter_map(|kind| {
            let mut ex = Extractor::new();
            ex.kind(kind);
            ex.extract(&hir)
                .literals()?
                .iter()
                .map(|l| String::from_utf8(l.as_bytes().to_vec()).ok())
                .collect()
        })
        .collect()
}

/// `pattern`'s syntax as it reads ASCII bytes (Unicode off: what the rules' ASCII forms
/// compile).
pub fn ascii_hir(pattern: &str) -> Option<regex_syntax::hir::Hir> {
    regex_syntax::ParserBuilder::new()
        .unicode(false)
        .utf8(false)
        .build()
        .parse(pattern)
        .ok()
}
