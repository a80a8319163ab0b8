//! Links made from interpreter code (`os.link`, `os.symlink`, `fs.linkSync`,
//! `File.symlink`, `FileUtils.ln_s`, Perl's `link`/`symlink`, pathlib's `symlink_to`),
//! turned into the `ln` a shell would have run: a second name for a guard file is judged
//! as `ln` onto it is (guard.modify). Apart from the long pass in
//! [`super::analyze`](mod@super::analyze) because it is one self-contained pattern.

use super::Effects;
use super::Lang;
use super::args::{call_args, literals};
use super::patterns::calls_in;
use super::static_regex;
use crate::twin_regex::TwinRegex;
use std::sync::LazyLock;

pub(super) static LINK_CALL: LazyLock<TwinRegex> = LazyLock::new(|| {
    static_regex(
        r"(?:\b(?:os\.link|os\.symlink|os\.Link|os\.Symlink|File\.link|File\.symlink|FileUtils\.(?:ln_sf|ln_s|ln)|link|symlink)|\.(?:linkSync|symlinkSync|hardlink_to|symlink_to|link_to|link|symlink))\s*\(?",
    )
});

/// Adds `ln [-s] PATHS…` for each link call in `code` that names its paths literally.
pub(super) fn link_calls(lang: Lang, code: &str, strings: &[(&str, u8)], fx: &mut Effects) {
    for m in calls_in(&LINK_CALL, code, strings, fx) {
        let name = m.as_str();
        // Without parentheses only Perl and Ruby call a function (`link $a, $b`);
        // elsewhere a bare `link` is a variable.
        if !name.ends_with('(') && !matches!(lang, Lang::Perl | Lang::Ruby) {
            continue;
        }
        let args = call_args(code, m.end().saturating_sub(1));
        let paths = literals(args);
        if paths.is_empty() {
            continue;
        }
        let mut cmd = vec!["ln".to_owned()];
        if name.contains("sym") || name.contains("ln_s") {
            cmd.push("-s".to_owned());
        }
        cmd.extend(paths.into_iter().take(2));
        fx.commands.push(cmd);
    }
}

#[cfg(test)]
mod tests {
    use super::super::analyze;
    use super::*;

    fn lns(lang: Lang, code: &str) -> Vec<Vec<String>> {
        analyze(lang, code)
            .commands
            .into_iter()
            .filter(|c| c[0] == "ln")
            .collect()
    }

    #[test]
    fn link_calls_become_ln() {
        let s = ".claude/settings.json";
        assert_eq!(
            lns(
                Lang::Python,
                &format!("import os; os.link('{s}', 'n.json')")
            ),
            [vec!["ln", s, "n.json"]]
        );
        assert_eq!(
            lns(Lang::Node, &format!("require('fs').symlinkSync('{s}','n')")),
            [vec!["ln", "-s", s, "n"]]
        );
        assert_eq!(
            lns(Lang::Perl, &format!("link '{s}', 'n'")),
            [vec!["ln", s, "n"]]
        );
        assert_eq!(
            lns(Lang::Ruby, &format!("FileUtils.ln_s('{s}', 'n')")),
            [vec!["ln", "-s", s, "n"]]
        );
        assert_eq!(
            lns(Lang::Python, &format!("Path('n').symlink_to('{s}')")),
            [vec!["ln", "-s", s]]
        );
        // A variable named `link` is no call; nor is a call without literal paths.
        assert!(lns(Lang::Python, "link = 'https://x.org'; print(link)").is_empty());
        assert!(lns(Lang::Python, "os.symlink(a, b)").is_empty());
    }
}
