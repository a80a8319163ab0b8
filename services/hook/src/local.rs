//! The hook's own decisions, when the pipeline cannot give one in time: the same
//! decision function validators run, on the built-in packs plus the project's own.

use lighthouse_policy::Policy;
use lighthouse_schemas::{Command, Decision, Tier, now_us};
use std::path::Path;

/// The policy the hook decides with when alone: built-in packs plus the project's own
/// `.lighthouse/policy.toml` (restricted: it can only tighten). Validators get the
/// same project pack through `lighthouse policy push`.
pub fn local_policy(cwd: &Path) -> Policy {
    let file = lighthouse_config::project::root(cwd).join(".lighthouse/policy.toml");
    // Only a regular file: the agent can put a FIFO there, and reading one blocks.
    if !std::fs::metadata(&file).is_ok_and(|m| m.is_file()) {
        return Policy::builtin();
    }
    let Ok(text) = std::fs::read_to_string(&file) else {
        return Policy::builtin();
    };
    let layered = lighthouse_policy::PolicyPack::parse_restricted("project", &text).and_then(|p| {
        let mut packs = Policy::builtin_packs()?;
        packs.push(p);
        Policy::from_packs(&packs)
    });
    layered.unwrap_or_else(|e| {
        tracing::warn!(file = %file.display(), error = %e, "project_policy_ignored");
        Policy::builtin()
    })
}

/// The hook's own decision on `command` (tier `fallback`, unsigned).
pub fn decide_locally(command: &Command) -> Decision {
    let home = lighthouse_config::home_dir();
    lighthouse_validator::decide(
        &local_policy(Path::new(&command.cwd)),
        command,
        home.as_deref().and_then(Path::to_str),
        Tier::Fallback,
        "hook-fallback",
        now_us(),
    )
}
