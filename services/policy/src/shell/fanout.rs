//! Commands that run other commands over many inputs: `xargs` and `find -exec` /
//! `find -delete`.

use super::*;

/// Most xargs items (records or words of known input) judged one by one.
const MAX_ITEMS: usize = 64;

impl Walker<'_> {
    pub(super) fn xargs(
        &mut self,
        rest: &[Word],
        ctx: &Ctx,
        mut via: Vec<String>,
        tags: Vec<String>,
        depth: usize,
    ) -> Output {
        let _ = depth;
        // `xargs -a FILE`: the items are the file's words, not stdin's.
        let from_file = self.arg_file(rest);
        let ctx = from_file.as_ref().unwrap_or(ctx);
        let mut i = 0;
        let mut replace: Option<String> = None;
        let mut separator: Option<char> = None;
        // `-P 0`: as many processes at once as there are items.
        let mut unlimited = false;
        while i < rest.len() {
            let t = rest[i].text.as_str();
            let procs = match t {
                "-P" | "--max-procs" => rest.get(i + 1).map(|w| w.text.as_str()),
                _ => t.strip_prefix("--max-procs=").or(t.strip_prefix("-P")),
            };
            unlimited |= procs == Some("0");
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
                .take(MAX_ITEMS + 1)
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
                                .take(MAX_ITEMS + 1)
                                .map(Word::lit)
                                .collect()
                        })
                    })
                })
            })
            .filter(|v: &Vec<Word>| !v.is_empty())
            .unwrap_or_else(|| vec![Word::lit(DYN.to_string())]);
        // Items past those judged are never passed over as harmless.
        if items.len() > MAX_ITEMS {
            self.bound("xargs input longer than is read");
            return Output::default();
        }
        // The items are the upstream commands' output (`curl … | xargs -0 bash -c`).
        let producers: Vec<String> = ctx
            .stdin
            .as_ref()
            .map(|s| s.producers.clone())
            .unwrap_or_default();
        let named: &[String] = ctx.stdin.as_ref().map_or(&[], |s| &s.named);
        // Pids a process lookup printed (`pgrep -u dev | xargs kill`): its words say
        // which processes, as they do for `kill $(pgrep -u dev)`.
        let looked_up: Vec<String> = match &ctx.stdin {
            Some(s) if s.producers.iter().any(|p| p == "pgrep" || p == "pidof") => {
                s.paths.iter().map(|p| p.text.clone()).collect()
            }
            _ => Vec::new(),
        };
        let items: Vec<Word> = items
            .into_iter()
            .map(|mut w| {
                for p in &producers {
                    if !w.subst.contains(p) {
                        w.subst.push(p.clone());
                    }
                }
                for n in named {
                    if !w.named.contains(n) {
                        w.named.push(n.clone());
                    }
                }
                for r in &looked_up {
                    if !w.inputs.contains(r) {
                        w.inputs.push(r.clone());
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
        // Unlimited processes over endless input (`yes | xargs -P 0 …`): a fork bomb.
        if unlimited && ctx.stdin.as_ref().is_some_and(endless) {
            tags.push("fork_loop".to_owned());
        }
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

    /// `xargs -a FILE` / `--arg-file=FILE` of known text (`<(echo …)`, a file this line
    /// wrote): a context whose standard input is that text.
    fn arg_file(&self, rest: &[Word]) -> Option<Ctx> {
        let at = rest.iter().position(|w| {
            w.text == "-a" || w.text == "--arg-file" || w.text.starts_with("--arg-file=")
        })?;
        let file = match rest[at].text.strip_prefix("--arg-file=") {
            Some(f) => Word::lit(f),
            None => rest.get(at + 1)?.clone(),
        };
        let text = file.fed.clone().or_else(|| self.written_text(&file.text))?;
        Some(Ctx {
            stdin: Some(Stdin {
                producers: file.subst.clone(),
                text: Some(text),
                paths: vec![file],
                ..Stdin::default()
            }),
            ..Ctx::default()
        })
    }

    pub(super) fn find(
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
        // `! -name .` (or `-not -name .`) leaves out only the starting point: it narrows
        // nothing below it.
        let tests: Vec<Word> = {
            let mut v: Vec<Word> = Vec::new();
            let all = &rest[i..];
            let mut k = 0;
            while k < all.len() {
                if matches!(all[k].text.as_str(), "!" | "-not")
                    && all.get(k + 1).is_some_and(|w| w.text == "-name")
                    && all
                        .get(k + 2)
                        .is_some_and(|w| w.text == "." || w.text == "./")
                {
                    k += 3;
                    continue;
                }
                v.push(all[k].clone());
                k += 1;
            }
            v
        };
        // With a narrowing test (`-name`, `-mtime`, …) find reaches some entries below
        // each root; without one (`-type f` does not narrow much) it reaches everything.
        let filtered = tests.iter().any(|w| {
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
        // `-name PATTERN` tests (alternatives included) say what is reached: `./*.pyc`.
        let names: Vec<&str> = tests
            .windows(2)
            .filter(|w| matches!(w[0].text.as_str(), "-name" | "-iname"))
            .map(|w| w[1].text.as_str())
            .filter(|n| !n.contains('/') && !n.is_empty())
            .take(8)
            .collect();
        // `-not -name X` reaches everything but X: the names no longer say what is reached.
        let negated = tests.windows(2).any(|w| {
            matches!(w[0].text.as_str(), "!" | "-not")
                && matches!(w[1].text.as_str(), "-name" | "-iname")
        });
        let empty_only = tests.iter().any(|w| w.text == "-empty") && names.is_empty();
        let mut contents: Vec<Word> = Vec::new();
        for r in &roots {
            let base = r.text.trim_end_matches('/');
            if filtered && !names.is_empty() && !negated {
                for n in &names {
                    contents.push(Word {
                        text: format!("{base}/{n}"),
                        ..r.clone()
                    });
                }
            } else if filtered && empty_only {
                // Empty directories and files: nothing is lost.
                contents.push(Word {
                    text: format!("{base}/[empty]"),
                    ..r.clone()
                });
            } else if filtered {
                contents.push(matches_in(r));
            } else {
                contents.push(contents_of(r));
            }
        }
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
pub(super) fn matches_in(w: &Word) -> Word {
    let t = w.text.trim_end_matches('/');
    Word {
        text: format!("{t}/[match]"),
        ..w.clone()
    }
}

/// `dir` → `dir/*`: what a listing of `dir` yields.
/// Input that never ends: `yes`, or a read of `/dev/zero` or `/dev/urandom`.
fn endless(stdin: &Stdin) -> bool {
    stdin.producers.iter().any(|p| p == "yes")
        || stdin.paths.iter().any(|p| {
            matches!(
                p.text.as_str(),
                "/dev/zero" | "/dev/urandom" | "/dev/random"
            )
        })
}

pub(super) fn contents_of(w: &Word) -> Word {
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
