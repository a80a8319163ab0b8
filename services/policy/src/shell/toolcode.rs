//! Options and settings through which an ordinary tool runs shell code: git's
//! `-c core.pager=…` (and `core.editor`, `core.sshCommand`, `diff.external`), `PAGER` /
//! `GIT_PAGER` / `EDITOR` / `VISUAL` / `GIT_EXTERNAL_DIFF` settings, `gdb -ex 'shell …'`,
//! tar's `--checkpoint-action=exec=…` and `--to-command`, `zip -TT …`, `rsync -e …`,
//! vim's `-c ':!…'`, `man -P …`; and tar's `--remove-files`, which deletes what it
//! archived. What they run is judged as shell code (`git -c core.pager=cat log` runs
//! `cat`, which passes).

use super::Word;
use crate::mcp::quote;

/// Settings whose value a program runs as a command.
const CODE_VARS: &[&str] = &[
    "PAGER",
    "GIT_PAGER",
    "MANPAGER",
    "EDITOR",
    "VISUAL",
    "GIT_EDITOR",
    "GIT_SEQUENCE_EDITOR",
    "GIT_EXTERNAL_DIFF",
    "GIT_SSH_COMMAND",
    "RSYNC_RSH",
];

/// git configuration keys whose value is a command run by a shell.
const GIT_CODE_KEYS: &[&str] = &[
    "core.pager",
    "core.editor",
    "core.sshcommand",
    "core.fsmonitor",
    "diff.external",
    "sequence.editor",
    "credential.helper",
    "gpg.program",
    "core.askpass",
    "core.gitproxy",
    "core.alternaterefscommand",
    "interactive.difffilter",
    "gpg.ssh.defaultkeycommand",
    "uploadpack.packobjectshook",
];

/// Whether git runs the value of configuration key `k` (lowercase) as a command: a key
/// of [`GIT_CODE_KEYS`], a pager, or a driver's command (`diff.NAME.textconv`,
/// `filter.NAME.clean`, `merge.NAME.driver`…), named by its first and last part.
fn git_runs_value(k: &str) -> bool {
    if GIT_CODE_KEYS.contains(&k) || k.starts_with("pager.") {
        return true;
    }
    let (Some((first, _)), Some((_, last))) = (k.split_once('.'), k.rsplit_once('.')) else {
        return false;
    };
    k.matches('.').count() >= 2
        && matches!(
            (first, last),
            ("diff", "textconv" | "command")
                | ("filter", "clean" | "smudge" | "process")
                | ("merge", "driver")
                | ("mergetool" | "difftool", "cmd")
                | ("trailer", "command" | "cmd")
                | ("gpg", "program")
                | ("remote", "uploadpack" | "receivepack")
        )
}

/// Most pieces of code read out of one command.
const MAX_CODES: usize = 8;

/// The shell code `name ARGS`, with the settings `vars` in force, runs through its
/// options or settings, joined into one script; `None` when there is none.
pub(super) fn code_of(name: &str, args: &[Word], vars: &[(String, String)]) -> Option<String> {
    let mut codes: Vec<String> = vars
        .iter()
        .filter(|(k, v)| CODE_VARS.contains(&k.as_str()) && !v.is_empty())
        .map(|(_, v)| v.clone())
        .collect();
    let a: Vec<&str> = args.iter().map(|w| w.text.as_str()).collect();
    match name {
        "git" => {
            git(&a, &mut codes);
            git_env(vars, &mut codes);
        }
        "gdb" | "cgdb" => gdb(&a, &mut codes),
        "tar" | "gtar" | "bsdtar" => tar(&a, &mut codes),
        "zip" => value_of(&a, &["-TT", "--unzip-command"], &mut codes),
        "rsync" => value_of(&a, &["-e", "--rsh", "--rsync-path"], &mut codes),
        "man" => value_of(&a, &["-P", "--pager"], &mut codes),
        "vim" | "vi" | "nvim" | "view" | "ex" | "gvim" | "rvim" => vim(&a, &mut codes),
        _ => {}
    }
    codes.truncate(MAX_CODES);
    (!codes.is_empty()).then(|| codes.join("\n"))
}

/// `OPT VALUE` and `OPT=VALUE` for each of `options`.
fn value_of(a: &[&str], options: &[&str], codes: &mut Vec<String>) {
    for (i, t) in a.iter().enumerate() {
        for o in options {
            if t == o {
                codes.extend(a.get(i + 1).map(|v| (*v).to_owned()));
            } else if let Some(v) = t.strip_prefix(o).and_then(|r| r.strip_prefix('=')) {
                codes.push(v.to_owned());
            }
        }
    }
}

fn git(a: &[&str], codes: &mut Vec<String>) {
    for (i, t) in a.iter().enumerate() {
        let setting = match *t {
            "-c" => a.get(i + 1).copied(),
            _ => t.strip_prefix("-c").filter(|s| s.contains('=')),
        };
        let Some((k, v)) = setting.and_then(|s| s.split_once('=')) else {
            continue;
        };
        let k = k.to_ascii_lowercase();
        if git_runs_value(&k) {
            codes.push(v.strip_prefix('!').unwrap_or(v).to_owned());
        }
    }
}

