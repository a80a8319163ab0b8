//! Judging a call of a tool other than Bash ([`Policy::analyze_tool`]): file tools by
//! their path and content, MCP tools by their name's verbs and their arguments, a
//! subagent's prompt by the commands it names. Separate from judging a Bash line
//! (`bash.rs`), which it hands shell text to.

use crate::finding::{Finding, decide};
use crate::paths::{self, Base, Classes};
use crate::rules::ToolDefault;
use crate::shell::{Effective, Word};
use crate::{Analysis, Call, CommandReport, Policy, mcp, prompt, settings_edit};
use lighthouse_schemas::{Risk, Verdict};
use serde_json::Value;

/// A Write of the project's own `.npmrc` that holds settings only (`engine-strict=true`),
/// no credential (`_authToken`, `_auth`, `_password`): configuration, not a secret.
fn npmrc_settings(args: &[Word], content: &str, paths: Classes) -> bool {
    let [path] = args else {
        return false;
    };
    let lower = content.to_ascii_lowercase();
    (path.text == ".npmrc" || path.text.ends_with("/.npmrc"))
        && paths.intersects(Classes::PROJECT)
        && !["_auth", "password", "token"]
            .iter()
            .any(|k| lower.contains(k))
}

/// A tool's path with a leading `$HOME`/`${HOME}` written as `~` (tools take paths
/// literally, but a path written so means the home directory, and is judged as such).
fn home_var(p: &str) -> std::borrow::Cow<'_, str> {
    for v in ["$HOME", "${HOME}"] {
        if let Some(rest) = p.strip_prefix(v)
            && (rest.is_empty() || rest.starts_with('/'))
        {
            return std::borrow::Cow::Owned(format!("~{rest}"));
        }
    }
    std::borrow::Cow::Borrowed(p)
}

/// A file tool's path as the rules should read it: `$HOME` as `~`, and written plainly
/// (`.git//config` is `.git/config`: rules match on the text).
fn tool_path(p: &str) -> String {
    paths::lexical(&home_var(p)).into_owned()
}

/// The local path a `file://` URL names (`file:///home/u/.ssh/id_rsa`,
/// `file://localhost/etc/passwd`), `%XX` escapes decoded.
fn file_url_path(url: &str) -> Option<String> {
    let rest = url
        .get(..7)
        .filter(|s| s.eq_ignore_ascii_case("file://"))
        .map(|_| &url[7..])?;
    let rest = rest.strip_prefix("localhost").unwrap_or(rest);
    let path = rest.split(['?', '#']).next().unwrap_or("");
    if !path.starts_with('/') {
        return None;
    }
    let b = path.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (
            b[i],
            b.get(i + 1).and_then(|c| hex(*c)),
            b.get(i + 2).and_then(|c| hex(*c)),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (c, ..) => {
                out.push(c);
                i += 1;
            }
        }
    }
    Some(tool_path(&String::from_utf8_lossy(&out)))
}

/// What a tool's default says, as a finding.
fn default_finding(d: &ToolDefault, tool: &str) -> Finding {
    let id = format!(
        "tool.default.{}",
        d.name.trim_end_matches('*').trim_end_matches("__")
    );
    let reason = if d.reason.is_empty() {
        format!("default for {tool}")
    } else {
        d.reason.clone()
    };
    Finding::new(d.verdict, d.risk, &id, reason)
}

/// At most this many paths of an MCP tool's path list are judged (past it: escalate).
const MAX_MCP_PATHS: usize = 32;

