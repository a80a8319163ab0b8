//! What a plain command prints, as far as a consumer downstream can use it
//! (`echo`, `printf`, `base64 -d`, `dirname`, `ls` …).

use super::fanout::contents_of;
use super::*;

impl Walker<'_> {
    /// What a plain command writes to stdout, as far as is useful to a consumer.
    pub(super) fn output_of(&self, e: &Effective) -> Output {
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
            "pwd" => out.text = Some(format!("{}\n", self.env.cwd)),
            "git" if e.args.iter().any(|a| a.text == "--show-toplevel") => {
                out.text = Some(format!("{}\n", self.env.cwd))
            }
            // The repository's own directory: deleting it is deleting the project's history.
            "git"
                if e.args
                    .iter()
                    .any(|a| a.text == "--git-dir" || a.text == "--absolute-git-dir") =>
            {
                out.text = Some(format!("{}/.git\n", self.env.cwd.trim_end_matches('/')))
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
            // `tr 'a-z' 'n-za-m'` (rot13 and other substitutions), `tr -d SET`: known text
            // stays known, so a decoded payload piped on into a shell is judged.
            "tr" if !positionals.is_empty() => {
                out.text = stdin_text.and_then(|t| translate(&e.args, &t));
            }
            // `-` names standard input.
            "cat" | "tee" | "tr"
                if positionals.iter().all(|w| w.text == "-") || e.name == "tee" =>
            {
                out.text = stdin_text;
                out.items = e.stdin.as_ref().and_then(|s| s.items.clone());
            }
            // `cat FILE…` of files this line wrote (`printf … > f && bash -c "$(cat f)"`).
            "cat" if positionals.len() == e.args.len() => {
                out.text = positionals
                    .iter()
                    .map(|f| self.written_text(&f.text))
                    .collect();
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
            // An interpreter whose inline program only prints literals prints known text:
            // `python3 -c "print('rm -rf ~')" | sh` runs what it prints.
            name if crate::interp::language(name).is_some() => {
                out.text = interpreter_prints(name, &e.args);
            }
            // `docker run curlimages/curl -s URL`: what it prints came from the network.
            "docker" | "podman" | "nerdctl" if super::containers::downloads(&e.args) => {
                out.producers.push("curl".to_owned());
            }
            "which" | "type" => {
                out.text = positionals
                    .first()
                    .map(|w| format!("/usr/bin/{}\n", w.text));
            }
            // `command -v NAME` / `command -V NAME` look a command up like `which`: what
            // they print is its path (`chmod 000 $(command -v lighthouse)`).
            "command"
                if e.args.iter().any(|w| {
                    w.text.len() > 1
                        && w.text.starts_with('-')
                        && w.text[1..].chars().all(|c| matches!(c, 'p' | 'v' | 'V'))
                        && w.text[1..].contains(['v', 'V'])
                }) =>
            {
                out.text = positionals
                    .first()
                    .map(|w| format!("/usr/bin/{}\n", w.text));
            }
            _ => {}
        }
        // A process lookup's options are what it selects by (`pgrep -u dev` is every
        // process of a user): a `kill $(pgrep …)` reads all its words, not its operands only.
        let read: Vec<&Word> = if matches!(e.name.as_str(), "pgrep" | "pidof") {
            e.args.iter().collect()
        } else {
            positionals
        };
        for w in read {
            out.paths.push(w.clone());
        }
        if let Some(s) = &e.stdin {
            out.paths.extend(s.paths.iter().cloned());
        }
        out
    }
}

/// What `name ARGS` prints when it is an interpreter whose inline program only prints
/// literals (see [`printed_literals`]).
pub(super) fn interpreter_prints(name: &str, args: &[Word]) -> Option<String> {
    let lang = crate::interp::language(name)?;
    let (Some(code), _) = crate::interp::code_arg(lang, args) else {
        return None;
    };
    if code.is_dynamic() {
        return None;
    }
    // `node -p '"rm -rf ~"'`: the value of the expression is printed.
    if lang == crate::interp::Lang::Node
        && args
            .iter()
            .take_while(|w| w.text.starts_with('-'))
            .any(|w| w.text == "--print" || is_short_cluster_with(&w.text, 'p'))
    {
        let body = code.text.trim().trim_end_matches(';').trim_end();
        let quote = body
            .chars()
            .next()
            .filter(|q| matches!(q, '\'' | '"' | '`'))?;
        let (literal, after) = quoted(&body[1..], quote)?;
        if !after.is_empty() || (quote == '`' && literal.contains("${")) {
            return None;
        }
        return Some(format!("{}\n", ansi_c(literal)));
    }
    printed_literals(lang, &code.text)
}

