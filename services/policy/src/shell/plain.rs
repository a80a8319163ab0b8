//! A fast path for plain command lines (`git status`, `cargo test && git push`,
//! `ps aux | grep x`, `git commit -m 'fix it'`): words of letters, digits, globs and a
//! few safe punctuation marks, `{}` and `\;` (for `find -exec`), or whole single- or
//! double-quoted words of printable text with nothing to expand, joined by `|`, `&&`, `||` and `;`. Parsing one with
//! tree-sitter costs more than the rest of its analysis, and its syntax tree says
//! nothing the words do not: such a line is walked from its words, exactly as the tree
//! walk would (same commands, same stdin flows, same node counts for the bounds).
//! Anything else (`$`, escapes, redirects, brackets, newlines, assignments, keywords,
//! quotes inside a word) takes the parser. A test walks the corpus and generated lines
//! both ways and compares.

use super::*;

/// One word of a plain line: its text after quote removal, and how many syntax nodes
/// the tree has for it (a double-quoted word is a `string` around a `string_content`,
/// unless it holds only blanks).
#[derive(Debug, Clone, Copy, PartialEq)]
struct PlainWord<'t> {
    text: &'t str,
    nodes: usize,
    quoted: bool,
}

/// One token of a plain line.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Tok<'t> {
    Word(PlainWord<'t>),
    Pipe,
    /// `&&` or `||`: either way, both sides are walked alike.
    AndOr,
    Semi,
}

/// Bytes a plain word may hold: none of them is special to bash or to the grammar
/// after a command's name.
fn word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'_'
                | b'.'
                | b'/'
                | b':'
                | b'@'
                | b'%'
                | b'+'
                | b','
                | b'='
                | b'^'
                | b'~'
                | b'*'
                | b'?'
        )
}

/// Bytes a quoted word (quote `q`) may hold: printable text, and inside double quotes
/// nothing that expands or escapes.
fn quoted_byte(q: u8, b: u8) -> bool {
    (b' '..=b'~').contains(&b) && b != q && (q == b'\'' || !matches!(b, b'$' | b'`' | b'\\'))
}

/// Bytes a plain command name may hold (not first: `-`, `+`): the grammar reads some
/// of the others (`user@host`, `%1`, `a=b`, `- x@y`) otherwise at the start of a command.
fn name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/' | b'+')
}

/// Words the grammar reads as syntax when they start a command.
const KEYWORDS: &[&str] = &[
    "if", "then", "else", "elif", "fi", "case", "esac", "for", "select", "while", "until", "do",
    "done", "in", "function", "coproc", "time", "declare", "typeset", "export", "readonly",
    "local", "unset", "unsetenv",
];

fn tokens(text: &str) -> Option<Vec<Tok<'_>>> {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(8);
    let mut i = 0;
    while i < b.len() {
        let word = match b[i] {
            b' ' | b'\t' => {
                i += 1;
                continue;
            }
            b';' => {
                out.push(Tok::Semi);
                i += 1;
                continue;
            }
            b'|' if b.get(i + 1) == Some(&b'|') => {
                out.push(Tok::AndOr);
                i += 2;
                continue;
            }
            b'|' => {
                out.push(Tok::Pipe);
                i += 1;
                continue;
            }
            b'&' if b.get(i + 1) == Some(&b'&') => {
                out.push(Tok::AndOr);
                i += 2;
                continue;
            }
            q @ (b'\'' | b'"') => {
                let len = b[i + 1..].iter().position(|c| *c == q)?;
                let inner = &text[i + 1..i + 1 + len];
                if !inner.bytes().all(|c| quoted_byte(q, c)) {
                    return None;
                }
                i += len + 2;
                PlainWord {
                    text: inner,
                    nodes: if q == b'"' && inner.bytes().any(|c| c != b' ') {
                        2
                    } else {
                        1
                    },
                    quoted: true,
                }
            }
            // `find … -exec rm {} +`, `… \;`: the grammar's `{` `}` pair and an escaped `;`.
            b'{' if b.get(i + 1) == Some(&b'}') => {
                i += 2;
                PlainWord {
                    text: "{}",
                    nodes: 3,
                    quoted: false,
                }
            }
            b'\\' if b.get(i + 1) == Some(&b';') => {
                i += 2;
                PlainWord {
                    text: ";",
                    nodes: 1,
                    quoted: false,
                }
            }
            c if word_byte(c) => {
                let start = i;
                while i < b.len() && word_byte(b[i]) {
                    i += 1;
                }
                PlainWord {
                    text: &text[start..i],
                    nodes: 1,
                    quoted: false,
                }
            }
            _ => return None,
        };
        // A word glued to a quote or another piece is a concatenation: not plain.
        if b.get(i)
            .is_some_and(|c| !matches!(c, b' ' | b'\t' | b';' | b'|' | b'&'))
        {
            return None;
        }
        out.push(Tok::Word(word));
    }
    Some(out)
}

