//! Walking the syntax tree: scripts, lists, pipelines, loops, functions,
//! substitutions, assignments and redirects.

use super::*;

impl Walker<'_> {
    /// Parses and walks one script; `depth` counts re-parses.
    pub(super) fn run_script(&mut self, text: &str, ctx: &Ctx, depth: usize) {
        if depth > MAX_DEPTH {
            self.too_deep(text);
            return;
        }
        if text.len() > MAX_INPUT {
            self.bound("command longer than the bound");
            return;
        }
        if nesting(text) > MAX_NESTING {
            self.bound("brackets or quotes nested deeper than the bound");
            return;
        }
        // `$IFS` glued to words confuses the grammar (`rm$IFS-rf$IFS/`); it is a field
        // separator, so make it one before parsing.
        let mut owned = if text.contains("$IFS") || text.contains("${IFS}") {
            replace_ifs(text)
        } else {
            text.to_owned()
        };
        if owned.contains('{') && owned.contains(',') {
            owned = expand_brace_words(&owned);
        }
        if owned.contains("\\\n") {
            owned = join_continuations(&owned);
        }
        if owned.contains('[') && owned.contains('~') {
            owned = bare_tilde_as_dir(&owned);
        }
        // A final newline spares tree-sitter-bash a costly ambiguity at end of input
        // (a three-stage pipeline parses ~10x faster with it).
        owned.push('\n');
        let text = owned.as_str();
        if self.fast_path
            && let Some(plain) = Plain::parse(text)
        {
            self.with_vars_of(ctx, |w, ctx| w.walk_plain(&plain, ctx, depth));
            return;
        }
        let deadline = self.started + PARSE_BUDGET;
        // A function's body is walked again at each call: parse each text once.
        let cached = self.trees.get(text).cloned();
        let tree = cached.or_else(|| {
            PARSER.with(|cell| {
                let mut slot = cell.borrow_mut();
                if slot.is_none() {
                    let mut p = Parser::new();
                    if p.set_language(&tree_sitter_bash::LANGUAGE.into()).is_err() {
                        return None;
                    }
                    *slot = Some(p);
                }
                let parser = slot.as_mut()?;
                let bytes = text.as_bytes();
                let mut read = |i: usize, _| bytes.get(i..).unwrap_or_default();
                let mut progress = |_: &tree_sitter::ParseState| Instant::now() > deadline;
                let opts = tree_sitter::ParseOptions::new().progress_callback(&mut progress);
                let tree = parser.parse_with_options(&mut read, None, Some(opts));
                if tree.is_none() {
                    // A cancelled parse leaves state behind; the next parse must start clean.
                    parser.reset();
                }
                tree
            })
        });
        let Some(tree) = tree else {
            self.bound("parse did not finish within its time budget");
            return;
        };
        if self.trees.len() < MAX_CACHED_TREES && !self.trees.contains_key(text) {
            self.trees.insert(text.to_owned(), tree.clone());
        }
        let root = tree.root_node();
        if root.has_error() {
            self.parse_error = true;
        }
        self.with_vars_of(ctx, |w, ctx| w.visit(root, text.as_bytes(), ctx, depth, 0));
    }

    /// Runs `walk` with the variables `ctx` sets for a nested shell only
    /// (`X=/ bash -c 'rm -rf $X'`) in force, then restores the ones they hid.
    fn with_vars_of(&mut self, ctx: &Ctx, walk: impl FnOnce(&mut Self, &Ctx)) {
        if ctx.extra_vars.is_empty() {
            // Nothing to set or restore (the usual case): no copy of `ctx` either.
            walk(self, ctx);
            return;
        }
        let mut ctx = ctx.clone();
        let saved: Vec<(String, Option<String>)> = ctx
            .extra_vars
            .iter()
            .map(|(k, _)| (k.clone(), self.vars.get(k).cloned()))
            .collect();
        for (k, v) in std::mem::take(&mut ctx.extra_vars) {
            self.vars.insert(k, v);
        }
        walk(self, &ctx);
        for (k, v) in saved {
            match v {
                Some(v) => self.vars.insert(k, v),
                None => self.vars.remove(&k),
            };
        }
    }

    /// Counts one statement node and checks the bounds; false when the walk must stop.
    pub(super) fn enter(&mut self, tdepth: usize) -> bool {
        if self.stopped() {
            return false;
        }
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            self.bound("syntax tree larger than the bound");
            return false;
        }
        // Walking is linear in nodes, but pipelines copy what flows between stages:
        // keep a wall-clock bound too (checked every few hundred nodes).
        if self.nodes.is_multiple_of(256) && self.started.elapsed() > WALK_BUDGET {
            self.bound("analysis took longer than its time budget");
            return false;
        }
        if tdepth > MAX_TREE_DEPTH {
            self.bound("syntax tree deeper than the bound");
            return false;
        }
        true
    }

    pub(super) fn visit(
        &mut self,
        node: Node<'_>,
        src: &[u8],
        ctx: &Ctx,
        depth: usize,
        tdepth: usize,
    ) {
        self.visit_out(node, src, ctx, depth, tdepth);
    }

    /// Walks a statement; returns what it writes to stdout, for a pipeline's next stage.
    pub(super) fn visit_out(
        &mut self,
        node: Node<'_>,
        src: &[u8],
        ctx: &Ctx,
        depth: usize,
        tdepth: usize,
    ) -> Output {
        if !self.enter(tdepth) {
            return Output::default();
        }
        if node.is_error() || node.is_missing() {
            self.parse_error = true;
        }
        match node.kind() {
            "comment" | "heredoc_start" | "heredoc_end" | "file_descriptor" => Output::default(),
            "command" => self.command(node, src, ctx, depth, tdepth),
            "ERROR"
                if node
                    .named_child(0)
                    .is_some_and(|k| k.kind() == "command_name") =>
            {
                // Salvage what the parser could not place (`{rm,-rf,/}`).
                self.command(node, src, ctx, depth, tdepth)
            }
            "pipeline" => {
                let mut cursor = node.walk();
                let stages: Vec<Node<'_>> = node
                    .named_children(&mut cursor)
                    .filter(|s| s.kind() != "comment")
                    .collect();
                self.pipeline(&stages, ctx, |w, stage, c| {
                    w.visit_out(*stage, src, c, depth, tdepth + 1)
                })
            }
            "list" => {
                // Lists nest to the left (`a && b || c`); walk the spine in a loop so a
                // long chain does not mean deep recursion.
                let mut spine = vec![node];
                let mut cur = node;
                while let Some(first) = cur.named_child(0) {
                    if first.kind() != "list" {
                        break;
                    }
                    spine.push(first);
                    cur = first;
                    if spine.len() > MAX_NODES {
                        break;
                    }
                }
                let mut last = Output::default();
                for (i, list) in spine.iter().rev().enumerate() {
                    let mut cursor = list.walk();
                    let kids: Vec<Node<'_>> = list.named_children(&mut cursor).collect();
                    for (j, kid) in kids.into_iter().enumerate() {
                        // The first child of every list but the innermost is that list.
                        if j == 0 && i > 0 {
                            continue;
                        }
                        last = self.visit_out(kid, src, ctx, depth, tdepth + 1);
                    }
                }
                last
            }
            "redirected_statement" => self.redirected(node, src, ctx, depth, tdepth),
            "variable_assignment" => {
                self.assignment(node, src, ctx, depth, tdepth);
                Output::default()
            }
            "declaration_command" => {
                let mut cursor = node.walk();
                let kids: Vec<Node<'_>> = node.named_children(&mut cursor).collect();
                for kid in kids {
                    if kid.kind() == "variable_assignment" {
                        self.assignment(kid, src, ctx, depth, tdepth + 1);
                    } else {
                        self.visit(kid, src, ctx, depth, tdepth + 1);
                    }
                }
                Output::default()
            }
            "while_statement" => {
                // `while true; do cmd & done`: unbounded background spawning;
                // `while true; do x=$x$x; done`: memory doubled without end.
                let cond = node
                    .child_by_field_name("condition")
                    .map(|c| {
                        text_of(c, src)
                            .trim()
                            .trim_end_matches(';')
                            .trim()
                            .to_owned()
                    })
                    .unwrap_or_default();
                let forever = matches!(
                    cond.as_str(),
                    "true" | ":" | "false" | "[ 1 ]" | "[[ 1 ]]" | "((1))" | "(( 1 ))"
                );
                let body = node
                    .child_by_field_name("body")
                    .map(|b| text_of(b, src))
                    .unwrap_or("");
                let background = body.as_bytes().windows(3).any(|w| {
                    w[1] == b'&' && w[0] != b'&' && w[2] != b'&' && w[0] != b'>' && w[2] != b'>'
                });
                let start = self.out.len();
                let mut cursor = node.walk();
                let kids: Vec<Node<'_>> = node.named_children(&mut cursor).collect();
                for kid in kids {
                    self.visit(kid, src, ctx, depth, tdepth + 1);
                }
                if forever && (background || doubles_a_variable(body)) {
                    for e in &mut self.out[start..] {
                        e.tags.push("fork_loop".to_owned());
                    }
                }
                Output::default()
            }
            "for_statement" => {
                // Walk the body once per listed value (a few), with the variable set.
                let var = node
                    .child_by_field_name("variable")
                    .map(|n| text_of(n, src).to_owned());
                let mut cursor = node.walk();
                let values: Vec<Node<'_>> =
                    node.children_by_field_name("value", &mut cursor).collect();
                let mut words = Vec::new();
                for v in values {
                    let w = self.word(v, src, ctx, depth, tdepth + 1);
                    split_ifs(w, &mut words);
                }
                let body = node.child_by_field_name("body");
                let runs: Vec<String> = if words.is_empty() || words.len() > 4 {
                    vec![DYN.to_string()]
                } else {
                    words.into_iter().map(|w| w.text).collect()
                };
                if let (Some(var), Some(body)) = (var, body) {
                    for value in runs {
                        self.vars.insert(var.clone(), value);
                        self.visit(body, src, ctx, depth, tdepth + 1);
                    }
                }
                Output::default()
            }
            "function_definition" => {
                let name = node
                    .child_by_field_name("name")
                    .map(|n| text_of(n, src).to_owned());
                let mut c = ctx.clone();
                c.function = name.clone();
                if let Some(body) = node.child_by_field_name("body") {
                    if let Some(n) = name
                        && self.functions.len() < 64
                    {
                        self.functions.insert(n, text_of(body, src).to_owned());
                    }
                    self.visit(body, src, &c, depth, tdepth + 1);
                }
                Output::default()
            }
            "command_substitution" | "process_substitution" => {
                let mut c = Ctx {
                    via: ctx.via.clone(),
                    function: ctx.function.clone(),
                    ..Ctx::default()
                };
                c.via.push(if node.kind() == "command_substitution" {
                    "$(…)".to_owned()
                } else {
                    "<(…)".to_owned()
                });
                let mut last = Output::default();
                let mut cursor = node.walk();
                let kids: Vec<Node<'_>> = node.named_children(&mut cursor).collect();
                for kid in kids {
                    last = if kid.kind() == "file_redirect" {
                        self.read_file_subst(kid, src, &c, depth, tdepth + 1)
                    } else {
                        self.visit_out(kid, src, &c, depth, tdepth + 1)
                    };
                }
                last
            }
            "subshell" | "compound_statement" => {
                // A group: its output is the union of what runs inside.
                let start = self.out.len();
                let mut cursor = node.walk();
                let kids: Vec<Node<'_>> = node.named_children(&mut cursor).collect();
                let mut texts = Vec::new();
                for kid in kids {
                    let o = self.visit_out(kid, src, ctx, depth, tdepth + 1);
                    texts.push(o.text);
                }
                let producers = self.out[start..].iter().map(|e| e.name.clone()).collect();
                // Partial knowledge still shows what a consumer would run
                // (`{ crontab -l; echo "* * * * * evil"; } | crontab -`).
                let known: Vec<String> = texts.into_iter().flatten().collect();
                let text = if known.is_empty() {
                    None
                } else {
                    Some(known.join(""))
                };
                Output {
                    producers,
                    text,
                    ..Output::default()
                }
            }
            _ => {
                let mut cursor = node.walk();
                let kids: Vec<Node<'_>> = node.named_children(&mut cursor).collect();
                for kid in kids {
                    self.visit(kid, src, ctx, depth, tdepth + 1);
                }
                Output::default()
            }
        }
    }

    /// Runs the stages of a pipeline in order, each reading what the previous one wrote.
    pub(super) fn pipeline<S>(
        &mut self,
        stages: &[S],
        ctx: &Ctx,
        mut stage_out: impl FnMut(&mut Self, &S, &Ctx) -> Output,
    ) -> Output {
        let mut stdin = ctx.stdin.clone();
        let mut last = Output::default();
        for (i, stage) in stages.iter().enumerate() {
            // `ctx` with this stage's stdin (moved in, and back out after the stage).
            let mut c = Ctx {
                via: ctx.via.clone(),
                stdin: stdin.take(),
                redirects: ctx.redirects.clone(),
                function: ctx.function.clone(),
                extra_vars: ctx.extra_vars.clone(),
            };
            let start = self.out.len();
            let mut out = stage_out(self, stage, &c);
            if out.producers.is_empty() {
                // Shells and interpreters report no output of their own; what
                // they ran is what feeds the next stage.
                out.producers = self.out[start..].iter().map(|e| e.name.clone()).collect();
            }
            let upstream = c.stdin.take().unwrap_or_default();
            let mut producers = upstream.producers;
            producers.extend(out.producers.iter().cloned());
            let named = production_names(&self.out[start..], upstream.named);
            last = Output { producers, ..out };
            if i + 1 < stages.len() {
                let mut next = last.clone().into_stdin();
                next.named = named;
                stdin = Some(next);
            }
        }
        last
    }

    pub(super) fn assignment(
        &mut self,
        node: Node<'_>,
        src: &[u8],
        ctx: &Ctx,
        depth: usize,
        tdepth: usize,
    ) {
        let Some(name) = node.child_by_field_name("name") else {
            return;
        };
        let name = text_of(name, src).to_owned();
        let value = match node.child_by_field_name("value") {
            // `cmd=(rm -rf /)`: keep the elements apart so `"${cmd[@]}"` splits again.
            Some(v) if v.kind() == "array" => {
                let mut cursor = v.walk();
                let kids: Vec<Node<'_>> = v.named_children(&mut cursor).collect();
                let mut parts = Vec::new();
                for kid in kids {
                    parts.push(self.word(kid, src, ctx, depth, tdepth + 1).text);
                }
                self.vars.insert(name, parts.join(&IFS_SPLIT.to_string()));
                return;
            }
            Some(v) => {
                let w = self.word(v, src, ctx, depth, tdepth + 1);
                self.note_origins(&name, &w.vars);
                w.text
            }
            None => String::new(),
        };
        let value = value.replace(IFS_SPLIT, " ");
        if SENSITIVE_VARS.contains(&name.as_str()) {
            // Variables that make other programs load or run code.
            let e = Effective {
                name: "export".to_owned(),
                args: vec![Word::lit(format!("{name}={value}"))],
                via: ctx.via.clone(),
                tags: vec![format!("env:{name}")],
                ..Effective::default()
            };
            self.emit(e, ctx);
            if matches!(name.as_str(), "PROMPT_COMMAND" | "PS0" | "PS1" | "PS4") {
                let mut c = ctx.clone();
                c.via.push(name.clone());
                self.run_script(&value.replace(DYN, "$__lh_unknown"), &c, depth + 1);
            }
        }
        self.vars.insert(name, value);
    }

    pub(super) fn redirected(
        &mut self,
        node: Node<'_>,
        src: &[u8],
        ctx: &Ctx,
        depth: usize,
        tdepth: usize,
    ) -> Output {
        let mut c = ctx.clone();
        let mut after: Vec<Node<'_>> = Vec::new();
        let mut piped: Vec<Node<'_>> = Vec::new();
        let mut cursor = node.walk();
        let redirects: Vec<Node<'_>> = node
            .children_by_field_name("redirect", &mut cursor)
            .collect();
        for r in redirects.iter().copied() {
            match r.kind() {
                "heredoc_redirect" => {
                    let mut rc = r.walk();
                    let kids: Vec<Node<'_>> = r.named_children(&mut rc).collect();
                    for kid in kids {
                        match kid.kind() {
                            "heredoc_body" => {
                                c.stdin = Some(Stdin {
                                    producers: vec!["heredoc".to_owned()],
                                    text: Some(text_of(kid, src).to_owned()),
                                    ..Stdin::default()
                                });
                                // Expansions inside an unquoted heredoc still run.
                                self.visit(kid, src, ctx, depth, tdepth + 1);
                            }
                            "file_redirect" | "herestring_redirect" => {
                                if let Some(rd) = self.redirect(kid, src, ctx, depth, tdepth + 1) {
                                    c.redirects.push(rd);
                                }
                            }
                            "pipeline" => piped.push(kid),
                            "heredoc_start" | "heredoc_end" | "file_descriptor" => {}
                            _ => after.push(kid),
                        }
                    }
                }
                "herestring_redirect" => {
                    if let Some(arg) = r.named_child(0) {
                        let w = self.word(arg, src, ctx, depth, tdepth + 1);
                        c.stdin = Some(Stdin {
                            // `<<< "$(curl …)"`: what the substitution printed feeds stdin.
                            producers: std::iter::once("herestring".to_owned())
                                .chain(w.subst.iter().cloned())
                                .collect(),
                            text: Some(format!("{}\n", w.text)),
                            ..Stdin::default()
                        });
                    }
                }
                _ => {
                    if let Some(rd) = self.redirect(r, src, ctx, depth, tdepth + 1) {
                        let written = self.written(&rd);
                        c.add_redirect(rd, written.as_ref());
                    }
                }
            }
        }
        let mut out = match node.child_by_field_name("body") {
            Some(body) => self.visit_out(body, src, &c, depth, tdepth + 1),
            None => {
                // `> file` alone still truncates the file.
                let e = Effective {
                    name: ":".to_owned(),
                    via: ctx.via.clone(),
                    ..Effective::default()
                };
                self.emit(e, &c);
                Output::default()
            }
        };
        // `cat <<EOF | sh`: the grammar hangs the rest of the pipeline off the heredoc.
        for p in piped {
            let mut stages = Vec::new();
            if p.kind() == "pipeline" {
                let mut pc = p.walk();
                stages.extend(p.named_children(&mut pc));
            } else {
                stages.push(p);
            }
            for stage in stages {
                let mut sc = ctx.clone();
                let mut stdin = out.clone().into_stdin();
                if let Some(prev) = &ctx.stdin {
                    let mut producers = prev.producers.clone();
                    producers.append(&mut stdin.producers);
                    stdin.producers = producers;
                }
                sc.stdin = Some(stdin);
                let o = self.visit_out(stage, src, &sc, depth, tdepth + 1);
                let mut producers = out.producers.clone();
                producers.extend(o.producers.iter().cloned());
                out = Output { producers, ..o };
            }
        }
        for a in after {
            self.visit(a, src, ctx, depth, tdepth + 1);
        }
        out
    }

    /// `$(< file)`: prints the file, as `$(cat file)` does.
    fn read_file_subst(
        &mut self,
        node: Node<'_>,
        src: &[u8],
        ctx: &Ctx,
        depth: usize,
        tdepth: usize,
    ) -> Output {
        let Some(rd) = self.redirect(node, src, ctx, depth, tdepth) else {
            return Output::default();
        };
        if rd.kind != RedirectKind::Read {
            return Output::default();
        }
        let text = self.written_text(&rd.target.text);
        let e = Effective {
            name: "cat".to_owned(),
            args: vec![rd.target.clone()],
            via: ctx.via.clone(),
            ..Effective::default()
        };
        self.emit(e, ctx);
        Output {
            producers: vec!["cat".to_owned()],
            text,
            paths: vec![rd.target],
            items: None,
        }
    }

    pub(super) fn redirect(
        &mut self,
        node: Node<'_>,
        src: &[u8],
        ctx: &Ctx,
        depth: usize,
        tdepth: usize,
    ) -> Option<Redirect> {
        if node.kind() != "file_redirect" {
            return None;
        }
        let mut op = String::new();
        let mut cursor = node.walk();
        for kid in node.children(&mut cursor) {
            if !kid.is_named() {
                op.push_str(text_of(kid, src));
            }
        }
        let dest = node.child_by_field_name("destination")?;
        let target = self.word(dest, src, ctx, depth, tdepth + 1);
        let kind = redirect_kind(&op, &target.text);
        Some(Redirect { kind, target })
    }
}

