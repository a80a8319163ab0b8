//! Shell normalisation: from a command string to the commands that would really run.
//!
//! The command is parsed with tree-sitter-bash and walked: pipelines, lists, subshells,
//! command and process substitutions, redirects, heredocs and here-strings. Wrappers
//! (`sudo`, `env`, `timeout`, `xargs`, `find -exec`, …) are peeled off, and code handed to
//! another shell (`bash -c`, `eval`, a heredoc or pipe into `sh`) is parsed again, up to
//! [`MAX_DEPTH`] levels. Words are resolved as far as the text allows: quotes and escapes
//! removed, `~`, `$HOME`, `${HOME}`, `$PWD` and variables assigned earlier in the same
//! command substituted. What cannot be known is kept as a [`DYN`] marker so the path
//! classifier can assume the worst.

use crate::interp;
use std::cell::RefCell;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tree_sitter::{Node, Parser};

/// Stands for text that cannot be known before run time (`$VAR`, `$(…)`).
pub const DYN: char = '\u{1}';
/// Field separator produced by an unquoted `$IFS`; words are split on it.
const IFS_SPLIT: char = '\u{2}';

/// Longest command string we parse; longer ones are escalated unparsed.
pub const MAX_INPUT: usize = 64 * 1024;
/// Deepest bracket/quote nesting we parse (keeps every recursive walk shallow).
pub const MAX_NESTING: usize = 64;
/// How many times code may be handed to another shell or interpreter.
pub const MAX_DEPTH: usize = 6;
/// Most effective commands one call may expand to.
pub const MAX_COMMANDS: usize = 256;
/// Most syntax nodes visited per call, over all re-parses.
pub const MAX_NODES: usize = 20_000;
/// Deepest syntax tree we walk.
const MAX_TREE_DEPTH: usize = 200;
/// Parse time budget per call.
const PARSE_BUDGET: Duration = Duration::from_millis(20);
/// Whole-analysis time budget per call (parses included).
const WALK_BUDGET: Duration = Duration::from_millis(50);

/// One word of a command after quote removal and the expansion we can do.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Word {
    /// The text; unknown parts are [`DYN`].
    pub text: String,
    /// Names of the commands whose output makes up part of this word (`$(…)`, `<(…)`).
    pub subst: Vec<String>,
    /// Paths those commands read (`$(cat ~/.ssh/id_rsa)` carries the key into the word).
    pub inputs: Vec<String>,
    /// Variables that could not be resolved (`$GITHUB_TOKEN`).
    pub vars: Vec<String>,
    /// What a process substitution in this word provides, when known (`<(echo …)`).
    pub fed: Option<String>,
}

impl Word {
    pub fn lit(text: impl Into<String>) -> Word {
        Word {
            text: text.into(),
            ..Word::default()
        }
    }
    pub fn is_dynamic(&self) -> bool {
        self.text.contains(DYN)
    }
}

/// Which way a redirect moves data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedirectKind {
    /// `>`, `>|`, `&>`: truncates the target.
    Write,
    /// `>>`, `&>>`.
    Append,
    /// `<`.
    Read,
    /// `>&2`, `2>&1`: only duplicates a descriptor.
    Dup,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Redirect {
    pub kind: RedirectKind,
    pub target: Word,
}

/// What flows into a command's standard input.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stdin {
    /// Every command upstream in the pipeline (and `heredoc`/`herestring`).
    pub producers: Vec<String>,
    /// The literal text, when it can be known (echo, heredoc, decoded base64, …).
    pub text: Option<String>,
    /// Path-like words the upstream commands named (files they read or list).
    pub paths: Vec<Word>,
    /// Words a consumer like `xargs` would receive, when they can be guessed.
    pub items: Option<Vec<Word>>,
}

/// A command that would really run, with how it was reached.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Effective {
    /// The command name, wrappers removed and absolute paths reduced (`/bin/rm` → `rm`).
    pub name: String,
    pub args: Vec<Word>,
    pub redirects: Vec<Redirect>,
    /// The chain of wrappers and shells that led here (`bash -c`, `sudo`, …).
    pub via: Vec<String>,
    pub stdin: Option<Stdin>,
    /// Facts noticed on the way (`sudo`, `dynamic_name`, `fork_bomb`, `net`, …).
    pub tags: Vec<String>,
    /// Commands whose output this command runs as code (`curl … | sh`, `bash <(curl …)`).
    pub script_from: Vec<String>,
    /// Code text run by this command, when known (for rules that look at content).
    pub code: Option<String>,
    /// Working directory after an earlier `cd` in the same command, if any.
    pub cwd: Option<String>,
    /// Environment settings in force (`RAILS_ENV=production cmd`, `export X=…; cmd`,
    /// `env X=… cmd`) that may name the command's target.
    pub env: Vec<(String, String)>,
}

impl Effective {
    pub fn has_tag(&self, tag: &str) -> bool {
        self.tags.iter().any(|t| t == tag)
    }

    /// One line for explanations: `bash -c → sudo → rm -rf /`.
    pub fn display(&self) -> String {
        let mut s = String::new();
        for v in &self.via {
            s.push_str(v);
            s.push_str(" → ");
        }
        s.push_str(&self.name);
        for a in &self.args {
            s.push(' ');
            s.push_str(&shown(&a.text));
        }
        for r in &self.redirects {
            let op = match r.kind {
                RedirectKind::Write => ">",
                RedirectKind::Append => ">>",
                RedirectKind::Read => "<",
                RedirectKind::Dup => ">&",
            };
            s.push_str(&format!(" {op}{}", shown(&r.target.text)));
        }
        s
    }
}

/// Text with markers made visible.
pub fn shown(text: &str) -> String {
    text.replace(DYN, "$?")
}

/// The result of normalising one command string.
#[derive(Debug, Clone, Default)]
pub struct Normalized {
    pub commands: Vec<Effective>,
    /// tree-sitter reported a syntax error somewhere.
    pub parse_error: bool,
    /// A size, depth, count or time bound was hit; the list may be incomplete.
    pub over_bound: Option<String>,
}

/// Where to resolve `~`, `$HOME` and relative paths.
#[derive(Debug, Clone, Copy)]
pub struct Env<'a> {
    pub cwd: &'a str,
    pub home: Option<&'a str>,
}

thread_local! {
    // A parser per thread: creating one costs more than parsing a short command.
    static PARSER: RefCell<Option<Parser>> = const { RefCell::new(None) };
}

/// Normalises `command` (see the module docs).
pub fn normalize(command: &str, env: Env<'_>) -> Normalized {
    let mut w = Walker {
        env,
        out: Vec::new(),
        parse_error: false,
        over_bound: None,
        nodes: 0,
        vars: HashMap::new(),
        started: Instant::now(),
        cwd: None,
        files: HashMap::new(),
        functions: HashMap::new(),
        calling: Vec::new(),
        calls: 0,
    };
    w.run_script(command, &Ctx::default(), 0);
    Normalized {
        commands: w.out,
        parse_error: w.parse_error,
        over_bound: w.over_bound,
    }
}

