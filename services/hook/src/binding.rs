//! Which decisions the hook may act on. A command id is bound to its payload: an agent
//! that reuses an id for another payload never gets the first payload's decision. And a
//! decision counts only when the pipeline made it: signed by the key of the role allowed
//! to make it, whoever delivered it (the relay's socket, or a server on the NATS port,
//! either of which an agent that got around the policy could impersonate).

use lighthouse_schemas::{Command, Decision, Tier, Verdict};
use std::collections::BTreeMap;

/// Whether `decision` is about exactly this payload (not another one that reused the
/// command id).
pub fn binds(decision: &Decision, command: &Command) -> bool {
    decision.provenance.cmd_digest == command.payload_digest()
}

/// The same command under an id bound to its payload: `<id>-<digest>`.
pub fn rebind(mut command: Command) -> Command {
    let digest = command.payload_digest();
    if command.env.id.ends_with(&digest) {
        return command;
    }
    let id = format!("{}-{digest}", command.env.id);
    command.env.id = id.clone();
    command.env.correlation_id = id;
    command
}

/// A decision the hook may act on: about this payload, made by the pipeline (never a
/// fallback record, which an agent's key can sign), and signed by the key of the role
/// that may make it.
pub fn trusted(decision: &Decision, command: &Command, keys: &BTreeMap<String, String>) -> bool {
    decision.tier != Tier::Fallback
        && decision.cmd_id == command.env.id
        && binds(decision, command)
        && lighthouse_nats::auth::signed_by_its_role(decision, keys)
}

/// What a server sent, as the hook may act on it: [`trusted`] when the pipeline's keys
/// are on record (`identities/public.json`, which `lighthouse up` and `lighthouse nats
/// auth` write); with none (an unauthenticated server, as in development) there is no
/// signature to check, and a decision about this payload is taken as it comes.
pub fn believable(decision: &Decision, command: &Command, keys: &BTreeMap<String, String>) -> bool {
    if keys.is_empty() {
        binds(decision, command)
    } else {
        trusted(decision, command, keys)
    }
}

/// An experts' Allow recorded for this command (a late approval is never anything else).
pub fn is_late_approval(approval: &Decision, command: &Command) -> bool {
    approval.verdict == Verdict::Allow
        && approval.tier == Tier::Expert
        && approval.env.project == command.env.project
        && approval.env.agent == command.env.agent
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use lighthouse_schemas::Envelope;

    /// A call of `ls`, id `c1` (the relay client's tests ask with it too).
    pub(crate) fn command() -> Command {
        Command {
            env: Envelope::new("c1", 1, "p", "a", "c1"),
            tool_name: "Bash".into(),
            tool_input: serde_json::json!({"command": "ls"}),
            cwd: "/tmp".into(),
            session_id: "s".into(),
            tool_use_id: Some("c1".into()),
            agent_kind: lighthouse_schemas::AgentKind::ClaudeCode,
            permission_mode: None,
            git_branch: None,
        }
    }

    /// The built-in policy's decision on `command`, as a server could send it unsigned.
    fn unsigned(command: &Command, tier: Tier) -> Decision {
        lighthouse_validator::decide(
            &lighthouse_policy::Policy::builtin(),
            command,
            None,
            tier,
            "w",
            1,
        )
    }

    fn decision(command: &Command, tier: Tier, key: &nkeys::KeyPair) -> Decision {
        let mut d = unsigned(command, tier);
        lighthouse_nats::auth::sign_decision(&mut d, key).unwrap();
        d
    }

    fn keys(validator: &nkeys::KeyPair, agent: &nkeys::KeyPair) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("validator".to_owned(), validator.public_key()),
            ("agent".to_owned(), agent.public_key()),
        ])
    }

    #[test]
    fn only_the_pipelines_signed_decision_on_this_payload_is_trusted() {
        let (validator, agent) = (nkeys::KeyPair::new_user(), nkeys::KeyPair::new_user());
        let keys = keys(&validator, &agent);
        let c = command();
        assert!(trusted(&decision(&c, Tier::Policy, &validator), &c, &keys));
        // The agent's own key: a fallback record, or a policy tier it could forge.
        assert!(!trusted(&decision(&c, Tier::Fallback, &agent), &c, &keys));
        assert!(!trusted(&decision(&c, Tier::Policy, &agent), &c, &keys));
        // A validator's decision for another payload under the same id.
        let mut other = c.clone();
        other.tool_input = serde_json::json!({"command": "rm -rf ~/"});
        assert!(!trusted(
            &decision(&other, Tier::Policy, &validator),
            &c,
            &keys
        ));
        // Tampered after signing.
        let mut tampered = decision(&c, Tier::Policy, &validator);
        tampered.reason.push('!');
        assert!(!trusted(&tampered, &c, &keys));
        // No keys on record: nothing is trusted.
        let d = decision(&c, Tier::Policy, &validator);
        assert!(!trusted(&d, &c, &BTreeMap::new()));
    }

    #[test]
    fn without_keys_on_record_a_decision_about_this_payload_is_believed_as_it_comes() {
        let c = command();
        let unsigned = unsigned(&c, Tier::Policy);
        assert!(believable(&unsigned, &c, &BTreeMap::new()));
        let mut other = c.clone();
        other.tool_input = serde_json::json!({"command": "rm -rf ~/"});
        assert!(!believable(&unsigned, &other, &BTreeMap::new()));
    }

    #[test]
    fn with_keys_on_record_only_a_signed_decision_is_believed() {
        let (validator, agent) = (nkeys::KeyPair::new_user(), nkeys::KeyPair::new_user());
        let keys = keys(&validator, &agent);
        let c = command();
        assert!(believable(
            &decision(&c, Tier::Policy, &validator),
            &c,
            &keys
        ));
        // What a server on the NATS port could make up: unsigned, or signed by a key of
        // its own.
        assert!(!believable(&unsigned(&c, Tier::Policy), &c, &keys));
        let impostor = nkeys::KeyPair::new_user();
        assert!(!believable(
            &decision(&c, Tier::Policy, &impostor),
            &c,
            &keys
        ));
    }
}
