//! Lexical helpers: command names, option skipping, IFS and brace expansion,
//! escapes and ANSI-C quoting.

use super::IFS_SPLIT;
use crate::word::Word;
use tree_sitter::Node;

/// Command name as the shell would look it up: `/usr/bin/rm` → `rm`. A relative path
/// into a `bin` directory names the installed tool too (`.venv/bin/pip`,
/// `node_modules/.bin/rimraf`, `venv/Scripts/pip`); other relative paths (`./deploy.sh`,
/// `bin/rails`) stay as written, being the project's own scripts.
pub fn command_name(text: &str) -> String {
    if text.starts_with('/') {
        return text.rsplit('/').next().unwrap_or(text).to_owned();
    }
    if let Some((dir, base)) = text.rsplit_once('/') {
        let parent = dir.rsplit('/').next().unwrap_or(dir);
        let nested = dir.contains('/');
        if matches!(parent, ".bin" | "Scripts") || (parent == "bin" && nested) {
            return base.to_owned();
        }
    }
    text.to_owned()
}

pub(super) fn is_short_cluster_with(t: &str, c: char) -> bool {
    t.starts_with('-') && !t.starts_with("--") && t[1..].contains(c)
}

/// Counts the option words at the start of `rest` (and the values some of them take).
pub(super) fn skip_options(rest: &[Word], short_values: &[&str], long_values: &[&str]) -> usize {
    let mut i = 0;
    while i < rest.len() {
        let t = rest[i].text.as_str();
        if t == "--" {
            return i + 1;
        }
        if !t.starts_with('-') || t == "-" {
            break;
        }
        if let Some(long) = t.strip_prefix("--") {
            i += if !long.contains('=') && long_values.contains(&long) {
                2
            } else {
                1
            };
            continue;
        }
        // A cluster like `-Eu root`: the value follows the last flag that takes one.
        let flags = &t[1..];
        let mut takes = false;
        for (pos, ch) in flags.char_indices() {
            if short_values
                .iter()
                .any(|v| v.len() == 1 && v.starts_with(ch))
            {
                takes = pos + ch.len_utf8() == flags.len();
                break;
            }
        }
        // `nice -10`, `timeout -s9`: digits or attached values need nothing more.
        i += if takes { 2 } else { 1 };
    }
    i.min(rest.len())
}

pub(super) fn assignment_word(t: &str) -> Option<(String, String)> {
    let (k, v) = t.split_once('=')?;
    if k.is_empty() || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return None;
    }
    Some((k.to_owned(), v.to_owned()))
}

pub(super) fn join_words(ws: &[Word]) -> Word {
    let mut w = Word::default();
    for (i, x) in ws.iter().enumerate() {
        if i > 0 {
            w.text.push(' ');
        }
        w.text.push_str(&x.text);
        w.subst.extend(x.subst.iter().cloned());
        w.inputs.extend(x.inputs.iter().cloned());
        w.vars.extend(x.vars.iter().cloned());
        w.init += x.init;
    }
    w
}

/// Expands a whole-word brace list outside quotes (`{rm,-rf,/}` → `rm -rf /`): bash
/// runs it as a command, but the grammar reads it as a broken `{ …; }` group.
pub(super) fn expand_brace_words(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == b'\'' || c == b'"' => quote = Some(c),
            None if c == b'{' && (i == 0 || b" \t\n;&|(".contains(&b[i - 1])) => {
                let rest = &text[i + 1..];
                let end = rest.find(|ch: char| ch == '}' || ch.is_whitespace() || ch == '{');
                if let Some(e) = end.filter(|e| rest.as_bytes().get(*e) == Some(&b'}')) {
                    let inner = &rest[..e];
                    let after = rest.as_bytes().get(e + 1).copied();
                    let boundary = after.is_none_or(|a| b" \t\n;&|)".contains(&a));
                    if inner.contains(',') && boundary {
                        out.push_str(&inner.replace(',', " "));
                        i += e + 2;
                        continue;
                    }
                }
            }
            None => {}
        }
        let ch = text[i..].chars().next().unwrap_or(' ');
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

/// Writes a bare `~` word as `~/` (the same directory): tree-sitter-bash reads `~ ]`
/// in a test (`[ -w ~ ]`, `[[ -d ~ ]]`) as a syntax error.
pub(super) fn bare_tilde_as_dir(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len() + 2);
    let mut quote: Option<u8> = None;
    for (i, ch) in text.char_indices() {
        let c = b[i];
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == b'\'' || c == b'"' => quote = Some(c),
            None if c == b'~'
                && (i == 0 || b[i - 1].is_ascii_whitespace())
                && b.get(i + 1).is_none_or(|n| n.is_ascii_whitespace()) =>
            {
                out.push_str("~/");
                continue;
            }
            None => {}
        }
        out.push(ch);
    }
    out
}

