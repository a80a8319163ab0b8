//! The wire contract, pinned: JSON Schemas for other languages are generated from the
//! Rust types and must match the committed files; each message has a golden MessagePack
//! fixture that this build must decode to the same value and encode to the same bytes.
//!
//! After an intended change: `LIGHTHOUSE_BLESS=1 cargo test -p lighthouse-schemas`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the report

use lighthouse_schemas::codec::{CodecError, MAX_MESSAGE_BYTES};
use lighthouse_schemas::{
    AgentKind, Command, Decision, Envelope, Exception, ExceptionScope, Message, Revocation, Risk,
    Tier, Verdict, decode, encode,
};
use serde_json::json;
use std::fmt::Debug;
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn bless() -> bool {
    std::env::var_os("LIGHTHOUSE_BLESS").is_some()
}

/// Compares `actual` with the committed file, or rewrites it when blessing.
fn pinned(path: PathBuf, actual: &[u8]) {
    if bless() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run with LIGHTHOUSE_BLESS=1 to create it",
            path.display()
        )
    });
    assert!(
        expected == actual,
        "{} is out of date; run with LIGHTHOUSE_BLESS=1 if the change is intended",
        path.display()
    );
}

fn pin_schema<M: Message>() {
    let schema = schemars::schema_for!(M);
    let text = serde_json::to_string_pretty(&schema).unwrap() + "\n";
    pinned(
        root().join(format!("json/{}.schema.json", M::KIND)),
        text.as_bytes(),
    );
}

/// Messages whose fixtures are pinned next to their types still get their schema here.
#[test]
fn json_schemas_of_other_messages() {
    pin_schema::<lighthouse_schemas::msg::Annotation>();
    pin_schema::<lighthouse_schemas::Escalation>();
    pin_schema::<lighthouse_schemas::Vote>();
}

fn check_contract<M: Message + PartialEq + Debug>(sample: M) {
    pin_schema::<M>();
    let bytes = encode(&sample).unwrap();
    pinned(
        root().join(format!("fixtures/{}.v1.msgpack", M::KIND)),
        &bytes,
    );
    let fixture = std::fs::read(root().join(format!("fixtures/{}.v1.msgpack", M::KIND))).unwrap();
    assert_eq!(decode::<M>(&fixture).unwrap(), sample, "fixture decodes");
    assert_eq!(
        decode::<M>(&encode(&sample).unwrap()).unwrap(),
        sample,
        "round trip"
    );
}

fn envelope() -> Envelope {
    let mut env = Envelope::new(
        "toolu_01ABC",
        1_764_000_000_000_000,
        "web.app",
        "claude-code",
        "toolu_01ABC",
    );
    env.causation_id = Some("toolu_01ABC".into());
    env
}

fn command() -> Command {
    Command {
        env: envelope(),
        tool_name: "Bash".into(),
        tool_input: json!({"command": "rm -rf /", "description": "clean up", "timeout": 1200}),
        cwd: "/home/dev/web.app".into(),
        session_id: "sess-1".into(),
        tool_use_id: Some("toolu_01ABC".into()),
        agent_kind: AgentKind::ClaudeCode,
        permission_mode: Some("default".into()),
        git_branch: None,
    }
}

#[test]
fn command_contract() {
    check_contract(command());
    let mut other = command();
    other.agent_kind = AgentKind::Other("aider".into());
    assert_eq!(decode::<Command>(&encode(&other).unwrap()).unwrap(), other);
}

#[test]
fn decision_contract() {
    check_contract(Decision {
        env: envelope(),
        cmd_id: "toolu_01ABC".into(),
        verdict: Verdict::Deny,
        reason: "recursive delete of /".into(),
        rule_id: Some("fs.rm_root".into()),
        risk: Some(Risk::Critical),
        tier: Tier::Policy,
        latency_us: 412,
        decided_by: "validator-host-1".into(),
        voters: Vec::new(),
        provenance: Default::default(),
        exception: None,
    });
}

