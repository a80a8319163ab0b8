//! The agent clients' and Lighthouse's own files: which are the guard's (settings that
//! register its hooks, hook scripts, Lighthouse's config and state; D10), which are
//! the client's project configuration that makes it run things (MCP servers,
//! extensions; E5), and which its custom agents, skills and commands. Separate from the other attributes because
//! it follows the clients' layouts, which change with them.

use super::normal::under;

/// Whether `path` (split into `comps`, named `base`, `rel_home` below the home
/// directory) is the guard's own configuration. `dotted`: the path has a hidden
/// component (most names below are one).
pub(super) fn guard(
    path: &str,
    comps: &[&str],
    base: &str,
    rel_home: Option<&str>,
    dotted: bool,
) -> bool {
    let has_comp = |name: &str| comps.contains(&name);
    // The agent's user-level configuration (settings, hooks, agents, commands) is all
    // the guard's; in a project only settings and hooks are.
    let user_claude = rel_home
        .is_some_and(|r| r == ".claude" || r.starts_with(".claude/") || r == ".claude.json");
    has_comp(".lighthouse")
        || user_claude
        || base == ".claude"
        || (has_comp(".claude")
            && (base.starts_with("settings") && base.ends_with(".json")
                || path.contains("/.claude/hooks")))
        || base == "managed-settings.json"
        || path.ends_with("/bin/lighthouse")
        || dotted
            && (path.contains("/.config/lighthouse")
                || path.contains("/.local/state/lighthouse")
                || path.contains("/.local/share/lighthouse"))
        || (base.starts_with("lighthouse") && path.contains("/bin/"))
        || (has_comp(".gemini")
            && (base.starts_with("settings") && base.ends_with(".json")
                || path.contains("/.gemini/hooks")
                // Gemini CLI loads `.gemini/.env` into its environment, and its hooks
                // inherit it: the next session's guard would be configured from here.
                || base == ".env"
                // An extension's hooks run as the settings' hooks do.
                || has_comp("extensions") && has_comp("hooks")))
        || (has_comp(".codex") && (base == "config.toml" || path.contains("/.codex/hooks")))
        || path.contains("/etc/lighthouse")
        || system_guard_dir(path)
        || guard_state_elsewhere(comps)
}

/// Whether the path is client configuration that makes the agent client run things
/// whatever it says: MCP servers (`.mcp.json`), Gemini CLI's extensions.
pub(super) fn agent_config(comps: &[&str], base: &str) -> bool {
    base == ".mcp.json" || below(comps, ".gemini", &["extensions"])
}

/// Whether the path is one of the client's custom agents, skills or commands: prompts,
/// whose frontmatter or text can also declare hooks, grant tools or run shell lines.
pub(super) fn agent_prompt(comps: &[&str]) -> bool {
    below(comps, ".claude", &["agents", "skills", "commands"])
        || below(comps, ".gemini", &["commands"])
}

/// `DIR/SUB` (one of `subs`) or anything below it.
fn below(comps: &[&str], dir: &str, subs: &[&str]) -> bool {
    comps
        .windows(2)
        .any(|w| w[0] == dir && subs.contains(&w[1]))
}

/// System-wide agent settings (managed policies) and Lighthouse's own installation:
/// its state, data, logs and packs.
fn system_guard_dir(path: &str) -> bool {
    const DIRS: &[&str] = &[
        "/etc/claude-code",
        "/etc/gemini-cli",
        "/etc/codex",
        "/Library/Application Support/ClaudeCode",
        "/Library/Application Support/GeminiCli",
        "/var/lib/lighthouse",
        "/var/log/lighthouse",
        "/var/cache/lighthouse",
        "/opt/lighthouse",
        "/usr/share/lighthouse",
        "/usr/local/share/lighthouse",
        "/usr/local/lib/lighthouse",
    ];
    let top = path.split('/').nth(1).unwrap_or("");
    matches!(top, "etc" | "var" | "opt" | "usr" | "Library") && DIRS.iter().any(|d| under(path, d))
}

/// The guard's state and config dirs where `XDG_STATE_HOME` / `XDG_CONFIG_HOME` moved
/// them: `…/state/lighthouse`, its `up.json`, `hook.sock`, `identities/`, `spool/`,
/// `tls/`, and `…/cfg/lighthouse/config.toml` (D10: its config and state).
fn guard_state_elsewhere(comps: &[&str]) -> bool {
    comps.windows(2).any(|w| match w {
        ["state", "lighthouse"] => true,
        ["lighthouse", b] => matches!(*b, "up.json" | "hook.sock" | "identities" | "spool" | "tls"),
        _ => false,
    }) || matches!(comps, [.., p, "lighthouse", "config.toml"] if p.contains("cfg") || p.contains("conf"))
}
