//! Nested code: strings handed to a shell (`bash -c`, `eval`), scripts read from
//! stdin or written earlier in the line, and interpreter one-liners.

use super::*;

impl Walker<'_> {
    /// Code given as one word to a shell (`bash -c`, `eval`, `su -c`, `watch`).
    pub(super) fn shell_code(
        &mut self,
        code: Word,
        ctx: &Ctx,
        via: &[String],
        tags: &[String],
        depth: usize,
        extra_vars: &[(String, String)],
    ) -> Output {
        let mut c = Ctx {
            via: via.to_vec(),
            stdin: ctx.stdin.clone(),
            redirects: ctx.redirects.clone(),
            function: None,
            extra_vars: extra_vars.to_vec(),
        };
        // Only the output of known set-up generators (`eval "$(ssh-agent -s)"`).
        if code.init > 0
            && code.init == code.subst.len()
            && code
                .text
                .chars()
                .all(|c| c == DYN || c.is_whitespace() || c == ';')
        {
            return Output::default();
        }
        if code.is_dynamic() {
            let e = Effective {
                name: via.last().cloned().unwrap_or_else(|| "eval".to_owned()),
                args: vec![code.clone()],
                via: via[..via.len().saturating_sub(1)].to_vec(),
                stdin: ctx.stdin.clone(),
                tags: {
                    let mut t = tags.to_vec();
                    t.push("dynamic_code".to_owned());
                    t
                },
                script_from: code.subst.clone(),
                code: Some(code.text.clone()),
                ..Effective::default()
            };
            self.emit(e, ctx);
            // Run what can be known anyway: `bash -c "rm -rf $X/"` still shows `rm`.
        }
        let start = self.out.len();
        c.redirects.clear();
        self.run_script(&code.text.replace(DYN, "$__lh_unknown"), &c, depth + 1);
        for e in &mut self.out[start..] {
            for t in tags {
                if !e.tags.contains(t) {
                    e.tags.push(t.clone());
                }
            }
            e.redirects.extend(ctx.redirects.iter().cloned());
        }
        Output::default()
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn shell(
        &mut self,
        name: String,
        rest: &[Word],
        ctx: &Ctx,
        mut via: Vec<String>,
        tags: Vec<String>,
        depth: usize,
        extra_vars: &[(String, String)],
    ) -> Output {
        let mut has_c = false;
        let mut has_s = false;
        let mut i = 0;
        while i < rest.len() {
            let t = rest[i].text.as_str();
            if t == "--" || t == "-" {
                has_s |= t == "-";
                i += 1;
                break;
            }
            if let Some(long) = t.strip_prefix("--") {
                if matches!(long, "rcfile" | "init-file") {
                    i += 1;
                }
                i += 1;
                continue;
            }
            if (t.starts_with('-') || t.starts_with('+')) && t.len() > 1 {
                if t.contains('c') {
                    has_c = true;
                }
                if t.starts_with('-') && t.contains('s') {
                    has_s = true;
                }
                if t.ends_with('o') || t.ends_with('O') {
                    i += 1;
                }
                i += 1;
                continue;
            }
            break;
        }
        let operand = if has_s && !has_c {
            None
        } else {
            rest.get(i)
                .filter(|w| {
                    !matches!(
                        w.text.as_str(),
                        "/dev/stdin" | "/proc/self/fd/0" | "/dev/fd/0"
                    )
                })
                .cloned()
        };
        let mut e = Effective {
            name: name.clone(),
            args: rest.to_vec(),
            via: via.clone(),
            stdin: ctx.stdin.clone(),
            tags: tags.clone(),
            ..Effective::default()
        };
        e.tags.push("shell".to_owned());
        if has_c {
            let code = operand.unwrap_or_default();
            e.script_from = code.subst.clone();
            e.code = Some(code.text.clone());
            self.emit(e, ctx);
            via.push(format!("{name} -c"));
            let c = Ctx {
                stdin: ctx.stdin.clone(),
                ..ctx.clone()
            };
            // `sh -c CODE NAME ARGS…`: ARGS are the code's `$1` … (`find … -exec sh -c
            // 'rm -rf "$1"' _ {} \;`).
            let Some(params) = rest.get(i + 2..) else {
                return self.shell_code_inner(code, &c, &via, &tags, depth, extra_vars);
            };
            let saved = self.take_positionals();
            self.set_positionals(params);
            let out = self.shell_code_inner(code, &c, &via, &tags, depth, extra_vars);
            self.restore_positionals(saved);
            return out;
        }
        match operand {
            Some(file) => {
                // A script file: unknown content, unless it is a process substitution
                // or a file written earlier in this command line.
                e.script_from = file.subst.clone();
                if file.is_dynamic() && file.subst.is_empty() {
                    e.tags.push("dynamic_code".to_owned());
                }
                let written = match &file.fed {
                    Some(text) => Some(Written {
                        text: Some(text.clone()),
                        producers: file.subst.clone(),
                    }),
                    None => self.written_file(&file.text).cloned(),
                };
                if let Some(w) = &written {
                    e.script_from.extend(w.producers.iter().cloned());
                    if w.text.as_deref().is_some_and(reexecs_itself) {
                        e.tags.push("self_reexec".to_owned());
                    }
                }
                self.emit(e, ctx);
                if let Some(text) = written.and_then(|w| w.text) {
                    via.push(format!("{name} {}", file.text));
                    let c = Ctx {
                        via: via.clone(),
                        extra_vars: extra_vars.to_vec(),
                        ..Ctx::default()
                    };
                    self.run_script(&text, &c, depth + 1);
                }
            }
            None => {
                // Reads its program from stdin.
                let stdin = ctx.stdin.clone().unwrap_or_default();
                e.script_from = stdin.producers.clone();
                e.code = stdin.text.clone();
                e.tags.push("code_from_stdin".to_owned());
                if stdin.text.is_none() && ctx.stdin.is_some() {
                    // Whatever the producer, code it prints is not known here.
                    e.tags.push("code_from_unknown_stdin".to_owned());
                }
                self.emit(e, ctx);
                if let Some(text) = stdin.text {
                    via.push(format!("{name} <stdin"));
                    let c = Ctx {
                        via: via.clone(),
                        extra_vars: extra_vars.to_vec(),
                        ..Ctx::default()
                    };
                    let start = self.out.len();
                    self.run_script(&text, &c, depth + 1);
                    for e in &mut self.out[start..] {
                        for t in &tags {
                            if !e.tags.contains(t) {
                                e.tags.push(t.clone());
                            }
                        }
                    }
                }
            }
        }
        Output::default()
    }

    pub(super) fn shell_code_inner(
        &mut self,
        code: Word,
        ctx: &Ctx,
        via: &[String],
        tags: &[String],
        depth: usize,
        extra_vars: &[(String, String)],
    ) -> Output {
        let c = Ctx {
            via: via.to_vec(),
            stdin: ctx.stdin.clone(),
            redirects: Vec::new(),
            function: None,
            extra_vars: extra_vars.to_vec(),
        };
        let start = self.out.len();
        self.run_script(&code.text.replace(DYN, "$__lh_unknown"), &c, depth + 1);
        for e in &mut self.out[start..] {
            for t in tags {
                if !e.tags.contains(t) {
                    e.tags.push(t.clone());
                }
            }
            e.redirects.extend(ctx.redirects.iter().cloned());
        }
        Output::default()
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn interpreter(
        &mut self,
        name: String,
        rest: &[Word],
        ctx: &Ctx,
        mut via: Vec<String>,
        tags: Vec<String>,
        depth: usize,
        extra_vars: &[(String, String)],
    ) -> Output {
        // `go run FILE.go`: the walker only sends `go` here with `run`.
        let is_go = name == "go";
        let Some(lang) = interp::language(&name).or(is_go.then_some(interp::Lang::Go)) else {
            return Output::default();
        };
        let all_args = rest;
        let rest = if is_go {
            rest.get(1..).unwrap_or(&[])
        } else {
            rest
        };
        // `python -m pip install …` is `pip install …`.
        if lang == interp::Lang::Python
            && let Some(p) = rest.iter().position(|w| w.text == "-m")
            && let Some(module) = rest.get(p + 1)
        {
            let mut argv = vec![Word::lit(module.text.clone())];
            argv.extend(rest[p + 2..].iter().cloned());
            via.push(format!("{name} -m"));
            let c = Ctx {
                via,
                extra_vars: extra_vars.to_vec(),
                ..ctx.clone()
            };
            return self.resolve_with_tags(argv, &c, tags);
        }
        let (code, from_stdin) = interp::code_arg(lang, rest);
        let mut e = Effective {
            name: name.clone(),
            args: all_args.to_vec(),
            via: via.clone(),
            stdin: ctx.stdin.clone(),
            tags: tags.clone(),
            // `env RAILS_ENV=production python …`: the settings name its target.
            env: extra_vars.to_vec(),
            ..Effective::default()
        };
        e.tags.push("interpreter".to_owned());
        let code_text = match (&code, from_stdin) {
            (Some(w), _) => {
                e.script_from = w.subst.clone();
                if w.is_dynamic() {
                    e.tags.push("dynamic_code".to_owned());
                }
                Some(w.text.clone())
            }
            (None, true) if is_go => None,
            (None, true) => {
                let stdin = ctx.stdin.clone().unwrap_or_default();
                e.script_from = stdin.producers.clone();
                e.tags.push("code_from_stdin".to_owned());
                if stdin.text.is_none() && ctx.stdin.is_some() {
                    e.tags.push("code_from_unknown_stdin".to_owned());
                }
                stdin.text
            }
            (None, false) => {
                // `python3 <(curl …)`: the script file is another command's output; a
                // script written earlier in this command line is judged by its text.
                match rest.iter().find(|w| !w.text.starts_with('-')) {
                    Some(file) => {
                        e.script_from = file.subst.clone();
                        let written = self.written_file(&file.text).cloned();
                        if let Some(w) = &written {
                            e.script_from.extend(w.producers.iter().cloned());
                        }
                        file.fed.clone().or(written.and_then(|w| w.text))
                    }
                    None => None,
                }
            }
        };
        let Some(code_text) = code_text else {
            self.emit(e, ctx);
            return Output::default();
        };
        e.code = Some(code_text.clone());
        let effects = interp::analyze(lang, &code_text);
        if effects.tags.iter().any(|t| t == interp::OVER_BOUND) {
            self.bound("interpreter code beyond what its analysis reads");
        }
        for t in &effects.tags {
            if !e.tags.contains(t) {
                e.tags.push(t.clone());
            }
        }
        // `curl … | python3 -c 'exec(sys.stdin.read())'`: stdin is the program.
        if effects.tags.iter().any(|t| t == interp::RUNS_STDIN)
            && let Some(stdin) = &ctx.stdin
        {
            e.script_from.extend(stdin.producers.iter().cloned());
            e.tags.push("code_from_stdin".to_owned());
            e.tags.retain(|t| t != "dynamic_code");
        }
        e.args
            .extend(effects.paths.iter().map(|p| Word::lit(p.clone())));
        for w in &effects.writes {
            e.redirects.push(Redirect {
                kind: RedirectKind::Write,
                target: Word::lit(w.clone()),
            });
        }
        self.emit(e, ctx);
        via.push(format!("{name} {}", lang.code_flag()));
        for argv in effects.commands {
            let c = Ctx {
                via: via.clone(),
                extra_vars: extra_vars.to_vec(),
                ..Ctx::default()
            };
            let argv: Vec<Word> = argv.into_iter().map(Word::lit).collect();
            self.resolve_with_tags(argv, &c, tags.clone());
        }
        for sh in effects.shell {
            let c = Ctx {
                via: via.clone(),
                extra_vars: extra_vars.to_vec(),
                ..Ctx::default()
            };
            let start = self.out.len();
            self.run_script(&sh, &c, depth + 1);
            for e in &mut self.out[start..] {
                for t in &tags {
                    if !e.tags.contains(t) {
                        e.tags.push(t.clone());
                    }
                }
            }
        }
        Output {
            text: super::output::interpreter_prints(&name, all_args),
            producers: vec![name],
            ..Output::default()
        }
    }

    pub(super) fn resolve_with_tags(
        &mut self,
        argv: Vec<Word>,
        ctx: &Ctx,
        tags: Vec<String>,
    ) -> Output {
        let start = self.out.len();
        let out = self.resolve(argv, ctx, 0);
        for e in &mut self.out[start..] {
            for t in &tags {
                if !e.tags.contains(t) {
                    e.tags.push(t.clone());
                }
            }
        }
        out
    }
}

/// Most `trap` bodies kept per command line (more are walked at once).
const MAX_TRAPS: usize = 16;

/// A `trap` body, walked when the command line ends: that is when it runs (at exit or
/// on a signal), so its variables hold their last values (`trap 'rm -rf "$d"' EXIT;
/// d=$(mktemp -d)` removes the temp directory) and the functions it calls are defined.
#[derive(Debug)]
pub(super) struct Trap {
    code: Word,
    ctx: Ctx,
    via: Vec<String>,
    tags: Vec<String>,
    depth: usize,
    extra_vars: Vec<(String, String)>,
}

impl Walker<'_> {
    pub(super) fn defer_trap(
        &mut self,
        code: Word,
        ctx: &Ctx,
        via: &[String],
        tags: &[String],
        depth: usize,
        extra_vars: &[(String, String)],
    ) {
        if self.traps.len() >= MAX_TRAPS {
            self.shell_code(code, ctx, via, tags, depth, extra_vars);
            return;
        }
        self.traps.push(Trap {
            code,
            ctx: ctx.clone(),
            via: via.to_vec(),
            tags: tags.to_vec(),
            depth,
            extra_vars: extra_vars.to_vec(),
        });
    }

    /// Walks the `trap` bodies set during the line (and any they set in turn).
    pub(super) fn run_traps(&mut self) {
        for _ in 0..4 {
            let traps = std::mem::take(&mut self.traps);
            if traps.is_empty() {
                return;
            }
            for t in traps {
                self.shell_code(t.code, &t.ctx, &t.via, &t.tags, t.depth, &t.extra_vars);
            }
        }
        if !self.traps.is_empty() {
            self.bound("traps set by traps deeper than the bound");
        }
    }
}

