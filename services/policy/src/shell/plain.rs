//! A fast path for plain command lines (`git status`, `cargo test && git push`,
//! `ps aux | grep x`, `git commit -m 'fix it'`, `cargo build 2>&1 | tail`, `echo $HOME`):
//! words of letters, digits, globs and a few safe punctuation marks, `{}` and `\;` (for
//! `find -exec`), whole single- or double-quoted words of printable text with nothing to
//! expand, or a whole variable as an argument (`$X`, `${X}`, `"$X"`), joined by `|`,
//! `&&`, `||` and `;`; commands of a statement's first pipeline may end in redirects to
//! plain words (`> f`, `2>&1`, `< in`). Parsing one with tree-sitter costs more than the
//! rest of its analysis, and its syntax tree says nothing the words do not: such a line
//! is walked from its words, exactly as the tree walk would (same commands, same stdin
//! flows, same node counts for the bounds). Anything else (other `$` forms, escapes,
//! other redirects, brackets, newlines, assignments, keywords, quotes inside a word)
//! takes the parser. Tests walk the corpus and generated lines both ways and compare.

use super::walk::redirect_kind;
use super::*;

/// One word of a plain line: its text after quote removal, and how many syntax nodes
/// the tree has for it (a double-quoted word is a `string` around a `string_content`,
/// unless it holds only blanks). For a variable (`$NAME`, `${NAME}`, `"$NAME"`), `text`
/// is the name.
#[derive(Debug, Clone, Copy, PartialEq)]
struct PlainWord<'t> {
    text: &'t str,
    nodes: usize,
    quoted: bool,
    var: bool,
}

/// The name of the variable `s` starts with (`$NAME` or `${NAME}`) and the length of
/// the reference; not `$IFS` (split before parsing) nor special parameters.
fn var_ref(s: &str) -> Option<(&str, usize)> {
    let braced = s.starts_with("${");
    let body = s.get(if braced { 2 } else { 1 }..)?;
    if !s.starts_with('$') {
        return None;
    }
    let len = body
        .bytes()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == b'_')
        .count();
    let name = &body[..len];
    if name.is_empty() || name.as_bytes()[0].is_ascii_digit() || name == "IFS" {
        return None;
    }
    if braced {
        body[len..].starts_with('}').then_some((name, len + 3))
    } else {
        Some((name, len + 1))
    }
}

/// A redirect to a plain word: `op` as the grammar's unnamed children spell it
/// (`>`, `>>`, `>&`, `&>`, `<` …, without the descriptor), and its destination.
#[derive(Debug, Clone, Copy, PartialEq)]
struct PlainRedirect<'t> {
    op: &'t str,
    target: &'t str,
}

