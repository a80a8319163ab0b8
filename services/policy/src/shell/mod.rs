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
pub use crate::word::{DYN, Word, shown};
use std::cell::RefCell;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tree_sitter::{Node, Parser, Tree};

mod bounds;
mod commands;
mod containers;
mod fanout;
mod fetched;
mod launchers;
mod links;
mod nested;
mod output;
mod plain;
mod runners;
mod text;
mod toolcode;
mod walk;
mod words;
mod wrappers;

use plain::Plain;
use text::*;
pub use text::{ansi_c, command_name};

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
/// Most syntax trees kept for re-use within one call.
const MAX_CACHED_TREES: usize = 16;
/// Deepest syntax tree we walk.
const MAX_TREE_DEPTH: usize = 200;
/// Parse time budget per call.
const PARSE_BUDGET: Duration = Duration::from_millis(20 * BUILD_SLOWNESS);
/// Whole-analysis time budget per call (parses included).
const WALK_BUDGET: Duration = Duration::from_millis(50 * BUILD_SLOWNESS);
/// How much slower this build analyses than a release build: an unoptimised one (the
/// tests') is 10–20× slower, so its time budgets scale with it, and a verdict the bounds
/// reach in release (a deny found deep in padding) does not hang on how busy the
/// machine running the tests is.
const BUILD_SLOWNESS: u64 = if cfg!(debug_assertions) { 10 } else { 1 };

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
    /// Production names the upstream commands named: what flows in is their result
    /// (`kubectl get pods -n prod -o name | xargs kubectl delete`).
    pub named: Vec<String>,
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
    /// Text this command writes into files (redirected or `tee`d output), when known:
    /// what `echo '…' >> ~/.bashrc` plants.
    pub printed: Option<String>,
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

/// The bodies of the `alias name=body` lines in `text` (one layer of quotes removed):
/// what running `name` later runs.
pub fn alias_bodies(text: &str) -> impl Iterator<Item = &str> {
    text.lines().filter_map(|line| {
        let rest = line.trim_start().strip_prefix("alias ")?;
        let body = rest.split_once('=')?.1.trim();
        let unquoted = ['\'', '"']
            .iter()
            .find_map(|q| body.strip_prefix(*q)?.strip_suffix(*q));
        Some(unquoted.unwrap_or(body))
    })
}

/// Commands that fetch content from the network.
pub const DOWNLOADERS: &[&str] = &[
    "curl", "wget", "aria2c", "fetch", "http", "https", "httpie", "xh",
];

/// The result of normalising one command string.
#[derive(Debug, Clone, Default, PartialEq)]
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
    normalize_with(command, env, true).0
}

