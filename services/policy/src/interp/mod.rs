//! Interpreter one-liners (`python -c`, `perl -e`, `node -e`, `ruby -e`, `php -r`,
//! `awk 'BEGIN{system(…)}'`) and encoded payloads.
//!
//! A grammar per language would not pay here: one-liners are short and the dangerous
//! calls are few and well known. We match those calls and turn them into what a shell
//! would have run: `shutil.rmtree('/')` becomes `rm -r -f /`, `os.system("…")` hands its
//! string back to the shell normaliser, so the same rules judge both.

mod analyze;
mod args;
mod links;
mod normalize;
mod patterns;
mod strings;

pub use analyze::{analyze, warm};
pub use patterns::RUNS_STDIN;

pub use crate::interp_literals::{b64_decode, hex_decode};
use crate::twin_regex::TwinRegex;
use crate::word::Word;
use regex::Regex;

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
        Lang::Perl => &['I', 'M', 'm', 'x'],
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
    // `perl -MLWP::Simple -e 'eval get(…)'`, `ruby -ropen-uri -e …`: modules loaded by a
    // flag are part of the program, as if it began with `use`/`require`.
    let mut modules: Vec<String> = Vec::new();
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
                let value = if consumed_next {
                    rest.get(i + 1).map_or("", |w| w.text.as_str())
                } else {
                    after
                };
                match (lang, ch) {
                    (Lang::Perl, 'M' | 'm') => modules.push(format!("use {value};")),
                    (Lang::Ruby, 'r') => modules.push(format!("require '{value}'")),
                    _ => {}
                }
                break;
            }
        }
        i += if consumed_next { 2 } else { 1 };
    }
    if !codes.is_empty() {
        let mut w = Word {
            text: modules.join("\n"),
            ..Word::default()
        };
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modules_loaded_by_flag_are_part_of_the_program() {
        let words = |args: &[&str]| args.iter().map(|a| Word::lit(*a)).collect::<Vec<_>>();
        let (code, _) = code_arg(Lang::Perl, &words(&["-MLWP::Simple", "-e", "eval get($u)"]));
        assert_eq!(
            code.map(|w| w.text),
            Some("use LWP::Simple;\neval get($u)".into())
        );
        let (code, _) = code_arg(Lang::Perl, &words(&["-M", "POSIX", "-le", "print 1"]));
        assert_eq!(code.map(|w| w.text), Some("use POSIX;\nprint 1".into()));
        let (code, _) = code_arg(Lang::Ruby, &words(&["-ropen-uri", "-e", "puts 1"]));
        assert_eq!(
            code.map(|w| w.text),
            Some("require 'open-uri'\nputs 1".into())
        );
        let (code, _) = code_arg(Lang::Python, &words(&["-W", "ignore", "-c", "print(1)"]));
        assert_eq!(code.map(|w| w.text), Some("print(1)".into()));
    }
}
