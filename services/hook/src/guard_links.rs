//! A file tool's target that is, on this machine, another name for one of the guard's
//! files: a symlink to it (or through a linked directory), or a hard link sharing its
//! inode (`cp -l .claude/settings.json notes.json`, then a Write of `notes.json`). The
//! policy judges the path as written; only the hook can see what it resolves to.

use lighthouse_policy::paths::{self, Base, Classes};
use serde_json::Value;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Tools that write the file they name.
const WRITERS: &[&str] = &["Write", "Edit", "MultiEdit", "NotebookEdit"];

/// The guard's files a hard link could share an inode with, relative to the project's
/// root (`.`) or the home directory (`~`).
const GUARD_FILES: &[&str] = &[
    "./.claude/settings.json",
    "./.claude/settings.local.json",
    "./.gemini/settings.json",
    "./.gemini/.env",
    "./.codex/config.toml",
    "./.codex/hooks.json",
    "./.lighthouse/policy.toml",
    "~/.claude/settings.json",
    "~/.claude.json",
    "~/.codex/config.toml",
    "~/.codex/hooks.json",
    "~/.gemini/settings.json",
    "~/.config/lighthouse/config.toml",
];

/// The guard's file a file tool's target (or a file a Codex patch changes) really is,
/// when it is another name for one.
pub fn linked_guard_file(
    tool_name: &str,
    tool_input: &Value,
    cwd: &str,
    home: Option<&Path>,
) -> Option<PathBuf> {
    if let Some(patch) = lighthouse_policy::patch::text(tool_name, tool_input) {
        return lighthouse_policy::patch::files(&patch)
            .iter()
            .find_map(|f| seen_through(f, cwd, home));
    }
    if !WRITERS.contains(&tool_name) {
        return None;
    }
    let named = ["file_path", "notebook_path", "path"]
        .iter()
        .find_map(|k| tool_input.get(*k)?.as_str())?;
    seen_through(named, cwd, home)
}

/// The guard's file `named` (relative to `cwd`) is another name for, if any.
fn seen_through(named: &str, cwd: &str, home: Option<&Path>) -> Option<PathBuf> {
    let target = Path::new(cwd).join(named);
    // A file not there yet lands wherever its directory really is
    // (`conf/settings.local.json` with `conf` a link to `.claude`).
    let real = lighthouse_config::project::canonical(&target);
    let base = Base {
        cwd,
        home: home.and_then(Path::to_str),
        branch: None,
    };
    if real != target && paths::classify(real.to_str()?, base).contains(Classes::GUARD) {
        return Some(real);
    }
    let meta = std::fs::metadata(&target).ok()?;
    if meta.nlink() < 2 {
        return None;
    }
    let root = lighthouse_config::project::root(Path::new(cwd));
    GUARD_FILES
        .iter()
        .filter_map(|f| match (f.strip_prefix("./"), f.strip_prefix("~/")) {
            (Some(rel), _) => Some(root.join(rel)),
            (_, Some(rel)) => Some(home?.join(rel)),
            _ => None,
        })
        .find(|guard| {
            std::fs::metadata(guard)
                .is_ok_and(|g| g.dev() == meta.dev() && g.ino() == meta.ino())
                // The guard's own name is the policy's to judge.
                && guard.canonicalize().ok().as_ref() != Some(&real)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn links_to_the_guards_files_are_seen_through() {
        let project = tempfile::tempdir().unwrap();
        let root = project.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join(".git")).unwrap();
        std::fs::create_dir_all(root.join(".claude")).unwrap();
        let settings = root.join(".claude/settings.json");
        std::fs::write(&settings, "{\"hooks\": {}}").unwrap();
        std::fs::hard_link(&settings, root.join("notes.json")).unwrap();
        std::os::unix::fs::symlink(&settings, root.join("cfg.json")).unwrap();
        std::os::unix::fs::symlink(root.join(".claude"), root.join("conf")).unwrap();
        std::fs::write(root.join("plain.json"), "{}").unwrap();
        std::fs::write(root.join("copy.bin"), "x").unwrap();
        std::fs::hard_link(root.join("copy.bin"), root.join("copy2.bin")).unwrap();
        let cwd = root.to_str().unwrap();
        let write = |path: &str| {
            linked_guard_file(
                "Write",
                &json!({"file_path": path, "content": "{}"}),
                cwd,
                None,
            )
        };
        assert_eq!(write("notes.json"), Some(settings.clone()));
        assert_eq!(write("cfg.json"), Some(settings.clone()));
        assert_eq!(write("conf/settings.json"), Some(settings.clone()));
        // Not there yet, through the linked directory.
        assert_eq!(
            write("conf/settings.local.json"),
            Some(root.join(".claude/settings.local.json"))
        );
        // The guard's own name is the policy's to judge; other files pass.
        assert_eq!(write(".claude/settings.json"), None);
        assert_eq!(write("plain.json"), None);
        assert_eq!(write("copy2.bin"), None);
        assert_eq!(write("new.txt"), None);
        let edit = json!({"file_path": "notes.json", "old_string": "a", "new_string": "b"});
        assert_eq!(
            linked_guard_file("Edit", &edit, cwd, None),
            Some(settings.clone())
        );
        assert_eq!(linked_guard_file("Read", &edit, cwd, None), None);
        // Codex changes files through patches.
        let patch = "*** Begin Patch\n*** Update File: notes.json\n@@\n-a\n+b\n*** End Patch\n";
        assert_eq!(
            linked_guard_file("apply_patch", &json!({ "input": patch }), cwd, None),
            Some(settings.clone())
        );
    }
}
