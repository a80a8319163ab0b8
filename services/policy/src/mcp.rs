//! MCP tools that are git commands in structured form (`git_push` with `{"remote":
//! "origin", "branch": "main", "force": true}`): written back as the command line they
//! run, so the git rules judge them as they judge Bash.

use serde_json::Value;

/// Inputs that are the command's operands, in the order git takes them.
const OPERAND_KEYS: &[&str] = &[
    "remote",
    "repository",
    "branch",
    "branch_name",
    "refspec",
    "ref",
    "target",
    "revision",
    "commit",
    "start_point",
    "paths",
    "files",
    "path",
];

/// Inputs that only say where the repository is, not what the command does.
const PLACE_KEYS: &[&str] = &["repo_path", "repo", "cwd", "repository_path", "directory"];

/// At most this many operands are written out (the rest would only add paths).
const MAX_OPERANDS: usize = 32;

/// The command line an MCP git tool (`mcp__git__git_push`, `…__git-reset`) runs, when
/// its name says which git command: booleans set to true are flags (`force` →
/// `--force`), a `mode` is a flag (`hard` → `--hard`), operands follow in git's order.
pub fn git_command(tool: &str, input: &Value) -> Option<String> {
    let verb = tool.rsplit("__").next()?;
    let verb = verb
        .strip_prefix("git_")
        .or_else(|| verb.strip_prefix("git-"))?;
    if verb.is_empty()
        || !verb
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return None;
    }
    let mut argv = vec!["git".to_owned(), verb.replace('_', "-")];
    let fields = input.as_object()?;
    for (k, v) in fields {
        if PLACE_KEYS.contains(&k.as_str()) || OPERAND_KEYS.contains(&k.as_str()) {
            continue;
        }
        match v {
            Value::Bool(true) => argv.push(format!("--{}", k.replace('_', "-"))),
            Value::String(m) if k == "mode" => argv.push(format!("--{m}")),
            _ => {}
        }
    }
    let mut operands = 0;
    for k in OPERAND_KEYS {
        let values: Vec<&str> = match fields.get(*k) {
            Some(Value::String(s)) => vec![s.as_str()],
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
            _ => continue,
        };
        for v in values {
            if operands == MAX_OPERANDS {
                break;
            }
            argv.push(quote(v));
            operands += 1;
        }
    }
    Some(argv.join(" "))
}

/// `text` as one shell word.
fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn structured_git_tools_become_command_lines() {
        let push = json!({"repo_path": "/p", "remote": "origin", "branch": "main", "force": true});
        assert_eq!(
            git_command("mcp__git__git_push", &push).as_deref(),
            Some("git push --force 'origin' 'main'")
        );
        let reset = json!({"mode": "hard", "target": "HEAD~3"});
        assert_eq!(
            git_command("mcp__repo__git-reset", &reset).as_deref(),
            Some("git reset --hard 'HEAD~3'")
        );
        assert_eq!(git_command("mcp__github__create_issue", &json!({})), None);
    }
}
