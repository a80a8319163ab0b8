//! Reading one call's arguments: where its list ends, its literals (with template holes as
//! unknown text), joined paths, octal modes, and which literals look like paths. Separate
//! from the pass over the code ([`super::analyze`](mod@super::analyze)) that calls them.

use super::strings::scan_strings;
use super::{Effects, MAX_ARGS_SCAN, static_regex};
use crate::twin_regex::TwinRegex;
use crate::word::DYN;
use std::sync::LazyLock;

/// A path built by a join call or pathlib's `/` (`os.path.join(os.getcwd(), 'build')`,
/// `path.join(process.cwd(), 'dist')`, `Path.cwd() / 'build'`): its parts joined by `/`,
/// a part that is not a literal as unknown text. `None` when the argument is no join.
pub(super) fn path_join(args: &str) -> Option<String> {
    static JOIN: LazyLock<TwinRegex> = LazyLock::new(|| {
        static_regex(
            r#"^\s*(?:os\.path\.join|require\(\s*['"](?:node:)?path['"]\s*\)\.(?:join|resolve)|path\.join|path\.resolve|File\.join|File\.expand_path|Join-Path)\s*\("#,
        )
    });
    let t = args.trim_start();
    let parts: Vec<&str> = if let Some(m) = JOIN.find_iter(t).next() {
        let inner = call_args(t, m.end() - 1);
        inner.split(',').collect()
    } else {
        let first = t.split(',').next().unwrap_or("");
        if !first.contains(" / ") {
            return None;
        }
        first.split(" / ").collect()
    };
    if parts.is_empty() || parts.len() > 16 {
        return None;
    }
    let mut out = String::new();
    for (n, p) in parts.iter().enumerate() {
        // A literal wrapped in a call (`os.path.expanduser('~')`, `Path('build')`).
        let mut p = p.trim();
        for _ in 0..4 {
            match (p.find('('), p.ends_with(')')) {
                (Some(o), true)
                    if o > 0
                        && p[..o]
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.') =>
                {
                    p = p[o + 1..p.len() - 1].trim();
                }
                _ => break,
            }
        }
        let lit = literals(p);
        let piece = match lit.as_slice() {
            [one] if p.len() == one.len() + 2 => one.clone(),
            _ => DYN.to_string(),
        };
        if n > 0 && !out.ends_with('/') {
            out.push('/');
        }
        out.push_str(&piece);
    }
    Some(out)
}

/// The text between the parenthesis at `open` (or the call's bare arguments, for
/// `system "…"`) and its matching close, skipping quoted text.
pub(super) fn call_args(code: &str, open: usize) -> &str {
    let bytes = code.as_bytes();
    let start = open + 1;
    if bytes.get(open) != Some(&b'(') {
        // Perl/Ruby call without parentheses: up to the end of the statement.
        let rest = code.get(open..).unwrap_or("");
        let end = rest.find([';', '\n']).unwrap_or(rest.len());
        return &rest[..end];
    }
    let mut depth = 1usize;
    let mut quote: Option<u8> = None;
    let mut i = start;
    let limit = bytes.len().min(start.saturating_add(MAX_ARGS_SCAN));
    while i < limit {
        let b = bytes[i];
        match quote {
            Some(q) => {
                if b == b'\\' {
                    i += 1;
                } else if b == q {
                    quote = None;
                }
            }
            None => match b {
                b'\'' | b'"' | b'`' => quote = Some(b),
                b'(' | b'[' | b'{' => depth += 1,
                b')' | b']' | b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        return code.get(start..i).unwrap_or("");
                    }
                }
                _ => {}
            },
        }
        i += 1;
    }
    code.get(start..limit).unwrap_or("")
}

/// A call's arguments, split at the commas outside quotes and brackets.
pub(super) fn split_args(args: &str) -> Vec<&str> {
    let bytes = args.as_bytes();
    let (mut depth, mut quote, mut start) = (0usize, None, 0);
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(_) if b == b'\\' => i += 1,
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None => match b {
                b'\'' | b'"' | b'`' => quote = Some(b),
                b'(' | b'[' | b'{' => depth += 1,
                b')' | b']' | b'}' => depth = depth.saturating_sub(1),
                b',' if depth == 0 => {
                    out.push(&args[start..i]);
                    start = i + 1;
                }
                _ => {}
            },
        }
        i += 1;
    }
    out.push(&args[start..]);
    out
}

