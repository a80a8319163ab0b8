//! Words: quote removal and the expansions we can do (`~`, `$HOME`, variables
//! assigned earlier, `${X:-default}`, substitutions with known output).

use super::*;

impl Walker<'_> {
    /// Resolves one word node to text, walking any substitutions inside it.
    pub(super) fn word(
        &mut self,
        node: Node<'_>,
        src: &[u8],
        ctx: &Ctx,
        depth: usize,
        tdepth: usize,
    ) -> Word {
        let mut w = Word::default();
        self.word_into(node, src, ctx, depth, tdepth, false, &mut w);
        w
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn word_into(
        &mut self,
        node: Node<'_>,
        src: &[u8],
        ctx: &Ctx,
        depth: usize,
        tdepth: usize,
        quoted: bool,
        w: &mut Word,
    ) {
        if self.stopped() || tdepth > MAX_TREE_DEPTH {
            self.bound("word nested deeper than the bound");
            w.text.push(DYN);
            return;
        }
        self.nodes += 1;
        if node.is_error() || node.is_missing() {
            self.parse_error = true;
        }
        match node.kind() {
            "word" | "number" if node.named_child_count() == 0 => {
                let raw = text_of(node, src);
                let text = unescape_word(raw, quoted);
                if raw.contains('$') && !raw.contains("\\$") {
                    // The grammar sometimes leaves `$IFS/` inside a plain word.
                    w.text.push_str(&self.expand_inline(&text, quoted));
                } else {
                    w.text.push_str(&text);
                }
            }
            "raw_string" => {
                let raw = text_of(node, src);
                w.text.push_str(
                    raw.strip_prefix('\'')
                        .unwrap_or(raw)
                        .strip_suffix('\'')
                        .unwrap_or(raw),
                );
            }
            "ansi_c_string" => {
                let raw = text_of(node, src);
                let inner = raw
                    .strip_prefix("$'")
                    .and_then(|r| r.strip_suffix('\''))
                    .unwrap_or(raw);
                w.text.push_str(&ansi_c(inner));
            }
            "string_content" | "heredoc_content" => {
                w.text.push_str(&unescape_dquoted(text_of(node, src)));
            }
            "string" | "translated_string" => {
                let mut cursor = node.walk();
                let kids: Vec<Node<'_>> = node.named_children(&mut cursor).collect();
                // The grammar leaves some text between children unnamed: copy the gaps.
                let mut pos = node.start_byte() + if node.kind() == "string" { 1 } else { 2 };
                let end = node.end_byte().saturating_sub(1);
                for kid in kids {
                    if kid.start_byte() > pos {
                        let gap = src.get(pos..kid.start_byte()).unwrap_or_default();
                        w.text
                            .push_str(&unescape_dquoted(&String::from_utf8_lossy(gap)));
                    }
                    self.word_into(kid, src, ctx, depth, tdepth + 1, true, w);
                    pos = kid.end_byte();
                }
                if end > pos {
                    let gap = src.get(pos..end).unwrap_or_default();
                    w.text
                        .push_str(&unescape_dquoted(&String::from_utf8_lossy(gap)));
                }
            }
            "simple_expansion" | "expansion" => {
                let (name, plain) = expansion_name(node, src);
                match self.lookup(&name) {
                    Some(v) if plain => {
                        w.text.push_str(&expanded(&name, &v, quoted));
                        if let Some(o) = self.origins.get(&name) {
                            w.vars.extend(o.iter().cloned());
                        }
                    }
                    // `${HOME:?}`, `${HOME%/}`, `${HOME:-/x}`: the value, maybe trimmed.
                    Some(v)
                        if let Some(r) = text_of(node, src)
                            .strip_prefix("${")
                            .and_then(|r| r.strip_suffix('}'))
                            .and_then(|r| r.get(name.len()..))
                            .filter(|_| !name.is_empty())
                            .and_then(|op| param_op(&v, op)) =>
                    {
                        w.text.push_str(&expanded(&name, &r, quoted));
                        if let Some(o) = self.origins.get(&name) {
                            w.vars.extend(o.iter().cloned());
                        }
                    }
                    _ => {
                        // Walk inside for substitutions (`${x:-$(cmd)}`).
                        let mut default: Option<String> = None;
                        let mut cursor = node.walk();
                        let kids: Vec<Node<'_>> = node.named_children(&mut cursor).collect();
                        for kid in kids {
                            if kid.kind() != "variable_name" {
                                let mut scratch = Word::default();
                                self.word_into(
                                    kid,
                                    src,
                                    ctx,
                                    depth,
                                    tdepth + 1,
                                    true,
                                    &mut scratch,
                                );
                                w.subst.append(&mut scratch.subst);
                                w.inputs.append(&mut scratch.inputs);
                                // `${X:-default}`: assume the default when X is unknown.
                                if default.is_none() {
                                    default = Some(scratch.text);
                                }
                            }
                        }
                        if !name.is_empty() {
                            w.vars.push(name.clone());
                        }
                        let raw = text_of(node, src);
                        match default {
                            Some(d) if default_operator(raw, &name) => w.text.push_str(&d),
                            _ => w.text.push(DYN),
                        }
                    }
                }
            }
            "command_substitution" | "process_substitution" => {
                let start = self.out.len();
                let out = self.visit_out(node, src, ctx, depth, tdepth + 1);
                let names: Vec<String> = self.out[start..].iter().map(|e| e.name.clone()).collect();
                // `tee >(sh)`, `> >(bash)`: what the outer command writes is this stdin.
                if text_of(node, src).starts_with(">(") {
                    for e in &mut self.out[start..] {
                        e.tags.push("output_procsub".to_owned());
                    }
                }
                if let [one] = &self.out[start..]
                    && shell_setup(one)
                {
                    w.init += 1;
                }
                w.subst.extend(names);
                w.named = production_names(&self.out[start..], std::mem::take(&mut w.named));
                w.inputs.extend(out.paths.iter().map(|p| p.text.clone()));
                match out.text {
                    Some(t) if node.kind() == "command_substitution" => {
                        w.text.push_str(t.trim_end_matches('\n'))
                    }
                    Some(t) => {
                        w.fed = Some(t);
                        w.text.push(DYN);
                    }
                    // A listing of one kind of file (`$(find . -name '*.env')`, `$(ls
                    // ~/.ssh)`) stands for the files listed: `./*.env`, `~/.ssh/*`.
                    None if node.kind() == "command_substitution" => match out.items.as_deref() {
                        Some([one]) => w.text.push_str(&one.text),
                        _ => w.text.push(DYN),
                    },
                    None => w.text.push(DYN),
                }
            }
            "concatenation" | "command_name" => {
                let mut cursor = node.walk();
                let kids: Vec<Node<'_>> = node.named_children(&mut cursor).collect();
                let mut pos = node.start_byte();
                for kid in kids {
                    // Unnamed pieces between children (a bare `$`, braces) are literal.
                    if kid.start_byte() > pos {
                        let gap = src.get(pos..kid.start_byte()).unwrap_or_default();
                        w.text
                            .push_str(&unescape_word(&String::from_utf8_lossy(gap), quoted));
                    }
                    self.word_into(kid, src, ctx, depth, tdepth + 1, quoted, w);
                    pos = kid.end_byte();
                }
                if node.end_byte() > pos {
                    let gap = src.get(pos..node.end_byte()).unwrap_or_default();
                    w.text
                        .push_str(&unescape_word(&String::from_utf8_lossy(gap), quoted));
                }
            }
            "arithmetic_expansion" => {
                let mut scratch = Word::default();
                let mut cursor = node.walk();
                let kids: Vec<Node<'_>> = node.named_children(&mut cursor).collect();
                for kid in kids {
                    self.word_into(kid, src, ctx, depth, tdepth + 1, true, &mut scratch);
                }
                w.subst.append(&mut scratch.subst);
                w.text.push(DYN);
            }
            "brace_expression" => w.text.push_str(text_of(node, src)),
            _ => {
                // Anything else (arrays, test expressions): keep the text, walk for code.
                let mut cursor = node.walk();
                let kids: Vec<Node<'_>> = node.named_children(&mut cursor).collect();
                if kids.is_empty() {
                    w.text.push_str(&unescape_word(text_of(node, src), quoted));
                } else {
                    for kid in kids {
                        self.word_into(kid, src, ctx, depth, tdepth + 1, quoted, w);
                    }
                }
            }
        }
    }

    /// Expands `$NAME` and `${NAME}` found inside text the grammar did not split.
    pub(super) fn expand_inline(&self, text: &str, quoted: bool) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(p) = rest.find('$') {
            out.push_str(&rest[..p]);
            let after = &rest[p + 1..];
            let (name, used) = if let Some(b) = after.strip_prefix('{') {
                match b.find('}') {
                    Some(e) => (&b[..e], e + 2),
                    None => ("", 0),
                }
            } else {
                let n = after
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(after.len());
                (&after[..n], n)
            };
            if name.is_empty() {
                out.push('$');
                rest = after;
                continue;
            }
            match self.lookup(name) {
                Some(_) if name == "IFS" && !quoted => out.push(IFS_SPLIT),
                Some(v) => out.push_str(&v),
                None => out.push(DYN),
            }
            rest = &after[used..];
        }
        out.push_str(rest);
        out
    }

    /// The word a plain `$NAME` (quoted or not) expands to, as [`Walker::word_into`]
    /// expands such a node (for the plain-line fast path).
    pub(super) fn plain_expansion(&self, name: &str, quoted: bool) -> Word {
        let mut w = Word::default();
        match self.lookup(name) {
            Some(v) => {
                w.text.push_str(&expanded(name, &v, quoted));
                if let Some(o) = self.origins.get(name) {
                    w.vars.extend(o.iter().cloned());
                }
            }
            None => {
                w.vars.push(name.to_owned());
                w.text.push(DYN);
            }
        }
        w
    }

    pub(super) fn lookup(&self, name: &str) -> Option<String> {
        if let Some(v) = self.vars.get(name) {
            return Some(v.clone());
        }
        match name {
            "HOME" => Some(self.env.home.unwrap_or("~").to_owned()),
            // A shell all the same (`curl … | "$SHELL"`).
            "SHELL" => Some("/bin/sh".to_owned()),
            "PWD" => Some(self.env.cwd.to_owned()),
            "IFS" => Some(" ".to_owned()),
            "USER" | "LOGNAME" => self
                .env
                .home
                .and_then(|h| h.rsplit('/').find(|s| !s.is_empty()))
                .map(str::to_owned),
            "TMPDIR" => Some("/tmp".to_owned()),
            _ => None,
        }
    }
}