/// Tools whose input names a file they modify.
const WRITE_TOOLS: &[&str] = &["Write", "Edit", "MultiEdit", "NotebookEdit"];
/// Words in an MCP tool's name that mean it changes what its path names.
const MCP_WRITE_VERBS: &[&str] = &[
    "write", "edit", "create", "update", "move", "delete", "remove", "put", "upload", "append",
    "patch", "insert", "set", "rename", "copy", "save",
];
/// Inputs of MCP tools that name files.
/// (the reference filesystem server, desktop-commander, serena, JetBrains, notebooks).
const MCP_PATH_KEYS: &[&str] = &[
    "path",
    "file_path",
    "filepath",
    "filePath",
    "filename",
    "file_name",
    "fileName",
    "file",
    "relative_path",
    "relativePath",
    "absolute_path",
    "pathInProject",
    "notebook_path",
    "target_file",
    "source",
    "destination",
    "target",
    "directory",
    "dir",
];
/// Words in an MCP tool's name that mean its text goes to other people or systems.
const MCP_SEND_VERBS: &[&str] = &[
    "post",
    "send",
    "message",
    "comment",
    "reply",
    "publish",
    "email",
    "mail",
    "tweet",
    "chat",
    "issue",
    "pull_request",
    "pullrequest",
    "gist",
    "paste",
    "webhook",
    "share",
];
/// Inputs of MCP tools that name the database, host, project or environment they act on.
const MCP_TARGET_KEYS: &[&str] = &[
    "connection",
    "connection_string",
    "connectionString",
    "dsn",
    "database",
    "database_url",
    "db",
    "host",
    "project",
    "project_id",
    "namespace",
    "context",
    "environment",
    "env",
];
/// Tools that only read.
const READ_TOOLS: &[&str] = &["Read", "Glob", "Grep", "LS", "NotebookRead"];