/// [`normalize`], optionally without the fast path for plain lines; also returns the
/// syntax nodes counted against [`MAX_NODES`] (the fast path must count alike).
fn normalize_with(command: &str, env: Env<'_>, fast_path: bool) -> (Normalized, usize) {
    let mut w = Walker {
        fast_path,
        env,
        out: Vec::new(),
        parse_error: false,
        over_bound: None,
        nodes: 0,
        vars: HashMap::new(),
        origins: HashMap::new(),
        started: Instant::now(),
        cwd: None,
        files: HashMap::new(),
        recorded: HashMap::new(),
        functions: HashMap::new(),
        calling: Vec::new(),
        calls: 0,
        trees: HashMap::new(),
        cloned: Vec::new(),
        traps: Vec::new(),
        deeper: Vec::new(),
        past_depth: None,
        env_chdir: false,
        links: Vec::new(),
        copies: Vec::new(),
    };
    // Over the size bound, the prefix is still read for denies ([`bounds`]).
    w.run_script(bounds::bounded_prefix(command), &Ctx::default(), 0);
    w.run_traps();
    w.walk_deeper();
    if command.len() > MAX_INPUT {
        w.bound("command longer than the bound");
    }
    let nodes = w.nodes;
    (
        Normalized {
            commands: w.out,
            parse_error: w.parse_error,
            over_bound: w.over_bound.or(w.past_depth),
        },
        nodes,
    )
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

impl Ctx {
    /// A redirect of the command; `< file` also makes the file its stdin (with the
    /// text `written` earlier in the line, when the file was).
    fn add_redirect(&mut self, rd: Redirect, written: Option<&Written>) {
        if rd.kind == RedirectKind::Read {
            // `< <(curl …)`: the file is another command's output, and that command
            // is what the reader consumes (`bash < <(curl …)` runs downloaded code).
            let mut producers = vec!["file".to_owned()];
            producers.extend(rd.target.subst.iter().cloned());
            if let Some(w) = written {
                producers.extend(w.producers.iter().cloned());
            }
            self.stdin = Some(Stdin {
                producers,
                text: rd
                    .target
                    .fed
                    .clone()
                    .or_else(|| written.and_then(|w| w.text.clone())),
                paths: vec![rd.target.clone()],
                ..Stdin::default()
            });
        }
        self.redirects.push(rd);
    }
}

struct Walker<'e> {
    env: Env<'e>,
    /// Plain lines may skip the parser (see the `plain` module).
    fast_path: bool,
    out: Vec<Effective>,
    parse_error: bool,
    over_bound: Option<String>,
    nodes: usize,
    vars: HashMap<String, String>,
    /// Unknown variables a known one was assigned from (`DB=$PROD_DATABASE_URL`): their
    /// names still say what the value targets, so they travel with its expansions.
    origins: HashMap<String, Vec<String>>,
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
    /// Syntax trees of the texts parsed so far in this call, by text.
    trees: HashMap<String, Tree>,
    /// Package scripts and git aliases this command line set up ([`runners`]).
    recorded: HashMap<(runners::Recorded, String), String>,
    /// Trees cloned earlier in this command line (`git clone URL DIR`), as `DIR/`.
    cloned: Vec<String>,
    /// `trap` bodies, walked when the line ends ([`Walker::run_traps`]).
    traps: Vec<nested::Trap>,
    /// Code nested past [`MAX_DEPTH`], walked again from the top ([`bounds`]).
    deeper: Vec<String>,
    /// Set when code was nested past [`MAX_DEPTH`] (a bound that does not stop the walk).
    past_depth: Option<String>,
    /// An `env -C DIR` moved the command being resolved ([`links`]).
    env_chdir: bool,
    /// Symbolic links made earlier in the line: link path → target ([`links`]).
    links: Vec<(String, String)>,
    /// Binaries copied or linked earlier in the line: new path → command ([`links`]).
    copies: Vec<(String, String)>,
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

/// At most this many production names travel from producers to a consumer.
const MAX_NAMED: usize = 4;

/// The production names `commands` named (their words, and what their own producers
/// named), at most [`MAX_NAMED`].
fn production_names(commands: &[Effective], mut into: Vec<String>) -> Vec<String> {
    for e in commands {
        let upstream = e.stdin.iter().flat_map(|s| s.named.iter());
        let words = e.args.iter().flat_map(|w| {
            std::iter::once(&w.text)
                .filter(|t| crate::targets::classify(t) == crate::targets::Target::Production)
                .chain(w.named.iter())
        });
        for n in words.chain(upstream) {
            if into.len() >= MAX_NAMED {
                return into;
            }
            if !into.contains(n) {
                into.push(n.clone());
            }
        }
    }
    into
}

impl Output {
    fn into_stdin(self) -> Stdin {
        Stdin {
            producers: self.producers,
            text: self.text,
            paths: self.paths,
            items: self.items,
            named: Vec::new(),
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
    "LIGHTHOUSE_CONFIG",
    "LIGHTHOUSE__STATE_DIR",
    "LIGHTHOUSE__NATS__URL",
    "LIGHTHOUSE__NATS__NKEY",
    "LIGHTHOUSE__NATS__CREDS",
    "LIGHTHOUSE__NATS__USER",
    "LIGHTHOUSE__NATS__PASSWORD",
    "LIGHTHOUSE__TRUST__ADMIN_KEYS",
    "GEMINI_CLI_HOME",
    "CODEX_HOME",
];

/// Variables that move where a program keeps its settings and state: for an agent
/// client or the hook they choose the hooks and the guard's state dir it loads
/// (`XDG_STATE_HOME=… claude -p …`); for anything else they are harmless.
const AGENT_HOME_VARS: &[&str] = &["HOME", "XDG_STATE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME"];

const SHELLS: &[&str] = &[
    "sh", "bash", "zsh", "dash", "ksh", "ash", "mksh", "fish", "csh", "tcsh", "yash", "rbash",
];

fn is_shell(name: &str) -> bool {
    SHELLS.contains(&name)
}

/// Where the command of `docker exec …` / `docker compose run …` / `kubectl exec … -- …`
/// starts, and the container, service, compose file, pod, namespace or context it runs
/// in (as a context variable).
fn exec_target(name: &str, rest: &[Word]) -> Option<(usize, (String, String))> {
    let at = rest
        .iter()
        .take(10)
        .position(|w| w.text == "exec" || w.text == "run")?;
    if matches!(name, "kubectl" | "oc") {
        if rest[at].text != "exec" {
            return None;
        }
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
    // docker [--context X] [compose [-f FILE] [-p NAME]] [container] exec|run [options]
    // CONTAINER cmd…: the compose file and project name say which environment it is.
    let mut context: Vec<&str> = Vec::new();
    let mut compose = name.ends_with("-compose");
    let mut i = 0;
    while i < at {
        let t = rest[i].text.as_str();
        match t {
            "compose" => compose = true,
            "container" => {}
            "-f"
            | "--file"
            | "-p"
            | "--project-name"
            | "--env-file"
            | "--profile"
            | "--context"
            | "-c"
            | "-H"
            | "--host"
            | "--project-directory" => {
                context.extend(rest.get(i + 1).map(|w| w.text.as_str()));
                i += 1;
            }
            _ if t.starts_with('-') => {
                context.extend(t.split_once('=').map(|(_, v)| v));
            }
            _ => return None,
        }
        i += 1;
    }
    // A plain `docker run IMAGE cmd` runs in a fresh container (see `containers`); a
    // compose service's runs with the service's environment and volumes.
    if rest[at].text == "run" && !compose {
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
                | "--name"
                | "--entrypoint"
                | "-p"
                | "--publish"
                | "-v"
                | "--volume"
                | "-l"
                | "--label"
                | "--pull"
        );
        i += if takes { 2 } else { 1 };
    }
    let container = rest.get(i)?;
    if i + 1 >= rest.len() {
        return None;
    }
    context.push(&container.text);
    Some((i + 1, ("LH_CONTEXT_EXEC".to_owned(), context.join(" "))))
}

/// The tag of a command asked only for its help or version (`mkfs.ext4 --help`): it
/// changes nothing, so no rule that blocks matches it.
pub const HELP_ONLY: &str = "help_only";

/// `$@`, `$*`, `$1` …: set by whoever calls a function or script.
fn is_positional(name: &str) -> bool {
    matches!(name, "@" | "*" | "#") || (name.len() == 1 && name.as_bytes()[0].is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The effective commands of `cmd` in `/p`, home `/home/u` (shared by the shell's
    /// test modules).
    pub(super) fn commands(cmd: &str) -> Vec<Effective> {
        let env = Env {
            cwd: "/p",
            home: Some("/home/u"),
        };
        normalize(cmd, env).commands
    }

    pub(super) fn names(cmd: &str) -> Vec<String> {
        commands(cmd).iter().map(Effective::display).collect()
    }

    #[test]
    fn peels_wrappers_and_quotes() {
        assert_eq!(
            names("sudo -E -u root /bin/rm -rf ~"),
            vec!["sudo → rm -rf ~"]
        );
        assert_eq!(names("'r''m' -rf \"$HOME\""), vec!["rm -rf /home/u"]);
        assert_eq!(names("\\rm -rf ${HOME}"), vec!["rm -rf /home/u"]);
        assert_eq!(names("rm -rf \"${HOME:?}\""), vec!["rm -rf /home/u"]);
        assert_eq!(names("rm -rf ${HOME%/}/"), vec!["rm -rf /home/u/"]);
        assert_eq!(names("rm -rf \"${HOME%/*}\""), vec!["rm -rf /home"]);
        assert_eq!(
            names("rm -rf ${HOME:-/x} ${HOME:0:5}"),
            vec!["rm -rf /home/u /home"]
        );
        assert_eq!(names("rm${IFS}-rf${IFS}/"), vec!["rm -rf /"]);
        assert_eq!(names("[[ -d ~ ]] && rm -rf ~"), vec!["rm -rf ~/"]);
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
