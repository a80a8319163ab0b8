//! What happens at the analyser's bounds. A bound makes the result "not fully
//! analysed" (escalate), but never weaker than a deny found in what was analysed:
//!
//! * an over-size command is analysed up to [`MAX_INPUT`] bytes (only to find denies:
//!   the bound still escalates what the prefix allows);
//! * code nested in shells deeper than [`MAX_DEPTH`] does not stop the walk of the rest
//!   of the line, and is walked again from the top once the stack has unwound (a few
//!   texts, a few rounds: the node and time bounds still hold);
//! * commands that do nothing (`:`, `true`, `echo hi` with no redirect) stop taking room
//!   under [`MAX_COMMANDS`] once half of it is used, so padding cannot push a later
//!   command out of view.

use super::*;

/// Most texts nested past [`MAX_DEPTH`] kept to walk again, per round.
const MAX_DEEPER: usize = 4;
/// Rounds of walking those texts again (each may go [`MAX_DEPTH`] levels deeper).
const MAX_DEEPER_ROUNDS: usize = 32;

/// The first [`MAX_INPUT`] bytes of `command` (cut at a character boundary).
pub(super) fn bounded_prefix(command: &str) -> &str {
    let mut cut = MAX_INPUT.min(command.len());
    while !command.is_char_boundary(cut) {
        cut -= 1;
    }
    &command[..cut]
}

impl Walker<'_> {
    /// A bound was hit: the walk stops, and the result is not fully analysed.
    pub(super) fn bound(&mut self, why: &str) {
        if self.over_bound.is_none() {
            self.over_bound = Some(why.to_owned());
        }
    }

    pub(super) fn stopped(&self) -> bool {
        self.over_bound.is_some()
    }

    /// `text` is nested deeper than [`MAX_DEPTH`]: kept to walk again from the top; the
    /// walk of the rest goes on.
    pub(super) fn too_deep(&mut self, text: &str) {
        if self.deeper.len() < MAX_DEEPER {
            self.deeper.push(text.to_owned());
        }
        if self.past_depth.is_none() {
            self.past_depth = Some("code nested in shells deeper than the bound".to_owned());
        }
    }

    /// Walks the texts [`Walker::too_deep`] kept, from the top (see the module docs).
    pub(super) fn walk_deeper(&mut self) {
        for _ in 0..MAX_DEEPER_ROUNDS {
            if self.deeper.is_empty() || self.stopped() {
                return;
            }
            let ctx = Ctx {
                via: vec!["(nested past the bound)".to_owned()],
                ..Ctx::default()
            };
            for text in std::mem::take(&mut self.deeper) {
                self.run_script(&text, &ctx, 1);
            }
        }
    }

    /// Whether `e` may be left out of the list once it is half full: it does nothing a
    /// rule could object to (`true`, `sleep 1`, `echo done` to stdout).
    pub(super) fn inert(&self, e: &Effective) -> bool {
        self.out.len() >= MAX_COMMANDS / 2
            && matches!(
                e.name.as_str(),
                ":" | "true" | "false" | "echo" | "printf" | "sleep"
            )
            && !self.functions.contains_key(&e.name)
            && e.redirects.is_empty()
            && e.tags.is_empty()
            && e.script_from.is_empty()
            && e.code.is_none()
            && e.args.iter().all(|w| {
                !w.is_dynamic() && w.subst.is_empty() && w.inputs.is_empty() && w.text != "-v"
            })
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::commands;

    fn runs_rm(cmd: &str) -> bool {
        commands(cmd).iter().any(|e| e.name == "rm")
    }

    #[test]
    fn padding_does_not_hide_a_later_command() {
        let cmd = format!("{}rm -rf ~", "true; ".repeat(300));
        assert!(runs_rm(&cmd));
        let script: String = (0..300).map(|i| format!("echo line {i}\n")).collect();
        let n = crate::shell::normalize(
            &script,
            crate::shell::Env {
                cwd: "/p",
                home: None,
            },
        );
        assert!(n.over_bound.is_none(), "{:?}", n.over_bound);
    }

    #[test]
    fn code_past_the_depth_bound_is_walked_again() {
        let mut cmd = "rm -rf ~".to_owned();
        for _ in 0..7 {
            cmd = format!("sh -c '{}'", cmd.replace('\'', "'\\''"));
        }
        assert!(runs_rm(&cmd), "{cmd}");
    }

    #[test]
    fn an_over_size_command_keeps_the_denies_of_its_prefix() {
        let cmd = format!("rm -rf ~ #{}", "x".repeat(70_000));
        let n = crate::shell::normalize(
            &cmd,
            crate::shell::Env {
                cwd: "/p",
                home: None,
            },
        );
        assert!(n.over_bound.is_some());
        assert!(n.commands.iter().any(|e| e.name == "rm"));
    }
}
