//! Tools that run code kept in files or settings which this same command line wrote:
//! a Makefile's recipes (`printf 'x:\n\trm -rf ~' > Makefile && make x`), a package
//! script (`npm pkg set scripts.x='rm -rf ~' && npm run x`, a `package.json` written
//! then `npm test`), a git alias (`git config alias.x '!rm -rf ~' && git x`) or hook
//! (`… > .git/hooks/pre-commit && git commit`), an SQL file (`cat > d.sql <<EOF … EOF;
//! psql -h prod-db -f d.sql`).
//!
//! What such a tool runs is judged as shell code, as when a script written earlier in
//! the line is run. Code the line did not write (the project's own Makefile) is not
//! known here, and is not judged.

use super::*;
use crate::mcp::quote;

/// Package scripts and git aliases remembered per command line (more are ignored).
const MAX_RECORDED: usize = 64;
/// Longest recipe text read out of a written Makefile.
const MAX_RECIPES: usize = 16 * 1024;

impl Walker<'_> {
    /// Remembers what a command sets up for later (`npm pkg set scripts.x=…`, `git
    /// config alias.x …`), and returns the code it runs from what was set up or written
    /// earlier in the line, if any.
    pub(super) fn recorded_code(&mut self, name: &str, args: &[Word], ctx: &Ctx) -> Option<String> {
        let texts: Vec<&str> = args.iter().map(|w| w.text.as_str()).collect();
        match (name, texts.as_slice()) {
            ("npm", ["pkg", "set", sets @ ..]) => {
                for s in sets {
                    if let Some((k, v)) = s.strip_prefix("scripts.").and_then(|s| s.split_once('='))
                    {
                        self.remember(Recorded::Script, k, v);
                    }
                }
                None
            }
            ("git", rest) if rest.contains(&"config") => {
                let at = rest.iter().position(|t| t.starts_with("alias."))?;
                let alias = rest[at].strip_prefix("alias.")?;
                let value = rest.get(at + 1)?;
                self.remember(Recorded::GitAlias, alias, value);
                None
            }
            ("git", [first, ..]) if first.starts_with('-') => git_option_alias(&texts),
            ("git", [first, rest @ ..]) => {
                let Some(value) = self
                    .recorded
                    .get(&(Recorded::GitAlias, (*first).to_owned()))
                else {
                    return self.written_hooks(first);
                };
                // `!cmd` runs in a shell with the arguments appended; otherwise it is
                // a git subcommand line.
                let code = match value.strip_prefix('!') {
                    Some(shell) => shell.to_owned(),
                    None => format!("git {value}"),
                };
                Some(
                    std::iter::once(code.as_str())
                        .chain(rest.iter().copied())
                        .collect::<Vec<_>>()
                        .join(" "),
                )
            }
            ("psql", _) => self.sql_file(args),
            ("sed" | "gsed", _) => sed_executed(args),
            ("docker" | "podman", _) => super::containers::host_view(args),
            ("make" | "gmake", _) => {
                let stdin = ctx.stdin.as_ref().and_then(|s| s.text.as_deref());
                self.recipes(args, stdin)
            }
            ("npm" | "pnpm" | "yarn" | "bun", _) => {
                let script = script_name(name, &texts)?;
                self.recorded
                    .get(&(Recorded::Script, script.to_owned()))
                    .cloned()
                    .or_else(|| self.written_package_script(script))
            }
            _ => None,
        }
    }

    fn remember(&mut self, kind: Recorded, key: &str, value: &str) {
        if self.recorded.len() < MAX_RECORDED && !key.is_empty() && !value.contains(DYN) {
            self.recorded
                .insert((kind, key.to_owned()), value.to_owned());
        }
    }

    /// The recipe lines of the Makefile `make` reads, when this line wrote it (or feeds
    /// it on stdin with `-f -`): every recipe, whatever the target.
    fn recipes(&self, args: &[Word], stdin: Option<&str>) -> Option<String> {
        let text = match makefile_named(args) {
            Some("-" | "/dev/stdin" | "/dev/fd/0" | "/proc/self/fd/0") => stdin?.to_owned(),
            Some(f) => self.written_text(f)?,
            None => ["GNUmakefile", "makefile", "Makefile"]
                .iter()
                .find_map(|f| self.written_text(f))?,
        };
        let mut code = String::new();
        for line in text.lines().filter_map(|l| l.strip_prefix('\t')) {
            if code.len() + line.len() > MAX_RECIPES {
                break;
            }
            code.push_str(line.trim_start_matches(['@', '-', '+']));
            code.push('\n');
        }
        (!code.is_empty()).then_some(code)
    }

    /// `psql … -f FILE` of a file this line wrote: the same `psql` with the file's SQL
    /// given as `-c`, so the database rules read the statements and the target.
    fn sql_file(&self, args: &[Word]) -> Option<String> {
        let mut rest: Vec<&str> = Vec::new();
        let mut sql: Option<String> = None;
        let mut it = args.iter().map(|w| w.text.as_str());
        while let Some(t) = it.next() {
            let file = match t {
                "-f" | "--file" => it.next(),
                _ => t
                    .strip_prefix("--file=")
                    .or_else(|| t.strip_prefix("-f").filter(|f| !f.is_empty())),
            };
            match file {
                Some(f) => sql = Some(self.written_text(f)?),
                None => rest.push(t),
            }
        }
        let mut code = String::from("psql");
        for t in rest {
            code.push(' ');
            code.push_str(&quote(t));
        }
        code.push_str(" -c ");
        code.push_str(&quote(&sql?));
        Some(code)
    }

    /// A script of a `package.json` this line wrote.
    fn written_package_script(&self, script: &str) -> Option<String> {
        let text = self.written_text("package.json")?;
        let json: serde_json::Value = serde_json::from_str(&text).ok()?;
        json["scripts"][script].as_str().map(str::to_owned)
    }

    /// The text of a file written earlier in this command line, when known.
    /// The hooks `git SUBCOMMAND` runs that this line wrote into `.git/hooks`
    /// (`printf '#!/bin/sh\nrm -rf ~' > .git/hooks/pre-commit && … && git commit`).
    fn written_hooks(&self, subcommand: &str) -> Option<String> {
        let hooks: &[&str] = match subcommand {
            "commit" => &[
                "pre-commit",
                "prepare-commit-msg",
                "commit-msg",
                "post-commit",
            ],
            "push" => &["pre-push"],
            "merge" | "pull" => &["pre-merge-commit", "post-merge"],
            "checkout" | "switch" | "clone" => &["post-checkout"],
            "rebase" => &["pre-rebase", "post-rewrite"],
            "am" => &["applypatch-msg", "pre-applypatch", "post-applypatch"],
            _ => return None,
        };
        let code: Vec<String> = hooks
            .iter()
            .filter_map(|h| self.written_text(&format!(".git/hooks/{h}")))
            .collect();
        (!code.is_empty()).then(|| code.join("\n"))
    }

    pub(super) fn written_text(&self, path: &str) -> Option<String> {
        self.written_file(path)?.text.clone()
    }
}

