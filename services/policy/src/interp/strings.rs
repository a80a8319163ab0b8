//! Reading interpreter code as text: its string literals (where they are, what they
//! hold) and the simple assignments and concatenations that name a value. Separate
//! because every pattern check needs to know what is inside a literal and what is code.

use super::static_regex;
use crate::twin_regex::TwinRegex;
use crate::word::DYN;
use std::collections::HashMap;
use std::sync::LazyLock;

pub(super) static ASSIGN: LazyLock<TwinRegex> = LazyLock::new(|| {
    static_regex(
        r#"(?:^|[;\s({])(?:my\s+|let\s+|const\s+|var\s+)?\$?([A-Za-z_]\w*)\s*=\s*(?:'([^'\\]*)'|"([^"\\]*)")"#,
    )
});

/// Whether `code` has an `=` followed by blanks and a quote, which every [`ASSIGN`]
/// match has. The pattern has no literal to search for first, so its lazy DFA would
/// otherwise walk (and, on text it has not seen, build states along) all of the code.
fn may_assign(code: &str) -> bool {
    code.match_indices('=').any(|(i, _)| {
        code[i + 1..]
            .trim_start_matches(char::is_whitespace)
            .starts_with(['\'', '"'])
    })
}

/// `name = 'literal'` (and `$name = "…"`) assignments in one-liner code.
pub(super) fn assignments(code: &str) -> HashMap<String, String> {
    if !may_assign(code) {
        return HashMap::new();
    }
    let mut vars = HashMap::new();
    for c in ASSIGN.captures_iter(code).take(64) {
        let (Some(name), Some(v)) = (c.get(1), c.get(2).or_else(|| c.get(3))) else {
            continue;
        };
        // `p = '~' + '/.claude/settings.json'`: the value is the whole concatenation,
        // up to the end of the statement.
        let after = code[v.end() + 1..].trim_start();
        let value = if after.starts_with('+') || after.starts_with(". ") {
            let rhs = &code[v.start() - 1..];
            let end = rhs[v.len() + 2..]
                .find([';', '\n'])
                .map_or(rhs.len(), |e| e + v.len() + 2);
            concatenation(&rhs[..end], &vars).unwrap_or_else(|| v.as_str().to_owned())
        } else {
            v.as_str().to_owned()
        };
        vars.insert(name.as_str().to_owned(), value);
    }
    vars
}

/// Evaluates `'a' + b + "c"` / `"a" . $b`: literals, known variables, and [`DYN`] for
/// anything else. `None` when the arguments are not a concatenation.
pub(super) fn concatenation(args: &str, vars: &HashMap<String, String>) -> Option<String> {
    let b = args.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    let mut joined = false;
    let mut ident = String::new();
    let flush = |ident: &mut String, out: &mut String| {
        let name = ident.trim().trim_start_matches('$');
        if !name.is_empty() {
            match vars.get(name) {
                Some(v) => out.push_str(v),
                None => out.push(DYN),
            }
        }
        ident.clear();
    };
    while i < b.len() {
        let c = b[i];
        if c == b'\'' || c == b'"' {
            let rest = args.get(i + 1..)?;
            let end = rest.find(c as char)?;
            out.push_str(&rest[..end]);
            i += end + 2;
            continue;
        }
        match c {
            b'+' => {
                flush(&mut ident, &mut out);
                joined = true;
            }
            b'.' if b.get(i + 1) == Some(&b' ') || b.get(i.wrapping_sub(1)) == Some(&b' ') => {
                flush(&mut ident, &mut out);
                joined = true;
            }
            b',' | b')' | b'{' => break,
            _ => ident.push(c as char),
        }
        i += 1;
    }
    flush(&mut ident, &mut out);
    joined.then_some(out)
}

/// Whether byte `pos` of `code` lies inside one of the (non-backtick) literals: a call
/// written inside a string (`print("os.system(…)")`) is text, not a call.
pub(super) fn in_literal(strings: &[(&str, u8)], code: &str, pos: usize) -> bool {
    let base = code.as_ptr() as usize;
    let start_of = |lit: &str| (lit.as_ptr() as usize).saturating_sub(base);
    // Literals come in order: find the last one starting at or before `pos`.
    let idx = strings.partition_point(|(lit, _)| start_of(lit) <= pos);
    idx > 0
        && strings
            .get(idx - 1)
            .is_some_and(|(lit, q)| *q != b'`' && pos < start_of(lit) + lit.len())
}

