//! One command node: its words evaluated, then emitted as an effective command, and
//! what it leaves behind for later commands of the line (`cd`, files written, a
//! context switched, functions called).

use super::*;

impl Walker<'_> {
    /// A `command` node: evaluate its words, then peel wrappers.
    pub(super) fn command(
        &mut self,
        node: Node<'_>,
        src: &[u8],
        ctx: &Ctx,
        depth: usize,
        tdepth: usize,
    ) -> Output {
        if node.kind() == "ERROR" {
            // The opening brace may sit just outside the error node (`{rm,-rf,/}`).
            let start = node.start_byte();
            let start = if start > 0 && src.get(start - 1) == Some(&b'{') {
                start - 1
            } else {
                start
            };
            let raw = src
                .get(start..node.end_byte())
                .and_then(|b| std::str::from_utf8(b).ok())
                .unwrap_or("")
                .trim();
            if raw.starts_with('{') && raw.ends_with('}') && raw.contains(',') {
                let argv: Vec<Word> = brace_expand(&unescape_word(raw, false))
                    .into_iter()
                    .map(Word::lit)
                    .collect();
                return self.resolve(argv, ctx, depth);
            }
        }
        let mut c = ctx.clone();
        let mut argv: Vec<Word> = Vec::new();
        let mut cursor = node.walk();
        // Field names via the cursor: asking the node per child index is quadratic.
        let kids: Vec<(Option<&str>, Node<'_>)> = {
            let mut v = Vec::new();
            if cursor.goto_first_child() {
                loop {
                    v.push((cursor.field_name(), cursor.node()));
                    if !cursor.goto_next_sibling() {
                        break;
                    }
                }
            }
            v
        };
        for (field, kid) in kids {
            if !kid.is_named() {
                continue;
            }
            match (field, kid.kind()) {
                (_, "variable_assignment") => {
                    if let (Some(n), v) = (
                        kid.child_by_field_name("name"),
                        kid.child_by_field_name("value"),
                    ) {
                        let name = text_of(n, src).to_owned();
                        let value = match v {
                            Some(v) => {
                                let w = self.word(v, src, ctx, depth, tdepth + 1);
                                self.note_origins(&name, &w.vars);
                                w.text
                            }
                            None => String::new(),
                        };
                        c.extra_vars.push((name, value));
                    }
                }
                (_, "file_redirect") => {
                    if let Some(rd) = self.redirect(kid, src, ctx, depth, tdepth + 1) {
                        let written = self.written(&rd);
                        c.add_redirect(rd, written.as_ref());
                    }
                }
                (_, "herestring_redirect") => {
                    if let Some(arg) = kid.named_child(0) {
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
                (_, "heredoc_redirect") => {}
                (_, "comment") => {}
                (_, "subshell") => {
                    self.visit(kid, src, ctx, depth, tdepth + 1);
                }
                _ => {
                    let mut w = self.word(kid, src, ctx, depth, tdepth + 1);
                    let raw = text_of(kid, src);
                    // An unquoted substitution's output is split into words
                    // (`$(printf 'rm -rf /')` runs `rm` with two arguments).
                    if !raw.starts_with(['"', '\''])
                        && !raw.starts_with("$'")
                        && (raw.contains("$(") || raw.contains('`'))
                        && w.text.contains([' ', '\t', '\n'])
                    {
                        w.text = w
                            .text
                            .trim()
                            .replace([' ', '\t', '\n'], &IFS_SPLIT.to_string());
                    }
                    if unquoted_braces(raw) {
                        for x in brace_expand(&w.text) {
                            split_ifs(
                                Word {
                                    text: x,
                                    ..w.clone()
                                },
                                &mut argv,
                            );
                        }
                    } else {
                        split_ifs(w, &mut argv);
                    }
                }
            }
        }
        if lone_dash_before_heredoc(&src[node.end_byte().min(src.len())..]) {
            argv.push(Word::lit("-"));
        }
        self.run_argv(argv, c, ctx, depth)
    }

    /// Runs a command's evaluated words: `c` is `ctx` with the command's own assignments
    /// and redirects.
    pub(super) fn run_argv(
        &mut self,
        argv: Vec<Word>,
        mut c: Ctx,
        ctx: &Ctx,
        depth: usize,
    ) -> Output {
        if argv.is_empty() {
            return Output::default();
        }
        // `printf -v VAR FORMAT ARGS`: assigns instead of printing.
        if argv.len() >= 4 && argv[0].text == "printf" && argv[1].text == "-v" {
            let mut fmt = ansi_c(&argv[3].text);
            for a in &argv[4..] {
                if let Some(p) = fmt.find("%s") {
                    fmt.replace_range(p..p + 2, &a.text);
                }
            }
            self.vars.insert(argv[2].text.clone(), fmt);
        }
        if let Some(f) = &ctx.function
            && argv.first().is_some_and(|w| &w.text == f)
        {
            c.stdin = None;
            let start = self.out.len();
            self.resolve(argv, &c, depth);
            for e in &mut self.out[start..] {
                e.tags.push("self_recursive_function".to_owned());
            }
            return Output::default();
        }
        self.resolve(argv, &c, depth)
    }

    pub(super) fn emit(&mut self, mut e: Effective, ctx: &Ctx) {
        if self.out.len() >= MAX_COMMANDS {
            self.bound("more commands than the bound");
            return;
        }
        e.redirects.extend(ctx.redirects.iter().cloned());
        if self.inert(&e) {
            return;
        }
        self.through_links(&mut e);
        if e.cwd.is_none() {
            e.cwd = self.cwd.clone();
        }
        // Sorted: a map's order differs from process to process, and the reason names
        // the first selector, so the hook, `check` and validators would disagree.
        let mut set: Vec<(&String, &String)> = (self.vars.iter())
            .filter(|(k, _)| crate::targets::is_selector_var(k))
            .collect();
        set.sort_unstable();
        for (k, v) in ctx.extra_vars.iter().map(|(k, v)| (k, v)).chain(set) {
            if crate::targets::is_selector_var(k) && !e.env.iter().any(|(x, _)| x == k) {
                e.env.push((k.clone(), v.clone()));
            }
        }
        // An unknown value keeps the names it came from (`$PROD_DATABASE_URL`).
        for (k, v) in &mut e.env {
            if let Some(o) = self.origins.get(k.as_str())
                && v.contains(DYN)
            {
                v.push_str(&format!(" ${}", o.join(" $")));
            }
        }
        // `XDG_STATE_HOME=… claude`, `export HOME=…; codex exec …`: where an agent client
        // (and the hook it runs) finds its settings and the guard's state (D10). Set on
        // the command or anywhere earlier in the line.
        for k in AGENT_HOME_VARS {
            if (e.env.iter().chain(&ctx.extra_vars)).any(|(x, _)| x == k)
                || self.vars.contains_key(*k)
            {
                e.tags.push(format!("env:{k}"));
            }
        }
        self.context_switch(&e);
        if matches!(e.name.as_str(), "cd" | "pushd" | "chdir") {
            self.change_dir(&e);
        }
        let to_files = e.name == "tee"
            || (e.redirects.iter())
                .any(|r| matches!(r.kind, RedirectKind::Write | RedirectKind::Append));
        if to_files {
            e.printed = self.output_of(&e).text;
        }
        self.record_writes(&e);
        self.record_links(&e);
        self.out.push(e);
    }

    /// Records the unknown variables `name`'s new value came from (or that it has none).
    pub(super) fn note_origins(&mut self, name: &str, vars: &[String]) {
        if vars.is_empty() {
            self.origins.remove(name);
        } else {
            let mut o = vars.to_vec();
            o.truncate(8);
            self.origins.insert(name.to_owned(), o);
        }
    }

    /// Remembers a target switched earlier in the chain (`kubectl config use-context X`,
    /// `terraform workspace select X`, `gcloud config set project X`): later commands
    /// act on it.
    pub(super) fn context_switch(&mut self, e: &Effective) {
        // Runs at every emitted command: look at the words only for these tools.
        if !matches!(
            e.name.as_str(),
            "kubectl" | "terraform" | "tofu" | "gcloud" | "pulumi" | "kubectx" | "docker" | "az"
        ) {
            return;
        }
        let a: Vec<&str> = e.args.iter().map(|w| w.text.as_str()).collect();
        let target = match (e.name.as_str(), a.as_slice()) {
            ("kubectl", ["config", "use-context", x, ..]) => Some(("LH_CONTEXT_KUBE", *x)),
            ("terraform" | "tofu", ["workspace", "select" | "new", x, ..]) => {
                Some(("LH_CONTEXT_TF", *x))
            }
            ("gcloud", ["config", "set", "project", x, ..]) => Some(("LH_CONTEXT_GCLOUD", *x)),
            ("pulumi", ["stack", "select", x, ..]) => Some(("LH_CONTEXT_PULUMI", *x)),
            // `kubectx NAME` switches the kube context; `kubectx -` and options do not name one.
            ("kubectx", [x]) if !x.starts_with('-') => Some(("LH_CONTEXT_KUBE", *x)),
            ("docker", ["context", "use", x, ..]) => Some(("LH_CONTEXT_DOCKER", *x)),
            (
                "az",
                [
                    "account",
                    "set",
                    "--subscription" | "-s" | "--name" | "-n",
                    x,
                    ..,
                ],
            ) => Some(("LH_CONTEXT_AZURE", *x)),
            _ => None,
        };
        if let Some((k, v)) = target {
            self.vars.insert(k.to_owned(), v.to_owned());
        }
    }

    /// What a `< file` redirect reads, when this line wrote the file.
    pub(super) fn written(&self, rd: &Redirect) -> Option<Written> {
        if rd.kind != RedirectKind::Read {
            return None;
        }
        self.written_file(&rd.target.text).cloned()
    }

    /// The file at `path`, when this line wrote it.
    pub(super) fn written_file(&self, path: &str) -> Option<&Written> {
        let key = self.file_key(path)?;
        self.files.get(&key).or_else(|| self.cloned_file(&key))
    }

    /// Absolute form of a literal path, for matching files across commands.
    pub(super) fn file_key(&self, text: &str) -> Option<String> {
        if text.is_empty() || text.contains(DYN) {
            return None;
        }
        if text.starts_with('/') {
            return Some(text.to_owned());
        }
        let cwd = self.cwd.as_deref().unwrap_or(self.env.cwd);
        Some(format!(
            "{}/{}",
            cwd.trim_end_matches('/'),
            text.trim_start_matches("./")
        ))
    }

    pub(super) fn record_writes(&mut self, e: &Effective) {
        if self.files.len() > 64 {
            return;
        }
        self.record_fetches(e);
        let mut targets: Vec<(String, Written)> = Vec::new();
        // Files that get what the command prints (`> f`, `>> f`), and those `tee` copies
        // its input into (the same text: it prints its input too).
        let redirected = e
            .redirects
            .iter()
            .filter(|r| matches!(r.kind, RedirectKind::Write | RedirectKind::Append))
            .map(|r| &r.target);
        let teed = e
            .args
            .iter()
            .filter(|w| e.name == "tee" && !w.text.starts_with('-'));
        let printed_to: Vec<String> = redirected
            .chain(teed)
            .filter_map(|w| self.file_key(&w.text))
            .collect();
        if !printed_to.is_empty() {
            let mut producers = e
                .stdin
                .as_ref()
                .map(|s| s.producers.clone())
                .unwrap_or_default();
            producers.push(e.name.clone());
            let written = Written {
                text: e.printed.clone(),
                producers,
            };
            targets.extend(printed_to.into_iter().map(|k| (k, written.clone())));
        }
        // Downloads: `curl -o f URL`, `wget -O f URL`, `wget URL` (saves the last segment).
        if matches!(e.name.as_str(), "curl" | "wget") {
            let mut it = e.args.iter().peekable();
            let mut saved: Option<String> = None;
            let mut url: Option<&str> = None;
            while let Some(w) = it.next() {
                let t = w.text.as_str();
                if matches!(t, "--output" | "--output-document") {
                    saved = it.peek().map(|n| n.text.clone());
                } else if let Some(attached) = short_output(&e.name, t) {
                    // `-o f`, `-sSLo f`, `-Lof`: the output option ends a cluster or
                    // takes the rest of it.
                    saved = match attached {
                        Some(v) => Some(v.to_owned()),
                        None => it.peek().map(|n| n.text.clone()),
                    };
                } else if let Some(v) = t
                    .strip_prefix("--output=")
                    .or_else(|| t.strip_prefix("--output-document="))
                {
                    saved = Some(v.to_owned());
                } else if t.contains("://") {
                    url = Some(t);
                }
            }
            let name = saved.or_else(|| {
                url.and_then(|u| u.split(['?', '#']).next())
                    .and_then(|u| u.rsplit('/').next())
                    .filter(|s| !s.is_empty() && !s.contains(':'))
                    .map(str::to_owned)
            });
            if let Some(k) = name.and_then(|n| self.file_key(&n)) {
                targets.push((
                    k,
                    Written {
                        text: None,
                        producers: vec![e.name.clone()],
                    },
                ));
            }
        }
        for (k, w) in targets {
            self.files.insert(k, w);
        }
    }

    /// Follows `cd` so later relative paths resolve where they will really land.
    pub(super) fn change_dir(&mut self, e: &Effective) {
        let target = e
            .args
            .iter()
            .find(|w| !w.text.starts_with('-') || w.text == "-");
        let current = self.cwd.clone().unwrap_or_else(|| self.env.cwd.to_owned());
        let home = self.env.home.unwrap_or("/home/~").to_owned();
        let next = match target.map(|w| w.text.as_str()) {
            None | Some("~") => home,
            Some("-") => DYN.to_string(),
            Some(t) if t.contains(DYN) => DYN.to_string(),
            Some(t) if t.starts_with('/') => t.to_owned(),
            Some(t) if t.starts_with("~/") => format!("{home}{}", &t[1..]),
            Some(_) if current.contains(DYN) => current.clone(),
            Some(t) => format!("{}/{t}", current.trim_end_matches('/')),
        };
        self.cwd = Some(next);
    }

    /// Walks a function's body with the call's arguments bound to `$@`, `$1` ….
    pub(super) fn call_function(
        &mut self,
        name: String,
        body: String,
        args: &[Word],
        ctx: &Ctx,
        mut via: Vec<String>,
        depth: usize,
    ) -> Output {
        self.calls += 1;
        // The caller's positional parameters, set aside (all of them: those this call
        // does not set are unset inside it) and put back afterwards.
        let saved = self.take_positionals();
        self.set_positionals(args);
        via.push(format!("{name}()"));
        self.calling.push(name);
        let c = Ctx {
            via,
            function: None,
            ..ctx.clone()
        };
        self.run_script(&body, &c, depth + 1);
        self.calling.pop();
        self.restore_positionals(saved);
        Output::default()
    }

    /// Removes the positional parameters, returning them for [`Self::restore_positionals`].
    pub(super) fn take_positionals(&mut self) -> Vec<Option<String>> {
        POSITIONAL.iter().map(|k| self.vars.remove(*k)).collect()
    }

    pub(super) fn restore_positionals(&mut self, saved: Vec<Option<String>>) {
        for (k, v) in POSITIONAL.iter().zip(saved) {
            match v {
                Some(v) => self.vars.insert((*k).to_owned(), v),
                None => self.vars.remove(*k),
            };
        }
    }

    /// Binds `$@`, `$*`, `$#`, `$1` … to `args` (a function call, `set -- ARGS`).
    pub(super) fn set_positionals(&mut self, args: &[Word]) {
        for k in POSITIONAL {
            self.vars.remove(k);
        }
        let all = args
            .iter()
            .map(|w| w.text.as_str())
            .collect::<Vec<_>>()
            .join(&IFS_SPLIT.to_string());
        self.vars.insert("@".to_owned(), all.clone());
        self.vars.insert("#".to_owned(), args.len().to_string());
        self.vars.insert("*".to_owned(), all);
        for (k, a) in POSITIONAL[3..].iter().zip(args) {
            self.vars.insert((*k).to_owned(), a.text.clone());
        }
    }
}

/// The positional parameters a function call or `set --` binds.
const POSITIONAL: [&str; 12] = ["@", "#", "*", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

/// Whether the source after a command is a lone `-` and then a heredoc: the grammar
/// leaves that `-` out of the tree (`make -f - <<EOF`, `cat - <<EOF`), yet it is the
/// command's last argument ("read standard input").
fn lone_dash_before_heredoc(after: &[u8]) -> bool {
    let rest = after.trim_ascii_start();
    let Some(rest) = rest.strip_prefix(b"-") else {
        return false;
    };
    rest.first().is_some_and(u8::is_ascii_whitespace)
        && rest.trim_ascii_start().starts_with(b"<<")
        && !rest.trim_ascii_start().starts_with(b"<<<")
}

/// In a short-option cluster of curl or wget, the output-file option (`o` / `O`) when it
/// is the first option taking a value: `Some(Some(rest))` when the file is attached
/// (`-ofile`), `Some(None)` when it is the next word.
fn short_output<'t>(cmd: &str, t: &'t str) -> Option<Option<&'t str>> {
    let cluster = t.strip_prefix('-').filter(|c| !c.starts_with('-'))?;
    let (out, takes) = match cmd {
        "curl" => ('o', "odHXuAebcxKwmrETFCDUYyzQ"),
        "wget" => ('O', "OoPtTwUeiaBQlARDXI"),
        _ => return None,
    };
    let (i, c) = cluster.char_indices().find(|(_, c)| takes.contains(*c))?;
    if c != out {
        return None;
    }
    let rest = &cluster[i + 1..];
    Some((!rest.is_empty()).then_some(rest))
}

/// Whether a word has a brace list outside quotes (`{a,b}`, `"$PWD"/{.,}*`): the shell
/// expands it; a quoted one (`'{a,b}'`) is text.
fn unquoted_braces(raw: &str) -> bool {
    let mut quote: Option<char> = None;
    let (mut open, mut comma) = (false, false);
    for c in raw.chars() {
        match (quote, c) {
            (Some(q), _) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '{') => open = true,
            (None, ',') if open => comma = true,
            _ => {}
        }
    }
    open && comma
}