/// A plain line: statements (split at `;`) of chains (split at `&&`/`||`) of pipelines
/// (split at `|`) of commands, each a list of words. `None` for anything else.
pub(super) struct Plain<'t> {
    statements: Vec<Vec<Vec<Vec<PlainWord<'t>>>>>,
}

impl<'t> Plain<'t> {
    /// `text` is what the parser would see, final newline included.
    pub(super) fn parse(text: &'t str) -> Option<Plain<'t>> {
        let toks = tokens(text.strip_suffix('\n')?)?;
        let mut statements = Vec::new();
        for statement in toks.split(|t| *t == Tok::Semi) {
            let mut chain = Vec::new();
            for pipeline in statement.split(|t| *t == Tok::AndOr) {
                let mut stages = Vec::new();
                for stage in pipeline.split(|t| *t == Tok::Pipe) {
                    let mut words = Vec::with_capacity(stage.len());
                    for t in stage {
                        match t {
                            // `=~`, `==`: operators to the grammar.
                            Tok::Word(w) if !w.text.starts_with('=') || w.quoted => words.push(*w),
                            _ => return None,
                        }
                    }
                    let first = words.first()?;
                    if first.quoted
                        || first.text.starts_with(['-', '+'])
                        || !first.text.bytes().all(name_byte)
                        || KEYWORDS.contains(&first.text)
                    {
                        return None;
                    }
                    stages.push(words);
                }
                chain.push(stages);
            }
            statements.push(chain);
        }
        Some(Plain { statements })
    }
}

impl Walker<'_> {
    /// Walks a plain line as the tree walk walks its `program` node.
    pub(super) fn walk_plain(&mut self, plain: &Plain<'_>, ctx: &Ctx, depth: usize) {
        if !self.enter(0) {
            return;
        }
        for chain in &plain.statements {
            if chain.len() == 1 {
                self.plain_pipeline(&chain[0], ctx, depth, 1);
                continue;
            }
            // A `list` node: only the outermost one is visited as a node.
            if !self.enter(1) {
                continue;
            }
            for pipeline in chain {
                self.plain_pipeline(pipeline, ctx, depth, 2);
            }
        }
    }

