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
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the report

use lighthouse_anchor::{
    AnchorError, AnnotationStatus, Language, ParsedFile, capture, render_human, resolve_cli,
};
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

fn corpus_sources() -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(corpus_dir()).unwrap() {
        let dir = e.unwrap().path();
        if dir.join("case.toml").is_file() {
            for stem in ["before", "after"] {
                let p = file_named(&dir, stem);
                out.push((p.clone(), std::fs::read_to_string(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// Every line of every corpus file that lies in a definition resolves, in the same
/// version, to that very definition with (near) full confidence — or is reported ambiguous
/// when the file holds an exact duplicate of it.
#[test]
fn every_anchor_resolves_to_itself_in_the_same_version() {
    let mut checked = 0;
    for (path, src) in corpus_sources() {
        let lang = Language::from_path(&path).unwrap();
        let file = ParsedFile::parse(&src, lang).unwrap();
        for line in 1..=file.line_count() {
            let Ok(anchor) = file.capture(line) else {
                continue;
            };
            let r = file.resolve(&anchor);
            checked += 1;
            if r.status == AnnotationStatus::Ambiguous {
                assert!(r.candidates.len() > 1, "{}:{line}", path.display());
                continue;
            }
            assert_eq!(
                r.status,
                AnnotationStatus::Found,
                "{}:{line}",
                path.display()
            );
            // 1.0, or 0.9 where the name is shared (Go `init`, getter and setter).
            assert!(r.confidence >= 0.9, "{}:{line}", path.display());
            assert_eq!(r.name.as_deref(), Some(anchor.name.as_str()));
            assert_eq!(r.annotation_line, Some(line), "{}:{line}", path.display());
        }
    }
    assert!(checked > 1000, "only {checked} anchors checked");
}

/// Truncated, spliced and garbage inputs never panic: every call returns a value or a
/// typed error.
#[test]
fn mangled_sources_never_panic() {
    let sources = corpus_sources();
    let mut resolved = 0;
    for (path, src) in sources.iter().step_by(7) {
        let lang = Language::from_path(path).unwrap();
        let anchors: Vec<_> = (1..40).filter_map(|l| capture(src, lang, l).ok()).collect();
        let bytes = src.as_bytes();
        for cut in (0..bytes.len()).step_by(53) {
            let mut mangled = String::from_utf8_lossy(&bytes[..cut]).to_string();
            mangled.push_str("\u{0}((([[[{{{ \"'` \u{fffd}");
            mangled.push_str(&String::from_utf8_lossy(&bytes[cut / 2..]));
            let file = ParsedFile::parse(&mangled, lang).expect("bounded input parses");
            for a in &anchors {
                let r = file.resolve(a);
                assert!((0.0..=1.0).contains(&r.confidence));
                resolved += 1;
            }
            for l in [0, 1, cut % 50 + 1, 100_000] {
                let _ = file.capture(l);
            }
        }
    }
    let deep = "(".repeat(100_000);
    for lang in [
        Language::Python,
        Language::Rust,
        Language::Go,
        Language::Tsx,
    ] {
        // Either outcome is bounded: parsed (and nothing to anchor) or refused at the
        // parse time limit, which a busy machine can reach.
        match ParsedFile::parse(&deep, lang) {
            Ok(file) => assert!(file.capture(1).is_err()),
            Err(e) => assert!(
                matches!(e, lighthouse_anchor::AnchorError::ParseTimeout(_)),
                "{e:?}"
            ),
        }
    }
    assert!(resolved > 100);
}

#[test]
fn cli_helper_reports_json_fields_and_errors() {
    let dir = corpus_dir().join("py_rename");
    let r = resolve_cli(&dir.join("before.py"), &dir.join("after.py"), 39).unwrap();
    let v = serde_json::to_value(&r).unwrap();
    assert_eq!(v["status"], "renamed");
    assert_eq!(v["name"], "read_config");
    assert!(v["line"].is_u64() && v["confidence"].is_f64());
    assert!(render_human(&r).starts_with("renamed to `read_config` at lines"));
    assert!(matches!(
        resolve_cli(&dir.join("case.toml"), &dir.join("case.toml"), 1),
        Err(AnchorError::UnsupportedLanguage(_))
    ));
    assert!(matches!(
        resolve_cli(&dir.join("nope.py"), &dir.join("after.py"), 1),
        Err(AnchorError::Io { .. })
    ));
}

/// Mechanical edits applied to every definition of every distinct corpus file: shift
/// everything down, move a top-level definition to the end, rename one, delete one. The expected outcome
/// of each is known without the engine, so this checks thousands of resolutions,
/// including deletions next to look-alikes.
#[test]
fn mechanical_edits_of_every_definition() {
    let mut seen = std::collections::HashSet::new();
    let (mut checked, mut failures) = (0usize, Vec::new());
    for (path, src) in corpus_sources() {
        if !seen.insert(src.clone()) {
            continue;
        }
        let lang = Language::from_path(&path).unwrap();
        let file = ParsedFile::parse(&src, lang).unwrap();
        let defs = file.definitions();
        let lines: Vec<&str> = src.lines().collect();
        let shifted = format!("\n\n\n{src}");
        let shifted = ParsedFile::parse(&shifted, lang).unwrap();
        for d in &defs {
            let Ok(anchor) = file.capture(d.line) else {
                continue;
            };
            if anchor.name != d.name {
                continue; // another definition starts on the same line
            }
            let at = format!("{}:{} {}", path.display(), d.line, d.qualified_name);
            let shared = defs.iter().filter(|o| o.name == d.name).count() > 1;
            if file.resolve(&anchor).status == AnnotationStatus::Ambiguous {
                continue; // an exact duplicate: no single right answer after these edits
            }

            let r = shifted.resolve(&anchor);
            checked += 1;
            if r.status != AnnotationStatus::Found || r.line != Some(d.line + 3) {
                failures.push(format!("shift {at}: {r:?}"));
            }

            let kept: Vec<&str> = lines
                .iter()
                .enumerate()
                .filter(|(i, _)| *i + 1 < d.start_line || *i + 1 > d.end_line)
                .map(|(_, l)| *l)
                .collect();
            let r = ParsedFile::parse(&kept.join("\n"), lang)
                .unwrap()
                .resolve(&anchor);
            checked += 1;
            if r.status != AnnotationStatus::Orphaned {
                failures.push(format!("delete {at}: {r:?}"));
            }

            if d.qualified_name == d.name {
                // Move a top-level definition to the end of the file.
                let mut moved = kept.clone();
                moved.push("");
                moved.extend(&lines[d.start_line - 1..d.end_line.min(lines.len())]);
                let want = kept.len() + 2 + (d.line - d.start_line);
                let r = ParsedFile::parse(&moved.join("\n"), lang)
                    .unwrap()
                    .resolve(&anchor);
                checked += 1;
                if r.status != AnnotationStatus::Found || r.line != Some(want) {
                    failures.push(format!("move {at}: want {want}, {r:?}"));
                }
            }

            let head = lines[d.line - 1];
            if d.kind == "impl" || shared || !head.contains(d.name.as_str()) {
                continue;
            }
            let new_name = format!("{}Zz", d.name);
            let mut renamed: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
            renamed[d.line - 1] = head.replacen(d.name.as_str(), &new_name, 1);
            let r = ParsedFile::parse(&renamed.join("\n"), lang)
                .unwrap()
                .resolve(&anchor);
            checked += 1;
            if r.status != AnnotationStatus::Renamed
                || r.line != Some(d.line)
                || r.name.as_deref() != Some(new_name.as_str())
            {
                failures.push(format!("rename {at}: {r:?}"));
            }
        }
    }
    println!(
        "mechanical edits: {checked} checked, {} failed",
        failures.len()
    );
    for f in &failures {
        println!("  {f}");
    }
    assert!(checked > 500, "only {checked} checked");
    assert!(failures.is_empty(), "{} failures", failures.len());
}
