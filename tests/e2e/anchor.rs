//! `lighthouse anchor resolve` as a process (the engine's own corpus tests live in
//! services/anchor/tests).

use crate::util::LIGHTHOUSE;

fn resolve(before: &str, after: &str, ext: &str, line: usize) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let (b, a) = (
        dir.path().join(format!("before.{ext}")),
        dir.path().join(format!("after.{ext}")),
    );
    std::fs::write(&b, before).unwrap();
    std::fs::write(&a, after).unwrap();
    let out = std::process::Command::new(LIGHTHOUSE)
        .args(["anchor", "resolve", "--json", "--line", &line.to_string()])
        .arg("--before")
        .arg(&b)
        .arg("--after")
        .arg(&a)
        .env("LIGHTHOUSE_CONFIG", dir.path().join("none.toml"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn a_moved_function_is_found_at_its_new_line() {
    let before = "def a():\n    return 1\n\n\ndef target(x):\n    return x * 2\n";
    let after =
        "import os\n\n\ndef a():\n    return 1\n\n\n@cache\ndef target(x):\n    return x * 2\n";
    let r = resolve(before, after, "py", 6);
    assert_eq!(r["status"], "found");
    assert_eq!(r["line"], 9, "the def line, not the decorator: {r}");
    assert_eq!(r["name"], "target");
    assert!(r["confidence"].as_f64().unwrap() > 0.5);
}

#[test]
fn a_deleted_function_is_orphaned_not_reattached() {
    let before =
        "fn keep(a: u32) -> u32 {\n    a + 1\n}\n\nfn gone(a: u32) -> u32 {\n    a + 1\n}\n";
    let after = "fn keep(a: u32) -> u32 {\n    a + 1\n}\n";
    let r = resolve(before, after, "rs", 6);
    assert_eq!(r["status"], "orphaned", "{r}");
}

#[test]
fn unsupported_files_are_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("notes.txt");
    std::fs::write(&f, "hello").unwrap();
    let out = std::process::Command::new(LIGHTHOUSE)
        .args(["anchor", "resolve", "--line", "1", "--before"])
        .arg(&f)
        .arg("--after")
        .arg(&f)
        .env("LIGHTHOUSE_CONFIG", dir.path().join("none.toml"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(!String::from_utf8_lossy(&out.stderr).is_empty());
}
