//! Facts about commands that reach the guard itself without naming it: an agent client
//! started without the settings that register its hooks, and kills aimed at the NATS
//! server's ports (`fuser -k 4222/tcp`, `kill $(lsof -t -i:4222)`, `ss -K dport = 4222`).
//! Separate from [`super::facts`], which reads arguments through a command's spec.

use crate::procpat::GUARD_PORTS;
use crate::shell::Effective;
use std::collections::BTreeSet;

/// Commands that list the processes or sockets on a port (their output, fed to `kill`,
/// is the pids of whatever listens there).
const PORT_LOOKUPS: &[&str] = &["lsof", "fuser", "ss", "netstat", "sockstat"];

/// Whether `text` names one of [`GUARD_PORTS`] as a whole number (`:4222`,
/// `4222/tcp`, `tcp:4222`, `dport = 4222`).
fn names_guard_port(text: &str) -> bool {
    text.split(|c: char| !c.is_ascii_digit())
        .any(|n| GUARD_PORTS.contains(&n))
}

/// Adds the guard-related tags of `e` to `tags`.
pub(super) fn add(e: &Effective, tags: &mut BTreeSet<String>) {
    let args = || e.args.iter().map(|w| w.text.as_str());
    let short = |letter: char| {
        args().any(|t| {
            t.strip_prefix('-').is_some_and(|s| {
                !s.starts_with('-')
                    && s.chars().all(|c| c.is_ascii_alphanumeric())
                    && s.contains(letter)
            })
        })
    };
    if e.name == "claude" && drops_setting_sources(args()) {
        tags.insert("drops_setting_sources".to_owned());
    }
    if PORT_LOOKUPS.contains(&e.name.as_str()) && args().any(names_guard_port) {
        // `fuser -k 4222/tcp`, `ss -K dport = 4222`: the lookup kills by itself.
        let kills = match e.name.as_str() {
            "fuser" => short('k') || args().any(|t| t == "--kill"),
            "ss" => short('K') || args().any(|t| t == "--kill"),
            _ => false,
        };
        tags.insert(
            if kills {
                "kills_guard_port"
            } else {
                "finds_guard_port"
            }
            .to_owned(),
        );
    }
    if e.name == "kill"
        && e.args
            .iter()
            .any(|w| w.subst.iter().any(|s| PORT_LOOKUPS.contains(&s.as_str())))
    {
        tags.insert("pids_from_port_lookup".to_owned());
    }
}

/// Whether `claude`'s `--setting-sources` leaves out the user or the project settings
/// (where `lighthouse install` registers the hook); an unknown value counts as leaving
/// them out.
fn drops_setting_sources<'a>(mut args: impl Iterator<Item = &'a str>) -> bool {
    while let Some(t) = args.next() {
        let value = if t == "--setting-sources" {
            args.next().unwrap_or("")
        } else if let Some(v) = t.strip_prefix("--setting-sources=") {
            v
        } else {
            continue;
        };
        let sources: Vec<&str> = value.split(',').map(str::trim).collect();
        if !(sources.contains(&"user") && sources.contains(&"project")) {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_whole_numbers() {
        assert!(names_guard_port("-i:4222"));
        assert!(names_guard_port("4222/tcp"));
        assert!(names_guard_port("tcp:8222"));
        assert!(!names_guard_port(":42220"));
        assert!(!names_guard_port("3000"));
    }

    #[test]
    fn setting_sources_need_user_and_project() {
        let d = |a: &[&str]| drops_setting_sources(a.iter().copied());
        assert!(d(&["--setting-sources", "user", "-p", "x"]));
        assert!(d(&["--setting-sources=local"]));
        assert!(d(&["--setting-sources", ""]));
        assert!(!d(&["--setting-sources", "user,project,local"]));
        assert!(!d(&["-p", "x"]));
    }
}