/// One token of a plain line.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Tok<'t> {
    Word(PlainWord<'t>),
    Redirect(PlainRedirect<'t>),
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
            b'>' | b'<' | b'&' => {
                let (r, next) = redirect(text, i)?;
                out.push(Tok::Redirect(r));
                i = next;
                continue;
            }
            q @ (b'\'' | b'"') => {
                let len = b[i + 1..].iter().position(|c| *c == q)?;
                let inner = &text[i + 1..i + 1 + len];
                // `"$NAME"`: a `string` around the expansion.
                if q == b'"'
                    && let Some((name, n)) = var_ref(inner)
                    && n == inner.len()
                {
                    i += len + 2;
                    PlainWord {
                        text: name,
                        nodes: 2,
                        quoted: true,
                        var: true,
                    }
                } else {
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
                        var: false,
                    }
                }
            }
            b'$' => {
                let (name, n) = var_ref(&text[i..])?;
                i += n;
                PlainWord {
                    text: name,
                    nodes: 1,
                    quoted: false,
                    var: true,
                }
            }
            // `find … -exec rm {} +`, `… \;`: the grammar's `{` `}` pair and an escaped `;`.
            b'{' if b.get(i + 1) == Some(&b'}') => {
                i += 2;
                PlainWord {
                    text: "{}",
                    nodes: 3,
                    quoted: false,
                    var: false,
                }
            }
            b'\\' if b.get(i + 1) == Some(&b';') => {
                i += 2;
                PlainWord {
                    text: ";",
                    nodes: 1,
                    quoted: false,
                    var: false,
                }
            }
            c if word_byte(c) => {
                let start = i;
                while i < b.len() && word_byte(b[i]) {
                    i += 1;
                }
                // `2>&1`, `2>/dev/null`: digits glued to the operator name a descriptor,
                // which the walk does not look at.
                if matches!(b.get(i), Some(b'>' | b'<'))
                    && b[start..i].iter().all(u8::is_ascii_digit)
                {
                    let (r, next) = redirect(text, i)?;
                    out.push(Tok::Redirect(r));
                    i = next;
                    continue;
                }
                PlainWord {
                    text: &text[start..i],
                    nodes: 1,
                    quoted: false,
                    var: false,
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

/// The redirect whose operator starts at `i` (after any descriptor), and where the next
/// token starts; `None` unless it is `>`, `>>`, `>|`, `>&`, `&>`, `&>>` or `<` followed
/// by one plain word (`>&-` closes a descriptor: not plain).
fn redirect(text: &str, i: usize) -> Option<(PlainRedirect<'_>, usize)> {
    let b = text.as_bytes();
    let rest = &b[i..];
    let len = if rest.starts_with(b"&>>") {
        3
    } else if rest.starts_with(b">>")
        || rest.starts_with(b">&")
        || rest.starts_with(b"&>")
        || rest.starts_with(b">|")
    {
        2
    } else if rest.starts_with(b">") || rest.starts_with(b"<") && !rest.starts_with(b"<<") {
        1
    } else {
        return None;
    };
    // `<&`, `<>`, `<(`, `>(`: other constructs.
    if matches!(b.get(i + len), Some(b'&' | b'>' | b'<' | b'(')) {
        return None;
    }
    let mut j = i + len;
    while matches!(b.get(j), Some(b' ' | b'\t')) {
        j += 1;
    }
    let start = j;
    while j < b.len() && word_byte(b[j]) {
        j += 1;
    }
    let target = &text[start..j];
    // The word must end where the grammar ends it: at a blank or an operator.
    if target.is_empty()
        || target.starts_with('=')
        || (op_has_amp(&b[i..i + len]) && target.starts_with('-'))
        || b.get(j)
            .is_some_and(|c| !matches!(c, b' ' | b'\t' | b';' | b'|' | b'&'))
    {
        return None;
    }
    let op = &text[i..i + len];
    Some((PlainRedirect { op, target }, j))
}

fn op_has_amp(op: &[u8]) -> bool {
    op.contains(&b'&')
}

/// One command of a pipeline: its words, then the redirects it ends with.
#[derive(Debug, Clone)]
pub(super) struct Stage<'t> {
    words: Vec<PlainWord<'t>>,
    redirects: Vec<PlainRedirect<'t>>,
}

/// A plain line: statements (split at `;`) of chains (split at `&&`/`||`) of pipelines
/// (split at `|`) of commands, each a list of words. `None` for anything else.
pub(super) struct Plain<'t> {
    statements: Vec<Vec<Vec<Stage<'t>>>>,
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
                    let mut redirects = Vec::new();
                    for t in stage {
                        match t {
                            // `=~`, `==`: operators to the grammar.
                            Tok::Word(w)
                                if redirects.is_empty()
                                    && (!w.text.starts_with('=') || w.quoted) =>
                            {
                                words.push(*w)
                            }
                            // The grammar hangs a command's redirects around everything
                            // before it in the statement (`a | b > f` redirects the
                            // pipeline, `a && b > f` the list): plain only in the first
                            // pipeline, whose prefix is all there is before it.
                            Tok::Redirect(r) if !words.is_empty() && chain.is_empty() => {
                                redirects.push(*r)
                            }
                            _ => return None,
                        }
                    }
                    // `x - 2>&1`: the grammar drops a lone `-` before a descriptor.
                    if !redirects.is_empty() && words.iter().any(|w| w.text == "-" && !w.quoted) {
                        return None;
                    }
                    let first = words.first()?;
                    if first.quoted
                        || first.var
                        || first.text.starts_with(['-', '+'])
                        || !first.text.bytes().all(name_byte)
                        || KEYWORDS.contains(&first.text)
                    {
                        return None;
                    }
                    stages.push(Stage { words, redirects });
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

    /// A pipeline as the grammar nests it: redirects after stage `k` (`a | b 2>&1 | c`)
    /// wrap stages `0..=k` in a `redirected_statement` around their own pipeline.
    fn plain_pipeline(&mut self, stages: &[Stage<'_>], ctx: &Ctx, depth: usize, tdepth: usize) {
        self.plain_stages(stages, ctx, depth, tdepth);
    }

    fn plain_stages(
        &mut self,
        stages: &[Stage<'_>],
        ctx: &Ctx,
        depth: usize,
        tdepth: usize,
    ) -> Output {
        let Some((last, before)) = stages.split_last() else {
            return Output::default();
        };
        if before.is_empty() {
            return self.plain_stage(last, ctx, depth, tdepth);
        }
        if !last.redirects.is_empty() {
            // The whole pipeline so far is the redirected statement's body.
            let Some(c) = self.plain_redirects(&last.redirects, ctx, tdepth) else {
                return Output::default();
            };
            let mut inner: Vec<Stage<'_>> = before.to_vec();
            inner.push(Stage {
                words: last.words.clone(),
                redirects: Vec::new(),
            });
            return self.plain_stages(&inner, &c, depth, tdepth + 1);
        }
        if !self.enter(tdepth) {
            return Output::default();
        }
        // The first element is a redirected prefix when a later stage has redirects.
        let split = before
            .iter()
            .rposition(|s| !s.redirects.is_empty())
            .filter(|k| *k > 0);
        let (head, tail) = stages.split_at(split.map_or(1, |k| k + 1));
        let elements: Vec<&[Stage<'_>]> = std::iter::once(head)
            .chain(tail.iter().map(std::slice::from_ref))
            .collect();
        self.pipeline(&elements, ctx, |w, el, c| {
            w.plain_stages(el, c, depth, tdepth + 1)
        })
    }

    /// A command, inside a `redirected_statement` when it has redirects (as
    /// [`Walker::redirected`] walks one).
    fn plain_stage(&mut self, stage: &Stage<'_>, ctx: &Ctx, depth: usize, tdepth: usize) -> Output {
        if stage.redirects.is_empty() {
            return self.plain_command(&stage.words, ctx, depth, tdepth);
        }
        let Some(c) = self.plain_redirects(&stage.redirects, ctx, tdepth) else {
            return Output::default();
        };
        self.plain_command(&stage.words, &c, depth, tdepth + 1)
    }

    /// Enters a `redirected_statement` and returns `ctx` with its redirects (and the
    /// file a `<` reads as stdin), as [`Walker::redirected`] does; `None` at a bound.
    fn plain_redirects(
        &mut self,
        redirects: &[PlainRedirect<'_>],
        ctx: &Ctx,
        tdepth: usize,
    ) -> Option<Ctx> {
        if !self.enter(tdepth) {
            return None;
        }
        let mut c = ctx.clone();
        for r in redirects {
            // The destination word is its one node.
            self.nodes += 1;
            let rd = Redirect {
                kind: redirect_kind(r.op, r.target),
                target: Word::lit(r.target),
            };
            let written = self.written(&rd);
            c.add_redirect(rd, written.as_ref());
        }
        Some(c)
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
        let mut argv = Vec::with_capacity(words.len());
        for w in words {
            if w.var {
                split_ifs(self.plain_expansion(w.text, w.quoted), &mut argv);
            } else {
                argv.push(Word::lit(w.text));
            }
        }
        self.run_argv(argv, ctx.clone(), ctx, depth)
    }
}

#[cfg(test)]
mod tests;
