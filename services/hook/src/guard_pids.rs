//! A shell command that signals one of the guard's own processes on this machine by
//! its pid (`kill -9 4242`, after `ps` showed nats-server as 4242). The policy cannot
//! know whose a number is (validators run elsewhere); the hook, on the agent's machine,
//! can look the number up in `/proc`.
//!
//! In a command that names a command able to stop or hijack a process (`kill`, `gdb`,
//! `os.kill` …; quotes and escapes removed first, as the shell removes them) every whole
//! number is looked up, at most [`MAX_NUMBERS`]: decimal, hex and octal words, constant
//! arithmetic (`$((4241+1))`), and the words the shell parser reads (variables set
//! earlier in the line, nested shells). It may look up more numbers than the command
//! signals, and it can only deny. A pid computed at run time (`kill $(pgrep …)`) is the
//! policy's (`guard.kill_looked_up`).

use lighthouse_policy::procpat::GUARD_PROCESSES;
use lighthouse_policy::shell::Env;
use serde_json::Value;
use std::borrow::Cow;
use std::path::Path;

/// Commands that take a pid and can stop, pause or take over that process.
const SIGNALLERS: &[&str] = &["kill", "gdb", "prlimit", "reptyr", "criu"];

/// At most this many numbers of one command are looked up.
const MAX_NUMBERS: usize = 64;

/// The largest pid Linux hands out (`/proc/sys/kernel/pid_max` is at most this).
const PID_MAX: u32 = 4_194_304;

/// The guard process a shell call signals by pid, as `name (pid N)`, if any.
pub fn signalled(tool_name: &str, tool_input: &Value, cwd: &str) -> Option<String> {
    if tool_name != "Bash" {
        return None;
    }
    // Every shell call passes here: the usual string is read in place.
    let text: Cow<str> = match tool_input.get("command")? {
        Value::String(s) => Cow::Borrowed(s),
        Value::Array(words) => Cow::Owned(
            words
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(" "),
        ),
        _ => return None,
    };
    signalled_in(&text, cwd, Path::new("/proc"))
}

/// [`signalled`] over `text`, looking pids up under `proc`.
fn signalled_in(text: &str, cwd: &str, proc: &Path) -> Option<String> {
    // Quotes and escapes split nothing for the shell (`k''ill 15''034`, `15\034`).
    let plain: String = text
        .chars()
        .filter(|c| !matches!(c, '\'' | '"' | '\\'))
        .collect();
    let words = || plain.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'));
    if !words().any(|w| SIGNALLERS.contains(&w.trim_start_matches('-'))) {
        return None;
    }
    let mut pids: Vec<u32> = words()
        .filter_map(|w| number(w.trim_start_matches('-')))
        .collect();
    pids.extend(arithmetic(&plain));
    // Words as the shell reads them: variables set earlier in the line (`a=15; kill
    // ${a}034`), nested shells.
    let shell = lighthouse_policy::shell::normalize(text, Env { cwd, home: None });
    pids.extend(
        shell
            .commands
            .iter()
            .flat_map(|e| &e.args)
            .filter(|w| !w.is_dynamic())
            .filter_map(|w| number(w.text.trim_start_matches('-'))),
    );
    pids.into_iter()
        .filter(|&pid| pid > 1 && pid <= PID_MAX)
        .take(MAX_NUMBERS)
        .find_map(|pid| guard_process(proc, pid).map(|name| format!("{name} (pid {pid})")))
}

/// A whole number as a shell or an interpreter writes it: decimal, `0x…` or `0o…`.
fn number(word: &str) -> Option<u32> {
    let (digits, radix) = match word.get(..2) {
        Some("0x" | "0X") => (&word[2..], 16),
        Some("0o" | "0O") => (&word[2..], 8),
        _ => (word, 10),
    };
    (!digits.is_empty() && digits.len() <= 8)
        .then(|| u32::from_str_radix(digits, radix).ok())
        .flatten()
}

/// The values of the shell's arithmetic expansions made of numbers and `+ - *` only
/// (`kill $((15033+1))`).
fn arithmetic(text: &str) -> Vec<u32> {
    text.match_indices("$((")
        .take(MAX_NUMBERS)
        .filter_map(|(at, _)| {
            let body = &text[at + 3..];
            evaluate(&body[..body.find("))")?])
        })
        .collect()
}

/// `a*b + c - d` over whole numbers (no parentheses); `None` for anything else.
fn evaluate(expr: &str) -> Option<u32> {
    let (mut total, mut sign, mut term) = (0i64, 1i64, String::new());
    for c in expr.chars().chain(std::iter::once('+')) {
        if c == '+' || c == '-' {
            let product = term.split('*').try_fold(1i64, |acc, factor| {
                acc.checked_mul(i64::from(number(factor.trim())?))
            })?;
            total = total.checked_add(sign * product)?;
            sign = if c == '-' { -1 } else { 1 };
            term.clear();
        } else {
            term.push(c);
        }
    }
    u32::try_from(total).ok()
}

