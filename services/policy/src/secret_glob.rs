//! Globs that can expand to a secret's name: `cat .en?`, `cat .e[n]v`, `cat id_r?a` read
//! the file the name would match, whatever the spelling of the pattern.

/// Names of secrets a short pattern may stand for (their directory decides the rest).
const SECRET_NAMES: &[&str] = &[
    ".env",
    ".env.local",
    ".env.production",
    "id_rsa",
    "id_ed25519",
    "id_ecdsa",
    "id_dsa",
    ".netrc",
    ".pgpass",
    ".git-credentials",
    "credentials",
];

/// Longest pattern looked at (longer ones name something more specific).
const MAX_PATTERN: usize = 48;

/// The secret name the one-component glob `pattern` matches, if any. A pattern with no
/// literal character but dots (`*`, `.*`, `?`) matches everything and says nothing.
pub fn secret_name(pattern: &str) -> Option<&'static str> {
    if pattern.len() > MAX_PATTERN
        || pattern.contains('/')
        || !pattern.contains(['*', '?', '['])
        || !pattern
            .chars()
            .any(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return None;
    }
    SECRET_NAMES
        .iter()
        .copied()
        .find(|n| matches(pattern.as_bytes(), n.as_bytes()))
}

/// Shell glob over bytes: `*`, `?`, and `[…]` sets with ranges and `!`/`^` negation.
fn matches(p: &[u8], s: &[u8]) -> bool {
    match p.split_first() {
        None => s.is_empty(),
        Some((b'*', rest)) => (0..=s.len()).any(|i| matches(rest, &s[i..])),
        Some((b'?', rest)) => !s.is_empty() && matches(rest, &s[1..]),
        Some((b'[', rest)) => {
            let Some(close) = rest.iter().skip(1).position(|b| *b == b']').map(|i| i + 1) else {
                return s.first() == Some(&b'[') && matches(rest, &s[1..]);
            };
            let Some((c, tail)) = s.split_first() else {
                return false;
            };
            let (negated, set) = match rest[..close].split_first() {
                Some((b'!' | b'^', set)) => (true, set),
                _ => (false, &rest[..close]),
            };
            let mut hit = false;
            let mut i = 0;
            while i < set.len() {
                if i + 2 < set.len() && set[i + 1] == b'-' {
                    hit |= (set[i]..=set[i + 2]).contains(c);
                    i += 3;
                } else {
                    hit |= set[i] == *c;
                    i += 1;
                }
            }
            hit != negated && matches(&rest[close + 1..], tail)
        }
        Some((c, rest)) => s.first() == Some(c) && matches(rest, &s[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_that_name_a_secret() {
        assert_eq!(secret_name(".en?"), Some(".env"));
        assert_eq!(secret_name(".e[n]v"), Some(".env"));
        assert_eq!(secret_name("[.]env"), Some(".env"));
        assert_eq!(secret_name("id_r?a"), Some("id_rsa"));
        assert_eq!(secret_name("i?_*"), Some("id_rsa"));
        assert_eq!(secret_name("*.rs"), None);
        assert_eq!(secret_name("*"), None);
        assert_eq!(secret_name(".*"), None);
        assert_eq!(secret_name("src?"), None);
        assert_eq!(secret_name(".env"), None);
    }
}
