//! MCP tools that are git, kubectl, Helm or Docker commands in structured form
//! (`git_push` with `{"remote": "origin", "branch": "main", "force": true}`): written
//! back as the command line they run, so the rules judge them as they judge Bash.

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
    let verb = verb_after(tool, "git")?;
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

/// The command line a structured Kubernetes tool (`mcp__kubernetes__kubectl_delete` with
/// `{"resourceType": "namespace", "name": "production", "context": "prod-eu"}`) runs:
/// `kubectl delete 'namespace' 'production' --context 'prod-eu'`, so the kubectl rules and
/// production awareness judge it as they judge Bash. A Kubernetes server's tool named for
/// a change and a kind (`mcp__k8s__delete_namespace` with `{"name": "production"}`) runs
/// `kubectl delete 'namespace' 'production'` the same way.
pub fn kubectl_command(tool: &str, input: &Value) -> Option<String> {
    let (verb, kind) = match verb_after(tool, "kubectl") {
        Some(verb) => (verb, None),
        None => kube_change(tool).map(|(verb, kind)| (verb, Some(kind)))?,
    };
    let fields = input.as_object()?;
    let text = |k: &str| fields.get(k).and_then(Value::as_str);
    let mut argv = vec!["kubectl".to_owned(), verb.replace('_', "-")];
    if let Some(sub) = text("subCommand").or_else(|| text("subcommand")) {
        argv.push(quote(sub));
    }
    let named_kind = ["resourceType", "resource_type", "resource", "kind"]
        .into_iter()
        .find_map(text);
    if let Some(v) = named_kind.or(kind) {
        argv.push(quote(v));
    }
    if let Some(v) = text("name") {
        argv.push(quote(v));
    }
    for (k, flag) in [
        ("namespace", "-n"),
        ("context", "--context"),
        ("labelSelector", "-l"),
        ("container", "-c"),
        ("filename", "-f"),
        ("output", "-o"),
    ] {
        if let Some(v) = text(k) {
            argv.push(flag.to_owned());
            argv.push(quote(v));
        }
    }
    if fields.get("manifest").is_some_and(Value::is_string) {
        argv.push("-f".to_owned());
        argv.push("-".to_owned());
    }
    if let Some(n) = fields.get("replicas").and_then(Value::as_u64) {
        argv.push(format!("--replicas={n}"));
    }
    for (k, flag) in [
        ("force", "--force"),
        ("allNamespaces", "--all-namespaces"),
        ("all", "--all"),
    ] {
        if fields.get(k) == Some(&Value::Bool(true)) {
            argv.push(flag.to_owned());
        }
    }
    Some(argv.join(" "))
}

/// The command line a structured Helm tool (`install_helm_chart`, `upgrade_helm_chart`,
/// `uninstall_helm_chart` with `{"name": "api", "chart": "…", "namespace": "production"}`)
/// runs: `helm uninstall 'api' -n 'production'`.
pub fn helm_command(tool: &str, input: &Value) -> Option<String> {
    let verb = tool.rsplit("__").next()?;
    let sub = match verb {
        "install_helm_chart" | "helm_install" => "install",
        "upgrade_helm_chart" | "helm_upgrade" => "upgrade",
        "uninstall_helm_chart" | "helm_uninstall" => "uninstall",
        _ => return None,
    };
    let fields = input.as_object()?;
    let text = |k: &str| fields.get(k).and_then(Value::as_str);
    let mut argv = vec!["helm".to_owned(), sub.to_owned()];
    for k in ["name", "releaseName", "release", "chart"] {
        if let Some(v) = text(k) {
            argv.push(quote(v));
        }
    }
    for (k, flag) in [("namespace", "-n"), ("context", "--kube-context")] {
        if let Some(v) = text(k) {
            argv.push(flag.to_owned());
            argv.push(quote(v));
        }
    }
    Some(argv.join(" "))
}

