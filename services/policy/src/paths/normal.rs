//! Lexical path normalisation: `.`, `..` and repeated slashes collapsed, for absolute
//! paths (classification) and relative ones (tool paths), and whether one path lies
//! under another. Separate because it is pure text work, with no notion of classes.

use std::borrow::Cow;

/// Lexical normalisation: collapses `.`, `..` and repeated slashes. Most paths are
/// already normal and come back borrowed (this runs for every word classified).
pub(super) fn normalize(abs: &str) -> Cow<'_, str> {
    let normal = abs == "/"
        || abs.starts_with('/')
            && !abs.ends_with('/')
            && abs[1..]
                .split('/')
                .all(|s| !s.is_empty() && s != "." && s != "..");
    if normal {
        Cow::Borrowed(abs)
    } else {
        Cow::Owned(collapse(abs))
    }
}

pub(super) fn collapse(abs: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for seg in abs.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    let mut out = String::with_capacity(abs.len());
    for p in &parts {
        out.push('/');
        out.push_str(p);
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

/// A file tool's path written plainly (`.git//config`, `.git/./config`, `src/../x` →
/// `.git/config`, `x`), so rules that read the text see what the classes see. Relative
/// paths stay relative (a leading `..` is kept), `~` stays `~`.
pub fn lexical(p: &str) -> Cow<'_, str> {
    let plain = !p.contains("//")
        && !p
            .split('/')
            .enumerate()
            .any(|(i, s)| s == "." && i > 0 || s == "..")
        && (p.len() < 2 || !p.ends_with('/'));
    if plain || p.is_empty() {
        return Cow::Borrowed(p);
    }
    let absolute = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => match parts.last() {
                Some(&last) if last != ".." && last != "~" => {
                    parts.pop();
                }
                // Above the root is the root; above a relative start stays written.
                _ if absolute => {}
                _ => parts.push(".."),
            },
            s => parts.push(s),
        }
    }
    let joined = parts.join("/");
    Cow::Owned(match (absolute, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_owned(),
        (false, false) => joined,
    })
}

pub(super) fn under(path: &str, dir: &str) -> bool {
    path == dir
        || (path.starts_with(dir)
            && (dir.ends_with('/') || path.as_bytes().get(dir.len()) == Some(&b'/')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_paths_are_borrowed_and_others_collapsed() {
        for p in ["/", "/a", "/home/u/p/src/main.rs", "/.env", "/a/.b/c..d"] {
            assert!(matches!(normalize(p), Cow::Borrowed(_)), "{p}");
            assert_eq!(normalize(p), collapse(p), "{p}");
        }
        for (p, want) in [
            ("/a/", "/a"),
            ("//a//b", "/a/b"),
            ("/a/./b", "/a/b"),
            ("/a/../b", "/b"),
            ("/..", "/"),
            ("/a/.", "/a"),
            ("", "/"),
        ] {
            assert_eq!(normalize(p), want, "{p}");
        }
    }

    #[test]
    fn lexical_keeps_relative_paths_relative() {
        for (p, want) in [
            ("/p/.git//config", "/p/.git/config"),
            ("/p/.git/./config", "/p/.git/config"),
            ("./.claude//settings.json", ".claude/settings.json"),
            ("src/../.claude/settings.json", ".claude/settings.json"),
            ("../x/./y", "../x/y"),
            ("~/a/../.ssh/id_rsa", "~/.ssh/id_rsa"),
            ("/../etc", "/etc"),
            ("a/..", "."),
        ] {
            assert_eq!(lexical(p), want, "{p}");
        }
        assert!(matches!(lexical("./src/main.rs"), Cow::Borrowed(_)));
    }
}
