//! After a tool ran (Claude Code's and Codex's `PostToolUse`, Gemini's `AfterTool`):
//! publish the files it wrote, as they now are on disk, so experts see the project
//! through the FUSE view; and hand the model the experts' notes on a file it read,
//! before it edits it.
//!
//! Which files a call wrote: the `file_path` of Write/Edit/MultiEdit/NotebookEdit; the
//! files an `apply_patch` names (Codex); for a shell command, the project's files
//! (respecting `.gitignore`) modified since the hook saw the command start — bounded
//! by [`MAX_WALK`] entries and [`MAX_SHELL_FILES`] files.
//!
//! This path must never get in the agent's way: it never blocks, and is bounded in time
//! (`files.publish_timeout_ms`). When the server cannot be reached in time, versions are
//! spooled (`<state>/spool-fs`) and published by the next hook that reaches the server,
//! or by `lighthouse up` when it starts.

use crate::files::{FileSpool, Origin, Project, read_version};
use crate::protocol::Call;
use crate::starts::StartLog;
use lighthouse_config::Settings;
use lighthouse_schemas::FileVersion;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Tools whose calls change a file, with the input field naming it.
pub const WRITE_TOOLS: &[(&str, &str)] = &[
    ("Write", "file_path"),
    ("Edit", "file_path"),
    ("MultiEdit", "file_path"),
    ("NotebookEdit", "notebook_path"),
];

/// Most directory entries a shell command's before/after comparison looks at.
pub const MAX_WALK: usize = 20_000;
/// Most files one shell command is credited with writing.
pub const MAX_SHELL_FILES: usize = 64;

/// The file a tool call wrote, when the call is one of [`WRITE_TOOLS`].
pub fn written_file(tool_name: &str, tool_input: &Value) -> Option<String> {
    let (_, field) = WRITE_TOOLS.iter().find(|(t, _)| *t == tool_name)?;
    tool_input
        .get(*field)
        .and_then(Value::as_str)
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
}

/// Notes when a shell command was let through to run (before its decision, so the
/// comparison after it misses nothing).
pub fn mark_shell_start(settings: &Settings, id: &str) {
    if let Err(e) = StartLog::new(&settings.state_dir()).mark(id) {
        tracing::warn!(error = %e, "shell_start_not_noted");
    }
}

/// Files under the project modified at or after `since` (gitignored files, `.git` and
/// `.lighthouse` excluded), relative to the root; bounded.
pub fn changed_since(project: &Project, since: SystemTime) -> Vec<String> {
    let mut changed = Vec::new();
    for path in crate::files::walk(project, &project.root, MAX_WALK) {
        let modified = std::fs::metadata(&path).and_then(|m| m.modified());
        if modified.is_ok_and(|m| m >= since)
            && let Ok(rel) = path.strip_prefix(&project.root)
            && let Some(rel) = rel.to_str()
        {
            changed.push(rel.to_owned());
            if changed.len() >= MAX_SHELL_FILES {
                break;
            }
        }
    }
    changed
}

/// The project files a finished call wrote (project-relative or absolute paths).
fn written_files(settings: &Settings, call: &Call, id: &str, project: &Project) -> Vec<String> {
    if let Some(file) = written_file(&call.tool_name, &call.tool_input) {
        return vec![file];
    }
    if let Some(patch) = lighthouse_policy::patch::text(&call.tool_name, &call.tool_input) {
        return lighthouse_policy::patch::files(&patch);
    }
    if call.tool_name == "Bash"
        && let Some(since) = StartLog::new(&settings.state_dir()).start_of(id)
    {
        return changed_since(project, since);
    }
    Vec::new()
}

/// The versions a finished call produced, read from disk (nothing on error: logged).
fn versions(settings: &Settings, call: &Call, id: &str) -> Vec<FileVersion> {
    let cwd = Path::new(&call.cwd);
    let project = match Project::enclosing(cwd, settings.hook.project.as_deref()) {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(error = %e, "post_tool_no_project");
            return Vec::new();
        }
    };
    let origin = Origin {
        agent: settings.hook.agent.clone(),
        tool: call.client_tool.clone(),
        tool_use_id: call.tool_use_id.clone().or_else(|| Some(id.to_owned())),
    };
    written_files(settings, call, id, &project)
        .into_iter()
        .filter_map(|file| {
            let rel = project.relative(cwd, Path::new(&file));
            match rel.and_then(|rel| {
                read_version(&project, &rel, &origin, settings.files.max_file_bytes)
            }) {
                Ok(v) => Some(v),
                Err(e) => {
                    tracing::warn!(error = %e, "post_tool_file_refused");
                    None
                }
            }
        })
        .collect()
}

/// What a finished call leaves to do: publish the versions it wrote, and find the
/// experts' notes on a file it read.
#[derive(Debug)]
pub struct Finished {
    pub versions: Vec<FileVersion>,
    /// The file the call read, as the call names it.
    pub read: Option<String>,
}