/// Most statements a printing program is read for.
const MAX_PRINTS: usize = 64;

/// What an inline program prints when it is nothing but prints of string literals
/// (`print('x')`, `console.log("x")`, `puts 'x'`, `print "x\n"`, awk's
/// `BEGIN { print "x" }`), with each statement's newline; `None` for anything else.
fn printed_literals(lang: crate::interp::Lang, code: &str) -> Option<String> {
    use crate::interp::Lang;
    let mut body = code.trim();
    if lang == Lang::Awk {
        body = body.strip_prefix("BEGIN")?.trim_start();
        body = body.strip_prefix('{')?.strip_suffix('}')?;
    }
    let mut text = String::new();
    let mut rest = body.trim_start();
    for _ in 0..MAX_PRINTS {
        rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == ';');
        if rest.is_empty() {
            return Some(text);
        }
        let (newline, after) = [
            ("console.log", true),
            ("process.stdout.write", false),
            (
                "print",
                !matches!(lang, Lang::Perl | Lang::Ruby | Lang::Php),
            ),
            ("puts", true),
            ("say", true),
            ("echo", false),
        ]
        .into_iter()
        .find_map(|(f, nl)| Some((nl, rest.strip_prefix(f)?)))?;
        let after = after.trim_start();
        let (parens, after) = match after.strip_prefix('(') {
            Some(a) => (true, a.trim_start()),
            None => (false, after),
        };
        let quote = after.chars().next().filter(|q| matches!(q, '\'' | '"'))?;
        let (literal, after) = quoted(&after[1..], quote)?;
        // Single quotes keep backslashes in Perl, Ruby and PHP; elsewhere escapes apply.
        let raw = quote == '\'' && matches!(lang, Lang::Perl | Lang::Ruby | Lang::Php);
        text.push_str(&if raw {
            literal.to_owned()
        } else {
            ansi_c(literal)
        });
        if newline {
            text.push('\n');
        }
        rest = after.trim_start();
        if parens {
            rest = rest.strip_prefix(')')?;
        }
    }
    None
}

/// The literal up to the closing `quote` (backslash escapes skipped), and what follows.
fn quoted(s: &str, quote: char) -> Option<(&str, &str)> {
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            _ if c == quote => return Some((&s[..i], &s[i + 1..])),
            _ => {}
        }
    }
    None
}

/// The characters of a `tr` set: ranges (`a-z`) and a few escapes expanded, at most 512.
/// `None` for classes (`[:alpha:]`), equivalences and anything longer.
fn tr_set(set: &str) -> Option<Vec<char>> {
    if set.contains("[:") || set.contains("[=") || set.contains('[') {
        return None;
    }
    let mut raw: Vec<char> = Vec::new();
    let mut it = set.chars().peekable();
    while let Some(c) = it.next() {
        if c == '\\' {
            raw.push(match it.next()? {
                'n' => '\n',
                't' => '\t',
                'r' => '\r',
                '\\' => '\\',
                _ => return None,
            });
        } else {
            raw.push(c);
        }
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < raw.len() {
        if i + 2 < raw.len() && raw[i + 1] == '-' {
            let (a, b) = (raw[i] as u32, raw[i + 2] as u32);
            if b < a || b - a > 255 {
                return None;
            }
            out.extend((a..=b).filter_map(char::from_u32));
            i += 3;
        } else {
            out.push(raw[i]);
            i += 1;
        }
        if out.len() > 512 {
            return None;
        }
    }
    Some(out)
}

/// What `tr ARGS` prints for `text`: substitution (the last character of SET2 repeats)
/// or `-d` deletion; `None` for options it does not model.
fn translate(args: &[Word], text: &str) -> Option<String> {
    let mut delete = false;
    let mut sets: Vec<&str> = Vec::new();
    for a in args {
        let t = a.text.as_str();
        if a.is_dynamic() {
            return None;
        }
        match t {
            "-d" | "--delete" => delete = true,
            "--" => {}
            _ if t.starts_with('-') && t.len() > 1 => return None,
            _ => sets.push(t),
        }
    }
    match (delete, sets.as_slice()) {
        (true, [s1]) => {
            let s1 = tr_set(s1)?;
            Some(text.chars().filter(|c| !s1.contains(c)).collect())
        }
        (false, [s1, s2]) => {
            let (s1, s2) = (tr_set(s1)?, tr_set(s2)?);
            let last = *s2.last()?;
            Some(
                text.chars()
                    .map(|c| match s1.iter().rposition(|x| *x == c) {
                        Some(p) => s2.get(p).copied().unwrap_or(last),
                        None => c,
                    })
                    .collect(),
            )
        }
        _ => None,
    }
}
