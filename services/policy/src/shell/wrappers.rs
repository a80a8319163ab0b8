//! Unwrapping: `sudo`, `env`, `timeout`, `nohup`, `watch`, `su -c`, `ssh host cmd`,
//! `alias`, `trap`, `eval` … are peeled off until the command that really runs.

use super::*;

/// Most wrappers peeled off one command.
const MAX_WRAPPERS: usize = 128;

impl Walker<'_> {
    /// Peels wrappers off `argv` and emits the effective command(s) (through
    /// [`Walker::resolve`]).
    pub(super) fn resolve_words(&mut self, mut argv: Vec<Word>, ctx: &Ctx, depth: usize) -> Output {
        let mut via = ctx.via.clone();
        let mut tags: Vec<String> = ctx
            .extra_vars
            .iter()
            .filter(|(k, _)| SENSITIVE_VARS.contains(&k.as_str()))
            .map(|(k, _)| format!("env:{k}"))
            .collect();
        let mut extra_vars = ctx.extra_vars.clone();
        // A loop, not recursion: peeling costs little, so padding (`sudo ×40 rm …`)
        // cannot push the command past it.
        for _ in 0..MAX_WRAPPERS {
            let Some(first) = argv.first() else {
                return Output::default();
            };
            if first.is_dynamic()
                && ctx.function.is_some()
                && !first.vars.is_empty()
                && first.vars.iter().all(|v| is_positional(v))
            {
                // `"$@"` in a function body: the callers' arguments decide, and each call
                // walks the body again with them bound.
                return Output::default();
            }
            if first.is_dynamic() {
                // `$SHELL -c '…'`, `${BASH:-bash} -c '…'`: judge the code too.
                if let Some(p) = argv.iter().position(|w| w.text == "-c")
                    && let Some(code) = argv.get(p + 1).cloned()
                {
                    let mut v = via.clone();
                    v.push("$SHELL -c".to_owned());
                    self.shell_code(code, ctx, &v, &tags, depth, &extra_vars);
                }
                // `r${x}m -rf /`: with the unknown part empty the name is `rm`; judge that
                // reading too (the worst plausible case).
                let emptied: String = first.text.chars().filter(|c| *c != DYN).collect();
                if !emptied.is_empty() && emptied != first.text {
                    let mut alt = argv.clone();
                    alt[0] = Word::lit(emptied);
                    let c = Ctx {
                        via: via.clone(),
                        ..ctx.clone()
                    };
                    let start = self.out.len();
                    self.resolve(alt, &c, depth);
                    for e in &mut self.out[start..] {
                        e.tags.push("dynamic_name_guess".to_owned());
                    }
                }
                let e = Effective {
                    name: first.text.clone(),
                    args: argv[1..].to_vec(),
                    via: via.clone(),
                    stdin: ctx.stdin.clone(),
                    tags: {
                        let mut t = tags.clone();
                        t.push("dynamic_name".to_owned());
                        t
                    },
                    script_from: first.subst.clone(),
                    ..Effective::default()
                };
                self.emit(e, ctx);
                return Output::default();
            }
            let name =
                (self.copied_command(&first.text)).unwrap_or_else(|| command_name(&first.text));
            let rest = &argv[1..];
            if let Some(body) = self.functions.get(&name).cloned()
                && !self.calling.contains(&name)
                && self.calls < 32
            {
                return self.call_function(name, body, rest, ctx, via, depth);
            }
            match self.launched(
                &name,
                &mut argv,
                ctx,
                &mut via,
                &tags,
                &mut extra_vars,
                depth,
            ) {
                launchers::Step::Continue => continue,
                launchers::Step::Done(out) => return out,
                launchers::Step::NotLaunch => {}
            }
            let rest = &argv[1..];
            let skip = match name.as_str() {
                "sudo" | "doas" | "pkexec" | "run0" | "sudoedit" => {
                    let informational = !rest.is_empty()
                        && rest.iter().all(|w| {
                            matches!(
                                w.text.as_str(),
                                "-V" | "--version"
                                    | "-h"
                                    | "--help"
                                    | "-l"
                                    | "--list"
                                    | "-k"
                                    | "-K"
                            )
                        });
                    if !informational {
                        tags.push("sudo".to_owned());
                    }
                    if name == "sudoedit" {
                        None
                    } else {
                        let n = skip_options(
                            rest,
                            &["u", "g", "h", "p", "C", "D", "r", "t", "T", "U", "R", "c"],
                            &[
                                "user",
                                "group",
                                "host",
                                "prompt",
                                "chdir",
                                "role",
                                "type",
                                "close-from",
                                "other-user",
                                "chroot",
                                "command-timeout",
                            ],
                        );
                        let shell_flag = rest[..n].iter().any(|w| {
                            is_short_cluster_with(&w.text, 's')
                                || is_short_cluster_with(&w.text, 'i')
                                || w.text == "--shell"
                                || w.text == "--login"
                        });
                        if n >= rest.len() && shell_flag {
                            tags.push("root_shell".to_owned());
                            if ctx
                                .stdin
                                .as_ref()
                                .is_some_and(|s| s.text.is_some() || !s.producers.is_empty())
                            {
                                // `sudo -s <<< 'cmd'`: a root shell reading its program.
                                via.push(name.clone());
                                return self.shell(
                                    "sh".to_owned(),
                                    &[],
                                    ctx,
                                    via,
                                    tags,
                                    depth,
                                    &extra_vars,
                                );
                            }
                        }
                        if rest[..n]
                            .iter()
                            .any(|w| is_short_cluster_with(&w.text, 'e') || w.text == "--edit")
                        {
                            None
                        } else {
                            // `sudo VAR=value cmd`: sudo sets the variable for cmd.
                            let mut n = n;
                            while let Some((k, v)) =
                                rest.get(n).and_then(|w| assignment_word(&w.text))
                            {
                                if SENSITIVE_VARS.contains(&k.as_str()) {
                                    tags.push(format!("env:{k}"));
                                }
                                extra_vars.push((k, v));
                                n += 1;
                            }
                            Some(n)
                        }
                    }
                }
                "env" => {
                    let (i, split) = self.env_options(rest, &mut tags, &mut extra_vars);
                    if let Some(s) = split {
                        via.push("env -S".to_owned());
                        argv = s;
                        continue;
                    }
                    Some(i)
                }
                "command" => {
                    if rest
                        .iter()
                        .take_while(|w| w.text.starts_with('-'))
                        .any(|w| w.text.contains('v') || w.text.contains('V'))
                    {
                        None
                    } else {
                        Some(skip_options(rest, &[], &[]))
                    }
                }
                "builtin" | "coproc" | "nohup" | "setsid" | "time" | "unbuffer" | "chronic"
                | "caffeinate" | "catchsegv" | "busybox" | "then" | "do" | "else"
                | "proxychains" | "proxychains4" | "torsocks" | "fakeroot" | "firejail" => {
                    Some(skip_options(rest, &[], &[]))
                }
                "exec" => Some(skip_options(rest, &["a"], &[])),
                "chroot" => {
                    let n = skip_options(rest, &[], &["userspec", "groups"]);
                    // The new root comes before the command.
                    Some((n + 1).min(rest.len()))
                }
                "unshare" | "setpriv" | "cgexec" | "prlimit" | "numactl" | "capsh" => {
                    Some(skip_options(rest, &[], &[]))
                }
                "nsenter" => Some(skip_options(
                    rest,
                    &["t", "S", "G"],
                    &["target", "setuid", "setgid"],
                )),
                "systemd-run" => Some(skip_options(
                    rest,
                    &["p", "u", "E", "M", "H"],
                    &[
                        "property",
                        "unit",
                        "setenv",
                        "description",
                        "slice",
                        "working-directory",
                        "uid",
                        "gid",
                        "machine",
                        "host",
                        "nice",
                    ],
                )),
                "parallel" => {
                    // GNU parallel: `parallel CMD ::: ARGS` runs CMD with each argument.
                    let n = skip_options(rest, &["j", "S", "a"], &["jobs", "sshlogin", "arg-file"]);
                    if let Some(sep) = rest.iter().position(|w| w.text == ":::")
                        && sep > n
                    {
                        let mut argv2: Vec<Word> = rest[n..sep].to_vec();
                        let items = &rest[sep + 1..];
                        if argv2.iter().any(|w| w.text.contains("{}")) {
                            let item = items.first().cloned().unwrap_or_default();
                            for w in argv2.iter_mut() {
                                w.text = w.text.replace("{}", &item.text);
                            }
                        } else {
                            argv2.extend(items.iter().cloned());
                        }
                        // parallel hands each command line to a shell.
                        via.push("parallel".to_owned());
                        return self.shell_code(
                            join_words(&argv2),
                            ctx,
                            &via,
                            &tags,
                            depth,
                            &extra_vars,
                        );
                    }
                    Some(n)
                }
                "nice" => {
                    let n = skip_options(rest, &["n"], &["adjustment"]);
                    Some(n)
                }
                "ionice" => Some(skip_options(
                    rest,
                    &["c", "n", "p", "P", "u"],
                    &["class", "classdata"],
                )),
                "chrt" | "taskset" => {
                    let n = skip_options(rest, &[], &[]);
                    // One positional (priority or mask) precedes the command.
                    Some((n + 1).min(rest.len()))
                }
                "timeout" => {
                    let n = skip_options(rest, &["s", "k"], &["signal", "kill-after"]);
                    Some((n + 1).min(rest.len()))
                }
                "stdbuf" => Some(skip_options(
                    rest,
                    &["i", "o", "e"],
                    &["input", "output", "error"],
                )),
                "strace" | "ltrace" => Some(skip_options(
                    rest,
                    &["o", "p", "e", "s", "E", "u", "a", "b", "I", "P", "S", "X"],
                    &["output", "attach", "expr", "string-limit"],
                )),
                "flock" => {
                    let n = skip_options(
                        rest,
                        &["w", "E", "c"],
                        &["timeout", "conflict-exit-code", "command"],
                    );
                    // `flock LOCK -c CMD`: the code may follow the lock file too.
                    if let Some(pos) = rest[..(n + 2).min(rest.len())]
                        .iter()
                        .position(|w| w.text == "-c" || w.text == "--command")
                        && let Some(code) = rest.get(pos + 1).cloned()
                    {
                        via.push("flock -c".to_owned());
                        return self.shell_code(code, ctx, &via, &tags, depth, &extra_vars);
                    }
                    Some((n + 1).min(rest.len()))
                }
                "watch" => {
                    let n = skip_options(
                        rest,
                        &["n", "d", "q", "g", "e"],
                        &["interval", "differences"],
                    );
                    let exec = rest[..n]
                        .iter()
                        .any(|w| is_short_cluster_with(&w.text, 'x') || w.text == "--exec");
                    if !exec && n < rest.len() {
                        let joined = join_words(&rest[n..]);
                        via.push("watch".to_owned());
                        return self.shell_code(joined, ctx, &via, &tags, depth, &extra_vars);
                    }
                    Some(n)
                }
                "su" | "runuser" | "sg" => {
                    tags.push("sudo".to_owned());
                    let code = rest
                        .iter()
                        .position(|w| w.text == "-c" || w.text == "--command")
                        .and_then(|p| rest.get(p + 1).cloned());
                    if let Some(code) = code {
                        via.push(format!("{name} -c"));
                        return self.shell_code(code, ctx, &via, &tags, depth, &extra_vars);
                    }
                    // `runuser -u root -- cmd`: a wrapper.
                    if name == "runuser" {
                        rest.iter().position(|w| w.text == "--").map(|p| p + 1)
                    } else {
                        None
                    }
                }
                "alias" => {
                    // `alias x='rm -rf /'`: the value is code that will run later.
                    for w in rest {
                        if let Some((k, v)) = w.text.split_once('=') {
                            // A later `x args…` runs the value with the arguments
                            // appended: kept as a function `x() { VALUE "$@"; }`.
                            if !k.is_empty()
                                && !k.contains(DYN)
                                && self.functions.len() < 64
                                && !v.contains(DYN)
                            {
                                // Text until it is called (`alias x=…; type x` runs
                                // nothing); a call walks the value then.
                                self.functions.insert(k.to_owned(), format!("{v} \"$@\""));
                                continue;
                            }
                            via.push("alias".to_owned());
                            let code = Word {
                                text: v.to_owned(),
                                ..w.clone()
                            };
                            self.shell_code(code, ctx, &via, &tags, depth, &extra_vars);
                            via.pop();
                        }
                    }
                    None
                }
                "tmux" => {
                    // `tmux new-session -d 'cmd'`: the last operand is shell code.
                    let sub = rest.iter().position(|w| {
                        matches!(
                            w.text.as_str(),
                            "new-session"
                                | "new"
                                | "new-window"
                                | "neww"
                                | "split-window"
                                | "splitw"
                                | "respawn-pane"
                                | "run-shell"
                                | "run"
                        )
                    });
                    if let Some(p) = sub
                        && let Some(code) = rest[p + 1..]
                            .last()
                            .filter(|w| !w.text.starts_with('-') && rest.len() > p + 1)
                    {
                        via.push("tmux".to_owned());
                        self.shell_code(code.clone(), ctx, &via, &tags, depth, &extra_vars);
                        via.pop();
                    }
                    None
                }
                "screen" => {
                    // `screen -dmS name cmd args…`: a wrapper.
                    let n = skip_options(rest, &["S", "c", "L", "t", "p", "X", "T"], &[]);
                    if n < rest.len() { Some(n) } else { None }
                }
                "git" => {
                    // Options of git that hand code to a shell: `git -c alias.x='!cmd' x`,
                    // `rebase --exec cmd`, `bisect run cmd…`, `submodule foreach cmd`.
                    let mut codes: Vec<Word> = Vec::new();
                    for (i, w) in rest.iter().enumerate() {
                        let t = w.text.as_str();
                        if (t == "-c" || t == "--config-env")
                            && let Some(v) = rest.get(i + 1)
                            && let Some((k, val)) = v.text.split_once('=')
                            && k.to_ascii_lowercase().starts_with("alias.")
                            && let Some(code) = val.strip_prefix('!')
                        {
                            codes.push(Word {
                                text: code.to_owned(),
                                ..v.clone()
                            });
                        }
                        if (t == "--exec" || t == "-x")
                            && rest.iter().any(|w| w.text == "rebase")
                            && let Some(v) = rest.get(i + 1)
                        {
                            codes.push(v.clone());
                        }
                        if let Some(v) = t.strip_prefix("--exec=") {
                            codes.push(Word {
                                text: v.to_owned(),
                                ..w.clone()
                            });
                        }
                    }
                    let subs: Vec<&str> = rest
                        .iter()
                        .map(|w| w.text.as_str())
                        .filter(|t| !t.starts_with('-'))
                        .take(2)
                        .collect();
                    let bisect_run = if subs == ["bisect", "run"] {
                        rest.iter()
                            .position(|w| w.text == "run")
                            .filter(|p| p + 1 < rest.len())
                    } else {
                        None
                    };
                    if subs.first() == Some(&"submodule")
                        && let Some(p) = rest.iter().position(|w| w.text == "foreach")
                        && let Some(code) = rest[p + 1..].iter().find(|w| !w.text.starts_with('-'))
                    {
                        codes.push(code.clone());
                    }
                    for code in codes.into_iter().take(8) {
                        via.push("git (shell code)".to_owned());
                        self.shell_code(code, ctx, &via, &tags, depth, &extra_vars);
                        via.pop();
                    }
                    // `git bisect run CMD ARGS…`: a wrapper around CMD.
                    bisect_run.map(|p| p + 1)
                }
                "trap" => {
                    if let Some(code) = rest.first().filter(|w| !w.text.starts_with('-')) {
                        via.push("trap".to_owned());
                        self.defer_trap(code.clone(), ctx, &via, &tags, depth, &extra_vars);
                    }
                    return Output::default();
                }
                "at" | "batch" => {
                    // `echo 'cmd' | at now`: stdin is a script run later.
                    let e = Effective {
                        name: name.clone(),
                        args: rest.to_vec(),
                        via: via.clone(),
                        stdin: ctx.stdin.clone(),
                        tags: tags.clone(),
                        ..Effective::default()
                    };
                    self.emit(e, ctx);
                    if let Some(text) = ctx.stdin.as_ref().and_then(|s| s.text.clone()) {
                        via.push(name.clone());
                        return self.shell_code(
                            Word::lit(text),
                            &Ctx {
                                stdin: None,
                                ..ctx.clone()
                            },
                            &via,
                            &tags,
                            depth,
                            &extra_vars,
                        );
                    }
                    return Output::default();
                }
                "crontab" => {
                    // A cron table from stdin: each entry's command is shell code.
                    let e = Effective {
                        name: name.clone(),
                        args: rest.to_vec(),
                        via: via.clone(),
                        stdin: ctx.stdin.clone(),
                        tags: tags.clone(),
                        ..Effective::default()
                    };
                    self.emit(e, ctx);
                    if let Some(text) = ctx.stdin.as_ref().and_then(|s| s.text.clone()) {
                        via.push("crontab".to_owned());
                        for line in text
                            .lines()
                            .filter(|l| !l.trim_start().starts_with('#'))
                            .take(64)
                        {
                            let fields: Vec<&str> = line.split_whitespace().collect();
                            let skip = if fields.first().is_some_and(|f| f.starts_with('@')) {
                                1
                            } else {
                                5
                            };
                            if fields.len() > skip {
                                let code = fields[skip..].join(" ");
                                self.shell_code(
                                    Word::lit(code),
                                    &Ctx {
                                        stdin: None,
                                        ..ctx.clone()
                                    },
                                    &via,
                                    &tags,
                                    depth,
                                    &extra_vars,
                                );
                            }
                        }
                    }
                    return Output::default();
                }
                "eval" => {
                    let code = join_words(rest);
                    via.push("eval".to_owned());
                    let mut t = tags.clone();
                    t.push("eval".to_owned());
                    return self.shell_code(code, ctx, &via, &t, depth, &extra_vars);
                }
                "ssh" => {
                    let n = skip_options(
                        rest,
                        &[
                            "p", "i", "l", "o", "F", "J", "L", "R", "D", "b", "c", "E", "e", "m",
                            "O", "Q", "S", "W", "w", "B",
                        ],
                        &[],
                    );
                    // The remote commands act on the host: it names their target
                    // (`ssh prod-db 'psql -c …'` is production).
                    let mut extra_vars = extra_vars.clone();
                    if let Some(host) = rest.get(n) {
                        extra_vars.push(("LH_CONTEXT_SSH_HOST".to_owned(), host.text.clone()));
                    }
                    if rest.len() > n + 1 {
                        let code = join_words(&rest[n + 1..]);
                        let e = Effective {
                            name: name.clone(),
                            args: rest.to_vec(),
                            via: via.clone(),
                            stdin: ctx.stdin.clone(),
                            tags: tags.clone(),
                            ..Effective::default()
                        };
                        self.emit(e, ctx);
                        via.push("ssh (remote)".to_owned());
                        let mut t = tags.clone();
                        t.push("remote".to_owned());
                        return self.shell_code(
                            code,
                            &Ctx {
                                stdin: None,
                                ..ctx.clone()
                            },
                            &via,
                            &t,
                            depth,
                            &extra_vars,
                        );
                    }
                    if let Some(text) = ctx.stdin.as_ref().and_then(|s| s.text.clone()) {
                        // `ssh host <<EOF … EOF`: the remote shell runs stdin.
                        let e = Effective {
                            name: name.clone(),
                            args: rest.to_vec(),
                            via: via.clone(),
                            stdin: ctx.stdin.clone(),
                            tags: tags.clone(),
                            ..Effective::default()
                        };
                        self.emit(e, ctx);
                        via.push("ssh (remote)".to_owned());
                        let mut t = tags.clone();
                        t.push("remote".to_owned());
                        let c = Ctx {
                            stdin: None,
                            ..ctx.clone()
                        };
                        return self.shell_code(Word::lit(text), &c, &via, &t, depth, &extra_vars);
                    }
                    None
                }
                "docker" | "podman" | "nerdctl" | "kubectl" | "oc" | "docker-compose"
                | "podman-compose" => {
                    // `docker exec CONTAINER cmd`, `kubectl exec POD -- cmd`: cmd runs, in
                    // the container's environment (its name may say production).
                    match exec_target(&name, rest) {
                        Some((start, context)) => {
                            let e = Effective {
                                name: name.clone(),
                                args: rest.to_vec(),
                                via: via.clone(),
                                stdin: ctx.stdin.clone(),
                                tags: tags.clone(),
                                env: extra_vars.clone(),
                                ..Effective::default()
                            };
                            self.emit(e, ctx);
                            extra_vars.push(context);
                            let c = Ctx {
                                extra_vars: extra_vars.clone(),
                                ..ctx.clone()
                            };
                            let mut v = via.clone();
                            v.push(format!("{name} exec"));
                            let c = Ctx { via: v, ..c };
                            return self.resolve(rest[start..].to_vec(), &c, depth);
                        }
                        None => None,
                    }
                }
                "xargs" => {
                    return self.xargs(rest, ctx, via, tags, depth);
                }
                "find" | "fd" => {
                    if name == "find" {
                        return self.find(rest, ctx, via, tags, depth);
                    }
                    None
                }
                "script" => {
                    // `script -c CMD`, `-qc CMD` (a cluster ending in c), `--command=CMD`.
                    let code = rest.iter().enumerate().find_map(|(p, w)| {
                        let t = w.text.as_str();
                        if let Some(v) = t.strip_prefix("--command=") {
                            return Some(Word {
                                text: v.to_owned(),
                                ..w.clone()
                            });
                        }
                        let cluster = t.len() > 1
                            && t.starts_with('-')
                            && !t.starts_with("--")
                            && t.ends_with('c')
                            && t[1..].chars().all(|c| c.is_ascii_alphabetic());
                        (cluster || t == "--command")
                            .then(|| rest.get(p + 1).cloned())
                            .flatten()
                    });
                    if let Some(code) = code {
                        via.push("script -c".to_owned());
                        return self.shell_code(code, ctx, &via, &tags, depth, &extra_vars);
                    }
                    None
                }
                "." | "source"
                    if rest.first().is_some_and(|w| {
                        w.fed.is_some()
                            || matches!(
                                w.text.as_str(),
                                "/dev/stdin" | "-" | "/proc/self/fd/0" | "/dev/fd/0"
                            )
                            || self.written_file(&w.text).is_some()
                    }) =>
                {
                    // Same as running the script with a shell.
                    return self.shell(name.clone(), rest, ctx, via, tags, depth, &extra_vars);
                }
                "." | "source" => {
                    let script = rest.first().cloned().unwrap_or_default();
                    let e = Effective {
                        name: name.clone(),
                        args: rest.to_vec(),
                        via: via.clone(),
                        stdin: ctx.stdin.clone(),
                        tags: tags.clone(),
                        script_from: script.subst.clone(),
                        ..Effective::default()
                    };
                    self.emit(e, ctx);
                    return Output::default();
                }
                n if is_shell(n) => {
                    return self.shell(name.clone(), rest, ctx, via, tags, depth, &extra_vars);
                }
                "go" if rest.first().is_some_and(|w| w.text == "run") => {
                    return self.interpreter(
                        name.clone(),
                        rest,
                        ctx,
                        via,
                        tags,
                        depth,
                        &extra_vars,
                    );
                }
                n if interp::language(n).is_some() => {
                    return self.interpreter(
                        name.clone(),
                        rest,
                        ctx,
                        via,
                        tags,
                        depth,
                        &extra_vars,
                    );
                }
                _ => None,
            };
            match skip {
                Some(n) if n < rest.len() => {
                    via.push(name);
                    // The wrapped command: the words after the wrapper and its options.
                    argv.drain(..=n);
                    continue;
                }
                _ if argv[0].text.contains('/') && self.written_file(&argv[0].text).is_some() => {
                    // `./x.sh` written earlier in this command line: run it as a script.
                    let mut args = vec![Word::lit(argv[0].text.clone())];
                    args.extend(rest.iter().cloned());
                    return self.shell("sh".to_owned(), &args, ctx, via, tags, depth, &extra_vars);
                }
                _ => {
                    // Not a wrapper, or a wrapper with nothing to run: this is the command.
                    argv.remove(0);
                    // `set -- rm -rf ~; "$@"`: the words become the positional parameters.
                    if name == "set"
                        && let Some(words) = set_arguments(&argv)
                    {
                        self.set_positionals(words);
                    }
                    if let [only] = argv.as_slice()
                        && matches!(only.text.as_str(), "--help" | "--version")
                    {
                        tags.push(HELP_ONLY.to_owned());
                    }
                    let recorded = (self.recorded_code(&name, &argv, ctx))
                        .or_else(|| toolcode::code_of(&name, &argv, &extra_vars));
                    if name == "read" {
                        self.read_into(&argv, ctx);
                    }
                    let e = Effective {
                        script_from: self.tool_inputs(&name, &argv),
                        name,
                        args: argv,
                        via,
                        stdin: ctx.stdin.clone(),
                        tags,
                        env: extra_vars,
                        ..Effective::default()
                    };
                    let out = self.output_of(&e);
                    let mut runs_via = e.via.clone();
                    runs_via.push(format!("{} (what it runs)", e.name));
                    self.emit(e, ctx);
                    if let Some(code) = recorded {
                        let via = runs_via;
                        let c = Ctx {
                            via,
                            extra_vars: ctx.extra_vars.clone(),
                            ..Ctx::default()
                        };
                        self.run_script(&code, &c, depth + 1);
                    }
                    return out;
                }
            }
        }
        self.bound("wrappers nested deeper than the bound");
        Output::default()
    }
}

/// The words `set` makes the positional parameters: those after `--` (`set -e -- a b`),
/// or all of them when the first is not an option (`set a b`); `None` when it sets none.
fn set_arguments(args: &[Word]) -> Option<&[Word]> {
    if let Some(p) = args.iter().position(|w| w.text == "--") {
        return Some(&args[p + 1..]);
    }
    (!args.first()?.text.starts_with(['-', '+'])).then_some(args)
}
