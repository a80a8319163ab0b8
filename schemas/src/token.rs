//! Subject tokens that any name can become without breaking the subject grammar.
//!
//! NATS subjects are split on `.` and give `*` and `>` meaning; whitespace ends them.
//! Project names, agent names and tool ids come from users and agents, so each one is
//! encoded into a token that only holds `[A-Za-z0-9_-]`, with every other byte written
//! as `~` plus two hex digits. `~` only ever starts an escape, so the encoding is
//! injective: two different names never share a token. Names whose encoding exceeds
//! [`MAX_TOKEN_LEN`] keep a readable prefix and end in `=` plus a SHA-256 prefix of
//! the whole name (`=` never appears in the short form, so the forms cannot collide).

use sha2::{Digest, Sha256};
use std::fmt;

/// Longest token we emit. Keeps subjects well under server limits and readable in logs.
pub const MAX_TOKEN_LEN: usize = 64;
/// Readable prefix kept when a name must be hashed.
const HASHED_PREFIX_LEN: usize = MAX_TOKEN_LEN - 1 - HASH_HEX_LEN;
/// Hex digits of SHA-256 kept in a hashed token (128 bits: collisions are not a concern).
const HASH_HEX_LEN: usize = 32;

/// A validated subject token: never empty, never contains `.`, `*`, `>` or whitespace.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Token(String);

impl Token {
    /// Encodes any name (even empty or hostile) into a token.
    pub fn encode(name: &str) -> Token {
        if name.is_empty() {
            // A lone `~` can never come out of encoding a non-empty name.
            return Token("~".to_owned());
        }
        let mut out = String::with_capacity(name.len());
        for &b in name.as_bytes() {
            if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' {
                out.push(b as char);
            } else {
                out.push('~');
                out.push_str(&hex::encode([b]));
            }
        }
        if out.len() <= MAX_TOKEN_LEN {
            return Token(out);
        }
        // Cut the readable prefix on an escape boundary so it stays decodable to a human.
        let mut cut = HASHED_PREFIX_LEN;
        while cut > 0 && out.as_bytes()[cut - 1] == b'~'
            || cut > 1 && out.as_bytes()[cut - 2] == b'~'
        {
            cut -= 1;
        }
        let digest = hex::encode(Sha256::digest(name.as_bytes()));
        Token(format!("{}={}", &out[..cut], &digest[..HASH_HEX_LEN]))
    }

    /// Accepts a string that is already a token (for example one read back from a
    /// subject), refusing anything that could not have come out of [`Token::encode`].
    pub fn parse(token: &str) -> Option<Token> {
        let ok_len = !token.is_empty() && token.len() <= MAX_TOKEN_LEN;
        let ok_chars = token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'~' | b'='));
        (ok_len && ok_chars).then(|| Token(token.to_owned()))
    }

    /// Recovers the original name, when the token is not a hashed one.
    pub fn decode(&self) -> Option<String> {
        if self.0 == "~" {
            return Some(String::new());
        }
        if self.0.contains('=') {
            return None;
        }
        let bytes = self.0.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'~' {
                let hex = self.0.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).ok()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The token as a JetStream KV key segment. KV keys refuse `~`, so it becomes `/`,
    /// which no token contains: the mapping stays injective.
    pub fn kv_key(&self) -> String {
        self.0.replace('~', "/")
    }

    /// Reverses [`Token::kv_key`].
    pub fn from_kv_key(key: &str) -> Option<Token> {
        Token::parse(&key.replace('/', "~"))
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_safe(t: &Token) {
        let s = t.as_str();
        assert!(!s.is_empty());
        assert!(s.len() <= MAX_TOKEN_LEN, "{s} too long");
        assert!(
            !s.contains(['.', '*', '>', ' ', '\t', '\n', '\r']),
            "{s} unsafe"
        );
        assert!(Token::parse(s).is_some());
    }

    #[test]
    fn plain_names_pass_through() {
        assert_eq!(Token::encode("my-project_1").as_str(), "my-project_1");
        assert_eq!(
            Token::encode("toolu_01ABC").decode().as_deref(),
            Some("toolu_01ABC")
        );
    }

    #[test]
    fn hostile_names_are_escaped_and_round_trip() {
        for name in [
            "a.b", "*", ">", "a b", "x\ty", "~", "=", "ü/é", "lh.cmd.>", "",
        ] {
            let t = Token::encode(name);
            assert_safe(&t);
            assert_eq!(t.decode().as_deref(), Some(name), "{name}");
        }
    }

    #[test]
    fn encoding_is_injective_on_tricky_pairs() {
        let pairs = [
            ("a.b", "a~2eb"),
            ("", "~"),
            ("a_b", "a~5fb"),
            ("a-b", "a~2db"),
        ];
        for (x, y) in pairs {
            assert_ne!(Token::encode(x), Token::encode(y), "{x} vs {y}");
        }
    }

    #[test]
    fn long_names_are_bounded_and_distinct() {
        let a = "p".repeat(500);
        let mut b = a.clone();
        b.push('q');
        let (ta, tb) = (Token::encode(&a), Token::encode(&b));
        assert_safe(&ta);
        assert_safe(&tb);
        assert_ne!(ta, tb);
        assert_eq!(ta.decode(), None);
        // A name of dots hashes too, and its prefix does not split an escape.
        let dots = Token::encode(&".".repeat(100));
        assert_safe(&dots);
        let prefix = dots.as_str().split('=').next().unwrap();
        assert_eq!(prefix.len() % 3, 0);
    }

    #[test]
    fn kv_keys_hold_only_kv_characters_and_round_trip() {
        for name in ["web.app", "a b", "plain", "", &"ü".repeat(40)] {
            let t = Token::encode(name);
            let key = t.kv_key();
            assert!(
                key.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-/_=".contains(&b)),
                "{key}"
            );
            assert_eq!(Token::from_kv_key(&key), Some(t));
        }
    }

    #[test]
    fn parse_refuses_subject_syntax() {
        for bad in ["", "a.b", "*", ">", "a b", &"x".repeat(65)] {
            assert!(Token::parse(bad).is_none(), "{bad:?}");
        }
    }
}
