//! `lighthouse install claude|codex|gemini [--project|--user]`: registers the hook in
//! the agent's own settings, idempotently.
//!
//! | client | project file | user file | events |
//! |---|---|---|---|
//! | Claude Code | `.claude/settings.json` | `~/.claude/settings.json` | PreToolUse, PostToolUse |
//! | Codex CLI | `.codex/hooks.json` | `~/.codex/hooks.json` | PreToolUse, PostToolUse |
//! | Gemini CLI | `.gemini/settings.json` | `~/.gemini/settings.json` | BeforeTool, AfterTool |
//!
//! All three share Claude Code's shape (`hooks.<event>[] = {matcher, hooks: [{type,
//! command, timeout}]}`), so one merge serves them: every other key and hook is kept,
//! running it again changes nothing, and an entry of ours pointing at another binary
//! is replaced rather than duplicated. Claude Code gets `onFailure: "block"`, so a hook
//! that crashes or times out blocks the call instead of letting it through.

use crate::protocol::Client;
use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};

/// How long a client lets the hook run: above the longest expert wait
/// (`hook.escalation_wait_ms` < 60 s) with room to answer.
pub const HOOK_TIMEOUT_S: u64 = 90;

/// Where `client` keeps its hooks: the project's file, or the user's.
pub fn settings_path(client: Client, project_dir: &Path, home: &Path, user: bool) -> PathBuf {
    let base = if user { home } else { project_dir };
    match client {
        Client::Claude => base.join(".claude/settings.json"),
        Client::Codex => base.join(".codex/hooks.json"),
        Client::Gemini => base.join(".gemini/settings.json"),
    }
}

/// The events the hook handles for `client`.
pub fn events(client: Client) -> &'static [&'static str] {
    match client {
        Client::Claude | Client::Codex => &["PreToolUse", "PostToolUse"],
        Client::Gemini => &["BeforeTool", "AfterTool"],
    }
}

/// One hook entry for `client`.
fn entry(client: Client, command: &str) -> Value {
    let hook = match client {
        Client::Claude => json!({
            "type": "command",
            "command": command,
            "timeout": HOOK_TIMEOUT_S,
            "onFailure": "block",
        }),
        Client::Codex => json!({"type": "command", "command": command, "timeout": HOOK_TIMEOUT_S}),
        // Gemini counts hook timeouts in milliseconds.
        Client::Gemini => json!({
            "type": "command",
            "command": command,
            "timeout": HOOK_TIMEOUT_S * 1000,
        }),
    };
    json!({"matcher": "*", "hooks": [hook]})
}

/// Whether a hook command is one of ours for `client` (any path to our binaries).
fn is_ours(client: Client, command: &str) -> bool {
    let name = client.name();
    command.contains("lighthouse")
        && (command.ends_with(&format!(" hook {name}"))
            || command.ends_with(&format!("lighthouse-hook {name}")))
}

/// Returns `settings` with the hook `command` registered for every event of `client`.
pub fn merge_hooks(client: Client, mut settings: Value, command: &str) -> Result<Value, String> {
    let root = settings
        .as_object_mut()
        .ok_or("the settings file is not a JSON object")?;
    let hooks = root
        .entry("hooks")
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
        .ok_or("\"hooks\" is not an object")?;
    let wanted = entry(client, command);
    for event in events(client) {
        let entries = hooks
            .entry(*event)
            .or_insert_with(|| Value::Array(Vec::new()))
            .as_array_mut()
            .ok_or_else(|| format!("hooks.{event} is not an array"))?;
        // Drop our entries (stale or current); keep everything else untouched.
        for e in entries.iter_mut() {
            if let Some(list) = e.get_mut("hooks").and_then(Value::as_array_mut) {
                list.retain(|h| {
                    !is_ours(
                        client,
                        h.get("command").and_then(Value::as_str).unwrap_or(""),
                    )
                });
            }
        }
        // Drop the groups that held only ours.
        entries.retain(|e| {
            e.get("hooks")
                .and_then(Value::as_array)
                .is_none_or(|l| !l.is_empty())
        });
        entries.push(wanted.clone());
    }
    Ok(settings)
}

