//! When each shell command was let through to run: the hook notes it before answering,
//! and the call's PostToolUse credits the command with the project files modified
//! since.
//!
//! One line per command, `<id token> <unix nanos>`, appended to `<state>/shell/starts`.
//! An append costs microseconds; creating a file per command cost 0.05–0.45 ms here
//! (ext4 without a journal scans the recently freed inodes on every create), on every
//! shell call of every path. The log is bounded: the append that crosses
//! [`ROTATE_AT`] moves it to `starts.old`, so a start stays findable for at least a
//! thousand commands after it (both files are read).

use lighthouse_schemas::Token;
use std::io::{Read as _, Seek as _, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Size at which the log moves aside (a line is about 60 bytes).
const ROTATE_AT: u64 = 64 * 1024;
/// Past this, the log moves aside whoever appends (should the move at the crossing
/// ever have failed); and no more of a log file than this is read.
const MAX_LOG: u64 = 4 * ROTATE_AT;
/// File times come from the kernel's coarse clock, which lags the precise one by up
/// to a tick: a start reads this much earlier, so no file the command wrote is missed.
const CLOCK_SLACK: Duration = Duration::from_millis(50);

/// The start log of a state directory.
#[derive(Debug, Clone)]
pub struct StartLog {
    dir: PathBuf,
}

impl StartLog {
    pub fn new(state_dir: &Path) -> StartLog {
        StartLog {
            dir: state_dir.join("shell"),
        }
    }

    fn current(&self) -> PathBuf {
        self.dir.join("starts")
    }

    fn previous(&self) -> PathBuf {
        self.dir.join("starts.old")
    }

    /// Notes that the command `id` starts now.
    pub fn mark(&self, id: &str) -> std::io::Result<()> {
        self.mark_at(id, SystemTime::now())
    }

    fn mark_at(&self, id: &str, at: SystemTime) -> std::io::Result<()> {
        let nanos = at
            .duration_since(UNIX_EPOCH)
            .map_err(std::io::Error::other)?
            .as_nanos();
        let line = format!("{} {nanos}\n", Token::encode(id));
        // Not through a FIFO (it would hold the hook in `open`) or a link planted here.
        let open = || {
            lighthouse_nats::regular::open_unlinked(
                &self.current(),
                std::fs::OpenOptions::new().append(true).create(true),
            )
        };
        let mut log = match open() {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(&self.dir)?;
                open()?
            }
            log => log?,
        };
        // One write of a short line: appends from concurrent hooks never interleave.
        log.write_all(line.as_bytes())?;
        let end = log.stream_position()?;
        let crossed = end >= ROTATE_AT && end - (line.len() as u64) < ROTATE_AT;
        if crossed || end >= MAX_LOG {
            std::fs::rename(self.current(), self.previous())?;
        }
        Ok(())
    }

    /// When the command `id` started (the latest mark, if it was marked twice), made
    /// [`CLOCK_SLACK`] earlier to compare with file times.
    pub fn start_of(&self, id: &str) -> Option<SystemTime> {
        let key = Token::encode(id);
        [self.current(), self.previous()]
            .iter()
            .find_map(|log| latest_mark(&read_log(log)?, key.as_str().as_bytes()))
            .map(|at| at.checked_sub(CLOCK_SLACK).unwrap_or(at))
    }
}

fn read_log(path: &Path) -> Option<Vec<u8>> {
    let mut text = Vec::new();
    lighthouse_nats::regular::open_unlinked(path, std::fs::OpenOptions::new().read(true))
        .ok()?
        .take(MAX_LOG)
        .read_to_end(&mut text)
        .ok()?;
    Some(text)
}