impl Finished {
    /// What `call` did (the files it wrote, read from disk as they now are).
    pub fn of(settings: &Settings, call: &Call, id: &str) -> Finished {
        Finished {
            versions: versions(settings, call, id),
            read: read_file(call),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.versions.is_empty() && self.read.is_none()
    }

    /// The file read, as an absolute path, and its project: what its notes are kept by.
    fn notes_target(&self, settings: &Settings, call: &Call) -> Option<(PathBuf, String)> {
        let cwd = Path::new(&call.cwd);
        let file = self.read.as_ref()?;
        let project = lighthouse_config::project::name_of(cwd, settings.hook.project.as_deref());
        Some((cwd.join(file), project))
    }

    /// Spools every version before anything is sent: whoever publishes it (the relay,
    /// this hook, the next hook or `up`), and however late, it is kept until then.
    pub fn spool(&self, settings: &Settings) {
        let spool = FileSpool::new(&settings.state_dir());
        for version in &self.versions {
            if let Err(e) = spool.push(version) {
                tracing::warn!(error = %e, path = %version.path, "fs_spool_write_failed");
            }
        }
    }
}

/// Through `lighthouse up`'s relay, on its open connection: it publishes the spool
/// and looks up the notes on the file read (see [`Finished::spool`], first).
pub fn relayed(
    settings: &Settings,
    call: &Call,
    finished: &Finished,
    socket: &Path,
) -> Result<Option<String>, crate::relay_client::Miss> {
    let (notes_on, project) = finished.notes_target(settings, call).unzip();
    let record = crate::relay::Record {
        flush: !finished.versions.is_empty(),
        flush_ms: settings.files.publish_timeout_ms,
        notes_on,
        project: project.unwrap_or_default(),
    };
    let until = std::time::Instant::now()
        + Duration::from_millis(settings.files.publish_timeout_ms)
        + crate::notes::ANNOTATION_BUDGET;
    crate::relay_client::record(socket, &record, until)
}

/// On this hook's own connection (see [`Finished::spool`], first): publishes the spool,
/// within `files.publish_timeout_ms`, and returns the notes on the file read. What
/// cannot go now stays spooled.
pub fn run(
    settings: &Settings,
    call: &Call,
    finished: &Finished,
    runtime: &tokio::runtime::Runtime,
    connecting: tokio::task::JoinHandle<Result<async_nats::Client, String>>,
) -> Option<String> {
    let spool = FileSpool::new(&settings.state_dir());
    let deadline = Duration::from_millis(settings.files.publish_timeout_ms);
    let spooled = |why: &str| {
        if !finished.versions.is_empty() {
            tracing::warn!(
                reason = why,
                files = finished.versions.len(),
                "file_versions_spooled"
            );
        }
    };
    runtime.block_on(async {
        let nats = match tokio::time::timeout(deadline, connecting).await {
            Ok(Ok(Ok(nats))) => nats,
            _ => {
                spooled("no connection");
                return None;
            }
        };
        let notes = match finished.notes_target(settings, call) {
            Some((file, project)) => crate::notes::notes_on(&nats, &file, &project).await,
            None => None,
        };
        if !finished.versions.is_empty() {
            let js = async_nats::jetstream::new(nats);
            if tokio::time::timeout(deadline, spool.flush(&js))
                .await
                .is_err()
            {
                spooled("timed out");
            }
        }
        notes
    })
}

/// The file a read-only tool call names (Read), for the notes on it.
pub fn read_file(call: &Call) -> Option<String> {
    (call.tool_name == "Read")
        .then(|| {
            call.tool_input
                .get("file_path")?
                .as_str()
                .map(str::to_owned)
        })
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_writing_tools_name_a_file() {
        assert_eq!(
            written_file("Write", &json!({"file_path": "/p/a.rs", "content": "x"})).as_deref(),
            Some("/p/a.rs")
        );
        assert_eq!(
            written_file("NotebookEdit", &json!({"notebook_path": "n.ipynb"})).as_deref(),
            Some("n.ipynb")
        );
        assert_eq!(written_file("Bash", &json!({"file_path": "/p/a.rs"})), None);
        assert_eq!(written_file("Edit", &json!({"file_path": ""})), None);
        assert_eq!(written_file("Edit", &json!({"file_path": 3})), None);
    }

    #[test]
    fn a_shell_command_is_credited_with_the_files_it_changed_not_ignored_ones() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("proj");
        std::fs::create_dir_all(root.join(".git")).unwrap();
        std::fs::create_dir_all(root.join("target")).unwrap();
        std::fs::write(root.join(".gitignore"), "target/\n").unwrap();
        std::fs::write(root.join("old.txt"), "old").unwrap();
        let project = Project::enclosing(&root, None).unwrap();
        // File times come from the kernel's coarse clock, the start from the precise
        // one: a file written right after the mark still counts.
        let starts = crate::starts::StartLog::new(dir.path());
        starts.mark("cmd").unwrap();
        let since = starts.start_of("cmd").unwrap();
        std::fs::write(root.join("new.txt"), "new").unwrap();
        std::fs::write(root.join("target/out.bin"), "built").unwrap();
        std::fs::write(root.join(".git/index"), "x").unwrap();
        // Files from before the mark (their mtimes may equal it on a coarse clock).
        for old in ["old.txt", ".gitignore"] {
            let old = std::fs::File::options()
                .write(true)
                .open(root.join(old))
                .unwrap();
            old.set_modified(since - Duration::from_secs(10)).unwrap();
        }
        assert_eq!(changed_since(&project, since), ["new.txt"]);
    }
}