/// The command to register for `client`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookCommand {
    pub command: String,
    /// Whether `command` names a binary by its `PATH` name (works on every machine with
    /// Lighthouse installed) rather than by this machine's absolute path.
    pub portable: bool,
}

/// The command to register: a name found on `PATH` (`lighthouse-hook`, else
/// `lighthouse hook`), so the settings file works on every machine that has Lighthouse
/// installed; the absolute path of this binary only when neither is on `PATH`.
pub fn hook_command(client: Client, current_exe: &Path) -> HookCommand {
    hook_command_in(client, current_exe, std::env::var_os("PATH").as_deref())
}

/// [`hook_command`] with a given `PATH`.
pub fn hook_command_in(
    client: Client,
    current_exe: &Path,
    path: Option<&std::ffi::OsStr>,
) -> HookCommand {
    let name = client.name();
    let on_path =
        |bin: &str| path.is_some_and(|p| std::env::split_paths(p).any(|d| d.join(bin).is_file()));
    let (command, portable) = if on_path("lighthouse-hook") {
        (format!("lighthouse-hook {name}"), true)
    } else if on_path("lighthouse") {
        (format!("lighthouse hook {name}"), true)
    } else {
        let sibling = current_exe.with_file_name("lighthouse-hook");
        if sibling.is_file() {
            (format!("{} {name}", sibling.display()), false)
        } else {
            (format!("{} hook {name}", current_exe.display()), false)
        }
    };
    HookCommand { command, portable }
}

/// What [`install`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Installed {
    /// The file was created or changed.
    Registered,
    /// The hook was already registered exactly so; the file is untouched.
    AlreadyRegistered,
}