/// `git -c alias.X='push --force' [OPTIONS] X ARGS…`: an alias set by `-c` that names a
/// git subcommand line (not a `!` shell alias: those are judged as shell code by the
/// wrappers) is that line, run with the other options and the arguments appended.
fn git_option_alias(args: &[&str]) -> Option<String> {
    let mut aliases: Vec<(&str, &str)> = Vec::new();
    let mut options: Vec<&str> = Vec::new();
    let mut i = 0;
    while let Some(t) = args.get(i).copied().filter(|t| t.starts_with('-')) {
        let setting = match t {
            "-c" => {
                i += 1;
                args.get(i).copied()
            }
            _ => t.strip_prefix("-c").filter(|s| s.contains('=')),
        };
        match setting.and_then(|s| s.split_once('=')) {
            Some((k, v)) if k.len() > 6 && k[..6].eq_ignore_ascii_case("alias.") => {
                aliases.push((&k[6..], v));
            }
            _ => {
                options.push(t);
                options.extend(setting);
                // Global options that take the next word as their value.
                if matches!(t, "-C" | "--git-dir" | "--work-tree" | "--namespace") {
                    i += 1;
                    options.extend(args.get(i).copied());
                }
            }
        }
        i += 1;
    }
    let sub = args.get(i)?;
    let (_, value) = aliases.iter().rev().find(|(k, _)| k == sub)?;
    if value.starts_with('!') || value.contains(DYN) {
        return None;
    }
    let mut code = String::from("git");
    for o in options {
        code.push(' ');
        code.push_str(&quote(o));
    }
    code.push(' ');
    code.push_str(value);
    for a in &args[i + 1..] {
        code.push(' ');
        code.push_str(&quote(a));
    }
    Some(code)
}

/// What [`Walker::recorded_code`] remembers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Recorded {
    Script,
    GitAlias,
}

/// The package script a package manager's command line runs: `npm run x`, `npm test`,
/// `pnpm x`, `yarn x`, `bun run x`.
fn script_name<'a>(manager: &str, args: &[&'a str]) -> Option<&'a str> {
    let args: Vec<&str> = args
        .iter()
        .copied()
        .filter(|a| !a.starts_with('-'))
        .collect();
    match args.as_slice() {
        ["run" | "run-script", script, ..] => Some(script),
        [lifecycle @ ("test" | "start" | "stop" | "restart"), ..] => Some(lifecycle),
        // `pnpm build`, `yarn build`: a name that is no built-in command is a script.
        [script, ..] if manager != "npm" && !is_builtin(script) => Some(script),
        _ => None,
    }
}