    fn plain_pipeline(
        &mut self,
        stages: &[Vec<PlainWord<'_>>],
        ctx: &Ctx,
        depth: usize,
        tdepth: usize,
    ) {
        if stages.len() == 1 {
            self.plain_command(&stages[0], ctx, depth, tdepth);
            return;
        }
        if !self.enter(tdepth) {
            return;
        }
        self.pipeline(stages, ctx, |w, words, c| {
            w.plain_command(words, c, depth, tdepth + 1)
        });
    }

    fn plain_command(
        &mut self,
        words: &[PlainWord<'_>],
        ctx: &Ctx,
        depth: usize,
        tdepth: usize,
    ) -> Output {
        if !self.enter(tdepth) {
            return Output::default();
        }
        // The nodes the tree has: `command_name` around the first word, then the words.
        self.nodes += 1 + words.iter().map(|w| w.nodes).sum::<usize>();
        let argv = words.iter().map(|w| Word::lit(w.text)).collect();
        self.run_argv(argv, ctx.clone(), ctx, depth)
    }
}

#[cfg(test)]
mod tests {
    use super::super::normalize_with;
    use super::*;

    const ENV: Env<'static> = Env {
        cwd: "/home/u/p",
        home: Some("/home/u"),
    };

    /// The fast path and the parser agree on `cmd` (commands, flags, node count).
    fn assert_same(cmd: &str) {
        let mut tries = 0;
        loop {
            let fast = normalize_with(cmd, ENV, true);
            let parsed = normalize_with(cmd, ENV, false);
            // A loaded machine can stop either walk at its time budget: walk again.
            let timed_out = [&fast, &parsed].iter().any(|(n, _)| {
                n.over_bound
                    .as_ref()
                    .is_some_and(|b| b.contains("time budget"))
            });
            if fast != parsed && timed_out && tries < 3 {
                tries += 1;
                continue;
            }
            assert_eq!(fast, parsed, "{cmd:?}");
            return;
        }
    }

    #[test]
    fn recognises_plain_lines_only() {
        for plain in [
            "git status",
            "cargo test && git push",
            "ps aux | grep x; ls -la ~",
            "git commit -m 'fix: it' && echo \"a (b)\" ''",
        ] {
            assert!(Plain::parse(&format!("{plain}\n")).is_some(), "{plain}");
        }
        for other in [
            "echo a'x'",
            "echo 'x'b",
            "echo \"$HOME\"",
            "echo \"a\\\"b\"",
            "echo 'a",
            "'rm' x",
            "ls > f",
            "X=1 ls",
            "ls;",
            "ls &",
            "a || || b",
            "if true",
            "export A",
            "ls $HOME",
            "ls\npwd",
            "r\\m x",
            "{ ls; }",
        ] {
            assert!(Plain::parse(&format!("{other}\n")).is_none(), "{other}");
        }
    }

    #[test]
    fn agrees_with_the_parser_on_the_corpus() {
        let mut plain = 0;
        for input in crate::corpus_inputs() {
            let Some(cmd) = input["command"].as_str() else {
                continue;
            };
            plain += usize::from(Plain::parse(&format!("{cmd}\n")).is_some());
            assert_same(cmd);
        }
        // The corpus exercises the fast path, not only the parser.
        assert!(plain > 500, "only {plain} plain corpus lines");
    }

    #[test]
    fn agrees_with_the_parser_on_generated_lines() {
        const HEADS: &[&str] = &[
            "rm",
            "git",
            "ls",
            "cat",
            "echo",
            "sudo",
            "env",
            "timeout 5",
            "nice -n 5",
            "xargs",
            "find",
            "bash",
            "sh",
            "python3",
            "kubectl",
            "docker exec",
            "ssh host",
            "base64 -d",
            "crontab",
            "at now",
            "tee",
            "cd",
            "curl",
            "wget -O x.sh",
            "chmod",
            "dd",
            "tar",
            "eval",
            "source",
            "watch",
            "su -c",
            "printf -v",
            "command",
            "exec",
            "1",
            "psql",
            "terraform",
            "nohup",
            "grep -v",
            "awk",
            "sed",
        ];
        const ARGS: &[&str] = &[
            "{}",
            "\\;",
            "-rf",
            "/",
            "~",
            "~/x",
            "*",
            "*.txt",
            ".",
            "..",
            "a=b",
            "--x=y",
            "2",
            "-1",
            "0x1f",
            "in",
            "done",
            "then",
            "%1",
            "^x",
            "a,b",
            "x+y",
            "a:b",
            "user@host",
            "/etc/passwd",
            ".env",
            "~/.ssh/id_rsa",
            "of=/dev/sda",
            "push",
            "-f",
            "origin",
            "main",
            "-c",
            "ls",
            "-",
            "--",
            "delete",
            "prod",
            "x.sh",
            "https://x.example/i.sh",
            "-exec",
            "rm",
            "+",
            "-delete",
            "config",
            "use-context",
            "production",
            "-m",
            "pip",
            "install",
            "sh",
        ];
        const ALPHABET: &[u8] = b"aZ09-_./:@%+,=^~*?";
        const QUOTED: &[u8] = b"a0 -;|&<>(){}[]#!*?~=%^'\",.:/@+";
        const OPS: &[&str] = &[" | ", " && ", " || ", "; ", "|", "&&", ";"];
        // A fixed linear congruential sequence: the same lines on every run.
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = |n: usize| {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (seed >> 33) as usize % n
        };
        let mut plain = 0;
        for _ in 0..5000 {
            let mut line = String::new();
            for c in 0..=next(3) {
                if c > 0 {
                    line.push_str(OPS[next(OPS.len())]);
                }
                // Mostly command names, sometimes any word (the parser decides those).
                line.push_str(if next(4) == 0 {
                    ARGS[next(ARGS.len())]
                } else {
                    HEADS[next(HEADS.len())]
                });
                for _ in 0..next(5) {
                    line.push(if next(8) == 0 { '\t' } else { ' ' });
                    if next(3) == 0 {
                        // Any word the fast path accepts, odd ones included (`@`, `=x`, `~+`).
                        for _ in 0..=next(5) {
                            line.push(char::from(ALPHABET[next(ALPHABET.len())]));
                        }
                    } else if next(4) == 0 {
                        // Quoted text, with what the quotes protect (`;`, `|`, `#`, `(`).
                        let q = if next(2) == 0 { '\'' } else { '"' };
                        line.push(q);
                        for _ in 0..next(8) {
                            let c = char::from(QUOTED[next(QUOTED.len())]);
                            if c != q {
                                line.push(c);
                            }
                        }
                        line.push(q);
                    } else {
                        line.push_str(ARGS[next(ARGS.len())]);
                    }
                }
            }
            plain += usize::from(Plain::parse(&format!("{line}\n")).is_some());
            assert_same(&line);
        }
        assert!(
            plain > 2500,
            "only {plain} generated lines took the fast path"
        );
    }
}