/// Installs into the settings file at `path`, creating it if needed; atomic. A file
/// that already registers `command` the same way is left as it is.
pub fn install(client: Client, path: &Path, command: &str) -> anyhow::Result<Installed> {
    let current = match std::fs::read(path) {
        Ok(bytes) if !bytes.iter().all(u8::is_ascii_whitespace) => Some(
            serde_json::from_slice(&bytes)
                .map_err(|e| anyhow::anyhow!("{} is not valid JSON: {e}", path.display()))?,
        ),
        Ok(_) => None,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            return Err(anyhow::Error::new(e).context(format!("reading {}", path.display())));
        }
    };
    let merged = merge_hooks(
        client,
        current.clone().unwrap_or_else(|| json!({})),
        command,
    )
    .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    if current.as_ref() == Some(&merged) {
        return Ok(Installed::AlreadyRegistered);
    }
    let write = || -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = path.with_extension("json.lighthouse-tmp");
        std::fs::write(&tmp, serde_json::to_string_pretty(&merged)? + "\n")?;
        std::fs::rename(tmp, path)
    };
    write().map_err(|e| anyhow::Error::new(e).context(format!("writing {}", path.display())))?;
    Ok(Installed::Registered)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CMD: &str = "lighthouse-hook claude";

    #[test]
    fn merging_is_idempotent_and_keeps_other_hooks() {
        let user = json!({
            "model": "opus",
            "hooks": {"PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "my-linter"}]}]}
        });
        let once = merge_hooks(Client::Claude, user, CMD).unwrap();
        let twice = merge_hooks(Client::Claude, once.clone(), CMD).unwrap();
        assert_eq!(once, twice);
        assert_eq!(once["model"], "opus");
        let pre = once["hooks"]["PreToolUse"].as_array().unwrap();
        assert_eq!(pre.len(), 2);
        assert_eq!(pre[0]["hooks"][0]["command"], "my-linter");
        assert_eq!(pre[1]["hooks"][0]["command"], CMD);
        assert_eq!(pre[1]["hooks"][0]["onFailure"], "block");
        assert_eq!(pre[1]["hooks"][0]["timeout"], HOOK_TIMEOUT_S);
        assert_eq!(once["hooks"]["PostToolUse"][0]["hooks"][0]["command"], CMD);
    }

    #[test]
    fn an_older_binary_path_is_replaced() {
        let old = merge_hooks(Client::Claude, json!({}), "/old/lighthouse hook claude").unwrap();
        let new = merge_hooks(Client::Claude, old, CMD).unwrap();
        let pre = new["hooks"]["PreToolUse"].as_array().unwrap();
        assert_eq!(pre.len(), 1);
        assert_eq!(pre[0]["hooks"][0]["command"], CMD);
    }

    #[test]
    fn each_client_gets_its_events_and_units() {
        let codex = merge_hooks(Client::Codex, json!({}), "lighthouse-hook codex").unwrap();
        assert_eq!(
            codex["hooks"]["PreToolUse"][0]["hooks"][0]["timeout"],
            HOOK_TIMEOUT_S
        );
        assert!(
            codex["hooks"]["PreToolUse"][0]["hooks"][0]
                .get("onFailure")
                .is_none()
        );
        let gemini = merge_hooks(
            Client::Gemini,
            json!({"ui": {"theme": "x"}}),
            "lighthouse-hook gemini",
        )
        .unwrap();
        assert_eq!(gemini["ui"]["theme"], "x");
        assert_eq!(
            gemini["hooks"]["BeforeTool"][0]["hooks"][0]["timeout"],
            HOOK_TIMEOUT_S * 1000
        );
        assert_eq!(
            gemini["hooks"]["AfterTool"][0]["hooks"][0]["command"],
            "lighthouse-hook gemini"
        );
        assert!(gemini["hooks"].get("PreToolUse").is_none());
        // Another client's entry is not ours to replace.
        let claude = merge_hooks(Client::Claude, json!({}), "lighthouse hook claude").unwrap();
        let both = merge_hooks(Client::Codex, claude, "lighthouse hook codex").unwrap();
        assert_eq!(both["hooks"]["PreToolUse"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn non_object_settings_are_refused() {
        assert!(merge_hooks(Client::Claude, json!([1]), CMD).is_err());
        assert!(merge_hooks(Client::Claude, json!({"hooks": 3}), CMD).is_err());
    }

    #[test]
    fn install_writes_a_file_and_refuses_broken_json() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".claude/settings.json");
        assert_eq!(
            install(Client::Claude, &path, CMD).unwrap(),
            Installed::Registered
        );
        assert_eq!(
            install(Client::Claude, &path, CMD).unwrap(),
            Installed::AlreadyRegistered
        );
        let v: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(v["hooks"]["PreToolUse"].as_array().unwrap().len(), 1);
        std::fs::write(&path, "{broken").unwrap();
        assert!(install(Client::Claude, &path, CMD).is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{broken");
    }

    #[test]
    fn the_command_is_a_path_name_when_one_is_installed() {
        let bin = tempfile::tempdir().unwrap();
        let exe = std::path::Path::new("/home/me/src/lighthouse/target/debug/lighthouse");
        let none = hook_command_in(Client::Claude, exe, Some(bin.path().as_os_str()));
        assert!(!none.portable);
        assert!(none.command.starts_with("/home/me/"), "{}", none.command);
        std::fs::write(bin.path().join("lighthouse"), "").unwrap();
        let cli = hook_command_in(Client::Codex, exe, Some(bin.path().as_os_str()));
        assert_eq!(cli.command, "lighthouse hook codex");
        assert!(cli.portable);
        std::fs::write(bin.path().join("lighthouse-hook"), "").unwrap();
        let hook = hook_command_in(Client::Gemini, exe, Some(bin.path().as_os_str()));
        assert_eq!(hook.command, "lighthouse-hook gemini");
        assert!(hook.portable);
    }
}