/// Removes backslash-newline outside single quotes, as bash does before anything else
/// (`r\⏎m -rf /` is `rm -rf /`).
pub(super) fn join_continuations(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_single = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' {
            in_single = !in_single;
        }
        if c == '\\' && !in_single {
            if chars.peek() == Some(&'\n') {
                chars.next();
                continue;
            }
            out.push(c);
            if let Some(n) = chars.next() {
                out.push(n);
            }
            continue;
        }
        out.push(c);
    }
    out
}

/// Replaces `$IFS` / `${IFS}` outside single quotes by a space.
pub(super) fn replace_ifs(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_single = false;
    let mut i = 0;
    let b = text.as_bytes();
    while i < b.len() {
        let rest = &text[i..];
        if b[i] == b'\'' {
            in_single = !in_single;
        }
        if !in_single {
            if rest.starts_with("${IFS}") {
                out.push(' ');
                i += 6;
                continue;
            }
            if rest.starts_with("$IFS")
                && !rest[4..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
            {
                out.push(' ');
                i += 4;
                continue;
            }
        }
        let ch = rest.chars().next().unwrap_or(' ');
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

/// One level of brace expansion: `/{etc,usr}` → `/etc`, `/usr`; `{rm,-rf,/}` → three
/// words.
pub(super) fn brace_expand(text: &str) -> Vec<String> {
    let (Some(open), Some(close)) = (text.find('{'), text.rfind('}')) else {
        return vec![text.to_owned()];
    };
    if close < open || text[open + 1..close].contains(['{', '}']) {
        return vec![text.to_owned()];
    }
    let (pre, inner, post) = (&text[..open], &text[open + 1..close], &text[close + 1..]);
    if !inner.contains(',') {
        return vec![text.to_owned()];
    }
    inner
        .split(',')
        .take(64)
        .map(|alt| format!("{pre}{alt}{post}"))
        .collect()
}

pub(super) fn split_ifs(w: Word, argv: &mut Vec<Word>) {
    if !w.text.contains(IFS_SPLIT) {
        argv.push(w);
        return;
    }
    for part in w.text.split(IFS_SPLIT).filter(|p| !p.is_empty()) {
        argv.push(Word {
            text: part.to_owned(),
            ..w.clone()
        });
    }
}

pub(super) fn text_of<'s>(node: Node<'_>, src: &'s [u8]) -> &'s str {
    src.get(node.start_byte()..node.end_byte())
        .and_then(|b| std::str::from_utf8(b).ok())
        .unwrap_or("")
}

/// Whether `${name…}` uses a default-value operator (`:-`, `-`, `:=`, `=`).
pub(super) fn default_operator(raw: &str, name: &str) -> bool {
    let after = raw
        .strip_prefix("${")
        .and_then(|r| r.strip_prefix(name))
        .unwrap_or("");
    [":-", ":=", "-", "="]
        .iter()
        .any(|op| after.starts_with(op))
}

/// `$x`, `${x}` → ("x", true); `${x:-y}`, `${#x}` … → ("x", false).
pub(super) fn expansion_name(node: Node<'_>, src: &[u8]) -> (String, bool) {
    let raw = text_of(node, src);
    let inner = raw
        .strip_prefix("${")
        .and_then(|r| r.strip_suffix('}'))
        .or_else(|| raw.strip_prefix('$'))
        .unwrap_or(raw);
    let name: String = match inner.chars().next() {
        // Special parameters: `$@`, `$*`, `$#`.
        Some(c @ ('@' | '*' | '#')) if inner.len() == 1 => c.to_string(),
        _ => inner
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect(),
    };
    // `${a[@]}`, `${a[*]}`: the whole array, as stored.
    let rest = &inner[name.len()..];
    let plain = !name.is_empty() && (rest.is_empty() || rest == "[@]" || rest == "[*]");
    (name, plain)
}

/// What `${NAME<op>}` gives when NAME holds `value` and `op` is literal text: `:?`,
/// `:-`, `:=` (and their forms without `:`) give the value itself, `%`/`%%`/`#`/`##`
/// trim a literal or `*`/`?` pattern, `:offset[:length]` takes a slice. `None` for
/// everything else (`:+`, `/…/…`, case changes), which stays unknown.
pub(super) fn param_op(value: &str, op: &str) -> Option<String> {
    if op.contains(['$', '`', '\'', '"', '\\', '[']) {
        return None;
    }
    let set = !value.is_empty();
    if let Some(o) = op.strip_prefix(':') {
        match o.chars().next() {
            Some('?' | '-' | '=') if set => return Some(value.to_owned()),
            Some('+' | '?' | '-' | '=') => return None,
            _ => {
                let (off, len) = o.split_once(':').unwrap_or((o, ""));
                let off: usize = off.trim().parse().ok()?;
                let tail: String = value.chars().skip(off).collect();
                if len.is_empty() {
                    return Some(tail);
                }
                let len: usize = len.trim().parse().ok()?;
                return Some(tail.chars().take(len).collect());
            }
        }
    }
    let (longest, pat, suffix) = if let Some(p) = op.strip_prefix("%%") {
        (true, p, true)
    } else if let Some(p) = op.strip_prefix('%') {
        (false, p, true)
    } else if let Some(p) = op.strip_prefix("##") {
        (true, p, false)
    } else if let Some(p) = op.strip_prefix('#') {
        (false, p, false)
    } else {
        return match op.chars().next() {
            Some('?' | '-' | '=') => Some(value.to_owned()),
            _ => None,
        };
    };
    // Cut points, tried shortest match first (or longest for `%%` / `##`).
    let mut cuts: Vec<usize> = value
        .char_indices()
        .map(|(i, _)| i)
        .chain([value.len()])
        .collect();
    if suffix {
        cuts.reverse();
    }
    if longest {
        cuts.reverse();
    }
    for c in cuts {
        let (kept, cut) = if suffix {
            (&value[..c], &value[c..])
        } else {
            (&value[c..], &value[..c])
        };
        if glob_match(pat.as_bytes(), cut.as_bytes()) {
            return Some(kept.to_owned());
        }
    }
    Some(value.to_owned())
}

/// `*` and `?` glob over bytes.
fn glob_match(p: &[u8], s: &[u8]) -> bool {
    match p.split_first() {
        None => s.is_empty(),
        Some((b'*', rest)) => (0..=s.len()).any(|i| glob_match(rest, &s[i..])),
        Some((b'?', rest)) => !s.is_empty() && glob_match(rest, &s[1..]),
        Some((c, rest)) => s.first() == Some(c) && glob_match(rest, &s[1..]),
    }
}

/// Removes backslash escapes from an unquoted word (`\rm` → `rm`) and expands a
/// leading `~`.
pub(super) fn unescape_word(raw: &str, quoted: bool) -> String {
    if quoted {
        return unescape_dquoted(raw);
    }
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('\n') | None => {}
                Some(n) => out.push(n),
            }
        } else {
            out.push(c);
        }
    }
    out
}

