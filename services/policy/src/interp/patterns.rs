//! The calls looked for in interpreter code, as patterns (removals, writes, network,
//! shells, fork bombs, code run from text), and the bounded search for them. Separate so
//! the catalogue of dangerous calls reads as one list, apart from what is done with a match
//! ([`super::analyze`](mod@super::analyze)).

use super::strings::in_literal;
use super::{Effects, MAX_CALLS, OVER_BOUND, static_regex};
use crate::twin_regex::TwinRegex;
use std::sync::LazyLock;

pub(super) static HOME_EXPR: LazyLock<TwinRegex> = LazyLock::new(|| {
    static_regex(
        r#"os\.environ\[\s*['"]HOME['"]\s*\]|os\.environ\.get\(\s*['"]HOME['"]\s*\)|(?:os\.)?getenv\(\s*['"]HOME['"]\s*\)|Path\.home\(\)|(?:require\(\s*['"]os['"]\s*\)|os)\.homedir\(\)|process\.env\.HOME|process\.env\[\s*['"]HOME['"]\s*\]|\$ENV\{\s*['"]?HOME['"]?\s*\}|ENV\[\s*['"]HOME['"]\s*\]|Dir\.home|\$_SERVER\[\s*['"]HOME['"]\s*\]"#,
    )
});

/// The working directory (`os.getcwd()`, `process.cwd()`, `Dir.pwd`): the project.
pub(super) static CWD_EXPR: LazyLock<TwinRegex> = LazyLock::new(|| {
    static_regex(
        r#"\bos\.getcwdb?\(\)|Path\.cwd\(\)|process\.cwd\(\)|Dir\.(?:pwd|getwd)\b|\bgetcwd\(\)|Deno\.cwd\(\)|os\.environ\[\s*['"]PWD['"]\s*\]|process\.env\.PWD\b|\$ENV\{\s*['"]?PWD['"]?\s*\}"#,
    )
});

