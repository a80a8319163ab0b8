//! What earlier git commands in a command line tell about later ones ([`GitFlow`]):
//! the branch checked out, what is staged or stashed, and what a push then reaches.
//! Separate because it is git's own state machine, apart from judging a line.

use crate::paths::Classes;
use crate::rules::Facts;
use crate::shell::{Effective, Word};
use crate::word;

/// A word that is one run-time value and nothing else (`"$(git branch --show-current)"`).
fn is_one_value(w: &str) -> bool {
    let mut c = w.chars();
    c.next() == Some(word::DYN) && c.next().is_none()
}

/// What earlier git commands in a line tell about later ones (`git checkout main && git
/// push -f origin HEAD`, `git add -A && git reset --hard`).
#[derive(Debug, Default)]
pub(crate) struct GitFlow {
    /// The branch checked out: where the line runs, or where a `git checkout X` / `git
    /// switch X` earlier in the line moved to.
    branch: Option<String>,
    /// A substitution printed the current branch (`$(git branch --show-current)`): a
    /// push's run-time refspec is that branch.
    current_lookup: bool,
    /// Every file, untracked ones included, is staged (`git add -A`) and not committed.
    staged_all: bool,
    /// The newest stash holds untracked files (`stash -u`, or `add -A` then `stash`).
    stash_untracked: bool,
    /// The newest stash was made earlier in the line (it holds the uncommitted changes).
    stash_fresh: bool,
    /// `git ls-files --others` listed the untracked files earlier in the line.
    untracked_listed: bool,
    /// `git ls-files` listed the tracked files earlier in the line.
    tracked_listed: bool,
}

impl GitFlow {
    /// A line run where `branch` is checked out (when known).
    pub(crate) fn on(branch: Option<&str>) -> GitFlow {
        GitFlow {
            branch: branch.map(str::to_owned),
            ..GitFlow::default()
        }
    }

    /// Whether it changes how a command other than git reads.
    pub(crate) fn affects_others(&self) -> bool {
        self.untracked_listed || self.tracked_listed
    }

    /// Reads one command in the light of the line so far, and notes what it changes.
    pub(crate) fn follow(&mut self, e: &Effective, facts: &mut Facts) {
        if facts.name != "git" {
            // `rm -rf $(git ls-files --others)`, `git ls-files -o | xargs rm`: removes the
            // untracked files, as `git clean -f` does.
            if matches!(facts.name.as_str(), "rm" | "unlink") && e.args.iter().any(Word::is_dynamic)
            {
                if self.untracked_listed {
                    facts.tags.insert("removes_untracked".to_owned());
                }
                // `git ls-files | xargs rm -f`: the project's tracked source.
                if self.tracked_listed {
                    facts.tags.insert("removes_tracked".to_owned());
                }
            }
            return;
        }
        let has = |f: &str| facts.flags.contains(f);
        match facts.sub.as_deref() {
            Some("checkout" | "switch") => {
                // `git checkout -- file` restores files; `checkout X`, `switch X`, `-b X` move.
                if facts.flags.iter().all(|f| f != "patch")
                    && !facts.text.contains(" -- ")
                    && let Some(b) = facts.operands.first()
                {
                    self.branch = Some(b.clone());
                }
                if let Some(b) = facts.args.iter().skip(1).find(|a| !a.starts_with('-'))
                    && (has("branch") || has("force-branch"))
                {
                    self.branch = Some(b.clone());
                }
            }
            Some("branch" | "rev-parse" | "symbolic-ref" | "name-rev")
                if e.via.last().is_some_and(|v| v == "$(…)")
                    && (has("show-current")
                        || has("abbrev-ref")
                        || has("short")
                        || has("name-only")) =>
            {
                self.current_lookup = true;
            }
            Some("push") => self.push(facts),
            Some("add")
                if has("all")
                    || has("A")
                    || facts.paths.intersects(Classes::PROJECT_ROOT)
                    || facts.operands.iter().any(|o| o.starts_with(":/")) =>
            {
                self.staged_all = true;
            }
            Some("commit") => self.staged_all = false,
            Some("reset") => {
                if has("hard") && self.staged_all {
                    facts.tags.insert("resets_untracked".to_owned());
                }
                self.staged_all = false;
            }
            Some("ls-files") if has("others") || has("o") => self.untracked_listed = true,
            Some("ls-files") => self.tracked_listed = true,
            Some("stash") => match facts.operands.first().map(String::as_str) {
                None | Some("push" | "save") => {
                    let untracked = has("u") || has("include-untracked") || has("all");
                    self.stash_untracked = untracked || self.staged_all;
                    self.stash_fresh = true;
                    self.staged_all = false;
                }
                Some("drop" | "clear") => {
                    let newest = facts.operands.len() == 1
                        || matches!(facts.operands[1].as_str(), "0" | "stash@{0}");
                    if newest || facts.operands[0] == "clear" {
                        if self.stash_untracked {
                            facts.tags.insert("drops_untracked".to_owned());
                        } else if self.stash_fresh {
                            facts.tags.insert("drops_stashed".to_owned());
                        }
                        self.stash_untracked = false;
                        self.stash_fresh = false;
                    }
                }
                Some("pop" | "apply") => {
                    self.stash_untracked = false;
                    self.stash_fresh = false;
                }
                _ => {}
            },
            _ => {}
        }
    }

    /// A push that names no refspec pushes the branch checked out earlier in the line;
    /// `HEAD`, `@` and a looked-up current branch name it too.
    fn push(&mut self, facts: &mut Facts) {
        let Some(b) = self.branch.as_ref() else {
            return;
        };
        let mut named: Vec<String> = Vec::new();
        if facts.operands.len() <= 1 {
            named.push(b.clone());
        }
        for o in facts.operands.iter().skip(1) {
            let (plus, rest) = match o.strip_prefix('+') {
                Some(r) => ("+", r),
                None => ("", o.as_str()),
            };
            let current =
                |w: &str| w == "HEAD" || w == "@" || (self.current_lookup && is_one_value(w));
            match rest.split_once(':') {
                // `HEAD:refs/heads/x` goes to x, `HEAD:HEAD` to the branch.
                Some((_, dst)) if current(dst) => named.push(format!("{plus}{b}")),
                None if current(rest) => named.push(format!("{plus}{b}")),
                _ => {}
            }
        }
        for n in named {
            facts.args.push(n.clone());
            facts.operands.push(n);
        }
    }
}