pub(super) fn unescape_dquoted(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.peek() {
                Some('$' | '`' | '"' | '\\') => {
                    if let Some(n) = chars.next() {
                        out.push(n);
                    }
                }
                Some('\n') => {
                    chars.next();
                }
                _ => out.push(c),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Decodes `$'…'` escapes (`\x72`, `\162`, `\n`, `\u0072`).
pub fn ansi_c(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let chars: Vec<char> = raw.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c != '\\' || i + 1 >= chars.len() {
            out.push(c);
            i += 1;
            continue;
        }
        let n = chars[i + 1];
        i += 2;
        let radix_digits = |i: &mut usize, radix: u32, max: usize| -> Option<char> {
            let mut v = 0u32;
            let mut k = 0;
            while k < max && *i < chars.len() && chars[*i].is_digit(radix) {
                v = v * radix + chars[*i].to_digit(radix).unwrap_or(0);
                *i += 1;
                k += 1;
            }
            if k == 0 { None } else { char::from_u32(v) }
        };
        match n {
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            'a' => out.push('\u{7}'),
            'b' => out.push('\u{8}'),
            'e' | 'E' => out.push('\u{1b}'),
            'f' => out.push('\u{c}'),
            'v' => out.push('\u{b}'),
            '\\' => out.push('\\'),
            '\'' => out.push('\''),
            '"' => out.push('"'),
            'x' => match radix_digits(&mut i, 16, 2) {
                Some(ch) => out.push(ch),
                None => out.push_str("\\x"),
            },
            'u' => match radix_digits(&mut i, 16, 4) {
                Some(ch) => out.push(ch),
                None => out.push_str("\\u"),
            },
            'U' => match radix_digits(&mut i, 16, 8) {
                Some(ch) => out.push(ch),
                None => out.push_str("\\U"),
            },
            '0'..='7' => {
                i -= 1;
                match radix_digits(&mut i, 8, 3) {
                    Some(ch) => out.push(ch),
                    None => out.push('\\'),
                }
            }
            other => {
                out.push('\\');
                out.push(other);
            }
        }
    }
    out
}
