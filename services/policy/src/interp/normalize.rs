//! Spellings of calls the patterns do not read (Perl's `q{…}` quoting, Python's
//! `getattr`, JavaScript aliases of `child_process` functions), rewritten into ones they
//! do before any pattern runs.

use super::Lang;
use super::patterns::{GETATTR, JS_ALIAS};

/// Rewrites call forms the patterns below do not read into ones they do: Perl's
/// `q{…}`/`qq{…}` quoting as `"…"`, Python's `getattr(module, 'name')` as `module.name`,
/// JavaScript aliases of `child_process` functions as the functions. `None` when none
/// applies (the common case costs a few substring checks).
pub(super) fn normalize_calls(lang: Lang, code: &str) -> Option<String> {
    match lang {
        Lang::Perl if code.contains("q{") || code.contains("q(") || code.contains("q[") => {
            Some(perl_quotes(code))
        }
        Lang::Python if code.contains("getattr(") => {
            let mut out = String::with_capacity(code.len());
            let mut last = 0;
            for c in GETATTR.captures_iter(code).take(8) {
                let all = c.get(0)?;
                let module = c.get(1).or(c.get(2)).map_or("", |m| m.as_str());
                out.push_str(&code[last..all.start()]);
                out.push_str(module);
                out.push('.');
                out.push_str(&c[3]);
                last = all.end();
            }
            out.push_str(&code[last..]);
            Some(out)
        }
        Lang::Node if code.contains("child_process") || code.contains("fs") => {
            let mut out = code.to_owned();
            let aliases: Vec<(String, String)> = JS_ALIAS
                .captures_iter(code)
                .take(8)
                .filter_map(|c| match (c.get(1), c.get(2), c.get(3), c.get(4)) {
                    (Some(f), Some(a), _, _) => {
                        Some((a.as_str().to_owned(), f.as_str().to_owned()))
                    }
                    (_, _, Some(a), Some(f)) => {
                        Some((a.as_str().to_owned(), f.as_str().to_owned()))
                    }
                    _ => None,
                })
                .filter(|(a, f)| a != f)
                .collect();
            if aliases.is_empty() {
                return None;
            }
            for (alias, f) in aliases {
                out = replace_calls(&out, &alias, &f);
            }
            Some(out)
        }
        _ => None,
    }
}

/// `alias(` → `name(` where `alias` stands as a whole word.
fn replace_calls(code: &str, alias: &str, name: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(p) = rest.find(alias) {
        let before_ok = rest[..p]
            .chars()
            .last()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == '$' || c == '.'));
        let after = &rest[p + alias.len()..];
        out.push_str(&rest[..p]);
        if before_ok && after.trim_start().starts_with('(') {
            out.push_str(name);
        } else {
            out.push_str(alias);
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

/// Perl's `q{…}`, `qq{…}`, `q(…)`, `qq[…]` as double-quoted strings (brackets nest).
fn perl_quotes(code: &str) -> String {
    let b = code.as_bytes();
    let mut out = String::with_capacity(code.len());
    let mut i = 0;
    let mut copied = 0;
    while i < b.len() {
        let word_start = i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_');
        let len = if b[i..].starts_with(b"qq") { 2 } else { 1 };
        if b[i] != b'q' || !word_start {
            i += 1;
            continue;
        }
        let open_at = i + len;
        let close = match b.get(open_at) {
            Some(b'{') => b'}',
            Some(b'(') => b')',
            Some(b'[') => b']',
            _ => {
                i += 1;
                continue;
            }
        };
        let open = b[open_at];
        let mut depth = 0usize;
        let mut j = open_at;
        let mut end = None;
        while j < b.len() {
            if b[j] == b'\\' {
                j += 2;
                continue;
            }
            if b[j] == open {
                depth += 1;
            } else if b[j] == close {
                depth -= 1;
                if depth == 0 {
                    end = Some(j);
                    break;
                }
            }
            j += 1;
        }
        let Some(e) = end else { break };
        out.push_str(&code[copied..i]);
        out.push('"');
        out.push_str(&code[open_at + 1..e].replace('"', "\\\""));
        out.push('"');
        i = e + 1;
        copied = i;
    }
    out.push_str(&code[copied..]);
    out
}