impl Policy {
    /// Decides a non-shell tool by its target path, content and configured defaults.
    pub(crate) fn analyze_tool(&self, call: &Call<'_>, base: Base<'_>) -> Analysis {
        let rules = &self.inner.rules;
        let input = call.tool_input;
        let s = |k: &str| input.get(k).and_then(Value::as_str);
        let mut args: Vec<Word> = Vec::new();
        let mut content = String::new();
        let mut tags = Vec::new();
        let mut env: Vec<(String, String)> = Vec::new();
        let tool = call.tool_name;
        if WRITE_TOOLS.contains(&tool) {
            tags.push("file_write".to_owned());
            if let Some(p) = s("file_path")
                .or_else(|| s("notebook_path"))
                .or_else(|| s("path"))
            {
                args.push(Word::lit(tool_path(p)));
            }
            for k in ["content", "new_string", "new_source"] {
                if let Some(c) = s(k) {
                    content.push_str(c);
                    content.push('\n');
                }
            }
            if let Some(edits) = input.get("edits").and_then(Value::as_array) {
                // Every edit: the payload's own size bound bounds them.
                for e in edits {
                    if let Some(c) = e.get("new_string").and_then(Value::as_str) {
                        content.push_str(c);
                        content.push('\n');
                    }
                }
            }
        } else if READ_TOOLS.contains(&tool) {
            tags.push("file_read".to_owned());
            for k in ["file_path", "notebook_path", "path"] {
                if let Some(p) = s(k) {
                    args.push(Word::lit(tool_path(p)));
                }
            }
            if let Some(p) = s("pattern").filter(|_| tool == "Glob") {
                // A glob pattern names files too: `~/.ssh/*`, `**/.env`.
                let joined = match s("path") {
                    Some(dir) if !p.starts_with('/') && !p.starts_with('~') => {
                        format!("{}/{}", home_var(dir).trim_end_matches('/'), p)
                    }
                    _ => home_var(p).into_owned(),
                };
                args.push(Word::lit(joined.replace("**/", "")));
            }
            if let Some(g) = s("glob").filter(|_| tool == "Grep") {
                args.push(Word::lit(g.replace("**/", "")));
            }
        } else if tool == "WebFetch" {
            if let Some(u) = s("url") {
                args.push(Word::lit(u));
            }
        } else if tool == "WebSearch" {
            if let Some(q) = s("query") {
                args.push(Word::lit(q));
            }
        } else if tool == "Task" {
            // A subagent's instructions: what it is asked to do, judged as text.
            tags.push("agent_prompt".to_owned());
            // Code it is asked to write into a document is text (`prompt::without_documented_code`).
            for k in ["description", "prompt"] {
                if let Some(c) = s(k) {
                    content.push_str(&prompt::without_documented_code(c));
                    content.push('\n');
                }
            }
        } else if tool.starts_with("mcp__") {
            // An MCP tool that runs a shell command (or a git command in structured
            // form) is judged as that command.
            // Structured forms first: a docker tool's `command` runs inside its container.
            let cmd = mcp::git_command(tool, input)
                .or_else(|| mcp::kubectl_command(tool, input))
                .or_else(|| mcp::docker_command(tool, input))
                .or_else(|| mcp::helm_command(tool, input))
                .or_else(|| mcp::code_command(tool, input))
                .or_else(|| {
                    ["command", "cmd", "script", "cli_command", "shell_command"]
                        .iter()
                        .find_map(|k| s(k))
                        .map(str::to_owned)
                });
            if let Some(cmd) = cmd {
                let mut a = self.bash(&cmd, base, true);
                for c in &mut a.commands {
                    c.command.via.insert(0, tool.to_owned());
                }
                // A default written for this tool stands beside the command's judgement.
                if let Some(d) = rules.tool_default(tool).filter(|d| d.written)
                    && d.verdict.strictness() > a.evaluation.verdict.strictness()
                {
                    let normalized = std::mem::take(&mut a.evaluation.normalized);
                    a.evaluation = default_finding(d, tool).into_evaluation(normalized);
                }
                return a;
            }
            let verb = tool.rsplit("__").next().unwrap_or("");
            // A tool that uploads or attaches files reads them and sends them away.
            let uploads = ["upload", "attach"].iter().any(|v| verb.contains(v));
            let writes = !uploads && MCP_WRITE_VERBS.iter().any(|v| verb.contains(v));
            for k in MCP_PATH_KEYS {
                if let Some(p) = s(k) {
                    args.push(Word::lit(tool_path(p)));
                }
            }
            // A list of paths (`read_multiple_files`, `browser_file_upload`): each one.
            if let Some(list) = input.get("paths").and_then(Value::as_array) {
                if list.len() > MAX_MCP_PATHS {
                    tags.push("over_bound".to_owned());
                }
                for p in list.iter().filter_map(Value::as_str).take(MAX_MCP_PATHS) {
                    args.push(Word::lit(tool_path(p)));
                }
            }
            // A search's name pattern under its path names files, as Glob's does.
            if let (Some(dir), Some(pat)) = (s("path"), s("pattern"))
                && (verb.contains("search") || verb.contains("find"))
                && !pat.starts_with('/')
                && !pat.contains(char::is_whitespace)
            {
                let dir = home_var(dir);
                let pat = pat.replace("**/", "");
                let pat = if pat.contains(['*', '?']) {
                    pat
                } else {
                    format!("*{pat}*")
                };
                args.push(Word::lit(format!("{}/{pat}", dir.trim_end_matches('/'))));
            }
            // A `file://` URL it navigates to or fetches names a local file it reads.
            for k in ["url", "uri", "href"] {
                if let Some(p) = s(k).and_then(file_url_path) {
                    args.push(Word::lit(p));
                }
            }
            if !args.is_empty() {
                tags.push(if writes { "file_write" } else { "file_read" }.to_owned());
            }
            // A message, comment or post it sends: its text leaves the machine.
            if MCP_SEND_VERBS
                .iter()
                .any(|v| verb.to_ascii_lowercase().contains(v))
            {
                tags.push("mcp_send".to_owned());
            }
            if uploads {
                tags.push("mcp_upload".to_owned());
            }
            tags.push("mcp".to_owned());
            // The server's name can say which environment it reaches (`postgres-prod`).
            if let Some(server) = tool
                .strip_prefix("mcp__")
                .and_then(|t| t.split("__").next())
            {
                env.push(("LH_CONTEXT_MCP_server".to_owned(), server.to_owned()));
            }
            // A URL it fetches or posts to is judged like WebFetch's (credentials in it).
            for k in ["url", "uri", "href", "endpoint"] {
                if let Some(u) = s(k) {
                    args.push(Word::lit(u));
                }
            }
            // The database, host, project or environment it acts on names its target
            // (`{"sql": "DROP TABLE …", "connection": "postgres://prod-db/…"}`).
            for k in MCP_TARGET_KEYS {
                if let Some(t) = s(k) {
                    env.push((format!("LH_CONTEXT_MCP_{k}"), t.to_owned()));
                }
            }
            // So does a statement's own text, as `psql -c "DROP DATABASE shop_production"`
            // names its target in Bash.
            for k in ["sql", "query", "statement"] {
                if let Some(t) = s(k) {
                    env.push((format!("LH_CONTEXT_MCP_{k}"), t.to_owned()));
                }
            }
            for k in [
                "content",
                "text",
                "body",
                "sql",
                "query",
                "statement",
                "code",
            ] {
                if let Some(c) = s(k) {
                    content.push_str(c);
                    content.push('\n');
                }
            }
        }
        let e = Effective {
            name: tool.to_owned(),
            args,
            tags,
            env,
            code: if content.is_empty() {
                None
            } else {
                Some(content.clone())
            },
            ..Effective::default()
        };
        let mut facts = rules.facts(&e, base);
        if tool == "Write" && npmrc_settings(&e.args, &content, facts.paths) {
            facts.paths = facts.paths.without(Classes::SECRET);
            facts.writes = facts.writes.without(Classes::SECRET);
        }
        let matched = rules.matching(&facts);
        let mut findings: Vec<Finding> = matched
            .iter()
            .filter(|r| !r.mark)
            .map(|r| Finding::from_rule(r, &facts))
            .collect();
        // An Edit of the agent's settings that names no part of a hook changes its own
        // permission settings (E5), not the guard (D10).
        if findings.iter().any(|f| f.rule_id == "guard.tool_write")
            && e.args.len() == 1
            && e.args
                .iter()
                .all(|a| settings_edit::is_agent_settings(&a.text))
            && settings_edit::leaves_hooks_alone(&e.args[0].text, tool, input)
        {
            findings.retain(|f| f.rule_id != "guard.tool_write");
            findings.push(Finding::new(
                Verdict::Escalate,
                Risk::High,
                "guard.settings_edit",
                "changes the agent's own settings (its hooks untouched)",
            ));
        }
        // Content headed for a shell start-up file is judged as the shell will run it.
        // (Skipped when already denied: garbage content costs the parser dearly.)
        if facts.tags.contains("file_write")
            && facts.paths.intersects(Classes::PERSISTENCE)
            && !content.is_empty()
            && !findings.iter().any(|f| f.verdict == Verdict::Deny)
            && let Some(why) = self.planted(&content, base)
        {
            findings.push(Finding::new(
                Verdict::Deny,
                Risk::Critical,
                "persistence.malicious_content",
                format!("writes code into a start-up file that {why}"),
            ));
        }
        // An MCP tool that deletes or moves files does what `rm -rf`/`mv` would: a wipe
        // it amounts to is denied as the shell's is.
        if tool.starts_with("mcp__") {
            for cmd in mcp::file_equivalents(tool, input, &tool_path) {
                let ev = self.bash(&cmd, base, false).evaluation;
                if ev.verdict == Verdict::Deny {
                    findings.push(Finding {
                        verdict: ev.verdict,
                        risk: ev.risk,
                        rule_id: ev.rule_id.unwrap_or_default(),
                        reason: format!("{} (as `{cmd}`)", ev.reason),
                        alternative: None,
                    });
                    break;
                }
            }
        }
        // A subagent asked to run a command: judged as if the agent ran it itself.
        if tool == "Task" && !findings.iter().any(|f| f.verdict == Verdict::Deny) {
            findings.extend(self.prompt_commands(&content, base));
        }
        // A project's (restricted) rules add to the tool's default, never replace it:
        // `verdict = "escalate"` on an MCP tool must not lift a stricter default.
        let from_project = |id: &str| matched.iter().any(|r| r.restricted && r.id == id);
        if matched.iter().all(|r| r.mark || r.restricted)
            && findings.iter().all(|f| from_project(&f.rule_id))
        {
            match rules.tool_default(tool) {
                Some(d) => findings.push(default_finding(d, tool)),
                None => findings.push(Finding::new(
                    Verdict::Escalate,
                    Risk::Medium,
                    "tool.unknown",
                    "no rule covers this tool",
                )),
            }
        }
        let best = decide(findings).unwrap_or_else(|| {
            Finding::new(
                Verdict::Escalate,
                Risk::Medium,
                "tool.unknown",
                "no rule covers this tool",
            )
        });
        let normalized = vec![e.display()];
        Analysis {
            evaluation: best.into_evaluation(normalized),
            commands: vec![CommandReport {
                matched: matched.iter().map(|r| (r.id.clone(), r.verdict)).collect(),
                command: e,
                facts,
            }],
            parse_error: false,
            over_bound: None,
        }
    }

