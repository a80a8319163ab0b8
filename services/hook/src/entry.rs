//! The hook process: settings, one call on stdin, the client's answer on stdout/stderr
//! and its exit code. Shared by `lighthouse-hook <client>` and `lighthouse hook <client>`.

use crate::protocol::{self, Client, Output};
use crate::watchdog;
use std::io::Write;
use std::process::ExitCode;

/// Exit code for a bad configuration (as every Lighthouse process).
pub const EXIT_CONFIG: u8 = 64;

/// Runs the hook for `client`. Anything broken — configuration, the state `up` left,
/// the agent's credentials, a panic — answers in the client's protocol with a deny and
/// that protocol's blocking exit code (0 with deny JSON, or 2): clients treat any other
/// code (64, or Rust's 101 on a panic) as a non-blocking error and run the call.
pub fn main(client: Client) -> ExitCode {
    let started = std::time::Instant::now();
    watchdog::start(watchdog::BEFORE_SETTINGS, move |ran| {
        let refusal = protocol::render_refusal(
            client,
            &format!(
                "Lighthouse: the hook did not finish within {} s (a file it reads may be a FIFO, or a disk or the network stalled); failing closed. Retry the call; if it repeats, run the hook with LIGHTHOUSE_LOG=debug to see where it stops",
                ran.as_secs()
            ),
        );
        emit(&refusal)
    });
    std::panic::set_hook(Box::new(move |info| {
        let refusal = protocol::render_refusal(
            client,
            &format!("Lighthouse: the hook crashed ({info}); failing closed"),
        );
        std::process::exit(emit(&refusal).into());
    }));
    let output = match usable_settings() {
        Ok(settings) => {
            watchdog::set_limit_from(started, longest_wait(&settings) + watchdog::GRACE);
            init_tracing();
            crate::hook::run(&settings, client, std::io::stdin().lock())
        }
        Err(why) => protocol::render_refusal(client, &format!("Lighthouse: {why}; failing closed")),
    };
    let code = emit(&output);
    // Benchmarks read how long the hook took from `main` to its answer (the rest of a
    // call is the process's start and end) and its peak memory; nothing else sets this.
    if std::env::var_os("LIGHTHOUSE_REPORT_USAGE").is_some() {
        let answered_us = started.elapsed().as_micros();
        let peak_rss_kb = peak_rss_kb().unwrap_or_default();
        eprintln!("lighthouse-usage answered_us={answered_us} peak_rss_kb={peak_rss_kb}");
    }
    ExitCode::from(code)
}

/// The longest any hook path waits on purpose, by the settings.
fn longest_wait(settings: &lighthouse_config::Settings) -> std::time::Duration {
    let hook = &settings.hook;
    let ms = [
        hook.decision_timeout_ms,
        hook.escalation_wait_ms,
        settings.files.publish_timeout_ms,
    ];
    std::time::Duration::from_millis(ms.into_iter().max().unwrap_or_default())
}

/// Settings the hook can act on: valid, with readable state and usable credentials.
fn usable_settings() -> Result<lighthouse_config::Settings, String> {
    let mut settings = lighthouse_config::Settings::load().map_err(|e| e.to_string())?;
    // Read `up.json` once here, not at every lookup of the URL and credentials.
    settings
        .pin_runtime()
        .map_err(|e| format!("unreadable state: {e}"))?;
    lighthouse_nats::options_for(&settings.nats_url(), &settings.client_auth("agent"))
        .map_err(|e| format!("unusable credentials: {e}"))?;
    Ok(settings)
}

/// Errors only, on stderr (`LIGHTHOUSE_LOG` overrides): the client reads stdout.
fn init_tracing() {
    // Colour only on a terminal: clients store the hook's stderr as text.
    let fmt = tracing_subscriber::fmt()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    // A directive filter costs a parse per call; the level alone is enough unless asked.
    let _ = match tracing_subscriber::EnvFilter::try_from_env("LIGHTHOUSE_LOG") {
        Ok(filter) => fmt.with_env_filter(filter).try_init(),
        Err(_) => fmt.with_max_level(tracing::Level::ERROR).try_init(),
    };
}

/// Writes `output` unless an answer was written already (by the watchdog, or before a
/// panic); returns the exit code of the answer that stands.
fn emit(output: &Output) -> u8 {
    watchdog::answer_once(output.code, || {
        if let Some(text) = &output.stdout {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{text}");
            let _ = out.flush();
        }
        if let Some(text) = &output.stderr {
            eprintln!("{text}");
        }
    })
}

/// This process's peak resident set (VmHWM), in KiB.
pub fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}