/// The guard's name for process `pid`, when it is one of the guard's processes.
fn guard_process(proc: &Path, pid: u32) -> Option<String> {
    let dir = proc.join(pid.to_string());
    // `comm` is at most 16 bytes; `cmdline`'s first word is the program as started.
    let comm = read_small(&dir.join("comm"))?;
    let cmdline = read_small(&dir.join("cmdline")).unwrap_or_default();
    let program = cmdline.split('\0').next().unwrap_or("");
    let program = program.rsplit('/').next().unwrap_or(program);
    [comm.trim_end(), program]
        .into_iter()
        .find(|name| {
            GUARD_PROCESSES
                .iter()
                .any(|g| name.starts_with(g) && !name.is_empty())
        })
        .map(str::to_owned)
}

/// The first 4 KiB of a `/proc` file (enough for a program's name).
fn read_small(path: &Path) -> Option<String> {
    use std::io::Read;
    let mut buf = Vec::new();
    std::fs::File::open(path)
        .ok()?
        .take(4096)
        .read_to_end(&mut buf)
        .ok()?;
    Some(String::from_utf8_lossy(&buf).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake `/proc` with processes `(pid, comm, argv0)`.
    fn proc_with(procs: &[(u32, &str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (pid, comm, argv0) in procs {
            let p = dir.path().join(pid.to_string());
            std::fs::create_dir(&p).unwrap();
            std::fs::write(p.join("comm"), format!("{comm}\n")).unwrap();
            std::fs::write(p.join("cmdline"), format!("{argv0}\0-c\0x\0")).unwrap();
        }
        dir
    }

    #[test]
    fn a_guard_pid_is_found_in_any_signalling_form() {
        let proc = proc_with(&[
            (4242, "nats-server", "/usr/bin/nats-server"),
            (5151, "lighthouse-vali", "/opt/lh/lighthouse-validator"),
            (777, "vite", "node"),
        ]);
        for cmd in [
            "kill -9 4242",
            "kill -s STOP 5151",
            "kill -- -4242",
            "echo 4242 | xargs kill",
            "for p in 777 4242; do kill $p; done",
            "/bin/kill -TERM 4242",
            "gdb -p 5151 -batch -ex 'call exit(0)'",
            "sleep 1; kill 777 5151",
            // Spellings the shell reads as the same number or command.
            "kill -9 42''42",
            "kill \"42\"\"42\"",
            "kill 42\\42",
            "a=42; kill ${a}42",
            "k''ill 4242",
            "bash -c 'k\\ill 4242'",
            "kill $((4241+1))",
            "kill $((0x1092))",
            "kill $(( 2*2000 + 242 ))",
            "python3 -c 'import os; os.kill(0x1092, 9)'",
            "node -e 'process.kill(0o10222)'",
        ] {
            assert!(signalled_in(cmd, "/tmp", proc.path()).is_some(), "{cmd}");
        }
        assert_eq!(
            signalled_in("kill 4242", "/tmp", proc.path()).as_deref(),
            Some("nats-server (pid 4242)")
        );
    }

    #[test]
    fn other_pids_and_other_commands_pass() {
        let proc = proc_with(&[(4242, "nats-server", "nats-server"), (777, "vite", "node")]);
        for cmd in [
            "kill 777",
            "kill 9999",
            "echo 4242",
            "curl localhost:4242",
            "skill-check 4242",
            "kill 99999999999",
            "kill -9 1",
        ] {
            assert_eq!(signalled_in(cmd, "/tmp", proc.path()), None, "{cmd}");
        }
        assert_eq!(
            signalled(
                "Write",
                &serde_json::json!({"command": "kill 4242"}),
                "/tmp"
            ),
            None
        );
    }

    #[test]
    fn a_real_process_named_like_the_server_is_found_in_proc() {
        // Copies of `sleep` started as `nats-server` and as `vite`, found by their pids
        // in the real /proc: only the first is the guard's.
        let dir = tempfile::tempdir().unwrap();
        let start = |name: &str| {
            let program = dir.path().join(name);
            std::fs::copy("/bin/sleep", &program).unwrap();
            std::process::Command::new(&program)
                .arg("30")
                .spawn()
                .unwrap()
        };
        let (mut server, mut other) = (start("nats-server"), start("vite"));
        let kill = |pid: u32| {
            signalled(
                "Bash",
                &serde_json::json!({ "command": format!("kill -9 {pid}") }),
                "/tmp",
            )
        };
        let (found, passed) = (kill(server.id()), kill(other.id()));
        for child in [&mut server, &mut other] {
            child.kill().unwrap();
            child.wait().unwrap();
        }
        assert_eq!(found, Some(format!("nats-server (pid {})", server.id())));
        assert_eq!(passed, None);
        // Gone, it is no one's.
        assert_eq!(kill(server.id()), None);
    }
}