    /// Findings for the commands a subagent's prompt names (see [`prompt`]): a code span
    /// counts with its verdict, a command read out of prose only when it is denied (or
    /// installs a package); a secret outside the project named anywhere escalates.
    fn prompt_commands(&self, text: &str, base: Base<'_>) -> Vec<Finding> {
        let mut out = Vec::new();
        let escalate = |risk, id, reason: String| Finding::new(Verdict::Escalate, risk, id, reason);
        if let Some(secret) = prompt::paths(text).into_iter().find(|p| {
            let c = paths::classify(p, base);
            c.contains(Classes::SECRET) && !c.intersects(Classes::PROJECT)
        }) {
            out.push(escalate(
                Risk::High,
                "tool.task_secret",
                format!("asks a subagent to use a secret outside the project: {secret}"),
            ));
        }
        // Files of the project named by a relative path: a secret (`Open .env and …`) is
        // read by the subagent; CI/CD configuration it is asked to change is changed.
        let relative: Vec<(String, Classes)> = prompt::relative_paths(text)
            .into_iter()
            .map(|p| {
                let c = paths::classify(&p, base);
                (p, c)
            })
            .collect();
        let named = |class| {
            relative
                .iter()
                .find(|(_, c)| c.contains(class))
                .map(|(p, _)| p)
        };
        if let Some(secret) = named(Classes::SECRET).filter(|_| prompt::asks_to_read(text)) {
            out.push(escalate(
                Risk::High,
                "tool.task_secret",
                format!("asks a subagent to use a secret: {secret}"),
            ));
        }
        if let Some(ci) = named(Classes::CI_CONFIG).filter(|_| prompt::asks_to_edit(text)) {
            out.push(escalate(
                Risk::Medium,
                "tool.task_ci_config",
                format!("asks a subagent to change CI/CD or deployment configuration: {ci}"),
            ));
        }
        // A file outside the project it asks to write (`Add … to ~/.bashrc`): writing
        // outside the project escalates, whoever does it.
        if let Some(outside) = prompt::write_targets(text).into_iter().find(|p| {
            let c = paths::classify(p, base);
            c.intersects(
                Classes::HOME
                    | Classes::HOME_SUB
                    | Classes::OUTSIDE
                    | Classes::SYSTEM
                    | Classes::ROOT
                    | Classes::PERSISTENCE,
            ) && !c.intersects(Classes::PROJECT | Classes::TEMP)
        }) {
            out.push(escalate(
                Risk::Medium,
                "tool.task_write_outside",
                format!("asks a subagent to write a file outside the project: {outside}"),
            ));
        }
        let spans = prompt::spans(text);
        if spans.len() > prompt::MAX_SPANS {
            // Commands past those judged are never passed over as harmless.
            out.push(escalate(
                Risk::Medium,
                "tool.task_commands_over_bound",
                format!(
                    "asks a subagent to run more commands than the guard reads ({})",
                    prompt::MAX_SPANS
                ),
            ));
        }
        for span in spans.into_iter().take(prompt::MAX_SPANS) {
            let a = self.bash(&span.text, base, false);
            if a.parse_error || a.over_bound.is_some() {
                continue;
            }
            let e = a.evaluation;
            let counts = match e.verdict {
                Verdict::Deny => true,
                Verdict::Escalate => span.escalates,
                Verdict::Allow => false,
            };
            if counts {
                out.push(Finding {
                    verdict: e.verdict,
                    risk: e.risk,
                    rule_id: "tool.task_command".to_owned(),
                    reason: format!(
                        "asks a subagent to run `{}` ({}: {})",
                        span.text,
                        e.rule_id.unwrap_or_default(),
                        e.reason
                    ),
                    alternative: None,
                });
                if e.verdict == Verdict::Deny {
                    break;
                }
            }
        }
        out
    }
}
