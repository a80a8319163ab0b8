//! Gemini CLI: `BeforeTool`/`AfterTool` hooks answering with a top-level
//! `{"decision": "allow"|"deny", "reason": …}`. Measured with gemini-cli 0.61.0:
//! `deny` and exit 2 (reason on stderr) block, and the reason reaches the model as the
//! tool's error; Claude-shaped output, exit 1 and garbage let the call run; and
//! `"ask"` in a headless (`-p`) run waits for a confirmation that never comes. So, as
//! for Codex: allow is silence, everything else a deny.
//!
//! Gemini's tools are renamed to the policy's (Claude Code's) vocabulary here, so the
//! same rules judge every client.

use super::{Answer, Output, deny_with_exit_2, unresolved_reason};
use lighthouse_schemas::Verdict;
use serde_json::{Value, json};

/// Gemini's tool name and input, as the policy's canonical tool and input.
pub fn canonical(tool: &str, input: Value) -> (String, Value) {
    let field = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| input.get(*n).cloned())
            .unwrap_or(Value::Null)
    };
    let (name, mapped) = match tool {
        "run_shell_command" => {
            let mut m = json!({"command": field(&["command"])});
            if let Some(dir) = input.get("dir_path").or_else(|| input.get("directory")) {
                m["dir_path"] = dir.clone();
            }
            ("Bash", m)
        }
        "write_file" => (
            "Write",
            json!({"file_path": field(&["file_path", "absolute_path", "path"]), "content": field(&["content"])}),
        ),
        "replace" | "edit" => (
            "Edit",
            json!({
                "file_path": field(&["file_path", "absolute_path", "path"]),
                "old_string": field(&["old_string"]),
                "new_string": field(&["new_string"]),
            }),
        ),
        "read_file" => (
            "Read",
            json!({"file_path": field(&["file_path", "absolute_path", "path"])}),
        ),
        "read_many_files" => ("Read", input.clone()),
        "glob" => ("Glob", input.clone()),
        "search_file_content" | "grep_search" | "grep" => ("Grep", input.clone()),
        "list_directory" | "ls" => (
            "LS",
            json!({"path": field(&["dir_path", "path", "directory"])}),
        ),
        "web_fetch" => ("WebFetch", input.clone()),
        "google_web_search" => ("WebSearch", input.clone()),
        _ => return (tool.to_owned(), input),
    };
    (name.to_owned(), mapped)
}

pub fn pre(answer: &Answer) -> Output {
    let reason = match answer.verdict {
        Verdict::Allow => return Output::SILENT,
        Verdict::Deny => answer.reason.clone(),
        Verdict::Escalate => unresolved_reason(answer),
    };
    deny_with_exit_2(json!({"decision": "deny", "reason": reason}), &reason)
}

/// AfterTool: context for the model, when there is any.
pub fn post(context: Option<&str>) -> Output {
    match context {
        Some(context) => Output {
            stdout: Some(
                json!({
                    "hookSpecificOutput": {
                        "hookEventName": "AfterTool",
                        "additionalContext": context,
                    }
                })
                .to_string(),
            ),
            stderr: None,
            code: 0,
        },
        None => Output::SILENT,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tools_are_renamed_to_the_policys_vocabulary() {
        let (name, input) = canonical(
            "run_shell_command",
            json!({"command": "rm -rf ~", "description": "x"}),
        );
        assert_eq!(name, "Bash");
        assert_eq!(input, json!({"command": "rm -rf ~"}));
        let (name, input) = canonical(
            "write_file",
            json!({"file_path": "/p/a.rs", "content": "x"}),
        );
        assert_eq!(name, "Write");
        assert_eq!(input["file_path"], "/p/a.rs");
        let (name, input) = canonical(
            "replace",
            json!({"file_path": "/p/a.rs", "old_string": "a", "new_string": "b"}),
        );
        assert_eq!(name, "Edit");
        assert_eq!(input["new_string"], "b");
        assert_eq!(
            canonical("save_memory", json!({"fact": "x"})).0,
            "save_memory"
        );
    }

    #[test]
    fn deny_is_top_level_and_exit_2() {
        let out = pre(&Answer {
            verdict: Verdict::Deny,
            reason: "no".into(),
            cmd_id: "ge-1".into(),
            context: None,
        });
        let v: Value = serde_json::from_str(out.stdout.as_deref().unwrap()).unwrap();
        assert_eq!(v, json!({"decision": "deny", "reason": "no"}));
        assert_eq!(out.code, 2);
        let esc = pre(&Answer {
            verdict: Verdict::Escalate,
            reason: "risky".into(),
            cmd_id: "ge-1".into(),
            context: None,
        });
        assert!(
            esc.stderr
                .unwrap()
                .contains("lighthouse expert approve ge-1")
        );
        assert_eq!(
            pre(&Answer {
                verdict: Verdict::Allow,
                reason: "ok".into(),
                cmd_id: "ge-1".into(),
                context: None
            }),
            Output::SILENT
        );
    }
}
