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

/// An expert annotates through the CLI; the agent about to edit that file is told.
#[tokio::test(flavor = "multi_thread")]
async fn annotations_reach_the_agent_editing_the_file() {
    use crate::util::*;
    let mut p = Pipeline::start();
    p.spawn_validator("v1");
    p.wait_for_validators(1).await;
    let project = tempfile::tempdir().unwrap();
    let repo = project.path().join("shop");
    std::fs::create_dir_all(repo.join(".git")).unwrap();
    std::fs::create_dir_all(repo.join("app")).unwrap();
    let file = repo.join("app/db.py");
    std::fs::write(
        &file,
        "import sqlite3\n\n\ndef find_user(db, name):\n    q = f\"select * from users where name = '{name}'\"\n    return db.execute(q)\n",
    )
    .unwrap();
    let out = p
        .cmd()
        .args(["annotate", "--line", "5", "--category", "security"])
        .args(["--severity", "high", "--expert", "sec-bot", "--message"])
        .arg("string-built SQL: injectable")
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let out = p
        .cmd()
        .args(["annotations", "--json"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let notes: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(notes.as_array().unwrap().len(), 1);
    assert_eq!(notes[0]["line"], 4, "{notes}");
    assert_eq!(notes[0]["status"], "found");
    assert_eq!(notes[0]["path"], "app/db.py");

    let mut edit = pre_tool_use(
        "Edit",
        serde_json::json!({"file_path": file, "old_string": "q", "new_string": "query"}),
        "toolu_edit",
    );
    edit["cwd"] = serde_json::json!(repo);
    let (answer, _) = p.hook(&edit);
    let context = answer["hookSpecificOutput"]["additionalContext"]
        .as_str()
        .unwrap_or_else(|| panic!("no additionalContext: {answer}"));
    assert!(
        context.contains("string-built SQL: injectable"),
        "{context}"
    );
    assert!(context.contains("find_user"), "{context}");
}
