//! Edits of an agent's settings file that leave its hooks alone. The charter denies
//! removing or editing the hook registration (D10) but only reviews changes to the
//! agent's own permission settings (E5): an Edit of `.claude/settings.json` that adds a
//! permission rule or changes the model is the second.

use serde_json::Value;

/// Words of a hook registration: an edit naming none of them, in what it replaces or
/// what it writes, cannot change which hooks run or how.
const HOOK_WORDS: &[&str] = &[
    "hook",
    "pretooluse",
    "posttooluse",
    "beforetool",
    "aftertool",
    "matcher",
    "command",
    "lighthouse",
    "onfailure",
    "timeout",
    "\"type\"",
    "type =",
];

/// Words of the settings an agent may be asked to change (permission rules, the model,
/// environment, directories). An edit must name one: a bare fragment (`"*"` replaced by
/// `"X"`) could land inside the hook registration without naming it.
const SETTINGS_WORDS: &[&str] = &[
    "permission",
    "allow",
    "deny",
    "\"ask\"",
    "model",
    "\"env\"",
    "additionaldirectories",
    "defaultmode",
    "approval_policy",
    "sandbox_mode",
    // Permission rules name a tool and its pattern (`Bash(git push:*)`); a hook's
    // matcher names the tool alone.
    "bash(",
    "read(",
    "edit(",
    "write(",
    "webfetch(",
    "websearch(",
];

/// An agent's settings file: Claude Code's or Gemini CLI's `settings*.json`, Codex's
/// `config.toml`. Not managed (administrator) settings, hook scripts or Lighthouse's own.
pub(crate) fn is_agent_settings(path: &str) -> bool {
    let mut parts = path.rsplit('/');
    let base = parts.next().unwrap_or("");
    let dir = parts.next().unwrap_or("");
    match dir {
        ".claude" | ".gemini" => base.starts_with("settings") && base.ends_with(".json"),
        ".codex" => base == "config.toml",
        _ => false,
    }
}

/// Whether an Edit or MultiEdit changes settings and leaves the hook registration
/// alone: the text it replaces and the text it writes name settings and no part of a
/// hook. A whole-file Write may drop the registration without naming it, so only one
/// of `settings.local.json` counts (Claude Code merges its hooks with the other
/// files', so leaving them out removes none).
pub(crate) fn leaves_hooks_alone(path: &str, tool: &str, input: &Value) -> bool {
    let texts: Vec<&str> = match tool {
        "Write"
            if path.ends_with("/.claude/settings.local.json")
                || path == ".claude/settings.local.json" =>
        {
            input
                .get("content")
                .and_then(Value::as_str)
                .into_iter()
                .collect()
        }
        "Edit" => ["old_string", "new_string"]
            .iter()
            .filter_map(|k| input.get(*k).and_then(Value::as_str))
            .collect(),
        "MultiEdit" => input
            .get("edits")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .flat_map(|e| ["old_string", "new_string"].map(|k| e.get(k).and_then(Value::as_str)))
            .flatten()
            .collect(),
        _ => return false,
    };
    let lower: Vec<String> = texts.iter().map(|t| t.to_ascii_lowercase()).collect();
    let names = |words: &[&str], t: &String| words.iter().any(|w| t.contains(w));
    !lower.is_empty()
        && lower.iter().all(|t| !names(HOOK_WORDS, t))
        && lower.iter().any(|t| names(SETTINGS_WORDS, t))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_agent_settings_files_count() {
        for p in [
            "/home/dev/project/.claude/settings.json",
            "/home/dev/.claude/settings.local.json",
            "/home/dev/.gemini/settings.json",
            "/home/dev/.codex/config.toml",
        ] {
            assert!(is_agent_settings(p), "{p}");
        }
        for p in [
            "/etc/claude-code/managed-settings.json",
            "/home/dev/project/.claude/hooks/lighthouse.sh",
            "/home/dev/project/.lighthouse/policy.toml",
            "/home/dev/project/settings.json",
        ] {
            assert!(!is_agent_settings(p), "{p}");
        }
    }

    const SETTINGS: &str = "/p/.claude/settings.json";

    #[test]
    fn an_edit_naming_no_part_of_a_hook_leaves_them_alone() {
        let permission = json!({"old_string": "\"allow\": [", "new_string": "\"allow\": [\"Bash(npm run *)\", "});
        assert!(leaves_hooks_alone(SETTINGS, "Edit", &permission));
        let matcher =
            json!({"old_string": "\"matcher\": \"*\"", "new_string": "\"matcher\": \"None\""});
        assert!(!leaves_hooks_alone(SETTINGS, "Edit", &matcher));
        let off = json!({"old_string": "{", "new_string": "{\"disableAllHooks\": true,"});
        assert!(!leaves_hooks_alone(SETTINGS, "Edit", &off));
        let fragment = json!({"old_string": "\"*\"", "new_string": "\"X\""});
        assert!(!leaves_hooks_alone(SETTINGS, "Edit", &fragment));
        let model = json!({"old_string": "model = \"o3\"", "new_string": "model = \"gpt-5\""});
        assert!(leaves_hooks_alone(SETTINGS, "Edit", &model));
        let multi = json!({"edits": [{"old_string": "o3", "new_string": "gpt-5"}, {"old_string": "a", "new_string": "PreToolUse"}]});
        assert!(!leaves_hooks_alone(SETTINGS, "MultiEdit", &multi));
        let allow = json!({"content": "{\"permissions\": {\"allow\": [\"Bash(npm test)\"]}}"});
        assert!(!leaves_hooks_alone(SETTINGS, "Write", &allow));
        let local = "/p/.claude/settings.local.json";
        assert!(leaves_hooks_alone(local, "Write", &allow));
        let off = json!({"content": "{\"disableAllHooks\": true, \"permissions\": {}}"});
        assert!(!leaves_hooks_alone(local, "Write", &off));
    }
}