/// Whether a script starts itself again in the background or a pipe (`$0 & $0 &`,
/// `"$0" | "$0"`): each copy starting more, a fork bomb in a file. (`$0 && …` and
/// `$0 || …` are lists, not background jobs or pipes.)
fn reexecs_itself(script: &str) -> bool {
    let compact: String = (script.chars())
        .filter(|c| !matches!(c, '"' | '\'' | '{' | '}'))
        .collect();
    compact.match_indices("$0").any(|(i, _)| {
        let rest = compact[i + 2..].trim_start_matches([' ', '\t']);
        let mut chars = rest.chars();
        match (chars.next(), chars.next()) {
            (Some('&'), next) => next != Some('&'),
            (Some('|'), next) => next != Some('|'),
            _ => false,
        }
    })
}

#[cfg(test)]
mod reexec_tests {
    use super::reexecs_itself;

    #[test]
    fn a_script_that_starts_itself_in_the_background_or_a_pipe() {
        assert!(reexecs_itself("#!/bin/sh\n$0 & $0 &\n"));
        assert!(reexecs_itself("\"$0\" | \"$0\""));
        assert!(!reexecs_itself("echo $0 && exit 0"));
        assert!(!reexecs_itself("cd \"$(dirname \"$0\")\" || exit 1"));
        assert!(!reexecs_itself("echo usage: $0 FILE"));
    }
}