#[test]
fn exception_contract() {
    let mut env = Envelope::new(
        "ex-3f2a9c1b7d4e",
        1_764_000_100_000_000,
        "web.app",
        "claude-code",
        "toolu_01ABC",
    );
    env.causation_id = Some("toolu_01ABC".into());
    let granted = Exception {
        env,
        scope: ExceptionScope::Session("sess-1".into()),
        tool_name: "Bash".into(),
        fingerprint: "fp1-0123456789abcdef0123456789abcdef".into(),
        rule_id: Some("git.push".into()),
        normalized: vec!["git push origin main".into()],
        granted_by: "alice".into(),
        reason: "release day".into(),
        expires_us: 1_764_028_900_000_000,
        revoked: None,
    };
    check_contract(granted.clone());
    let revoked = Exception {
        scope: ExceptionScope::Project,
        revoked: Some(Revocation {
            by: "ops".into(),
            ts_us: 1_764_000_200_000_000,
            reason: "done".into(),
        }),
        ..granted
    };
    assert_eq!(
        decode::<Exception>(&encode(&revoked).unwrap()).unwrap(),
        revoked
    );
}

#[test]
fn decisions_naming_an_exception_keep_it_and_others_encode_as_before() {
    let plain = Decision {
        env: envelope(),
        cmd_id: "toolu_01ABC".into(),
        verdict: Verdict::Allow,
        reason: "r".into(),
        rule_id: None,
        risk: None,
        tier: Tier::Policy,
        latency_us: 1,
        decided_by: "v".into(),
        voters: Vec::new(),
        provenance: Default::default(),
        exception: None,
    };
    let map: std::collections::BTreeMap<String, serde::de::IgnoredAny> =
        rmp_serde::from_slice(&encode(&plain).unwrap()).unwrap();
    assert!(
        !map.contains_key("exception"),
        "absent, not nil: old signatures still verify"
    );
    let excepted = Decision {
        tier: Tier::Exception,
        exception: Some("ex-1".into()),
        ..plain
    };
    assert_eq!(
        decode::<Decision>(&encode(&excepted).unwrap()).unwrap(),
        excepted
    );
}

#[test]
fn messages_are_maps_with_named_fields() {
    // Other languages rely on names, not positions.
    let bytes = encode(&command()).unwrap();
    let map: std::collections::BTreeMap<String, serde::de::IgnoredAny> =
        rmp_serde::from_slice(&bytes).expect("a top-level map");
    for key in ["env", "tool_name", "tool_input", "cwd", "agent_kind"] {
        assert!(map.contains_key(key), "{key} missing");
    }
}

#[test]
fn newer_schema_versions_are_refused_before_decoding() {
    let mut c = command();
    c.env.v = 99;
    let err = decode::<Command>(&encode(&c).unwrap()).unwrap_err();
    assert!(matches!(
        err,
        CodecError::UnsupportedVersion { found: 99, .. }
    ));
}

#[test]
fn garbage_and_oversize_are_clear_errors() {
    assert!(matches!(
        decode::<Command>(b"\x01garbage"),
        Err(CodecError::NoEnvelope { .. })
    ));
    assert!(matches!(
        decode::<Command>(&vec![0u8; MAX_MESSAGE_BYTES + 1]),
        Err(CodecError::TooLarge { .. })
    ));
    // A valid envelope with a body of the wrong shape.
    let decision_bytes = encode(&Decision {
        env: envelope(),
        cmd_id: "x".into(),
        verdict: Verdict::Allow,
        reason: String::new(),
        rule_id: None,
        risk: None,
        tier: Tier::Cache,
        latency_us: 0,
        decided_by: String::new(),
        voters: Vec::new(),
        provenance: Default::default(),
        exception: None,
    })
    .unwrap();
    assert!(matches!(
        decode::<Command>(&decision_bytes),
        Err(CodecError::Malformed { .. })
    ));
}

#[test]
fn unknown_fields_are_ignored_for_forward_compatibility() {
    #[derive(serde::Serialize)]
    struct Newer<'a> {
        #[serde(flatten)]
        command: &'a Command,
        added_in_a_later_version: u32,
    }
    let c = command();
    let bytes = rmp_serde::to_vec_named(&Newer {
        command: &c,
        added_in_a_later_version: 7,
    })
    .unwrap();
    assert_eq!(decode::<Command>(&bytes).unwrap(), c);
}