/// How a redirect with operator `op` (its unnamed tokens, descriptor left out) moves
/// data to or from `target`.
pub(super) fn redirect_kind(op: &str, target: &str) -> RedirectKind {
    if op.contains(">&") && target.chars().all(|c| c.is_ascii_digit() || c == '-')
        || op.contains("<&")
    {
        RedirectKind::Dup
    } else if op.contains(">>") {
        RedirectKind::Append
    } else if op.contains('>') {
        RedirectKind::Write
    } else {
        RedirectKind::Read
    }
}

/// Whether a loop body doubles a variable (`x=$x$x`, `x="${x}${x}"`, `x+=$x`): memory
/// that grows exponentially each time round.
fn doubles_a_variable(body: &str) -> bool {
    body.split([';', '\n', '&', '|']).any(|stmt| {
        let stmt = stmt.trim();
        let stmt = stmt.strip_prefix("do").map_or(stmt, str::trim_start);
        let stmt = ["export ", "local ", "declare "]
            .iter()
            .find_map(|p| stmt.strip_prefix(p))
            .unwrap_or(stmt)
            .trim_start();
        let Some((name, value)) = stmt.split_once('=') else {
            return false;
        };
        let (name, append) = match name.strip_suffix('+') {
            Some(n) => (n, true),
            None => (name, false),
        };
        if name.is_empty()
            || name.starts_with(|c: char| c.is_ascii_digit())
            || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return false;
        }
        let uses = value
            .match_indices('$')
            .filter(|(i, _)| {
                let rest = &value[i + 1..];
                let rest = rest.strip_prefix('{').unwrap_or(rest);
                rest.strip_prefix(name).is_some_and(|after| {
                    !after.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
                })
            })
            .count();
        uses >= 2 || (append && uses >= 1)
    })
}

#[cfg(test)]
mod tests {
    use super::doubles_a_variable;

    #[test]
    fn a_variable_doubled_in_a_loop_body() {
        for body in [
            "do x=$x$x; done",
            "do x=\"${x}${x}\"; done",
            "do s+=$s; done",
            "do export big=$big$big; echo hi; done",
        ] {
            assert!(doubles_a_variable(body), "{body}");
        }
        for body in [
            "do x=$x.; done",
            "do x=$xy$x; done",
            "do n=$((n+1)); done",
            "do sleep 1; done",
            "do s+=.; done",
        ] {
            assert!(!doubles_a_variable(body), "{body}");
        }
    }
}
