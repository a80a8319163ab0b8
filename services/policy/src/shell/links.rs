//! What earlier commands in the same line changed about later ones, beyond variables
//! and `cd`:
//!
//! * `env -C DIR cmd` (`--chdir`) runs `cmd` in `DIR`;
//! * `ln -s TARGET LINK`: later paths through `LINK/` (`rm -rf LINK/`, `LINK/*`) reach
//!   `TARGET` (GNU `rm -rf link/` empties the target);
//! * `cp /bin/rm ./clean` (also `ln`, `install`, `mv`): running `./clean` later runs
//!   `rm`.
//!
//! Like the line's variables ([`Walker::vars`]) this is state of the walk, bounded.

use super::*;

/// Most links and copies remembered per line.
const MAX_REMEMBERED: usize = 16;

impl Walker<'_> {
    /// [`Walker::resolve_words`], with the working directory an `env -C DIR` set for
    /// the command put back afterwards (it does not outlive the command).
    pub(super) fn resolve(&mut self, argv: Vec<Word>, ctx: &Ctx, depth: usize) -> Output {
        let saved = self.cwd.clone();
        let outer = std::mem::replace(&mut self.env_chdir, false);
        let out = self.resolve_words(argv, ctx, depth);
        if self.env_chdir {
            self.cwd = saved;
        }
        self.env_chdir = outer;
        out
    }

    /// `env`'s options and assignments before the command: where the command starts
    /// in `rest`, or the words `-S`/`--split-string` makes of the rest.
    pub(super) fn env_options(
        &mut self,
        rest: &[Word],
        tags: &mut Vec<String>,
        extra_vars: &mut Vec<(String, String)>,
    ) -> (usize, Option<Vec<Word>>) {
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
            } else if matches!(t, "-C" | "--chdir") {
                // `env -C DIR cmd`: cmd runs in DIR.
                if let Some(dir) = rest.get(i + 1).cloned() {
                    self.env_chdir(&dir);
                }
                i += 2;
            } else if let Some(dir) = (t.strip_prefix("--chdir="))
                .or_else(|| t.strip_prefix("-C").filter(|d| !d.is_empty()))
            {
                self.env_chdir(&Word::lit(dir));
                i += 1;
            } else if matches!(t, "-u" | "--unset") {
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
        (i, split)
    }

    /// `env -C DIR …`: the rest of the command runs in `DIR`.
    pub(super) fn env_chdir(&mut self, dir: &Word) {
        self.env_chdir = true;
        let cd = Effective {
            name: "cd".to_owned(),
            args: vec![dir.clone()],
            ..Effective::default()
        };
        self.change_dir(&cd);
    }

    /// The command a name runs when an earlier command in the line copied or linked a
    /// binary to it (`cp /bin/rm ./clean && ./clean -rf ~`).
    pub(super) fn copied_command(&self, word: &str) -> Option<String> {
        let called = plain_path(word);
        self.copies
            .iter()
            .rev()
            .find(|(dst, _)| {
                *dst == called || (!called.contains('/') && dst.rsplit('/').next() == Some(called))
            })
            .map(|(_, src)| src.clone())
    }

    /// Remembers the links and copies `e` makes (see the module docs).
    pub(super) fn record_links(&mut self, e: &Effective) {
        if !matches!(e.name.as_str(), "ln" | "cp" | "install" | "mv") {
            return;
        }
        let mut symbolic = false;
        let mut ops: Vec<&str> = Vec::new();
        for w in &e.args {
            let t = w.text.as_str();
            if t == "--symbolic" || (is_short_cluster_with(t, 's') && e.name == "ln") {
                symbolic = true;
            } else if !t.starts_with('-') {
                ops.push(t);
            }
        }
        let [src, dst] = ops[..] else {
            return;
        };
        if src.contains(DYN)
            || dst.contains(DYN)
            || self.links.len() + self.copies.len() >= MAX_REMEMBERED
        {
            return;
        }
        let dst = plain_path(dst).trim_end_matches('/');
        if src.starts_with('/') && !src.ends_with('/') {
            self.copies.push((dst.to_owned(), command_name(src)));
        }
        if symbolic && !dst.is_empty() {
            // A relative target is relative to the link's own directory.
            let target = match dst.rsplit_once('/') {
                Some((dir, _)) if !src.starts_with('/') => format!("{dir}/{src}"),
                _ => src.to_owned(),
            };
            self.links.push((dst.to_owned(), target));
        }
    }

    /// `e` with its paths through links made earlier in the line (`LINK/x`, `LINK/`)
    /// replaced by the same paths in the links' targets.
    pub(super) fn through_links(&self, e: &mut Effective) {
        if self.links.is_empty() {
            return;
        }
        let words = e
            .args
            .iter_mut()
            .chain(e.redirects.iter_mut().map(|r| &mut r.target));
        for w in words {
            let t = plain_path(&w.text);
            for (link, target) in self.links.iter().rev() {
                if let Some(rest) = t.strip_prefix(link.as_str())
                    && rest.starts_with('/')
                {
                    w.text = format!("{}{rest}", target.trim_end_matches('/'));
                    break;
                }
            }
        }
    }
}

/// A path without a leading `./`.
fn plain_path(p: &str) -> &str {
    let mut p = p;
    while let Some(rest) = p.strip_prefix("./") {
        p = rest;
    }
    p
}

#[cfg(test)]
mod tests {
    use super::super::tests::names;

    #[test]
    fn env_chdir_moves_the_command_only() {
        let n = super::super::tests::commands("env -C .claude sh -c 'echo {} > settings.json'; ls");
        let echo = n.iter().find(|e| e.name == "echo").map(|e| e.cwd.clone());
        assert_eq!(echo, Some(Some("/p/.claude".to_owned())));
        let ls = n.iter().find(|e| e.name == "ls").map(|e| e.cwd.clone());
        assert_eq!(ls, Some(None));
    }

    #[test]
    fn paths_through_a_new_link_reach_its_target() {
        let n = names("ln -s ~ build && rm -rf build/ && rm -rf build");
        assert!(n.contains(&"rm -rf ~/".to_owned()), "{n:?}");
        assert!(n.contains(&"rm -rf build".to_owned()), "{n:?}");
        let n = names("ln -s ../shared sub/lib && ls sub/lib/x");
        assert!(n.contains(&"ls sub/../shared/x".to_owned()), "{n:?}");
    }

    #[test]
    fn a_copied_binary_runs_as_itself() {
        let n = names("cp /bin/rm ./clean && ./clean -rf ~");
        assert!(n.contains(&"rm -rf ~".to_owned()), "{n:?}");
        let n = names("cp build/app ./app && ./app");
        assert!(n.contains(&"./app".to_owned()), "{n:?}");
    }
}
