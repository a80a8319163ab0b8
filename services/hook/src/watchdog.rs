//! A stuck hook still answers. A FIFO where a file should be (the agent can make one
//! in the project or the state directory), a stalled filesystem or a bug could hold a
//! hook past its client's timeout, and some clients treat a hook they had to kill as a
//! non-blocking error: the call would run. So from the start a thread waits out the
//! longest any path may take; then, unless the hook has answered, it refuses the call
//! in the client's protocol and ends the process.

use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// What the slowest legitimate path needs past the longest configured wait
/// (connecting, recording a late decision, spooling).
pub const GRACE: Duration = Duration::from_secs(5);

/// The limit before the settings are read: the longest wait they allow (under 60 s,
/// see `Settings::validate`) plus [`GRACE`]; installs give clients 90 s.
pub const BEFORE_SETTINGS: Duration = Duration::from_secs(65);

/// The exit code of the answer the process wrote, once written (there is only one).
static ANSWERED: Mutex<Option<u8>> = Mutex::new(None);
/// When the watchdog answers; [`MOVED`] wakes it when this changes.
static DEADLINE: Mutex<Option<Instant>> = Mutex::new(None);
static MOVED: Condvar = Condvar::new();

/// Writes the answer with `write` unless one was written already; returns the exit
/// code of the answer that stands (`code`, or the earlier one's), which the process
/// must end with.
pub fn answer_once(code: u8, write: impl FnOnce()) -> u8 {
    let mut answered = ANSWERED.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(earlier) = *answered {
        return earlier;
    }
    write();
    *answered = Some(code);
    code
}

/// Starts the watch, `limit` from now. When it passes, `expire` is given how long the
/// hook ran, answers through [`answer_once`] and returns its code; the process ends
/// with it.
pub fn start(limit: Duration, expire: impl FnOnce(Duration) -> u8 + Send + 'static) {
    let started = Instant::now();
    set_limit_from(started, limit);
    // A small stack: it only sleeps. Without a thread to be had the hook runs unwatched,
    // as it did before the watchdog.
    let _ = std::thread::Builder::new()
        .name("watchdog".into())
        .stack_size(64 * 1024)
        .spawn(move || {
            let deadline = wait_out();
            std::process::exit(expire(deadline.saturating_duration_since(started)).into());
        });
}

/// Moves the deadline to `limit` after `started` (the settings' waits, once read).
pub fn set_limit_from(started: Instant, limit: Duration) {
    *DEADLINE.lock().unwrap_or_else(PoisonError::into_inner) = Some(started + limit);
    MOVED.notify_all();
}

/// Sleeps until the deadline, following it when it moves (earlier or later); returns it.
fn wait_out() -> Instant {
    let mut deadline = DEADLINE.lock().unwrap_or_else(PoisonError::into_inner);
    loop {
        let due = deadline.unwrap_or_else(Instant::now);
        let now = Instant::now();
        if now >= due {
            return due;
        }
        deadline = MOVED
            .wait_timeout(deadline, due - now)
            .unwrap_or_else(PoisonError::into_inner)
            .0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The watch follows a deadline moved earlier while it already waits (the limit
    /// from the settings comes after the thread has started waiting out the longest).
    #[test]
    fn a_deadline_moved_earlier_wakes_the_watch() {
        let started = Instant::now();
        set_limit_from(started, Duration::from_secs(600));
        let watch = std::thread::spawn(wait_out);
        std::thread::sleep(Duration::from_millis(50));
        set_limit_from(started, Duration::from_millis(100));
        let due = watch.join().unwrap();
        assert_eq!(due, started + Duration::from_millis(100));
        assert!(started.elapsed() < Duration::from_secs(60));
    }
}
