//! The hook relay under `lighthouse up` (issue 14): hooks ask the pipeline through its
//! open connection, and believe nothing it says that the pipeline did not sign.

use crate::trust::bash_in;
use crate::up::Up;
use crate::util::*;
use lighthouse::relay::{Ask, Reply};
use lighthouse_schemas::{Tier, Verdict};
use std::path::Path;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};

fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join(".git")).unwrap();
    dir
}

/// The hook with its own route to the server cut: only the relay can reach it.
fn hook_without_server(
    up: &Up,
    command: &str,
    id: &str,
    cwd: &Path,
) -> (serde_json::Value, Duration) {
    let mut cmd = up.cli(&[]);
    cmd.env("LIGHTHOUSE__NATS__URL", "nats://127.0.0.1:1");
    run_hook(cmd, &bash_in(command, id, cwd))
}

/// With `up` running, the hook's answers come from the pipeline even when the hook
/// itself cannot reach the server: it asked through the relay. Each is on record once,
/// made by a validator, not by the hook.
#[tokio::test(flavor = "multi_thread")]
async fn under_up_the_hook_asks_through_the_relay() {
    let up = Up::start(&[], "").await;
    assert!(up.state.path().join("hook.sock").exists());
    let project = project();
    for (command, id, verdict) in [
        ("git status", "toolu_relay_allow", "allow"),
        ("rm -rf ~/", "toolu_relay_deny", "deny"),
        ("git reset --hard HEAD~3", "toolu_relay_ask", "ask"),
    ] {
        let (answer, _) = hook_without_server(&up, command, id, project.path());
        assert_eq!(permission(&answer), verdict, "{answer}");
        assert!(!reason(&answer).contains("decided locally"), "{answer}");
    }
    let decided = up.decision_of("toolu_relay_").await;
    assert_eq!(decided.len(), 3, "{decided:?}");
    assert!(
        decided.iter().all(|d| d.tier != Tier::Fallback),
        "{decided:?}"
    );
}

async fn read_ask(stream: &mut UnixStream) -> Ask {
    let len = stream.read_u32().await.unwrap() as usize;
    let mut body = vec![0; len];
    stream.read_exact(&mut body).await.unwrap();
    rmp_serde::from_slice(&body).unwrap()
}

async fn send(stream: &mut UnixStream, reply: &Reply) {
    let body = rmp_serde::to_vec_named(reply).unwrap();
    stream.write_u32(body.len() as u32).await.unwrap();
    stream.write_all(&body).await.unwrap();
}

/// Puts a listener of the test's own on the relay's socket (as an agent that got
/// around the policy could): `up`'s relay is still running, but no hook reaches it.
fn impostor(up: &Up) -> UnixListener {
    let socket = up.state.path().join("hook.sock");
    std::fs::remove_file(&socket).unwrap();
    UnixListener::bind(&socket).unwrap()
}

/// An impostor relay answers a deny-class call with an allow, bound to the payload and
/// signed with the agent's own key (which the agent can read): the hook does not
/// believe it, asks the pipeline itself and gets its deny. Then an impostor that only
/// says experts were asked and never answers: the hook still answers, with its own
/// deny, within its bound, and records that deny.
#[tokio::test(flavor = "multi_thread")]
async fn a_relay_the_pipeline_did_not_sign_for_is_not_believed() {
    let up = Up::start(&[], "").await;
    let project = project();
    let agent_key = lighthouse_nats::auth::identity_file(&up.ids(), "agent");
    let signer = lighthouse_nats::auth::Signer::from_seed_file(&agent_key).unwrap();
    let listener = impostor(&up);
    let forger = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let ask = read_ask(&mut stream).await;
        let policy = lighthouse_policy::Policy::builtin();
        let mut forged =
            lighthouse_validator::decide(&policy, &ask.command, None, Tier::Policy, "v", 1);
        forged.verdict = Verdict::Allow;
        forged.reason = "forged".to_owned();
        signer.sign(&mut forged).unwrap();
        let reply = Reply::Decided {
            decision: Box::new(forged),
            approval: None,
            notes: None,
        };
        send(&mut stream, &reply).await;
        listener
    });
    let answer = up.hook(&bash_in("rm -rf ~/", "toolu_forged", project.path()));
    assert_eq!(permission(&answer), "deny", "{answer}");
    assert!(!reason(&answer).contains("forged"), "{answer}");
    let listener = forger.await.unwrap();
    let decided = up.decision_of("toolu_forged").await;
    assert_eq!(decided.len(), 1, "{decided:?}");
    assert_eq!(decided[0].verdict, Verdict::Deny);

    let staller = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let _ = read_ask(&mut stream).await;
        send(&mut stream, &Reply::WithExperts).await;
        // Holds the connection open, silent, until the hook gives up on it.
        let _ = stream.read_u8().await;
    });
    let mut cmd = up.cli(&[]);
    cmd.env("LIGHTHOUSE__HOOK__ESCALATION_WAIT_MS", "3000");
    let (answer, took) = run_hook(cmd, &bash_in("rm -rf ~/", "toolu_stalled", project.path()));
    assert_eq!(permission(&answer), "deny", "{answer}");
    assert!(reason(&answer).contains("decided locally"), "{answer}");
    assert!(took < Duration::from_secs(20), "answered after {took:?}");
    staller.await.unwrap();
    // What the agent was told is on record: the hook's own decision, once.
    eventually(Duration::from_secs(30), || async {
        !up.decision_of("toolu_stalled").await.is_empty()
    })
    .await;
    let decided = up.decision_of("toolu_stalled").await;
    assert_eq!(decided.len(), 1, "{decided:?}");
    assert_eq!(
        (decided[0].tier, decided[0].verdict),
        (Tier::Fallback, Verdict::Deny)
    );
}