/// The command line a structured Docker tool that starts a container
/// (`mcp__docker__run_container` with `{"image": "alpine", "privileged": true, "volumes":
/// ["/:/host"], "command": "sh"}`) runs: `docker run --privileged -v '/:/host' 'alpine'
/// 'sh'`, so the container rules (privileged, host mounts) judge it.
pub fn docker_command(tool: &str, input: &Value) -> Option<String> {
    let verb = tool.rsplit("__").next()?;
    if !matches!(verb, "run_container" | "create_container") {
        return None;
    }
    let fields = input.as_object()?;
    let image = fields.get("image").and_then(Value::as_str)?;
    let mut argv = vec!["docker".to_owned(), "run".to_owned()];
    if fields.get("privileged") == Some(&Value::Bool(true)) {
        argv.push("--privileged".to_owned());
    }
    for (k, flag) in [
        ("volumes", "-v"),
        ("binds", "-v"),
        ("mounts", "-v"),
        ("ports", "-p"),
    ] {
        let values: Vec<String> = match fields.get(k) {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            // The Docker SDK's form: `{"/": {"bind": "/host", "mode": "rw"}}`.
            Some(Value::Object(m)) => m
                .iter()
                .map(|(host, v)| match v.get("bind").and_then(Value::as_str) {
                    Some(bind) => format!("{host}:{bind}"),
                    None => format!("{host}:{}", v.as_str().unwrap_or(host)),
                })
                .collect(),
            _ => continue,
        };
        for v in values.iter().take(MAX_OPERANDS) {
            argv.push(flag.to_owned());
            argv.push(quote(v));
        }
    }
    for (k, flag) in [
        ("cap_add", "--cap-add"),
        ("devices", "--device"),
        ("security_opt", "--security-opt"),
    ] {
        let values: Vec<&str> = match fields.get(k) {
            Some(Value::String(s)) => vec![s.as_str()],
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
            _ => continue,
        };
        for v in values.into_iter().take(MAX_OPERANDS) {
            argv.push(flag.to_owned());
            argv.push(quote(v));
        }
    }
    for (k, flag) in [("network_mode", "--network"), ("pid_mode", "--pid")] {
        if let Some(v) = fields.get(k).and_then(Value::as_str) {
            argv.push(flag.to_owned());
            argv.push(quote(v));
        }
    }
    argv.push(quote(image));
    match fields.get("command") {
        // The command is a shell line run in the container: kept as words after the image.
        Some(Value::String(c)) => argv.push(quote(c)),
        Some(Value::Array(a)) => {
            for c in a.iter().filter_map(Value::as_str).take(MAX_OPERANDS) {
                argv.push(quote(c));
            }
        }
        _ => {}
    }
    Some(argv.join(" "))
}

/// The command line that runs the code an MCP tool executes (`mcp__ide__executeCode`,
/// a Jupyter server's `execute_cell` with `{"code": "…"}`): `python3 -c '…'` (or the
/// `language` it names), so the interpreter analysis judges it as it judges Bash. None
/// for a tool whose name does not say it runs code, or a language the guard cannot read.
pub fn code_command(tool: &str, input: &Value) -> Option<String> {
    let verb = tool.rsplit("__").next()?.to_ascii_lowercase();
    if !["exec", "run", "eval"].iter().any(|v| verb.contains(v)) {
        return None;
    }
    let fields = input.as_object()?;
    let code = ["code", "cell_source"]
        .iter()
        .find_map(|k| fields.get(*k).and_then(Value::as_str))?;
    let lang = ["language", "lang", "kernel"]
        .iter()
        .find_map(|k| fields.get(*k).and_then(Value::as_str))
        .unwrap_or("python")
        .to_ascii_lowercase();
    let run = match lang.as_str() {
        l if l.starts_with("python") || l == "py" || l == "ipython" => "python3 -c",
        "javascript" | "js" | "node" | "nodejs" | "typescript" | "ts" => "node -e",
        "ruby" | "rb" => "ruby -e",
        "perl" => "perl -e",
        "php" => "php -r",
        "bash" | "sh" | "shell" | "zsh" => "bash -c",
        _ => return None,
    };
    Some(format!("{run} {}", quote(code)))
}

/// What an MCP file tool that deletes or moves (`delete_directory {"path": "~"}`,
/// `move_file {"source": …, "destination": …}`) amounts to in the shell: `rm -r -f` of
/// each path it names, `mv` from its source to its destination. `path` writes a tool's
/// path as the rules read it.
pub fn file_equivalents(tool: &str, input: &Value, path: &dyn Fn(&str) -> String) -> Vec<String> {
    let verb = tool.rsplit("__").next().unwrap_or("").to_ascii_lowercase();
    let arg = |k: &str| {
        input
            .get(k)
            .and_then(Value::as_str)
            .map(|p| quote(&path(p)))
    };
    if ["delete", "remove"].iter().any(|v| verb.contains(v)) {
        [
            "path",
            "file_path",
            "filePath",
            "directory",
            "dir",
            "target",
        ]
        .iter()
        .filter_map(|k| arg(k))
        .map(|p| format!("rm -r -f -- {p}"))
        .collect()
    } else if ["move", "rename"].iter().any(|v| verb.contains(v))
        && let (Some(from), Some(to)) = (arg("source"), arg("destination"))
    {
        vec![format!("mv -- {from} {to}")]
    } else {
        Vec::new()
    }
}