/// What a known variable's value becomes in a word: unquoted, split into fields
/// (`x='rm -rf /'; $x`); an unquoted `$IFS` is a field separator.
fn expanded(name: &str, value: &str, quoted: bool) -> String {
    if name == "IFS" && !quoted {
        IFS_SPLIT.to_string()
    } else if !quoted {
        value.replace([' ', '\t', '\n'], &IFS_SPLIT.to_string())
    } else {
        value.to_owned()
    }
}

/// A command whose output is shell set-up code from a known tool (`eval "$(ssh-agent
/// -s)"`, `eval "$(direnv hook bash)"`): the environment, prompt or completions.
fn shell_setup(e: &Effective) -> bool {
    let arg = |i: usize| e.args.get(i).map_or("", |w| w.text.as_str());
    match e.name.as_str() {
        "ssh-agent" | "dircolors" => e.args.iter().all(|a| a.text.starts_with('-')),
        "direnv" => arg(0) == "hook",
        "pyenv" | "rbenv" | "nodenv" | "goenv" | "jenv" | "plenv" | "pyenv-virtualenv" => {
            matches!(arg(0), "init" | "virtualenv-init")
        }
        "starship" | "zoxide" | "atuin" | "mcfly" | "oh-my-posh" => arg(0) == "init",
        "mise" | "rtx" => arg(0) == "activate",
        "brew" => arg(0) == "shellenv",
        "fnm" | "opam" => arg(0) == "env",
        "conda" | "micromamba" => arg(0).starts_with("shell.") && arg(1) == "hook",
        "keychain" => e.args.iter().any(|a| a.text == "--eval"),
        "kubectl" | "helm" | "gh" | "rustup" | "npm" | "pnpm" | "uv" | "poetry" => {
            arg(0) == "completion" || (arg(0) == "generate-shell-completion")
        }
        _ => false,
    }
}
