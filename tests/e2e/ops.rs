//! Operators: `lighthouse history`, `lighthouse replay` and audit queries, against a
//! real nats-server and validator, on events the real CLI and hook produced.

use crate::util::*;
use serde_json::{Value, json};
use std::path::Path;
use std::process::Output;

fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[tokio::test(flavor = "multi_thread")]
async fn history_replay_and_audit_rebuild_what_happened() {
    let mut p = Pipeline::start();
    p.spawn_validator("v1");
    p.wait_for_validators(1).await;
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("shop");
    std::fs::create_dir_all(repo.join(".git")).unwrap();
    let file = repo.join("app.py");
    let v1 = "def pay(amount):\n    return amount\n";
    let v2 = "def pay(amount):\n    return amount * 2\n";
    std::fs::write(&file, v1).unwrap();
    ok(p.cmd().arg("sync").arg(&repo).output().unwrap());
    std::fs::write(&file, v2).unwrap();
    ok(p.cmd().arg("sync").arg(&repo).output().unwrap());
    ok(p.cmd()
        .args(["annotate", "--line", "2", "--category", "security"])
        .args(["--expert", "sec-bot", "--message", "check the amount"])
        .arg(&file)
        .output()
        .unwrap());
    // Decisions for the audit log: one allowed, one denied.
    let mut read_call = pre_tool_use("Read", json!({"file_path": file}), "toolu_read");
    read_call["cwd"] = json!(repo);
    assert_eq!(permission(&p.hook(&read_call).0), "allow");
    let mut rm = bash("rm -rf /", "toolu_rm");
    rm["cwd"] = json!(repo);
    assert_eq!(permission(&p.hook(&rm).0), "deny");

    // history: both versions; the first by sequence and by time.
    let listed: Value = serde_json::from_str(&ok(p
        .cmd()
        .args(["history", "--json"])
        .arg(&file)
        .output()
        .unwrap()))
    .unwrap();
    let versions = listed.as_array().unwrap();
    assert_eq!(versions.len(), 2, "{listed}");
    let first = versions[0]["seq"].as_u64().unwrap();
    let first_stored = versions[0]["stored"].as_str().unwrap().to_owned();
    let at_first = ok(p
        .cmd()
        .args(["history", "--version", &first.to_string()])
        .arg(&file)
        .output()
        .unwrap());
    assert_eq!(at_first, v1);
    let at_time = ok(p
        .cmd()
        .args([
            "history",
            "--project",
            "shop",
            "app.py",
            "--at",
            &first_stored,
        ])
        .output()
        .unwrap());
    assert_eq!(at_time, v1);
    let latest = ok(p
        .cmd()
        .args(["history", "--project", "shop", "app.py", "--at", "0s"])
        .output()
        .unwrap());
    assert_eq!(latest, v2);

    // replay everything into a fresh directory: the view, the notes, decisions.
    let out = dir.path().join("replayed");
    let report: Value = serde_json::from_str(&ok(p
        .cmd()
        .args(["replay", "--json", "--into"])
        .arg(&out)
        .output()
        .unwrap()))
    .unwrap();
    assert_eq!(report["streams"]["LH_FS"]["applied"], 2, "{report}");
    assert_eq!(read(&out.join("shop/current/app.py")), v2);
    assert!(read(&out.join("shop/history/versions.txt")).contains("app.py"));
    assert!(read(&out.join("shop/annotations/app.py.md")).contains("check the amount"));
    assert!(out.join("replay.json").exists());
    // Not into a directory that holds something.
    let again = p
        .cmd()
        .args(["replay", "--into"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(!again.status.success());
    // Only up to the first version: the file as it was then.
    let early = dir.path().join("early");
    ok(p.cmd()
        .args(["replay", "--projection", "view", "--to", &first.to_string()])
        .arg("--into")
        .arg(&early)
        .output()
        .unwrap());
    assert_eq!(read(&early.join("shop/current/app.py")), v1);
    assert!(!early.join("shop/annotations").exists());

    // Audit queries over LH_DECISION.
    let js = p.js().await;
    let query = |filter: lighthouse::audit_query::Filter, format| {
        let js = js.clone();
        async move {
            let mut out = Vec::new();
            let (matched, _) =
                lighthouse::audit_query::query(&js, &filter, format, false, &mut out)
                    .await
                    .unwrap();
            (matched, String::from_utf8(out).unwrap())
        }
    };
    use lighthouse::audit_query::{Filter, Format};
    let (all, _) = query(Filter::default(), Format::Table).await;
    assert_eq!(all, 2);
    let (denied, text) = query(
        Filter {
            project: Some("shop".into()),
            verdict: Some(lighthouse_schemas::Verdict::Deny),
            ..Filter::default()
        },
        Format::Json,
    )
    .await;
    assert_eq!(denied, 1, "{text}");
    let row: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(row["cmd_id"], "toolu_rm", "{row}");
    let (_, csv) = query(Filter::default(), Format::Csv).await;
    assert!(
        csv.starts_with("seq,stored,project,agent,cmd_id,verdict"),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), 3, "{csv}");
    let (none, _) = query(
        Filter {
            until: Some(time::OffsetDateTime::now_utc() - time::Duration::hours(1)),
            ..Filter::default()
        },
        Format::Table,
    )
    .await;
    assert_eq!(none, 0);
    let shown =
        lighthouse::audit_query::show(&js, &lighthouse_policy::Policy::builtin(), "toolu_rm", None)
            .await
            .unwrap();
    assert_eq!(shown["decision"]["verdict"], "deny", "{shown}");
    assert_eq!(
        shown["command"]["tool_input"]["command"], "rm -rf /",
        "{shown}"
    );
    assert!(shown["command_seq"].as_u64().is_some(), "{shown}");
    assert!(
        shown["explanation"].as_str().unwrap().contains("rm -rf /"),
        "{shown}"
    );
}