/// The verb of an MCP tool named `<tool>_<verb>` or `<tool>-<verb>` (`git_push`,
/// `kubectl-delete`): letters, digits, `_` and `-` only.
fn verb_after<'a>(tool: &'a str, command: &str) -> Option<&'a str> {
    let name = tool.rsplit("__").next()?.strip_prefix(command)?;
    let verb = name.strip_prefix('_').or_else(|| name.strip_prefix('-'))?;
    let plain = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    (!verb.is_empty() && verb.chars().all(plain)).then_some(verb)
}

/// Changes a Kubernetes tool can be named for (`delete_namespace`); reads (`list_pods`,
/// `get_logs`) keep the MCP defaults.
const KUBE_CHANGES: &[&str] = &[
    "delete", "scale", "patch", "apply", "create", "replace", "drain", "cordon", "edit", "label",
    "annotate", "rollout", "restart",
];

/// The change and the resource kind of a Kubernetes server's tool (a server named for
/// `k8s` or `kube`) named `<change>_<kind>`: `mcp__k8s__delete_namespace` → (`delete`,
/// `namespace`).
fn kube_change(tool: &str) -> Option<(&str, &str)> {
    let mut parts = tool.split("__");
    let (_, server, name) = (parts.next()?, parts.next()?, parts.next()?);
    let server = server.to_ascii_lowercase();
    if !server.contains("k8s") && !server.contains("kube") {
        return None;
    }
    let (verb, kind) = name.split_once(['_', '-'])?;
    let plain = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    (KUBE_CHANGES.contains(&verb) && !kind.is_empty() && kind.chars().all(plain))
        .then_some((verb, kind))
}

/// `text` as one shell word.
pub(crate) fn quote(text: &str) -> String {
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

    #[test]
    fn code_tools_become_interpreter_lines() {
        let code = json!({"code": "print(1)"});
        assert_eq!(
            code_command("mcp__ide__executeCode", &code).as_deref(),
            Some("python3 -c 'print(1)'")
        );
        let js = json!({"code": "1", "language": "JavaScript"});
        assert_eq!(
            code_command("mcp__repl__run_code", &js).as_deref(),
            Some("node -e '1'")
        );
        assert_eq!(code_command("mcp__ide__getDiagnostics", &code), None);
        let r = json!({"code": "x", "language": "r"});
        assert_eq!(code_command("mcp__ide__executeCode", &r), None);
    }

    #[test]
    fn file_tools_that_delete_or_move_become_rm_and_mv() {
        let same = |p: &str| p.to_owned();
        let del = json!({"path": "/home/u", "owner": "x"});
        assert_eq!(
            file_equivalents("mcp__fs__delete_directory", &del, &same),
            ["rm -r -f -- '/home/u'"]
        );
        let mv = json!({"source": "/p", "destination": "/dev/null"});
        assert_eq!(
            file_equivalents("mcp__filesystem__move_file", &mv, &same),
            ["mv -- '/p' '/dev/null'"]
        );
        assert!(file_equivalents("mcp__filesystem__read_file", &del, &same).is_empty());
    }

    #[test]
    fn structured_kubectl_tools_become_command_lines() {
        let del = json!({"resourceType": "namespace", "name": "production", "context": "prod-eu"});
        assert_eq!(
            kubectl_command("mcp__kubernetes__kubectl_delete", &del).as_deref(),
            Some("kubectl delete 'namespace' 'production' --context 'prod-eu'")
        );
        let scale = json!({"resourceType": "deployment", "name": "api", "namespace": "staging", "replicas": 0});
        assert_eq!(
            kubectl_command("mcp__k8s__kubectl_scale", &scale).as_deref(),
            Some("kubectl scale 'deployment' 'api' -n 'staging' --replicas=0")
        );
        assert_eq!(
            kubectl_command("mcp__kubernetes__list_pods", &json!({})),
            None
        );
        assert_eq!(
            kubectl_command("mcp__k8s__delete_namespace", &json!({"name": "production"}))
                .as_deref(),
            Some("kubectl delete 'namespace' 'production'")
        );
        let scale = json!({"name": "api", "namespace": "prod", "replicas": 0});
        assert_eq!(
            kubectl_command("mcp__kubernetes__scale_deployment", &scale).as_deref(),
            Some("kubectl scale 'deployment' 'api' -n 'prod' --replicas=0")
        );
        assert_eq!(
            kubectl_command("mcp__github__delete_branch", &json!({"name": "x"})),
            None
        );
        assert_eq!(
            kubectl_command("mcp__k8s__get_pod", &json!({"name": "x"})),
            None
        );
    }
}
