//! The packs compiled into the binary. A hook process that cannot reach the pipeline
//! loads them once per tool call, so they load from JSON (converted from the TOML by
//! `build.rs`; serde_json reads it several times faster than the toml crate) and skip
//! the load-time rule check (the tests run it on every built-in pack instead). The
//! TOML text stays each pack's text: labels and the policy version are made of its
//! SHA-256, which `build.rs` computes too.

use crate::PolicyError;
use crate::dense::Dense;
use crate::rules::{CompiledPack, PackFile, PolicyPack};

/// Pairs each pack's TOML with its JSON form, so the two lists cannot drift apart.
macro_rules! builtin_packs {
    ($(($name:literal, $file:literal)),* $(,)?) => {
        /// The packs compiled into the binary, in layering order.
        pub const BUILTIN_PACKS: &[(&str, &str)] =
            &[$(($name, include_str!(concat!("../packs/", $file, ".toml")))),*];
        /// [`BUILTIN_PACKS`] as JSON, in the same order.
        const BUILTIN_JSON: &[&str] =
            &[$(include_str!(concat!(env!("OUT_DIR"), "/packs/", $file, ".json"))),*];
        /// The SHA-256 of each of [`BUILTIN_PACKS`]' texts (hex), in the same order.
        const BUILTIN_DIGESTS: &[&str] =
            &[$(include_str!(concat!(env!("OUT_DIR"), "/packs/", $file, ".sha256"))),*];
    };
}

builtin_packs![
    ("commands", "commands"),
    ("tools", "tools"),
    ("filesystem", "filesystem"),
    ("git", "git"),
    ("disks", "disks"),
    ("privilege", "privilege"),
    ("packages", "packages"),
    ("databases", "databases"),
    ("network", "network"),
    ("secrets", "secrets"),
    ("self-protection", "self_protection"),
    ("shell", "shell"),
];

/// What `build.rs` computed for one built-in pattern.
struct Built {
    pattern: &'static str,
    needles: &'static [&'static [&'static str]],
    /// Where its DFA sits in `patterns.bin`, if it has one.
    dfa: Option<(usize, usize)>,
}

// `PATTERNS`: a `Built` for every built-in pattern, sorted by pattern.
include!(concat!(env!("OUT_DIR"), "/patterns.rs"));

/// Lets the DFAs be read in place: their tables are `u32`s.
#[repr(C, align(8))]
struct Aligned<T: ?Sized>(T);

static DFA_BYTES: &Aligned<[u8]> =
    &Aligned(*include_bytes!(concat!(env!("OUT_DIR"), "/patterns.bin")));

fn built(pattern: &str) -> Option<&'static Built> {
    let i = PATTERNS.binary_search_by(|b| b.pattern.cmp(pattern)).ok()?;
    PATTERNS.get(i)
}

/// The needles `build.rs` computed for `pattern`, if it is a built-in one.
pub(crate) fn needles(pattern: &str) -> Option<&'static [&'static [&'static str]]> {
    built(pattern).map(|b| b.needles)
}

/// The DFA `build.rs` built for `pattern`, if it is a built-in one that has one.
pub(crate) fn dense(pattern: &str) -> Option<Dense> {
    let (start, len) = built(pattern)?.dfa?;
    Dense::read(DFA_BYTES.0.get(start..start + len)?)
}

/// The built-in packs, ready to layer.
pub(crate) fn packs() -> Result<Vec<PolicyPack>, PolicyError> {
    in_two_halves(parse)
}

/// The built-in packs, each parsed and compiled: what [`crate::Policy::builtin`] layers.
pub(crate) fn compiled() -> Result<(Vec<PolicyPack>, Vec<CompiledPack>), PolicyError> {
    let both = in_two_halves(|range| {
        parse(range)?
            .into_iter()
            .map(|mut p| CompiledPack::taking_rules(&mut p).map(|c| (p, c)))
            .collect()
    })?;
    Ok(both.into_iter().unzip())
}