/// Deepest nesting of brackets and quotes, counted cheaply before parsing so that no
/// recursive walk (ours or the parser's) sees pathological depth.
fn nesting(text: &str) -> usize {
    let (mut depth, mut max) = (0usize, 0usize);
    let mut in_single = false;
    let mut prev = ' ';
    for c in text.chars() {
        if in_single {
            if c == '\'' {
                in_single = false;
                depth = depth.saturating_sub(1);
            }
            continue;
        }
        match c {
            '\'' if prev != '\\' => {
                in_single = true;
                depth += 1;
            }
            '(' | '{' | '[' => depth += 1,
            ')' | '}' | ']' => depth = depth.saturating_sub(1),
            '`' => depth += 1,
            _ => {}
        }
        max = max.max(depth);
        prev = c;
    }
    max
}

#[derive(Debug, Clone, Default)]
struct Ctx {
    via: Vec<String>,
    stdin: Option<Stdin>,
    redirects: Vec<Redirect>,
    function: Option<String>,
    /// Variables set for this command only (`X=1 cmd`), visible to a nested shell.
    extra_vars: Vec<(String, String)>,
}

struct Walker<'e> {
    env: Env<'e>,
    out: Vec<Effective>,
    parse_error: bool,
    over_bound: Option<String>,
    nodes: usize,
    vars: HashMap<String, String>,
    started: Instant,
    /// Directory after `cd`s seen so far ([`DYN`] when unknowable).
    cwd: Option<String>,
    /// Files written earlier in this command line: what they hold and who made them
    /// (`echo 'rm -rf /' > x.sh; sh x.sh`, `curl -o i.sh …; bash i.sh`).
    files: HashMap<String, Written>,
    /// Shell functions defined so far: name → body text, walked again at each call with
    /// the call's arguments as `$@`, `$1` … (`retry() { "$@"; }; retry rm -rf /`).
    functions: HashMap<String, String>,
    /// Functions being expanded now (a function calling itself is not expanded again).
    calling: Vec<String>,
    /// Function calls expanded so far (bounded).
    calls: usize,
}

/// A file written earlier in the same command line.
#[derive(Debug, Clone, Default)]
struct Written {
    text: Option<String>,
    producers: Vec<String>,
}

/// What a command writes to its standard output, as far as we can tell.
#[derive(Debug, Clone, Default)]
struct Output {
    producers: Vec<String>,
    text: Option<String>,
    paths: Vec<Word>,
    items: Option<Vec<Word>>,
}

impl Output {
    fn into_stdin(self) -> Stdin {
        Stdin {
            producers: self.producers,
            text: self.text,
            paths: self.paths,
            items: self.items,
        }
    }
}

/// Environment variables that make programs load or run code chosen by whoever sets them.
const SENSITIVE_VARS: &[&str] = &[
    "LD_PRELOAD",
    "LD_LIBRARY_PATH",
    "LD_AUDIT",
    "DYLD_INSERT_LIBRARIES",
    "BASH_ENV",
    "ENV",
    "PROMPT_COMMAND",
    "PS0",
    "PS4",
    "HISTFILE",
    "GIT_SSH_COMMAND",
    "GIT_EXEC_PATH",
    "PYTHONSTARTUP",
    "NODE_OPTIONS",
    "PERL5OPT",
    "RUBYOPT",
    "CLAUDE_CONFIG_DIR",
    "LIGHTHOUSE_DISABLE",
    "LIGHTHOUSE_OFF",
    "LIGHTHOUSE_POLICY",
];

const SHELLS: &[&str] = &[
    "sh", "bash", "zsh", "dash", "ksh", "ash", "mksh", "fish", "csh", "tcsh", "yash", "rbash",
];

fn is_shell(name: &str) -> bool {
    SHELLS.contains(&name)
}

/// Where the command of `docker exec …` / `kubectl exec … -- …` starts, and the
/// container, pod, namespace or context it runs in (as a context variable).
fn exec_target(name: &str, rest: &[Word]) -> Option<(usize, (String, String))> {
    let at = rest.iter().take(6).position(|w| w.text == "exec")?;
    if matches!(name, "kubectl" | "oc") {
        let dash = rest.iter().position(|w| w.text == "--")?;
        if dash + 1 >= rest.len() || dash < at {
            return None;
        }
        let context: Vec<&str> = rest[..dash]
            .iter()
            .map(|w| w.text.as_str())
            .filter(|t| *t != "exec")
            .collect();
        return Some((dash + 1, ("LH_CONTEXT_EXEC".to_owned(), context.join(" "))));
    }
    // docker [compose|container] exec [options] CONTAINER cmd…
    if !rest[..at]
        .iter()
        .all(|w| matches!(w.text.as_str(), "compose" | "container") || w.text.starts_with('-'))
    {
        return None;
    }
    let mut i = at + 1;
    while i < rest.len() && rest[i].text.starts_with('-') {
        let t = rest[i].text.as_str();
        let takes = matches!(
            t,
            "-e" | "--env"
                | "-u"
                | "--user"
                | "-w"
                | "--workdir"
                | "--env-file"
                | "--detach-keys"
                | "--index"
        );
        i += if takes { 2 } else { 1 };
    }
    let container = rest.get(i)?;
    if i + 1 >= rest.len() {
        return None;
    }
    Some((
        i + 1,
        ("LH_CONTEXT_EXEC".to_owned(), container.text.clone()),
    ))
}

/// `$@`, `$*`, `$1` …: set by whoever calls a function or script.
fn is_positional(name: &str) -> bool {
    matches!(name, "@" | "*" | "#") || (name.len() == 1 && name.as_bytes()[0].is_ascii_digit())
}

impl<'e> Walker<'e> {
    fn bound(&mut self, why: &str) {
        if self.over_bound.is_none() {
            self.over_bound = Some(why.to_owned());
        }
    }

    fn stopped(&self) -> bool {
        self.over_bound.is_some()
    }

