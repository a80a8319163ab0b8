//! `lighthouse bench …`: the benchmarks. Each prints its figures beside a floor
//! measured in the same run (the raw JetStream transport, the spawn of `/bin/true`, the
//! same tree on local disk), so a figure never stands alone and no test is timed.
//!
//! - [`pipeline`]: raw transport, command → decision latency and throughput, the hook
//!   round trip as an agent runs it;
//! - [`escalation`]: the escalation path's overhead beyond the expert's own time;
//! - [`fuse`]: the FUSE view against the same tree on disk;
//! - [`soak`]: minutes of load with faults on a schedule, and an account of every
//!   command.
//!
//! (`lighthouse bench replay` measures the replay code itself, and lives with it.)

pub mod escalation;
pub mod fuse;
pub mod pipeline;
pub mod soak;

pub use pipeline::{BenchServer, peak_rss_kb};

/// A latency histogram in microseconds, 1 µs to `max_us`, three significant figures.
#[allow(clippy::expect_used)]
pub fn histogram(max_us: u64) -> hdrhistogram::Histogram<u64> {
    // Only fails for bounds like low > high or a precision over 5; these are constants.
    hdrhistogram::Histogram::new_with_bounds(1, max_us, 3).expect("constant bounds are valid")
}