/// `work` over the built-in packs, on two threads: a cold hook process pays for loading
/// them on every call that falls back. The second thread takes the later packs, about
/// half the text; results keep the packs' order.
fn in_two_halves<T: Send>(
    work: impl Fn(std::ops::Range<usize>) -> Result<Vec<T>, PolicyError> + Sync,
) -> Result<Vec<T>, PolicyError> {
    let total: usize = BUILTIN_JSON.iter().map(|j| j.len()).sum();
    let mut half = 0;
    let mut split = 0;
    while split < BUILTIN_JSON.len() && half * 2 < total {
        half += BUILTIN_JSON[split].len();
        split += 1;
    }
    let n = BUILTIN_JSON.len();
    let (first, second) = std::thread::scope(|scope| {
        let later = std::thread::Builder::new()
            .spawn_scoped(scope, || work(split..n))
            .ok();
        let first = work(0..split);
        // Without a thread (or should it panic), the later packs are done here.
        let second = later
            .and_then(|t| t.join().ok())
            .unwrap_or_else(|| work(split..n));
        (first, second)
    });
    let mut all = first?;
    all.extend(second?);
    Ok(all)
}

/// The built-in packs with these indexes, parsed.
fn parse(range: std::ops::Range<usize>) -> Result<Vec<PolicyPack>, PolicyError> {
    BUILTIN_PACKS[range.clone()]
        .iter()
        .zip(&BUILTIN_JSON[range.clone()])
        .zip(&BUILTIN_DIGESTS[range])
        .map(|((&(name, _), json), digest)| {
            let file: PackFile = serde_json::from_str(json).map_err(|e| PolicyError::Pack {
                pack: name.to_owned(),
                message: e.to_string(),
            })?;
            Ok(PolicyPack {
                name: name.to_owned(),
                digest: (*digest).to_owned(),
                restricted: false,
                file,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Policy;
    use crate::rules::RuleSet;
    use serde_json::Value;
    use sha2::{Digest, Sha256};
    use std::collections::BTreeSet;

    #[test]
    fn json_holds_the_same_data_as_the_toml() {
        assert_eq!(BUILTIN_PACKS.len(), BUILTIN_JSON.len());
        for (&(name, toml_text), json) in BUILTIN_PACKS.iter().zip(BUILTIN_JSON) {
            let from_toml: Value = toml::from_str(toml_text).expect(name);
            let from_json: Value = serde_json::from_str(json).expect(name);
            assert_eq!(from_toml, from_json, "pack {name}");
        }
    }

    /// The load-time check the built-in packs skip, run here instead: every rule is
    /// well formed and every pattern parses and compiles within the size limit.
    #[test]
    fn every_builtin_rule_passes_the_load_check() {
        let checked: Vec<PolicyPack> = BUILTIN_PACKS
            .iter()
            .map(|(name, text)| PolicyPack::parse(name, text).expect(name))
            .collect();
        let fast = packs().expect("built-in packs load");
        for (c, f) in checked.iter().zip(&fast) {
            assert_eq!(c.name, f.name);
            assert_eq!(c.digest, f.digest);
            assert_eq!(
                c.rule_ids().collect::<Vec<_>>(),
                f.rule_ids().collect::<Vec<_>>()
            );
        }
        let policy = Policy::from_packs(&fast).expect("built-in rules compile");
        assert_eq!(policy.precompile(), Vec::<String>::new());
    }

    /// The built-in policy, compiled pack by pack on two threads, is the one
    /// `from_packs` builds: the same rules in the same order, the same version.
    #[test]
    fn compiled_in_parallel_is_built_alike() {
        let built = crate::Policy::from_packs(&packs().expect("packs")).expect("rules");
        let builtin = crate::Policy::builtin();
        assert_eq!(builtin.rule_ids(), built.rule_ids());
        assert_eq!(builtin.version(), built.version());
        assert!(builtin.rule_ids().len() > 200);
    }

    /// Every built-in pattern's needles come from the build, and are those the
    /// pattern gives when computed at run time.
    #[test]
    fn built_needles_cover_every_builtin_pattern() {
        let rules = RuleSet::build(&packs().expect("built-in packs load")).expect("rules");
        let mut checked = 0;
        for (id, l) in rules.patterns() {
            let built = needles(l.pattern()).unwrap_or_else(|| panic!("{id}: not built"));
            let computed = crate::needles::of(l.pattern());
            assert_eq!(built, computed.as_slice(), "{id}");
            checked += 1;
        }
        assert!(checked > 100, "{checked} patterns");
    }

    /// Every built-in pattern with a DFA has it from the build, and it is the DFA the
    /// pattern gives when built at run time.
    #[test]
    fn built_dfas_are_those_built_at_run_time() {
        let rules = RuleSet::build(&packs().expect("built-in packs load")).expect("rules");
        let mut read = 0;
        for (id, l) in rules.patterns() {
            let stored = dense(l.pattern());
            let built = Dense::build(l.pattern(), false);
            assert_eq!(
                stored.as_ref().map(Dense::to_bytes),
                built.as_ref().map(Dense::to_bytes),
                "{id}"
            );
            read += usize::from(stored.is_some());
        }
        assert!(read > 100, "{read} DFAs read");
    }

    /// Every built-in pattern has an ASCII form (the fast one to build), and it (and the
    /// full DFA precompile builds) decides ASCII text as the Unicode form does; no text lacking one of each of a pattern's
    /// needle sets (prefix and suffix literals) matches it. Checked on every string of the corpus, its
    /// words, and text where Unicode and ASCII semantics could part (case folding,
    /// whitespace and word classes, boundaries).
    #[test]
    fn ascii_forms_agree_with_unicode_forms() {
        let rules = RuleSet::build(&packs().expect("built-in packs load")).expect("rules");
        let mut texts: BTreeSet<String> = [
            "",
            " ",
            "k",
            "K",
            "s",
            "S",
            "\t\x0b\x0c\r\n",
            "a_b-c.d",
            "ROOT",
            "Sudo",
            "x\ny",
            "/etc/passwd",
            "~/.ssh/id_rsa",
            "AKIAABCDEFGHIJKLMNOP",
            "PRIVATE KEY",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        for input in crate::corpus_inputs() {
            strings(&input, &mut texts);
        }
        texts.retain(|t| t.is_ascii());
        let words: Vec<String> = texts
            .iter()
            .flat_map(|t| t.split_whitespace().map(str::to_owned))
            .collect();
        texts.extend(words);
        let (mut checked, mut with_needles) = (0, 0);
        for (id, l) in rules.patterns() {
            let (Some(a), Some(u)) = (l.get_ascii(), l.get()) else {
                panic!("{id}: a pattern without both forms");
            };
            let needles = l.needles();
            for t in &texts {
                let want = u.is_match(t);
                assert_eq!(a.is_match(t.as_bytes()), want, "{id} on {t:?}");
                // What calls use: needles, the ASCII form, split at long gaps.
                assert_eq!(l.is_match(t), want, "{id} on {t:?} (as called)");
                if needles.rule_out(t) {
                    assert!(!want, "{id} on {t:?}: matched without its needles");
                }
            }
            checked += 1;
            with_needles += usize::from(!needles.is_empty());
        }
        assert!(
            checked > 100 && texts.len() > 2000,
            "{checked} patterns, {} texts",
            texts.len()
        );
        // Most patterns have them, or the cold-start saving is gone.
        assert!(with_needles * 2 > checked, "{with_needles} of {checked}");
        // Precompiled, calls go through full DFAs where they were built: same answers.
        assert!(rules.precompile().is_empty());
        for (id, l) in rules.patterns() {
            let u = l.get().expect("compiles");
            for t in &texts {
                assert_eq!(l.is_match(t), u.is_match(t), "{id} on {t:?} (precompiled)");
            }
        }
    }

    fn strings(v: &Value, out: &mut BTreeSet<String>) {
        match v {
            Value::String(s) => {
                out.insert(s.clone());
            }
            Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
            Value::Object(o) => o.values().for_each(|x| strings(x, out)),
            _ => {}
        }
    }

    /// Hooks and validators must agree on the version: it hashes the TOML texts (by
    /// their digests, computed at build time for the built-in packs).
    #[test]
    fn version_hashes_the_toml_texts() {
        let mut h = Sha256::new();
        for ((name, text), built) in BUILTIN_PACKS.iter().zip(BUILTIN_DIGESTS) {
            let digest = hex::encode(Sha256::digest(text.as_bytes()));
            assert_eq!(&digest, built, "{name}");
            h.update(name.as_bytes());
            h.update([0]);
            h.update(digest.as_bytes());
            h.update([0, 0]);
        }
        let want = format!("policy-{}", &hex::encode(h.finalize())[..16]);
        assert_eq!(Policy::builtin().version(), want);
        let checked: Vec<PolicyPack> = BUILTIN_PACKS
            .iter()
            .map(|(name, text)| PolicyPack::parse(name, text).expect(name))
            .collect();
        let from_toml = Policy::from_packs(&checked).expect("built-in rules compile");
        assert_eq!(from_toml.version(), want);
        assert_eq!(from_toml.packs(), Policy::builtin().packs());
    }
}
