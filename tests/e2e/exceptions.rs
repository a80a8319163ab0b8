//! Scoped exceptions (issue 15): an escalation the experts approved becomes a human's
//! standing Allow for the same normalised call, in a session, an agent or a project,
//! until it expires or is revoked. Real validator, aggregator, expert and CLI
//! processes against a real nats-server.

use crate::escalation::{Esc, join};
use crate::util::*;
use lighthouse_schemas::{Command, Decision, Tier, Token, Verdict, decode, encode, now_us};
use serde_json::{Value, json};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(30);

/// What the pipeline made of a call.
#[derive(Debug)]
enum Outcome {
    Decided(Box<Decision>),
    Escalated,
}

/// Publishes `command` (as the hook would) under a fresh id, then waits for the
/// validator's answer: a decision, or the escalation it recorded.
async fn probe(e: &Esc, template: &Command, id: &str, session: &str, bash: &str) -> Outcome {
    let mut c = template.clone();
    c.env.id = id.to_owned();
    c.env.correlation_id = id.to_owned();
    c.env.ts_us = now_us();
    c.tool_use_id = Some(id.to_owned());
    c.session_id = session.to_owned();
    c.tool_input = json!({ "command": bash });
    let js = e.p.js().await;
    let subject = lighthouse_schemas::subject::command(
        &Token::encode(&c.env.project),
        &Token::encode(&c.env.agent),
    );
    let mut headers = async_nats::HeaderMap::new();
    headers.insert("Nats-Msg-Id", id);
    js.publish_with_headers(subject, headers, encode(&c).unwrap().into())
        .await
        .unwrap()
        .await
        .unwrap();
    let started = std::time::Instant::now();
    loop {
        if let Some(d) = e.decisions_for(id).await.into_iter().next() {
            return Outcome::Decided(Box::new(d));
        }
        if let Ok(kv) = js.get_key_value("lh_escalations").await
            && let Ok(Some(_)) = kv.get(Token::encode(id).kv_key()).await
        {
            return Outcome::Escalated;
        }
        assert!(started.elapsed() < LIMIT, "no outcome for {id}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Probes fresh calls until one is allowed by exception `x` (a new grant reaches the
/// validators through a KV watch: not before the CLI returns, but soon after).
async fn until_allowed_by(e: &Esc, c: &Command, tag: &str, session: &str, x: &str) -> Decision {
    let started = std::time::Instant::now();
    for i in 0.. {
        let id = format!("toolu_{tag}_{i}");
        match probe(e, c, &id, session, "git push origin main").await {
            Outcome::Decided(d) if d.exception.as_deref() == Some(x) => return *d,
            other => assert!(
                started.elapsed() < LIMIT,
                "{tag}: never allowed by {x}: {other:?}"
            ),
        }
    }
    unreachable!()
}

/// Probes fresh calls until one escalates again (a revocation or an expiry).
/// Bounded by time, not by count: an expiry is a moment, however fast the probes run.
async fn until_escalated(e: &Esc, c: &Command, tag: &str, session: &str) {
    let started = std::time::Instant::now();
    for i in 0.. {
        let id = format!("toolu_{tag}_{i}");
        match probe(e, c, &id, session, "git push origin main").await {
            Outcome::Escalated => return,
            other => assert!(
                started.elapsed() < LIMIT,
                "{tag}: still not escalating: {other:?}"
            ),
        }
    }
}

fn cli(e: &Esc, args: &[&str]) -> (bool, String, String) {
    let out = e.cmd().args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `exception grant … --json`; returns the exception id.
fn grant(e: &Esc, cmd_id: &str, scope: &str, expires: &str) -> String {
    let (ok, out, err) = cli(
        e,
        &[
            "exception",
            "grant",
            cmd_id,
            "--scope",
            scope,
            "--expires",
            expires,
            "--reason",
            "release day",
            "--json",
        ],
    );
    assert!(ok, "grant refused: {err}");
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["status"], "live", "{v}");
    assert_eq!(v["cmd_id"], cmd_id, "{v}");
    v["id"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_approved_escalation_becomes_a_scoped_revocable_expiring_exception() {
    let mut e = Esc::start("");
    e.workers().await;
    e.watch("security", "alice").await;

    // Escalated, approved by an expert.
    let hook = e.hook_in_background(bash("git push origin main", "toolu_x1"));
    let esc = e.escalation("toolu_x1").await;
    e.vote(
        "approve",
        "toolu_x1",
        "security",
        "alice",
        "release branch is green",
    );
    assert_eq!(permission(&join(hook)), "allow");
    let call = esc.command.clone();
    assert_eq!(call.session_id, "s-test");

    // A call nobody escalated, and one the policy denies, cannot become exceptions.
    let (ok, _, err) = cli(
        &e,
        &[
            "exception",
            "grant",
            "toolu_none",
            "--scope",
            "project",
            "--reason",
            "x",
        ],
    );
    assert!(!ok && err.contains("was not escalated"), "{err}");
    let denied = probe(&e, &call, "toolu_rm", "s-test", "rm -rf /").await;
    assert!(
        matches!(&denied, Outcome::Decided(d) if d.verdict == Verdict::Deny),
        "{denied:?}"
    );
    let (ok, _, err) = cli(
        &e,
        &[
            "exception",
            "grant",
            "toolu_rm",
            "--scope",
            "project",
            "--reason",
            "x",
        ],
    );
    assert!(!ok && err.contains("was not escalated"), "{err}");

    // Session scope: the same normalised call in the same session is allowed at once,
    // naming the exception; the text may differ, the command may not.
    let x1 = grant(&e, "toolu_x1", "session", "1h");
    let d = until_allowed_by(&e, &call, "s", "s-test", &x1).await;
    assert_eq!((d.verdict, d.tier), (Verdict::Allow, Tier::Exception));
    assert!(
        d.reason.contains(&x1) && d.reason.contains("release day"),
        "{}",
        d.reason
    );
    let answer = e.hook(&bash("git   push  'origin'   main", "toolu_x2"));
    assert_eq!(permission(&answer), "allow", "{answer}");
    assert!(reason(&answer).contains(&x1), "{answer}");
    let other_command = probe(
        &e,
        &call,
        "toolu_x3",
        "s-test",
        "git push origin main --tags",
    )
    .await;
    assert!(
        matches!(other_command, Outcome::Escalated),
        "{other_command:?}"
    );
    // Another session still escalates.
    let other_session = probe(&e, &call, "toolu_x4", "s-other", "git push origin main").await;
    assert!(
        matches!(other_session, Outcome::Escalated),
        "{other_session:?}"
    );

    // Project scope covers every session; revoked, it covers nothing.
    let x2 = grant(&e, "toolu_x1", "project", "1h");
    until_allowed_by(&e, &call, "p", "s-other", &x2).await;
    let (ok, out, err) = cli(
        &e,
        &["exception", "revoke", &x2, "--reason", "release done"],
    );
    assert!(ok, "{err}");
    assert!(out.contains(&x2), "{out}");
    until_escalated(&e, &call, "r", "s-other").await;
    let (ok, _, err) = cli(&e, &["exception", "revoke", &x2, "--reason", "again"]);
    assert!(!ok && err.contains("already revoked"), "{err}");

    // Expiry: a short grant covers calls, then stops.
    let x3 = grant(&e, "toolu_x1", "agent", "5s");
    until_allowed_by(&e, &call, "a", "s-third", &x3).await;
    until_escalated(&e, &call, "e", "s-third").await;

    // The list: only the live session grant by default; all three with history on --all.
    let (ok, out, _) = cli(&e, &["exception", "list", "--json"]);
    assert!(ok);
    let live: Vec<Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(live.len(), 1, "{out}");
    assert_eq!(live[0]["id"], x1.as_str());
    assert_eq!(live[0]["scope"], json!({"session": "s-test"}));
    assert_eq!(live[0]["normalized"], json!(["git push origin main"]));
    let (_, out, _) = cli(&e, &["exception", "list", "--all"]);
    for (id, status) in [(&x1, "live"), (&x2, "revoked"), (&x3, "expired")] {
        assert!(
            out.lines()
                .any(|l| l.starts_with(id.as_str()) && l.contains(status)),
            "{id} {status}: {out}"
        );
    }
    assert!(
        out.contains("revoked by ops") && out.contains("release done"),
        "{out}"
    );
    let js = e.p.js().await;
    let kv = js.get_key_value("lh_exceptions").await.unwrap();
    let key = format!("ops.{x2}");
    let mut history = kv.history(&key).await.unwrap();
    let mut revisions = Vec::new();
    while let Ok(Some(Ok(entry))) = tokio::time::timeout(
        Duration::from_secs(2),
        futures::StreamExt::next(&mut history),
    )
    .await
    {
        revisions.push(decode::<lighthouse_schemas::Exception>(&entry.value).unwrap());
        if revisions.len() == 2 {
            break;
        }
    }
    assert_eq!(
        revisions.len(),
        2,
        "the grant and its revocation are both kept"
    );
    assert!(revisions[0].revoked.is_none() && revisions[1].revoked.is_some());

    // `audit show` names the exception that changed a decision.
    let (ok, out, err) = cli(&e, &["audit", "show", "toolu_x2"]);
    assert!(ok, "{err}");
    assert!(
        out.contains(&format!("exception {x1}")) && out.contains("tier exception"),
        "{out}"
    );

    // A deny-class call never gets one: once the project's policy denies the pushes,
    // the approved escalation can no longer be granted.
    let pack = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        pack.path(),
        "[[rule]]\nid = \"project.no_push\"\nverdict = \"deny\"\nrisk = \"high\"\n\
         reason = \"pushes go through CI\"\ncommands = [\"git\"]\nargs_any = [\"^push$\"]\n",
    )
    .unwrap();
    let out = e
        .cmd()
        .args(["policy", "push", "--project", &call.env.project])
        .arg(pack.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let (ok, _, err) = cli(
        &e,
        &[
            "exception",
            "grant",
            "toolu_x1",
            "--scope",
            "project",
            "--reason",
            "x",
        ],
    );
    assert!(
        !ok && err.contains("denies") && err.contains("project.no_push"),
        "{err}"
    );
    // And the live session exception no longer turns those pushes into Allow: deny wins.
    let mut denied = None;
    let started = std::time::Instant::now();
    for i in 0.. {
        let id = format!("toolu_d_{i}");
        match probe(&e, &call, &id, "s-test", "git push origin main").await {
            Outcome::Decided(d) if d.verdict == Verdict::Deny => {
                assert_eq!(d.exception, None);
                denied = Some(id);
                break;
            }
            other => assert!(
                started.elapsed() < LIMIT,
                "the pushed pack never denied: {other:?}"
            ),
        }
    }

    // `audit show` explains with the policy that decided, rebuilt from lh_policy's
    // history (the project pack is not in this process's local policy).
    let (ok, out, err) = cli(&e, &["audit", "show", &denied.unwrap()]);
    assert!(ok, "{err}");
    let explained = out.split_once("explained\n").map(|(_, e)| e).unwrap_or("");
    assert!(
        out.contains("(the one that decided)") && explained.contains("project.no_push"),
        "{out}"
    );
}
