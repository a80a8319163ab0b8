//! Codex's `apply_patch`: the files a patch adds, changes, moves or deletes, and the
//! text it writes into each. Codex applies a patch itself (as its own tool, or by
//! intercepting a shell command `apply_patch <<'EOF' …`), so no `file_path` says what
//! it touches: each change is judged as the file tool that would make it.

use crate::finding::Finding;
use crate::{Analysis, Base, Call, Policy};
use lighthouse_schemas::{Risk, Verdict};
use serde_json::{Value, json};

/// At most this many file changes of one patch are judged; more escalates.
pub const MAX_CHANGES: usize = 256;

/// What a patch does to one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A new file with this content.
    Add {
        path: String,
        content: String,
    },
    /// Lines added to and removed from a file (and where it moves, if it does).
    Update {
        path: String,
        added: String,
        removed: String,
        moved_to: Option<String>,
    },
    Delete {
        path: String,
    },
}

impl Change {
    /// The files this change writes or removes.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        let (path, moved) = match self {
            Change::Add { path, .. } | Change::Delete { path } => (path, None),
            Change::Update { path, moved_to, .. } => (path, moved_to.as_deref()),
        };
        std::iter::once(path.as_str()).chain(moved)
    }
}

/// The patch text of a call, when it is one: the `apply_patch` tool's input, or a
/// shell command that runs `apply_patch` (a heredoc, or `["apply_patch", "<patch>"]`).
pub fn text(tool_name: &str, tool_input: &Value) -> Option<String> {
    let text = match tool_name {
        "apply_patch" => ["input", "patch", "command"]
            .iter()
            .find_map(|k| tool_input.get(k))?,
        "Bash" => tool_input.get("command")?,
        _ => return None,
    };
    // Read in place: most calls hold no patch, and this runs for every shell command.
    let text: std::borrow::Cow<str> = match text {
        Value::String(s) => s.into(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join("\n")
            .into(),
        _ => return None,
    };
    let begin = text.find("*** Begin Patch")?;
    // In a shell command, only a patch handed to `apply_patch` is applied; the same
    // text echoed or grepped is text.
    let runs = tool_name == "apply_patch"
        || text[..begin]
            .split(|c: char| c.is_whitespace() || matches!(c, '<' | ';' | '&' | '('))
            .any(|w| matches!(w, "apply_patch" | "applypatch"));
    runs.then(|| text.into_owned())
}

/// The changes a patch makes, in order (at most [`MAX_CHANGES`] + 1, so a caller can
/// tell the patch was longer).
pub fn changes(patch: &str) -> Vec<Change> {
    let mut out: Vec<Change> = Vec::new();
    for line in patch.lines() {
        let trimmed = line.trim_start();
        let header = |prefix: &str| {
            trimmed
                .strip_prefix(prefix)
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
        };
        if let Some(path) = header("*** Add File: ") {
            out.push(Change::Add {
                path,
                content: String::new(),
            });
        } else if let Some(path) = header("*** Update File: ") {
            out.push(Change::Update {
                path,
                added: String::new(),
                removed: String::new(),
                moved_to: None,
            });
        } else if let Some(path) = header("*** Delete File: ") {
            out.push(Change::Delete { path });
        } else if let Some(to) = header("*** Move to: ") {
            if let Some(Change::Update { moved_to, .. }) = out.last_mut() {
                *moved_to = Some(to);
            }
        } else if let Some(added) = line.strip_prefix('+')
            && let Some(Change::Add { content: text, .. } | Change::Update { added: text, .. }) =
                out.last_mut()
        {
            text.push_str(added);
            text.push('\n');
        } else if let Some(gone) = line.strip_prefix('-')
            && let Some(Change::Update { removed, .. }) = out.last_mut()
        {
            removed.push_str(gone);
            removed.push('\n');
        }
        if out.len() > MAX_CHANGES {
            break;
        }
    }
    out
}

/// The files a patch names (added, updated, deleted or moved to), each once.
pub fn files(patch: &str) -> Vec<String> {
    let mut files: Vec<String> = Vec::new();
    for change in changes(patch).iter().take(MAX_CHANGES) {
        for path in change.paths() {
            if !files.iter().any(|f| f == path) {
                files.push(path.to_owned());
            }
        }
    }
    files
}

/// The unified diff a command applies from its stdin (`git apply`, `patch -p1 < x.diff`,
/// a heredoc), when its text is known.
pub(crate) fn diff_input(e: &crate::shell::Effective) -> Option<&str> {
    let applies =
        e.name == "patch" || e.name == "git" && e.args.first().is_some_and(|a| a.text == "apply");
    if !applies {
        return None;
    }
    e.stdin.as_ref()?.text.as_deref()
}

/// The files a unified diff changes (its `+++` lines, or `---` for a deletion), without
/// the `a/` `b/` prefixes; at most [`MAX_CHANGES`].
pub(crate) fn diff_files(diff: &str) -> Vec<String> {
    let mut files: Vec<String> = Vec::new();
    let mut old: Option<&str> = None;
    for line in diff.lines() {
        let name = |rest: &str| {
            let path = rest.split('\t').next().unwrap_or("").trim();
            path.strip_prefix("a/")
                .or_else(|| path.strip_prefix("b/"))
                .unwrap_or(path)
                .to_owned()
        };
        if let Some(rest) = line.strip_prefix("--- ") {
            old = Some(rest);
        } else if let Some(rest) = line.strip_prefix("+++ ") {
            let path = match (rest.trim(), old) {
                ("/dev/null", Some(o)) => name(o),
                _ => name(rest),
            };
            if !path.is_empty() && path != "/dev/null" && !files.contains(&path) {
                files.push(path);
            }
            if files.len() >= MAX_CHANGES {
                break;
            }
        }
    }
    files
}

/// `'text'` for a shell, whatever the text holds.
fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

impl Policy {
    /// The strictest judgement of a patch's changes, each judged as the file tool (or,
    /// for a deletion, the `rm`) that would make it; `None` for a patch that changes
    /// nothing. Paths resolve as Codex resolves them: against the working directory.
    pub(crate) fn analyze_patch(&self, patch: &str, base: Base<'_>) -> Option<Analysis> {
        let changes = changes(patch);
        if changes.len() > MAX_CHANGES {
            let why = format!("the patch changes more than {MAX_CHANGES} files");
            let mut a = self.fixed(Finding::new(
                Verdict::Escalate,
                Risk::Medium,
                "patch.over_bound",
                why.clone(),
            ));
            a.over_bound = Some(why);
            return Some(a);
        }
        let tool = |name: &str, input: Value| {
            let call = Call {
                tool_name: name,
                tool_input: &input,
                cwd: base.cwd,
                home: base.home,
                branch: base.branch,
            };
            self.analyze_tool(&call, base)
        };
        changes
            .iter()
            .flat_map(|change| match change {
                Change::Add { path, content } => {
                    vec![tool(
                        "Write",
                        json!({ "file_path": path, "content": content }),
                    )]
                }
                Change::Update {
                    path,
                    added,
                    removed,
                    moved_to,
                } => {
                    let mut judged = vec![tool(
                        "Edit",
                        json!({ "file_path": path, "old_string": removed, "new_string": added }),
                    )];
                    if let Some(to) = moved_to {
                        judged.push(tool("Write", json!({ "file_path": to, "content": added })));
                    }
                    judged
                }
                Change::Delete { path } => {
                    vec![self.bash(&format!("rm -f -- {}", quoted(path)), base, false)]
                }
            })
            .reduce(stricter)
    }

    /// Findings for the files `diff` changes, each judged as an Edit of it with the
    /// whole diff as what it replaces (only those a rule objects to).
    pub(crate) fn patch_findings(&self, diff: &str, base: Base<'_>) -> Vec<Finding> {
        diff_files(diff)
            .iter()
            .map(|path| {
                let input = json!({ "file_path": path, "old_string": diff, "new_string": "" });
                let call = Call {
                    tool_name: "Edit",
                    tool_input: &input,
                    cwd: base.cwd,
                    home: base.home,
                    branch: base.branch,
                };
                self.analyze_tool(&call, base).evaluation
            })
            .filter(|e| e.verdict != Verdict::Allow)
            .map(|e| {
                let id = e.rule_id.unwrap_or_else(|| "patch.diff".to_owned());
                Finding::new(
                    e.verdict,
                    e.risk,
                    &id,
                    format!("applies a diff that {}", e.reason),
                )
            })
            .collect()
    }
}

/// The stricter of two judgements (verdict, then risk; the first among equals).
pub(crate) fn stricter(a: Analysis, b: Analysis) -> Analysis {
    let rank = |x: &Analysis| (x.evaluation.verdict.strictness(), x.evaluation.risk);
    if rank(&b) > rank(&a) { b } else { a }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATCH: &str = "*** Begin Patch\n*** Add File: a.txt\n+hi\n*** Update File: src/b.rs\n*** Move to: src/c.rs\n@@\n-x\n+y\n*** Delete File: old.txt\n*** End Patch";

    #[test]
    fn changes_are_read_in_order_with_their_text() {
        assert_eq!(
            changes(PATCH),
            vec![
                Change::Add {
                    path: "a.txt".into(),
                    content: "hi\n".into()
                },
                Change::Update {
                    path: "src/b.rs".into(),
                    added: "y\n".into(),
                    removed: "x\n".into(),
                    moved_to: Some("src/c.rs".into())
                },
                Change::Delete {
                    path: "old.txt".into()
                },
            ]
        );
        assert_eq!(files(PATCH), ["a.txt", "src/b.rs", "src/c.rs", "old.txt"]);
    }

    #[test]
    fn a_patch_is_one_when_apply_patch_gets_it() {
        let heredoc = format!("apply_patch <<'EOF'\n{PATCH}\nEOF\n");
        assert!(text("Bash", &json!({ "command": heredoc })).is_some());
        assert!(text("Bash", &json!({ "command": ["apply_patch", PATCH] })).is_some());
        assert!(
            text(
                "Bash",
                &json!({ "command": format!("cd sub && {heredoc}") })
            )
            .is_some()
        );
        assert!(text("apply_patch", &json!({ "input": PATCH })).is_some());
        // Text about patches is not a patch.
        let echoed = format!("echo '{PATCH}' > notes.md");
        assert!(text("Bash", &json!({ "command": echoed })).is_none());
        assert!(text("Read", &json!({ "file_path": PATCH })).is_none());
    }

    #[test]
    fn a_diff_names_the_files_it_changes() {
        let diff = "--- a/.claude/settings.json\n+++ b/.claude/settings.json\n@@ -1 +1 @@\n-{}\n+{}\n--- a/old.rs\n+++ /dev/null\n";
        assert_eq!(diff_files(diff), [".claude/settings.json", "old.rs"]);
    }

    #[test]
    fn a_long_patch_stops_past_the_bound() {
        let many: String = (0..MAX_CHANGES + 50)
            .map(|i| format!("*** Delete File: f{i}\n"))
            .collect();
        assert_eq!(changes(&many).len(), MAX_CHANGES + 1);
        assert_eq!(files(&many).len(), MAX_CHANGES);
    }
}