fn is_builtin(word: &str) -> bool {
    matches!(
        word,
        "install"
            | "i"
            | "add"
            | "remove"
            | "rm"
            | "update"
            | "up"
            | "upgrade"
            | "exec"
            | "dlx"
            | "x"
            | "create"
            | "init"
            | "publish"
            | "link"
            | "unlink"
            | "why"
            | "list"
            | "ls"
            | "outdated"
            | "audit"
            | "config"
            | "info"
            | "pack"
            | "workspace"
            | "workspaces"
            | "global"
            | "cache"
            | "store"
            | "import"
            | "rebuild"
            | "prune"
            | "dedupe"
            | "patch"
            | "version"
            | "login"
            | "logout"
            | "whoami"
            | "set"
            | "pm"
    )
}

/// What GNU sed runs as shell commands: the replacement of an `s` command with the `e`
/// flag (`sed 's/.*/rm -rf ~/e'`), and the text of an `e COMMAND` command. The script
/// is the first operand or each `-e`/`--expression` value; scripts in files are not read.
fn sed_executed(args: &[Word]) -> Option<String> {
    let mut scripts: Vec<&str> = Vec::new();
    let mut it = args.iter().map(|w| w.text.as_str());
    let mut operand_script = true;
    while let Some(t) = it.next() {
        match t {
            "-e" | "--expression" => {
                scripts.extend(it.next());
                operand_script = false;
            }
            "-f" | "--file" => operand_script = false,
            _ if t.starts_with("--expression=") => {
                scripts.push(&t["--expression=".len()..]);
                operand_script = false;
            }
            _ if t.starts_with('-') => {}
            _ if operand_script => {
                scripts.push(t);
                operand_script = false;
            }
            _ => {}
        }
    }
    let mut code = String::new();
    for command in scripts.iter().flat_map(|s| s.split(['\n', ';'])) {
        // Past a line address (`1`, `$`, `2,5`); pattern addresses are not read.
        let command = command
            .trim()
            .trim_start_matches(|c: char| c.is_ascii_digit() || matches!(c, '$' | ','))
            .trim_start();
        if let Some(run) = command.strip_prefix("e ") {
            code.push_str(run);
            code.push('\n');
        } else if let Some(run) = executed_replacement(command) {
            code.push_str(run);
            code.push('\n');
        }
    }
    (!code.is_empty()).then_some(code)
}

/// The replacement of `s<d>PATTERN<d>REPLACEMENT<d>FLAGS` when FLAGS hold `e`.
fn executed_replacement(command: &str) -> Option<&str> {
    let rest = command.strip_prefix('s')?;
    let delim = rest
        .chars()
        .next()
        .filter(|c| !c.is_alphanumeric() && *c != '\\')?;
    let mut parts = rest[delim.len_utf8()..].splitn(3, delim);
    let (_pattern, replacement, flags) = (parts.next()?, parts.next()?, parts.next()?);
    flags.contains('e').then_some(replacement)
}

/// The Makefile `make` is told to read (`-f FILE`, `-fFILE`, `--file=FILE`,
/// `--makefile FILE`), the last one given.
pub(super) fn makefile_named(args: &[Word]) -> Option<&str> {
    let mut file: Option<&str> = None;
    let mut it = args.iter().map(|w| w.text.as_str());
    while let Some(t) = it.next() {
        if matches!(t, "-f" | "--file" | "--makefile") {
            file = it.next();
        } else if let Some(f) = t
            .strip_prefix("--file=")
            .or_else(|| t.strip_prefix("--makefile="))
            .or_else(|| t.strip_prefix("-f").filter(|f| !f.is_empty()))
        {
            file = Some(f);
        }
    }
    file
}

#[cfg(test)]
mod tests {
    use super::git_option_alias;

    #[test]
    fn git_c_alias_is_a_subcommand_line() {
        let line = |s: &str| git_option_alias(&s.split(' ').collect::<Vec<_>>());
        assert_eq!(
            git_option_alias(&["-c", "alias.pf=push --force", "pf", "origin", "main"]).as_deref(),
            Some("git push --force 'origin' 'main'")
        );
        assert_eq!(
            git_option_alias(&["-C", "app", "-calias.n=clean -fdx", "n"]).as_deref(),
            Some("git '-C' 'app' clean -fdx")
        );
        assert_eq!(line("-c alias.x=!ls x"), None);
        assert_eq!(line("-c core.pager=less log"), None);
    }
}