/// String literals in `text` (`'…'`, `"…"`, tripled quotes, backticks) with their quote
/// character. A small scanner: capture-group regexes cost more per call than the whole
/// shell parse.
pub(super) fn scan_strings(text: &str) -> Vec<(&str, u8)> {
    scan_strings_of(text, false)
}

/// [`scan_strings`], and with `percent` Ruby's bracketed percent literals too
/// (`%q(…)`, `%Q{…}`, `%w[…]`, `%(…)`), marked with `%`.
pub(super) fn scan_strings_of(text: &str, percent: bool) -> Vec<(&str, u8)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() && out.len() < 4096 {
        let q = b[i];
        if percent
            && q == b'%'
            && let Some((start, end)) = percent_literal(b, i)
        {
            if let Some(lit) = text.get(start..end) {
                out.push((lit, b'%'));
            }
            i = end + 1;
            continue;
        }
        if !matches!(q, b'\'' | b'"' | b'`') {
            i += 1;
            continue;
        }
        let triple = q != b'`' && b.get(i..i + 3) == Some(&[q, q, q][..]);
        let open = if triple { 3 } else { 1 };
        let start = i + open;
        let mut j = start;
        let mut end = None;
        while j < b.len() {
            if b[j] == b'\\' {
                j += 2;
                continue;
            }
            if b[j] == q && (!triple || b.get(j..j + 3) == Some(&[q, q, q][..])) {
                end = Some(j);
                break;
            }
            j += 1;
        }
        let Some(e) = end else { break };
        if let Some(lit) = text.get(start..e) {
            out.push((lit, q));
        }
        i = e + open;
    }
    out
}

/// The body of a Ruby percent literal opening at `b[at]` (`%q(`, `%Q[`, `%w{`, `%<`,
/// or a bare `%(` where no operand precedes it), up to its matching bracket: (start,
/// end) byte offsets of the body.
fn percent_literal(b: &[u8], at: usize) -> Option<(usize, usize)> {
    let mut open_at = at + 1;
    if matches!(
        b.get(open_at),
        Some(b'q' | b'Q' | b'w' | b'W' | b'i' | b'I')
    ) {
        open_at += 1;
    } else {
        // Bare `%(`: only where a value starts, not `x %(y)` as modulo.
        let before = b[..at].iter().rev().find(|c| !c.is_ascii_whitespace());
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, b')' | b']' | b'_')) {
            return None;
        }
    }
    let open = *b.get(open_at)?;
    let close = match open {
        b'(' => b')',
        b'[' => b']',
        b'{' => b'}',
        b'<' => b'>',
        _ => return None,
    };
    let mut nesting = 0usize;
    let mut j = open_at + 1;
    while j < b.len() {
        match b[j] {
            b'\\' => j += 1,
            c if c == open => nesting += 1,
            c if c == close && nesting == 0 => return Some((open_at + 1, j)),
            c if c == close => nesting -= 1,
            _ => {}
        }
        j += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cheap test never hides an assignment the pattern finds.
    #[test]
    fn may_assign_holds_wherever_the_pattern_matches() {
        let mut texts: Vec<String> = [
            "x = 'a'",
            "x=\"a\"",
            "my $d = \"/\"; rmtree($d)",
            "x =\u{2003}'a'",
            "a == b",
            "f(x='y')",
            "",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        fn strings(v: &serde_json::Value, out: &mut Vec<String>) {
            match v {
                serde_json::Value::String(s) => out.push(s.clone()),
                serde_json::Value::Object(o) => o.values().for_each(|x| strings(x, out)),
                _ => {}
            }
        }
        for input in crate::corpus_inputs() {
            strings(&input, &mut texts);
        }
        let mut matched = 0;
        for t in &texts {
            if ASSIGN.captures_iter(t).next().is_some() {
                matched += 1;
                assert!(may_assign(t), "{t:?}");
            }
        }
        assert!(matched > 20, "{matched}");
    }
}
