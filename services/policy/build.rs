//! Converts the built-in packs (`packs/*.toml`) to JSON at build time: a hook process
//! loads them once per tool call, and serde_json reads the same data several times
//! faster than the toml crate. The TOML stays the source of truth (and what the
//! policy version hashes); `src/builtin.rs` includes both.
//!
//! It also computes the needles of every built-in rule pattern (`src/needles.rs`,
//! shared with the crate), so a hook's first call parses none of them.
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

#[path = "src/needles.rs"]
mod needles;

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
        std::fs::write(
            out.join(path.with_extension("json").file_name().ok_or("no name")?),
            json,
        )?;
    }
    write_needles(&out.with_file_name("needles.rs"), &patterns)
}

/// `NEEDLES`: (pattern, its needle sets), sorted by pattern, as Rust source.
fn write_needles(
    file: &Path,
    patterns: &BTreeMap<String, Vec<Vec<String>>>,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut src = String::from("static NEEDLES: &[(&str, &[&[&str]])] = &[\n");
    for (pattern, sets) in patterns {
        write!(src, "    ({pattern:?}, &[")?;
        for set in sets {
            write!(src, "&[")?;
            for literal in set {
                write!(src, "{literal:?}, ")?;
            }
            write!(src, "], ")?;
        }
        writeln!(src, "]),")?;
    }
    src.push_str("];\n");
    std::fs::write(file, src)?;
    Ok(())
}
