//! The hook's own decisions, when the pipeline cannot give one in time: the same
//! decision function validators run, on the built-in packs plus the project's own.

use lighthouse_policy::{MAX_PACK, Policy};
use lighthouse_schemas::{Command, Decision, Tier, now_us};
use std::io::Read;
use std::path::Path;

/// The policy the hook decides with when alone: built-in packs plus the project's own
/// `.lighthouse/policy.toml` (restricted: it can only tighten). Validators get the
/// same project pack through `lighthouse policy push`.
pub fn local_policy(cwd: &Path) -> Policy {
    let file = lighthouse_config::project::root(cwd).join(".lighthouse/policy.toml");
    // Only a regular file (the agent can put a FIFO there), and at most one byte past
    // the limit: enough for the parser to refuse it by size.
    let mut text = String::new();
    let read = lighthouse_nats::regular::open(&file, std::fs::OpenOptions::new().read(true))
        .and_then(|f| f.take(MAX_PACK as u64 + 1).read_to_string(&mut text));
    if let Err(e) = read {
        if e.kind() != std::io::ErrorKind::NotFound {
            tracing::warn!(file = %file.display(), error = %e, "project_policy_ignored");
        }
        return Policy::builtin();
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    const TIGHTEN: &str = r#"
# Releases are removed by the release pipeline only.
[[rule]]
id = "project.no_helm_uninstall"
commands = ["helm"]
args_any = ["^(uninstall|delete)$"]
verdict = "deny"
reason = "helm releases are removed by the release pipeline"
risk = "high"
"#;

    fn project_with(pack: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(".lighthouse")).unwrap();
        std::fs::write(dir.path().join(".lighthouse/policy.toml"), pack).unwrap();
        dir
    }

    fn has_project_rule(dir: &Path) -> bool {
        local_policy(dir)
            .rule_ids()
            .iter()
            .any(|id| id == "project.no_helm_uninstall")
    }

    #[test]
    fn a_project_pack_is_layered_on_the_builtin_ones() {
        assert!(has_project_rule(project_with(TIGHTEN).path()));
    }

    #[test]
    fn an_oversized_project_pack_is_refused_by_size() {
        let padded = format!("{TIGHTEN}\n#{}\n", "x".repeat(MAX_PACK));
        let dir = project_with(&padded);
        assert!(!has_project_rule(dir.path()));
        assert!(!local_policy(dir.path()).rule_ids().is_empty());
    }
}