/// Calls that hand one string to a shell (Lua's `os.execute`, not a database cursor's
/// `execute`, whose string is SQL).
pub(super) static SHELL_CALL: LazyLock<TwinRegex> = LazyLock::new(|| {
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
pub(super) fn calls_in<'c>(
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
pub(super) fn runs_coroutines(before: &str) -> bool {
    ["asyncio.", "trio.", "anyio.", "uvloop."]
        .iter()
        .any(|m| before.ends_with(m))
}

pub(super) static RM_RECURSIVE: LazyLock<TwinRegex> = LazyLock::new(|| {
    static_regex(
        r"\b(?:rmtree|remove_tree|rm_rf|rm_r|remove_dir|rmSync|rmdirSync|rimraf|removeSync|emptyDirSync|fs\.rm|fs\.promises\.rm|fsPromises\.rm|require\(\s*['\x22](?:node:)?fs(?:/promises)?['\x22]\s*\)\.(?:promises\.)?rm(?:Sync)?|rmdir|Deno\.remove|FileUtils\.rm|os\.RemoveAll)\s*\(?",
    )
});

pub(super) static RM_FILE: LazyLock<TwinRegex> = LazyLock::new(|| {
    static_regex(
        r"\b(?:os\.remove|os\.unlink|unlink|unlinkSync|File\.delete|remove|\.unlink)\s*\(?",
    )
});

pub(super) static CHMOD_CALL: LazyLock<TwinRegex> = LazyLock::new(|| {
    static_regex(
        r"(?:\b(?:os\.l?chmod|File\.chmod|FileUtils\.chmod(?:_R)?|chmod)|\.chmod(?:Sync)?)\s*\(",
    )
});

/// Code that walks a directory tree: a call on each entry reaches the whole tree.
pub(super) static TREE_WALK: LazyLock<TwinRegex> = LazyLock::new(|| {
    static_regex(
        r"\bos\.walk\(|\.rglob\(|\bglob\([^)]*\*\*|readdirSync\([^)]*recursive|\bFind\.find\b|File::Find|Dir\.glob\([^)]*\*\*|RecursiveDirectoryIterator|\bwalkdir\b",
    )
});

pub(super) static WRITE_CALL: LazyLock<TwinRegex> = LazyLock::new(|| {
    static_regex(
        r#"\b(?:writeFileSync|appendFileSync|writeFile|appendFile|file_put_contents|write_text|write_bytes|File\.write|IO\.write|createWriteStream)\s*\("#,
    )
});

pub(super) static OPEN_CALL: LazyLock<TwinRegex> =
    LazyLock::new(|| static_regex(r#"\b(?:open|File\.open|fopen)\s*\("#));

pub(super) static NET: LazyLock<TwinRegex> = LazyLock::new(|| {
    static_regex(
        r"\b(?:requests\.|urllib|urlopen|http\.client|httplib|socket\.|socket\(|fetch\(|axios|https?\.request|https?\.get|Net::HTTP|LWP::|HTTP::Tiny|curl_exec|curl_init|IO::Socket|TCPSocket|net\.connect|net\.Socket|websocket|smtplib|ftplib|paramiko|require\(\s*['\x22](?:node:)?net['\x22]\s*\)|\bnet\.Dial\b|http\.Post|http\.NewRequest|\bhttr::|\bdownload\.file\(|\burl\(\s*['\x22]https?:|require\(\s*['\x22](?:node:)?https?['\x22]\s*\)|file_get_contents\(\s*['\x22]https?:|XMLHttpRequest|Invoke-WebRequest|open-uri|URI\.open|URI\(|\bopen\(\s*['\x22]https?:)",
    )
});

pub(super) static UPLOAD: LazyLock<TwinRegex> = LazyLock::new(|| {
    static_regex(
        r"(?i)\b(?:requests\.(?:post|put|patch)|method\s*[:=]\s*['\x22](?:post|put|patch|delete)|\.post\(|\.put\(|sendall|\.send\(|\.write\(|\.end\([^)]|CURLOPT_POSTFIELDS|urlopen\([^)]*data|Request\([^)]*data)",
    )
});

/// A signal sent to process -1 (all processes): `os.kill(-1, …)`, `kill(9, -1)`.
pub(super) static KILL_ALL: LazyLock<TwinRegex> =
    LazyLock::new(|| static_regex(r"\b(?:killpg|kill)\s*\(?\s*(?:-1\b|[^,()\n]{1,24},\s*-1\b)"));

/// The whole environment (not one named variable) as a value.
pub(super) static ENV_DUMP: LazyLock<TwinRegex> = LazyLock::new(|| {
    static_regex(
        r"os\.environ\b[^\[.]|os\.environ\)|os\.environ$|dict\(os\.environ|process\.env\b[^.\[]|process\.env\)|%ENV\b|\bENV\.to_h|getenv\(\)|\$_ENV\b[^\[]|\$_SERVER\b[^\[]",
    )
});

pub(super) static FORK_LOOP: LazyLock<TwinRegex> = LazyLock::new(|| {
    static_regex(
        r"\bfork\b[^;\n]*\bwhile\s*\(?\s*(1|true|True)\b|\bwhile\s*\(?\s*(1|true|True)\s*\)?\s*[:{]?\s*(os\.)?fork\s*\(|\bloop\s*\{?\s*fork\b|\bwhile\s*\(?\s*(os\.|pcntl_|process\.)?fork\b",
    )
});

/// A loop that never ends on its own (`while True:`, `loop {`, `for(;;)`).
pub(super) static ENDLESS: LazyLock<TwinRegex> = LazyLock::new(|| {
    static_regex(
        r"\bwhile\s*\(?\s*(1|true|True|!0)\s*\)?\s*[:{]?|\bloop\s*(\{|do\b)|\bfor\s*\(\s*;\s*;\s*\)|\biter\s*\(\s*int\s*,\s*1\s*\)|itertools\.count\(|\bwhile\s+fork\b|\bfork\s+while\b|\buntil\s+false\b",
    )
});

/// What turns an endless loop into a bomb: spawning processes or piling up memory.
pub(super) static BOMB_BODY: LazyLock<TwinRegex> = LazyLock::new(|| {
    static_regex(
        r"\bfork\b|pcntl_fork|\bProcess\s*\(|\bThread\s*\(|\bspawn\w*\s*\(|Popen\s*\(|child_process|\.start\s*\(\s*\)|\*\s*10\s*\*\*\s*\d|\b10\s*\*\*\s*[6-9]\b|\b2\s*\*\*\s*[2-9]\d\b|\bx\s*1e\d|\*\s*\d{7,}|Buffer\.alloc\(\s*\d{7,}|\bexec[lv]p?e?\s*\(",
    )
});

/// A loop with a literal count: `for _ in range(64)`, `range(10**9)`, `64.times`,
/// `(1..64)`, `for (i = 0; i < 64; i++)`. One of the groups is the count.
pub(super) static COUNTED_LOOP: LazyLock<TwinRegex> = LazyLock::new(|| {
    const COUNT: &str =
        r"int\(\s*\d+(?:\.\d+)?[eE]\d+\s*\)|\d[\d_]*(?:\.\d+)?(?:[eE]\d+)?(?:\s*\*\*\s*\d+)?";
    static_regex(&format!(
        r"\bfor\s+\w+\s+in\s+x?range\s*\(\s*(?:\d+\s*,\s*)?({COUNT})\s*[,)]|\b({COUNT})\s*\)?\s*\.times\b|\(\s*\d+\s*\.\.\.?\s*({COUNT})\s*\)|\bfor\s*\([^;)]*;\s*\$?\w+\s*<=?\s*({COUNT})\s*;"
    ))
});

/// A POSIX fork whose two processes both carry on (`os.fork()`, `pcntl_fork()`, Perl's
/// and Ruby's bare `fork`); not `cluster.fork()` nor Ruby's `fork { … }` (the child
/// runs the block and exits).
pub(super) static DOUBLING_FORK: LazyLock<TwinRegex> = LazyLock::new(|| {
    static_regex(r#"(?m)(?:\bos\.|\bpcntl_|(?:^|[^.\w'"]))fork\b\s*(?:\(\s*\)|;|$|\}|\])"#)
});

/// The fork's result is looked at (`pid = os.fork()`, `if os.fork() == 0`, `fork or
/// exec …`), or processes leave the loop (`exit`, `break`): a worker pool, not doubling.
pub(super) static FORK_TESTED: LazyLock<TwinRegex> = LazyLock::new(|| {
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
pub(super) fn counted_fork_bomb(code: &str) -> bool {
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
pub(super) static EXEC_SINK: LazyLock<TwinRegex> = LazyLock::new(|| {
    static_regex(
        r"\bexec\s*\(|\beval\s*[\(`]|\beval\s+[A-Za-z_$][\w:]*[\s(.]|\.then\(\s*eval\s*\)|new\s+Function\s*\(|\binstance_eval\b|\bFunction\s*\(\s*await",
    )
});

pub(super) static SOCKET: LazyLock<TwinRegex> = LazyLock::new(|| {
    static_regex(
        r"(?i)\bsocket\b|fsockopen|TCPSocket|IO::Socket|net\.Socket|net\.connect|Socket::|/dev/tcp/|/inet6?/tcp/|require\(\s*['\x22](?:node:)?net['\x22]\s*\)|\bnet\.Dial\b|\bsocketConnection\b",
    )
});

pub(super) static SPAWN_SHELL: LazyLock<TwinRegex> = LazyLock::new(|| {
    static_regex(
        r"/bin/(ba|z|da)?sh\b|\b(ba)?sh\s+-i\b|pty\.spawn|dup2|\bcmd\.exe\b|spawn\(\s*['\x22](ba)?sh|IO\.popen\s*\(\s*[a-z_]\w*\s*[,)]|\(\s*[a-z_]\w*\s*\|&\s*getline\s*\)",
    )
});

/// A pipe opened into a shell, whose input is then code: Perl's `open(P, "| sh")` and
/// `open(P, "|-", "sh")`, `popen("sh", "w")` in Ruby, Python, PHP and C-like code, awk's
/// `print … | "sh"`.
pub(super) static SHELL_PIPE: LazyLock<TwinRegex> = LazyLock::new(|| {
    static_regex(
        r#"\bopen\s*\(?\s*\w+\s*,\s*['"]\|\s*(?:/bin/)?(?:ba|z|da)?sh\b|['"]\|-['"]\s*,\s*['"](?:/bin/)?(?:ba|z|da)?sh['"]|popen\s*\(\s*['"](?:/bin/)?(?:ba|z|da)?sh['"]\s*,\s*['"]w|\|\s*"(?:/bin/)?(?:ba|z|da)?sh"|\|\s*"(?:/bin/)?(?:ba|z|da)?sh\s*-s?"\s*"#,
    )
});

/// Most literals of code that writes into a shell judged as the shell's input.
pub(super) const MAX_PIPED: usize = 8;

pub(super) static DECODE_EXEC: LazyLock<TwinRegex> = LazyLock::new(|| {
    static_regex(
        r"\b(?:exec|eval|compile|Function)\s*\(\s*(?:base64\.b64decode|b64decode|codecs\.decode|atob|Buffer\.from|base64_decode|decode_base64|Base64\.decode64|bytes\.fromhex|zlib\.decompress|unhexlify)|\beval\s*\(?\s*(?:base64_decode|decode_base64|gzinflate|str_rot13|MIME::Base64)|\bpack\s*\(\s*['\x22]H",
    )
});

/// Code that runs what it reads from standard input (`exec(sys.stdin.read())`, Perl's
/// `eval join "", <STDIN>`): a program fed on stdin, like `python3 -`.
pub(super) static STDIN_EXEC: LazyLock<TwinRegex> = LazyLock::new(|| {
    static_regex(
        r"\b(?:exec|eval|compile|Function)\b[^;\n]{0,40}(?:sys\.stdin|<STDIN>|<>|\$stdin|STDIN\.read|process\.stdin|readFileSync\(\s*(?:0|['\x22]/dev/stdin)|php://stdin|io\.read)",
    )
});

/// The tag of code that runs its standard input as code.
pub const RUNS_STDIN: &str = "runs_stdin";

/// Running a literal as code of the same language (`exec('…')`, Perl's `eval "…"`).
pub(super) static CODE_SINK: LazyLock<TwinRegex> =
    LazyLock::new(|| static_regex(r"\b(?:exec|eval)\s*(?:\(|\s)"));

/// `getattr(__import__('os'), 'system')` and `getattr(os, 'system')`: `os.system`.
pub(super) static GETATTR: LazyLock<TwinRegex> = LazyLock::new(|| {
    static_regex(
        r#"getattr\(\s*(?:__import__\(\s*['"](\w+)['"]\s*\)|(\w+))\s*,\s*['"](\w+)['"]\s*\)"#,
    )
});

/// `const {execSync: x} = require('child_process')`, `const x = require('child_process').execSync`:
/// `x(…)` is the named function.
pub(super) static JS_ALIAS: LazyLock<TwinRegex> = LazyLock::new(|| {
    static_regex(
        r"\b(exec|execSync|spawn|spawnSync|execFile|execFileSync|rm|rmSync)\s*:\s*([A-Za-z_$][\w$]*)|([A-Za-z_$][\w$]*)\s*=\s*require\(\s*['\x22](?:node:)?child_process['\x22]\s*\)\.(\w+)",
    )
});
