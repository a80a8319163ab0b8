//! A command id bound to its payload: an agent that reuses an id for another payload
//! never gets the first payload's decision.

use lighthouse_schemas::{Command, Decision};

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