/// String literals in order, with simple escapes undone; f-string/template holes become
/// [`DYN`].
pub(super) fn literals(text: &str) -> Vec<String> {
    scan_strings(text)
        .into_iter()
        .map(|(g, _)| {
            let s = g
                .replace("\\\\", "\u{3}")
                .replace("\\'", "'")
                .replace("\\\"", "\"")
                .replace("\\n", "\n")
                .replace('\u{3}', "\\");
            template_holes(&s)
        })
        .collect()
}

pub(super) static HOLE: LazyLock<TwinRegex> =
    LazyLock::new(|| static_regex(r"\$\{[^}]*\}|\{[A-Za-z_][^}]*\}"));

pub(super) fn template_holes(s: &str) -> String {
    if !s.contains("${") && !s.contains('{') {
        return s.to_owned();
    }
    let s = crate::interp_literals::ruby_interpolation(s);
    HOLE.replace_all(&s, DYN.to_string().as_str()).into_owned()
}

/// A numeric mode argument as `chmod` reads it: `0o777`, `0777` → `777`; `511` → `777`.
pub(super) fn octal_mode(arg: &str) -> Option<String> {
    let a = arg.trim().trim_end_matches(')');
    if let Some(o) = a.strip_prefix("0o").or(a.strip_prefix("0O")) {
        return (!o.is_empty() && o.bytes().all(|b| (b'0'..=b'7').contains(&b)))
            .then(|| o.to_owned());
    }
    if a.len() > 1 && a.starts_with('0') && a.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        return Some(a[1..].to_owned());
    }
    a.parse::<u32>().ok().map(|n| format!("{n:o}"))
}

/// Paths taken as a write's possible targets when the code computes the target.
const MAX_UNFOLLOWED_TARGETS: usize = 8;

/// A write whose target the code computes where it cannot be followed (`f =
/// os.homedir() + '/.claude/settings.json'`) may write any path the code names.
pub(super) fn unfollowed_write(fx: &mut Effects) {
    for i in 0..fx.paths.len().min(MAX_UNFOLLOWED_TARGETS) {
        if !fx.writes.contains(&fx.paths[i]) {
            let p = fx.paths[i].clone();
            fx.writes.push(p);
        }
    }
}

pub(super) fn looks_like_path(s: &str) -> bool {
    !s.is_empty()
        && s.len() < 4096
        && !s.contains('\n')
        && !s.contains("://")
        && (s.starts_with('/')
            || s.starts_with('~')
            || s.starts_with("./")
            || s.starts_with("../")
            // `File.read("config/master.key")`: a relative path of a few components.
            || (s.len() < 256
                && s.contains('/')
                && !s.starts_with('-')
                && !s.contains(char::is_whitespace))
            || s.contains(".ssh")
            || s.contains(".aws")
            || s.contains(".env")
            || s.contains(".gnupg")
            || s.contains(".bashrc")
            || s.contains(".zshrc")
            || s.contains(".claude")
            || s.contains(".lighthouse"))
}

#[cfg(test)]
mod tests {
    use super::split_args;
    use crate::interp::{Lang, analyze};

    #[test]
    fn a_command_line_first_is_run_whatever_follows_it() {
        assert_eq!(
            split_args("'a, b', {x: [1, 2]}, f(c, d)"),
            ["'a, b'", " {x: [1, 2]}", " f(c, d)"]
        );
        for (lang, code) in [
            (
                Lang::Node,
                "require('child_process').execSync('rm -rf ~', {shell: '/bin/bash'})",
            ),
            (
                Lang::Node,
                "require('child_process').exec('rm -rf ~', (e) => console.log('done'))",
            ),
            (Lang::Python, "import os; os.popen('rm -rf ~', 'r')"),
            (Lang::Ruby, "system('rm -rf ~', chdir: '/tmp')"),
            (Lang::Ruby, "system({'A' => '1'}, 'rm -rf ~')"),
            (
                Lang::Node,
                "const c = 'rm -rf ~'; require('child_process').execSync(c, {stdio: 'inherit'})",
            ),
        ] {
            let fx = analyze(lang, code);
            assert!(fx.shell.iter().any(|s| s == "rm -rf ~"), "{code}: {fx:?}");
        }
        // A program and its arguments stay an argument vector.
        let fx = analyze(Lang::Node, "require('child_process').spawn('ls', ['-la'])");
        assert!(fx.shell.is_empty(), "{fx:?}");
    }
}
