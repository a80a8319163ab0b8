//! Runs every case under `tests/corpus/anchor/` through [`resolve_cli`] (the same path
//! the `lighthouse anchor resolve` command takes) and checks status, line and name.
//!
//! Each case directory holds `before.<ext>`, `after.<ext>` and `case.toml`:
//!
//! ```toml
//! edit = "rename"        # edit kind, for the per-kind score
//! line = 14              # annotated line in before
//! [expected]
//! status = "renamed"     # found | renamed | ambiguous | orphaned
//! line = 20              # head line in after (omit for ambiguous/orphaned)
//! name = "read_config"   # name in after (omit for ambiguous/orphaned)
//! ```

use lighthouse_anchor::{AnnotationStatus, resolve_cli};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    edit: String,
    line: usize,
    expected: Expected,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Expected {
    status: AnnotationStatus,
    #[serde(default)]
    line: Option<usize>,
    #[serde(default)]
    name: Option<String>,
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpus/anchor")
}

fn file_named(dir: &Path, stem: &str) -> PathBuf {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_stem().and_then(|s| s.to_str()) == Some(stem))
        .unwrap_or_else(|| panic!("{} has no {stem}.*", dir.display()))
}

#[test]
fn corpus_resolves_every_case() {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .expect("corpus directory")
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("case.toml").is_file())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 60, "corpus has only {} cases", dirs.len());

    // edit kind -> (passed, total)
    let mut scores: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut false_attachments = Vec::new();
    for dir in &dirs {
        let case: Case = toml::from_str(&std::fs::read_to_string(dir.join("case.toml")).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let got = resolve_cli(
            &file_named(dir, "before"),
            &file_named(dir, "after"),
            case.line,
        );
        let label = dir.file_name().unwrap().to_string_lossy().to_string();
        let entry = scores.entry(case.edit.clone()).or_default();
        entry.1 += 1;
        let got = match got {
            Ok(r) => r,
            Err(e) => {
                failures.push(format!("{label}: error {e}"));
                continue;
            }
        };
        let attached = matches!(
            got.status,
            AnnotationStatus::Found | AnnotationStatus::Renamed
        );
        let should_attach = matches!(
            case.expected.status,
            AnnotationStatus::Found | AnnotationStatus::Renamed
        );
        // A false re-attachment: attached where nothing should be, or to the wrong node.
        if attached && (!should_attach || got.line != case.expected.line) {
            false_attachments.push(format!(
                "{label}: attached to {:?} at {:?}",
                got.name, got.line
            ));
        }
        let ok = got.status == case.expected.status
            && (!should_attach
                || (got.line == case.expected.line && got.name == case.expected.name));
        if ok {
            entry.0 += 1;
        } else {
            failures.push(format!(
                "{label}: expected {:?} {:?} {:?}, got {:?} {:?} {:?} (conf {})",
                case.expected.status,
                case.expected.line,
                case.expected.name,
                got.status,
                got.line,
                got.name,
                got.confidence
            ));
        }
    }

    println!("anchor corpus: {} cases", dirs.len());
    for (kind, (pass, total)) in &scores {
        println!(
            "  {kind:<28} {pass:>3}/{total:<3} {:>5.1}%",
            100.0 * *pass as f64 / *total as f64
        );
    }
    println!("  false re-attachments: {}", false_attachments.len());
    for f in &failures {
        println!("  FAIL {f}");
    }
    assert!(
        false_attachments.is_empty(),
        "false re-attachments:\n{}",
        false_attachments.join("\n")
    );
    assert!(failures.is_empty(), "failures:\n{}", failures.join("\n"));
}