    /// Parses and walks one script; `depth` counts re-parses.
    fn run_script(&mut self, text: &str, ctx: &Ctx, depth: usize) {
        if depth > MAX_DEPTH {
            self.bound("code nested in shells deeper than the bound");
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
        // A final newline spares tree-sitter-bash a costly ambiguity at end of input
        // (a three-stage pipeline parses ~10x faster with it).
        owned.push('\n');
        let text = owned.as_str();
        let deadline = self.started + PARSE_BUDGET;
        let tree = PARSER.with(|cell| {
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
        });
        let Some(tree) = tree else {
            self.bound("parse did not finish within its time budget");
            return;
        };
        let root = tree.root_node();
        if root.has_error() {
            self.parse_error = true;
        }
        let mut ctx = ctx.clone();
        // Variables set for the nested shell only (`X=/ bash -c 'rm -rf $X'`).
        let saved: Vec<(String, Option<String>)> = ctx
            .extra_vars
            .iter()
            .map(|(k, _)| (k.clone(), self.vars.get(k).cloned()))
            .collect();
        for (k, v) in std::mem::take(&mut ctx.extra_vars) {
            self.vars.insert(k, v);
        }
        self.visit(root, text.as_bytes(), &ctx, depth, 0);
        for (k, v) in saved {
            match v {
                Some(v) => self.vars.insert(k, v),
                None => self.vars.remove(&k),
            };
        }
    }

    fn visit(&mut self, node: Node<'_>, src: &[u8], ctx: &Ctx, depth: usize, tdepth: usize) {
        self.visit_out(node, src, ctx, depth, tdepth);
    }

    /// Walks a statement; returns what it writes to stdout, for a pipeline's next stage.
    fn visit_out(
        &mut self,
        node: Node<'_>,
        src: &[u8],
        ctx: &Ctx,
        depth: usize,
        tdepth: usize,
    ) -> Output {
        if self.stopped() {
            return Output::default();
        }
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            self.bound("syntax tree larger than the bound");
            return Output::default();
        }
        // Walking is linear in nodes, but pipelines copy what flows between stages:
        // keep a wall-clock bound too (checked every few hundred nodes).
        if self.nodes.is_multiple_of(256) && self.started.elapsed() > WALK_BUDGET {
            self.bound("analysis took longer than its time budget");
            return Output::default();
        }
        if tdepth > MAX_TREE_DEPTH {
            self.bound("syntax tree deeper than the bound");
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
                let mut stdin = ctx.stdin.clone();
                let mut last = Output::default();
                let mut cursor = node.walk();
                let stages: Vec<Node<'_>> = node.named_children(&mut cursor).collect();
                for stage in stages {
                    if stage.kind() == "comment" {
                        continue;
                    }
                    let mut c = ctx.clone();
                    c.stdin = stdin.clone();
                    let start = self.out.len();
                    let mut out = self.visit_out(stage, src, &c, depth, tdepth + 1);
                    if out.producers.is_empty() {
                        // Shells and interpreters report no output of their own; what
                        // they ran is what feeds the next stage.
                        out.producers = self.out[start..].iter().map(|e| e.name.clone()).collect();
                    }
                    let mut producers = stdin.map(|s| s.producers).unwrap_or_default();
                    producers.extend(out.producers.iter().cloned());
                    last = Output { producers, ..out };
                    stdin = Some(last.clone().into_stdin());
                }
                last
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
                // `while true; do cmd & done`: unbounded background spawning.
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
                if forever && background {
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
                    last = self.visit_out(kid, src, &c, depth, tdepth + 1);
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

    fn assignment(&mut self, node: Node<'_>, src: &[u8], ctx: &Ctx, depth: usize, tdepth: usize) {
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
            Some(v) => self.word(v, src, ctx, depth, tdepth + 1).text,
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

    fn redirected(
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
                            producers: vec!["herestring".to_owned()],
                            text: Some(format!("{}\n", w.text)),
                            ..Stdin::default()
                        });
                    }
                }
                _ => {
                    if let Some(rd) = self.redirect(r, src, ctx, depth, tdepth + 1) {
                        if rd.kind == RedirectKind::Read {
                            c.stdin = Some(Stdin {
                                producers: vec!["file".to_owned()],
                                paths: vec![rd.target.clone()],
                                ..Stdin::default()
                            });
                        }
                        c.redirects.push(rd);
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

    fn redirect(
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
        let kind = if op.contains(">&")
            && target.text.chars().all(|c| c.is_ascii_digit() || c == '-')
            || op.contains("<&")
        {
            RedirectKind::Dup
        } else if op.contains(">>") {
            RedirectKind::Append
        } else if op.contains('>') {
            RedirectKind::Write
        } else {
            RedirectKind::Read
        };
        Some(Redirect { kind, target })
    }

    /// Resolves one word node to text, walking any substitutions inside it.
    fn word(&mut self, node: Node<'_>, src: &[u8], ctx: &Ctx, depth: usize, tdepth: usize) -> Word {
        let mut w = Word::default();
        self.word_into(node, src, ctx, depth, tdepth, false, &mut w);
        w
    }

    #[allow(clippy::too_many_arguments)]
    fn word_into(
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
                        if name == "IFS" && !quoted {
                            w.text.push(IFS_SPLIT);
                        } else if !quoted {
                            // Unquoted expansions are split into fields (`x='rm -rf /'; $x`).
                            w.text
                                .push_str(&v.replace([' ', '\t', '\n'], &IFS_SPLIT.to_string()));
                        } else {
                            w.text.push_str(&v);
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
                w.subst.extend(names);
                w.inputs.extend(out.paths.iter().map(|p| p.text.clone()));
                match out.text {
                    Some(t) if node.kind() == "command_substitution" => {
                        w.text.push_str(t.trim_end_matches('\n'))
                    }
                    Some(t) => {
                        w.fed = Some(t);
                        w.text.push(DYN);
                    }
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
    fn expand_inline(&self, text: &str, quoted: bool) -> String {
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

    fn lookup(&self, name: &str) -> Option<String> {
        if let Some(v) = self.vars.get(name) {
            return Some(v.clone());
        }
        match name {
            "HOME" => Some(self.env.home.unwrap_or("~").to_owned()),
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

    /// A `command` node: evaluate its words, then peel wrappers.
    fn command(
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
                        let value = v
                            .map(|v| self.word(v, src, ctx, depth, tdepth + 1).text)
                            .unwrap_or_default();
                        c.extra_vars.push((text_of(n, src).to_owned(), value));
                    }
                }
                (_, "file_redirect") => {
                    if let Some(rd) = self.redirect(kid, src, ctx, depth, tdepth + 1) {
                        if rd.kind == RedirectKind::Read {
                            c.stdin = Some(Stdin {
                                producers: vec!["file".to_owned()],
                                paths: vec![rd.target.clone()],
                                ..Stdin::default()
                            });
                        }
                        c.redirects.push(rd);
                    }
                }
                (_, "herestring_redirect") => {
                    if let Some(arg) = kid.named_child(0) {
                        let w = self.word(arg, src, ctx, depth, tdepth + 1);
                        c.stdin = Some(Stdin {
                            producers: vec!["herestring".to_owned()],
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
                    if !raw.contains(['\'', '"']) && raw.contains('{') && raw.contains(',') {
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

    fn emit(&mut self, mut e: Effective, ctx: &Ctx) {
        if self.out.len() >= MAX_COMMANDS {
            self.bound("more commands than the bound");
            return;
        }
        e.redirects.extend(ctx.redirects.iter().cloned());
        if e.cwd.is_none() {
            e.cwd = self.cwd.clone();
        }
        for (k, v) in ctx
            .extra_vars
            .iter()
            .map(|(k, v)| (k, v))
            .chain(self.vars.iter())
        {
            if crate::targets::is_selector_var(k) && !e.env.iter().any(|(x, _)| x == k) {
                e.env.push((k.clone(), v.clone()));
            }
        }
        self.context_switch(&e);
        if matches!(e.name.as_str(), "cd" | "pushd" | "chdir") {
            self.change_dir(&e);
        }
        self.record_writes(&e);
        self.out.push(e);
    }

    /// Remembers a target switched earlier in the chain (`kubectl config use-context X`,
    /// `terraform workspace select X`, `gcloud config set project X`): later commands
    /// act on it.
    fn context_switch(&mut self, e: &Effective) {
        let a: Vec<&str> = e.args.iter().map(|w| w.text.as_str()).collect();
        let target = match (e.name.as_str(), a.as_slice()) {
            ("kubectl", ["config", "use-context", x, ..]) => Some(("LH_CONTEXT_KUBE", *x)),
            ("terraform" | "tofu", ["workspace", "select" | "new", x, ..]) => {
                Some(("LH_CONTEXT_TF", *x))
            }
            ("gcloud", ["config", "set", "project", x, ..]) => Some(("LH_CONTEXT_GCLOUD", *x)),
            ("pulumi", ["stack", "select", x, ..]) => Some(("LH_CONTEXT_PULUMI", *x)),
            _ => None,
        };
        if let Some((k, v)) = target {
            self.vars.insert(k.to_owned(), v.to_owned());
        }
    }

    /// Absolute form of a literal path, for matching files across commands.
    fn file_key(&self, text: &str) -> Option<String> {
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

    fn record_writes(&mut self, e: &Effective) {
        if self.files.len() > 64 {
            return;
        }
        let mut targets: Vec<(String, Written)> = Vec::new();
        let out = output_of(e, self.env);
        for r in &e.redirects {
            if matches!(r.kind, RedirectKind::Write | RedirectKind::Append)
                && let Some(k) = self.file_key(&r.target.text)
            {
                let mut producers = e
                    .stdin
                    .as_ref()
                    .map(|s| s.producers.clone())
                    .unwrap_or_default();
                producers.push(e.name.clone());
                targets.push((
                    k,
                    Written {
                        text: out.text.clone(),
                        producers,
                    },
                ));
            }
        }
        // Downloads: `curl -o f URL`, `wget -O f URL`, `wget URL` (saves the last segment).
        if matches!(e.name.as_str(), "curl" | "wget") {
            let mut it = e.args.iter().peekable();
            let mut saved: Option<String> = None;
            let mut url: Option<&str> = None;
            while let Some(w) = it.next() {
                let t = w.text.as_str();
                if matches!(t, "-o" | "--output" | "-O" | "--output-document")
                    && !(e.name == "curl" && t == "-O")
                {
                    saved = it.peek().map(|n| n.text.clone());
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
    fn change_dir(&mut self, e: &Effective) {
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

    /// Peels wrappers off `argv` and emits the effective command(s).
    fn resolve(&mut self, mut argv: Vec<Word>, ctx: &Ctx, depth: usize) -> Output {
        let mut via = ctx.via.clone();
        let mut tags: Vec<String> = ctx
            .extra_vars
            .iter()
            .filter(|(k, _)| SENSITIVE_VARS.contains(&k.as_str()))
            .map(|(k, _)| format!("env:{k}"))
            .collect();
        let mut extra_vars = ctx.extra_vars.clone();
        for _ in 0..16 {
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
            let name = command_name(&first.text);
            let rest = &argv[1..];
            if let Some(body) = self.functions.get(&name).cloned()
                && !self.calling.contains(&name)
                && self.calls < 32
            {
                return self.call_function(name, body, rest, ctx, via, depth);
            }
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
                    let mut i = 0;
                    let mut split: Option<Vec<Word>> = None;
                    while i < rest.len() {
                        let t = rest[i].text.as_str();
                        if t == "--" {
                            i += 1;
                            break;
                        } else if t == "-S" || t == "--split-string" {
                            if let Some(s) = rest.get(i + 1) {
                                split = Some(
                                    s.text
                                        .split_whitespace()
                                        .map(Word::lit)
                                        .chain(rest[i + 2..].iter().cloned())
                                        .collect(),
                                );
                            }
                            break;
                        } else if let Some(s) = t
                            .strip_prefix("-S")
                            .or_else(|| t.strip_prefix("--split-string="))
                        {
                            split = Some(
                                s.split_whitespace()
                                    .map(Word::lit)
                                    .chain(rest[i + 1..].iter().cloned())
                                    .collect(),
                            );
                            break;
                        } else if matches!(t, "-u" | "-C" | "--unset" | "--chdir") {
                            i += 2;
                        } else if t.starts_with('-') && t.len() > 1 {
                            i += 1;
                        } else if let Some((k, v)) = assignment_word(t) {
                            if SENSITIVE_VARS.contains(&k.as_str()) {
                                tags.push(format!("env:{k}"));
                            }
                            extra_vars.push((k, v));
                            i += 1;
                        } else {
                            break;
                        }
                    }
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
                "builtin" | "nohup" | "setsid" | "time" | "unbuffer" | "chronic" | "caffeinate"
                | "catchsegv" | "busybox" | "then" | "do" | "else" | "proxychains"
                | "proxychains4" | "torsocks" | "fakeroot" | "firejail" => {
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
                    if let Some(pos) = rest[..n]
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
                        if let Some((_, v)) = w.text.split_once('=') {
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
                "trap" => {
                    if let Some(code) = rest.first().filter(|w| !w.text.starts_with('-')) {
                        via.push("trap".to_owned());
                        return self.shell_code(code.clone(), ctx, &via, &tags, depth, &extra_vars);
                    }
                    None
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
                "docker" | "podman" | "nerdctl" | "kubectl" | "oc" => {
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
                    let code = rest
                        .iter()
                        .position(|w| w.text == "-c" || w.text == "--command")
                        .and_then(|p| rest.get(p + 1).cloned());
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
                            || self
                                .file_key(&w.text)
                                .is_some_and(|k| self.files.contains_key(&k))
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
                    argv = rest[n..].to_vec();
                    continue;
                }
                _ if argv[0].text.contains('/')
                    && self
                        .file_key(&argv[0].text)
                        .is_some_and(|k| self.files.contains_key(&k)) =>
                {
                    // `./x.sh` written earlier in this command line: run it as a script.
                    let mut args = vec![Word::lit(argv[0].text.clone())];
                    args.extend(rest.iter().cloned());
                    return self.shell("sh".to_owned(), &args, ctx, via, tags, depth, &extra_vars);
                }
                _ => {
                    // Not a wrapper, or a wrapper with nothing to run: this is the command.
                    let e = Effective {
                        name,
                        args: rest.to_vec(),
                        via,
                        stdin: ctx.stdin.clone(),
                        tags,
                        env: extra_vars,
                        ..Effective::default()
                    };
                    let out = output_of(&e, self.env);
                    self.emit(e, ctx);
                    return out;
                }
            }
        }
        self.bound("wrappers nested deeper than the bound");
        Output::default()
    }

    /// Walks a function's body with the call's arguments bound to `$@`, `$1` ….
    fn call_function(
        &mut self,
        name: String,
        body: String,
        args: &[Word],
        ctx: &Ctx,
        mut via: Vec<String>,
        depth: usize,
    ) -> Output {
        self.calls += 1;
        let mut bound: Vec<(String, String)> = vec![
            (
                "@".to_owned(),
                args.iter()
                    .map(|w| w.text.as_str())
                    .collect::<Vec<_>>()
                    .join(&IFS_SPLIT.to_string()),
            ),
            ("#".to_owned(), args.len().to_string()),
        ];
        bound.push(("*".to_owned(), bound[0].1.clone()));
        for (i, a) in args.iter().take(9).enumerate() {
            bound.push(((i + 1).to_string(), a.text.clone()));
        }
        let saved: Vec<(String, Option<String>)> = bound
            .iter()
            .map(|(k, _)| (k.clone(), self.vars.get(k).cloned()))
            .chain(
                (args.len() + 1..=9)
                    .map(|i| (i.to_string(), self.vars.get(&i.to_string()).cloned())),
            )
            .collect();
        for i in args.len() + 1..=9 {
            self.vars.remove(&i.to_string());
        }
        for (k, v) in bound {
            self.vars.insert(k, v);
        }
        via.push(format!("{name}()"));
        self.calling.push(name);
        let c = Ctx {
            via,
            function: None,
            ..ctx.clone()
        };
        self.run_script(&body, &c, depth + 1);
        self.calling.pop();
        for (k, v) in saved {
            match v {
                Some(v) => self.vars.insert(k, v),
                None => self.vars.remove(&k),
            };
        }
        Output::default()
    }

    /// Code given as one word to a shell (`bash -c`, `eval`, `su -c`, `watch`).
    fn shell_code(
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
    fn shell(
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
            return self.shell_code_inner(code, &c, &via, &tags, depth, extra_vars);
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
                    None => self
                        .file_key(&file.text)
                        .and_then(|k| self.files.get(&k).cloned()),
                };
                if let Some(w) = &written {
                    e.script_from.extend(w.producers.iter().cloned());
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

    fn shell_code_inner(
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
    fn interpreter(
        &mut self,
        name: String,
        rest: &[Word],
        ctx: &Ctx,
        mut via: Vec<String>,
        tags: Vec<String>,
        depth: usize,
        extra_vars: &[(String, String)],
    ) -> Output {
        let Some(lang) = interp::language(&name) else {
            return Output::default();
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
            let mut c2 = c.clone();
            c2.via = Vec::new();
            return self.resolve_with_tags(argv, &c, tags);
        }
        let (code, from_stdin) = interp::code_arg(lang, rest);
        let mut e = Effective {
            name: name.clone(),
            args: rest.to_vec(),
            via: via.clone(),
            stdin: ctx.stdin.clone(),
            tags: tags.clone(),
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
            (None, true) => {
                let stdin = ctx.stdin.clone().unwrap_or_default();
                e.script_from = stdin.producers.clone();
                e.tags.push("code_from_stdin".to_owned());
                stdin.text
            }
            (None, false) => {
                // `python3 <(curl …)`: the script file is another command's output; a
                // script written earlier in this command line is judged by its text.
                match rest.iter().find(|w| !w.text.starts_with('-')) {
                    Some(file) => {
                        e.script_from = file.subst.clone();
                        let written = self
                            .file_key(&file.text)
                            .and_then(|k| self.files.get(&k).cloned());
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
        for t in &effects.tags {
            if !e.tags.contains(t) {
                e.tags.push(t.clone());
            }
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
        Output::default()
    }

    fn resolve_with_tags(&mut self, argv: Vec<Word>, ctx: &Ctx, tags: Vec<String>) -> Output {
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

    fn xargs(
        &mut self,
        rest: &[Word],
        ctx: &Ctx,
        mut via: Vec<String>,
        tags: Vec<String>,
        depth: usize,
    ) -> Output {
        let _ = depth;
        let mut i = 0;
        let mut replace: Option<String> = None;
        let mut separator: Option<char> = None;
        while i < rest.len() {
            let t = rest[i].text.as_str();
            if t == "--" {
                i += 1;
                break;
            }
            if !t.starts_with('-') || t == "-" {
                break;
            }
            if t == "-I" {
                replace = rest.get(i + 1).map(|w| w.text.clone());
                i += 2;
                continue;
            }
            if let Some(r) = t.strip_prefix("--replace") {
                replace = Some(r.strip_prefix('=').unwrap_or("{}").to_owned());
                i += 1;
                continue;
            }
            if let Some(r) = t.strip_prefix("-i") {
                replace = Some(if r.is_empty() {
                    "{}".to_owned()
                } else {
                    r.to_owned()
                });
                i += 1;
                continue;
            }
            if let Some(r) = t.strip_prefix("-I") {
                replace = Some(r.to_owned());
                i += 1;
                continue;
            }
            if t == "-0" || t == "--null" {
                separator = Some('\0');
            } else if t == "-d" {
                separator = rest.get(i + 1).and_then(|w| ansi_c(&w.text).chars().next());
            } else if t == "-L" || t.starts_with("--max-lines") {
                separator = Some('\n');
            }
            let takes_value = matches!(t, "-n" | "-L" | "-P" | "-d" | "-a" | "-E" | "-s" | "-l");
            i += if takes_value { 2 } else { 1 };
        }
        // With -0, -d or -I/-L an item is a whole record (`… | xargs -0 sh -c`), not a word.
        let separator = separator.or(replace.as_ref().map(|_| '\n'));
        let records: Option<Vec<Word>> = separator.and_then(|sep| {
            let text = ctx.stdin.as_ref()?.text.as_ref()?;
            let v: Vec<Word> = text
                .split(sep)
                .map(|r| r.trim_end_matches('\n'))
                .filter(|r| !r.is_empty())
                .take(64)
                .map(Word::lit)
                .collect();
            (!v.is_empty()).then_some(v)
        });
        let items: Vec<Word> = records
            .or_else(|| {
                ctx.stdin.as_ref().and_then(|s| {
                    s.items.clone().or_else(|| {
                        // Known text (here-string, heredoc, echo): its words are the items.
                        s.text.as_ref().map(|t| {
                            t.split(|c: char| c.is_whitespace() || c == '\0')
                                .filter(|x| !x.is_empty())
                                .take(64)
                                .map(Word::lit)
                                .collect()
                        })
                    })
                })
            })
            .filter(|v: &Vec<Word>| !v.is_empty())
            .unwrap_or_else(|| vec![Word::lit(DYN.to_string())]);
        // The items are the upstream commands' output (`curl … | xargs -0 bash -c`).
        let producers: Vec<String> = ctx
            .stdin
            .as_ref()
            .map(|s| s.producers.clone())
            .unwrap_or_default();
        let items: Vec<Word> = items
            .into_iter()
            .map(|mut w| {
                for p in &producers {
                    if !w.subst.contains(p) {
                        w.subst.push(p.clone());
                    }
                }
                w
            })
            .collect();
        let mut argv: Vec<Word> = if i < rest.len() {
            rest[i..].to_vec()
        } else {
            vec![Word::lit("echo")]
        };
        match replace {
            Some(r) if !r.is_empty() => {
                let item = items.first().cloned().unwrap_or_default();
                for w in argv.iter_mut() {
                    if w.text.contains(&r) {
                        w.text = w.text.replace(&r, &item.text);
                    }
                }
            }
            _ => argv.extend(items),
        }
        via.push("xargs".to_owned());
        let mut tags = tags;
        if ctx
            .stdin
            .as_ref()
            .is_some_and(|s| s.producers.iter().any(|p| p == "find"))
        {
            tags.push("recursive_walk".to_owned());
        }
        let c = Ctx {
            via,
            stdin: None,
            ..ctx.clone()
        };
        self.resolve_with_tags(argv, &c, tags)
    }

    fn find(
        &mut self,
        rest: &[Word],
        ctx: &Ctx,
        via: Vec<String>,
        tags: Vec<String>,
        depth: usize,
    ) -> Output {
        let _ = depth;
        let mut i = 0;
        while i < rest.len() && matches!(rest[i].text.as_str(), "-H" | "-L" | "-P") {
            i += 1;
        }
        let mut roots = Vec::new();
        while i < rest.len() {
            let t = &rest[i].text;
            if t.starts_with('-') || t == "(" || t == "!" || t == "\\(" {
                break;
            }
            roots.push(rest[i].clone());
            i += 1;
        }
        if roots.is_empty() {
            roots.push(Word::lit("."));
        }
        // With a narrowing test (`-name`, `-mtime`, …) find reaches some entries below
        // each root; without one (`-type f` does not narrow much) it reaches everything.
        let filtered = rest[i..].iter().any(|w| {
            matches!(
                w.text.as_str(),
                "-name"
                    | "-iname"
                    | "-path"
                    | "-ipath"
                    | "-regex"
                    | "-iregex"
                    | "-mtime"
                    | "-mmin"
                    | "-atime"
                    | "-ctime"
                    | "-size"
                    | "-newer"
                    | "-empty"
                    | "-wholename"
                    | "-inum"
            )
        });
        // One `-name PATTERN` (no alternatives) says what is reached: `./*.pyc`.
        let names: Vec<&str> = rest[i..]
            .windows(2)
            .filter(|w| matches!(w[0].text.as_str(), "-name" | "-iname"))
            .map(|w| w[1].text.as_str())
            .collect();
        let single_name = (names.len() == 1 && !rest[i..].iter().any(|w| w.text == "-o"))
            .then(|| names[0])
            .filter(|n| !n.contains('/') && !n.is_empty());
        let contents: Vec<Word> = roots
            .iter()
            .map(|r| match single_name {
                Some(n) if filtered => Word {
                    text: format!("{}/{n}", r.text.trim_end_matches('/')),
                    ..r.clone()
                },
                _ if filtered => matches_in(r),
                _ => contents_of(r),
            })
            .collect();
        let e = Effective {
            name: "find".to_owned(),
            args: rest.to_vec(),
            via: via.clone(),
            stdin: ctx.stdin.clone(),
            tags: tags.clone(),
            ..Effective::default()
        };
        self.emit(e, ctx);
        let mut out = Output {
            producers: vec!["find".to_owned()],
            items: Some(contents.clone()),
            paths: roots.clone(),
            ..Output::default()
        };
        let mut via2;
        while i < rest.len() {
            let t = rest[i].text.as_str();
            match t {
                "-delete" => {
                    via2 = via.clone();
                    via2.push("find -delete".to_owned());
                    let mut argv = vec![Word::lit("rm"), Word::lit("-r"), Word::lit("-f")];
                    argv.extend(contents.iter().cloned());
                    let c = Ctx {
                        via: via2.clone(),
                        stdin: None,
                        ..ctx.clone()
                    };
                    self.resolve_with_tags(argv, &c, tags.clone());
                    i += 1;
                }
                "-exec" | "-execdir" | "-ok" | "-okdir" => {
                    let start = i + 1;
                    let mut end = start;
                    while end < rest.len()
                        && rest[end].text != ";"
                        && rest[end].text != "+"
                        && rest[end].text != "\\;"
                    {
                        end += 1;
                    }
                    let mut argv: Vec<Word> = Vec::new();
                    for w in &rest[start..end.min(rest.len())] {
                        if w.text.contains("{}") {
                            for c in &contents {
                                argv.push(Word {
                                    text: w.text.replace("{}", &c.text),
                                    ..w.clone()
                                });
                            }
                        } else {
                            argv.push(w.clone());
                        }
                    }
                    via2 = via.clone();
                    via2.push(format!("find {t}"));
                    let mut tags = tags.clone();
                    tags.push("recursive_walk".to_owned());
                    let c = Ctx {
                        via: via2.clone(),
                        stdin: None,
                        ..ctx.clone()
                    };
                    if !argv.is_empty() {
                        self.resolve_with_tags(argv, &c, tags.clone());
                    }
                    i = end + 1;
                    out.items = None;
                }
                _ => i += 1,
            }
        }
        out
    }
}

/// `dir` → `dir/[match]`: some entries somewhere below `dir`.
fn matches_in(w: &Word) -> Word {
    let t = w.text.trim_end_matches('/');
    Word {
        text: format!("{t}/[match]"),
        ..w.clone()
    }
}

/// `dir` → `dir/*`: what a listing of `dir` yields.
fn contents_of(w: &Word) -> Word {
    let t = w.text.trim_end_matches('/');
    Word {
        text: if t.is_empty() {
            "/*".to_owned()
        } else {
            format!("{t}/*")
        },
        ..w.clone()
    }
}

/// What a plain command writes to stdout, as far as is useful to a consumer.
fn output_of(e: &Effective, env: Env<'_>) -> Output {
    let mut out = Output {
        producers: vec![e.name.clone()],
        ..Output::default()
    };
    let stdin_text = e.stdin.as_ref().and_then(|s| s.text.clone());
    let positionals: Vec<&Word> = e
        .args
        .iter()
        .filter(|w| !w.text.starts_with('-') || w.text == "-")
        .collect();
    match e.name.as_str() {
        "echo" => {
            let mut args = e.args.as_slice();
            let mut escapes = false;
            while let Some(first) = args.first() {
                if first.text.starts_with('-')
                    && first.text.len() > 1
                    && first.text[1..]
                        .chars()
                        .all(|c| matches!(c, 'n' | 'e' | 'E'))
                {
                    escapes |= first.text.contains('e');
                    args = &args[1..];
                } else {
                    break;
                }
            }
            let mut text = join_words(args).text;
            if escapes {
                text = ansi_c(&text);
            }
            text.push('\n');
            out.items = Some(
                args.iter()
                    .flat_map(|w| w.text.split_whitespace().map(Word::lit).collect::<Vec<_>>())
                    .collect(),
            );
            out.text = Some(text);
        }
        "printf" => {
            let args: Vec<&Word> = e.args.iter().filter(|w| w.text != "--").collect();
            if let Some(fmt) = args.first() {
                let mut text = ansi_c(&fmt.text);
                // `printf '%s' payload`: substitute arguments in order.
                for a in &args[1..] {
                    if let Some(p) = text.find("%s").or_else(|| text.find("%b")) {
                        let v = if text[p..].starts_with("%b") {
                            ansi_c(&a.text)
                        } else {
                            a.text.clone()
                        };
                        text.replace_range(p..p + 2, &v);
                    } else {
                        text.push_str(&a.text);
                    }
                }
                out.items = Some(text.split_whitespace().map(Word::lit).collect());
                out.text = Some(text);
            }
        }
        "pwd" => out.text = Some(format!("{}\n", env.cwd)),
        "git" if e.args.iter().any(|a| a.text == "--show-toplevel") => {
            out.text = Some(format!("{}\n", env.cwd))
        }
        "mktemp" => out.text = Some("/tmp/tmp.lighthouse\n".to_owned()),
        // Path arithmetic on known text: `$(dirname "$PWD")` is the parent directory.
        "dirname" | "basename" | "realpath" | "readlink"
            if positionals.len() == 1 && !positionals[0].is_dynamic() =>
        {
            let t = positionals[0].text.trim_end_matches('/');
            let v = match e.name.as_str() {
                "dirname" => match t.rfind('/') {
                    Some(0) => "/".to_owned(),
                    Some(p) => t[..p].to_owned(),
                    None => ".".to_owned(),
                },
                "basename" => t.rsplit('/').next().unwrap_or(t).to_owned(),
                _ if t.is_empty() => "/".to_owned(),
                _ => t.to_owned(),
            };
            out.text = Some(format!("{v}\n"));
        }
        "cat" | "tee" | "tr" if positionals.is_empty() || e.name == "tee" => {
            out.text = stdin_text;
            out.items = e.stdin.as_ref().and_then(|s| s.items.clone());
        }
        "rev" => {
            out.text = stdin_text
                .map(|t| t.trim_end_matches('\n').chars().rev().collect::<String>() + "\n")
        }
        "base64" | "base32" | "xxd" | "openssl" | "uudecode" | "gunzip" | "zcat" | "gzip"
        | "bzip2" | "xz" => {
            let decode = e.args.iter().any(|w| {
                w.text == "-d"
                    || w.text == "--decode"
                    || w.text == "-D"
                    || w.text == "-r"
                    || w.text == "-base64"
                    || w.text == "-dc"
            });
            if decode {
                out.producers.push("decoder".to_owned());
                if e.name == "base64" {
                    out.text = stdin_text.and_then(|t| crate::interp::b64_decode(&t));
                } else if e.name == "xxd" {
                    out.text = stdin_text.and_then(|t| crate::interp::hex_decode(&t));
                }
            }
        }
        "ls" => {
            let dirs: Vec<Word> = positionals.iter().map(|w| contents_of(w)).collect();
            out.items = Some(if dirs.is_empty() {
                vec![Word::lit("./*")]
            } else {
                dirs
            });
        }
        "which" | "type" => {
            out.text = positionals
                .first()
                .map(|w| format!("/usr/bin/{}\n", w.text));
        }
        _ => {}
    }
    for w in &positionals {
        out.paths.push((*w).clone());
    }
    if let Some(s) = &e.stdin {
        out.paths.extend(s.paths.iter().cloned());
    }
    out
}

/// Command name as the shell would look it up: `/usr/bin/rm` → `rm`.
pub fn command_name(text: &str) -> String {
    if text.starts_with('/') {
        return text.rsplit('/').next().unwrap_or(text).to_owned();
    }
    text.to_owned()
}

fn is_short_cluster_with(t: &str, c: char) -> bool {
    t.starts_with('-') && !t.starts_with("--") && t[1..].contains(c)
}

/// Counts the option words at the start of `rest` (and the values some of them take).
fn skip_options(rest: &[Word], short_values: &[&str], long_values: &[&str]) -> usize {
    let mut i = 0;
    while i < rest.len() {
        let t = rest[i].text.as_str();
        if t == "--" {
            return i + 1;
        }
        if !t.starts_with('-') || t == "-" {
            break;
        }
        if let Some(long) = t.strip_prefix("--") {
            i += if !long.contains('=') && long_values.contains(&long) {
                2
            } else {
                1
            };
            continue;
        }
        // A cluster like `-Eu root`: the value follows the last flag that takes one.
        let flags = &t[1..];
        let mut takes = false;
        for (pos, ch) in flags.char_indices() {
            if short_values
                .iter()
                .any(|v| v.len() == 1 && v.starts_with(ch))
            {
                takes = pos + ch.len_utf8() == flags.len();
                break;
            }
        }
        // `nice -10`, `timeout -s9`: digits or attached values need nothing more.
        i += if takes { 2 } else { 1 };
    }
    i.min(rest.len())
}

fn assignment_word(t: &str) -> Option<(String, String)> {
    let (k, v) = t.split_once('=')?;
    if k.is_empty() || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return None;
    }
    Some((k.to_owned(), v.to_owned()))
}

fn join_words(ws: &[Word]) -> Word {
    let mut w = Word::default();
    for (i, x) in ws.iter().enumerate() {
        if i > 0 {
            w.text.push(' ');
        }
        w.text.push_str(&x.text);
        w.subst.extend(x.subst.iter().cloned());
        w.inputs.extend(x.inputs.iter().cloned());
        w.vars.extend(x.vars.iter().cloned());
    }
    w
}

/// Expands a whole-word brace list outside quotes (`{rm,-rf,/}` → `rm -rf /`): bash
/// runs it as a command, but the grammar reads it as a broken `{ …; }` group.
fn expand_brace_words(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == b'\'' || c == b'"' => quote = Some(c),
            None if c == b'{' && (i == 0 || b" \t\n;&|(".contains(&b[i - 1])) => {
                let rest = &text[i + 1..];
                let end = rest.find(|ch: char| ch == '}' || ch.is_whitespace() || ch == '{');
                if let Some(e) = end.filter(|e| rest.as_bytes().get(*e) == Some(&b'}')) {
                    let inner = &rest[..e];
                    let after = rest.as_bytes().get(e + 1).copied();
                    let boundary = after.is_none_or(|a| b" \t\n;&|)".contains(&a));
                    if inner.contains(',') && boundary {
                        out.push_str(&inner.replace(',', " "));
                        i += e + 2;
                        continue;
                    }
                }
            }
            None => {}
        }
        let ch = text[i..].chars().next().unwrap_or(' ');
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

/// Removes backslash-newline outside single quotes, as bash does before anything else
/// (`r\⏎m -rf /` is `rm -rf /`).
fn join_continuations(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_single = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' {
            in_single = !in_single;
        }
        if c == '\\' && !in_single {
            if chars.peek() == Some(&'\n') {
                chars.next();
                continue;
            }
            out.push(c);
            if let Some(n) = chars.next() {
                out.push(n);
            }
            continue;
        }
        out.push(c);
    }
    out
}

/// Replaces `$IFS` / `${IFS}` outside single quotes by a space.
fn replace_ifs(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_single = false;
    let mut i = 0;
    let b = text.as_bytes();
    while i < b.len() {
        let rest = &text[i..];
        if b[i] == b'\'' {
            in_single = !in_single;
        }
        if !in_single {
            if rest.starts_with("${IFS}") {
                out.push(' ');
                i += 6;
                continue;
            }
            if rest.starts_with("$IFS")
                && !rest[4..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
            {
                out.push(' ');
                i += 4;
                continue;
            }
        }
        let ch = rest.chars().next().unwrap_or(' ');
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

/// One level of brace expansion: `/{etc,usr}` → `/etc`, `/usr`; `{rm,-rf,/}` → three
/// words.
fn brace_expand(text: &str) -> Vec<String> {
    let (Some(open), Some(close)) = (text.find('{'), text.rfind('}')) else {
        return vec![text.to_owned()];
    };
    if close < open || text[open + 1..close].contains(['{', '}']) {
        return vec![text.to_owned()];
    }
    let (pre, inner, post) = (&text[..open], &text[open + 1..close], &text[close + 1..]);
    if !inner.contains(',') {
        return vec![text.to_owned()];
    }
    inner
        .split(',')
        .take(64)
        .map(|alt| format!("{pre}{alt}{post}"))
        .collect()
}

fn split_ifs(w: Word, argv: &mut Vec<Word>) {
    if !w.text.contains(IFS_SPLIT) {
        argv.push(w);
        return;
    }
    for part in w.text.split(IFS_SPLIT).filter(|p| !p.is_empty()) {
        argv.push(Word {
            text: part.to_owned(),
            ..w.clone()
        });
    }
}

fn text_of<'s>(node: Node<'_>, src: &'s [u8]) -> &'s str {
    src.get(node.start_byte()..node.end_byte())
        .and_then(|b| std::str::from_utf8(b).ok())
        .unwrap_or("")
}

/// Whether `${name…}` uses a default-value operator (`:-`, `-`, `:=`, `=`).
fn default_operator(raw: &str, name: &str) -> bool {
    let after = raw
        .strip_prefix("${")
        .and_then(|r| r.strip_prefix(name))
        .unwrap_or("");
    [":-", ":=", "-", "="]
        .iter()
        .any(|op| after.starts_with(op))
}

/// `$x`, `${x}` → ("x", true); `${x:-y}`, `${#x}` … → ("x", false).
fn expansion_name(node: Node<'_>, src: &[u8]) -> (String, bool) {
    let raw = text_of(node, src);
    let inner = raw
        .strip_prefix("${")
        .and_then(|r| r.strip_suffix('}'))
        .or_else(|| raw.strip_prefix('$'))
        .unwrap_or(raw);
    let name: String = match inner.chars().next() {
        // Special parameters: `$@`, `$*`, `$#`.
        Some(c @ ('@' | '*' | '#')) if inner.len() == 1 => c.to_string(),
        _ => inner
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect(),
    };
    // `${a[@]}`, `${a[*]}`: the whole array, as stored.
    let rest = &inner[name.len()..];
    let plain = !name.is_empty() && (rest.is_empty() || rest == "[@]" || rest == "[*]");
    (name, plain)
}

/// Removes backslash escapes from an unquoted word (`\rm` → `rm`) and expands a
/// leading `~`.
fn unescape_word(raw: &str, quoted: bool) -> String {
    if quoted {
        return unescape_dquoted(raw);
    }
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('\n') | None => {}
                Some(n) => out.push(n),
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn unescape_dquoted(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.peek() {
                Some('$' | '`' | '"' | '\\') => {
                    if let Some(n) = chars.next() {
                        out.push(n);
                    }
                }
                Some('\n') => {
                    chars.next();
                }
                _ => out.push(c),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Decodes `$'…'` escapes (`\x72`, `\162`, `\n`, `\u0072`).
pub fn ansi_c(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let chars: Vec<char> = raw.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c != '\\' || i + 1 >= chars.len() {
            out.push(c);
            i += 1;
            continue;
        }
        let n = chars[i + 1];
        i += 2;
        let radix_digits = |i: &mut usize, radix: u32, max: usize| -> Option<char> {
            let mut v = 0u32;
            let mut k = 0;
            while k < max && *i < chars.len() && chars[*i].is_digit(radix) {
                v = v * radix + chars[*i].to_digit(radix).unwrap_or(0);
                *i += 1;
                k += 1;
            }
            if k == 0 { None } else { char::from_u32(v) }
        };
        match n {
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            'a' => out.push('\u{7}'),
            'b' => out.push('\u{8}'),
            'e' | 'E' => out.push('\u{1b}'),
            'f' => out.push('\u{c}'),
            'v' => out.push('\u{b}'),
            '\\' => out.push('\\'),
            '\'' => out.push('\''),
            '"' => out.push('"'),
            'x' => match radix_digits(&mut i, 16, 2) {
                Some(ch) => out.push(ch),
                None => out.push_str("\\x"),
            },
            'u' => match radix_digits(&mut i, 16, 4) {
                Some(ch) => out.push(ch),
                None => out.push_str("\\u"),
            },
            'U' => match radix_digits(&mut i, 16, 8) {
                Some(ch) => out.push(ch),
                None => out.push_str("\\U"),
            },
            '0'..='7' => {
                i -= 1;
                match radix_digits(&mut i, 8, 3) {
                    Some(ch) => out.push(ch),
                    None => out.push('\\'),
                }
            }
            other => {
                out.push('\\');
                out.push(other);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(cmd: &str) -> Vec<String> {
        normalize(
            cmd,
            Env {
                cwd: "/p",
                home: Some("/home/u"),
            },
        )
        .commands
        .iter()
        .map(|e| e.display())
        .collect()
    }

    #[test]
    fn peels_wrappers_and_quotes() {
        assert_eq!(
            names("sudo -E -u root /bin/rm -rf ~"),
            vec!["sudo → rm -rf ~"]
        );
        assert_eq!(names("'r''m' -rf \"$HOME\""), vec!["rm -rf /home/u"]);
        assert_eq!(names("\\rm -rf ${HOME}"), vec!["rm -rf /home/u"]);
        assert_eq!(names("rm${IFS}-rf${IFS}/"), vec!["rm -rf /"]);
        assert_eq!(names("$'\\x72\\x6d' -rf /"), vec!["rm -rf /"]);
        assert_eq!(
            names("env FOO=1 timeout 5 nice -n 10 rm -rf /"),
            vec!["env → timeout → nice → rm -rf /"]
        );
    }

    #[test]
    fn reparses_code_handed_to_shells() {
        let n = names("bash -c 'sudo rm -rf /'");
        assert!(n.contains(&"bash -c → sudo → rm -rf /".to_owned()), "{n:?}");
        let n = names("echo 'rm -rf /' | sh");
        assert!(n.iter().any(|s| s == "sh <stdin → rm -rf /"), "{n:?}");
        let n = names("cat <<EOF | bash\nrm -rf /\nEOF");
        assert!(n.iter().any(|s| s == "bash <stdin → rm -rf /"), "{n:?}");
        let n = names("X=/; eval \"rm -rf $X\"");
        assert!(n.iter().any(|s| s == "eval → rm -rf /"), "{n:?}");
        let n = names("echo cm0gLXJmIC8= | base64 -d | sh");
        assert!(n.iter().any(|s| s == "sh <stdin → rm -rf /"), "{n:?}");
    }

    #[test]
    fn find_and_xargs() {
        let n = names("find / -delete");
        assert!(n.iter().any(|s| s == "find -delete → rm -r -f /*"), "{n:?}");
        let n = names("find ~ -exec rm -rf {} +");
        assert!(n.iter().any(|s| s == "find -exec → rm -rf ~/*"), "{n:?}");
        let n = names("echo / | xargs rm -rf");
        assert!(n.iter().any(|s| s == "xargs → rm -rf /"), "{n:?}");
    }
}
