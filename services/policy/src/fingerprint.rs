//! The normalised-command key: what an exception granted for one call matches.
//!
//! It is computed from what the shell normaliser says would run (command names, resolved
//! words, redirects, wrappers, environment, code handed to interpreters), not from the
//! text: `git  push   origin` and `git push 'origin'` share a key, `git push --force`
//! does not. Other tools are keyed by their whole input (keys sorted, so their order does
//! not matter) — a Write's content is part of what was approved. The working
//! directory is part of the key because relative paths mean something else elsewhere.
//!
//! A command the normaliser could not fully read (a size, depth or time bound) has no
//! key: no exception can cover what was never completely seen.

use crate::shell::{self, Effective, Env};
use crate::{Call, home_from_cwd};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Bumped when the key's inputs change: old exceptions then stop matching (they fail
/// closed into escalations) instead of matching something else.
const VERSION: &str = "fp1";

/// The call's key (`fp1-<hex>`), or `None` when the call was not completely normalised.
pub fn fingerprint(call: &Call<'_>) -> Option<String> {
    let mut h = Keyed(Sha256::new());
    h.part(call.tool_name);
    h.part(call.cwd);
    // Where the branch is known it is part of what was decided (`git push` on main).
    if let Some(branch) = call.branch {
        h.part("\u{0}branch");
        h.part(branch);
    }
    let command = call.tool_input.get("command").and_then(Value::as_str);
    let shell_like = call.tool_name == "Bash"
        || (call.tool_name.starts_with("mcp__")
            && ["command", "cmd", "script"]
                .iter()
                .any(|k| call.tool_input.get(*k).is_some_and(Value::is_string)));
    if shell_like {
        let text = command
            .or_else(|| call.tool_input.get("cmd").and_then(Value::as_str))
            .or_else(|| call.tool_input.get("script").and_then(Value::as_str))?;
        // Only the home the cwd tells: the granting CLI and the validator run as other
        // users, so their own homes must not change the key.
        let env = Env {
            cwd: call.cwd,
            home: home_from_cwd(call.cwd),
        };
        let norm = shell::normalize(text, env);
        if norm.over_bound.is_some() {
            return None;
        }
        h.part(if norm.parse_error {
            "parse-error"
        } else {
            "parsed"
        });
        for e in &norm.commands {
            effective(&mut h, e);
        }
    } else {
        h.part(&canonical(call.tool_input));
    }
    Some(format!("{VERSION}-{}", &hex::encode(h.0.finalize())[..32]))
}

/// JSON with every object's keys sorted (the workspace's serde_json keeps insertion
/// order, which the agent chooses).
fn canonical(v: &Value) -> String {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let fields: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", Value::String(k.clone()), canonical(&map[k])))
                .collect();
            format!("{{{}}}", fields.join(","))
        }
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(canonical).collect();
            format!("[{}]", items.join(","))
        }
        other => other.to_string(),
    }
}

/// Length-prefixed parts, so no two different sequences hash the same bytes.
struct Keyed(Sha256);

impl Keyed {
    fn part(&mut self, s: &str) {
        self.0.update((s.len() as u64).to_le_bytes());
        self.0.update(s.as_bytes());
    }
    fn list<'a>(&mut self, tag: &str, items: impl Iterator<Item = &'a str>) {
        self.part(tag);
        let items: Vec<&str> = items.collect();
        self.part(&items.len().to_string());
        for i in items {
            self.part(i);
        }
    }
}

fn effective(h: &mut Keyed, e: &Effective) {
    h.part("cmd");
    h.part(&e.name);
    h.list("args", e.args.iter().map(|a| a.text.as_str()));
    h.list("via", e.via.iter().map(String::as_str));
    h.list("tags", e.tags.iter().map(String::as_str));
    h.list("script_from", e.script_from.iter().map(String::as_str));
    let redirects: Vec<String> = e
        .redirects
        .iter()
        .map(|r| format!("{:?} {}", r.kind, r.target.text))
        .collect();
    h.list("redirects", redirects.iter().map(String::as_str));
    let env: Vec<String> = e.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    h.list("env", env.iter().map(String::as_str));
    h.part(e.code.as_deref().unwrap_or("\0none"));
    h.part(e.cwd.as_deref().unwrap_or("\0none"));
    match &e.stdin {
        Some(stdin) => {
            h.list("stdin", stdin.producers.iter().map(String::as_str));
            h.part(stdin.text.as_deref().unwrap_or("\0none"));
        }
        None => h.part("no-stdin"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key(tool: &str, input: Value, cwd: &str) -> Option<String> {
        fingerprint(&Call {
            tool_name: tool,
            tool_input: &input,
            cwd,
            home: Some("/home/u"),
            branch: None,
        })
    }

    fn bash(command: &str) -> Option<String> {
        key("Bash", json!({ "command": command }), "/work/p")
    }

    #[test]
    fn reformatting_keeps_the_key_and_a_different_command_changes_it() {
        let k = bash("git push origin main").unwrap();
        assert!(k.starts_with("fp1-"));
        assert_eq!(bash("git   push  origin    main").as_ref(), Some(&k));
        assert_eq!(bash("git push 'origin' \"main\"").as_ref(), Some(&k));
        assert_ne!(bash("git push --force origin main").as_ref(), Some(&k));
        assert_ne!(bash("git push origin dev").as_ref(), Some(&k));
        assert_ne!(
            bash("RAILS_ENV=production git push origin main").as_ref(),
            Some(&k),
            "the environment a command runs with is part of it"
        );
        assert_ne!(
            key(
                "Bash",
                json!({"command": "git push origin main"}),
                "/work/q"
            ),
            Some(k),
            "another directory is another call"
        );
    }

    #[test]
    fn other_tools_are_keyed_by_their_whole_input() {
        let a = key("Write", json!({"file_path": "/w/a", "content": "x"}), "/w");
        let same = key("Write", json!({"content": "x", "file_path": "/w/a"}), "/w");
        let other = key("Write", json!({"file_path": "/w/a", "content": "y"}), "/w");
        assert_eq!(a, same);
        assert_ne!(a, other);
        assert_ne!(
            a,
            key("Edit", json!({"file_path": "/w/a", "content": "x"}), "/w")
        );
    }

    #[test]
    fn a_command_past_the_normaliser_bounds_has_no_key() {
        let huge = "echo x; ".repeat(shell::MAX_INPUT / 4);
        assert_eq!(bash(&huge), None);
        assert_eq!(key("Bash", json!({}), "/w"), None);
    }
}