/// `GIT_CONFIG_KEY_0=core.pager GIT_CONFIG_VALUE_0=… git log`: `-c` through the
/// environment.
fn git_env(vars: &[(String, String)], codes: &mut Vec<String>) {
    for (k, key) in vars {
        let Some(n) = k.strip_prefix("GIT_CONFIG_KEY_") else {
            continue;
        };
        if !git_runs_value(&key.to_ascii_lowercase()) {
            continue;
        }
        let value = format!("GIT_CONFIG_VALUE_{n}");
        if let Some((_, v)) = vars.iter().find(|(k, _)| *k == value) {
            codes.push(v.strip_prefix('!').unwrap_or(v).to_owned());
        }
    }
}

fn gdb(a: &[&str], codes: &mut Vec<String>) {
    let mut commands = Vec::new();
    value_of(
        a,
        &["-ex", "--ex", "-eval-command", "--eval-command"],
        &mut commands,
    );
    for c in commands {
        let c = c.trim_start();
        if let Some(sh) = c
            .strip_prefix("shell ")
            .or_else(|| c.strip_prefix('!'))
            .or_else(|| {
                c.strip_prefix("pipe ")
                    .and_then(|p| p.split_once('|').map(|x| x.1))
            })
        {
            codes.push(sh.to_owned());
        }
    }
}

fn vim(a: &[&str], codes: &mut Vec<String>) {
    let mut commands = Vec::new();
    value_of(a, &["-c", "--cmd"], &mut commands);
    commands.extend(
        a.iter()
            .filter_map(|t| t.strip_prefix('+'))
            .map(str::to_owned),
    );
    for c in commands {
        let c = c.trim_start().trim_start_matches(':').trim_start();
        if let Some(sh) = c.strip_prefix('!') {
            codes.push(sh.to_owned());
        }
    }
}

/// tar options whose short letter takes the next word as its value.
const TAR_VALUE_LETTERS: &str = "fCTXIgFKNVbL";

fn tar(a: &[&str], codes: &mut Vec<String>) {
    let mut remove = false;
    let mut operands: Vec<&str> = Vec::new();
    let mut i = 0;
    while i < a.len() {
        let t = a[i];
        if let Some(long) = t.strip_prefix("--") {
            let (k, v) = long.split_once('=').unwrap_or((long, ""));
            match k {
                "remove-files" => remove = true,
                "checkpoint-action" => {
                    if let Some(c) = v.strip_prefix("exec=") {
                        codes.push(c.to_owned());
                    }
                }
                "to-command"
                | "use-compress-program"
                | "rsh-command"
                | "info-script"
                | "new-volume-script" => {
                    if v.is_empty() {
                        codes.extend(a.get(i + 1).map(|c| (*c).to_owned()));
                        i += 1;
                    } else {
                        codes.push(v.to_owned());
                    }
                }
                "file" | "directory" | "files-from" | "exclude-from" | "exclude" | "transform"
                | "owner" | "group" | "mode" | "format" | "label"
                    if v.is_empty() =>
                {
                    i += 1;
                }
                _ => {}
            }
        } else if t.starts_with('-') && t.len() > 1
            || i == 0 && !t.contains('/') && !t.contains('.')
        {
            // A cluster (`-czf`, or the old style `czf` first): each value letter takes
            // the next word; `-I CMD` names a compressor run as a command.
            let letters = t.trim_start_matches('-');
            for ch in letters.chars().filter(|c| TAR_VALUE_LETTERS.contains(*c)) {
                i += 1;
                if ch == 'I' {
                    codes.extend(a.get(i).map(|c| (*c).to_owned()));
                }
            }
        } else {
            operands.push(t);
        }
        i += 1;
    }
    if remove && !operands.is_empty() {
        let list: Vec<String> = operands.iter().map(|o| quote(o)).collect();
        codes.push(format!("rm -rf {}", list.join(" ")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(line: &str) -> Option<String> {
        let words: Vec<Word> = line.split(' ').map(Word::lit).collect();
        code_of(&words[0].text, &words[1..], &[])
    }

    #[test]
    fn options_that_run_code() {
        assert_eq!(code("git -c core.pager=less log").as_deref(), Some("less"));
        assert_eq!(code("git -c alias.x=!ls x"), None);
        // A driver's command, set for one command, runs in it.
        assert_eq!(
            code("git -c filter.x.clean=id add .").as_deref(),
            Some("id")
        );
        assert_eq!(
            code("git -c Diff.X.textconv=id diff").as_deref(),
            Some("id")
        );
        assert_eq!(code("git -c diff.textconv=id diff"), None);
        assert_eq!(code("git -c color.ui=always log"), None);
        let vars = [
            ("GIT_CONFIG_KEY_0", "core.pager"),
            ("GIT_CONFIG_VALUE_0", "id"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
        assert_eq!(
            code_of("git", &[Word::lit("log")], &vars).as_deref(),
            Some("id")
        );
        assert_eq!(code("gdb -batch -ex shell"), None);
        assert_eq!(
            code("tar -cf /dev/null --checkpoint=1 --checkpoint-action=exec=id").as_deref(),
            Some("id")
        );
        assert_eq!(
            code("tar -cf /dev/null --remove-files /home/u").as_deref(),
            Some("rm -rf '/home/u'")
        );
        assert_eq!(code("tar -czf out.tgz dist"), None);
        assert_eq!(code("vim -c :set file"), None);
        assert_eq!(code("vim -c :!id").as_deref(), Some("id"));
        assert_eq!(code("rsync -e ssh x y:").as_deref(), Some("ssh"));
        let vars = vec![("PAGER".to_owned(), "less".to_owned())];
        assert_eq!(
            code_of("man", &[Word::lit("ls")], &vars).as_deref(),
            Some("less")
        );
    }
}
