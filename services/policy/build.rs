//! Converts the built-in packs (`packs/*.toml`) to JSON at build time: a hook process
//! loads them once per tool call, and serde_json reads the same data several times
//! faster than the toml crate. The TOML stays the source of truth (its SHA-256 is what
//! the policy version is made of); `src/builtin.rs` includes both.
//!
//! It also hashes each pack's TOML (`<file>.sha256`): a hook's first decision names the
//! policy's version and packs, and hashing 120 KB of text cost it 0.13 ms.
//!
//! And for every built-in rule pattern it computes the needles (`src/needles.rs`) and
//! the full DFA (`src/dense.rs`, both shared with the crate), so a hook's first call
//! parses and compiles none of them.
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

#[path = "src/needles.rs"]
mod needles;

#[path = "src/dense.rs"]
#[allow(dead_code)] // the crate searches with it; the build only serializes
mod dense;

/// The rule fields that hold pattern lists (`RuleSpec`'s, compiled by `regexes`).
const PATTERN_LISTS: &[&str] = &[
    "args_any",
    "args_none",
    "text_any",
    "text_none",
    "operands_any",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = Path::new(&std::env::var("OUT_DIR")?).join("packs");
    std::fs::create_dir_all(&out)?;
    println!("cargo::rerun-if-changed=packs");
    println!("cargo::rerun-if-changed=src/needles.rs");
    println!("cargo::rerun-if-changed=src/dense.rs");
    let mut patterns: BTreeMap<String, Vec<Vec<String>>> = BTreeMap::new();
    for entry in std::fs::read_dir("packs")? {
        let path = entry?.path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        println!("cargo::rerun-if-changed={}", path.display());
        let text = std::fs::read_to_string(&path)?;
        let value: serde_json::Value =
            toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        for list in value["rule"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|rule| {
                PATTERN_LISTS
                    .iter()
                    .filter_map(|key| rule.get(*key)?.as_array())
            })
        {
            let pats: Vec<String> = list
                .iter()
                .filter_map(|p| p.as_str().map(str::to_owned))
                .collect();
            if !pats.is_empty() {
                let joined = needles::join(&pats);
                let found = needles::of(&joined);
                patterns.insert(joined, found);
            }
        }
        let json = serde_json::to_string(&value)?;
        let name = path.file_name().ok_or("no name")?;
        let out_file = |ext: &str| out.join(Path::new(name).with_extension(ext));
        std::fs::write(out_file("json"), json)?;
        std::fs::write(
            out_file("sha256"),
            hex::encode(Sha256::digest(text.as_bytes())),
        )?;
    }
    write_patterns(&out.with_file_name("patterns"), &patterns)
}

/// `patterns.rs`: `PATTERNS`, a `Built` (see `src/builtin.rs`) for each built-in
/// pattern, sorted by pattern; `patterns.bin`: their DFAs, each starting at a multiple
/// of 8.
fn write_patterns(
    stem: &Path,
    patterns: &BTreeMap<String, Vec<Vec<String>>>,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut blob: Vec<u8> = Vec::new();
    let mut src = String::from("static PATTERNS: &[Built] = &[\n");
    for (pattern, sets) in patterns {
        write!(src, "    Built {{ pattern: {pattern:?}, needles: &[")?;
        for set in sets {
            write!(src, "&[")?;
            for literal in set {
                write!(src, "{literal:?}, ")?;
            }
            write!(src, "], ")?;
        }
        match dense::Dense::build(pattern, false) {
            Some(dfa) => {
                let bytes = dfa.to_bytes();
                writeln!(src, "], dfa: Some(({}, {})) }},", blob.len(), bytes.len())?;
                blob.extend_from_slice(&bytes);
                blob.resize(blob.len().next_multiple_of(8), 0);
            }
            None => writeln!(src, "], dfa: None }},")?,
        }
    }
    src.push_str("];\n");
    std::fs::write(stem.with_extension("bin"), blob)?;
    std::fs::write(stem.with_extension("rs"), src)?;
    Ok(())
}
