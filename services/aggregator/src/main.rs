//! `lighthouse-aggregator`: one escalation aggregator replica. Configured like every
//! Lighthouse process (`lighthouse-config`), including the expert roster
//! (`escalation.experts`) and the fallback; SIGTERM or SIGINT finishes in-flight votes
//! and drains within `service.grace_ms`. Exit codes: 0 stopped cleanly, 1 failure,
//! 64 bad configuration.

fn main() -> std::process::ExitCode {
    lighthouse_service::main(
        "lighthouse-aggregator",
        |_| Ok(()),
        lighthouse_aggregator::service::run,
    )
}