/// The time on the last whole line for `key` (a torn or foreign line is skipped).
fn latest_mark(text: &[u8], key: &[u8]) -> Option<SystemTime> {
    text.split(|&b| b == b'\n').rev().find_map(|line| {
        let rest = line.strip_prefix(key)?.strip_prefix(b" ")?;
        let nanos: u64 = std::str::from_utf8(rest).ok()?.parse().ok()?;
        Some(UNIX_EPOCH + Duration::from_nanos(nanos))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latest_mark_of_an_id_is_its_start() {
        let dir = tempfile::tempdir().unwrap();
        let log = StartLog::new(dir.path());
        let t0 = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        log.mark_at("cmd 1", t0).unwrap();
        log.mark_at("cmd", t0 + Duration::from_secs(1)).unwrap();
        log.mark_at("cmd 1", t0 + Duration::from_secs(2)).unwrap();
        assert_eq!(
            log.start_of("cmd 1"),
            Some(t0 + Duration::from_secs(2) - CLOCK_SLACK)
        );
        // `cmd` is a prefix of `cmd 1`'s token, and still only its own line counts.
        assert_eq!(
            log.start_of("cmd"),
            Some(t0 + Duration::from_secs(1) - CLOCK_SLACK)
        );
        assert_eq!(log.start_of("never"), None);
    }

    #[test]
    fn a_torn_line_is_not_a_start() {
        let dir = tempfile::tempdir().unwrap();
        let log = StartLog::new(dir.path());
        std::fs::create_dir_all(dir.path().join("shell")).unwrap();
        std::fs::write(log.current(), b"a 12\nb 1x\nc").unwrap();
        assert!(log.start_of("a").is_some());
        assert_eq!(log.start_of("b"), None);
        assert_eq!(log.start_of("c"), None);
    }

    /// The log stays bounded and a recent start survives the move aside.
    #[test]
    fn the_log_is_bounded_and_keeps_recent_starts() {
        let dir = tempfile::tempdir().unwrap();
        let log = StartLog::new(dir.path());
        let t0 = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let n = 5_000u64;
        for i in 0..n {
            log.mark_at(&format!("toolu_{i:024}"), t0 + Duration::from_secs(i))
                .unwrap();
        }
        let size = |p: PathBuf| std::fs::metadata(p).map_or(0, |m| m.len());
        assert!(size(log.current()) < ROTATE_AT, "{}", size(log.current()));
        assert!(size(log.previous()) < ROTATE_AT + 100);
        // The previous file still holds over a thousand starts before the current one.
        let kept = (0..n)
            .filter(|i| log.start_of(&format!("toolu_{i:024}")).is_some())
            .count();
        assert!(kept > 1_000 && kept < n as usize, "{kept}");
        let last = n - 1;
        assert_eq!(
            log.start_of(&format!("toolu_{last:024}")),
            Some(t0 + Duration::from_secs(last) - CLOCK_SLACK)
        );
        assert_eq!(log.start_of(&format!("toolu_{:024}", 0)), None);
    }

    /// Something other than a file where the log should be (a FIFO would block `open`)
    /// is refused at once, and read as no start.
    #[test]
    fn a_fifo_for_a_log_is_refused_without_waiting() {
        let dir = tempfile::tempdir().unwrap();
        let log = StartLog::new(dir.path());
        std::fs::create_dir_all(dir.path().join("shell")).unwrap();
        for path in [log.current(), log.previous()] {
            let made = std::process::Command::new("mkfifo").arg(&path).status();
            assert!(made.unwrap().success());
        }
        assert!(log.mark("cmd").is_err());
        assert_eq!(log.start_of("cmd"), None);
    }

    /// Hooks append at once from several processes: every line stays whole.
    #[test]
    fn concurrent_marks_stay_whole() {
        let dir = tempfile::tempdir().unwrap();
        let log = StartLog::new(dir.path());
        std::thread::scope(|s| {
            for t in 0..4 {
                let log = log.clone();
                s.spawn(move || {
                    for i in 0..200 {
                        log.mark(&format!("t{t}-{i}")).unwrap();
                    }
                });
            }
        });
        for t in 0..4 {
            for i in 0..200 {
                assert!(log.start_of(&format!("t{t}-{i}")).is_some(), "t{t}-{i}");
            }
        }
    }
}
