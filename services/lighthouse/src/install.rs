//! `lighthouse install claude`: registers the hook in Claude Code's settings.
//!
//! Merges into `.claude/settings.json` (project) or `~/.claude/settings.json` (user),
//! keeping every other key and hook; running it again changes nothing, and an entry
//! pointing at an older `lighthouse` binary is replaced rather than duplicated.

use serde_json::{Map, Value, json};
use std::path::Path;

/// The hook events Lighthouse handles (one command serves all of them).
pub const EVENTS: &[&str] = &["PreToolUse", "PostToolUse"];
const HOOK_SUFFIX: &str = " hook claude";

/// Whether a hook command is one of ours (any path to a `lighthouse` binary).
fn is_ours(command: &str) -> bool {
    command.ends_with(HOOK_SUFFIX) && command.contains("lighthouse")
}

/// Returns `settings` with Lighthouse's hook registered for every event in [`EVENTS`].
pub fn merge_hooks(mut settings: Value, command: &str) -> Result<Value, String> {
    let root = settings
        .as_object_mut()
        .ok_or("settings.json is not a JSON object")?;
    let hooks = root
        .entry("hooks")
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
        .ok_or("settings.json: \"hooks\" is not an object")?;
    for event in EVENTS {
        let entries = hooks
            .entry(*event)
            .or_insert_with(|| Value::Array(Vec::new()))
            .as_array_mut()
            .ok_or_else(|| format!("settings.json: hooks.{event} is not an array"))?;
        // Drop our stale entries; keep everything else untouched.
        for entry in entries.iter_mut() {
            if let Some(list) = entry.get_mut("hooks").and_then(Value::as_array_mut) {
                list.retain(|h| {
                    let cmd = h.get("command").and_then(Value::as_str).unwrap_or("");
                    !is_ours(cmd) || cmd == command
                });
            }
        }
        entries.retain(|e| {
            e.get("hooks")
                .and_then(Value::as_array)
                .is_none_or(|l| !l.is_empty())
        });
        let present = entries.iter().any(|e| {
            e.get("hooks").and_then(Value::as_array).is_some_and(|l| {
                l.iter()
                    .any(|h| h.get("command").and_then(Value::as_str) == Some(command))
            })
        });
        if !present {
            entries.push(json!({
                "matcher": "*",
                "hooks": [{"type": "command", "command": command, "timeout": 60}]
            }));
        }
    }
    Ok(settings)
}

/// Installs into the settings file at `path`, creating it if needed.
pub fn install(path: &Path, command: &str) -> anyhow::Result<()> {
    let current = match std::fs::read(path) {
        Ok(bytes) if !bytes.iter().all(u8::is_ascii_whitespace) => {
            serde_json::from_slice(&bytes)
                .map_err(|e| anyhow::anyhow!("{} is not valid JSON: {e}", path.display()))?
        }
        Ok(_) => json!({}),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => json!({}),
        Err(e) => return Err(e.into()),
    };
    let merged = merge_hooks(current, command).map_err(|e| anyhow::anyhow!(e))?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("json.lighthouse-tmp");
    std::fs::write(&tmp, serde_json::to_string_pretty(&merged)? + "\n")?;
    std::fs::rename(tmp, path)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CMD: &str = "/usr/local/bin/lighthouse hook claude";

    #[test]
    fn merging_is_idempotent_and_keeps_other_hooks() {
        let user = json!({
            "model": "opus",
            "hooks": {"PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "my-linter"}]}]}
        });
        let once = merge_hooks(user, CMD).unwrap();
        let twice = merge_hooks(once.clone(), CMD).unwrap();
        assert_eq!(once, twice);
        assert_eq!(once["model"], "opus");
        let pre = once["hooks"]["PreToolUse"].as_array().unwrap();
        assert_eq!(pre.len(), 2);
        assert_eq!(pre[0]["hooks"][0]["command"], "my-linter");
        assert_eq!(pre[1]["hooks"][0]["command"], CMD);
        assert_eq!(once["hooks"]["PostToolUse"][0]["hooks"][0]["command"], CMD);
    }

    #[test]
    fn an_older_binary_path_is_replaced() {
        let old = merge_hooks(json!({}), "/old/lighthouse hook claude").unwrap();
        let new = merge_hooks(old, CMD).unwrap();
        let pre = new["hooks"]["PreToolUse"].as_array().unwrap();
        assert_eq!(pre.len(), 1);
        assert_eq!(pre[0]["hooks"][0]["command"], CMD);
    }

    #[test]
    fn non_object_settings_are_refused() {
        assert!(merge_hooks(json!([1]), CMD).is_err());
        assert!(merge_hooks(json!({"hooks": 3}), CMD).is_err());
    }

    #[test]
    fn install_writes_a_file_and_refuses_broken_json() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".claude/settings.json");
        install(&path, CMD).unwrap();
        install(&path, CMD).unwrap();
        let v: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(v["hooks"]["PreToolUse"].as_array().unwrap().len(), 1);
        std::fs::write(&path, "{broken").unwrap();
        assert!(install(&path, CMD).is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{broken");
    }
}
