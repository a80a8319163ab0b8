//! PostToolUse: after an agent's Write, Edit, MultiEdit or NotebookEdit, publish the
//! file as it now is on disk, so experts see the project through the FUSE view.
//!
//! This path must never get in the agent's way: it prints nothing, always exits 0, and
//! is bounded in time (`files.publish_timeout_ms`). When the server cannot be reached
//! in time, the version is spooled (`<state>/spool-fs`) and published by the next hook
//! that reaches the server, or by `lighthouse up` when it starts.

use crate::files::{FileSpool, Origin, Project, read_version};
use crate::hook::HookInput;
use crate::settings::Settings;
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

/// Tools whose calls change a file, with the input field naming it.
pub const WRITE_TOOLS: &[(&str, &str)] = &[
    ("Write", "file_path"),
    ("Edit", "file_path"),
    ("MultiEdit", "file_path"),
    ("NotebookEdit", "notebook_path"),
];

/// The file a tool call wrote, when the call is one of [`WRITE_TOOLS`].
pub fn written_file(tool_name: &str, tool_input: &Value) -> Option<String> {
    let (_, field) = WRITE_TOOLS.iter().find(|(t, _)| *t == tool_name)?;
    tool_input
        .get(*field)
        .and_then(Value::as_str)
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
}

/// Handles one PostToolUse event. Never fails and never prints: problems are logged.
pub fn run(settings: &Settings, input: &HookInput) {
    let Some(file) = written_file(&input.tool_name, &input.tool_input) else {
        return;
    };
    let cwd = Path::new(&input.cwd);
    let project = match Project::enclosing(cwd, settings.hook.project.as_deref()) {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(error = %e, "post_tool_no_project");
            return;
        }
    };
    let version = match project.relative(cwd, Path::new(&file)).and_then(|rel| {
        let origin = Origin {
            agent: settings.hook.agent.clone(),
            tool: input.tool_name.clone(),
            tool_use_id: input.tool_use_id.clone(),
        };
        read_version(&project, &rel, &origin, settings.files.max_file_bytes)
    }) {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!(error = %e, "post_tool_file_refused");
            return;
        }
    };
    let spool = FileSpool::new(&settings.state_dir());
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::warn!(error = %e, "post_tool_no_runtime");
            if let Err(e) = spool.push(&version) {
                tracing::warn!(error = %e, "fs_spool_write_failed");
            }
            return;
        }
    };
    let deadline = Duration::from_millis(settings.files.publish_timeout_ms);
    let connect = async_nats::ConnectOptions::new()
        .name("lighthouse-hook-post")
        .connection_timeout(Duration::from_millis(settings.hook.connect_timeout_ms))
        .connect(settings.nats_urls());
    runtime.block_on(async {
        let send = async {
            let client = connect.await.map_err(|e| e.to_string())?;
            let js = async_nats::jetstream::new(client.clone());
            crate::files::publish(&js, version.clone())
                .await
                .map_err(|e| e.to_string())?;
            Ok::<_, String>((client, js))
        };
        match tokio::time::timeout(deadline, send).await {
            Ok(Ok((client, js))) => {
                // Earlier versions spooled while the server was away go out now, in
                // the time left over.
                let budget = Duration::from_millis(settings.hook.spool_flush_ms);
                let _ = tokio::time::timeout(budget, spool.flush(&js)).await;
                let _ = tokio::time::timeout(budget, client.flush()).await;
            }
            Ok(Err(why)) => spool_it(&spool, &version, &why),
            Err(_) => spool_it(&spool, &version, "timed out"),
        }
    });
}

fn spool_it(spool: &FileSpool, version: &lighthouse_schemas::FileVersion, why: &str) {
    tracing::warn!(reason = why, path = %version.path, "file_version_spooled");
    if let Err(e) = spool.push(version) {
        tracing::warn!(error = %e, "fs_spool_write_failed");
    }
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
}
