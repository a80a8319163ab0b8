//! The hook process: settings, one call on stdin, the client's answer on stdout/stderr
//! and its exit code. Shared by `lighthouse-hook <client>` and `lighthouse hook <client>`.

use crate::protocol::{self, Client, Output};
use std::io::Write;
use std::process::ExitCode;

/// Exit code for a bad configuration (as every Lighthouse process).
pub const EXIT_CONFIG: u8 = 64;

/// Runs the hook for `client`. Bad configuration answers in the client's protocol with a
/// deny and that protocol's blocking exit code (0 with deny JSON, or 2): clients treat
/// any other code (64 included) as a non-blocking error and run the call.
pub fn main(client: Client) -> ExitCode {
    let output = match lighthouse_config::Settings::load() {
        Ok(settings) => {
            init_tracing();
            crate::hook::run(&settings, client, std::io::stdin().lock())
        }
        Err(e) => protocol::render_refusal(client, &format!("Lighthouse: {e}")),
    };
    emit(&output);
    // Benchmarks read the hook's own peak memory; nothing else sets this.
    if std::env::var_os("LIGHTHOUSE_REPORT_PEAK_RSS").is_some()
        && let Some(kb) = peak_rss_kb()
    {
        eprintln!("lighthouse-peak-rss-kb={kb}");
    }
    ExitCode::from(output.code)
}

/// Errors only, on stderr (`LIGHTHOUSE_LOG` overrides): the client reads stdout.
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("LIGHTHOUSE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("error"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

fn emit(output: &Output) {
    if let Some(text) = &output.stdout {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{text}");
        let _ = out.flush();
    }
    if let Some(text) = &output.stderr {
        eprintln!("{text}");
    }
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
